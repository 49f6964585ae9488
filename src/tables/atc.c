#include "tables/atc.h"

#include "core/cancel.h"
#include "core/log.h"
#include "core/platform.h"
#include "registry/registry.h"
#include "tables/fsglob.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One ATC table; it is the plugin's udata and lives until the registry
 * lets go of it (destroy). */
typedef struct atc_table {
  osq_table_plugin plugin;
  osq_column *cols;
  size_t ncols;
  size_t path_col; /* index of the implicit or named "path" column */
  char *name, *query, *path;
  char *settings; /* name, query, columns and path: "changed?" */
} atc_table;

/* The names of the tables this module registered, with their settings. */
typedef struct atc_entry {
  char *name;
  char *settings;
} atc_entry;

static pthread_mutex_t apply_lock = PTHREAD_MUTEX_INITIALIZER;
static atc_entry *entries;
static size_t nentries;

/* ---- generate ------------------------------------------------------------ */

/* Reading only: whatever the query says, the database is not changed. */
static int read_only(void *u, int action, const char *a, const char *b,
                     const char *db, const char *trigger) {
  (void)u, (void)a, (void)b, (void)db, (void)trigger;
  switch (action) {
  case SQLITE_SELECT:
  case SQLITE_READ:
  case SQLITE_FUNCTION:
  case SQLITE_RECURSIVE: return SQLITE_OK;
  default: return SQLITE_DENY;
  }
}

unsigned long long osq_atc_max_steps = OSQ_ATC_MAX_STEPS;

#define STEPS_PER_CHECK 10000

/* Called every STEPS_PER_CHECK VM steps: stop when the statement is no
 * longer wanted or the query has used up its steps. */
static int keep_running(void *u) {
  unsigned long long *steps = u;
  *steps += STEPS_PER_CHECK;
  return (*steps > osq_atc_max_steps || osq_cancelled()) ? 1 : 0;
}

static void put_cell(osq_rows *out, size_t col, sqlite3_stmt *st, int i) {
  switch (sqlite3_column_type(st, i)) {
  case SQLITE_INTEGER: osq_rows_int(out, col, sqlite3_column_int64(st, i)); break;
  case SQLITE_FLOAT: {
    char buf[32];
    snprintf(buf, sizeof buf, "%.17g", sqlite3_column_double(st, i));
    osq_rows_cstr(out, col, buf);
    break;
  }
  case SQLITE_TEXT:
  case SQLITE_BLOB: {
    const unsigned char *s = sqlite3_column_text(st, i);
    if (s)
      osq_rows_text(out, col, (const char *)s,
                    (size_t)sqlite3_column_bytes(st, i));
    break;
  }
  default: break; /* NULL stays unset */
  }
}

/* The rows of one database file. False when the sink refused a row (it
 * is full): stop reading other files too. */
static bool rows_of(const atc_table *t, const char *file, osq_rows *out) {
  sqlite3 *db = NULL;
  /* no locks, as osquery reads ATC databases: an application holding its
   * own database open must not block us, nor we it */
  int rc = sqlite3_open_v2(file, &db,
                           SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX |
                               SQLITE_OPEN_PRIVATECACHE,
                           "unix-none");
  if (rc != SQLITE_OK) {
    OSQ_WARN("ATC table %s: cannot open %s: %s", t->name, file,
             db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);
    return true;
  }
  sqlite3_set_authorizer(db, read_only, NULL);
  unsigned long long steps = 0;
  sqlite3_progress_handler(db, STEPS_PER_CHECK, keep_running, &steps);
  sqlite3_stmt *st = NULL;
  rc = sqlite3_prepare_v2(db, t->query, -1, &st, NULL);
  if (rc != SQLITE_OK) {
    OSQ_WARN("ATC table %s: cannot query %s: %s", t->name, file,
             sqlite3_errmsg(db));
    sqlite3_close(db);
    return true;
  }
  int n = sqlite3_column_count(st);
  /* result column -> table column (or -1), resolved once */
  int *map = calloc(n > 0 ? (size_t)n : 1, sizeof *map);
  bool own_path = false, more = map != NULL;
  for (int i = 0; more && i < n; i++) {
    const char *cname = sqlite3_column_name(st, i);
    map[i] = -1;
    for (size_t c = 0; cname && c < t->ncols; c++)
      if (strcmp(cname, t->cols[c].name) == 0)
        map[i] = (int)c;
    if (cname && strcasecmp(cname, "path") == 0)
      own_path = true;
  }
  if (own_path)
    OSQ_WARN("ATC table %s: the query returns a path column; the database "
             "path is not added",
             t->name);
  while (more && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    for (int i = 0; i < n; i++)
      if (map[i] >= 0)
        put_cell(out, (size_t)map[i], st, i);
    if (!own_path)
      osq_rows_cstr(out, t->path_col, file);
    more = osq_rows_end(out) == OSQ_OK;
  }
  if (more && rc != SQLITE_DONE && steps > osq_atc_max_steps)
    OSQ_WARN("ATC table %s: the query on %s stopped after %llu steps "
             "(OSQ_ATC_MAX_STEPS)",
             t->name, file, osq_atc_max_steps);
  else if (more && rc != SQLITE_DONE)
    OSQ_WARN("ATC table %s: reading %s failed: %s", t->name, file,
             sqlite3_errmsg(db));
  free(map);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return more || map == NULL;
}

