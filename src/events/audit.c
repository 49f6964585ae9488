/* osquery's audit publisher (netlink NETLINK_AUDIT) for process_events
 * (--process_events_source=audit, the default, with
 * --audit_allow_process_events), socket_events (--audit_allow_sockets)
 * user_events (--audit_allow_user_events), seccomp_events
 * (--audit_allow_seccomp_events), process_file_events
 * (--audit_allow_fim_events, src/events/audit_fim.c), selinux_events
 * (--audit_allow_selinux_events) and apparmor_events
 * (--audit_allow_apparmor_events), enabled with --disable_audit=false.
 *
 * With --audit_allow_config osq enables auditing and installs its own
 * syscall rules, and removes the rules it added when it stops; without it
 * osq only takes the audit socket and reads what rules others installed.
 * Records are decoded by src/events/parse.c and assembled per event
 * serial until the kernel's end-of-event record. */
#include "events/events_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/flags.h"
#include "core/log.h"
#include "events/audit_fim.h"
#include "events/parse.h"
#include "events/syscall_names_x86_64.h"

#if defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
enum { SYS_EXECVE = 59, SYS_EXECVEAT = 322, SYS_CONNECT = 42, SYS_ACCEPT = 43,
       SYS_BIND = 49, SYS_ACCEPT4 = 288 };
#elif defined(__aarch64__)
#define ARCH AUDIT_ARCH_AARCH64
enum { SYS_EXECVE = 221, SYS_EXECVEAT = 281, SYS_CONNECT = 203,
       SYS_ACCEPT = 202, SYS_BIND = 200, SYS_ACCEPT4 = 242 };
#else
#define ARCH 0
enum { SYS_EXECVE = -1, SYS_EXECVEAT = -1, SYS_CONNECT = -1, SYS_ACCEPT = -1,
       SYS_BIND = -1, SYS_ACCEPT4 = -1 };
#endif

#define MAX_PENDING 64
#define CMDLINE_MAX 32768
#define MAX_ARGS 1024
#define FIELD_MAX 4096
#define RECV_BUF 65536
#define STATUS_EVERY_MS 5000
#define GATHER_MS 2

static osq_ev_stats stats;
static const char *const tables[] = {"process_events", "socket_events",
                                     "user_events", "seccomp_events",
                                     "process_file_events", "selinux_events",
                                     "apparmor_events", NULL};
static int sock = -1;
static osq_ev_waker waker = {-1, -1};
static pthread_t thread;
static uint32_t seq;
enum { RULE_PROCESS, RULE_SOCKET, RULE_FILE, NRULES };
static bool rule_added[NRULES];
static bool enabled_by_us;
static struct audit_status before; /* restored on stop if osq configured */
static bool configured;
static uint32_t last_lost;
static bool lost_known;

typedef struct pending {
  bool used;
  uint64_t serial;
  int64_t sec;
  int syscall;
  bool exec;
  const char *type; /* process_events or socket_events */
  osq_ev_row *row;
  int64_t exit;
  bool success;
  uint64_t fd;
  osq_fim_call *fim; /* a file syscall (process_file_events) */
} pending;

static pending pend[MAX_PENDING];

static bool want_process(void) {
  return strcmp(OSQ_FLAG_STR(process_events_source), "audit") == 0 &&
         OSQ_FLAG_BOOL(audit_allow_process_events);
}

static bool want_fim(void) {
  return OSQ_FLAG_BOOL(audit_allow_fim_events) && osq_fim_available();
}

static bool wanted(const json_t *cfg) {
  (void)cfg;
  return !OSQ_FLAG_BOOL(disable_audit) &&
         (want_process() || OSQ_FLAG_BOOL(audit_allow_sockets) ||
          OSQ_FLAG_BOOL(audit_allow_user_events) ||
          OSQ_FLAG_BOOL(audit_allow_seccomp_events) || want_fim() ||
          OSQ_FLAG_BOOL(audit_allow_selinux_events) ||
          OSQ_FLAG_BOOL(audit_allow_apparmor_events));
}

/* ---- requests to the kernel --------------------------------------------- */

static int send_msg(uint16_t type, uint16_t flags, const void *data,
                    size_t len, uint32_t *out_seq) {
  size_t total = NLMSG_SPACE(len);
  char *buf = calloc(1, total);
  if (buf == NULL)
    return -ENOMEM;
  struct nlmsghdr *nh = (struct nlmsghdr *)buf;
  nh->nlmsg_len = (uint32_t)NLMSG_LENGTH(len);
  nh->nlmsg_type = type;
  nh->nlmsg_flags = NLM_F_REQUEST | flags;
  nh->nlmsg_seq = ++seq;
  if (len)
    memcpy(NLMSG_DATA(nh), data, len);
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  ssize_t n;
  do
    n = sendto(sock, buf, nh->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof sa);
  while (n < 0 && errno == EINTR);
  free(buf);
  if (out_seq)
    *out_seq = seq;
  return n < 0 ? -errno : 0;
}

