#include "daemon/outbox.h"

#include "core/log.h"
#include "logger/logger.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LOGGERS 16

/* How many lines wait over all loggers: -1 unknown (read from the store
 * on first use, so a restart picks up what an earlier run left). */
static int64_t waiting = -1;
static const osq_store *counted; /* the store waiting was read from */
static bool full_said;

static int64_t waiting_total(osq_store *s) {
  if (counted != s) {
    counted = s;
    waiting = -1;
  }
  if (waiting < 0)
    waiting = osq_store_lines_waiting(s, NULL);
  return waiting;
}

static const char *kind_name(osq_log_kind kind) {
  return kind == OSQ_LOG_SNAPSHOT ? "snapshot" : "result";
}

/* Queue line for logger; first_failure: say once that it started to
 * fail. */
static int hold(osq_store *s, const char *logger, osq_log_kind kind,
                const char *line, size_t len, int code, bool first_failure) {
  if (first_failure)
    OSQ_ERR("Logger plugin %s did not take a %s line (%s); its lines wait "
            "in the results store until it does",
            logger, kind_name(kind), osq_strerror(code));
  if (waiting_total(s) >= OSQ_OUTBOX_MAX_WAITING) {
    if (!full_said)
      OSQ_ERR("Logger plugin %s: %d lines already wait; the results that "
              "do not fit are logged again on a later run",
              logger, OSQ_OUTBOX_MAX_WAITING);
    full_said = true;
    return -1;
  }
  if (osq_store_line_wait(s, logger, kind, line, len) != 0)
    return -1;
  waiting++;
  return 0;
}

int osq_outbox_send(osq_store *s, osq_log_kind kind, const char *line,
                    size_t len) {
  char *names[MAX_LOGGERS];
  size_t n = osq_loggers_active(names, MAX_LOGGERS);
  int rc = 0;
  for (size_t i = 0; i < n; i++) {
    /* behind lines that already wait, to keep the logger's order */
    int64_t before =
        waiting_total(s) > 0 ? osq_store_lines_waiting(s, names[i]) : 0;
    if (before != 0) {
      if (before < 0 || hold(s, names[i], kind, line, len, OSQ_OK, false))
        rc = -1;
    } else {
      int code = osq_loggers_log_to(names[i], kind, line, len);
      if (code != OSQ_OK && hold(s, names[i], kind, line, len, code, true) != 0)
        rc = -1;
    }
    free(names[i]);
  }
  return rc;
}

static bool offer(int kind, const char *line, size_t len, void *udata) {
  const char *logger = udata;
  return osq_loggers_log_to(logger, (osq_log_kind)kind, line, len) == OSQ_OK;
}

int osq_outbox_retry(osq_store *s) {
  if (waiting_total(s) == 0)
    return 0;
  char **loggers = NULL;
  size_t n = osq_store_waiting_loggers(s, &loggers);
  int64_t sent = 0;
  int rc = 0;
  for (size_t i = 0; i < n; i++) {
    /* each logger's lines in its order, up to the first it refuses */
    int64_t k =
        rc == 0 ? osq_store_lines_offer(s, loggers[i], offer, loggers[i]) : 0;
    if (k < 0)
      rc = -1;
    else
      sent += k;
    free(loggers[i]);
  }
  free(loggers);
  int64_t before = waiting;
  waiting = osq_store_lines_waiting(s, NULL);
  if (waiting < OSQ_OUTBOX_MAX_WAITING)
    full_said = false;
  if (rc == 0 && waiting < 0)
    rc = -1;
  if (sent > 0)
    OSQ_INFO("Logged %lld waiting lines; %lld still wait", (long long)sent,
             (long long)(waiting < 0 ? before - sent : waiting));
  return rc;
}
