#include "daemon/pidfile.h"

#include "core/identity.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
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

void osq_pidfile_release(int fd) {
  /* The file stays (as osquery's): unlinking it would let a process that
   * opened it just before lock a file nobody else can see. */
  if (fd < 0)
    return;
  flock(fd, LOCK_UN);
  close(fd);
}

int osq_pidfile_acquire_force(const char *path, char *err, size_t errlen) {
  for (int attempt = 0;; attempt++) {
    int fd = osq_pidfile_acquire(path, err, errlen);
    if (fd >= 0 || strncmp(err, "Busy", 4) != 0 || attempt == 5)
      return fd;
    char buf[32] = "";
    int rfd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = rfd >= 0 ? read(rfd, buf, sizeof buf - 1) : -1;
    if (rfd >= 0)
      close(rfd);
    buf[n > 0 ? n : 0] = '\0';
    char *end;
    long pid = strtol(buf, &end, 10);
    if (pid <= 1 || *end != '\0')
      return -1;
    char comm_path[64], comm[32] = "";
    snprintf(comm_path, sizeof comm_path, "/proc/%ld/comm", pid);
    int cfd = open(comm_path, O_RDONLY | O_CLOEXEC);
    n = cfd >= 0 ? read(cfd, comm, sizeof comm - 1) : -1;
    if (cfd >= 0)
      close(cfd);
    comm[n > 0 ? n : 0] = '\0';
    const char *self = osq_identity_daemon_name();
    if (strncmp(comm, self, strlen(self)) != 0) {
      snprintf(err, errlen, "Busy: %s is locked by pid %ld, which is not %s",
               path, pid, self);
      return -1;
    }
    kill((pid_t)pid, SIGTERM);
    struct timespec ts = {2, 0};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
      ;
  }
}
