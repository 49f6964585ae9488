/* yara_file (alias yara) and yara_process: YARA rules (libyara, loaded
 * on first use) over files or a process's memory.
 *
 * The rules come from the query, as in osquery: `sig_group = 'g'` (a
 * group of the config's "yara" section), `sigfile = '/x.yar'` (a source
 * or compiled rule file; relative to /var/osq/yara/), or `sigrule =
 * 'rule …'` (rule text; its matched strings stay private unless
 * --enable_yara_string). One row per target and rule source the scan
 * succeeded on, with the matching rule names, their count, the matched
 * strings as "$id:hexoffset" and the tags, comma-joined. `sigurl` is
 * refused with an error: osq does not fetch rules over the network.
 *
 * Files: `path = …` and `path LIKE …` (osquery's wildcards); only regular
 * files are scanned, through a descriptor opened without following a
 * final symlink into a FIFO or device; several files are scanned at once
 * by a few short-lived threads (as the yara CLI does), rows in the order
 * the scans finish. A file truncated by another process while it is
 * scanned reads as zeros past its new end, never a fatal SIGBUS (see "a
 * mapped file another process may truncate"). Compiled groups and rule
 * files are kept between queries (a file is recompiled when it changes);
 * one query at a time uses libyara here. */
#include "tables/yara.h"

#include "core/cancel.h"
#include "core/flags.h"
#include "core/lazylib.h"
#include "core/log.h"
#include "tables/builtin.h"
#include "tables/fsglob.h"
#include "tables/util.h"

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <yara.h>

#define YARA_HOME "/var/osq/yara/"
/* A scan that takes longer than this (seconds) gives no row. */
#define SCAN_TIMEOUT_S 120
/* Bound on each of matches/strings/tags of one row. */
#define CELL_MAX (256 * 1024)
/* Compiled rule sets kept between queries. */
#define CACHE_MAX 64
/* Rule text accepted from sigrule. */
#define SIGRULE_MAX (1024 * 1024)

enum {
  C_TARGET, C_MATCHES, C_COUNT_, C_SIG_GROUP, C_SIGFILE, C_SIGRULE,
  C_STRINGS, C_TAGS, C_SIGURL, C_PID_WITH_NAMESPACE, C_NCOLS
};

static const osq_column file_columns[] = {
    {"path", OSQ_TYPE_TEXT, OSQ_COL_INDEX | OSQ_COL_REQUIRED},
    {"matches", OSQ_TYPE_TEXT, 0},
    {"count", OSQ_TYPE_INTEGER, 0},
    {"sig_group", OSQ_TYPE_TEXT, OSQ_COL_ADDITIONAL},
    {"sigfile", OSQ_TYPE_TEXT, OSQ_COL_ADDITIONAL},
    {"sigrule", OSQ_TYPE_TEXT, OSQ_COL_ADDITIONAL | OSQ_COL_HIDDEN},
    {"strings", OSQ_TYPE_TEXT, 0},
    {"tags", OSQ_TYPE_TEXT, 0},
    {"sigurl", OSQ_TYPE_TEXT, OSQ_COL_ADDITIONAL | OSQ_COL_HIDDEN},
    {"pid_with_namespace", OSQ_TYPE_INTEGER,
     OSQ_COL_ADDITIONAL | OSQ_COL_HIDDEN},
};
static const osq_column process_columns[] = {
    {"pid", OSQ_TYPE_INTEGER, OSQ_COL_INDEX | OSQ_COL_REQUIRED},
    {"matches", OSQ_TYPE_TEXT, 0},
    {"count", OSQ_TYPE_INTEGER, 0},
    {"sig_group", OSQ_TYPE_TEXT, OSQ_COL_ADDITIONAL},
    {"sigfile", OSQ_TYPE_TEXT, OSQ_COL_ADDITIONAL},
    {"sigrule", OSQ_TYPE_TEXT, OSQ_COL_ADDITIONAL | OSQ_COL_HIDDEN},
    {"strings", OSQ_TYPE_TEXT, 0},
    {"tags", OSQ_TYPE_TEXT, 0},
    {"sigurl", OSQ_TYPE_TEXT, OSQ_COL_ADDITIONAL | OSQ_COL_HIDDEN},
    {"pid_with_namespace", OSQ_TYPE_INTEGER,
     OSQ_COL_ADDITIONAL | OSQ_COL_HIDDEN},
};
_Static_assert(sizeof file_columns / sizeof *file_columns == C_NCOLS, "c");
_Static_assert(sizeof process_columns / sizeof *process_columns == C_NCOLS,
               "c");

/* ---- libyara ------------------------------------------------------------ */

static __typeof__(yr_initialize) *lz_yr_initialize;
static __typeof__(yr_compiler_create) *lz_yr_compiler_create;
static __typeof__(yr_compiler_destroy) *lz_yr_compiler_destroy;
static __typeof__(yr_compiler_set_callback) *lz_yr_compiler_set_callback;
static __typeof__(yr_compiler_add_file) *lz_yr_compiler_add_file;
static __typeof__(yr_compiler_add_string) *lz_yr_compiler_add_string;
static __typeof__(yr_compiler_get_rules) *lz_yr_compiler_get_rules;
static __typeof__(yr_rules_load) *lz_yr_rules_load;
static __typeof__(yr_rules_destroy) *lz_yr_rules_destroy;
static __typeof__(yr_rules_scan_fd) *lz_yr_rules_scan_fd;
static __typeof__(yr_rules_scan_mem) *lz_yr_rules_scan_mem;
static __typeof__(yr_rules_scan_proc) *lz_yr_rules_scan_proc;

