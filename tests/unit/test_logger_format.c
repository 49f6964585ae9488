/* Exact-format golden tests for every result/status line kind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/flags.h"
#include "logger/format.h"

/* 2014-09-30 17:37:30 UTC */
#define T0 1412098650

static json_t *row3(const char *name, const char *path, int pid) {
  return json_pack("{s:s,s:s,s:i}", "name", name, "path", path, "pid", pid);
}

static osq_log_meta meta(void) {
  osq_log_meta m = {.name = "processes",
                    .host = "host.local",
                    .unix_time = T0,
                    .epoch = 0,
                    .counter = 1};
  return m;
}

static void check(char *got, const char *want) {
  assert_non_null(got);
  assert_string_equal(got, want);
  free(got);
}

static void test_calendar(void **state) {
  (void)state;
  char buf[64];
  osq_calendar_time(T0, buf);
  assert_string_equal(buf, "Tue Sep 30 17:37:30 2014 UTC");
  osq_calendar_time(1462228052, buf);
  assert_string_equal(buf, "Mon May  2 22:27:32 2016 UTC");
}

static void test_event_added_removed(void **state) {
  (void)state;
  osq_log_meta m = meta();
  json_t *r = row3("osqd", "/usr/bin/osqd", 97830);
  check(osq_log_event_line(&m, r, "added"),
        "{\"name\":\"processes\",\"hostIdentifier\":\"host.local\","
        "\"calendarTime\":\"Tue Sep 30 17:37:30 2014 UTC\",\"unixTime\":"
        "1412098650,\"epoch\":0,\"counter\":1,\"numerics\":false,"
        "\"columns\":{\"name\":\"osqd\",\"path\":\"/usr/bin/osqd\",\"pid\":"
        "\"97830\"},\"action\":\"added\"}");
  check(osq_log_event_line(&m, r, "removed"),
        "{\"name\":\"processes\",\"hostIdentifier\":\"host.local\","
        "\"calendarTime\":\"Tue Sep 30 17:37:30 2014 UTC\",\"unixTime\":"
        "1412098650,\"epoch\":0,\"counter\":1,\"numerics\":false,"
        "\"columns\":{\"name\":\"osqd\",\"path\":\"/usr/bin/osqd\",\"pid\":"
        "\"97830\"},\"action\":\"removed\"}");
  m.numerics = true;
  json_t *dec = json_pack("{s:s}", "host_uuid", "abc");
  m.decorations = dec;
  check(osq_log_event_line(&m, r, "added"),
        "{\"name\":\"processes\",\"hostIdentifier\":\"host.local\","
        "\"calendarTime\":\"Tue Sep 30 17:37:30 2014 UTC\",\"unixTime\":"
        "1412098650,\"epoch\":0,\"counter\":1,\"numerics\":true,"
        "\"decorations\":{\"host_uuid\":\"abc\"},"
        "\"columns\":{\"name\":\"osqd\",\"path\":\"/usr/bin/osqd\",\"pid\":"
        "97830},\"action\":\"added\"}");
  m.decorations_top_level = true;
  m.numerics = false;
  check(osq_log_event_line(&m, r, "added"),
        "{\"name\":\"processes\",\"hostIdentifier\":\"host.local\","
        "\"calendarTime\":\"Tue Sep 30 17:37:30 2014 UTC\",\"unixTime\":"
        "1412098650,\"epoch\":0,\"counter\":1,\"numerics\":false,"
        "\"host_uuid\":\"abc\","
        "\"columns\":{\"name\":\"osqd\",\"path\":\"/usr/bin/osqd\",\"pid\":"
        "\"97830\"},\"action\":\"added\"}");
  json_decref(dec);
  json_decref(r);
}

static void test_batch(void **state) {
  (void)state;
  osq_log_meta m = meta();
  json_t *rem = json_pack("[o]", row3("osqd", "/usr/bin/osqd", 97650));
  json_t *add = json_pack("[o]", row3("osqd", "/usr/bin/osqd", 97830));
  check(osq_log_batch_line(&m, rem, add),
        "{\"diffResults\":{\"removed\":[{\"name\":\"osqd\",\"path\":"
        "\"/usr/bin/osqd\",\"pid\":\"97650\"}],\"added\":[{\"name\":\"osqd\","
        "\"path\":\"/usr/bin/osqd\",\"pid\":\"97830\"}]},\"name\":"
        "\"processes\",\"hostIdentifier\":\"host.local\",\"calendarTime\":"
        "\"Tue Sep 30 17:37:30 2014 UTC\",\"unixTime\":1412098650,\"epoch\":"
        "0,\"counter\":1,\"numerics\":false}");
  json_t *e1 = json_array(), *e2 = json_array();
  m.counter = 0;
  check(osq_log_batch_line(&m, e1, e2),
        "{\"diffResults\":{\"removed\":[],\"added\":[]},\"name\":"
        "\"processes\",\"hostIdentifier\":\"host.local\",\"calendarTime\":"
        "\"Tue Sep 30 17:37:30 2014 UTC\",\"unixTime\":1412098650,\"epoch\":"
        "0,\"counter\":0,\"numerics\":false}");
  json_decref(e1);
  json_decref(e2);
  json_decref(rem);
  json_decref(add);
}

