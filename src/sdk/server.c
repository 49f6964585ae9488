/* The Extension service an extension serves on <manager>.<uuid>: ping,
 * call and shutdown, one thread per connection (bounded), so a long
 * generate never blocks the core's pings. */
#include "sdk.h"

#include "core/log.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int osq_sdk_listen(osq_extension *ext, char *err, size_t errlen) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(ext->socket_path) >= sizeof sa.sun_path) {
    snprintf(err, errlen, "extension socket path %s is longer than %zu bytes",
             ext->socket_path, sizeof sa.sun_path - 1);
    return OSQ_EINVAL;
  }
  strcpy(sa.sun_path, ext->socket_path);
  /* A socket left by an earlier extension of this uuid (protocol.md §2.1) */
  struct stat st;
  if (lstat(ext->socket_path, &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      snprintf(err, errlen, "%s exists and is not a socket; not removing it",
               ext->socket_path);
      return OSQ_EEXIST;
    }
    if (unlink(ext->socket_path) != 0 && errno != ENOENT) {
      snprintf(err, errlen, "cannot remove stale socket %s: %s",
               ext->socket_path, strerror(errno));
      return OSQ_EIO;
    }
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    snprintf(err, errlen, "socket: %s", strerror(errno));
    return OSQ_EIO;
  }
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
      listen(fd, OSQ_EXT_MAX_CONNECTIONS) != 0) {
    snprintf(err, errlen, "cannot listen on %s: %s", ext->socket_path,
             strerror(errno));
    close(fd);
    return OSQ_EIO;
  }
  return fd;
}

/* ---- the handlers ------------------------------------------------------------ */

static int h_ping(void *u, osq_ext_status *out) {
  struct osq_sdk_conn *c = u;
  osq_ext_status_set(out, 0, "pong", atomic_load(&c->ext->uuid));
  return OSQ_OK;
}

static int h_shutdown(void *u) {
  struct osq_sdk_conn *c = u;
  c->shutdown_asked = true; /* acted on once the reply is sent */
  return OSQ_OK;
}

static const char *active_name(osq_extension *ext, int kind) {
  static const char *const flag[OSQ_SDK_KINDS] = {
      [OSQ_REGISTRY_CONFIG] = "config_plugin",
      [OSQ_REGISTRY_LOGGER] = "logger_plugin",
      [OSQ_REGISTRY_DISTRIBUTED] = "distributed_plugin",
  };
  const char *v = flag[kind] ? osq_extension_option(ext, flag[kind]) : NULL;
  if (v && *v)
    return v;
  /* No active plugin known: a registry with one plugin has an obvious one. */
  if (ext->plugins[kind].n == 1) {
    const void *p = ext->plugins[kind].items[0];
    return kind == OSQ_REGISTRY_TABLE    ? ((const osq_table_plugin *)p)->name
           : kind == OSQ_REGISTRY_CONFIG ? ((const osq_config_plugin *)p)->name
           : kind == OSQ_REGISTRY_LOGGER
               ? ((const osq_logger_plugin *)p)->name
               : ((const osq_distributed_plugin *)p)->name;
  }
  return "";
}

static int dispatch(osq_extension *ext, int kind, const void *p,
                    const osq_strmap *req, osq_api_reply *reply) {
  osq_plugin plug = {.kind = kind};
  plug.u.any = p;
  return osq_dispatch_call(&plug, req, reply, atomic_load(&ext->uuid));
}

static __thread const osq_strmap *current_request;

const osq_strmap *osq_extension_request(void) { return current_request; }

static int route(struct osq_sdk_conn *c, const char *registry,
                 const char *item, const osq_strmap *req,
                 osq_api_reply *reply);

static int h_call(void *u, const char *registry, const char *item,
                  const osq_strmap *req, osq_api_reply *reply) {
  current_request = req;
  int rc = route(u, registry, item, req, reply);
  current_request = NULL;
  return rc;
}

static int route(struct osq_sdk_conn *c, const char *registry,
                 const char *item, const osq_strmap *req,
                 osq_api_reply *reply) {
  osq_extension *ext = c->ext;
  int64_t uuid = atomic_load(&ext->uuid);
  int kind = osq_sdk_kind(registry);
  OSQ_VLOG("call %s/%s action=%s", registry, item,
           osq_strmap_get(req, "action") ? osq_strmap_get(req, "action")
                                         : "-");
  if (kind < 0) {
    osq_dispatch_unknown_registry(reply, registry, uuid);
    return OSQ_OK;
  }
  if (*item == '\0')
    item = active_name(ext, kind);
  if (strchr(item, ',') == NULL) {
    const void *p = osq_sdk_find(ext, kind, item);
    if (p == NULL) {
      osq_dispatch_unknown_item(reply, item, uuid);
      return OSQ_OK;
    }
    return dispatch(ext, kind, p, req, reply);
  }
  /* "a,b": each plugin we own is called; the reply is success (as in
   * osquery), since the caller cannot tell the parts apart. */
  char *copy = strdup(item), *save = NULL;
  if (copy == NULL)
    return OSQ_ENOMEM;
  for (char *n = strtok_r(copy, ",", &save); n; n = strtok_r(NULL, ",", &save)) {
    const void *p = osq_sdk_find(ext, kind, n);
    if (p == NULL)
      continue;
    osq_api_reply one;
    osq_api_reply_init(&one);
    dispatch(ext, kind, p, req, &one);
    if (one.status.code != 0 && kind != OSQ_REGISTRY_LOGGER)
      OSQ_WARN("%s plugin %s: %s", registry, n,
               one.status.message ? one.status.message : "failed");
    osq_api_reply_free(&one);
  }
  free(copy);
  osq_ext_status_set(&reply->status, 0, "OK", uuid);
  return OSQ_OK;
}

