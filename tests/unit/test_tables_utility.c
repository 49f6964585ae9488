#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/flags.h"
#include "ext/introspect.h"
#include "registry/registry.h"
#include "tables/builtin.h"
#include "tables/tables.h"
#include "tables/utility/osquery_info.h"
#include "tables_fixture.h"

static int setup(void **state) {
  (void)state;
  osq_flags_init(OSQ_PERSONALITY_SHELL);
  tfx_make_dir("osq-tables-util");
  char p[512];
  snprintf(p, sizeof p, "%s/instance_id", tfx_dir);
  osq_info_set_instance_path(p);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  tfx_remove_dir();
  osq_introspect_set_manager(NULL, NULL);
  osq_info_set_instance_path(NULL);
  osq_info_set_config(NULL, false);
  osq_registry_reset();
  osq_flags_shutdown();
  return 0;
}

static void test_osquery_info(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_osquery_info;
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 1);
  tcell *row = r->rows[0];
  assert_int_equal(row[tcol(t, "pid")].i, getpid());
  /* the osquery version osq behaves as; osq's own is osq_version */
  assert_string_equal(row[tcol(t, "version")].s, OSQ_SDK_VERSION);
  assert_string_equal(row[tcol(t, "osq_version")].s, OSQ_VERSION);
  assert_int_equal(strlen(row[tcol(t, "uuid")].s), 36);
  assert_int_equal(strlen(row[tcol(t, "instance_id")].s), 36);
  assert_string_equal(row[tcol(t, "extensions")].s, "inactive");
  assert_string_equal(row[tcol(t, "build_platform")].s, "linux");
  assert_int_equal(row[tcol(t, "watcher")].i, -1);
  assert_int_equal(row[tcol(t, "platform_mask")].i, 9);
  assert_int_equal(row[tcol(t, "config_valid")].i, 0);
  assert_string_equal(row[tcol(t, "config_hash")].s, "");
  int64_t start = row[tcol(t, "start_time")].i;
  assert_true(start > 1500000000 && start <= (int64_t)time(NULL));

  /* the instance id is kept in its file and stays the same */
  char path[512], buf[64] = "";
  snprintf(path, sizeof path, "%s/instance_id", tfx_dir);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  assert_non_null(fgets(buf, sizeof buf, f));
  fclose(f);
  buf[strcspn(buf, "\n")] = '\0';
  assert_string_equal(buf, row[tcol(t, "instance_id")].s);
  char id1[64];
  snprintf(id1, sizeof id1, "%s", buf);
  tfree(r);

  /* a new process (cache reset) reads the same id back */
  osq_info_set_instance_path(path);
  osq_info_set_config("abc123", true);
  osq_info_set_watcher(4242);
  r = trun_all(t);
  row = r->rows[0];
  assert_string_equal(row[tcol(t, "instance_id")].s, id1);
  assert_string_equal(row[tcol(t, "config_hash")].s, "abc123");
  assert_int_equal(row[tcol(t, "config_valid")].i, 1);
  assert_int_equal(row[tcol(t, "watcher")].i, 4242);
  tfree(r);
  osq_info_set_watcher(-1);

  /* a garbage instance file is replaced by nothing: a fresh id is used */
  f = fopen(path, "w");
  fputs("not-a-uuid\n", f);
  fclose(f);
  osq_info_set_instance_path(path);
  char id2[37];
  osq_info_instance_id(id2);
  assert_int_equal(strlen(id2), 36);
  assert_string_not_equal(id2, "not-a-uuid");
}

static void test_osquery_info_daemon_ids(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_osquery_info;
  const char *h = "11111111-2222-3333-4444-555555555555";
  const char *i = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
  assert_false(osq_info_set_host_uuid("not-a-uuid"));
  assert_false(osq_info_set_instance_id("1234"));
  assert_true(osq_info_set_host_uuid(h));
  assert_true(osq_info_set_instance_id(i));
  tresult *r = trun_all(t);
  assert_string_equal(r->rows[0][tcol(t, "uuid")].s, h);
  assert_string_equal(r->rows[0][tcol(t, "instance_id")].s, i);
  tfree(r);
  assert_true(osq_info_set_host_uuid(NULL));
  assert_true(osq_info_set_instance_id(NULL));
  r = trun_all(t);
  assert_string_not_equal(r->rows[0][tcol(t, "uuid")].s, h);
  assert_string_not_equal(r->rows[0][tcol(t, "instance_id")].s, i);
  tfree(r);
}

