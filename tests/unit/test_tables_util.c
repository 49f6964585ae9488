/* Small helpers the built-in tables share (util.h, fsglob.h): the line
 * reader, the tokenizer, the passwd-style field split, id and UUID
 * parsing, the "=" filter, the "=" pid list, the regular-file check and
 * the sorted directory listing. Several tables rely on exactly these
 * results, so they are pinned here once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin/plugin_impl.h"
#include "tables/fsglob.h"
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
  /* cap 8 holds 7 bytes of text */
  read_all(osq_tbl_getline, "short\n0123456789abcdef\nnext\n1234567\nok\n", 8,
           r, sizeof r);
  assert_string_equal(r, "=short|-|=next|=1234567|=ok|");
  /* the last line, without '\n', follows the same rule */
  read_all(osq_tbl_getline, "x\n01234567", 8, r, sizeof r);
  assert_string_equal(r, "=x|-|");
  read_all(osq_tbl_getline, "x\n0123456", 8, r, sizeof r);
  assert_string_equal(r, "=x|=0123456|");
  read_all(osq_tbl_getline, "x\n012345", 8, r, sizeof r);
  assert_string_equal(r, "=x|=012345|");
}

static void test_nul_byte_hides_nothing(void **state) {
  (void)state;
  static const char text[] = "x\0y\nhidden\nnext\n";
  FILE *f = fmemopen((void *)text, sizeof text - 1, "r");
  assert_non_null(f);
  char buf[64];
  assert_int_equal(osq_tbl_getline(f, buf, sizeof buf), 1);
  assert_string_equal(buf, "x?y");
  assert_int_equal(osq_tbl_getline(f, buf, sizeof buf), 1);
  assert_string_equal(buf, "hidden");
  assert_int_equal(osq_tbl_getline(f, buf, sizeof buf), 1);
  assert_string_equal(buf, "next");
  assert_int_equal(osq_tbl_getline(f, buf, sizeof buf), 0);
  fclose(f);
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

static void test_split_colons(void **state) {
  (void)state;
  char line[] = "root:x:0:0::/root:/bin/sh";
  char *f[7];
  assert_true(osq_tbl_split_colons(line, f, 7));
  assert_string_equal(f[0], "root");
  assert_string_equal(f[4], "");
  assert_string_equal(f[6], "/bin/sh");
  char more[] = "a:b:c:d:e", fewer[] = "a:b:c";
  char *g[4];
  assert_false(osq_tbl_split_colons(more, g, 4));
  assert_false(osq_tbl_split_colons(fewer, g, 4));
}

static void test_tokens(void **state) {
  (void)state;
  char line[] = "  a \t b  c d\n";
  char *tok[3];
  assert_int_equal(osq_tbl_tokens(line, " \t\n", tok, 3), 3);
  assert_string_equal(tok[0], "a");
  assert_string_equal(tok[1], "b");
  assert_string_equal(tok[2], "c");
  char blank[] = " \t ";
  assert_int_equal(osq_tbl_tokens(blank, " \t", tok, 3), 0);
  char one[] = "x\ty";
  assert_int_equal(osq_tbl_tokens(one, " ", tok, 3), 1);
  assert_string_equal(tok[0], "x\ty");
}

static void test_is_uuid(void **state) {
  (void)state;
  assert_true(osq_tbl_is_uuid("0a1B2c3D-4e5F-6789-abcd-ef0123456789"));
  assert_false(osq_tbl_is_uuid("0a1b2c3d-4e5f-6789-abcd-ef012345678"));
  assert_false(osq_tbl_is_uuid("0a1b2c3d-4e5f-6789-abcd-ef01234567890"));
  assert_false(osq_tbl_is_uuid("0a1b2c3d04e5f-6789-abcd-ef0123456789"));
  assert_false(osq_tbl_is_uuid("0a1b2c3d-4e5f-6789-abcd-ef012345678g"));
  assert_false(osq_tbl_is_uuid(""));
}

static void test_parse_u32(void **state) {
  (void)state;
  uint32_t v = 7;
  assert_true(osq_tbl_parse_u32("4294967295", &v));
  assert_true(v == UINT32_MAX);
  assert_true(osq_tbl_parse_u32("0", &v));
  assert_true(v == 0);
  assert_false(osq_tbl_parse_u32("4294967296", &v));
  assert_false(osq_tbl_parse_u32("-1", &v));
  assert_false(osq_tbl_parse_u32(" 1", &v));
  assert_false(osq_tbl_parse_u32("1x", &v));
  assert_false(osq_tbl_parse_u32("", &v));
  assert_true(v == 0);
}

static void test_eq_int_ok(void **state) {
  (void)state;
  static const osq_column cols[] = {{"uid", OSQ_TYPE_BIGINT, 0}};
  osq_context *ctx = osq_context_new(cols, 1);
  assert_non_null(ctx);
  assert_true(osq_tbl_eq_int_ok(ctx, 0, 5)); /* no constraint */
  assert_int_equal(osq_context_add(ctx, 0, OSQ_OP_GT, "9", 1), 0);
  assert_true(osq_tbl_eq_int_ok(ctx, 0, 5)); /* only "=" counts */
  assert_int_equal(osq_context_add(ctx, 0, OSQ_OP_EQ, "x", 1), 0);
  assert_false(osq_tbl_eq_int_ok(ctx, 0, 5)); /* unparsable: no match */
  assert_int_equal(osq_context_add(ctx, 0, OSQ_OP_EQ, "5", 1), 0);
  assert_true(osq_tbl_eq_int_ok(ctx, 0, 5));
  assert_false(osq_tbl_eq_int_ok(ctx, 0, 6));
  osq_context_free(ctx);
}

static void test_eq_pids(void **state) {
  (void)state;
  static const osq_column cols[] = {{"pid", OSQ_TYPE_BIGINT, 0}};
  osq_context *ctx = osq_context_new(cols, 1);
  size_t n = 9;
  assert_null(osq_tbl_eq_pids(ctx, 0, &n));
  assert_int_equal(n, 0);
  static const char *const v[] = {"30", "7",          "x",  "0",
                                  "-3", "2147483648", "30", "2147483647"};
  for (size_t i = 0; i < sizeof v / sizeof *v; i++)
    assert_int_equal(osq_context_add(ctx, 0, OSQ_OP_EQ, v[i], strlen(v[i])), 0);
  assert_int_equal(osq_context_add(ctx, 0, OSQ_OP_GT, "5", 1), 0);
  int64_t *p = osq_tbl_eq_pids(ctx, 0, &n);
  assert_non_null(p);
  assert_int_equal(n, 3); /* sorted, distinct, 1..INT32_MAX only */
  assert_int_equal(p[0], 7);
  assert_int_equal(p[1], 30);
  assert_int_equal(p[2], 2147483647);
  free(p);
  osq_context_free(ctx);
}

static void test_fdopen_regular(void **state) {
  (void)state;
  char dir[] = "/tmp/osq-tables-util.XXXXXX", file[64], fifo[64];
  assert_non_null(mkdtemp(dir));
  snprintf(file, sizeof file, "%s/f", dir);
  snprintf(fifo, sizeof fifo, "%s/p", dir);
  FILE *w = fopen(file, "w");
  assert_non_null(w);
  fputs("12345", w);
  fclose(w);
  assert_int_equal(mkfifo(fifo, 0600), 0);
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  FILE *f = osq_tbl_fdopen_regular(fd, 5);
  assert_non_null(f);
  char buf[8];
  assert_non_null(fgets(buf, sizeof buf, f));
  assert_string_equal(buf, "12345");
  fclose(f);
  /* too large, a directory, a FIFO: NULL, and the descriptor is closed */
  const char *paths[] = {file, dir, fifo};
  for (size_t i = 0; i < 3; i++) {
    fd = open(paths[i], O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    assert_true(fd >= 0);
    assert_null(osq_tbl_fdopen_regular(fd, 4));
    assert_int_equal(fcntl(fd, F_GETFD), -1);
  }
  unlink(file);
  unlink(fifo);
  rmdir(dir);
}

static bool no_b(const char *name) { return strcmp(name, "b") != 0; }

static void test_pathlist_readdir(void **state) {
  (void)state;
  char dir[] = "/tmp/osq-tables-util.XXXXXX", p[64];
  assert_non_null(mkdtemp(dir));
  static const char *const names[] = {"b", ".hidden", "a"};
  for (size_t i = 0; i < 3; i++) {
    snprintf(p, sizeof p, "%s/%s", dir, names[i]);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fclose(f);
  }
  osq_pathlist l = {0};
  assert_true(osq_pathlist_readdir(&l, dir, NULL));
  assert_int_equal(l.n, 3); /* sorted, without "." and ".." */
  assert_string_equal(l.items[0], ".hidden");
  assert_string_equal(l.items[1], "a");
  assert_string_equal(l.items[2], "b");
  osq_pathlist_free(&l);
  assert_true(osq_pathlist_readdir(&l, dir, osq_name_not_hidden));
  assert_int_equal(l.n, 2);
  assert_string_equal(l.items[0], "a");
  osq_pathlist_free(&l);
  assert_true(osq_pathlist_readdir(&l, dir, no_b));
  assert_int_equal(l.n, 2);
  assert_string_equal(l.items[1], "a");
  osq_pathlist_free(&l);
  for (size_t i = 0; i < 3; i++) {
    snprintf(p, sizeof p, "%s/%s", dir, names[i]);
    unlink(p);
  }
  rmdir(dir);
  assert_false(osq_pathlist_readdir(&l, dir, NULL));
  assert_int_equal(l.n, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lines_and_last_line),
      cmocka_unit_test(test_overlong_line_dropped_whole),
      cmocka_unit_test(test_nul_byte_hides_nothing),
      cmocka_unit_test(test_crlf),
      cmocka_unit_test(test_split_colons),
      cmocka_unit_test(test_tokens),
      cmocka_unit_test(test_parse_u32),
      cmocka_unit_test(test_is_uuid),
      cmocka_unit_test(test_eq_int_ok),
      cmocka_unit_test(test_eq_pids),
      cmocka_unit_test(test_fdopen_regular),
      cmocka_unit_test(test_pathlist_readdir),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
