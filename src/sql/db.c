/* Connections: open with osquery's pragmas, functions and authorizer,
 * keep the attached tables in step with the registry, run statements,
 * and pool connections for concurrent callers. */
#include "sql_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/flags.h"
#include "core/log.h"

/* ---- authorizer ---------------------------------------------------------- */

static const char *const allowed_pragmas[] = {
    "table_info",  "table_xinfo",         "function_list",
    "journal_mode", "case_sensitive_like", "collation_list",
};

static const char *action_name(int action) {
  switch (action) {
  case SQLITE_ATTACH: return "ATTACH";
  case SQLITE_DETACH: return "DETACH";
  case SQLITE_PRAGMA: return "PRAGMA";
  case SQLITE_CREATE_INDEX: return "CREATE INDEX";
  case SQLITE_CREATE_TRIGGER: return "CREATE TRIGGER";
  case SQLITE_CREATE_TEMP_INDEX: return "CREATE TEMP INDEX";
  case SQLITE_CREATE_TEMP_TRIGGER: return "CREATE TEMP TRIGGER";
  case SQLITE_DROP_TABLE: return "DROP TABLE";
  case SQLITE_DROP_TEMP_TABLE: return "DROP TEMP TABLE";
  case SQLITE_DROP_INDEX: return "DROP INDEX";
  case SQLITE_DROP_TRIGGER: return "DROP TRIGGER";
  case SQLITE_ALTER_TABLE: return "ALTER TABLE";
  case SQLITE_REINDEX: return "REINDEX";
  case SQLITE_ANALYZE: return "ANALYZE";
  case SQLITE_SAVEPOINT: return "SAVEPOINT";
  default: return "UNKNOWN";
  }
}

/* osquery's allowlist: reading, the writes a writable table checks
 * itself, creating views and tables, functions, and a few pragmas. */
static int authorizer(void *u, int action, const char *a1, const char *a2,
                      const char *a3, const char *a4) {
  (void)a3, (void)a4;
  osq_db *db = u;
  if (db->internal)
    return SQLITE_OK;
  switch (action) {
  case SQLITE_READ:
  case SQLITE_SELECT:
  case SQLITE_INSERT:
  case SQLITE_UPDATE:
  case SQLITE_DELETE:
  case SQLITE_CREATE_VTABLE:
  case SQLITE_DROP_VTABLE:
  case SQLITE_CREATE_VIEW:
  case SQLITE_DROP_VIEW:
  case SQLITE_CREATE_TABLE:
  case SQLITE_CREATE_TEMP_TABLE:
  case SQLITE_CREATE_TEMP_VIEW:
  case SQLITE_DROP_TEMP_VIEW:
  case SQLITE_FUNCTION:
  case SQLITE_RECURSIVE:
  case SQLITE_TRANSACTION: return SQLITE_OK;
  case SQLITE_PRAGMA:
    for (size_t i = 0; i < sizeof allowed_pragmas / sizeof *allowed_pragmas;
         i++)
      if (a1 && strcasecmp(a1, allowed_pragmas[i]) == 0)
        return SQLITE_OK;
    break;
  default: break;
  }
  OSQ_WARN("Authorizer denied action %d (%s) %s %s", action,
           action_name(action), a1 ? a1 : "null", a2 ? a2 : "null");
  return SQLITE_DENY;
}

/* ---- which tables ------------------------------------------------------- */

static bool in_list(const char *list, const char *name) {
  size_t n = strlen(name);
  const char *p = list;
  while (p && *p) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    if (len == n && strncmp(p, name, n) == 0)
      return true;
    p = comma ? comma + 1 : NULL;
  }
  return false;
}

/* --disable_tables / --enable_tables as osquery reads them. */
static bool table_disabled(const char *name) {
  bool dis = !OSQ_FLAG_IS_DEFAULT(disable_tables);
  bool en = !OSQ_FLAG_IS_DEFAULT(enable_tables);
  if (!dis && !en)
    return false;
  if (dis && in_list(OSQ_FLAG_STR(disable_tables), name))
    return true;
  if (en && !in_list(OSQ_FLAG_STR(enable_tables), name))
    return true;
  return false;
}

