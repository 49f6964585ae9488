/* process_namespaces, process_open_pipes and shared_memory: what
 * processes share with each other, from /proc and System V IPC. */
#include "tables/builtin.h"
#include "tables/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- process_namespaces ----------------------------------------------- */

static const osq_column ns_columns[] = {
    {"pid", OSQ_TYPE_INTEGER, OSQ_COL_INDEX | OSQ_COL_OPTIMIZED},
    {"cgroup_namespace", OSQ_TYPE_TEXT, 0},
    {"ipc_namespace", OSQ_TYPE_TEXT, 0},
    {"mnt_namespace", OSQ_TYPE_TEXT, 0},
    {"net_namespace", OSQ_TYPE_TEXT, 0},
    {"pid_namespace", OSQ_TYPE_TEXT, 0},
    {"user_namespace", OSQ_TYPE_TEXT, 0},
    {"uts_namespace", OSQ_TYPE_TEXT, 0},
};

/* /proc/<pid>/ns/<name> names, in column order after pid. */
static const char *const ns_names[] = {"cgroup", "ipc", "mnt", "net",
                                       "pid",    "user", "uts"};

/* One row per process, as osquery gives it: namespaces that cannot be
 * read (another user's process when not root) are NULL. */
static int ns_pid(int procfd, int64_t pid, osq_rows *out, void *u) {
  (void)u;
  char path[64], link[128];
  struct stat st;
  snprintf(path, sizeof path, "%" PRId64, pid);
  if (fstatat(procfd, path, &st, 0) != 0 || !S_ISDIR(st.st_mode))
    return OSQ_OK; /* not a process (or gone) */
  for (size_t i = 0; i < OSQ_NCOLS(ns_names); i++) {
    snprintf(path, sizeof path, "%" PRId64 "/ns/%s", pid, ns_names[i]);
    ssize_t n = osq_tbl_readlinkat(procfd, path, link, sizeof link);
    /* "net:[4026531840]": the column holds the inode number */
    char *open = n > 0 ? strchr(link, '[') : NULL;
    char *close = open ? strchr(open, ']') : NULL;
    if (close != NULL)
      osq_rows_text(out, 1 + i, open + 1, (size_t)(close - open - 1));
  }
  osq_rows_int(out, 0, pid);
  return osq_rows_end(out);
}

static int ns_generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)udata;
  return osq_tbl_for_pids(ctx, 0, out, ns_pid, NULL, "process_namespaces");
}

const osq_table_plugin osq_table_process_namespaces = {
    .name = "process_namespaces",
    .columns = ns_columns,
    .ncolumns = OSQ_NCOLS(ns_columns),
    .generate = ns_generate,
};

/* ---- process_open_pipes ----------------------------------------------- */

enum {
  PP_PID, PP_FD, PP_MODE, PP_INODE, PP_TYPE,
  PP_PARTNER_PID, PP_PARTNER_FD, PP_PARTNER_MODE
};

static const osq_column pipe_columns[] = {
    {"pid", OSQ_TYPE_BIGINT, 0},          {"fd", OSQ_TYPE_BIGINT, 0},
    {"mode", OSQ_TYPE_TEXT, 0},           {"inode", OSQ_TYPE_BIGINT, 0},
    {"type", OSQ_TYPE_TEXT, 0},           {"partner_pid", OSQ_TYPE_BIGINT, 0},
    {"partner_fd", OSQ_TYPE_BIGINT, 0},   {"partner_mode", OSQ_TYPE_TEXT, 0},
};

/* Pipe ends kept per query: far above any real system's, and a bound on
 * the memory a scan takes (about 40 bytes each). */
#define PIPE_ENDS_MAX (1u << 20)

typedef struct pipe_end {
  int64_t pid, fd;
  uint64_t inode;
  char mode[3]; /* "r", "w", "rw" or "" */
  bool named;
} pipe_end;

typedef struct pipe_scan {
  pipe_end *ends;
  size_t n, cap;
} pipe_scan;

/* The end's mode from the permission bits of /proc/<pid>/fd/<fd> (the
 * kernel sets them from the open mode), as osquery reads it. */
static void pipe_mode(int procfd, const char *fdpath, char mode[3]) {
  struct stat st;
  size_t n = 0;
  if (fstatat(procfd, fdpath, &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (st.st_mode & (S_IRUSR | S_IRGRP | S_IROTH))
      mode[n++] = 'r';
    if (st.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH))
      mode[n++] = 'w';
  }
  mode[n] = '\0';
}

