/* The worker: results store, tables, extension manager, config, loggers,
 * then the scheduler loop until a signal or --schedule_timeout. */
#include "daemon/daemon.h"

#include "config/config.h"
#include "config/load.h"
#include "tables/atc.h"
#include "tables/yara.h"
#include "config/filesystem.h"
#include "core/flags.h"
#include "core/log.h"
#include "daemon/distributed.h"
#include "events/events.h"
#include "daemon/fleet.h"
#include "daemon/pidfile.h"
#include "daemon/scheduler.h"
#include "daemon/store.h"
#include "ext/loader/loader.h"
#include "settings/ext_settings.h"
#include "ext/manager/manager.h"
#include "logger/kafka.h"
#include "logger/logger.h"
#include "plugin/plugin_impl.h"
#include "registry/registry.h"
#include "sql/sql.h"
#include "tables/tables.h"
#include "tables/utility/osquery_info.h"
#include "core/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <time.h>
#include <unistd.h>

static osq_manager *manager;

/* Signals are taken by one thread (sigwait) so that a stop can interrupt
 * a long query at once; it wakes the scheduler loop through a pipe. */
typedef struct sigctl {
  sigset_t set;
  int pipe[2];
  pthread_t thread;
  bool running;
  atomic_int reload;
  atomic_int stop_sig; /* 0 = keep going */
  _Atomic(osq_sched *) sched;
} sigctl;

static void *signal_thread(void *arg) {
  sigctl *c = arg;
  for (;;) {
    int sig = 0;
    if (sigwait(&c->set, &sig) != 0)
      continue;
    if (sig == SIGUSR2)
      return NULL; /* shutdown of the thread itself */
    if (sig == SIGHUP) {
      atomic_store(&c->reload, 1);
    } else {
      if (sig == SIGUSR1)
        osq_sched_limit_hit();
      atomic_store(&c->stop_sig, sig);
      osq_sched *s = atomic_load(&c->sched);
      if (s)
        osq_sched_interrupt(s);
    }
    ssize_t w;
    do {
      w = write(c->pipe[1], "x", 1);
    } while (w < 0 && errno == EINTR);
  }
}

static bool managed_extensions(void) {
  const char *e = getenv(OSQ_EXTENSIONS_ENV);
  return e && strcmp(e, "true") == 0;
}

static bool wait_plugin(const char *registry, const char *name,
                        int64_t deadline_ms, void *udata) {
  (void)udata;
  if (manager == NULL || !managed_extensions())
    return false;
  return osq_manager_wait_plugin(manager, registry, name, deadline_ms);
}

static int64_t ext_deadline(void) {
  double t = atof(OSQ_FLAG_STR(extensions_timeout));
  int64_t ms = (int64_t)(t * 1000);
  return osq_now_ms() + (ms < 200 ? 200 : ms);
}

/* Generate and build the config from the active plugin. */
#define BACKUP_PREFIX "config_persistence."

static osq_config *load_config(osq_store *store, char *err, size_t errlen) {
  bool backup = store && OSQ_FLAG_BOOL(config_enable_backup);
  osq_strmap src;
  osq_strmap_init(&src);
  osq_config *c = NULL;
  osq_config_load(OSQ_FLAG_STR(config_plugin), backup ? &src : NULL, &c,
                  err, errlen);
  if (c && backup) {
    char **old = NULL;
    size_t nold = osq_store_keys(store, BACKUP_PREFIX, &old);
    for (size_t i = 0; i < nold; i++) {
      osq_store_del(store, old[i]);
      free(old[i]);
    }
    free(old);
    for (size_t i = 0; i < osq_strmap_count(&src); i++) {
      char key[4200];
      size_t len;
      const char *v = osq_strmap_val(&src, i, &len);
      snprintf(key, sizeof key, "%s%s", BACKUP_PREFIX,
               osq_strmap_key(&src, i));
      osq_store_set(store, key, v);
    }
  }
  osq_strmap_clear(&src);
  return c;
}

