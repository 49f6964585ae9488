/* osqd: the daemon. Flags first (default flagfile /etc/osq/osq.flags, or
 * /etc/osquery/osquery.flags when run as osqueryd: core/identity.h), then
 * either the watcher (which re-executes this binary as the worker) or,
 * with --disable_watchdog or inside a worker, the worker itself; with -S
 * the shell. */
#include "core/flags.h"
#include "core/identity.h"
#include "core/log.h"
#include "daemon/daemon.h"
#include "daemon/scheduler.h"
#include "daemon/state_dirs.h"
#include "shell/entry.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* -S (or --S, --S=true) on the command line: run the shell instead, as
 * osqueryd -S does. Looked for before any flag is parsed, because the
 * shell parses the flags itself, with the shell's defaults. */
static bool shell_requested(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0)
      break;
    if (a[0] != '-')
      continue;
    a += a[1] == '-' ? 2 : 1;
    if (strcmp(a, "S") == 0 || strcmp(a, "S=true") == 0 ||
        strcmp(a, "S=1") == 0)
      return true;
  }
  return false;
}

int main(int argc, char **argv) {
  if (shell_requested(argc, argv))
    return osq_shell_main(argc, argv, osq_sched_register_tables);
  signal(SIGPIPE, SIG_IGN);
  /* the worker is executed with the very same command line */
  char **orig = calloc((size_t)argc + 1, sizeof *orig);
  if (orig == NULL)
    return 1;
  for (int i = 0; i < argc; i++)
    orig[i] = argv[i];

  osq_flags_init(OSQ_PERSONALITY_DAEMON);
  osq_identity_init(argv[0]);
  int rc = osq_flags_parse(&argc, argv, osq_identity_daemon_flagfile(), stdout,
                           stderr);
  if (rc >= 0) {
    free(orig);
    osq_flags_shutdown();
    return rc;
  }
  if (argc > 1) {
    fprintf(stderr, "osqd: unexpected argument '%s' (osqd takes only flags)\n",
            argv[1]);
    free(orig);
    return 1;
  }
  osq_log_configure();

  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 1024 &&
      rl.rlim_max >= 1024) {
    rl.rlim_cur = 1024;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  bool is_worker = getenv(OSQ_WORKER_ENV) != NULL;
  char e[256];
  bool one_off = OSQ_FLAG_BOOL(config_check) ||
                 OSQ_FLAG_BOOL(config_dump) || OSQ_FLAG_BOOL(database_dump);
  if (one_off)
    OSQ_FLAG_SET(disable_watchdog, "true", e, sizeof e);
  if (!is_worker && !one_off) {
    char err[1024];
    if (osq_state_dirs_make(err, sizeof err) != 0) {
      fprintf(stderr, "%s: %s\n", osq_identity_daemon_name(), err);
      free(orig);
      return 1;
    }
  }

  if (!is_worker && OSQ_FLAG_BOOL(daemonize) && daemon(0, 0) != 0) {
    fprintf(stderr, "osqd: cannot daemonize: %s\n", strerror(errno));
    free(orig);
    return 1;
  }
  if (!is_worker && !OSQ_FLAG_BOOL(disable_watchdog)) {
    bool worker_db = !OSQ_FLAG_BOOL(ephemeral) &&
                     !OSQ_FLAG_BOOL(disable_database);
    OSQ_FLAG_SET(disable_database, "true", e, sizeof e);
    OSQ_FLAG_SET(disable_logging, "true", e, sizeof e);
    rc = osq_watcher_run(orig, worker_db);
  } else {
    /* a worker's own children are not workers */
    unsetenv(OSQ_WORKER_ENV);
    rc = osq_worker_run(is_worker && !OSQ_FLAG_BOOL(disable_watchdog));
  }
  free(orig);
  osq_flags_shutdown();
  return rc;
}
