/* Reading integers from text: one set of rules for every layer. Pure
 * functions; any thread. */
#ifndef OSQ_PARSE_H
#define OSQ_PARSE_H

#include <osq/plugin.h> /* OSQ_OK, OSQ_E* */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The signed 64-bit integer in s[0..len), read as strtoll reads it in base
 * (10, or 0 for C prefixes 0x and 0): leading blanks skipped, optional
 * sign. With whole, nothing may follow the digits; without, anything may
 * (osquery's std::stoll). OSQ_OK; OSQ_EINVAL when there are no digits or
 * (whole) text follows them; OSQ_ERANGE outside int64. On failure *out
 * is unchanged. */
int osq_parse_i64(const char *s, size_t len, int base, bool whole,
                  int64_t *out);

/* The common case: all of a NUL-terminated string as a decimal (blanks
 * before it allowed, as strtoll allows them). False for NULL or "". */
bool osq_parse_i64_str(const char *s, int64_t *out);

#endif
