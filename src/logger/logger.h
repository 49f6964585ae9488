/* osqd's loggers: the built-in "filesystem", "stdout" and "syslog" logger
 * plugins, and the dispatch of result, snapshot and status lines to every
 * plugin named in --logger_plugin (built-in or served by an extension:
 * the registry hides which).
 *
 * Threads: register/setup/shutdown on the main thread; logging: any thread. */
#ifndef OSQ_LOGGER_H
#define OSQ_LOGGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <osq/plugin.h>

/* File names under --logger_path. osquery's names are kept so that log
 * pipelines that tail them keep working. */
#define OSQ_RESULTS_LOG "osqueryd.results.log"
#define OSQ_SNAPSHOTS_LOG "osqueryd.snapshots.log"
#define OSQ_STATUS_LOG "osqueryd.INFO"

extern const osq_logger_plugin osq_logger_filesystem;
extern const osq_logger_plugin osq_logger_stdout;
extern const osq_logger_plugin osq_logger_syslog;

/* Add the built-in loggers to the registry (owner 0). */
int osq_loggers_register_builtin(void);

/* Wait for a plugin served by an extension: called with the registry
 * ("logger"/"config"/"distributed"), the name and a deadline; true once
 * registered. NULL: do not wait. */
typedef bool (*osq_plugin_wait_fn)(const char *registry, const char *name,
                                   int64_t deadline_ms, void *udata);

/* Activate the comma list of logger plugins: every name must be
 * registered (waiting with wait until --extensions_timeout when given).
 * Sends each its init. 0, or -1 with osquery's message in err:
 * "Cannot activate NAME logger plugin: Unknown registry plugin: NAME". */
int osq_loggers_setup(const char *names, osq_plugin_wait_fn wait,
                      void *udata, char *err, size_t errlen);

/* A result ("string") or snapshot line to every active logger. 0 if all
 * took it, -1 if any failed (it is logged). */
int osq_loggers_log(osq_log_kind kind, const char *line, size_t len);

/* The active logger names (malloc'd; at most cap), in --logger_plugin
 * order. */
size_t osq_loggers_active(char **out, size_t cap);
/* A line to one logger, quietly: OSQ_OK or the plugin's (or the
 * registry's) error code. The caller decides what a failure means. */
int osq_loggers_log_to(const char *name, osq_log_kind kind, const char *line,
                       size_t len);

/* Start buffering status lines (osq_log_set_sink) until flushed. The
 * buffer is bounded; the oldest lines are dropped when it is full. */
void osq_loggers_capture_status(void);
/* Send buffered status lines to every active logger that wants them
 * (OSQ_LOGGER_FEATURE_STATUS), as osquery's JSON array. */
void osq_loggers_flush_status(const char *host_identifier);
/* Stop capturing and drop everything (shutdown, tests). */
void osq_loggers_shutdown(void);

/* For the filesystem logger: create logger_path and the results file. */
int osq_fslog_setup(char *err, size_t errlen);

#endif
