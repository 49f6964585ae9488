/* md_devices, md_drives and md_personalities: /proc/mdstat fixtures in the
 * kernel's format with the driver's answers stubbed, and, where the kernel
 * has the md driver and loop devices, a RAID1 that mdadm builds on two
 * loop devices made here. */
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
#include "tables/linux/md.h"
#include "tables_fixture.h"

static const osq_md_ops *driver;

static int setup(void **state) {
  (void)state;
  tfx_make_dir("osq-tables-md");
  driver = osq_tables_md_ops;
  return 0;
}

static int teardown(void **state) {
  (void)state;
  tfx_remove_dir();
  return 0;
}

/* ---- the stubbed driver ----------------------------------------------- */

static bool fake_array(const char *name, osq_md_array *a) {
  if (strcmp(name, "md0") == 0) {
    *a = (osq_md_array){.level = 1, .raid_disks = 2, .nr_disks = 3,
                        .active = 1, .working = 2, .failed = 1, .spare = 1,
                        .state = 1 | (1 << 8), .chunk_size = 0,
                        .utime = 1700000000};
    return true;
  }
  if (strcmp(name, "md1") == 0) {
    *a = (osq_md_array){.level = 5, .raid_disks = 4, .nr_disks = 2,
                        .active = 2, .working = 2, .state = 0,
                        .chunk_size = 524288, .utime = 1};
    return true;
  }
  return false; /* md9 is in mdstat but the driver does not know it */
}

static bool fake_disk(const char *name, osq_md_disk *d) {
  if (strcmp(name, "md0") == 0) {
    switch (d->number) {
    case 0: /* active, in sync, slot 0 */
      d->major = 7, d->minor = 0, d->raid_disk = 0, d->state = 6;
      return true;
    case 1: /* being rebuilt into slot 1 */
      d->major = 7, d->minor = 1, d->raid_disk = 1, d->state = 0;
      return true;
    case 2: /* faulty, out of the array */
      d->major = 7, d->minor = 2, d->raid_disk = -1, d->state = 1;
      return true;
    default:
      return false;
    }
  }
  if (strcmp(name, "md1") == 0) {
    switch (d->number) {
    case 0:
      d->major = 8, d->minor = 16, d->raid_disk = 0, d->state = 6;
      return true;
    case 5: /* faulty, number past raid_disks: takes a free slot */
      d->major = 8, d->minor = 32, d->raid_disk = -1, d->state = 1;
      return true;
    case 6: /* an empty descriptor */
      d->major = 0, d->minor = 0, d->raid_disk = -1, d->state = 8;
      return true;
    default:
      return false;
    }
  }
  return false;
}

static void fake_name(int major, int minor, char *out, size_t cap) {
  snprintf(out, cap, "/dev/fake%d_%d", major, minor);
}

static void fake_version(const char *name, char *out, size_t cap) {
  snprintf(out, cap, "%s", strcmp(name, "md0") == 0 ? "1.2" : "0.90");
}

static const osq_md_ops fake_ops = {fake_array, fake_disk, fake_name,
                                    fake_version};

static const char mdstat[] =
    "Personalities : [raid1] [raid6] [raid5] [raid4] [linear]\n"
    "md0 : active raid1 loop2[2](F) loop1[1] loop0[0]\n"
    "      102336 blocks super 1.2 [2/1] [U_]\n"
    "      [=>...................]  recovery =  8.7% (8960/102336) "
    "finish=0.1min speed=8960K/sec\n"
    "      bitmap: 1/1 pages [4KB], 65536KB chunk, file: /var/md0.bitmap\n"
    "\n"
    "md1 : active raid5 sdb[0] sdc[5](F)\n"
    "      3139584 blocks level 5, 512k chunk, algorithm 2 [4/1] [U___]\n"
    "        resync=DELAYED\n"
    "      [==>..........]  check = 12.5% (1/8) finish=1.0min "
    "speed=100K/sec\n"
    "      [==>..........]  reshape = 50.0% (4/8) finish=2.0min "
    "speed=200K/sec\n"
    "\n"
    "md9 : inactive sdz[0](S)\n"
    "      1024 blocks\n"
    "\n"
    "garbage line\n"
    "mdX without a colon\n"
    "unused devices: <none>\n";

static const char *cell(tcell *row, const osq_table_plugin *t,
                        const char *col) {
  tcell *c = &row[tcol(t, col)];
  return c->kind == OSQ_VALUE_NULL ? "(null)" : c->s;
}

