/* osquery_schedule and osquery_packs, read from the running scheduler
 * (empty without one, as in osqi). osquery_events is src/events/'s. */
#include "daemon/sched_internal.h"
#include "daemon/scheduler.h"
#include "registry/registry.h"

#include "core/log.h"

#include <string.h>
#include <time.h>

static const osq_column schedule_cols[] = {
    {"name", OSQ_TYPE_TEXT, 0},
    {"query", OSQ_TYPE_TEXT, 0},
    {"interval", OSQ_TYPE_INTEGER, 0},
    {"executions", OSQ_TYPE_BIGINT, 0},
    {"last_executed", OSQ_TYPE_BIGINT, 0},
    {"denylisted", OSQ_TYPE_INTEGER, 0},
    /* osquery's hidden alias of denylisted, under its old name */
    {"blacklisted", OSQ_TYPE_INTEGER, OSQ_COL_HIDDEN},
    {"output_size", OSQ_TYPE_BIGINT, 0},
    {"wall_time", OSQ_TYPE_BIGINT, 0},
    {"wall_time_ms", OSQ_TYPE_BIGINT, 0},
    {"last_wall_time_ms", OSQ_TYPE_BIGINT, 0},
    {"user_time", OSQ_TYPE_BIGINT, 0},
    {"last_user_time", OSQ_TYPE_BIGINT, 0},
    {"system_time", OSQ_TYPE_BIGINT, 0},
    {"last_system_time", OSQ_TYPE_BIGINT, 0},
    {"average_memory", OSQ_TYPE_BIGINT, 0},
    {"last_memory", OSQ_TYPE_BIGINT, 0},
};

static int gen_schedule(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)ctx;
  (void)udata;
  osq_sched *s = osq_sched_current();
  if (s == NULL)
    return OSQ_OK;
  int64_t now = time(NULL);
  pthread_mutex_lock(&s->lock);
  int rc = OSQ_OK;
  for (size_t i = 0; i < s->nq && rc == OSQ_OK; i++) {
    const qstate *q = &s->q[i];
    const qstats *x = &q->stats;
    bool denied = false;
    for (size_t d = 0; d < s->ndeny; d++)
      if (strcmp(s->deny[d].name, q->name) == 0 && s->deny[d].expiry > now)
        denied = true;
    osq_rows_cstr(out, 0, q->name);
    osq_rows_cstr(out, 1, q->sql);
    osq_rows_int(out, 2, (int64_t)q->q->interval);
    osq_rows_int(out, 3, (int64_t)x->executions);
    osq_rows_int(out, 4, (int64_t)x->last_executed);
    osq_rows_int(out, 5, denied);
    osq_rows_int(out, 6, denied);
    osq_rows_int(out, 7, (int64_t)x->output_size);
    osq_rows_int(out, 8, (int64_t)(x->wall_time_ms / 1000));
    osq_rows_int(out, 9, (int64_t)x->wall_time_ms);
    osq_rows_int(out, 10, (int64_t)x->last_wall_time_ms);
    osq_rows_int(out, 11, (int64_t)x->user_time);
    osq_rows_int(out, 12, (int64_t)x->last_user_time);
    osq_rows_int(out, 13, (int64_t)x->system_time);
    osq_rows_int(out, 14, (int64_t)x->last_system_time);
    osq_rows_int(out, 15, (int64_t)x->average_memory);
    osq_rows_int(out, 16, (int64_t)x->last_memory);
    rc = osq_rows_end(out);
  }
  pthread_mutex_unlock(&s->lock);
  return rc;
}

static const osq_column packs_cols[] = {
    {"name", OSQ_TYPE_TEXT, 0},
    {"platform", OSQ_TYPE_TEXT, 0},
    {"version", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_VERSION},
    {"shard", OSQ_TYPE_INTEGER, 0},
    {"discovery_cache_hits", OSQ_TYPE_INTEGER, 0},
    {"discovery_executions", OSQ_TYPE_INTEGER, 0},
    {"active", OSQ_TYPE_INTEGER, 0},
};

static int gen_packs(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)ctx;
  (void)udata;
  osq_sched *s = osq_sched_current();
  if (s == NULL)
    return OSQ_OK;
  pthread_mutex_lock(&s->lock);
  int rc = OSQ_OK;
  for (size_t i = 0; s->config && i < s->config->npacks && rc == OSQ_OK;
       i++) {
    const osq_pack *p = &s->config->packs[i];
    /* a source's "schedule" is listed too, as osquery's implicit pack
     * "main" */
    const packstate *ps = &s->packs[i];
    bool active = p->gated_ok && (p->ndiscovery == 0 || (ps->checked && ps->ok));
    osq_rows_cstr(out, 0, p->name);
    osq_rows_cstr(out, 1, p->platform ? p->platform : "");
    osq_rows_cstr(out, 2, p->version ? p->version : "");
    osq_rows_int(out, 3, (int64_t)p->shard);
    osq_rows_int(out, 4, (int64_t)ps->hits);
    osq_rows_int(out, 5, (int64_t)ps->execs);
    osq_rows_int(out, 6, active);
    rc = osq_rows_end(out);
  }
  pthread_mutex_unlock(&s->lock);
  return rc;
}

static const osq_table_plugin schedule_table = {
    .name = "osquery_schedule",
    .columns = schedule_cols,
    .ncolumns = sizeof schedule_cols / sizeof schedule_cols[0],
    .attributes = OSQ_TABLE_UTILITY,
    .generate = gen_schedule,
};

static const osq_table_plugin packs_table = {
    .name = "osquery_packs",
    .columns = packs_cols,
    .ncolumns = sizeof packs_cols / sizeof packs_cols[0],
    .attributes = OSQ_TABLE_UTILITY,
    .generate = gen_packs,
};

int osq_sched_register_tables(void) {
  char err[256];
  const osq_table_plugin *t[] = {&schedule_table, &packs_table};
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    if (osq_registry_exists(OSQ_REGISTRY_TABLE, t[i]->name))
      continue;
    if (osq_registry_add(OSQ_REGISTRY_TABLE, t[i], OSQ_CORE_UUID, false, err,
                         sizeof err) != 0) {
      OSQ_ERR("%s", err);
      return -1;
    }
  }
  return 0;
}
