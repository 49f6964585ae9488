/* The worker: results store, tables, extension manager, config, loggers,
 * then the scheduler loop until a signal or --schedule_timeout. */
#include "daemon/daemon.h"

#include "config/config.h"
#include "config/filesystem.h"
#include "core/flags.h"
#include "core/log.h"
#include "daemon/distributed.h"
#include "daemon/pidfile.h"
#include "daemon/scheduler.h"
#include "daemon/store.h"
#include "ext/loader/loader.h"
#include "daemon/ext_settings.h"
#include "ext/manager/manager.h"
#include "logger/logger.h"
#include "plugin/plugin_impl.h"
#include "registry/registry.h"
#include "sql/sql.h"
#include "tables/tables.h"
#include "tables/utility/osquery_info.h"
#include "thrift/thrift.h"

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
  double t = atof(osq_flag_str("extensions_timeout"));
  int64_t ms = (int64_t)(t * 1000);
  return osq_now_ms() + (ms < 200 ? 200 : ms);
}

/* Generate and build the config from the active plugin. */
#define BACKUP_PREFIX "config_persistence."

static osq_config *load_config(osq_store *store, char *err, size_t errlen,
                               bool dump) {
  const char *name = osq_flag_str("config_plugin");
  const osq_plugin *p = osq_registry_get(OSQ_REGISTRY_CONFIG, name);
  if (p == NULL) {
    snprintf(err, errlen, "config plugin %s is not registered", name);
    return NULL;
  }
  const osq_config_plugin *cp = p->u.config;
  osq_strmap src;
  osq_strmap_init(&src);
  osq_config *c = NULL;
  if (cp->generate == NULL || cp->generate(&src, cp->udata) != OSQ_OK) {
    snprintf(err, errlen, "%s",
             osq_strmap_message(&src)[0] ? osq_strmap_message(&src)
                                         : "the config plugin failed");
  } else if (dump) {
    for (size_t i = 0; i < osq_strmap_count(&src); i++) {
      size_t len;
      const char *v = osq_strmap_val(&src, i, &len);
      json_t *k = json_string(osq_strmap_key(&src, i));
      char *ks = k ? json_dumps(k, JSON_ENCODE_ANY) : NULL;
      printf("{%s: %.*s}\n", ks ? ks : "\"\"", (int)len, v);
      free(ks);
      json_decref(k);
    }
    fflush(stdout);
    c = osq_config_build(&src, NULL, NULL, err, errlen);
  } else {
    c = osq_config_build(&src, cp->gen_pack, cp->udata, err, errlen);
    if (c && store && osq_flag_bool("config_enable_backup")) {
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
  }
  osq_strmap_clear(&src);
  osq_plugin_release(p);
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
  if (osq_flag_bool("disable_extensions"))
    return 0;
  char err[1024] = "";
  osq_ext_settings set;
  osq_ext_settings_from_flags(&set);
  manager = osq_manager_start(osq_flag_str("extensions_socket"), &set, err,
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
      if (osq_loader_read_autoload(w->loader, osq_flag_str("extensions_autoload"),
                                   err, sizeof err) < 0)
        OSQ_WARN("%s", err);
      if (osq_loader_count(w->loader) > 0)
        osq_loader_start(w->loader);
    }
  }
  const char *req = osq_flag_str("extensions_require");
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

/* The scheduler loop; returns the exit code. */
static int loop(worker *w, sigctl *sc) {
  uint64_t start = (uint64_t)time(NULL);
  uint64_t tick = start;
  uint64_t timeout = osq_flag_uint("schedule_timeout");
  int64_t max_drift = (int64_t)osq_flag_uint("schedule_max_drift") * 1000;
  int64_t deadline = osq_now_ms() + 1000;
  uint64_t refresh = osq_flag_uint("config_refresh");
  uint64_t accel = osq_flag_uint("config_accelerated_refresh");
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
    int stop = atomic_load(&sc->stop_sig);
    if (stop == SIGUSR1) {
      OSQ_WARN("The watchdog asked this worker to stop (resource limit)");
      return 0;
    }
    if (stop) {
      OSQ_INFO("osqd stopping on signal %d", stop);
      return 0;
    }
    int64_t now = osq_now_ms();
    bool reload = false;
    if (refresh && now >= next_refresh)
      reload = true;
    if (!osq_flag_bool("disable_distributed") && now >= next_dist) {
      uint64_t nd = osq_distributed_round(osq_sched_db(w->sched));
      next_dist = osq_now_ms() + (int64_t)nd * 1000;
    }
    if (w->watcher > 0 && getppid() != w->watcher) {
      OSQ_WARN("The watcher (pid %d) is gone; stopping", (int)w->watcher);
      return 0;
    }
    /* Sleep until the next step, woken early by a signal. */
    for (;;) {
      if (atomic_load(&sc->stop_sig))
        break;
      if (atomic_exchange(&sc->reload, 0)) {
        reload = true;
        break;
      }
      int64_t left = deadline - osq_now_ms();
      if (left <= 0)
        break;
      struct pollfd pfd = {sc->pipe[0], POLLIN, 0};
      if (poll(&pfd, 1, (int)left) > 0) {
        char buf[64];
        while (read(sc->pipe[0], buf, sizeof buf) > 0)
          ;
      }
    }
    int sig = atomic_load(&sc->stop_sig);
    if (sig == SIGUSR1) {
      OSQ_WARN("The watchdog asked this worker to stop (resource limit)");
      return 0;
    }
    if (sig) {
      OSQ_INFO("osqd stopping on signal %d", sig);
      return 0;
    }
    if (reload) {
      char err[1024];
      osq_config *c = load_config(w->store, err, sizeof err, false);
      if (c) {
        apply_config(w->sched, c);
        OSQ_INFO("Config reloaded");
        if (refresh)
          next_refresh = osq_now_ms() + (int64_t)refresh * 1000;
      } else {
        OSQ_WARN("Error reading config: %s; keeping the last good config",
                 err);
        if (refresh)
          next_refresh = osq_now_ms() + (int64_t)(accel ? accel : refresh) * 1000;
      }
    }
    tick++;
    deadline += 1000;
    int64_t late = osq_now_ms() - deadline;
    if (late > max_drift)
      deadline = osq_now_ms(); /* no catch-up after a long stall */
  }
}

