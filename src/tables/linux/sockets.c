/* process_open_sockets and listening_ports, from /proc.
 *
 * Socket tables (/proc/<pid>/net/{tcp,tcp6,udp,udp6,unix}) are read once
 * per network namespace; owners come from the "socket:[inode]" links in
 * /proc/<pid>/fd. A socket no process owns (TIME_WAIT, another namespace's
 * process we cannot see) has pid -1 and fd -1. Lines are parsed strictly;
 * a malformed or over-long line is skipped. */
#include "tables/builtin.h"
#include "tables/util.h"
#include "core/proc.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- owners: inode -> (pid, fd) ---------------------------------------- */

typedef struct owner {
  uint64_t inode;
  int64_t pid, fd;
} owner;

typedef struct netns {
  uint64_t inode; /* 0: unknown (we may not read ns links) */
  int64_t pid;    /* a process in it, whose /proc/<pid>/net we read */
} netns;

typedef struct scan {
  owner *owners;
  size_t nowners, cowners;
  netns *ns;
  size_t nns, cns;
  const int64_t *pids; /* constraint, or NULL for every process */
  size_t npids;
} scan;

#define MAX_OWNERS (1u << 22)
#define MAX_NS 4096

static bool add_owner(scan *s, uint64_t inode, int64_t pid, int64_t fd) {
  if (s->nowners == s->cowners) {
    if (s->cowners >= MAX_OWNERS)
      return false;
    size_t cap = s->cowners ? s->cowners * 2 : 256;
    owner *o = realloc(s->owners, cap * sizeof *o);
    if (o == NULL)
      return false;
    s->owners = o;
    s->cowners = cap;
  }
  s->owners[s->nowners++] = (owner){inode, pid, fd};
  return true;
}

static void add_ns(scan *s, uint64_t inode, int64_t pid) {
  for (size_t i = 0; i < s->nns; i++)
    if (s->ns[i].inode == inode)
      return;
  if (s->nns == s->cns) {
    if (s->cns >= MAX_NS)
      return;
    size_t cap = s->cns ? s->cns * 2 : 8;
    netns *n = realloc(s->ns, cap * sizeof *n);
    if (n == NULL)
      return;
    s->ns = n;
    s->cns = cap;
  }
  s->ns[s->nns++] = (netns){inode, pid};
}

/* "socket:[123]" or "net:[4026531992]" -> 123 */
static bool bracket_inode(const char *link, const char *prefix,
                          uint64_t *out) {
  size_t pl = strlen(prefix);
  if (strncmp(link, prefix, pl) != 0 || link[pl] != '[')
    return false;
  char num[24];
  const char *p = link + pl + 1;
  size_t n = 0;
  while (isdigit((unsigned char)*p) && n + 1 < sizeof num)
    num[n++] = *p++;
  num[n] = '\0';
  return *p == ']' && p[1] == '\0' && osq_tbl_parse_u64(num, out);
}

static void scan_pid(scan *s, int procfd, int64_t pid) {
  char path[64], link[128];
  snprintf(path, sizeof path, "%lld/ns/net", (long long)pid);
  uint64_t ns = 0;
  if (osq_tbl_readlinkat(procfd, path, link, sizeof link) > 0)
    bracket_inode(link, "net:", &ns);
  snprintf(path, sizeof path, "%lld/fd", (long long)pid);
  int fdd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fdd < 0)
    return; /* gone, or not ours to read */
  add_ns(s, ns, pid);
  DIR *d = fdopendir(fdd);
  if (d == NULL) {
    close(fdd);
    return;
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    int64_t fd;
    uint64_t inode;
    if (!isdigit((unsigned char)e->d_name[0]) ||
        !osq_tbl_parse_i64(e->d_name, &fd))
      continue;
    if (osq_tbl_readlinkat(dirfd(d), e->d_name, link, sizeof link) > 0 &&
        bracket_inode(link, "socket:", &inode))
      add_owner(s, inode, pid, fd);
  }
  closedir(d);
}

