/* shadow (against getent(1) and a fixture), selinux_settings and
 * apparmor_profiles (fixture trees shaped like selinuxfs and securityfs:
 * this machine runs neither module). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tables/builtin.h"
#include "tables/linux/misc.h"
#include "tables/linux/security.h"
#include "tables_fixture.h"

static int setup(void **state) {
  (void)state;
  tfx_make_dir("osq-tables-security");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  tfx_remove_dir();
  return 0;
}

/* getent shadow prints what getspent(3) returns: the table agrees. */
static void test_shadow_getent(void **state) {
  (void)state;
  if (access("/etc/shadow", R_OK) != 0)
    skip(); /* not root: the table and getent both see nothing */
  const osq_table_plugin *t = &osq_table_shadow;
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  FILE *p = popen("getent shadow", "r");
  assert_non_null(p);
  char line[1024];
  size_t n = 0;
  while (fgets(line, sizeof line, p)) {
    line[strcspn(line, "\n")] = '\0';
    char *f[9], *s = line;
    for (int i = 0; i < 9; i++)
      f[i] = strsep(&s, ":");
    assert_non_null(f[8]);
    tcell *row = tfind_text(r, tcol(t, "username"), f[0]);
    assert_non_null(row);
    static const char *const cols[] = {"last_change", "min",    "max",
                                       "warning",     "inactive", "expire"};
    for (int i = 0; i < 6; i++)
      assert_int_equal(row[tcol(t, cols[i])].i,
                       f[2 + i][0] ? atoll(f[2 + i]) : -1);
    n++;
  }
  pclose(p);
  assert_true(n > 0);
  assert_int_equal(r->n, n);
  tfree(r);
}

static void test_shadow_fixture(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_shadow;
  osq_tables_shadow_path = tfx_put(
      "shadow",
      "root:$6$salt$hashhash:19000:0:99999:7:::\n"
      "yes:$y$j9T$salt$hash:19001:1:2:3:4:5:6\n"
      "bcrypt:$2b$10$abcdefghijk:1::::::\n"
      "locked:!$6$x$y:1::::::\n"
      "star:*:1::::::\n"
      "unset:!!:1::::::\n"
      "empty::1::::::\n"
      "noprefix:plainhash:1::::::\n"
      "badnum:x:abc::::::\n"
      "short:x:1\n"
      ":x:1::::::\n");
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 8);
  static const struct {
    const char *user, *status, *alg;
  } want[] = {
      {"root", "active", "6"},   {"yes", "active", "y"},
      {"bcrypt", "active", "2b"}, {"locked", "locked", NULL},
      {"star", "locked", NULL},  {"unset", "not_set", NULL},
      {"empty", "empty", NULL},  {"noprefix", "active", NULL},
  };
  for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
    tcell *row = tfind_text(r, tcol(t, "username"), want[i].user);
    assert_non_null(row);
    assert_string_equal(row[tcol(t, "password_status")].s, want[i].status);
    if (want[i].alg)
      assert_string_equal(row[tcol(t, "hash_alg")].s, want[i].alg);
    else
      assert_int_equal(row[tcol(t, "hash_alg")].kind, OSQ_VALUE_NULL);
  }
  tcell *row = tfind_text(r, tcol(t, "username"), "yes");
  assert_int_equal(row[tcol(t, "last_change")].i, 19001);
  assert_int_equal(row[tcol(t, "min")].i, 1);
  assert_int_equal(row[tcol(t, "max")].i, 2);
  assert_int_equal(row[tcol(t, "warning")].i, 3);
  assert_int_equal(row[tcol(t, "inactive")].i, 4);
  assert_int_equal(row[tcol(t, "expire")].i, 5);
  assert_int_equal(row[tcol(t, "flag")].i, 6);
  row = tfind_text(r, tcol(t, "username"), "root");
  assert_int_equal(row[tcol(t, "inactive")].i, -1);
  assert_int_equal(row[tcol(t, "flag")].i, -1);
  tfree(r);

  /* username = ... (and IN lists) read only those accounts */
  r = trun_eq(t, "username", "star");
  assert_int_equal(r->n, 1);
  assert_string_equal(r->rows[0][tcol(t, "username")].s, "star");
  tfree(r);
  osq_context *ctx = osq_context_new(t->columns, t->ncolumns);
  osq_context_add(ctx, tcol(t, "username"), OSQ_OP_EQ, "root", 4);
  osq_context_add(ctx, tcol(t, "username"), OSQ_OP_EQ, "empty", 5);
  osq_context_add(ctx, tcol(t, "username"), OSQ_OP_EQ, "root", 4);
  r = trun(t, ctx);
  osq_context_free(ctx);
  assert_int_equal(r->n, 2);
  tfree(r);
  r = trun_eq(t, "username", "nobody-such");
  assert_int_equal(r->n, 0);
  tfree(r);

  osq_tables_shadow_path = "/nonexistent/shadow";
  r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 0);
  tfree(r);
  osq_tables_shadow_path = "/etc/shadow";
}

