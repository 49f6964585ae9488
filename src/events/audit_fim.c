/* process_file_events from audited file syscalls (see audit_fim.h).
 *
 * As osquery's subscriber does, a row is stored only for a path the
 * config's file_paths patterns name (path or dest_path), only for calls
 * that change a file (open with O_TRUNC, the first write through a
 * descriptor, truncate, unlink, rename, link, symlink) unless
 * --audit_fim_show_accesses adds opens, first reads and closes, and a
 * call whose records do not add up ("partial") only with
 * --audit_show_partial_fim_events.
 *
 * Descriptor state lives in a bounded table of processes (each with a
 * bounded list of descriptors); when it is full the slot the next
 * process lands on is reused. Only descriptors opened on a watched path
 * are kept. Writes through a descriptor osq did not see opened (opened
 * before osq started, or forgotten) name no file and show nothing. */
#include "events/audit_fim.h"

#include <fcntl.h>
#include <inttypes.h>
#include <linux/audit.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "core/flags.h"
#include "core/log.h"
#include "events/events_internal.h"
#include "events/syscall_names_x86_64.h"

#define MAX_PROCS 4096
#define MAX_FDS 1024
#define MAX_ITEMS 6
#define PATH_CAP 4096

typedef enum kind {
  K_NONE, K_OPEN, K_CREAT, K_CLOSE, K_DUP, K_READ, K_WRITE, K_MMAP,
  K_TRUNCATE, K_UNLINK, K_RENAME, K_LINK, K_SYMLINK, K_CLONE, K_HANDLE,
} kind;

/* osquery's list of audited file syscalls, by name, and what each does */
static const struct {
  const char *name;
  kind k;
} calls[] = {
    {"open", K_OPEN},       {"openat", K_OPEN},
    {"open_by_handle_at", K_OPEN}, {"creat", K_CREAT},
    {"mknod", K_CREAT},     {"mknodat", K_CREAT},
    {"name_to_handle_at", K_HANDLE}, {"close", K_CLOSE},
    {"dup", K_DUP},         {"dup2", K_DUP},
    {"dup3", K_DUP},        {"read", K_READ},
    {"readv", K_READ},      {"pread64", K_READ},
    {"preadv", K_READ},     {"write", K_WRITE},
    {"writev", K_WRITE},    {"pwrite64", K_WRITE},
    {"pwritev", K_WRITE},   {"ftruncate", K_WRITE},
    {"mmap", K_MMAP},       {"truncate", K_TRUNCATE},
    {"unlink", K_UNLINK},   {"unlinkat", K_UNLINK},
    {"rename", K_RENAME},   {"renameat", K_RENAME},
    {"renameat2", K_RENAME}, {"linkat", K_LINK},
    {"symlink", K_SYMLINK}, {"symlinkat", K_SYMLINK},
    {"clone", K_CLONE},     {"fork", K_CLONE},
    {"vfork", K_CLONE},
};

#define NSYS (sizeof osq_syscall_names_x86_64 / sizeof *osq_syscall_names_x86_64)

typedef enum fd_state { S_OPEN, S_READ, S_WRITE } fd_state;

typedef struct fd_entry {
  int64_t fd;
  fd_state state;
  char *path;
} fd_entry;

typedef struct proc {
  int64_t pid; /* 0: free */
  fd_entry *fds;
  size_t nfds, cap;
} proc;

static proc procs[MAX_PROCS];

struct osq_fim_call {
  int nr;
  kind k;
  bool partial;
  int64_t pid, exit;
  uint64_t a0, a1, a2, a3;
  int64_t mmap_fd;
  osq_ev_row *row; /* the identity columns, filled from the SYSCALL record */
  char cwd[PATH_CAP];
  char *item[MAX_ITEMS];
};

/* the file_paths patterns, swapped whole by osq_fim_configure */
static pthread_mutex_t pat_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *patterns;

/* ---- the syscall set ---------------------------------------------------- */

