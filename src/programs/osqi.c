/* osqi: the shell's program. The shell itself is in src/shell/ so that
 * osqd -S can run it too; the daemon's introspection tables (empty without
 * a scheduler) are registered here, the one place that sees both. */
#include "daemon/scheduler.h"
#include "shell/entry.h"

int main(int argc, char **argv) {
  return osq_shell_main(argc, argv, osq_sched_register_tables);
}
