/* The SQL bridge: tables from the registry, pushdown, typed cells, the
 * per-statement cache, writable tables, run-time changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/cancel.h"
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

static const char *const rec_aliases[] = {"rec_alias", NULL};
static osq_table_plugin rec_table = {
    .name = "rec", .columns = rec_cols, .ncolumns = 5,
    .aliases = rec_aliases, .generate = rec_generate};

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
  assert_string_equal(q("select id from rec_alias where id = 1"), "1\n");
}

/* What generate saw for sql. */
static const char *pushed(const char *sql) {
  seen[0] = '\0';
  const char *r = q(sql);
  if (strncmp(r, "ERR", 3) == 0)
    return r;
  return seen;
}

static void test_pushdown_operators(void **state) {
  (void)state;
  assert_string_equal(pushed("select * from rec where id = 2"), "id 2 '2';");
  assert_string_equal(pushed("select * from rec where id > 1"), "id 4 '1';");
  assert_string_equal(pushed("select * from rec where id <= 1"), "id 8 '1';");
  assert_string_equal(pushed("select * from rec where id < 1"), "id 16 '1';");
  assert_string_equal(pushed("select * from rec where id >= 1"), "id 32 '1';");
  assert_string_equal(pushed("select * from rec where id != 1"), "id 68 '1';");
  assert_string_equal(pushed("select * from rec where id is 1"), "id 72 '1';");
  assert_string_equal(pushed("select * from rec where id is not 1"),
                      "id 69 '1';");
  assert_string_equal(pushed("select * from rec where name like 'n%'"),
                      "name 65 'n%';");
  assert_string_equal(pushed("select * from rec where name glob 'n*'"),
                      "name 66 'n*';");
  assert_string_equal(pushed("select * from rec where name regexp 'n[12]'"),
                      "name 67 'n[12]';");
  /* Text ranges are never pushed; plain columns never. */
  assert_string_equal(pushed("select * from rec where name > 'a'"), "");
  assert_string_equal(pushed("select * from rec where plain = 'p'"), "");
  /* Hidden ADDITIONAL column, and a double as text. */
  assert_string_equal(pushed("select * from rec where hid = 2.5"),
                      "hid 2 '2.5';");
  /* Empty strings and NULLs are dropped outside IN lists. */
  assert_string_equal(pushed("select * from rec where name = ''"), "");
  assert_string_equal(pushed("select * from rec where id = 1 and name = 'n1'"),
                      "id 2 '1';name 2 'n1';");
  /* A JOIN constraint reaches generate as a value. */
  assert_string_equal(
      pushed("select r.id from (select 2 as v) t join rec r on r.id = t.v"),
      "id 2 '2';");
}

static void test_pushdown_in_lists(void **state) {
  (void)state;
  /* INDEX column: one generate per value. */
  unsigned long before = osq_sql_generate_count("rec");
  assert_string_equal(pushed("select id from rec where id in (1, 3)"),
                      "id 2 '1';id 2 '3';");
  assert_int_equal(osq_sql_generate_count("rec") - before, 2);
  /* OPTIMIZED column: every value at once, empty strings kept. */
  before = osq_sql_generate_count("rec");
  assert_string_equal(pushed("select id from rec where opt in ('b', '', 'a')"),
                      "opt 2 '';opt 2 'a';opt 2 'b';");
  assert_int_equal(osq_sql_generate_count("rec") - before, 1);
  assert_string_equal(q("select id from rec where opt in ('o', 'x')"),
                      "1\n3\n");
}

static void test_cols_used(void **state) {
  (void)state;
  pushed("select name from rec");
  assert_string_equal(seen_used, "name,");
  pushed("select id, plain from rec where name = 'n1'");
  assert_string_equal(seen_used, "id,name,plain,");
  pushed("select * from rec");
  assert_string_equal(seen_used, "id,name,opt,plain,");
  pushed("select count(*) from rec");
  assert_string_equal(seen_used, "");
}


static void test_match(void **state) {
  (void)state;
  assert_string_equal(pushed("select id from rec where name match 'n2'"),
                      "name 64 'n2';");
}

/* ---- required columns ---------------------------------------------------- */

static const osq_column req_cols[] = {
    {"path", OSQ_TYPE_TEXT, OSQ_COL_REQUIRED},
    {"size", OSQ_TYPE_BIGINT, 0},
    {"dir", OSQ_TYPE_TEXT, OSQ_COL_REQUIRED},
};

static int req_generate(const osq_context *ctx, osq_rows *out, void *u) {
  (void)u;
  for (size_t i = 0; i < osq_context_nconstraints(ctx, 0); i++) {
    const osq_constraint *c = osq_context_constraint(ctx, 0, i);
    osq_rows_text(out, 0, c->expr, c->len);
    osq_rows_int(out, 1, (int64_t)c->len);
    osq_rows_end(out);
  }
  return OSQ_OK;
}