/* --config_enable_backup: the sources of the last good config. */
static osq_config *restore_config(osq_store *store, char *err,
                                  size_t errlen) {
  char **keys = NULL;
  size_t n = osq_store_keys(store, BACKUP_PREFIX, &keys);
  osq_strmap src;
  osq_strmap_init(&src);
  for (size_t i = 0; i < n; i++) {
    char *v = osq_store_get(store, keys[i]);
    if (v)
      osq_strmap_set(&src, keys[i] + strlen(BACKUP_PREFIX), v, strlen(v));
    free(v);
    free(keys[i]);
  }
  free(keys);
  osq_config *c = NULL;
  if (n == 0)
    snprintf(err, errlen, "no config backup is stored");
  else
    c = osq_config_build(&src, NULL, NULL, err, errlen);
  osq_strmap_clear(&src);
  return c;
}

static void apply_config(osq_sched *s, osq_config *c) {
  osq_config_apply_options(c->options);
  osq_atc_apply(c->atc);
  osq_yara_apply(c->yara);
  osq_tables_set_prometheus_targets(c->prometheus);
  osq_events_configure(c->sources);
  osq_info_set_config(c->hash, true);
  osq_sched_set_config(s, c);
}

typedef struct worker {
  osq_store *store;
  osq_sched *sched;
  osq_loader *loader;
  int pidfd;
  pid_t watcher;
} worker;

static void on_ext_exit(pid_t pid, const char *path, void *udata) {
  (void)path;
  if (udata)
    osq_manager_remove_pid(udata, pid);
}

static void on_ext_hung(pid_t pid, const char *why, void *udata) {
  osq_loader_restart_pid(udata, pid, why); /* killed, then restarted */
}

/* Under a watcher the extensions are the watcher's children and its loader
 * restarts them: kill the hung one (the registering peer, or its ancestor
 * just below the watcher) and the loader sees a crash. */
static void on_ext_hung_under_watcher(pid_t pid, const char *why, void *u) {
  pid_t watcher = ((worker *)u)->watcher;
  for (int depth = 0; depth < 32 && pid > 1; depth++) {
    osq_proc_sample s;
    if (osq_proc_sample_read(pid, &s) != 0)
      return;
    if (s.ppid != watcher) {
      pid = s.ppid;
      continue;
    }
    int pfd = pidfd_open(pid, 0);
    /* the pidfd pins the process: check it is still the watcher's child */
    if (pfd >= 0 && osq_proc_sample_read(pid, &s) == 0 && s.ppid == watcher) {
      OSQ_WARN("Killing extension process %d so the watcher restarts it: %s",
               (int)pid, why);
      pidfd_send_signal(pfd, SIGKILL, NULL, 0);
    }
    if (pfd >= 0)
      close(pfd);
    return;
  }
}

