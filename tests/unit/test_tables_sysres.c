/* load_average, ulimit_info, etc_services, etc_protocols, memory_map and
 * kernel_keys: values checked against /proc/loadavg, prlimit(1),
 * getent(1), parses of /etc/protocols and /proc/iomem independent of the
 * table's, and a key keyctl(1) adds, plus fixtures for the parsers' edge
 * cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tables/builtin.h"
#include "tables/linux/netdb.h"
#include "tables/linux/resources.h"
#include "tables_fixture.h"

static int setup(void **state) {
  (void)state;
  tfx_make_dir("osq-tables-sysres");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  tfx_remove_dir();
  return 0;
}

static void test_load_average(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_load_average;
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 3);
  double proc[3];
  FILE *f = fopen("/proc/loadavg", "r");
  assert_non_null(f);
  assert_int_equal(fscanf(f, "%lf %lf %lf", &proc[0], &proc[1], &proc[2]), 3);
  fclose(f);
  static const char *const periods[] = {"1m", "5m", "15m"};
  for (int i = 0; i < 3; i++) {
    tcell *row = tfind_text(r, tcol(t, "period"), periods[i]);
    assert_non_null(row);
    const char *avg = row[tcol(t, "average")].s;
    /* "%f": six decimals */
    assert_non_null(strchr(avg, '.'));
    assert_int_equal(strlen(strchr(avg, '.')), 7);
    /* the kernel refreshes the averages every 5 s: allow for one step */
    assert_true(fabs(atof(avg) - proc[i]) < 2.0);
  }
  tfree(r);
}

static void test_ulimit_info(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_ulimit_info;
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 15);
  char cmd[128];
  snprintf(cmd, sizeof cmd,
           "prlimit --pid %d --raw --noheadings --output RESOURCE,SOFT,HARD",
           (int)getpid());
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  char res[32], soft[32], hard[32];
  int checked = 0;
  while (fscanf(p, "%31s %31s %31s", res, soft, hard) == 3) {
    for (char *c = res; *c; c++)
      *c = (char)(*c - 'A' + 'a');
    tcell *row = tfind_text(r, tcol(t, "type"), res);
    if (row == NULL) {
      assert_string_equal(res, "rttime"); /* osquery does not list it */
      continue;
    }
    assert_string_equal(row[tcol(t, "soft_limit")].s, soft);
    assert_string_equal(row[tcol(t, "hard_limit")].s, hard);
    checked++;
  }
  assert_int_equal(pclose(p), 0);
  assert_int_equal(checked, 15);
  tfree(r);
}

/* Every service getent lists is a row with the same port and aliases. */
static void test_etc_services_getent(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_etc_services;
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_true(r->n > 100);
  FILE *p = popen("getent services", "r");
  assert_non_null(p);
  char line[1024];
  size_t seen = 0;
  while (fgets(line, sizeof line, p)) {
    char name[256], portproto[64];
    if (sscanf(line, "%255s %63s", name, portproto) != 2)
      continue;
    char *slash = strchr(portproto, '/');
    assert_non_null(slash);
    *slash = '\0';
    bool found = false;
    for (size_t i = 0; i < r->n && !found; i++) {
      tcell *row = r->rows[i];
      found = strcmp(row[tcol(t, "name")].s, name) == 0 &&
              row[tcol(t, "port")].i == atoi(portproto) &&
              strcmp(row[tcol(t, "protocol")].s, slash + 1) == 0;
    }
    if (!found)
      fail_msg("getent service %s %s/%s is not a row", name, portproto,
               slash + 1);
    seen++;
  }
  assert_int_equal(pclose(p), 0);
  assert_int_equal(seen, r->n);
  tfree(r);
}

