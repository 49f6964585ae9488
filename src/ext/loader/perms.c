/* The permission check run before an extension binary is executed.
 *
 * Stricter than osquery's safePermissions: the path must not be a symlink,
 * the file must not be group- or other-writable, and every directory from
 * the file's up to / must be owned by root or the running user, not
 * writable by group or others and not sticky (a root-owned sticky directory
 * such as /tmp is accepted above the extension's own directory). Each
 * refusal names the rule, what was found and how to fix it.
 *
 * Everything is checked through descriptors, never by path strings, so a
 * directory renamed or swapped during the check cannot make it examine one
 * inode and run another: the extension's directory is opened once
 * (O_PATH), the file is opened relative to that descriptor, and the chain
 * above is walked with openat(dir, "..") and fstat. The check ends with an
 * open descriptor of the very inode examined, which the launcher executes
 * (execveat, i.e. fexecve). Paths appear only in messages. */
#include "loader.h"

#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *osq_perm_rule_name(osq_perm_rule r) {
  switch (r) {
  case OSQ_PERM_OK: return "ok";
  case OSQ_PERM_SUFFIX: return "suffix";
  case OSQ_PERM_MISSING: return "missing";
  case OSQ_PERM_SYMLINK: return "symlink";
  case OSQ_PERM_NOT_REGULAR: return "not_regular";
  case OSQ_PERM_OWNER: return "owner";
  case OSQ_PERM_NOT_EXEC: return "not_executable";
  case OSQ_PERM_GROUP_WRITE: return "group_writable";
  case OSQ_PERM_OTHER_WRITE: return "other_writable";
  case OSQ_PERM_DIR_STICKY: return "dir_sticky";
  case OSQ_PERM_DIR_WRITE: return "dir_writable";
  case OSQ_PERM_DIR_OWNER: return "dir_owner";
  case OSQ_PERM_DIR_ERROR: return "dir_error";
  }
  return "unknown";
}

static osq_perm_rule refuse(osq_perm_rule r, char *err, size_t errlen,
                            const char *path, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static osq_perm_rule refuse(osq_perm_rule r, char *err, size_t errlen,
                            const char *path, const char *fmt, ...) {
  if (err && errlen) {
    int n = snprintf(err, errlen, "refusing %s: ", path);
    if (n >= 0 && (size_t)n < errlen) {
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
      va_end(ap);
    }
  }
  return r;
}

static void user_name(uid_t uid, char *out, size_t cap) {
  struct passwd pw, *res = NULL;
  char buf[1024];
  if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res)
    snprintf(out, cap, " (%s)", res->pw_name);
  else
    out[0] = '\0';
}

static bool trusted_owner(uid_t uid) { return uid == 0 || uid == getuid(); }

static const char *kind_name(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISFIFO(m)) return "a fifo";
  if (S_ISSOCK(m)) return "a socket";
  return "not a file";
}

/* The current name of a directory descriptor, for messages only. */
static void fd_name(int fd, char *out, size_t cap) {
  char link[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, out, cap - 1);
  if (n <= 0) {
    snprintf(out, cap, "(directory fd %d)", fd);
    return;
  }
  out[n] = '\0';
}

/* The rules for one directory, from its fstat. own_dir: the directory the
 * extension lives in (it may not be sticky even when root owns it). */
static osq_perm_rule check_dir_stat(const struct stat *st, bool own_dir,
                                    const char *dir, const char *path,
                                    char *err, size_t errlen) {
  mode_t m = st->st_mode & 07777;
  /* A root-owned sticky directory above the extension's own directory
   * (e.g. /tmp above /tmp/build/ext) is safe: the sticky bit stops
   * others from renaming or replacing the directory below it, which is
   * itself checked. The extension's own directory may not be sticky. */
  if (!own_dir && (m & S_ISVTX) && st->st_uid == 0)
    return OSQ_PERM_OK;
  if (m & S_ISVTX)
    return refuse(OSQ_PERM_DIR_STICKY, err, errlen, path,
                  "directory %s is sticky (mode %04o), a shared /tmp-like "
                  "directory; move the extension to a directory only root "
                  "can write, e.g. /usr/local/lib/osq",
                  dir, (unsigned)m);
  if ((m & (S_IWGRP | S_IWOTH)) == (S_IWGRP | S_IWOTH))
    return refuse(OSQ_PERM_DIR_WRITE, err, errlen, path,
                  "directory %s is writable by group and others (mode "
                  "%04o); chmod go-w %s",
                  dir, (unsigned)m, dir);
  if (m & S_IWOTH)
    return refuse(OSQ_PERM_DIR_WRITE, err, errlen, path,
                  "directory %s is writable by others (mode %04o); "
                  "chmod o-w %s",
                  dir, (unsigned)m, dir);
  if (m & S_IWGRP)
    return refuse(OSQ_PERM_DIR_WRITE, err, errlen, path,
                  "directory %s is writable by group (mode %04o); "
                  "chmod g-w %s",
                  dir, (unsigned)m, dir);
  if (!trusted_owner(st->st_uid)) {
    char who[300];
    user_name(st->st_uid, who, sizeof who);
    return refuse(OSQ_PERM_DIR_OWNER, err, errlen, path,
                  "directory %s is owned by uid %u%s, not root or the "
                  "running user (uid %u); chown root %s",
                  dir, (unsigned)st->st_uid, who, (unsigned)getuid(), dir);
  }
  return OSQ_PERM_OK;
}

