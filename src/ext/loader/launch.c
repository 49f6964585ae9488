/* Starting one extension process from the descriptor the permission check
 * opened, so the inode checked is the inode executed.
 *
 * Everything the child needs (argv, envp) is built before fork: between
 * fork and exec the child of a threaded process may only make
 * async-signal-safe calls. Exec failure is reported through a close-on-exec
 * pipe: EOF means exec succeeded. */
#include "loader.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define ENV_NAME "OSQUERY_EXTENSION="

/* Async-signal-safe decimal formatting. */
static void put_uint(char *dst, unsigned long v) {
  char tmp[24];
  size_t n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v && n < sizeof tmp);
  while (n)
    *dst++ = tmp[--n];
  *dst = '\0';
}

static void mark_cloexec_from(int lowfd) {
  if (close_range((unsigned)lowfd, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
    return;
  /* Older kernels: walk the descriptor table up to the limit. */
  struct rlimit rl;
  long max = 65536;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
      rl.rlim_cur < (rlim_t)max)
    max = (long)rl.rlim_cur;
  for (long fd = lowfd; fd < max; fd++)
    fcntl((int)fd, F_SETFD, FD_CLOEXEC);
}

static _Noreturn void child(int xfd, char *const *argv,
                            char *const *envp, char *envbuf, int devnull,
                            int errfd, pid_t parent, bool script) {
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP)
      sigaction(sig, &dfl, NULL); /* EINVAL for libc-reserved: fine */

  /* Its own group, so the core's terminal signals do not reach it and the
   * supervisor can signal everything it started. */
  setpgid(0, 0);
  int e = 0;
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
    e = errno;
  else if (getppid() != parent)
    _exit(127); /* the core died before the prctl */

  if (!e) {
    if (devnull != 0) {
      dup2(devnull, 0);
    } else {
      fcntl(0, F_SETFD, 0);
    }
    /* stdout belongs to the core's query output; extensions log on
     * stderr. */
    dup2(2, 1);
    mark_cloexec_from(3);
    if (script)
      fcntl(xfd, F_SETFD, 0); /* the interpreter opens /dev/fd/N */
    put_uint(envbuf + sizeof ENV_NAME - 1, (unsigned long)getpid());
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execveat(xfd, "", argv, envp, AT_EMPTY_PATH);
    e = errno;
  }
  ssize_t w;
  do
    w = write(errfd, &e, sizeof e);
  while (w < 0 && errno == EINTR);
  _exit(127);
}

pid_t osq_launch(const osq_launch_args *a, char *err, size_t errlen) {
  if (err && errlen)
    err[0] = '\0';
  if (a->exec_fd < 0 || !a->path) {
    snprintf(err, errlen, "cannot execute %s: no checked descriptor",
             a->path ? a->path : "(null)");
    return -1;
  }

  char *argv[10];
  size_t ac = 0;
  argv[ac++] = (char *)a->path;
  if (a->verbose)
    argv[ac++] = (char *)"--verbose";
  argv[ac++] = (char *)"--socket";
  argv[ac++] = (char *)(a->socket ? a->socket : "");
  argv[ac++] = (char *)"--timeout";
  argv[ac++] = (char *)(a->timeout ? a->timeout : "3");
  argv[ac++] = (char *)"--interval";
  argv[ac++] = (char *)(a->interval ? a->interval : "3");
  argv[ac] = NULL;

  size_t ne = 0;
  for (char **e = environ; e && *e; e++)
    ne++;
  char **envp = calloc(ne + 2, sizeof *envp);
  char *envbuf = malloc(sizeof ENV_NAME + 24);
  if (!envp || !envbuf) {
    free(envp);
    free(envbuf);
    snprintf(err, errlen, "cannot execute %s: out of memory", a->path);
    return -1;
  }
  size_t k = 0;
  for (char **e = environ; e && *e; e++)
    if (strncmp(*e, ENV_NAME, sizeof ENV_NAME - 1) != 0)
      envp[k++] = *e;
  memcpy(envbuf, ENV_NAME, sizeof ENV_NAME);
  envp[k++] = envbuf;
  envp[k] = NULL;

  /* Keep the descriptor clear of 0-2, which the child rewires. */
  int xfd = a->exec_fd, owned_xfd = -1;
  if (xfd < 3) {
    owned_xfd = xfd = fcntl(a->exec_fd, F_DUPFD_CLOEXEC, 3);
    if (xfd < 0) {
      snprintf(err, errlen, "cannot execute %s: %s", a->path, strerror(errno));
      free(envp);
      free(envbuf);
      return -1;
    }
  }

  unsigned char magic[2] = {0, 0};
  bool script = pread(xfd, magic, 2, 0) == 2 && magic[0] == '#' &&
                magic[1] == '!';

  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int pfd[2];
  if (devnull < 0 || pipe2(pfd, O_CLOEXEC) != 0) {
    int e = errno;
    if (devnull >= 0)
      close(devnull);
    if (owned_xfd >= 0)
      close(owned_xfd);
    free(envp);
    free(envbuf);
    snprintf(err, errlen, "cannot execute %s: %s", a->path, strerror(e));
    return -1;
  }

  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0)
    child(xfd, argv, envp, envbuf, devnull, pfd[1], parent, script);
  int fork_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  close(pfd[1]);
  close(devnull);
  if (owned_xfd >= 0)
    close(owned_xfd);
  free(envp);
  free(envbuf);

  if (pid < 0) {
    close(pfd[0]);
    snprintf(err, errlen, "cannot start %s: fork: %s", a->path,
             strerror(fork_errno));
    return -1;
  }

  int child_errno = 0;
  ssize_t n;
  do
    n = read(pfd[0], &child_errno, sizeof child_errno);
  while (n < 0 && errno == EINTR);
  close(pfd[0]);
  if (n == 0)
    return pid;

  int st;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  if (n != (ssize_t)sizeof child_errno)
    snprintf(err, errlen, "cannot execute %s: the child died before exec",
             a->path);
  else if (child_errno == ENOENT && script)
    snprintf(err, errlen,
             "cannot execute %s: %s (is its #! interpreter installed?)",
             a->path, strerror(child_errno));
  else
    snprintf(err, errlen, "cannot execute %s: %s", a->path,
             strerror(child_errno));
  return -1;
}
