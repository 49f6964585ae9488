#include "daemon/scheduler.h"

#include "core/clock.h"
#include "core/flags.h"
#include "core/log.h"
#include "daemon/diff.h"
#include "daemon/hostid.h"
#include "daemon/memtrim.h"
#include "daemon/outbox.h"
#include "daemon/sched_internal.h"
#include "events/events.h"
#include "logger/format.h"
#include "logger/logger.h"
#include "sql/sql.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define DENYLIST_SECONDS 86400
#define DENY_KEY "failed_queries"
#define EXEC_KEY "executing_query"

static volatile sig_atomic_t limit_hit;
static _Atomic(osq_sched *) current;

void osq_sched_limit_hit(void) { limit_hit = 1; }

void osq_sched_interrupt(osq_sched *s) {
  atomic_store(&s->stopping, true);
  sqlite3_interrupt(osq_db_sqlite(s->db));
}
osq_sched *osq_sched_current(void) { return current; }

static int progress(void *u) {
  return atomic_load(&((osq_sched *)u)->stopping) ? 1 : 0;
}

osq_sched *osq_sched_new(osq_store *store, char *err, size_t errlen) {
  osq_sched *s = calloc(1, sizeof *s);
  if (s == NULL) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  s->db = osq_db_acquire(err, errlen);
  if (s->db == NULL) {
    free(s);
    return NULL;
  }
  s->store = store;
  /* sqlite3_interrupt misses a statement that starts just after it; the
   * progress handler sees the flag whenever it is set. */
  sqlite3_progress_handler(osq_db_sqlite(s->db), 10000, progress, s);
  pthread_mutex_init(&s->lock, NULL);
  s->decorations = json_object();
  current = s;
  return s;
}

static void free_states(osq_sched *s) {
  for (size_t i = 0; i < s->nq; i++) {
    free(s->q[i].name);
    free(s->q[i].sql);
  }
  free(s->q);
  s->q = NULL;
  s->nq = 0;
  free(s->packs);
  s->packs = NULL;
}

void osq_sched_free(osq_sched *s) {
  if (s == NULL)
    return;
  osq_sched *expected = s;
  atomic_compare_exchange_strong(&current, &expected, NULL);
  pthread_mutex_lock(&s->lock);
  free_states(s);
  osq_config_free(s->config);
  for (size_t i = 0; i < s->ndeny; i++)
    free(s->deny[i].name);
  free(s->deny);
  pthread_mutex_unlock(&s->lock);
  json_decref(s->decorations);
  sqlite3_progress_handler(osq_db_sqlite(s->db), 0, NULL, NULL);
  osq_db_release(s->db);
  pthread_mutex_destroy(&s->lock);
  free(s);
}

/* ---- denylist ------------------------------------------------------------ */

static void deny_save(osq_sched *s) {
  size_t cap = 1;
  for (size_t i = 0; i < s->ndeny; i++)
    cap += strlen(s->deny[i].name) + 24;
  char *v = malloc(cap);
  if (v == NULL)
    return;
  size_t o = 0;
  v[0] = '\0';
  for (size_t i = 0; i < s->ndeny; i++)
    o += (size_t)snprintf(v + o, cap - o, "%s%s:%lld", o ? ":" : "",
                          s->deny[i].name, (long long)s->deny[i].expiry);
  osq_store_set(s->store, DENY_KEY, v);
  free(v);
}

static void deny_add(osq_sched *s, const char *name, int64_t expiry) {
  for (size_t i = 0; i < s->ndeny; i++)
    if (strcmp(s->deny[i].name, name) == 0) {
      s->deny[i].expiry = expiry;
      return;
    }
  deny_entry *d = realloc(s->deny, (s->ndeny + 1) * sizeof *d);
  if (d == NULL)
    return;
  s->deny = d;
  s->deny[s->ndeny].name = strdup(name);
  s->deny[s->ndeny].expiry = expiry;
  if (s->deny[s->ndeny].name)
    s->ndeny++;
}