static osq_table_plugin req_table = {
    .name = "req", .columns = req_cols, .ncolumns = 3,
    .generate = req_generate};

static void test_required(void **state) {
  (void)state;
  add_table(&req_table, 0);
  unsigned long before = osq_sql_generate_count("req");
  assert_string_equal(q("select * from req"),
                      "ERR 19: Table req was queried without a required "
                      "column in the WHERE clause");
  assert_string_equal(q("select * from req where size = 1"),
                      "ERR 19: Table req was queried without a required "
                      "column in the WHERE clause");
  assert_int_equal(osq_sql_generate_count("req"), before);
  /* As in osquery, a constraint on a REQUIRED column satisfies it whatever
   * its value: '', NULL and an empty IN list reach generate() as no
   * constraint at all, and it finds no rows. */
  assert_string_equal(q("select * from req where path = ''"), "");
  assert_string_equal(q("select * from req where path = NULL"), "");
  assert_string_equal(q("select * from req where dir = ''"), "");
  assert_string_equal(
      q("select * from req where path in (select 'x' where 0)"), "");
  assert_string_equal(
      q("select t.p, r.size from (select '' as p union all select '/ab') t "
        "left join req r on r.path = t.p"),
      "|\n/ab|3\n");
  assert_true(osq_sql_generate_count("req") > before);
  assert_string_equal(q("select path, size from req where path = '/tmp'"),
                      "/tmp|4\n");
  /* Any one REQUIRED column will do (file takes path or directory). */
  assert_string_equal(q("select count(*) from req where dir = '/'"), "0\n");
  assert_string_equal(q("select path, size from req where path in ('/a', '/bb')"),
                      "/a|2\n/bb|3\n");
  assert_string_equal(
      q("select r.size from (select '/x' as p) t join req r on r.path = t.p"),
      "2\n");
}

/* ---- JOIN and the per-statement cache ------------------------------------ */

static void test_join_generates_once_per_constraint_set(void **state) {
  (void)state;
  unsigned long before = osq_sql_generate_count("rec");
  /* Outer values 1, 1, 2, 1: two distinct constraint sets. */
  assert_string_equal(
      q("select t.v, rec.name from (select 1 as v union all select 1 union "
        "all select 2 union all select 1) t join rec on rec.id = t.v"),
      "1|n1\n1|n1\n2|n2\n1|n1\n");
  assert_int_equal(osq_sql_generate_count("rec") - before, 2);
  /* A self join without constraints scans once. */
  before = osq_sql_generate_count("rec");
  assert_string_equal(q("select count(*) from rec a, rec b"), "9\n");
  assert_int_equal(osq_sql_generate_count("rec") - before, 1);
  /* Statements of one call share row sets. */
  before = osq_sql_generate_count("rec");
  assert_string_equal(q("select count(id) from rec; select max(id) from rec"),
                      "3\n3\n");
  assert_int_equal(osq_sql_generate_count("rec") - before, 1);
  /* A set with more columns serves a query reading fewer, not more. */
  before = osq_sql_generate_count("rec");
  assert_string_equal(q("select id, name from rec where id = 1; "
                        "select count(*) from rec where id = 1; "
                        "select plain from rec where id = 1"),
                      "1|n1\n1\np\n");
  assert_int_equal(osq_sql_generate_count("rec") - before, 2);
  /* Each osq_db_exec starts afresh. */
  before = osq_sql_generate_count("rec");
  q("select id from rec");
  q("select id from rec");
  assert_int_equal(osq_sql_generate_count("rec") - before, 2);
  assert_int_equal(osq_sql_generate_count("never_registered"), 0);
}

/* ---- typed cells --------------------------------------------------------- */

static const osq_column typed_cols[] = {
    {"i", OSQ_TYPE_INTEGER, 0},       {"b", OSQ_TYPE_BIGINT, 0},
    {"u", OSQ_TYPE_UNSIGNED_BIGINT, 0}, {"d", OSQ_TYPE_DOUBLE, 0},
    {"t", OSQ_TYPE_TEXT, 0},          {"bl", OSQ_TYPE_BLOB, 0},
    {"unk", OSQ_TYPE_UNKNOWN, 0},
};

struct typed_row {
  const char *i, *b, *u, *d, *t;
};