static void test_snapshot(void **state) {
  (void)state;
  osq_log_meta m = meta();
  m.name = "process_snapshot";
  m.counter = 0;
  m.unix_time = 1462228052;
  json_t *rows = json_pack("[{s:s,s:s,s:s},{s:s,s:s,s:s}]", "parent", "0",
                           "path", "/sbin/launchd", "pid", "1", "parent", "1",
                           "path", "/usr/sbin/syslogd", "pid", "51");
  check(osq_log_snapshot_line(&m, rows),
        "{\"snapshot\":[{\"parent\":\"0\",\"path\":\"/sbin/launchd\",\"pid\":"
        "\"1\"},{\"parent\":\"1\",\"path\":\"/usr/sbin/syslogd\",\"pid\":"
        "\"51\"}],\"action\":\"snapshot\",\"name\":\"process_snapshot\","
        "\"hostIdentifier\":\"host.local\",\"calendarTime\":\"Mon May  2 "
        "22:27:32 2016 UTC\",\"unixTime\":1462228052,\"epoch\":0,\"counter\":"
        "0,\"numerics\":false}");
  /* snapshot as events: the event layout with action "snapshot" */
  check(osq_log_event_line(&m, json_array_get(rows, 0), "snapshot"),
        "{\"name\":\"process_snapshot\",\"hostIdentifier\":\"host.local\","
        "\"calendarTime\":\"Mon May  2 22:27:32 2016 UTC\",\"unixTime\":"
        "1462228052,\"epoch\":0,\"counter\":0,\"numerics\":false,"
        "\"columns\":{\"parent\":\"0\",\"path\":\"/sbin/launchd\",\"pid\":"
        "\"1\"},\"action\":\"snapshot\"}");
  json_decref(rows);
}

static void test_doubles(void **state) {
  (void)state;
  char b[64];
  osq_log_double_text(1.0, b, sizeof b);
  assert_string_equal(b, "1.0");
  osq_log_double_text(0.25, b, sizeof b);
  assert_string_equal(b, "0.25");
  osq_log_meta m = meta();
  json_t *r = json_pack("{s:f}", "load", 2.0);
  char *line = osq_log_event_line(&m, r, "added");
  assert_non_null(strstr(line, "\"columns\":{\"load\":\"2.0\"}"));
  free(line);
  json_decref(r);
}

static void test_escape(void **state) {
  (void)state;
  size_t n;
  char *e = osq_log_escape("a\tb\xff\xc3\xa9z", 7, &n);
  assert_string_equal(e, "a\\x09b\\xFF\xc3\xa9z");
  free(e);
  e = osq_log_escape_invalid_utf8("a\tb\xff", 4, &n);
  assert_string_equal(e, "a\tb\\xFF");
  free(e);
  /* the escaped backslash appears doubled in the JSON line */
  osq_log_meta m = meta();
  e = osq_log_escape("x\n", 2, &n);
  json_t *r = json_pack("{s:s}", "v", e);
  char *line = osq_log_event_line(&m, r, "added");
  assert_non_null(strstr(line, "\"columns\":{\"v\":\"x\\\\x0A\"}"));
  free(line);
  free(e);
  json_decref(r);
}

static void test_status(void **state) {
  (void)state;
  osq_status_line st = {OSQ_SEV_WARNING, "scheduler.c", 115, "hello \"x\"",
                        T0, 0};
  json_t *rec = osq_log_status_record(&st, "host.local");
  char *s = json_dumps(rec, JSON_COMPACT);
  assert_string_equal(
      s, "{\"s\":1,\"f\":\"scheduler.c\",\"i\":115,\"m\":\"hello \\\"x\\\"\","
         "\"h\":\"host.local\",\"c\":\"Tue Sep 30 17:37:30 2014 UTC\","
         "\"u\":1412098650}");
  free(s);
  json_decref(rec);
  setenv("TZ", "UTC", 1);
  char buf[256];
  osq_log_status_text(&st, 123456, 1234, buf, sizeof buf);
  assert_string_equal(buf,
                      "W0930 17:37:30.123456  1234 scheduler.c:115] hello \"x\"");
}

int main(void) {
  osq_flags_init(OSQ_PERSONALITY_DAEMON);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_calendar), cmocka_unit_test(test_event_added_removed),
      cmocka_unit_test(test_batch),    cmocka_unit_test(test_snapshot),
      cmocka_unit_test(test_doubles),  cmocka_unit_test(test_escape),
      cmocka_unit_test(test_status),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
