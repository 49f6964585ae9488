/* Automatic table construction: tables from the config's section, built
 * from SQLite databases, replaced and removed as the section changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/flags.h"
#include "registry/registry.h"
#include "sql/sql.h"
#include "tables/atc.h"
#include "tables/tables.h"
#include "tables_fixture.h"

static osq_db *db;

static int on_row(void *u, sqlite3_stmt *st) {
  char *o = u;
  for (int i = 0; i < sqlite3_column_count(st); i++) {
    const unsigned char *s = sqlite3_column_text(st, i);
    size_t n = strlen(o);
    snprintf(o + n, 4096 - n, "%s%s", i ? "|" : "", s ? (const char *)s : "");
  }
  size_t n = strlen(o);
  snprintf(o + n, 4096 - n, "\n");
  return 0;
}

/* Rows as "a|b\n", or "ERR: message". */
static const char *q(const char *sql) {
  static char o[4096];
  o[0] = '\0';
  osq_sql_sink sink = {NULL, on_row, o};
  char *err = NULL;
  if (osq_db_exec(db, sql, &sink, &err) != SQLITE_OK)
    snprintf(o, sizeof o, "ERR: %s", err ? err : "");
  free(err);
  return o;
}

static void make_db(const char *rel, const char *sql) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s", tfx_dir, rel);
  sqlite3 *s;
  assert_int_equal(sqlite3_open(p, &s), SQLITE_OK);
  assert_int_equal(sqlite3_exec(s, sql, NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(s);
}

/* Apply a section given as JSON text with %s standing for tfx_dir. */
static size_t apply(const char *fmt) {
  char text[4096];
  snprintf(text, sizeof text, fmt, tfx_dir, tfx_dir, tfx_dir);
  json_error_t e;
  json_t *j = json_loads(text, 0, &e);
  assert_non_null(j);
  size_t n = osq_atc_apply(j);
  json_decref(j);
  return n;
}

static int setup(void **state) {
  (void)state;
  osq_flags_init(OSQ_PERSONALITY_SHELL);
  osq_registry_reset();
  assert_true(osq_tables_register_builtin() >= 0);
  tfx_make_dir("osq-atc");
  tfx_put("u1/app.db", "");
  tfx_put("u2/app.db", "");
  make_db("u1/app.db", "create table kv(k text, v, n); "
                       "insert into kv values('a', 1, 2.5), ('b', 'x', null);");
  make_db("u2/app.db", "create table kv(k text, v, n); "
                       "insert into kv values('c', x'6869', 7);");
  char err[256];
  db = osq_db_open(err, sizeof err);
  assert_non_null(db);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  osq_atc_apply(NULL);
  osq_db_close(db);
  tfx_remove_dir();
  osq_flags_shutdown();
  return 0;
}

static void test_table_from_databases(void **state) {
  (void)state;
  assert_int_equal(
      apply("{\"kv\": {\"query\": \"select k, v, n, 1 as ignored from kv\","
            " \"path\": \"%s/%%/app.db\", \"columns\": [\"k\", \"v\", \"n\"],"
            " \"platform\": \"linux\"}}"),
      1);
  char want[2048];
  snprintf(want, sizeof want,
           "a|1|2.5|%s/u1/app.db\nb|x||%s/u1/app.db\nc|hi|7|%s/u2/app.db\n",
           tfx_dir, tfx_dir, tfx_dir);
  assert_string_equal(q("select k, v, n, path from kv order by k"), want);
  /* every column is TEXT, as osquery declares them */
  assert_string_equal(q("select group_concat(type) from pragma_table_info('kv')"),
                      "TEXT,TEXT,TEXT,TEXT\n");
  assert_string_equal(q("select typeof(v) from kv where k = 'a'"), "text\n");
}

static void test_changes_replace_and_remove(void **state) {
  (void)state;
  apply("{\"kv\": {\"query\": \"select k from kv\", \"path\": \"%s/u1/app.db\","
        " \"columns\": [\"k\"]}}");
  assert_string_equal(q("select k from kv"), "a\nb\n");
  /* the same spec again changes nothing; a new query replaces the table */
  apply("{\"kv\": {\"query\": \"select k from kv\", \"path\": \"%s/u1/app.db\","
        " \"columns\": [\"k\"]}}");
  apply("{\"kv\": {\"query\": \"select k from kv where k = 'b'\","
        " \"path\": \"%s/u1/app.db\", \"columns\": [\"k\"]}}");
  assert_string_equal(q("select k from kv"), "b\n");
  /* a table left out of the section, or misconfigured, goes */
  assert_int_equal(apply("{\"kv\": {\"query\": \"\", \"path\": \"%s\"}}"), 0);
  assert_string_equal(q("select * from kv"), "ERR: no such table: kv");
  /* another platform's table is not built */
  assert_int_equal(apply("{\"kv\": {\"query\": \"select k from kv\","
                         " \"path\": \"%s/u1/app.db\", \"columns\": [\"k\"],"
                         " \"platform\": \"darwin\"}}"),
                   0);
}

static void test_refusals(void **state) {
  (void)state;
  /* a built-in table keeps its name */
  assert_int_equal(apply("{\"processes\": {\"query\": \"select 1 as a\","
                         " \"path\": \"%s/u1/app.db\", \"columns\": [\"a\"]}}"),
                   0);
  assert_true(strstr(q("select count(*) from processes"), "ERR") == NULL);
  /* the query only reads: writes and ATTACH are refused */
  apply("{\"w\": {\"query\": \"delete from kv\", \"path\": \"%s/u1/app.db\","
        " \"columns\": [\"k\"]}}");
  assert_string_equal(q("select * from w"), "");
  apply("{\"w\": {\"query\": \"select k from kv\", \"path\": \"%s/u1/app.db\","
        " \"columns\": [\"k\"]}}");
  assert_string_equal(q("select count(*) from w"), "2\n");
  /* a query returning its own path column keeps it */
  apply("{\"p\": {\"query\": \"select k, 'mine' as path from kv\","
        " \"path\": \"%s/u1/app.db\", \"columns\": [\"k\", \"path\"]}}");
  assert_string_equal(q("select k, path from p"), "a|mine\nb|mine\n");
  /* a missing file or a bad query gives no rows, not an error */
  apply("{\"m\": {\"query\": \"select k from kv\", \"path\": \"%s/none.db\","
        " \"columns\": [\"k\"]}}");
  assert_string_equal(q("select * from m"), "");
  /* a query that never ends is stopped at the step bound */
  osq_atc_max_steps = 1000000;
  apply("{\"inf\": {\"query\": \"with recursive c(x) as (select 1 union "
        "all select x + 1 from c) select x as k from c where x < 0\","
        " \"path\": \"%s/u1/app.db\", \"columns\": [\"k\"]}}");
  assert_string_equal(q("select * from inf"), "");
  osq_atc_max_steps = OSQ_ATC_MAX_STEPS;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_table_from_databases, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_changes_replace_and_remove, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
