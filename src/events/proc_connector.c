/* process_events from the kernel's process connector (netlink
 * NETLINK_CONNECTOR, CN_IDX_PROC): no audit subsystem needed, so auditd
 * may keep the audit socket. Chosen with --process_events_source=connector
 * (osq's own flag). The kernel says only "pid N exec'd"; the rest of the
 * row is read from /proc at once, so a process that exits first yields a
 * row with what was still there (docs/events.md). */
#include "events/events_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "core/flags.h"
#include "core/log.h"
#include "events/parse.h"

/* Bounds on what is read from /proc per event. */
#define CMDLINE_MAX 32768
#define ENV_MAX 32768
#define RECV_BUF 65536
#define SOCK_RCVBUF (8 * 1024 * 1024)

static osq_ev_stats stats;
static int sock = -1;
static osq_ev_waker waker = {-1, -1};
static pthread_t thread;

static const char *const tables[] = {"process_events", NULL};

static bool wanted(const json_t *cfg) {
  (void)cfg;
  return strcmp(OSQ_FLAG_STR(process_events_source), "connector") == 0;
}

/* Read at most cap bytes of a file under the process's /proc directory;
 * -1 if it cannot be read. These files (cmdline, environ, status,
 * loginuid) hand over all they hold up to the size asked for, so a short
 * read is the end: no second read to see 0. */
static ssize_t read_bounded(int dir, const char *name, char *buf, size_t cap) {
  int fd = openat(dir, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  size_t got = 0;
  while (got < cap) {
    size_t want = cap - got;
    ssize_t n = read(fd, buf + got, want);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += (size_t)n;
    if ((size_t)n < want)
      break;
  }
  close(fd);
  return (ssize_t)got;
}

static bool read_link(int dir, const char *name, char *buf, size_t cap) {
  ssize_t n = readlinkat(dir, name, buf, cap - 1);
  if (n < 0)
    return false;
  buf[n] = '\0';
  return true;
}

/* NUL-separated words to one space-separated string, in place; returns
 * the count of words. */
static size_t join_words(char *buf, size_t len) {
  while (len > 0 && buf[len - 1] == '\0')
    len--;
  size_t words = len ? 1 : 0;
  for (size_t i = 0; i < len; i++)
    if (buf[i] == '\0') {
      buf[i] = ' ';
      words++;
    }
  buf[len] = '\0';
  return words;
}

/* "Uid:\t0\t0\t0\t0" -> four numbers; false if the line is absent. */
static bool status_ids(const char *status, const char *key, int64_t v[4]) {
  const char *p = strstr(status, key);
  if (p == NULL)
    return false;
  p += strlen(key);
  for (int i = 0; i < 4; i++) {
    char *end;
    v[i] = strtoll(p, &end, 10);
    if (end == p)
      return false;
    p = end;
  }
  return true;
}

static void fill_exe(osq_ev_row *row, int dir, char *link, size_t cap) {
  const osq_table_plugin *t = &osq_table_process_events;
  if (!read_link(dir, "exe", link, cap))
    return;
  osq_ev_row_str(row, t, "path", link);
  struct stat st;
  if (stat(link, &st) != 0)
    return;
  char mode[16];
  snprintf(mode, sizeof mode, "0%o", (unsigned)st.st_mode);
  osq_ev_row_str(row, t, "mode", mode);
  osq_ev_row_int(row, t, "owner_uid", st.st_uid);
  osq_ev_row_int(row, t, "owner_gid", st.st_gid);
  osq_ev_row_int(row, t, "atime", st.st_atime);
  osq_ev_row_int(row, t, "access_time", st.st_atime);
  osq_ev_row_int(row, t, "mtime", st.st_mtime);
  osq_ev_row_int(row, t, "modify_time", st.st_mtime);
  osq_ev_row_int(row, t, "ctime", st.st_ctime);
  osq_ev_row_int(row, t, "change_time", st.st_ctime);
  osq_ev_row_int(row, t, "btime", 0);
  osq_ev_row_int(row, t, "create_time", 0);
}

static void fill_status(osq_ev_row *row, char *buf, ssize_t n) {
  const osq_table_plugin *t = &osq_table_process_events;
  buf[n] = '\0';
  int64_t u[4], g[4];
  if (status_ids(buf, "\nUid:", u)) {
    osq_ev_row_int(row, t, "uid", u[0]);
    osq_ev_row_int(row, t, "euid", u[1]);
    osq_ev_row_int(row, t, "suid", u[2]);
    osq_ev_row_int(row, t, "fsuid", u[3]);
  }
  if (status_ids(buf, "\nGid:", g)) {
    osq_ev_row_int(row, t, "gid", g[0]);
    osq_ev_row_int(row, t, "egid", g[1]);
    osq_ev_row_int(row, t, "sgid", g[2]);
    osq_ev_row_int(row, t, "fsgid", g[3]);
  }
  const char *pp = strstr(buf, "\nPPid:");
  if (pp)
    osq_ev_row_int(row, t, "parent", strtoll(pp + 6, NULL, 10));
}

/* The rest of the row from /proc/<pid>, opened once: the files are read
 * relative to it (no path walk per file), the executable first, since a
 * short-lived process may be gone before the last. */
static void fill_from_proc(osq_ev_row *row, int64_t pid) {
  const osq_table_plugin *t = &osq_table_process_events;
  /* only the publisher thread gets here */
  static char buf[CMDLINE_MAX + ENV_MAX + 2], link[4096];
  char path[64];
  snprintf(path, sizeof path, "/proc/%" PRId64, pid);
  int dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0)
    return;
  fill_exe(row, dir, link, sizeof link);
  if (read_link(dir, "cwd", link, sizeof link))
    osq_ev_row_str(row, t, "cwd", link);
  ssize_t n = read_bounded(dir, "cmdline", buf, CMDLINE_MAX);
  if (n >= 0) {
    osq_ev_row_int(row, t, "cmdline_size", n);
    join_words(buf, (size_t)n);
    osq_ev_row_str(row, t, "cmdline", buf);
  }
  n = read_bounded(dir, "environ", buf, ENV_MAX);
  if (n >= 0) {
    size_t count = join_words(buf, (size_t)n);
    osq_ev_row_str(row, t, "env", buf);
    osq_ev_row_str(row, t, "environment", buf);
    osq_ev_row_int(row, t, "env_count", (int64_t)count);
    osq_ev_row_int(row, t, "environment_count", (int64_t)count);
    osq_ev_row_int(row, t, "env_size", n);
    osq_ev_row_int(row, t, "environment_size", n);
  }
  n = read_bounded(dir, "status", buf, 8191);
  if (n > 0)
    fill_status(row, buf, n);
  n = read_bounded(dir, "loginuid", buf, 32);
  if (n > 0) {
    buf[n] = '\0';
    osq_ev_row_int(row, t, "auid", strtoll(buf, NULL, 10));
  }
  close(dir);
}

