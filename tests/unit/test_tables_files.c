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
#include <sys/time.h>
#include <unistd.h>

#include "core/flags.h"
#include "tables/builtin.h"
#include "tables/fsglob.h"
#include "tables/linux/hash.h"
#include "test_tables_sink.h"

static char root[256];

static void mkfile(const char *rel, const char *content, mode_t mode) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s", root, rel);
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  assert_true(fd >= 0);
  size_t n = strlen(content);
  assert_int_equal(write(fd, content, n), (ssize_t)n);
  close(fd);
  assert_int_equal(chmod(p, mode), 0);
}

static void mkdir_rel(const char *rel) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s", root, rel);
  assert_int_equal(mkdir(p, 0755), 0);
}

static int setup(void **state) {
  (void)state;
  osq_flags_init(OSQ_PERSONALITY_SHELL);
  snprintf(root, sizeof root, "/tmp/osq-tables-files.XXXXXX");
  assert_non_null(mkdtemp(root));
  mkfile("abc.txt", "abc", 0644);
  mkfile("empty", "", 0600);
  mkfile("setuid", "#!/bin/sh\n", 04755);
  mkdir_rel("sub");
  mkfile("sub/one.conf", "1", 0640);
  mkdir_rel("sub/deep");
  mkfile("sub/deep/two.conf", "22", 0644);
  mkdir_rel("other");
  mkfile("other/three.conf", "333", 0644);
  char p[512], t[512];
  snprintf(p, sizeof p, "%s/link", root);
  snprintf(t, sizeof t, "%s/abc.txt", root);
  assert_int_equal(symlink(t, p), 0);
  snprintf(p, sizeof p, "%s/fifo", root);
  assert_int_equal(mkfifo(p, 0600), 0);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
  assert_int_equal(system(cmd), 0);
  osq_flags_shutdown();
  return 0;
}

static tresult *query(const osq_table_plugin *t, const char *col, int op,
                      const char *fmt, ...) {
  char v[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(v, sizeof v, fmt, ap);
  va_end(ap);
  osq_context *ctx = osq_context_new(t->columns, t->ncolumns);
  osq_context_add(ctx, (size_t)tcol(t, col), op, v, strlen(v));
  tresult *r = trun(t, ctx);
  osq_context_free(ctx);
  return r;
}

static tcell *row_for(tresult *r, const osq_table_plugin *t,
                      const char *rel) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s", root, rel);
  return tfind_text(r, tcol(t, "path"), p);
}

