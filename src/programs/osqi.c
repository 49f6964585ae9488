/* osqi: the shell's program. The shell itself is in src/shell/ so that
 * osqd -S can run it too; the daemon's introspection tables (empty without
 * a scheduler) are registered here, the one place that sees both.
 *
 * As osqueryi, osqi can carve files (docs/shell.md, "Carving"): with
 * --disable_carver=false and a --tls_hostname it registers the fleet
 * client's carves table and carve() through the daemon's fleet hook, and
 * waits for the carves it started before exiting. */
#include "core/flags.h"
#include "daemon/fleet.h"
#include "daemon/scheduler.h"
#include "daemon/store.h"
#include "remote/carve.h"
#include "shell/entry.h"

#include <stdio.h>

/* The store the fleet client keeps its node key and carves' state in;
 * NULL while carving is off. */
static osq_store *fleet_store;

static bool wants_carver(void) {
  return !OSQ_FLAG_BOOL(disable_carver) && OSQ_FLAG_STR(tls_hostname)[0];
}

/* osqi does not share osqd's results store unless told to: an explicit
 * --database_path is used (the node key then survives), else memory. */
static int start_carver(void) {
  const char *path = OSQ_FLAG_IS_DEFAULT(database_path)
                         ? NULL
                         : OSQ_FLAG_STR(database_path);
  char err[512] = "";
  fleet_store = osq_store_open(path, err, sizeof err);
  if (fleet_store && osq_fleet_register(fleet_store, path, err,
                                        sizeof err) == 0)
    return 0;
  fprintf(stderr, "Error: cannot start the carver: %s\n", err);
  if (fleet_store) {
    osq_fleet_shutdown();
    osq_store_close(fleet_store);
    fleet_store = NULL;
  }
  return -1;
}

static int register_tables(void) {
  if (osq_sched_register_tables() != 0)
    return -1;
  return wants_carver() ? start_carver() : 0;
}

/* A one-shot `osqi "SELECT ... carve = 1 ..."` returns only after the
 * upload ended, as the carve would otherwise die with the process. */
static void finish_carves(void) {
  if (fleet_store == NULL)
    return;
  osq_carve_wait();
  osq_fleet_shutdown();
  osq_store_close(fleet_store);
  fleet_store = NULL;
}

int main(int argc, char **argv) {
  return osq_shell_main_with(argc, argv, register_tables, finish_carves);
}
