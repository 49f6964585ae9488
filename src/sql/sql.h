/* The SQL engine: SQLite connections on which every table plugin in the
 * registry is a virtual table, with osquery's extra functions and
 * collations.
 *
 * Threads: one thread at a time per connection; the pool: any thread. */
#ifndef OSQ_SQL_H
#define OSQ_SQL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct osq_db osq_db;

/* An in-memory connection with functions, collations and every registered
 * table. NULL on failure with the reason in err. */
osq_db *osq_db_open(char *err, size_t errlen);
void osq_db_close(osq_db *db);
sqlite3 *osq_db_sqlite(osq_db *db);
/* SQL functions of a layer above sql/ (the carver's carve()): fn runs on
 * every connection opened after this call, after the built-in functions,
 * and returns SQLITE_OK or a code with err set. Call at start-up, before
 * the first query; at most 8 (SQLITE_FULL beyond). */
typedef int (*osq_sql_functions_fn)(sqlite3 *db, char *err, size_t errlen);
int osq_sql_add_functions(osq_sql_functions_fn fn);

/* Attach and detach virtual tables so they match the registry now. Done
 * by osq_db_exec before every statement; callers that read the schema
 * directly (the shell's .tables) call it first. */
int osq_db_sync(osq_db *db);

/* Callbacks for osq_db_exec. columns() is called once per statement that
 * returns columns, before its first row; row() per row. A non-zero return
 * stops execution (osq_db_exec then returns SQLITE_ABORT). */
typedef struct osq_sql_sink {
  int (*columns)(void *u, sqlite3_stmt *stmt);
  int (*row)(void *u, sqlite3_stmt *stmt);
  void *u;
} osq_sql_sink;

/* Run every ;-separated statement in order, streaming rows to sink (which
 * may be NULL). Returns SQLITE_OK or the SQLite result code of the failing
 * statement, with *errmsg set (malloc'd; free it) to SQLite's message.
 * Within one call, a table's generate() runs once per distinct set of
 * constraints (a JOIN does not re-scan for every outer row). */
int osq_db_exec(osq_db *db, const char *sql, const osq_sql_sink *sink,
                char **errmsg);

/* A process-wide pool for concurrent callers (the extension manager's
 * query(), the scheduler). Each connection is used by one thread at a
 * time. At most 16 connections exist; acquire waits for a free one and
 * returns NULL (reason in err) after 60 seconds. Return connections with
 * osq_db_release, never osq_db_close. */
osq_db *osq_db_acquire(char *err, size_t errlen);
void osq_db_release(osq_db *db);
void osq_db_pool_shutdown(void);

/* A result cell as osquery reports it in query() replies and logs:
 * integers in decimal; doubles with 15 significant digits and ".0"
 * appended when there is no '.'; NULL as --nullvalue. *s points into
 * buf or the statement; valid until the next step. */
void osq_sql_cell_text(sqlite3_stmt *st, int col, char *buf, size_t cap,
                       const char **s, size_t *len);
/* The declared type of a result column as getQueryColumns reports it
 * ("TEXT", "BIGINT", ... or "UNKNOWN"). */
const char *osq_sql_column_type(sqlite3_stmt *st, int col);

/* How many times generate() ran for a table since the process started
 * (tests assert JOIN behaviour with it). */
unsigned long osq_sql_generate_count(const char *table);

#endif
