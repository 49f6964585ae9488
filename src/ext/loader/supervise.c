/* Supervising extension processes: one thread per loader launches every
 * child, notices deaths through pidfds (poll, no sleep loops), reaps only
 * its own pids, restarts with exponential back-off, gives up on a crash
 * loop, enforces memory/CPU limits and, on stop, terminates and reaps
 * everything it started.
 *
 * The thread owns every process field of a slot; l->mu guards them
 * against readers (info, pids, the table). No lock is held across fork,
 * a wait or the exit hook. */
#include "loader.h"

#include "core/clock.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEATH_RING 32
/* Without pidfds (old kernels) deaths are polled this often. */
#define FALLBACK_TICK_MS 100

typedef struct slot {
  char *path;
  bool autoload;
  int fd; /* checked descriptor for the next launch, or -1 */
  dev_t dev;
  ino_t ino;
  pid_t pid;
  int pidfd;
  osq_ext_state state;
  unsigned restarts;
  int64_t started_ms, started_unix;
  int64_t next_start_ms; /* BACKOFF */
  int64_t kill_at_ms;    /* STOPPING: SIGKILL then */
  int64_t backoff_ms, last_backoff_ms;
  int64_t deaths[DEATH_RING];
  unsigned ndeaths;
  /* resource sampling */
  uint64_t last_cpu_ms;
  int64_t last_sample_ms;
  int64_t over_since_ms; /* CPU over the limit since, or 0 */
  int64_t stopped_since_ms; /* seen stopped (SIGSTOP) since, or 0 */
  char hung_why[192]; /* osq_loader_restart_pid asked (under mu) */
  uint64_t rss;
  double cpu_pct;
  char kill_reason[192];
  char last_exit[256];
} slot;

struct osq_loader {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  char *socket;
  osq_ext_settings set;
  osq_loader_opts o;
  slot *s;
  size_t n, cap;
  int wake[2];
  pthread_t thr;
  bool thread_running, stopping, initial_done;
  osq_loader_exit_hook hook;
  void *hook_udata;
  long ncpu;
  struct osq_loader *next_live;
};

/* Live loaders, for the table and osq_loader_find_pid. Lock order:
 * live_mu, then a loader's mu. */
static pthread_mutex_t live_mu = PTHREAD_MUTEX_INITIALIZER;
static osq_loader *live;

const char *osq_ext_state_name(osq_ext_state s) {
  switch (s) {
  case OSQ_EXT_PENDING: return "pending";
  case OSQ_EXT_RUNNING: return "running";
  case OSQ_EXT_STOPPING: return "stopping";
  case OSQ_EXT_BACKOFF: return "backoff";
  case OSQ_EXT_FAILED: return "failed";
  case OSQ_EXT_STOPPED: return "stopped";
  }
  return "unknown";
}

