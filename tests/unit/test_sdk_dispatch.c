/* osq_dispatch_*: golden request -> reply for every action. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "thrift/dispatch.h"
#include "reply_render.h"

static osq_strmap *req(const char *k, ...) {
  osq_strmap *m = malloc(sizeof *m);
  osq_strmap_init(m);
  va_list ap;
  va_start(ap, k);
  for (; k; k = va_arg(ap, const char *)) {
    const char *v = va_arg(ap, const char *);
    osq_strmap_set(m, k, v, strlen(v));
  }
  va_end(ap);
  return m;
}

static void check(int (*fn)(const void *, const osq_strmap *, osq_api_reply *,
                            int64_t),
                  const void *plugin, osq_strmap *m, const char *want) {
  osq_api_reply r;
  osq_api_reply_init(&r);
  assert_int_equal(fn(plugin, m, &r, 77), OSQ_OK);
  char *got = render(&r);
  assert_string_equal(got, want);
  free(got);
  osq_api_reply_free(&r);
  osq_strmap_clear(m);
  free(m);
}

#define TABLE(t, m, want) check((void *)osq_dispatch_table, t, m, want)
#define CONFIG(c, m, want) check((void *)osq_dispatch_config, c, m, want)
#define LOGGER(l, m, want) check((void *)osq_dispatch_logger, l, m, want)
#define DIST(d, m, want) check((void *)osq_dispatch_distributed, d, m, want)

/* ---- a table -------------------------------------------------------------- */

static const osq_column cols[] = {
    {"pid", OSQ_TYPE_BIGINT, OSQ_COL_INDEX},
    {"name", OSQ_TYPE_TEXT, 0},
    {"score", OSQ_TYPE_DOUBLE, 0},
    {"data", OSQ_TYPE_BLOB, 0},
    {"secret", OSQ_TYPE_INTEGER, OSQ_COL_HIDDEN},
};
static const char *const aliases[] = {"t_view", NULL};
static char last_used[64];

static int gen(const osq_context *ctx, osq_rows *out, void *u) {
  (void)u;
  last_used[0] = '\0';
  for (size_t c = 0; c < osq_context_ncolumns(ctx); c++)
    if (osq_context_column_used(ctx, c)) {
      strcat(last_used, osq_context_column(ctx, c)->name);
      strcat(last_used, ";");
    }
  int64_t only = -1;
  for (size_t i = 0; i < osq_context_nconstraints(ctx, 0); i++) {
    const osq_constraint *k = osq_context_constraint(ctx, 0, i);
    if (k->op == OSQ_OP_EQ)
      only = atoll(k->expr);
  }
  for (int64_t pid = 1; pid <= 3; pid++) {
    if (only >= 0 && pid != only)
      continue;
    osq_rows_cstr(out, 1, pid == 2 ? NULL : "proc"); /* NULL: left out */
    osq_rows_int(out, 0, pid);
    osq_rows_double(out, 2, pid == 3 ? 0.1 : 1.0 / 3);
    osq_rows_blob(out, 3, "a\0b", pid == 1 ? 3 : 0);
    osq_rows_int(out, 4, -5);
    osq_rows_int(out, 4, 6); /* twice: last wins */
    if (pid == 3)
      osq_rows_rowid(out, 42);
    osq_rows_end(out);
  }
  return OSQ_OK;
}

static int gen_fail(const osq_context *ctx, osq_rows *out, void *u) {
  (void)ctx;
  (void)u;
  osq_rows_int(out, 0, 1);
  osq_rows_end(out);
  osq_rows_error(out, "cannot read /nope: No such file");
  return OSQ_ERROR;
}

