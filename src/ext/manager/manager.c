/* The manager's socket, its accept loop and connection threads, start and
 * stop, and the waits others use to order their start-up. */
#include "manager_impl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "registry/registry.h"
#include "ext/introspect.h"

/* One manager per process feeds the introspection tables. */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static osq_manager *g_manager;

/* Registry changes wake osq_manager_wait_plugin. */
static pthread_mutex_t g_reg_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_reg_cond;
static bool g_reg_listening;

static void on_registry_change(osq_registry_kind kind, const char *name,
                               bool added, void *u) {
  (void)kind, (void)name, (void)added, (void)u;
  pthread_mutex_lock(&g_reg_lock);
  pthread_cond_broadcast(&g_reg_cond);
  pthread_mutex_unlock(&g_reg_lock);
}

static void init_cond(pthread_cond_t *c) {
  pthread_condattr_t a;
  pthread_condattr_init(&a);
  pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
  pthread_cond_init(c, &a);
  pthread_condattr_destroy(&a);
}

static struct timespec mono_ts(int64_t ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  return ts;
}

bool osq_manager_timedwait(osq_manager *m, int64_t deadline_ms) {
  if (deadline_ms <= 0) {
    pthread_cond_wait(&m->changed, &m->lock);
    return true;
  }
  if (osq_now_ms() >= deadline_ms)
    return false;
  struct timespec ts = mono_ts(deadline_ms);
  pthread_cond_timedwait(&m->changed, &m->lock, &ts);
  return true;
}

const char *osq_manager_socket(const osq_manager *m) { return m->path; }

void osq_manager_set_unhealthy_hook(osq_manager *m,
                                    osq_manager_unhealthy_hook fn,
                                    void *udata) {
  pthread_mutex_lock(&m->lock);
  m->on_unhealthy = fn;
  m->on_unhealthy_udata = udata;
  /* The old udata may be freed once we return: wait out its calls. */
  while (m->hook_calls > 0)
    pthread_cond_wait(&m->changed, &m->lock);
  pthread_mutex_unlock(&m->lock);
}

/* ---- introspection -------------------------------------------------------- */

static size_t provide(osq_ext_view **out) {
  *out = NULL;
  pthread_mutex_lock(&g_lock);
  osq_manager *m = g_manager;
  size_t n = 0;
  if (m) {
    pthread_mutex_lock(&m->lock);
    size_t cap = 0;
    for (struct osq_ext_rec *r = m->exts; r; r = r->next)
      cap += !r->pending;
    osq_ext_view *v = calloc(cap ? cap : 1, sizeof *v);
    for (struct osq_ext_rec *r = m->exts; v && r; r = r->next) {
      if (r->pending)
        continue;
      v[n] = (osq_ext_view){.uuid = r->uuid,
                            .name = strdup(r->info.name),
                            .version = strdup(r->info.version),
                            .sdk_version = strdup(r->info.sdk_version),
                            .min_sdk_version = strdup(r->info.min_sdk_version),
                            .path = strdup(r->path),
                            .pid = r->pid};
      n++;
    }
    pthread_mutex_unlock(&m->lock);
    *out = v;
  }
  pthread_mutex_unlock(&g_lock);
  return n;
}

/* ---- socket set-up -------------------------------------------------------- */

static int parse_group(const char *s, gid_t *gid, char *err, size_t errlen) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (*s && *end == '\0' && errno == 0 && v < (gid_t)-1) {
    *gid = (gid_t)v;
    return 0;
  }
  struct group gr, *res = NULL;
  char buf[8192];
  if (getgrnam_r(s, &gr, buf, sizeof buf, &res) != 0 || res == NULL) {
    snprintf(err, errlen, "Unknown group in --extensions_socket_group: %s",
             s);
    return -1;
  }
  *gid = gr.gr_gid;
  return 0;
}

/* Is a manager answering on path? 1 yes, 0 no (stale), -1 cannot tell. */
static int socket_live(const char *path, char *err, size_t errlen) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    snprintf(err, errlen, "socket: %s", strerror(errno));
    return -1;
  }
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
  int rc;
  do
    rc = connect(fd, (struct sockaddr *)&a, sizeof a);
  while (rc < 0 && errno == EINTR);
  int e = errno;
  close(fd);
  if (rc == 0 || e == EAGAIN)
    return 1;
  if (e == ECONNREFUSED || e == ENOENT)
    return 0;
  snprintf(err, errlen, "Cannot check extension socket %s: %s", path,
           strerror(e));
  return -1;
}