osq_loader *osq_loader_new(const char *manager_socket,
                           const osq_ext_settings *settings) {
  osq_loader *l = calloc(1, sizeof *l);
  if (!l)
    return NULL;
  l->socket = strdup(manager_socket ? manager_socket : "");
  if (!l->socket || pipe2(l->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    free(l->socket);
    free(l);
    return NULL;
  }
  pthread_mutex_init(&l->mu, NULL);
  pthread_cond_init(&l->cv, NULL);
  if (settings)
    l->set = *settings;
  else
    osq_ext_settings_defaults(&l->set);
  l->o.limits = l->set.limits;
  l->o.backoff_base_ms = 1000;
  l->o.backoff_max_ms = l->o.limits.max_delay_ms > 0 ? l->o.limits.max_delay_ms
                                                     : 600000;
  l->o.stable_ms = 60000;
  l->o.giveup_deaths = 5;
  l->o.giveup_window_ms = 120000;
  l->o.check_interval_ms = 3000;
  l->o.stop_timeout_ms = l->o.limits.forced_shutdown_ms > 0
                             ? l->o.limits.forced_shutdown_ms
                             : 4000;
  long nc = sysconf(_SC_NPROCESSORS_ONLN);
  l->ncpu = nc > 0 ? nc : 1;
  pthread_mutex_lock(&live_mu);
  l->next_live = live;
  live = l;
  pthread_mutex_unlock(&live_mu);
  return l;
}

osq_loader_opts *osq_loader_options(osq_loader *l) { return &l->o; }

void osq_loader_set_exit_hook(osq_loader *l, osq_loader_exit_hook fn,
                              void *udata) {
  pthread_mutex_lock(&l->mu);
  l->hook = fn;
  l->hook_udata = udata;
  pthread_mutex_unlock(&l->mu);
}

static unsigned perm_flags(const osq_loader *l, bool autoload) {
  unsigned f = autoload ? OSQ_PERM_AUTOLOAD : 0;
  if (l->set.allow_unsafe)
    f |= OSQ_PERM_ALLOW_UNSAFE;
  return f;
}

int osq_loader_add_path(osq_loader *l, const char *path, bool from_autoload,
                        char *err, size_t errlen) {
  if (err && errlen)
    err[0] = '\0';
  int fd;
  if (osq_perm_check(path, perm_flags(l, from_autoload), &fd, err, errlen) !=
      OSQ_PERM_OK)
    return -1;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    snprintf(err, errlen, "refusing %s: cannot be examined (%s)", path,
             strerror(errno));
    close(fd);
    return -1;
  }
  pthread_mutex_lock(&l->mu);
  int rc = 0;
  if (l->thread_running) {
    snprintf(err, errlen, "cannot add %s: the loader has already started",
             path);
    rc = -1;
    goto out;
  }
  for (size_t i = 0; i < l->n; i++)
    if (l->s[i].dev == st.st_dev && l->s[i].ino == st.st_ino) {
      OSQ_VLOG("extension %s is already loaded as %s", path, l->s[i].path);
      goto out; /* rc 0: duplicates are harmless */
    }
  if (l->n >= OSQ_LOADER_MAX_EXTENSIONS) {
    snprintf(err, errlen, "cannot add %s: at most %d extensions", path,
             OSQ_LOADER_MAX_EXTENSIONS);
    rc = -1;
    goto out;
  }
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 8;
    slot *ns = realloc(l->s, cap * sizeof *ns);
    if (!ns) {
      snprintf(err, errlen, "cannot add %s: out of memory", path);
      rc = -1;
      goto out;
    }
    l->s = ns;
    l->cap = cap;
  }
  slot *s = &l->s[l->n];
  memset(s, 0, sizeof *s);
  s->path = strdup(path);
  if (!s->path) {
    snprintf(err, errlen, "cannot add %s: out of memory", path);
    rc = -1;
    goto out;
  }
  s->autoload = from_autoload;
  s->fd = fd;
  fd = -1;
  s->dev = st.st_dev;
  s->ino = st.st_ino;
  s->pidfd = -1;
  s->state = OSQ_EXT_PENDING;
  l->n++;
out:
  pthread_mutex_unlock(&l->mu);
  if (fd >= 0)
    close(fd);
  return rc;
}

size_t osq_loader_count(const osq_loader *l) {
  osq_loader *m = (osq_loader *)l;
  pthread_mutex_lock(&m->mu);
  size_t n = m->n;
  pthread_mutex_unlock(&m->mu);
  return n;
}

size_t osq_loader_pids(osq_loader *l, pid_t *out, size_t cap) {
  size_t k = 0;
  pthread_mutex_lock(&l->mu);
  for (size_t i = 0; i < l->n; i++)
    if (l->s[i].pid > 0 && (l->s[i].state == OSQ_EXT_RUNNING ||
                            l->s[i].state == OSQ_EXT_STOPPING)) {
      if (k < cap)
        out[k] = l->s[i].pid;
      k++;
    }
  pthread_mutex_unlock(&l->mu);
  return k;
}

static void fill_info(const slot *s, osq_ext_proc_info *out) {
  memset(out, 0, sizeof *out);
  snprintf(out->path, sizeof out->path, "%s", s->path);
  out->pid = (s->state == OSQ_EXT_RUNNING || s->state == OSQ_EXT_STOPPING)
                 ? s->pid
                 : 0;
  out->state = s->state;
  out->from_autoload = s->autoload;
  out->restarts = s->restarts;
  out->started_unix = s->started_unix;
  out->last_backoff_ms = s->last_backoff_ms;
  out->rss_bytes = s->rss;
  out->cpu_percent = s->cpu_pct;
  snprintf(out->last_exit, sizeof out->last_exit, "%s", s->last_exit);
}

bool osq_loader_info(osq_loader *l, size_t i, osq_ext_proc_info *out) {
  pthread_mutex_lock(&l->mu);
  bool ok = i < l->n;
  if (ok)
    fill_info(&l->s[i], out);
  pthread_mutex_unlock(&l->mu);
  return ok;
}

