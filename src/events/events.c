/* The event framework: publishers' lifecycle, the event tables' generate
 * with time/eid pushdown and --events_optimize, osquery_events and
 * osq_events_loss. */
#include "events/events_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "core/flags.h"
#include "core/log.h"
#include "core/utf8.h"
#include "events/evstore.h"
#include "registry/registry.h"

/* Losses are logged at most once per this many seconds per source. */
#define LOSS_LOG_INTERVAL_S 60

static const osq_ev_publisher *const publishers[] = {
    &osq_ev_proc_connector,
    &osq_ev_inotify,
    &osq_ev_audit,
    &osq_ev_syslog,
    &osq_ev_udev,
};
enum { NPUB = sizeof publishers / sizeof *publishers };

static const osq_table_plugin *const event_tables[] = {
    &osq_table_process_events,
    &osq_table_file_events,
    &osq_table_socket_events,
    &osq_table_syslog_events,
    &osq_table_hardware_events,
    &osq_table_user_events,
    &osq_table_seccomp_events,
    &osq_table_yara_events,
    &osq_table_process_file_events,
    &osq_table_selinux_events,
    &osq_table_apparmor_events,
};
enum { NTAB = sizeof event_tables / sizeof *event_tables };

static pthread_mutex_t cfg_lock = PTHREAD_MUTEX_INITIALIZER;
static bool running[NPUB];
static json_t *current_cfg;
static pid_t owner; /* the process whose threads run the publishers */
/* per event table: store drops already logged */
static uint64_t drops_logged[NTAB];
static int64_t drops_logged_at[NTAB];

static _Thread_local const char *current_query;

int64_t osq_ev_now(void) { return (int64_t)time(NULL); }

static _Thread_local bool used_events;

void osq_events_set_query(const char *name) {
  current_query = name;
  if (name)
    used_events = false;
}

bool osq_events_query_used(void) { return used_events; }

static bool ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_';
}

bool osq_events_sql_is_evented(const char *sql) {
  for (size_t i = 0; sql && i < NTAB; i++) {
    const char *name = event_tables[i]->name;
    size_t n = strlen(name);
    for (const char *p = sql; (p = strcasestr(p, name)) != NULL; p += n)
      if ((p == sql || !ident_char(p[-1])) && !ident_char(p[n]))
        return true;
  }
  return false;
}

/* ---- rows --------------------------------------------------------------- */

/* A row is built as the JSON text the store keeps (an array, one value per
 * column): each set cell's encoding goes into one buffer and the array is
 * written out once, in osq_ev_add. No JSON object per value: a process
 * event sets some 25 columns, and building them as jansson values cost
 * more than parsing the audit records. */
typedef struct cell {
  uint32_t off, len; /* the value's JSON text in row->text; len 0: null */
} cell;

struct osq_ev_row {
  const osq_table_plugin *t;
  char *text;
  size_t used, cap;
  cell cells[];
};

/* Column lookups by name: a per-thread cache keyed by the name's address
 * (callers pass literals), checked by comparing the name once. */
#define COL_CACHE 128
typedef struct col_hit {
  const osq_table_plugin *t;
  const char *col;
  int index;
} col_hit;
static _Thread_local col_hit col_cache[COL_CACHE];

static int column_of(const osq_table_plugin *t, const char *col) {
  uintptr_t h = ((uintptr_t)col >> 3) ^ ((uintptr_t)t >> 4);
  col_hit *c = &col_cache[h % COL_CACHE];
  if (c->t == t && c->col == col &&
      strcmp(t->columns[c->index].name, col) == 0)
    return c->index;
  for (size_t i = 0; i < t->ncolumns; i++)
    if (strcmp(t->columns[i].name, col) == 0) {
      *c = (col_hit){.t = t, .col = col, .index = (int)i};
      return (int)i;
    }
  return -1;
}

osq_ev_row *osq_ev_row_new(const osq_table_plugin *t) {
  osq_ev_row *row = calloc(1, sizeof *row + t->ncolumns * sizeof(cell));
  if (row == NULL)
    return NULL;
  row->t = t;
  row->cap = 1024;
  row->text = malloc(row->cap);
  if (row->text == NULL) {
    free(row);
    return NULL;
  }
  return row;
}

void osq_ev_row_free(osq_ev_row *row) {
  if (row) {
    free(row->text);
    free(row);
  }
}

/* Room for need more bytes of text; false when out of memory or past
 * what a cell offset can address. */
