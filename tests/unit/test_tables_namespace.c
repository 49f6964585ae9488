/* pid_with_namespace: tables read files as another process sees them,
 * confined to its root directory. The test chroots a child (we run as
 * root in CI; skipped otherwise) and reads through it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tables/builtin.h"
#include "tables/util.h"
#include "tables_fixture.h"

static pid_t child = -1;
static char child_pid[32];

static void link_rel(const char *rel, const char *target) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s", tfx_dir, rel);
  assert_int_equal(symlink(target, p), 0);
}

static int setup(void **state) {
  (void)state;
  if (geteuid() != 0)
    return 0; /* tests skip themselves */
  tfx_make_dir("osq-tables-ns");
  tfx_put("etc/passwd", "inside:x:5000:5000:In Side:/home/inside:/bin/ash\n");
  tfx_put("etc/real-group", "insiders:x:5001:\n");
  /* absolute and ".." symlinks must stay inside the root */
  link_rel("etc/group", "/etc/real-group");
  tfx_put("etc/real-os",
          "NAME=\"Inside Linux\"\nID=inside\nVERSION_ID=\"3.2.1\"\n");
  link_rel("etc/os-release", "../../../../../../../etc/real-os");
  tfx_put("etc/hosts", "10.9.8.7 inner-host\n");
  tfx_put("var/lib/dpkg/status", "Package: inner-pkg\nVersion: 1.0-1\n\n");
  int fds[2];
  assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
  child = fork();
  assert_true(child >= 0);
  if (child == 0) {
    close(fds[0]);
    if (chroot(tfx_dir) != 0 || chdir("/") != 0)
      _exit(1);
    char ok = 'k';
    if (write(fds[1], &ok, 1) != 1)
      _exit(1);
    close(fds[1]);
    for (;;)
      pause();
  }
  close(fds[1]);
  char b = 0;
  assert_int_equal(read(fds[0], &b, 1), 1); /* chrooted */
  close(fds[0]);
  snprintf(child_pid, sizeof child_pid, "%d", (int)child);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  if (child > 0) {
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
  }
  if (tfx_dir[0])
    tfx_remove_dir();
  return 0;
}

static void test_users_groups_in_root(void **state) {
  (void)state;
  if (child <= 0)
    skip();
  const osq_table_plugin *t = &osq_table_users;
  tresult *r = trun_eq(t, "pid_with_namespace", child_pid);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 1);
  assert_string_equal(r->rows[0][tcol(t, "username")].s, "inside");
  assert_int_equal(r->rows[0][tcol(t, "uid")].i, 5000);
  assert_int_equal(r->rows[0][tcol(t, "pid_with_namespace")].i, child);
  tfree(r);
  /* /etc/group is a symlink to "/etc/real-group": resolved in the root */
  t = &osq_table_groups;
  r = trun_eq(t, "pid_with_namespace", child_pid);
  assert_int_equal(r->n, 1);
  assert_string_equal(r->rows[0][tcol(t, "groupname")].s, "insiders");
  tfree(r);
}

static void test_os_version_hosts_dpkg_in_root(void **state) {
  (void)state;
  if (child <= 0)
    skip();
  const osq_table_plugin *t = &osq_table_os_version;
  tresult *r = trun_eq(t, "pid_with_namespace", child_pid);
  assert_int_equal(r->n, 1);
  assert_string_equal(r->rows[0][tcol(t, "name")].s, "Inside Linux");
  assert_int_equal(r->rows[0][tcol(t, "major")].i, 3);
  char mnt[32];
  assert_true(osq_tbl_mnt_ns(getpid(), mnt, sizeof mnt)); /* chroot: same ns */
  assert_string_equal(r->rows[0][tcol(t, "mount_namespace_id")].s, mnt);
  tfree(r);
  t = &osq_table_etc_hosts;
  r = trun_eq(t, "pid_with_namespace", child_pid);
  assert_int_equal(r->n, 1);
  assert_string_equal(r->rows[0][1].s, "inner-host");
  tfree(r);
  t = &osq_table_deb_packages;
  r = trun_eq(t, "pid_with_namespace", child_pid);
  assert_int_equal(r->n, 1);
  assert_string_equal(r->rows[0][tcol(t, "name")].s, "inner-pkg");
  assert_int_equal(r->rows[0][tcol(t, "pid_with_namespace")].i, child);
  tfree(r);
}

static tresult *in_ns_with(const osq_table_plugin *t, const char *col,
                           int op, const char *v) {
  osq_context *ctx = osq_context_new(t->columns, t->ncolumns);
  osq_context_add(ctx, tcol(t, "pid_with_namespace"), OSQ_OP_EQ, child_pid,
                  strlen(child_pid));
  osq_context_add(ctx, tcol(t, col), op, v, strlen(v));
  tresult *r = trun(t, ctx);
  osq_context_free(ctx);
  return r;
}