bool osq_loader_find_pid(pid_t pid, osq_ext_proc_info *out) {
  bool found = false;
  if (pid <= 0)
    return false;
  pthread_mutex_lock(&live_mu);
  for (osq_loader *l = live; l && !found; l = l->next_live) {
    pthread_mutex_lock(&l->mu);
    for (size_t i = 0; i < l->n; i++)
      if (l->s[i].pid == pid && (l->s[i].state == OSQ_EXT_RUNNING ||
                                 l->s[i].state == OSQ_EXT_STOPPING)) {
        fill_info(&l->s[i], out);
        found = true;
        break;
      }
    pthread_mutex_unlock(&l->mu);
  }
  pthread_mutex_unlock(&live_mu);
  return found;
}

void osq_loader_each(void (*fn)(const osq_ext_proc_info *, void *),
                     void *udata) {
  /* Snapshot under the locks, call fn with none held (it feeds SQLite). */
  osq_ext_proc_info *infos = NULL;
  size_t n = 0, cap = 0;
  pthread_mutex_lock(&live_mu);
  for (osq_loader *l = live; l; l = l->next_live) {
    pthread_mutex_lock(&l->mu);
    for (size_t i = 0; i < l->n; i++) {
      if (n == cap) {
        size_t nc = cap ? cap * 2 : 8;
        osq_ext_proc_info *ni = realloc(infos, nc * sizeof *ni);
        if (!ni)
          break;
        infos = ni;
        cap = nc;
      }
      fill_info(&l->s[i], &infos[n++]);
    }
    pthread_mutex_unlock(&l->mu);
  }
  pthread_mutex_unlock(&live_mu);
  for (size_t i = 0; i < n; i++)
    fn(&infos[i], udata);
  free(infos);
}

/* ---- the supervisor thread ------------------------------------------- */

/* Signal the child and its process group (anything it started). Only
 * called while the child is unreaped, so its pid and pgid cannot have
 * been reused. */
static void signal_slot(slot *s, int sig) {
  if (s->pid <= 0)
    return;
  kill(-s->pid, sig);
  if (s->pidfd >= 0)
    pidfd_send_signal(s->pidfd, sig, NULL, 0);
  else
    kill(s->pid, sig);
}

static void describe_status(int st, char *out, size_t cap) {
  if (WIFEXITED(st))
    snprintf(out, cap, "exited with %d", WEXITSTATUS(st));
  else if (WIFSIGNALED(st)) {
    const char *abbr = sigabbrev_np(WTERMSIG(st));
    snprintf(out, cap, "killed by signal %d%s%s", WTERMSIG(st),
             abbr ? " SIG" : "", abbr ? abbr : "");
  } else
    snprintf(out, cap, "status 0x%x", (unsigned)st);
}

static void set_running(osq_loader *l, slot *s, pid_t pid) {
  int pfd = pidfd_open(pid, 0);
  pthread_mutex_lock(&l->mu);
  s->pid = pid;
  s->pidfd = pfd;
  s->state = OSQ_EXT_RUNNING;
  s->started_ms = osq_now_ms();
  s->started_unix = (int64_t)time(NULL);
  s->last_cpu_ms = 0;
  s->last_sample_ms = s->started_ms;
  s->over_since_ms = 0;
  s->kill_reason[0] = '\0';
  s->hung_why[0] = '\0';
  s->stopped_since_ms = 0;
  s->rss = 0;
  s->cpu_pct = 0;
  pthread_mutex_unlock(&l->mu);
}