static int start_extensions(worker *w, bool under_watcher) {
  if (OSQ_FLAG_BOOL(disable_extensions))
    return 0;
  char err[1024] = "";
  osq_ext_settings set;
  osq_ext_settings_from_flags(&set);
  manager = osq_manager_start(OSQ_FLAG_STR(extensions_socket), &set, err,
                              sizeof err);
  if (manager == NULL) {
    OSQ_ERR("An error occurred during extension manager startup: %s", err);
    return 0;
  }
  if (under_watcher && w->watcher > 0)
    osq_manager_set_unhealthy_hook(manager, on_ext_hung_under_watcher, w);
  if (!under_watcher) {
    /* No watcher: this process supervises the autoloaded extensions. */
    w->loader = osq_loader_new(osq_manager_socket(manager), &set);
    if (w->loader) {
      osq_loader_set_exit_hook(w->loader, on_ext_exit, manager);
      osq_manager_set_unhealthy_hook(manager, on_ext_hung, w->loader);
      if (osq_loader_read_autoload(w->loader, OSQ_FLAG_STR(extensions_autoload),
                                   err, sizeof err) < 0)
        OSQ_WARN("%s", err);
      if (osq_loader_count(w->loader) > 0)
        osq_loader_start(w->loader);
    }
  }
  const char *req = OSQ_FLAG_STR(extensions_require);
  if (req[0]) {
    char *list = strdup(req);
    const char *names[64];
    size_t n = 0;
    char *save = NULL;
    for (char *t = list ? strtok_r(list, ",", &save) : NULL; t && n < 64;
         t = strtok_r(NULL, ",", &save))
      names[n++] = t;
    int missing = osq_manager_wait_names(manager, names, n, ext_deadline(),
                                         err, sizeof err);
    free(list);
    if (missing != 0) {
      /* osquery only logs this and runs on without the extension; osqd
       * stops with its own exit code so a service manager sees it. */
      OSQ_ERR("An error occurred during extension manager startup: Required "
              "extension not found or not loaded: %s",
              err);
      fprintf(stderr, "Required extension not found or not loaded: %s\n",
              err);
      return OSQ_EXIT_EXTENSION_REQUIRED;
    }
  }
  return 0;
}

static void stop_extensions(worker *w) {
  if (manager)
    osq_manager_set_unhealthy_hook(manager, NULL, NULL);
  if (w->loader) {
    osq_loader_stop(w->loader);
    osq_loader_free(w->loader);
    w->loader = NULL;
  }
  if (manager) {
    osq_manager_stop(manager);
    manager = NULL;
  }
}

static void flush_status(worker *w) {
  if (w->sched)
    osq_loggers_flush_status(osq_sched_host(w->sched));
}

/* True when a signal asked this worker to stop (the reason is logged). */
static bool stop_asked(sigctl *sc) {
  int sig = atomic_load(&sc->stop_sig);
  if (sig == SIGUSR1) {
    OSQ_WARN("The watchdog asked this worker to stop (resource limit)");
    return true;
  }
  if (sig) {
    OSQ_INFO("osqd stopping on signal %d", sig);
    return true;
  }
  return false;
}

/* Sleep until deadline (monotonic ms), woken early by a signal; true when
 * a reload (SIGHUP) was asked for. */
static bool sleep_until(sigctl *sc, int64_t deadline) {
  for (;;) {
    if (atomic_load(&sc->stop_sig))
      return false;
    if (atomic_exchange(&sc->reload, 0))
      return true;
    int64_t left = deadline - osq_now_ms();
    if (left <= 0)
      return false;
    struct pollfd pfd = {sc->pipe[0], POLLIN, 0};
    if (poll(&pfd, 1, (int)left) > 0) {
      char buf[64];
      while (read(sc->pipe[0], buf, sizeof buf) > 0)
        ;
    }
  }
}

/* Re-read the config; a failure keeps the last good one. Returns when
 * the next timed refresh is due (0: none). */
static int64_t reload_config(worker *w, uint64_t refresh, uint64_t accel) {
  char err[1024];
  osq_config *c = load_config(w->store, err, sizeof err);
  if (c) {
    apply_config(w->sched, c);
    OSQ_INFO("Config reloaded");
    return refresh ? osq_now_ms() + (int64_t)refresh * 1000 : 0;
  }
  OSQ_WARN("Error reading config: %s; keeping the last good config", err);
  return refresh ? osq_now_ms() + (int64_t)(accel ? accel : refresh) * 1000
                 : 0;
}

