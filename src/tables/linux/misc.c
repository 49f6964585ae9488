/* Small Linux tables: kernel_info, memory_info, cpu_time, etc_hosts,
 * user_groups, mounts. Each reads one or two files with bounded lines. */
#include "core/log.h"
#include "tables/builtin.h"
#include "tables/util.h"
#include "misc.h"
#include "users.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/utsname.h>

/* Overridable for tests (misc.h). */
const char *osq_tables_hosts_path = "/etc/hosts";
const char *osq_tables_mounts_path = "/proc/mounts";

/* ---- kernel_info ------------------------------------------------------ */

enum { K_VERSION, K_ARGUMENTS, K_PATH, K_DEVICE };

static const osq_column kernel_columns[] = {
    {"version", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_VERSION},
    {"arguments", OSQ_TYPE_TEXT, 0},
    {"path", OSQ_TYPE_TEXT, 0},
    {"device", OSQ_TYPE_TEXT, 0},
};

static int kernel_generate(const osq_context *ctx, osq_rows *out,
                           void *udata) {
  (void)ctx;
  (void)udata;
  struct utsname u;
  osq_rows_cstr(out, K_VERSION, uname(&u) == 0 ? u.release : "");
  char buf[8192], args[8192] = "";
  const char *path = "", *device = "";
  size_t alen = 0;
  if (osq_tbl_read("/proc/cmdline", buf, sizeof buf, NULL) > 0) {
    char *save = NULL;
    for (char *tok = strtok_r(buf, " \t\n", &save); tok;
         tok = strtok_r(NULL, " \t\n", &save)) {
      if (strncmp(tok, "BOOT_IMAGE=", 11) == 0) {
        path = tok + 11;
      } else if (strncmp(tok, "root=", 5) == 0) {
        device = tok + 5;
      } else {
        size_t tl = strlen(tok);
        if (alen + tl + 2 > sizeof args)
          break;
        if (alen)
          args[alen++] = ' ';
        memcpy(args + alen, tok, tl + 1);
        alen += tl;
      }
    }
  }
  osq_rows_cstr(out, K_ARGUMENTS, args);
  osq_rows_cstr(out, K_PATH, path);
  osq_rows_cstr(out, K_DEVICE, device);
  return osq_rows_end(out);
}

const osq_table_plugin osq_table_kernel_info = {
    .name = "kernel_info",
    .columns = kernel_columns,
    .ncolumns = OSQ_NCOLS(kernel_columns),
    .attributes = OSQ_TABLE_CACHEABLE,
    .generate = kernel_generate,
};

/* ---- memory_info ------------------------------------------------------ */

static const osq_column memory_columns[] = {
    {"memory_total", OSQ_TYPE_BIGINT, 0},
    {"memory_free", OSQ_TYPE_BIGINT, 0},
    {"memory_available", OSQ_TYPE_BIGINT, 0},
    {"buffers", OSQ_TYPE_BIGINT, 0},
    {"cached", OSQ_TYPE_BIGINT, 0},
    {"swap_cached", OSQ_TYPE_BIGINT, 0},
    {"active", OSQ_TYPE_BIGINT, 0},
    {"inactive", OSQ_TYPE_BIGINT, 0},
    {"swap_total", OSQ_TYPE_BIGINT, 0},
    {"swap_free", OSQ_TYPE_BIGINT, 0},
};

