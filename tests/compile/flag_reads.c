/* Compiled (not run) by the compile.flag_reads_* tests: a typed flag read
 * of a declared flag compiles; one of an undeclared flag, or of a flag as
 * another type, must not. Exactly one CASE_* is defined per test. */
#include "core/flags.h"

int read_flag(void);

int read_flag(void) {
#if defined(CASE_valid)
  return OSQ_FLAG_BOOL(verbose) && OSQ_FLAG_STR(logger_path)[0] &&
         OSQ_FLAG_UINT(read_max) && OSQ_FLAG_INT(watchdog_level) >= 0;
#elif defined(CASE_undeclared)
  return OSQ_FLAG_BOOL(no_such_flag);
#elif defined(CASE_wrong_type)
  return OSQ_FLAG_STR(verbose)[0];
#else
#error "define one CASE_*"
#endif
}
