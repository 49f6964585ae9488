/* The calling thread's error message: osq_error() sets it, osq_last_error()
 * and the core's callers of plugin callbacks read it. A mark taken before
 * a call ties the message to that call, so one left over from an earlier
 * call on the thread is never reported for a later one. */
#include "plugin_impl.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char message[512];
static _Thread_local uint64_t epoch = 1;  /* bumped by osq_error_mark */
static _Thread_local uint64_t set_in;     /* epoch of message; 0: none */

int osq_api_version(void) { return OSQ_API_VERSION; }

void osq_error(const char *fmt, ...) {
  if (set_in == epoch)
    return; /* the first message of a call wins */
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  set_in = epoch;
}

const char *osq_last_error(void) { return set_in ? message : ""; }

uint64_t osq_error_mark(void) { return ++epoch; }

const char *osq_error_since(uint64_t mark) {
  return set_in != 0 && set_in >= mark ? message : NULL;
}

const char *osq_error_reason(const char *own, uint64_t mark,
                             const char *fallback) {
  if (own != NULL && *own != '\0')
    return own;
  const char *said = osq_error_since(mark);
  return said != NULL ? said : fallback;
}
