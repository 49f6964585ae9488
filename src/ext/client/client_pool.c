#include "client_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>


struct osq_pool {
  pthread_mutex_t lock;
  char *path;
  osq_tconn *idle; /* at most one: see the header */
  osq_tconn **busy; /* in flight, so that close can cut them */
  size_t nbusy, capbusy;
  bool closed;
  osq_pool_stats stats;
  osq_thrift_settings limits;
};

osq_pool *osq_pool_new(const char *path, const osq_thrift_settings *t) {
  osq_pool *p = calloc(1, sizeof *p);
  if (p == NULL)
    return NULL;
  if (t)
    p->limits = *t;
  p->path = strdup(path);
  if (p->path == NULL) {
    free(p);
    return NULL;
  }
  pthread_mutex_init(&p->lock, NULL);
  return p;
}

const char *osq_pool_path(const osq_pool *p) { return p->path; }

int osq_pool_inflight(osq_pool *p) {
  pthread_mutex_lock(&p->lock);
  int n = (int)p->nbusy;
  pthread_mutex_unlock(&p->lock);
  return n;
}

void osq_pool_get_stats(osq_pool *p, osq_pool_stats *out) {
  pthread_mutex_lock(&p->lock);
  *out = p->stats;
  pthread_mutex_unlock(&p->lock);
}

void osq_pool_close(osq_pool *p, bool cut) {
  pthread_mutex_lock(&p->lock);
  osq_tconn *idle = p->idle;
  p->idle = NULL;
  p->closed = true;
  /* The owners close these fds only after taking them off the list under
   * the lock, so shutting them down here is safe; it wakes their reads. */
  for (size_t i = 0; cut && i < p->nbusy; i++)
    if (p->busy[i]) /* NULL: a caller still connecting */
      shutdown(osq_tconn_fd(p->busy[i]), SHUT_RDWR);
  pthread_mutex_unlock(&p->lock);
  if (idle)
    osq_tconn_close(idle);
}

void osq_pool_free(osq_pool *p) {
  if (p == NULL)
    return;
  osq_pool_close(p, true);
  pthread_mutex_destroy(&p->lock);
  free(p->busy);
  free(p->path);
  free(p);
}

static int add_busy(osq_pool *p, osq_tconn *c) {
  if (p->nbusy == p->capbusy) {
    size_t cap = p->capbusy ? p->capbusy * 2 : 4;
    osq_tconn **b = realloc(p->busy, cap * sizeof *b);
    if (b == NULL)
      return OSQ_ENOMEM;
    p->busy = b;
    p->capbusy = cap;
  }
  p->busy[p->nbusy++] = c;
  return OSQ_OK;
}

static void remove_busy(osq_pool *p, osq_tconn *c) {
  for (size_t i = 0; i < p->nbusy; i++)
    if (p->busy[i] == c) {
      p->busy[i] = p->busy[--p->nbusy];
      return;
    }
}

static void apply_limits(const osq_pool *p, osq_tconn *c) {
  if (p->limits.max_message > 0)
    osq_tconn_set_max_message(c, p->limits.max_message);
  if (p->limits.string_limit > 0)
    osq_tconn_set_string_limit(c, p->limits.string_limit);
}

int osq_pool_acquire(osq_pool *p, int64_t deadline_ms, osq_lease *l,
                     char *err, size_t errlen) {
  l->conn = NULL;
  l->reused = false;
  pthread_mutex_lock(&p->lock);
  if (p->closed) {
    pthread_mutex_unlock(&p->lock);
    snprintf(err, errlen, "extension at %s is no longer registered",
             p->path);
    return OSQ_ECLOSED;
  }
  osq_tconn *c = p->idle;
  p->idle = NULL;
  /* A placeholder keeps the in-flight count right while we connect, so a
   * caller finishing meanwhile does not park its connection as idle. */
  int rc = add_busy(p, NULL);
  pthread_mutex_unlock(&p->lock);
  if (rc != OSQ_OK) {
    if (c)
      osq_tconn_close(c);
    snprintf(err, errlen, "out of memory");
    return rc;
  }
  if (c && osq_tconn_stale(c)) {
    osq_tconn_close(c);
    c = NULL;
    pthread_mutex_lock(&p->lock);
    p->stats.closes++;
    pthread_mutex_unlock(&p->lock);
  }
  bool reused = c != NULL;
  if (c == NULL) {
    int64_t left = deadline_ms > 0 ? deadline_ms - osq_now_ms() : 0;
    if (deadline_ms > 0 && left <= 0) {
      rc = OSQ_ETIMEDOUT;
      snprintf(err, errlen, "deadline passed before connecting to %s",
               p->path);
    } else {
      int e = 0;
      char msg[256] = "";
      c = osq_tconn_open(p->path, deadline_ms > 0 ? (int)left : 0, &e, msg,
                         sizeof msg);
      if (c == NULL) {
        rc = e ? e : OSQ_EIO;
        snprintf(err, errlen, "%s", msg[0] ? msg : osq_strerror(rc));
      }
    }
  }
  pthread_mutex_lock(&p->lock);
  remove_busy(p, NULL);
  if (c && p->closed) {
    rc = OSQ_ECLOSED;
    snprintf(err, errlen, "extension at %s is no longer registered", p->path);
  } else if (c) {
    rc = add_busy(p, c); /* cannot fail: the placeholder's slot is free */
    if (reused)
      p->stats.reuses++;
    else
      p->stats.connects++;
  }
  pthread_mutex_unlock(&p->lock);
  if (rc != OSQ_OK) {
    if (c)
      osq_tconn_close(c);
    return rc;
  }
  apply_limits(p, c);
  osq_tconn_set_deadline(c, deadline_ms);
  l->conn = c;
  l->reused = reused;
  return OSQ_OK;
}

void osq_pool_release(osq_pool *p, osq_lease *l, bool healthy) {
  osq_tconn *c = l->conn, *drop = NULL;
  l->conn = NULL;
  if (c == NULL)
    return;
  pthread_mutex_lock(&p->lock);
  remove_busy(p, c);
  if (healthy && !p->closed && p->idle == NULL && p->nbusy == 0) {
    osq_tconn_set_deadline(c, 0);
    p->idle = c;
  } else {
    drop = c;
    p->stats.closes++;
  }
  pthread_mutex_unlock(&p->lock);
  if (drop)
    osq_tconn_close(drop);
}