/* Send a request and wait (bounded) for its acknowledgement: 0 or -errno.
 * Records that arrive meanwhile are dropped: only during start/stop. */
static int request(uint16_t type, const void *data, size_t len) {
  uint32_t s;
  int rc = send_msg(type, NLM_F_ACK, data, len, &s);
  if (rc != 0)
    return rc;
  char buf[8192];
  /* the ack may queue behind many records (file rules): a deadline, not
   * a count of reads */
  struct timespec t0, now;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (;;) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - t0.tv_sec > 20)
      return -ETIMEDOUT;
    struct pollfd p = {sock, POLLIN, 0};
    if (poll(&p, 1, 1000) <= 0)
      return -ETIMEDOUT;
    ssize_t n = recv(sock, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == ENOBUFS))
      continue;
    if (n < (ssize_t)NLMSG_HDRLEN)
      return n < 0 ? -errno : -EPROTO;
    const struct nlmsghdr *nh = (const struct nlmsghdr *)buf;
    if (nh->nlmsg_type == NLMSG_ERROR && nh->nlmsg_seq == s &&
        (size_t)n >= NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
      const struct nlmsgerr *e = NLMSG_DATA(nh);
      return e->error;
    }
  }
}

static int get_status(struct audit_status *st) {
  uint32_t s;
  if (send_msg(AUDIT_GET, 0, NULL, 0, &s) != 0)
    return -1;
  char buf[8192];
  for (int tries = 0; tries < 200; tries++) {
    struct pollfd p = {sock, POLLIN, 0};
    if (poll(&p, 1, 1000) <= 0)
      return -1;
    ssize_t n = recv(sock, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == ENOBUFS))
      continue;
    if (n < (ssize_t)NLMSG_HDRLEN)
      return -1;
    const struct nlmsghdr *nh = (const struct nlmsghdr *)buf;
    if (nh->nlmsg_type == AUDIT_GET &&
        (size_t)n >= NLMSG_HDRLEN + offsetof(struct audit_status, backlog)) {
      memset(st, 0, sizeof *st);
      size_t have = (size_t)n - NLMSG_HDRLEN;
      memcpy(st, NLMSG_DATA(nh), have < sizeof *st ? have : sizeof *st);
      return 0;
    }
  }
  return -1;
}

static int set_status(uint32_t mask, uint32_t enabled, uint32_t pid) {
  struct audit_status st = {0};
  st.mask = mask;
  st.enabled = enabled;
  st.pid = pid;
  st.backlog_limit = (uint32_t)OSQ_FLAG_INT(audit_backlog_limit);
  st.backlog_wait_time = (uint32_t)OSQ_FLAG_INT(audit_backlog_wait_time);
  return request(AUDIT_SET, &st, sizeof st);
}

static void rule_of(struct audit_rule_data *r, int which) {
  memset(r, 0, sizeof *r);
  r->flags = AUDIT_FILTER_EXIT;
  r->action = AUDIT_ALWAYS;
  r->field_count = 1;
  r->fields[0] = AUDIT_ARCH;
  r->values[0] = ARCH;
  r->fieldflags[0] = AUDIT_EQUAL;
  if (which == RULE_FILE) {
    /* osq's own reads and writes (its event store) are left out in the
     * kernel: they would feed back into themselves */
    r->field_count = 2;
    r->fields[1] = AUDIT_PID;
    r->values[1] = (uint32_t)getpid();
    r->fieldflags[1] = AUDIT_NOT_EQUAL;
    osq_fim_rule_mask(r->mask, AUDIT_BITMASK_SIZE);
    return;
  }
  bool process = which == RULE_PROCESS;
  int sys_exec[] = {SYS_EXECVE, SYS_EXECVEAT};
  int sys_sock[] = {SYS_CONNECT, SYS_BIND, SYS_ACCEPT, SYS_ACCEPT4};
  int *list = process ? sys_exec : sys_sock;
  size_t n = process ? 2 : 4;
  for (size_t i = 0; i < n; i++)
    if (list[i] >= 0)
      r->mask[list[i] / 32] |= 1u << (list[i] % 32);
}

/* ---- assembling events -------------------------------------------------- */

static void drop_pending(pending *p) {
  osq_ev_row_free(p->row);
  osq_fim_drop(p->fim);
  memset(p, 0, sizeof *p);
}

