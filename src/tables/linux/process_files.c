/* process_open_files and process_envs: per-process views from /proc.
 * A "pid =" constraint reads only those processes. */
#include "tables/builtin.h"
#include "tables/util.h"
#include "core/proc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The environment block of one process is capped; the kernel's own limit
 * on argv+envp is ARG_MAX (usually 2 MiB), rarely approached. */
#define ENVIRON_MAX (256 * 1024)

/* ---- process_open_files ----------------------------------------------- */

static const osq_column pof_columns[] = {
    {"pid", OSQ_TYPE_BIGINT, OSQ_COL_INDEX},
    {"fd", OSQ_TYPE_BIGINT, 0},
    {"path", OSQ_TYPE_TEXT, 0},
};

static int pof_pid(int procfd, int64_t pid, osq_rows *out, void *u) {
  (void)u;
  char path[64];
  snprintf(path, sizeof path, "%lld/fd", (long long)pid);
  int fdd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fdd < 0)
    return OSQ_OK; /* gone, or not ours to read */
  DIR *d = fdopendir(fdd);
  if (d == NULL) {
    close(fdd);
    return OSQ_OK;
  }
  int rc = OSQ_OK;
  struct dirent *e;
  char link[PATH_MAX];
  while (rc == OSQ_OK && (e = readdir(d)) != NULL) {
    int64_t fd;
    if (!isdigit((unsigned char)e->d_name[0]) ||
        !osq_tbl_parse_i64(e->d_name, &fd))
      continue;
    ssize_t n = osq_tbl_readlinkat(dirfd(d), e->d_name, link, sizeof link);
    if (n < 0)
      continue; /* closed meanwhile */
    osq_rows_int(out, 0, pid);
    osq_rows_int(out, 1, fd);
    osq_rows_text(out, 2, link, (size_t)n);
    rc = osq_rows_end(out);
  }
  closedir(d);
  return rc;
}

static int pof_generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)udata;
  return osq_tbl_for_pids(ctx, 0, out, pof_pid, NULL, "process_open_files");
}

const osq_table_plugin osq_table_process_open_files = {
    .name = "process_open_files",
    .columns = pof_columns,
    .ncolumns = OSQ_NCOLS(pof_columns),
    .generate = pof_generate,
};

/* ---- process_envs ----------------------------------------------------- */

static const osq_column env_columns[] = {
    {"pid", OSQ_TYPE_INTEGER, OSQ_COL_INDEX | OSQ_COL_OPTIMIZED},
    {"key", OSQ_TYPE_TEXT, 0},
    {"value", OSQ_TYPE_TEXT, 0},
};

static int env_pid(int procfd, int64_t pid, osq_rows *out, void *u) {
  char *buf = u;
  char path[64];
  snprintf(path, sizeof path, "%lld/environ", (long long)pid);
  ssize_t n = osq_tbl_readat(procfd, path, buf, ENVIRON_MAX, NULL);
  if (n <= 0)
    return OSQ_OK;
  int rc = OSQ_OK;
  /* NUL-separated KEY=VALUE; a truncated last entry is dropped */
  for (size_t off = 0; off < (size_t)n && rc == OSQ_OK;) {
    char *entry = buf + off;
    size_t len = strnlen(entry, (size_t)n - off);
    if (off + len >= (size_t)n)
      break;
    off += len + 1;
    char *eq = memchr(entry, '=', len);
    if (eq == NULL || eq == entry)
      continue;
    osq_rows_int(out, 0, pid);
    osq_rows_text(out, 1, entry, (size_t)(eq - entry));
    osq_rows_text(out, 2, eq + 1, len - (size_t)(eq - entry) - 1);
    rc = osq_rows_end(out);
  }
  return rc;
}

static int env_generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)udata;
  char *buf = malloc(ENVIRON_MAX);
  if (buf == NULL) {
    osq_rows_error(out, "process_envs: out of memory");
    return OSQ_ERROR;
  }
  int rc = osq_tbl_for_pids(ctx, 0, out, env_pid, buf, "process_envs");
  free(buf);
  return rc;
}

const osq_table_plugin osq_table_process_envs = {
    .name = "process_envs",
    .columns = env_columns,
    .ncolumns = OSQ_NCOLS(env_columns),
    .generate = env_generate,
};

/* ---- process_memory_map ----------------------------------------------- */

enum { M_PID, M_START, M_END, M_PERMISSIONS, M_OFFSET, M_DEVICE, M_INODE,
       M_PATH, M_PSEUDO };

static const osq_column map_columns[] = {
    {"pid", OSQ_TYPE_INTEGER, OSQ_COL_INDEX | OSQ_COL_OPTIMIZED},
    {"start", OSQ_TYPE_TEXT, 0},
    {"end", OSQ_TYPE_TEXT, 0},
    {"permissions", OSQ_TYPE_TEXT, 0},
    {"offset", OSQ_TYPE_BIGINT, 0},
    {"device", OSQ_TYPE_TEXT, 0},
    {"inode", OSQ_TYPE_INTEGER, 0},
    {"path", OSQ_TYPE_TEXT, 0},
    {"pseudo", OSQ_TYPE_INTEGER, 0},
};

/* "55d0c2a00000-55d0c2a28000 r--p 00000000 fd:01 1234   /usr/bin/x" */
static int map_pid(int procfd, int64_t pid, osq_rows *out, void *u) {
  (void)u;
  char path[64];
  snprintf(path, sizeof path, "%lld/maps", (long long)pid);
  int fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return OSQ_OK;
  FILE *f = fdopen(fd, "r");
  if (f == NULL) {
    close(fd);
    return OSQ_OK;
  }
  char line[PATH_MAX + 256];
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
    char *tok[5], *p = line;
    int k = 0;
    for (; k < 5; k++) {
      while (*p == ' ')
        p++;
      if (*p == '\0')
        break;
      tok[k] = p;
      p += strcspn(p, " ");
      if (*p)
        *p++ = '\0';
    }
    if (k < 5)
      continue;
    while (*p == ' ')
      p++;
    char *dash = strchr(tok[0], '-');
    uint64_t off, inode;
    char *end;
    errno = 0;
    off = strtoull(tok[2], &end, 16);
    if (dash == NULL || errno || *end || !osq_tbl_parse_u64(tok[4], &inode))
      continue;
    *dash = '\0';
    osq_rows_int(out, M_PID, pid);
    osq_rows_cstr(out, M_START, tok[0]);
    osq_rows_cstr(out, M_END, dash + 1);
    osq_rows_cstr(out, M_PERMISSIONS, tok[1]);
    osq_rows_int(out, M_OFFSET, (int64_t)off);
    osq_rows_cstr(out, M_DEVICE, tok[3]);
    osq_rows_int(out, M_INODE, (int64_t)inode);
    osq_rows_cstr(out, M_PATH, p);
    /* [heap], [stack], [vdso] ... are not files */
    osq_rows_int(out, M_PSEUDO, p[0] == '[' ? 1 : 0);
    rc = osq_rows_end(out);
  }
  fclose(f);
  return rc;
}

static int map_generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)udata;
  return osq_tbl_for_pids(ctx, 0, out, map_pid, NULL, "process_memory_map");
}

const osq_table_plugin osq_table_process_memory_map = {
    .name = "process_memory_map",
    .columns = map_columns,
    .ncolumns = OSQ_NCOLS(map_columns),
    .generate = map_generate,
};