/* Remove <path>.* sockets: stale extension sockets of an earlier run. */
static void remove_extension_sockets(const char *path) {
  char *copy = strdup(path), *copy2 = strdup(path);
  if (copy == NULL || copy2 == NULL) {
    free(copy);
    free(copy2);
    return;
  }
  const char *dir = dirname(copy), *base = basename(copy2);
  size_t blen = strlen(base);
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
      if (strncmp(de->d_name, base, blen) != 0 || de->d_name[blen] != '.')
        continue;
      struct stat st;
      if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
          S_ISSOCK(st.st_mode))
        unlinkat(dirfd(d), de->d_name, 0);
    }
    closedir(d);
  }
  free(copy);
  free(copy2);
}

static int check_path(const char *path, char *err, size_t errlen) {
  struct sockaddr_un a;
  /* Extensions listen on <path>.<uuid>: leave room for ".65535". */
  if (path[0] == '\0' || strlen(path) + 6 >= sizeof a.sun_path) {
    snprintf(err, errlen,
             "Extension socket path too long: %s (%zu bytes; at most %zu so "
             "that extension sockets <path>.<uuid> fit in a UNIX socket "
             "address)",
             path, strlen(path), sizeof a.sun_path - 7);
    return -1;
  }
  char *copy = strdup(path);
  if (copy == NULL) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  const char *dir = dirname(copy);
  struct stat st;
  int rc = 0;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    snprintf(err, errlen, "Extension socket directory missing: %s", dir);
    rc = -1;
  } else if (access(dir, W_OK | X_OK) != 0) {
    snprintf(err, errlen,
             "Cannot create extension socket: %s (directory %s is not "
             "writable)",
             path, dir);
    rc = -1;
  }
  free(copy);
  if (rc)
    return rc;
  if (lstat(path, &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      snprintf(err, errlen,
               "Cannot create extension socket: %s exists and is not a socket",
               path);
      return -1;
    }
    int live = socket_live(path, err, errlen);
    if (live < 0)
      return -1;
    if (live) {
      snprintf(err, errlen,
               "Another extension manager is serving %s; not replacing it",
               path);
      return -1;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
      snprintf(err, errlen, "Cannot remove stale extension socket %s: %s",
               path, strerror(errno));
      return -1;
    }
    OSQ_INFO("Removed stale extension socket %s", path);
  }
  return 0;
}

/* Bind a temporary name beside path, listen, set mode and group, then link
 * it into place, so the path appears only once it can serve and a manager
 * that started meanwhile is never replaced. */
static int make_listener(osq_manager *m, mode_t mode, char *err,
                         size_t errlen) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    snprintf(err, errlen, "socket: %s", strerror(errno));
    return -1;
  }
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  char tmp[sizeof a.sun_path];
  int rc = -1;
  unsigned seed = (unsigned)getpid() ^ (unsigned)osq_now_ms();
  for (int i = 0; i < 16 && rc != 0; i++) {
    snprintf(tmp, sizeof tmp, "%s.t%04x", m->path, rand_r(&seed) & 0xffff);
    memcpy(a.sun_path, tmp, sizeof tmp);
    rc = bind(fd, (struct sockaddr *)&a, sizeof a);
    if (rc != 0 && errno != EADDRINUSE)
      break;
  }
  if (rc != 0) {
    snprintf(err, errlen, "Cannot create extension socket: %s: bind: %s",
             m->path, strerror(errno));
    close(fd);
    return -1;
  }
  if (listen(fd, 128) != 0) {
    snprintf(err, errlen, "Cannot listen on %s: %s", m->path,
             strerror(errno));
    goto fail;
  }
  if (m->has_group && chown(tmp, (uid_t)-1, m->group) != 0) {
    snprintf(err, errlen, "Cannot set group %u on %s: %s",
             (unsigned)m->group, m->path, strerror(errno));
    goto fail;
  }
  if (chmod(tmp, mode) != 0) {
    snprintf(err, errlen, "Cannot set mode %04o on %s: %s", (unsigned)mode,
             m->path, strerror(errno));
    goto fail;
  }
  for (int attempt = 0; attempt < 2; attempt++) {
    if (link(tmp, m->path) == 0) {
      unlink(tmp);
      m->listen_fd = fd;
      return 0;
    }
    if (errno == EEXIST) {
      /* Someone created it since we checked: replace only a dead one. */
      if (check_path(m->path, err, errlen) != 0)
        goto fail;
      continue;
    }
    /* A file system without hard links: rename, which may replace. */
    if (rename(tmp, m->path) == 0) {
      m->listen_fd = fd;
      return 0;
    }
    snprintf(err, errlen, "Cannot create extension socket %s: %s", m->path,
             strerror(errno));
    goto fail;
  }
  snprintf(err, errlen, "Another extension manager is serving %s", m->path);
