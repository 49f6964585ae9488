#include "daemon/store.h"

#include "core/log.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct osq_store {
  sqlite3 *db;
};

static const char *kSchema =
    "CREATE TABLE IF NOT EXISTS queries("
    " name TEXT PRIMARY KEY, rows TEXT NOT NULL, epoch INTEGER NOT NULL,"
    " counter INTEGER NOT NULL, sql TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS settings("
    " key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS waiting_lines("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, logger TEXT NOT NULL,"
    " kind INTEGER NOT NULL, line TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS waiting_lines_logger"
    " ON waiting_lines(logger);";

/* mkdir -p for the parent directory of path. */
static int make_parent(const char *path, char *err, size_t errlen) {
  char buf[4096];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
    snprintf(err, errlen, "database path too long: %s", path);
    return -1;
  }
  char *slash = strrchr(buf, '/');
  if (slash == NULL || slash == buf)
    return 0;
  *slash = '\0';
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
      snprintf(err, errlen, "cannot create %s: %s", buf, strerror(errno));
      return -1;
    }
    *p = '/';
  }
  if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
    snprintf(err, errlen, "cannot create %s: %s", buf, strerror(errno));
    return -1;
  }
  return 0;
}

osq_store *osq_store_open(const char *path, char *err, size_t errlen) {
  osq_store *s = calloc(1, sizeof *s);
  if (s == NULL) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  if (path && make_parent(path, err, errlen) != 0) {
    free(s);
    return NULL;
  }
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
              SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path ? path : ":memory:", &s->db, flags, NULL);
  if (rc != SQLITE_OK) {
    snprintf(err, errlen, "cannot open database %s: %s",
             path ? path : ":memory:",
             s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
    sqlite3_close(s->db);
    free(s);
    return NULL;
  }
  sqlite3_busy_timeout(s->db, 5000);
  char *msg = NULL;
  const char *pragmas = path ? "PRAGMA journal_mode=WAL;"
                               "PRAGMA synchronous=NORMAL;"
                             : "";
  if (sqlite3_exec(s->db, pragmas, NULL, NULL, &msg) != SQLITE_OK ||
      sqlite3_exec(s->db, kSchema, NULL, NULL, &msg) != SQLITE_OK) {
    snprintf(err, errlen, "cannot initialise database %s: %s",
             path ? path : ":memory:", msg ? msg : "unknown error");
    sqlite3_free(msg);
    sqlite3_close(s->db);
    free(s);
    return NULL;
  }
  if (path)
    chmod(path, 0600);
  return s;
}

void osq_store_close(osq_store *s) {
  if (s == NULL)
    return;
  sqlite3_close(s->db);
  free(s);
}

static sqlite3_stmt *prep(osq_store *s, const char *sql) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
    OSQ_ERR("results store: %s", sqlite3_errmsg(s->db));
    return NULL;
  }
  return st;
}

static char *col_dup(sqlite3_stmt *st, int c) {
  const unsigned char *t = sqlite3_column_text(st, c);
  return strdup(t ? (const char *)t : "");
}

int osq_store_get_query(osq_store *s, const char *name,
                        osq_stored_query *out) {
  memset(out, 0, sizeof *out);
  sqlite3_stmt *st =
      prep(s, "SELECT rows, epoch, counter, sql FROM queries WHERE name=?");
  if (st == NULL)
    return -1;
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  int ret = 0;
  if (rc == SQLITE_ROW) {
    out->rows = col_dup(st, 0);
    out->epoch = (uint64_t)sqlite3_column_int64(st, 1);
    out->counter = (uint64_t)sqlite3_column_int64(st, 2);
    out->sql = col_dup(st, 3);
    ret = (out->rows && out->sql) ? 1 : -1;
  } else if (rc != SQLITE_DONE) {
    OSQ_ERR("results store: %s", sqlite3_errmsg(s->db));
    ret = -1;
  }
  sqlite3_finalize(st);
  return ret;
}

void osq_stored_query_free(osq_stored_query *q) {
  free(q->rows);
  free(q->sql);
  memset(q, 0, sizeof *q);
}

static int step_done(osq_store *s, sqlite3_stmt *st) {
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) {
    OSQ_ERR("results store: %s", sqlite3_errmsg(s->db));
    return -1;
  }
  return 0;
}

int osq_store_put_query(osq_store *s, const char *name, const char *rows,
                        uint64_t epoch, uint64_t counter, const char *sql) {
  sqlite3_stmt *st = prep(s, "INSERT OR REPLACE INTO queries"
                             "(name, rows, epoch, counter, sql)"
                             " VALUES(?,?,?,?,?)");
  if (st == NULL)
    return -1;
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, rows, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, (sqlite3_int64)epoch);
  sqlite3_bind_int64(st, 4, (sqlite3_int64)counter);
  sqlite3_bind_text(st, 5, sql, -1, SQLITE_STATIC);
  return step_done(s, st);
}

