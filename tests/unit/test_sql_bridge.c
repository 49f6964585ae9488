/* The SQL bridge: tables from the registry, pushdown, typed cells, the
 * per-statement cache, writable tables, run-time changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/flags.h"
#include "plugin/plugin_impl.h"
#include "registry/registry.h"
#include "sql/sql.h"

/* ---- result collection --------------------------------------------------- */

struct out {
  char buf[65536];
  size_t n;
  int rows;
};

static void out_put(struct out *o, const char *s, size_t n) {
  if (o->n + n + 1 < sizeof o->buf) {
    memcpy(o->buf + o->n, s, n);
    o->n += n;
    o->buf[o->n] = '\0';
  }
}

static int on_row(void *u, sqlite3_stmt *st) {
  struct out *o = u;
  char buf[128];
  for (int i = 0; i < sqlite3_column_count(st); i++) {
    const char *s;
    size_t n;
    osq_sql_cell_text(st, i, buf, sizeof buf, &s, &n);
    if (i)
      out_put(o, "|", 1);
    out_put(o, s, n);
  }
  out_put(o, "\n", 1);
  o->rows++;
  return 0;
}

static osq_db *db;

/* Run sql; the rows as "a|b\n" lines, or "ERR <rc>: <msg>". */
static const char *q(const char *sql) {
  static struct out o;
  memset(&o, 0, sizeof o);
  osq_sql_sink sink = {NULL, on_row, &o};
  char *err = NULL;
  int rc = osq_db_exec(db, sql, &sink, &err);
  if (rc != SQLITE_OK) {
    snprintf(o.buf, sizeof o.buf, "ERR %d: %s", rc, err ? err : "");
  }
  free(err);
  return o.buf;
}

/* ---- a recording table --------------------------------------------------- */

static char seen[8192]; /* what generate saw, as "col op expr;" */
static char seen_used[256];

static void record(const osq_context *ctx) {
  size_t n = strlen(seen);
  for (size_t c = 0; c < osq_context_ncolumns(ctx); c++)
    for (size_t i = 0; i < osq_context_nconstraints(ctx, c); i++) {
      const osq_constraint *k = osq_context_constraint(ctx, c, i);
      n += (size_t)snprintf(seen + n, sizeof seen - n, "%s %d '%s';",
                            osq_context_column(ctx, c)->name, k->op, k->expr);
      if (n >= sizeof seen)
        n = sizeof seen - 1;
    }
  size_t m = 0;
  seen_used[0] = '\0';
  for (size_t c = 0; c < osq_context_ncolumns(ctx); c++)
    if (osq_context_column_used(ctx, c))
      m += (size_t)snprintf(seen_used + m, sizeof seen_used - m, "%s,",
                            osq_context_column(ctx, c)->name);
}

static const osq_column rec_cols[] = {
    {"id", OSQ_TYPE_INTEGER, OSQ_COL_INDEX},
    {"name", OSQ_TYPE_TEXT, OSQ_COL_INDEX},
    {"opt", OSQ_TYPE_TEXT, OSQ_COL_OPTIMIZED},
    {"plain", OSQ_TYPE_TEXT, 0},
    {"hid", OSQ_TYPE_INTEGER, OSQ_COL_HIDDEN | OSQ_COL_ADDITIONAL},
};

static int rec_generate(const osq_context *ctx, osq_rows *out, void *u) {
  (void)u;
  record(ctx);
  for (int i = 1; i <= 3; i++) {
    char name[16];
    snprintf(name, sizeof name, "n%d", i);
    osq_rows_int(out, 0, i);
    osq_rows_cstr(out, 1, name);
    osq_rows_cstr(out, 2, i == 2 ? "" : "o");
    osq_rows_cstr(out, 3, "p");
    osq_rows_int(out, 4, i * 10);
    osq_rows_end(out);
  }
  return OSQ_OK;
}

static osq_table_plugin rec_table = {
    .name = "rec", .columns = rec_cols, .ncolumns = 5,
    .generate = rec_generate};

static void add_table(osq_table_plugin *t, uint64_t owner) {
  char err[256];
  assert_int_equal(osq_registry_add(OSQ_REGISTRY_TABLE, t, owner, false, err,
                                    sizeof err),
                   OSQ_OK);
}

static int setup(void **state) {
  (void)state;
  osq_registry_reset();
  add_table(&rec_table, 0);
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

static void test_basic_select(void **state) {
  (void)state;
  assert_string_equal(q("select id, name, plain from rec"),
                      "1|n1|p\n2|n2|p\n3|n3|p\n");
  assert_string_equal(q("select * from rec where id = 2"), "2|n2||p\n");
  assert_string_equal(q("select hid from rec where id = 3"), "30\n");
  assert_string_equal(q("selec 1"), "ERR 1: near \"selec\": syntax error");
  assert_string_equal(q("select * from nope"), "ERR 1: no such table: nope");
  assert_string_equal(q("select 1; select 2, 3"), "1\n2|3\n");
}

int main(void) {
  osq_flags_init(OSQ_PERSONALITY_SHELL);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_basic_select, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