static int atc_generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)ctx;
  const atc_table *t = udata;
  osq_pathlist files = {0};
  int rc = osq_glob_has_wildcard(t->path)
               ? osq_glob_expand(t->path, OSQ_GLOB_FILES, &files)
               : osq_pathlist_add(&files, t->path);
  if (rc == OSQ_ENOMEM) {
    osq_pathlist_free(&files);
    osq_rows_error(out, "ATC table %s: out of memory expanding %s", t->name,
                   t->path);
    return OSQ_ERROR;
  }
  osq_pathlist_unique(&files);
  for (size_t i = 0; i < files.n && !files.cancelled; i++) {
    if (osq_cancelled() || !rows_of(t, files.items[i], out))
      break;
  }
  osq_pathlist_free(&files);
  return OSQ_OK;
}

/* ---- building a table from its spec -------------------------------------- */

static void atc_free(void *udata) {
  atc_table *t = udata;
  if (t == NULL)
    return;
  for (size_t i = 0; i < t->ncols; i++)
    free((char *)t->cols[i].name);
  free(t->cols);
  free(t->name);
  free(t->query);
  free(t->path);
  free(t->settings);
  free(t);
}

static bool name_ok(const char *s) {
  if (s == NULL || *s == '\0' || strlen(s) > OSQ_ATC_MAX_NAME)
    return false;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if (*p < 0x20 || *p == 0x7f)
      return false;
  return true;
}

static const char *str_member(const json_t *o, const char *key) {
  const json_t *v = json_object_get(o, key);
  return json_is_string(v) ? json_string_value(v) : "";
}

static bool add_column(atc_table *t, const char *name) {
  for (size_t i = 0; i < t->ncols; i++)
    if (strcmp(t->cols[i].name, name) == 0)
      return true; /* named twice: one column */
  char *copy = strdup(name);
  if (copy == NULL)
    return false;
  t->cols[t->ncols++] = (osq_column){copy, OSQ_TYPE_TEXT, 0};
  return true;
}

/* The table for spec, or NULL with a warning saying why not. */
static atc_table *table_from_spec(const char *name, const json_t *spec) {
  const char *query = str_member(spec, "query");
  const char *path = str_member(spec, "path");
  if (!json_is_object(spec) || !*query || !*path || !name_ok(name)) {
    OSQ_WARN("ATC Table: %s is misconfigured", name);
    return NULL;
  }
  const json_t *cols = json_object_get(spec, "columns");
  size_t ncols = json_is_array(cols) ? json_array_size(cols) : 0;
  if (ncols > OSQ_ATC_MAX_COLUMNS) {
    OSQ_WARN("ATC Table: %s has more than %d columns", name,
             OSQ_ATC_MAX_COLUMNS);
    return NULL;
  }
  atc_table *t = calloc(1, sizeof *t);
  if (t == NULL)
    return NULL;
  t->cols = calloc(ncols + 1, sizeof *t->cols);
  t->name = strdup(name);
  t->query = strdup(query);
  t->path = strdup(path);
  /* \x01 separates the parts: no name or query holds it unchanged */
  sqlite3_str *settings = sqlite3_str_new(NULL);
  sqlite3_str_appendf(settings, "%s\x01%s\x01", name, query);
  bool ok = t->cols && t->name && t->query && t->path;
  for (size_t i = 0; ok && i < ncols; i++) {
    const json_t *c = json_array_get(cols, i);
    if (!json_is_string(c) || !name_ok(json_string_value(c))) {
      OSQ_WARN("ATC Table: %s has a column that is not a name", name);
      atc_free(t);
      sqlite3_free(sqlite3_str_finish(settings));
      return NULL;
    }
    ok = add_column(t, json_string_value(c));
    sqlite3_str_appendf(settings, "%s,", json_string_value(c));
  }
  ok = ok && add_column(t, "path");
  for (size_t i = 0; ok && i < t->ncols; i++)
    if (strcmp(t->cols[i].name, "path") == 0)
      t->path_col = i;
  sqlite3_str_appendf(settings, "\x01%s", path);
  char *s = sqlite3_str_finish(settings);
  ok = ok && s && (t->settings = strdup(s)) != NULL;
  sqlite3_free(s);
  if (!ok) {
    OSQ_WARN("ATC Table: %s: out of memory", name);
    atc_free(t);
    return NULL;
  }
  t->plugin = (osq_table_plugin){
      .name = t->name,
      .columns = t->cols,
      .ncolumns = t->ncols,
      .generate = atc_generate,
      .udata = t,
      .destroy = atc_free,
  };
  return t;
}