/* apt_sources and yum_sources read the container's /etc/apt, apt lists
 * and yum files (yum.conf a symlink resolved inside the root). */
static void test_repo_sources_in_root(void **state) {
  (void)state;
  if (child <= 0)
    skip();
  /* made here and removed again: the file test counts /etc's entries */
  tfx_put("etc/apt/sources.list", "deb http://inner.example/debian inner main\n");
  tfx_put("var/lib/apt/lists/inner.example_debian_dists_inner_Release",
          "Origin: Inner\nCodename: inner\n");
  tfx_put("etc/real-yum.conf", "[inner-repo]\nname=Inner Repo\nenabled=1\n");
  link_rel("etc/yum.conf", "/etc/real-yum.conf");
  const osq_table_plugin *t = &osq_table_apt_sources;
  tresult *r = trun_eq(t, "pid_with_namespace", child_pid);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 1);
  assert_string_equal(r->rows[0][tcol(t, "name")].s,
                      "inner.example/debian inner");
  assert_string_equal(r->rows[0][tcol(t, "maintainer")].s, "Inner");
  assert_int_equal(r->rows[0][tcol(t, "pid_with_namespace")].i, child);
  tfree(r);
  t = &osq_table_yum_sources;
  r = trun_eq(t, "pid_with_namespace", child_pid);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 1);
  assert_string_equal(r->rows[0][tcol(t, "name")].s, "Inner Repo");
  assert_string_equal(r->rows[0][tcol(t, "source")].s, "/etc/yum.conf");
  assert_int_equal(r->rows[0][tcol(t, "pid_with_namespace")].i, child);
  tfree(r);
  char cmd[700];
  snprintf(cmd, sizeof cmd,
           "cd '%s' && rm -rf etc/apt var/lib/apt etc/real-yum.conf "
           "etc/yum.conf",
           tfx_dir);
  assert_int_equal(system(cmd), 0);
}

static void test_file_hash_in_root(void **state) {
  (void)state;
  if (child <= 0)
    skip();
  const osq_table_plugin *t = &osq_table_file;
  /* "/etc/passwd" is the container's, 49 bytes */
  tresult *r = in_ns_with(t, "path", OSQ_OP_EQ, "/etc/passwd");
  assert_int_equal(r->n, 1);
  assert_int_equal(r->rows[0][tcol(t, "size")].i, 49);
  assert_int_equal(r->rows[0][tcol(t, "pid_with_namespace")].i, child);
  tfree(r);
  /* a symlink: its own text, and the target's metadata inside the root */
  r = in_ns_with(t, "path", OSQ_OP_EQ, "/etc/group");
  assert_int_equal(r->n, 1);
  assert_int_equal(r->rows[0][tcol(t, "symlink")].i, 1);
  assert_string_equal(r->rows[0][tcol(t, "symlink_target_path")].s,
                      "/etc/real-group");
  assert_int_equal(r->rows[0][tcol(t, "size")].i, 17);
  tfree(r);
  r = in_ns_with(t, "directory", OSQ_OP_EQ, "/etc");
  assert_int_equal(r->n, 6); /* passwd real-group group real-os os-release hosts */
  tfree(r);
  /* patterns are not expanded inside another root */
  r = in_ns_with(t, "path", OSQ_OP_LIKE, "/etc/%");
  assert_int_equal(r->n, 0);
  tfree(r);

  t = &osq_table_hash;
  r = in_ns_with(t, "path", OSQ_OP_EQ, "/etc/hosts");
  assert_int_equal(r->n, 1);
  /* md5 of "10.9.8.7 inner-host\n" */
  assert_string_equal(r->rows[0][tcol(t, "md5")].s,
                      "205b7536681dc0a2206d616f1c60f05f");
  tfree(r);
  /* ".." cannot climb out of the root */
  r = in_ns_with(t, "path", OSQ_OP_EQ, "/../../../../etc/hosts");
  assert_int_equal(r->n, 1);
  assert_string_equal(r->rows[0][tcol(t, "md5")].s,
                      "205b7536681dc0a2206d616f1c60f05f");
  tfree(r);
}

static void test_missing_process(void **state) {
  (void)state;
  tresult *r = trun_eq(&osq_table_users, "pid_with_namespace", "2147483646");
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 0);
  tfree(r);
  r = trun_eq(&osq_table_os_version, "pid_with_namespace", "2147483646");
  assert_int_equal(r->n, 0);
  tfree(r);
  /* junk values are ignored: the table reads the host's own files */
  r = trun_eq(&osq_table_os_version, "pid_with_namespace", "junk");
  assert_int_equal(r->n, 1);
  tfree(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_users_groups_in_root),
      cmocka_unit_test(test_os_version_hosts_dpkg_in_root),
      cmocka_unit_test(test_repo_sources_in_root),
      cmocka_unit_test(test_file_hash_in_root),
      cmocka_unit_test(test_missing_process),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
