/* The permission check run before an extension binary is executed.
 *
 * Stricter than osquery's safePermissions: the path must not be a symlink,
 * the file must not be group- or other-writable, and every directory from
 * the file's up to / must be owned by root or the running user, not
 * writable by group or others and not sticky (a root-owned sticky directory
 * such as /tmp is accepted above the extension's own directory). Each
 * refusal names the rule,
 * what was found and how to fix it. The check ends with an open descriptor
 * of the inode examined, which the launcher executes. */
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

/* Check dir and each of its ancestors (dir is canonical: no symlinks,
 * no "." or ".."). */
static osq_perm_rule check_dirs(const char *path, char *dir, char *err,
                                size_t errlen) {
  for (bool own_dir = true;; own_dir = false) {
    struct stat st;
    if (lstat(dir, &st) != 0)
      return refuse(OSQ_PERM_DIR_ERROR, err, errlen, path,
                    "cannot examine directory %s (%s); check that it exists "
                    "and is searchable",
                    dir, strerror(errno));
    mode_t m = st.st_mode & 07777;
    /* A root-owned sticky directory above the extension's own directory
     * (e.g. /tmp above /tmp/build/ext) is safe: the sticky bit stops
     * others from renaming or replacing the directory below it, which is
     * itself checked. The extension's own directory may not be sticky. */
    if (!own_dir && (m & S_ISVTX) && st.st_uid == 0)
      goto next;
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
    if (!trusted_owner(st.st_uid)) {
      char who[300];
      user_name(st.st_uid, who, sizeof who);
      return refuse(OSQ_PERM_DIR_OWNER, err, errlen, path,
                    "directory %s is owned by uid %u%s, not root or the "
                    "running user (uid %u); chown root %s",
                    dir, (unsigned)st.st_uid, who, (unsigned)getuid(), dir);
    }
  next:
    if (strcmp(dir, "/") == 0)
      return OSQ_PERM_OK;
    char *slash = strrchr(dir, '/');
    if (!slash)
      return OSQ_PERM_OK;
    if (slash == dir)
      slash[1] = '\0';
    else
      *slash = '\0';
  }
}

static bool has_ext_suffix(const char *path) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t n = strlen(base);
  return n > 4 && strcmp(base + n - 4, ".ext") == 0;
}

osq_perm_rule osq_perm_check(const char *path, unsigned flags, int *fdp,
                             char *err, size_t errlen) {
  *fdp = -1;
  if (err && errlen)
    err[0] = '\0';
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

  struct stat lst;
  if (lstat(path, &lst) != 0) {
    int e = errno;
    if (e == ENOENT || e == ENOTDIR)
      return refuse(OSQ_PERM_MISSING, err, errlen, path,
                    "does not exist; check the path");
    return refuse(OSQ_PERM_MISSING, err, errlen, path,
                  "cannot be examined (%s); check the path and its "
                  "directories' permissions",
                  strerror(e));
  }

  if (flags & OSQ_PERM_ALLOW_UNSAFE) {
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

  if (S_ISLNK(lst.st_mode)) {
    char target[PATH_MAX];
    ssize_t n = readlink(path, target, sizeof target - 1);
    if (n < 0)
      n = 0;
    target[n] = '\0';
    char *real = realpath(path, NULL);
    osq_perm_rule r = refuse(
        OSQ_PERM_SYMLINK, err, errlen, path,
        "is a symbolic link (to %s); name the file itself%s%s", target,
        real ? ": " : "", real ? real : "");
    free(real);
    return r;
  }

  /* Resolve the directory, open the file relative to it without following
   * a final symlink; the directories checked are the ones it lives in. */
  char *copy = strdup(path);
  if (!copy)
    return refuse(OSQ_PERM_MISSING, err, errlen, path, "out of memory");
  char *slash = strrchr(copy, '/');
  const char *base;
  const char *dirpart;
  if (!slash) {
    dirpart = ".";
    base = copy;
  } else if (slash == copy) {
    dirpart = "/";
    base = slash + 1;
    *slash = '\0';
  } else {
    *slash = '\0';
    dirpart = copy;
    base = slash + 1;
  }
  if (!*base) {
    free(copy);
    return refuse(OSQ_PERM_NOT_REGULAR, err, errlen, path,
                  "not a regular file (a directory); name an executable "
                  "file");
  }
  char *dir = realpath(dirpart, NULL);
  if (!dir) {
    int e = errno;
    free(copy);
    return refuse(OSQ_PERM_DIR_ERROR, err, errlen, path,
                  "cannot resolve its directory (%s)", strerror(e));
  }
  int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  int fd = dfd < 0 ? -1
                   : openat(dfd, base,
                            O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
                                O_NONBLOCK);
  int e = errno;
  if (dfd >= 0)
    close(dfd);
  free(copy);
  if (fd < 0) {
    free(dir);
    if (e == ELOOP)
      return refuse(OSQ_PERM_SYMLINK, err, errlen, path,
                    "is a symbolic link; name the file itself");
    return refuse(OSQ_PERM_MISSING, err, errlen, path,
                  "cannot be opened for reading (%s); make it readable by "
                  "its owner",
                  strerror(e));
  }

  struct stat st;
  osq_perm_rule r = OSQ_PERM_OK;
  mode_t m = 0;
  if (fstat(fd, &st) != 0) {
    r = refuse(OSQ_PERM_MISSING, err, errlen, path, "cannot be examined (%s)",
               strerror(errno));
    goto out;
  }
  m = st.st_mode & 07777;
  if (!S_ISREG(st.st_mode)) {
    r = refuse(OSQ_PERM_NOT_REGULAR, err, errlen, path,
               "not a regular file (%s); name an executable file",
               kind_name(st.st_mode));
    goto out;
  }
  if (!trusted_owner(st.st_uid)) {
    char who[300];
    user_name(st.st_uid, who, sizeof who);
    r = refuse(OSQ_PERM_OWNER, err, errlen, path,
               "owned by uid %u%s, not root or the running user (uid %u); "
               "chown root %s",
               (unsigned)st.st_uid, who, (unsigned)getuid(), path);
    goto out;
  }
  if (!(m & S_IXUSR)) {
    r = refuse(OSQ_PERM_NOT_EXEC, err, errlen, path,
               "not executable by its owner (mode %04o); chmod u+x %s",
               (unsigned)m, path);
    goto out;
  }
  if ((m & (S_IWGRP | S_IWOTH)) == (S_IWGRP | S_IWOTH)) {
    r = refuse(OSQ_PERM_OTHER_WRITE, err, errlen, path,
               "writable by group and others (mode %04o); chmod go-w %s",
               (unsigned)m, path);
    goto out;
  }
  if (m & S_IWGRP) {
    r = refuse(OSQ_PERM_GROUP_WRITE, err, errlen, path,
               "writable by group (mode %04o); chmod g-w %s", (unsigned)m,
               path);
    goto out;
  }
  if (m & S_IWOTH) {
    r = refuse(OSQ_PERM_OTHER_WRITE, err, errlen, path,
               "writable by others (mode %04o); chmod o-w %s", (unsigned)m,
               path);
    goto out;
  }
  r = check_dirs(path, dir, err, errlen);

out:
  free(dir);
  if (r != OSQ_PERM_OK) {
    close(fd);
    return r;
  }
  *fdp = fd;
  return OSQ_PERM_OK;
}