static const osq_lazysym syms[] = {
    OSQ_LAZYSYM(yr_initialize),          OSQ_LAZYSYM(yr_compiler_create),
    OSQ_LAZYSYM(yr_compiler_destroy),    OSQ_LAZYSYM(yr_compiler_set_callback),
    OSQ_LAZYSYM(yr_compiler_add_file),   OSQ_LAZYSYM(yr_compiler_add_string),
    OSQ_LAZYSYM(yr_compiler_get_rules),  OSQ_LAZYSYM(yr_rules_load),
    OSQ_LAZYSYM(yr_rules_destroy),       OSQ_LAZYSYM(yr_rules_scan_fd),
    OSQ_LAZYSYM(yr_rules_scan_proc),     OSQ_LAZYSYM(yr_rules_scan_mem),
};
static osq_lazylib libyara = OSQ_LAZYLIB("libyara.so.9", syms);

/* ---- state: the config's groups and compiled rule sets ----------------- */

typedef enum { SIG_GROUP, SIG_FILE, SIG_RULE } sig_kind;

typedef struct cached {
  sig_kind kind;
  char *name;        /* group name or rule file path as queried */
  time_t mtime;      /* SIG_FILE: the file's, to notice a change */
  off_t size;
  YR_RULES *rules;
} cached;

static pthread_mutex_t yara_mu = PTHREAD_MUTEX_INITIALIZER;
static json_t *signatures; /* group -> [rule files]; under yara_mu */
static cached cache[CACHE_MAX];
static size_t ncache;
static bool yr_ready;

static void cache_clear(void) {
  for (size_t i = 0; i < ncache; i++) {
    free(cache[i].name);
    if (cache[i].rules)
      lz_yr_rules_destroy(cache[i].rules);
  }
  ncache = 0;
}

void osq_yara_apply(const json_t *section) {
  json_t *sigs = NULL;
  const json_t *s = json_is_object(section)
                        ? json_object_get(section, "signatures")
                        : NULL;
  if (json_is_object(s))
    sigs = json_deep_copy(s);
  else if (s)
    OSQ_WARN("yara: \"signatures\" must be an object of groups");
  pthread_mutex_lock(&yara_mu);
  json_decref(signatures);
  signatures = sigs;
  if (atomic_load(&libyara.state) > 0)
    cache_clear(); /* only libyara can have filled it */
  pthread_mutex_unlock(&yara_mu);
}

static void compiler_msg(int level, const char *file, int line,
                         const YR_RULE *rule, const char *msg, void *ud) {
  (void)rule;
  char *err = ud;
  if (level == YARA_ERROR_LEVEL_ERROR && err[0] == '\0')
    snprintf(err, 256, "%s(%d): %s", file ? file : "rule string", line, msg);
}

static void rule_path(const char *name, char *out, size_t cap) {
  snprintf(out, cap, "%s%s", name[0] == '/' ? "" : YARA_HOME, name);
}

/* Add one rule file to compiler c, or load it as compiled rules into
 * *loaded. Returns false with err set. */