static const osq_api_handlers handlers = {
    .ping = h_ping, .call = h_call, .shutdown = h_shutdown};

/* ---- connections --------------------------------------------------------------- */

/* A connection thread serves one connection, then waits idle for the
 * next (up to OSQ_SDK_IDLE of them wait), because osquery's core opens
 * two fresh connections per table scan and a thread start costs more
 * than the ping it serves. */

static void serve_conn(struct osq_sdk_conn *c, int fd) {
  osq_tconn *t = osq_tconn_wrap(fd);
  c->shutdown_asked = false;
  if (t != NULL) {
    for (;;) {
      int rc = osq_api_serve_one(t, &handlers, c);
      if (c->shutdown_asked) {
        osq_sdk_request_stop(c->ext, 0, true,
                             "the osquery core asked the extension to shut "
                             "down");
        break;
      }
      if (rc == OSQ_ECLOSED)
        break;
      if (rc != OSQ_OK) {
        OSQ_VLOG("dropping a connection: %s", osq_tconn_error(t));
        break;
      }
    }
  }
  pthread_mutex_lock(&c->ext->lock);
  if (t != NULL)
    osq_tconn_close(t); /* under the lock: reap may shutdown(fd) */
  else
    close(fd);
  c->fd = -1;
  pthread_mutex_unlock(&c->ext->lock);
}

static void *conn_main(void *arg) {
  struct osq_sdk_conn *c = arg;
  osq_extension *ext = c->ext;
  pthread_mutex_lock(&ext->lock);
  for (;;) {
    int fd = c->fd;
    pthread_mutex_unlock(&ext->lock);
    serve_conn(c, fd);
    pthread_mutex_lock(&ext->lock);
    if (ext->quitting || ext->nidle >= OSQ_SDK_IDLE)
      break;
    c->idle = true;
    ext->nidle++;
    while (c->fd < 0 && !ext->quitting)
      pthread_cond_wait(&c->cond, &ext->lock);
    if (c->idle) { /* woken to quit, not handed a connection */
      c->idle = false;
      ext->nidle--;
    }
    if (c->fd < 0)
      break;
  }
  c->done = true;
  pthread_mutex_unlock(&ext->lock);
  return NULL;
}

int osq_sdk_accept(osq_extension *ext, int listen_fd) {
  int fd;
  do
    fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    if (errno == EAGAIN || errno == ECONNABORTED || errno == EPROTO)
      return OSQ_OK;
    OSQ_WARN("cannot accept a connection: %s", strerror(errno));
    return OSQ_EIO; /* EMFILE, ENFILE, ENOMEM: back off */
  }
  osq_sdk_reap(ext, false);
  bool served = false;
  pthread_mutex_lock(&ext->lock);
  for (size_t i = 0; i < OSQ_EXT_MAX_CONNECTIONS && !served; i++) {
    struct osq_sdk_conn *c = &ext->conns[i];
    if (c->used && c->idle) {
      c->fd = fd;
      c->idle = false;
      ext->nidle--;
      pthread_cond_signal(&c->cond);
      served = true;
    }
  }
  for (size_t i = 0; i < OSQ_EXT_MAX_CONNECTIONS && !served; i++) {
    struct osq_sdk_conn *c = &ext->conns[i];
    if (c->used)
      continue;
    c->ext = ext;
    c->fd = fd;
    c->idle = c->done = c->shutdown_asked = false;
    pthread_cond_init(&c->cond, NULL);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, OSQ_SDK_STACK);
    if (pthread_create(&c->thread, &attr, conn_main, c) == 0) {
      c->used = true;
      served = true;
    } else {
      pthread_cond_destroy(&c->cond);
    }
    pthread_attr_destroy(&attr);
    break;
  }
  pthread_mutex_unlock(&ext->lock);
  if (!served) {
    OSQ_WARN("refusing a connection: %d connections are being served "
             "already",
             OSQ_EXT_MAX_CONNECTIONS);
    close(fd);
  }
  return OSQ_OK;
}

static bool timed_join(pthread_t t, int ms) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += ms / 1000;
  ts.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  return pthread_timedjoin_np(t, NULL, &ts) == 0;
}

void osq_sdk_reap(osq_extension *ext, bool all) {
  struct osq_sdk_conn *joins[OSQ_EXT_MAX_CONNECTIONS];
  size_t n = 0;
  pthread_mutex_lock(&ext->lock);
  if (all)
    ext->quitting = true;
  for (size_t i = 0; i < OSQ_EXT_MAX_CONNECTIONS; i++) {
    struct osq_sdk_conn *c = &ext->conns[i];
    if (!c->used)
      continue;
    if (all) {
      if (c->fd >= 0)
        shutdown(c->fd, SHUT_RDWR); /* wakes a thread blocked in read */
      pthread_cond_signal(&c->cond);
    }
    if (all || c->done) {
      joins[n++] = c;
      c->used = false;
    }
  }
  pthread_mutex_unlock(&ext->lock);
  int64_t deadline = osq_now_ms() + OSQ_SDK_JOIN_MS;
  for (size_t i = 0; i < n; i++) {
    int64_t left = deadline - osq_now_ms();
    if (timed_join(joins[i]->thread, left > 0 ? (int)left : 0)) {
      pthread_cond_destroy(&joins[i]->cond);
    } else {
      /* A plugin still busy: leave it to the process exit. */
      OSQ_WARN("a plugin call is still running at exit; leaving it");
      pthread_detach(joins[i]->thread);
      atomic_fetch_add(&ext->busy_at_exit, 1);
    }
  }
}
