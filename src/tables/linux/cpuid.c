/* cpuid: the processor's identification and feature bits as the CPUID
 * instruction reports them (x86 only; empty elsewhere). The feature list,
 * names and value formats are osquery's. */
#include "tables/builtin.h"
#include "tables/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define OSQ_HAVE_CPUID 1
#endif

static const osq_column cpuid_columns[] = {
    {"feature", OSQ_TYPE_TEXT, 0},
    {"value", OSQ_TYPE_TEXT, 0},
    {"output_register", OSQ_TYPE_TEXT, 0},
    {"output_bit", OSQ_TYPE_INTEGER, 0},
    {"input_eax", OSQ_TYPE_TEXT, 0},
};

#ifdef OSQ_HAVE_CPUID

enum { EAX, EBX, ECX, EDX };

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
  __cpuid_count(leaf, sub, r[EAX], r[EBX], r[ECX], r[EDX]);
}

typedef struct feature {
  const char *name;
  uint8_t reg; /* EBX, ECX or EDX */
  uint8_t bit;
} feature;

static const feature leaf1[] = {
    {"pae", EDX, 6},      {"msr", EDX, 5},     {"sep", EDX, 11},
    {"mtrr", EDX, 12},    {"pge", EDX, 13},    {"mca", EDX, 14},
    {"pat", EDX, 16},     {"clfsh", EDX, 19},  {"acpi", EDX, 22},
    {"mmz", EDX, 23},     {"sse", EDX, 25},    {"sse2", EDX, 26},
    {"ss", EDX, 27},      {"htt", EDX, 28},    {"ia64", EDX, 30},
    {"sse3", ECX, 0},     {"vmx", ECX, 5},     {"smx", ECX, 6},
    {"ssse3", ECX, 9},    {"sdbg", ECX, 11},   {"pdcm", ECX, 15},
    {"pcid", ECX, 17},    {"dca", ECX, 18},    {"sse4.1", ECX, 19},
    {"sse4.2", ECX, 20},  {"aes", ECX, 25},    {"avx", ECX, 28},
    {"hypervisor", ECX, 31},
};
static const feature leaf7[] = {
    {"sgx", EBX, 2},       {"hle", EBX, 4},       {"avx2", EBX, 5},
    {"smep", EBX, 7},      {"bmi2", EBX, 8},      {"erms", EBX, 9},
    {"invpcid", EBX, 10},  {"rtm", EBX, 11},      {"pqm", EBX, 12},
    {"mpx", EBX, 14},      {"pqe", EBX, 15},      {"avx512f", EBX, 16},
    {"avx512dq", EBX, 17}, {"rdseed", EBX, 18},   {"adx", EBX, 19},
    {"smap", EBX, 20},     {"intel_pt", EBX, 25}, {"sha", EBX, 29},
    {"umip", ECX, 2},      {"pku", ECX, 3},       {"ospke", ECX, 4},
    {"gfni", ECX, 8},      {"vaes", ECX, 9},      {"sgx_lc", ECX, 30},
    {"spec_ctrl", EDX, 26},
};
static const feature leaf_ext1[] = {
    {"lahfsahf", ECX, 0}, {"svm", ECX, 2},      {"3dnowprefetch", ECX, 8},
    {"ibs", ECX, 10},     {"skinit", ECX, 12},  {"lwp", ECX, 15},
    {"nx", EDX, 20},      {"page1gb", EDX, 26}, {"lm", EDX, 29},
};
static const char *const reg_names[4] = {"eax", "ebx", "ecx", "edx"};

static int row(osq_rows *out, const char *feature, const char *value,
               const char *reg, int64_t bit, const char *eax) {
  osq_rows_cstr(out, 0, feature);
  osq_rows_cstr(out, 1, value);
  osq_rows_cstr(out, 2, reg);
  osq_rows_int(out, 3, bit);
  osq_rows_cstr(out, 4, eax);
  return osq_rows_end(out);
}