/* Record a death (or a failed launch) and decide: back off or give up. */
static void after_death(osq_loader *l, slot *s, const char *what,
                        int64_t ran_ms) {
  int64_t now = osq_now_ms();
  pthread_mutex_lock(&l->mu);
  s->deaths[s->ndeaths % DEATH_RING] = now;
  s->ndeaths++;
  unsigned recent = 0;
  unsigned span = s->ndeaths < DEATH_RING ? s->ndeaths : DEATH_RING;
  for (unsigned i = 0; i < span; i++)
    if (now - s->deaths[i] <= l->o.giveup_window_ms)
      recent++;
  if (l->stopping) {
    s->state = OSQ_EXT_STOPPED;
  } else if (l->o.giveup_deaths && recent >= l->o.giveup_deaths) {
    pthread_mutex_unlock(&l->mu);
    /* Logged before the state shows, so whoever sees FAILED finds why. */
    OSQ_ERR("extension %s keeps dying: %u exits within %lld s (last: %s); "
            "not restarting it. Fix it, then restart osq",
            s->path, recent, (long long)(l->o.giveup_window_ms / 1000), what);
    pthread_mutex_lock(&l->mu);
    s->state = OSQ_EXT_FAILED;
    pthread_mutex_unlock(&l->mu);
    return;
  } else {
    if (ran_ms >= l->o.stable_ms || s->backoff_ms <= 0)
      s->backoff_ms = l->o.backoff_base_ms;
    else
      s->backoff_ms = s->backoff_ms > l->o.backoff_max_ms / 2
                          ? l->o.backoff_max_ms
                          : s->backoff_ms * 2;
    if (s->backoff_ms > l->o.backoff_max_ms)
      s->backoff_ms = l->o.backoff_max_ms;
    s->last_backoff_ms = s->backoff_ms;
    s->next_start_ms = now + s->backoff_ms;
    s->state = OSQ_EXT_BACKOFF;
    int64_t delay = s->backoff_ms;
    pthread_mutex_unlock(&l->mu);
    OSQ_WARN("extension %s %s; restarting it in %lld ms (restart %u)",
             s->path, what, (long long)delay, s->restarts + 1);
    return;
  }
  pthread_mutex_unlock(&l->mu);
}

/* The child is a zombie (or gone): clear its group, reap, hook, decide. */
static void reap_slot(osq_loader *l, slot *s) {
  siginfo_t si;
  memset(&si, 0, sizeof si);
  int r;
  do
    r = waitid(P_PID, (id_t)s->pid, &si, WEXITED | WNOHANG | WNOWAIT);
  while (r < 0 && errno == EINTR);
  if (r == 0 && si.si_pid == 0)
    return; /* still alive */
  /* Leftovers in its group die with it: no second copy may linger. The
   * zombie still holds the pgid, so it cannot name anyone else. (ECHILD:
   * someone set SIGCHLD to SIG_IGN and the kernel reaped it already; then
   * the pgid may be reused and is left alone.) */
  if (r == 0)
    kill(-s->pid, SIGKILL);
  int st = 0;
  pid_t w;
  do
    w = waitpid(s->pid, &st, 0);
  while (w < 0 && errno == EINTR);
  char what[128];
  if (w != s->pid)
    snprintf(what, sizeof what, "vanished (%s)", strerror(errno));
  else
    describe_status(st, what, sizeof what);
  pid_t pid = s->pid;
  int64_t ran = osq_now_ms() - s->started_ms;
  pthread_mutex_lock(&l->mu);
  if (s->pidfd >= 0)
    close(s->pidfd);
  s->pidfd = -1;
  if (s->kill_reason[0])
    snprintf(s->last_exit, sizeof s->last_exit, "%.180s (%.60s)",
             s->kill_reason, what);
  else
    snprintf(s->last_exit, sizeof s->last_exit, "%s", what);
  s->pid = 0;
  s->state = OSQ_EXT_BACKOFF; /* provisional; after_death decides */
  osq_loader_exit_hook hook = l->hook;
  void *hu = l->hook_udata;
  char desc[300];
  snprintf(desc, sizeof desc, "(pid %d) %s", (int)pid, s->last_exit);
  pthread_mutex_unlock(&l->mu);
  if (hook)
    hook(pid, s->path, hu);
  after_death(l, s, desc, ran);
}

static void launch_slot(osq_loader *l, slot *s) {
  char err[1024];
  int fd = s->fd;
  s->fd = -1;
  if (fd < 0) {
    /* A restart re-checks the path and runs what it checks now. */
    osq_perm_rule r = osq_perm_check(s->path, perm_flags(l, s->autoload), &fd,
                                     err, sizeof err);
    if (r != OSQ_PERM_OK) {
      pthread_mutex_lock(&l->mu);
      s->state = OSQ_EXT_FAILED;
      snprintf(s->last_exit, sizeof s->last_exit, "unsafe on relaunch: %s",
               osq_perm_rule_name(r));
      pthread_mutex_unlock(&l->mu);
      OSQ_ERR("not restarting extension: %s", err);
      return;
    }
  }
  osq_launch_args a = {
      .exec_fd = fd,
      .path = s->path,
      .socket = l->socket,
      .timeout = l->set.timeout_arg,
      .interval = l->set.interval_arg,
      .verbose = l->set.verbose,
  };
  pid_t pid = osq_launch(&a, err, sizeof err);
  close(fd);
  if (pid < 0) {
    OSQ_ERR("%s", err);
    pthread_mutex_lock(&l->mu);
    snprintf(s->last_exit, sizeof s->last_exit, "%.120s", err);
    pthread_mutex_unlock(&l->mu);
    after_death(l, s, "could not be started", 0);
    return;
  }
  set_running(l, s, pid);
  OSQ_VLOG("started extension %s (pid %d)", s->path, (int)pid);
}

