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
#include "ext/manager.h"

static osq_manager *manager;

static osq_manager *start_manager(void) {
  const char *path = osq_flag_str("extensions_socket");
  char err[1024] = "";
  osq_manager *m = osq_manager_start(path, err, sizeof err);
  /* Like osqueryi: when the default shell socket is served by another
   * shell, use the same name with a random number appended (no dot). */
  if (m == NULL && !osq_flag_was_set("extensions_socket") &&
      strstr(err, "Another extension manager") != NULL) {
    unsigned seed = (unsigned)getpid() ^ (unsigned)time(NULL);
    for (int i = 0; i < 8 && m == NULL; i++) {
      char alt[4200], e2[256];
      snprintf(alt, sizeof alt, "%s%u", path, rand_r(&seed) % 65536);
      if (osq_flag_set("extensions_socket", alt, e2, sizeof e2) != 0)
        break;
      m = osq_manager_start(alt, err, sizeof err);
    }
  }
  if (m == NULL)
    OSQ_ERR("An error occurred during extension manager startup: %s", err);
  return m;
}

int shell_extensions_start(int one_shot) {
  (void)one_shot;
  if (osq_flag_bool("disable_extensions"))
    return 0;
  manager = start_manager();
  return 0;
}

void shell_extensions_stop(void) {
  if (manager) {
    osq_manager_stop(manager);
    manager = NULL;
  }
}