/* Registers as text, 4 bytes each in memory order, cut at a NUL. */
static void regs_text(char *out, const uint32_t *regs, const int *order,
                      int n) {
  size_t k = 0;
  for (int i = 0; i < n; i++)
    for (int b = 0; b < 4; b++)
      out[k++] = (char)(regs[order[i]] >> (8 * b));
  out[k] = '\0';
}

static int features(osq_rows *out, uint32_t leaf, const feature *f,
                    size_t n) {
  uint32_t r[4];
  cpuid(leaf, 0, r);
  char eax[16];
  snprintf(eax, sizeof eax, "%" PRIu32, leaf);
  int rc = OSQ_OK;
  for (size_t i = 0; i < n && rc == OSQ_OK; i++)
    rc = row(out, f[i].name, (r[f[i].reg] >> f[i].bit) & 1 ? "1" : "0",
             reg_names[f[i].reg], f[i].bit, eax);
  return rc;
}

static int cpuid_generate(const osq_context *ctx, osq_rows *out,
                          void *udata) {
  (void)ctx;
  (void)udata;
  uint32_t r[4];
  char v[64];
  cpuid(0, 0, r);
  if (r[EAX] < 1)
    return OSQ_OK;
  regs_text(v, r, (const int[]){EBX, EDX, ECX}, 3);
  int rc = row(out, "vendor", v, "ebx,edx,ecx", 0, "0");

  char name[49];
  size_t k = 0;
  for (uint32_t i = 0; i < 3; i++) {
    cpuid(0x80000002u + i, 0, r);
    regs_text(name + k, r, (const int[]){EAX, EBX, ECX, EDX}, 4);
    k += 16;
  }
  name[48] = '\0';
  if (rc == OSQ_OK)
    rc = row(out, "product_name", name, "eax,ebx,ecx,edx", 0, "0x80000002");

  /* osquery reports a hypervisor leaf whenever its eax is non-zero */
  cpuid(0x40000000u, 0, r);
  if (rc == OSQ_OK && r[EAX] != 0) {
    snprintf(v, sizeof v, "%08" PRIx32 "%08" PRIx32 "%08" PRIx32, r[EAX],
             r[EBX], r[ECX]);
    rc = row(out, "hypervisor_id", v, "ebx,ecx,edx", 0, "0x40000000");
  }

  uint32_t r3[4];
  cpuid(1, 0, r);
  cpuid(3, 0, r3);
  snprintf(v, sizeof v, "%08" PRIx32 "%08" PRIx32 "%08" PRIx32, r[EAX],
           r3[EAX], r3[EDX]);
  if (rc == OSQ_OK)
    rc = row(out, "serial", v, "eax,eax,ecx", 0, "1,3");

  snprintf(v, sizeof v, "%04" PRIx32, r[EAX] & 0xf00);
  if (rc == OSQ_OK)
    rc = row(out, "family", v, "eax", 0, "1");

  if (rc == OSQ_OK)
    rc = features(out, 1, leaf1, OSQ_NCOLS(leaf1));
  if (rc == OSQ_OK)
    rc = features(out, 7, leaf7, OSQ_NCOLS(leaf7));
  if (rc == OSQ_OK)
    rc = features(out, 0x80000001u, leaf_ext1, OSQ_NCOLS(leaf_ext1));

  for (uint32_t sub = 0; sub < 2 && rc == OSQ_OK; sub++) {
    cpuid(0x12, sub, r);
    snprintf(v, sizeof v, "%08" PRIx32 "%08" PRIx32 "%08" PRIx32 "%08" PRIx32,
             r[EAX], r[EBX], r[ECX], r[EDX]);
    rc = row(out, sub ? "sgx1" : "sgx0", v, "eax,ebx,ecx,edx", 0,
             sub ? "18,1" : "18");
  }
  return rc;
}

#else

static int cpuid_generate(const osq_context *ctx, osq_rows *out,
                          void *udata) {
  (void)ctx;
  (void)out;
  (void)udata;
  return OSQ_OK;
}

#endif

const osq_table_plugin osq_table_cpuid = {
    .name = "cpuid",
    .columns = cpuid_columns,
    .ncolumns = OSQ_NCOLS(cpuid_columns),
    .generate = cpuid_generate,
};
