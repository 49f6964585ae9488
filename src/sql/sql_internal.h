/* Internals of the SQL engine shared by its files: connections, the
 * virtual-table bridge, row sets and the per-statement row cache.
 *
 * Threads: the thread that holds the connection; counters: any thread. */
#ifndef OSQ_SQL_INTERNAL_H
#define OSQ_SQL_INTERNAL_H

#include "sql.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>

#include "plugin/plugin_impl.h"
#include "registry/registry.h"

/* Bounds on what one generate() may hand to SQLite, and on what the
 * per-statement cache keeps before it stops caching. */
#define OSQ_SQL_MAX_ROWSET_BYTES ((size_t)1 << 31)
#define OSQ_SQL_MAX_CACHE_BYTES ((size_t)512 << 20)
#define OSQ_SQL_MAX_NAME 512   /* table and column names */
#define OSQ_SQL_MAX_COLUMNS 4096
#define OSQ_SQL_POOL_MAX 16
#define OSQ_SQL_POOL_WAIT_SECONDS 60
#define OSQ_SQL_REGEX_MAX 256

/* One stored cell: 16 bytes; text and blob bytes live in the set's byte
 * arena at `off`, so the arena may move while it grows. */
struct osq_cell {
  union {
    int64_t i;
    double d;
    uint64_t off;
  } v;
  uint32_t len;
  uint8_t kind; /* osq_value_kind */
};

/* The rows of one generate() call, typed per column. */
typedef struct osq_rowset {
  const osq_column *cols;
  size_t ncols;
  int32_t *slot;          /* per column: its cell in a row, or -1 */
  size_t stride;          /* cells per row: the columns read */
  uint64_t used;          /* SQLite's colUsed when it was generated */
  struct osq_cell *cells; /* nrows * stride */
  size_t nrows, cap;      /* cap in rows */
  int64_t *rowids;        /* NULL until a rowid is given */
  char *bytes;
  size_t nbytes, bcap;
  bool row_open;
  bool too_big;
  bool nomem; /* a store failed: the set is incomplete */
  int refs;
  bool retained; /* owned by the statement cache until it ends */
  /* cache bookkeeping */
  char *key;
  size_t keylen;
  uint64_t hash;
  bool lookup; /* may be found by key */
  struct osq_rowset *hnext, *anext;
} osq_rowset;

/* A table as attached on one connection. */
struct osq_attached {
  char *name;
  char *sig; /* DDL + everything that shapes the table; equal sig = keep */
  char **views;
  size_t nviews;
  char **aliases; /* while lazy: the alias views it will create */
  size_t naliases;
  bool ok;   /* the CREATE succeeded */
  bool lazy; /* registered but not created yet: the first SQL naming it
                (or one of its aliases) creates it */
};

struct osq_vtab_spec; /* what the next xCreate builds */

struct osq_db {
  sqlite3 *db;
  uint64_t generation;
  bool has_generation;
  bool default_index; /* --extensions_default_index at the last sync */
  bool internal; /* our own DDL: the authorizer lets it through */
  struct osq_attached *att;
  size_t natt, capatt;
  /* Names (tables and aliases) of lazy tables: open addressing over
   * 1 + index into lazy_names, 0 = empty. */
  uint32_t *lazy_slots;
  size_t lazy_cap;
  struct osq_lazy_name {
    const char *name; /* points into att[] */
    size_t att;
  } *lazy_names;
  size_t nlazy_names;
  size_t nlazy; /* entries of att[] still lazy */
  const struct osq_vtab_spec *pending;
  /* per-statement row cache */
  osq_rowset **buckets;
  size_t nbuckets, nentries;
  osq_rowset *all;
  size_t cached_bytes;
  bool in_pool;
  bool in_exec; /* inside osq_db_exec: row sets may be cached */
  unsigned exec_depth;
  bool planner; /* --planner, read once per osq_db_exec (flags lock) */
  unsigned pool_epoch;
  /* "SELECT 1", stepped while a table works to learn whether
   * sqlite3_interrupt was called (SQLite < 3.41 has no
   * sqlite3_is_interrupted). */
  sqlite3_stmt *interrupt_probe;
};

/* vtab.c */
int osq_vtab_register(osq_db *db);
int osq_vtab_attach_plugin(osq_db *db, const osq_plugin *p, const char *ddl,
                           char *err, size_t errlen);
/* The column list and key clauses of a table's CREATE TABLE. Caller
 * frees. */
char *osq_vtab_ddl(const osq_table_plugin *t, uint64_t owner);
/* rowset.c */
extern const struct osq_rows_ops osq_rowset_ops;
osq_rowset *osq_rowset_new(const osq_column *cols, size_t ncols,
                           uint64_t used);
void osq_rowset_free(osq_rowset *rs);
void osq_rowset_finish(osq_rowset *rs);
/* A cached set for key with a new reference, or NULL. */
osq_rowset *osq_cache_find(osq_db *db, const char *key, size_t keylen,
                           uint64_t used);
void osq_cache_insert(osq_db *db, osq_rowset *rs, char *key, size_t keylen);
void osq_cache_clear(osq_db *db);
void osq_cache_invalidate(osq_db *db, const char *table);
void osq_rowset_release(osq_db *db, osq_rowset *rs);

/* functions.c */
int osq_sql_register_functions(sqlite3 *db, char *err, size_t errlen);


#endif