static void test_etc_services_fixture(void **state) {
  (void)state;
  osq_tables_services_path =
      tfx_put("services", "# comment line\n"
                          "\n"
                          "ssh\t\t22/tcp\t\t\t# SSH Remote Login Protocol\n"
                          "  spaced 7/udp echo-alias  other # a ## b #\n"
                          "noport\n"
                          "badport x/tcp\n"
                          "toobig 70000/tcp\n"
                          "last 9/sctp");
  const osq_table_plugin *t = &osq_table_etc_services;
  tresult *r = trun_all(t);
  assert_int_equal(r->n, 3);
  tcell *row = tfind_text(r, tcol(t, "name"), "ssh");
  assert_int_equal(row[tcol(t, "port")].i, 22);
  assert_string_equal(row[tcol(t, "protocol")].s, "tcp");
  assert_string_equal(row[tcol(t, "aliases")].s, "");
  assert_string_equal(row[tcol(t, "comment")].s, "SSH Remote Login Protocol");
  row = tfind_text(r, tcol(t, "name"), "spaced");
  assert_string_equal(row[tcol(t, "aliases")].s, "echo-alias other");
  assert_string_equal(row[tcol(t, "comment")].s, "a # b");
  row = tfind_text(r, tcol(t, "name"), "last");
  assert_int_equal(row[tcol(t, "comment")].kind, OSQ_VALUE_NULL);
  tfree(r);
  osq_tables_services_path = "/nonexistent/services";
  r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 0);
  tfree(r);
  osq_tables_services_path = "/etc/services";
}

/* /etc/protocols parsed here with sscanf, line by line. */
static void test_etc_protocols(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_etc_protocols;
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  FILE *f = fopen("/etc/protocols", "r");
  assert_non_null(f);
  char line[1024];
  size_t expect = 0;
  while (fgets(line, sizeof line, f)) {
    char name[128], alias[128];
    int number;
    line[strcspn(line, "#")] = '\0';
    int got = sscanf(line, "%127s %d %127s", name, &number, alias);
    if (got < 2)
      continue;
    expect++;
    tcell *row = tfind_text(r, tcol(t, "name"), name);
    assert_non_null(row);
    assert_int_equal(row[tcol(t, "number")].i, number);
    if (got == 3)
      assert_string_equal(row[tcol(t, "alias")].s, alias);
  }
  fclose(f);
  assert_true(expect > 10);
  assert_int_equal(r->n, expect);
  tcell *tcp = tfind_text(r, tcol(t, "name"), "tcp");
  assert_non_null(tcp);
  assert_int_equal(tcp[tcol(t, "number")].i, 6);
  tfree(r);

  osq_tables_protocols_path =
      tfx_put("protocols", "ip 0 IP\t# internet protocol\n"
                           "noalias 200\n"
                           "bad x Y\n");
  r = trun_all(t);
  assert_int_equal(r->n, 2);
  tcell *row = tfind_text(r, tcol(t, "name"), "ip");
  assert_string_equal(row[tcol(t, "alias")].s, "IP");
  assert_string_equal(row[tcol(t, "comment")].s, "internet protocol");
  row = tfind_text(r, tcol(t, "name"), "noalias");
  assert_int_equal(row[tcol(t, "alias")].kind, OSQ_VALUE_NULL);
  tfree(r);
  osq_tables_protocols_path = "/etc/protocols";
}

