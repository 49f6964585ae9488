/* The event store (see evstore.h). */
#include "events/evstore.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/log.h"

#define MAX_TYPES 32
#define EXPIRE_EVERY_S 10

typedef struct type_state {
  char name[64];
  uint64_t next_eid;
  uint64_t count;
  uint64_t dropped;
  int64_t last_expire;
  bool dirty; /* added to since the last commit */
  bool own_limits;
  uint64_t max, expiry;
} type_state;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static sqlite3 *db;
static sqlite3_stmt *ins;
static bool in_txn;
static type_state types[MAX_TYPES];
static size_t ntypes;

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS events(type TEXT NOT NULL, eid INTEGER NOT "
    "NULL, time INTEGER NOT NULL, row TEXT NOT NULL, PRIMARY KEY(type, eid)) "
    "WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS events_time ON events(type, time);"
    "CREATE TABLE IF NOT EXISTS seen(query TEXT NOT NULL, type TEXT NOT NULL, "
    "eid INTEGER NOT NULL, PRIMARY KEY(query, type)) WITHOUT ROWID;";

bool osq_evstore_is_open(void) {
  pthread_mutex_lock(&lock);
  bool open = db != NULL;
  pthread_mutex_unlock(&lock);
  return open;
}

int osq_evstore_open(const char *path, char *err, size_t errlen) {
  pthread_mutex_lock(&lock);
  if (db) {
    pthread_mutex_unlock(&lock);
    return 0;
  }
  int rc = sqlite3_open_v2(path ? path : ":memory:", &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                               SQLITE_OPEN_NOMUTEX,
                           NULL);
  char *msg = NULL;
  if (rc == SQLITE_OK) {
    sqlite3_busy_timeout(db, 5000);
    rc = sqlite3_exec(db, schema, NULL, NULL, &msg);
  }
  if (rc == SQLITE_OK)
    rc = sqlite3_prepare_v2(db,
                            "INSERT OR REPLACE INTO events(type, eid, time, "
                            "row) VALUES(?1, ?2, ?3, ?4)",
                            -1, &ins, NULL);
  if (rc != SQLITE_OK) {
    snprintf(err, errlen, "event store %s: %s", path ? path : "(memory)",
             msg ? msg : (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    sqlite3_free(msg);
    sqlite3_finalize(ins);
    ins = NULL;
    sqlite3_close(db);
    db = NULL;
    pthread_mutex_unlock(&lock);
    return -1;
  }
  ntypes = 0;
  in_txn = false;
  pthread_mutex_unlock(&lock);
  return 0;
}

static void commit_locked(void) {
  if (in_txn && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
    OSQ_ERR("Event store commit failed: %s", sqlite3_errmsg(db));
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  }
  in_txn = false;
}

void osq_evstore_close(void) {
  pthread_mutex_lock(&lock);
  if (db) {
    commit_locked();
    sqlite3_finalize(ins);
    ins = NULL;
    sqlite3_close(db);
    db = NULL;
  }
  pthread_mutex_unlock(&lock);
}

static int64_t one_int(const char *sql, const char *a, const char *b) {
  sqlite3_stmt *st = NULL;
  int64_t v = 0;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
    sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
    if (b)
      sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
      v = sqlite3_column_int64(st, 0);
  }
  sqlite3_finalize(st);
  return v;
}

/* The state of type, created (and loaded from the store) on first use. */
static type_state *type_locked(const char *type, bool create) {
  for (size_t i = 0; i < ntypes; i++)
    if (strcmp(types[i].name, type) == 0)
      return &types[i];
  if (!create || ntypes == MAX_TYPES || strlen(type) >= sizeof types->name)
    return NULL;
  type_state *t = &types[ntypes++];
  memset(t, 0, sizeof *t);
  snprintf(t->name, sizeof t->name, "%s", type);
  t->next_eid =
      (uint64_t)one_int("SELECT max(eid) FROM events WHERE type=?1", type,
                        NULL) + 1;
  t->count = (uint64_t)one_int("SELECT count(*) FROM events WHERE type=?1",
                               type, NULL);
  return t;
}

int osq_evstore_add(const char *type, int64_t time, const char *row,
                    size_t len) {
  pthread_mutex_lock(&lock);
  type_state *t = db ? type_locked(type, true) : NULL;
  if (t == NULL) {
    pthread_mutex_unlock(&lock);
    return -1;
  }
  if (!in_txn && sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK)
    in_txn = true;
  sqlite3_reset(ins);
  sqlite3_bind_text(ins, 1, type, -1, SQLITE_STATIC);
  sqlite3_bind_int64(ins, 2, (sqlite3_int64)t->next_eid);
  sqlite3_bind_int64(ins, 3, time);
  sqlite3_bind_text(ins, 4, row, (int)len, SQLITE_STATIC);
  int rc = sqlite3_step(ins);
  sqlite3_reset(ins);
  sqlite3_clear_bindings(ins);
  if (rc != SQLITE_DONE) {
    t->dropped++;
    pthread_mutex_unlock(&lock);
    return -1;
  }
  t->next_eid++;
  t->count++;
  t->dirty = true;
  pthread_mutex_unlock(&lock);
  return 0;
}

static int64_t exec_changes(const char *sql, const char *type, int64_t arg) {
  sqlite3_stmt *st = NULL;
  int64_t n = 0;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
    sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, arg);
    if (sqlite3_step(st) == SQLITE_DONE)
      n = sqlite3_changes(db);
  }
  sqlite3_finalize(st);
  return n;
}

/* The limits of the last commit: a scan commits with them too. */
static uint64_t last_max, last_expiry;

static void commit_all_locked(uint64_t max_all, uint64_t expiry_all);