static int pipe_pid(int procfd, int64_t pid, osq_rows *out, void *u) {
  (void)out;
  pipe_scan *s = u;
  char dir[64];
  snprintf(dir, sizeof dir, "%" PRId64 "/fd", pid);
  int dfd = openat(procfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return OSQ_OK;
  DIR *d = fdopendir(dfd);
  if (d == NULL) {
    close(dfd);
    return OSQ_OK;
  }
  struct dirent *e;
  int rc = OSQ_OK;
  while (rc == OSQ_OK && (e = readdir(d)) != NULL) {
    int64_t fd;
    if (!osq_tbl_parse_i64(e->d_name, &fd) || fd < 0)
      continue;
    char fdpath[96], link[256];
    snprintf(fdpath, sizeof fdpath, "%s/%" PRId64, dir, fd);
    if (osq_tbl_readlinkat(procfd, fdpath, link, sizeof link) <= 0)
      continue;
    pipe_end p = {.pid = pid, .fd = fd};
    uint64_t ino;
    if (strncmp(link, "pipe:[", 6) == 0) {
      link[strcspn(link, "]")] = '\0';
      if (!osq_tbl_parse_u64(link + 6, &ino))
        continue;
    } else {
      /* a named pipe: the descriptor's target is a FIFO */
      struct stat st;
      if (strncmp(link, "socket:", 7) == 0 ||
          strncmp(link, "anon_inode:", 11) == 0 ||
          fstatat(procfd, fdpath, &st, 0) != 0 || !S_ISFIFO(st.st_mode))
        continue;
      ino = st.st_ino;
      p.named = true;
    }
    p.inode = ino;
    pipe_mode(procfd, fdpath, p.mode);
    if (s->n == s->cap) {
      if (s->cap >= PIPE_ENDS_MAX)
        break;
      size_t cap = s->cap ? s->cap * 2 : 256;
      pipe_end *grown = realloc(s->ends, cap * sizeof *grown);
      if (grown == NULL) {
        rc = OSQ_ENOMEM;
        break;
      }
      s->ends = grown;
      s->cap = cap;
    }
    s->ends[s->n++] = p;
  }
  closedir(d);
  return rc;
}

static int cmp_pipe_end(const void *a, const void *b) {
  const pipe_end *x = a, *y = b;
  if (x->inode != y->inode)
    return x->inode < y->inode ? -1 : 1;
  if (x->named != y->named)
    return x->named ? 1 : -1;
  if (x->pid != y->pid)
    return x->pid < y->pid ? -1 : 1;
  return x->fd < y->fd ? -1 : x->fd > y->fd;
}

static void pipe_cells(osq_rows *out, const pipe_end *p) {
  osq_rows_int(out, PP_PID, p->pid);
  osq_rows_int(out, PP_FD, p->fd);
  osq_rows_cstr(out, PP_MODE, p->mode);
  osq_rows_int(out, PP_INODE, (int64_t)p->inode);
  osq_rows_cstr(out, PP_TYPE, p->named ? "named" : "anonymous");
}

/* One row per end and partner end of the same pipe: ends of different
 * modes (a reader and a writer), or any other end if this one is "rw". An
 * end no other descriptor shares is a row without a partner. */
static int pipe_rows(osq_rows *out, const pipe_end *e, size_t n) {
  int rc = OSQ_OK;
  for (size_t i = 0; i < n && rc == OSQ_OK; i++) {
    if (n == 1) {
      pipe_cells(out, &e[i]);
      rc = osq_rows_end(out);
      break;
    }
    for (size_t j = 0; j < n && rc == OSQ_OK; j++) {
      if (i == j || (strcmp(e[i].mode, e[j].mode) == 0 &&
                     strcmp(e[i].mode, "rw") != 0))
        continue;
      pipe_cells(out, &e[i]);
      osq_rows_int(out, PP_PARTNER_PID, e[j].pid);
      osq_rows_int(out, PP_PARTNER_FD, e[j].fd);
      osq_rows_cstr(out, PP_PARTNER_MODE, e[j].mode);
      rc = osq_rows_end(out);
    }
  }
  return rc;
}

static int pipes_generate(const osq_context *ctx, osq_rows *out,
                          void *udata) {
  (void)udata;
  /* pid is not an index column: the query never narrows the scan, and a
   * partner can be any process anyway */
  pipe_scan s = {0};
  int rc = osq_tbl_for_pids(ctx, 0, out, pipe_pid, &s, "process_open_pipes");
  if (rc == OSQ_OK && s.n > 0) {
    qsort(s.ends, s.n, sizeof *s.ends, cmp_pipe_end);
    for (size_t i = 0; i < s.n && rc == OSQ_OK;) {
      size_t j = i + 1;
      while (j < s.n && s.ends[j].inode == s.ends[i].inode &&
             s.ends[j].named == s.ends[i].named)
        j++;
      rc = pipe_rows(out, s.ends + i, j - i);
      i = j;
    }
  }
  free(s.ends);
  return rc;
}

const osq_table_plugin osq_table_process_open_pipes = {
    .name = "process_open_pipes",
    .columns = pipe_columns,
    .ncolumns = OSQ_NCOLS(pipe_columns),
    .generate = pipes_generate,
};

/* ---- shared_memory ---------------------------------------------------- */

enum {
  SHM_C_SHMID, SHM_C_OWNER_UID, SHM_C_CREATOR_UID, SHM_C_PID,
  SHM_C_CREATOR_PID, SHM_C_ATIME, SHM_C_DTIME, SHM_C_CTIME,
  SHM_C_PERMISSIONS, SHM_C_SIZE, SHM_C_ATTACHED, SHM_C_STATUS, SHM_C_LOCKED
};

static const osq_column shm_columns[] = {
    {"shmid", OSQ_TYPE_INTEGER, 0},      {"owner_uid", OSQ_TYPE_BIGINT, 0},
    {"creator_uid", OSQ_TYPE_BIGINT, 0}, {"pid", OSQ_TYPE_BIGINT, 0},
    {"creator_pid", OSQ_TYPE_BIGINT, 0}, {"atime", OSQ_TYPE_BIGINT, 0},
    {"dtime", OSQ_TYPE_BIGINT, 0},       {"ctime", OSQ_TYPE_BIGINT, 0},
    {"permissions", OSQ_TYPE_TEXT, 0},   {"size", OSQ_TYPE_BIGINT, 0},
    {"attached", OSQ_TYPE_INTEGER, 0},   {"status", OSQ_TYPE_TEXT, 0},
    {"locked", OSQ_TYPE_INTEGER, 0},
};

/* osquery fills the uid columns only for uids with a passwd entry. */
static void shm_uid(osq_rows *out, size_t col, uid_t uid) {
  struct passwd pw, *res = NULL;
  char buf[4096];
  if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res != NULL)
    osq_rows_int(out, col, uid);
}

