/* osqi's output modes, byte for byte, without SQLite. The formatter is
 * part of the osqi program, so it is compiled in here directly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "shell/output.c"

struct cap {
  char *buf;
  size_t len;
  FILE *f;
  shell_out o;
};

static void cap_open(struct cap *c) {
  c->buf = NULL;
  c->len = 0;
  c->f = open_memstream(&c->buf, &c->len);
  assert_non_null(c->f);
  shell_out_init(&c->o, c->f);
}

static const char *cap_text(struct cap *c) {
  fflush(c->f);
  return c->buf;
}

static void cap_close(struct cap *c) {
  shell_out_free(&c->o);
  fclose(c->f);
  free(c->buf);
}

/* Run one statement of rows (NULL cells as NULL) through a unit. */
static void feed(struct cap *c, size_t ncol, const char *const *names,
                 size_t nrows, const char *const *cells) {
  shell_out_unit_begin(&c->o);
  assert_int_equal(shell_out_columns(&c->o, ncol, names), 0);
  size_t lens[16];
  for (size_t r = 0; r < nrows; r++) {
    const char *const *row = cells + r * ncol;
    for (size_t i = 0; i < ncol; i++)
      lens[i] = row[i] ? strlen(row[i]) : 0;
    assert_int_equal(shell_out_row(&c->o, row, lens), 0);
  }
  shell_out_stmt_end(&c->o);
  shell_out_unit_end(&c->o);
}

static const char *const NAMES[] = {"a", "bb"};
static const char *const ROWS[] = {"1", "x", "22", NULL};

static void test_pretty(void **state) {
  (void)state;
  struct cap c;
  cap_open(&c);
  strcpy(c.o.nullvalue, "-");
  feed(&c, 2, NAMES, 2, ROWS);
  assert_string_equal(cap_text(&c), "+----+----+\n"
                                    "| a  | bb |\n"
                                    "+----+----+\n"
                                    "| 1  | x  |\n"
                                    "| 22 | -  |\n"
                                    "+----+----+\n");
  cap_close(&c);
}

static void test_pretty_empty_and_utf8(void **state) {
  (void)state;
  struct cap c;
  cap_open(&c);
  feed(&c, 2, NAMES, 0, ROWS);
  assert_int_equal(c.len, 0);
  static const char *const n[] = {"\xc3\xa9"};
  static const char *const r[] = {"\xe2\x82\xac\xe2\x82\xac"};
  feed(&c, 1, n, 1, r);
  assert_string_equal(cap_text(&c), "+----+\n"
                                    "| \xc3\xa9  |\n"
                                    "+----+\n"
                                    "| \xe2\x82\xac\xe2\x82\xac |\n"
                                    "+----+\n");
  cap_close(&c);
}

static void test_pretty_duplicate_names(void **state) {
  (void)state;
  struct cap c;
  cap_open(&c);
  static const char *const n[] = {"a", "a"};
  static const char *const r[] = {"1", "333"};
  feed(&c, 2, n, 1, r);
  /* osquery keys a row by name: the last value shows in both places */
  assert_string_equal(cap_text(&c), "+-----+-----+\n"
                                    "| a   | a   |\n"
                                    "+-----+-----+\n"
                                    "| 333 | 333 |\n"
                                    "+-----+-----+\n");
  cap_close(&c);
}