#if defined(__x86_64__)
static uint8_t kinds[NSYS];
static pthread_once_t kinds_once = PTHREAD_ONCE_INIT;
static void kinds_init(void) {
  for (size_t i = 0; i < NSYS; i++)
    for (size_t j = 0; j < sizeof calls / sizeof *calls; j++)
      if (osq_syscall_names_x86_64[i] &&
          strcmp(osq_syscall_names_x86_64[i], calls[j].name) == 0)
        kinds[i] = (uint8_t)calls[j].k;
}
#endif

static kind classify(int nr) {
#if defined(__x86_64__)
  pthread_once(&kinds_once, kinds_init);
  return nr >= 0 && (size_t)nr < NSYS ? (kind)kinds[nr] : K_NONE;
#else
  (void)nr;
  return K_NONE;
#endif
}

bool osq_fim_available(void) {
#if defined(__x86_64__)
  return true;
#else
  return false;
#endif
}

bool osq_fim_syscall(int nr) { return classify(nr) != K_NONE; }

void osq_fim_rule_mask(uint32_t *mask, size_t words) {
  for (size_t nr = 0; nr < words * 32; nr++)
    if (classify((int)nr) != K_NONE)
      mask[nr / 32] |= 1u << (nr % 32);
}

/* ---- configuration ------------------------------------------------------ */

void osq_fim_configure(const json_t *cfg) {
  json_t *list = json_array();
  const json_t *paths = json_object_get(cfg, "file_paths");
  const char *cat;
  json_t *pats;
  json_object_foreach((json_t *)paths, cat, pats) {
    size_t i;
    json_t *p;
    json_array_foreach(pats, i, p) {
      if (json_is_string(p))
        json_array_append(list, p);
    }
  }
  OSQ_VLOG("process_file_events: %zu file_paths patterns",
           json_array_size(list));
  pthread_mutex_lock(&pat_lock);
  json_decref(patterns);
  patterns = list;
  pthread_mutex_unlock(&pat_lock);
}

static bool included(const char *path) {
  if (path == NULL || path[0] == '\0')
    return false;
  bool yes = false;
  pthread_mutex_lock(&pat_lock);
  size_t i;
  json_t *p;
  json_array_foreach(patterns, i, p) {
    if (osq_path_pattern_match(json_string_value(p), path)) {
      yes = true;
      break;
    }
  }
  pthread_mutex_unlock(&pat_lock);
  return yes;
}

/* ---- descriptor state --------------------------------------------------- */

static proc *proc_find(int64_t pid, bool create) {
  size_t home = (size_t)((uint64_t)pid * 2654435761u) % MAX_PROCS;
  proc *free_slot = NULL;
  for (size_t k = 0; k < 8; k++) {
    proc *p = &procs[(home + k) % MAX_PROCS];
    if (p->pid == pid)
      return p;
    if (p->pid == 0 && free_slot == NULL)
      free_slot = p;
  }
  if (!create)
    return NULL;
  proc *p = free_slot ? free_slot : &procs[home]; /* full: reuse */
  for (size_t i = 0; i < p->nfds; i++)
    free(p->fds[i].path);
  p->nfds = 0;
  p->pid = pid;
  return p;
}

static fd_entry *fd_find(proc *p, int64_t fd) {
  for (size_t i = 0; p && i < p->nfds; i++)
    if (p->fds[i].fd == fd)
      return &p->fds[i];
  return NULL;
}

static void fd_remove(proc *p, int64_t fd) {
  fd_entry *e = fd_find(p, fd);
  if (e == NULL)
    return;
  free(e->path);
  *e = p->fds[--p->nfds];
}

static void fd_save(int64_t pid, int64_t fd, const char *path, fd_state st) {
  proc *p = proc_find(pid, true);
  fd_remove(p, fd);
  if (p->nfds == p->cap) {
    if (p->cap >= MAX_FDS)
      return; /* a process with that many files open: not tracked */
    size_t cap = p->cap ? p->cap * 2 : 8;
    fd_entry *n = realloc(p->fds, cap * sizeof *n);
    if (n == NULL)
      return;
    p->fds = n;
    p->cap = cap;
  }
  char *copy = strdup(path);
  if (copy == NULL)
    return;
  p->fds[p->nfds++] = (fd_entry){fd, st, copy};
}