static bool reserve(osq_ev_row *row, size_t need) {
  if (need > UINT32_MAX - row->used)
    return false;
  if (row->used + need <= row->cap)
    return true;
  size_t cap = row->cap;
  while (cap < row->used + need)
    cap *= 2;
  char *p = realloc(row->text, cap);
  if (p == NULL)
    return false;
  row->text = p;
  row->cap = cap;
  return true;
}

static void set_cell(osq_ev_row *row, int i, size_t start) {
  row->cells[i].off = (uint32_t)start;
  row->cells[i].len = (uint32_t)(row->used - start);
}

void osq_ev_row_int(osq_ev_row *row, const osq_table_plugin *t,
                    const char *col, int64_t v) {
  int i = column_of(t, col);
  if (i < 0 || row == NULL || !reserve(row, 24))
    return;
  char digits[24];
  size_t n = 0;
  uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
  do
    digits[n++] = (char)('0' + u % 10);
  while ((u /= 10) != 0);
  size_t start = row->used;
  if (v < 0)
    row->text[row->used++] = '-';
  while (n > 0)
    row->text[row->used++] = digits[--n];
  set_cell(row, i, start);
}

/* s as a JSON string. Kernel-supplied text may be any bytes: text that is
 * not valid UTF-8 keeps its ASCII and has every other byte (and NUL) as
 * '?'. */
void osq_ev_row_strn(osq_ev_row *row, const osq_table_plugin *t,
                     const char *col, const char *s, size_t len) {
  int i = column_of(t, col);
  /* worst case \u00XX per byte, and the quotes */
  if (i < 0 || s == NULL || row == NULL || len > (UINT32_MAX - 2) / 6 ||
      !reserve(row, 6 * len + 2))
    return;
  bool clean = osq_utf8_valid(s, len);
  static const char hex[] = "0123456789abcdef";
  size_t start = row->used;
  char *o = row->text + row->used;
  *o++ = '"';
  for (size_t k = 0; k < len; k++) {
    unsigned char c = (unsigned char)s[k];
    if (!clean && (c >= 0x80 || c == '\0'))
      c = '?';
    if (c == '"' || c == '\\') {
      *o++ = '\\';
      *o++ = (char)c;
    } else if (c < 0x20) {
      *o++ = '\\';
      switch (c) {
      case '\n': *o++ = 'n'; break;
      case '\t': *o++ = 't'; break;
      case '\r': *o++ = 'r'; break;
      case '\b': *o++ = 'b'; break;
      case '\f': *o++ = 'f'; break;
      default:
        memcpy(o, "u00", 3);
        o += 3;
        *o++ = hex[c >> 4];
        *o++ = hex[c & 15];
      }
    } else {
      *o++ = (char)c;
    }
  }
  *o++ = '"';
  row->used = (size_t)(o - row->text);
  set_cell(row, i, start);
}

void osq_ev_row_str(osq_ev_row *row, const osq_table_plugin *t,
                    const char *col, const char *s) {
  if (s)
    osq_ev_row_strn(row, t, col, s, strlen(s));
}

/* The row as one JSON array, written after the cells' text; its start, or
 * NULL when out of memory. */
static const char *row_json(osq_ev_row *row, size_t *len) {
  size_t need = 2;
  for (size_t i = 0; i < row->t->ncolumns; i++)
    need += (row->cells[i].len ? row->cells[i].len : 4) + 1;
  if (!reserve(row, need + 1))
    return NULL;
  char *start = row->text + row->used, *o = start;
  *o++ = '[';
  for (size_t i = 0; i < row->t->ncolumns; i++) {
    if (i)
      *o++ = ',';
    const cell *c = &row->cells[i];
    if (c->len) {
      memcpy(o, row->text + c->off, c->len);
      o += c->len;
    } else {
      memcpy(o, "null", 4);
      o += 4;
    }
  }
  *o++ = ']';
  *o = '\0';
  *len = (size_t)(o - start);
  return start;
}

/* ---- adding and committing --------------------------------------------- */

static int table_index(const char *type) {
  for (size_t i = 0; i < NTAB; i++)
    if (strcmp(event_tables[i]->name, type) == 0)
      return (int)i;
  return -1;
}

int osq_ev_add(const char *type, int64_t t, osq_ev_row *row) {
  size_t len = 0;
  const char *text = row ? row_json(row, &len) : NULL;
  int rc = text ? osq_evstore_add(type, t, text, len) : -1;
  osq_ev_row_free(row);
  return rc;
}

