/* The event store: one SQLite database of its own, a file beside the
 * results store in osqd (committed events survive a SIGKILL: WAL), in
 * memory in osqi and with --ephemeral/--disable_database. Rows are kept
 * per event table ("type") with a per-type eid and a (type, time) index.
 *
 * Threads: any; one lock guards the connection. */
#ifndef OSQ_EVENTS_EVSTORE_H
#define OSQ_EVENTS_EVSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* path NULL: in memory. Opening an open store is a no-op. */
int osq_evstore_open(const char *path, char *err, size_t errlen);
void osq_evstore_close(void);
bool osq_evstore_is_open(void);

/* Bounds a scan keeps to (inclusive). */
typedef struct osq_ev_range {
  uint64_t eid_lo, eid_hi;
  int64_t time_lo, time_hi;
} osq_ev_range;

/* Add one event (row: JSON text). 0, or -1 (counted as dropped). */
int osq_evstore_add(const char *type, int64_t time, const char *row,
                    size_t len);
/* Commit added events; trims each type to max events and expires events
 * older than expiry seconds (0: keep). */
void osq_evstore_commit(uint64_t max, uint64_t expiry);
/* Limits of one type that replace commit's (syslog_events has its own
 * --syslog_events_max and --syslog_events_expiry). */
void osq_evstore_set_limits(const char *type, uint64_t max, uint64_t expiry);
/* Are there added events not committed yet? */
bool osq_evstore_pending(void);

/* Call fn for each stored event of type within r, in eid order; fn returns
 * non-zero to stop. *last gets the highest eid passed to fn (unchanged if
 * none). Returns 0 or -1. */
typedef int (*osq_evstore_fn)(void *u, uint64_t eid, int64_t time,
                              const char *row, size_t len);
int osq_evstore_scan(const char *type, const osq_ev_range *r, osq_evstore_fn fn,
                     void *u, uint64_t *last);

/* Events of type stored now, and dropped since start (events_max trims and
 * failed writes). */
uint64_t osq_evstore_count(const char *type);
uint64_t osq_evstore_dropped(const char *type);

/* --events_optimize: the last eid of type a scheduled query has seen. */
uint64_t osq_evstore_seen(const char *query, const char *type);
void osq_evstore_set_seen(const char *query, const char *type, uint64_t eid);

#endif
