/* The watcher (docs/compat.md §4): holds the pidfile, launches the
 * autoloaded extensions (through the loader), forks the worker, samples
 * its CPU and memory, stops it over the limits, respawns it with
 * back-off. */
#include "daemon/daemon.h"
#include "daemon/memtrim.h"

#include "core/flags.h"
#include "core/identity.h"
#include "core/log.h"
#include "daemon/pidfile.h"
#include "daemon/store.h"
#include "ext/loader/loader.h"
#include "settings/ext_settings.h"
#include "core/clock.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* Sampling period. osquery checks every 3 s; osq samples every second and
 * scales the CPU budget to the same per-second rate, so it reacts sooner
 * to a runaway query. */
#define CHECK_MS 1000
#define RESPAWN_QUICK_S 4

typedef struct limits {
  uint64_t memory_bytes;
  uint64_t utilization;
  uint64_t latency_s;
  unsigned respawn_limit;
  uint64_t respawn_delay_s;
} limits;

static void worker_limits(limits *l) {
  int64_t level = OSQ_FLAG_INT(watchdog_level);
  uint64_t util = 10, lat = 12;
  l->respawn_limit = 4;
  l->respawn_delay_s = 5;
  if (level == 1) {
    util = 5, lat = 6;
  } else if (level == -1) {
    util = 100, lat = 1000;
    l->respawn_limit = 1000;
    l->respawn_delay_s = 1;
  }
  uint64_t mem = osq_watchdog_memory_mb();
  if (OSQ_FLAG_UINT(watchdog_utilization_limit) > 0)
    util = OSQ_FLAG_UINT(watchdog_utilization_limit);
  if (util > 100)
    util = 100;
  if (OSQ_FLAG_UINT(watchdog_latency_limit) > 0)
    lat = OSQ_FLAG_UINT(watchdog_latency_limit);
  l->memory_bytes = mem * 1048576ull;
  l->utilization = util;
  l->latency_s = lat;
}

/* The watcher's own messages go to stderr and syslog (LOG_NOTICE). */
#define WLOG(...)                                                              \
  do {                                                                         \
    OSQ_WARN(__VA_ARGS__);                                                     \
    syslog(LOG_NOTICE, __VA_ARGS__);                                           \
  } while (0)

static char self_exe[4096];

static pid_t spawn_worker(char **argv, const sigset_t *old) {
  pid_t pid = fork();
  if (pid < 0) {
    OSQ_ERR("Cannot create the worker: %s", strerror(errno));
    return -1;
  }
  if (pid == 0) {
    char v[32];
    snprintf(v, sizeof v, "%d", (int)getpid());
    setenv(OSQ_WORKER_ENV, v, 1);
    sigprocmask(SIG_SETMASK, old, NULL);
    execv(self_exe, argv);
    fprintf(stderr, "osqd: cannot exec the worker %s: %s\n", self_exe,
            strerror(errno));
    _exit(OSQ_EXIT_CATASTROPHIC);
  }
  return pid;
}

/* Wait for pid to exit for up to ms; returns true once reaped. */
static bool reap_within(pid_t pid, int64_t ms, int *status) {
  int64_t end = osq_now_ms() + ms;
  for (;;) {
    pid_t r = waitpid(pid, status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD))
      return true;
    if (osq_now_ms() >= end)
      return false;
    struct timespec ts = {0, 20 * 1000000};
    nanosleep(&ts, NULL);
  }
}

/* SIGTERM, grace, SIGKILL, then up to a minute: a killed worker always
 * dies, but freeing a large address space can take the kernel seconds when
 * other work keeps the CPUs busy. false if the worker will not die. */
static bool stop_worker(pid_t pid, int64_t grace_ms, int *status) {
  kill(pid, SIGTERM);
  if (reap_within(pid, grace_ms, status))
    return true;
  kill(pid, SIGKILL);
  return reap_within(pid, 60000, status);
}

static int exit_code_of(int status) {
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return 1;
}

/* Poll for the worker's manager socket so extensions find it at once. */
static void wait_socket(const char *path, int64_t ms) {
  int64_t end = osq_now_ms() + ms;
  struct stat st;
  while (osq_now_ms() < end) {
    if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode))
      return;
    struct timespec ts = {0, 20 * 1000000};
    nanosleep(&ts, NULL);
  }
}

