/* --malloc_trim_threshold: after each scheduled query the worker hands
 * freed heap back to the system (malloc_trim) once its resident memory
 * passes a threshold, so a query's peak does not stay charged against the
 * watchdog's memory limit.
 *
 * Threads: osq_trim_threshold_mb and osq_trim_due from any thread;
 * osq_release_retained_memory from the scheduler thread. */
#ifndef OSQ_DAEMON_MEMTRIM_H
#define OSQ_DAEMON_MEMTRIM_H

#include <stdbool.h>
#include <stdint.h>

/* The worker's memory limit in MB that the watchdog enforces
 * (--watchdog_level, --watchdog_memory_limit). */
uint64_t osq_watchdog_memory_mb(void);

/* The threshold in MB, 0 for never: the flag's value when it was set
 * (0 turns trimming off); else 80% of the watchdog's memory limit when a
 * watchdog runs; else 200. */
uint64_t osq_trim_threshold_mb(bool flag_set, uint64_t flag_mb,
                               bool watchdog, uint64_t watchdog_mb);

/* Whether a process with rss_bytes resident should trim (MB = 10^6
 * bytes, as osquery counts them). */
bool osq_trim_due(uint64_t rss_bytes, uint64_t threshold_mb);

/* Trims when due under the flags; returns whether it did. */
bool osq_release_retained_memory(uint64_t rss_bytes);

#endif
