/* The scheduler (docs/compat.md §3.1): one step per second runs every
 * due query of the active config, logs its differential or snapshot
 * results and keeps osquery_schedule's statistics; also pack discovery,
 * decorators and the watchdog denylist (compat.md §4.3).
 *
 * Threads: scheduler thread; interrupt/limit_hit/current from any thread. */
#ifndef OSQ_DAEMON_SCHEDULER_H
#define OSQ_DAEMON_SCHEDULER_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "daemon/store.h"

typedef struct osq_sched osq_sched;

/* The store stays owned by the caller. NULL with err set when no SQL
 * connection can be had. */
osq_sched *osq_sched_new(osq_store *store, char *err, size_t errlen);
void osq_sched_free(osq_sched *s);

/* Worker start: a non-empty executing_query means the previous worker
 * died inside that query; with the watchdog on it is denylisted for a
 * day. Also restores the persisted denylist. */
void osq_sched_recover(osq_sched *s, bool watchdog_enabled);

/* Swap in a config (ownership passes; NULL = empty schedule). Computes
 * splayed intervals and runs the load decorators. */
void osq_sched_set_config(osq_sched *s, osq_config *c);

/* One step: run what is due at tick (unix seconds counter). Returns 0, or
 * -1 when the results store failed (the daemon exits 78). */
int osq_sched_step(osq_sched *s, uint64_t tick, bool first);

/* The watchdog asked the worker to stop (SIGUSR1): keep executing_query
 * so the next worker denylists it. Async-signal-safe. */
void osq_sched_limit_hit(void);

/* Stop as soon as possible: interrupt the running query and skip the rest
 * of the step. Safe from any thread while s is alive. */
void osq_sched_interrupt(osq_sched *s);

/* The process-wide scheduler the tables read (set by osq_sched_new). */
osq_sched *osq_sched_current(void);

/* Register osquery_schedule, osquery_packs and osquery_events
 * (idempotent); osqi registers them too. */
int osq_sched_register_tables(void);

/* The scheduler's SQL connection (distributed queries share it: same
 * thread). */
struct osq_db *osq_sched_db(osq_sched *s);

/* The host identifier for log lines (cached per step). */
const char *osq_sched_host(osq_sched *s);

#endif