void osq_fim_reset(void) {
  for (size_t i = 0; i < MAX_PROCS; i++) {
    for (size_t j = 0; j < procs[i].nfds; j++)
      free(procs[i].fds[j].path);
    free(procs[i].fds);
    memset(&procs[i], 0, sizeof procs[i]);
  }
  pthread_mutex_lock(&pat_lock);
  json_decref(patterns);
  patterns = NULL;
  pthread_mutex_unlock(&pat_lock);
}

/* ---- one event ---------------------------------------------------------- */

static bool field_u64(const osq_audit_fields *r, const char *key, int base,
                      uint64_t *out) {
  char v[32];
  if (!osq_audit_fields_get(r, key, false, v, sizeof v))
    return false;
  char *end;
  *out = strtoull(v, &end, base);
  return end != v;
}

/* Calls on descriptors (most of what the file rule brings) of a process
 * with no descriptor on a watched file show nothing: rejected before a
 * call or a row is built. */
static bool untracked(kind k, const osq_audit_fields *r) {
  if (k != K_READ && k != K_WRITE && k != K_CLOSE && k != K_DUP &&
      k != K_MMAP && k != K_CLONE)
    return false;
  uint64_t pid, fd;
  if (!field_u64(r, "pid", 10, &pid))
    return true;
  proc *p = proc_find((int64_t)pid, false);
  if (p == NULL || p->nfds == 0)
    return true;
  return k != K_MMAP && k != K_CLONE &&
         (!field_u64(r, "a0", 16, &fd) || fd_find(p, (int64_t)fd) == NULL);
}

osq_fim_call *osq_fim_begin(int nr, const osq_audit_fields *r) {
  kind k = classify(nr);
  char v[16];
  if (k == K_NONE || untracked(k, r) ||
      !osq_audit_fields_get(r, "success", false, v, sizeof v) ||
      strcmp(v, "yes") != 0)
    return NULL;
  osq_fim_call *c = calloc(1, sizeof *c);
  if (c == NULL)
    return NULL;
  c->nr = nr;
  c->k = k;
  c->mmap_fd = -1;
  uint64_t x;
  c->pid = field_u64(r, "pid", 10, &x) ? (int64_t)x : -1;
  char ex[32];
  c->exit = osq_audit_fields_get(r, "exit", false, ex, sizeof ex)
                ? strtoll(ex, NULL, 10)
                : -1;
  field_u64(r, "a0", 16, &c->a0);
  field_u64(r, "a1", 16, &c->a1);
  field_u64(r, "a2", 16, &c->a2);
  field_u64(r, "a3", 16, &c->a3);
  const osq_table_plugin *t = &osq_table_process_file_events;
  c->row = osq_ev_row_new(t);
  static const struct {
    const char *col, *key;
  } ids[] = {{"pid", "pid"},     {"ppid", "ppid"},   {"uid", "uid"},
             {"gid", "gid"},     {"auid", "auid"},   {"euid", "euid"},
             {"egid", "egid"},   {"fsuid", "fsuid"}, {"fsgid", "fsgid"},
             {"suid", "suid"},   {"sgid", "sgid"}};
  for (size_t i = 0; c->row && i < sizeof ids / sizeof *ids; i++) {
    char val[32];
    if (!osq_audit_fields_get(r, ids[i].key, false, val, sizeof val))
      continue;
    if (strcmp(ids[i].col, "pid") == 0 || strcmp(ids[i].col, "ppid") == 0)
      osq_ev_row_int(c->row, t, ids[i].col, strtoll(val, NULL, 10));
    else
      osq_ev_row_str(c->row, t, ids[i].col, val);
  }
  char exe[PATH_CAP];
  if (c->row && osq_audit_fields_get(r, "exe", true, exe, sizeof exe))
    osq_ev_row_str(c->row, t, "executable", exe);
  return c;
}