static bool find_self_exe(void) {
  ssize_t n = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
  if (n <= 0) {
    fprintf(stderr, "osqd: cannot find its own executable: %s\n",
            strerror(errno));
    return false;
  }
  self_exe[n] = '\0';
  return true;
}

/* The watcher's state across check periods. */
typedef struct watch {
  char **argv;
  bool worker_db;
  sigset_t sigs, old; /* the signals it waits for; the mask before */
  limits lim;
  int64_t grace_ms;  /* --watchdog_delay: no limits before it */
  int64_t stop_ms;   /* how long a stopping worker may take at exit */
  int64_t forced_ms; /* --watchdog_forced_shutdown_delay */
  uint64_t max_delay;
  uint64_t cpu_budget_ms; /* per check period, over all CPUs */
  osq_loader *loader;
  bool loader_started;
  pid_t worker;
  int64_t spawned_at;
  unsigned quick_restarts;
  uint64_t baseline; /* the worker's RSS at its start */
  pid_t last_pid;    /* the worker the CPU figures below belong to */
  uint64_t last_cpu;
  unsigned over; /* consecutive periods over the CPU budget */
  bool stopping;
  int rc;
} watch;

static void read_settings(watch *w) {
  worker_limits(&w->lim);
  w->grace_ms = (int64_t)OSQ_FLAG_UINT(watchdog_delay) * 1000;
  w->stop_ms = ((int64_t)OSQ_FLAG_UINT(alarm_timeout) - 4) * 1000;
  if (w->stop_ms < 1000)
    w->stop_ms = 1000;
  w->forced_ms =
      (int64_t)OSQ_FLAG_UINT(watchdog_forced_shutdown_delay) * 1000;
  w->max_delay = OSQ_FLAG_UINT(watchdog_max_delay);
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  if (ncpu < 1)
    ncpu = 1;
  w->cpu_budget_ms =
      w->lim.utilization * (uint64_t)CHECK_MS * (uint64_t)ncpu / 100;
}

static osq_loader *read_autoload(void) {
  if (OSQ_FLAG_BOOL(disable_extensions))
    return NULL;
  char err[1024];
  osq_ext_settings set;
  osq_ext_settings_from_flags(&set);
  osq_loader *loader = osq_loader_new(OSQ_FLAG_STR(extensions_socket), &set);
  if (loader &&
      osq_loader_read_autoload(loader, OSQ_FLAG_STR(extensions_autoload),
                               err, sizeof err) < 0)
    OSQ_WARN("%s", err);
  if (loader && osq_loader_count(loader) > 0)
    setenv(OSQ_EXTENSIONS_ENV, "true", 1); /* the worker waits for them */
  return loader;
}

/* Start a worker, after a back-off when the last one died young. false:
 * stop the watcher (rc set when it is a failure). */
static bool respawn(watch *w) {
  int64_t now = osq_now_ms();
  if (w->spawned_at && now - w->spawned_at < RESPAWN_QUICK_S * 1000) {
    w->quick_restarts++;
    WLOG("osqd worker respawning too quickly: %u times", w->quick_restarts);
    if (w->quick_restarts >= w->lim.respawn_limit) {
      WLOG("Too many worker restarts");
      w->rc = 1;
      return false;
    }
    unsigned shift = w->quick_restarts > 20 ? 20 : w->quick_restarts;
    uint64_t delay = w->lim.respawn_delay_s + (1ull << shift);
    if (delay > w->max_delay)
      delay = w->max_delay;
    struct timespec ts = {(time_t)delay, 0};
    siginfo_t si;
    int sig = sigtimedwait(&w->sigs, &si, &ts);
    if (sig == SIGTERM || sig == SIGINT)
      return false;
  }
  w->worker = spawn_worker(w->argv, &w->old);
  if (w->worker < 0) {
    w->rc = 1;
    return false;
  }
  w->spawned_at = osq_now_ms();
  /* The footprint limit is growth over the worker's own start: sample
   * it now, before its first query can allocate (a first sample one
   * period later may already include a large query). */
  osq_proc_sample first;
  w->baseline =
      osq_proc_sample_read(w->worker, &first) == 0 ? first.rss_bytes : 0;
  if (w->loader && !w->loader_started && osq_loader_count(w->loader) > 0) {
    wait_socket(OSQ_FLAG_STR(extensions_socket), 10000);
    osq_loader_start(w->loader);
    w->loader_started = true;
  }
  return true;
}