static int cmp_owner(const void *a, const void *b) {
  const owner *x = a, *y = b;
  if (x->inode != y->inode)
    return x->inode < y->inode ? -1 : 1;
  if (x->pid != y->pid)
    return x->pid < y->pid ? -1 : 1;
  return (x->fd > y->fd) - (x->fd < y->fd);
}

static bool collect_owners(scan *s) {
  int procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (procfd < 0)
    return false;
  if (s->pids) {
    for (size_t i = 0; i < s->npids; i++)
      scan_pid(s, procfd, s->pids[i]);
  } else {
    osq_proc_walk w;
    if (osq_proc_walk_open(&w, procfd) != OSQ_OK) {
      close(procfd);
      return false;
    }
    int64_t pid;
    while (osq_proc_walk_next(&w, &pid))
      scan_pid(s, procfd, pid);
    osq_proc_walk_close(&w);
  }
  close(procfd);
  if (s->nns == 0)
    add_ns(s, 0, -1); /* at least our own namespace, via /proc/self */
  if (s->nowners > 1) /* none at all leaves owners NULL: no qsort(NULL) */
    qsort(s->owners, s->nowners, sizeof *s->owners, cmp_owner);
  return true;
}

/* First owner with this inode, or NULL. */
static const owner *find_owner(const scan *s, uint64_t inode, size_t *n) {
  size_t lo = 0, hi = s->nowners;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (s->owners[mid].inode < inode)
      lo = mid + 1;
    else
      hi = mid;
  }
  size_t k = lo;
  while (k < s->nowners && s->owners[k].inode == inode)
    k++;
  *n = k - lo;
  return *n ? &s->owners[lo] : NULL;
}

/* ---- socket table lines ------------------------------------------------ */

typedef struct sock {
  int family, protocol;
  char local[INET6_ADDRSTRLEN], remote[INET6_ADDRSTRLEN];
  int local_port, remote_port;
  const char *state; /* TCP state name, "" otherwise */
  bool listening;
  uint64_t inode;
  const char *path; /* unix sockets */
  size_t path_len;
} sock;