void osq_fim_record(osq_fim_call *c, uint16_t type,
                    const osq_audit_fields *r) {
  uint64_t x;
  if (type == AUDIT_CWD) {
    if (!osq_audit_fields_get(r, "cwd", true, c->cwd, sizeof c->cwd))
      c->partial = true;
  } else if (type == AUDIT_PATH) {
    char name[PATH_CAP];
    if (!field_u64(r, "item", 10, &x) || x >= MAX_ITEMS) {
      c->partial = true;
      return;
    }
    if (!osq_audit_fields_get(r, "name", true, name, sizeof name))
      name[0] = '\0'; /* a nameless item (open_by_handle_at) */
    free(c->item[x]);
    c->item[x] = strdup(name);
  } else if (type == AUDIT_MMAP) {
    if (field_u64(r, "fd", 10, &x))
      c->mmap_fd = (int64_t)x;
  }
}

void osq_fim_drop(osq_fim_call *c) {
  if (c == NULL)
    return;
  for (size_t i = 0; i < MAX_ITEMS; i++)
    free(c->item[i]);
  osq_ev_row_free(c->row);
  free(c);
}

static size_t items(const osq_fim_call *c) {
  size_t n = 0;
  while (n < MAX_ITEMS && c->item[n])
    n++;
  return n;
}

/* Item i made absolute against the event's cwd into out. */
static bool item_path(osq_fim_call *c, size_t i, char *out) {
  if (i >= MAX_ITEMS || c->item[i] == NULL || c->item[i][0] == '\0' ||
      !osq_path_normalize(c->cwd, c->item[i], out, PATH_CAP)) {
    c->partial = true;
    out[0] = '\0';
    return false;
  }
  return true;
}

typedef struct outcome {
  const char *op; /* NULL: nothing to show */
  bool write;
  char path[PATH_CAP];
  char dest[PATH_CAP];
} outcome;

/* A read or write through a descriptor: osquery shows the first read
 * after the open and the first write, not every call. */
static void through_fd(osq_fim_call *c, int64_t fd, bool write, outcome *o) {
  fd_entry *e = fd_find(proc_find(c->pid, false), fd);
  if (e == NULL)
    return; /* untracked: no file to name */
  bool changed = e->state == S_OPEN || (write && e->state == S_READ);
  if (changed)
    e->state = write ? S_WRITE : S_READ;
  if (!changed)
    return;
  o->op = write ? "write" : "read";
  o->write = write;
  snprintf(o->path, sizeof o->path, "%s", e->path);
}

static void on_open(osq_fim_call *c, outcome *o) {
  size_t n = items(c);
  /* the file is the last item: after the parent directory, if any */
  size_t i = n == 0 ? 0 : n == 2 ? 1 : 0;
  if (n == 0 || n > 3)
    c->partial = true;
  if (!item_path(c, i, o->path))
    return;
  const char *name = osq_syscall_names_x86_64[c->nr];
  uint64_t flags = strcmp(name, "creat") == 0  ? O_TRUNC
                   : c->k == K_CREAT           ? 0 /* mknod: no descriptor */
                   : strcmp(name, "open") == 0 ? c->a1
                                               : c->a2;
  bool trunc = (flags & O_TRUNC) != 0;
  o->op = trunc ? "open+truncate" : "open";
  o->write = trunc;
  /* only descriptors on watched files are kept: no other can show */
  bool gives_fd = c->k == K_OPEN || strcmp(name, "creat") == 0;
  if (gives_fd && c->exit >= 0 && included(o->path))
    fd_save(c->pid, c->exit, o->path, S_OPEN);
}

