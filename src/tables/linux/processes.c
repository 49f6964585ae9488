/* processes: one row per process, from /proc.
 *
 * A "pid =" (or IN) constraint reads only those /proc/<pid> directories,
 * and files behind unused columns are not opened. A process that exits
 * mid-scan is skipped; a file that cannot be read gives NULL cells. */
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
#include <sys/stat.h>
#include <unistd.h>

/* cmdline longer than this is truncated (the kernel's own limit for one
 * argument is 128 KiB; whole command lines up to ARG_MAX are rare). */
#define CMDLINE_MAX (256 * 1024)
#define SMALL_FILE_MAX 8192

enum {
  C_PID, C_NAME, C_PATH, C_CMDLINE, C_STATE, C_CWD, C_ROOT, C_UID, C_GID,
  C_EUID, C_EGID, C_SUID, C_SGID, C_ON_DISK, C_WIRED_SIZE, C_RESIDENT_SIZE,
  C_TOTAL_SIZE, C_USER_TIME, C_SYSTEM_TIME, C_DISK_BYTES_READ,
  C_DISK_BYTES_WRITTEN, C_START_TIME, C_PARENT, C_PGROUP, C_THREADS, C_NICE,
  /* other platforms' columns, hidden as osquery declares them */
  C_ELEVATED_TOKEN, C_SECURE_PROCESS, C_PROTECTION_TYPE, C_VIRTUAL_PROCESS,
  C_ELAPSED_TIME, C_HANDLE_COUNT, C_PERCENT_PROCESSOR_TIME, C_UPID, C_UPPID,
  C_CPU_TYPE, C_CPU_SUBTYPE, C_TRANSLATED,
  /* Linux's own, declared after the others in osquery's spec */
  C_CGROUP_PATH,
  C_COUNT
};