static bool name_ok_for_sql(const char *s) {
  return s && *s && strnlen(s, OSQ_SQL_MAX_NAME + 1) <= OSQ_SQL_MAX_NAME;
}

static void att_free(struct osq_attached *a) {
  free(a->name);
  sqlite3_free(a->sig);
  for (size_t i = 0; i < a->nviews; i++)
    free(a->views[i]);
  free(a->views);
  for (size_t i = 0; i < a->naliases; i++)
    free(a->aliases[i]);
  free(a->aliases);
  memset(a, 0, sizeof *a);
}

static void exec_internal(osq_db *db, const char *sql) {
  char *msg = NULL;
  if (sqlite3_exec(db->db, sql, NULL, NULL, &msg) != SQLITE_OK)
    OSQ_VLOG("sql: %s: %s", sql, msg ? msg : "failed");
  sqlite3_free(msg);
}

static void detach(osq_db *db, struct osq_attached *a) {
  for (size_t i = 0; i < a->nviews; i++) {
    char *sql = sqlite3_mprintf("DROP VIEW IF EXISTS main.\"%w\"", a->views[i]);
    if (sql)
      exec_internal(db, sql);
    sqlite3_free(sql);
  }
  if (a->ok) {
    char *sql = sqlite3_mprintf("DROP TABLE IF EXISTS main.\"%w\"", a->name);
    if (sql)
      exec_internal(db, sql);
    sqlite3_free(sql);
  }
}

static char *signature(const osq_plugin *p, const char *ddl) {
  const osq_table_plugin *t = p->u.table;
  sqlite3_str *s = sqlite3_str_new(NULL);
  sqlite3_str_appendf(s, "%s|w%d|o%d|i%d|o", ddl, t->write != NULL,
                      p->owner != OSQ_CORE_UUID,
                      OSQ_FLAG_BOOL(extensions_default_index));
  for (size_t i = 0; i < t->ncolumns; i++)
    sqlite3_str_appendf(s, ",%u", (unsigned)t->columns[i].options);
  for (const char *const *a = t->aliases; a && *a; a++)
    sqlite3_str_appendf(s, "|a%s", *a);
  return sqlite3_str_finish(s);
}

static void attach(osq_db *db, const osq_plugin *p, const char *ddl,
                   struct osq_attached *a) {
  char err[512] = "";
  int rc = osq_vtab_attach_plugin(db, p, ddl, err, sizeof err);
  if (rc != SQLITE_OK) {
    OSQ_WARN("Cannot attach table %s: %s", p->name, err);
    return;
  }
  a->ok = true;
  const osq_table_plugin *t = p->u.table;
  size_t n = 0;
  for (const char *const *al = t->aliases; al && *al; al++)
    n++;
  if (n == 0)
    return;
  a->views = calloc(n, sizeof *a->views);
  if (a->views == NULL)
    return;
  for (const char *const *al = t->aliases; al && *al; al++) {
    if (strnlen(*al, OSQ_SQL_MAX_NAME + 1) > OSQ_SQL_MAX_NAME)
      continue;
    char *sql = sqlite3_mprintf(
        "CREATE VIEW main.\"%w\" AS SELECT * FROM main.\"%w\"", *al, p->name);
    if (sql == NULL)
      continue;
    char *msg = NULL;
    if (sqlite3_exec(db->db, sql, NULL, NULL, &msg) == SQLITE_OK) {
      a->views[a->nviews] = strdup(*al);
      if (a->views[a->nviews])
        a->nviews++;
    } else {
      OSQ_WARN("Cannot create alias %s for table %s: %s", *al, p->name,
               msg ? msg : "failed");
    }
    sqlite3_free(msg);
    sqlite3_free(sql);
  }
}

/* ---- lazy tables ----------------------------------------------------------
 * Creating a virtual table costs a schema parse (~40 us); doing it for
 * every table at open made `osqi "select 1"` spend most of its time here.
 * A table the connection has not used yet is only remembered by name and
 * created just before a statement that names it (or one of its aliases)
 * is prepared. Naming is decided on the SQL text: every identifier,
 * quoted name and string literal is looked up, so over-creating is
 * possible (harmless), missing is not, except through a view made
 * earlier on this connection, which the "no such table" retry covers. */