static pending *find(uint64_t serial) {
  for (size_t i = 0; i < MAX_PENDING; i++)
    if (pend[i].used && pend[i].serial == serial)
      return &pend[i];
  return NULL;
}

static int64_t uptime_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return ts.tv_sec;
}

/* The record being handled, its fields found on the first look-up (one
 * pass, not one per field asked for); on_record forgets it before each
 * record, since records share the receive buffer. */
static osq_audit_fields cur;

static const osq_audit_fields *record(const char *text, size_t len) {
  if (cur.text != text || cur.len != len)
    osq_audit_fields_index(&cur, text, len);
  return &cur;
}

static bool field(const char *text, size_t len, const char *key, bool hex,
                  char *out, size_t cap) {
  return osq_audit_fields_get(record(text, len), key, hex, out, cap);
}

static int64_t num(const char *text, size_t len, const char *key, int base,
                   bool *ok) {
  char v[64];
  *ok = field(text, len, key, false, v, sizeof v);
  if (!*ok)
    return 0;
  char *end;
  int64_t x = strtoll(v, &end, base);
  *ok = end != v;
  return x;
}

static void put_num(osq_ev_row *row, const osq_table_plugin *t, const char *col,
                    const char *text, size_t len, const char *key) {
  bool ok;
  int64_t v = num(text, len, key, 10, &ok);
  if (ok)
    osq_ev_row_int(row, t, col, v);
}

static void put_str(osq_ev_row *row, const osq_table_plugin *t, const char *col,
                    const char *text, size_t len, const char *key) {
  char v[FIELD_MAX];
  if (field(text, len, key, true, v, sizeof v))
    osq_ev_row_str(row, t, col, v);
}

static pending *new_pending(void);
static void fill_pending(pending *p, const osq_audit_hdr *h, int sc, bool exec,
                         const char *f, size_t n);

static void on_syscall(const osq_audit_hdr *h, const char *f, size_t n) {
  bool ok;
  int sc = (int)num(f, n, "syscall", 10, &ok);
  if (!ok)
    return;
  bool exec = sc == SYS_EXECVE || sc == SYS_EXECVEAT;
  bool net = sc == SYS_CONNECT || sc == SYS_BIND || sc == SYS_ACCEPT ||
             sc == SYS_ACCEPT4;
  osq_fim_call *fim = NULL;
  if (!exec && !net && want_fim() && osq_fim_syscall(sc)) {
    if (num(f, n, "pid", 10, &ok) == (int64_t)getpid() && ok)
      return; /* osq itself (the rule leaves it out; rules of others may not) */
    fim = osq_fim_begin(sc, record(f, n));
    if (fim == NULL)
      return;
  } else if ((exec && !want_process()) ||
             (net && !OSQ_FLAG_BOOL(audit_allow_sockets)) || (!exec && !net))
    return;
  pending *p = new_pending();
  p->used = true;
  p->serial = h->serial;
  p->sec = h->sec;
  p->syscall = sc;
  if (fim) {
    p->fim = fim;
    return;
  }
  fill_pending(p, h, sc, exec, f, n);
}

static pending *new_pending(void) {
  pending *p = NULL;
  size_t oldest = 0;
  for (size_t i = 0; i < MAX_PENDING; i++) {
    if (!pend[i].used) {
      p = &pend[i];
      break;
    }
    if (pend[i].serial < pend[oldest].serial)
      oldest = i;
  }
  if (p == NULL) {
    /* an event whose end never came: drop it, count it */
    atomic_fetch_add(&stats.errors, 1);
    drop_pending(&pend[oldest]);
    p = &pend[oldest];
  }
  return p;
}

