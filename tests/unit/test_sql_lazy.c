/* Lazy tables: a connection creates a table's virtual table only when SQL
 * names it, and every way of naming it (aliases, quoting, string
 * literals, views, the schema table, nested calls) still finds it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/plugin_impl.h"
#include "registry/registry.h"
#include "sql/sql.h"

static osq_db *db;

struct out {
  char buf[8192];
  size_t n;
};

static int on_row(void *u, sqlite3_stmt *st) {
  struct out *o = u;
  for (int i = 0; i < sqlite3_column_count(st); i++) {
    char tmp[64];
    const char *s;
    size_t n;
    osq_sql_cell_text(st, i, tmp, sizeof tmp, &s, &n);
    o->n += (size_t)snprintf(o->buf + o->n, sizeof o->buf - o->n, "%s%.*s",
                             i ? "|" : "", (int)n, s);
    if (o->n >= sizeof o->buf)
      o->n = sizeof o->buf - 1;
  }
  o->n += (size_t)snprintf(o->buf + o->n, sizeof o->buf - o->n, "\n");
  if (o->n >= sizeof o->buf)
    o->n = sizeof o->buf - 1;
  return 0;
}

static const char *q(const char *sql) {
  static struct out o;
  memset(&o, 0, sizeof o);
  osq_sql_sink sink = {NULL, on_row, &o};
  char *err = NULL;
  int rc = osq_db_exec(db, sql, &sink, &err);
  if (rc != SQLITE_OK)
    snprintf(o.buf, sizeof o.buf, "ERR %d: %s", rc, err ? err : "");
  free(err);
  return o.buf;
}

/* How many virtual tables the connection holds right now, read without
 * osq_db_exec (which would create them all for the schema query). */
static int created(void) {
  sqlite3_stmt *st = NULL;
  assert_int_equal(
      sqlite3_prepare_v2(osq_db_sqlite(db),
                         "select count(*) from sqlite_master where type = "
                         "'table'",
                         -1, &st, NULL),
      SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int n = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return n;
}

static const osq_column cols[] = {{"x", OSQ_TYPE_INTEGER, 0}};

static int gen(const osq_context *ctx, osq_rows *out, void *u) {
  (void)ctx;
  osq_rows_int(out, 0, (int64_t)(intptr_t)u);
  return osq_rows_end(out);
}

static const char *const one_aliases[] = {"uno", NULL};
static osq_table_plugin t_one = {.name = "one",
                                 .columns = cols,
                                 .ncolumns = 1,
                                 .aliases = one_aliases,
                                 .generate = gen,
                                 .udata = (void *)1};
static osq_table_plugin t_two = {
    .name = "two", .columns = cols, .ncolumns = 1, .generate = gen,
    .udata = (void *)2};
static osq_table_plugin t_three = {
    .name = "Three", .columns = cols, .ncolumns = 1, .generate = gen,
    .udata = (void *)3};

static void add(osq_table_plugin *t) {
  char err[256];
  assert_int_equal(
      osq_registry_add(OSQ_REGISTRY_TABLE, t, 0, false, err, sizeof err),
      OSQ_OK);
}

static int setup(void **state) {
  (void)state;
  osq_registry_reset();
  add(&t_one);
  add(&t_two);
  add(&t_three);
  char err[256];
  db = osq_db_open(err, sizeof err);
  assert_non_null(db);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  osq_db_close(db);
  db = NULL;
  osq_registry_reset();
  return 0;
}

static void test_created_on_first_use(void **state) {
  (void)state;
  assert_string_equal(q("select 1"), "1\n");
  assert_int_equal(created(), 0);
  assert_string_equal(q("select x from two"), "2\n");
  assert_int_equal(created(), 1);
  /* case and quoting as SQLite folds them */
  assert_string_equal(q("select x from \"THREE\""), "3\n");
  assert_string_equal(q("select [two].x from [two] join `three`"), "2\n");
  assert_int_equal(created(), 2);
  assert_string_equal(q("select * from nothere"),
                      "ERR 1: no such table: nothere");
}

static void test_alias_and_literals(void **state) {
  (void)state;
  /* the alias creates its table and the alias view */
  assert_string_equal(q("select x from uno"), "1\n");
  osq_db_close(db);
  char err[256];
  db = osq_db_open(err, sizeof err);
  assert_non_null(db);
  assert_string_equal(q("select name from pragma_table_info('one')"), "x\n");
  assert_string_equal(q("pragma table_info(two)"), "0|x|INTEGER|0||0\n");
  /* a name only in a comment is not needed, and not an error either */
  assert_string_equal(q("select 5 -- from three"), "5\n");
}

static void test_schema_readers_see_all(void **state) {
  (void)state;
  assert_string_equal(q("select count(*) from sqlite_master where type = "
                        "'table'"),
                      "3\n");
  assert_string_equal(q("select name from sqlite_schema where type = 'view'"),
                      "uno\n");
}

static void test_view_over_recreated_table(void **state) {
  (void)state;
  assert_string_equal(q("create view v as select x + 10 as y from two"), "");
  assert_string_equal(q("select y from v"), "12\n");
  /* the table goes and comes back: it is lazy again, and only the view
   * names it; the "no such table" retry creates it */
  osq_registry_remove(OSQ_REGISTRY_TABLE, "two");
  assert_string_equal(q("select 1"), "1\n");
  add(&t_two);
  assert_string_equal(q("select y from v"), "12\n");
}

static int nested_row(void *u, sqlite3_stmt *st) {
  (void)st;
  char *err = NULL;
  struct out *o = u;
  osq_sql_sink sink = {NULL, on_row, o};
  int rc = osq_db_exec(db, "select x from three", &sink, &err);
  free(err);
  assert_int_equal(rc, SQLITE_OK);
  return 0;
}

static void test_nested_exec_creates(void **state) {
  (void)state;
  struct out o;
  memset(&o, 0, sizeof o);
  osq_sql_sink sink = {NULL, nested_row, &o};
  char *err = NULL;
  assert_int_equal(osq_db_exec(db, "select x from one union all select x "
                                   "from two",
                               &sink, &err),
                   SQLITE_OK);
  free(err);
  assert_string_equal(o.buf, "3\n3\n");
}

static void test_sync_creates_all(void **state) {
  (void)state;
  osq_db_sync(db);
  assert_int_equal(created(), 3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_created_on_first_use, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_alias_and_literals, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_schema_readers_see_all, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_view_over_recreated_table, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_nested_exec_creates, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_sync_creates_all, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