static const osq_column columns[] = {
    {"pid", OSQ_TYPE_BIGINT, OSQ_COL_INDEX | OSQ_COL_OPTIMIZED},
    {"name", OSQ_TYPE_TEXT, 0},
    {"path", OSQ_TYPE_TEXT, 0},
    {"cmdline", OSQ_TYPE_TEXT, 0},
    {"state", OSQ_TYPE_TEXT, 0},
    {"cwd", OSQ_TYPE_TEXT, 0},
    {"root", OSQ_TYPE_TEXT, 0},
    {"uid", OSQ_TYPE_BIGINT, 0},
    {"gid", OSQ_TYPE_BIGINT, 0},
    {"euid", OSQ_TYPE_BIGINT, 0},
    {"egid", OSQ_TYPE_BIGINT, 0},
    {"suid", OSQ_TYPE_BIGINT, 0},
    {"sgid", OSQ_TYPE_BIGINT, 0},
    {"on_disk", OSQ_TYPE_INTEGER, 0},
    {"wired_size", OSQ_TYPE_BIGINT, 0},
    {"resident_size", OSQ_TYPE_BIGINT, 0},
    {"total_size", OSQ_TYPE_BIGINT, 0},
    {"user_time", OSQ_TYPE_BIGINT, 0},
    {"system_time", OSQ_TYPE_BIGINT, 0},
    {"disk_bytes_read", OSQ_TYPE_BIGINT, 0},
    {"disk_bytes_written", OSQ_TYPE_BIGINT, 0},
    {"start_time", OSQ_TYPE_BIGINT, 0},
    {"parent", OSQ_TYPE_BIGINT, 0},
    {"pgroup", OSQ_TYPE_BIGINT, 0},
    {"threads", OSQ_TYPE_INTEGER, 0},
    {"nice", OSQ_TYPE_INTEGER, 0},
    {"elevated_token", OSQ_TYPE_INTEGER, OSQ_COL_HIDDEN},
    {"secure_process", OSQ_TYPE_INTEGER, OSQ_COL_HIDDEN},
    {"protection_type", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
    {"virtual_process", OSQ_TYPE_INTEGER, OSQ_COL_HIDDEN},
    {"elapsed_time", OSQ_TYPE_BIGINT, OSQ_COL_HIDDEN},
    {"handle_count", OSQ_TYPE_BIGINT, OSQ_COL_HIDDEN},
    {"percent_processor_time", OSQ_TYPE_BIGINT, OSQ_COL_HIDDEN},
    {"upid", OSQ_TYPE_BIGINT, OSQ_COL_HIDDEN},
    {"uppid", OSQ_TYPE_BIGINT, OSQ_COL_HIDDEN},
    {"cpu_type", OSQ_TYPE_INTEGER, OSQ_COL_HIDDEN},
    {"cpu_subtype", OSQ_TYPE_INTEGER, OSQ_COL_HIDDEN},
    {"translated", OSQ_TYPE_INTEGER, OSQ_COL_HIDDEN},
    {"cgroup_path", OSQ_TYPE_TEXT, 0},
};

_Static_assert(sizeof columns / sizeof *columns == C_COUNT, "columns");

typedef struct scan {
  const osq_context *ctx;
  osq_rows *out;
  char *cmdline; /* CMDLINE_MAX bytes, allocated when cmdline is used */
  long hz;
  long page;
  int64_t boot;
  bool used[C_COUNT];
  bool need_status, need_stat;
  char path[64]; /* "<pid>/" then a file name, relative to /proc */
  size_t plen;
} scan;

/* "<pid>/<file>" for openat on the /proc fd: no directory fd per process
 * (two syscalls fewer each). Like ps, a pid reused between two reads
 * could mix two processes' files; the window is a few microseconds. */
static const char *pf(scan *s, const char *file) {
  size_t n = strlen(file); /* our own short literals */
  if (n >= sizeof s->path - s->plen)
    n = sizeof s->path - s->plen - 1;
  memcpy(s->path + s->plen, file, n);
  s->path[s->plen + n] = '\0';
  return s->path;
}

/* Fields of /proc/<pid>/stat after the command name. */
typedef struct stat_fields {
  char comm[64];
  char state;
  int64_t ppid, pgrp, nice, threads;
  uint64_t utime, stime, starttime, vsize, rss;
} stat_fields;

static bool parse_stat(char *buf, stat_fields *f) {
  char *open = strchr(buf, '(');
  char *close = strrchr(buf, ')');
  if (open == NULL || close == NULL || close < open)
    return false;
  size_t n = (size_t)(close - open - 1);
  if (n >= sizeof f->comm)
    n = sizeof f->comm - 1;
  memcpy(f->comm, open + 1, n);
  f->comm[n] = '\0';
  /* field 3 is the state; count from there */
  int field = 2, seen = 0;
  for (char *p = close + 1; *p;) {
    while (*p == ' ' || *p == '\n')
      p++;
    if (*p == '\0')
      break;
    char *tok = p;
    while (*p && *p != ' ' && *p != '\n')
      p++;
    if (*p)
      *p++ = '\0';
    field++;
    int64_t i = 0;
    uint64_t u = 0;
    switch (field) {
    case 3:
      f->state = tok[0];
      seen++;
      break;
    case 4:
    case 5:
    case 19:
    case 20:
      if (!osq_tbl_parse_i64(tok, &i))
        return false;
      if (field == 4)
        f->ppid = i;
      else if (field == 5)
        f->pgrp = i;
      else if (field == 19)
        f->nice = i;
      else
        f->threads = i;
      seen++;
      break;
    case 14:
    case 15:
    case 22:
    case 23:
    case 24:
      if (!osq_tbl_parse_u64(tok, &u))
        return false;
      if (field == 14)
        f->utime = u;
      else if (field == 15)
        f->stime = u;
      else if (field == 22)
        f->starttime = u;
      else if (field == 23)
        f->vsize = u;
      else
        f->rss = u;
      seen++;
      break;
    default:
      break;
    }
    if (field >= 24)
      break;
  }
  return seen == 10;
}

/* One /proc/<pid> file into buf (NUL-terminated); its length or -errno.
 * These files are generated whole on open or first read (single-record
 * seq files, and cmdline copied until the buffer or the arguments end),
 * so a read that does not fill the buffer has reached the end: one read
 * per file instead of a second that returns 0. */
static ssize_t proc_read(int dirfd, const char *name, char *buf, size_t cap) {
  buf[0] = '\0';
  int fd;
  do
    fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    return -errno;
  size_t n = 0;
  while (n + 1 < cap) {
    ssize_t r = read(fd, buf + n, cap - 1 - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      int e = errno;
      close(fd);
      return -e;
    }
    n += (size_t)r;
    if (r == 0 || n + 1 < cap)
      break;
  }
  close(fd);
  buf[n] = '\0';
  return (ssize_t)n;
}

/* The value after "\n<key>" in a status-like file, or NULL. */
static const char *field_after(const char *buf, const char *key, size_t klen) {
  if (strncmp(buf, key, klen) == 0)
    return buf + klen;
  for (const char *p = buf; (p = strchr(p, '\n')) != NULL;) {
    p++;
    if (strncmp(p, key, klen) == 0)
      return p + klen;
  }
  return NULL;
}

/* "Uid:\t0\t0\t0\t0" -> three ids; false unless all three parse. */
static bool parse_ids(const char *s, int64_t ids[3]) {
  for (int i = 0; i < 3; i++) {
    while (*s == ' ' || *s == '\t')
      s++;
    char num[24];
    size_t n = 0;
    while (isdigit((unsigned char)*s) && n + 1 < sizeof num)
      num[n++] = *s++;
    num[n] = '\0';
    if (!osq_tbl_parse_i64(num, &ids[i]))
      return false;
  }
  return true;
}

static void emit_status(scan *s, int dirfd) {
  char buf[SMALL_FILE_MAX];
  if (proc_read(dirfd, pf(s, "status"), buf, sizeof buf) <= 0)
    return;
  int64_t uid[3], gid[3];
  const char *u = field_after(buf, "Uid:", 4);
  const char *g = u ? field_after(u, "Gid:", 4) : NULL;
  if (g == NULL) /* Gid: comes after Uid: in every kernel; just in case */
    g = field_after(buf, "Gid:", 4);
  if (u && parse_ids(u, uid)) {
    osq_rows_int(s->out, C_UID, uid[0]);
    osq_rows_int(s->out, C_EUID, uid[1]);
    osq_rows_int(s->out, C_SUID, uid[2]);
  }
  if (g && parse_ids(g, gid)) {
    osq_rows_int(s->out, C_GID, gid[0]);
    osq_rows_int(s->out, C_EGID, gid[1]);
    osq_rows_int(s->out, C_SGID, gid[2]);
  }
}

static void emit_io(scan *s, int dirfd) {
  char buf[SMALL_FILE_MAX];
  if (proc_read(dirfd, pf(s, "io"), buf, sizeof buf) <= 0)
    return;
  for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line;
       line = strtok_r(NULL, "\n", &save)) {
    size_t col;
    const char *v;
    if (strncmp(line, "read_bytes:", 11) == 0) {
      col = C_DISK_BYTES_READ;
      v = line + 11;
    } else if (strncmp(line, "write_bytes:", 12) == 0) {
      col = C_DISK_BYTES_WRITTEN;
      v = line + 12;
    } else {
      continue;
    }
    while (*v == ' ' || *v == '\t')
      v++;
    int64_t n;
    if (osq_tbl_parse_i64(v, &n))
      osq_rows_int(s->out, col, n);
  }
}