static void fill_pending(pending *p, const osq_audit_hdr *h, int sc, bool exec,
                         const char *f, size_t n) {
  (void)h;
  bool ok;
  const osq_table_plugin *t =
      exec ? &osq_table_process_events : &osq_table_socket_events;
  p->exec = exec;
  p->type = t->name;
  p->row = osq_ev_row_new(t);
  char v[16];
  p->success = field(f, n, "success", false, v, sizeof v) &&
               strcmp(v, "yes") == 0;
  p->exit = num(f, n, "exit", 10, &ok);
  p->fd = (uint64_t)num(f, n, "a0", 16, &ok);
  osq_ev_row *row = p->row;
  put_num(row, t, "pid", f, n, "pid");
  put_num(row, t, "auid", f, n, "auid");
  osq_ev_row_int(row, t, "uptime", uptime_s());
  if (exec) {
    put_num(row, t, "parent", f, n, "ppid");
    put_str(row, t, "path", f, n, "exe");
    put_num(row, t, "uid", f, n, "uid");
    put_num(row, t, "euid", f, n, "euid");
    put_num(row, t, "suid", f, n, "suid");
    put_num(row, t, "fsuid", f, n, "fsuid");
    put_num(row, t, "gid", f, n, "gid");
    put_num(row, t, "egid", f, n, "egid");
    put_num(row, t, "sgid", f, n, "sgid");
    put_num(row, t, "fsgid", f, n, "fsgid");
    osq_ev_row_str(row, t, "syscall",
                   sc == SYS_EXECVEAT ? "execveat" : "execve");
    osq_ev_row_str(row, t, "overflows", "");
  } else {
    put_str(row, t, "path", f, n, "exe");
    const char *action = sc == SYS_CONNECT ? "connect"
                         : sc == SYS_BIND  ? "bind"
                                           : "accept";
    osq_ev_row_str(row, t, "action", action);
    osq_ev_row_int(row, t, "success", p->success ? 1 : 0);
    const char *status = p->success ? "succeeded"
                         : p->exit == -EINPROGRESS ? "in_progress"
                         : (p->exit == -EAGAIN && sc != SYS_CONNECT) ? "no_client"
                                                                    : "failed";
    osq_ev_row_str(row, t, "status", status);
    char fd[24];
    snprintf(fd, sizeof fd, "%" PRId64,
             sc == SYS_ACCEPT || sc == SYS_ACCEPT4 ? p->exit : (int64_t)p->fd);
    osq_ev_row_str(row, t, "fd", fd);
  }
}

static void on_execve(pending *p, const char *f, size_t n) {
  bool ok;
  int64_t argc = num(f, n, "argc", 10, &ok);
  if (!ok || argc < 0)
    return;
  if (argc > MAX_ARGS)
    argc = MAX_ARGS;
  /* only the publisher thread gets here */
  static char cmd[CMDLINE_MAX + 1], arg[CMDLINE_MAX + 1];
  size_t used = 0;
  cmd[0] = '\0';
  for (int64_t i = 0; i < argc && used < CMDLINE_MAX; i++) {
    char key[24];
    snprintf(key, sizeof key, "a%" PRId64, i);
    if (!field(f, n, key, true, arg, CMDLINE_MAX + 1))
      continue; /* a long argument split over records: left out */
    int w = snprintf(cmd + used, CMDLINE_MAX + 1 - used, "%s%s",
                     used ? " " : "", arg);
    if (w < 0)
      break;
    used += (size_t)w < CMDLINE_MAX + 1 - used ? (size_t)w
                                                : CMDLINE_MAX - used;
  }
  osq_ev_row_str(p->row, &osq_table_process_events, "cmdline", cmd);
  osq_ev_row_int(p->row, &osq_table_process_events, "cmdline_size",
                 (int64_t)used);
}

static void on_path(pending *p, const char *f, size_t n) {
  bool ok;
  if (num(f, n, "item", 10, &ok) != 0 || !ok)
    return;
  const osq_table_plugin *t = &osq_table_process_events;
  char v[64];
  if (field(f, n, "mode", false, v, sizeof v))
    osq_ev_row_str(p->row, t, "mode", v);
  put_num(p->row, t, "owner_uid", f, n, "ouid");
  put_num(p->row, t, "owner_gid", f, n, "ogid");
}

static void on_sockaddr(pending *p, const char *f, size_t n) {
  char hex[512];
  if (!field(f, n, "saddr", false, hex, sizeof hex))
    return;
  unsigned char b[256];
  size_t len = 0;
  for (size_t i = 0; hex[i] && hex[i + 1] && len < sizeof b; i += 2) {
    unsigned x;
    if (sscanf(hex + i, "%2x", &x) != 1)
      return;
    b[len++] = (unsigned char)x;
  }
  if (len < 2)
    return;
  const osq_table_plugin *t = &osq_table_socket_events;
  unsigned family = b[0] | (unsigned)b[1] << 8;
  osq_ev_row_int(p->row, t, "family", family);
  bool local = p->syscall == SYS_BIND;
  const char *addr_col = local ? "local_address" : "remote_address";
  const char *port_col = local ? "local_port" : "remote_port";
  char text[INET6_ADDRSTRLEN];
  if (family == AF_INET && len >= 8) {
    osq_ev_row_int(p->row, t, port_col, b[2] << 8 | b[3]);
    if (inet_ntop(AF_INET, b + 4, text, sizeof text))
      osq_ev_row_str(p->row, t, addr_col, text);
  } else if (family == AF_INET6 && len >= 24) {
    osq_ev_row_int(p->row, t, port_col, b[2] << 8 | b[3]);
    if (inet_ntop(AF_INET6, b + 8, text, sizeof text))
      osq_ev_row_str(p->row, t, addr_col, text);
  } else if (family == AF_UNIX && len > 2) {
    size_t plen = strnlen((const char *)b + 2, len - 2);
    osq_ev_row_strn(p->row, t, "socket", (const char *)b + 2, plen);
  }
}