static int write_fn(osq_write *w, void *u) {
  (void)u;
  switch (w->action) {
  case OSQ_WRITE_INSERT:
    if (w->values[0].kind == OSQ_VALUE_INT && w->values[0].u.i == 13)
      return OSQ_CONSTRAINT;
    assert_int_equal(w->nvalues, 5);
    assert_int_equal(w->values[1].kind, OSQ_VALUE_TEXT);
    assert_int_equal(w->values[2].kind, OSQ_VALUE_DOUBLE);
    assert_int_equal(w->values[3].kind, OSQ_VALUE_BLOB);
    assert_int_equal(w->values[4].kind, OSQ_VALUE_NULL);
    w->assigned_rowid = 99;
    return OSQ_OK;
  case OSQ_WRITE_UPDATE:
    assert_int_equal(w->rowid, 5);
    assert_true(w->rowid_changes);
    assert_int_equal(w->new_rowid, 6);
    return OSQ_OK;
  case OSQ_WRITE_DELETE:
    if (w->rowid == 1)
      return OSQ_READONLY;
    snprintf(w->message, sizeof w->message, "row %lld is pinned",
             (long long)w->rowid);
    return OSQ_ERROR;
  }
  return OSQ_ERROR;
}

static osq_table_plugin table = {
    .name = "t",
    .columns = cols,
    .ncolumns = 5,
    .attributes = OSQ_TABLE_CACHEABLE,
    .aliases = aliases,
    .generate = gen,
    .write = write_fn,
};

static void test_columns(void **state) {
  (void)state;
  TABLE(&table, req("action", "columns", NULL),
        "0|OK|77"
        "\nid=column,name=pid,type=BIGINT,op=1"
        "\nid=column,name=name,type=TEXT,op=0"
        "\nid=column,name=score,type=DOUBLE,op=0"
        "\nid=column,name=data,type=BLOB,op=0"
        "\nid=column,name=secret,type=INTEGER,op=16"
        "\nid=alias,alias=t_view"
        "\nid=attributes,attributes=2");
  osq_plist l;
  osq_plist_init(&l);
  assert_int_equal(osq_dispatch_route_info(&table, &l), OSQ_OK);
  assert_int_equal(l.n, 7);
  assert_string_equal(osq_strmap_get(&l.rows[6], "attributes"), "2");
  osq_plist_clear(&l);
}

static void test_generate(void **state) {
  (void)state;
  /* keys in byte order; NULL name left out; rowid at its key position */
  TABLE(&table, req("action", "generate", NULL),
        "0|OK|77"
        "\ndata=a,name=proc,pid=1,score=0.33333333333333331,secret=6"
        "\ndata=,pid=2,score=0.33333333333333331,secret=6"
        "\ndata=,name=proc,pid=3,rowid=42,score=0.1,secret=6");
  assert_string_equal(last_used, "pid;name;score;data;secret;");
  TABLE(&table,
        req("action", "generate", "context",
            "{\"constraints\":[{\"name\":\"name\",\"list\":[],\"affinity\":"
            "\"TEXT\"},{\"name\":\"pid\",\"list\":[{\"op\":2,\"expr\":\"3\"}],"
            "\"affinity\":\"BIGINT\"}],\"colsUsed\":[\"pid\",\"score\"],"
            "\"colsUsedBitset\":5}",
            NULL),
        "0|OK|77\ndata=,name=proc,pid=3,rowid=42,score=0.1,secret=6");
  assert_string_equal(last_used, "pid;score;");
  /* an old core: op as a string, list as "" */
  TABLE(&table,
        req("action", "generate", "context",
            "{\"constraints\":[{\"name\":\"pid\",\"list\":[{\"op\":\"2\","
            "\"expr\":\"2\"}],\"affinity\":\"BIGINT\"},{\"name\":\"name\","
            "\"list\":\"\",\"affinity\":\"TEXT\"}]}",
            NULL),
        "0|OK|77\ndata=,pid=2,score=0.33333333333333331,secret=6");
}

/* Cells in key order go straight into the reply; the fallbacks (a cell
 * out of order, a value turned NULL, a late rowid, an unfinished row) must
 * give the same bytes as the staged path. */