static uint64_t name_hash(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 'A' && c <= 'Z')
      c = (unsigned char)(c - 'A' + 'a');
    h = (h ^ c) * 1099511628211ull;
  }
  return h;
}

/* SQLite folds ASCII case only in names. */
static bool name_eq(const char *a, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char x = (unsigned char)a[i], y = (unsigned char)s[i];
    if (x == '\0')
      return false;
    if (x >= 'A' && x <= 'Z')
      x = (unsigned char)(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z')
      y = (unsigned char)(y - 'A' + 'a');
    if (x != y)
      return false;
  }
  return a[n] == '\0';
}

static void lazy_index_free(osq_db *db) {
  free(db->lazy_slots);
  free(db->lazy_names);
  db->lazy_slots = NULL;
  db->lazy_names = NULL;
  db->lazy_cap = db->nlazy_names = db->nlazy = 0;
}

static void lazy_index_add(osq_db *db, const char *name, size_t att) {
  size_t k = db->nlazy_names++;
  db->lazy_names[k] = (struct osq_lazy_name){name, att};
  size_t mask = db->lazy_cap - 1;
  size_t i = (size_t)name_hash(name, strlen(name)) & mask;
  while (db->lazy_slots[i])
    i = (i + 1) & mask;
  db->lazy_slots[i] = (uint32_t)(k + 1);
}

/* After a sync: index the names of lazy tables. On failure nothing is
 * lazy any more: every table is created at once instead. */
static bool lazy_index_build(osq_db *db) {
  lazy_index_free(db);
  size_t names = 0, lazy = 0;
  for (size_t i = 0; i < db->natt; i++)
    if (db->att[i].lazy)
      names += 1 + db->att[i].naliases, lazy++;
  if (lazy == 0)
    return true;
  size_t cap = 16;
  while (cap < names * 2)
    cap *= 2;
  if (names >= UINT32_MAX / 2 ||
      (db->lazy_slots = calloc(cap, sizeof *db->lazy_slots)) == NULL ||
      (db->lazy_names = calloc(names, sizeof *db->lazy_names)) == NULL) {
    lazy_index_free(db);
    return false;
  }
  db->lazy_cap = cap;
  db->nlazy = lazy;
  for (size_t i = 0; i < db->natt; i++) {
    struct osq_attached *a = &db->att[i];
    if (!a->lazy)
      continue;
    lazy_index_add(db, a->name, i);
    for (size_t j = 0; j < a->naliases; j++)
      lazy_index_add(db, a->aliases[j], i);
  }
  return true;
}

/* The att[] index of a lazy table named s (or aliased so), or SIZE_MAX. */
static size_t lazy_find(osq_db *db, const char *s, size_t n) {
  if (db->nlazy == 0 || n == 0 || n > OSQ_SQL_MAX_NAME)
    return SIZE_MAX;
  size_t mask = db->lazy_cap - 1;
  for (size_t i = (size_t)name_hash(s, n) & mask; db->lazy_slots[i];
       i = (i + 1) & mask) {
    const struct osq_lazy_name *ln = &db->lazy_names[db->lazy_slots[i] - 1];
    if (name_eq(ln->name, s, n))
      return db->att[ln->att].lazy ? ln->att : SIZE_MAX;
  }
  return SIZE_MAX;
}

/* Create a lazy table now, from the registry's current plugin. */
static void attach_lazy(osq_db *db, size_t i) {
  struct osq_attached *a = &db->att[i];
  if (!a->lazy)
    return;
  a->lazy = false;
  db->nlazy--;
  const osq_plugin *p = osq_registry_get(OSQ_REGISTRY_TABLE, a->name);
  if (p == NULL)
    return; /* removed since the sync: the next sync drops the entry */
  char *ddl = osq_vtab_ddl(p->u.table, p->owner);
  if (ddl == NULL) {
    OSQ_WARN("Cannot attach table %s: no valid columns", p->name);
    osq_plugin_release(p);
    return;
  }
  a->sig = signature(p, ddl);
  bool internal = db->internal;
  db->internal = true;
  if (a->sig)
    attach(db, p, ddl, a);
  db->internal = internal;
  sqlite3_free(ddl);
  osq_plugin_release(p);
}

