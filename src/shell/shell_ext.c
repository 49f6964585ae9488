/* Extensions in the shell: the extension manager on the shell's socket,
 * --extension and autoloaded extensions. main() calls these after flags
 * and tables are set up and before any SQL runs, and at exit. */
#include "shell.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/flags.h"
#include "core/log.h"
#include "settings/ext_settings.h"
#include "ext/loader/loader.h"
#include "ext/manager/manager.h"
#include "core/clock.h"

static osq_manager *manager;
static osq_loader *loader;
static osq_ext_settings settings;

static osq_manager *start_manager(void) {
  const char *path = OSQ_FLAG_STR(extensions_socket);
  char err[1024] = "";
  osq_ext_settings_from_flags(&settings);
  osq_manager *m = osq_manager_start(path, &settings, err, sizeof err);
  /* Like osqueryi: when the default shell socket is served by another
   * shell, use the same name with a random number appended (no dot). */
  if (m == NULL && !OSQ_FLAG_WAS_SET(extensions_socket) &&
      strstr(err, "Another extension manager") != NULL) {
    unsigned seed = (unsigned)getpid() ^ (unsigned)time(NULL);
    for (int i = 0; i < 8 && m == NULL; i++) {
      char alt[4200], e2[256];
      snprintf(alt, sizeof alt, "%s%u", path, rand_r(&seed) % 65536);
      if (OSQ_FLAG_SET(extensions_socket, alt, e2, sizeof e2) != 0)
        break;
      m = osq_manager_start(alt, &settings, err, sizeof err);
    }
  }
  if (m == NULL)
    OSQ_ERR("An error occurred during extension manager startup: %s", err);
  return m;
}

static void on_extension_exit(pid_t pid, const char *path, void *udata) {
  (void)path;
  osq_manager_remove_pid(udata, pid); /* its routes go with it */
}

static void on_extension_hung(pid_t pid, const char *why, void *udata) {
  osq_loader_restart_pid(udata, pid, why); /* killed, then restarted */
}

/* --extension, the autoload file and --extensions_require, all under one
 * deadline of --extensions_timeout seconds (osquery: atoi, >= 200 ms), so
 * a one-shot query finds the extension's tables. Returns an exit code. */
static int load_extensions(void) {
  int64_t wait_ms = (int64_t)atoi(OSQ_FLAG_STR(extensions_timeout)) * 1000;
  int64_t deadline = osq_now_ms() + (wait_ms < 200 ? 200 : wait_ms);
  char err[1024];
  loader = osq_loader_new(osq_manager_socket(manager), &settings);
  if (loader == NULL)
    return 1;
  osq_loader_set_exit_hook(loader, on_extension_exit, manager);
  osq_manager_set_unhealthy_hook(manager, on_extension_hung, loader);
  if (osq_loader_read_autoload(loader, OSQ_FLAG_STR(extensions_autoload),
                               err, sizeof err) < 0)
    OSQ_WARN("%s", err);
  const char *one = OSQ_FLAG_STR(extension);
  if (one[0] && osq_loader_add_path(loader, one, false, err, sizeof err)) {
    OSQ_ERR("%s", err);
    return 1;
  }
  osq_loader_start(loader);
  pid_t pids[OSQ_LOADER_MAX_EXTENSIONS];
  size_t n = osq_loader_pids(loader, pids, OSQ_LOADER_MAX_EXTENSIONS);
  for (size_t i = 0; i < n && i < OSQ_LOADER_MAX_EXTENSIONS; i++) {
    int64_t uuid = osq_manager_wait_pid(manager, pids[i], deadline);
    /* SDKs register first and listen second: wait for both. */
    if (uuid == 0 || !osq_loader_wait_ext_socket(osq_manager_socket(manager),
                                                 uuid, deadline)) {
      osq_ext_proc_info info;
      if (osq_loader_find_pid(pids[i], &info))
        OSQ_WARN("extension %s (pid %d) did not register within %s s",
                 info.path, (int)pids[i], OSQ_FLAG_STR(extensions_timeout));
    }
  }
  const char *req = OSQ_FLAG_STR(extensions_require);
  if (req[0]) {
    char *copy = strdup(req), *save = NULL;
    const char *names[64];
    size_t k = 0;
    for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t && k < 64;
         t = strtok_r(NULL, ",", &save)) {
      while (*t == ' ')
        t++;
      if (*t)
        names[k++] = t;
    }
    int rc = osq_manager_wait_names(manager, names, k, deadline, err,
                                    sizeof err);
    free(copy);
    if (rc != 0) {
      OSQ_ERR("Required extension not found or not loaded: %s", err);
      return 1;
    }
  }
  return 0;
}

/* The socket's mode and group are asked for explicitly: a shell whose
 * socket cannot have them must not run without its manager. */
static bool socket_access_asked(void) {
  return OSQ_FLAG_WAS_SET(extensions_socket_mode) ||
         OSQ_FLAG_WAS_SET(extensions_socket_group);
}

int shell_extensions_start(void) {
  char err[512];
  osq_ext_settings set;
  osq_ext_settings_from_flags(&set);
  /* a bad value is an error even where no manager is started */
  if (osq_manager_check_socket_settings(&set, err, sizeof err) != 0) {
    fprintf(stderr, "Error: %s\n", err);
    return 1;
  }
  if (OSQ_FLAG_BOOL(disable_extensions))
    return 0;
  manager = start_manager();
  if (manager == NULL)
    return socket_access_asked() ? 1 : 0;
  return load_extensions();
}

void shell_extensions_stop(void) {
  if (manager) /* the loader goes first; its hook must not outlive it */
    osq_manager_set_unhealthy_hook(manager, NULL, NULL);
  if (loader) { /* before the manager its exit hook calls */
    osq_loader_stop(loader);
    osq_loader_free(loader);
    loader = NULL;
  }
  if (manager) {
    osq_manager_stop(manager);
    manager = NULL;
  }
}
