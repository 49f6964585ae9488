/* Status log: glog-shaped lines on stderr, and a sink through which osqd
 * forwards status lines to logger plugins (docs/compat.md §3.6).
 *
 * Thread-safe: any thread (not from a signal handler). */
#ifndef OSQ_LOG_H
#define OSQ_LOG_H

#include <stdbool.h>
#include <stdint.h>

typedef enum osq_severity {
  OSQ_SEV_INFO = 0,
  OSQ_SEV_WARNING = 1,
  OSQ_SEV_ERROR = 2,
  OSQ_SEV_FATAL = 3,
} osq_severity;

typedef struct osq_status_line {
  osq_severity severity;
  const char *file; /* basename */
  int line;
  const char *message;
  int64_t unix_time;
  long usec; /* microseconds within unix_time, for glog-shaped lines */
} osq_status_line;

typedef void (*osq_log_sink)(const osq_status_line *st, void *udata);

typedef struct osq_log_settings {
  bool verbose;   /* VLOG lines on, and every kept severity on stderr */
  int min_level;  /* lower severities are dropped everywhere (glog's
                     minloglevel); FATAL + 1 drops all but FATAL */
  int stderr_min; /* lowest severity written to stderr (FATAL + 1: none) */
} osq_log_settings;

/* Set what the status log writes; callable at any time. */
void osq_log_apply(const osq_log_settings *settings);
/* osq_log_apply with the settings the flags give (--verbose,
 * --logger_min_status, --logger_stderr, --logger_min_stderr,
 * --alsologtostderr and the personality: the shell keeps WARNING and
 * above unless verbose). Defined in log_flags.c. */
void osq_log_configure(void);
void osq_log_set_sink(osq_log_sink sink, void *udata);
void osq_log_at(osq_severity sev, const char *file, int line, const char *fmt,
                ...) __attribute__((format(printf, 4, 5)));
/* True when --verbose is on (VLOG). */
int osq_log_verbose(void);

#define OSQ_INFO(...) osq_log_at(OSQ_SEV_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define OSQ_WARN(...)                                                          \
  osq_log_at(OSQ_SEV_WARNING, __FILE__, __LINE__, __VA_ARGS__)
#define OSQ_ERR(...) osq_log_at(OSQ_SEV_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define OSQ_VLOG(...)                                                          \
  do {                                                                         \
    if (osq_log_verbose())                                                     \
      osq_log_at(OSQ_SEV_INFO, __FILE__, __LINE__, __VA_ARGS__);               \
  } while (0)

#endif
