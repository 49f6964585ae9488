/* The manager's watcher: ping every extension each --extensions_interval,
 * with --extensions_timeout of grace for a new extension's socket to
 * appear; one failed check removes the extension and its routes. */
#include "manager_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/log.h"

struct check {
  int64_t uuid;
  osq_remote_ext *remote;
  bool checked;
  int64_t registered_ms;
};

static void check_one(osq_manager *m, struct check *c, int64_t interval_ms) {
  /* A busy extension is left alone: its calls have their own deadlines,
   * and a ping would queue behind them on a one-connection server. */
  if (osq_remote_ext_inflight(c->remote) > 0)
    return;
  const char *path = osq_remote_ext_path(c->remote);
  struct stat st;
  char err[600];
  if (stat(path, &st) != 0 || !S_ISSOCK(st.st_mode)) {
    int64_t grace = m->set.timeout_ms;
    if (!c->checked && osq_now_ms() - c->registered_ms < grace)
      return;
    snprintf(err, sizeof err, "its socket %s is missing", path);
  } else {
    int64_t limit = OSQ_MANAGER_HEALTH_PING_MS;
    if (limit < 2 * interval_ms)
      limit = 2 * interval_ms;
    int64_t tt = m->set.thrift.call_timeout_ms;
    if (tt > 0 && tt < limit)
      limit = tt;
    if (osq_remote_ping(c->remote, osq_now_ms() + limit, err, sizeof err) ==
        OSQ_OK) {
      if (!c->checked) {
        pthread_mutex_lock(&m->lock);
        for (struct osq_ext_rec *r = m->exts; r; r = r->next)
          if (r->uuid == c->uuid)
            r->checked = true;
        pthread_mutex_unlock(&m->lock);
        osq_remote_query_features(c->remote);
      }
      return;
    }
  }
  char why[700];
  snprintf(why, sizeof why, "failed its health check (%s): removed", err);
  osq_manager_drop(m, c->uuid, why, true);
}

/* One round's checks, run by up to OSQ_MANAGER_HEALTH_WORKERS threads so
 * that a few hung extensions (each up to its ping deadline) do not delay
 * the checks of the others. */
#define OSQ_MANAGER_HEALTH_WORKERS 8

struct round {
  osq_manager *m;
  struct check *cs;
  size_t n;
  _Atomic size_t next;
  int64_t interval;
};

static void *round_worker(void *arg) {
  struct round *r = arg;
  for (;;) {
    size_t i = r->next++;
    if (i >= r->n || r->m->stopping)
      return NULL;
    check_one(r->m, &r->cs[i], r->interval);
  }
}

static void run_round(osq_manager *m, struct check *cs, size_t n,
                      int64_t interval) {
  struct round r = {m, cs, n, 0, interval};
  pthread_t th[OSQ_MANAGER_HEALTH_WORKERS];
  size_t nth = 0;
  for (; n > 1 && nth < n && nth < OSQ_MANAGER_HEALTH_WORKERS; nth++)
    if (pthread_create(&th[nth], NULL, round_worker, &r) != 0)
      break;
  round_worker(&r); /* this thread helps too (and is enough for one) */
  for (size_t i = 0; i < nth; i++)
    pthread_join(th[i], NULL);
}

void *osq_manager_health_main(void *arg) {
  osq_manager *m = arg;
  pthread_mutex_lock(&m->lock);
  while (!m->stopping) {
    int64_t interval = m->set.interval_ms < OSQ_MANAGER_HEALTH_MIN_MS
                           ? OSQ_MANAGER_HEALTH_MIN_MS
                           : m->set.interval_ms;
    int64_t next = osq_now_ms() + interval;
    while (!m->stopping && osq_manager_timedwait(m, next))
      ;
    if (m->stopping)
      break;
    size_t n = 0;
    for (struct osq_ext_rec *r = m->exts; r; r = r->next)
      n += !r->pending;
    struct check *cs = calloc(n ? n : 1, sizeof *cs);
    n = 0;
    for (struct osq_ext_rec *r = m->exts; cs && r; r = r->next)
      if (!r->pending)
        cs[n++] = (struct check){r->uuid, osq_remote_ext_ref(r->remote),
                                 r->checked, r->registered_ms};
    pthread_mutex_unlock(&m->lock);
    run_round(m, cs, n, interval);
    for (size_t i = 0; i < n; i++)
      osq_remote_ext_unref(cs[i].remote);
    free(cs);
    pthread_mutex_lock(&m->lock);
  }
  pthread_mutex_unlock(&m->lock);
  return NULL;
}
