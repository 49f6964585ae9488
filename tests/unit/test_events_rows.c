/* Event rows: what osq_ev_row writes is JSON that jansson reads back with
 * the values set (escapes, control bytes, non-UTF-8 text, integer
 * extremes), and the event tables' generate reads the same values back
 * through its own reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "events/events_internal.h"
#include "events/evstore.h"
#include "test_tables_sink.h"

static const char *const texts[] = {
    "plain",
    "q\"uo\\te/sl",
    "ctl\n\t\r\b\f\x01\x1f end",
    "utf8 \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
    "",
};

typedef struct got {
  char *text[8];
  size_t n;
} got;

static int keep(void *u, uint64_t eid, int64_t t, const char *row,
                size_t len) {
  (void)eid;
  (void)t;
  got *g = u;
  if (g->n < 8)
    g->text[g->n++] = strndup(row, len);
  return 0;
}

static int col(const char *name) {
  const osq_table_plugin *t = &osq_table_process_events;
  for (size_t i = 0; i < t->ncolumns; i++)
    if (strcmp(t->columns[i].name, name) == 0)
      return (int)i;
  return -1;
}

static void test_rows_round_trip(void **state) {
  (void)state;
  char err[256];
  assert_int_equal(osq_evstore_open(NULL, err, sizeof err), 0);
  const osq_table_plugin *t = &osq_table_process_events;
  for (size_t k = 0; k < sizeof texts / sizeof *texts; k++) {
    osq_ev_row *row = osq_ev_row_new(t);
    assert_non_null(row);
    osq_ev_row_str(row, t, "path", texts[k]);
    osq_ev_row_str(row, t, "cmdline", "bad \xff\xfe utf8 \xc3");
    osq_ev_row_int(row, t, "pid", INT64_MIN);
    osq_ev_row_int(row, t, "parent", INT64_MAX);
    osq_ev_row_int(row, t, "uid", -1);
    osq_ev_row_int(row, t, "gid", 7);
    osq_ev_row_int(row, t, "gid", 0); /* set twice: the last counts */
    osq_ev_row_str(row, t, "no_such_column", "ignored");
    assert_int_equal(osq_ev_add("process_events", 1000 + (int64_t)k, row),
                     0);
  }
  osq_evstore_commit(0, 0);
  got g = {0};
  uint64_t last = 0;
  osq_ev_range all = {0, UINT64_MAX, INT64_MIN, INT64_MAX};
  assert_int_equal(osq_evstore_scan("process_events", &all, keep, &g, &last),
                   0);
  assert_int_equal(g.n, sizeof texts / sizeof *texts);
  for (size_t k = 0; k < g.n; k++) {
    json_error_t je;
    json_t *a = json_loads(g.text[k], 0, &je);
    assert_non_null(a);
    assert_int_equal(json_array_size(a), t->ncolumns);
    assert_string_equal(json_string_value(json_array_get(a, col("path"))),
                        texts[k]);
    assert_string_equal(
        json_string_value(json_array_get(a, col("cmdline"))),
        "bad ?? utf8 ?");
    assert_true(json_integer_value(json_array_get(a, col("pid"))) ==
                INT64_MIN);
    assert_true(json_integer_value(json_array_get(a, col("parent"))) ==
                INT64_MAX);
    assert_int_equal(json_integer_value(json_array_get(a, col("gid"))), 0);
    assert_true(json_is_null(json_array_get(a, col("cwd"))));
    json_decref(a);
    free(g.text[k]);
  }
  /* generate's reader gives the same values */
  tresult *r = trun_all(t);
  assert_int_equal(r->rc, OSQ_OK);
  assert_int_equal(r->n, sizeof texts / sizeof *texts);
  for (size_t k = 0; k < r->n; k++) {
    tcell *c = r->rows[k];
    assert_string_equal(c[col("path")].s, texts[k]);
    assert_string_equal(c[col("cmdline")].s, "bad ?? utf8 ?");
    assert_true(c[col("pid")].i == INT64_MIN);
    assert_true(c[col("parent")].i == INT64_MAX);
    assert_int_equal(c[col("uid")].i, -1);
    assert_int_equal(c[col("gid")].i, 0);
    assert_int_equal(c[col("time")].i, 1000 + (int64_t)k);
    assert_int_equal(c[col("cwd")].kind, OSQ_VALUE_NULL);
  }
  tfree(r);
  osq_evstore_close();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rows_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
