/* load_average, ulimit_info, memory_map and kernel_keys: system-wide
 * resources as libc and /proc report them. */
#include "tables/builtin.h"
#include "tables/util.h"
#include "resources.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* Overridable for tests (resources.h). */
const char *osq_tables_iomem_path = "/proc/iomem";
const char *osq_tables_keys_path = "/proc/keys";

/* ---- load_average ----------------------------------------------------- */

static const osq_column load_columns[] = {
    {"period", OSQ_TYPE_TEXT, 0},
    {"average", OSQ_TYPE_TEXT, 0},
};

static int load_generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)ctx;
  (void)udata;
  static const char *const periods[3] = {"1m", "5m", "15m"};
  double loads[3];
  if (getloadavg(loads, 3) != 3)
    return OSQ_OK;
  int rc = OSQ_OK;
  for (int i = 0; i < 3 && rc == OSQ_OK; i++) {
    char avg[64];
    /* six decimals, as osquery prints a double (std::to_string) */
    snprintf(avg, sizeof avg, "%f", loads[i]);
    osq_rows_cstr(out, 0, periods[i]);
    osq_rows_cstr(out, 1, avg);
    rc = osq_rows_end(out);
  }
  return rc;
}

const osq_table_plugin osq_table_load_average = {
    .name = "load_average",
    .columns = load_columns,
    .ncolumns = OSQ_NCOLS(load_columns),
    .generate = load_generate,
};

/* ---- ulimit_info ------------------------------------------------------ */

static const osq_column ulimit_columns[] = {
    {"type", OSQ_TYPE_TEXT, 0},
    {"soft_limit", OSQ_TYPE_TEXT, 0},
    {"hard_limit", OSQ_TYPE_TEXT, 0},
};

/* osquery's names, in its (alphabetical) order. */
static const struct {
  const char *name;
  int resource;
} limits[] = {
    {"as", RLIMIT_AS},           {"core", RLIMIT_CORE},
    {"cpu", RLIMIT_CPU},         {"data", RLIMIT_DATA},
    {"fsize", RLIMIT_FSIZE},     {"locks", RLIMIT_LOCKS},
    {"memlock", RLIMIT_MEMLOCK}, {"msgqueue", RLIMIT_MSGQUEUE},
    {"nice", RLIMIT_NICE},       {"nofile", RLIMIT_NOFILE},
    {"nproc", RLIMIT_NPROC},     {"rss", RLIMIT_RSS},
    {"rtprio", RLIMIT_RTPRIO},   {"sigpending", RLIMIT_SIGPENDING},
    {"stack", RLIMIT_STACK},
};

static void limit_text(rlim_t v, char *buf, size_t cap) {
  if (v == RLIM_INFINITY)
    snprintf(buf, cap, "unlimited");
  else
    snprintf(buf, cap, "%" PRIu64, (uint64_t)v);
}

static int ulimit_generate(const osq_context *ctx, osq_rows *out,
                           void *udata) {
  (void)ctx;
  (void)udata;
  int rc = OSQ_OK;
  for (size_t i = 0; i < OSQ_NCOLS(limits) && rc == OSQ_OK; i++) {
    struct rlimit rl;
    if (getrlimit(limits[i].resource, &rl) != 0)
      continue;
    char soft[32], hard[32];
    limit_text(rl.rlim_cur, soft, sizeof soft);
    limit_text(rl.rlim_max, hard, sizeof hard);
    osq_rows_cstr(out, 0, limits[i].name);
    osq_rows_cstr(out, 1, soft);
    osq_rows_cstr(out, 2, hard);
    rc = osq_rows_end(out);
  }
  return rc;
}

const osq_table_plugin osq_table_ulimit_info = {
    .name = "ulimit_info",
    .columns = ulimit_columns,
    .ncolumns = OSQ_NCOLS(ulimit_columns),
    .generate = ulimit_generate,
};

/* ---- memory_map ------------------------------------------------------- */

static const osq_column iomem_columns[] = {
    {"name", OSQ_TYPE_TEXT, 0},
    {"start", OSQ_TYPE_TEXT, 0},
    {"end", OSQ_TYPE_TEXT, 0},
};

static bool all_hex(const char *s, size_t n) {
  if (n == 0 || n > 16)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!strchr("0123456789abcdefABCDEF", s[i]))
      return false;
  return true;
}

/* "  00001000-0009fbff : System RAM": nested regions are indented; every
 * level is a row, with the addresses prefixed "0x" as osquery prints
 * them (all zero unless the reader has CAP_SYS_ADMIN). */
