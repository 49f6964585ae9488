/* The hash table's process-wide digest cache.
 *
 * Thread-safe: any thread (the cache has its own lock). */
#ifndef OSQ_TABLES_HASH_H
#define OSQ_TABLES_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Lookups that found a fresh entry, lookups that did not, entries kept. */
void osq_hash_cache_stats(unsigned long *hits, unsigned long *misses,
                          size_t *entries);
void osq_hash_cache_clear(void);

/* md5, sha1 and sha256 of an open file in one read pass (file_events);
 * false on a read error or past limit bytes. */
bool osq_hash_fd_all(int fd, uint64_t limit, char md5[33], char sha1[41],
                     char sha256[65]);

#endif
