#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "tables/builtin.h"
#include "tables/linux/system.h"
#include "tables/linux/users.h"
#include "tables/util.h"
#include "tables_fixture.h"

static int setup(void **state) {
  (void)state;
  tfx_make_dir("osq-tables-sys");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  tfx_remove_dir();
  return 0;
}

static void test_users_real(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_users;
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  tcell *root = tfind_int(r, tcol(t, "uid"), 0);
  assert_non_null(root);
  assert_string_equal(root[tcol(t, "username")].s, "root");
  assert_int_equal(root[tcol(t, "gid")].i, 0);
  assert_string_equal(root[tcol(t, "uuid")].s, "");
  struct passwd *pw = getpwuid(getuid());
  if (pw != NULL) { /* our own account, when it is a local one */
    tcell *me = tfind_int(r, tcol(t, "uid"), getuid());
    assert_non_null(me);
    assert_string_equal(me[tcol(t, "username")].s, pw->pw_name);
    assert_string_equal(me[tcol(t, "directory")].s, pw->pw_dir);
    assert_string_equal(me[tcol(t, "shell")].s, pw->pw_shell);
  }
  tfree(r);

  /* uid = 0 yields only root */
  osq_context *ctx = osq_context_new(t->columns, t->ncolumns);
  osq_context_add(ctx, (size_t)tcol(t, "uid"), OSQ_OP_EQ, "0", 1);
  r = trun(t, ctx);
  assert_int_equal(r->n, 1);
  assert_string_equal(r->rows[0][tcol(t, "username")].s, "root");
  tfree(r);
  osq_context_free(ctx);
}

static void test_users_malformed(void **state) {
  (void)state;
  char longline[OSQ_TBL_LINE_MAX * 2];
  memset(longline, 'x', sizeof longline - 1);
  longline[sizeof longline - 1] = '\0';
  char content[sizeof longline + 1024];
  snprintf(content, sizeof content,
           "# comment\n"
           "alice:x:1000:1000:Alice A,,,:/home/alice:/bin/bash\n"
           "bad:x:notanumber:1:d:/h:/s\n"
           "toofew:x:1:1\n"
           "toomany:x:1:1:d:/h:/s:extra\n"
           "%s:x:5:5:d:/h:/s\n"
           "huge:x:99999999999:1:d:/h:/s\n"
           "nobody:x:4294967294:4294967294::/nonexistent:/usr/sbin/nologin\n"
           ":x:7:7:d:/h:/s\n"
           "last:x:2:3:no newline:/l:/bin/sh",
           longline);
  osq_tables_passwd_path = tfx_put("passwd", content);
  const osq_table_plugin *t = &osq_table_users;
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 3);
  tcell *a = tfind_text(r, tcol(t, "username"), "alice");
  assert_non_null(a);
  assert_int_equal(a[tcol(t, "uid")].i, 1000);
  assert_string_equal(a[tcol(t, "description")].s, "Alice A,,,");
  tcell *n = tfind_text(r, tcol(t, "username"), "nobody");
  assert_int_equal(n[tcol(t, "uid")].i, 4294967294LL);
  assert_int_equal(n[tcol(t, "uid_signed")].i, -2);
  assert_int_equal(n[tcol(t, "gid_signed")].i, -2);
  tcell *l = tfind_text(r, tcol(t, "username"), "last");
  assert_string_equal(l[tcol(t, "shell")].s, "/bin/sh");
  tfree(r);
  /* a missing file is no rows, not a failure */
  osq_tables_passwd_path = "/nonexistent/passwd";
  r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 0);
  tfree(r);
  osq_tables_passwd_path = "/etc/passwd";
}

static void test_groups(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_groups;
  tresult *r = trun_all(t);
  tcell *root = tfind_int(r, tcol(t, "gid"), 0);
  assert_non_null(root);
  assert_string_equal(root[tcol(t, "groupname")].s, "root");
  tfree(r);
  osq_tables_group_path =
      tfx_put("group", "wheel:x:10:alice,bob\nbroken:x\nnogroup:x:65534:\n");
  r = trun_all(t);
  assert_int_equal(r->n, 2);
  tcell *ng = tfind_text(r, tcol(t, "groupname"), "nogroup");
  assert_int_equal(ng[tcol(t, "gid")].i, 65534);
  assert_int_equal(ng[tcol(t, "gid_signed")].i, 65534);
  tfree(r);
  osq_tables_group_path = "/etc/group";
}

