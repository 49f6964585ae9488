/* The shared helpers of src/core: integer parsing, array growth, the /proc
 * walk and the clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/grow.h"
#include "core/parse.h"
#include "core/proc.h"
#include "core/utf8.h"

static int parse(const char *s, int base, bool whole, int64_t *v) {
  return osq_parse_i64(s, strlen(s), base, whole, v);
}

static void test_parse_whole_decimal(void **state) {
  (void)state;
  int64_t v = 7;
  assert_int_equal(parse("42", 10, true, &v), OSQ_OK);
  assert_int_equal(v, 42);
  assert_int_equal(parse("  -9223372036854775808", 10, true, &v), OSQ_OK);
  assert_true(v == INT64_MIN);
  assert_int_equal(parse("9223372036854775807", 10, true, &v), OSQ_OK);
  assert_true(v == INT64_MAX);
  v = 7;
  assert_int_equal(parse("9223372036854775808", 10, true, &v), OSQ_ERANGE);
  assert_int_equal(parse("-9223372036854775809", 10, true, &v), OSQ_ERANGE);
  assert_int_equal(parse("12x", 10, true, &v), OSQ_EINVAL);
  assert_int_equal(parse("", 10, true, &v), OSQ_EINVAL);
  assert_int_equal(parse("-", 10, true, &v), OSQ_EINVAL);
  assert_int_equal(v, 7); /* unchanged on failure */
  /* the length bounds the text: no NUL needed */
  assert_int_equal(osq_parse_i64("123456", 3, 10, true, &v), OSQ_OK);
  assert_int_equal(v, 123);
  assert_true(osq_parse_i64_str("-5", &v) && v == -5);
  assert_false(osq_parse_i64_str(NULL, &v));
  assert_false(osq_parse_i64_str("", &v));
}

static void test_parse_prefix_like_stoll(void **state) {
  (void)state;
  int64_t v = 0;
  assert_int_equal(parse("0x1F junk", 0, false, &v), OSQ_OK);
  assert_int_equal(v, 31);
  assert_int_equal(parse("010", 0, false, &v), OSQ_OK);
  assert_int_equal(v, 8);
  assert_int_equal(parse("0x", 0, false, &v), OSQ_OK); /* "0", then x */
  assert_int_equal(v, 0);
  assert_int_equal(parse("0x", 0, true, &v), OSQ_EINVAL);
  assert_int_equal(parse(" 12abc", 10, false, &v), OSQ_OK);
  assert_int_equal(v, 12);
  assert_int_equal(parse("abc", 0, false, &v), OSQ_EINVAL);
}

static void test_grow_doubles_within_bound(void **state) {
  (void)state;
  int *a = NULL;
  size_t cap = 0;
  assert_int_equal(osq_grow(&a, &cap, 0, sizeof *a, 8, 0), OSQ_OK);
  assert_null(a); /* nothing needed, nothing allocated */
  assert_int_equal(osq_grow(&a, &cap, 3, sizeof *a, 8, 0), OSQ_OK);
  assert_non_null(a);
  assert_int_equal(cap, 8);
  a[7] = 1;
  assert_int_equal(osq_grow(&a, &cap, 9, sizeof *a, 8, 0), OSQ_OK);
  assert_int_equal(cap, 16);
  assert_int_equal(a[7], 1);
  assert_int_equal(osq_grow(&a, &cap, 17, sizeof *a, 8, 20), OSQ_OK);
  assert_int_equal(cap, 20); /* clamped to the bound */
  int *before = a;
  assert_int_equal(osq_grow(&a, &cap, 21, sizeof *a, 8, 20), OSQ_ERANGE);
  assert_ptr_equal(a, before);
  assert_int_equal(cap, 20);
  assert_int_equal(osq_grow(&a, &cap, SIZE_MAX / 2, sizeof *a, 8, 0),
                   OSQ_ERANGE);
  free(a);
}

static void test_proc_walk_finds_this_process(void **state) {
  (void)state;
  int procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true(procfd >= 0);
  osq_proc_walk w;
  assert_int_equal(osq_proc_walk_open(&w, procfd), OSQ_OK);
  int64_t pid;
  bool found = false;
  size_t n = 0;
  while (osq_proc_walk_next(&w, &pid)) {
    assert_true(pid > 0);
    found |= pid == (int64_t)getpid();
    n++;
  }
  osq_proc_walk_close(&w);
  assert_true(found);
  assert_true(n >= 1);
  /* procfd is still open and usable */
  assert_true(fcntl(procfd, F_GETFD) >= 0);
  close(procfd);
  assert_int_equal(osq_proc_walk_open(&w, -1), OSQ_EIO);
}

static void test_utf8_sequences(void **state) {
  (void)state;
  const unsigned char nul[] = {0}, e_acute[] = {0xC3, 0xA9},
                      euro[] = {0xE2, 0x82, 0xAC},
                      g_clef[] = {0xF0, 0x9D, 0x84, 0x9E},
                      overlong[] = {0xC0, 0xAF},
                      surrogate[] = {0xED, 0xA0, 0x80},
                      past_max[] = {0xF4, 0x90, 0x80, 0x80},
                      lone_cont[] = {0x80};
  assert_int_equal(osq_utf8_seq((const unsigned char *)"a", 1), 1);
  assert_int_equal(osq_utf8_seq(nul, 1), 1);
  assert_int_equal(osq_utf8_seq(e_acute, 2), 2);
  assert_int_equal(osq_utf8_seq(euro, 3), 3);
  assert_int_equal(osq_utf8_seq(g_clef, 4), 4);
  assert_int_equal(osq_utf8_seq(euro, 2), 0); /* cut short */
  assert_int_equal(osq_utf8_seq(overlong, 2), 0);
  assert_int_equal(osq_utf8_seq(surrogate, 3), 0);
  assert_int_equal(osq_utf8_seq(past_max, 4), 0);
  assert_int_equal(osq_utf8_seq(lone_cont, 1), 0);
  assert_true(osq_utf8_valid("caf\xC3\xA9", 5));
  assert_false(osq_utf8_valid("caf\xC3", 4));
  assert_true(osq_utf8_valid("", 0));
}

static void test_clock_is_monotonic(void **state) {
  (void)state;
  int64_t a = osq_now_ms();
  usleep(2000);
  assert_true(osq_now_ms() >= a + 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_whole_decimal),
      cmocka_unit_test(test_parse_prefix_like_stoll),
      cmocka_unit_test(test_grow_doubles_within_bound),
      cmocka_unit_test(test_proc_walk_finds_this_process),
      cmocka_unit_test(test_clock_is_monotonic),
      cmocka_unit_test(test_utf8_sequences),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
