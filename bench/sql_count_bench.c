/* How fast the SQL bridge moves rows: a 1,000,000-row table plugin read
 * with `select count(*)` and `select sum(id)`, against the same queries over
 * a native SQLite table holding the same rows, measured in the same run.
 *
 *   sql_count_bench [rows] [repeats]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/flags.h"
#include "plugin/plugin_impl.h"
#include "registry/registry.h"
#include "sql/sql.h"

static long nrows = 1000000;

static const osq_column cols[] = {
    {"id", OSQ_TYPE_BIGINT, 0},
    {"name", OSQ_TYPE_TEXT, 0},
    {"value", OSQ_TYPE_INTEGER, 0},
};

/* Every column of every row, whether the query reads it or not: the
 * common case for a table. */
static int gen(const osq_context *ctx, osq_rows *out, void *u) {
  (void)ctx, (void)u;
  char name[32];
  for (long i = 0; i < nrows; i++) {
    int n = snprintf(name, sizeof name, "row-%ld", i);
    osq_rows_int(out, 0, i);
    osq_rows_text(out, 1, name, (size_t)n);
    osq_rows_int(out, 2, i % 1000);
    osq_rows_end(out);
  }
  return OSQ_OK;
}

static osq_table_plugin big = {
    .name = "big", .columns = cols, .ncolumns = 3, .generate = gen};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char result[64];

static int grab(void *u, sqlite3_stmt *st) {
  (void)u;
  snprintf(result, sizeof result, "%lld", sqlite3_column_int64(st, 0));
  return 0;
}

static double time_osq(osq_db *db, const char *sql) {
  osq_sql_sink sink = {NULL, grab, NULL};
  char *err = NULL;
  double t = now();
  if (osq_db_exec(db, sql, &sink, &err) != SQLITE_OK) {
    fprintf(stderr, "%s: %s\n", sql, err ? err : "?");
    exit(1);
  }
  return now() - t;
}

static double time_native(sqlite3 *db, const char *sql) {
  sqlite3_stmt *st;
  double t = now();
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
    fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
    exit(1);
  }
  while (sqlite3_step(st) == SQLITE_ROW)
    grab(NULL, st);
  sqlite3_finalize(st);
  return now() - t;
}

/* The table's own cost: generate into a sink that drops everything. */
static int drop_cell(void *self, size_t col, const osq_value *v) {
  (void)self, (void)col, (void)v;
  return OSQ_OK;
}
static int drop_end(void *self) {
  (void)self;
  return OSQ_OK;
}
static const struct osq_rows_ops drop_ops = {drop_cell, NULL, drop_end};

static double time_generate_alone(void) {
  osq_rows rows;
  osq_rows_init(&rows, &drop_ops, NULL, 3);
  double t = now();
  gen(NULL, &rows, NULL);
  return now() - t;
}

static void fill_native(sqlite3 *db) {
  sqlite3_exec(db,
               "create table big(id BIGINT, name TEXT, value INTEGER);"
               "begin",
               NULL, NULL, NULL);
  sqlite3_stmt *ins;
  sqlite3_prepare_v2(db, "insert into big values (?, ?, ?)", -1, &ins, NULL);
  char name[32];
  for (long i = 0; i < nrows; i++) {
    int n = snprintf(name, sizeof name, "row-%ld", i);
    sqlite3_bind_int64(ins, 1, i);
    sqlite3_bind_text(ins, 2, name, n, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 3, i % 1000);
    sqlite3_step(ins);
    sqlite3_reset(ins);
  }
  sqlite3_finalize(ins);
  sqlite3_exec(db, "commit", NULL, NULL, NULL);
}

static double best(double *v, int n) {
  double b = v[0];
  for (int i = 1; i < n; i++)
    if (v[i] < b)
      b = v[i];
  return b;
}

int main(int argc, char **argv) {
  if (argc > 1)
    nrows = strtol(argv[1], NULL, 10);
  int repeats = argc > 2 ? atoi(argv[2]) : 5;
  if (nrows <= 0 || repeats <= 0 || repeats > 100) {
    fprintf(stderr, "usage: %s [rows] [repeats<=100]\n", argv[0]);
    return 2;
  }
  osq_flags_init(OSQ_PERSONALITY_SHELL);
  char err[256];
  if (osq_registry_add(OSQ_REGISTRY_TABLE, &big, 0, false, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  osq_db *db = osq_db_open(err, sizeof err);
  sqlite3 *native = NULL;
  if (db == NULL || sqlite3_open(":memory:", &native) != SQLITE_OK) {
    fprintf(stderr, "open: %s\n", err);
    return 1;
  }
  fill_native(native);

  static const char *queries[] = {"select count(*) from big",
                                  "select sum(id) from big"};
  printf("rows=%ld repeats=%d (best of)\n", nrows, repeats);
  double tg[100];
  for (int r = 0; r < repeats; r++)
    tg[r] = time_generate_alone();
  double bg = best(tg, repeats);
  printf("%-26s %8.1f ms  (the table's own cost, no SQL)\n",
         "generate() alone", bg * 1e3);
  for (size_t qi = 0; qi < 2; qi++) {
    double to[100], tn[100];
    char ro[64], rn[64];
    for (int r = 0; r < repeats; r++) {
      to[r] = time_osq(db, queries[qi]);
      snprintf(ro, sizeof ro, "%s", result);
      tn[r] = time_native(native, queries[qi]);
      snprintf(rn, sizeof rn, "%s", result);
    }
    if (strcmp(ro, rn) != 0) {
      fprintf(stderr, "results differ: %s vs %s\n", ro, rn);
      return 1;
    }
    double bo = best(to, repeats), bn = best(tn, repeats);
    printf("%-26s plugin %8.1f ms  native %8.1f ms  ratio %6.1fx  "
           "bridge %.0f ns/row\n",
           queries[qi], bo * 1e3, bn * 1e3, bo / bn,
           (bo - bg) * 1e9 / (double)nrows);
  }
  osq_db_close(db);
  sqlite3_close(native);
  osq_registry_reset();
  return 0;
}