static int typed_generate(const osq_context *ctx, osq_rows *out, void *u) {
  (void)ctx, (void)u;
  static const struct typed_row rows[] = {
      {"0x1f", "010", "18446744073709551615", "1.5", "x"},
      {"12abc", " 7", "9223372036854775807", "1.5x", ""},
      {"", "abc", "-1", "", "y"},
  };
  for (size_t r = 0; r < 3; r++) {
    osq_rows_cstr(out, 0, rows[r].i);
    osq_rows_cstr(out, 1, rows[r].b);
    osq_rows_cstr(out, 2, rows[r].u);
    osq_rows_cstr(out, 3, rows[r].d);
    osq_rows_cstr(out, 4, rows[r].t);
    osq_rows_blob(out, 5, "a\0b", 3);
    osq_rows_cstr(out, 6, "z");
    osq_rows_end(out);
  }
  /* Native values, converted to the column type. */
  osq_rows_int(out, 0, 5);
  osq_rows_double(out, 1, 2.9);
  osq_rows_int(out, 2, -1); /* given as int: kept */
  osq_rows_int(out, 3, 3);
  osq_rows_int(out, 4, 42);
  osq_rows_double(out, 5, 0.5);
  osq_rows_rowid(out, 77);
  osq_rows_end(out);
  /* A row with no cells is a row of NULLs. */
  osq_rows_end(out);
  return OSQ_OK;
}

static osq_table_plugin typed_table = {
    .name = "typed", .columns = typed_cols, .ncolumns = 7,
    .generate = typed_generate};

static void test_typed_cells(void **state) {
  (void)state;
  add_table(&typed_table, 0);
  assert_string_equal(q("select i, b, u, d, t, length(bl), unk from typed"),
                      "31|8||1.5|x|3|\n"
                      "12|7|9223372036854775807|||3|\n"
                      "||-1||y|3|\n"
                      "5|2|-1|3.0|42|3|\n"
                      "||||||\n");
  assert_string_equal(
      q("select typeof(i), typeof(b), typeof(u), typeof(d), typeof(t), "
        "typeof(bl), typeof(unk) from typed limit 1"),
      "integer|integer|null|real|text|blob|null\n");
  assert_string_equal(q("select hex(bl) from typed limit 1"), "610062\n");
  assert_string_equal(q("select rowid from typed"), "0\n1\n2\n77\n4\n");
}

static void test_cell_text_and_types(void **state) {
  (void)state;
  assert_string_equal(q("select 1e20, 0.5, 3.0, 1.0/3, -2, null, 'x'"),
                      "1e+20.0|0.5|3.0|0.333333333333333|-2||x\n");
  char err[256];
  assert_int_equal(OSQ_FLAG_SET(nullvalue, "NULL", err, sizeof err), 0);
  assert_string_equal(q("select null"), "NULL\n");
  assert_int_equal(OSQ_FLAG_SET(nullvalue, "", err, sizeof err), 0);
  sqlite3_stmt *st = NULL;
  osq_db_sync(db);
  assert_int_equal(sqlite3_prepare_v2(osq_db_sqlite(db),
                                      "select id, name, hid, 1 + 1 from rec",
                                      -1, &st, NULL),
                   SQLITE_OK);
  assert_string_equal(osq_sql_column_type(st, 0), "INTEGER");
  assert_string_equal(osq_sql_column_type(st, 1), "TEXT");
  assert_string_equal(osq_sql_column_type(st, 2), "INTEGER");
  assert_string_equal(osq_sql_column_type(st, 3), "UNKNOWN");
  sqlite3_finalize(st);
}

static void test_table_info(void **state) {
  (void)state;
  assert_string_equal(q("pragma table_info(rec)"),
                      "0|id|INTEGER|1||1\n"
                      "1|name|TEXT|1||2\n"
                      "2|opt|TEXT|0||0\n"
                      "3|plain|TEXT|0||0\n");
  assert_string_equal(q("select name, hidden from pragma_table_xinfo('rec') "
                        "where name = 'hid'"),
                      "hid|1\n");
  /* An extension's table keeps its rowid (it may be writable), so its key
   * columns are in the key but may be NULL, as in osquery. */
  static osq_table_plugin ext_rec = {
      .name = "ext_rec", .columns = rec_cols, .ncolumns = 5,
      .generate = rec_generate};
  add_table(&ext_rec, 42);
  assert_string_equal(q("pragma table_info(ext_rec)"),
                      "0|id|INTEGER|0||1\n"
                      "1|name|TEXT|0||2\n"
                      "2|opt|TEXT|0||0\n"
                      "3|plain|TEXT|0||0\n");
  /* No INDEX and no ADDITIONAL column: no key, nothing NOT NULL. */
  static const osq_column plain_cols[] = {{"a", OSQ_TYPE_TEXT, 0},
                                          {"b", OSQ_TYPE_INTEGER,
                                           OSQ_COL_REQUIRED}};
  static osq_table_plugin plain = {
      .name = "plain_t", .columns = plain_cols, .ncolumns = 2,
      .generate = rec_generate};
  add_table(&plain, 0);
  assert_string_equal(q("pragma table_info(plain_t)"),
                      "0|a|TEXT|0||0\n1|b|INTEGER|0||0\n");
  add_table(&typed_table, 0);
  assert_string_equal(q("select type from pragma_table_info('typed')"),
                      "INTEGER\nBIGINT\nUNSIGNED BIGINT\nDOUBLE\nTEXT\nBLOB\n"
                      "UNKNOWN\n");
}