static void emit_cmdline(scan *s, int dirfd) {
  ssize_t n = proc_read(dirfd, pf(s, "cmdline"), s->cmdline, CMDLINE_MAX);
  if (n < 0)
    return;
  /* arguments are NUL-separated; osquery joins them with spaces */
  size_t len = (size_t)n;
  while (len > 0 && s->cmdline[len - 1] == '\0')
    len--;
  for (size_t i = 0; i < len; i++)
    if (s->cmdline[i] == '\0')
      s->cmdline[i] = ' ';
  osq_rows_text(s->out, C_CMDLINE, s->cmdline, len);
}

static void emit_link(scan *s, int dirfd, const char *name, size_t col) {
  char buf[PATH_MAX];
  if (osq_tbl_readlinkat(dirfd, pf(s, name), buf, sizeof buf) >= 0)
    osq_rows_cstr(s->out, col, buf);
}

static void emit_path(scan *s, int dirfd) {
  char buf[PATH_MAX];
  ssize_t n = osq_tbl_readlinkat(dirfd, pf(s, "exe"), buf, sizeof buf);
  if (n < 0) {
    /* kernel threads have no executable */
    if (s->used[C_PATH])
      osq_rows_cstr(s->out, C_PATH, "");
    osq_rows_int(s->out, C_ON_DISK, -1);
    return;
  }
  if (s->used[C_PATH])
    osq_rows_text(s->out, C_PATH, buf, (size_t)n);
  if (s->used[C_ON_DISK]) {
    static const char deleted[] = " (deleted)";
    size_t dl = sizeof deleted - 1;
    struct stat st;
    int on_disk;
    if ((size_t)n > dl && strcmp(buf + n - dl, deleted) == 0)
      on_disk = 0;
    else
      on_disk = stat(buf, &st) == 0 ? 1 : 0;
    osq_rows_int(s->out, C_ON_DISK, on_disk);
  }
}

