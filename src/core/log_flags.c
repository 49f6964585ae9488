/* Binds the status log to the flags: the one place that turns --verbose,
 * --logger_stderr and --logger_min_stderr into osq_log_settings, so log.c
 * itself takes its settings as a parameter. */
#include "flags.h"
#include "log.h"

void osq_log_configure(void) {
  osq_log_settings s = {.verbose = OSQ_FLAG_BOOL(verbose)};
  if (!OSQ_FLAG_BOOL(logger_stderr))
    s.stderr_min = OSQ_SEV_FATAL + 1;
  else if (osq_flags_personality() != OSQ_PERSONALITY_DAEMON &&
           !OSQ_FLAG_WAS_SET(logger_min_stderr))
    /* The shell's terminal is shared with the extensions it launches:
     * INFO lines from either would interleave with query output. */
    s.stderr_min = OSQ_SEV_WARNING;
  else
    s.stderr_min = (int)OSQ_FLAG_INT(logger_min_stderr);
  osq_log_apply(&s);
}
