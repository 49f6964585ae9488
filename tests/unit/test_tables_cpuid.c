/* cpuid against /proc/cpuinfo: the vendor, the model name, the family,
 * and every feature bit whose Linux flag the kernel lists. (The kernel
 * may hide a bit the CPU has, never show one it lacks; so a listed flag
 * must read 1.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tables/builtin.h"
#include "tables/util.h"
#include "test_tables_sink.h"

/* The value of the first "key\t: value" line of /proc/cpuinfo. */
static bool cpuinfo(const char *key, char *out, size_t cap) {
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (f == NULL)
    return false;
  static char line[8192];
  size_t kl = strlen(key);
  bool found = false;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, key, kl) == 0 && strchr(" \t:", line[kl])) {
      char *v = strchr(line, ':');
      if (v == NULL)
        continue;
      v = osq_tbl_trim(v + 1);
      snprintf(out, cap, "%s", v);
      found = true;
      break;
    }
  }
  fclose(f);
  return found;
}

/* osquery's feature names where Linux names the bit otherwise. */
static const char *linux_name(const char *f) {
  static const char *const map[][2] = {
      {"sse4.1", "sse4_1"}, {"sse4.2", "sse4_2"}, {"lahfsahf", "lahf_lm"},
      {"clfsh", "clflush"}, {"mmz", "mmx"},       {"htt", "ht"},
      {"page1gb", "pdpe1gb"}, {"sse3", "pni"},    {"sha", "sha_ni"},
      {"spec_ctrl", "-"}, /* Linux derives its own spec_ctrl flag */
  };
  for (size_t i = 0; i < sizeof map / sizeof *map; i++)
    if (strcmp(map[i][0], f) == 0)
      return map[i][1];
  return f;
}

static bool has_flag(const char *flags, const char *name) {
  size_t l = strlen(name);
  for (const char *p = flags; (p = strstr(p, name)) != NULL; p += l)
    if ((p == flags || p[-1] == ' ') && (p[l] == ' ' || p[l] == '\0'))
      return true;
  return false;
}

static void test_cpuid_matches_cpuinfo(void **state) {
  (void)state;
#if !defined(__x86_64__) && !defined(__i386__)
  skip();
#endif
  const osq_table_plugin *t = &osq_table_cpuid;
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  int fcol = tcol(t, "feature"), vcol = tcol(t, "value");
  char want[256];
  assert_true(cpuinfo("vendor_id", want, sizeof want));
  tcell *row = tfind_text(r, fcol, "vendor");
  assert_non_null(row);
  assert_string_equal(row[vcol].s, want);
  if (cpuinfo("model name", want, sizeof want)) {
    row = tfind_text(r, fcol, "product_name");
    assert_non_null(row);
    assert_string_equal(osq_tbl_trim(row[vcol].s), want);
  }
  if (cpuinfo("cpu family", want, sizeof want) && atoi(want) < 15) {
    char fam[16];
    snprintf(fam, sizeof fam, "%04x", atoi(want) << 8);
    row = tfind_text(r, fcol, "family");
    assert_string_equal(row[vcol].s, fam);
  }
  static char flags[8192];
  assert_true(cpuinfo("flags", flags, sizeof flags));
  int checked = 0, features = 0;
  for (size_t i = 0; i < r->n; i++) {
    tcell *c = r->rows[i];
    const char *eax = c[tcol(t, "input_eax")].s;
    bool feature_leaf = strcmp(eax, "1") == 0 || strcmp(eax, "7") == 0 ||
                        strcmp(eax, "2147483649") == 0;
    if (!feature_leaf || strcmp(c[fcol].s, "family") == 0)
      continue;
    features++;
    assert_true(strcmp(c[vcol].s, "0") == 0 || strcmp(c[vcol].s, "1") == 0);
    if (has_flag(flags, linux_name(c[fcol].s))) {
      if (strcmp(c[vcol].s, "1") != 0)
        fail_msg("%s is in /proc/cpuinfo but cpuid says 0", c[fcol].s);
      checked++;
    }
  }
  assert_int_equal(features, 28 + 25 + 9);
  assert_true(checked >= 5); /* sse, sse2, pae, msr … on any x86 */
  row = tfind_text(r, fcol, "avx");
  assert_int_equal(row[tcol(t, "output_bit")].i, 28);
  assert_string_equal(row[tcol(t, "output_register")].s, "ecx");
  tfree(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cpuid_matches_cpuinfo),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