static int iomem_generate(const osq_context *ctx, osq_rows *out,
                          void *udata) {
  (void)ctx;
  (void)udata;
  FILE *f = fopen(osq_tables_iomem_path, "re");
  if (f == NULL)
    return OSQ_OK;
  char line[OSQ_TBL_LINE_MAX];
  int rc = OSQ_OK, got;
  while (rc == OSQ_OK && (got = osq_tbl_getline(f, line, sizeof line)) != 0) {
    if (got < 0)
      continue;
    char *p = line + strspn(line, " ");
    size_t sl = strcspn(p, "-");
    char *sep = strstr(p, " : ");
    if (p[sl] != '-' || sep == NULL || sep < p + sl)
      continue;
    char *end = p + sl + 1;
    size_t el = (size_t)(sep - end);
    if (!all_hex(p, sl) || !all_hex(end, el))
      continue;
    char start_s[20] = "0x", end_s[20] = "0x";
    memcpy(start_s + 2, p, sl);
    start_s[2 + sl] = '\0';
    memcpy(end_s + 2, end, el);
    end_s[2 + el] = '\0';
    osq_rows_cstr(out, 0, sep + 3);
    osq_rows_cstr(out, 1, start_s);
    osq_rows_cstr(out, 2, end_s);
    rc = osq_rows_end(out);
  }
  fclose(f);
  return rc;
}

const osq_table_plugin osq_table_memory_map = {
    .name = "memory_map",
    .columns = iomem_columns,
    .ncolumns = OSQ_NCOLS(iomem_columns),
    .generate = iomem_generate,
};

/* ---- kernel_keys ------------------------------------------------------ */

enum {
  KK_SERIAL, KK_FLAGS, KK_USAGE, KK_TIMEOUT, KK_PERMISSIONS, KK_UID, KK_GID,
  KK_TYPE, KK_DESCRIPTION
};

static const osq_column keys_columns[] = {
    {"serial_number", OSQ_TYPE_TEXT, 0}, {"flags", OSQ_TYPE_TEXT, 0},
    {"usage", OSQ_TYPE_BIGINT, 0},       {"timeout", OSQ_TYPE_TEXT, 0},
    {"permissions", OSQ_TYPE_TEXT, 0},   {"uid", OSQ_TYPE_BIGINT, 0},
    {"gid", OSQ_TYPE_BIGINT, 0},         {"type", OSQ_TYPE_TEXT, 0},
    {"description", OSQ_TYPE_TEXT, 0},
};

/* /proc/keys: "serial flags usage timeout perm uid gid type desc: data".
 * osquery takes lines of exactly ten space-separated fields and joins the
 * last two without a space ("_ses:1"); so does this table. */
static int keys_generate(const osq_context *ctx, osq_rows *out,
                         void *udata) {
  (void)ctx;
  (void)udata;
  FILE *f = fopen(osq_tables_keys_path, "re");
  if (f == NULL)
    return OSQ_OK; /* no keyrings support */
  char line[OSQ_TBL_LINE_MAX];
  int rc = OSQ_OK, got;
  while (rc == OSQ_OK && (got = osq_tbl_getline(f, line, sizeof line)) != 0) {
    char *tok[11];
    int64_t usage, uid, gid;
    if (got < 0 || osq_tbl_tokens(line, " ", tok, 11) != 10 ||
        !osq_tbl_parse_i64(tok[2], &usage) ||
        !osq_tbl_parse_i64(tok[5], &uid) || !osq_tbl_parse_i64(tok[6], &gid))
      continue;
    char desc[OSQ_TBL_LINE_MAX];
    snprintf(desc, sizeof desc, "%s%s", tok[8], tok[9]);
    osq_rows_cstr(out, KK_SERIAL, tok[0]);
    osq_rows_cstr(out, KK_FLAGS, tok[1]);
    osq_rows_int(out, KK_USAGE, usage);
    osq_rows_cstr(out, KK_TIMEOUT, tok[3]);
    osq_rows_cstr(out, KK_PERMISSIONS, tok[4]);
    osq_rows_int(out, KK_UID, uid);
    osq_rows_int(out, KK_GID, gid);
    osq_rows_cstr(out, KK_TYPE, tok[7]);
    osq_rows_cstr(out, KK_DESCRIPTION, desc);
    rc = osq_rows_end(out);
  }
  fclose(f);
  return rc;
}

const osq_table_plugin osq_table_kernel_keys = {
    .name = "kernel_keys",
    .columns = keys_columns,
    .ncolumns = OSQ_NCOLS(keys_columns),
    .generate = keys_generate,
};