static int memory_generate(const osq_context *ctx, osq_rows *out,
                           void *udata) {
  (void)ctx;
  (void)udata;
  /* /proc/meminfo keys, in the column order above */
  static const char *const keys[] = {
      "MemTotal", "MemFree", "MemAvailable", "Buffers",   "Cached",
      "SwapCached", "Active", "Inactive",    "SwapTotal", "SwapFree"};
  char buf[16384];
  if (osq_tbl_read("/proc/meminfo", buf, sizeof buf, NULL) <= 0) {
    osq_rows_error(out, "memory_info: cannot read /proc/meminfo");
    return OSQ_ERROR;
  }
  char *save = NULL;
  for (char *line = strtok_r(buf, "\n", &save); line;
       line = strtok_r(NULL, "\n", &save)) {
    char *colon = strchr(line, ':');
    if (colon == NULL)
      continue;
    *colon = '\0';
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
      if (strcmp(line, keys[i]) != 0)
        continue;
      char *v = colon + 1;
      while (*v == ' ' || *v == '\t')
        v++;
      char num[32];
      size_t n = 0;
      while (isdigit((unsigned char)v[n]) && n + 1 < sizeof num) {
        num[n] = v[n];
        n++;
      }
      num[n] = '\0';
      uint64_t kb;
      if (osq_tbl_parse_u64(num, &kb) && kb < (UINT64_MAX >> 11))
        osq_rows_int(out, i, (int64_t)(kb * 1024));
    }
  }
  return osq_rows_end(out);
}

const osq_table_plugin osq_table_memory_info = {
    .name = "memory_info",
    .columns = memory_columns,
    .ncolumns = OSQ_NCOLS(memory_columns),
    .generate = memory_generate,
};

/* ---- cpu_time --------------------------------------------------------- */

static const osq_column cpu_columns[] = {
    {"core", OSQ_TYPE_INTEGER, 0},      {"user", OSQ_TYPE_BIGINT, 0},
    {"nice", OSQ_TYPE_BIGINT, 0},       {"system", OSQ_TYPE_BIGINT, 0},
    {"idle", OSQ_TYPE_BIGINT, 0},       {"iowait", OSQ_TYPE_BIGINT, 0},
    {"irq", OSQ_TYPE_BIGINT, 0},        {"softirq", OSQ_TYPE_BIGINT, 0},
    {"steal", OSQ_TYPE_BIGINT, 0},      {"guest", OSQ_TYPE_BIGINT, 0},
    {"guest_nice", OSQ_TYPE_BIGINT, 0},
};

static int cpu_generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)ctx;
  (void)udata;
  FILE *f = fopen("/proc/stat", "re");
  if (f == NULL) {
    osq_rows_error(out, "cpu_time: cannot read /proc/stat: %s",
                   strerror(errno));
    return OSQ_ERROR;
  }
  char line[1024];
  int got, rc = OSQ_OK;
  while (rc == OSQ_OK && (got = osq_tbl_getline(f, line, sizeof line)) != 0) {
    /* "cpuN ..." lines only; the aggregate "cpu " line is not a core */
    if (got < 0 || strncmp(line, "cpu", 3) != 0 ||
        !isdigit((unsigned char)line[3]))
      continue;
    char *save = NULL;
    char *tok = strtok_r(line + 3, " ", &save);
    int64_t core;
    if (tok == NULL || !osq_tbl_parse_i64(tok, &core))
      continue;
    osq_rows_int(out, 0, core);
    for (size_t c = 1; c < OSQ_NCOLS(cpu_columns); c++) {
      tok = strtok_r(NULL, " ", &save);
      uint64_t v;
      if (tok == NULL || !osq_tbl_parse_u64(tok, &v))
        break; /* older kernels print fewer fields: NULL cells */
      osq_rows_int(out, c, (int64_t)v);
    }
    rc = osq_rows_end(out);
  }
  fclose(f);
  return rc;
}

const osq_table_plugin osq_table_cpu_time = {
    .name = "cpu_time",
    .columns = cpu_columns,
    .ncolumns = OSQ_NCOLS(cpu_columns),
    .generate = cpu_generate,
};

/* ---- etc_hosts -------------------------------------------------------- */

static const osq_column hosts_columns[] = {
    {"address", OSQ_TYPE_TEXT, 0},
    {"hostnames", OSQ_TYPE_TEXT, 0},
    {"pid_with_namespace", OSQ_TYPE_INTEGER,
     OSQ_COL_ADDITIONAL | OSQ_COL_HIDDEN},
};

