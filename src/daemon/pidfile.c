#include "daemon/pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

int osq_pidfile_acquire(const char *path, char *err, size_t errlen) {
  int fd = open(path, O_CREAT | O_RDWR | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
    return -1;
  }
  int rc;
  do {
    rc = flock(fd, LOCK_EX | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    int e = errno;
    if (e == EWOULDBLOCK) {
      char pid[32] = "";
      ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
      pid[n > 0 ? n : 0] = '\0';
      snprintf(err, errlen, "Busy: %s is locked by pid %s", path,
               pid[0] ? pid : "?");
    } else {
      snprintf(err, errlen, "cannot lock %s: %s", path, strerror(e));
    }
    close(fd);
    return -1;
  }
  char buf[32];
  int n = snprintf(buf, sizeof buf, "%d", (int)getpid());
  if (ftruncate(fd, 0) != 0 || write(fd, buf, (size_t)n) != n) {
    snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

void osq_pidfile_release(int fd, const char *path) {
  if (fd < 0)
    return;
  unlink(path);
  flock(fd, LOCK_UN);
  close(fd);
}