static void begin_stop(osq_loader *l, slot *s, const char *reason,
                       int64_t now) {
  OSQ_WARN("osq extension %s (%d) stopping: %s", s->path, (int)s->pid,
           reason);
  pthread_mutex_lock(&l->mu);
  snprintf(s->kill_reason, sizeof s->kill_reason, "%s", reason);
  s->state = OSQ_EXT_STOPPING;
  s->kill_at_ms = now + l->o.limits.forced_shutdown_ms;
  pthread_mutex_unlock(&l->mu);
  signal_slot(s, SIGTERM);
  signal_slot(s, SIGCONT); /* a stopped process must run to see SIGTERM */
}

/* Hung: no grace, no SIGTERM it cannot act on; the death is then handled
 * as a crash (back-off, restart). */
static void kill_hung(osq_loader *l, slot *s, const char *why) {
  OSQ_WARN("extension %s (pid %d) is hung: %s; killing it to restart it",
           s->path, (int)s->pid, why);
  pthread_mutex_lock(&l->mu);
  snprintf(s->kill_reason, sizeof s->kill_reason, "hung: %.180s", why);
  s->hung_why[0] = '\0';
  pthread_mutex_unlock(&l->mu);
  signal_slot(s, SIGKILL);
}

/* How long a process may sit stopped before the loader treats it as hung:
 * the manager's health check would have noticed by then (one interval
 * plus a ping); this covers a loader without a manager in its process
 * (osqd's watcher). */
static int64_t stopped_limit_ms(const osq_loader *l) {
  int64_t ping = l->set.ping_deadline_ms > 0
                     ? l->set.ping_deadline_ms
                     : OSQ_EXT_DEFAULT_PING_DEADLINE_MS;
  return l->set.interval_ms + ping;
}

static void check_stopped(osq_loader *l, slot *s, char state, int64_t now) {
  if (state != 'T') {
    s->stopped_since_ms = 0;
    return;
  }
  if (!s->stopped_since_ms)
    s->stopped_since_ms = now;
  else if (now - s->stopped_since_ms >= stopped_limit_ms(l)) {
    char why[96];
    snprintf(why, sizeof why, "stopped (SIGSTOP) for %lld ms",
             (long long)(now - s->stopped_since_ms));
    kill_hung(l, s, why);
  }
}

static void check_resources(osq_loader *l, slot *s, int64_t now) {
  osq_proc_sample ps;
  if (osq_proc_sample_read(s->pid, &ps) != 0 || ps.ppid != getpid())
    return;
  int64_t elapsed = now - s->last_sample_ms;
  if (elapsed <= 0)
    return;
  uint64_t used = ps.cpu_ms >= s->last_cpu_ms ? ps.cpu_ms - s->last_cpu_ms : 0;
  double pct = (double)used * 100.0 / (double)elapsed;
  int64_t interval_start = s->last_sample_ms;
  pthread_mutex_lock(&l->mu);
  s->rss = ps.rss_bytes;
  s->cpu_pct = pct;
  s->last_cpu_ms = ps.cpu_ms;
  s->last_sample_ms = now;
  pthread_mutex_unlock(&l->mu);
  check_stopped(l, s, ps.state, now);
  if (s->kill_reason[0])
    return;

  const osq_wd_limits *lim = &l->o.limits;
  if (lim->enabled && osq_log_verbose() && l->set.watchdog_debug)
    OSQ_INFO("pid: %d, cpu: %llums/%lldms, memory: %.2fMB/%lluMB",
             (int)s->pid, (unsigned long long)used,
             (long long)((int64_t)lim->utilization * elapsed * l->ncpu / 100),
             (double)ps.rss_bytes / 1048576.0,
             (unsigned long long)(lim->memory_bytes >> 20));
  if (!lim->enabled || now < s->started_ms + lim->delay_ms)
    return;
  char reason[192];
  if (ps.rss_bytes > lim->memory_bytes) {
    snprintf(reason, sizeof reason,
             "Memory limits exceeded: %llu bytes (limit is %lluMB)",
             (unsigned long long)ps.rss_bytes,
             (unsigned long long)(lim->memory_bytes >> 20));
    begin_stop(l, s, reason, now);
    return;
  }
  double total = pct / (double)l->ncpu;
  if (total > (double)lim->utilization) {
    if (!s->over_since_ms)
      s->over_since_ms = interval_start;
    if (now - s->over_since_ms >= (int64_t)lim->latency_s * 1000) {
      snprintf(reason, sizeof reason,
               "Maximum sustainable CPU utilization limit %llu%% exceeded "
               "for %lld seconds (%.0f%% of %ld CPUs)",
               (unsigned long long)lim->utilization,
               (long long)((now - s->over_since_ms) / 1000), total, l->ncpu);
      begin_stop(l, s, reason, now);
    }
  } else {
    s->over_since_ms = 0;
  }
}