static void finish(pending *p) {
  bool keep = true;
  if (!p->exec) {
    if (!p->success && !OSQ_FLAG_BOOL(audit_allow_failed_socket_events))
      keep = p->exit == -EINPROGRESS; /* a non-blocking connect */
    if ((p->syscall == SYS_ACCEPT || p->syscall == SYS_ACCEPT4) &&
        (!OSQ_FLAG_BOOL(audit_allow_accept_socket_events) ||
         (p->exit == -EAGAIN &&
          !OSQ_FLAG_BOOL(audit_allow_null_accept_socket_events))))
      keep = false;
  }
  if (keep) {
    osq_ev_add(p->type, p->sec, p->row);
    p->row = NULL;
  }
  drop_pending(p);
}

static bool user_type(uint16_t type) {
  return (type >= AUDIT_FIRST_USER_MSG && type <= AUDIT_LAST_USER_MSG) ||
         (type >= AUDIT_FIRST_USER_MSG2 && type <= AUDIT_LAST_USER_MSG2);
}

/* A user-space message (PAM, shadow's tools, sudo …) relayed by the
 * kernel: one record, no end-of-event. */
static void on_user(uint16_t type, const osq_audit_hdr *h, const char *f,
                    size_t n) {
  const osq_table_plugin *t = &osq_table_user_events;
  osq_ev_row *row = osq_ev_row_new(t);
  if (row == NULL)
    return;
  put_num(row, t, "pid", f, n, "pid");
  put_num(row, t, "uid", f, n, "uid");
  put_num(row, t, "auid", f, n, "auid");
  osq_ev_row_int(row, t, "type", type);
  osq_ev_row_int(row, t, "uptime", uptime_s());
  char *msg = malloc(FIELD_MAX);
  if (msg && field(f, n, "msg", false, msg, FIELD_MAX)) {
    osq_ev_row_str(row, t, "message", msg);
    size_t mlen = strlen(msg);
    put_str(row, t, "path", msg, mlen, "exe");
    put_str(row, t, "address", msg, mlen, "addr");
    put_str(row, t, "terminal", msg, mlen, "terminal");
  }
  free(msg);
  osq_ev_add("user_events", h->sec, row);
}

/* AUDIT_SECCOMP: one record per logged or enforced filter action. Arch,
 * syscall and action become names where known (x86_64 syscalls), else
 * stay as the kernel wrote them. */
static void on_seccomp(const osq_audit_hdr *h, const char *f, size_t n) {
  const osq_table_plugin *t = &osq_table_seccomp_events;
  osq_ev_row *row = osq_ev_row_new(t);
  if (row == NULL)
    return;
  osq_ev_row_int(row, t, "uptime", uptime_s());
  static const char *const nums[] = {"auid", "uid", "gid", "ses",
                                     "pid",  "sig", "compat"};
  for (size_t i = 0; i < sizeof nums / sizeof *nums; i++)
    put_num(row, t, nums[i], f, n, nums[i]);
  put_str(row, t, "comm", f, n, "comm");
  put_str(row, t, "exe", f, n, "exe");
  char arch[32], sc[32], ip[32], code[32];
  bool x86_64 = false;
  if (field(f, n, "arch", false, arch, sizeof arch)) {
    unsigned long a = strtoul(arch, NULL, 16);
    const char *name = a == AUDIT_ARCH_X86_64    ? "x86_64"
                       : a == AUDIT_ARCH_I386    ? "i386"
                       : a == AUDIT_ARCH_AARCH64 ? "aarch64"
                       : a == AUDIT_ARCH_ARM     ? "arm"
                                                 : NULL;
    x86_64 = a == AUDIT_ARCH_X86_64;
    osq_ev_row_str(row, t, "arch", name ? name : arch);
  }
  if (field(f, n, "syscall", false, sc, sizeof sc)) {
    char *end;
    unsigned long nr = strtoul(sc, &end, 10);
    size_t known = sizeof osq_syscall_names_x86_64 /
                   sizeof *osq_syscall_names_x86_64;
    const char *name = x86_64 && end != sc && nr < known
                           ? osq_syscall_names_x86_64[nr]
                           : NULL;
    osq_ev_row_str(row, t, "syscall", name ? name : sc);
  }
  if (field(f, n, "ip", false, ip, sizeof ip))
    osq_ev_row_str(row, t, "ip", ip);
  if (field(f, n, "code", false, code, sizeof code)) {
    static const struct {
      unsigned long code;
      const char *name;
    } actions[] = {
        {0x80000000ul, "KILL_PROCESS"}, {0x00000000ul, "KILL_THREAD"},
        {0x00030000ul, "TRAP"},         {0x00050000ul, "ERRNO"},
        {0x7fc00000ul, "USER_NOTIF"},   {0x7ff00000ul, "TRACE"},
        {0x7ffc0000ul, "LOG"},          {0x7fff0000ul, "ALLOW"},
    };
    unsigned long c = strtoul(code, NULL, 16) & 0xffff0000ul;
    const char *name = NULL;
    for (size_t i = 0; i < sizeof actions / sizeof *actions; i++)
      if (actions[i].code == c)
        name = actions[i].name;
    osq_ev_row_str(row, t, "code", name ? name : code);
  }
  osq_ev_add("seccomp_events", h->sec, row);
}

