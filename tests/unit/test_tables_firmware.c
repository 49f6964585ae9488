/* acpi_tables against md5sum(1) and stat(1) of the files under
 * /sys/firmware/acpi/tables and of a fixture tree; msr on a fixture
 * "device" (a file pread at the register addresses) and on the machine,
 * where /dev/cpu/N/msr opens only with the msr module and root;
 * intel_me_info empty without an ME device. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tables/builtin.h"
#include "tables/linux/firmware.h"
#include "tables_fixture.h"

static int setup(void **state) {
  (void)state;
  tfx_make_dir("osq-tables-firmware");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  tfx_remove_dir();
  return 0;
}

/* Every regular file under dir: its md5sum and size must be a row with
 * the file's base name. Returns how many files were checked. */
static size_t check_acpi_against(const char *dir, tresult *r,
                                 const osq_table_plugin *t) {
  char cmd[700];
  snprintf(cmd, sizeof cmd,
           "find '%s' -type f -print0 | sort -z | "
           "xargs -0 -r -n1 sh -c 'printf \"%%s %%s \" $(basename \"$0\") "
           "$(stat -c %%s \"$0\"); md5sum < \"$0\" | cut -c1-32' ",
           dir);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  char name[256], md5[64];
  long long size;
  size_t n = 0;
  while (fscanf(p, "%255s %lld %63s", name, &size, md5) == 3) {
    bool found = false;
    for (size_t i = 0; i < r->n && !found; i++) {
      tcell *row = r->rows[i];
      if (strcmp(row[tcol(t, "name")].s, name) != 0 ||
          strcmp(row[tcol(t, "md5")].s, md5) != 0)
        continue;
      /* sysfs reports a size of 0 for some tables: the bytes read count */
      if (size != 0)
        assert_int_equal(row[tcol(t, "size")].i, size);
      found = true;
    }
    if (!found)
      fail_msg("no row for %s (%s)", name, md5);
    n++;
  }
  pclose(p);
  return n;
}

static void test_acpi_live(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_acpi_tables;
  if (access("/sys/firmware/acpi/tables", R_OK) != 0) {
    print_message("no readable /sys/firmware/acpi/tables: skipped\n");
    skip();
  }
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  size_t n = check_acpi_against("/sys/firmware/acpi/tables", r, t);
  assert_int_equal(r->n, n);
  tfree(r);
}

static void test_acpi_fixture(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_acpi_tables;
  tfx_put("acpi/DSDT", "DSDT\x10\x00\x00\x00 fake table body");
  tfx_put("acpi/FACP", "");
  tfx_put("acpi/dynamic/SSDT1", "SSDT one");
  tfx_put("acpi/data/BERT", "error record");
  char dir[400], link[450];
  snprintf(dir, sizeof dir, "%s/acpi", tfx_dir);
  snprintf(link, sizeof link, "%s/loop", dir);
  assert_int_equal(symlink(".", link), 0); /* not followed */
  osq_tables_acpi_path = dir;
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 4);
  assert_int_equal(check_acpi_against(dir, r, t), 4);
  tcell *row = tfind_text(r, tcol(t, "name"), "FACP");
  assert_int_equal(row[tcol(t, "size")].i, 0);
  assert_string_equal(row[tcol(t, "md5")].s,
                      "d41d8cd98f00b204e9800998ecf8427e");
  tfree(r);
  osq_tables_acpi_path = "/nonexistent/acpi";
  r = trun_all(t);
  assert_int_equal(r->n, 0);
  tfree(r);
  osq_tables_acpi_path = "/sys/firmware/acpi/tables";
}

static void put_u64(int fd, off_t at, uint64_t v) {
  assert_int_equal(pwrite(fd, &v, sizeof v, at), sizeof v);
}

