/* The carver's tar writer: ustar headers (name, size, checksum, prefix
 * for long paths), 512-byte padding, the two-block end, and clear errors
 * for what cannot be archived. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "remote/carve.h"

static char dir[] = "/tmp/osq-carve-XXXXXX";

static void write_file(const char *path, const char *data, size_t n) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, n, f), n);
  fclose(f);
}

static unsigned long octal(const unsigned char *p, size_t n) {
  char tmp[16] = {0};
  memcpy(tmp, p, n);
  return strtoul(tmp, NULL, 8);
}

static void check_sum(const unsigned char *hdr) {
  unsigned long sum = 0;
  for (size_t i = 0; i < 512; i++)
    sum += (i >= 148 && i < 156) ? ' ' : hdr[i];
  assert_int_equal(octal(hdr + 148, 8), sum);
}

static void test_one_file(void **state) {
  (void)state;
  char path[256];
  snprintf(path, sizeof path, "%s/a.txt", dir);
  write_file(path, "hello", 5);
  const char *paths[] = {path};
  unsigned char *buf = NULL;
  size_t len = 0;
  char err[256] = "";
  assert_int_equal(osq_carve_tar(paths, 1, &buf, &len, err, sizeof err), 0);
  assert_int_equal(len, 512 + 512 + 1024);
  assert_string_equal((char *)buf, path + 1); /* no leading '/' */
  assert_int_equal(octal(buf + 124, 12), 5);
  assert_memory_equal(buf + 257, "ustar", 6);
  assert_int_equal(buf[156], '0');
  check_sum(buf);
  assert_memory_equal(buf + 512, "hello", 5);
  for (size_t i = 512 + 5; i < len; i++)
    assert_int_equal(buf[i], 0);
  free(buf);
}

static void test_long_name_uses_prefix(void **state) {
  (void)state;
  char sub[512], path[600];
  snprintf(sub, sizeof sub, "%s/%0120d", dir, 7);
  assert_int_equal(mkdir(sub, 0700), 0);
  snprintf(path, sizeof path, "%s/b.bin", sub);
  write_file(path, "x", 1);
  const char *paths[] = {path};
  unsigned char *buf = NULL;
  size_t len = 0;
  char err[256] = "";
  assert_int_equal(osq_carve_tar(paths, 1, &buf, &len, err, sizeof err), 0);
  assert_string_equal((char *)buf, "b.bin");
  assert_string_equal((char *)buf + 345, sub + 1);
  check_sum(buf);
  free(buf);
}

static void test_errors_name_the_file(void **state) {
  (void)state;
  char missing[256];
  snprintf(missing, sizeof missing, "%s/missing", dir);
  const char *paths[] = {missing};
  unsigned char *buf = NULL;
  size_t len = 0;
  char err[256] = "";
  assert_int_equal(osq_carve_tar(paths, 1, &buf, &len, err, sizeof err), -1);
  assert_non_null(strstr(err, missing));
  const char *dirs[] = {dir};
  assert_int_equal(osq_carve_tar(dirs, 1, &buf, &len, err, sizeof err), -1);
  assert_non_null(strstr(err, "not a regular file"));
  free(buf);
}

int main(void) {
  if (mkdtemp(dir) == NULL)
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_one_file),
      cmocka_unit_test(test_long_name_uses_prefix),
      cmocka_unit_test(test_errors_name_the_file),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    rc = rc ? rc : 1;
  return rc;
}
