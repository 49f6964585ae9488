/* osqd's two roles (docs/compat.md §4.1): the worker runs the config,
 * scheduler, loggers and extension manager; the watcher forks the worker
 * (same binary, env OSQUERY_WORKER), supervises it and the autoloaded
 * extensions, and respawns with back-off. --disable_watchdog runs the
 * worker alone.
 *
 * Threads: called from osqd's main thread only. */
#ifndef OSQ_DAEMON_H
#define OSQ_DAEMON_H

#include <stdbool.h>

#define OSQ_EXIT_CATASTROPHIC 78
#define OSQ_WORKER_ENV "OSQUERY_WORKER"
#define OSQ_EXTENSIONS_ENV "OSQUERY_EXTENSIONS"

/* Run the worker until stopped; returns the exit code. under_watcher:
 * started by a watcher (which holds the pidfile and the extensions). */
int osq_worker_run(bool under_watcher);

/* Run the watcher; argv is the original command line for the worker's
 * exec; worker_db: the worker keeps its results store in a file (the
 * watcher reads the query a killed worker was running from it). Returns
 * the exit code. */
int osq_watcher_run(char **argv, bool worker_db);

#endif