/* A record of osquery's SELinux set (AVC, SELINUX_ERR, MAC_*): one row,
 * kept whole. One that carries an apparmor= field is AppArmor's. */
static void on_mac(uint16_t type, const char *label, const osq_audit_hdr *h,
                   const char *text, size_t len, const char *f, size_t n) {
  char v[FIELD_MAX];
  bool apparmor = field(f, n, "apparmor", false, v, sizeof v);
  if (apparmor ? !OSQ_FLAG_BOOL(audit_allow_apparmor_events)
               : !OSQ_FLAG_BOOL(audit_allow_selinux_events))
    return;
  if (apparmor && v[0] == '\0')
    return; /* osquery drops an empty apparmor= as malformed */
  const osq_table_plugin *t =
      apparmor ? &osq_table_apparmor_events : &osq_table_selinux_events;
  osq_ev_row *row = osq_ev_row_new(t);
  if (row == NULL)
    return;
  char num_type[8];
  snprintf(num_type, sizeof num_type, "%u", type);
  osq_ev_row_str(row, t, "type",
                 apparmor ? (type == AUDIT_AVC ? "AA" : num_type) : label);
  osq_ev_row_strn(row, t, "message", text, len);
  osq_ev_row_int(row, t, "uptime", uptime_s());
  if (apparmor) {
    static const char *const strs[] = {
        "apparmor",       "operation", "profile", "name",      "comm",
        "denied_mask",    "capname",   "info",    "error",     "namespace",
        "requested_mask", "label"};
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++) {
      if (!field(f, n, strs[i], false, v, sizeof v))
        v[0] = '\0'; /* osquery: an absent field is empty */
      osq_ev_row_str(row, t, strs[i], v);
    }
    static const char *const nums[] = {"parent", "pid", "fsuid", "ouid",
                                       "capability"};
    for (size_t i = 0; i < sizeof nums / sizeof *nums; i++) {
      bool ok;
      int64_t x = num(f, n, nums[i], 10, &ok);
      osq_ev_row_int(row, t, nums[i], ok ? x : 0);
    }
  }
  osq_ev_add(t->name, h->sec, row);
}