static void test_glob_match(void **state) {
  (void)state;
  assert_true(osq_glob_match("%", 1, "anything"));
  assert_true(osq_glob_match("%.conf", 6, "one.conf"));
  assert_true(osq_glob_match("%.CONF", 6, "one.conf")); /* like LIKE */
  assert_false(osq_glob_match("%.conf", 6, "one.confx"));
  assert_true(osq_glob_match("o_e%", 4, "one.conf"));
  assert_false(osq_glob_match("o_e", 3, "oe"));
  assert_true(osq_glob_match("a%b%c", 5, "aXXbYYc"));
  assert_false(osq_glob_match("a%b%c", 5, "aXXbYY"));
  /* no exponential blow-up on a hostile pattern */
  const char *p = "%a%a%a%a%a%a%a%a%a%a%a%a%a%a%b";
  assert_false(osq_glob_match(p, strlen(p),
                              "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

static void test_file_path_eq(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_file;
  tresult *r = query(t, "path", OSQ_OP_EQ, "%s/abc.txt", root);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 1);
  tcell *row = r->rows[0];
  assert_string_equal(row[tcol(t, "filename")].s, "abc.txt");
  assert_string_equal(row[tcol(t, "directory")].s, root);
  assert_string_equal(row[tcol(t, "mode")].s, "0644");
  assert_string_equal(row[tcol(t, "type")].s, "regular");
  assert_int_equal(row[tcol(t, "size")].i, 3);
  assert_int_equal(row[tcol(t, "symlink")].i, 0);
  assert_int_equal(row[tcol(t, "hard_links")].i, 1);
  assert_int_equal(row[tcol(t, "uid")].i, getuid());
  struct stat st;
  char p[512];
  snprintf(p, sizeof p, "%s/abc.txt", root);
  assert_int_equal(stat(p, &st), 0);
  assert_int_equal(row[tcol(t, "inode")].i, (int64_t)st.st_ino);
  assert_int_equal(row[tcol(t, "mtime")].i, (int64_t)st.st_mtime);
  tfree(r);

  r = query(t, "path", OSQ_OP_EQ, "%s/setuid", root);
  assert_string_equal(r->rows[0][tcol(t, "mode")].s, "4755");
  tfree(r);

  /* symlink: the target's metadata, flagged as a link */
  r = query(t, "path", OSQ_OP_EQ, "%s/link", root);
  assert_int_equal(r->n, 1);
  row = r->rows[0];
  assert_int_equal(row[tcol(t, "symlink")].i, 1);
  assert_string_equal(row[tcol(t, "type")].s, "regular");
  assert_int_equal(row[tcol(t, "size")].i, 3);
  assert_string_equal(row[tcol(t, "symlink_target_path")].s, p);
  tfree(r);

  r = query(t, "path", OSQ_OP_EQ, "%s/fifo", root);
  assert_string_equal(r->rows[0][tcol(t, "type")].s, "fifo");
  tfree(r);
  r = query(t, "path", OSQ_OP_EQ, "%s/sub", root);
  assert_string_equal(r->rows[0][tcol(t, "type")].s, "directory");
  tfree(r);
  /* a missing path is no row and no error */
  r = query(t, "path", OSQ_OP_EQ, "%s/missing", root);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 0);
  tfree(r);
  /* no constraint at all: nothing (the SQL layer refuses such queries) */
  r = trun_all(t);
  assert_int_equal(r->n, 0);
  tfree(r);
}

static void test_file_directory(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_file;
  tresult *r = query(t, "directory", OSQ_OP_EQ, "%s", root);
  /* abc.txt empty setuid sub other link fifo: one level, no recursion */
  assert_int_equal(r->n, 7);
  assert_non_null(row_for(r, t, "sub"));
  assert_null(row_for(r, t, "sub/one.conf"));
  assert_string_equal(row_for(r, t, "empty")[tcol(t, "directory")].s, root);
  tfree(r);
  /* a trailing slash names the same directory, keeping the query's text */
  r = query(t, "directory", OSQ_OP_EQ, "%s/sub/", root);
  assert_int_equal(r->n, 2);
  assert_non_null(row_for(r, t, "sub/one.conf"));
  tfree(r);
  /* directory LIKE: every matching directory's entries */
  r = query(t, "directory", OSQ_OP_LIKE, "%s/%%", root);
  assert_non_null(row_for(r, t, "sub/one.conf"));
  assert_non_null(row_for(r, t, "sub/deep"));
  assert_non_null(row_for(r, t, "other/three.conf"));
  assert_null(row_for(r, t, "sub/deep/two.conf"));
  tfree(r);
}

static void test_file_like(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_file;
  /* % stays within one component */
  tresult *r = query(t, "path", OSQ_OP_LIKE, "%s/%%/%%.conf", root);
  assert_int_equal(r->n, 2);
  assert_non_null(row_for(r, t, "sub/one.conf"));
  assert_non_null(row_for(r, t, "other/three.conf"));
  tfree(r);
  /* %% recurses */
  r = query(t, "path", OSQ_OP_LIKE, "%s/sub/%%%%", root);
  assert_int_equal(r->n, 3);
  assert_non_null(row_for(r, t, "sub/one.conf"));
  assert_non_null(row_for(r, t, "sub/deep"));
  assert_non_null(row_for(r, t, "sub/deep/two.conf"));
  tfree(r);
  /* _ is one character; duplicates from two constraints are merged */
  osq_context *ctx = osq_context_new(t->columns, t->ncolumns);
  char v[512];
  snprintf(v, sizeof v, "%s/ab_.txt", root);
  osq_context_add(ctx, 0, OSQ_OP_LIKE, v, strlen(v));
  snprintf(v, sizeof v, "%s/abc.txt", root);
  osq_context_add(ctx, 0, OSQ_OP_EQ, v, strlen(v));
  r = trun(t, ctx);
  assert_int_equal(r->n, 1);
  tfree(r);
  osq_context_free(ctx);
}

static void test_hash(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_hash;
  osq_hash_cache_clear();
  tresult *r = query(t, "path", OSQ_OP_EQ, "%s/abc.txt", root);
  assert_int_equal(r->n, 1);
  tcell *row = r->rows[0];
  assert_string_equal(row[tcol(t, "md5")].s, "900150983cd24fb0d6963f7d28e17f72");
  assert_string_equal(row[tcol(t, "sha1")].s,
                      "a9993e364706816aba3e25717850c26c9cd0d89d");
  assert_string_equal(
      row[tcol(t, "sha256")].s,
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assert_string_equal(row[tcol(t, "directory")].s, root);
  tfree(r);
  r = query(t, "path", OSQ_OP_EQ, "%s/empty", root);
  assert_string_equal(r->rows[0][tcol(t, "sha256")].s,
                      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  tfree(r);

  /* the second look-up of an unchanged file is a cache hit */
  unsigned long hits, misses;
  size_t entries;
  osq_hash_cache_stats(&hits, &misses, &entries);
  assert_int_equal(hits, 0);
  assert_int_equal(misses, 2);
  r = query(t, "path", OSQ_OP_EQ, "%s/abc.txt", root);
  tfree(r);
  osq_hash_cache_stats(&hits, &misses, &entries);
  assert_int_equal(hits, 1);
  assert_int_equal(entries, 2);
  /* a changed file is hashed again */
  mkfile("abc.txt", "abcd", 0644);
  r = query(t, "path", OSQ_OP_EQ, "%s/abc.txt", root);
  assert_string_equal(r->rows[0][tcol(t, "md5")].s,
                      "e2fc714c4727ee9395f324cd2e7f331f");
  tfree(r);
  osq_hash_cache_stats(&hits, &misses, &entries);
  assert_int_equal(hits, 1);
  assert_int_equal(entries, 2);
  mkfile("abc.txt", "abc", 0644);

  /* the cache never exceeds --hash_cache_max */
  char err[256];
  assert_int_equal(OSQ_FLAG_SET(hash_cache_max, "1", err, sizeof err), 0);
  r = query(t, "path", OSQ_OP_LIKE, "%s/%%", root);
  tfree(r);
  osq_hash_cache_stats(&hits, &misses, &entries);
  assert_int_equal(entries, 1);
  assert_int_equal(OSQ_FLAG_SET(hash_cache_max, "500", err, sizeof err), 0);

  /* directory: regular files only; fifo, dirs skipped; link followed */
  r = query(t, "directory", OSQ_OP_EQ, "%s", root);
  assert_int_equal(r->n, 4); /* abc.txt empty setuid link */
  assert_non_null(row_for(r, t, "link"));
  assert_null(row_for(r, t, "fifo"));
  assert_null(row_for(r, t, "sub"));
  tfree(r);

  /* files over --read_max are skipped */
  assert_int_equal(OSQ_FLAG_SET(read_max, "2", err, sizeof err), 0);
  r = query(t, "path", OSQ_OP_EQ, "%s/abc.txt", root);
  assert_int_equal(r->n, 0);
  tfree(r);
  assert_int_equal(OSQ_FLAG_SET(read_max, "52428800", err, sizeof err), 0);

  /* LIKE with %% */
  r = query(t, "path", OSQ_OP_LIKE, "%s/sub/%%%%", root);
  assert_int_equal(r->n, 2);
  assert_string_equal(row_for(r, t, "sub/deep/two.conf")[tcol(t, "md5")].s,
                      "b6d767d2f8ed5d21a44b0e5886680cb9");
  tfree(r);
}

static void test_hash_only_used_digests(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_hash;
  osq_hash_cache_clear();
  char p[512];
  snprintf(p, sizeof p, "%s/abc.txt", root);
  osq_context *ctx = osq_context_new(t->columns, t->ncolumns);
  for (size_t c = 0; c < t->ncolumns; c++)
    osq_context_set_used(ctx, c, false);
  osq_context_set_used(ctx, (size_t)tcol(t, "md5"), true);
  ctx->used_known = true;
  osq_context_add(ctx, 0, OSQ_OP_EQ, p, strlen(p));
  tresult *r = trun(t, ctx);
  assert_int_equal(r->n, 1);
  assert_string_equal(r->rows[0][tcol(t, "md5")].s,
                      "900150983cd24fb0d6963f7d28e17f72");
  /* sha256 was not read, so it was not computed */
  assert_int_equal(r->rows[0][tcol(t, "sha256")].kind, OSQ_VALUE_NULL);
  tfree(r);
  osq_context_free(ctx);
  /* a query wanting all three misses once, then hits */
  r = query(t, "path", OSQ_OP_EQ, "%s", p);
  assert_string_equal(r->rows[0][tcol(t, "sha1")].s,
                      "a9993e364706816aba3e25717850c26c9cd0d89d");
  tfree(r);
  r = query(t, "path", OSQ_OP_EQ, "%s", p);
  assert_string_equal(r->rows[0][tcol(t, "md5")].s,
                      "900150983cd24fb0d6963f7d28e17f72");
  tfree(r);
  unsigned long hits, misses;
  size_t entries;
  osq_hash_cache_stats(&hits, &misses, &entries);
  assert_int_equal(misses, 2);
  assert_int_equal(hits, 1);
  assert_int_equal(entries, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_glob_match),
      cmocka_unit_test(test_file_path_eq),
      cmocka_unit_test(test_file_directory),
      cmocka_unit_test(test_file_like),
      cmocka_unit_test(test_hash),
      cmocka_unit_test(test_hash_only_used_digests),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