fail:
  unlink(tmp);
  close(fd);
  return -1;
}

/* ---- connections ---------------------------------------------------------- */

/* Is uid/gid/pid allowed? root, our own uid, or a member of the group. */
static bool peer_in_group(pid_t pid, gid_t pgid, gid_t group) {
  if (pgid == group)
    return true;
  char path[64], line[4096];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "re");
  if (f == NULL)
    return false;
  bool hit = false;
  while (!hit && fgets(line, sizeof line, f)) {
    if (strncmp(line, "Groups:", 7) != 0)
      continue;
    char *p = line + 7, *end;
    for (;;) {
      unsigned long g = strtoul(p, &end, 10);
      if (end == p)
        break;
      if ((gid_t)g == group)
        hit = true;
      p = end;
    }
    break;
  }
  fclose(f);
  return hit;
}

static int64_t request_deadline_ms(const osq_manager *m) {
  return m->set.request_deadline_ms > 0 ? m->set.request_deadline_ms
                                        : OSQ_EXT_DEFAULT_REQUEST_DEADLINE_MS;
}

void osq_manager_request_read(struct osq_conn_rec *cr) {
  if (cr->conn == NULL)
    return;
  osq_tconn_end_request(cr->conn);
  osq_tconn_set_deadline(cr->conn, 0);
}

void osq_manager_reply_due(struct osq_conn_rec *cr) {
  if (cr->conn == NULL)
    return;
  /* A large reply to a slow but honest reader may take as long as a call
   * may; the peer cap bounds what a reader that never reads can hold. */
  int64_t ms = cr->m->set.thrift.call_timeout_ms > 0
                   ? cr->m->set.thrift.call_timeout_ms
                   : request_deadline_ms(cr->m);
  osq_tconn_set_deadline(cr->conn, osq_now_ms() + ms);
}

static void *conn_main(void *arg) {
  struct osq_conn_rec *cr = arg;
  osq_manager *m = cr->m;
  osq_tconn *c = osq_tconn_wrap(cr->fd);
  if (c) {
    cr->conn = c;
    if (m->set.thrift.max_message)
      osq_tconn_set_max_message(c, m->set.thrift.max_message);
    if (m->set.thrift.string_limit)
      osq_tconn_set_string_limit(c, m->set.thrift.string_limit);
    /* Idle time between requests is free (extensions keep a connection
     * open); a request, once begun, must arrive whole in time, so a
     * half-sent one cannot hold its slot. */
    int64_t rd = request_deadline_ms(m);
    osq_tconn_set_request_timeout(c, rd > INT32_MAX ? INT32_MAX : (int)rd);
    for (;;) {
      osq_tconn_set_deadline(c, 0);
      int rc = osq_api_serve_one(c, &osq_manager_handlers, cr);
      if (rc == OSQ_OK)
        continue;
      if (rc != OSQ_ECLOSED && !m->stopping)
        OSQ_WARN("Dropping extension manager connection from pid %d: %s",
                 (int)cr->pid, osq_tconn_error(c));
      break;
    }
  }
  /* Unlist first: stop() shuts down listed fds, so the fd must stay open
   * until it is off the list. */
  pthread_mutex_lock(&m->lock);
  struct osq_conn_rec **pp = &m->conns;
  while (*pp && *pp != cr)
    pp = &(*pp)->next;
  if (*pp)
    *pp = cr->next;
  m->nconns--;
  if (c)
    osq_tconn_close(c);
  else
    close(cr->fd);
  free(cr);
  pthread_cond_broadcast(&m->conns_done);
  pthread_mutex_unlock(&m->lock);
  return NULL;
}