static void on_record(void *u, uint16_t type, const char *text, size_t len) {
  (void)u;
  cur.text = NULL;
  if (type == AUDIT_GET) {
    /* a status reply asked for by the loop: lost counter and owner */
    size_t need = offsetof(struct audit_status, backlog);
    if (len < need)
      return;
    struct audit_status st = {0};
    memcpy(&st, text, len < sizeof st ? len : sizeof st);
    if (lost_known && st.lost > last_lost)
      osq_ev_note_loss("auditeventpublisher", &stats, st.lost - last_lost,
                       "the kernel's audit backlog overflowed (raise "
                       "--audit_backlog_limit)");
    last_lost = st.lost;
    lost_known = true;
    if (st.pid != (uint32_t)getpid() && OSQ_FLAG_BOOL(audit_persist)) {
      OSQ_WARN("The audit socket was taken by pid %u; taking it back "
               "(--audit_persist)",
               st.pid);
      struct audit_status set = {.mask = AUDIT_STATUS_PID,
                                 .pid = (uint32_t)getpid()};
      send_msg(AUDIT_SET, 0, &set, sizeof set, NULL);
    }
    return;
  }
  if (type < AUDIT_FIRST_USER_MSG)
    return; /* acks and control replies */
  osq_audit_hdr h;
  size_t body;
  if (!osq_audit_header(text, len, &h, &body)) {
    atomic_fetch_add(&stats.errors, 1);
    return;
  }
  const char *f = text + body;
  size_t n = len - body;
  if (user_type(type)) {
    if (OSQ_FLAG_BOOL(audit_allow_user_events))
      on_user(type, &h, f, n);
    return;
  }
  if (type == AUDIT_SECCOMP) {
    if (OSQ_FLAG_BOOL(audit_allow_seccomp_events))
      on_seccomp(&h, f, n);
    return;
  }
  const char *mac = osq_audit_mac_label(type);
  if (mac) {
    on_mac(type, mac, &h, text, len, f, n);
    return;
  }
  if (type == AUDIT_SYSCALL) {
    on_syscall(&h, f, n);
    return;
  }
  pending *p = find(h.serial);
  if (p == NULL)
    return;
  if (p->fim) {
    if (type == AUDIT_EOE) {
      osq_fim_finish(p->fim, p->sec);
      p->fim = NULL;
      drop_pending(p);
    } else {
      osq_fim_record(p->fim, type, record(f, n));
    }
    return;
  }
  switch (type) {
  case AUDIT_EXECVE:
    if (p->exec)
      on_execve(p, f, n);
    break;
  case AUDIT_CWD:
    if (p->exec)
      put_str(p->row, &osq_table_process_events, "cwd", f, n, "cwd");
    break;
  case AUDIT_PATH:
    if (p->exec)
      on_path(p, f, n);
    break;
  case AUDIT_SOCKADDR:
    if (!p->exec)
      on_sockaddr(p, f, n);
    break;
  case AUDIT_EOE:
    finish(p);
    break;
  default:
    break;
  }
}

static void *run(void *arg) {
  (void)arg;
  char *buf = malloc(RECV_BUF);
  struct timespec last;
  clock_gettime(CLOCK_MONOTONIC, &last);
  send_msg(AUDIT_GET, 0, NULL, 0, NULL);
  int wait = STATUS_EVERY_MS;
  bool busy = false;
  while (buf) {
    /* The kernel sends each record as it is written: under load, reading
     * as soon as one arrives means a wakeup per record (an exec is some
     * six). A short pause after a burst lets them gather, so one wakeup
     * reads many; the socket buffer holds far more than a pause brings. */
    if (busy) {
      struct pollfd w = {waker.rd, POLLIN, 0};
      if (poll(&w, 1, GATHER_MS) > 0)
        break;
    }
    struct pollfd p[2] = {{sock, POLLIN, 0}, {waker.rd, POLLIN, 0}};
    int rc = poll(p, 2, wait);
    if (rc < 0 && errno == EINTR)
      continue;
    if (rc < 0 || (p[1].revents & POLLIN))
      break;
    /* a bounded burst: under a flood (file rules) the commit and the
     * status request below still get their turn */
    int got = 0;
    for (int burst = 0; burst < 4096; burst++) {
      ssize_t n = recv(sock, buf, RECV_BUF, MSG_DONTWAIT);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == ENOBUFS) {
        osq_ev_note_loss("auditeventpublisher", &stats, 1,
                         "the audit socket buffer overflowed (ENOBUFS)");
        continue;
      }
      if (n <= 0)
        break;
      got++;
      osq_parse_counts c = {0};
      osq_audit_parse_nl(buf, (size_t)n, on_record, NULL, &c);
      atomic_fetch_add(&stats.events, c.records);
      atomic_fetch_add(&stats.errors, c.malformed);
    }
    busy = got > 0;
    int due = osq_ev_commit_due();
    wait = due >= 0 ? due : STATUS_EVERY_MS;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if ((now.tv_sec - last.tv_sec) * 1000 +
            (now.tv_nsec - last.tv_nsec) / 1000000 >=
        STATUS_EVERY_MS) {
      last = now;
      send_msg(AUDIT_GET, 0, NULL, 0, NULL);
    }
  }
  free(buf);
  osq_ev_commit();
  return NULL;
}

static void close_sock(void) {
  if (sock >= 0)
    close(sock);
  sock = -1;
}

