#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tables/builtin.h"
#include "tables/linux/misc.h"
#include "tables/linux/users.h"
#include "tables_fixture.h"

static int setup(void **state) {
  (void)state;
  tfx_make_dir("osq-tables-more");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  tfx_remove_dir();
  return 0;
}

static void test_kernel_memory_cpu(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_kernel_info;
  tresult *r = trun_all(t);
  struct utsname u;
  uname(&u);
  assert_int_equal(r->n, 1);
  assert_string_equal(r->rows[0][tcol(t, "version")].s, u.release);
  tfree(r);

  t = &osq_table_memory_info;
  r = trun_all(t);
  assert_int_equal(r->n, 1);
  int64_t total = r->rows[0][tcol(t, "memory_total")].i;
  assert_true(total > 0);
  assert_true(r->rows[0][tcol(t, "memory_free")].i <= total);
  assert_int_equal(r->rows[0][tcol(t, "memory_total")].kind, OSQ_VALUE_INT);
  tfree(r);

  t = &osq_table_cpu_time;
  r = trun_all(t);
  assert_int_equal(r->n, sysconf(_SC_NPROCESSORS_ONLN));
  assert_int_equal(r->rows[0][tcol(t, "core")].i, 0);
  assert_true(r->rows[0][tcol(t, "idle")].i >= 0);
  tfree(r);
}

static void test_etc_hosts(void **state) {
  (void)state;
  osq_tables_hosts_path =
      tfx_put("hosts", "127.0.0.1\tlocalhost  loc # the loopback\n"
                       "# a comment line\n\n"
                       "::1 ip6-localhost\n"
                       "lonely-address\n"
                       "10.0.0.1 last-line-without-newline");
  const osq_table_plugin *t = &osq_table_etc_hosts;
  assert_string_equal(t->aliases[0], "hosts");
  tresult *r = trun_all(t);
  assert_int_equal(r->n, 3);
  tcell *row = tfind_text(r, tcol(t, "address"), "127.0.0.1");
  assert_string_equal(row[tcol(t, "hostnames")].s, "localhost loc");
  assert_non_null(tfind_text(r, tcol(t, "hostnames"), "last-line-without-newline"));
  tfree(r);
  osq_tables_hosts_path = "/nonexistent/hosts";
  r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 0);
  tfree(r);
  osq_tables_hosts_path = "/etc/hosts";
}

static void test_user_groups(void **state) {
  (void)state;
  osq_tables_passwd_path =
      tfx_put("passwd", "alice:x:1000:1000::/home/alice:/bin/sh\n"
                        "carol:x:1001:100::/home/carol:/bin/sh\nbroken line\n");
  osq_tables_group_path =
      tfx_put("group",
              "alice:x:1000:\nwheel:x:10:alice,bob,carol\nusers:x:100:carol\n");
  const osq_table_plugin *t = &osq_table_user_groups;
  tresult *r = trun_all(t);
  assert_int_equal(r->n, 4); /* (1000,10) (1000,1000) (1001,10) (1001,100) */
  assert_int_equal(r->rows[0][0].i, 1000);
  assert_int_equal(r->rows[0][1].i, 10);
  assert_int_equal(r->rows[3][0].i, 1001);
  assert_int_equal(r->rows[3][1].i, 100);
  tfree(r);
  r = trun_eq(t, "uid", "1001");
  assert_int_equal(r->n, 2);
  tfree(r);
  osq_tables_passwd_path = "/etc/passwd";
  osq_tables_group_path = "/etc/group";
  r = trun_eq(t, "uid", "0");
  assert_non_null(tfind_int(r, 1, 0)); /* root's primary group */
  tfree(r);
}