static void publish(int64_t pid, int64_t parent, uint64_t ts_ns,
                    const char *syscall) {
  const osq_table_plugin *t = &osq_table_process_events;
  osq_ev_row *row = osq_ev_row_new(t);
  if (row == NULL)
    return;
  osq_ev_row_int(row, t, "pid", pid);
  if (parent >= 0)
    osq_ev_row_int(row, t, "parent", parent);
  fill_from_proc(row, pid);
  osq_ev_row_int(row, t, "uptime", (int64_t)(ts_ns / 1000000000u));
  osq_ev_row_str(row, t, "syscall", syscall);
  osq_ev_add("process_events", osq_ev_now(), row);
}

typedef struct handler {
  bool forks;
} handler;

static void on_event(void *u, const osq_cn_event *ev) {
  const handler *h = u;
  if (ev->kind == OSQ_CN_EXEC)
    publish(ev->pid, -1, ev->timestamp_ns, "execve");
  else if (ev->kind == OSQ_CN_FORK && h->forks && !ev->thread)
    publish(ev->pid, ev->parent, ev->timestamp_ns, "fork");
  /* exits carry nothing process_events shows */
}

static void handle(const char *buf, size_t len, bool forks) {
  handler h = {.forks = forks};
  osq_parse_counts c = {0};
  osq_cn_parse(buf, len, on_event, &h, &c);
  atomic_fetch_add(&stats.events, c.records);
  atomic_fetch_add(&stats.errors, c.malformed);
  if (c.overruns)
    osq_ev_note_loss("proc_connector", &stats, c.overruns, "netlink overrun");
}

/* Linux 6.6 lets a listener name the events it wants (struct proc_input:
 * the operation, then an event mask); older kernels ignore that form, so
 * they get the plain operation and every event. */
static bool kernel_filters(void) {
  struct utsname u;
  unsigned major = 0, minor = 0;
  if (uname(&u) != 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2)
    return false;
  return major > 6 || (major == 6 && minor >= 6);
}