static void deny_remove(osq_sched *s, size_t i) {
  free(s->deny[i].name);
  memmove(&s->deny[i], &s->deny[i + 1], (s->ndeny - i - 1) * sizeof *s->deny);
  s->ndeny--;
}

static int deny_find(const osq_sched *s, const char *name) {
  for (size_t i = 0; i < s->ndeny; i++)
    if (strcmp(s->deny[i].name, name) == 0)
      return (int)i;
  return -1;
}

void osq_sched_recover(osq_sched *s, bool watchdog_enabled) {
  int64_t now = time(NULL);
  pthread_mutex_lock(&s->lock);
  /* name1:expiry1:name2:expiry2 ... ; names may not contain ':' here */
  char *v = osq_store_get(s->store, DENY_KEY);
  if (v) {
    char *save = NULL;
    for (char *n = strtok_r(v, ":", &save); n; n = strtok_r(NULL, ":", &save)) {
      char *e = strtok_r(NULL, ":", &save);
      if (e == NULL)
        break;
      long long exp = strtoll(e, NULL, 10);
      if (exp > now)
        deny_add(s, n, exp);
    }
    free(v);
  }
  char *q = osq_store_get(s->store, EXEC_KEY);
  if (q && *q) {
    OSQ_WARN("Scheduled query may have failed: %s", q);
    osq_store_del(s->store, EXEC_KEY);
    if (watchdog_enabled)
      deny_add(s, q, now + DENYLIST_SECONDS);
  }
  free(q);
  deny_save(s);
  pthread_mutex_unlock(&s->lock);
}

/* ---- SQL helpers ------------------------------------------------------- */

typedef struct collect {
  json_t *rows;
  int ncol;
  const char **names; /* valid during the statement */
  int *order;
  bool diff_escape; /* compat.md §3.4 escaping */
  uint64_t out_size;
  sqlite3_stmt *st;
} collect;

static sqlite3_stmt *sort_st; /* qsort has no context argument */
static int cmp_col(const void *a, const void *b) {
  return strcmp(sqlite3_column_name(sort_st, *(const int *)a),
                sqlite3_column_name(sort_st, *(const int *)b));
}

static int c_columns(void *u, sqlite3_stmt *st) {
  collect *c = u;
  free(c->order);
  c->ncol = sqlite3_column_count(st);
  c->order = malloc(sizeof(int) * (size_t)(c->ncol ? c->ncol : 1));
  if (c->order == NULL)
    return 1;
  for (int i = 0; i < c->ncol; i++)
    c->order[i] = i;
  sort_st = st;
  qsort(c->order, (size_t)c->ncol, sizeof(int), cmp_col);
  return 0;
}

static int c_row(void *u, sqlite3_stmt *st) {
  collect *c = u;
  json_t *o = json_object();
  if (o == NULL || c->order == NULL)
    return 1;
  for (int k = 0; k < c->ncol; k++) {
    int i = c->order[k];
    const char *name = sqlite3_column_name(st, i);
    json_t *v = NULL;
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER:
      v = json_integer(sqlite3_column_int64(st, i));
      c->out_size += 8;
      break;
    case SQLITE_FLOAT:
      v = json_real(sqlite3_column_double(st, i));
      c->out_size += 8;
      break;
    case SQLITE_NULL: {
      const char *nv = OSQ_FLAG_STR(nullvalue);
      v = json_string(nv);
      c->out_size += strlen(nv);
      break;
    }
    default: {
      const char *t = (const char *)sqlite3_column_blob(st, i);
      size_t n = (size_t)sqlite3_column_bytes(st, i);
      size_t el;
      char *e = c->diff_escape ? osq_log_escape(t ? t : "", n, &el)
                               : osq_log_escape_invalid_utf8(t ? t : "", n,
                                                             &el);
      if (e)
        v = json_stringn(e, el);
      free(e);
      c->out_size += n;
    }
    }
    c->out_size += strlen(name);
    if (v == NULL || json_object_set_new(o, name, v) != 0) {
      json_decref(o);
      return 1;
    }
  }
  return json_array_append_new(c->rows, o) == 0 ? 0 : 1;
}