/* Log a refused connection, at most once per OSQ_MANAGER_REFUSE_LOG_MS. */
static void refused(osq_manager *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void refused(osq_manager *m, const char *fmt, ...) {
  int64_t now = osq_now_ms();
  pthread_mutex_lock(&m->lock);
  bool say = m->refuse_logged_ms == 0 ||
             now - m->refuse_logged_ms >= OSQ_MANAGER_REFUSE_LOG_MS;
  unsigned quiet = m->refused_quiet;
  if (say) {
    m->refuse_logged_ms = now;
    m->refused_quiet = 0;
  } else {
    m->refused_quiet++;
  }
  pthread_mutex_unlock(&m->lock);
  if (!say)
    return;
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (quiet)
    OSQ_WARN("%s (and %u more refused in the last %d s)", msg, quiet,
             OSQ_MANAGER_REFUSE_LOG_MS / 1000);
  else
    OSQ_WARN("%s", msg);
}

/* Connections one peer may hold, so that no single process (a slow or
 * hostile client) takes every slot from the others. */
static size_t per_peer_cap(const osq_manager *m) {
  if (m->set.max_connections_per_peer)
    return m->set.max_connections_per_peer;
  /* half the slots; a tiny cap (tests, embedded use) is not split */
  uint32_t max = m->set.max_connections;
  if (max == 0)
    return 512;
  return max >= 8 ? max / 2 : max;
}

static void accept_one(osq_manager *m) {
  int fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC);
  if (fd < 0) {
    if (errno == EMFILE || errno == ENFILE || errno == ENOMEM ||
        errno == ENOBUFS) {
      /* The connection stays queued and poll() would report it again at
       * once: back off instead of spinning. */
      static int64_t last_warn;
      if (osq_now_ms() - last_warn > 10000) {
        OSQ_WARN("Extension manager cannot accept: %s", strerror(errno));
        last_warn = osq_now_ms();
      }
      struct timespec ts = {0, 100 * 1000000L};
      nanosleep(&ts, NULL);
    }
    return;
  }
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    refused(m, "Refusing extension manager connection: SO_PEERCRED: %s",
            strerror(errno));
    close(fd);
    return;
  }
  bool ok = cred.uid == 0 || cred.uid == geteuid() ||
            (m->has_group && peer_in_group(cred.pid, cred.gid, m->group));
  if (!ok) {
    refused(m,
            "Refusing extension manager connection from pid %d uid %u: "
            "not root, not uid %u%s",
            (int)cred.pid, (unsigned)cred.uid, (unsigned)geteuid(),
            m->has_group ? " and not in --extensions_socket_group" : "");
    close(fd);
    return;
  }
  uint32_t max = m->set.max_connections;
  size_t peer_max = per_peer_cap(m);
  struct osq_conn_rec *cr = calloc(1, sizeof *cr);
  pthread_mutex_lock(&m->lock);
  size_t mine = 0;
  for (struct osq_conn_rec *c = m->conns; c; c = c->next)
    mine += c->pid == cred.pid;
  if (cr == NULL || (max && m->nconns >= max) || mine >= peer_max ||
      m->stopping) {
    size_t n = m->nconns;
    bool stopping = m->stopping;
    pthread_mutex_unlock(&m->lock);
    if (cr && !stopping && max && n >= max)
      refused(m,
              "Refusing extension manager connection from pid %d: %zu "
              "connections open (--extensions_max_connections=%u)",
              (int)cred.pid, n, max);
    else if (cr && !stopping)
      refused(m,
              "Refusing extension manager connection from pid %d: it has "
              "%zu connections open, the most one process may hold",
              (int)cred.pid, mine);
    free(cr);
    close(fd);
    return;
  }
  *cr = (struct osq_conn_rec){m,         NULL,      fd,      cred.pid,
                              cred.uid,  cred.gid,  m->conns};
  m->conns = cr;
  m->nconns++;
  pthread_mutex_unlock(&m->lock);
  pthread_t th;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  int rc = pthread_create(&th, &attr, conn_main, cr);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    OSQ_WARN("Extension manager cannot start a connection thread: %s",
             strerror(rc));
    pthread_mutex_lock(&m->lock);
    m->conns = cr->next; /* still first: only accept adds */
    m->nconns--;
    pthread_mutex_unlock(&m->lock);
    close(fd);
    free(cr);
  }
}

static void *accept_main(void *arg) {
  osq_manager *m = arg;
  struct pollfd p[2] = {{m->listen_fd, POLLIN, 0}, {m->wake[0], POLLIN, 0}};
  for (;;) {
    int n = poll(p, 2, -1);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      OSQ_ERR("Extension manager poll: %s", strerror(errno));
      break;
    }
    if (p[1].revents)
      break;
    if (p[0].revents & POLLIN)
      accept_one(m);
  }
  return NULL;
}