static bool add_rule_file(YR_COMPILER *c, const char *name, YR_RULES **loaded,
                          char *err) {
  char path[PATH_MAX];
  rule_path(name, path, sizeof path);
  int r = lz_yr_rules_load(path, loaded);
  if (r == ERROR_SUCCESS)
    return true;
  *loaded = NULL;
  if (r != ERROR_INVALID_FILE && r != ERROR_UNSUPPORTED_FILE_VERSION &&
      r != ERROR_CORRUPT_FILE) {
    if (r == ERROR_COULD_NOT_OPEN_FILE)
      snprintf(err, 256, "cannot open %.200s", path);
    else
      snprintf(err, 256, "cannot load %.200s (libyara error %d)", path, r);
    return false;
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  struct stat st;
  FILE *f = NULL;
  if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
    f = fdopen(fd, "r");
  if (f == NULL) {
    if (fd >= 0)
      close(fd);
    snprintf(err, 256, "cannot read %.200s", path);
    return false;
  }
  int errors = lz_yr_compiler_add_file(c, f, NULL, path);
  fclose(f);
  return errors == 0;
}

/* Compile a group, a file or a rule string. NULL with err set. */
static YR_RULES *compile(sig_kind kind, const char *name, char *err) {
  YR_COMPILER *c = NULL;
  if (lz_yr_compiler_create(&c) != ERROR_SUCCESS) {
    snprintf(err, 256, "cannot create a YARA compiler");
    return NULL;
  }
  lz_yr_compiler_set_callback(c, compiler_msg, err);
  YR_RULES *rules = NULL;
  bool ok = true;
  size_t nsources = 0;
  if (kind == SIG_RULE) {
    ok = lz_yr_compiler_add_string(c, name, NULL) == 0;
    nsources = 1;
  } else if (kind == SIG_FILE) {
    ok = add_rule_file(c, name, &rules, err);
    nsources = rules ? 0 : 1;
  } else {
    const json_t *files = signatures ? json_object_get(signatures, name) : NULL;
    if (!json_is_array(files)) {
      snprintf(err, 256, "no signature group '%s' in the config", name);
      ok = false;
    }
    size_t i;
    const json_t *v;
    json_array_foreach(files, i, v) {
      if (!ok)
        break;
      if (!json_is_string(v))
        continue;
      YR_RULES *loaded = NULL;
      ok = add_rule_file(c, json_string_value(v), &loaded, err);
      if (loaded) { /* compiled rules replace the group (osquery) */
        if (rules)
          lz_yr_rules_destroy(rules);
        rules = loaded;
      } else if (ok) {
        nsources++;
      }
    }
  }
  if (ok && nsources > 0) {
    if (rules)
      lz_yr_rules_destroy(rules);
    rules = NULL;
    if (lz_yr_compiler_get_rules(c, &rules) != ERROR_SUCCESS) {
      snprintf(err, 256, "out of memory compiling YARA rules");
      rules = NULL;
    }
  } else if (!ok && rules) {
    lz_yr_rules_destroy(rules);
    rules = NULL;
  }
  if (!ok && err[0] == '\0')
    snprintf(err, 256, "compilation failed");
  lz_yr_compiler_destroy(c);
  if (rules && kind == SIG_RULE && !OSQ_FLAG_BOOL(enable_yara_string)) {
    /* rule text from a query: what it matched stays private, so a
     * query cannot read arbitrary bytes out of files */
    YR_RULE *rule;
    yr_rules_foreach(rules, rule) {
      YR_STRING *s;
      yr_rule_strings_foreach(rule, s) { s->flags |= STRING_FLAGS_PRIVATE; }
    }
  }
  return rules;
}

/* Under yara_mu: the compiled rules for one source, from the cache or
 * compiled now (and kept, except rule strings). *owned is set when the
 * caller must destroy them. */
static YR_RULES *rules_for(sig_kind kind, const char *name, bool *owned,
                           char *err) {
  *owned = false;
  struct stat st = {0};
  if (kind == SIG_FILE) {
    char path[PATH_MAX];
    rule_path(name, path, sizeof path);
    if (stat(path, &st) != 0) {
      snprintf(err, 256, "cannot open %.200s: %s", path, strerror(errno));
      return NULL;
    }
  }
  if (kind != SIG_RULE) {
    for (size_t i = 0; i < ncache; i++) {
      cached *e = &cache[i];
      if (e->kind != kind || strcmp(e->name, name) != 0)
        continue;
      if (kind == SIG_GROUP ||
          (e->mtime == st.st_mtime && e->size == st.st_size))
        return e->rules;
      lz_yr_rules_destroy(e->rules); /* changed on disk */
      free(e->name);
      *e = cache[--ncache];
      break;
    }
  }
  YR_RULES *rules = compile(kind, name, err);
  if (rules == NULL)
    return NULL;
  char *copy = kind == SIG_RULE ? NULL : strdup(name);
  if (copy == NULL) {
    *owned = true;
    return rules;
  }
  if (ncache == CACHE_MAX)
    cache_clear();
  cache[ncache++] = (cached){kind, copy, st.st_mtime, st.st_size, rules};
  return rules;
}

/* ---- one scan: a row --------------------------------------------------- */

typedef struct cellbuf {
  char *p;
  size_t n, cap;
  bool full;
} cellbuf;

static void cell_add(cellbuf *b, const char *sep, const char *fmt, ...) {
  if (b->full)
    return;
  char tmp[512];
  va_list ap;
  va_start(ap, fmt);
  int w = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (w < 0)
    return;
  size_t add = (b->n ? strlen(sep) : 0) + (size_t)w;
  if (b->n + add + 1 > CELL_MAX) {
    b->full = true; /* bounded: further items are dropped */
    return;
  }
  if (b->n + add + 1 > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 256;
    while (cap < b->n + add + 1)
      cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL) {
      b->full = true;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  b->n += (size_t)snprintf(b->p + b->n, b->cap - b->n, "%s%s",
                           b->n ? sep : "", tmp);
}

typedef struct scan {
  cellbuf matches, strings, tags;
  int64_t count;
  const atomic_bool *stop; /* set: the rows are no longer wanted */
} scan;

static int on_scan(YR_SCAN_CONTEXT *ctx, int msg, void *data, void *ud) {
  if (msg != CALLBACK_MSG_RULE_MATCHING)
    return CALLBACK_CONTINUE;
  scan *s = ud;
  if (s->stop && atomic_load(s->stop))
    return CALLBACK_ABORT;
  YR_RULE *rule = data;
  cell_add(&s->matches, ",", "%s", rule->identifier);
  YR_STRING *str;
  yr_rule_strings_foreach(rule, str) {
    /* libyara packs a match right after the previous match's data, so a
     * YR_MATCH may be misaligned: its fields are copied out, never read
     * in place (yr_string_matches_foreach would). */
    const char *m = (const char *)ctx->matches[str->idx].head;
    while (m != NULL) {
      int64_t base, offset;
      bool priv;
      const char *next;
      memcpy(&base, m + offsetof(YR_MATCH, base), sizeof base);
      memcpy(&offset, m + offsetof(YR_MATCH, offset), sizeof offset);
      memcpy(&priv, m + offsetof(YR_MATCH, is_private), sizeof priv);
      memcpy(&next, m + offsetof(YR_MATCH, next), sizeof next);
      if (!priv)
        cell_add(&s->strings, ",", "%s:%llx", str->identifier,
                 (unsigned long long)(base + offset));
      m = next;
    }
  }
  const char *tag;
  yr_rule_tags_foreach(rule, tag) { cell_add(&s->tags, ",", "%s", tag); }
  s->count++;
  return CALLBACK_CONTINUE;
}

static void scan_free(scan *s) {
  free(s->matches.p);
  free(s->strings.p);
  free(s->tags.p);
}

static const size_t source_col[] = {C_SIG_GROUP, C_SIGFILE, C_SIGRULE};

/* A descriptor on the regular file at path, or -1: FIFOs, devices and
 * directories are never scanned. st gets its stat. */
static int open_regular(const char *path, struct stat *st) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0)
    return -1;
  if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
    close(fd);
    return -1;
  }
  return fd;
}