/* Rows of sql as typed, key-sorted objects; NULL on error (errmsg). */
static json_t *run_sql(osq_sched *s, const char *sql, bool diff_escape,
                       uint64_t *out_size, char **errmsg) {
  collect c = {.rows = json_array(), .diff_escape = diff_escape};
  osq_sql_sink sink = {c_columns, c_row, &c};
  *errmsg = NULL;
  int rc = osq_db_exec(s->db, sql, &sink, errmsg);
  free(c.order);
  if (rc != SQLITE_OK) {
    json_decref(c.rows);
    if (*errmsg == NULL)
      *errmsg = strdup(sqlite3_errstr(rc));
    return NULL;
  }
  if (out_size)
    *out_size = c.out_size;
  return c.rows;
}

/* ---- decorators ---------------------------------------------------------- */

static void run_decorator(osq_sched *s, const char *sql, json_t *into) {
  char *err = NULL;
  json_t *rows = run_sql(s, sql, false, NULL, &err);
  if (rows == NULL) {
    OSQ_WARN("Error running decorator query: %s: %s", sql, err ? err : "");
    free(err);
    return;
  }
  if (json_array_size(rows) > 1)
    OSQ_WARN("Multiple rows returned for decorator query: %s", sql);
  json_t *row = json_array_get(rows, 0);
  const char *k;
  json_t *v;
  json_object_foreach(row, k, v) {
    char buf[64];
    if (json_is_integer(v)) {
      snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
      json_object_set_new(into, k, json_string(buf));
    } else if (json_is_real(v)) {
      osq_log_double_text(json_real_value(v), buf, sizeof buf);
      json_object_set_new(into, k, json_string(buf));
    } else {
      json_object_set(into, k, v);
    }
  }
  json_decref(rows);
}

static void run_decorators(osq_sched *s, const char *kind, json_t *into,
                           uint64_t tick) {
  if (s->config == NULL || OSQ_FLAG_BOOL(disable_decorators))
    return;
  size_t i;
  json_t *d;
  json_array_foreach(s->config->decorators, i, d) {
    if (strcmp(kind, "interval") == 0) {
      const char *secs;
      json_t *list;
      json_object_foreach(json_object_get(d, "interval"), secs, list) {
        unsigned long iv = strtoul(secs, NULL, 10);
        if (iv == 0 || iv % 60 != 0) {
          if (tick == 0)
            OSQ_WARN("Decorator interval must be a multiple of 60: %s", secs);
          continue;
        }
        if (tick % iv != 0)
          continue;
        size_t k;
        json_t *q;
        json_array_foreach(list, k, q) if (json_is_string(q))
            run_decorator(s, json_string_value(q), into);
      }
      continue;
    }
    size_t k;
    json_t *q;
    json_array_foreach(json_object_get(d, kind), k, q) if (json_is_string(q))
        run_decorator(s, json_string_value(q), into);
  }
}

/* ---- config -------------------------------------------------------------- */

static uint64_t splay(osq_sched *s, const osq_sched_query *q) {
  char key[512], want[64];
  snprintf(key, sizeof key, "interval.%s", q->qname);
  char *v = osq_store_get(s->store, key);
  if (v) {
    char *colon = strchr(v, ':');
    if (colon && strtoull(v, NULL, 10) == q->interval) {
      uint64_t sp = strtoull(colon + 1, NULL, 10);
      free(v);
      if (sp >= 1)
        return sp;
    } else {
      free(v);
    }
  }
  uint64_t p = OSQ_FLAG_UINT(schedule_splay_percent);
  if (p <= 1)
    p = 10;
  uint64_t sp = q->interval;
  if (p <= 100) {
    uint64_t d = q->interval * p / 100;
    uint64_t lo = q->interval > d ? q->interval - d : 1;
    if (lo < 1)
      lo = 1;
    uint64_t hi = q->interval + d;
    sp = lo + (uint64_t)random() % (hi - lo + 1);
  }
  snprintf(want, sizeof want, "%llu:%llu", (unsigned long long)q->interval,
           (unsigned long long)sp);
  osq_store_set(s->store, key, want);
  return sp;
}

