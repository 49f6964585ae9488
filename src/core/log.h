/* Status log: glog-shaped lines on stderr, and a sink through which osqd
 * forwards status lines to logger plugins (osquery-host.md §3.7). */
#ifndef OSQ_LOG_H
#define OSQ_LOG_H

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

/* Re-read verbose / logger_min_stderr / logger_stderr and the
 * personality (the shell shows WARNING and above unless verbose). */
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
