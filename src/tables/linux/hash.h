/* The hash table's process-wide digest cache.
 *
 * Thread-safe: any thread (the cache has its own lock). */
#ifndef OSQ_TABLES_HASH_H
#define OSQ_TABLES_HASH_H

#include <stddef.h>

/* Lookups that found a fresh entry, lookups that did not, entries kept. */
void osq_hash_cache_stats(unsigned long *hits, unsigned long *misses,
                          size_t *entries);
void osq_hash_cache_clear(void);

#endif
