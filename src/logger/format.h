/* Result and status log lines in osquery's exact layouts
 * (docs/compat.md §3.3, §3.4, §3.6).
 *
 * Rows are jansson objects whose keys are already in alphabetical order
 * and whose values are typed: integers and reals as JSON numbers,
 * everything else as strings. The formatter turns numbers into strings
 * unless --logger_numerics is on.
 *
 * Thread-safe: any thread (pure functions). */
#ifndef OSQ_LOGGER_FORMAT_H
#define OSQ_LOGGER_FORMAT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/log.h"

typedef struct osq_log_meta {
  const char *name;      /* full scheduled name */
  const char *host;      /* hostIdentifier */
  int64_t unix_time;
  uint64_t epoch;
  uint64_t counter;
  bool numerics;         /* --logger_numerics */
  const json_t *decorations; /* object of strings, or NULL */
  bool decorations_top_level;
} osq_log_meta;

/* asctime(gmtime(t)) without the newline, plus " UTC". */
void osq_calendar_time(int64_t t, char out[64]);

/* osquery's escaping for differential results (compat.md §3.4): control bytes
 * and bytes that do not start a valid UTF-8 sequence become \xHH. Returns
 * a malloc'd NUL-terminated string (NULL on OOM). */
char *osq_log_escape(const char *s, size_t len, size_t *outlen);
/* Only invalid UTF-8 becomes \xHH (snapshots: JSON can carry the rest). */
char *osq_log_escape_invalid_utf8(const char *s, size_t len, size_t *outlen);

/* The typed double as osquery writes it in string form: 15 significant
 * digits, ".0" appended when there is no '.' (even after an exponent,
 * as osquery does). */
void osq_log_double_text(double d, char *buf, size_t cap);

/* Lines are malloc'd compact JSON without the trailing newline; NULL on
 * OOM. */
char *osq_log_event_line(const osq_log_meta *m, const json_t *row,
                         const char *action);
char *osq_log_batch_line(const osq_log_meta *m, const json_t *removed,
                         const json_t *added);
char *osq_log_snapshot_line(const osq_log_meta *m, const json_t *rows);

/* One element of the status array sent to logger plugins:
 * {"s":..,"f":..,"i":..,"m":..,"h":..,"c":..,"u":..}. */
json_t *osq_log_status_record(const osq_status_line *st, const char *host);
/* The glog-shaped text line (no newline) used in status files:
 * "I1126 15:27:30.123456  1234 file.c:12] message". usec and tid are
 * passed so tests can be exact. */
void osq_log_status_text(const osq_status_line *st, long usec, long tid,
                         char *buf, size_t cap);

#endif