static int hosts_file(osq_rows *out, int64_t ns_pid) {
  FILE *f = osq_tbl_fopen_in(ns_pid, osq_tables_hosts_path);
  if (f == NULL)
    return OSQ_OK;
  char line[OSQ_TBL_LINE_MAX], names[OSQ_TBL_LINE_MAX];
  int got, rc = OSQ_OK;
  while (rc == OSQ_OK && (got = osq_tbl_getline(f, line, sizeof line)) != 0) {
    if (got < 0)
      continue;
    line[strcspn(line, "#")] = '\0';
    char *save = NULL;
    char *addr = strtok_r(line, " \t", &save);
    if (addr == NULL)
      continue;
    size_t n = 0;
    for (char *h = strtok_r(NULL, " \t", &save); h;
         h = strtok_r(NULL, " \t", &save)) {
      size_t hl = strlen(h);
      if (n + hl + 2 > sizeof names)
        break;
      if (n)
        names[n++] = ' ';
      memcpy(names + n, h, hl);
      n += hl;
    }
    if (n == 0)
      continue;
    osq_rows_cstr(out, 0, addr);
    osq_rows_text(out, 1, names, n);
    if (ns_pid > 0)
      osq_rows_int(out, 2, ns_pid);
    rc = osq_rows_end(out);
  }
  fclose(f);
  return rc;
}

static int hosts_generate(const osq_context *ctx, osq_rows *out,
                          void *udata) {
  (void)udata;
  int64_t pids[OSQ_TBL_NS_PIDS_MAX];
  size_t np = osq_tbl_ns_pids(ctx, 2, pids, OSQ_TBL_NS_PIDS_MAX);
  if (np == 0)
    return hosts_file(out, 0);
  int rc = OSQ_OK;
  for (size_t i = 0; i < np && rc == OSQ_OK; i++)
    rc = hosts_file(out, pids[i]);
  return rc;
}

static const char *const hosts_aliases[] = {"hosts", NULL};

const osq_table_plugin osq_table_etc_hosts = {
    .name = "etc_hosts",
    .columns = hosts_columns,
    .ncolumns = OSQ_NCOLS(hosts_columns),
    .attributes = OSQ_TABLE_CACHEABLE,
    .aliases = hosts_aliases,
    .generate = hosts_generate,
};

/* ---- user_groups ------------------------------------------------------ */

static const osq_column ug_columns[] = {
    {"uid", OSQ_TYPE_BIGINT, OSQ_COL_INDEX | OSQ_COL_OPTIMIZED},
    {"gid", OSQ_TYPE_BIGINT, OSQ_COL_INDEX},
};

typedef struct ug_user {
  char *name;
  uint32_t uid, gid;
} ug_user;

typedef struct ug_pair {
  uint32_t uid, gid;
} ug_pair;

static int cmp_pair(const void *a, const void *b) {
  const ug_pair *x = a, *y = b;
  if (x->uid != y->uid)
    return x->uid < y->uid ? -1 : 1;
  return (x->gid > y->gid) - (x->gid < y->gid);
}

#define UG_MAX 1000000 /* users or memberships; more is not a passwd file */

