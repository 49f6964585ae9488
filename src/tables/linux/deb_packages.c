/* deb_packages: the dpkg database (<admindir>/status).
 *
 * Paragraphs of "Field: value" lines; continuation lines (descriptions,
 * conffiles) are skipped. An over-long line is skipped, never truncated
 * into a wrong value. */
#include "core/log.h"
#include "tables/builtin.h"
#include "tables/util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_ADMINDIR "/var/lib/dpkg"

enum {
  C_NAME, C_VERSION, C_SOURCE, C_SIZE, C_ARCH, C_REVISION, C_STATUS,
  C_MAINTAINER, C_SECTION, C_PRIORITY, C_ADMINDIR, C_PID_WITH_NAMESPACE,
  C_MOUNT_NAMESPACE_ID, C_COUNT
};

static const osq_column columns[] = {
    {"name", OSQ_TYPE_TEXT, 0},
    {"version", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_VERSION_DPKG},
    {"source", OSQ_TYPE_TEXT, 0},
    {"size", OSQ_TYPE_BIGINT, 0},
    {"arch", OSQ_TYPE_TEXT, 0},
    {"revision", OSQ_TYPE_TEXT, 0},
    {"status", OSQ_TYPE_TEXT, 0},
    {"maintainer", OSQ_TYPE_TEXT, 0},
    {"section", OSQ_TYPE_TEXT, 0},
    {"priority", OSQ_TYPE_TEXT, 0},
    {"admindir", OSQ_TYPE_TEXT, OSQ_COL_ADDITIONAL | OSQ_COL_OPTIMIZED},
    {"pid_with_namespace", OSQ_TYPE_INTEGER,
     OSQ_COL_ADDITIONAL | OSQ_COL_HIDDEN},
    {"mount_namespace_id", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
};

_Static_assert(sizeof columns / sizeof *columns == C_COUNT, "cols");

/* Fields kept per paragraph, by column. */
static const struct {
  const char *field;
  size_t col;
} fields[] = {
    {"Package", C_NAME},        {"Version", C_VERSION},
    {"Source", C_SOURCE},       {"Installed-Size", C_SIZE},
    {"Architecture", C_ARCH},   {"Status", C_STATUS},
    {"Maintainer", C_MAINTAINER}, {"Section", C_SECTION},
    {"Priority", C_PRIORITY},
};
#define NFIELDS (sizeof fields / sizeof *fields)
#define VALUE_MAX 1024

typedef struct para {
  char v[NFIELDS][VALUE_MAX];
  bool set[NFIELDS];
} para;

static int emit(osq_rows *out, const para *p, const char *admindir,
                int64_t ns_pid, const char *mnt) {
  if (!p->set[0] || p->v[0][0] == '\0')
    return OSQ_OK; /* no package name: not a package paragraph */
  for (size_t i = 0; i < NFIELDS; i++) {
    if (fields[i].col == C_SIZE) {
      int64_t kb;
      if (p->set[i] && osq_tbl_parse_i64(p->v[i], &kb))
        osq_rows_int(out, C_SIZE, kb);
      continue;
    }
    osq_rows_cstr(out, fields[i].col, p->set[i] ? p->v[i] : "");
  }
  /* Debian revision: what follows the last '-' of the version */
  const char *ver = p->set[1] ? p->v[1] : "";
  const char *dash = strrchr(ver, '-');
  osq_rows_cstr(out, C_REVISION, dash ? dash + 1 : "");
  osq_rows_cstr(out, C_ADMINDIR, admindir);
  if (ns_pid > 0) {
    osq_rows_int(out, C_PID_WITH_NAMESPACE, ns_pid);
    if (mnt[0])
      osq_rows_cstr(out, C_MOUNT_NAMESPACE_ID, mnt);
  }
  return osq_rows_end(out);
}

static int gen_admindir(osq_rows *out, const char *admindir,
                        int64_t ns_pid) {
  char path[PATH_MAX], mnt[32] = "";
  if (snprintf(path, sizeof path, "%s/status", admindir) >= (int)sizeof path)
    return OSQ_OK;
  if (ns_pid > 0 && !osq_tbl_mnt_ns(ns_pid, mnt, sizeof mnt))
    mnt[0] = '\0';
  FILE *f = osq_tbl_fopen_in(ns_pid, path);
  if (f == NULL)
    return OSQ_OK; /* not a Debian system, or another admindir */
  para *p = calloc(1, sizeof *p);
  if (p == NULL) {
    fclose(f);
    osq_rows_error(out, "deb_packages: out of memory");
    return OSQ_ERROR;
  }
  char line[OSQ_TBL_LINE_MAX];
  int rc = OSQ_OK;
  while (rc == OSQ_OK && fgets(line, sizeof line, f)) {
    size_t n = strlen(line);
    if (n > 0 && line[n - 1] != '\n' && !feof(f)) {
      int c; /* over-long: skip it whole */
      while ((c = fgetc(f)) != EOF && c != '\n')
        ;
      continue;
    }
    line[strcspn(line, "\n")] = '\0';
    if (line[0] == '\0') {
      rc = emit(out, p, admindir, ns_pid, mnt);
      memset(p, 0, sizeof *p);
      continue;
    }
    if (line[0] == ' ' || line[0] == '\t')
      continue; /* continuation */
    char *colon = strchr(line, ':');
    if (colon == NULL)
      continue;
    *colon = '\0';
    char *val = colon + 1;
    while (*val == ' ' || *val == '\t')
      val++;
    for (size_t i = 0; i < NFIELDS; i++) {
      if (strcmp(line, fields[i].field) == 0) {
        snprintf(p->v[i], VALUE_MAX, "%s", osq_tbl_trim(val));
        p->set[i] = true;
        break;
      }
    }
  }
  if (rc == OSQ_OK)
    rc = emit(out, p, admindir, ns_pid, mnt); /* last paragraph */
  free(p);
  fclose(f);
  return rc;
}

static int gen_ns(const osq_context *ctx, osq_rows *out, int64_t ns_pid) {
  size_t n = osq_context_nconstraints(ctx, C_ADMINDIR);
  bool any = false;
  int rc = OSQ_OK;
  for (size_t i = 0; i < n && rc == OSQ_OK; i++) {
    const osq_constraint *c = osq_context_constraint(ctx, C_ADMINDIR, i);
    if (c->op != OSQ_OP_EQ || c->len == 0 || strlen(c->expr) != c->len)
      continue;
    any = true;
    rc = gen_admindir(out, c->expr, ns_pid);
  }
  if (!any && rc == OSQ_OK)
    rc = gen_admindir(out, DEFAULT_ADMINDIR, ns_pid);
  return rc;
}

static int generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)udata;
  int64_t pids[OSQ_TBL_NS_PIDS_MAX];
  size_t np = osq_tbl_ns_pids(ctx, C_PID_WITH_NAMESPACE, pids,
                              OSQ_TBL_NS_PIDS_MAX);
  if (np == 0)
    return gen_ns(ctx, out, 0);
  int rc = OSQ_OK;
  for (size_t i = 0; i < np && rc == OSQ_OK; i++)
    rc = gen_ns(ctx, out, pids[i]);
  return rc;
}

const osq_table_plugin osq_table_deb_packages = {
    .name = "deb_packages",
    .columns = columns,
    .ncolumns = OSQ_NCOLS(columns),
    .attributes = OSQ_TABLE_CACHEABLE,
    .generate = generate,
};