static const char *tcp_state(unsigned st) {
  static const char *const names[] = {
      "",          "ESTABLISHED", "SYN_SENT",   "SYN_RECV",
      "FIN_WAIT1", "FIN_WAIT2",   "TIME_WAIT",  "CLOSE",
      "CLOSE_WAIT", "LAST_ACK",   "LISTEN",     "CLOSING",
      "NEW_SYN_RECV"};
  return st < sizeof names / sizeof *names ? names[st] : "UNKNOWN";
}

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  c = (char)tolower((unsigned char)c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* "0100007F:0050" -> "127.0.0.1", 80. The kernel prints each 32-bit word
 * of the address in host byte order. */
static bool parse_endpoint(const char *s, int family, char *addr,
                           size_t cap, int *port) {
  size_t words = family == AF_INET ? 1 : 4;
  const char *colon = strchr(s, ':');
  if (colon == NULL || (size_t)(colon - s) != words * 8)
    return false;
  uint32_t w[4] = {0};
  for (size_t i = 0; i < words * 8; i++) {
    int v = hexval(s[i]);
    if (v < 0)
      return false;
    w[i / 8] = (w[i / 8] << 4) | (uint32_t)v;
  }
  unsigned p = 0;
  size_t n = 0;
  for (const char *q = colon + 1; *q; q++, n++) {
    int v = hexval(*q);
    if (v < 0 || n >= 4)
      return false;
    p = (p << 4) | (unsigned)v;
  }
  if (n == 0)
    return false;
  *port = (int)p;
  unsigned char raw[16];
  memcpy(raw, w, words * 4);
  return inet_ntop(family, raw, addr, (socklen_t)cap) != NULL;
}

/* One line of /proc/net/{tcp,udp}{,6}. */
static bool parse_inet(char *line, int family, int protocol, sock *k) {
  char *tok[12];
  int n = osq_tbl_tokens(line, " \t\n", tok, 12);
  /* sl local rem st tx:rx tr:when retr uid timeout inode */
  if (n < 10 || strchr(tok[0], ':') == NULL)
    return false;
  memset(k, 0, sizeof *k);
  k->family = family;
  k->protocol = protocol;
  if (!parse_endpoint(tok[1], family, k->local, sizeof k->local,
                      &k->local_port) ||
      !parse_endpoint(tok[2], family, k->remote, sizeof k->remote,
                      &k->remote_port))
    return false;
  if (strlen(tok[3]) != 2 || hexval(tok[3][0]) < 0 || hexval(tok[3][1]) < 0)
    return false;
  unsigned st = (unsigned)(hexval(tok[3][0]) * 16 + hexval(tok[3][1]));
  if (!osq_tbl_parse_u64(tok[9], &k->inode))
    return false;
  if (protocol == IPPROTO_TCP) {
    k->state = tcp_state(st);
    k->listening = st == 0x0A;
  } else {
    k->state = "";
    /* an unconnected UDP socket is one that listens */
    k->listening = k->remote_port == 0;
  }
  return true;
}

/* One line of /proc/net/unix:
 * "Num RefCount Protocol Flags Type St Inode [Path]" */
static bool parse_unix(char *line, sock *k) {
  char *tok[8];
  int n = 0;
  char *p = line;
  while (n < 7) {
    while (*p == ' ')
      p++;
    if (*p == '\0' || *p == '\n')
      break;
    tok[n++] = p;
    while (*p && *p != ' ' && *p != '\n')
      p++;
    if (*p)
      *p++ = '\0';
  }
  if (n < 7 || strchr(tok[0], ':') == NULL)
    return false;
  memset(k, 0, sizeof *k);
  k->family = AF_UNIX;
  uint64_t flags = 0;
  for (const char *q = tok[3]; *q; q++) {
    int v = hexval(*q);
    if (v < 0)
      return false;
    flags = (flags << 4) | (uint64_t)v;
  }
  if (!osq_tbl_parse_u64(tok[6], &k->inode))
    return false;
  int proto = 0;
  for (const char *q = tok[2]; *q; q++) {
    int v = hexval(*q);
    if (v < 0)
      return false;
    proto = (proto << 4) | v;
  }
  k->protocol = proto;
  while (*p == ' ')
    p++;
  size_t len = strcspn(p, "\n");
  k->path = p;
  k->path_len = len;
  k->state = "";
  k->listening = (flags & 0x10000) != 0; /* __SO_ACCEPTCON */
  return true;
}

typedef int (*sock_fn)(const sock *k, const netns *ns, const owner *o,
                       void *u);

/* Every socket of one namespace, once per owner (or once with o == NULL). */
static int each_socket(const scan *s, const netns *ns, sock_fn fn, void *u,
                       bool want_unowned) {
  static const struct {
    const char *file;
    int family, protocol;
  } files[] = {
      {"tcp", AF_INET, IPPROTO_TCP},   {"tcp6", AF_INET6, IPPROTO_TCP},
      {"udp", AF_INET, IPPROTO_UDP},   {"udp6", AF_INET6, IPPROTO_UDP},
      {"unix", AF_UNIX, 0},
  };
  int rc = OSQ_OK;
  for (size_t i = 0; i < sizeof files / sizeof *files && rc == OSQ_OK; i++) {
    char path[96];
    if (ns->pid > 0)
      snprintf(path, sizeof path, "/proc/%lld/net/%s", (long long)ns->pid,
               files[i].file);
    else
      snprintf(path, sizeof path, "/proc/self/net/%s", files[i].file);
    FILE *f = fopen(path, "re");
    if (f == NULL)
      continue;
    char line[1024];
    bool first = true;
    while (rc == OSQ_OK && fgets(line, sizeof line, f)) {
      if (strchr(line, '\n') == NULL && !feof(f)) {
        int c; /* over-long line: skip the rest of it */
        while ((c = fgetc(f)) != EOF && c != '\n')
          ;
        continue;
      }
      if (first) { /* header */
        first = false;
        continue;
      }
      sock k;
      bool ok = files[i].family == AF_UNIX
                    ? parse_unix(line, &k)
                    : parse_inet(line, files[i].family, files[i].protocol, &k);
      if (!ok)
        continue;
      size_t n = 0;
      const owner *o = k.inode ? find_owner(s, k.inode, &n) : NULL;
      if (o == NULL) {
        if (want_unowned)
          rc = fn(&k, ns, NULL, u);
        continue;
      }
      for (size_t j = 0; j < n && rc == OSQ_OK; j++)
        rc = fn(&k, ns, &o[j], u);
    }
    fclose(f);
  }
  return rc;
}

static void scan_free(scan *s) {
  free(s->owners);
  free(s->ns);
}

static void emit_ns(osq_rows *out, size_t col, const netns *ns) {
  if (ns->inode) {
    char buf[24];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)ns->inode);
    osq_rows_cstr(out, col, buf);
  } else {
    osq_rows_cstr(out, col, "");
  }
}