/* ---- start / stop --------------------------------------------------------- */

static int parse_mode(const char *s, unsigned long *mode, char *err,
                      size_t errlen) {
  char *end;
  *mode = strtoul(s, &end, 8);
  if (*s == '\0' || *end != '\0' || *mode > 0777) {
    snprintf(err, errlen,
             "Invalid --extensions_socket_mode '%s': expected octal "
             "permission bits such as 0600 or 0660",
             s);
    return -1;
  }
  return 0;
}

int osq_manager_check_socket_settings(const osq_ext_settings *set, char *err,
                                      size_t errlen) {
  unsigned long mode;
  gid_t gid;
  if (parse_mode(set->socket_mode, &mode, err, errlen) != 0)
    return -1;
  return set->socket_group[0] ? parse_group(set->socket_group, &gid, err, errlen)
                              : 0;
}

osq_manager *osq_manager_start(const char *socket_path,
                               const osq_ext_settings *settings, char *err,
                               size_t errlen) {
  if (socket_path == NULL || socket_path[0] == '\0') {
    snprintf(err, errlen, "No extension socket path given");
    return NULL;
  }
  osq_ext_settings set;
  if (settings)
    set = *settings;
  else
    osq_ext_settings_defaults(&set);
  unsigned long mode;
  if (parse_mode(set.socket_mode, &mode, err, errlen) != 0)
    return NULL;
  osq_manager *m = calloc(1, sizeof *m);
  if (m == NULL || (m->path = strdup(socket_path)) == NULL) {
    free(m);
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  m->quarantine = calloc(65536, sizeof *m->quarantine);
  if (m->quarantine == NULL) {
    free(m->path);
    free(m);
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  m->set = set;
  m->listen_fd = m->wake[0] = m->wake[1] = -1;
  pthread_mutex_init(&m->lock, NULL);
  init_cond(&m->changed);
  init_cond(&m->conns_done);
  const char *group = m->set.socket_group;
  if (*group) {
    if (parse_group(group, &m->group, err, errlen) != 0)
      goto fail;
    m->has_group = true;
  }
  {
    unsigned seed = (unsigned)getpid() ^ (unsigned)time(NULL);
    m->next_uuid = 1 + (uint32_t)(rand_r(&seed) % 65535);
  }
  signal(SIGPIPE, SIG_IGN); /* a peer hanging up must not kill us */
  pthread_mutex_lock(&g_reg_lock);
  if (!g_reg_listening) {
    init_cond(&g_reg_cond);
    osq_registry_listen(on_registry_change, NULL);
    g_reg_listening = true;
  }
  pthread_mutex_unlock(&g_reg_lock);

  if (check_path(m->path, err, errlen) != 0)
    goto fail;
  remove_extension_sockets(m->path);
  if (pipe2(m->wake, O_CLOEXEC) != 0) {
    snprintf(err, errlen, "pipe: %s", strerror(errno));
    goto fail;
  }
  if (make_listener(m, (mode_t)mode, err, errlen) != 0)
    goto fail;
  int rc = pthread_create(&m->health_th, NULL, osq_manager_health_main, m);
  if (rc == 0) {
    m->health_started = true;
    rc = pthread_create(&m->accept_th, NULL, accept_main, m);
  }
  if (rc != 0) {
    snprintf(err, errlen, "Cannot start extension manager threads: %s",
             strerror(rc));
    unlink(m->path);
    goto fail;
  }
  m->accept_started = true;
  pthread_mutex_lock(&g_lock);
  g_manager = m;
  pthread_mutex_unlock(&g_lock);
  osq_introspect_set_manager(m->path, provide);
  OSQ_VLOG("Extension manager serving %s", m->path);
  return m;
fail:
  if (m->health_started) {
    pthread_mutex_lock(&m->lock);
    m->stopping = true;
    pthread_cond_broadcast(&m->changed);
    pthread_mutex_unlock(&m->lock);
    pthread_join(m->health_th, NULL);
  }
  if (m->listen_fd >= 0)
    close(m->listen_fd);
  if (m->wake[0] >= 0) {
    close(m->wake[0]);
    close(m->wake[1]);
  }
  pthread_cond_destroy(&m->changed);
  pthread_cond_destroy(&m->conns_done);
  pthread_mutex_destroy(&m->lock);
  free(m->quarantine);
  free(m->path);
  free(m);
  return NULL;
}

struct shutdown_job {
  osq_remote_ext *ext;
  pthread_t th;
  bool started;
};

static void *shutdown_main(void *arg) {
  struct shutdown_job *j = arg;
  char err[512];
  if (osq_remote_shutdown(j->ext, osq_now_ms() + OSQ_MANAGER_SHUTDOWN_RPC_MS,
                          err, sizeof err) != OSQ_OK)
    OSQ_VLOG("Extension UUID %lld shutdown request failed: %s",
             (long long)osq_remote_ext_uuid(j->ext), err);
  return NULL;
}

void osq_manager_stop(osq_manager *m) {
  if (m == NULL)
    return;
  pthread_mutex_lock(&g_lock);
  if (g_manager == m)
    g_manager = NULL;
  pthread_mutex_unlock(&g_lock);
  osq_introspect_set_manager(NULL, NULL);

  pthread_mutex_lock(&m->lock);
  m->stopping = true;
  pthread_cond_broadcast(&m->changed);
  size_t n = 0;
  for (struct osq_ext_rec *r = m->exts; r; r = r->next)
    n++;
  struct shutdown_job *jobs = calloc(n ? n : 1, sizeof *jobs);
  n = 0;
  for (struct osq_ext_rec *r = m->exts; jobs && r; r = r->next)
    if (!r->pending)
      jobs[n++].ext = osq_remote_ext_ref(r->remote);
  pthread_mutex_unlock(&m->lock);
  if (m->health_started)
    pthread_join(m->health_th, NULL);

  /* shutdown() to every extension at once, while the server still runs
   * (osquery-go deregisters from inside its shutdown handler). */
  for (size_t i = 0; i < n; i++)
    jobs[i].started =
        pthread_create(&jobs[i].th, NULL, shutdown_main, &jobs[i]) == 0;
  for (size_t i = 0; i < n; i++) {
    if (jobs[i].started)
      pthread_join(jobs[i].th, NULL);
    else
      shutdown_main(&jobs[i]);
    osq_remote_ext_unref(jobs[i].ext);
  }
  free(jobs);

  /* Cut calls still in flight to extensions, so nothing below waits out a
   * hung extension's deadline. */
  pthread_mutex_lock(&m->lock);
  for (struct osq_ext_rec *r = m->exts; r; r = r->next)
    if (!r->pending) /* a pending one's fields are still being written */
      osq_remote_ext_close(r->remote);
  pthread_mutex_unlock(&m->lock);

  if (m->accept_started) {
    ssize_t w;
    do
      w = write(m->wake[1], "x", 1);
    while (w < 0 && errno == EINTR);
    pthread_join(m->accept_th, NULL);
  }
  close(m->listen_fd);
  m->listen_fd = -1;
  pthread_mutex_lock(&m->lock);
  for (struct osq_conn_rec *c = m->conns; c; c = c->next)
    shutdown(c->fd, SHUT_RDWR);
  while (m->nconns > 0)
    pthread_cond_wait(&m->conns_done, &m->lock);
  struct osq_ext_rec *exts = m->exts;
  m->exts = NULL;
  pthread_mutex_unlock(&m->lock);
  for (struct osq_ext_rec *r = exts, *next; r; r = next) {
    next = r->next;
    osq_registry_remove_owner((uint64_t)r->uuid);
    osq_ext_rec_free(r);
  }
  unlink(m->path);
  remove_extension_sockets(m->path);
  close(m->wake[0]);
  close(m->wake[1]);
  pthread_cond_destroy(&m->changed);
  pthread_cond_destroy(&m->conns_done);
  pthread_mutex_destroy(&m->lock);
  free(m->quarantine);
  free(m->path);
  free(m);
}

/* ---- waits ---------------------------------------------------------------- */

int osq_manager_wait_names(osq_manager *m, const char *const *names, size_t n,
                           int64_t deadline_ms, char *err, size_t errlen) {
  pthread_mutex_lock(&m->lock);
  for (;;) {
    size_t missing = 0;
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
      bool found = false;
      for (struct osq_ext_rec *r = m->exts; r && !found; r = r->next)
        found = !r->pending && strcmp(r->info.name, names[i]) == 0;
      if (!found) {
        if (missing++ == 0 && err && errlen)
          err[0] = '\0';
        if (err && off < errlen) {
          int k = snprintf(err + off, errlen - off, "%s%s",
                           missing > 1 ? ", " : "", names[i]);
          off += k > 0 ? (size_t)k : 0;
        }
      }
    }
    if (missing == 0) {
      pthread_mutex_unlock(&m->lock);
      return 0;
    }
    if (m->stopping || !osq_manager_timedwait(m, deadline_ms)) {
      pthread_mutex_unlock(&m->lock);
      return -1;
    }
  }
}

bool osq_manager_proc_stat(pid_t pid, char *state, pid_t *ppid) {
  if (pid <= 0)
    return false;
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  ssize_t k;
  do
    k = read(fd, buf, sizeof buf - 1);
  while (k < 0 && errno == EINTR);
  close(fd);
  if (k <= 0)
    return false;
  buf[k] = '\0';
  char *p = strrchr(buf, ')'); /* the comm may hold spaces and ')' */
  char st;
  int pp;
  if (p == NULL || sscanf(p + 1, " %c %d", &st, &pp) != 2)
    return false;
  *state = st;
  *ppid = (pid_t)pp;
  return true;
}

/* Is pid the ancestor (or the process itself) of child? */
static bool descends_from(pid_t child, pid_t pid) {
  for (int depth = 0; depth < 32 && child > 1; depth++) {
    if (child == pid)
      return true;
    char state;
    if (!osq_manager_proc_stat(child, &state, &child))
      return false;
  }
  return false;
}

int64_t osq_manager_wait_pid(osq_manager *m, pid_t pid, int64_t deadline_ms) {
  pthread_mutex_lock(&m->lock);
  for (;;) {
    size_t n = 0;
    for (struct osq_ext_rec *r = m->exts; r; r = r->next)
      n += !r->pending;
    struct {
      int64_t uuid;
      pid_t pid;
    } *snap = calloc(n ? n : 1, sizeof *snap);
    n = 0;
    for (struct osq_ext_rec *r = m->exts; snap && r; r = r->next)
      if (!r->pending)
        snap[n].uuid = r->uuid, snap[n++].pid = r->pid;
    pthread_mutex_unlock(&m->lock);
    int64_t uuid = 0;
    for (size_t i = 0; i < n && uuid == 0; i++)
      if (descends_from(snap[i].pid, pid))
        uuid = snap[i].uuid;
    free(snap);
    if (uuid)
      return uuid;
    pthread_mutex_lock(&m->lock);
    if (m->stopping || !osq_manager_timedwait(m, deadline_ms)) {
      pthread_mutex_unlock(&m->lock);
      return 0;
    }
  }
}

bool osq_manager_wait_plugin(osq_manager *m, const char *registry,
                             const char *name, int64_t deadline_ms) {
  (void)m;
  int kind = osq_registry_from_name(registry);
  if (kind < 0)
    return false;
  pthread_mutex_lock(&g_reg_lock);
  for (;;) {
    /* The registry's own lock is taken inside; listeners run after it is
     * dropped, so no lock-order problem with g_reg_lock. */
    if (osq_registry_exists((osq_registry_kind)kind, name)) {
      pthread_mutex_unlock(&g_reg_lock);
      return true;
    }
    if (deadline_ms > 0 && osq_now_ms() >= deadline_ms) {
      pthread_mutex_unlock(&g_reg_lock);
      return false;
    }
    if (deadline_ms > 0) {
      struct timespec ts = mono_ts(deadline_ms);
      pthread_cond_timedwait(&g_reg_cond, &g_reg_lock, &ts);
    } else {
      pthread_cond_wait(&g_reg_cond, &g_reg_lock);
    }
  }
}

void osq_manager_remove(osq_manager *m, int64_t uuid) {
  osq_manager_drop(m, uuid, "removed", true);
}

void osq_manager_remove_pid(osq_manager *m, pid_t pid) {
  for (;;) {
    int64_t uuid = 0;
    pthread_mutex_lock(&m->lock);
    for (struct osq_ext_rec *r = m->exts; r && !uuid; r = r->next)
      if (!r->pending && r->pid == pid)
        uuid = r->uuid;
    pthread_mutex_unlock(&m->lock);
    if (uuid == 0 || !osq_manager_drop(m, uuid, "its process exited", true))
      return;
  }
}
