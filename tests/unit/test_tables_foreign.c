/* --enable_foreign: every foreign table osq knows is registered, queries
 * on them succeed with no rows, a second registration is harmless, and
 * without the flag none of them exists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/flags.h"
#include "registry/registry.h"
#include "sql/sql.h"
#include "tables/foreign.h"
#include "tables/tables.h"

static int count_row(void *u, sqlite3_stmt *st) {
  (void)st;
  (*(int *)u)++;
  return 0;
}

/* Rows of sql, or -1 if it fails. */
static int rows_of(osq_db *db, const char *sql) {
  int n = 0;
  osq_sql_sink sink = {.row = count_row, .u = &n};
  char *msg = NULL;
  int rc = osq_db_exec(db, sql, &sink, &msg);
  free(msg);
  return rc == SQLITE_OK ? n : -1;
}

/* "select * from NAME", constraining the required columns as the
 * table's spec demands. */
static void select_all(const char *name, char *sql, size_t len) {
  const osq_plugin *p = osq_registry_get(OSQ_REGISTRY_TABLE, name);
  assert_non_null(p);
  const osq_table_plugin *t = p->u.table;
  size_t used = (size_t)snprintf(sql, len, "select * from %s", name);
  const char *glue = " where ";
  for (size_t c = 0; c < t->ncolumns && used < len; c++) {
    if (!(t->columns[c].options & OSQ_COL_REQUIRED))
      continue;
    used += (size_t)snprintf(sql + used, len - used, "%s%s = 'x'", glue,
                             t->columns[c].name);
    glue = " and ";
  }
  assert_true(used < len);
  osq_plugin_release(p);
}

static osq_db *start(const char *enable_foreign) {
  osq_flags_init(OSQ_PERSONALITY_SHELL);
  char err[256];
  assert_int_equal(OSQ_FLAG_SET(enable_foreign, enable_foreign, err, sizeof err), 0);
  osq_registry_reset();
  assert_int_equal(osq_tables_register_builtin(), OSQ_OK);
  osq_db *db = osq_db_open(err, sizeof err);
  if (db == NULL)
    fail_msg("osq_db_open: %s", err);
  return db;
}

static void stop(osq_db *db) {
  osq_db_close(db);
  osq_registry_reset();
  osq_flags_shutdown();
}

static void test_on_every_table_answers_no_rows(void **state) {
  (void)state;
  osq_db *db = start("true");
  size_t n = osq_tables_foreign_count();
  assert_true(n >= 10);
  for (size_t i = 0; i < n; i++) {
    const char *name = osq_tables_foreign_name(i);
    assert_true(osq_registry_exists(OSQ_REGISTRY_TABLE, name));
    char sql[512];
    select_all(name, sql, sizeof sql);
    if (rows_of(db, sql) != 0)
      fail_msg("%s: want 0 rows", sql);
    snprintf(sql, sizeof sql, "PRAGMA table_xinfo(%s)", name);
    if (rows_of(db, sql) < 1)
      fail_msg("%s: want the spec's columns", sql);
  }
  assert_null(osq_tables_foreign_name(n));
  /* the columns queries name, hidden ones included */
  assert_int_equal(rows_of(db, "select eid, eventid from windows_events "
                               "where source = 'Security'"), 0);
  assert_int_equal(rows_of(db, "select path, key from registry where key "
                               "like 'HKEY_USERS\\%' order by mtime"), 0);
  assert_int_equal(rows_of(db, "select count(*) from launchd"), 1);
  /* a required column is required, as on the spec's own platform */
  assert_int_equal(rows_of(db, "select * from plist"), -1);
  assert_int_equal(rows_of(db, "select * from plist where path = '/x'"), 0);
  /* a second registration skips the tables already there */
  assert_int_equal(osq_tables_register_foreign(), OSQ_OK);
  stop(db);
}

static void test_off_none_exists(void **state) {
  (void)state;
  osq_db *db = start("false");
  for (size_t i = 0; i < osq_tables_foreign_count(); i++)
    assert_false(osq_registry_exists(OSQ_REGISTRY_TABLE, osq_tables_foreign_name(i)));
  assert_int_equal(rows_of(db, "select * from launchd"), -1);
  assert_int_equal(rows_of(db, "PRAGMA table_xinfo(programs)"), 0);
  /* the Linux tables are there either way */
  assert_true(rows_of(db, "select pid from processes") > 0);
  stop(db);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_on_every_table_answers_no_rows),
      cmocka_unit_test(test_off_none_exists),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
