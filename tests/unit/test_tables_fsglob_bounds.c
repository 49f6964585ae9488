/* The file search is bounded by its work: symlink loops are not followed
 * round, the directories read are limited, and an interrupt stops it. The
 * warning names the bound that stopped it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cancel.h"
#include "core/flags.h"
#include "core/log.h"
#include "tables/builtin.h"
#include "tables/fsglob.h"
#include "tables_fixture.h"

static char warned[4096];

static void sink(const osq_status_line *st, void *u) {
  (void)u;
  if (st->severity == OSQ_SEV_WARNING) {
    size_t n = strlen(warned);
    snprintf(warned + n, sizeof warned - n, "%s\n", st->message);
  }
}

static void mkdirs(const char *rel) {
  char p[1024];
  snprintf(p, sizeof p, "%s/%s", tfx_dir, rel);
  for (char *s = strchr(p + strlen(tfx_dir) + 1, '/'); s;
       s = strchr(s + 1, '/')) {
    *s = '\0';
    mkdir(p, 0755);
    *s = '/';
  }
  mkdir(p, 0755);
}

static void link_to(const char *rel, const char *target_rel) {
  char p[1024], t[1024];
  snprintf(p, sizeof p, "%s/%s", tfx_dir, rel);
  snprintf(t, sizeof t, "%s/%s", tfx_dir, target_rel);
  assert_int_equal(symlink(t, p), 0);
}

static int setup(void **state) {
  (void)state;
  osq_flags_init(OSQ_PERSONALITY_SHELL);
  osq_log_set_sink(sink, NULL);
  tfx_make_dir("osq-fsglob-bounds");
  /* loop/a and loop/b lead back to loop: 2^n paths through n wildcards */
  mkdirs("loop/real");
  tfx_put("loop/real/x.conf", "x");
  link_to("loop/a", "loop");
  link_to("loop/b", "loop");
  /* 70 directories deep */
  char rel[512] = "deep";
  for (int i = 0; i < 69; i++)
    strcat(rel, "/d");
  mkdirs(rel);
  strcat(rel, "/bottom.conf");
  tfx_put(rel, "b");
  /* 30 sibling directories */
  for (int i = 0; i < 30; i++) {
    char r[64];
    snprintf(r, sizeof r, "wide/w%02d", i);
    mkdirs(r);
  }
  return 0;
}

static int teardown(void **state) {
  (void)state;
  tfx_remove_dir();
  osq_log_set_sink(NULL, NULL);
  osq_flags_shutdown();
  return 0;
}

static osq_pathlist expand(const char *fmt, ...) {
  char pattern[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(pattern, sizeof pattern, fmt, ap);
  va_end(ap);
  osq_pathlist out = {0};
  warned[0] = '\0';
  assert_int_equal(osq_glob_expand(pattern, OSQ_GLOB_FILES | OSQ_GLOB_DIRS,
                                   &out),
                   OSQ_OK);
  osq_pathlist_unique(&out);
  return out;
}

static void test_symlink_loop_not_followed_round(void **state) {
  (void)state;
  /* 24 wildcards: without loop detection 2^24 directories */
  char pattern[512];
  snprintf(pattern, sizeof pattern, "%s/loop", tfx_dir);
  for (int i = 0; i < 24; i++)
    strcat(pattern, "/%");
  strcat(pattern, "/nomatch_zz");
  osq_pathlist l = expand("%s", pattern);
  assert_int_equal(l.n, 0);
  assert_false(l.truncated);
  assert_string_equal(warned, "");
  osq_pathlist_free(&l);
  /* what lies in the loop is still found, once */
  l = expand("%s/loop/%%/%%", tfx_dir);
  char want[1024];
  snprintf(want, sizeof want, "%s/loop/real/x.conf", tfx_dir);
  assert_int_equal(l.n, 1);
  assert_string_equal(l.items[0], want);
  osq_pathlist_free(&l);
}

static void test_depth_limit_warns(void **state) {
  (void)state;
  osq_pathlist l = expand("%s/deep/%%%%", tfx_dir);
  assert_true(l.truncated);
  assert_int_equal(l.n, OSQ_GLOB_MAX_DEPTH + 1); /* d/.../d, no file */
  assert_non_null(strstr(warned, "deeper than the limit of 64"));
  osq_pathlist_free(&l);
}

static void test_directory_limit_warns(void **state) {
  (void)state;
  osq_glob_max_dirs = 10;
  osq_pathlist l = expand("%s/wide/%%/%%", tfx_dir);
  osq_glob_max_dirs = OSQ_GLOB_MAX_DIRS;
  assert_true(l.truncated);
  assert_false(l.cancelled);
  assert_non_null(strstr(warned, "search stopped at the limit of 10 "
                                 "directories read"));
  osq_pathlist_free(&l);
  l = expand("%s/wide/%%/%%", tfx_dir);
  assert_false(l.truncated);
  assert_string_equal(warned, "");
  osq_pathlist_free(&l);
}

static int probes;
static bool cancel_on_second_probe(void *arg) {
  (void)arg;
  return ++probes >= 2; /* the first probe is at the first directory */
}

static bool always(void *arg) {
  (void)arg;
  return true;
}

static void test_interrupt_stops_search(void **state) {
  (void)state;
  osq_cancel_scope scope;
  probes = 0;
  osq_cancel_enter(&scope, cancel_on_second_probe, NULL);
  osq_pathlist l = expand("%s/wide/%%/%%", tfx_dir);
  assert_true(l.cancelled);
  assert_non_null(strstr(warned, "search stopped because the query was "
                                 "interrupted or its client went away"));
  osq_pathlist_free(&l);
  osq_cancel_leave(&scope);
  /* the file table returns nothing for a cancelled search */
  osq_cancel_enter(&scope, always, NULL);
  const osq_table_plugin *t = &osq_table_file;
  char v[512];
  snprintf(v, sizeof v, "%s/wide/%%", tfx_dir);
  osq_context *ctx = osq_context_new(t->columns, t->ncolumns);
  osq_context_add(ctx, 0, OSQ_OP_LIKE, v, strlen(v));
  tresult *r = trun(t, ctx);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 0);
  tfree(r);
  osq_cancel_leave(&scope);
  /* outside the scope the same search finds every directory */
  r = trun(t, ctx);
  assert_int_equal(r->n, 30);
  tfree(r);
  osq_context_free(ctx);
}

static void test_peer_gone_probe(void **state) {
  (void)state;
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  void *fd = (void *)(intptr_t)sv[0];
  assert_false(osq_cancel_peer_gone(fd));
  assert_int_equal(write(sv[1], "x", 1), 1); /* data is not a hang-up */
  assert_false(osq_cancel_peer_gone(fd));
  close(sv[1]);
  assert_true(osq_cancel_peer_gone(fd));
  close(sv[0]);
  assert_false(osq_cancel_peer_gone((void *)(intptr_t)-1));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_symlink_loop_not_followed_round),
      cmocka_unit_test(test_depth_limit_warns),
      cmocka_unit_test(test_directory_limit_warns),
      cmocka_unit_test(test_interrupt_stops_search),
      cmocka_unit_test(test_peer_gone_probe),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