/* The scheduler loop; returns the exit code. */
static int loop(worker *w, sigctl *sc) {
  uint64_t start = (uint64_t)time(NULL);
  uint64_t tick = start;
  uint64_t timeout = OSQ_FLAG_UINT(schedule_timeout);
  int64_t max_drift = (int64_t)OSQ_FLAG_UINT(schedule_max_drift) * 1000;
  int64_t deadline = osq_now_ms() + 1000;
  uint64_t refresh = OSQ_FLAG_UINT(config_refresh);
  uint64_t accel = OSQ_FLAG_UINT(config_accelerated_refresh);
  int64_t next_refresh = refresh ? osq_now_ms() + (int64_t)refresh * 1000 : 0;
  int64_t next_dist = osq_now_ms();
  bool first = true;
  for (;;) {
    if ((tick - start) % 3 == 0)
      flush_status(w);
    if (osq_sched_step(w->sched, tick, first) != 0) {
      OSQ_ERR("The results store failed; stopping");
      return OSQ_EXIT_CATASTROPHIC;
    }
    first = false;
    if (timeout && tick - start + 1 >= timeout)
      return 0;
    if (stop_asked(sc))
      return 0;
    int64_t now = osq_now_ms();
    bool reload = refresh && now >= next_refresh;
    if (!OSQ_FLAG_BOOL(disable_distributed) && now >= next_dist) {
      uint64_t nd = osq_distributed_round(osq_sched_db(w->sched), w->store);
      next_dist = osq_now_ms() + (int64_t)nd * 1000;
    }
    if (w->watcher > 0 && getppid() != w->watcher) {
      OSQ_WARN("The watcher (pid %d) is gone; stopping", (int)w->watcher);
      return 0;
    }
    if (sleep_until(sc, deadline))
      reload = true;
    if (stop_asked(sc))
      return 0;
    if (reload) {
      int64_t next = reload_config(w, refresh, accel);
      if (refresh)
        next_refresh = next;
    }
    tick++;
    deadline += 1000;
    int64_t late = osq_now_ms() - deadline;
    if (late > max_drift)
      deadline = osq_now_ms(); /* no catch-up after a long stall */
  }
}

static bool start_signals(sigctl *sc) {
  sigemptyset(&sc->set);
  sigaddset(&sc->set, SIGTERM);
  sigaddset(&sc->set, SIGINT);
  sigaddset(&sc->set, SIGHUP);
  sigaddset(&sc->set, SIGUSR1);
  sigaddset(&sc->set, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &sc->set, NULL);
  if (pipe2(sc->pipe, O_CLOEXEC | O_NONBLOCK) != 0 ||
      pthread_create(&sc->thread, NULL, signal_thread, sc) != 0) {
    fprintf(stderr, "osqd: cannot set up signal handling: %s\n",
            strerror(errno));
    return false;
  }
  sc->running = true;
  return true;
}

static void stop_signals(sigctl *sc) {
  if (!sc->running)
    return;
  atomic_store(&sc->sched, NULL);
  pthread_kill(sc->thread, SIGUSR2);
  pthread_join(sc->thread, NULL);
  sc->running = false;
  close(sc->pipe[0]);
  close(sc->pipe[1]);
}

static int register_builtins(osq_store *store, const char *store_path,
                             char *err, size_t errlen) {
  if (osq_tables_register_builtin() < 0 || osq_sched_register_tables() != 0 ||
      osq_events_register_tables() < 0 ||
      osq_loggers_register_builtin() != 0 ||
      osq_config_register_builtin(err, errlen) != 0 ||
      osq_fleet_register(store, store_path, err, errlen) != 0) {
    OSQ_ERR("Cannot register the built-in plugins: %s", err);
    return -1;
  }
  return 0;
}

/* --config_plugin, waiting for an extension to register it. */
static bool activate_config_plugin(void) {
  const char *cplugin = OSQ_FLAG_STR(config_plugin);
  if (!osq_registry_exists(OSQ_REGISTRY_CONFIG, cplugin) &&
      !wait_plugin("config", cplugin, ext_deadline(), NULL)) {
    OSQ_ERR("Cannot activate %s config plugin: Unknown registry plugin: %s",
            cplugin, cplugin);
    fprintf(stderr,
            "Cannot activate %s config plugin: Unknown registry plugin: %s\n",
            cplugin, cplugin);
    return false;
  }
  osq_registry_set_active(OSQ_REGISTRY_CONFIG, cplugin);
  return true;
}

