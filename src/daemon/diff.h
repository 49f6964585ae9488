/* Differential results with osquery's epoch and counter rules
 * (docs/compat.md §3.2).
 *
 * Two steps so that a kill at any moment loses nothing: prepare computes
 * what to log from the stored rows; the caller hands the lines to the
 * loggers; commit then stores the new rows. A kill between the two re-diffs
 * against the old rows on restart, so lines are delivered at least once.
 *
 * Threads: the scheduler thread only (it owns the store). */
#ifndef OSQ_DAEMON_DIFF_H
#define OSQ_DAEMON_DIFF_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon/store.h"

/* Multiset difference of two arrays of row objects: rows in cur not in
 * prev are added, rows of prev left over are removed (both in their
 * array order). Returns 0 or -1 (OOM). */
int osq_diff_rows(const json_t *prev, const json_t *cur, json_t **added,
                  json_t **removed);

typedef struct osq_diff_out {
  json_t *added;    /* owned */
  json_t *removed;  /* owned; emptied when the query has removed=false */
  uint64_t counter; /* the counter to log */
  bool new_epoch;
  bool store;       /* commit must write the rows */
  bool log;         /* there is something to log */
  bool sql_changed; /* only query.N must be updated */
} osq_diff_out;

/* rows: the current result (typed, escaped). Returns 0, or -1 if the
 * store failed (the caller shuts down with 78, as osquery does). */
int osq_results_prepare(osq_store *s, const char *name, const char *sql,
                        uint64_t epoch, const json_t *rows, bool log_removed,
                        osq_diff_out *out);
int osq_results_commit(osq_store *s, const char *name, const char *sql,
                       uint64_t epoch, const json_t *rows,
                       const osq_diff_out *out);
void osq_diff_out_free(osq_diff_out *out);

#endif
