/* The manager's watcher: ping every extension each interval (with the
 * registration timeout of grace for a new extension's socket to appear)
 * under a short ping deadline; one failed check removes the extension and
 * its routes, cuts its calls in flight (they fail at once, naming the
 * reason) and tells the unhealthy hook, which has the loader kill and
 * restart it. */
#include "manager_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/log.h"
#include "registry/registry.h"

struct check {
  int64_t uuid;
  osq_remote_ext *remote;
  bool checked;
  int64_t registered_ms;
  pid_t pid;
};

/* The state letter of a process ('T': stopped), or 0. */
static char proc_state(pid_t pid) {
  char state;
  pid_t ppid;
  return osq_manager_proc_stat(pid, &state, &ppid) ? state : 0;
}

/* How long a ping may take: short, so a hung extension is noticed within
 * about one interval plus this, but never longer than a call may take. */
static int64_t ping_deadline_ms(const osq_manager *m) {
  int64_t limit = m->set.ping_deadline_ms > 0
                      ? m->set.ping_deadline_ms
                      : OSQ_EXT_DEFAULT_PING_DEADLINE_MS;
  int64_t tt = m->set.thrift.call_timeout_ms;
  return tt > 0 && tt < limit ? tt : limit;
}

static void mark_checked(osq_manager *m, struct check *c) {
  pthread_mutex_lock(&m->lock);
  for (struct osq_ext_rec *r = m->exts; r; r = r->next)
    if (r->uuid == c->uuid)
      r->checked = true;
  pthread_mutex_unlock(&m->lock);
}

/* false with the reason in err when the extension must go. */
static bool healthy(osq_manager *m, struct check *c, char *err,
                    size_t errlen) {
  if (osq_remote_ext_inflight(c->remote) > 0) {
    /* A busy extension is not pinged: a ping would queue behind its calls
     * on a one-connection server, and the calls have their deadlines. But
     * a stopped process answers nothing, and its calls would wait out the
     * whole call timeout. */
    if (proc_state(c->pid) != 'T')
      return true;
    snprintf(err, errlen, "its process %d is stopped while calls wait on it",
             (int)c->pid);
    return false;
  }
  const char *path = osq_remote_ext_path(c->remote);
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISSOCK(st.st_mode)) {
    if (!c->checked && osq_now_ms() - c->registered_ms < m->set.timeout_ms)
      return true; /* SDKs register first and listen second */
    snprintf(err, errlen, "its socket %s is missing", path);
    return false;
  }
  if (osq_remote_ping(c->remote, osq_now_ms() + ping_deadline_ms(m), err,
                      errlen) != OSQ_OK)
    return false;
  if (!c->checked) {
    mark_checked(m, c);
    const osq_plugin **loggers;
    size_t n = osq_registry_list(OSQ_REGISTRY_LOGGER, &loggers);
    osq_remote_query_features(c->remote, loggers, n);
    osq_registry_list_free(loggers, n);
  }
  return true;
}

static void check_one(osq_manager *m, struct check *c) {
  char err[600];
  if (healthy(m, c, err, sizeof err))
    return;
  char why[700];
  snprintf(why, sizeof why, "failed its health check (%s)", err);
  if (!osq_manager_drop(m, c->uuid, why, true))
    return; /* gone meanwhile (deregistered, or its process exited) */
  pthread_mutex_lock(&m->lock);
  osq_manager_unhealthy_hook hook = m->on_unhealthy;
  void *u = m->on_unhealthy_udata;
  m->hook_calls += hook != NULL;
  pthread_mutex_unlock(&m->lock);
  if (hook == NULL)
    return;
  hook(c->pid, why, u);
  pthread_mutex_lock(&m->lock);
  m->hook_calls--;
  pthread_cond_broadcast(&m->changed);
  pthread_mutex_unlock(&m->lock);
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
};

static void *round_worker(void *arg) {
  struct round *r = arg;
  for (;;) {
    size_t i = r->next++;
    if (i >= r->n || r->m->stopping)
      return NULL;
    check_one(r->m, &r->cs[i]);
  }
}

static void run_round(osq_manager *m, struct check *cs, size_t n) {
  struct round r = {m, cs, n, 0};
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
                                 r->checked, r->registered_ms, r->pid};
    pthread_mutex_unlock(&m->lock);
    run_round(m, cs, n);
    for (size_t i = 0; i < n; i++)
      osq_remote_ext_unref(cs[i].remote);
    free(cs);
    pthread_mutex_lock(&m->lock);
  }
  pthread_mutex_unlock(&m->lock);
  return NULL;
}