static const osq_column sorted_cols[] = {
    {"a", OSQ_TYPE_TEXT, 0}, {"b", OSQ_TYPE_INTEGER, 0},
    {"z", OSQ_TYPE_TEXT, 0}};

static int gen_sorted(const osq_context *ctx, osq_rows *out, void *u) {
  (void)ctx;
  (void)u;
  osq_rows_cstr(out, 0, "a1"); /* in order */
  osq_rows_int(out, 1, 1);
  osq_rows_cstr(out, 2, "z1");
  osq_rows_end(out);
  osq_rows_cstr(out, 0, "a2"); /* z then NULL: z is left out */
  osq_rows_cstr(out, 2, "z2");
  osq_rows_cstr(out, 2, NULL);
  osq_rows_int(out, 1, 2);
  osq_rows_end(out);
  osq_rows_cstr(out, 0, "a3"); /* rowid after z: its key sorts before z */
  osq_rows_cstr(out, 2, "z3");
  osq_rows_rowid(out, 7);
  osq_rows_end(out);
  osq_rows_end(out);            /* an empty row */
  osq_rows_cstr(out, 0, "a4"); /* never ended: not sent */
  return OSQ_OK;
}

static void test_generate_order(void **state) {
  (void)state;
  osq_table_plugin t = {.name = "s", .columns = sorted_cols, .ncolumns = 3,
                        .generate = gen_sorted};
  TABLE(&t, req("action", "generate", NULL),
        "0|OK|77\na=a1,b=1,z=z1\na=a2,b=2\na=a3,rowid=7,z=z3\n");
}

/* Only empty values out of key order: the stage holds no bytes and was
 * never allocated (found by fuzz_dispatch: NULL + 0 under UBSan). */
static int gen_empty_staged(const osq_context *ctx, osq_rows *out, void *u) {
  (void)ctx;
  (void)u;
  osq_rows_text(out, 2, "", 0);
  osq_rows_text(out, 0, "", 0);
  osq_rows_end(out);
  return OSQ_OK;
}

static void test_generate_empty_staged(void **state) {
  (void)state;
  osq_table_plugin t = {.name = "s", .columns = sorted_cols, .ncolumns = 3,
                        .generate = gen_empty_staged};
  TABLE(&t, req("action", "generate", NULL), "0|OK|77\na=,z=");
}

static void test_generate_errors(void **state) {
  (void)state;
  TABLE(&table, req("action", "generate", "context", "{nope", NULL),
        "1|table t: context JSON: string or '}' expected near 'nope' at line "
        "1 column 5|77");
  osq_table_plugin bad = table;
  bad.generate = gen_fail;
  TABLE(&bad, req("action", "generate", NULL),
        "1|cannot read /nope: No such file|77");
  TABLE(&table, req("action", "drop", NULL),
        "1|table t: unknown action \"drop\" (expected columns, generate, "
        "insert, update or delete)|77");
  TABLE(&table, req("nothing", "x", NULL),
        "1|table t: the request has no \"action\"|77");
}

static void test_writes(void **state) {
  (void)state;
  TABLE(&table,
        req("action", "insert", "auto_rowid", "false", "json_value_array",
            "[7,\"x\",1.5,\"blob\",null]", NULL),
        "0|OK|77\nstatus=success,id=99");
  TABLE(&table,
        req("action", "insert", "auto_rowid", "true", "id", "8",
            "json_value_array", "[7,\"x\",1.5,\"blob\",null]", NULL),
        "0|OK|77\nstatus=success");
  TABLE(&table,
        req("action", "insert", "auto_rowid", "false", "json_value_array",
            "[13,\"x\",1.5,\"blob\",null]", NULL),
        "0|OK|77\nstatus=constraint");
  TABLE(&table,
        req("action", "insert", "auto_rowid", "false", "json_value_array",
            "[1,2]", NULL),
        "1|table t: insert request: \"json_value_array\" has 2 values for 5 "
        "columns|77");
  TABLE(&table,
        req("action", "update", "id", "5", "new_id", "6", "json_value_array",
            "[7,\"x\",1.5,\"blob\",null]", NULL),
        "0|OK|77\nstatus=success");
  TABLE(&table, req("action", "delete", "id", "1", NULL),
        "0|OK|77\nstatus=readonly");
  TABLE(&table, req("action", "delete", "id", "2", NULL),
        "0|OK|77\nstatus=failure,message=row 2 is pinned");
  TABLE(&table, req("action", "delete", "id", "2x", NULL),
        "1|table t: delete request: \"id\" is missing or not an integer "
        "rowid|77");
  osq_table_plugin ro = table;
  ro.write = NULL;
  TABLE(&ro, req("action", "delete", "id", "1", NULL),
        "0|OK|77\nstatus=readonly");
}