/* ---- applying a section --------------------------------------------------- */

static atc_entry *entry_find(const char *name) {
  for (size_t i = 0; i < nentries; i++)
    if (strcmp(entries[i].name, name) == 0)
      return &entries[i];
  return NULL;
}

static void entry_drop(atc_entry *e) {
  osq_registry_remove(OSQ_REGISTRY_TABLE, e->name);
  OSQ_INFO("Removed ATC table: %s", e->name);
  free(e->name);
  free(e->settings);
  *e = entries[--nentries];
}

/* Register t (taking it) in place of an older ATC table of its name. */
static void install(atc_table *t) {
  atc_entry *old = entry_find(t->name);
  if (old)
    entry_drop(old);
  if (nentries >= OSQ_ATC_MAX_TABLES) {
    OSQ_WARN("ATC Table: %s not registered: more than %d ATC tables",
             t->name, OSQ_ATC_MAX_TABLES);
    atc_free(t);
    return;
  }
  atc_entry *grown = realloc(entries, (nentries + 1) * sizeof *entries);
  char *name = strdup(t->name), *settings = strdup(t->settings);
  if (grown)
    entries = grown;
  if (!grown || !name || !settings) {
    free(name);
    free(settings);
    atc_free(t);
    return;
  }
  char err[256];
  if (osq_registry_add(OSQ_REGISTRY_TABLE, &t->plugin, OSQ_CORE_UUID, false,
                       err, sizeof err) != OSQ_OK) {
    OSQ_WARN("ATC table %s overrides another table; refusing registration "
             "(%s)",
             t->name, err);
    free(name);
    free(settings);
    atc_free(t);
    return;
  }
  entries[nentries++] = (atc_entry){name, settings};
  OSQ_INFO("Registered ATC table: %s", name);
}

size_t osq_atc_apply(const json_t *section) {
  pthread_mutex_lock(&apply_lock);
  size_t nspecs = json_is_object(section) ? json_object_size(section) : 0;
  if (nspecs > OSQ_ATC_MAX_TABLES) {
    OSQ_WARN("ATC: the section names %zu tables; only the first %d are "
             "read",
             nspecs, OSQ_ATC_MAX_TABLES);
    nspecs = OSQ_ATC_MAX_TABLES;
  }
  atc_table **fresh = calloc(nspecs ? nspecs : 1, sizeof *fresh);
  size_t nfresh = 0;
  const char *name;
  const json_t *spec;
  if (fresh && nspecs) {
    json_object_foreach((json_t *)section, name, spec) {
      if (nfresh >= nspecs)
        break;
      if (!osq_platform_matches(str_member(spec, "platform")))
        continue; /* not for this host, as osquery skips it */
      atc_table *t = table_from_spec(name, spec);
      if (t)
        fresh[nfresh++] = t;
    }
  }
  /* what is no longer (validly) specified goes, as in osquery */
  for (size_t i = 0; i < nentries;) {
    bool kept = false;
    for (size_t k = 0; k < nfresh && !kept; k++)
      kept = strcmp(fresh[k]->name, entries[i].name) == 0;
    if (kept)
      i++;
    else
      entry_drop(&entries[i]);
  }
  for (size_t k = 0; k < nfresh; k++) {
    atc_entry *e = entry_find(fresh[k]->name);
    if (e && strcmp(e->settings, fresh[k]->settings) == 0)
      atc_free(fresh[k]); /* unchanged */
    else
      install(fresh[k]);
  }
  free(fresh);
  size_t n = nentries;
  pthread_mutex_unlock(&apply_lock);
  return n;
}