static int ug_generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)udata;
  ug_user *users = NULL;
  size_t nu = 0, cu = 0;
  ug_pair *pairs = NULL;
  size_t np = 0, cp = 0;
  int rc = OSQ_OK;
  char line[OSQ_TBL_LINE_MAX];
  int got;
  FILE *f = fopen(osq_tables_passwd_path, "re");
  while (f && nu < UG_MAX &&
         (got = osq_tbl_getline(f, line, sizeof line)) != 0) {
    char *fl[7];
    uint32_t uid, gid;
    if (got < 0 || line[0] == '#' || !osq_tbl_split_colons(line, fl, 7) ||
        !fl[0][0] || !osq_tbl_parse_u32(fl[2], &uid) ||
        !osq_tbl_parse_u32(fl[3], &gid))
      continue;
    if (nu == cu) {
      cu = cu ? cu * 2 : 64;
      ug_user *nu2 = realloc(users, cu * sizeof *users);
      if (nu2 == NULL)
        break;
      users = nu2;
    }
    users[nu].name = strdup(fl[0]);
    if (users[nu].name == NULL)
      break;
    users[nu].uid = uid;
    users[nu].gid = gid;
    nu++;
  }
  if (f)
    fclose(f);
  /* primary groups, then supplementary memberships from /etc/group */
  cp = nu + 64;
  pairs = malloc(cp * sizeof *pairs);
  if (pairs == NULL) {
    for (size_t i = 0; i < nu; i++)
      free(users[i].name);
    free(users);
    osq_rows_error(out, "user_groups: out of memory");
    return OSQ_ERROR;
  }
  for (size_t i = 0; i < nu; i++)
    pairs[np++] = (ug_pair){users[i].uid, users[i].gid};
  f = fopen(osq_tables_group_path, "re");
  while (f && np < UG_MAX &&
         (got = osq_tbl_getline(f, line, sizeof line)) != 0) {
    char *fl[4];
    uint32_t gid;
    if (got < 0 || line[0] == '#' || !osq_tbl_split_colons(line, fl, 4) ||
        !osq_tbl_parse_u32(fl[2], &gid))
      continue;
    char *save = NULL;
    for (char *m = strtok_r(fl[3], ",", &save); m && np < UG_MAX;
         m = strtok_r(NULL, ",", &save)) {
      for (size_t i = 0; i < nu; i++) {
        if (strcmp(users[i].name, m) != 0)
          continue;
        if (np == cp) {
          size_t c2 = cp ? cp * 2 : 64;
          ug_pair *p2 = realloc(pairs, c2 * sizeof *pairs);
          if (p2 == NULL)
            break;
          pairs = p2;
          cp = c2;
        }
        pairs[np++] = (ug_pair){users[i].uid, gid};
      }
    }
  }
  if (f)
    fclose(f);
  qsort(pairs, np, sizeof *pairs, cmp_pair);
  /* uid "=" constraints narrow the output; SQLite re-checks the rest */
  for (size_t i = 0; i < np && rc == OSQ_OK; i++) {
    if (i > 0 && cmp_pair(&pairs[i], &pairs[i - 1]) == 0)
      continue;
    if (!osq_tbl_eq_int_ok(ctx, 0, pairs[i].uid))
      continue;
    osq_rows_int(out, 0, pairs[i].uid);
    osq_rows_int(out, 1, pairs[i].gid);
    rc = osq_rows_end(out);
  }
  for (size_t i = 0; i < nu; i++)
    free(users[i].name);
  free(users);
  free(pairs);
  return rc;
}

const osq_table_plugin osq_table_user_groups = {
    .name = "user_groups",
    .columns = ug_columns,
    .ncolumns = OSQ_NCOLS(ug_columns),
    .generate = ug_generate,
};

/* ---- mounts ----------------------------------------------------------- */

enum {
  M_DEVICE, M_DEVICE_ALIAS, M_PATH, M_TYPE, M_BLOCKS_SIZE, M_BLOCKS,
  M_BLOCKS_FREE, M_BLOCKS_AVAILABLE, M_INODES, M_INODES_FREE, M_FLAGS,
  M_COUNT
};

