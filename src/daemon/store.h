/* The daemon's results store: one SQLite file (WAL) at --database_path,
 * or an in-memory database with --ephemeral / --disable_database.
 *
 * Per scheduled query it keeps osquery's "queries" domain (previous rows,
 * epoch, counter, SQL, last start time); a settings table keeps the
 * persistent keys (executing_query, failed_queries, interval.N,
 * instance_uuid_v1, host_uuid_v3); waiting_lines keeps the log lines a
 * logger has not taken yet (see outbox.h).
 *
 * One connection, used by one thread at a time (the scheduler); the
 * watcher opens its own for the denylist hand-over.
 *
 * Threads: one thread per store (the scheduler; the watcher opens its own). */
#ifndef OSQ_DAEMON_STORE_H
#define OSQ_DAEMON_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct osq_store osq_store;

/* path NULL: in memory. The parent directory is created (0700). */
osq_store *osq_store_open(const char *path, char *err, size_t errlen);
void osq_store_close(osq_store *s);

typedef struct osq_stored_query {
  char *rows;  /* JSON array text, malloc'd */
  uint64_t epoch;
  uint64_t counter;
  char *sql;   /* malloc'd */
} osq_stored_query;

/* 1 found (fill out; free with osq_stored_query_free), 0 absent, -1 error. */
int osq_store_get_query(osq_store *s, const char *name, osq_stored_query *out);
void osq_stored_query_free(osq_stored_query *q);
/* Write all four fields in one transaction. */
int osq_store_put_query(osq_store *s, const char *name, const char *rows,
                        uint64_t epoch, uint64_t counter, const char *sql);
int osq_store_set_query_sql(osq_store *s, const char *name, const char *sql);
int osq_store_delete_query(osq_store *s, const char *name);
/* Every stored query name (malloc'd array of malloc'd strings). */
size_t osq_store_query_names(osq_store *s, char ***out);

/* Settings: get returns a malloc'd value or NULL when absent. */
char *osq_store_get(osq_store *s, const char *key);
int osq_store_set(osq_store *s, const char *key, const char *value);
int osq_store_del(osq_store *s, const char *key);

/* Settings keys that start with prefix, in order (malloc'd array of
 * malloc'd strings). */
size_t osq_store_keys(osq_store *s, const char *prefix, char ***out);

/* Log lines a logger did not take (a full disk, a gone extension), kept
 * in arrival order until it does. */
int osq_store_line_wait(osq_store *s, const char *logger, int kind,
                        const char *line, size_t len);
/* How many lines wait over all loggers (logger NULL), or whether any
 * waits for logger (1 or 0); -1 on error. */
int64_t osq_store_lines_waiting(osq_store *s, const char *logger);
/* The loggers that have lines waiting, in name order (malloc'd array of
 * malloc'd strings). */
size_t osq_store_waiting_loggers(osq_store *s, char ***out);
/* Offer logger's waiting lines to fn, oldest first, until fn refuses one
 * (returns false); the lines it took are deleted. The number taken, or -1
 * if the store failed. */
typedef bool (*osq_store_line_fn)(int kind, const char *line, size_t len,
                                  void *udata);
int64_t osq_store_lines_offer(osq_store *s, const char *logger,
                              osq_store_line_fn fn, void *udata);

/* --database_dump: every key as "domain[key]: value", one a line. */
void osq_store_dump(osq_store *s, FILE *out);

#endif