/* ---- config, logger, distributed ------------------------------------------ */

static int cfg_gen(osq_strmap *out, void *u) {
  (void)u;
  return osq_strmap_set(out, "main", "{\"options\":{}}", 14);
}
static int cfg_pack(const char *name, const char *value, osq_strmap *out,
                    void *u) {
  (void)u;
  if (strcmp(name, "bad") == 0) {
    osq_strmap_error(out, "pack %s: not found", name);
    return OSQ_ERROR;
  }
  return osq_strmap_set(out, name, value, strlen(value));
}

static void test_config(void **state) {
  (void)state;
  osq_config_plugin c = {.name = "c", .generate = cfg_gen,
                         .gen_pack = cfg_pack};
  CONFIG(&c, req("action", "genConfig", NULL),
         "0|OK|77\nmain={\"options\":{}}");
  CONFIG(&c, req("action", "genPack", "name", "p", "value", "{}", NULL),
         "0|OK|77\np={}");
  CONFIG(&c, req("action", "genPack", "name", "bad", "value", "", NULL),
         "1|pack bad: not found|77");
  c.gen_pack = NULL;
  CONFIG(&c, req("action", "genPack", "name", "p", NULL),
         "1|config plugin c does not serve packs|77");
  /* osquery's update action: source and data, answered OK */
  CONFIG(&c, req("action", "update", "source", "s", "data", "{}", NULL),
         "0|OK|77");
  CONFIG(&c, req("action", "update", "source", "s", NULL),
         "1|Missing source or data|77");
  CONFIG(&c, req("action", "drop", NULL),
         "1|config plugin c: unknown action \"drop\" (expected genConfig, "
         "genPack or update)|77");
}

static char logged[512];
static int log_fn(osq_log_kind kind, const char *text, size_t len, void *u) {
  (void)u;
  if (strcmp(text, "fail") == 0)
    return OSQ_EIO;
  size_t n = strlen(logged);
  snprintf(logged + n, sizeof logged - n, "%d:%.*s;", (int)kind, (int)len,
           text);
  return OSQ_OK;
}

static void test_logger(void **state) {
  (void)state;
  osq_logger_plugin l = {.name = "l", .features = 3, .log = log_fn};
  logged[0] = '\0';
  LOGGER(&l, req("string", "{\"r\":1}", "category", "event", NULL),
         "0|OK|77");
  LOGGER(&l, req("snapshot", "{\"s\":1}", NULL), "0|OK|77");
  LOGGER(&l, req("init", "osqd", NULL), "0|OK|77");
  LOGGER(&l, req("status", "true", "log", "[{\"s\":0}]", NULL), "0|OK|77");
  LOGGER(&l, req("event", "{\"e\":1}", NULL), "0|OK|77");
  assert_string_equal(logged,
                      "0:{\"r\":1};1:{\"s\":1};3:osqd;2:[{\"s\":0}];4:{\"e\":1};");
  LOGGER(&l, req("action", "features", NULL), "3|OK|77");
  LOGGER(&l, req("string", "fail", NULL),
         "1|logger l failed to log a string line: input/output error|77");
  LOGGER(&l, req("status", "true", NULL),
         "1|logger l: status request has no \"log\"|77");
  LOGGER(&l, req("health", "x", NULL),
         "1|logger l: unknown request (expected string, snapshot, init, "
         "status, event or action features)|77");
}