static void test_mounts(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_mounts;
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  tcell *root = tfind_text(r, tcol(t, "path"), "/");
  assert_non_null(root);
  assert_true(root[tcol(t, "blocks_size")].i > 0);
  tfree(r);
  osq_tables_mounts_path =
      tfx_put("mounts", "/dev/sdz1 /mnt/with\\040space ext4 rw,relatime 0 0\n"
                        "short line\n"
                        "srv:/x /net/x nfs4 rw 0 0\n");
  r = trun_all(t);
  assert_int_equal(r->n, 2);
  tcell *m = tfind_text(r, tcol(t, "path"), "/mnt/with space");
  assert_non_null(m);
  assert_string_equal(m[tcol(t, "type")].s, "ext4");
  assert_string_equal(m[tcol(t, "flags")].s, "rw,relatime");
  /* a network mount is never statfs'd (it may hang) */
  tcell *nfs = tfind_text(r, tcol(t, "path"), "/net/x");
  assert_int_equal(nfs[tcol(t, "blocks")].kind, OSQ_VALUE_NULL);
  tfree(r);
  osq_tables_mounts_path = "/proc/mounts";
}

static void test_process_open_files(void **state) {
  (void)state;
  const char *p = tfx_put("open-me", "x");
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  assert_true(fd >= 0);
  char pid[32];
  snprintf(pid, sizeof pid, "%d", getpid());
  const osq_table_plugin *t = &osq_table_process_open_files;
  tresult *r = trun_eq(t, "pid", pid);
  tcell *row = tfind_int(r, tcol(t, "fd"), fd);
  assert_non_null(row);
  assert_string_equal(row[tcol(t, "path")].s, p);
  for (size_t i = 0; i < r->n; i++)
    assert_int_equal(r->rows[i][0].i, getpid());
  tfree(r);
  close(fd);
}

static void test_process_envs(void **state) {
  (void)state;
  int pipefd[2];
  assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
  pid_t child = fork();
  assert_true(child >= 0);
  if (child == 0) {
    char *const argv[] = {"sleep", "3600", NULL}; /* killed below */
    char *const envp[] = {"OSQ_T=a=b", "EMPTY=", "NOEQUALS", NULL};
    execve("/bin/sleep", argv, envp);
    _exit(127);
  }
  close(pipefd[1]);
  /* the CLOEXEC pipe closes at exec: then environ is the new one */
  char b;
  assert_int_equal(read(pipefd[0], &b, 1), 0);
  close(pipefd[0]);
  char pid[32];
  snprintf(pid, sizeof pid, "%d", child);
  const osq_table_plugin *t = &osq_table_process_envs;
  tresult *r = trun_eq(t, "pid", pid);
  assert_int_equal(r->n, 2);
  tcell *row = tfind_text(r, tcol(t, "key"), "OSQ_T");
  assert_non_null(row);
  assert_string_equal(row[tcol(t, "value")].s, "a=b");
  row = tfind_text(r, tcol(t, "key"), "EMPTY");
  assert_string_equal(row[tcol(t, "value")].s, "");
  tfree(r);
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
}

static void test_network(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_interface_addresses;
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  tcell *lo = tfind_text(r, tcol(t, "address"), "127.0.0.1");
  if (lo) {
    assert_string_equal(lo[tcol(t, "interface")].s, "lo");
    assert_string_equal(lo[tcol(t, "mask")].s, "255.0.0.0");
  }
  tfree(r);
  t = &osq_table_interface_details;
  r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  lo = tfind_text(r, tcol(t, "interface"), "lo");
  if (lo) {
    assert_int_equal(lo[tcol(t, "type")].i, 772); /* ARPHRD_LOOPBACK */
    assert_true(lo[tcol(t, "mtu")].i > 0);
    assert_string_equal(lo[tcol(t, "mac")].s, "00:00:00:00:00:00");
  }
  tfree(r);
}

