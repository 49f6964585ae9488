#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tables/builtin.h"
#include "test_tables_sink.h"

static const osq_table_plugin *t = &osq_table_processes;
static const char *argv0;

static void self_comm(char *out, size_t cap) {
  FILE *f = fopen("/proc/self/comm", "r");
  assert_non_null(f);
  assert_non_null(fgets(out, (int)cap, f));
  fclose(f);
  out[strcspn(out, "\n")] = '\0';
}

static void test_full_scan_has_self(void **state) {
  (void)state;
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_true(r->n >= 2); /* at least us and our parent (or init) */
  tcell *me = tfind_int(r, tcol(t, "pid"), getpid());
  assert_non_null(me);
  char comm[64];
  self_comm(comm, sizeof comm);
  assert_string_equal(me[tcol(t, "name")].s, comm);
  assert_int_equal(me[tcol(t, "parent")].i, getppid());
  assert_int_equal(me[tcol(t, "uid")].i, getuid());
  assert_int_equal(me[tcol(t, "euid")].i, geteuid());
  assert_int_equal(me[tcol(t, "gid")].i, getgid());
  assert_int_equal(me[tcol(t, "pgroup")].i, getpgrp());
  assert_int_equal(me[tcol(t, "threads")].i, 1);
  assert_int_equal(me[tcol(t, "on_disk")].i, 1);
  assert_int_equal(me[tcol(t, "wired_size")].i, 0);
  assert_true(me[tcol(t, "resident_size")].i > 0);
  assert_true(me[tcol(t, "total_size")].i >= me[tcol(t, "resident_size")].i);
  assert_true(me[tcol(t, "start_time")].i > 1500000000);
  assert_string_equal(me[tcol(t, "state")].s, "R");
  char exe[PATH_MAX], cwd[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  assert_true(n > 0);
  exe[n] = '\0';
  assert_string_equal(me[tcol(t, "path")].s, exe);
  assert_non_null(getcwd(cwd, sizeof cwd));
  assert_string_equal(me[tcol(t, "cwd")].s, cwd);
  assert_string_equal(me[tcol(t, "root")].s, "/");
  /* cmdline: argv joined with spaces */
  char want[PATH_MAX + 16];
  snprintf(want, sizeof want, "%s", argv0);
  assert_string_equal(me[tcol(t, "cmdline")].s, want);
  assert_non_null(me[tcol(t, "cgroup_path")].s);
  /* pid 1 exists in every namespace */
  assert_non_null(tfind_int(r, tcol(t, "pid"), 1));
  tfree(r);
}

static void test_pid_constraint_reads_one(void **state) {
  (void)state;
  osq_context *ctx = osq_context_new(t->columns, t->ncolumns);
  char pid[32];
  snprintf(pid, sizeof pid, "%d", getpid());
  /* IN (me, me, 'junk', huge) arrives as EQ constraints */
  osq_context_add(ctx, tcol(t, "pid"), OSQ_OP_EQ, pid, strlen(pid));
  osq_context_add(ctx, tcol(t, "pid"), OSQ_OP_EQ, pid, strlen(pid));
  osq_context_add(ctx, tcol(t, "pid"), OSQ_OP_EQ, "junk", 4);
  osq_context_add(ctx, tcol(t, "pid"), OSQ_OP_EQ, "99999999999", 11);
  tresult *r = trun(t, ctx);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 1);
  assert_int_equal(r->rows[0][tcol(t, "pid")].i, getpid());
  tfree(r);
  osq_context_free(ctx);

  /* a pid that does not exist: no row, no error */
  ctx = osq_context_new(t->columns, t->ncolumns);
  osq_context_add(ctx, tcol(t, "pid"), OSQ_OP_EQ, "2147483646", 10);
  r = trun(t, ctx);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 0);
  tfree(r);
  osq_context_free(ctx);
}