static void attach_all_lazy(osq_db *db) {
  for (size_t i = 0; i < db->natt && db->nlazy; i++)
    attach_lazy(db, i);
}

static bool schema_reader(const char *s, size_t n) {
  static const char *const names[] = {"sqlite_master", "sqlite_schema",
                                      "sqlite_temp_master",
                                      "sqlite_temp_schema"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (name_eq(names[i], s, n))
      return true;
  return false;
}

static bool ident_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '$' || c >= 0x80;
}

/* Create every lazy table that sql names. */
static void attach_named(osq_db *db, const char *sql) {
  const char *p = sql;
  while (*p && db->nlazy) {
    unsigned char c = (unsigned char)*p;
    const char *tok = NULL;
    size_t n = 0;
    if (c == '-' && p[1] == '-') {
      while (*p && *p != '\n')
        p++;
      continue;
    }
    if (c == '/' && p[1] == '*') {
      const char *e = strstr(p + 2, "*/");
      p = e ? e + 2 : p + strlen(p);
      continue;
    }
    if (ident_char(c)) {
      tok = p;
      while (ident_char((unsigned char)*p))
        p++;
      n = (size_t)(p - tok);
    } else if (c == '"' || c == '\'' || c == '`' || c == '[') {
      char close = c == '[' ? ']' : (char)c;
      tok = ++p;
      while (*p && *p != close)
        p++;
      n = (size_t)(p - tok);
      if (*p)
        p++;
    } else {
      p++;
      continue;
    }
    if (schema_reader(tok, n)) {
      attach_all_lazy(db);
      return;
    }
    size_t i = lazy_find(db, tok, n);
    if (i != SIZE_MAX)
      attach_lazy(db, i);
  }
}

/* After a failed prepare: create the table SQLite missed, if it is lazy
 * (a view made earlier on this connection names it). */
static bool attach_missing(osq_db *db) {
  static const char prefix[] = "no such table: ";
  const char *msg = sqlite3_errmsg(db->db);
  if (db->nlazy == 0 || strncmp(msg, prefix, sizeof prefix - 1) != 0)
    return false;
  const char *name = msg + sizeof prefix - 1;
  size_t i = lazy_find(db, name, strlen(name));
  const char *dot = strchr(name, '.');
  if (i == SIZE_MAX && dot)
    i = lazy_find(db, dot + 1, strlen(dot + 1));
  if (i == SIZE_MAX)
    return false;
  attach_lazy(db, i);
  return true;
}

/* ---- sync with the registry --------------------------------------------- */

static bool aliases_copy(const osq_table_plugin *t, struct osq_attached *a) {
  size_t n = 0;
  for (const char *const *al = t->aliases; al && *al; al++)
    n++;
  if (n == 0)
    return true;
  a->aliases = calloc(n, sizeof *a->aliases);
  if (a->aliases == NULL)
    return false;
  for (const char *const *al = t->aliases; al && *al; al++) {
    if (strnlen(*al, OSQ_SQL_MAX_NAME + 1) > OSQ_SQL_MAX_NAME)
      continue;
    if ((a->aliases[a->naliases] = strdup(*al)) == NULL)
      return false;
    a->naliases++;
  }
  return true;
}

/* Bring att[] in line with the registry. A table attached before and
 * still registered the same way stays; one changed is re-created now (a
 * view may use it); one not attached yet becomes lazy. Returns true when
 * att[] was rebuilt. */