/* ---- process_open_sockets --------------------------------------------- */

enum {
  P_PID, P_FD, P_SOCKET, P_FAMILY, P_PROTOCOL, P_LOCAL_ADDRESS,
  P_REMOTE_ADDRESS, P_LOCAL_PORT, P_REMOTE_PORT, P_PATH, P_STATE,
  P_NET_NAMESPACE, P_COUNT
};

static const osq_column pos_columns[] = {
    {"pid", OSQ_TYPE_INTEGER, OSQ_COL_ADDITIONAL},
    {"fd", OSQ_TYPE_BIGINT, 0},
    {"socket", OSQ_TYPE_BIGINT, 0},
    {"family", OSQ_TYPE_INTEGER, 0},
    {"protocol", OSQ_TYPE_INTEGER, 0},
    {"local_address", OSQ_TYPE_TEXT, 0},
    {"remote_address", OSQ_TYPE_TEXT, 0},
    {"local_port", OSQ_TYPE_INTEGER, 0},
    {"remote_port", OSQ_TYPE_INTEGER, 0},
    {"path", OSQ_TYPE_TEXT, 0},
    {"state", OSQ_TYPE_TEXT, 0},
    {"net_namespace", OSQ_TYPE_TEXT, 0},
};

_Static_assert(sizeof pos_columns / sizeof *pos_columns == P_COUNT, "cols");

static int pos_row(const sock *k, const netns *ns, const owner *o, void *u) {
  osq_rows *out = u;
  osq_rows_int(out, P_PID, o ? o->pid : -1);
  osq_rows_int(out, P_FD, o ? o->fd : -1);
  osq_rows_int(out, P_SOCKET, (int64_t)k->inode);
  osq_rows_int(out, P_FAMILY, k->family);
  osq_rows_int(out, P_PROTOCOL, k->protocol);
  if (k->family == AF_UNIX) {
    osq_rows_cstr(out, P_LOCAL_ADDRESS, "");
    osq_rows_cstr(out, P_REMOTE_ADDRESS, "");
    osq_rows_int(out, P_LOCAL_PORT, 0);
    osq_rows_int(out, P_REMOTE_PORT, 0);
    osq_rows_text(out, P_PATH, k->path, k->path_len);
  } else {
    osq_rows_cstr(out, P_LOCAL_ADDRESS, k->local);
    osq_rows_cstr(out, P_REMOTE_ADDRESS, k->remote);
    osq_rows_int(out, P_LOCAL_PORT, k->local_port);
    osq_rows_int(out, P_REMOTE_PORT, k->remote_port);
    osq_rows_cstr(out, P_PATH, "");
  }
  osq_rows_cstr(out, P_STATE, k->state);
  emit_ns(out, P_NET_NAMESPACE, ns);
  return osq_rows_end(out);
}