static bool is_live(const slot *s) {
  return s->state == OSQ_EXT_RUNNING || s->state == OSQ_EXT_STOPPING;
}

static void drain_wake(osq_loader *l) {
  char buf[64];
  while (read(l->wake[0], buf, sizeof buf) > 0)
    ;
}

/* Poll the live children's pidfds (and the wake pipe) until timeout_ms;
 * reap the dead. */
static void wait_and_reap(osq_loader *l, int timeout_ms) {
  size_t n = l->n;
  struct pollfd *pf = calloc(n + 1, sizeof *pf);
  size_t *idx = calloc(n + 1, sizeof *idx);
  if (!pf || !idx) {
    free(pf);
    free(idx);
    struct timespec ts = {0, 50 * 1000000L};
    nanosleep(&ts, NULL); /* out of memory: degrade to a tick */
    for (size_t i = 0; i < n; i++)
      if (is_live(&l->s[i]))
        reap_slot(l, &l->s[i]);
    return;
  }
  size_t k = 0;
  pf[k].fd = l->wake[0];
  pf[k].events = POLLIN;
  k++;
  bool fallback = false;
  for (size_t i = 0; i < n; i++) {
    if (!is_live(&l->s[i]))
      continue;
    if (l->s[i].pidfd < 0) {
      fallback = true;
      continue;
    }
    pf[k].fd = l->s[i].pidfd;
    pf[k].events = POLLIN;
    idx[k] = i;
    k++;
  }
  if (fallback && (timeout_ms < 0 || timeout_ms > FALLBACK_TICK_MS))
    timeout_ms = FALLBACK_TICK_MS;
  int r = poll(pf, (nfds_t)k, timeout_ms);
  if (r > 0) {
    if (pf[0].revents)
      drain_wake(l);
    for (size_t j = 1; j < k; j++)
      if (pf[j].revents)
        reap_slot(l, &l->s[idx[j]]);
  }
  if (fallback)
    for (size_t i = 0; i < n; i++)
      if (is_live(&l->s[i]) && l->s[i].pidfd < 0)
        reap_slot(l, &l->s[i]);
  free(pf);
  free(idx);
}

static void stop_all(osq_loader *l) {
  size_t live_n = 0;
  for (size_t i = 0; i < l->n; i++)
    if (is_live(&l->s[i])) {
      signal_slot(&l->s[i], SIGTERM);
      signal_slot(&l->s[i], SIGCONT);
      live_n++;
    }
  int64_t deadline = osq_now_ms() + l->o.stop_timeout_ms;
  bool killed = false;
  while (live_n) {
    int64_t now = osq_now_ms();
    if (now >= deadline) {
      if (killed) {
        for (size_t i = 0; i < l->n; i++)
          if (is_live(&l->s[i]))
            OSQ_ERR("extension %s (pid %d) did not die after SIGKILL",
                    l->s[i].path, (int)l->s[i].pid);
        break;
      }
      for (size_t i = 0; i < l->n; i++)
        if (is_live(&l->s[i])) {
          OSQ_WARN("extension %s (pid %d) did not exit %lld ms after "
                   "SIGTERM; sending SIGKILL",
                   l->s[i].path, (int)l->s[i].pid,
                   (long long)l->o.stop_timeout_ms);
          signal_slot(&l->s[i], SIGKILL);
        }
      killed = true;
      deadline = now + 2000;
      continue;
    }
    wait_and_reap(l, (int)(deadline - now));
    live_n = 0;
    for (size_t i = 0; i < l->n; i++)
      if (is_live(&l->s[i]))
        live_n++;
  }
  pthread_mutex_lock(&l->mu);
  for (size_t i = 0; i < l->n; i++)
    if (!is_live(&l->s[i]) && l->s[i].state != OSQ_EXT_FAILED)
      l->s[i].state = OSQ_EXT_STOPPED;
  pthread_mutex_unlock(&l->mu);
}