static void log_store_drops(void) {
  int64_t now = osq_ev_now();
  for (size_t i = 0; i < NTAB; i++) {
    uint64_t d = osq_evstore_dropped(event_tables[i]->name);
    if (d > drops_logged[i] && now - drops_logged_at[i] >= LOSS_LOG_INTERVAL_S) {
      OSQ_WARN("Event table %s: %" PRIu64 " events dropped by the store "
               "(--events_max=%" PRIu64 " or a failed write); %" PRIu64
               " since start",
               event_tables[i]->name, d - drops_logged[i],
               OSQ_FLAG_UINT(events_max), d);
      drops_logged[i] = d;
      drops_logged_at[i] = now;
    }
  }
}

void osq_ev_commit(void) {
  osq_evstore_commit(OSQ_FLAG_UINT(events_max), OSQ_FLAG_UINT(events_expiry));
  log_store_drops();
}

#define COMMIT_EVERY_MS 20

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static _Atomic int64_t last_commit_ms;

int osq_ev_commit_due(void) {
  int64_t now = mono_ms();
  int64_t since = now - atomic_load(&last_commit_ms);
  if (since >= COMMIT_EVERY_MS) {
    osq_ev_commit();
    atomic_store(&last_commit_ms, now);
    return -1;
  }
  return osq_evstore_pending() ? (int)(COMMIT_EVERY_MS - since) : -1;
}

void osq_ev_note_loss(const char *publisher, osq_ev_stats *st, uint64_t n,
                      const char *what) {
  int64_t now = osq_ev_now();
  atomic_fetch_add(&st->overflows, n);
  atomic_store(&st->last_loss, now);
  uint64_t pending = atomic_fetch_add(&st->unlogged, n) + n;
  int64_t last = atomic_load(&st->last_logged);
  if (now - last >= LOSS_LOG_INTERVAL_S &&
      atomic_compare_exchange_strong(&st->last_logged, &last, now)) {
    atomic_fetch_sub(&st->unlogged, pending);
    OSQ_WARN("Event publisher %s lost events: %s (%" PRIu64
             " losses since the last warning, %" PRIu64 " since start)",
             publisher, what, pending, (uint64_t)atomic_load(&st->overflows));
  }
}

/* ---- the stop pipe ------------------------------------------------------ */

int osq_ev_waker_open(osq_ev_waker *w) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
    return -1;
  w->rd = fds[0];
  w->wr = fds[1];
  return 0;
}

void osq_ev_waker_wake(osq_ev_waker *w) {
  ssize_t n;
  do
    n = write(w->wr, "x", 1);
  while (n < 0 && errno == EINTR);
}

void osq_ev_waker_close(osq_ev_waker *w) {
  if (w->rd >= 0)
    close(w->rd);
  if (w->wr >= 0)
    close(w->wr);
  w->rd = w->wr = -1;
}

/* ---- configuration ------------------------------------------------------ */

/* Merge one source's file_paths-like object into dst: category -> array. */
static void merge_paths(json_t *dst, const json_t *src, const char *source,
                        const char *key) {
  if (src == NULL)
    return;
  if (!json_is_object(src)) {
    OSQ_WARN("Config source %s: %s must be an object of category -> list "
             "of paths; ignored",
             source, key);
    return;
  }
  const char *cat;
  json_t *v;
  json_object_foreach((json_t *)src, cat, v) {
    json_t *arr = json_object_get(dst, cat);
    if (arr == NULL) {
      arr = json_array();
      json_object_set_new(dst, cat, arr);
    }
    if (json_is_string(v)) {
      json_array_append(arr, v);
      continue;
    }
    size_t i;
    json_t *p;
    json_array_foreach(v, i, p) {
      if (json_is_string(p))
        json_array_append(arr, p);
      else
        OSQ_WARN("Config source %s: %s.%s[%zu] is not a string; ignored",
                 source, key, cat, i);
    }
  }
}

