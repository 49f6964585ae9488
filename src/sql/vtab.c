/* The virtual-table bridge: one SQLite module ("osq_bridge") through which
 * every table plugin becomes a temp virtual table, with osquery's
 * constraint pushdown, typed cells and writable tables. */
#include "sql_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/cancel.h"
#include "core/flags.h"
#include "core/grow.h"
#include "core/log.h"

#define PUSH_COLS                                                              \
  (OSQ_COL_INDEX | OSQ_COL_REQUIRED | OSQ_COL_ADDITIONAL | OSQ_COL_OPTIMIZED)
#define REQUIRED_MISSING_COST 1000000.0
#define SCAN_COST 100000.0

struct osq_vtab_spec {
  const osq_plugin *plugin;
  const char *ddl;
};

typedef struct bridge_vtab {
  sqlite3_vtab base;
  osq_db *db;
  char *name;
  osq_column *cols; /* own copies: the plugin may go away */
  uint32_t *eff;    /* options as pushdown sees them */
  size_t ncols;
  uint64_t owner;
  uint32_t attributes;
  bool writable;
  atomic_ulong *counter;
  uint64_t serial; /* tells this table from a later one of the same name */
} bridge_vtab;

typedef struct bridge_cursor {
  sqlite3_vtab_cursor base;
  const osq_plugin *plugin; /* keeps the plugin alive while we read */
  osq_rowset *rs;
  size_t pos;
  unsigned long filters; /* xFilter calls so far (JOIN probes) */
} bridge_cursor;

/* ---- generate() counters ------------------------------------------------- */

#define MAX_COUNTERS 65536

struct counter {
  char *name;
  atomic_ulong n;
  struct counter *next;
};

static pthread_mutex_t counters_lock = PTHREAD_MUTEX_INITIALIZER;
static struct counter *counters;
static size_t ncounters;
static atomic_ulong overflow_counter;
static atomic_uint_fast64_t vtab_serial;

static struct counter *counter_find(const char *name) {
  for (struct counter *c = counters; c; c = c->next)
    if (strcmp(c->name, name) == 0)
      return c;
  return NULL;
}

/* Counters live for the process, so a vtab can bump its own without a
 * lock. */
static atomic_ulong *counter_for(const char *name) {
  pthread_mutex_lock(&counters_lock);
  struct counter *c = counter_find(name);
  if (c == NULL && ncounters < MAX_COUNTERS) {
    c = calloc(1, sizeof *c);
    if (c && (c->name = strdup(name)) != NULL) {
      c->next = counters;
      counters = c;
      ncounters++;
    } else {
      free(c);
      c = NULL;
    }
  }
  pthread_mutex_unlock(&counters_lock);
  return c ? &c->n : &overflow_counter;
}

unsigned long osq_sql_generate_count(const char *table) {
  pthread_mutex_lock(&counters_lock);
  struct counter *c = counter_find(table);
  unsigned long n = c ? atomic_load(&c->n) : 0;
  pthread_mutex_unlock(&counters_lock);
  return n;
}

/* ---- DDL ----------------------------------------------------------------- */

static const char *collation(uint32_t opts) {
  if (opts & OSQ_COL_COLLATE_BINARY) return "BINARY";
  if (opts & OSQ_COL_COLLATE_NOCASE) return "NOCASE";
  if (opts & OSQ_COL_COLLATE_RTRIM) return "RTRIM";
  if (opts & OSQ_COL_COLLATE_VERSION) return "VERSION";
  if (opts & OSQ_COL_COLLATE_VERSION_ARCH) return "VERSION_ARCH";
  if (opts & OSQ_COL_COLLATE_VERSION_DPKG) return "VERSION_DPKG";
  if (opts & OSQ_COL_COLLATE_VERSION_RHEL) return "VERSION_RHEL";
  return NULL;
}

static bool name_ok(const char *s) {
  return s && *s && strnlen(s, OSQ_SQL_MAX_NAME + 1) <= OSQ_SQL_MAX_NAME;
}

