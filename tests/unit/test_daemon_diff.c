/* Differential results: multiset diff, epoch and counter rules, and the
 * store surviving a reopen. */
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
#include "daemon/diff.h"
#include "daemon/store.h"
#include "logger/format.h"

static json_t *rows(const char *json) {
  json_error_t e;
  json_t *r = json_loads(json, 0, &e);
  assert_non_null(r);
  return r;
}

static void assert_json(const json_t *v, const char *want) {
  char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
  assert_string_equal(s, want);
  free(s);
}

static void test_multiset(void **state) {
  (void)state;
  json_t *prev = rows("[{\"a\":1},{\"a\":1},{\"a\":2},{\"a\":\"1\"}]");
  json_t *cur = rows("[{\"a\":1},{\"a\":3},{\"a\":3}]");
  json_t *add, *rem;
  assert_int_equal(osq_diff_rows(prev, cur, &add, &rem), 0);
  assert_json(add, "[{\"a\":3},{\"a\":3}]");
  assert_json(rem, "[{\"a\":1},{\"a\":2},{\"a\":\"1\"}]");
  json_decref(add);
  json_decref(rem);
  json_decref(prev);
  json_decref(cur);
}

/* One scheduled run: prepare, render as the logger would, commit. */
static char *run(osq_store *s, const char *sql, uint64_t epoch,
                 const char *cur_json, bool removed, bool batch,
                 uint64_t *counter) {
  json_t *cur = rows(cur_json);
  osq_diff_out d;
  assert_int_equal(
      osq_results_prepare(s, "q", sql, epoch, cur, removed, &d), 0);
  osq_log_meta m = {.name = "q", .host = "h", .unix_time = 1412098650,
                    .epoch = epoch, .counter = d.counter};
  char *out = strdup("");
  if (d.log) {
    if (batch) {
      free(out);
      out = osq_log_batch_line(&m, d.removed, d.added);
    } else {
      size_t i;
      json_t *r;
      json_array_foreach(d.removed, i, r) {
        char *l = osq_log_event_line(&m, r, "removed");
        char *n = NULL;
        assert_true(asprintf(&n, "%s%s\n", out, l) > 0);
        free(out);
        free(l);
        out = n;
      }
      json_array_foreach(d.added, i, r) {
        char *l = osq_log_event_line(&m, r, "added");
        char *n = NULL;
        assert_true(asprintf(&n, "%s%s\n", out, l) > 0);
        free(out);
        free(l);
        out = n;
      }
    }
  }
  assert_int_equal(osq_results_commit(s, "q", sql, epoch, cur, &d), 0);
  *counter = d.counter;
  osq_diff_out_free(&d);
  json_decref(cur);
  return out;
}


static void test_epoch_counter(void **state) {
  (void)state;
  char err[256];
  osq_store *s = osq_store_open(NULL, err, sizeof err);
  assert_non_null(s);
  uint64_t c;
  /* first run with no rows: batch logs an empty diff with counter 0 */
  char *l = run(s, "select 1", 0, "[]", true, true, &c);
  assert_string_equal(
      l, "{\"diffResults\":{\"removed\":[],\"added\":[]},\"name\":\"q\","
         "\"hostIdentifier\":\"h\",\"calendarTime\":\"Tue Sep 30 17:37:30 "
         "2014 UTC\",\"unixTime\":1412098650,\"epoch\":0,\"counter\":0,"
         "\"numerics\":false}");
  free(l);
  /* a row appears: counter 1, event format */
  l = run(s, "select 1", 0, "[{\"pid\":1}]", true, false, &c);
  assert_int_equal(c, 1);
  assert_string_equal(l, "{\"name\":\"q\",\"hostIdentifier\":\"h\","
                         "\"calendarTime\":\"Tue Sep 30 17:37:30 2014 UTC\","
                         "\"unixTime\":1412098650,\"epoch\":0,\"counter\":1,"
                         "\"numerics\":false,\"columns\":{\"pid\":\"1\"},"
                         "\"action\":\"added\"}\n");
  free(l);
  /* no change: nothing logged, counter unchanged */
  l = run(s, "select 1", 0, "[{\"pid\":1}]", true, false, &c);
  assert_string_equal(l, "");
  assert_int_equal(c, 1);
  free(l);
  /* replaced row: removed first, then added, counter 2 */
  l = run(s, "select 1", 0, "[{\"pid\":2}]", true, false, &c);
  assert_int_equal(c, 2);
  assert_non_null(strstr(l, "\"counter\":2,\"numerics\":false,\"columns\":"
                            "{\"pid\":\"1\"},\"action\":\"removed\"}\n{"));
  assert_non_null(strstr(l, "{\"pid\":\"2\"},\"action\":\"added\"}\n"));
  free(l);
  /* removed=false: only removals -> counter moves, nothing logged */
  l = run(s, "select 1", 0, "[]", false, false, &c);
  assert_int_equal(c, 3);
  assert_string_equal(l, "");
  free(l);
  /* new epoch: everything added again, counter 0 */
  l = run(s, "select 1", 7, "[{\"pid\":5}]", true, false, &c);
  assert_int_equal(c, 0);
  assert_non_null(strstr(l, "\"epoch\":7,\"counter\":0,"));
  free(l);
  /* SQL change does not reset the diff */
  l = run(s, "select 2", 7, "[{\"pid\":5}]", true, false, &c);
  assert_string_equal(l, "");
  assert_int_equal(c, 0);
  free(l);
  osq_stored_query q;
  assert_int_equal(osq_store_get_query(s, "q", &q), 1);
  assert_string_equal(q.sql, "select 2");
  osq_stored_query_free(&q);
  osq_store_close(s);
}

static void test_store_file(void **state) {
  (void)state;
  char dir[] = "/tmp/osq-store-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof path, "%s/sub/dir/osq.db", dir);
  char err[256];
  osq_store *s = osq_store_open(path, err, sizeof err);
  assert_non_null(s);
  assert_int_equal(osq_store_set(s, "executing_query", "q1"), 0);
  uint64_t c;
  free(run(s, "select 1", 0, "[{\"a\":\"x\"}]", true, false, &c));
  osq_store_close(s);
  s = osq_store_open(path, err, sizeof err);
  assert_non_null(s);
  char *v = osq_store_get(s, "executing_query");
  assert_string_equal(v, "q1");
  free(v);
  assert_null(osq_store_get(s, "nope"));
  /* a restarted daemon diffs against what it stored */
  char *l = run(s, "select 1", 0, "[{\"a\":\"x\"},{\"a\":\"y\"}]", true,
                false, &c);
  assert_int_equal(c, 1);
  assert_non_null(strstr(l, "{\"a\":\"y\"},\"action\":\"added\"}"));
  assert_null(strstr(l, "{\"a\":\"x\"}"));
  free(l);
  osq_store_close(s);
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
  /* an unusable path is reported, naming it */
  s = osq_store_open("/proc/nope/x.db", err, sizeof err);
  assert_null(s);
  assert_non_null(strstr(err, "/proc/nope"));
}

int main(void) {
  osq_flags_init(OSQ_PERSONALITY_DAEMON);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_multiset),
      cmocka_unit_test(test_epoch_counter),
      cmocka_unit_test(test_store_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