static int send_op(int fd, enum proc_cn_mcast_op op, uint32_t events) {
  /* nlmsghdr, cn_msg, then the op and (on kernels that filter) the event
   * mask: laid out by hand, since cn_msg ends in a flexible array */
  union {
    unsigned char bytes[sizeof(struct nlmsghdr) + sizeof(struct cn_msg) +
                        2 * sizeof(uint32_t)];
    struct nlmsghdr align;
  } msg;
  bool filter = events != 0 && kernel_filters();
  size_t data = filter ? 2 * sizeof(uint32_t) : sizeof(uint32_t);
  size_t len = sizeof(struct nlmsghdr) + sizeof(struct cn_msg) + data;
  memset(&msg, 0, sizeof msg);
  struct nlmsghdr *nh = &msg.align;
  nh->nlmsg_len = (uint32_t)len;
  nh->nlmsg_type = NLMSG_DONE;
  nh->nlmsg_pid = 0;
  struct cn_msg *cn = (struct cn_msg *)(msg.bytes + sizeof(struct nlmsghdr));
  cn->id.idx = CN_IDX_PROC;
  cn->id.val = CN_VAL_PROC;
  cn->len = (uint16_t)data;
  uint32_t words[2] = {(uint32_t)op, events};
  memcpy(msg.bytes + sizeof(struct nlmsghdr) + sizeof(struct cn_msg), words,
         data);
  ssize_t n;
  do
    n = send(fd, msg.bytes, len, 0);
  while (n < 0 && errno == EINTR);
  return n == (ssize_t)len ? 0 : -1;
}

static void *run(void *arg) {
  (void)arg;
  char *buf = malloc(RECV_BUF);
  bool forks = OSQ_FLAG_BOOL(audit_allow_fork_process_events);
  int wait = -1;
  while (buf) {
    struct pollfd p[2] = {{sock, POLLIN, 0}, {waker.rd, POLLIN, 0}};
    int rc = poll(p, 2, wait);
    if (rc < 0 && errno == EINTR)
      continue;
    if (rc < 0 || (p[1].revents & POLLIN))
      break;
    for (;;) {
      ssize_t n = recv(sock, buf, RECV_BUF, MSG_DONTWAIT);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == ENOBUFS) {
        osq_ev_note_loss("proc_connector", &stats, 1,
                         "the socket buffer overflowed (ENOBUFS)");
        continue;
      }
      if (n <= 0)
        break;
      handle(buf, (size_t)n, forks);
    }
    wait = osq_ev_commit_due();
  }
  free(buf);
  osq_ev_commit();
  return NULL;
}

static int start(const json_t *cfg, char *err, size_t errlen) {
  (void)cfg;
  sock = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR);
  if (sock < 0) {
    snprintf(err, errlen, "netlink connector socket: %s", strerror(errno));
    return -1;
  }
  int sz = SOCK_RCVBUF;
  if (setsockopt(sock, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) != 0)
    setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK,
                           .nl_groups = CN_IDX_PROC,
                           .nl_pid = 0};
  if (bind(sock, (struct sockaddr *)&sa, sizeof sa) != 0 ||
      send_op(sock, PROC_CN_MCAST_LISTEN,
              PROC_EVENT_EXEC |
                  (OSQ_FLAG_BOOL(audit_allow_fork_process_events)
                       ? PROC_EVENT_FORK
                       : 0)) != 0) {
    snprintf(err, errlen, "process connector subscription: %s (needs root "
             "and CONFIG_PROC_EVENTS)", strerror(errno));
    close(sock);
    sock = -1;
    return -1;
  }
  if (osq_ev_waker_open(&waker) != 0 ||
      pthread_create(&thread, NULL, run, NULL) != 0) {
    snprintf(err, errlen, "cannot start the publisher thread");
    osq_ev_waker_close(&waker);
    close(sock);
    sock = -1;
    return -1;
  }
  atomic_store(&stats.subscriptions, 1);
  return 0;
}

static void stop(void) {
  osq_ev_waker_wake(&waker);
  pthread_join(thread, NULL);
  send_op(sock, PROC_CN_MCAST_IGNORE, 0);
  close(sock);
  sock = -1;
  osq_ev_waker_close(&waker);
  atomic_store(&stats.subscriptions, 0);
}

const osq_ev_publisher osq_ev_proc_connector = {
    .name = "proc_connector",
    .tables = tables,
    .stats = &stats,
    .wanted = wanted,
    .start = start,
    .reconfigure = NULL,
    .stop = stop,
};