static void test_unused_columns_not_read(void **state) {
  (void)state;
  osq_context *ctx = osq_context_new(t->columns, t->ncolumns);
  for (size_t c = 0; c < t->ncolumns; c++)
    osq_context_set_used(ctx, c, false);
  osq_context_set_used(ctx, tcol(t, "pid"), true);
  osq_context_set_used(ctx, tcol(t, "name"), true);
  ctx->used_known = true;
  char pid[32];
  snprintf(pid, sizeof pid, "%d", getpid());
  osq_context_add(ctx, tcol(t, "pid"), OSQ_OP_EQ, pid, strlen(pid));
  tresult *r = trun(t, ctx);
  assert_int_equal(r->n, 1);
  tcell *me = r->rows[0];
  assert_non_null(me[tcol(t, "name")].s);
  assert_int_equal(me[tcol(t, "cmdline")].kind, OSQ_VALUE_NULL);
  assert_int_equal(me[tcol(t, "cwd")].kind, OSQ_VALUE_NULL);
  assert_int_equal(me[tcol(t, "uid")].kind, OSQ_VALUE_NULL);
  tfree(r);
  osq_context_free(ctx);
}

static tresult *by_pid(pid_t pid) {
  osq_context *ctx = osq_context_new(t->columns, t->ncolumns);
  char v[32];
  snprintf(v, sizeof v, "%d", (int)pid);
  osq_context_add(ctx, tcol(t, "pid"), OSQ_OP_EQ, v, strlen(v));
  tresult *r = trun(t, ctx);
  osq_context_free(ctx);
  return r;
}

static void test_zombie_and_vanished(void **state) {
  (void)state;
  pid_t child = fork();
  assert_true(child >= 0);
  if (child == 0)
    _exit(0);
  /* wait until it is a zombie (exited, not reaped) without reaping it */
  siginfo_t si;
  memset(&si, 0, sizeof si);
  assert_int_equal(waitid(P_PID, (id_t)child, &si, WEXITED | WNOWAIT), 0);
  tresult *r = by_pid(child);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 1);
  tcell *z = r->rows[0];
  assert_string_equal(z[tcol(t, "state")].s, "Z");
  assert_int_equal(z[tcol(t, "parent")].i, getpid());
  /* a zombie has no executable, memory or command line */
  assert_string_equal(z[tcol(t, "path")].s, "");
  assert_int_equal(z[tcol(t, "on_disk")].i, -1);
  assert_string_equal(z[tcol(t, "cmdline")].s, "");
  tfree(r);
  assert_int_equal(waitpid(child, NULL, 0), child);
  /* once reaped it is gone: no row, no error */
  r = by_pid(child);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 0);
  tfree(r);
}

static void test_columns_match_osquery(void **state) {
  (void)state;
  static const char *names[] = {
      "pid", "name", "path", "cmdline", "state", "cwd", "root", "uid", "gid",
      "euid", "egid", "suid", "sgid", "on_disk", "wired_size",
      "resident_size", "total_size", "user_time", "system_time",
      "disk_bytes_read", "disk_bytes_written", "start_time", "parent",
      "pgroup", "threads", "nice", "cgroup_path"};
  /* the visible columns, in order (what "select *" shows); osquery's spec
   * declares the other platforms' hidden columns before cgroup_path */
  size_t visible = 0;
  for (size_t i = 0; i < t->ncolumns; i++) {
    if (t->columns[i].options & OSQ_COL_HIDDEN)
      continue;
    assert_true(visible < sizeof names / sizeof *names);
    assert_string_equal(t->columns[i].name, names[visible++]);
  }
  assert_int_equal(visible, sizeof names / sizeof *names);
  assert_int_equal(t->columns[0].type, OSQ_TYPE_BIGINT);
  assert_int_equal(t->columns[0].options, OSQ_COL_INDEX | OSQ_COL_OPTIMIZED);
  assert_int_equal(t->columns[tcol(t, "threads")].type, OSQ_TYPE_INTEGER);
}

int main(int argc, char **argv) {
  (void)argc;
  argv0 = argv[0];
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_full_scan_has_self),
      cmocka_unit_test(test_pid_constraint_reads_one),
      cmocka_unit_test(test_unused_columns_not_read),
      cmocka_unit_test(test_zombie_and_vanished),
      cmocka_unit_test(test_columns_match_osquery),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