char *osq_vtab_ddl(const osq_table_plugin *t, uint64_t owner) {
  if (t->ncolumns == 0 || t->ncolumns > OSQ_SQL_MAX_COLUMNS || !t->columns)
    return NULL;
  sqlite3_str *s = sqlite3_str_new(NULL);
  sqlite3_str_appendall(s, "CREATE TABLE x(");
  bool any_index = false, any_additional = false;
  for (size_t i = 0; i < t->ncolumns; i++) {
    const osq_column *c = &t->columns[i];
    if (!name_ok(c->name)) {
      sqlite3_free(sqlite3_str_finish(s));
      return NULL;
    }
    sqlite3_str_appendf(s, "%s\"%w\" %s", i ? ", " : "", c->name,
                        osq_type_name(c->type));
    if (c->options & OSQ_COL_HIDDEN)
      sqlite3_str_appendall(s, " HIDDEN");
    const char *coll = collation(c->options);
    if (coll)
      sqlite3_str_appendf(s, " COLLATE %s", coll);
    any_index |= (c->options & OSQ_COL_INDEX) != 0;
    any_additional |= (c->options & OSQ_COL_ADDITIONAL) != 0;
  }
  /* osquery: INDEX and ADDITIONAL columns form the key; with only
   * ADDITIONAL ones, every column does. */
  bool pk = any_index || any_additional;
  if (pk) {
    sqlite3_str_appendall(s, ", PRIMARY KEY (");
    bool first = true;
    for (size_t i = 0; i < t->ncolumns; i++) {
      const osq_column *c = &t->columns[i];
      if (any_index && !(c->options & (OSQ_COL_INDEX | OSQ_COL_ADDITIONAL)))
        continue;
      sqlite3_str_appendf(s, "%s\"%w\"", first ? "" : ", ", c->name);
      first = false;
    }
    sqlite3_str_appendall(s, ")");
  }
  sqlite3_str_appendall(s, ")");
  /* Extension tables and writable tables keep the rowid so rows can be
   * addressed by xUpdate. */
  if (pk && owner == OSQ_CORE_UUID && t->write == NULL)
    sqlite3_str_appendall(s, " WITHOUT ROWID");
  if (sqlite3_str_errcode(s) != SQLITE_OK) {
    sqlite3_free(sqlite3_str_finish(s));
    return NULL;
  }
  return sqlite3_str_finish(s);
}

/* ---- vtab lifecycle ------------------------------------------------------ */

static void vtab_free(bridge_vtab *vt) {
  if (vt == NULL)
    return;
  for (size_t i = 0; vt->cols && i < vt->ncols; i++)
    free((char *)vt->cols[i].name);
  free(vt->cols);
  free(vt->eff);
  free(vt->name);
  sqlite3_free(vt);
}

static int build_vtab(sqlite3 *sdb, osq_db *db, const struct osq_vtab_spec *spec,
                      const char *name, sqlite3_vtab **out, char **pzErr);

/* CREATE VIRTUAL TABLE: only our own sync issues it. */
static int x_create(sqlite3 *sdb, void *aux, int argc, const char *const *argv,
                    sqlite3_vtab **out, char **pzErr) {
  osq_db *db = aux;
  if (db->pending == NULL || argc < 3) {
    *pzErr = sqlite3_mprintf(
        "osq_bridge tables are attached by osq, not created by SQL");
    return SQLITE_ERROR;
  }
  return build_vtab(sdb, db, db->pending, argv[2], out, pzErr);
}

/* SQLite reconnects a table when it reloads the schema (after DDL, or to
 * drop it): rebuild it from the registry. The next sync fixes any
 * difference. */
static int x_connect(sqlite3 *sdb, void *aux, int argc, const char *const *argv,
                     sqlite3_vtab **out, char **pzErr) {
  osq_db *db = aux;
  if (db->pending)
    return build_vtab(sdb, db, db->pending, argv[2], out, pzErr);
  if (argc < 3)
    return SQLITE_ERROR;
  const osq_plugin *p = osq_registry_get(OSQ_REGISTRY_TABLE, argv[2]);
  if (p == NULL && db->internal) {
    /* Our sync drops a table whose plugin is gone: a stub will do. */
    bridge_vtab *vt = sqlite3_malloc(sizeof *vt);
    if (vt == NULL)
      return SQLITE_NOMEM;
    memset(vt, 0, sizeof *vt);
    vt->db = db;
    vt->name = strdup(argv[2]);
    vt->counter = &overflow_counter;
    int rc = vt->name ? sqlite3_declare_vtab(sdb, "CREATE TABLE x(gone)")
                      : SQLITE_NOMEM;
    if (rc != SQLITE_OK) {
      vtab_free(vt);
      return rc;
    }
    *out = &vt->base;
    return SQLITE_OK;
  }
  if (p == NULL) {
    *pzErr = sqlite3_mprintf("table %s is no longer registered", argv[2]);
    return SQLITE_ERROR;
  }
  char *ddl = osq_vtab_ddl(p->u.table, p->owner);
  int rc = SQLITE_NOMEM;
  if (ddl) {
    struct osq_vtab_spec spec = {p, ddl};
    rc = build_vtab(sdb, db, &spec, argv[2], out, pzErr);
  }
  sqlite3_free(ddl);
  osq_plugin_release(p);
  return rc;
}

