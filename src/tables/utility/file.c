/* file: stat(2) of paths named by "path" or "directory" constraints.
 *
 * path = X gives X; path LIKE P gives every path P matches (see fsglob.h);
 * directory = D gives the entries of D; directory LIKE P the entries of
 * every directory P matches. Without such a constraint the SQL layer
 * refuses the query (the columns are REQUIRED). */
#include "core/log.h"
#include "tables/builtin.h"
#include "tables/fsglob.h"
#include "tables/util.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

enum {
  C_PATH, C_DIRECTORY, C_FILENAME, C_INODE, C_UID, C_GID, C_MODE, C_DEVICE,
  C_SIZE, C_BLOCK_SIZE, C_ATIME, C_MTIME, C_CTIME, C_BTIME, C_HARD_LINKS,
  C_SYMLINK, C_TYPE, C_SYMLINK_TARGET_PATH,
  /* osquery declares 13 Windows and macOS columns here: hidden, NULL */
  C_FOREIGN_FIRST, C_PID_WITH_NAMESPACE = C_FOREIGN_FIRST + 13,
  C_MOUNT_NAMESPACE_ID, C_COUNT
};

static const osq_column columns[] = {
    {"path", OSQ_TYPE_TEXT,
     OSQ_COL_REQUIRED | OSQ_COL_INDEX | OSQ_COL_OPTIMIZED},
    {"directory", OSQ_TYPE_TEXT, OSQ_COL_REQUIRED | OSQ_COL_OPTIMIZED},
    {"filename", OSQ_TYPE_TEXT, 0},
    {"inode", OSQ_TYPE_BIGINT, 0},
    {"uid", OSQ_TYPE_BIGINT, 0},
    {"gid", OSQ_TYPE_BIGINT, 0},
    {"mode", OSQ_TYPE_TEXT, 0},
    {"device", OSQ_TYPE_BIGINT, 0},
    {"size", OSQ_TYPE_BIGINT, 0},
    {"block_size", OSQ_TYPE_INTEGER, 0},
    {"atime", OSQ_TYPE_BIGINT, 0},
    {"mtime", OSQ_TYPE_BIGINT, 0},
    {"ctime", OSQ_TYPE_BIGINT, 0},
    {"btime", OSQ_TYPE_BIGINT, 0},
    {"hard_links", OSQ_TYPE_INTEGER, 0},
    {"symlink", OSQ_TYPE_INTEGER, 0},
    {"type", OSQ_TYPE_TEXT, 0},
    {"symlink_target_path", OSQ_TYPE_TEXT, 0},
    /* Windows */
    {"attributes", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
    {"volume_serial", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
    {"file_id", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
    {"file_version", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN | OSQ_COL_COLLATE_VERSION},
    {"product_version", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN | OSQ_COL_COLLATE_VERSION},
    {"original_filename", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
    {"shortcut_target_path", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
    {"shortcut_target_type", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
    {"shortcut_target_location", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
    {"shortcut_start_in", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
    {"shortcut_run", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
    {"shortcut_comment", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
    /* macOS */
    {"bsd_flags", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
    {"pid_with_namespace", OSQ_TYPE_INTEGER,
     OSQ_COL_ADDITIONAL | OSQ_COL_HIDDEN},
    {"mount_namespace_id", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
};

_Static_assert(sizeof columns / sizeof *columns == C_COUNT, "columns");

static const char *type_name(mode_t m) {
  switch (m & S_IFMT) {
  case S_IFREG:
    return "regular";
  case S_IFDIR:
    return "directory";
  case S_IFLNK:
    return "symlink";
  case S_IFBLK:
    return "block";
  case S_IFCHR:
    return "character";
  case S_IFIFO:
    return "fifo";
  case S_IFSOCK:
    return "socket";
  default:
    return "unknown";
  }
}

/* Where paths are resolved: the host (rootfd -1), or inside the root of
 * process pid (pid_with_namespace), every lookup confined there. */
typedef struct where {
  int rootfd;
  int64_t pid;
  char mnt[32]; /* its mount namespace id, or "" */
} where;

#define STATX_WANT (STATX_BASIC_STATS | STATX_BTIME)

static bool stat_at(const where *w, const char *path, bool follow,
                    struct statx *st) {
  if (w->rootfd < 0)
    return statx(AT_FDCWD, path, follow ? 0 : AT_SYMLINK_NOFOLLOW,
                 STATX_WANT, st) == 0;
  int fd = osq_tbl_open_beneath(w->rootfd, path,
                                O_PATH | (follow ? 0 : O_NOFOLLOW));
  if (fd < 0)
    return false;
  bool ok = statx(fd, "", AT_EMPTY_PATH, STATX_WANT, st) == 0;
  close(fd);
  return ok;
}

static ssize_t link_target(const where *w, const char *path, char *buf,
                           size_t cap) {
  if (w->rootfd < 0) {
    if (realpath(path, buf) != NULL)
      return (ssize_t)strlen(buf);
    ssize_t n = readlink(path, buf, cap - 1);
    return n;
  }
  /* inside a root: the link's own text (a host realpath would be wrong) */
  int fd = osq_tbl_open_beneath(w->rootfd, path, O_PATH | O_NOFOLLOW);
  if (fd < 0)
    return -1;
  ssize_t n = readlinkat(fd, "", buf, cap - 1);
  close(fd);
  return n;
}

static DIR *open_dir(const where *w, const char *dir) {
  if (w->rootfd < 0)
    return opendir(dir);
  int fd = osq_tbl_open_beneath(w->rootfd, dir, O_RDONLY | O_DIRECTORY);
  if (fd < 0)
    return NULL;
  DIR *d = fdopendir(fd);
  if (d == NULL)
    close(fd);
  return d;
}

/* One row; dir is the directory column as the query named it (NULL: the
 * parent of path). Returns the sink's code; a path that vanished gives no
 * row. */
static int file_row(const osq_context *ctx, osq_rows *out, const where *w,
                    const char *path, const char *dir) {
  struct statx lx, sx;
  if (!stat_at(w, path, false, &lx))
    return OSQ_OK;
  bool link = S_ISLNK(lx.stx_mode);
  /* osquery reports the target's metadata for a symlink that resolves */
  if (!link || !stat_at(w, path, true, &sx))
    sx = lx;
  const char *slash = strrchr(path, '/');
  const char *fname = slash ? slash + 1 : path;
  osq_rows_cstr(out, C_PATH, path);
  if (dir)
    osq_rows_cstr(out, C_DIRECTORY, dir);
  else if (slash == NULL)
    osq_rows_cstr(out, C_DIRECTORY, ".");
  else if (slash == path)
    osq_rows_cstr(out, C_DIRECTORY, "/");
  else
    osq_rows_text(out, C_DIRECTORY, path, (size_t)(slash - path));
  osq_rows_cstr(out, C_FILENAME, fname);
  osq_rows_int(out, C_INODE, (int64_t)sx.stx_ino);
  osq_rows_int(out, C_UID, sx.stx_uid);
  osq_rows_int(out, C_GID, sx.stx_gid);
  char mode[8];
  snprintf(mode, sizeof mode, "%04o", (unsigned)(sx.stx_mode & 07777));
  osq_rows_cstr(out, C_MODE, mode);
  osq_rows_int(out, C_DEVICE,
               (int64_t)makedev(sx.stx_rdev_major, sx.stx_rdev_minor));
  osq_rows_int(out, C_SIZE, (int64_t)sx.stx_size);
  osq_rows_int(out, C_BLOCK_SIZE, sx.stx_blksize);
  osq_rows_int(out, C_ATIME, sx.stx_atime.tv_sec);
  osq_rows_int(out, C_MTIME, sx.stx_mtime.tv_sec);
  osq_rows_int(out, C_CTIME, sx.stx_ctime.tv_sec);
  osq_rows_int(out, C_BTIME,
               (sx.stx_mask & STATX_BTIME) ? sx.stx_btime.tv_sec : 0);
  osq_rows_int(out, C_HARD_LINKS, sx.stx_nlink);
  osq_rows_int(out, C_SYMLINK, link ? 1 : 0);
  osq_rows_cstr(out, C_TYPE, type_name(sx.stx_mode));
  if (link && osq_context_column_used(ctx, C_SYMLINK_TARGET_PATH)) {
    char target[PATH_MAX];
    ssize_t n = link_target(w, path, target, sizeof target);
    if (n >= 0)
      osq_rows_text(out, C_SYMLINK_TARGET_PATH, target, (size_t)n);
  } else if (!link) {
    osq_rows_cstr(out, C_SYMLINK_TARGET_PATH, "");
  }
  if (w->pid > 0) {
    osq_rows_int(out, C_PID_WITH_NAMESPACE, w->pid);
    if (w->mnt[0])
      osq_rows_cstr(out, C_MOUNT_NAMESPACE_ID, w->mnt);
  }
  return osq_rows_end(out);
}

/* Directory entries as rows; the directory column keeps the query's text so
 * SQLite's own check of "directory = X" still passes. */
static int list_dir(const osq_context *ctx, osq_rows *out, const where *w,
                    const char *dir) {
  DIR *d = open_dir(w, dir);
  if (d == NULL)
    return OSQ_OK;
  osq_pathlist names = {0};
  struct dirent *e;
  int rc = OSQ_OK;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    if (osq_pathlist_add(&names, e->d_name) != OSQ_OK) {
      OSQ_WARN("file: directory %s has too many entries; listing stopped",
               dir);
      break;
    }
  }
  closedir(d);
  osq_pathlist_unique(&names); /* stable order for readers */
  size_t dl = strlen(dir);
  bool slash = dl > 0 && dir[dl - 1] == '/';
  char path[PATH_MAX];
  for (size_t i = 0; i < names.n && rc == OSQ_OK; i++) {
    int n = snprintf(path, sizeof path, "%s%s%s", dir, slash ? "" : "/",
                     names.items[i]);
    if (n < 0 || (size_t)n >= sizeof path)
      continue;
    rc = file_row(ctx, out, w, path, dir);
  }
  osq_pathlist_free(&names);
  return rc;
}

static int gen_where(const osq_context *ctx, osq_rows *out, const where *w) {
  osq_pathlist paths = {0}, dirs = {0};
  int rc;
  if (w->rootfd < 0) {
    rc = osq_glob_collect(ctx, C_PATH, OSQ_GLOB_FILES | OSQ_GLOB_DIRS, &paths);
    if (rc == OSQ_OK && !osq_glob_constrained(ctx, C_PATH))
      rc = osq_glob_collect(ctx, C_DIRECTORY, OSQ_GLOB_DIRS, &dirs);
  } else {
    rc = osq_glob_collect_literal(ctx, C_PATH, &paths);
    if (rc == OSQ_OK && !osq_glob_constrained(ctx, C_PATH))
      rc = osq_glob_collect_literal(ctx, C_DIRECTORY, &dirs);
  }
  if (rc != OSQ_OK) {
    osq_rows_error(out, "file: out of memory expanding paths");
    rc = OSQ_ERROR;
  }
  /* Interrupted, or the client went away: nobody wants the rows. SQLite
   * reports the interrupt itself. */
  bool wanted = !paths.cancelled && !dirs.cancelled;
  for (size_t i = 0; wanted && i < paths.n && rc == OSQ_OK; i++)
    rc = file_row(ctx, out, w, paths.items[i], NULL);
  for (size_t i = 0; wanted && i < dirs.n && rc == OSQ_OK; i++)
    rc = list_dir(ctx, out, w, dirs.items[i]);
  osq_pathlist_free(&paths);
  osq_pathlist_free(&dirs);
  return rc;
}

static int generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)udata;
  int64_t pids[OSQ_TBL_NS_PIDS_MAX];
  size_t np = osq_tbl_ns_pids(ctx, C_PID_WITH_NAMESPACE, pids,
                              OSQ_TBL_NS_PIDS_MAX);
  if (np == 0) {
    where host = {.rootfd = -1, .pid = 0, .mnt = ""};
    return gen_where(ctx, out, &host);
  }
  int rc = OSQ_OK;
  for (size_t i = 0; i < np && rc == OSQ_OK; i++) {
    where w = {.rootfd = osq_tbl_root_of(pids[i]), .pid = pids[i], .mnt = ""};
    if (w.rootfd < 0)
      continue; /* gone, or not ours to see */
    if (!osq_tbl_mnt_ns(pids[i], w.mnt, sizeof w.mnt))
      w.mnt[0] = '\0';
    rc = gen_where(ctx, out, &w);
    close(w.rootfd);
  }
  return rc;
}

const osq_table_plugin osq_table_file = {
    .name = "file",
    .columns = columns,
    .ncolumns = OSQ_NCOLS(columns),
    .attributes = OSQ_TABLE_UTILITY,
    .generate = generate,
};