/* ---- a mapped file another process may truncate ----------------------- */

/* libyara scans a file by mapping it (yr_rules_scan_fd, osquery's and the
 * CLI's way). When another process truncates the file meanwhile, the next
 * touch of a page past the new end raises SIGBUS. libyara 4.2 catches it
 * only around its string search (sigsetjmp, the handler installed and
 * restored around each block with sigaction): not in condition code
 * (uint32(0) …), and, with several threads scanning, their save/restore
 * pairs interleave, leaving the wrong handler (the default, which kills
 * osqi or osqd's worker, or libyara's, which jumps through a NULL buffer on
 * a thread outside a scan). So yara_file scans with SCAN_FLAGS_NO_TRYCATCH
 * and one handler of its own, installed once: it maps the file itself, as
 * libyara would (PROT_READ, MAP_PRIVATE, MADV_SEQUENTIAL), scans the
 * mapping with yr_rules_scan_mem, and when a SIGBUS hits the mapping its
 * own thread is scanning, puts zero pages over the rest of it (mmap
 * MAP_FIXED, a plain system call) and returns: the read is retried, sees
 * zeros, and the scan goes on. Nothing jumps out of libyara, so its
 * scanner state, locks and allocations stay as they were. An unchanged
 * file is scanned exactly as before and at the same speed; a file
 * truncated meanwhile is scanned as its old length with the part cut off
 * read as zeros. A SIGBUS elsewhere goes to the previous handler, or kills
 * the process as it would have.
 * Not chosen: reading the file into a buffer (yara_events does, bounded by
 * --read_max) costs a copy: ~+25% CPU over /usr/bin here, and a file of
 * any size would need a bound or a temporary copy on disk; libyara's block
 * iterator fed by read() chunks misses strings across a chunk boundary and
 * re-reads blocks for uint32(x)-style conditions; MAP_POPULATE does not
 * help (truncation unmaps even private copied pages); siglongjmp out of
 * the handler abandons libyara mid-scan (its own catch gives no row). */

typedef struct span {
  uintptr_t lo, hi;
  bool proc; /* a process scan: libyara's own mappings, anywhere */
} span;

/* The mapping this thread is scanning ({0, 0}: none). Read by the SIGBUS
 * handler, which runs on the faulting thread. */
static _Thread_local volatile span scanning;
static struct sigaction bus_prev;
static uintptr_t page_size;

static void on_sigbus(int sig, siginfo_t *si, void *uc) {
  uintptr_t a = (uintptr_t)si->si_addr, lo = scanning.lo, hi = scanning.hi;
  if (si->si_code == BUS_ADRERR && a >= lo && a < hi) {
    uintptr_t page = a & ~(page_size - 1);
    /* a process scan's mapping is libyara's (read-write, its extent
     * unknown here): one page at a time */
    bool proc = scanning.proc;
    if (mmap((void *)page, proc ? page_size : hi - page,
             proc ? PROT_READ | PROT_WRITE : PROT_READ,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED)
      return; /* the faulting access is retried on a zero page */
  }
  if ((bus_prev.sa_flags & SA_SIGINFO) && bus_prev.sa_sigaction) {
    bus_prev.sa_sigaction(sig, si, uc);
    return;
  }
  if (!(bus_prev.sa_flags & SA_SIGINFO) && bus_prev.sa_handler != SIG_DFL &&
      bus_prev.sa_handler != SIG_IGN) {
    bus_prev.sa_handler(sig);
    return;
  }
  /* not a scan's: the fault repeats with the default action */
  struct sigaction dfl = {.sa_handler = SIG_DFL};
  sigaction(SIGBUS, &dfl, NULL);
}

static void bus_install(void) {
  page_size = (uintptr_t)sysconf(_SC_PAGESIZE);
  struct sigaction sa = {.sa_sigaction = on_sigbus,
                         .sa_flags = SA_SIGINFO | SA_RESTART};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGBUS, &sa, &bus_prev);
}