static int pos_generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)udata;
  scan s = {0};
  int64_t *pids = osq_tbl_eq_pids(ctx, P_PID, &s.npids);
  bool filtered = osq_tbl_count_op(ctx, P_PID, OSQ_OP_EQ) > 0;
  if (filtered && s.npids == 0) {
    /* only unparsable pids were asked for: nothing matches */
    free(pids);
    return OSQ_OK;
  }
  s.pids = pids;
  int rc = OSQ_OK;
  if (!collect_owners(&s)) {
    osq_rows_error(out, "process_open_sockets: cannot read /proc: %s",
                   strerror(errno));
    rc = OSQ_ERROR;
  }
  for (size_t i = 0; i < s.nns && rc == OSQ_OK; i++)
    rc = each_socket(&s, &s.ns[i], pos_row, out, !filtered);
  scan_free(&s);
  free(pids);
  return rc;
}

const osq_table_plugin osq_table_process_open_sockets = {
    .name = "process_open_sockets",
    .columns = pos_columns,
    .ncolumns = OSQ_NCOLS(pos_columns),
    .generate = pos_generate,
};

/* ---- listening_ports -------------------------------------------------- */

enum {
  L_PID, L_PORT, L_PROTOCOL, L_FAMILY, L_ADDRESS, L_FD, L_SOCKET, L_PATH,
  L_NET_NAMESPACE, L_COUNT
};

static const osq_column lp_columns[] = {
    {"pid", OSQ_TYPE_INTEGER, 0},     {"port", OSQ_TYPE_INTEGER, 0},
    {"protocol", OSQ_TYPE_INTEGER, 0}, {"family", OSQ_TYPE_INTEGER, 0},
    {"address", OSQ_TYPE_TEXT, 0},    {"fd", OSQ_TYPE_BIGINT, 0},
    {"socket", OSQ_TYPE_BIGINT, 0},   {"path", OSQ_TYPE_TEXT, 0},
    {"net_namespace", OSQ_TYPE_TEXT, 0},
};

_Static_assert(sizeof lp_columns / sizeof *lp_columns == L_COUNT, "cols");

static int lp_row(const sock *k, const netns *ns, const owner *o, void *u) {
  osq_rows *out = u;
  if (!k->listening)
    return OSQ_OK;
  if (k->family == AF_UNIX && k->path_len == 0)
    return OSQ_OK; /* unnamed: nothing to connect to */
  osq_rows_int(out, L_PID, o ? o->pid : -1);
  osq_rows_int(out, L_FD, o ? o->fd : -1);
  osq_rows_int(out, L_SOCKET, (int64_t)k->inode);
  osq_rows_int(out, L_PROTOCOL, k->protocol);
  osq_rows_int(out, L_FAMILY, k->family);
  if (k->family == AF_UNIX) {
    osq_rows_int(out, L_PORT, 0);
    osq_rows_cstr(out, L_ADDRESS, "");
    osq_rows_text(out, L_PATH, k->path, k->path_len);
  } else {
    osq_rows_int(out, L_PORT, k->local_port);
    osq_rows_cstr(out, L_ADDRESS, k->local);
    osq_rows_cstr(out, L_PATH, "");
  }
  emit_ns(out, L_NET_NAMESPACE, ns);
  return osq_rows_end(out);
}

static int lp_generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)ctx;
  (void)udata;
  scan s = {0};
  int rc = OSQ_OK;
  if (!collect_owners(&s)) {
    osq_rows_error(out, "listening_ports: cannot read /proc: %s",
                   strerror(errno));
    rc = OSQ_ERROR;
  }
  for (size_t i = 0; i < s.nns && rc == OSQ_OK; i++)
    rc = each_socket(&s, &s.ns[i], lp_row, out, true);
  scan_free(&s);
  return rc;
}

const osq_table_plugin osq_table_listening_ports = {
    .name = "listening_ports",
    .columns = lp_columns,
    .ncolumns = OSQ_NCOLS(lp_columns),
    .attributes = OSQ_TABLE_CACHEABLE,
    .generate = lp_generate,
};