static const char *find_value(tresult *r, const osq_table_plugin *t,
                              const char *scope, const char *key) {
  for (size_t i = 0; i < r->n; i++) {
    tcell *row = r->rows[i];
    if (strcmp(row[tcol(t, "scope")].s, scope) == 0 &&
        strcmp(row[tcol(t, "key")].s, key) == 0)
      return row[tcol(t, "value")].kind == OSQ_VALUE_NULL
                 ? "(null)"
                 : row[tcol(t, "value")].s;
  }
  return NULL;
}

static void test_selinux_settings(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_selinux_settings;
  /* no selinuxfs in the mount table: no rows */
  osq_tables_mounts_path = tfx_put("mounts0", "proc /proc proc rw 0 0\n");
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 0);
  tfree(r);

  tfx_put("selinux/enforce", "1");
  tfx_put("selinux/checkreqprot", "0");
  tfx_put("selinux/deny_unknown", "0");
  tfx_put("selinux/mls", "1");
  tfx_put("selinux/policyvers", "33");
  /* reject_unknown missing: a row with a NULL value */
  tfx_put("selinux/booleans/httpd_can_network_connect", "1 1");
  tfx_put("selinux/booleans/ftpd_full_access", "0 0");
  tfx_put("selinux/booleans/pending_change", "1 0");
  tfx_put("selinux/policy_capabilities/open_perms", "1");
  tfx_put("selinux/initial_contexts/kernel", "system_u:system_r:kernel_t:s0");
  tfx_put("selinux/class/file/index", "6");
  tfx_put("selinux/class/file/perms/read", "2");
  tfx_put("selinux/class/file/perms/write", "3");
  char mounts[600];
  snprintf(mounts, sizeof mounts,
           "proc /proc proc rw 0 0\nselinuxfs %s/selinux selinuxfs rw 0 0\n",
           tfx_dir);
  osq_tables_mounts_path = tfx_put("mounts", mounts);
  r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_string_equal(find_value(r, t, "", "enforce"), "1");
  assert_string_equal(find_value(r, t, "", "policyvers"), "33");
  assert_string_equal(find_value(r, t, "", "reject_unknown"), "(null)");
  assert_string_equal(find_value(r, t, "booleans", "httpd_can_network_connect"),
                      "on");
  assert_string_equal(find_value(r, t, "booleans", "ftpd_full_access"), "off");
  assert_null(find_value(r, t, "booleans", "pending_change"));
  assert_string_equal(find_value(r, t, "policy_capabilities", "open_perms"),
                      "1");
  assert_string_equal(find_value(r, t, "initial_contexts", "kernel"),
                      "system_u:system_r:kernel_t:s0");
  assert_null(find_value(r, t, "class", "file"));
  size_t perms = 0;
  for (size_t i = 0; i < r->n; i++)
    if (strcmp(r->rows[i][tcol(t, "scope")].s, "class") == 0) {
      assert_string_equal(r->rows[i][tcol(t, "key")].s, "file/perms");
      perms++;
    }
  assert_int_equal(perms, 2);
  assert_int_equal(r->n, 6 + 2 + 1 + 1 + 2);
  tfree(r);
  osq_tables_mounts_path = "/proc/mounts";
}

static void test_apparmor_profiles(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_apparmor_profiles;
  char root[400];
  snprintf(root, sizeof root, "%s/profiles", tfx_dir);
  osq_tables_apparmor_profiles = root;
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 0); /* no tree: AppArmor off */
  tfree(r);

  tfx_put("profiles/usr.bin.man.1/name", "/usr/bin/man\n");
  tfx_put("profiles/usr.bin.man.1/mode", "enforce\n");
  tfx_put("profiles/usr.bin.man.1/attach", "/usr/bin/man\n");
  tfx_put("profiles/usr.bin.man.1/sha1", "ABCDEF0123\n");
  tfx_put("profiles/usr.bin.man.1/profiles/man_groff.2/name", "man_groff\n");
  tfx_put("profiles/usr.bin.man.1/profiles/man_groff.2/mode", "complain\n");
  tfx_put("profiles/usr.bin.man.1/profiles/man_groff.2/attach",
          "<unconfined>\n");
  tfx_put("profiles/broken.3/name", "no mode file\n");
  r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 2);
  tcell *row = tfind_text(r, tcol(t, "name"), "/usr/bin/man");
  assert_non_null(row);
  assert_string_equal(row[tcol(t, "path")].s, "/usr/bin/man");
  assert_string_equal(row[tcol(t, "mode")].s, "enforce");
  assert_string_equal(row[tcol(t, "sha1")].s, "ABCDEF0123");
  assert_int_equal(row[tcol(t, "sha256")].kind, OSQ_VALUE_NULL);
  row = tfind_text(r, tcol(t, "name"), "man_groff");
  assert_non_null(row);
  assert_string_equal(row[tcol(t, "path")].s, "/usr/bin/man//man_groff");
  assert_string_equal(row[tcol(t, "mode")].s, "complain");
  assert_string_equal(row[tcol(t, "attach")].s, "<unconfined>");
  tfree(r);
  osq_tables_apparmor_profiles =
      "/sys/kernel/security/apparmor/policy/profiles";
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shadow_getent),
      cmocka_unit_test_setup_teardown(test_shadow_fixture, setup, teardown),
      cmocka_unit_test_setup_teardown(test_selinux_settings, setup, teardown),
      cmocka_unit_test_setup_teardown(test_apparmor_profiles, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