static void test_osquery_info_extensions_active(void **state) {
  (void)state;
  char sock[512];
  snprintf(sock, sizeof sock, "%s/em", tfx_dir);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  assert_true(strlen(sock) < sizeof sa.sun_path);
  memcpy(sa.sun_path, sock, strlen(sock) + 1);
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal(listen(fd, 8), 0);
  osq_introspect_set_manager(sock, NULL);
  const osq_table_plugin *t = &osq_table_osquery_info;
  tresult *r = trun_all(t);
  assert_string_equal(r->rows[0][tcol(t, "extensions")].s, "active");
  tfree(r);
  close(fd);
  unlink(sock);
  /* a socket path nobody listens on is inactive */
  r = trun_all(t);
  assert_string_equal(r->rows[0][tcol(t, "extensions")].s, "inactive");
  tfree(r);
  osq_introspect_set_manager(NULL, NULL);
}

static void test_osquery_flags(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_osquery_flags;
  char err[256];
  assert_int_equal(OSQ_FLAG_SET(verbose, "true", err, sizeof err), 0);
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_true(r->n > 20);
  int name = tcol(t, "name");
  tcell *v = tfind_text(r, name, "verbose");
  assert_non_null(v);
  assert_string_equal(v[tcol(t, "type")].s, "bool");
  assert_string_equal(v[tcol(t, "default_value")].s, "false");
  assert_string_equal(v[tcol(t, "value")].s, "true");
  assert_int_equal(v[tcol(t, "shell_only")].i, 0);
  tcell *rm = tfind_text(r, name, "read_max");
  assert_non_null(rm);
  assert_string_equal(rm[tcol(t, "type")].s, "uint64");
  for (size_t i = 0; i < r->n; i++)
    assert_true(strlen(r->rows[i][name].s) > 2); /* no -S, -D */
  assert_null(tfind_text(r, name, "S"));
  tfree(r);
  assert_int_equal(OSQ_FLAG_SET(verbose, "false", err, sizeof err), 0);
}

static void test_osquery_registry(void **state) {
  (void)state;
  osq_registry_reset();
  assert_int_equal(osq_tables_register_builtin(), OSQ_OK);
  assert_int_equal(osq_tables_register_builtin(), OSQ_OK); /* idempotent */
  osq_logger_plugin lg = {.name = "filesystem"};
  osq_table_plugin ext = {.name = "aaa_ext_table"};
  char err[256];
  assert_int_equal(
      osq_registry_add(OSQ_REGISTRY_LOGGER, &lg, 0, false, err, sizeof err),
      OSQ_OK);
  assert_int_equal(
      osq_registry_add(OSQ_REGISTRY_TABLE, &ext, 77, false, err, sizeof err),
      OSQ_OK);
  const osq_table_plugin *t = &osq_table_osquery_registry;
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  int name = tcol(t, "name");
  const char *expect[] = {"processes", "time", "osquery_info",
                          "osquery_flags", "osquery_registry",
                          "osquery_extensions", "file", "hash", "users",
                          "groups", "system_info", "os_version", "uptime"};
  for (size_t i = 0; i < sizeof expect / sizeof *expect; i++) {
    tcell *row = tfind_text(r, name, expect[i]);
    assert_non_null(row);
    assert_string_equal(row[tcol(t, "registry")].s, "table");
    assert_int_equal(row[tcol(t, "owner_uuid")].i, 0);
    assert_int_equal(row[tcol(t, "active")].i, 1);
    assert_int_equal(row[tcol(t, "internal")].i, 0);
  }
  /* registries in name order; core plugins before extension routes */
  assert_string_equal(r->rows[0][tcol(t, "registry")].s, "logger");
  tcell *last = r->rows[r->n - 1];
  assert_string_equal(last[name].s, "aaa_ext_table");
  assert_int_equal(last[tcol(t, "owner_uuid")].i, 77);
  tcell *l = tfind_text(r, name, "filesystem");
  assert_int_equal(l[tcol(t, "active")].i, 1);
  tfree(r);

  /* --disable_logging turns every logger inactive */
  assert_int_equal(OSQ_FLAG_SET(disable_logging, "true", err, sizeof err),
                   0);
  r = trun_all(t);
  l = tfind_text(r, name, "filesystem");
  assert_int_equal(l[tcol(t, "active")].i, 0);
  tfree(r);
  assert_int_equal(OSQ_FLAG_SET(disable_logging, "false", err, sizeof err),
                   0);
  /* an active plugin set: only it is active */
  osq_registry_set_active(OSQ_REGISTRY_LOGGER, "tls");
  r = trun_all(t);
  l = tfind_text(r, name, "filesystem");
  assert_int_equal(l[tcol(t, "active")].i, 0);
  tfree(r);
  osq_registry_set_active(OSQ_REGISTRY_LOGGER, NULL);
  osq_registry_reset();
}