/* libyara's own SIGBUS catching off: see above */
#define SCAN_FLAGS (SCAN_FLAGS_FAST_MODE | SCAN_FLAGS_NO_TRYCATCH)

/* Scan the regular file open as fd (st its fstat) into s. */
static int scan_file(YR_RULES *rules, int fd, const struct stat *st,
                     scan *s) {
  if (st->st_size == 0) /* nothing to map: libyara scans no bytes */
    return lz_yr_rules_scan_mem(rules, NULL, 0, SCAN_FLAGS, on_scan, s,
                                SCAN_TIMEOUT_S);
  if (st->st_size < 0 || (uint64_t)st->st_size > SIZE_MAX)
    return ERROR_COULD_NOT_MAP_FILE;
  size_t len = (size_t)st->st_size;
  void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
  if (map == MAP_FAILED)
    return ERROR_COULD_NOT_MAP_FILE;
  madvise(map, len, MADV_SEQUENTIAL);
  uintptr_t lo = (uintptr_t)map;
  scanning.hi = 0; /* the handler never sees a half-set span */
  scanning.proc = false;
  scanning.lo = lo;
  scanning.hi = (lo + len + page_size - 1) & ~(page_size - 1);
  int r = lz_yr_rules_scan_mem(rules, map, len, SCAN_FLAGS, on_scan, s,
                               SCAN_TIMEOUT_S);
  scanning.hi = 0;
  scanning.lo = 0;
  munmap(map, len);
  return r;
}

/* Scan one target (a file path, or a pid when path is NULL) into s.
 * False when there is no row: not a regular file, unreadable, or the
 * scan failed (osquery gives no row then either). Any thread. */
static bool scan_one(YR_RULES *rules, const char *path, int64_t pid,
                     scan *s) {
  int r;
  if (path) {
    struct stat st;
    int fd = open_regular(path, &st);
    if (fd < 0)
      return false;
    r = scan_file(rules, fd, &st, s);
    close(fd);
  } else {
    /* libyara 4.2 reads a process's file-backed regions by mapping the
     * backing files (then patching the pages the process changed from
     * /proc/<pid>/mem): a truncated backing file faults as above, in a
     * mapping of libyara's, so the whole address space is covered */
    scanning.hi = 0;
    scanning.proc = true;
    scanning.lo = 0;
    scanning.hi = UINTPTR_MAX;
    r = lz_yr_rules_scan_proc(rules, (int)pid, SCAN_FLAGS, on_scan, s,
                              SCAN_TIMEOUT_S);
    scanning.hi = 0;
  }
  if (r == ERROR_SUCCESS)
    return true;
  if (r == ERROR_SCAN_TIMEOUT && path)
    OSQ_WARN("yara: scanning %s took over %d s: skipped", path,
             SCAN_TIMEOUT_S);
  else if (r == ERROR_SCAN_TIMEOUT)
    OSQ_WARN("yara: scanning pid %lld took over %d s: skipped",
             (long long)pid, SCAN_TIMEOUT_S);
  return false;
}

/* The row of one scanned target (path, or pid when path is NULL). */
static int emit_row(osq_rows *out, sig_kind kind, const char *source,
                    const char *path, int64_t pid, const scan *s) {
  if (path)
    osq_rows_cstr(out, C_TARGET, path);
  else
    osq_rows_int(out, C_TARGET, pid);
  osq_rows_text(out, C_MATCHES, s->matches.p ? s->matches.p : "",
                s->matches.n);
  osq_rows_int(out, C_COUNT_, s->count);
  for (int k = 0; k < 3; k++)
    osq_rows_cstr(out, source_col[k], (int)kind == k ? source : "");
  osq_rows_text(out, C_STRINGS, s->strings.p ? s->strings.p : "",
                s->strings.n);
  osq_rows_text(out, C_TAGS, s->tags.p ? s->tags.p : "", s->tags.n);
  return osq_rows_end(out);
}

/* Scan one target (a file path, or a pid when path is NULL) with rules
 * and emit its row. */
static int scan_target(osq_rows *out, YR_RULES *rules, sig_kind kind,
                       const char *source, const char *path, int64_t pid) {
  scan s = {0};
  int rc = OSQ_OK;
  if (scan_one(rules, path, pid, &s))
    rc = emit_row(out, kind, source, path, pid, &s);
  scan_free(&s);
  return rc;
}

/* ---- many files: a small pool of scanning threads ---------------------- */

/* libyara 4 lets threads scan with one YR_RULES at once (each scan has
 * its own scanner), and the yara CLI scans a directory with several
 * threads by default: so does yara_file, with up to SCAN_THREADS_MAX
 * threads. Rows are emitted by the generating thread only (osq_rows is
 * not shared), in the order scans finish, so one large file does not
 * hold back the others (osquery promises no order either). A worker
 * claims a path only while fewer than SCAN_AHEAD per thread are claimed
 * and not yet emitted, so memory stays bounded: each result held is at
 * most 3 * CELL_MAX. The largest files are claimed first: started last,
 * one would leave the other threads idle while it alone is scanned. */