static void test_os_version(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_os_version;
  osq_tables_os_release_path =
      tfx_put("os-release",
              "NAME=\"Ubuntu\"\nVERSION=\"22.04.3 LTS (Jammy Jellyfish)\"\n"
              "ID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"22.04\"\n"
              "VERSION_CODENAME=jammy\nGARBAGE LINE\n=\n");
  tresult *r = trun_all(t);
  assert_int_equal(r->n, 1);
  tcell *row = r->rows[0];
  assert_string_equal(row[tcol(t, "name")].s, "Ubuntu");
  assert_string_equal(row[tcol(t, "version")].s,
                      "22.04.3 LTS (Jammy Jellyfish)");
  assert_int_equal(row[tcol(t, "major")].i, 22);
  assert_int_equal(row[tcol(t, "minor")].i, 4);
  /* a part the release lacks is 0, as osquery reports it */
  assert_int_equal(row[tcol(t, "patch")].kind, OSQ_VALUE_INT);
  assert_int_equal(row[tcol(t, "patch")].i, 0);
  assert_string_equal(row[tcol(t, "platform")].s, "ubuntu");
  assert_string_equal(row[tcol(t, "platform_like")].s, "debian");
  assert_string_equal(row[tcol(t, "codename")].s, "jammy");
  struct utsname u;
  uname(&u);
  assert_string_equal(row[tcol(t, "arch")].s, u.machine);
  tfree(r);
  /* Debian: major only; a rolling release: no version at all */
  static const char *const releases[][2] = {
      {"NAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\n", "12.0.0"},
      {"NAME=\"Arch Linux\"\nID=arch\nBUILD_ID=rolling\n", "0.0.0"},
      {"VERSION_ID=1.2.3.4\n", "1.2.3"},
  };
  for (size_t i = 0; i < sizeof releases / sizeof *releases; i++) {
    osq_tables_os_release_path = tfx_put("os-release", releases[i][0]);
    r = trun_all(t);
    assert_int_equal(r->n, 1);
    row = r->rows[0];
    char got[64];
    assert_int_equal(row[tcol(t, "minor")].kind, OSQ_VALUE_INT);
    assert_int_equal(row[tcol(t, "patch")].kind, OSQ_VALUE_INT);
    snprintf(got, sizeof got, "%lld.%lld.%lld",
             (long long)row[tcol(t, "major")].i,
             (long long)row[tcol(t, "minor")].i,
             (long long)row[tcol(t, "patch")].i);
    assert_string_equal(got, releases[i][1]);
    tfree(r);
  }
  osq_tables_os_release_path = "/etc/os-release";
  r = trun_all(t);
  assert_int_equal(r->n, 1);
  assert_true(strlen(r->rows[0][tcol(t, "name")].s) > 0);
  tfree(r);
}

static void test_system_info_uptime(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_system_info;
  tresult *r = trun_all(t);
  assert_int_equal(r->n, 1);
  tcell *row = r->rows[0];
  char host[256];
  gethostname(host, sizeof host);
  assert_string_equal(row[tcol(t, "hostname")].s, host);
  assert_int_equal(strlen(row[tcol(t, "uuid")].s), 36);
  assert_int_equal(row[tcol(t, "cpu_logical_cores")].i,
                   sysconf(_SC_NPROCESSORS_CONF));
  assert_true(row[tcol(t, "cpu_physical_cores")].i >= 1);
  assert_true(row[tcol(t, "physical_memory")].i > 0);
  struct utsname u;
  uname(&u);
  assert_string_equal(row[tcol(t, "cpu_type")].s, u.machine);
  tfree(r);

  t = &osq_table_uptime;
  r = trun_all(t);
  row = r->rows[0];
  int64_t total = row[tcol(t, "total_seconds")].i;
  assert_true(total > 0);
  assert_int_equal(row[tcol(t, "days")].i * 86400 + row[tcol(t, "hours")].i * 3600 +
                       row[tcol(t, "minutes")].i * 60 + row[tcol(t, "seconds")].i,
                   total);
  tfree(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_users_real),
      cmocka_unit_test(test_users_malformed),
      cmocka_unit_test(test_groups),
      cmocka_unit_test(test_os_version),
      cmocka_unit_test(test_system_info_uptime),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
