/* file and hash with both a path and a directory constraint: each file is
 * generated once (SQLite re-checks the directory), not once per column. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/flags.h"
#include "registry/registry.h"
#include "sql/sql.h"
#include "tables/tables.h"

static int count_row(void *u, sqlite3_stmt *st) {
  (void)st;
  (*(int *)u)++;
  return 0;
}

static int rows(osq_db *db, const char *sql) {
  int n = 0;
  osq_sql_sink sink = {.row = count_row, .u = &n};
  char *msg = NULL;
  int rc = osq_db_exec(db, sql, &sink, &msg);
  if (rc != SQLITE_OK)
    fail_msg("%s -> %d: %s", sql, rc, msg ? msg : "");
  free(msg);
  return n;
}

static void test_path_and_directory(void **state) {
  (void)state;
  char dir[] = "/tmp/osq-pathdir-XXXXXX", a[64], b[64], sql[512];
  assert_non_null(mkdtemp(dir));
  snprintf(a, sizeof a, "%s/alpha", dir);
  snprintf(b, sizeof b, "%s/beta", dir);
  FILE *f = fopen(a, "w");
  fputs("a\n", f);
  fclose(f);
  f = fopen(b, "w");
  fputs("b\n", f);
  fclose(f);

  osq_flags_init(OSQ_PERSONALITY_SHELL);
  osq_registry_reset();
  assert_int_equal(osq_tables_register_builtin(), OSQ_OK);
  char err[256];
  osq_db *db = osq_db_open(err, sizeof err);
  assert_non_null(db);
  const char *tables[] = {"file", "hash"};
  for (int t = 0; t < 2; t++) {
    snprintf(sql, sizeof sql, "select path from %s where directory = '%s'",
             tables[t], dir);
    assert_int_equal(rows(db, sql), 2);
    snprintf(sql, sizeof sql,
             "select path from %s where directory = '%s' and path = '%s'",
             tables[t], dir, a);
    assert_int_equal(rows(db, sql), 1);
    snprintf(sql, sizeof sql,
             "select path from %s where directory = '%s' and path like "
             "'%s/%%'",
             tables[t], dir, dir);
    assert_int_equal(rows(db, sql), 2);
    /* the directory still filters what the path constraint found */
    snprintf(sql, sizeof sql,
             "select path from %s where directory = '/nonexistent' and "
             "path = '%s'",
             tables[t], a);
    assert_int_equal(rows(db, sql), 0);
  }
  osq_db_close(db);
  osq_registry_reset();
  osq_flags_shutdown();
  unlink(a);
  unlink(b);
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_path_and_directory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