int osq_worker_run(bool under_watcher) {
  worker w = {.pidfd = -1};
  const char *wenv = getenv(OSQ_WORKER_ENV);
  if (under_watcher) {
    w.watcher = getppid();
    osq_info_set_watcher(w.watcher);
  } else {
    osq_info_set_watcher(-1);
  }
  (void)wenv;
  bool check = osq_flag_bool("config_check");
  bool dump = osq_flag_bool("config_dump");
  bool ephemeral = osq_flag_bool("ephemeral");
  char err[1024] = "";
  int rc = 0;

  static sigctl sc;
  sigemptyset(&sc.set);
  sigaddset(&sc.set, SIGTERM);
  sigaddset(&sc.set, SIGINT);
  sigaddset(&sc.set, SIGHUP);
  sigaddset(&sc.set, SIGUSR1);
  sigaddset(&sc.set, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &sc.set, NULL);
  if (pipe2(sc.pipe, O_CLOEXEC | O_NONBLOCK) != 0 ||
      pthread_create(&sc.thread, NULL, signal_thread, &sc) != 0) {
    fprintf(stderr, "osqd: cannot set up signal handling: %s\n",
            strerror(errno));
    return OSQ_EXIT_CATASTROPHIC;
  }
  sc.running = true;

  if (!under_watcher && !ephemeral && !check && !dump &&
      !osq_flag_bool("database_dump")) {
    w.pidfd = osq_flag_bool("force")
                ? osq_pidfile_acquire_force(osq_flag_str("pidfile"), err,
                                            sizeof err)
                : osq_pidfile_acquire(osq_flag_str("pidfile"), err, sizeof err);
    if (w.pidfd < 0) {
      fprintf(stderr, "osqd Pidfile check failed: %s\n", err);
      return 1;
    }
  }
  /* status lines are held from the start and reach the loggers once
   * they are set up */
  if (!osq_flag_bool("disable_logging") && !check && !dump)
    osq_loggers_capture_status();
  bool memdb = !osq_flag_bool("database_dump") &&
               (ephemeral || osq_flag_bool("disable_database") || check || dump);
  w.store = osq_store_open(memdb ? NULL : osq_flag_str("database_path"), err,
                           sizeof err);
  if (w.store == NULL) {
    OSQ_ERR("Cannot open the results store: %s", err);
    rc = OSQ_EXIT_CATASTROPHIC;
    goto out;
  }
  if (osq_flag_bool("database_dump")) {
    osq_store_dump(w.store, stdout);
    fflush(stdout);
    goto out;
  }
  if (osq_tables_register_builtin() < 0 || osq_sched_register_tables() != 0 ||
      osq_loggers_register_builtin() != 0 ||
      (!osq_registry_exists(OSQ_REGISTRY_CONFIG, "filesystem") &&
       osq_registry_add(OSQ_REGISTRY_CONFIG, &osq_config_filesystem,
                        OSQ_CORE_UUID, false, err, sizeof err) != 0)) {
    OSQ_ERR("Cannot register the built-in plugins: %s", err);
    rc = OSQ_EXIT_CATASTROPHIC;
    goto out;
  }
  if (!check && !dump) {
    int erc = start_extensions(&w, under_watcher);
    if (erc != 0) {
      rc = erc;
      goto out;
    }
  }

  const char *cplugin = osq_flag_str("config_plugin");
  if (!osq_registry_exists(OSQ_REGISTRY_CONFIG, cplugin) &&
      !wait_plugin("config", cplugin, ext_deadline(), NULL)) {
    OSQ_ERR("Cannot activate %s config plugin: Unknown registry plugin: %s",
            cplugin, cplugin);
    fprintf(stderr,
            "Cannot activate %s config plugin: Unknown registry plugin: %s\n",
            cplugin, cplugin);
    rc = OSQ_EXIT_CATASTROPHIC;
    goto out;
  }
  osq_registry_set_active(OSQ_REGISTRY_CONFIG, cplugin);
  osq_config *cfg = load_config(w.store, err, sizeof err, dump);
  if (cfg == NULL && !dump && !check) {
    /* A plugin served by an extension is registered a moment before the
     * extension listens: retry until --extensions_timeout, as osquery's
     * activation waits for the extension's socket. */
    const osq_plugin *cp = osq_registry_get(OSQ_REGISTRY_CONFIG, cplugin);
    bool external = cp && cp->owner != OSQ_CORE_UUID;
    osq_plugin_release(cp);
    int64_t until = ext_deadline();
    while (external && cfg == NULL && osq_now_ms() < until) {
      struct timespec ts = {0, 50 * 1000000};
      nanosleep(&ts, NULL);
      cfg = load_config(w.store, err, sizeof err, false);
    }
  }
  if (dump) {
    /* the sources were printed before parsing; only a failed fetch fails */
    rc = cfg || strncmp(err, "Error parsing", 13) == 0 ? 0 : 1;
    if (rc)
      fprintf(stderr, "Error reading config: %s\n", err);
    osq_config_free(cfg);
    goto out;
  }
  if (check) {
    if (cfg == NULL)
      fprintf(stderr, "Error reading config: %s\n", err);
    rc = cfg ? 0 : 1;
    osq_config_free(cfg);
    goto out;
  }
  if (cfg == NULL) {
    OSQ_WARN("Error reading config: %s", err);
    osq_info_set_config(NULL, false);
    if (osq_flag_bool("config_enable_backup")) {
      char berr[512];
      cfg = restore_config(w.store, berr, sizeof berr);
      if (cfg)
        OSQ_WARN("Using the config backup from the last good config");
      else
        OSQ_WARN("Cannot use the config backup: %s", berr);
    }
  }
  if (cfg) {
    osq_config_apply_options(cfg->options);
  }

  const char *lplugins = osq_flag_str("logger_plugin");
  if (strstr(lplugins, "filesystem") && osq_fslog_setup(err, sizeof err) != 0)
    OSQ_WARN("Filesystem logger: %s", err);
  if (osq_loggers_setup(lplugins, wait_plugin, NULL, err, sizeof err) != 0) {
    OSQ_ERR("%s", err);
    fprintf(stderr, "%s\n", err);
    osq_config_free(cfg);
    rc = OSQ_EXIT_CATASTROPHIC;
    goto out;
  }
  if (!osq_flag_bool("disable_distributed")) {
    const char *dp = osq_flag_str("distributed_plugin");
    if (!osq_registry_exists(OSQ_REGISTRY_DISTRIBUTED, dp) &&
        !wait_plugin("distributed", dp, ext_deadline(), NULL))
      OSQ_ERR("Cannot activate %s distributed plugin: Unknown registry "
              "plugin: %s",
              dp, dp);
    else
      osq_registry_set_active(OSQ_REGISTRY_DISTRIBUTED, dp);
  }

  w.sched = osq_sched_new(w.store, err, sizeof err);
  if (w.sched == NULL) {
    OSQ_ERR("Cannot start the scheduler: %s", err);
    osq_config_free(cfg);
    rc = OSQ_EXIT_CATASTROPHIC;
    goto out;
  }
  osq_sched_recover(w.sched, under_watcher);
  if (cfg) {
    osq_info_set_config(cfg->hash, true);
    osq_sched_set_config(w.sched, cfg);
  }
  OSQ_INFO("osqd started [version=%s]", OSQ_VERSION);
  atomic_store(&sc.sched, w.sched);
  rc = loop(&w, &sc);
  flush_status(&w);

out:
  if (sc.running) {
    atomic_store(&sc.sched, NULL);
    pthread_kill(sc.thread, SIGUSR2);
    pthread_join(sc.thread, NULL);
    sc.running = false;
    close(sc.pipe[0]);
    close(sc.pipe[1]);
  }
  stop_extensions(&w);
  osq_sched_free(w.sched);
  osq_loggers_shutdown();
  osq_store_close(w.store);
  osq_pidfile_release(w.pidfd);
  return rc;
}
