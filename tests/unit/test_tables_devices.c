/* device_partitions, device_file and device_hash on a disk image made
 * here (an MBR partition holding an ext2 filesystem that mke2fs fills
 * from a directory), checked against mmls(1) and fls(1) of The Sleuth
 * Kit's tools and md5sum(1) of the source files. */
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
#include "tables_fixture.h"

static char disk[400];
static bool have_image;

static bool sh(const char *cmd) { return system(cmd) == 0; }

/* 1 MiB of MBR and gap, then an 8 MiB partition (type 0x83). */
static bool make_disk(void) {
  char cmd[1600];
  snprintf(cmd, sizeof cmd,
           "set -e; cd '%s'; mkdir -p src/sub/deeper; "
           "printf 'hello device\\n' > src/a.txt; "
           "head -c 10000 /dev/zero | tr '\\0' x > src/sub/b.bin; "
           "printf 'deep' > src/sub/deeper/c; : > src/empty; "
           "mke2fs -q -F -t ext2 -b 1024 -d src fs.img 8M >/dev/null 2>&1; "
           "truncate -s 1M disk.img; cat fs.img >> disk.img",
           tfx_dir);
  if (!sh(cmd))
    return false;
  snprintf(disk, sizeof disk, "%s/disk.img", tfx_dir);
  /* the partition entry: start LBA 2048, 16384 sectors, type 0x83 */
  unsigned char e[16] = {0x00, 0, 0, 0, 0x83, 0, 0, 0};
  uint32_t start = 2048, len = 16384;
  memcpy(e + 8, &start, 4);
  memcpy(e + 12, &len, 4);
  FILE *f = fopen(disk, "r+b");
  if (f == NULL)
    return false;
  fseek(f, 0x1BE, SEEK_SET);
  fwrite(e, 1, sizeof e, f);
  fseek(f, 0x1FE, SEEK_SET);
  fwrite("\x55\xAA", 1, 2, f);
  fclose(f);
  return true;
}

static int setup(void **state) {
  (void)state;
  tfx_make_dir("osq-tables-devices");
  have_image = sh("command -v mke2fs >/dev/null && command -v mmls "
                  ">/dev/null && command -v fls >/dev/null") &&
               make_disk();
  return 0;
}

static int teardown(void **state) {
  (void)state;
  tfx_remove_dir();
  return 0;
}

static void need_image(void) {
  if (!have_image) {
    print_message("mke2fs or sleuthkit's mmls/fls missing: skipped\n");
    skip();
  }
}

/* t with "=" constraints c1 = v1, c2 = v2 and (if c3) c3 = v3. */
static tresult *run2(const osq_table_plugin *t, const char *c1,
                     const char *v1, const char *c2, const char *v2,
                     const char *c3, const char *v3) {
  osq_context *ctx = osq_context_new(t->columns, t->ncolumns);
  osq_context_add(ctx, tcol(t, c1), OSQ_OP_EQ, v1, strlen(v1));
  osq_context_add(ctx, tcol(t, c2), OSQ_OP_EQ, v2, strlen(v2));
  if (c3)
    osq_context_add(ctx, tcol(t, c3), OSQ_OP_EQ, v3, strlen(v3));
  tresult *r = trun(t, ctx);
  osq_context_free(ctx);
  return r;
}

/* mmls lists the same slots: address, start, length, description. */
static void test_device_partitions(void **state) {
  (void)state;
  need_image();
  const osq_table_plugin *t = &osq_table_device_partitions;
  tresult *r = trun_eq(t, "device", disk);
  assert_int_equal(r->rc, OSQ_OK);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "mmls '%s'", disk);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  char line[512];
  size_t seen = 0;
  while (fgets(line, sizeof line, p)) {
    unsigned long long slot, start, end, len;
    char desc[256] = "";
    /* "002:  000:000   0000002048   0000018431   0000016384   Linux (0x83)" */
    char meta[32];
    if (sscanf(line, "%llu: %31s %llu %llu %llu %255[^\n]", &slot, meta,
               &start, &end, &len, desc) != 6)
      continue;
    tcell *row = tfind_int(r, tcol(t, "partition"), (int64_t)slot);
    assert_non_null(row);
    assert_string_equal(row[tcol(t, "label")].s, desc);
    if (strstr(desc, "Linux") != NULL) {
      assert_string_equal(row[tcol(t, "type")].s, "ext2");
      assert_int_equal(row[tcol(t, "offset")].i, start * 512);
      assert_int_equal(row[tcol(t, "blocks_size")].i, 1024);
      assert_int_equal(row[tcol(t, "blocks")].i, 8192);
      assert_true(row[tcol(t, "inodes")].i > 0);
    } else {
      assert_int_equal(row[tcol(t, "offset")].i, start * 512);
      assert_int_equal(row[tcol(t, "blocks")].i, len);
      assert_int_equal(row[tcol(t, "inodes")].i, -1);
    }
    seen++;
  }
  pclose(p);
  assert_true(seen >= 2);
  assert_int_equal(r->n, seen);
  tfree(r);
  /* a file that is no disk image, and no device at all */
  r = trun_eq(t, "device", "/etc/hostname");
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 0);
  tfree(r);
  r = trun_eq(t, "device", "/nonexistent/disk");
  assert_int_equal(r->n, 0);
  tfree(r);
}