static bool sync_tables(osq_db *db) {
  uint64_t gen = osq_registry_generation();
  /* The flag shapes pushdown for extension tables; a change re-attaches
   * them (their signature includes it). */
  bool default_index = OSQ_FLAG_BOOL(extensions_default_index);
  if (db->has_generation && gen == db->generation &&
      default_index == db->default_index)
    return false;
  db->default_index = default_index;
  const osq_plugin **list = NULL;
  size_t n = osq_registry_list(OSQ_REGISTRY_TABLE, &list);
  struct osq_attached *next = calloc(n ? n : 1, sizeof *next);
  char **ddls = calloc(n ? n : 1, sizeof *ddls);
  const osq_plugin **plist = calloc(n ? n : 1, sizeof *plist);
  bool *keep = calloc(db->natt ? db->natt : 1, sizeof *keep);
  if (!next || !ddls || !keep || !plist) {
    free(next), free(ddls), free(keep), free(plist);
    osq_registry_list_free(list, n);
    return false;
  }
  lazy_index_free(db); /* it points into att[] */
  db->internal = true;
  size_t nn = 0;
  /* First decide what stays, then drop the rest, then create: a table
   * replaced under the same name is dropped before it is re-created. */
  for (size_t i = 0; i < n; i++) {
    const osq_plugin *p = list[i];
    if (!name_ok_for_sql(p->name) || table_disabled(p->name))
      continue;
    size_t old = SIZE_MAX;
    for (size_t j = 0; j < db->natt; j++)
      if (!keep[j] && db->att[j].ok && strcmp(db->att[j].name, p->name) == 0) {
        old = j;
        break;
      }
    struct osq_attached *a = &next[nn];
    if ((a->name = strdup(p->name)) == NULL)
      continue;
    if (old == SIZE_MAX) {
      a->lazy = true;
      if (!aliases_copy(p->u.table, a)) {
        att_free(a);
        continue;
      }
      nn++;
      continue;
    }
    char *ddl = osq_vtab_ddl(p->u.table, p->owner);
    if (ddl == NULL) {
      OSQ_WARN("Cannot attach table %s: no valid columns", p->name);
      att_free(a);
      continue;
    }
    char *sig = signature(p, ddl);
    a->sig = sig;
    if (sig == NULL) {
      sqlite3_free(ddl);
      att_free(a);
      continue;
    }
    if (db->att[old].sig && strcmp(db->att[old].sig, sig) == 0) {
      keep[old] = true;
      att_free(a);
      *a = db->att[old];
      memset(&db->att[old], 0, sizeof db->att[old]);
      sqlite3_free(ddl);
      ddl = NULL;
    }
    ddls[nn] = ddl; /* NULL: kept as is */
    plist[nn] = p;
    nn++;
  }
  for (size_t j = 0; j < db->natt; j++) {
    if (!keep[j] && db->att[j].name)
      detach(db, &db->att[j]);
    att_free(&db->att[j]);
  }
  for (size_t i = 0; i < nn; i++) {
    if (ddls[i])
      attach(db, plist[i], ddls[i], &next[i]);
    sqlite3_free(ddls[i]);
  }
  db->internal = false;
  free(db->att);
  db->att = next;
  db->natt = nn;
  db->capatt = n;
  db->generation = gen;
  db->has_generation = true;
  free(ddls);
  free(keep);
  free(plist);
  osq_registry_list_free(list, n);
  if (!lazy_index_build(db)) {
    for (size_t i = 0; i < db->natt; i++)
      if (db->att[i].lazy)
        db->nlazy++;
    attach_all_lazy(db);
  }
  return true;
}

/* Public: the caller may read the schema directly, so nothing stays
 * lazy. */
int osq_db_sync(osq_db *db) {
  sync_tables(db);
  attach_all_lazy(db);
  return SQLITE_OK;
}

/* ---- open / close -------------------------------------------------------- */

osq_db *osq_db_open(char *err, size_t errlen) {
  osq_db *db = calloc(1, sizeof *db);
  if (db == NULL) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  int rc = sqlite3_open_v2(":memory:", &db->db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                               SQLITE_OPEN_NOMUTEX,
                           NULL);
  if (rc != SQLITE_OK) {
    snprintf(err, errlen, "cannot open SQLite: %s",
             db->db ? sqlite3_errmsg(db->db) : sqlite3_errstr(rc));
    sqlite3_close(db->db);
    free(db);
    return NULL;
  }
  /* osquery's settings; the in-memory DB never needs durability. */
  sqlite3_exec(db->db,
               "PRAGMA synchronous=OFF; PRAGMA journal_mode=OFF;"
               "PRAGMA auto_vacuum=FULL; PRAGMA cache_size=0;",
               NULL, NULL, NULL);
  if (osq_sql_register_functions(db->db, err, errlen) != SQLITE_OK)
    goto fail;
  if (osq_vtab_register(db) != SQLITE_OK) {
    snprintf(err, errlen, "cannot register the table module: %s",
             sqlite3_errmsg(db->db));
    goto fail;
  }
  sqlite3_set_authorizer(db->db, authorizer, db);
  db->planner = OSQ_FLAG_BOOL(planner);
  sync_tables(db);
  return db;
fail:
  sqlite3_close(db->db);
  free(db);
  return NULL;
}