static void use_fixture(void) {
  osq_tables_mdstat_path = tfx_put("mdstat", mdstat);
  osq_tables_md_ops = &fake_ops;
}

static void restore(void) {
  osq_tables_mdstat_path = "/proc/mdstat";
  osq_tables_md_ops = driver;
}

static void test_md_personalities(void **state) {
  (void)state;
  use_fixture();
  const osq_table_plugin *t = &osq_table_md_personalities;
  tresult *r = trun_all(t);
  assert_int_equal(r->n, 5);
  assert_string_equal(r->rows[0][0].s, "raid1");
  assert_string_equal(r->rows[4][0].s, "linear");
  tfree(r);
  osq_tables_mdstat_path = "/nonexistent/mdstat";
  r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 0);
  tfree(r);
  restore();
}

static void test_md_devices(void **state) {
  (void)state;
  use_fixture();
  const osq_table_plugin *t = &osq_table_md_devices;
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 2); /* md9: the driver does not know it */
  tcell *row = tfind_text(r, tcol(t, "device_name"), "md0");
  assert_non_null(row);
  assert_string_equal(cell(row, t, "status"), "active");
  assert_int_equal(row[tcol(t, "raid_level")].i, 1);
  assert_int_equal(row[tcol(t, "size")].i, 102336);
  assert_int_equal(row[tcol(t, "chunk_size")].i, 0);
  assert_int_equal(row[tcol(t, "raid_disks")].i, 2);
  assert_int_equal(row[tcol(t, "nr_raid_disks")].i, 3);
  assert_int_equal(row[tcol(t, "working_disks")].i, 2);
  assert_int_equal(row[tcol(t, "active_disks")].i, 1);
  assert_int_equal(row[tcol(t, "failed_disks")].i, 1);
  assert_int_equal(row[tcol(t, "spare_disks")].i, 1);
  assert_string_equal(cell(row, t, "superblock_state"),
                      "clean bitmap_present");
  assert_string_equal(cell(row, t, "superblock_version"), "1.2");
  assert_int_equal(row[tcol(t, "superblock_update_time")].i, 1700000000);
  assert_string_equal(cell(row, t, "recovery_progress"),
                      "8.7% (8960/102336)");
  assert_string_equal(cell(row, t, "recovery_finish"), "0.1min");
  assert_string_equal(cell(row, t, "recovery_speed"), "8960K/sec");
  assert_string_equal(cell(row, t, "bitmap_on_mem"), "1/1 pages [4KB]");
  assert_string_equal(cell(row, t, "bitmap_chunk_size"), "65536KB chunk");
  assert_string_equal(cell(row, t, "bitmap_external_file"),
                      "/var/md0.bitmap");
  assert_string_equal(cell(row, t, "resync_progress"), "(null)");
  assert_string_equal(cell(row, t, "other"), "super 1.2");
  assert_string_equal(cell(row, t, "unused_devices"), "<none>");

  row = tfind_text(r, tcol(t, "device_name"), "md1");
  assert_non_null(row);
  assert_int_equal(row[tcol(t, "chunk_size")].i, 524288);
  assert_string_equal(cell(row, t, "superblock_state"), "unknown");
  assert_string_equal(cell(row, t, "resync_progress"), "DELAYED");
  assert_string_equal(cell(row, t, "resync_finish"), "");
  assert_string_equal(cell(row, t, "check_array_progress"), "12.5% (1/8)");
  assert_string_equal(cell(row, t, "reshape_speed"), "200K/sec");
  assert_string_equal(cell(row, t, "bitmap_on_mem"), "(null)");
  assert_string_equal(cell(row, t, "other"),
                      "level 5, 512k chunk, algorithm 2");
  tfree(r);
  restore();
}