static int shm_generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)ctx;
  (void)udata;
  struct shm_info info;
  int maxidx = shmctl(0, SHM_INFO, (struct shmid_ds *)(void *)&info);
  if (maxidx < 0)
    return OSQ_OK; /* a kernel without System V IPC */
  int rc = OSQ_OK;
  for (int idx = 0; idx <= maxidx && rc == OSQ_OK; idx++) {
    struct shmid_ds ds;
    int id = shmctl(idx, SHM_STAT, &ds);
    if (id < 0)
      continue; /* a free slot, or one we may not read */
    char perms[8];
    /* osquery prints the low 12 mode bits as 4 octal digits; they include
     * SHM_DEST and SHM_LOCKED */
    snprintf(perms, sizeof perms, "%04o", (unsigned)(ds.shm_perm.mode & 07777));
    osq_rows_int(out, SHM_C_SHMID, id);
    shm_uid(out, SHM_C_OWNER_UID, ds.shm_perm.uid);
    shm_uid(out, SHM_C_CREATOR_UID, ds.shm_perm.cuid);
    osq_rows_int(out, SHM_C_PID, ds.shm_lpid);
    osq_rows_int(out, SHM_C_CREATOR_PID, ds.shm_cpid);
    osq_rows_int(out, SHM_C_ATIME, ds.shm_atime);
    osq_rows_int(out, SHM_C_DTIME, ds.shm_dtime);
    osq_rows_int(out, SHM_C_CTIME, ds.shm_ctime);
    osq_rows_cstr(out, SHM_C_PERMISSIONS, perms);
    osq_rows_int(out, SHM_C_SIZE, (int64_t)ds.shm_segsz);
    osq_rows_int(out, SHM_C_ATTACHED, (int64_t)ds.shm_nattch);
    osq_rows_cstr(out, SHM_C_STATUS,
                  (ds.shm_perm.mode & SHM_DEST) ? "dest" : "");
    osq_rows_int(out, SHM_C_LOCKED, (ds.shm_perm.mode & SHM_LOCKED) ? 1 : 0);
    rc = osq_rows_end(out);
  }
  return rc;
}

const osq_table_plugin osq_table_shared_memory = {
    .name = "shared_memory",
    .columns = shm_columns,
    .ncolumns = OSQ_NCOLS(shm_columns),
    .generate = shm_generate,
};