/* The events part of the config, merged across sources in name order. */
static json_t *merge_config(const json_t *sources) {
  json_t *cfg = json_pack("{s:o,s:o,s:o,s:o}", "file_paths", json_object(),
                          "exclude_paths", json_object(), "file_accesses",
                          json_array(), "yara_file_paths", json_object());
  if (cfg == NULL || sources == NULL)
    return cfg;
  const char *name;
  json_t *text;
  json_object_foreach((json_t *)sources, name, text) {
    if (!json_is_string(text))
      continue;
    char err[256];
    json_t *root = osq_config_parse_text(name, json_string_value(text),
                                         json_string_length(text), err,
                                         sizeof err);
    if (root == NULL)
      continue; /* the config itself reports it */
    merge_paths(json_object_get(cfg, "file_paths"),
                json_object_get(root, "file_paths"), name, "file_paths");
    merge_paths(json_object_get(cfg, "exclude_paths"),
                json_object_get(root, "exclude_paths"), name, "exclude_paths");
    const json_t *yara = json_object_get(root, "yara");
    if (json_is_object(yara))
      merge_paths(json_object_get(cfg, "yara_file_paths"),
                  json_object_get(yara, "file_paths"), name,
                  "yara.file_paths");
    const json_t *acc = json_object_get(root, "file_accesses");
    size_t i;
    json_t *c;
    json_array_foreach(acc, i, c) {
      if (json_is_string(c))
        json_array_append(json_object_get(cfg, "file_accesses"), c);
    }
    json_decref(root);
  }
  return cfg;
}

static char *store_path(void) {
  if (osq_flags_personality() != OSQ_PERSONALITY_DAEMON ||
      OSQ_FLAG_BOOL(ephemeral) || OSQ_FLAG_BOOL(disable_database))
    return NULL;
  const char *db = OSQ_FLAG_STR(database_path);
  size_t n = strlen(db) + sizeof ".events";
  char *p = malloc(n);
  if (p)
    snprintf(p, n, "%s.events", db);
  return p;
}

void osq_events_configure(const json_t *sources) {
  pthread_mutex_lock(&cfg_lock);
  json_t *cfg = merge_config(sources);
  bool enabled = !OSQ_FLAG_BOOL(disable_events) && cfg != NULL;
  if (enabled && !osq_evstore_is_open()) {
    char err[512];
    char *path = store_path();
    if (osq_evstore_open(path, err, sizeof err) != 0) {
      OSQ_ERR("Events are off: %s", err);
      enabled = false;
    }
    free(path);
  }
  /* before the publishers: what they read from now on is scanned as the
   * new config says */
  osq_ev_yara_configure(enabled ? cfg : NULL);
  for (size_t i = 0; i < NPUB; i++) {
    const osq_ev_publisher *p = publishers[i];
    bool want = enabled && p->wanted(cfg);
    char err[512] = "";
    if (want && !running[i]) {
      if (p->start(cfg, err, sizeof err) == 0) {
        /* a program that exits without osq_events_shutdown still removes
         * the audit rules it installed */
        owner = getpid();
        static bool at_exit;
        if (!at_exit && atexit(osq_events_shutdown) == 0)
          at_exit = true;
        running[i] = true;
        atomic_store(&p->stats->active, true);
        atomic_fetch_add(&p->stats->refreshes, 1);
        OSQ_VLOG("Event publisher %s started", p->name);
      } else {
        OSQ_WARN("Event publisher %s cannot start: %s", p->name, err);
      }
    } else if (want && running[i]) {
      if (p->reconfigure)
        p->reconfigure(cfg);
    } else if (!want && running[i]) {
      p->stop();
      running[i] = false;
      atomic_store(&p->stats->active, false);
      OSQ_VLOG("Event publisher %s stopped", p->name);
    }
  }
  json_decref(current_cfg);
  current_cfg = cfg;
  pthread_mutex_unlock(&cfg_lock);
}

void osq_events_shutdown(void) {
  if (owner != 0 && owner != getpid())
    return; /* a forked child has no publisher threads to stop */
  pthread_mutex_lock(&cfg_lock);
  for (size_t i = 0; i < NPUB; i++)
    if (running[i]) {
      publishers[i]->stop();
      running[i] = false;
      atomic_store(&publishers[i]->stats->active, false);
    }
  json_decref(current_cfg);
  current_cfg = NULL;
  osq_ev_yara_shutdown();
  pthread_mutex_unlock(&cfg_lock);
  osq_evstore_close();
}

/* ---- generate ----------------------------------------------------------- */

/* A constraint value as a plain decimal integer, or false. */
static bool plain_int(const osq_constraint *c, int64_t *out) {
  if (c->len == 0 || c->len > 19)
    return false;
  size_t i = c->expr[0] == '-' ? 1 : 0;
  if (i == c->len)
    return false;
  for (size_t k = i; k < c->len; k++)
    if (c->expr[k] < '0' || c->expr[k] > '9')
      return false;
  *out = strtoll(c->expr, NULL, 10);
  return true;
}