static size_t one_ext(osq_ext_view **out) {
  osq_ext_view *v = calloc(1, sizeof *v);
  v->uuid = 5;
  v->name = strdup("example");
  v->version = strdup("1.2.3");
  v->sdk_version = strdup("5.12.1");
  v->min_sdk_version = strdup("1.8.0");
  v->path = strdup("/tmp/x.em.5");
  *out = v;
  return 1;
}

static void test_osquery_extensions(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_osquery_extensions;
  tresult *r = trun_all(t);
  assert_int_equal(r->n, 0); /* no manager */
  tfree(r);
  osq_introspect_set_manager("/tmp/x.em", one_ext);
  r = trun_all(t);
  assert_int_equal(r->n, 2);
  tcell *core = r->rows[0];
  assert_int_equal(core[tcol(t, "uuid")].i, 0);
  assert_string_equal(core[tcol(t, "name")].s, "core");
  assert_string_equal(core[tcol(t, "version")].s, OSQ_VERSION);
  assert_string_equal(core[tcol(t, "sdk_version")].s, "0.0.0");
  assert_string_equal(core[tcol(t, "path")].s, "/tmp/x.em");
  assert_string_equal(core[tcol(t, "type")].s, "core");
  tcell *e = r->rows[1];
  assert_int_equal(e[tcol(t, "uuid")].i, 5);
  assert_string_equal(e[tcol(t, "name")].s, "example");
  assert_string_equal(e[tcol(t, "version")].s, "1.2.3");
  assert_string_equal(e[tcol(t, "sdk_version")].s, "1.8.0"); /* the swap */
  assert_string_equal(e[tcol(t, "path")].s, "/tmp/x.em.5");
  assert_string_equal(e[tcol(t, "type")].s, "extension");
  tfree(r);
  osq_introspect_set_manager(NULL, NULL);
}

static void test_time(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_time;
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 1);
  tcell *row = r->rows[0];
  time_t unix_time = (time_t)row[tcol(t, "unix_time")].i;
  struct tm tm;
  gmtime_r(&unix_time, &tm);
  assert_int_equal(row[tcol(t, "year")].i, tm.tm_year + 1900);
  assert_int_equal(row[tcol(t, "month")].i, tm.tm_mon + 1);
  assert_int_equal(row[tcol(t, "day")].i, tm.tm_mday);
  assert_int_equal(row[tcol(t, "hour")].i, tm.tm_hour);
  assert_int_equal(row[tcol(t, "minutes")].i, tm.tm_min);
  assert_int_equal(row[tcol(t, "seconds")].i, tm.tm_sec);
  assert_string_equal(row[tcol(t, "timezone")].s, "UTC");
  char want[64];
  strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%SZ", &tm);
  assert_string_equal(row[tcol(t, "datetime")].s, want);
  assert_string_equal(row[tcol(t, "iso_8601")].s, want);
  assert_string_equal(row[tcol(t, "date_time")].s, want);
  strftime(want, sizeof want, "%A", &tm);
  assert_string_equal(row[tcol(t, "weekday")].s, want);
  /* asctime layout + " UTC" */
  char asc[64];
  asctime_r(&tm, asc);
  asc[strcspn(asc, "\n")] = '\0';
  strcat(asc, " UTC");
  assert_string_equal(row[tcol(t, "timestamp")].s, asc);
  assert_true(row[tcol(t, "year")].i >= 2024);
  tfree(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_osquery_info),
      cmocka_unit_test(test_osquery_info_daemon_ids),
      cmocka_unit_test(test_osquery_info_extensions_active),
      cmocka_unit_test(test_osquery_flags),
      cmocka_unit_test(test_osquery_registry),
      cmocka_unit_test(test_osquery_extensions),
      cmocka_unit_test(test_time),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