static void emit_cgroup(scan *s, int dirfd) {
  char buf[SMALL_FILE_MAX];
  if (proc_read(dirfd, pf(s, "cgroup"), buf, sizeof buf) <= 0)
    return;
  /* "hierarchy:controllers:path"; the unified (v2) line is "0::path" */
  const char *pick = NULL;
  size_t picklen = 0;
  for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line;
       line = strtok_r(NULL, "\n", &save)) {
    char *c1 = strchr(line, ':');
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (c2 == NULL)
      continue;
    if (pick == NULL || strncmp(line, "0::", 3) == 0) {
      pick = c2 + 1;
      picklen = strlen(pick);
    }
    if (strncmp(line, "0::", 3) == 0)
      break;
  }
  if (pick)
    osq_rows_text(s->out, C_CGROUP_PATH, pick, picklen);
}

/* Returns OSQ_OK, a sink error, or 1 when the process is gone. */
static int gen_pid(scan *s, int procfd, int64_t pid) {
  /* pid is in 1..INT32_MAX (callers check): at most 10 digits */
  char digits[24];
  size_t nd = 0;
  for (uint64_t v = (uint64_t)pid; v && nd < sizeof digits; v /= 10)
    digits[nd++] = (char)('0' + v % 10);
  if (nd == 0 || nd > 10)
    return 1;
  for (size_t i = 0; i < nd; i++)
    s->path[i] = digits[nd - 1 - i];
  s->path[nd] = '/';
  s->plen = nd + 1;
  int dirfd = procfd;
  char buf[SMALL_FILE_MAX];
  stat_fields f;
  memset(&f, 0, sizeof f);
  /* stat is what proves the process still exists */
  if (proc_read(dirfd, pf(s, "stat"), buf, sizeof buf) <= 0 ||
      !parse_stat(buf, &f))
    return 1;
  osq_rows *out = s->out;
  osq_rows_int(out, C_PID, pid);
  if (s->used[C_NAME])
    osq_rows_cstr(out, C_NAME, f.comm);
  if (s->used[C_STATE])
    osq_rows_text(out, C_STATE, &f.state, 1);
  if (s->used[C_PATH] || s->used[C_ON_DISK])
    emit_path(s, dirfd);
  if (s->used[C_CMDLINE] && s->cmdline)
    emit_cmdline(s, dirfd);
  if (s->used[C_CWD])
    emit_link(s, dirfd, "cwd", C_CWD);
  if (s->used[C_ROOT])
    emit_link(s, dirfd, "root", C_ROOT);
  if (s->need_status)
    emit_status(s, dirfd);
  osq_rows_int(out, C_WIRED_SIZE, 0);
  osq_rows_int(out, C_RESIDENT_SIZE, (int64_t)(f.rss * (uint64_t)s->page));
  osq_rows_int(out, C_TOTAL_SIZE, (int64_t)f.vsize);
  osq_rows_int(out, C_USER_TIME, (int64_t)(f.utime * 1000 / (uint64_t)s->hz));
  osq_rows_int(out, C_SYSTEM_TIME,
               (int64_t)(f.stime * 1000 / (uint64_t)s->hz));
  if (s->used[C_DISK_BYTES_READ] || s->used[C_DISK_BYTES_WRITTEN])
    emit_io(s, dirfd);
  osq_rows_int(out, C_START_TIME,
               s->boot < 0 ? -1
                           : s->boot + (int64_t)(f.starttime / (uint64_t)s->hz));
  osq_rows_int(out, C_PARENT, f.ppid);
  osq_rows_int(out, C_PGROUP, f.pgrp);
  osq_rows_int(out, C_THREADS, f.threads);
  osq_rows_int(out, C_NICE, f.nice);
  if (s->used[C_CGROUP_PATH])
    emit_cgroup(s, dirfd);
  return osq_rows_end(out);
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static int generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)udata;
  scan s = {.ctx = ctx, .out = out};
  s.hz = sysconf(_SC_CLK_TCK);
  s.page = sysconf(_SC_PAGESIZE);
  if (s.hz <= 0)
    s.hz = 100;
  if (s.page <= 0)
    s.page = 4096;
  for (size_t c = 0; c < C_COUNT; c++)
    s.used[c] = osq_context_column_used(ctx, c);
  s.need_status = s.used[C_UID] || s.used[C_GID] || s.used[C_EUID] ||
                  s.used[C_EGID] || s.used[C_SUID] || s.used[C_SGID];
  s.boot = s.used[C_START_TIME] ? osq_tbl_boot_time() : -1;
  if (s.used[C_CMDLINE]) {
    s.cmdline = malloc(CMDLINE_MAX);
    if (s.cmdline == NULL) {
      osq_rows_error(out, "processes: out of memory");
      return OSQ_ERROR;
    }
  }
  int procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (procfd < 0) {
    free(s.cmdline);
    osq_rows_error(out, "processes: cannot open /proc: %s", strerror(errno));
    return OSQ_ERROR;
  }
  int rc = OSQ_OK;
  size_t neq = osq_tbl_count_op(ctx, C_PID, OSQ_OP_EQ);
  if (neq > 0) {
    int64_t *pids = malloc(neq * sizeof *pids);
    size_t n = 0;
    if (pids == NULL) {
      rc = OSQ_ENOMEM;
    } else {
      size_t nc = osq_context_nconstraints(ctx, C_PID);
      for (size_t i = 0; i < nc; i++) {
        const osq_constraint *c = osq_context_constraint(ctx, C_PID, i);
        int64_t v;
        if (c->op == OSQ_OP_EQ && osq_tbl_parse_i64(c->expr, &v) && v > 0 &&
            v <= INT32_MAX)
          pids[n++] = v;
      }
      /* IN lists may repeat a value; one row per process */
      qsort(pids, n, sizeof *pids, cmp_i64);
      for (size_t i = 0; i < n && rc == OSQ_OK; i++) {
        if (i > 0 && pids[i] == pids[i - 1])
          continue;
        int r = gen_pid(&s, procfd, pids[i]);
        if (r != 1)
          rc = r;
      }
      free(pids);
    }
  } else {
    osq_proc_walk w;
    if (osq_proc_walk_open(&w, procfd) != OSQ_OK) {
      rc = OSQ_ERROR;
      osq_rows_error(out, "processes: cannot list /proc: %s",
                     strerror(errno));
    } else {
      int64_t pid;
      while (rc == OSQ_OK && osq_proc_walk_next(&w, &pid)) {
        int r = gen_pid(&s, procfd, pid);
        if (r != 1)
          rc = r;
      }
      osq_proc_walk_close(&w);
    }
  }
  close(procfd);
  free(s.cmdline);
  return rc;
}

const osq_table_plugin osq_table_processes = {
    .name = "processes",
    .columns = columns,
    .ncolumns = OSQ_NCOLS(columns),
    .attributes = OSQ_TABLE_CACHEABLE,
    .generate = generate,
};