static void test_line_list_csv(void **state) {
  (void)state;
  struct cap c;
  cap_open(&c);
  c.o.mode = SHELL_MODE_LINE;
  feed(&c, 2, NAMES, 2, ROWS);
  assert_string_equal(cap_text(&c),
                      "    a = 1\n   bb = x\n\n    a = 22\n   bb = \n");
  cap_close(&c);

  cap_open(&c);
  c.o.mode = SHELL_MODE_LIST;
  feed(&c, 2, NAMES, 2, ROWS);
  c.o.header = false;
  feed(&c, 2, NAMES, 1, ROWS);
  assert_string_equal(cap_text(&c), "a|bb\n1|x\n22|\n1|x\n");
  cap_close(&c);

  cap_open(&c);
  c.o.mode = SHELL_MODE_CSV;
  strcpy(c.o.separator, ",");
  static const char *const r[] = {"a b", "x,y", "q\"q", NULL};
  feed(&c, 2, NAMES, 2, r);
  assert_string_equal(cap_text(&c), "a,bb\n\"a b\",\"x,y\"\n\"q\"\"q\",\n");
  cap_close(&c);
}

static void test_csv_field_rules(void **state) {
  (void)state;
  char *b = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&b, &n);
  shell_csv_field(f, "plain", 5, ",");
  fputc(' ', f);
  shell_csv_field(f, "it's", 4, ",");
  fputc(' ', f);
  shell_csv_field(f, "\x7f", 1, ",");
  fputc(' ', f);
  shell_csv_field(f, "a::b", 4, "::");
  fputc(' ', f);
  shell_csv_field(f, "a:b", 3, "::");
  fclose(f);
  assert_string_equal(b, "plain \"it's\" \"\x7f\" \"a::b\" a:b");
  free(b);
}

static void test_json(void **state) {
  (void)state;
  struct cap c;
  cap_open(&c);
  c.o.json = SHELL_JSON_COMPACT;
  static const char *const n[] = {"z", "a"};
  static const char *const r[] = {"1", "x\ty", NULL, "\x01"};
  feed(&c, 2, n, 2, r);
  assert_string_equal(cap_text(&c), "[\n  {\"a\":\"x\\ty\",\"z\":\"1\"},\n"
                                    "  {\"a\":\"\\u0001\",\"z\":\"\"}\n]\n");
  cap_close(&c);

  cap_open(&c);
  c.o.json = SHELL_JSON_COMPACT;
  feed(&c, 2, n, 0, r);
  assert_string_equal(cap_text(&c), "[\n\n]\n");
  cap_close(&c);

  cap_open(&c);
  c.o.json = SHELL_JSON_PRETTY;
  feed(&c, 2, n, 1, r);
  feed(&c, 2, n, 0, r);
  assert_string_equal(cap_text(&c), "[\n  {\n    \"a\": \"x\\ty\",\n"
                                    "    \"z\": \"1\"\n  }\n]\n[]\n");
  cap_close(&c);

  /* json applies only while the mode is pretty */
  cap_open(&c);
  c.o.json = SHELL_JSON_COMPACT;
  c.o.mode = SHELL_MODE_LIST;
  feed(&c, 2, n, 1, r);
  assert_string_equal(cap_text(&c), "z|a\n1|x\ty\n");
  cap_close(&c);
}

static void test_column(void **state) {
  (void)state;
  struct cap c;
  cap_open(&c);
  c.o.mode = SHELL_MODE_COLUMN;
  c.o.widths[0] = 3;
  c.o.widths[1] = -5;
  static const char *const r[] = {"abcdef", "x"};
  feed(&c, 2, NAMES, 1, r);
  assert_string_equal(cap_text(&c), "a       bb\n---  -----\nabc      x\n");
  cap_close(&c);
}

static void test_utf8_len(void **state) {
  (void)state;
  assert_int_equal(shell_utf8_len("", 0), 0);
  assert_int_equal(shell_utf8_len("abc", 3), 3);
  assert_int_equal(shell_utf8_len("\xc3\xa9\xe2\x82\xac", 5), 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pretty),
      cmocka_unit_test(test_pretty_empty_and_utf8),
      cmocka_unit_test(test_pretty_duplicate_names),
      cmocka_unit_test(test_line_list_csv),
      cmocka_unit_test(test_csv_field_rules),
      cmocka_unit_test(test_json),
      cmocka_unit_test(test_column),
      cmocka_unit_test(test_utf8_len),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
