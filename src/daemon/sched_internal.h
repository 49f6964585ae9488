/* Scheduler state shared by scheduler.c and the osquery_schedule /
 * osquery_packs tables (sched_tables.c).
 *
 * Threads: the scheduler thread; fields under `lock`: the tables too. */
#ifndef OSQ_DAEMON_SCHED_INTERNAL_H
#define OSQ_DAEMON_SCHED_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "daemon/store.h"
#include "sql/sql.h"

typedef struct qstats {
  uint64_t executions, last_executed, output_size;
  uint64_t wall_time_ms, last_wall_time_ms;
  uint64_t user_time, last_user_time, system_time, last_system_time;
  uint64_t average_memory, last_memory;
} qstats;

typedef struct qstate {
  char *name;
  char *sql;
  const osq_sched_query *q; /* into config */
  size_t pack;
  uint64_t splayed;
  bool ran_once;
  bool warned_deny;
  qstats stats;
} qstate;

typedef struct packstate {
  bool checked, ok;
  int64_t checked_at;
  uint64_t hits, execs;
} packstate;

typedef struct deny_entry {
  char *name;
  int64_t expiry;
} deny_entry;

struct osq_sched {
  osq_store *store;
  osq_db *db;
  /* lock guards config swaps, q, packs and deny for the tables; the
   * scheduler thread never holds it across SQL */
  pthread_mutex_t lock;
  osq_config *config;
  qstate *q;
  size_t nq;
  packstate *packs;
  deny_entry *deny;
  size_t ndeny;
  json_t *decorations; /* load + interval decorations (scheduler thread) */
  bool run_all_first;
  atomic_bool stopping;
  char host[256];
};

#endif