static void test_deb_packages(void **state) {
  (void)state;
  char dir[512];
  snprintf(dir, sizeof dir, "%s/dpkg", tfx_dir);
  assert_int_equal(mkdir(dir, 0755), 0);
  tfx_put("dpkg/status", "Package: libfoo1\n"
                         "Status: install ok installed\n"
                         "Priority: optional\n"
                         "Section: libs\n"
                         "Installed-Size: 123\n"
                         "Maintainer: Someone <s@example.org>\n"
                         "Architecture: amd64\n"
                         "Source: foo (1.2-3)\n"
                         "Version: 1:1.2-3+deb12u1\n"
                         "Description: a library\n"
                         " with a long description\n"
                         "Conffiles:\n /etc/foo abc\n"
                         "\n"
                         "garbage without colon\n"
                         "\n"
                         "Package: bar\n"
                         "Status: deinstall ok config-files\n"
                         "Version: 2.0\n"
                         "Installed-Size: notanumber\n");
  const osq_table_plugin *t = &osq_table_deb_packages;
  tresult *r = trun_eq(t, "admindir", dir);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 2);
  tcell *foo = tfind_text(r, tcol(t, "name"), "libfoo1");
  assert_string_equal(foo[tcol(t, "version")].s, "1:1.2-3+deb12u1");
  assert_string_equal(foo[tcol(t, "revision")].s, "3+deb12u1");
  assert_int_equal(foo[tcol(t, "size")].i, 123);
  assert_string_equal(foo[tcol(t, "arch")].s, "amd64");
  assert_string_equal(foo[tcol(t, "source")].s, "foo (1.2-3)");
  assert_string_equal(foo[tcol(t, "status")].s, "install ok installed");
  assert_string_equal(foo[tcol(t, "admindir")].s, dir);
  tcell *bar = tfind_text(r, tcol(t, "name"), "bar");
  assert_int_equal(bar[tcol(t, "size")].kind, OSQ_VALUE_NULL);
  assert_string_equal(bar[tcol(t, "revision")].s, "");
  tfree(r);
  struct stat st;
  if (stat("/var/lib/dpkg/status", &st) == 0) {
    r = trun_all(t);
    assert_non_null(tfind_text(r, tcol(t, "name"), "dpkg"));
    tfree(r);
  }
}

static void test_process_memory_map(void **state) {
  (void)state;
  char pid[32];
  snprintf(pid, sizeof pid, "%d", getpid());
  const osq_table_plugin *t = &osq_table_process_memory_map;
  tresult *r = trun_eq(t, "pid", pid);
  assert_int_equal(r->rc, OSQ_OK);
  assert_true(r->n > 5);
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  assert_true(n > 0);
  exe[n] = '\0';
  tcell *m = tfind_text(r, tcol(t, "path"), exe);
  assert_non_null(m);
  assert_int_equal(m[tcol(t, "pseudo")].i, 0);
  assert_true(m[tcol(t, "inode")].i > 0);
  assert_int_equal(strlen(m[tcol(t, "permissions")].s), 4);
  tcell *stack = tfind_text(r, tcol(t, "path"), "[stack]");
  assert_non_null(stack);
  assert_int_equal(stack[tcol(t, "pseudo")].i, 1);
  tfree(r);
}

static void test_known_hosts(void **state) {
  (void)state;
  char home[512], passwd[1024], p[600];
  snprintf(home, sizeof home, "%s/khome", tfx_dir);
  mkdir(home, 0755);
  snprintf(p, sizeof p, "%s/.ssh", home);
  mkdir(p, 0700);
  snprintf(passwd, sizeof passwd, "k:x:4300:4300::%s:/bin/sh\n", home);
  osq_tables_passwd_path = tfx_put("passwd-kh", passwd);
  tfx_put("khome/.ssh/known_hosts",
          "# comment\n|1|abc=|def= ssh-ed25519 AAAAC3Nz\n"
          "github.com ssh-rsa AAAAB3\n\n");
  const osq_table_plugin *t = &osq_table_known_hosts;
  tresult *r = trun_all(t);
  assert_int_equal(r->n, 2);
  assert_int_equal(r->rows[0][0].i, 4300);
  assert_string_equal(r->rows[1][1].s, "github.com ssh-rsa AAAAB3");
  tfree(r);
  osq_tables_passwd_path = "/etc/passwd";
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_kernel_memory_cpu),
      cmocka_unit_test(test_etc_hosts),
      cmocka_unit_test(test_user_groups),
      cmocka_unit_test(test_mounts),
      cmocka_unit_test(test_process_open_files),
      cmocka_unit_test(test_process_envs),
      cmocka_unit_test(test_network),
      cmocka_unit_test(test_deb_packages),
      cmocka_unit_test(test_process_memory_map),
      cmocka_unit_test(test_known_hosts),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