/* ---- errors from generate ------------------------------------------------ */

static int bad_generate(const osq_context *ctx, osq_rows *out, void *u) {
  (void)ctx, (void)u;
  osq_rows_int(out, 0, 1);
  osq_rows_end(out);
  osq_rows_error(out, "extension said no: %d", 42);
  return OSQ_ERROR;
}

static const osq_column one_col[] = {{"x", OSQ_TYPE_INTEGER, 0}};
static osq_table_plugin bad_table = {
    .name = "bad", .columns = one_col, .ncolumns = 1,
    .generate = bad_generate};

static void test_generate_error(void **state) {
  (void)state;
  add_table(&bad_table, 0);
  assert_string_equal(q("select * from bad"), "ERR 1: extension said no: 42");
  assert_string_equal(q("select * from rec where id = 1; select * from bad"),
                      "ERR 1: extension said no: 42");
}

static void test_authorizer(void **state) {
  (void)state;
  assert_string_equal(q("attach database ':memory:' as x"),
                      "ERR 23: not authorized");
  assert_string_equal(q("pragma writable_schema = 1"), "ERR 23: not authorized");
  assert_string_equal(q("pragma case_sensitive_like = 1; select 1"), "1\n");
  assert_string_equal(q("create temp table t1(a); insert into t1 values (4); "
                        "select a from t1"),
                      "4\n");
  assert_string_equal(q("create view v1 as select id from rec where id = 2; "
                        "select * from v1"),
                      "2\n");
  assert_string_equal(q("create virtual table x using osq_bridge"),
                      "ERR 1: osq_bridge tables are attached by osq, not "
                      "created by SQL");
  /* A table dropped by SQL comes back at the next statement. */
  assert_string_equal(q("drop table rec"), "");
  assert_string_equal(q("select count(*) from rec"), "3\n");
}

/* ---- writable tables ----------------------------------------------------- */

#define KV_MAX 16
static struct kv_row {
  bool used;
  int64_t rowid;
  char key[32];
  int64_t val;
  bool val_null;
} kv[KV_MAX];
static int64_t kv_next = 100;
static int kv_force; /* OSQ_OK or the result to return */
static char kv_log[1024];

static const osq_column kv_cols[] = {
    {"key", OSQ_TYPE_TEXT, 0},
    {"val", OSQ_TYPE_BIGINT, 0},
    {"must", OSQ_TYPE_TEXT, OSQ_COL_REQUIRED | OSQ_COL_HIDDEN},
};

static int kv_generate(const osq_context *ctx, osq_rows *out, void *u) {
  (void)u;
  const osq_constraint *must = osq_context_constraint(ctx, 2, 0);
  for (int i = 0; i < KV_MAX; i++) {
    if (!kv[i].used)
      continue;
    osq_rows_rowid(out, kv[i].rowid);
    if (must) /* SQLite re-checks the WHERE clause */
      osq_rows_text(out, 2, must->expr, must->len);
    osq_rows_cstr(out, 0, kv[i].key);
    if (!kv[i].val_null)
      osq_rows_int(out, 1, kv[i].val);
    osq_rows_end(out);
  }
  return OSQ_OK;
}

static struct kv_row *kv_find(int64_t rowid) {
  for (int i = 0; i < KV_MAX; i++)
    if (kv[i].used && kv[i].rowid == rowid)
      return &kv[i];
  return NULL;
}

static void kv_set(struct kv_row *r, const osq_write *w) {
  snprintf(r->key, sizeof r->key, "%.*s", (int)w->values[0].u.s.n,
           w->values[0].kind == OSQ_VALUE_TEXT ? w->values[0].u.s.p : "");
  r->val_null = w->values[1].kind != OSQ_VALUE_INT;
  r->val = r->val_null ? 0 : w->values[1].u.i;
}

static int kv_write(osq_write *w, void *u) {
  (void)u;
  size_t n = strlen(kv_log);
  snprintf(kv_log + n, sizeof kv_log - n, "%d:%lld:%d:%lld:%d;", w->action,
           (long long)w->rowid, w->has_rowid, (long long)w->new_rowid,
           w->rowid_changes);
  if (kv_force == OSQ_ERROR) {
    snprintf(w->message, sizeof w->message, "kv refused: %s", "busy");
    return OSQ_ERROR;
  }
  if (kv_force != OSQ_OK)
    return kv_force;
  switch (w->action) {
  case OSQ_WRITE_INSERT:
    for (int i = 0; i < KV_MAX; i++) {
      if (kv[i].used)
        continue;
      kv[i].used = true;
      kv[i].rowid = w->has_rowid ? w->rowid : kv_next++;
      kv_set(&kv[i], w);
      w->assigned_rowid = kv[i].rowid;
      return OSQ_OK;
    }
    return OSQ_CONSTRAINT;
  case OSQ_WRITE_UPDATE: {
    struct kv_row *r = kv_find(w->rowid);
    if (r == NULL)
      return OSQ_CONSTRAINT;
    kv_set(r, w);
    r->rowid = w->new_rowid;
    return OSQ_OK;
  }
  case OSQ_WRITE_DELETE: {
    struct kv_row *r = kv_find(w->rowid);
    if (r)
      r->used = false;
    return OSQ_OK;
  }
  }
  return OSQ_ERROR;
}