/* Deeper than any real tree (PATH_MAX bytes hold at most this many
 * components); a loop would have to fool the root test below. */
#define MAX_DIR_DEPTH (PATH_MAX / 2)

/* Check dirfd's directory and each of its ancestors, walking up through
 * ".." from the descriptor itself. */
static osq_perm_rule check_dir_chain(int dirfd, const char *path, char *err,
                                     size_t errlen) {
  char name[PATH_MAX];
  int cur = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
  if (cur < 0)
    return refuse(OSQ_PERM_DIR_ERROR, err, errlen, path,
                  "cannot examine its directory (%s)", strerror(errno));
  osq_perm_rule r = OSQ_PERM_DIR_ERROR;
  for (int depth = 0; depth < MAX_DIR_DEPTH; depth++) {
    struct stat st, up_st;
    fd_name(cur, name, sizeof name);
    if (fstat(cur, &st) != 0) {
      r = refuse(OSQ_PERM_DIR_ERROR, err, errlen, path,
                 "cannot examine directory %s (%s); check that it exists "
                 "and is searchable",
                 name, strerror(errno));
      break;
    }
    r = check_dir_stat(&st, depth == 0, name, path, err, errlen);
    if (r != OSQ_PERM_OK)
      break;
    int up = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (up < 0 || fstat(up, &up_st) != 0) {
      r = refuse(OSQ_PERM_DIR_ERROR, err, errlen, path,
                 "cannot examine the directory above %s (%s); check that "
                 "it exists and is searchable",
                 name, strerror(errno));
      if (up >= 0)
        close(up);
      break;
    }
    if (up_st.st_dev == st.st_dev && up_st.st_ino == st.st_ino) {
      close(up); /* ".." of / is / itself: every level passed */
      break;
    }
    close(cur);
    cur = up;
    r = OSQ_PERM_DIR_ERROR; /* unless the next level completes */
  }
  if (r == OSQ_PERM_DIR_ERROR && err && err[0] == '\0')
    refuse(r, err, errlen, path, "directory tree deeper than %d levels",
           MAX_DIR_DEPTH);
  close(cur);
  return r;
}

/* The rules for the file itself, from the descriptor that will run. */
static osq_perm_rule check_file(int fd, const char *path, char *err,
                                size_t errlen) {
  struct stat st;
  if (fstat(fd, &st) != 0)
    return refuse(OSQ_PERM_MISSING, err, errlen, path,
                  "cannot be examined (%s)", strerror(errno));
  mode_t m = st.st_mode & 07777;
  if (!S_ISREG(st.st_mode))
    return refuse(OSQ_PERM_NOT_REGULAR, err, errlen, path,
                  "not a regular file (%s); name an executable file",
                  kind_name(st.st_mode));
  if (!trusted_owner(st.st_uid)) {
    char who[300];
    user_name(st.st_uid, who, sizeof who);
    return refuse(OSQ_PERM_OWNER, err, errlen, path,
                  "owned by uid %u%s, not root or the running user (uid "
                  "%u); chown root %s",
                  (unsigned)st.st_uid, who, (unsigned)getuid(), path);
  }
  if (!(m & S_IXUSR))
    return refuse(OSQ_PERM_NOT_EXEC, err, errlen, path,
                  "not executable by its owner (mode %04o); chmod u+x %s",
                  (unsigned)m, path);
  if ((m & (S_IWGRP | S_IWOTH)) == (S_IWGRP | S_IWOTH))
    return refuse(OSQ_PERM_OTHER_WRITE, err, errlen, path,
                  "writable by group and others (mode %04o); chmod go-w %s",
                  (unsigned)m, path);
  if (m & S_IWGRP)
    return refuse(OSQ_PERM_GROUP_WRITE, err, errlen, path,
                  "writable by group (mode %04o); chmod g-w %s", (unsigned)m,
                  path);
  if (m & S_IWOTH)
    return refuse(OSQ_PERM_OTHER_WRITE, err, errlen, path,
                  "writable by others (mode %04o); chmod o-w %s", (unsigned)m,
                  path);
  return OSQ_PERM_OK;
}

static bool has_ext_suffix(const char *path) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t n = strlen(base);
  return n > 4 && strcmp(base + n - 4, ".ext") == 0;
}

/* The rules on the path text alone: present, bounded, .ext if autoloaded. */
static osq_perm_rule check_path_text(const char *path, unsigned flags,
                                     char *err, size_t errlen) {
  if (!path || !*path)
    return refuse(OSQ_PERM_MISSING, err, errlen, "\"\"",
                  "empty path; name an extension executable");
  size_t plen = strlen(path);
  if (plen >= PATH_MAX)
    return refuse(OSQ_PERM_MISSING, err, errlen, "(path)",
                  "path is %zu bytes, longer than %d; shorten it", plen,
                  PATH_MAX - 1);
  if ((flags & OSQ_PERM_AUTOLOAD) && !has_ext_suffix(path))
    return refuse(OSQ_PERM_SUFFIX, err, errlen, path,
                  "autoloaded extensions must end in .ext; rename it to "
                  "NAME.ext or load it with --extension");
  return OSQ_PERM_OK;
}