static int build_vtab(sqlite3 *sdb, osq_db *db, const struct osq_vtab_spec *spec,
                      const char *name, sqlite3_vtab **out, char **pzErr) {
  const osq_table_plugin *t = spec->plugin->u.table;
  bridge_vtab *vt = sqlite3_malloc(sizeof *vt);
  if (vt == NULL)
    return SQLITE_NOMEM;
  memset(vt, 0, sizeof *vt);
  vt->db = db;
  vt->name = strdup(name);
  vt->ncols = t->ncolumns;
  vt->cols = calloc(t->ncolumns, sizeof *vt->cols);
  vt->eff = calloc(t->ncolumns, sizeof *vt->eff);
  vt->owner = spec->plugin->owner;
  vt->writable = t->write != NULL;
  vt->attributes = t->attributes;
  if (!vt->name || !vt->cols || !vt->eff) {
    vtab_free(vt);
    return SQLITE_NOMEM;
  }
  bool default_index = vt->owner != OSQ_CORE_UUID &&
                       OSQ_FLAG_BOOL(extensions_default_index);
  for (size_t i = 0; i < vt->ncols; i++) {
    vt->cols[i] = t->columns[i];
    vt->cols[i].name = strdup(t->columns[i].name);
    if (vt->cols[i].name == NULL) {
      vtab_free(vt);
      return SQLITE_NOMEM;
    }
    vt->eff[i] = t->columns[i].options;
    /* --extensions_default_index: a column sent with op 0 counts as
     * INDEX for pushdown. */
    if (default_index && vt->eff[i] == 0)
      vt->eff[i] = OSQ_COL_INDEX;
  }
  int rc = sqlite3_declare_vtab(sdb, spec->ddl);
  if (rc != SQLITE_OK) {
    *pzErr = sqlite3_mprintf("table %s: bad schema: %s", name,
                             sqlite3_errmsg(sdb));
    vtab_free(vt);
    return rc;
  }
  vt->counter = counter_for(vt->name);
  vt->serial = atomic_fetch_add(&vtab_serial, 1) + 1;
  *out = &vt->base;
  return SQLITE_OK;
}

static int x_disconnect(sqlite3_vtab *v) {
  vtab_free((bridge_vtab *)v);
  return SQLITE_OK;
}

static int x_destroy(sqlite3_vtab *v) {
  bridge_vtab *vt = (bridge_vtab *)v;
  osq_db *db = vt->db;
  if (!db->internal) {
    /* Dropped by a user statement: attach it again at the next sync. */
    for (size_t i = 0; i < db->natt; i++)
      if (strcmp(db->att[i].name, vt->name) == 0)
        db->att[i].ok = false;
    db->has_generation = false;
  }
  vtab_free(vt);
  return SQLITE_OK;
}

/* ---- pushdown ------------------------------------------------------------ */

static bool is_range(int op) {
  return op == SQLITE_INDEX_CONSTRAINT_GT || op == SQLITE_INDEX_CONSTRAINT_GE ||
         op == SQLITE_INDEX_CONSTRAINT_LT || op == SQLITE_INDEX_CONSTRAINT_LE;
}

/* Operators with a right-hand value that generate() can be told about.
 * IS NULL / IS NOT NULL have no value; LIMIT/OFFSET and overloaded
 * functions are not about a column. */
static bool op_pushable(int op) {
  switch (op) {
  case SQLITE_INDEX_CONSTRAINT_EQ:
  case SQLITE_INDEX_CONSTRAINT_GT:
  case SQLITE_INDEX_CONSTRAINT_LE:
  case SQLITE_INDEX_CONSTRAINT_LT:
  case SQLITE_INDEX_CONSTRAINT_GE:
  case SQLITE_INDEX_CONSTRAINT_MATCH:
  case SQLITE_INDEX_CONSTRAINT_LIKE:
  case SQLITE_INDEX_CONSTRAINT_GLOB:
  case SQLITE_INDEX_CONSTRAINT_REGEXP:
  case SQLITE_INDEX_CONSTRAINT_NE:
  case SQLITE_INDEX_CONSTRAINT_ISNOT:
  case SQLITE_INDEX_CONSTRAINT_IS: return true;
  default: return false;
  }
}

/* The plan travels in idxStr: "<colUsed hex>" then ";col,op,all" per argv
 * slot, so each plan carries its own state and nothing is shared. */
static int x_best_index(sqlite3_vtab *v, sqlite3_index_info *info) {
  bridge_vtab *vt = (bridge_vtab *)v;
  bool planner = vt->db->planner;
  if (planner)
    fprintf(stderr, "xBestIndex Evaluating constraints for table: %s\n",
            vt->name);
  double cost = 0;
  int argv = 0;
  unsigned char *constrained = calloc(vt->ncols ? vt->ncols : 1, 1);
  sqlite3_str *plan = sqlite3_str_new(NULL);
  if (constrained == NULL) {
    sqlite3_free(sqlite3_str_finish(plan));
    return SQLITE_NOMEM;
  }
  sqlite3_str_appendf(plan, "%llx", (unsigned long long)info->colUsed);
  for (int i = 0; i < info->nConstraint; i++) {
    const struct sqlite3_index_constraint *c = &info->aConstraint[i];
    if (planner)
      fprintf(stderr,
              "xBestIndex   constraint %d: column=%d op=%d usable=%d\n", i,
              c->iColumn, c->op, c->usable);
    if (!c->usable || c->iColumn < 0 || (size_t)c->iColumn >= vt->ncols)
      continue;
    if (!op_pushable(c->op) || !(vt->eff[c->iColumn] & PUSH_COLS))
      continue;
    if (vt->cols[c->iColumn].type == OSQ_TYPE_TEXT && is_range(c->op)) {
      cost += 10; /* osquery never pushes text ranges */
      continue;
    }
    int all = 0;
    if (c->op == SQLITE_INDEX_CONSTRAINT_EQ &&
        (vt->eff[c->iColumn] & OSQ_COL_OPTIMIZED) &&
        sqlite3_vtab_in(info, i, -1)) {
      sqlite3_vtab_in(info, i, 1);
      all = 1;
    }
    info->aConstraintUsage[i].argvIndex = ++argv;
    info->aConstraintUsage[i].omit = 0; /* SQLite re-checks every row */
    constrained[c->iColumn] = 1;
    sqlite3_str_appendf(plan, ";%d,%d,%d", c->iColumn, c->op, all);
  }
  /* osquery: one constrained REQUIRED column satisfies the table (file
   * takes path OR directory). */
  bool has_required = false, required_met = false;
  for (size_t i = 0; i < vt->ncols; i++)
    if (vt->eff[i] & OSQ_COL_REQUIRED) {
      has_required = true;
      required_met = required_met || constrained[i];
    }
  bool required_missing = has_required && !required_met;
  free(constrained);
  if (required_missing) {
    info->estimatedCost = REQUIRED_MISSING_COST;
    info->estimatedRows = (sqlite3_int64)REQUIRED_MISSING_COST;
  } else if (argv > 0) {
    info->estimatedCost = cost + 1;
    info->estimatedRows = 10;
  } else {
    info->estimatedCost = cost + SCAN_COST;
    info->estimatedRows = (sqlite3_int64)SCAN_COST;
  }
  if (sqlite3_str_errcode(plan) != SQLITE_OK) {
    sqlite3_free(sqlite3_str_finish(plan));
    return SQLITE_NOMEM;
  }
  info->idxStr = sqlite3_str_finish(plan);
  info->needToFreeIdxStr = 1;
  info->idxNum = argv;
  if (planner)
    fprintf(stderr,
            "xBestIndex Recording constraint set for table: %s cost=%g "
            "plan=%s%s\n",
            vt->name, info->estimatedCost, info->idxStr,
            required_missing ? " (required column unconstrained)" : "");
  return SQLITE_OK;
}