/* One check period, passing SIGHUP on to the worker; sets stopping on
 * SIGTERM/SIGINT. */
static void sleep_period(watch *w) {
  struct timespec ts = {CHECK_MS / 1000, (CHECK_MS % 1000) * 1000000};
  for (;;) {
    siginfo_t si;
    int sig = sigtimedwait(&w->sigs, &si, &ts);
    if (sig == SIGHUP) {
      kill(w->worker, SIGHUP);
      continue;
    }
    if (sig == SIGTERM || sig == SIGINT) {
      w->stopping = true;
      return;
    }
    if (sig < 0 && errno == EINTR)
      continue;
    return;
  }
}

static bool watcher_healthy(watch *w) {
  osq_proc_sample self;
  if (osq_proc_sample_read(getpid(), &self) == 0 &&
      self.rss_bytes > w->lim.memory_bytes) {
    WLOG("Watcher has become unhealthy: Memory limits exceeded: %llu bytes "
         "(limit is %lluMB)",
         (unsigned long long)self.rss_bytes,
         (unsigned long long)(w->lim.memory_bytes / 1048576));
    return false;
  }
  return true;
}

/* A worker that exited is reaped; true then. A catastrophic exit code
 * stops the watcher (stopping and rc set). */
static bool reap_exited(watch *w) {
  int status;
  pid_t r = waitpid(w->worker, &status, WNOHANG);
  if (r != w->worker)
    return false;
  int code = exit_code_of(status);
  w->worker = -1;
  if (WIFEXITED(status) &&
      (code == OSQ_EXIT_CATASTROPHIC || code == OSQ_EXIT_EXTENSION_REQUIRED)) {
    WLOG("Worker returned exit status %d; stopping", code);
    w->rc = code;
    w->stopping = true;
    return true;
  }
  WLOG("osqd worker (%d) exited (%s %d); respawning", (int)r,
       WIFSIGNALED(status) ? "signal" : "status",
       WIFSIGNALED(status) ? WTERMSIG(status) : code);
  return true;
}

/* Sample the worker sampled_pid; why gets the limit it broke, or "". */
static void check_limits(watch *w, pid_t sampled_pid, char *why,
                         size_t whylen) {
  why[0] = '\0';
  osq_proc_sample smp;
  if (osq_proc_sample_read(w->worker, &smp) != 0 || smp.ppid != getpid())
    return;
  if (w->last_pid != sampled_pid) {
    w->last_pid = sampled_pid;
    w->last_cpu = 0; /* the first sample counts everything since start */
    w->over = 0;
  }
  if (w->baseline == 0 || smp.rss_bytes < w->baseline)
    w->baseline = smp.rss_bytes;
  uint64_t used = smp.cpu_ms - w->last_cpu;
  w->last_cpu = smp.cpu_ms;
  w->over = used > w->cpu_budget_ms ? w->over + 1 : 0;
  uint64_t footprint =
      smp.rss_bytes > w->baseline ? smp.rss_bytes - w->baseline : 0;
  if (OSQ_FLAG_BOOL(enable_watchdog_debug) && osq_log_verbose())
    OSQ_INFO("pid: %d, cpu: %llums/%llums, memory: %.2fMB/%lluMB",
             (int)w->worker, (unsigned long long)used,
             (unsigned long long)w->cpu_budget_ms, footprint / 1048576.0,
             (unsigned long long)(w->lim.memory_bytes / 1048576));
  if (osq_now_ms() < w->spawned_at + w->grace_ms)
    return;
  if (footprint > w->lim.memory_bytes)
    snprintf(why, whylen,
             "Memory limits exceeded: %llu bytes (limit is %lluMB)",
             (unsigned long long)footprint,
             (unsigned long long)(w->lim.memory_bytes / 1048576));
  else if ((uint64_t)w->over * CHECK_MS / 1000 >= w->lim.latency_s)
    snprintf(why, whylen,
             "Maximum sustainable CPU utilization limit %llums exceeded for "
             "%llu seconds",
             (unsigned long long)w->cpu_budget_ms,
             (unsigned long long)w->lim.latency_s);
}