static osq_perm_rule missing(const char *path, int e, char *err,
                             size_t errlen) {
  if (e == ENOENT || e == ENOTDIR)
    return refuse(OSQ_PERM_MISSING, err, errlen, path,
                  "does not exist; check the path");
  return refuse(OSQ_PERM_MISSING, err, errlen, path,
                "cannot be examined (%s); check the path and its "
                "directories' permissions",
                strerror(e));
}

/* --allow_unsafe: no rules, but still a regular file, opened once. */
static osq_perm_rule open_unsafe(const char *path, int *fdp, char *err,
                                 size_t errlen) {
  struct stat lst;
  if (lstat(path, &lst) != 0)
    return missing(path, errno, err, errlen);
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    return refuse(OSQ_PERM_MISSING, err, errlen, path,
                  "cannot be opened (%s)", strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return refuse(OSQ_PERM_NOT_REGULAR, err, errlen, path,
                  "not a regular file (%s); name an executable file",
                  kind_name(st.st_mode));
  }
  OSQ_WARN("--allow_unsafe: not checking the permissions of %s", path);
  *fdp = fd;
  return OSQ_PERM_OK;
}

static osq_perm_rule explain_symlink(int dirfd, const char *base,
                                     const char *path, char *err,
                                     size_t errlen) {
  char target[PATH_MAX];
  ssize_t n = readlinkat(dirfd, base, target, sizeof target - 1);
  if (n < 0)
    n = 0;
  target[n] = '\0';
  char *real = realpath(path, NULL); /* a hint in the message only */
  osq_perm_rule r = refuse(
      OSQ_PERM_SYMLINK, err, errlen, path,
      "is a symbolic link (to %s); name the file itself%s%s", target,
      real ? ": " : "", real ? real : "");
  free(real);
  return r;
}

/* Open the extension's directory (O_PATH) and the file relative to it,
 * without following a final symlink. */
static osq_perm_rule open_in_dir(const char *path, int *dirfdp, int *fdp,
                                 char *err, size_t errlen) {
  char dirpart[PATH_MAX];
  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  if (!slash)
    snprintf(dirpart, sizeof dirpart, ".");
  else if (slash == path)
    snprintf(dirpart, sizeof dirpart, "/");
  else
    snprintf(dirpart, sizeof dirpart, "%.*s", (int)(slash - path), path);
  int dirfd = open(dirpart, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    return missing(path, errno, err, errlen);
  struct stat lst;
  if (*base == '\0' || (fstatat(dirfd, base, &lst, AT_SYMLINK_NOFOLLOW) == 0 &&
                        S_ISDIR(lst.st_mode))) {
    close(dirfd);
    return refuse(OSQ_PERM_NOT_REGULAR, err, errlen, path,
                  "not a regular file (a directory); name an executable "
                  "file");
  }
  if (fstatat(dirfd, base, &lst, AT_SYMLINK_NOFOLLOW) != 0) {
    int e = errno;
    close(dirfd);
    return missing(path, e, err, errlen);
  }
  if (S_ISLNK(lst.st_mode)) {
    osq_perm_rule r = explain_symlink(dirfd, base, path, err, errlen);
    close(dirfd);
    return r;
  }
  int fd = openat(dirfd, base,
                  O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    int e = errno;
    close(dirfd);
    if (e == ELOOP)
      return refuse(OSQ_PERM_SYMLINK, err, errlen, path,
                    "is a symbolic link; name the file itself");
    return refuse(OSQ_PERM_MISSING, err, errlen, path,
                  "cannot be opened for reading (%s); make it readable by "
                  "its owner",
                  strerror(e));
  }
  *dirfdp = dirfd;
  *fdp = fd;
  return OSQ_PERM_OK;
}

osq_perm_rule osq_perm_check(const char *path, unsigned flags, int *fdp,
                             char *err, size_t errlen) {
  *fdp = -1;
  if (err && errlen)
    err[0] = '\0';
  osq_perm_rule r = check_path_text(path, flags, err, errlen);
  if (r != OSQ_PERM_OK)
    return r;
  if (flags & OSQ_PERM_ALLOW_UNSAFE)
    return open_unsafe(path, fdp, err, errlen);
  int dirfd = -1, fd = -1;
  r = open_in_dir(path, &dirfd, &fd, err, errlen);
  if (r != OSQ_PERM_OK)
    return r;
  r = check_file(fd, path, err, errlen);
  if (r == OSQ_PERM_OK)
    r = check_dir_chain(dirfd, path, err, errlen);
  close(dirfd);
  if (r != OSQ_PERM_OK) {
    close(fd);
    return r;
  }
  *fdp = fd;
  return OSQ_PERM_OK;
}