static void *supervise(void *arg) {
  osq_loader *l = arg;
  for (size_t i = 0; i < l->n; i++)
    launch_slot(l, &l->s[i]);
  pthread_mutex_lock(&l->mu);
  l->initial_done = true;
  pthread_cond_broadcast(&l->cv);
  pthread_mutex_unlock(&l->mu);

  int64_t next_check = osq_now_ms() + l->o.check_interval_ms;
  for (;;) {
    pthread_mutex_lock(&l->mu);
    bool stopping = l->stopping;
    pthread_mutex_unlock(&l->mu);
    if (stopping)
      break;
    int64_t now = osq_now_ms();
    int64_t wake_at = next_check;
    for (size_t i = 0; i < l->n; i++) {
      const slot *s = &l->s[i];
      if (s->state == OSQ_EXT_BACKOFF && s->next_start_ms < wake_at)
        wake_at = s->next_start_ms;
      if (s->state == OSQ_EXT_STOPPING && s->kill_at_ms < wake_at)
        wake_at = s->kill_at_ms;
    }
    int64_t t = wake_at - now;
    wait_and_reap(l, t < 0 ? 0 : t > 60000 ? 60000 : (int)t);

    now = osq_now_ms();
    for (size_t i = 0; i < l->n; i++) {
      slot *s = &l->s[i];
      pthread_mutex_lock(&l->mu);
      bool stop_now = l->stopping;
      pthread_mutex_unlock(&l->mu);
      if (stop_now)
        break;
      pthread_mutex_lock(&l->mu);
      char hung[sizeof s->hung_why];
      snprintf(hung, sizeof hung, "%s", s->hung_why);
      pthread_mutex_unlock(&l->mu);
      if (hung[0] && is_live(s) && !s->kill_reason[0])
        kill_hung(l, s, hung);
      if (s->state == OSQ_EXT_BACKOFF && now >= s->next_start_ms) {
        pthread_mutex_lock(&l->mu);
        s->restarts++;
        pthread_mutex_unlock(&l->mu);
        launch_slot(l, s);
      } else if (s->state == OSQ_EXT_STOPPING && now >= s->kill_at_ms) {
        OSQ_WARN("osq extension %s (%d) did not exit %lld ms after SIGTERM; "
                 "sending SIGKILL",
                 s->path, (int)s->pid,
                 (long long)l->o.limits.forced_shutdown_ms);
        signal_slot(s, SIGKILL);
        s->kill_at_ms = INT64_MAX; /* the pidfd reports the death */
      }
    }
    if (now >= next_check) {
      for (size_t i = 0; i < l->n; i++)
        if (l->s[i].state == OSQ_EXT_RUNNING)
          check_resources(l, &l->s[i], now);
      next_check = now + l->o.check_interval_ms;
    }
  }
  stop_all(l);
  return NULL;
}

/* Is pid the process root or one of its descendants? */
static bool in_tree(pid_t pid, pid_t root) {
  for (int depth = 0; depth < 32 && pid > 1; depth++) {
    if (pid == root)
      return true;
    osq_proc_sample ps;
    if (osq_proc_sample_read(pid, &ps) != 0)
      return false;
    pid = ps.ppid;
  }
  return false;
}