void osq_db_close(osq_db *db) {
  if (db == NULL)
    return;
  osq_cache_clear(db);
  sqlite3_finalize(db->interrupt_probe);
  sqlite3_close_v2(db->db);
  lazy_index_free(db);
  for (size_t i = 0; i < db->natt; i++)
    att_free(&db->att[i]);
  free(db->att);
  free(db->buckets);
  free(db);
}

sqlite3 *osq_db_sqlite(osq_db *db) { return db ? db->db : NULL; }

/* ---- exec ---------------------------------------------------------------- */

static void set_err(char **errmsg, const char *msg) {
  if (errmsg && *errmsg == NULL)
    *errmsg = strdup(msg ? msg : "unknown error");
}

int osq_db_exec(osq_db *db, const char *sql, const osq_sql_sink *sink,
                char **errmsg) {
  if (errmsg)
    *errmsg = NULL;
  if (db == NULL || sql == NULL) {
    set_err(errmsg, "no connection or no SQL");
    return SQLITE_MISUSE;
  }
  const char *tail = sql;
  int rc = SQLITE_OK;
  /* Row sets are shared by every statement of this call; a write to a
   * table drops that table's sets at once. A call made from inside a sink
   * (nested) shares the outer call's sets, which outer cursors may still
   * point into. */
  if (db->exec_depth++ == 0) {
    osq_cache_clear(db); /* anything left by direct sqlite3 use */
    db->in_exec = true;
    db->planner = OSQ_FLAG_BOOL(planner);
  }
  bool scanned = false;
  while (tail && *tail) {
    /* The rest of the SQL is scanned for lazy tables once, and again only
     * when a sync brings new ones. */
    if (sync_tables(db) || !scanned) {
      attach_named(db, tail);
      scanned = true;
    }
    sqlite3_stmt *st = NULL;
    const char *next = NULL;
    rc = sqlite3_prepare_v2(db->db, tail, -1, &st, &next);
    for (size_t tries = 0; rc != SQLITE_OK && tries < db->natt &&
                           attach_missing(db);
         tries++)
      rc = sqlite3_prepare_v2(db->db, tail, -1, &st, &next);
    if (rc != SQLITE_OK) {
      set_err(errmsg, sqlite3_errmsg(db->db));
      break;
    }
    tail = next;
    if (st == NULL)
      continue; /* blank or a comment */
    if (sqlite3_column_count(st) > 0 && sink && sink->columns &&
        sink->columns(sink->u, st) != 0) {
      rc = SQLITE_ABORT;
      set_err(errmsg, "query aborted by the caller");
    }
    while (rc == SQLITE_OK) {
      int s = sqlite3_step(st);
      if (s == SQLITE_ROW) {
        if (sink && sink->row && sink->row(sink->u, st) != 0) {
          rc = SQLITE_ABORT;
          set_err(errmsg, "query aborted by the caller");
        }
      } else if (s == SQLITE_DONE) {
        break;
      } else {
        rc = s;
        set_err(errmsg, sqlite3_errmsg(db->db));
      }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_OK)
      break;
  }
  if (--db->exec_depth == 0) {
    db->in_exec = false;
    osq_cache_clear(db);
  }
  return rc;
}

/* ---- cells --------------------------------------------------------------- */

