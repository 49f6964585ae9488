/* --malloc_trim_threshold: which threshold applies and when the worker
 * trims. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "core/flags.h"
#include "daemon/memtrim.h"

static void parse(int argc, char **argv) {
  osq_flags_init(OSQ_PERSONALITY_DAEMON);
  assert_int_equal(osq_flags_parse(&argc, argv, NULL, stdout, stderr),
                   OSQ_FLAGS_CONTINUE);
}

static void test_threshold_rules(void **state) {
  (void)state;
  assert_int_equal(osq_trim_threshold_mb(true, 50, true, 200), 50);
  assert_int_equal(osq_trim_threshold_mb(true, 0, true, 200), 0);
  assert_int_equal(osq_trim_threshold_mb(false, 200, true, 200), 160);
  assert_int_equal(osq_trim_threshold_mb(false, 200, true, 1000), 800);
  assert_int_equal(osq_trim_threshold_mb(false, 200, false, 1000), 200);
}

static void test_due(void **state) {
  (void)state;
  assert_false(osq_trim_due(200000000, 200)); /* at, not past */
  assert_true(osq_trim_due(201000000, 200));
  assert_false(osq_trim_due(UINT64_MAX, 0)); /* 0: never */
}

static void test_from_flags(void **state) {
  (void)state;
  char *dflt[] = {"osqd", NULL};
  parse(1, dflt);
  assert_int_equal(osq_watchdog_memory_mb(), 200);
  assert_false(osq_release_retained_memory(150000000));
  assert_true(osq_release_retained_memory(170000000)); /* 80% of 200 */
  char *off[] = {"osqd", "--disable_watchdog", NULL};
  parse(2, off);
  assert_false(osq_release_retained_memory(170000000));
  char *lim[] = {"osqd", "--watchdog_level=1", NULL};
  parse(2, lim);
  assert_int_equal(osq_watchdog_memory_mb(), 100);
  assert_true(osq_release_retained_memory(81000000));
  char *set[] = {"osqd", "--malloc_trim_threshold=2", NULL};
  parse(2, set);
  assert_true(osq_release_retained_memory(3000000));
  assert_false(osq_release_retained_memory(2000000));
  char *never[] = {"osqd", "--malloc_trim_threshold=0", NULL};
  parse(2, never);
  assert_false(osq_release_retained_memory(UINT64_MAX));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_threshold_rules),
      cmocka_unit_test(test_due),
      cmocka_unit_test(test_from_flags),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