/* Narrow [lo, hi] by the constraints on col. eid is TEXT zero-padded to 10
 * digits: only 10-digit values compare the same as text and as numbers. */
static void narrow(const osq_context *ctx, int col, bool is_eid, int64_t *lo,
                   int64_t *hi) {
  if (col < 0)
    return;
  for (size_t i = 0; i < osq_context_nconstraints(ctx, (size_t)col); i++) {
    const osq_constraint *c = osq_context_constraint(ctx, (size_t)col, i);
    int64_t v;
    if (is_eid && c->len != 10)
      continue;
    if (!plain_int(c, &v))
      continue;
    switch (c->op) {
    case OSQ_OP_EQ:
      if (v > *lo)
        *lo = v;
      if (v < *hi)
        *hi = v;
      break;
    case OSQ_OP_GT:
      if (v < INT64_MAX && v + 1 > *lo)
        *lo = v + 1;
      break;
    case OSQ_OP_GE:
      if (v > *lo)
        *lo = v;
      break;
    case OSQ_OP_LT:
      if (v > INT64_MIN && v - 1 < *hi)
        *hi = v - 1;
      break;
    case OSQ_OP_LE:
      if (v < *hi)
        *hi = v;
      break;
    default:
      break;
    }
  }
}

/* The stored rows are JSON arrays of null, integers and strings (what
 * osq_ev_row writes). They are read here without building JSON values:
 * strings without escapes are passed straight from the store's text, the
 * others decoded into scratch (never longer than the text). Anything else
 * (a real, true/false, a damaged row) returns false and the row takes the
 * jansson path. */
typedef struct cursor {
  const char *s;
  size_t len, i;
  char *scratch;
  size_t used;
} cursor;