void osq_sql_cell_text(sqlite3_stmt *st, int col, char *buf, size_t cap,
                       const char **s, size_t *len) {
  switch (sqlite3_column_type(st, col)) {
  case SQLITE_INTEGER: {
    int n = snprintf(buf, cap, "%lld", (long long)sqlite3_column_int64(st, col));
    *s = buf;
    *len = n < 0 ? 0 : ((size_t)n < cap ? (size_t)n : cap ? cap - 1 : 0);
    return;
  }
  case SQLITE_FLOAT: {
    char tmp[64];
    int n = snprintf(tmp, sizeof tmp - 2, "%.15g", sqlite3_column_double(st, col));
    if (n < 0)
      n = 0;
    /* osquery appends ".0" whenever there is no '.', even to "1e+20". */
    if (strchr(tmp, '.') == NULL) {
      memcpy(tmp + n, ".0", 3);
      n += 2;
    }
    size_t m = cap ? ((size_t)n < cap ? (size_t)n : cap - 1) : 0;
    if (cap) {
      memcpy(buf, tmp, m);
      buf[m] = '\0';
    }
    *s = buf;
    *len = m;
    return;
  }
  case SQLITE_NULL:
    *s = OSQ_FLAG_STR(nullvalue);
    *len = strlen(*s);
    return;
  case SQLITE_BLOB: {
    const void *p = sqlite3_column_blob(st, col);
    *len = (size_t)sqlite3_column_bytes(st, col);
    *s = p ? p : "";
    return;
  }
  default: {
    const unsigned char *p = sqlite3_column_text(st, col);
    *len = (size_t)sqlite3_column_bytes(st, col);
    *s = p ? (const char *)p : "";
    return;
  }
  }
}

const char *osq_sql_column_type(sqlite3_stmt *st, int col) {
  const char *t = sqlite3_column_decltype(st, col);
  return t && *t ? t : "UNKNOWN";
}

/* ---- pool ---------------------------------------------------------------- */

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cv = PTHREAD_COND_INITIALIZER;
static osq_db *pool_idle[OSQ_SQL_POOL_MAX];
static size_t pool_nidle, pool_total;
static unsigned pool_epoch;

osq_db *osq_db_acquire(char *err, size_t errlen) {
  /* Bounded wait: a leaked or stuck connection must not hang every later
   * caller. */
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += OSQ_SQL_POOL_WAIT_SECONDS;
  pthread_mutex_lock(&pool_lock);
  for (;;) {
    if (pool_nidle > 0) {
      osq_db *db = pool_idle[--pool_nidle];
      pthread_mutex_unlock(&pool_lock);
      return db;
    }
    if (pool_total < OSQ_SQL_POOL_MAX)
      break;
    if (pthread_cond_timedwait(&pool_cv, &pool_lock, &deadline) == ETIMEDOUT &&
        pool_nidle == 0 && pool_total >= OSQ_SQL_POOL_MAX) {
      pthread_mutex_unlock(&pool_lock);
      snprintf(err, errlen,
               "all %d SQL connections stayed busy for %d seconds",
               OSQ_SQL_POOL_MAX, OSQ_SQL_POOL_WAIT_SECONDS);
      return NULL;
    }
  }
  pool_total++;
  unsigned epoch = pool_epoch;
  pthread_mutex_unlock(&pool_lock);
  osq_db *db = osq_db_open(err, errlen);
  pthread_mutex_lock(&pool_lock);
  if (db == NULL) {
    pool_total--;
    pthread_cond_signal(&pool_cv);
  } else {
    db->in_pool = true;
    db->pool_epoch = epoch;
  }
  pthread_mutex_unlock(&pool_lock);
  return db;
}

void osq_db_release(osq_db *db) {
  if (db == NULL)
    return;
  if (!db->in_pool) {
    osq_db_close(db);
    return;
  }
  pthread_mutex_lock(&pool_lock);
  if (db->pool_epoch != pool_epoch || pool_nidle >= OSQ_SQL_POOL_MAX) {
    pool_total--;
    pthread_cond_signal(&pool_cv);
    pthread_mutex_unlock(&pool_lock);
    osq_db_close(db);
    return;
  }
  pool_idle[pool_nidle++] = db;
  pthread_cond_signal(&pool_cv);
  pthread_mutex_unlock(&pool_lock);
}

/* Closes idle connections; busy ones close when they are released. */
void osq_db_pool_shutdown(void) {
  osq_db *idle[OSQ_SQL_POOL_MAX];
  pthread_mutex_lock(&pool_lock);
  size_t n = pool_nidle;
  memcpy(idle, pool_idle, n * sizeof *idle);
  pool_nidle = 0;
  pool_total -= n;
  pool_epoch++;
  pthread_cond_broadcast(&pool_cv);
  pthread_mutex_unlock(&pool_lock);
  for (size_t i = 0; i < n; i++)
    osq_db_close(idle[i]);
}