void osq_sched_set_config(osq_sched *s, osq_config *c) {
  size_t n = 0;
  for (size_t i = 0; c && i < c->npacks; i++)
    n += c->packs[i].nqueries;
  qstate *q = calloc(n ? n : 1, sizeof *q);
  packstate *ps = calloc(c && c->npacks ? c->npacks : 1, sizeof *ps);
  if (q == NULL || ps == NULL) {
    OSQ_ERR("out of memory applying the config");
    free(q);
    free(ps);
    osq_config_free(c);
    return;
  }
  size_t k = 0;
  for (size_t i = 0; c && i < c->npacks; i++) {
    for (size_t j = 0; j < c->packs[i].nqueries; j++) {
      const osq_sched_query *sq = &c->packs[i].queries[j];
      q[k].q = sq;
      q[k].pack = i;
      q[k].name = strdup(sq->name);
      q[k].sql = strdup(sq->sql);
      q[k].splayed = splay(s, sq);
      /* statistics survive a reload unless the SQL changed */
      for (size_t o = 0; o < s->nq; o++)
        if (strcmp(s->q[o].name, sq->name) == 0 &&
            strcmp(s->q[o].sql, sq->sql) == 0) {
          q[k].stats = s->q[o].stats;
          q[k].ran_once = s->q[o].ran_once;
        }
      k++;
    }
  }
  pthread_mutex_lock(&s->lock);
  osq_config *old = s->config;
  free_states(s);
  s->config = c;
  s->q = q;
  s->nq = k;
  s->packs = ps;
  pthread_mutex_unlock(&s->lock);
  osq_config_free(old);
  json_t *dec = json_object();
  run_decorators(s, "load", dec, 0);
  run_decorators(s, "interval", dec, 0);
  json_decref(s->decorations);
  s->decorations = dec;
}

/* ---- running ------------------------------------------------------------- */

static bool pack_active(osq_sched *s, size_t i) {
  const osq_pack *p = &s->config->packs[i];
  if (!p->gated_ok)
    return false;
  if (p->ndiscovery == 0)
    return true;
  packstate *ps = &s->packs[i];
  int64_t now = time(NULL);
  if (ps->checked &&
      now - ps->checked_at < (int64_t)OSQ_FLAG_UINT(pack_refresh_interval)) {
    pthread_mutex_lock(&s->lock);
    ps->hits++;
    pthread_mutex_unlock(&s->lock);
    return ps->ok;
  }
  bool ok = true;
  for (size_t d = 0; d < p->ndiscovery && ok; d++) {
    char *err = NULL;
    json_t *rows = run_sql(s, p->discovery[d], false, NULL, &err);
    ok = rows && json_array_size(rows) > 0;
    if (rows == NULL)
      OSQ_WARN("Pack %s discovery query failed: %s", p->name, err ? err : "");
    free(err);
    json_decref(rows);
  }
  pthread_mutex_lock(&s->lock);
  ps->checked = true;
  ps->checked_at = now;
  ps->ok = ok;
  ps->execs++;
  pthread_mutex_unlock(&s->lock);
  return ok;
}

static uint64_t rss_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "re");
  unsigned long size = 0, res = 0;
  if (f) {
    if (fscanf(f, "%lu %lu", &size, &res) != 2)
      res = 0;
    fclose(f);
  }
  return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

