/* Binds the status log to the flags: the one place that turns --verbose,
 * --logger_min_status, --logger_stderr, --logger_min_stderr and
 * --alsologtostderr into osq_log_settings, so log.c itself takes its
 * settings as a parameter. osquery sets glog's --minloglevel and
 * --stderrthreshold from --logger_min_status and --logger_min_stderr at
 * start, so those two glog names never count on their own (docs/compat.md). */
#include "flags.h"
#include "log.h"

void osq_log_configure(void) {
  osq_personality who = osq_flags_personality();
  osq_log_settings s = {.verbose = OSQ_FLAG_BOOL(verbose)};
  /* The shell's terminal is shared with the extensions it launches:
   * INFO lines from either would interleave with query output. */
  if (who == OSQ_PERSONALITY_SHELL && !OSQ_FLAG_WAS_SET(logger_min_status))
    s.min_level = OSQ_SEV_WARNING;
  else
    s.min_level = (int)OSQ_FLAG_INT(logger_min_status);
  if (!OSQ_FLAG_BOOL(logger_stderr))
    s.stderr_min = OSQ_SEV_FATAL + 1;
  else if (OSQ_FLAG_BOOL(alsologtostderr))
    s.stderr_min = OSQ_SEV_INFO; /* every line kept goes to stderr too */
  else if (who != OSQ_PERSONALITY_DAEMON &&
           !OSQ_FLAG_WAS_SET(logger_min_stderr))
    s.stderr_min = OSQ_SEV_WARNING;
  else
    s.stderr_min = (int)OSQ_FLAG_INT(logger_min_stderr);
  osq_log_apply(&s);
}