/* /proc/iomem split by awk: the same rows in the same order. */
static void test_memory_map(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_memory_map;
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  FILE *p = popen("awk -F ' : ' '{split($1, a, \"-\"); gsub(/ /, \"\", a[1]);"
                  " print \"0x\" a[1] \"|0x\" a[2] \"|\" $2}' /proc/iomem",
                  "r");
  assert_non_null(p);
  char line[512];
  size_t i = 0;
  while (fgets(line, sizeof line, p)) {
    line[strcspn(line, "\n")] = '\0';
    assert_true(i < r->n);
    char row[600];
    snprintf(row, sizeof row, "%s|%s|%s", r->rows[i][tcol(t, "start")].s,
             r->rows[i][tcol(t, "end")].s, r->rows[i][tcol(t, "name")].s);
    assert_string_equal(row, line);
    i++;
  }
  pclose(p);
  assert_true(i > 0);
  assert_int_equal(r->n, i);
  tfree(r);

  osq_tables_iomem_path =
      tfx_put("iomem", "00000000-00000fff : Reserved\n"
                       "  000a0000-000bffff : PCI Bus 0000:00\n"
                       "zz-00ff : not hex\n"
                       "00001000 : no range\n"
                       "00002000-00002fff :\n"
                       "100000000-43fffffff : System RAM");
  r = trun_all(t);
  assert_int_equal(r->n, 3);
  tcell *row = tfind_text(r, tcol(t, "name"), "PCI Bus 0000:00");
  assert_string_equal(row[tcol(t, "start")].s, "0x000a0000");
  assert_string_equal(row[tcol(t, "end")].s, "0x000bffff");
  row = tfind_text(r, tcol(t, "name"), "System RAM");
  assert_string_equal(row[tcol(t, "end")].s, "0x43fffffff");
  tfree(r);
  osq_tables_iomem_path = "/nonexistent/iomem";
  r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 0);
  tfree(r);
  osq_tables_iomem_path = "/proc/iomem";
}

/* A user key keyctl adds is a row with its serial in hex. */
static void test_kernel_keys(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_kernel_keys;
  FILE *p = popen("keyctl add user osq-test-key hello @u 2>&1", "r");
  assert_non_null(p);
  long serial = 0;
  char msg[256] = "";
  bool added = fscanf(p, "%ld", &serial) == 1;
  if (!added && fgets(msg, sizeof msg, p) == NULL)
    msg[0] = '\0';
  int rc = pclose(p);
  if (!added || rc != 0) {
    /* container runtimes' seccomp profiles often refuse add_key(2) */
    fprintf(stderr, "skipping: keyctl cannot add a key here: %s\n", msg);
    skip();
  }
  char hex[32];
  snprintf(hex, sizeof hex, "%08lx", serial);
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  tcell *row = tfind_text(r, tcol(t, "serial_number"), hex);
  assert_non_null(row);
  assert_string_equal(row[tcol(t, "type")].s, "user");
  /* "osq-test-key: 5" joined as osquery joins it */
  assert_string_equal(row[tcol(t, "description")].s, "osq-test-key:5");
  assert_int_equal(row[tcol(t, "uid")].i, getuid());
  assert_int_equal(row[tcol(t, "gid")].i, getgid());
  assert_int_equal(row[tcol(t, "usage")].i, 1);
  assert_string_equal(row[tcol(t, "timeout")].s, "perm");
  assert_int_equal(strlen(row[tcol(t, "permissions")].s), 8);
  tfree(r);
  char cmd[96];
  snprintf(cmd, sizeof cmd, "keyctl revoke %ld; keyctl unlink %ld @u", serial,
           serial);
  assert_int_equal(system(cmd), 0);
}

/* /proc/keys lines of other shapes, from a fixture. */
static void test_kernel_keys_fixture(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_kernel_keys;
  tresult *r;
  osq_tables_keys_path = tfx_put(
      "keys", "0d36d910 I--Q---     2 perm 1f3f0000     0 65534 keyring   "
              "_uid.0: empty\n"
              "short line\n"
              "1234abcd I------     1 perm 1f0b0000     0     0 keyring   "
              "three word desc: 1\n");
  r = trun_all(t);
  assert_int_equal(r->n, 1);
  assert_string_equal(r->rows[0][tcol(t, "description")].s, "_uid.0:empty");
  assert_int_equal(r->rows[0][tcol(t, "gid")].i, 65534);
  tfree(r);
  osq_tables_keys_path = "/proc/keys";
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_load_average),
      cmocka_unit_test(test_ulimit_info),
      cmocka_unit_test(test_etc_services_getent),
      cmocka_unit_test_setup_teardown(test_etc_services_fixture, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_etc_protocols, setup, teardown),
      cmocka_unit_test_setup_teardown(test_memory_map, setup, teardown),
      cmocka_unit_test(test_kernel_keys),
      cmocka_unit_test_setup_teardown(test_kernel_keys_fixture, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