#define SCAN_THREADS_MAX 4
#define SCAN_AHEAD 4
#define WINDOW_MAX (SCAN_THREADS_MAX * SCAN_AHEAD)
/* How often (ms) the generating thread, waiting for a scan, asks whether
 * the rows are still wanted. */
#define CANCEL_POLL_MS 200

typedef struct result {
  scan s;
  size_t path; /* index in the path list */
  bool row;    /* the scan gives a row */
} result;

typedef struct pool {
  pthread_mutex_t mu;
  pthread_cond_t freed; /* a result was emitted, or stop: workers wait */
  pthread_cond_t done;  /* a scan finished: the generating thread waits */
  YR_RULES *rules;
  const osq_pathlist *paths;
  size_t *order;  /* path indexes, largest file first */
  size_t window;  /* threads * SCAN_AHEAD */
  size_t next;    /* the next path to claim; under mu */
  size_t emitted; /* results taken by the generating thread; under mu */
  size_t head, nready; /* the finished results, a ring; under mu */
  atomic_bool stop;
  result ready[WINDOW_MAX];
} pool;

static void *scan_worker(void *arg) {
  pool *p = arg;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (!atomic_load(&p->stop) && p->next < p->paths->n &&
           p->next - p->emitted >= p->window)
      pthread_cond_wait(&p->freed, &p->mu);
    if (atomic_load(&p->stop) || p->next >= p->paths->n)
      break;
    size_t i = p->order[p->next++];
    pthread_mutex_unlock(&p->mu);
    result r = {.s = {.stop = &p->stop}, .path = i};
    r.row = scan_one(p->rules, p->paths->items[i], 0, &r.s);
    pthread_mutex_lock(&p->mu);
    /* claimed - emitted <= window, so the ring has room */
    p->ready[(p->head + p->nready++) % p->window] = r;
    pthread_cond_signal(&p->done);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

/* Threads worth starting for n files: none below two files or CPUs. */
static size_t scan_threads(size_t n) {
  cpu_set_t set;
  long cpus = sched_getaffinity(0, sizeof set, &set) == 0
                  ? CPU_COUNT(&set)
                  : sysconf(_SC_NPROCESSORS_ONLN);
  size_t t = cpus > 0 ? (size_t)cpus : 1;
  if (t > SCAN_THREADS_MAX)
    t = SCAN_THREADS_MAX;
  if (t > n)
    t = n;
  return t < 2 ? 0 : t;
}

typedef struct sized {
  off_t size;
  size_t path;
} sized;

static int larger_first(const void *a, const void *b) {
  const sized *x = a, *y = b;
  if (x->size != y->size)
    return x->size > y->size ? -1 : 1;
  return x->path < y->path ? -1 : x->path > y->path;
}

/* The order to scan paths in: the largest files first. NULL if out of
 * memory. */
static size_t *largest_first(const osq_pathlist *paths) {
  size_t *order = malloc(paths->n * sizeof *order);
  sized *by = malloc(paths->n * sizeof *by);
  if (order == NULL || by == NULL) {
    free(order), free(by);
    return NULL;
  }
  for (size_t i = 0; i < paths->n; i++) {
    struct stat st;
    by[i].size = stat(paths->items[i], &st) == 0 ? st.st_size : 0;
    by[i].path = i;
  }
  qsort(by, paths->n, sizeof *by, larger_first);
  for (size_t i = 0; i < paths->n; i++)
    order[i] = by[i].path;
  free(by);
  return order;
}

/* The next finished result into *got; false if the rows stopped being
 * wanted while waiting. */
static bool take(pool *p, result *got) {
  pthread_mutex_lock(&p->mu);
  while (p->nready == 0) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += CANCEL_POLL_MS * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000L;
    }
    if (pthread_cond_timedwait(&p->done, &p->mu, &until) != ETIMEDOUT)
      continue;
    pthread_mutex_unlock(&p->mu);
    bool cancelled = osq_cancelled();
    pthread_mutex_lock(&p->mu);
    if (cancelled) {
      pthread_mutex_unlock(&p->mu);
      return false;
    }
  }
  *got = p->ready[p->head];
  p->head = (p->head + 1) % p->window;
  p->nready--;
  p->emitted++;
  pthread_cond_signal(&p->freed);
  pthread_mutex_unlock(&p->mu);
  return true;
}

/* Stop the workers, wait for them, free what they left. */
static void pool_end(pool *p, pthread_t *th, size_t nth) {
  pthread_mutex_lock(&p->mu);
  atomic_store(&p->stop, true);
  pthread_cond_broadcast(&p->freed);
  pthread_mutex_unlock(&p->mu);
  for (size_t i = 0; i < nth; i++)
    pthread_join(th[i], NULL);
  for (; p->nready > 0; p->nready--, p->head = (p->head + 1) % p->window)
    scan_free(&p->ready[p->head].s);
  pthread_cond_destroy(&p->done);
  pthread_cond_destroy(&p->freed);
  pthread_mutex_destroy(&p->mu);
  free(p->order);
}

