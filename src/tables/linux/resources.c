/* load_average and ulimit_info: the load averages and this process's
 * resource limits, straight from libc. */
#include "tables/builtin.h"
#include "tables/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

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