/* The worker marks the query it runs in its store; the next worker
 * denylists it (as osquery). Name it here too, next to the reason. */
static void name_running_query(void) {
  char err[1024];
  osq_store *st = osq_store_open(OSQ_FLAG_STR(database_path), err,
                                 sizeof err);
  char *q = st ? osq_store_get(st, "executing_query") : NULL;
  if (q && *q)
    WLOG("The stopped worker was running scheduled query %s; it will be "
         "denylisted",
         q);
  free(q);
  osq_store_close(st);
}

/* Stop a worker over a limit. false if it will not die (rc set). */
static bool stop_over_limit(watch *w, const char *why) {
  WLOG("osqd worker (%d) stopping: %s", (int)w->worker, why);
  kill(w->worker, SIGUSR1);
  int status;
  if (!stop_worker(w->worker, w->forced_ms, &status)) {
    WLOG("osqd worker (%d) will not stop", (int)w->worker);
    w->rc = OSQ_EXIT_CATASTROPHIC;
    w->worker = -1;
    return false;
  }
  w->worker = -1;
  if (w->worker_db)
    name_running_query();
  return true;
}

/* Extensions first: once the worker's manager is gone they would exit
 * and the loader would start them again. */
static void finish(watch *w) {
  if (w->loader) {
    osq_loader_stop(w->loader);
    osq_loader_free(w->loader);
    w->loader = NULL;
  }
  if (w->worker > 0) {
    int status = 0;
    if (!stop_worker(w->worker, w->stop_ms, &status)) {
      w->rc = OSQ_EXIT_CATASTROPHIC;
    } else if (w->stopping) {
      int code = exit_code_of(status);
      w->rc = code == OSQ_EXIT_CATASTROPHIC ? code : 0;
    }
  }
}

int osq_watcher_run(char **argv, bool worker_db) {
  if (!find_self_exe())
    return 1;
  openlog(osq_identity_daemon_name(), LOG_PID, LOG_DAEMON);
  syslog(LOG_NOTICE, "%s started [version=%s]", osq_identity_daemon_name(),
         osq_identity_version());

  watch w;
  memset(&w, 0, sizeof w);
  w.argv = argv;
  w.worker_db = worker_db;
  w.worker = -1;
  sigemptyset(&w.sigs);
  sigaddset(&w.sigs, SIGTERM);
  sigaddset(&w.sigs, SIGINT);
  sigaddset(&w.sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &w.sigs, &w.old);

  char err[1024];
  int pidfd = -1;
  if (!OSQ_FLAG_BOOL(ephemeral)) {
    pidfd = OSQ_FLAG_BOOL(force)
                ? osq_pidfile_acquire_force(OSQ_FLAG_STR(pidfile), err,
                                            sizeof err)
                : osq_pidfile_acquire(OSQ_FLAG_STR(pidfile), err, sizeof err);
    if (pidfd < 0) {
      fprintf(stderr, "osqd Pidfile check failed: %s\n", err);
      return 1;
    }
  }
  /* background priority, as osquery's watcher */
  if (OSQ_FLAG_INT(watchdog_level) >= 0 && nice(10) == -1 && errno)
    OSQ_VLOG("cannot lower the watcher's priority: %s", strerror(errno));

  w.loader = read_autoload();
  read_settings(&w);
  while (!w.stopping) {
    if (w.worker < 0 && !respawn(&w))
      break;
    pid_t sampled = w.worker;
    sleep_period(&w);
    if (w.stopping)
      break;
    if (!watcher_healthy(&w)) {
      w.rc = OSQ_EXIT_CATASTROPHIC;
      break;
    }
    if (reap_exited(&w))
      continue;
    char why[256];
    check_limits(&w, sampled, why, sizeof why);
    if (why[0] && !stop_over_limit(&w, why))
      break;
  }
  finish(&w);
  osq_pidfile_release(pidfd);
  closelog();
  return w.rc;
}