static osq_table_plugin kv_table = {
    .name = "kv", .columns = kv_cols, .ncolumns = 3,
    .generate = kv_generate, .write = kv_write};

static const osq_column kv2_cols[] = {{"id", OSQ_TYPE_INTEGER, OSQ_COL_INDEX}};
static osq_table_plugin kv2_table = {
    .name = "kv2", .columns = kv2_cols, .ncolumns = 1,
    .generate = kv_generate, .write = kv_write};

static void test_writable_table(void **state) {
  (void)state;
  memset(kv, 0, sizeof kv);
  kv_log[0] = '\0';
  kv_force = OSQ_OK;
  add_table(&kv_table, 9);
  /* An extension table: "must" is REQUIRED, so reads need it; writes do
   * not scan. */
  assert_string_equal(q("insert into kv(key, val) values ('a', 1)"), "");
  assert_string_equal(q("insert into kv(rowid, key, val) values (7, 'b', 2)"),
                      "");
  assert_string_equal(kv_log, "1:0:0:0:0;1:7:1:0:0;");
  assert_string_equal(q("select rowid, key, val from kv where must = 'x'"),
                      "100|a|1\n7|b|2\n");
  assert_string_equal(q("select last_insert_rowid()"), "7\n");
  kv_log[0] = '\0';
  assert_string_equal(
      q("update kv set val = val + 10 where must = 'x' and key = 'a'"), "");
  assert_string_equal(q("update kv set rowid = 8 where must = 'x' and rowid = 7"),
                      "");
  assert_string_equal(kv_log, "2:100:0:100:0;2:7:0:8:1;");
  assert_string_equal(q("select rowid, key, val from kv where must = 'x'"),
                      "100|a|11\n8|b|2\n");
  kv_log[0] = '\0';
  assert_string_equal(q("delete from kv where must = 'x' and key = 'b'"), "");
  assert_string_equal(kv_log, "3:8:0:0:0;");
  assert_string_equal(q("select key from kv where must = 'x'"), "a\n");
  /* Writes and reads in one exec: the read sees the write. */
  assert_string_equal(q("select key from kv where must = 'x'; "
                        "insert into kv(key, val) values ('c', 3); "
                        "select key from kv where must = 'x'"),
                      "a\na\nc\n");

  /* Type checks happen before the plugin sees anything. */
  kv_log[0] = '\0';
  assert_string_equal(q("insert into kv(key, val) values (5, 1)"),
                      "ERR 20: table kv: column key (TEXT) cannot take an "
                      "integer");
  assert_string_equal(q("insert into kv(key, val) values ('x', 'y')"),
                      "ERR 20: table kv: column val (BIGINT) cannot take text");
  assert_string_equal(q("insert into kv(key, val) values ('x', 1.5)"),
                      "ERR 20: table kv: column val (BIGINT) cannot take a "
                      "double");
  assert_string_equal(kv_log, "");
  /* NULL is refused only where the options are exactly INDEX or REQUIRED
   * ("must" is REQUIRED|HIDDEN). */
  add_table(&kv2_table, 9);
  assert_string_equal(q("insert into kv2(id) values (null)"),
                      "ERR 20: table kv2: column id (INTEGER) cannot take NULL");
  assert_string_equal(q("insert into kv(key, val, must) values ('n', null, null)"),
                      "");

  /* The plugin's verdicts. */
  kv_force = OSQ_READONLY;
  assert_string_equal(q("insert into kv(key) values ('z')"),
                      "ERR 8: table kv may not be modified");
  kv_force = OSQ_CONSTRAINT;
  assert_string_equal(q("insert into kv(key) values ('z')"),
                      "ERR 19: constraint failed");
  kv_force = OSQ_ERROR;
  assert_string_equal(q("insert into kv(key) values ('z')"),
                      "ERR 1: kv refused: busy");
  kv_force = OSQ_OK;

  /* Tables without a write callback are read-only. */
  assert_string_equal(q("insert into rec(id) values (9)"),
                      "ERR 1: table rec may not be modified");
  assert_string_equal(q("delete from rec"),
                      "ERR 1: table rec may not be modified");
}

/* ---- extension tables: default index ------------------------------------- */