int osq_store_set_query_sql(osq_store *s, const char *name, const char *sql) {
  sqlite3_stmt *st = prep(s, "UPDATE queries SET sql=? WHERE name=?");
  if (st == NULL)
    return -1;
  sqlite3_bind_text(st, 1, sql, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
  return step_done(s, st);
}

int osq_store_delete_query(osq_store *s, const char *name) {
  sqlite3_stmt *st = prep(s, "DELETE FROM queries WHERE name=?");
  if (st == NULL)
    return -1;
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  return step_done(s, st);
}

/* Every row's first column, as strings; finalizes st. */
static size_t first_column(sqlite3_stmt *st, char ***out) {
  size_t n = 0, cap = 0;
  char **v = NULL;
  while (sqlite3_step(st) == SQLITE_ROW) {
    if (n == cap) {
      cap = cap ? cap * 2 : 16;
      char **nv = realloc(v, cap * sizeof *nv);
      if (nv == NULL)
        break;
      v = nv;
    }
    v[n] = col_dup(st, 0);
    if (v[n])
      n++;
  }
  sqlite3_finalize(st);
  *out = v;
  return n;
}

size_t osq_store_query_names(osq_store *s, char ***out) {
  *out = NULL;
  sqlite3_stmt *st = prep(s, "SELECT name FROM queries ORDER BY name");
  if (st == NULL)
    return 0;
  return first_column(st, out);
}

char *osq_store_get(osq_store *s, const char *key) {
  sqlite3_stmt *st = prep(s, "SELECT value FROM settings WHERE key=?");
  if (st == NULL)
    return NULL;
  sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
  char *v = NULL;
  if (sqlite3_step(st) == SQLITE_ROW)
    v = col_dup(st, 0);
  sqlite3_finalize(st);
  return v;
}

int osq_store_set(osq_store *s, const char *key, const char *value) {
  sqlite3_stmt *st =
      prep(s, "INSERT OR REPLACE INTO settings(key, value) VALUES(?,?)");
  if (st == NULL)
    return -1;
  sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
  return step_done(s, st);
}

int osq_store_del(osq_store *s, const char *key) {
  sqlite3_stmt *st = prep(s, "DELETE FROM settings WHERE key=?");
  if (st == NULL)
    return -1;
  sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
  return step_done(s, st);
}

void osq_store_dump(osq_store *s, FILE *out) {
  sqlite3_stmt *st = prep(s, "SELECT name, rows, epoch, counter, sql"
                             " FROM queries ORDER BY name");
  while (st && sqlite3_step(st) == SQLITE_ROW) {
    const char *n = (const char *)sqlite3_column_text(st, 0);
    fprintf(out, "queries[%s]: %s\n", n, sqlite3_column_text(st, 1));
    fprintf(out, "queries[%sepoch]: %lld\n", n,
            (long long)sqlite3_column_int64(st, 2));
    fprintf(out, "queries[%scounter]: %lld\n", n,
            (long long)sqlite3_column_int64(st, 3));
    fprintf(out, "queries[query.%s]: %s\n", n, sqlite3_column_text(st, 4));
  }
  sqlite3_finalize(st);
  st = prep(s, "SELECT key, value FROM settings ORDER BY key");
  while (st && sqlite3_step(st) == SQLITE_ROW)
    fprintf(out, "configurations[%s]: %s\n", sqlite3_column_text(st, 0),
            sqlite3_column_text(st, 1));
  sqlite3_finalize(st);
}

size_t osq_store_keys(osq_store *s, const char *prefix, char ***out) {
  *out = NULL;
  sqlite3_stmt *st = prep(s, "SELECT key FROM settings WHERE substr(key, 1, "
                             "length(?1)) = ?1 ORDER BY key");
  if (st == NULL)
    return 0;
  sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
  return first_column(st, out);
}

int osq_store_line_wait(osq_store *s, const char *logger, int kind,
                        const char *line, size_t len) {
  sqlite3_stmt *st = prep(s, "INSERT INTO waiting_lines(logger, kind, line)"
                             " VALUES(?,?,?)");
  if (st == NULL)
    return -1;
  sqlite3_bind_text(st, 1, logger, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 2, kind);
  sqlite3_bind_text(st, 3, line, (int)len, SQLITE_STATIC);
  return step_done(s, st);
}

static int64_t count_of(osq_store *s, const char *sql, const char *logger) {
  sqlite3_stmt *st = prep(s, sql);
  if (st == NULL)
    return -1;
  if (logger)
    sqlite3_bind_text(st, 1, logger, -1, SQLITE_STATIC);
  int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
  sqlite3_finalize(st);
  return n;
}

int64_t osq_store_lines_waiting(osq_store *s, const char *logger) {
  if (logger) /* whether any waits: no need to count them all */
    return count_of(s,
                    "SELECT EXISTS(SELECT 1 FROM waiting_lines WHERE logger=?)",
                    logger);
  return count_of(s, "SELECT count(*) FROM waiting_lines", NULL);
}

size_t osq_store_waiting_loggers(osq_store *s, char ***out) {
  *out = NULL;
  sqlite3_stmt *st =
      prep(s, "SELECT DISTINCT logger FROM waiting_lines ORDER BY logger");
  if (st == NULL)
    return 0;
  return first_column(st, out);
}

int64_t osq_store_lines_offer(osq_store *s, const char *logger,
                              osq_store_line_fn fn, void *udata) {
  sqlite3_stmt *st = prep(s, "SELECT seq, kind, line FROM waiting_lines"
                             " WHERE logger=? ORDER BY seq");
  if (st == NULL)
    return -1;
  sqlite3_bind_text(st, 1, logger, -1, SQLITE_STATIC);
  int64_t taken = 0, last = -1;
  while (sqlite3_step(st) == SQLITE_ROW) {
    const char *line = (const char *)sqlite3_column_text(st, 2);
    size_t len = (size_t)sqlite3_column_bytes(st, 2);
    if (line == NULL || !fn(sqlite3_column_int(st, 1), line, len, udata))
      break;
    last = sqlite3_column_int64(st, 0);
    taken++;
  }
  sqlite3_finalize(st);
  if (taken == 0)
    return 0;
  /* deleted after the scan: a statement still reading the table must not
   * see it change under it */
  sqlite3_stmt *del =
      prep(s, "DELETE FROM waiting_lines WHERE logger=? AND seq<=?");
  if (del == NULL)
    return -1;
  sqlite3_bind_text(del, 1, logger, -1, SQLITE_STATIC);
  sqlite3_bind_int64(del, 2, last);
  return step_done(s, del) == 0 ? taken : -1;
}