/* The config at start-up. A plugin served by an extension is registered
 * a moment before the extension listens: retry until
 * --extensions_timeout, as osquery's activation waits for the extension's
 * socket. */
static osq_config *first_config(osq_store *store, char *err,
                                size_t errlen) {
  osq_config *cfg = load_config(store, err, errlen);
  if (cfg != NULL)
    return cfg;
  const osq_plugin *cp =
      osq_registry_get(OSQ_REGISTRY_CONFIG, OSQ_FLAG_STR(config_plugin));
  bool external = cp && cp->owner != OSQ_CORE_UUID;
  osq_plugin_release(cp);
  int64_t until = ext_deadline();
  while (external && cfg == NULL && osq_now_ms() < until) {
    struct timespec ts = {0, 50 * 1000000};
    nanosleep(&ts, NULL);
    cfg = load_config(store, err, errlen);
  }
  return cfg;
}

/* No config could be read: --config_enable_backup's, if any. */
static osq_config *config_fallback(osq_store *store, const char *err) {
  OSQ_WARN("Error reading config: %s", err);
  osq_info_set_config(NULL, false);
  if (!OSQ_FLAG_BOOL(config_enable_backup))
    return NULL;
  char berr[512];
  osq_config *cfg = restore_config(store, berr, sizeof berr);
  if (cfg)
    OSQ_WARN("Using the config backup from the last good config");
  else
    OSQ_WARN("Cannot use the config backup: %s", berr);
  return cfg;
}

/* The config's kafka_topics (docs/daemon.md): each source's entries,
 * a later source's topic replacing an earlier one of the same name. */
static void give_kafka_topics(const osq_config *cfg) {
  json_t *all = json_object();
  const char *name;
  json_t *text;
  json_object_foreach(cfg ? cfg->sources : NULL, name, text) {
    char err[256];
    json_t *doc = osq_config_parse_text(name, json_string_value(text),
                                        json_string_length(text), err,
                                        sizeof err);
    json_t *topics = json_object_get(doc, "kafka_topics");
    if (topics != NULL && !json_is_object(topics))
      OSQ_WARN("Config source %s: kafka_topics must be an object", name);
    else if (topics != NULL)
      json_object_update(all, topics);
    json_decref(doc);
  }
  osq_kafka_set_topics(all);
  json_decref(all);
}

static int setup_loggers(char *err, size_t errlen) {
  const char *lplugins = OSQ_FLAG_STR(logger_plugin);
  if (strstr(lplugins, "filesystem") && osq_fslog_setup(err, errlen) != 0)
    OSQ_WARN("Filesystem logger: %s", err);
  if (osq_loggers_setup(lplugins, wait_plugin, NULL, err, errlen) != 0) {
    OSQ_ERR("%s", err);
    fprintf(stderr, "%s\n", err);
    return -1;
  }
  return 0;
}

static void activate_distributed(void) {
  if (OSQ_FLAG_BOOL(disable_distributed))
    return;
  const char *dp = OSQ_FLAG_STR(distributed_plugin);
  if (!osq_registry_exists(OSQ_REGISTRY_DISTRIBUTED, dp) &&
      !wait_plugin("distributed", dp, ext_deadline(), NULL))
    OSQ_ERR("Cannot activate %s distributed plugin: Unknown registry "
            "plugin: %s",
            dp, dp);
  else
    osq_registry_set_active(OSQ_REGISTRY_DISTRIBUTED, dp);
}

/* From the results store to the running scheduler loop; returns the exit
 * code. check/dump: only read the config. */