static const osq_column ext_cols[] = {
    {"a", OSQ_TYPE_TEXT, 0},
    {"b", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
};

static int ext_generate(const osq_context *ctx, osq_rows *out, void *u) {
  (void)u;
  record(ctx);
  osq_rows_cstr(out, 0, "v");
  osq_rows_end(out);
  return OSQ_OK;
}

static osq_table_plugin ext_table = {
    .name = "ext", .columns = ext_cols, .ncolumns = 2,
    .generate = ext_generate};

static void test_extensions_default_index(void **state) {
  (void)state;
  add_table(&ext_table, 1234);
  /* op 0 counts as INDEX; op HIDDEN alone does not. */
  assert_string_equal(pushed("select * from ext where a = 'v' and b = 'w'"),
                      "a 2 'v';");
  char err[256];
  assert_int_equal(OSQ_FLAG_SET(extensions_default_index, "false", err,
                                sizeof err),
                   0);
  assert_string_equal(pushed("select * from ext where a = 'v'"), "");
  assert_int_equal(OSQ_FLAG_SET(extensions_default_index, "true", err,
                                sizeof err),
                   0);
  assert_string_equal(pushed("select * from ext where a = 'v'"), "a 2 'v';");
  /* Extension tables keep a rowid even with a key. */
  assert_string_equal(q("select rowid from ext"), "0\n");
}

/* ---- tables come and go while queries run -------------------------------- */

static atomic_int dyn_destroyed;
static void dyn_destroy(void *u) {
  (void)u;
  atomic_fetch_add(&dyn_destroyed, 1);
}

static int dyn_generate(const osq_context *ctx, osq_rows *out, void *u) {
  (void)ctx, (void)u;
  for (int i = 0; i < 50; i++) {
    osq_rows_int(out, 0, i);
    osq_rows_end(out);
  }
  return OSQ_OK;
}

static osq_table_plugin dyn_tables[2] = {
    {.name = "dyn", .columns = one_col, .ncolumns = 1,
     .generate = dyn_generate, .destroy = dyn_destroy},
    {.name = "dyn", .columns = rec_cols, .ncolumns = 2,
     .generate = rec_generate, .destroy = dyn_destroy},
};

static atomic_bool stop;
static atomic_int query_ok, query_missing;

static void *query_loop(void *arg) {
  (void)arg;
  while (!atomic_load(&stop)) {
    char err[256];
    osq_db *d = osq_db_acquire(err, sizeof err);
    if (d == NULL)
      continue;
    char *msg = NULL;
    int rc = osq_db_exec(d, "select count(*) from dyn; "
                            "select count(*) from rec a join dyn b", NULL, &msg);
    if (rc == SQLITE_OK)
      atomic_fetch_add(&query_ok, 1);
    else if (msg && (strstr(msg, "no such table") ||
                     strstr(msg, "no longer registered") ||
                     strstr(msg, "changed its columns") ||
                     strstr(msg, "no such column")))
      atomic_fetch_add(&query_missing, 1);
    else
      fail_msg("unexpected error %d: %s", rc, msg ? msg : "");
    free(msg);
    osq_db_release(d);
  }
  return NULL;
}

static void test_tables_come_and_go(void **state) {
  (void)state;
  atomic_store(&stop, false);
  atomic_store(&dyn_destroyed, 0);
  pthread_t th[4];
  for (int i = 0; i < 4; i++)
    assert_int_equal(pthread_create(&th[i], NULL, query_loop, NULL), 0);
  char err[256];
  int added = 0, rounds = 0;
  /* Keep changing the table until the readers have run plenty of queries
   * against it (bounded, in case they are stuck). */
  atomic_store(&query_ok, 0);
  atomic_store(&query_missing, 0);
  while (rounds < 400 || ((atomic_load(&query_ok) < 20 ||
                            atomic_load(&query_missing) < 20) &&
                           rounds < 200000)) {
    if (osq_registry_add(OSQ_REGISTRY_TABLE, &dyn_tables[rounds % 2], 5,
                         false, err, sizeof err) == OSQ_OK)
      added++;
    /* Give the readers a chance to see it before it goes. */
    int seen_before = atomic_load(&query_ok) + atomic_load(&query_missing);
    for (int spin = 0; spin < 2000 && atomic_load(&query_ok) +
                                              atomic_load(&query_missing) ==
                                          seen_before;
         spin++)
      sched_yield();
    osq_registry_remove(OSQ_REGISTRY_TABLE, "dyn");
    rounds++;
  }
  atomic_store(&stop, true);
  for (int i = 0; i < 4; i++)
    pthread_join(th[i], NULL);
  osq_db_pool_shutdown();
  print_message("%d table changes; queries: %d ok, %d without the table\n",
                rounds, atomic_load(&query_ok), atomic_load(&query_missing));
  assert_int_equal(added, rounds);
  assert_int_equal(atomic_load(&dyn_destroyed), rounds);
  assert_true(atomic_load(&query_ok) > 0);
  assert_true(atomic_load(&query_missing) > 0);
}

/* A table removed while its own generate runs. */
static int self_remove_generate(const osq_context *ctx, osq_rows *out,
                                void *u) {
  (void)ctx, (void)u;
  osq_registry_remove(OSQ_REGISTRY_TABLE, "dyn");
  osq_rows_int(out, 0, 1);
  osq_rows_end(out);
  return OSQ_OK;
}

static osq_table_plugin self_remove = {
    .name = "dyn", .columns = one_col, .ncolumns = 1,
    .generate = self_remove_generate, .destroy = dyn_destroy};

static void test_removed_mid_query(void **state) {
  (void)state;
  atomic_store(&dyn_destroyed, 0);
  add_table(&self_remove, 3);
  assert_string_equal(q("select x from dyn"), "1\n");
  assert_int_equal(atomic_load(&dyn_destroyed), 1);
  assert_string_equal(q("select x from dyn"), "ERR 1: no such table: dyn");
}

/* Many threads through the pool at once. */
static void *pool_user(void *arg) {
  (void)arg;
  for (int i = 0; i < 20; i++) {
    char err[256];
    osq_db *d = osq_db_acquire(err, sizeof err);
    assert_non_null(d);
    char *msg = NULL;
    assert_int_equal(osq_db_exec(d, "select count(*) from rec where id > 1",
                                 NULL, &msg),
                     SQLITE_OK);
    free(msg);
    osq_db_release(d);
  }
  return NULL;
}

static void test_pool_concurrency(void **state) {
  (void)state;
  pthread_t th[24];
  for (int i = 0; i < 24; i++)
    assert_int_equal(pthread_create(&th[i], NULL, pool_user, NULL), 0);
  for (int i = 0; i < 24; i++)
    pthread_join(th[i], NULL);
  osq_db_pool_shutdown();
}

/* ---- DDL shapes ------------------------------------------------------------ */

static const osq_column addl_cols[] = {
    {"a", OSQ_TYPE_TEXT, OSQ_COL_ADDITIONAL},
    {"b", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"v", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_VERSION},
};

static int addl_generate(const osq_context *ctx, osq_rows *out, void *u) {
  (void)ctx, (void)u;
  static const char *const vs[] = {"1.10", "1.9", "1.2"};
  for (int i = 0; i < 3; i++) {
    osq_rows_cstr(out, 0, "x");
    osq_rows_cstr(out, 1, i ? "ABC" : "abc");
    osq_rows_cstr(out, 2, vs[i]);
    osq_rows_end(out);
  }
  return OSQ_OK;
}

static osq_table_plugin addl_table = {
    .name = "addl", .columns = addl_cols, .ncolumns = 3,
    .generate = addl_generate};

static void test_ddl_shapes(void **state) {
  (void)state;
  add_table(&addl_table, 0);
  /* Only ADDITIONAL columns: every column is in the key. */
  assert_string_equal(q("select name, pk from pragma_table_info('addl')"),
                      "a|1\nb|2\nv|3\n");
  /* Declared collations apply. */
  assert_string_equal(q("select count(*) from addl where b = 'abc'"), "3\n");
  assert_string_equal(q("select group_concat(v) from (select v from addl "
                        "order by v)"),
                      "1.2,1.9,1.10\n");
}

/* ---- interrupt reaches generate() ----------------------------------------- */

static pthread_mutex_t spin_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t spin_cond = PTHREAD_COND_INITIALIZER;
static bool spin_started, spin_saw_cancel;

static const osq_column spin_cols[] = {{"x", OSQ_TYPE_INTEGER, 0}};

/* Works until told the statement is no longer wanted (60 s at most, so a
 * broken probe fails the test instead of hanging it). */
static int spin_generate(const osq_context *ctx, osq_rows *out, void *u) {
  (void)ctx, (void)u;
  pthread_mutex_lock(&spin_lock);
  spin_started = true;
  pthread_cond_broadcast(&spin_cond);
  pthread_mutex_unlock(&spin_lock);
  struct timespec t0, now;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  do {
    if (osq_cancelled()) {
      spin_saw_cancel = true;
      break;
    }
    struct timespec nap = {0, 1000000};
    nanosleep(&nap, NULL);
    clock_gettime(CLOCK_MONOTONIC, &now);
  } while (now.tv_sec - t0.tv_sec < 60);
  osq_rows_int(out, 0, 1);
  return osq_rows_end(out);
}

static osq_table_plugin spin_table = {
    .name = "spin", .columns = spin_cols, .ncolumns = 1,
    .generate = spin_generate};

static void *interrupter(void *arg) {
  pthread_mutex_lock(&spin_lock);
  while (!spin_started)
    pthread_cond_wait(&spin_cond, &spin_lock);
  pthread_mutex_unlock(&spin_lock);
  sqlite3_interrupt(osq_db_sqlite(arg));
  return NULL;
}

static void test_interrupt_reaches_generate(void **state) {
  (void)state;
  add_table(&spin_table, 0);
  spin_started = spin_saw_cancel = false;
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, interrupter, db), 0);
  assert_string_equal(q("select x from spin"), "ERR 9: interrupted");
  pthread_join(th, NULL);
  assert_true(spin_saw_cancel);
  /* the connection works afterwards, and nothing is cancelled outside */
  assert_false(osq_cancelled());
  assert_string_equal(q("select 1"), "1\n");
}