static char results[128];
static int dq(osq_strmap *out, void *u) {
  (void)u;
  const char *q = "{\"queries\":{\"a\":\"select 1\"}}";
  return osq_strmap_set(out, "results", q, strlen(q));
}
static int dw(const char *json, size_t len, void *u) {
  (void)u;
  snprintf(results, sizeof results, "%.*s", (int)len, json);
  return OSQ_OK;
}

static void test_distributed(void **state) {
  (void)state;
  osq_distributed_plugin d = {.name = "d", .get_queries = dq,
                              .write_results = dw};
  DIST(&d, req("action", "getQueries", NULL),
       "0|OK|77\nresults={\"queries\":{\"a\":\"select 1\"}}");
  DIST(&d, req("action", "writeResults", "results", "{\"queries\":{}}", NULL),
       "0|OK|77");
  assert_string_equal(results, "{\"queries\":{}}");
  DIST(&d, req("action", "writeResults", NULL),
       "1|distributed plugin d: writeResults request has no \"results\"|77");
  DIST(&d, req("action", "x", NULL),
       "1|distributed plugin d: unknown action \"x\" (expected getQueries or "
       "writeResults)|77");
}

static void test_unknown_and_format(void **state) {
  (void)state;
  osq_api_reply r;
  osq_api_reply_init(&r);
  osq_dispatch_unknown_registry(&r, "killswitch", 5);
  assert_int_equal(r.status.code, 1);
  assert_string_equal(r.status.message,
                      "Unknown registry requested: killswitch");
  osq_dispatch_unknown_item(&r, "nope", 5);
  assert_string_equal(r.status.message, "Cannot call registry item: nope");
  osq_api_reply_free(&r);

  char buf[OSQ_DISPATCH_NUMBUF];
  size_t n;
  osq_value v = {.kind = OSQ_VALUE_DOUBLE};
  v.u.d = 1e20;
  assert_string_equal(osq_dispatch_format(&v, buf, &n), "1e+20");
  v.u.d = 2.5;
  assert_string_equal(osq_dispatch_format(&v, buf, &n), "2.5");
  v.kind = OSQ_VALUE_INT;
  v.u.i = INT64_MIN;
  assert_string_equal(osq_dispatch_format(&v, buf, &n),
                      "-9223372036854775808");
  v.kind = OSQ_VALUE_NULL;
  assert_null(osq_dispatch_format(&v, buf, &n));

  /* through the registry's plugin struct */
  osq_plugin p = {.kind = OSQ_REGISTRY_TABLE, .name = "t"};
  p.u.table = &table;
  osq_strmap *m = req("action", "generate", "context",
                      "{\"constraints\":[{\"name\":\"pid\",\"list\":[{\"op\":"
                      "2,\"expr\":\"1\"}],\"affinity\":\"BIGINT\"}],"
                      "\"colsUsed\":[\"pid\"]}",
                      NULL);
  osq_api_reply_init(&r);
  assert_int_equal(osq_dispatch_call(&p, m, &r, 0), OSQ_OK);
  char *got = render(&r);
  assert_string_equal(got, "0|OK|0\ndata=a,name=proc,pid=1,"
                           "score=0.33333333333333331,secret=6");
  free(got);
  osq_api_reply_free(&r);
  osq_strmap_clear(m);
  free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_columns),
      cmocka_unit_test(test_generate),
      cmocka_unit_test(test_generate_order),
      cmocka_unit_test(test_generate_empty_staged),
      cmocka_unit_test(test_generate_errors),
      cmocka_unit_test(test_writes),
      cmocka_unit_test(test_config),
      cmocka_unit_test(test_logger),
      cmocka_unit_test(test_distributed),
      cmocka_unit_test(test_unknown_and_format),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