static uint64_t tv_ms(struct timeval tv) {
  return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

struct osq_db *osq_sched_db(osq_sched *s) { return s->db; }

const char *osq_sched_host(osq_sched *s) {
  osq_host_identifier(s->store, s->host, sizeof s->host);
  return s->host;
}

static int emit(osq_sched *s, osq_log_kind kind, char *line) {
  if (line == NULL) {
    OSQ_ERR("out of memory formatting a result line");
    return -1;
  }
  /* --disable_logging: results are still diffed and stored, not sent */
  int rc = OSQ_FLAG_BOOL(disable_logging)
               ? 0
               : osq_outbox_send(s->store, kind, line, strlen(line));
  free(line);
  return rc;
}

/* Log a differential result; -1 if a logger failed. */
static int log_diff(osq_sched *s, const osq_log_meta *m,
                    const osq_diff_out *d) {
  int rc = 0;
  if (!OSQ_FLAG_BOOL(logger_event_type))
    return emit(s, OSQ_LOG_RESULT, osq_log_batch_line(m, d->removed, d->added));
  size_t i;
  json_t *r;
  json_array_foreach(d->removed, i, r) rc |=
      emit(s, OSQ_LOG_RESULT, osq_log_event_line(m, r, "removed"));
  json_array_foreach(d->added, i, r) rc |=
      emit(s, OSQ_LOG_RESULT, osq_log_event_line(m, r, "added"));
  return rc;
}

static int run_query(osq_sched *s, size_t idx) {
  qstate *st = &s->q[idx];
  const osq_sched_query *q = st->q;
  if (OSQ_FLAG_BOOL(schedule_lognames))
    OSQ_INFO("Executing scheduled query %s: %s", q->name, q->sql);
  else
    OSQ_VLOG("Executing scheduled query %s: %s", q->name, q->sql);
  json_t *dec = json_deep_copy(s->decorations);
  run_decorators(s, "always", dec, 0);
  if (osq_store_set(s->store, EXEC_KEY, q->name) != 0) {
    json_decref(dec);
    return -1;
  }
  int64_t now = time(NULL);
  struct rusage r0, r1;
  getrusage(RUSAGE_SELF, &r0);
  uint64_t m0 = rss_bytes();
  int64_t t0 = osq_now_ms();
  char *err = NULL;
  uint64_t out_size = 0;
  osq_events_set_query(q->name); /* --events_optimize */
  json_t *rows = run_sql(s, q->sql, !q->snapshot, &out_size, &err);
  osq_events_set_query(NULL);
  int64_t wall = osq_now_ms() - t0;
  getrusage(RUSAGE_SELF, &r1);
  uint64_t m1 = rss_bytes();
  pthread_mutex_lock(&s->lock);
  qstats *x = &st->stats;
  x->executions++;
  x->last_executed = (uint64_t)now;
  x->last_wall_time_ms = (uint64_t)wall;
  x->wall_time_ms += (uint64_t)wall;
  x->last_user_time = tv_ms(r1.ru_utime) - tv_ms(r0.ru_utime);
  x->user_time += x->last_user_time;
  x->last_system_time = tv_ms(r1.ru_stime) - tv_ms(r0.ru_stime);
  x->system_time += x->last_system_time;
  x->last_memory = m1 > m0 ? m1 - m0 : 0;
  if (m1 > m0)
    x->average_memory =
        (x->average_memory * (x->executions - 1) + (m1 - m0)) / x->executions;
  x->output_size += rows ? out_size : 0;
  pthread_mutex_unlock(&s->lock);
  osq_release_retained_memory(m1);
  int rc = 0;
  if (rows == NULL) {
    OSQ_ERR("Error executing scheduled query %s: %s", q->name,
            err ? err : "unknown error");
    free(err);
    goto done;
  }
  osq_log_meta m = {.name = q->name,
                    .host = osq_sched_host(s),
                    .unix_time = now,
                    .epoch = OSQ_FLAG_UINT(schedule_epoch),
                    .counter = 0,
                    .numerics = OSQ_FLAG_BOOL(logger_numerics),
                    .decorations = dec,
                    .decorations_top_level =
                        OSQ_FLAG_BOOL(decorations_top_level)};
  if (q->snapshot) {
    if (!OSQ_FLAG_BOOL(logger_snapshot_event_type)) {
      emit(s, OSQ_LOG_SNAPSHOT, osq_log_snapshot_line(&m, rows));
    } else {
      size_t i;
      json_t *r;
      json_array_foreach(rows, i, r)
          emit(s, OSQ_LOG_SNAPSHOT, osq_log_event_line(&m, r, "snapshot"));
    }
    goto done;
  }
  osq_diff_out d;
  if (osq_results_prepare(s->store, q->name, q->sql, m.epoch, rows,
                          q->removed, &d) != 0) {
    rc = -1;
    goto done;
  }
  if (osq_events_query_used() && OSQ_FLAG_BOOL(events_optimize) &&
      !d.new_epoch) {
    /* with --events_optimize an event query returns only new events:
     * they are all added, never a diff against the last run */
    json_decref(d.added);
    json_decref(d.removed);
    d.added = json_deep_copy(rows);
    d.removed = json_array();
    if (json_array_size(rows) > 0 && !d.store)
      d.counter++; /* the diff saw no change, yet these are new events */
    d.log = d.store = json_array_size(rows) > 0;
  }
  m.counter = d.counter;
  /* Lines first (taken by each logger or waiting for it in the store),
   * then the new previous-results: a kill in between makes the next run
   * log them again (at least once), never lose them. A line that could
   * not even wait keeps the old results for the same reason. */
  if (d.log && log_diff(s, &m, &d) != 0)
    OSQ_ERR("Results of %s were not all logged; they will be logged again "
            "on the next run",
            q->name);
  else if (osq_results_commit(s->store, q->name, q->sql, m.epoch, rows, &d) !=
           0)
    rc = -1;
  osq_diff_out_free(&d);
done:
  json_decref(rows);
  json_decref(dec);
  if (!limit_hit && osq_store_del(s->store, EXEC_KEY) != 0)
    rc = -1;

  return rc;
}

int osq_sched_step(osq_sched *s, uint64_t tick, bool first) {
  if (s->config == NULL)
    return 0;
  /* lines that wait for a logger go before this step's */
  if (!OSQ_FLAG_BOOL(disable_logging) && osq_outbox_retry(s->store) != 0)
    return -1;
  int64_t now = time(NULL);
  for (size_t i = 0; i < s->nq && !limit_hit && !atomic_load(&s->stopping);
       i++) {
    qstate *st = &s->q[i];
    const osq_sched_query *q = st->q;
    bool startup = q->startup_priority != UINT64_MAX && !st->ran_once;
    if (!(tick % st->splayed == 0 || startup || (first && s->run_all_first)))
      continue;
    pthread_mutex_lock(&s->lock);
    int di = deny_find(s, q->name);
    bool skip = false;
    if (di >= 0) {
      if (s->deny[di].expiry <= now) {
        OSQ_INFO("Scheduled denylisted query has expired: %s", q->name);
        deny_remove(s, (size_t)di);
        deny_save(s);
      } else if (!q->denylist || (!OSQ_FLAG_BOOL(events_enforce_denylist) &&
                                  osq_events_sql_is_evented(q->sql))) {
        /* osquery exempts event queries: skipping one loses its events */
        deny_remove(s, (size_t)di);
        deny_save(s);
      } else {
        if (!st->warned_deny)
          OSQ_WARN("The caller does not want denied queries, skipping "
                   "denied scheduled query: %s",
                   q->name);
        st->warned_deny = true;
        skip = true;
      }
    }
    pthread_mutex_unlock(&s->lock);
    if (skip || !pack_active(s, st->pack))
      continue;
    st->ran_once = true;
    if (run_query(s, i) != 0)
      return -1;
  }
  if (tick % 60 == 0 && s->config) {
    json_t *dec = json_deep_copy(s->decorations);
    run_decorators(s, "interval", dec, tick);
    json_decref(s->decorations);
    s->decorations = dec;
  }
  return 0;
}