static const char *part_of_linux(void) {
  static char addr[16];
  char cmd[600];
  snprintf(cmd, sizeof cmd, "mmls '%s' | awk '/Linux/ {print $1+0}'", disk);
  FILE *p = popen(cmd, "r");
  assert_non_null(fgets(addr, sizeof addr, p));
  pclose(p);
  addr[strcspn(addr, "\n")] = '\0';
  return addr;
}

/* fls -r -p lists every regular file ("r/r") with its inode and path. */
static void test_device_file(void **state) {
  (void)state;
  need_image();
  const osq_table_plugin *t = &osq_table_device_file;
  const char *part = part_of_linux();
  tresult *r = run2(t, "device", disk, "partition", part, NULL, NULL);
  assert_int_equal(r->rc, OSQ_OK);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "fls -r -p -o 2048 '%s'", disk);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  char line[1024];
  size_t seen = 0;
  while (fgets(line, sizeof line, p)) {
    line[strcspn(line, "\n")] = '\0';
    long long inode;
    char path[900];
    if (strncmp(line, "r/r ", 4) != 0 ||
        sscanf(line + 4, "%lld:\t%899[^\n]", &inode, path) != 2)
      continue;
    char want[910];
    snprintf(want, sizeof want, "/%s", path);
    tcell *row = tfind_text(r, tcol(t, "path"), want);
    if (row == NULL)
      fail_msg("fls lists %s, the table does not", want);
    assert_int_equal(row[tcol(t, "inode")].i, inode);
    assert_string_equal(row[tcol(t, "type")].s, "regular");
    seen++;
  }
  pclose(p);
  assert_true(seen >= 4);
  assert_int_equal(r->n, seen);
  tcell *row = tfind_text(r, tcol(t, "path"), "/sub/b.bin");
  assert_non_null(row);
  assert_int_equal(row[tcol(t, "size")].i, 10000);
  assert_string_equal(row[tcol(t, "filename")].s, "b.bin");
  assert_int_equal(row[tcol(t, "block_size")].i, 1024);
  assert_int_equal(row[tcol(t, "hard_links")].i, 1);
  int64_t inode = row[tcol(t, "inode")].i;
  tfree(r);

  /* by path and by inode */
  r = run2(t, "device", disk, "partition", part, "path", "/sub/deeper/c");
  assert_int_equal(r->n, 1);
  assert_int_equal(r->rows[0][tcol(t, "size")].i, 4);
  tfree(r);
  char num[24];
  snprintf(num, sizeof num, "%lld", (long long)inode);
  r = run2(t, "device", disk, "partition", part, "inode", num);
  assert_int_equal(r->n, 1);
  assert_int_equal(r->rows[0][tcol(t, "size")].i, 10000);
  tfree(r);
  /* a partition without a filesystem, and two partitions: no rows */
  r = run2(t, "device", disk, "partition", "0", NULL, NULL);
  assert_int_equal(r->n, 0);
  tfree(r);
}

static void test_device_hash(void **state) {
  (void)state;
  need_image();
  const char *part = part_of_linux();
  tresult *f = run2(&osq_table_device_file, "device", disk, "partition",
                    part, "path", "/a.txt");
  assert_int_equal(f->n, 1);
  char num[24];
  snprintf(num, sizeof num, "%lld",
           (long long)f->rows[0][tcol(&osq_table_device_file, "inode")].i);
  tfree(f);
  const osq_table_plugin *t = &osq_table_device_hash;
  tresult *r = run2(t, "device", disk, "partition", part, "inode", num);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, 1);
  char cmd[600], want[3][80];
  const char *tools[3] = {"md5sum", "sha1sum", "sha256sum"};
  const char *cols[3] = {"md5", "sha1", "sha256"};
  for (int i = 0; i < 3; i++) {
    snprintf(cmd, sizeof cmd, "%s < '%s/src/a.txt' | cut -d' ' -f1",
             tools[i], tfx_dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(fgets(want[i], sizeof want[i], p));
    pclose(p);
    want[i][strcspn(want[i], "\n")] = '\0';
    assert_string_equal(r->rows[0][tcol(t, cols[i])].s, want[i]);
  }
  tfree(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_device_partitions),
      cmocka_unit_test(test_device_file),
      cmocka_unit_test(test_device_hash),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
