/* SHA-1 for the config hash and the machine shard. A small local
 * implementation: calling OpenSSL here would initialise libcrypto's
 * providers in every worker (about 2 MB resident) for two hashes.
 *
 * Thread-safe: any thread (no shared state). */
#ifndef OSQ_CONFIG_SHA1_H
#define OSQ_CONFIG_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define OSQ_SHA1_LEN 20

void osq_sha1(const void *data, size_t len, uint8_t out[OSQ_SHA1_LEN]);
/* 40 lowercase hex digits + NUL */
void osq_sha1_hex(const void *data, size_t len, char out[41]);

#endif
