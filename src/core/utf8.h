/* UTF-8 as JSON text may carry it: no overlong forms, no surrogates, no
 * code points past U+10FFFF. Pure functions; any thread. */
#ifndef OSQ_CORE_UTF8_H
#define OSQ_CORE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* The length of the valid sequence at p (left > 0 bytes there): 1 for an
 * ASCII byte (NUL included), 2 to 4 for a valid multi-byte sequence, 0
 * when invalid or cut short. */
size_t osq_utf8_seq(const unsigned char *p, size_t left);

/* Whether s[0..len) is all valid sequences. */
bool osq_utf8_valid(const char *s, size_t len);

#endif