static void test_md_drives(void **state) {
  (void)state;
  use_fixture();
  const osq_table_plugin *t = &osq_table_md_drives;
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  /* md0: three disks; md1: two disks and two removed slots */
  assert_int_equal(r->n, 7);
  tcell *row = tfind_text(r, tcol(t, "drive_name"), "/dev/fake7_0");
  assert_string_equal(cell(row, t, "md_device_name"), "md0");
  assert_int_equal(row[tcol(t, "slot")].i, 0);
  assert_string_equal(cell(row, t, "state"), "active sync");
  row = tfind_text(r, tcol(t, "drive_name"), "/dev/fake7_1");
  assert_string_equal(cell(row, t, "state"), "recovering");
  assert_int_equal(row[tcol(t, "slot")].i, 1);
  /* faulty, number 2 >= raid_disks 2, no free slot: no slot */
  row = tfind_text(r, tcol(t, "drive_name"), "/dev/fake7_2");
  assert_string_equal(cell(row, t, "state"), "faulty");
  assert_int_equal(row[tcol(t, "slot")].kind, OSQ_VALUE_NULL);
  /* md1: the faulty disk takes the first free slot (1) */
  row = tfind_text(r, tcol(t, "drive_name"), "/dev/fake8_32");
  assert_int_equal(row[tcol(t, "slot")].i, 1);
  int removed = 0;
  for (size_t i = 0; i < r->n; i++) {
    tcell *c = r->rows[i];
    if (strcmp(c[tcol(t, "drive_name")].s, "unknown") == 0) {
      assert_string_equal(c[tcol(t, "md_device_name")].s, "md1");
      assert_string_equal(c[tcol(t, "state")].s, "removed");
      assert_true(c[tcol(t, "slot")].i == 2 || c[tcol(t, "slot")].i == 3);
      removed++;
    }
  }
  assert_int_equal(removed, 2);
  tfree(r);
  restore();
}

/* ---- a real array ----------------------------------------------------- */

static bool sh(const char *cmd, char *out, size_t cap) {
  FILE *p = popen(cmd, "r");
  if (p == NULL)
    return false;
  if (out != NULL) {
    out[0] = '\0';
    if (fgets(out, (int)cap, p) != NULL)
      out[strcspn(out, "\n")] = '\0';
  }
  return pclose(p) == 0;
}

static void test_md_live_mdadm(void **state) {
  (void)state;
  if (access("/proc/mdstat", R_OK) != 0 || getuid() != 0 ||
      !sh("command -v mdadm >/dev/null && command -v losetup >/dev/null",
          NULL, 0)) {
    print_message("no md driver (/proc/mdstat), not root, or no mdadm/"
                  "losetup: skipped\n");
    skip();
  }
  char cmd[1024], a[64], b[64];
  snprintf(cmd, sizeof cmd,
           "truncate -s 24M '%s/a' '%s/b' && losetup -f --show '%s/a'",
           tfx_dir, tfx_dir, tfx_dir);
  if (!sh(cmd, a, sizeof a) || a[0] == '\0') {
    print_message("losetup refused: skipped\n");
    skip();
  }
  snprintf(cmd, sizeof cmd, "losetup -f --show '%s/b'", tfx_dir);
  if (!sh(cmd, b, sizeof b) || b[0] == '\0') {
    snprintf(cmd, sizeof cmd, "losetup -d %s", a);
    sh(cmd, NULL, 0);
    print_message("losetup refused: skipped\n");
    skip();
  }
  /* a high minor no other array is likely to hold */
  snprintf(cmd, sizeof cmd,
           "mdadm --create /dev/md217 --run --quiet --level=1 "
           "--raid-devices=2 --metadata=1.2 %s %s >/dev/null 2>&1",
           a, b);
  bool created = sh(cmd, NULL, 0);
  if (created) {
    tresult *r = trun_all(&osq_table_md_devices);
    const osq_table_plugin *t = &osq_table_md_devices;
    tcell *row = tfind_text(r, tcol(t, "device_name"), "md217");
    assert_non_null(row);
    assert_int_equal(row[tcol(t, "raid_level")].i, 1);
    assert_int_equal(row[tcol(t, "raid_disks")].i, 2);
    assert_string_equal(cell(row, t, "superblock_version"), "1.2");
    tfree(r);
    t = &osq_table_md_drives;
    r = trun_all(t);
    int mine = 0;
    for (size_t i = 0; i < r->n; i++) {
      tcell *c = r->rows[i];
      if (strcmp(c[tcol(t, "md_device_name")].s, "md217") != 0)
        continue;
      const char *d = c[tcol(t, "drive_name")].s;
      assert_true(strcmp(d, a) == 0 || strcmp(d, b) == 0);
      mine++;
    }
    assert_int_equal(mine, 2);
    tfree(r);
    r = trun_all(&osq_table_md_personalities);
    assert_non_null(tfind_text(r, 0, "raid1"));
    tfree(r);
    sh("mdadm --stop /dev/md217 >/dev/null 2>&1", NULL, 0);
  }
  snprintf(cmd, sizeof cmd, "losetup -d %s %s", a, b);
  sh(cmd, NULL, 0);
  if (!created) {
    print_message("mdadm --create refused (md driver?): skipped\n");
    skip();
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_md_personalities),
      cmocka_unit_test(test_md_devices),
      cmocka_unit_test(test_md_drives),
      cmocka_unit_test(test_md_live_mdadm),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
