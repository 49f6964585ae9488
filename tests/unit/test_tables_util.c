/* The shared line reader of the built-in tables (osq_tbl_getline): every
 * table that reads /etc or /proc line by line relies on exactly these
 * results, so they are pinned here once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "tables/util.h"

typedef int (*reader)(FILE *, char *, size_t);

/* Read text with a cap-byte buffer; "results" gets one entry per call:
 * "=<line>" for a line, "-" for a dropped one, until end of file. */
static void read_all(reader rd, const char *text, size_t cap, char *results,
                     size_t rcap) {
  FILE *f = fmemopen((void *)text, strlen(text), "r");
  assert_non_null(f);
  char buf[64];
  assert_true(cap <= sizeof buf);
  results[0] = '\0';
  int got;
  while ((got = rd(f, buf, cap)) != 0) {
    size_t n = strlen(results);
    if (got > 0)
      snprintf(results + n, rcap - n, "=%s|", buf);
    else
      snprintf(results + n, rcap - n, "-|");
  }
  fclose(f);
}

static void test_lines_and_last_line(void **state) {
  (void)state;
  char r[256];
  read_all(osq_tbl_getline, "a b\n\nlast", 16, r, sizeof r);
  assert_string_equal(r, "=a b|=|=last|");
  read_all(osq_tbl_getline, "", 16, r, sizeof r);
  assert_string_equal(r, "");
}

static void test_overlong_line_dropped_whole(void **state) {
  (void)state;
  char r[256];
  /* cap 8 holds 7 bytes: a 7-byte line plus its '\n' does not fit */
  read_all(osq_tbl_getline, "short\n0123456789abcdef\nnext\n1234567\nok\n", 8,
           r, sizeof r);
  assert_string_equal(r, "=short|-|=next|-|=ok|");
  /* a last line without '\n' counts only if fgets met the end of file */
  read_all(osq_tbl_getline, "x\n0123456789", 8, r, sizeof r);
  assert_string_equal(r, "=x|-|");
  read_all(osq_tbl_getline, "x\n0123456", 8, r, sizeof r);
  assert_string_equal(r, "=x|-|");
  read_all(osq_tbl_getline, "x\n012345", 8, r, sizeof r);
  assert_string_equal(r, "=x|=012345|");
}

static void test_crlf(void **state) {
  (void)state;
  char r[256];
  /* only the crlf reader drops the '\r', and only before a '\n' */
  read_all(osq_tbl_getline, "a\r\nb\r", 16, r, sizeof r);
  assert_string_equal(r, "=a\r|=b\r|");
  read_all(osq_tbl_getline_crlf, "a\r\n\r\nb\r", 16, r, sizeof r);
  assert_string_equal(r, "=a|=|=b\r|");
  read_all(osq_tbl_getline_crlf, "0123456789\r\nok\r\n", 8, r, sizeof r);
  assert_string_equal(r, "-|=ok|");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lines_and_last_line),
      cmocka_unit_test(test_overlong_line_dropped_whole),
      cmocka_unit_test(test_crlf),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