static void on_names(osq_fim_call *c, outcome *o) {
  size_t n = items(c);
  switch (c->k) {
  case K_TRUNCATE:
    if (item_path(c, 0, o->path))
      o->op = "write", o->write = true;
    break;
  case K_UNLINK: /* parent directory, then the file */
    if (n != 2)
      c->partial = true;
    if (item_path(c, n ? n - 1 : 0, o->path))
      o->op = "unlink", o->write = true;
    break;
  case K_RENAME: /* two parents, the source, [the replaced file,] dest */
    if (n != 4 && n != 5)
      c->partial = true;
    item_path(c, 2, o->path);
    item_path(c, n ? n - 1 : 0, o->dest);
    o->op = "rename", o->write = true;
    break;
  case K_LINK:
  case K_SYMLINK: /* the old path, the new one's parent, the new path */
    if (n != 3)
      c->partial = true;
    item_path(c, 0, o->path);
    item_path(c, 2, o->dest);
    o->op = c->k == K_LINK ? "link" : "symlink", o->write = true;
    break;
  default:
    break;
  }
}

static void decide(osq_fim_call *c, outcome *o) {
  switch (c->k) {
  case K_OPEN:
  case K_CREAT:
    on_open(c, o);
    break;
  case K_CLOSE: {
    proc *p = proc_find(c->pid, false);
    fd_entry *e = fd_find(p, (int64_t)c->a0);
    if (e) {
      o->op = "close";
      snprintf(o->path, sizeof o->path, "%s", e->path);
      fd_remove(p, (int64_t)c->a0);
    }
    break;
  }
  case K_DUP: {
    fd_entry *e = fd_find(proc_find(c->pid, false), (int64_t)c->a0);
    if (e && c->exit >= 0 && c->exit != (int64_t)c->a0) {
      char *path = strdup(e->path);
      fd_state st = e->state;
      if (path)
        fd_save(c->pid, c->exit, path, st);
      free(path);
    }
    break;
  }
  case K_READ:
  case K_WRITE:
    through_fd(c, (int64_t)c->a0, c->k == K_WRITE, o);
    break;
  case K_MMAP: /* a shared writable mapping writes the file */
    if (c->mmap_fd >= 0)
      through_fd(c, c->mmap_fd,
                 (c->a2 & PROT_WRITE) && (c->a3 & MAP_SHARED), o);
    break;
  case K_CLONE: {
    proc *parent = proc_find(c->pid, false);
    if (parent == NULL || c->exit <= 0)
      break;
    proc *child = proc_find(c->exit, true);
    parent = proc_find(c->pid, false); /* the child may have taken it */
    for (size_t i = 0; parent && parent != child && i < parent->nfds; i++)
      fd_save(c->exit, parent->fds[i].fd, parent->fds[i].path,
              parent->fds[i].state);
    break;
  }
  default:
    on_names(c, o);
    break;
  }
}

void osq_fim_finish(osq_fim_call *c, int64_t sec) {
  outcome *o = calloc(1, sizeof *o);
  if (o == NULL || c->row == NULL) {
    free(o);
    osq_fim_drop(c);
    return;
  }
  decide(c, o);
  bool show = o->op != NULL &&
              (o->write || OSQ_FLAG_BOOL(audit_fim_show_accesses)) &&
              (!c->partial || OSQ_FLAG_BOOL(audit_show_partial_fim_events)) &&
              (included(o->path) || included(o->dest));
  if (OSQ_FLAG_BOOL(audit_fim_debug))
    OSQ_INFO("audit fim: %s pid %" PRId64 " exit %" PRId64 " -> %s %s%s%s%s%s",
             osq_syscall_names_x86_64[c->nr], c->pid, c->exit,
             o->op ? o->op : "(nothing)", o->path, o->dest[0] ? " -> " : "",
             o->dest, c->partial ? " (partial)" : "",
             show ? " (stored)" : "");
  if (show) {
    const osq_table_plugin *t = &osq_table_process_file_events;
    osq_ev_row_str(c->row, t, "operation", o->op);
    osq_ev_row_str(c->row, t, "path", o->path);
    if (o->dest[0])
      osq_ev_row_str(c->row, t, "dest_path", o->dest);
    osq_ev_row_str(c->row, t, "cwd", c->cwd);
    osq_ev_row_str(c->row, t, "partial", c->partial ? "true" : "false");
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    osq_ev_row_int(c->row, t, "uptime", ts.tv_sec);
    osq_ev_add("process_file_events", sec, c->row);
    c->row = NULL;
  }
  free(o);
  osq_fim_drop(c);
}