bool osq_loader_restart_pid(osq_loader *l, pid_t pid, const char *why) {
  if (pid <= 0)
    return false;
  /* Snapshot the live pids first: the /proc walk needs no lock. */
  pthread_mutex_lock(&l->mu);
  size_t n = l->n;
  pid_t *pids = calloc(n ? n : 1, sizeof *pids);
  for (size_t i = 0; pids && i < n; i++)
    pids[i] = is_live(&l->s[i]) ? l->s[i].pid : 0;
  pthread_mutex_unlock(&l->mu);
  if (!pids)
    return false;
  size_t hit = n;
  for (size_t i = 0; i < n && hit == n; i++)
    if (pids[i] > 0 && in_tree(pid, pids[i]))
      hit = i;
  bool found = false;
  if (hit < n) {
    pthread_mutex_lock(&l->mu);
    slot *s = &l->s[hit];
    /* Still the same child (it may have died and restarted meanwhile). */
    if (is_live(s) && s->pid == pids[hit]) {
      snprintf(s->hung_why, sizeof s->hung_why, "%s",
               why && *why ? why : "reported hung");
      found = true;
    }
    pthread_mutex_unlock(&l->mu);
  }
  free(pids);
  if (found) {
    ssize_t w;
    do
      w = write(l->wake[1], "x", 1);
    while (w < 0 && errno == EINTR);
  }
  return found;
}

int osq_loader_start(osq_loader *l) {
  osq_loader_register_table();
  pthread_mutex_lock(&l->mu);
  if (l->thread_running || l->n == 0) {
    pthread_mutex_unlock(&l->mu);
    return 0;
  }
  if (l->o.backoff_base_ms <= 0)
    l->o.backoff_base_ms = 1;
  if (l->o.backoff_max_ms < l->o.backoff_base_ms)
    l->o.backoff_max_ms = l->o.backoff_base_ms;
  if (l->o.check_interval_ms < 10)
    l->o.check_interval_ms = 10;
  /* osquery's signal to a worker that managed extensions exist, so plugin
   * activation waits for them. */
  const char *cur = getenv("OSQUERY_EXTENSIONS");
  if (!cur || strcmp(cur, "true") != 0) /* setenv races getenv in threads */
    setenv("OSQUERY_EXTENSIONS", "true", 1);
  l->initial_done = false;
  if (pthread_create(&l->thr, NULL, supervise, l) != 0) {
    pthread_mutex_unlock(&l->mu);
    OSQ_ERR("cannot start the extension supervisor thread");
    return 0;
  }
  l->thread_running = true;
  while (!l->initial_done)
    pthread_cond_wait(&l->cv, &l->mu);
  int running = 0;
  for (size_t i = 0; i < l->n; i++)
    if (l->s[i].state == OSQ_EXT_RUNNING)
      running++;
  pthread_mutex_unlock(&l->mu);
  return running;
}

void osq_loader_stop(osq_loader *l) {
  pthread_mutex_lock(&l->mu);
  bool running = l->thread_running;
  l->stopping = true;
  pthread_mutex_unlock(&l->mu);
  if (!running)
    return;
  ssize_t w;
  do
    w = write(l->wake[1], "x", 1);
  while (w < 0 && errno == EINTR);
  pthread_join(l->thr, NULL);
  pthread_mutex_lock(&l->mu);
  l->thread_running = false;
  pthread_mutex_unlock(&l->mu);
}

void osq_loader_free(osq_loader *l) {
  if (!l)
    return;
  osq_loader_stop(l);
  pthread_mutex_lock(&live_mu);
  for (osq_loader **pp = &live; *pp; pp = &(*pp)->next_live)
    if (*pp == l) {
      *pp = l->next_live;
      break;
    }
  pthread_mutex_unlock(&live_mu);
  for (size_t i = 0; i < l->n; i++) {
    if (l->s[i].fd >= 0)
      close(l->s[i].fd);
    if (l->s[i].pidfd >= 0)
      close(l->s[i].pidfd);
    free(l->s[i].path);
  }
  free(l->s);
  close(l->wake[0]);
  close(l->wake[1]);
  free(l->socket);
  pthread_cond_destroy(&l->cv);
  pthread_mutex_destroy(&l->mu);
  free(l);
}

bool osq_loader_wait_ext_socket(const char *manager_socket, int64_t uuid,
                                int64_t deadline_ms) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  int n = snprintf(sa.sun_path, sizeof sa.sun_path, "%s.%lld", manager_socket,
                   (long long)uuid);
  if (n < 0 || (size_t)n >= sizeof sa.sun_path)
    return false;
  long pause_ms = 1;
  for (;;) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
      return false;
    int r;
    do
      r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    while (r < 0 && errno == EINTR);
    close(fd);
    if (r == 0)
      return true;
    if (osq_now_ms() >= deadline_ms)
      return false;
    struct timespec ts = {0, pause_ms * 1000000L};
    nanosleep(&ts, NULL);
    if (pause_ms < 16)
      pause_ms *= 2; /* most sockets appear within a millisecond or two */
  }
}