static int vt_error(bridge_vtab *vt, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int vt_error(bridge_vtab *vt, int rc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  sqlite3_free(vt->base.zErrMsg);
  vt->base.zErrMsg = sqlite3_vmprintf(fmt, ap);
  va_end(ap);
  return rc;
}

static bool same_columns(const bridge_vtab *vt, const osq_table_plugin *t) {
  if (t->ncolumns != vt->ncols)
    return false;
  for (size_t i = 0; i < vt->ncols; i++)
    if (t->columns[i].type != vt->cols[i].type ||
        strcmp(t->columns[i].name, vt->cols[i].name) != 0)
      return false;
  return true;
}

/* The plugin behind vt now, with a reference; NULL with an error set. */
static const osq_plugin *vt_plugin(bridge_vtab *vt) {
  const osq_plugin *p = osq_registry_get(OSQ_REGISTRY_TABLE, vt->name);
  if (p == NULL) {
    vt_error(vt, SQLITE_ERROR, "table %s is no longer registered", vt->name);
    return NULL;
  }
  if (!same_columns(vt, p->u.table)) {
    osq_plugin_release(p);
    vt_error(vt, SQLITE_ERROR,
             "table %s changed its columns while the query ran; run it again",
             vt->name);
    return NULL;
  }
  return p;
}

static int x_open(sqlite3_vtab *v, sqlite3_vtab_cursor **out) {
  bridge_vtab *vt = (bridge_vtab *)v;
  bridge_cursor *cur = sqlite3_malloc(sizeof *cur);
  if (cur == NULL)
    return SQLITE_NOMEM;
  memset(cur, 0, sizeof *cur);
  cur->plugin = vt_plugin(vt);
  if (cur->plugin == NULL) {
    sqlite3_free(cur);
    return SQLITE_ERROR;
  }
  *out = &cur->base;
  return SQLITE_OK;
}

static int x_close(sqlite3_vtab_cursor *c) {
  bridge_cursor *cur = (bridge_cursor *)c;
  bridge_vtab *vt = (bridge_vtab *)c->pVtab;
  osq_rowset_release(vt->db, cur->rs);
  osq_plugin_release(cur->plugin);
  sqlite3_free(cur);
  return SQLITE_OK;
}

/* A growable byte buffer for cache keys. */
struct kbuf {
  char *p;
  size_t n, cap;
  bool failed;
};

static void kput(struct kbuf *k, const void *p, size_t n) {
  if (k->failed)
    return;
  if (osq_grow(&k->p, &k->cap, k->n + n, 1, 128, 0) != OSQ_OK) {
    k->failed = true;
    return;
  }
  memcpy(k->p + k->n, p, n);
  k->n += n;
}

/* table NUL, serial, then (col, op, len, bytes) per constraint. The
 * columns read are matched separately: a set holding more columns serves a
 * query that reads fewer. */
static char *cache_key(const bridge_vtab *vt, const osq_context *ctx,
                       size_t *len) {
  struct kbuf k = {0};
  kput(&k, vt->name, strlen(vt->name) + 1);
  kput(&k, &vt->serial, sizeof vt->serial);
  for (size_t c = 0; c < vt->ncols; c++) {
    for (size_t i = 0; i < osq_context_nconstraints(ctx, c); i++) {
      const osq_constraint *con = osq_context_constraint(ctx, c, i);
      uint32_t hdr[3] = {(uint32_t)c, (uint32_t)con->op, (uint32_t)con->len};
      kput(&k, hdr, sizeof hdr);
      kput(&k, con->expr, con->len);
    }
  }
  if (k.failed) {
    free(k.p);
    return NULL;
  }
  *len = k.n;
  return k.p;
}

static int add_value(osq_context *ctx, size_t col, int op, sqlite3_value *v,
                     bool keep_empty) {
  if (sqlite3_value_type(v) == SQLITE_NULL)
    return OSQ_OK;
  const unsigned char *s = sqlite3_value_text(v);
  int n = sqlite3_value_bytes(v);
  if (s == NULL)
    return OSQ_ENOMEM;
  if (n == 0 && !keep_empty)
    return OSQ_OK;
  return osq_context_add(ctx, col, op, (const char *)s, (size_t)n);
}

/* Fill ctx from the plan in idxStr and the values in argv. *required_met
 * tells whether the plan constrains a REQUIRED column: as in osquery, that
 * satisfies the table whatever the value ('', NULL and an empty IN list
 * add nothing to ctx, and generate() then finds no rows). */
static int build_context(bridge_vtab *vt, const char *plan, int argc,
                         sqlite3_value **argv, osq_context *ctx,
                         uint64_t *used_out, bool *required_met) {
  char *end;
  unsigned long long used = strtoull(plan, &end, 16);
  const char *p = end;
  int slot = 0;
  while (*p == ';') {
    int col, op, all, consumed = 0;
    if (sscanf(p, ";%d,%d,%d%n", &col, &op, &all, &consumed) != 3 ||
        consumed == 0 || col < 0 || (size_t)col >= vt->ncols || slot >= argc)
      return vt_error(vt, SQLITE_INTERNAL, "table %s: bad query plan",
                      vt->name);
    p += consumed;
    if (vt->eff[col] & OSQ_COL_REQUIRED)
      *required_met = true;
    sqlite3_value *v = argv[slot++];
    int rc = OSQ_OK;
    if (all) {
      sqlite3_value *x = NULL;
      int src;
      for (src = sqlite3_vtab_in_first(v, &x); src == SQLITE_OK && x;
           src = sqlite3_vtab_in_next(v, &x)) {
        rc = add_value(ctx, (size_t)col, SQLITE_INDEX_CONSTRAINT_EQ, x, true);
        if (rc != OSQ_OK)
          break;
      }
      if (src != SQLITE_OK && src != SQLITE_DONE)
        return vt_error(vt, src, "table %s: cannot read IN list", vt->name);
    } else {
      rc = add_value(ctx, (size_t)col, op, v, false);
    }
    if (rc == OSQ_ERANGE)
      return vt_error(vt, SQLITE_TOOBIG, "table %s: too many constraints",
                      vt->name);
    if (rc != OSQ_OK)
      return SQLITE_NOMEM;
  }
  for (size_t c = 0; c < vt->ncols; c++) {
    unsigned bit = c >= 63 ? 63 : (unsigned)c;
    osq_context_set_used(ctx, c, (used >> bit) & 1);
  }
  *used_out = used;
  return SQLITE_OK;
}

/* osquery's notes for user- and event-based tables, once per scan. */
static void warn_attributes(const bridge_vtab *vt, const osq_context *ctx) {
  if ((vt->attributes & OSQ_TABLE_USER_BASED) && geteuid() == 0) {
    int uid = osq_context_column_index(ctx, "uid");
    int user = osq_context_column_index(ctx, "username");
    if ((uid < 0 || osq_context_nconstraints(ctx, (size_t)uid) == 0) &&
        (user < 0 || osq_context_nconstraints(ctx, (size_t)user) == 0))
      OSQ_WARN("The %s table returns data based on the current user by "
               "default, consider JOINing against the users table",
               vt->name);
  }
  if ((vt->attributes & OSQ_TABLE_EVENT_BASED) &&
      OSQ_FLAG_BOOL(disable_events))
    OSQ_WARN("Table %s is event-based but events are disabled", vt->name);
}

/* While a statement runs, sqlite3_interrupt makes every new step on the
 * connection fail with SQLITE_INTERRUPT: a one-row statement tells. */
static bool statement_interrupted(void *arg) {
  osq_db *db = arg;
  if (db->interrupt_probe == NULL) {
    /* preparing fails too once the connection is interrupted */
    int rc = sqlite3_prepare_v3(db->db, "SELECT 1", -1,
                                SQLITE_PREPARE_PERSISTENT,
                                &db->interrupt_probe, NULL);
    if (rc != SQLITE_OK)
      return rc == SQLITE_INTERRUPT;
  }
  int rc = sqlite3_step(db->interrupt_probe);
  sqlite3_reset(db->interrupt_probe);
  return rc == SQLITE_INTERRUPT;
}

/* generate() inside a cancel scope, so long table work can learn that the
 * statement was interrupted (or, through an outer scope, that the client
 * went away). */
static int run_generate(osq_db *db, const osq_table_plugin *t,
                        const osq_context *ctx, osq_rows *rows) {
  if (t->generate == NULL)
    return OSQ_OK;
  osq_cancel_scope scope;
  osq_cancel_enter(&scope, statement_interrupted, db);
  int rc = t->generate(ctx, rows, t->udata);
  osq_cancel_leave(&scope);
  return rc;
}

static int x_filter(sqlite3_vtab_cursor *c, int idxNum, const char *idxStr,
                    int argc, sqlite3_value **argv) {
  (void)idxNum;
  bridge_cursor *cur = (bridge_cursor *)c;
  bridge_vtab *vt = (bridge_vtab *)c->pVtab;
  osq_db *db = vt->db;
  osq_rowset_release(db, cur->rs);
  cur->rs = NULL;
  cur->pos = 0;

  osq_context *ctx = osq_context_new(vt->cols, vt->ncols);
  if (ctx == NULL)
    return SQLITE_NOMEM;
  uint64_t used = 0;
  bool required_met = false;
  int rc = build_context(vt, idxStr ? idxStr : "0", argc, argv, ctx, &used,
                         &required_met);
  if (rc != SQLITE_OK)
    goto out;
  bool has_required = false;
  for (size_t i = 0; i < vt->ncols; i++)
    has_required = has_required || (vt->eff[i] & OSQ_COL_REQUIRED);
  if (has_required && !required_met) {
    rc = vt_error(vt, SQLITE_CONSTRAINT,
                  "Table %s was queried without a required column in the "
                  "WHERE clause",
                  vt->name);
    goto out;
  }

  bool first_scan = cur->filters++ == 0;
  if (first_scan)
    warn_attributes(vt, ctx);

  if (db->planner) {
    size_t count = 0;
    for (size_t i = 0; i < vt->ncols; i++)
      count += osq_context_nconstraints(ctx, i);
    fprintf(stderr, "xFilter Filtering table: %s constraint_count=%zu\n",
            vt->name, count);
  }

  size_t keylen = 0;
  char *key = cache_key(vt, ctx, &keylen);
  if (key == NULL) {
    rc = SQLITE_NOMEM;
    goto out;
  }
  cur->rs = db->in_exec ? osq_cache_find(db, key, keylen, used) : NULL;
  if (cur->rs) {
    free(key);
    goto out;
  }

  /* --table_delay: pause between repeated scans of one cursor. */
  uint64_t delay = first_scan ? 0 : OSQ_FLAG_UINT(table_delay);
  if (delay > 0) {
    if (delay > 10000000)
      delay = 10000000;
    struct timespec ts = {(time_t)(delay / 1000000),
                          (long)(delay % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
      ;
  }

  /* Only the scopes of whoever runs the statement are asked here (the
   * manager's: has query()'s client hung up?): a JOIN stops probing. */
  if (osq_cancelled()) {
    free(key);
    OSQ_WARN("Table %s not scanned: the query was interrupted or its client "
             "went away",
             vt->name);
    rc = vt_error(vt, SQLITE_INTERRUPT, "interrupted");
    goto out;
  }
  osq_rowset *rs = osq_rowset_new(vt->cols, vt->ncols, used);
  if (rs == NULL) {
    free(key);
    rc = SQLITE_NOMEM;
    goto out;
  }
  osq_rows rows;
  osq_rows_init(&rows, &osq_rowset_ops, rs, vt->ncols);
  const osq_table_plugin *t = cur->plugin->u.table;
  atomic_fetch_add(vt->counter, 1);
  uint64_t mark = osq_error_mark();
  int grc = run_generate(db, t, ctx, &rows);
  osq_rowset_finish(rs);
  if (rs->too_big) {
    rc = vt_error(vt, SQLITE_TOOBIG, "table %s returned more than %zu bytes",
                  vt->name, (size_t)OSQ_SQL_MAX_ROWSET_BYTES);
  } else if (rs->nomem) {
    rc = SQLITE_NOMEM;
  } else if (rows.failed || grc != OSQ_OK) {
    const char *msg = osq_rows_message(&rows);
    if (!(msg && *msg) && grc != OSQ_OK)
      msg = osq_error_since(mark);
    if (msg && *msg)
      rc = vt_error(vt, SQLITE_ERROR, "%s", msg);
    else
      rc = vt_error(vt, SQLITE_ERROR, "table %s: generate failed: %s",
                    vt->name, osq_strerror(grc != OSQ_OK ? grc : OSQ_ERROR));
  }
  if (rc != SQLITE_OK) {
    osq_rowset_free(rs);
    free(key);
    goto out;
  }
  osq_cache_insert(db, rs, key, keylen);
  cur->rs = rs;
out:
  osq_context_free(ctx);
  return rc;
}

static int x_next(sqlite3_vtab_cursor *c) {
  ((bridge_cursor *)c)->pos++;
  return SQLITE_OK;
}

static int x_eof(sqlite3_vtab_cursor *c) {
  bridge_cursor *cur = (bridge_cursor *)c;
  return cur->rs == NULL || cur->pos >= cur->rs->nrows;
}

static int x_column(sqlite3_vtab_cursor *c, sqlite3_context *sctx, int col) {
  bridge_cursor *cur = (bridge_cursor *)c;
  const osq_rowset *rs = cur->rs;
  if (rs == NULL || cur->pos >= rs->nrows || col < 0 ||
      (size_t)col >= rs->ncols || rs->slot[col] < 0)
    return SQLITE_OK; /* NULL */
  const struct osq_cell *cell =
      &rs->cells[cur->pos * rs->stride + (size_t)rs->slot[col]];
  /* Retained sets outlive the statement, so SQLite may point into them. */
  sqlite3_destructor_type keep = rs->retained ? SQLITE_STATIC : SQLITE_TRANSIENT;
  switch (cell->kind) {
  case OSQ_VALUE_INT: sqlite3_result_int64(sctx, cell->v.i); break;
  case OSQ_VALUE_DOUBLE: sqlite3_result_double(sctx, cell->v.d); break;
  case OSQ_VALUE_TEXT:
    sqlite3_result_text64(sctx, rs->bytes ? rs->bytes + cell->v.off : "",
                          cell->len, keep, SQLITE_UTF8);
    break;
  case OSQ_VALUE_BLOB:
    sqlite3_result_blob64(sctx, rs->bytes ? rs->bytes + cell->v.off : "",
                          cell->len, keep);
    break;
  default: break;
  }
  return SQLITE_OK;
}

static int x_rowid(sqlite3_vtab_cursor *c, sqlite3_int64 *rowid) {
  bridge_cursor *cur = (bridge_cursor *)c;
  *rowid = cur->rs && cur->rs->rowids ? cur->rs->rowids[cur->pos]
                                      : (sqlite3_int64)cur->pos;
  return SQLITE_OK;
}

/* MATCH has no meaning of its own on these tables: the constraint went to
 * generate(), and the rows it returned are taken as matching. */
static void match_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc, (void)argv;
  sqlite3_result_int(ctx, 1);
}

static int x_find_function(sqlite3_vtab *v, int nArg, const char *name,
                           void (**fn)(sqlite3_context *, int, sqlite3_value **),
                           void **arg) {
  (void)v;
  if (nArg == 2 && sqlite3_stricmp(name, "match") == 0) {
    *fn = match_fn;
    *arg = NULL;
    return 1;
  }
  return 0;
}

/* ---- writes -------------------------------------------------------------- */

static const char *sqlite_type_name(int t) {
  switch (t) {
  case SQLITE_INTEGER: return "an integer";
  case SQLITE_FLOAT: return "a double";
  case SQLITE_TEXT: return "text";
  case SQLITE_BLOB: return "a blob";
  default: return "NULL";
  }
}

/* osquery's json_value_array checks: the value's storage class must fit
 * the declared column type, and key columns take no NULL. */
static bool value_fits(const osq_column *col, int t) {
  switch (t) {
  case SQLITE_INTEGER:
    return col->type == OSQ_TYPE_INTEGER || col->type == OSQ_TYPE_BIGINT ||
           col->type == OSQ_TYPE_UNSIGNED_BIGINT;
  case SQLITE_FLOAT: return col->type == OSQ_TYPE_DOUBLE;
  case SQLITE_TEXT: return col->type == OSQ_TYPE_TEXT || col->type == OSQ_TYPE_BLOB;
  case SQLITE_BLOB: return col->type == OSQ_TYPE_BLOB || col->type == OSQ_TYPE_TEXT;
  default:
    return col->options != OSQ_COL_INDEX && col->options != OSQ_COL_REQUIRED;
  }
}

static int x_update(sqlite3_vtab *v, int argc, sqlite3_value **argv,
                    sqlite3_int64 *rowid) {
  bridge_vtab *vt = (bridge_vtab *)v;
  if (!vt->writable)
    return vt_error(vt, SQLITE_READONLY, "table %s may not be modified",
                    vt->name);
  osq_write w;
  memset(&w, 0, sizeof w);
  osq_value *vals = NULL;
  if (argc == 1) {
    w.action = OSQ_WRITE_DELETE;
    w.rowid = sqlite3_value_int64(argv[0]);
  } else {
    if ((size_t)(argc - 2) != vt->ncols)
      return vt_error(vt, SQLITE_ERROR, "table %s: %d values for %zu columns",
                      vt->name, argc - 2, vt->ncols);
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
      w.action = OSQ_WRITE_INSERT;
      w.has_rowid = sqlite3_value_type(argv[1]) != SQLITE_NULL;
      w.rowid = w.has_rowid ? sqlite3_value_int64(argv[1]) : 0;
    } else {
      w.action = OSQ_WRITE_UPDATE;
      w.rowid = sqlite3_value_int64(argv[0]);
      w.new_rowid = sqlite3_value_int64(argv[1]);
      w.rowid_changes = w.new_rowid != w.rowid;
    }
    vals = calloc(vt->ncols ? vt->ncols : 1, sizeof *vals);
    if (vals == NULL)
      return SQLITE_NOMEM;
    for (size_t i = 0; i < vt->ncols; i++) {
      sqlite3_value *a = argv[i + 2];
      int t = sqlite3_value_type(a);
      if (!value_fits(&vt->cols[i], t)) {
        free(vals);
        return vt_error(vt, SQLITE_MISMATCH,
                        "table %s: column %s (%s) cannot take %s", vt->name,
                        vt->cols[i].name, osq_type_name(vt->cols[i].type),
                        sqlite_type_name(t));
      }
      switch (t) {
      case SQLITE_INTEGER:
        vals[i].kind = OSQ_VALUE_INT;
        vals[i].u.i = sqlite3_value_int64(a);
        break;
      case SQLITE_FLOAT:
        vals[i].kind = OSQ_VALUE_DOUBLE;
        vals[i].u.d = sqlite3_value_double(a);
        break;
      case SQLITE_TEXT:
        vals[i].kind = OSQ_VALUE_TEXT;
        vals[i].u.s.p = (const char *)sqlite3_value_text(a);
        vals[i].u.s.n = (size_t)sqlite3_value_bytes(a);
        break;
      case SQLITE_BLOB:
        vals[i].kind = OSQ_VALUE_BLOB;
        vals[i].u.s.p = sqlite3_value_blob(a);
        vals[i].u.s.n = (size_t)sqlite3_value_bytes(a);
        if (vals[i].u.s.p == NULL)
          vals[i].u.s.p = "";
        break;
      default: vals[i].kind = OSQ_VALUE_NULL; break;
      }
    }
    w.values = vals;
    w.nvalues = vt->ncols;
  }
  const osq_plugin *p = vt_plugin(vt);
  if (p == NULL) {
    free(vals);
    return SQLITE_ERROR;
  }
  osq_context *ctx = osq_context_new(vt->cols, vt->ncols);
  if (ctx == NULL) {
    free(vals);
    osq_plugin_release(p);
    return SQLITE_NOMEM;
  }
  w.ctx = ctx;
  const osq_table_plugin *t = p->u.table;
  uint64_t mark = osq_error_mark();
  int wrc = t->write ? t->write(&w, t->udata) : OSQ_READONLY;
  w.message[sizeof w.message - 1] = '\0';
  const char *why = w.message[0] ? w.message : osq_error_since(mark);
  osq_context_free(ctx);
  osq_plugin_release(p);
  free(vals);
  /* The table changed: later scans in this statement must not see old
   * rows. */
  osq_cache_invalidate(vt->db, vt->name);
  switch (wrc) {
  case OSQ_OK:
    if (w.action == OSQ_WRITE_INSERT)
      *rowid = w.has_rowid ? w.rowid : w.assigned_rowid;
    return SQLITE_OK;
  case OSQ_READONLY:
    return vt_error(vt, SQLITE_READONLY, "table %s may not be modified",
                    vt->name);
  case OSQ_CONSTRAINT:
    return vt_error(vt, SQLITE_CONSTRAINT, "%s",
                    why ? why : "constraint failed");
  default:
    return vt_error(vt, SQLITE_ERROR, "%s",
                    why ? why : osq_strerror(wrc));
  }
}

/* Read-only tables get a module without xUpdate: SQLite then refuses
 * writes itself, and allows WITHOUT ROWID with a multi-column key. */
static const sqlite3_module bridge_module_ro = {
    .iVersion = 0,
    .xCreate = x_create,
    .xConnect = x_connect,
    .xBestIndex = x_best_index,
    .xDisconnect = x_disconnect,
    .xDestroy = x_destroy,
    .xOpen = x_open,
    .xClose = x_close,
    .xFilter = x_filter,
    .xNext = x_next,
    .xEof = x_eof,
    .xColumn = x_column,
    .xRowid = x_rowid,
    .xFindFunction = x_find_function,
};

static const sqlite3_module bridge_module = {
    .iVersion = 0,
    .xCreate = x_create,
    .xConnect = x_connect,
    .xBestIndex = x_best_index,
    .xDisconnect = x_disconnect,
    .xDestroy = x_destroy,
    .xOpen = x_open,
    .xClose = x_close,
    .xFilter = x_filter,
    .xNext = x_next,
    .xEof = x_eof,
    .xColumn = x_column,
    .xRowid = x_rowid,
    .xUpdate = x_update,
    .xFindFunction = x_find_function,
};

int osq_vtab_register(osq_db *db) {
  int rc = sqlite3_create_module_v2(db->db, "osq_bridge", &bridge_module_ro,
                                    db, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_create_module_v2(db->db, "osq_bridge_rw", &bridge_module, db,
                                  NULL);
  return rc;
}

int osq_vtab_attach_plugin(osq_db *db, const osq_plugin *p, const char *ddl,
                           char *err, size_t errlen) {
  struct osq_vtab_spec spec = {p, ddl};
  char *sql = sqlite3_mprintf("CREATE VIRTUAL TABLE main.\"%w\" USING %s",
                              p->name,
                              p->u.table->write ? "osq_bridge_rw" : "osq_bridge");
  if (sql == NULL)
    return SQLITE_NOMEM;
  char *msg = NULL;
  db->pending = &spec;
  int rc = sqlite3_exec(db->db, sql, NULL, NULL, &msg);
  db->pending = NULL;
  if (rc != SQLITE_OK)
    snprintf(err, errlen, "%s", msg ? msg : sqlite3_errstr(rc));
  sqlite3_free(msg);
  sqlite3_free(sql);
  return rc;
}