void osq_evstore_commit(uint64_t max_all, uint64_t expiry_all) {
  pthread_mutex_lock(&lock);
  last_max = max_all;
  last_expiry = expiry_all;
  if (db)
    commit_all_locked(max_all, expiry_all);
  pthread_mutex_unlock(&lock);
}

static void commit_all_locked(uint64_t max_all, uint64_t expiry_all) {
  int64_t now = (int64_t)time(NULL);
  bool expire_due = false;
  for (size_t i = 0; i < ntypes; i++) {
    uint64_t expiry = types[i].own_limits ? types[i].expiry : expiry_all;
    if (expiry && now - types[i].last_expire >= EXPIRE_EVERY_S)
      expire_due = true;
  }
  if (!in_txn && expire_due &&
      sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK)
    in_txn = true;
  for (size_t i = 0; in_txn && i < ntypes; i++) {
    type_state *t = &types[i];
    uint64_t max = t->own_limits ? t->max : max_all;
    uint64_t expiry = t->own_limits ? t->expiry : expiry_all;
    /* eids of a type are contiguous from the oldest kept: the newest max
     * are those above next_eid - 1 - max */
    if (t->dirty && max && t->count > max) {
      int64_t cut = (int64_t)(t->next_eid - 1 - max);
      int64_t n = exec_changes("DELETE FROM events WHERE type=?1 AND eid<=?2",
                               t->name, cut);
      t->dropped += (uint64_t)n;
      t->count -= (uint64_t)n < t->count ? (uint64_t)n : t->count;
    }
    t->dirty = false;
    if (expiry && now - t->last_expire >= EXPIRE_EVERY_S) {
      int64_t n = exec_changes("DELETE FROM events WHERE type=?1 AND time<?2",
                               t->name, now - (int64_t)expiry);
      t->count -= (uint64_t)n < t->count ? (uint64_t)n : t->count;
      t->last_expire = now;
    }
  }
  commit_locked();
}

int osq_evstore_scan(const char *type, const osq_ev_range *r, osq_evstore_fn fn,
                     void *u, uint64_t *last) {
  pthread_mutex_lock(&lock);
  if (db == NULL) {
    pthread_mutex_unlock(&lock);
    return 0;
  }
  /* a query sees everything read so far, trimmed to the limits */
  if (in_txn)
    commit_all_locked(last_max, last_expiry);
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(
      db,
      "SELECT eid, time, row FROM events WHERE type=?1 AND eid BETWEEN ?2 AND "
      "?3 AND time BETWEEN ?4 AND ?5 ORDER BY eid",
      -1, &st, NULL);
  if (rc != SQLITE_OK) {
    OSQ_ERR("Event store scan: %s", sqlite3_errmsg(db));
    pthread_mutex_unlock(&lock);
    return -1;
  }
  uint64_t hi = r->eid_hi > (uint64_t)INT64_MAX ? (uint64_t)INT64_MAX : r->eid_hi;
  sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, (sqlite3_int64)r->eid_lo);
  sqlite3_bind_int64(st, 3, (sqlite3_int64)hi);
  sqlite3_bind_int64(st, 4, r->time_lo);
  sqlite3_bind_int64(st, 5, r->time_hi);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    uint64_t eid = (uint64_t)sqlite3_column_int64(st, 0);
    const char *row = (const char *)sqlite3_column_text(st, 2);
    size_t len = (size_t)sqlite3_column_bytes(st, 2);
    *last = eid;
    if (fn(u, eid, sqlite3_column_int64(st, 1), row ? row : "[]",
           row ? len : 2) != 0)
      break;
  }
  sqlite3_finalize(st);
  pthread_mutex_unlock(&lock);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

void osq_evstore_set_limits(const char *type, uint64_t max, uint64_t expiry) {
  pthread_mutex_lock(&lock);
  type_state *t = db ? type_locked(type, true) : NULL;
  if (t) {
    t->own_limits = true;
    t->max = max;
    t->expiry = expiry;
  }
  pthread_mutex_unlock(&lock);
}

bool osq_evstore_pending(void) {
  pthread_mutex_lock(&lock);
  bool p = in_txn;
  pthread_mutex_unlock(&lock);
  return p;
}

uint64_t osq_evstore_count(const char *type) {
  pthread_mutex_lock(&lock);
  type_state *t = db ? type_locked(type, true) : NULL;
  uint64_t n = t ? t->count : 0;
  pthread_mutex_unlock(&lock);
  return n;
}

uint64_t osq_evstore_dropped(const char *type) {
  pthread_mutex_lock(&lock);
  type_state *t = db ? type_locked(type, false) : NULL;
  uint64_t n = t ? t->dropped : 0;
  pthread_mutex_unlock(&lock);
  return n;
}

uint64_t osq_evstore_seen(const char *query, const char *type) {
  pthread_mutex_lock(&lock);
  uint64_t v = db ? (uint64_t)one_int("SELECT eid FROM seen WHERE query=?1 "
                                      "AND type=?2",
                                      query, type)
                  : 0;
  pthread_mutex_unlock(&lock);
  return v;
}

void osq_evstore_set_seen(const char *query, const char *type, uint64_t eid) {
  pthread_mutex_lock(&lock);
  sqlite3_stmt *st = NULL;
  if (db && sqlite3_prepare_v2(db,
                               "INSERT OR REPLACE INTO seen(query, type, eid) "
                               "VALUES(?1, ?2, ?3)",
                               -1, &st, NULL) == SQLITE_OK) {
    sqlite3_bind_text(st, 1, query, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, type, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)eid);
    if (sqlite3_step(st) != SQLITE_DONE)
      OSQ_WARN("Event store: cannot record what %s has seen: %s", query,
               sqlite3_errmsg(db));
  }
  sqlite3_finalize(st);
  pthread_mutex_unlock(&lock);
}