static int start(const json_t *cfg, char *err, size_t errlen) {
  (void)cfg;
  if (ARCH == 0) {
    snprintf(err, errlen, "the audit publisher knows no syscall numbers "
             "for this architecture");
    return -1;
  }
  sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
  if (sock < 0) {
    snprintf(err, errlen, "audit netlink socket: %s", strerror(errno));
    return -1;
  }
  int sz = 8 * 1024 * 1024;
  if (setsockopt(sock, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) != 0)
    setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  if (bind(sock, (struct sockaddr *)&sa, sizeof sa) != 0) {
    snprintf(err, errlen, "audit netlink bind: %s", strerror(errno));
    close_sock();
    return -1;
  }
  struct audit_status st;
  if (get_status(&st) != 0) {
    snprintf(err, errlen, "cannot read the audit status (needs root)");
    close_sock();
    return -1;
  }
  if (st.pid != 0 && st.pid != (uint32_t)getpid() && kill((pid_t)st.pid, 0) == 0)
    OSQ_WARN("The audit socket belongs to pid %u (auditd?); osq takes it "
             "over. Consider --process_events_source=connector",
             st.pid);
  bool config = OSQ_FLAG_BOOL(audit_allow_config);
  before = st;
  configured = config;
  uint32_t mask = AUDIT_STATUS_PID;
  if (config) {
    mask |= AUDIT_STATUS_ENABLED | AUDIT_STATUS_BACKLOG_LIMIT |
            AUDIT_STATUS_BACKLOG_WAIT_TIME;
    enabled_by_us = st.enabled == 0;
  }
  int rc = set_status(mask, 1, (uint32_t)getpid());
  if (rc != 0) {
    snprintf(err, errlen, "cannot take the audit socket: %s", strerror(-rc));
    close_sock();
    return -1;
  }
  osq_fim_configure(cfg);
  for (int i = 0; i < NRULES; i++)
    rule_added[i] = false;
  static const char *const rule_names[] = {"process", "socket", "file"};
  for (int i = 0; config && i < NRULES; i++) {
    bool want = i == RULE_PROCESS  ? want_process()
                : i == RULE_SOCKET ? OSQ_FLAG_BOOL(audit_allow_sockets)
                                   : want_fim();
    if (!want)
      continue;
    struct audit_rule_data r;
    rule_of(&r, i);
    rc = request(AUDIT_ADD_RULE, &r, sizeof r);
    if (rc == 0)
      rule_added[i] = true;
    else if (rc == -EEXIST)
      rule_added[i] = OSQ_FLAG_BOOL(audit_force_unconfigure);
    else
      OSQ_WARN("Cannot install the audit %s rule: %s", rule_names[i],
               strerror(-rc));
  }
  lost_known = false;
  if (osq_ev_waker_open(&waker) != 0 ||
      pthread_create(&thread, NULL, run, NULL) != 0) {
    snprintf(err, errlen, "cannot start the publisher thread");
    osq_ev_waker_close(&waker);
    close_sock();
    return -1;
  }
  atomic_store(&stats.subscriptions,
               (unsigned)(want_process() + OSQ_FLAG_BOOL(audit_allow_sockets) +
                          OSQ_FLAG_BOOL(audit_allow_user_events) +
                          OSQ_FLAG_BOOL(audit_allow_seccomp_events) +
                          want_fim() +
                          OSQ_FLAG_BOOL(audit_allow_selinux_events) +
                          OSQ_FLAG_BOOL(audit_allow_apparmor_events)));
  return 0;
}

static void stop(void) {
  osq_ev_waker_wake(&waker);
  pthread_join(thread, NULL);
  osq_ev_waker_close(&waker);
  for (int i = 0; i < NRULES; i++) {
    if (!rule_added[i])
      continue;
    struct audit_rule_data r;
    rule_of(&r, i);
    int rc = request(AUDIT_DEL_RULE, &r, sizeof r);
    if (rc != 0)
      OSQ_WARN("Cannot remove the audit rule osq installed: %s",
               strerror(-rc));
    rule_added[i] = false;
  }
  set_status(AUDIT_STATUS_PID | (enabled_by_us ? AUDIT_STATUS_ENABLED : 0), 0,
             0);
  if (configured) {
    /* the backlog settings osq changed go back to what they were */
    struct audit_status st = {0};
    st.mask = AUDIT_STATUS_BACKLOG_LIMIT | AUDIT_STATUS_BACKLOG_WAIT_TIME;
    st.backlog_limit = before.backlog_limit;
    st.backlog_wait_time = before.backlog_wait_time;
    request(AUDIT_SET, &st, sizeof st);
  }
  enabled_by_us = configured = false;
  close_sock();
  for (size_t i = 0; i < MAX_PENDING; i++)
    drop_pending(&pend[i]);
  osq_fim_reset();
  atomic_store(&stats.subscriptions, 0);
}

/* A config change: process_file_events takes the new file_paths. */
static void reconfigure(const json_t *cfg) { osq_fim_configure(cfg); }

const osq_ev_publisher osq_ev_audit = {
    .name = "auditeventpublisher",
    .tables = tables,
    .stats = &stats,
    .wanted = wanted,
    .start = start,
    .reconfigure = reconfigure,
    .stop = stop,
};