static const osq_column mount_columns[] = {
    {"device", OSQ_TYPE_TEXT, 0},
    {"device_alias", OSQ_TYPE_TEXT, 0},
    {"path", OSQ_TYPE_TEXT, 0},
    {"type", OSQ_TYPE_TEXT, 0},
    {"blocks_size", OSQ_TYPE_BIGINT, 0},
    {"blocks", OSQ_TYPE_BIGINT, 0},
    {"blocks_free", OSQ_TYPE_BIGINT, 0},
    {"blocks_available", OSQ_TYPE_BIGINT, 0},
    {"inodes", OSQ_TYPE_BIGINT, 0},
    {"inodes_free", OSQ_TYPE_BIGINT, 0},
    {"flags", OSQ_TYPE_TEXT, 0},
};

_Static_assert(sizeof mount_columns / sizeof *mount_columns == M_COUNT,
               "cols");

/* /proc/mounts escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s) {
  char *w = s;
  for (char *r = s; *r;) {
    if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' &&
        r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
      *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
      r += 4;
    } else {
      *w++ = *r++;
    }
  }
  *w = '\0';
}

/* statfs on a dead network server blocks for minutes: skip those. */
static bool may_block(const char *type) {
  return strncmp(type, "nfs", 3) == 0 || strcmp(type, "cifs") == 0 ||
         strncmp(type, "smb", 3) == 0 || strncmp(type, "fuse", 4) == 0 ||
         strcmp(type, "9p") == 0 || strcmp(type, "ceph") == 0 ||
         strcmp(type, "glusterfs") == 0 || strcmp(type, "afs") == 0;
}

static int mounts_generate(const osq_context *ctx, osq_rows *out,
                           void *udata) {
  (void)udata;
  FILE *f = fopen(osq_tables_mounts_path, "re");
  if (f == NULL) {
    osq_rows_error(out, "mounts: cannot read %s: %s", osq_tables_mounts_path,
                   strerror(errno));
    return OSQ_ERROR;
  }
  bool want_stat = false;
  for (size_t c = M_BLOCKS_SIZE; c <= M_INODES_FREE; c++)
    want_stat = want_stat || osq_context_column_used(ctx, c);
  char line[OSQ_TBL_LINE_MAX];
  int got, rc = OSQ_OK;
  while (rc == OSQ_OK && (got = osq_tbl_getline(f, line, sizeof line)) != 0) {
    if (got < 0)
      continue;
    char *save = NULL;
    char *dev = strtok_r(line, " ", &save);
    char *path = strtok_r(NULL, " ", &save);
    char *type = strtok_r(NULL, " ", &save);
    char *flags = strtok_r(NULL, " ", &save);
    if (dev == NULL || path == NULL || type == NULL || flags == NULL)
      continue;
    unescape(dev);
    unescape(path);
    osq_rows_cstr(out, M_DEVICE, dev);
    char real[PATH_MAX];
    if (dev[0] == '/' && realpath(dev, real) != NULL)
      osq_rows_cstr(out, M_DEVICE_ALIAS, real);
    else
      osq_rows_cstr(out, M_DEVICE_ALIAS, dev);
    osq_rows_cstr(out, M_PATH, path);
    osq_rows_cstr(out, M_TYPE, type);
    osq_rows_cstr(out, M_FLAGS, flags);
    struct statfs st;
    if (want_stat && !may_block(type) && statfs(path, &st) == 0) {
      osq_rows_int(out, M_BLOCKS_SIZE, (int64_t)st.f_bsize);
      osq_rows_int(out, M_BLOCKS, (int64_t)st.f_blocks);
      osq_rows_int(out, M_BLOCKS_FREE, (int64_t)st.f_bfree);
      osq_rows_int(out, M_BLOCKS_AVAILABLE, (int64_t)st.f_bavail);
      osq_rows_int(out, M_INODES, (int64_t)st.f_files);
      osq_rows_int(out, M_INODES_FREE, (int64_t)st.f_ffree);
    }
    rc = osq_rows_end(out);
  }
  fclose(f);
  return rc;
}

const osq_table_plugin osq_table_mounts = {
    .name = "mounts",
    .columns = mount_columns,
    .ncolumns = OSQ_NCOLS(mount_columns),
    .generate = mounts_generate,
};
