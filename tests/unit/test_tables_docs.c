/* The example in docs/writing-tables.md: compiled here, queried through
 * the SQL engine, and compared with the document so the two stay equal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <unistd.h>

#include "registry/registry.h"
#include "sql/sql.h"

/* BEGIN DOC EXAMPLE */
#include <osq/plugin.h>
#include <stdio.h>
#include <string.h>

enum { C_PATH, C_LINE, C_TEXT };
static const osq_column columns[] = {
    {"path", OSQ_TYPE_TEXT, OSQ_COL_REQUIRED | OSQ_COL_INDEX},
    {"line", OSQ_TYPE_INTEGER, 0},
    {"text", OSQ_TYPE_TEXT, 0},
};

static int generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)udata;
  bool want_text = osq_context_column_used(ctx, C_TEXT);
  for (size_t i = 0; i < osq_context_nconstraints(ctx, C_PATH); i++) {
    const osq_constraint *c = osq_context_constraint(ctx, C_PATH, i);
    if (c->op != OSQ_OP_EQ)
      continue; /* SQLite re-checks every row: skipping is safe */
    FILE *f = fopen(c->expr, "re");
    if (f == NULL)
      continue; /* a missing file is no rows, not an error */
    char buf[4096]; /* bounded: longer lines are split */
    for (int64_t n = 1; fgets(buf, sizeof buf, f); n++) {
      osq_rows_cstr(out, C_PATH, c->expr);
      osq_rows_int(out, C_LINE, n);
      if (want_text) /* skip work for columns the query does not read */
        osq_rows_text(out, C_TEXT, buf, strcspn(buf, "\n"));
      if (osq_rows_end(out) != OSQ_OK) {
        fclose(f);
        return OSQ_ERROR; /* the sink failed (e.g. out of memory) */
      }
    }
    fclose(f);
  }
  return OSQ_OK;
}

const osq_table_plugin file_lines_table = {
    .name = "file_lines", .columns = columns, .ncolumns = 3,
    .generate = generate};
/* END DOC EXAMPLE */

static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return NULL;
  char *buf = calloc(1, 1 << 20);
  size_t n = fread(buf, 1, (1 << 20) - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static void test_doc_matches_code(void **state) {
  (void)state;
  /* __FILE__ is absolute in CMake builds: <src>/tests/unit/<this file> */
  char root[4096];
  snprintf(root, sizeof root, "%s", __FILE__);
  char *cut = strstr(root, "/tests/unit/");
  if (cut == NULL)
    skip();
  *cut = '\0';
  char path[4200];
  snprintf(path, sizeof path, "%s/docs/writing-tables.md", root);
  char *doc = slurp(path);
  char *self = slurp(__FILE__);
  assert_non_null(doc);
  assert_non_null(self);
  char *d0 = strstr(doc, "```c\n");
  assert_non_null(d0);
  d0 += 5;
  char *d1 = strstr(d0, "```\n");
  assert_non_null(d1);
  char *s0 = strstr(self, "/* BEGIN DOC EXAMPLE */\n");
  assert_non_null(s0);
  s0 += strlen("/* BEGIN DOC EXAMPLE */\n");
  char *s1 = strstr(s0, "/* END DOC EXAMPLE */");
  assert_non_null(s1);
  assert_int_equal(d1 - d0, s1 - s0);
  assert_memory_equal(d0, s0, (size_t)(d1 - d0));
  free(doc);
  free(self);
}

typedef struct rows {
  int n;
  char last[256];
} rows;

static int on_row(void *u, sqlite3_stmt *st) {
  rows *r = u;
  r->n++;
  const unsigned char *t = sqlite3_column_text(st, 0);
  snprintf(r->last, sizeof r->last, "%s", t ? (const char *)t : "<NULL>");
  return 0;
}

static void test_doc_example_queries(void **state) {
  (void)state;
  osq_registry_reset();
  char err[256];
  assert_int_equal(osq_registry_add(OSQ_REGISTRY_TABLE, &file_lines_table, 0,
                                    false, err, sizeof err),
                   OSQ_OK);
  osq_db *db = osq_db_open(err, sizeof err);
  assert_non_null(db);
  char tmp[] = "/tmp/osq-tables-doc.XXXXXX";
  int fd = mkstemp(tmp);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "one\ntwo\nthree\n", 14), 14);
  close(fd);
  char sql[256];
  snprintf(sql, sizeof sql,
           "SELECT text FROM file_lines WHERE path = '%s' AND line > 1", tmp);
  rows r = {0};
  osq_sql_sink sink = {.row = on_row, .u = &r};
  char *msg = NULL;
  assert_int_equal(osq_db_exec(db, sql, &sink, &msg), SQLITE_OK);
  assert_int_equal(r.n, 2);
  assert_string_equal(r.last, "three");
  /* path is required */
  r.n = 0;
  int rc = osq_db_exec(db, "SELECT * FROM file_lines", &sink, &msg);
  assert_int_not_equal(rc, SQLITE_OK);
  assert_non_null(msg);
  assert_non_null(strstr(msg, "required"));
  free(msg);
  unlink(tmp);
  osq_db_close(db);
  osq_registry_reset();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_doc_matches_code),
      cmocka_unit_test(test_doc_example_queries),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
