/* The watcher (osquery-host.md §4): holds the pidfile, launches the
 * autoloaded extensions (through the loader), forks the worker, samples
 * its CPU and memory, stops it over the limits, respawns it with
 * back-off. */
#include "daemon/daemon.h"

#include "core/flags.h"
#include "core/log.h"
#include "daemon/pidfile.h"
#include "daemon/store.h"
#include "ext/loader.h"
#include "thrift/thrift.h"

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
  int64_t level = osq_flag_int("watchdog_level");
  uint64_t mem = 200, util = 10, lat = 12;
  l->respawn_limit = 4;
  l->respawn_delay_s = 5;
  if (level == 1) {
    mem = 100, util = 5, lat = 6;
  } else if (level == -1) {
    mem = 10000, util = 100, lat = 1000;
    l->respawn_limit = 1000;
    l->respawn_delay_s = 1;
  }
  if (osq_flag_uint("watchdog_memory_limit") > 0)
    mem = osq_flag_uint("watchdog_memory_limit");
  if (osq_flag_uint("watchdog_utilization_limit") > 0)
    util = osq_flag_uint("watchdog_utilization_limit");
  if (util > 100)
    util = 100;
  if (osq_flag_uint("watchdog_latency_limit") > 0)
    lat = osq_flag_uint("watchdog_latency_limit");
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