static int hexdig(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

static bool hex4(cursor *c, uint32_t *v) {
  if (c->len - c->i < 4)
    return false;
  *v = 0;
  for (int k = 0; k < 4; k++) {
    int d = hexdig(c->s[c->i++]);
    if (d < 0)
      return false;
    *v = *v << 4 | (uint32_t)d;
  }
  return true;
}

static size_t put_utf8(char *o, uint32_t cp) {
  if (cp < 0x80) {
    o[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (char)(0xc0 | cp >> 6);
    o[1] = (char)(0x80 | (cp & 0x3f));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (char)(0xe0 | cp >> 12);
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
  }
  o[0] = (char)(0xf0 | cp >> 18);
  o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
  o[3] = (char)(0x80 | (cp & 0x3f));
  return 4;
}

/* One \-escape at c->i (past the backslash) into o; its length or 0. */
static size_t unescape(cursor *c, char *o) {
  if (c->i >= c->len)
    return 0;
  char e = c->s[c->i++];
  static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
  const char *p = e ? strchr(from, e) : NULL;
  if (p) {
    *o = to[p - from];
    return 1;
  }
  uint32_t cp, lo;
  if (e != 'u' || !hex4(c, &cp))
    return 0;
  if (cp >= 0xd800 && cp <= 0xdbff) {
    if (c->len - c->i < 2 || c->s[c->i] != '\\' || c->s[c->i + 1] != 'u')
      return 0;
    c->i += 2;
    if (!hex4(c, &lo) || lo < 0xdc00 || lo > 0xdfff)
      return 0;
    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
  } else if (cp >= 0xdc00 && cp <= 0xdfff) {
    return 0;
  }
  return put_utf8(o, cp);
}

/* A string at c->i (past the opening quote) as *p, *n. */
static bool read_string(cursor *c, const char **p, size_t *n) {
  size_t start = c->i;
  /* most strings have no escape: two memchr, not a loop per byte */
  const char *q = memchr(c->s + start, '"', c->len - start);
  if (q == NULL)
    return false;
  size_t end = (size_t)(q - c->s);
  const char *bs = memchr(c->s + start, '\\', end - start);
  if (bs == NULL) {
    *p = c->s + start;
    *n = end - start;
    c->i = end + 1;
    return true;
  }
  c->i = (size_t)(bs - c->s);
  char *o = c->scratch + c->used;
  size_t k = c->i - start;
  memcpy(o, c->s + start, k);
  while (c->i < c->len && c->s[c->i] != '"') {
    if (c->s[c->i] == '\\') {
      c->i++;
      size_t w = unescape(c, o + k);
      if (w == 0)
        return false;
      k += w;
    } else {
      o[k++] = c->s[c->i++];
    }
  }
  if (c->i >= c->len)
    return false;
  c->i++;
  *p = o;
  *n = k;
  c->used += k;
  return true;
}

static bool read_int(cursor *c, int64_t *v) {
  bool neg = c->i < c->len && c->s[c->i] == '-';
  if (neg)
    c->i++;
  size_t start = c->i;
  uint64_t u = 0;
  while (c->i < c->len && c->s[c->i] >= '0' && c->s[c->i] <= '9') {
    if (u > (UINT64_MAX - 9) / 10)
      return false;
    u = u * 10 + (uint64_t)(c->s[c->i++] - '0');
  }
  if (c->i == start || (neg ? u > (uint64_t)INT64_MAX + 1 : u > INT64_MAX))
    return false;
  *v = neg ? (int64_t)(0 - u) : (int64_t)u;
  return true;
}

typedef struct emit_state {
  const osq_context *ctx;
  const osq_table_plugin *table;
  osq_rows *out;
  int time_col, eid_col;
  int rc;
  char *scratch;
  size_t scratch_cap;
} emit_state;

static void emit_fixed(emit_state *e, size_t i, uint64_t eid, int64_t t) {
  if ((int)i == e->time_col) {
    osq_rows_int(e->out, i, t);
  } else {
    char b[24];
    snprintf(b, sizeof b, "%010" PRIu64, eid);
    osq_rows_cstr(e->out, i, b);
  }
}

/* The fast path: false (nothing emitted) when the text is not one. */
static bool emit_plain(emit_state *e, uint64_t eid, int64_t t,
                       const char *text, size_t len) {
  if (len > e->scratch_cap) {
    char *s = realloc(e->scratch, len);
    if (s == NULL)
      return false;
    e->scratch = s;
    e->scratch_cap = len;
  }
  cursor c = {.s = text, .len = len, .scratch = e->scratch};
  typedef struct val {
    char kind; /* n(ull) i(nt) s(tring) */
    int64_t v;
    const char *p;
    size_t n;
  } val;
  enum { MAXCOL = 128 };
  val vals[MAXCOL];
  size_t nc = e->table->ncolumns, got = 0;
  if (nc > MAXCOL || len < 2 || text[0] != '[')
    return false;
  c.i = 1;
  bool more = text[1] != ']';
  c.i += more ? 0 : 1;
  while (more) {
    val v = {.kind = 'n'};
    if (c.i < c.len && c.s[c.i] == '"') {
      c.i++;
      v.kind = 's';
      if (!read_string(&c, &v.p, &v.n))
        return false;
    } else if (c.len - c.i >= 4 && memcmp(c.s + c.i, "null", 4) == 0) {
      c.i += 4;
    } else {
      v.kind = 'i';
      if (!read_int(&c, &v.v))
        return false;
    }
    if (got < nc)
      vals[got] = v;
    got++;
    if (c.i >= c.len)
      return false;
    char sep = c.s[c.i++];
    if (sep == ']')
      more = false;
    else if (sep != ',')
      return false;
  }
  if (c.i != c.len)
    return false;
  for (size_t i = 0; i < nc; i++) {
    if (!osq_context_column_used(e->ctx, i))
      continue;
    if ((int)i == e->time_col || (int)i == e->eid_col) {
      emit_fixed(e, i, eid, t);
      continue;
    }
    if (i >= got)
      continue;
    if (vals[i].kind == 'i')
      osq_rows_int(e->out, i, vals[i].v);
    else if (vals[i].kind == 's')
      osq_rows_text(e->out, i, vals[i].p, vals[i].n);
  }
  return true;
}

static int emit(void *u, uint64_t eid, int64_t t, const char *text,
                size_t len) {
  emit_state *e = u;
  if (!emit_plain(e, eid, t, text, len)) {
    json_error_t jerr;
    json_t *row = json_loadb(text, len, 0, &jerr);
    if (!json_is_array(row)) {
      json_decref(row);
      return 0; /* a damaged stored row is skipped, not fatal */
    }
    for (size_t i = 0; i < e->table->ncolumns; i++) {
      if (!osq_context_column_used(e->ctx, i))
        continue;
      if ((int)i == e->time_col || (int)i == e->eid_col) {
        emit_fixed(e, i, eid, t);
        continue;
      }
      json_t *v = json_array_get(row, i);
      if (json_is_integer(v))
        osq_rows_int(e->out, i, (int64_t)json_integer_value(v));
      else if (json_is_string(v))
        osq_rows_text(e->out, i, json_string_value(v), json_string_length(v));
      else if (json_is_real(v))
        osq_rows_double(e->out, i, json_real_value(v));
    }
    json_decref(row);
  }
  if (osq_rows_end(e->out) != OSQ_OK) {
    e->rc = OSQ_ERROR;
    return 1;
  }
  return 0;
}

int osq_ev_generate(const osq_context *ctx, osq_rows *out, void *udata) {
  const char *type = udata;
  int ti = table_index(type);
  if (ti < 0 || !osq_evstore_is_open())
    return OSQ_OK; /* events are off: the SQL layer has warned */
  const osq_table_plugin *table = event_tables[ti];
  used_events = true;
  emit_state e = {.ctx = ctx,
                  .table = table,
                  .out = out,
                  .time_col = osq_context_column_index(ctx, "time"),
                  .eid_col = osq_context_column_index(ctx, "eid"),
                  .rc = OSQ_OK};
  int64_t tlo = INT64_MIN, thi = INT64_MAX, elo = 0, ehi = INT64_MAX;
  narrow(ctx, e.time_col, false, &tlo, &thi);
  /* expired events are gone for readers at once, whenever the store
   * deletes them */
  uint64_t expiry = strcmp(type, "syslog_events") == 0
                        ? OSQ_FLAG_UINT(syslog_events_expiry)
                        : OSQ_FLAG_UINT(events_expiry);
  if (expiry > 0 && expiry < (uint64_t)INT64_MAX &&
      osq_ev_now() - (int64_t)expiry > tlo)
    tlo = osq_ev_now() - (int64_t)expiry;
  narrow(ctx, e.eid_col, true, &elo, &ehi);
  const char *q = current_query;
  bool optimize = q && OSQ_FLAG_BOOL(events_optimize);
  if (optimize) {
    uint64_t seen = osq_evstore_seen(q, type);
    if ((int64_t)seen >= elo)
      elo = (int64_t)seen + 1;
  }
  osq_ev_range r = {.eid_lo = (uint64_t)(elo < 0 ? 0 : elo),
                    .eid_hi = (uint64_t)(ehi < 0 ? 0 : ehi),
                    .time_lo = tlo,
                    .time_hi = thi};
  uint64_t last = 0;
  if (elo <= ehi && tlo <= thi &&
      osq_evstore_scan(type, &r, emit, &e, &last) != 0) {
    free(e.scratch);
    osq_rows_error(out, "cannot read the event store for %s", type);
    return OSQ_ERROR;
  }
  free(e.scratch);
  if (optimize && last > 0 && e.rc == OSQ_OK)
    osq_evstore_set_seen(q, type, last);
  return e.rc;
}

/* ---- osquery_events ----------------------------------------------------- */

static const osq_column osquery_events_columns[] = {
    {"name", OSQ_TYPE_TEXT, 0},          {"publisher", OSQ_TYPE_TEXT, 0},
    {"type", OSQ_TYPE_TEXT, 0},          {"subscriptions", OSQ_TYPE_INTEGER, 0},
    {"events", OSQ_TYPE_INTEGER, 0},     {"refreshes", OSQ_TYPE_INTEGER, 0},
    {"active", OSQ_TYPE_INTEGER, 0},
};

static const osq_ev_publisher *publisher_of(const char *table) {
  if (strcmp(table, "process_events") == 0)
    return strcmp(OSQ_FLAG_STR(process_events_source), "connector") == 0
               ? &osq_ev_proc_connector
               : &osq_ev_audit;
  for (size_t i = 0; i < NPUB; i++)
    for (const char *const *t = publishers[i]->tables; *t; t++)
      if (strcmp(*t, table) == 0)
        return publishers[i];
  return NULL;
}

static int gen_osquery_events(const osq_context *ctx, osq_rows *out,
                              void *udata) {
  (void)ctx;
  (void)udata;
  bool open = osq_evstore_is_open();
  for (size_t i = 0; i < NPUB; i++) {
    const osq_ev_publisher *p = publishers[i];
    osq_rows_cstr(out, 0, p->name);
    osq_rows_cstr(out, 1, p->name);
    osq_rows_cstr(out, 2, "publisher");
    osq_rows_int(out, 3, atomic_load(&p->stats->subscriptions));
    osq_rows_int(out, 4, (int64_t)atomic_load(&p->stats->events));
    osq_rows_int(out, 5, (int64_t)atomic_load(&p->stats->refreshes));
    osq_rows_int(out, 6, atomic_load(&p->stats->active) ? 1 : 0);
    if (osq_rows_end(out) != OSQ_OK)
      return OSQ_ERROR;
  }
  for (size_t i = 0; i < NTAB; i++) {
    const osq_ev_publisher *p = publisher_of(event_tables[i]->name);
    bool active = p && atomic_load(&p->stats->active);
    osq_rows_cstr(out, 0, event_tables[i]->name);
    osq_rows_cstr(out, 1, p ? p->name : "");
    osq_rows_cstr(out, 2, "subscriber");
    osq_rows_int(out, 3, active ? 1 : 0);
    osq_rows_int(out, 4,
                 open ? (int64_t)osq_evstore_count(event_tables[i]->name) : 0);
    osq_rows_int(out, 5, 0);
    osq_rows_int(out, 6, active ? 1 : 0);
    if (osq_rows_end(out) != OSQ_OK)
      return OSQ_ERROR;
  }
  return OSQ_OK;
}

static const osq_table_plugin osquery_events_table = {
    .name = "osquery_events",
    .columns = osquery_events_columns,
    .ncolumns = sizeof osquery_events_columns / sizeof *osquery_events_columns,
    .attributes = OSQ_TABLE_UTILITY,
    .generate = gen_osquery_events,
};

/* ---- osq_events_loss: what osquery_events cannot show ------------------ */

static const osq_column loss_columns[] = {
    {"name", OSQ_TYPE_TEXT, 0},          {"type", OSQ_TYPE_TEXT, 0},
    {"overflows", OSQ_TYPE_BIGINT, 0},   {"dropped", OSQ_TYPE_BIGINT, 0},
    {"malformed", OSQ_TYPE_BIGINT, 0},   {"last_loss", OSQ_TYPE_BIGINT, 0},
};

static int gen_loss(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)ctx;
  (void)udata;
  for (size_t i = 0; i < NPUB; i++) {
    const osq_ev_publisher *p = publishers[i];
    osq_rows_cstr(out, 0, p->name);
    osq_rows_cstr(out, 1, "publisher");
    osq_rows_int(out, 2, (int64_t)atomic_load(&p->stats->overflows));
    osq_rows_int(out, 3, 0);
    osq_rows_int(out, 4, (int64_t)atomic_load(&p->stats->errors));
    osq_rows_int(out, 5, atomic_load(&p->stats->last_loss));
    if (osq_rows_end(out) != OSQ_OK)
      return OSQ_ERROR;
  }
  for (size_t i = 0; i < NTAB; i++) {
    osq_rows_cstr(out, 0, event_tables[i]->name);
    osq_rows_cstr(out, 1, "subscriber");
    osq_rows_int(out, 2, 0);
    osq_rows_int(out, 3, (int64_t)osq_evstore_dropped(event_tables[i]->name));
    osq_rows_int(out, 4, 0);
    osq_rows_int(out, 5, 0);
    if (osq_rows_end(out) != OSQ_OK)
      return OSQ_ERROR;
  }
  return OSQ_OK;
}

static const osq_table_plugin loss_table = {
    .name = "osq_events_loss",
    .columns = loss_columns,
    .ncolumns = sizeof loss_columns / sizeof *loss_columns,
    .attributes = OSQ_TABLE_UTILITY,
    .generate = gen_loss,
};

int osq_events_register_tables(void) {
  const osq_table_plugin *all[NTAB + 2];
  size_t n = 0;
  all[n++] = &osquery_events_table;
  all[n++] = &loss_table;
  for (size_t i = 0; i < NTAB; i++)
    all[n++] = event_tables[i];
  osq_plugin_spec specs[NTAB + 2];
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (osq_registry_exists(OSQ_REGISTRY_TABLE, all[i]->name))
      continue;
    specs[k++] = (osq_plugin_spec){.kind = OSQ_REGISTRY_TABLE,
                                   .plugin = all[i],
                                   .owner = OSQ_CORE_UUID,
                                   .internal = false};
  }
  if (k == 0)
    return OSQ_OK;
  char err[256];
  int rc = osq_registry_add_all(specs, k, err, sizeof err);
  if (rc != OSQ_OK)
    OSQ_ERR("Cannot register the event tables: %s", err);
  return rc;
}
