/* startup_items: the machine's /etc/init.d and /etc/xdg/autostart against
 * find(1) and grep(1), and a fixture root with user autostart entries and
 * scripts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tables/builtin.h"
#include "tables/linux/startup_items.h"
#include "tables/linux/users.h"
#include "tables_fixture.h"

static int setup(void **state) {
  (void)state;
  tfx_make_dir("osq-tables-startup");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  osq_tables_passwd_path = "/etc/passwd";
  osq_tables_startup_root = "";
  tfx_remove_dir();
  return 0;
}

static size_t rows_from(tresult *r, const osq_table_plugin *t,
                        const char *source) {
  size_t n = 0;
  for (size_t i = 0; i < r->n; i++)
    n += strcmp(r->rows[i][tcol(t, "source")].s, source) == 0;
  return n;
}

static size_t count_cmd(const char *cmd) {
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  size_t n = 0;
  assert_int_equal(fscanf(p, "%zu", &n), 1);
  pclose(p);
  return n;
}

static void test_startup_items_system(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_startup_items;
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(rows_from(r, t, "/etc/init.d/"),
                   count_cmd("find -L /etc/init.d -mindepth 1 -maxdepth 1 "
                             "-type f 2>/dev/null | wc -l"));
  assert_int_equal(rows_from(r, t, "/etc/xdg/autostart/"),
                   count_cmd("find -L /etc/xdg/autostart -mindepth 1 "
                             "-maxdepth 1 -type f 2>/dev/null | wc -l"));
  for (size_t i = 0; i < r->n; i++) {
    tcell *row = r->rows[i];
    if (strcmp(row[tcol(t, "type")].s, "systemd unit") == 0)
      continue; /* a running manager's units: test_table_startup_items.py */
    assert_string_equal(row[tcol(t, "type")].s, "Startup Item");
    assert_string_equal(row[tcol(t, "status")].s, "enabled");
    if (strcmp(row[tcol(t, "source")].s, "/etc/init.d/") == 0) {
      char expect[512];
      snprintf(expect, sizeof expect, "/etc/init.d/%s",
               row[tcol(t, "name")].s);
      assert_string_equal(row[tcol(t, "path")].s, expect);
    }
  }
  tfree(r);
}

static void test_startup_items_fixture(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_startup_items;
  char text[1200];
  snprintf(text, sizeof text,
           "alice:x:1000:1000::%s/home/alice:/bin/sh\n"
           "alias:x:1000:1000::%s/home/alice/:/bin/sh\n"
           "nohome:x:1001:1001::%s/home/none:/bin/sh\n",
           tfx_dir, tfx_dir, tfx_dir);
  osq_tables_passwd_path = tfx_put("passwd", text);
  osq_tables_startup_root = tfx_dir;
  tfx_put("home/alice/.config/autostart/app.desktop",
          "[Desktop Entry]\r\n"
          "Type=Application\r\n"
          "Name[de]=Anwendung\r\n"
          "Name=My App\r\n"
          "Exec=/usr/bin/myapp --start\r\n");
  tfx_put("home/alice/.config/autostart/args.desktop",
          "[Desktop Entry]\nName=With Args\nExec=/usr/bin/x --opt=1\n");
  tfx_put("home/alice/.config/autostart-scripts/run.sh", "#!/bin/sh\n");
  tfx_put("etc/init.d/ssh", "#!/bin/sh\n");
  tfx_put("etc/init.d/subdir/ignored", "");
  tfx_put("etc/xdg/autostart/agent.desktop",
          "[Desktop Entry]\nName=Agent\nExec=/usr/libexec/agent\n");
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 5); /* a fixture root: no systemd units asked for */
  char src[600];
  tcell *row = tfind_text(r, tcol(t, "name"), "My App");
  assert_non_null(row);
  assert_string_equal(row[tcol(t, "path")].s, "/usr/bin/myapp --start");
  snprintf(src, sizeof src, "%s/home/alice/.config/autostart/", tfx_dir);
  assert_string_equal(row[tcol(t, "source")].s, src);
  assert_string_equal(row[tcol(t, "username")].s, "alice");
  assert_int_equal(row[tcol(t, "args")].kind, OSQ_VALUE_NULL);
  /* an Exec= with '=' in it gives no path, as in osquery */
  row = tfind_text(r, tcol(t, "name"), "With Args");
  assert_non_null(row);
  assert_int_equal(row[tcol(t, "path")].kind, OSQ_VALUE_NULL);
  row = tfind_text(r, tcol(t, "name"), "run.sh");
  assert_non_null(row);
  snprintf(src, sizeof src, "%s/home/alice/.config/autostart-scripts/run.sh",
           tfx_dir);
  assert_string_equal(row[tcol(t, "path")].s, src);
  row = tfind_text(r, tcol(t, "name"), "ssh");
  assert_non_null(row);
  assert_int_equal(row[tcol(t, "username")].kind, OSQ_VALUE_NULL);
  snprintf(src, sizeof src, "%s/etc/init.d/", tfx_dir);
  assert_string_equal(row[tcol(t, "source")].s, src);
  row = tfind_text(r, tcol(t, "name"), "Agent");
  assert_non_null(row);
  assert_string_equal(row[tcol(t, "path")].s, "/usr/libexec/agent");
  tfree(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_startup_items_system),
      cmocka_unit_test_setup_teardown(test_startup_items_fixture, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