int osq_watcher_run(char **argv, bool worker_db) {
  ssize_t n = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
  if (n <= 0) {
    fprintf(stderr, "osqd: cannot find its own executable: %s\n",
            strerror(errno));
    return 1;
  }
  self_exe[n] = '\0';
  openlog("osqd", LOG_PID, LOG_DAEMON);
  syslog(LOG_NOTICE, "osqd started [version=%s]", OSQ_VERSION);

  sigset_t sigs, old;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, &old);

  char err[1024];
  int pidfd = -1;
  if (!osq_flag_bool("ephemeral")) {
    pidfd = osq_flag_bool("force")
                ? osq_pidfile_acquire_force(osq_flag_str("pidfile"), err,
                                            sizeof err)
                : osq_pidfile_acquire(osq_flag_str("pidfile"), err, sizeof err);
    if (pidfd < 0) {
      fprintf(stderr, "osqd Pidfile check failed: %s\n", err);
      return 1;
    }
  }
  /* background priority, as osquery's watcher */
  if (osq_flag_int("watchdog_level") >= 0 && nice(10) == -1 && errno)
    OSQ_VLOG("cannot lower the watcher's priority: %s", strerror(errno));

  osq_loader *loader = NULL;
  if (!osq_flag_bool("disable_extensions")) {
    loader = osq_loader_new(osq_flag_str("extensions_socket"));
    if (loader &&
        osq_loader_read_autoload(loader, osq_flag_str("extensions_autoload"),
                                 err, sizeof err) < 0)
      OSQ_WARN("%s", err);
    if (loader && osq_loader_count(loader) > 0)
      setenv(OSQ_EXTENSIONS_ENV, "true", 1); /* the worker waits for them */
  }

  limits lim;
  worker_limits(&lim);
  int64_t grace_ms = (int64_t)osq_flag_uint("watchdog_delay") * 1000;
  int64_t stop_ms = ((int64_t)osq_flag_uint("alarm_timeout") - 4) * 1000;
  if (stop_ms < 1000)
    stop_ms = 1000;
  int64_t forced_ms =
      (int64_t)osq_flag_uint("watchdog_forced_shutdown_delay") * 1000;
  uint64_t max_delay = osq_flag_uint("watchdog_max_delay");
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  if (ncpu < 1)
    ncpu = 1;
  uint64_t cpu_budget_ms =
      lim.utilization * (uint64_t)CHECK_MS * (uint64_t)ncpu / 100;

  unsigned quick_restarts = 0;
  int64_t spawned_at = 0;
  uint64_t baseline = 0;
  int rc = 0;
  bool loader_started = false;
  pid_t worker = -1;
  bool stopping = false;
  int last_status = 0;

  while (!stopping) {
    if (worker < 0) {
      int64_t now = osq_now_ms();
      if (spawned_at && now - spawned_at < RESPAWN_QUICK_S * 1000) {
        quick_restarts++;
        WLOG("osqd worker respawning too quickly: %u times", quick_restarts);
        if (quick_restarts >= lim.respawn_limit) {
          WLOG("Too many worker restarts");
          rc = 1;
          break;
        }
        uint64_t delay = lim.respawn_delay_s + (1ull << (quick_restarts > 20
                                                             ? 20
                                                             : quick_restarts));
        if (delay > max_delay)
          delay = max_delay;
        struct timespec ts = {(time_t)delay, 0};
        siginfo_t si;
        int sig = sigtimedwait(&sigs, &si, &ts);
        if (sig == SIGTERM || sig == SIGINT)
          break;
      }
      worker = spawn_worker(argv, &old);
      if (worker < 0) {
        rc = 1;
        break;
      }
      spawned_at = osq_now_ms();
      /* The footprint limit is growth over the worker's own start: sample
       * it now, before its first query can allocate (a first sample one
       * period later may already include a large query). */
      osq_proc_sample first;
      baseline = osq_proc_sample_read(worker, &first) == 0 ? first.rss_bytes : 0;
      if (loader && !loader_started && osq_loader_count(loader) > 0) {
        wait_socket(osq_flag_str("extensions_socket"), 10000);
        osq_loader_start(loader);
        loader_started = true;
      }
    }
    /* sleep one check period, woken by signals */
    struct timespec ts = {CHECK_MS / 1000, (CHECK_MS % 1000) * 1000000};
    pid_t sampled = worker;
    for (;;) {
      siginfo_t si;
      int sig = sigtimedwait(&sigs, &si, &ts);
      if (sig == SIGHUP) {
        kill(worker, SIGHUP);
        continue;
      }
      if (sig == SIGTERM || sig == SIGINT) {
        stopping = true;
        break;
      }
      if (sig < 0 && errno == EINTR)
        continue;
      break;
    }
    if (stopping)
      break;
    osq_proc_sample self;
    if (osq_proc_sample_read(getpid(), &self) == 0 &&
        self.rss_bytes > lim.memory_bytes) {
      WLOG("Watcher has become unhealthy: Memory limits exceeded: %llu bytes "
           "(limit is %lluMB)",
           (unsigned long long)self.rss_bytes,
           (unsigned long long)(lim.memory_bytes / 1048576));
      rc = OSQ_EXIT_CATASTROPHIC;
      break;
    }
    int status;
    pid_t r = waitpid(worker, &status, WNOHANG);
    if (r == worker) {
      last_status = status;
      int code = exit_code_of(status);
      worker = -1;
      if (WIFEXITED(status) && (code == OSQ_EXIT_CATASTROPHIC ||
                                code == OSQ_EXIT_EXTENSION_REQUIRED)) {
        WLOG("Worker returned exit status %d; stopping", code);
        rc = code;
        break;
      }
      WLOG("osqd worker (%d) exited (%s %d); respawning", (int)r,
           WIFSIGNALED(status) ? "signal" : "status",
           WIFSIGNALED(status) ? WTERMSIG(status) : code);
      continue;
    }
    osq_proc_sample smp;
    if (osq_proc_sample_read(worker, &smp) != 0 || smp.ppid != getpid())
      continue;
    static pid_t last_pid;
    static uint64_t last_cpu;
    static unsigned over;
    if (last_pid != sampled) {
      last_pid = sampled;
      last_cpu = 0; /* the first sample counts everything since start */
      over = 0;
    }
    if (baseline == 0 || smp.rss_bytes < baseline)
      baseline = smp.rss_bytes;
    uint64_t used = smp.cpu_ms - last_cpu;
    last_cpu = smp.cpu_ms;
    over = used > cpu_budget_ms ? over + 1 : 0;
    uint64_t footprint = smp.rss_bytes > baseline ? smp.rss_bytes - baseline : 0;
    if (osq_flag_bool("enable_watchdog_debug") && osq_log_verbose())
      OSQ_INFO("pid: %d, cpu: %llums/%llums, memory: %.2fMB/%lluMB",
               (int)worker, (unsigned long long)used,
               (unsigned long long)cpu_budget_ms, footprint / 1048576.0,
               (unsigned long long)(lim.memory_bytes / 1048576));
    if (osq_now_ms() < spawned_at + grace_ms)
      continue;
    char why[256] = "";
    if (footprint > lim.memory_bytes)
      snprintf(why, sizeof why,
               "Memory limits exceeded: %llu bytes (limit is %lluMB)",
               (unsigned long long)footprint,
               (unsigned long long)(lim.memory_bytes / 1048576));
    else if ((uint64_t)over * CHECK_MS / 1000 >= lim.latency_s)
      snprintf(why, sizeof why,
               "Maximum sustainable CPU utilization limit %llums exceeded for "
               "%llu seconds",
               (unsigned long long)cpu_budget_ms,
               (unsigned long long)lim.latency_s);
    if (why[0] == '\0')
      continue;
    WLOG("osqd worker (%d) stopping: %s", (int)worker, why);
    kill(worker, SIGUSR1);
    if (!stop_worker(worker, forced_ms, &status)) {
      WLOG("osqd worker (%d) will not stop", (int)worker);
      rc = OSQ_EXIT_CATASTROPHIC;
      worker = -1;
      break;
    }
    last_status = status;
    worker = -1;
    /* The worker marks the query it runs in its store; the next worker
     * denylists it (as osquery). Name it here too, next to the reason. */
    if (worker_db) {
      osq_store *st = osq_store_open(osq_flag_str("database_path"), err,
                                     sizeof err);
      char *q = st ? osq_store_get(st, "executing_query") : NULL;
      if (q && *q)
        WLOG("The stopped worker was running scheduled query %s; it will be "
             "denylisted",
             q);
      free(q);
      osq_store_close(st);
    }
  }

  /* Extensions first: once the worker's manager is gone they would exit
   * and the loader would start them again. */
  if (loader) {
    osq_loader_stop(loader);
    osq_loader_free(loader);
    loader = NULL;
  }
  if (worker > 0) {
    int status = 0;
    if (!stop_worker(worker, stop_ms, &status)) {
      rc = OSQ_EXIT_CATASTROPHIC;
    } else if (stopping) {
      last_status = status;
      int code = exit_code_of(status);
      rc = code == OSQ_EXIT_CATASTROPHIC ? code : 0;
    }
  }
  (void)last_status;
  if (loader) {
    osq_loader_stop(loader);
    osq_loader_free(loader);
  }
  osq_pidfile_release(pidfd);
  closelog();
  return rc;
}