static bool client_gone(void *arg) {
  (void)arg;
  return true;
}

static void test_gone_client_stops_scans(void **state) {
  (void)state;
  /* as the manager's query() scope says once its client hung up */
  osq_cancel_scope scope;
  osq_cancel_enter(&scope, client_gone, NULL);
  unsigned long before = osq_sql_generate_count("rec");
  assert_string_equal(q("select id from rec"), "ERR 9: interrupted");
  osq_cancel_leave(&scope);
  assert_int_equal(osq_sql_generate_count("rec"), before);
  assert_string_equal(q("select count(*) from rec"), "3\n");
}

/* ---- the sink -------------------------------------------------------------- */

static int cols_seen;
static int count_columns(void *u, sqlite3_stmt *st) {
  (void)u;
  cols_seen += sqlite3_column_count(st);
  return 0;
}
static int stop_after_one(void *u, sqlite3_stmt *st) {
  (void)st;
  return ++*(int *)u >= 1;
}

/* A sink may run SQL on the same connection. */
static int nested_row(void *u, sqlite3_stmt *st) {
  (void)st;
  char *err = NULL;
  int rc = osq_db_exec(db, "select count(*) from rec where id = 2", NULL, &err);
  free(err);
  *(int *)u += rc == SQLITE_OK;
  return 0;
}