static void test_msr_fixture(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_msr;
  char path[400];
  tfx_put("cpu/0/msr", "");
  tfx_put("cpu/1/cpuid", ""); /* no msr node: no row */
  tfx_put("cpu/microcode/x", "");
  snprintf(path, sizeof path, "%s/cpu/0/msr", tfx_dir);
  int fd = open(path, O_WRONLY);
  assert_true(fd >= 0);
  /* a file's registers overlap (0x198 covers bytes 0x198-0x19f): write
   * them in address order, each low byte first */
  put_u64(fd, 0xce, 0x80838f1011500ull);
  put_u64(fd, 0x198, 0);
  put_u64(fd, 0x199, 0x12345678ull);
  put_u64(fd, 0x1a0, 1ull << 38);
  put_u64(fd, 0x1ad, 0x2020202020202424ull);
  put_u64(fd, 0x3a, 5);
  put_u64(fd, 0x606, 0xa0e03ull);
  /* the file ends inside 0x610/0x611: those reads fail, NULL */
  assert_int_equal(ftruncate(fd, 0x612), 0);
  close(fd);
  char dir[400];
  snprintf(dir, sizeof dir, "%s/cpu", tfx_dir);
  osq_tables_cpu_dev = dir;
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 1);
  tcell *row = r->rows[0];
  assert_int_equal(row[tcol(t, "processor_number")].i, 0);
  assert_int_equal(row[tcol(t, "turbo_disabled")].i, 1);
  assert_int_equal(row[tcol(t, "turbo_ratio_limit")].i,
                   (int64_t)0x2020202020202424ull);
  assert_int_equal(row[tcol(t, "platform_info")].i, 0x80838f1011500ll);
  assert_int_equal(row[tcol(t, "perf_ctl")].i, 0x5678);
  assert_int_equal(row[tcol(t, "perf_status")].i, 0x1234567800ll);
  assert_int_equal(row[tcol(t, "feature_control")].i, 5);
  assert_int_equal(row[tcol(t, "rapl_power_units")].i, 0xa0e03);
  assert_int_equal(row[tcol(t, "rapl_power_limit")].kind, OSQ_VALUE_NULL);
  assert_int_equal(row[tcol(t, "rapl_energy_status")].kind, OSQ_VALUE_NULL);
  tfree(r);
  osq_tables_cpu_dev = "/dev/cpu";
}

/* On this machine: one row per /dev/cpu/N/msr that opens. */
static void test_msr_live(void **state) {
  (void)state;
  FILE *p = popen("for f in /dev/cpu/[0-9]*/msr; do "
                  "[ -r \"$f\" ] && cat \"$f\" </dev/null >/dev/null 2>&1;"
                  " done; ls /dev/cpu/[0-9]*/msr 2>/dev/null | wc -l",
                  "r");
  int nodes = -1;
  assert_int_equal(fscanf(p, "%d", &nodes), 1);
  pclose(p);
  tresult *r = trun_all(&osq_table_msr);
  assert_int_equal(r->rc, OSQ_OK);
  if (nodes == 0)
    assert_int_equal(r->n, 0); /* no msr module: an empty table */
  else
    assert_true(r->n <= (size_t)nodes);
  tfree(r);
}

static void test_intel_me(void **state) {
  (void)state;
  const osq_table_plugin *t = &osq_table_intel_me_info;
  osq_tables_mei_path = "/nonexistent/mei0";
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 0);
  tfree(r);
  /* a device that refuses the MEI ioctl */
  osq_tables_mei_path = "/dev/null";
  r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 0);
  tfree(r);
  osq_tables_mei_path = "/dev/mei0";
  if (access("/dev/mei0", F_OK) != 0) {
    r = trun_all(t);
    assert_int_equal(r->n, 0);
    tfree(r);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_acpi_live),   cmocka_unit_test(test_acpi_fixture),
      cmocka_unit_test(test_msr_fixture), cmocka_unit_test(test_msr_live),
      cmocka_unit_test(test_intel_me),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