/* A pool scanning paths with rules, its threads started; NULL when
 * scanning them one by one is as good (or a thread cannot start). */
static pool *pool_start(YR_RULES *rules, const osq_pathlist *paths,
                        pthread_t *th, size_t *nth) {
  *nth = 0;
  size_t want = scan_threads(paths->n);
  pool *p = want ? calloc(1, sizeof *p) : NULL;
  size_t *order = p ? largest_first(paths) : NULL;
  if (order == NULL) {
    free(p);
    return NULL;
  }
  p->order = order;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->freed, NULL);
  pthread_cond_init(&p->done, NULL);
  p->rules = rules;
  p->paths = paths;
  p->window = want * SCAN_AHEAD;
  atomic_init(&p->stop, false);
  while (*nth < want && pthread_create(&th[*nth], NULL, scan_worker, p) == 0)
    (*nth)++;
  if (*nth == 0) {
    pool_end(p, th, 0);
    free(p);
    return NULL;
  }
  return p;
}

/* Scan every path with rules (in parallel when it pays) and emit the
 * rows. */
static int scan_paths(osq_rows *out, YR_RULES *rules, sig_kind kind,
                      const char *source, const osq_pathlist *paths) {
  pthread_t th[SCAN_THREADS_MAX];
  size_t nth;
  pool *p = pool_start(rules, paths, th, &nth);
  int rc = OSQ_OK;
  for (size_t i = 0; i < paths->n && rc == OSQ_OK; i++) {
    if (p == NULL) {
      rc = scan_target(out, rules, kind, source, paths->items[i], 0);
      continue;
    }
    result got;
    if (!take(p, &got))
      break; /* cancelled: the rows are not wanted */
    if (got.row)
      rc = emit_row(out, kind, source, paths->items[got.path], 0, &got.s);
    scan_free(&got.s);
  }
  if (p) {
    pool_end(p, th, nth);
    free(p);
  }
  return rc;
}

/* ---- generate ---------------------------------------------------------- */

static bool eq_value(const osq_constraint *c) {
  return c->op == OSQ_OP_EQ && c->len > 0 && strlen(c->expr) == c->len;
}

typedef struct targets {
  osq_pathlist paths; /* yara_file */
  int64_t *pids;      /* yara_process */
  size_t npids;
} targets;

static int scan_all(const osq_context *ctx, osq_rows *out, const targets *t,
                    const char *table) {
  int rc = OSQ_OK;
  bool any_source = false;
  for (int k = 0; k < 3 && rc == OSQ_OK; k++) {
    size_t col = source_col[k];
    size_t n = osq_context_nconstraints(ctx, col);
    for (size_t i = 0; i < n && rc == OSQ_OK; i++) {
      const osq_constraint *c = osq_context_constraint(ctx, col, i);
      if (!eq_value(c))
        continue;
      any_source = true;
      if (k == SIG_RULE && c->len > SIGRULE_MAX) {
        osq_rows_error(out, "%s: sigrule longer than %d bytes", table,
                       SIGRULE_MAX);
        return OSQ_ERROR;
      }
      char err[256] = "";
      bool owned;
      YR_RULES *rules = rules_for((sig_kind)k, c->expr, &owned, err);
      if (rules == NULL) {
        OSQ_WARN("%s: YARA rules from %s: %s", table,
                 k == SIG_GROUP ? "sig_group" : k == SIG_FILE ? "sigfile"
                                                              : "sigrule",
                 err);
        continue;
      }
      rc = scan_paths(out, rules, (sig_kind)k, c->expr, &t->paths);
      for (size_t j = 0; j < t->npids && rc == OSQ_OK; j++)
        rc = scan_target(out, rules, (sig_kind)k, c->expr, NULL, t->pids[j]);
      if (owned)
        lz_yr_rules_destroy(rules);
    }
  }
  if (!any_source)
    OSQ_WARN("%s: the query must give sig_group, sigfile or sigrule", table);
  return rc;
}

/* Under yara_mu: libyara loaded and initialised, or false with err. */
static bool engine_ready(char *err, size_t errlen) {
  if (!osq_lazylib_load(&libyara)) {
    snprintf(err, errlen, "%s", osq_lazylib_error(&libyara));
    return false;
  }
  if (!yr_ready) {
    if (lz_yr_initialize() != ERROR_SUCCESS) {
      snprintf(err, errlen, "cannot initialise libyara");
      return false;
    }
    bus_install(); /* before any scan: scans run under yara_mu too */
    yr_ready = true;
  }
  return true;
}

static int prepare(const osq_context *ctx, osq_rows *out, const char *table) {
  for (size_t i = 0; i < osq_context_nconstraints(ctx, C_SIGURL); i++)
    if (osq_context_constraint(ctx, C_SIGURL, i)->op == OSQ_OP_EQ) {
      osq_rows_error(out,
                     "%s: sigurl is not supported: osq does not fetch YARA "
                     "rules over the network; use sigfile or sig_group",
                     table);
      return OSQ_ERROR;
    }
  char err[256];
  if (!engine_ready(err, sizeof err)) {
    osq_rows_error(out, "%s: %s", table, err);
    return OSQ_ERROR;
  }
  return OSQ_OK;
}