static void test_nested_exec(void **state) {
  (void)state;
  int ok = 0;
  osq_sql_sink sink = {NULL, nested_row, &ok};
  char *err = NULL;
  unsigned long before = osq_sql_generate_count("rec");
  assert_int_equal(osq_db_exec(db, "select max(a.name), min(b.opt) from rec a "
                                   "join rec b using (id)",
                               &sink, &err),
                   SQLITE_OK);
  assert_null(err);
  assert_int_equal(ok, 1);
  /* a: one scan; b: one per id; the nested query reuses b's id = 2 rows. */
  assert_int_equal(osq_sql_generate_count("rec") - before, 4);
}

static void test_sink(void **state) {
  (void)state;
  int rows = 0;
  cols_seen = 0;
  osq_sql_sink sink = {count_columns, stop_after_one, &rows};
  char *err = NULL;
  assert_int_equal(osq_db_exec(db, "select 1, 2 where 0; select id from rec",
                               &sink, &err),
                   SQLITE_ABORT);
  assert_string_equal(err, "query aborted by the caller");
  free(err);
  assert_int_equal(rows, 1);
  assert_int_equal(cols_seen, 3); /* columns() even without rows */
  assert_int_equal(osq_db_exec(db, " ; -- nothing\n", NULL, &err), SQLITE_OK);
  assert_null(err);
  assert_int_equal(osq_db_exec(db, "select 1", NULL, NULL), SQLITE_OK);
}

int main(void) {
  osq_flags_init(OSQ_PERSONALITY_SHELL);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_basic_select, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pushdown_operators, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pushdown_in_lists, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cols_used, setup, teardown),
      cmocka_unit_test_setup_teardown(test_match, setup, teardown),
      cmocka_unit_test_setup_teardown(test_required, setup, teardown),
      cmocka_unit_test_setup_teardown(test_join_generates_once_per_constraint_set, setup, teardown),
      cmocka_unit_test_setup_teardown(test_typed_cells, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cell_text_and_types, setup, teardown),
      cmocka_unit_test_setup_teardown(test_table_info, setup, teardown),
      cmocka_unit_test_setup_teardown(test_generate_error, setup, teardown),
      cmocka_unit_test_setup_teardown(test_authorizer, setup, teardown),
      cmocka_unit_test_setup_teardown(test_writable_table, setup, teardown),
      cmocka_unit_test_setup_teardown(test_extensions_default_index, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tables_come_and_go, setup, teardown),
      cmocka_unit_test_setup_teardown(test_removed_mid_query, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pool_concurrency, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ddl_shapes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sink, setup, teardown),
      cmocka_unit_test_setup_teardown(test_nested_exec, setup, teardown),
      cmocka_unit_test_setup_teardown(test_interrupt_reaches_generate, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_gone_client_stops_scans, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