static int run(worker *w, sigctl *sc, bool under_watcher, bool check,
               bool dump) {
  bool ephemeral = OSQ_FLAG_BOOL(ephemeral);
  char err[1024] = "";
  bool memdb = !OSQ_FLAG_BOOL(database_dump) &&
               (ephemeral || OSQ_FLAG_BOOL(disable_database) || check || dump);
  w->store = osq_store_open(memdb ? NULL : OSQ_FLAG_STR(database_path), err,
                            sizeof err);
  if (w->store == NULL) {
    OSQ_ERR("Cannot open the results store: %s", err);
    return OSQ_EXIT_CATASTROPHIC;
  }
  if (OSQ_FLAG_BOOL(database_dump)) {
    osq_store_dump(w->store, stdout);
    fflush(stdout);
    return 0;
  }
  if (register_builtins(w->store, memdb ? NULL : OSQ_FLAG_STR(database_path),
                        err, sizeof err) != 0)
    return OSQ_EXIT_CATASTROPHIC;
  if (check || dump)
    return osq_config_check_main(dump, stdout, stderr);
  int erc = start_extensions(w, under_watcher);
  if (erc != 0)
    return erc;
  if (!activate_config_plugin())
    return OSQ_EXIT_CATASTROPHIC;
  osq_config *cfg = first_config(w->store, err, sizeof err);
  if (cfg == NULL)
    cfg = config_fallback(w->store, err);
  if (cfg) {
    osq_config_apply_options(cfg->options);
    osq_atc_apply(cfg->atc);
    osq_yara_apply(cfg->yara);
    osq_tables_set_prometheus_targets(cfg->prometheus);
  }
  osq_events_configure(cfg ? cfg->sources : NULL);
  give_kafka_topics(cfg);
  if (setup_loggers(err, sizeof err) != 0) {
    osq_config_free(cfg);
    return OSQ_EXIT_CATASTROPHIC;
  }
  activate_distributed();
  w->sched = osq_sched_new(w->store, err, sizeof err);
  if (w->sched == NULL) {
    OSQ_ERR("Cannot start the scheduler: %s", err);
    osq_config_free(cfg);
    return OSQ_EXIT_CATASTROPHIC;
  }
  osq_sched_recover(w->sched, under_watcher);
  if (cfg) {
    osq_info_set_config(cfg->hash, true);
    osq_sched_set_config(w->sched, cfg);
  }
  OSQ_INFO("osqd started [version=%s]", OSQ_VERSION);
  atomic_store(&sc->sched, w->sched);
  int rc = loop(w, sc);
  flush_status(w);
  return rc;
}

int osq_worker_run(bool under_watcher) {
  worker w = {.pidfd = -1};
  if (under_watcher) {
    w.watcher = getppid();
    osq_info_set_watcher(w.watcher);
  } else {
    osq_info_set_watcher(-1);
  }
  bool check = OSQ_FLAG_BOOL(config_check);
  bool dump = OSQ_FLAG_BOOL(config_dump);

  static sigctl sc;
  if (!start_signals(&sc))
    return OSQ_EXIT_CATASTROPHIC;
  if (!under_watcher && !OSQ_FLAG_BOOL(ephemeral) && !check && !dump &&
      !OSQ_FLAG_BOOL(database_dump)) {
    char err[1024];
    w.pidfd = OSQ_FLAG_BOOL(force)
                ? osq_pidfile_acquire_force(OSQ_FLAG_STR(pidfile), err,
                                            sizeof err)
                : osq_pidfile_acquire(OSQ_FLAG_STR(pidfile), err, sizeof err);
    if (w.pidfd < 0) {
      fprintf(stderr, "osqd Pidfile check failed: %s\n", err);
      return 1;
    }
  }
  /* status lines are held from the start and reach the loggers once
   * they are set up */
  if (!OSQ_FLAG_BOOL(disable_logging) && !check && !dump)
    osq_loggers_capture_status();

  int rc = run(&w, &sc, under_watcher, check, dump);

  stop_signals(&sc);
  stop_extensions(&w);
  osq_events_shutdown();
  osq_sched_free(w.sched);
  osq_fleet_shutdown();
  osq_loggers_shutdown();
  osq_store_close(w.store);
  osq_pidfile_release(w.pidfd);
  return rc;
}