static int gen_file(const osq_context *ctx, osq_rows *out, void *ud) {
  (void)ud;
  targets t = {0};
  if (osq_glob_collect(ctx, C_TARGET, OSQ_GLOB_FILES, &t.paths) != 0) {
    osq_pathlist_free(&t.paths);
    osq_rows_error(out, "yara: out of memory");
    return OSQ_ERROR;
  }
  pthread_mutex_lock(&yara_mu);
  int rc = prepare(ctx, out, "yara");
  if (rc == OSQ_OK)
    rc = scan_all(ctx, out, &t, "yara");
  pthread_mutex_unlock(&yara_mu);
  osq_pathlist_free(&t.paths);
  return rc;
}

static int gen_process(const osq_context *ctx, osq_rows *out, void *ud) {
  (void)ud;
  targets t = {0};
  t.pids = osq_tbl_eq_pids(ctx, C_TARGET, &t.npids);
  pthread_mutex_lock(&yara_mu);
  int rc = prepare(ctx, out, "yara_process");
  if (rc == OSQ_OK)
    rc = scan_all(ctx, out, &t, "yara_process");
  pthread_mutex_unlock(&yara_mu);
  free(t.pids);
  return rc;
}

static const char *const yara_aliases[] = {"yara", NULL};

const osq_table_plugin osq_table_yara_file = {
    .name = "yara_file",
    .columns = file_columns,
    .ncolumns = OSQ_NCOLS(file_columns),
    .aliases = yara_aliases,
    .generate = gen_file,
};

const osq_table_plugin osq_table_yara_process = {
    .name = "yara_process",
    .columns = process_columns,
    .ncolumns = OSQ_NCOLS(process_columns),
    .generate = gen_process,
};

/* ---- for yara_events (src/events/yara_events.c) ------------------------ */

static char *cell_take(cellbuf *b) {
  char *p = b->p ? b->p : strdup("");
  b->p = NULL;
  return p;
}

/* The file's bytes, read now (at most limit): a changed file is scanned
 * as one consistent copy, and a file truncated while it is scanned cannot
 * fault a mapping (libyara maps files it scans by descriptor). */
static unsigned char *read_all(int fd, uint64_t limit, size_t *len) {
  struct stat st;
  if (fstat(fd, &st) != 0 || (uint64_t)st.st_size > limit)
    return NULL;
  size_t cap = (size_t)st.st_size + 1, n = 0;
  unsigned char *buf = malloc(cap);
  while (buf) {
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0) {
      if (r == 0)
        break;
      free(buf);
      return NULL;
    }
    n += (size_t)r;
    if (n == cap) { /* grew while read */
      if (cap > limit) {
        free(buf);
        return NULL;
      }
      unsigned char *b = realloc(buf, cap * 2);
      if (b == NULL)
        free(buf);
      buf = b;
      cap *= 2;
    }
  }
  *len = n;
  return buf;
}

int osq_yara_scan_groups(const char *path, const json_t *groups,
                         osq_yara_hits *hits, char *err, size_t errlen) {
  memset(hits, 0, sizeof *hits);
  err[0] = '\0';
  struct stat st;
  int fd = open_regular(path, &st);
  if (fd < 0) {
    snprintf(err, errlen, "not a regular file that can be opened");
    return -1;
  }
  size_t len = 0;
  unsigned char *data = read_all(fd, OSQ_FLAG_UINT(read_max), &len);
  close(fd);
  if (data == NULL) {
    snprintf(err, errlen, "unreadable or larger than --read_max");
    return -1;
  }
  scan s = {0};
  int rc = 0;
  pthread_mutex_lock(&yara_mu);
  if (!engine_ready(err, errlen))
    rc = -1;
  size_t i;
  const json_t *g;
  json_array_foreach(groups, i, g) {
    if (rc != 0)
      break;
    if (!json_is_string(g))
      continue;
    char why[256] = "";
    bool owned;
    YR_RULES *rules = rules_for(SIG_GROUP, json_string_value(g), &owned, why);
    if (rules == NULL) { /* as osquery: a group that fails is skipped */
      OSQ_VLOG("yara_events: signature group %s: %s", json_string_value(g),
               why);
      continue;
    }
    /* a private copy cannot fault: libyara need not juggle handlers */
    int r = lz_yr_rules_scan_mem(rules, data, len, SCAN_FLAGS, on_scan, &s,
                                 SCAN_TIMEOUT_S);
    if (owned)
      lz_yr_rules_destroy(rules);
    if (r != ERROR_SUCCESS) {
      snprintf(err, errlen, "libyara error %d", r);
      rc = -1;
    }
  }
  pthread_mutex_unlock(&yara_mu);
  free(data);
  if (rc == 0) {
    hits->matches = cell_take(&s.matches);
    hits->strings = cell_take(&s.strings);
    hits->tags = cell_take(&s.tags);
    hits->count = (long long)s.count;
  }
  scan_free(&s);
  return rc;
}

void osq_yara_hits_free(osq_yara_hits *h) {
  free(h->matches);
  free(h->strings);
  free(h->tags);
  memset(h, 0, sizeof *h);
}
