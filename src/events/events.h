/* Evented tables (docs/events.md): publishers read one kernel source each
 * on their own thread; subscribers are the event tables, which turn what
 * a publisher reads into rows kept in the event store and read back by
 * SQL with their `time`/`eid` constraints pushed down.
 *
 * The framework starts a publisher only when events are enabled
 * (--disable_events=false) and one of its tables is wanted (its source
 * flag, or a config section such as file_paths).
 *
 * Threads: register/configure on the main (or scheduler) thread; the add
 * and counting functions from any publisher thread. */
#ifndef OSQ_EVENTS_H
#define OSQ_EVENTS_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <osq/plugin.h>

/* Register osquery_events, osq_events_loss and every event table. */
int osq_events_register_tables(void);

/* Apply the flags and the config (the raw config sources: source name ->
 * JSON text, as osq_config keeps them; NULL when there is none): open the
 * store on first use, start the publishers that have subscribers, stop
 * those that lost them, hand new subscriptions to running ones. Cheap to
 * call again with the same config. */
void osq_events_configure(const json_t *config_sources);

/* Stop every publisher and close the store. */
void osq_events_shutdown(void);

/* The scheduled query running on this thread (NULL outside one):
 * --events_optimize hands each scheduled query an event once. */
void osq_events_set_query(const char *name);
/* Did the last query set on this thread read an event table? With
 * --events_optimize its results are then all "added": each run returns
 * only new events, so a diff against the last run would call the old
 * ones removed. */
bool osq_events_query_used(void);
/* Does sql name an event table (as a word)? --events_enforce_denylist:
 * only then does a crash denylist such a query. */
bool osq_events_sql_is_evented(const char *sql);

/* ---- for publishers and subscribers in src/events/ ------------------ */

/* What the publisher reports about itself: osquery_events and
 * osq_events_loss read these. */
typedef struct osq_ev_stats {
  atomic_uint_fast64_t events;    /* records read from the source */
  atomic_uint_fast64_t overflows; /* times the kernel said it dropped */
  atomic_uint_fast64_t refreshes; /* (re)starts and re-subscriptions */
  atomic_uint_fast64_t errors;    /* records rejected as malformed */
  atomic_int_fast64_t last_loss;  /* unix time of the last loss, 0: none */
  atomic_int_fast64_t last_logged; /* unix time of the last loss warning */
  atomic_uint_fast64_t unlogged;   /* losses not yet in a warning */
  atomic_bool active;
  atomic_uint subscriptions;
} osq_ev_stats;

/* Record a loss seen by a publisher; logs once per interval. */
void osq_ev_note_loss(const char *publisher, osq_ev_stats *st, uint64_t n,
                      const char *what);

/* A row under construction (events_internal.h): one value per column of
 * the table in declared order (time/eid are ignored). */
typedef struct osq_ev_row osq_ev_row;

/* Store one event for table `type`; takes (and frees) row. Becomes visible
 * to queries after osq_ev_commit(). Returns 0, or -1 when the store
 * dropped it (counted). */
int osq_ev_add(const char *type, int64_t time, osq_ev_row *row);
/* Commit what was added now. */
void osq_ev_commit(void);

/* A generate() for any event table (udata: the table name). */
int osq_ev_generate(const osq_context *ctx, osq_rows *out, void *udata);

#endif
