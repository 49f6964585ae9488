/* Every table osq registers has osquery's schema: the columns, types,
 * options, collations and aliases in schema/linux.schema (osquery's Linux
 * table specs, written down as facts). Tables osq adds of its own carry
 * the "osq_" prefix and are not checked. With --enable_foreign, every
 * table of schema/foreign.schema (osquery's tables of other platforms)
 * is there too, with its columns and aliases and, as in osquery, no
 * attributes. All mismatches are reported at once, so one run lists
 * everything a table still lacks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/flags.h"
#include "daemon/scheduler.h"
#include "events/events.h"
#include "registry/registry.h"
#include "sql/sql.h"
#include "tables/tables.h"

#define MAX_TABLES 512
#define MAX_COLUMNS 128

typedef struct spec_column {
  char name[64];
  char type[32];
  uint32_t options; /* OSQ_COL_* bits, collation included */
} spec_column;

typedef struct spec_table {
  char name[64];
  char aliases[128]; /* comma-separated, as in the file */
  uint32_t attributes;
  spec_column columns[MAX_COLUMNS];
  size_t ncolumns;
} spec_table;

static spec_table specs[MAX_TABLES];
static size_t nspecs;
static const char *spec_file; /* the file being read, for messages */

static const struct {
  const char *word;
  uint32_t bit;
} column_words[] = {
    {"index", OSQ_COL_INDEX},
    {"required", OSQ_COL_REQUIRED},
    {"additional", OSQ_COL_ADDITIONAL},
    {"optimized", OSQ_COL_OPTIMIZED},
    {"hidden", OSQ_COL_HIDDEN},
    {"collate=binary", OSQ_COL_COLLATE_BINARY},
    {"collate=nocase", OSQ_COL_COLLATE_NOCASE},
    {"collate=rtrim", OSQ_COL_COLLATE_RTRIM},
    {"collate=version", OSQ_COL_COLLATE_VERSION},
    {"collate=version_arch", OSQ_COL_COLLATE_VERSION_ARCH},
    {"collate=version_dpkg", OSQ_COL_COLLATE_VERSION_DPKG},
    {"collate=version_rhel", OSQ_COL_COLLATE_VERSION_RHEL},
};

/* Table attributes osq models; the others (no_pkey, strongly_typed_rows)
 * shape osquery's own SQL and have no bit here. */
static const struct {
  const char *word;
  uint32_t bit;
} table_words[] = {
    {"utility", OSQ_TABLE_UTILITY},
    {"cacheable", OSQ_TABLE_CACHEABLE},
    {"event_subscriber", OSQ_TABLE_EVENT_BASED},
    {"user_data", OSQ_TABLE_USER_BASED},
};

static uint32_t word_bits(const char *list, bool table) {
  uint32_t bits = 0;
  char copy[256];
  snprintf(copy, sizeof copy, "%s", list);
  for (char *save, *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
    size_t n = table ? sizeof table_words / sizeof table_words[0] : 0;
    for (size_t i = 0; i < n; i++)
      if (strcmp(w, table_words[i].word) == 0)
        bits |= table_words[i].bit;
  }
  return bits;
}

static void parse_column(spec_table *t, char *line, int lineno) {
  if (t == NULL || t->ncolumns == MAX_COLUMNS)
    fail_msg("%s:%d: column outside a table or too many", spec_file, lineno);
  spec_column *c = &t->columns[t->ncolumns++];
  char *save;
  char *name = strtok_r(line, " ", &save);
  char *type = strtok_r(NULL, " ", &save);
  if (name == NULL || type == NULL)
    fail_msg("%s:%d: want NAME TYPE", spec_file, lineno);
  snprintf(c->name, sizeof c->name, "%s", name);
  snprintf(c->type, sizeof c->type, "%s", type);
  for (char *u = c->type; *u; u++)
    if (*u == '_')
      *u = ' ';
  for (char *w = strtok_r(NULL, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
    if (strncmp(w, "alias_of=", 9) == 0 || strncmp(w, "foreign=", 8) == 0)
      continue; /* both are hidden columns; "hidden" says so */
    bool known = false;
    for (size_t i = 0; i < sizeof column_words / sizeof column_words[0]; i++)
      if (strcmp(w, column_words[i].word) == 0) {
        c->options |= column_words[i].bit;
        known = true;
      }
    if (!known)
      fail_msg("%s:%d: unknown column option '%s'", spec_file, lineno, w);
  }
}

/* Adds the tables of schema/NAME to specs; returns how many. */
static size_t load_specs(const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/schema/%s", OSQ_SOURCE_DIR, name);
  spec_file = name;
  size_t first = nspecs;
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  char line[512];
  int lineno = 0;
  spec_table *t = NULL;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    line[strcspn(line, "\n")] = '\0';
    if (line[0] == '#' || line[0] == '\0')
      continue;
    if (line[0] == ' ') {
      parse_column(t, line + 2, lineno);
      continue;
    }
    assert_true(nspecs < MAX_TABLES);
    t = &specs[nspecs++];
    char *save;
    strtok_r(line, " ", &save); /* "table" */
    snprintf(t->name, sizeof t->name, "%s", strtok_r(NULL, " ", &save));
    for (char *w = strtok_r(NULL, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
      if (strncmp(w, "attrs=", 6) == 0)
        t->attributes = word_bits(w + 6, true);
      else if (strncmp(w, "aliases=", 8) == 0)
        snprintf(t->aliases, sizeof t->aliases, "%s", w + 8);
    }
  }
  fclose(f);
  return nspecs - first;
}

static const spec_table *find_spec(const char *name) {
  for (size_t i = 0; i < nspecs; i++)
    if (strcmp(specs[i].name, name) == 0)
      return &specs[i];
  return NULL;
}

/* Mismatches accumulate here and fail the test once, at the end. */
static char report[1 << 16];
static size_t nreport;
static int nmismatch;

__attribute__((format(printf, 1, 2))) static void mismatch(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (nreport < sizeof report - 1) {
    int n = vsnprintf(report + nreport, sizeof report - nreport, fmt, ap);
    if (n > 0)
      nreport += (size_t)n;
    if (nreport >= sizeof report)
      nreport = sizeof report - 1;
  }
  va_end(ap);
  nmismatch++;
}

static void options_text(uint32_t bits, char *out, size_t len) {
  out[0] = '\0';
  for (size_t i = 0; i < sizeof column_words / sizeof column_words[0]; i++)
    if (bits & column_words[i].bit) {
      size_t used = strlen(out);
      snprintf(out + used, len - used, "%s%s", used ? " " : "", column_words[i].word);
    }
  if (out[0] == '\0')
    snprintf(out, len, "-");
}

/* osq may add columns of its own after osquery's: hidden (so "select *"
 * is osquery's) and named osq_* (so they cannot clash with a later osquery
 * column). */
static bool osq_own_column(const osq_column *c) {
  return (c->options & OSQ_COL_HIDDEN) && strncmp(c->name, "osq_", 4) == 0;
}

static void compare_aliases(const osq_table_plugin *tp, const spec_table *s) {
  char have[128] = "";
  for (const char *const *a = tp->aliases; a && *a; a++) {
    size_t used = strlen(have);
    snprintf(have + used, sizeof have - used, "%s%s", used ? "," : "", *a);
  }
  if (strcmp(have, s->aliases) != 0)
    mismatch("%s: aliases '%s', osquery has '%s'\n", s->name, have, s->aliases);
}

static void compare_table(const osq_table_plugin *tp, const spec_table *s) {
  uint32_t modelled = OSQ_TABLE_UTILITY | OSQ_TABLE_CACHEABLE |
                      OSQ_TABLE_EVENT_BASED | OSQ_TABLE_USER_BASED;
  if ((tp->attributes & modelled) != s->attributes)
    mismatch("%s: attributes 0x%x, osquery has 0x%x\n", s->name,
             tp->attributes & modelled, s->attributes);
  compare_aliases(tp, s);
  size_t n = tp->ncolumns > s->ncolumns ? tp->ncolumns : s->ncolumns;
  for (size_t i = 0; i < n; i++) {
    const osq_column *have = i < tp->ncolumns ? &tp->columns[i] : NULL;
    const spec_column *want = i < s->ncolumns ? &s->columns[i] : NULL;
    if (have == NULL) {
      mismatch("%s: column %zu '%s' missing\n", s->name, i, want->name);
      continue;
    }
    if (want == NULL) {
      if (!osq_own_column(have))
        mismatch("%s: column %zu '%s' is not osquery's\n", s->name, i, have->name);
      continue;
    }
    if (strcmp(have->name, want->name) != 0) {
      mismatch("%s: column %zu is '%s', osquery has '%s'\n", s->name, i,
               have->name, want->name);
      continue;
    }
    if (strcmp(osq_type_name(have->type), want->type) != 0)
      mismatch("%s.%s: type %s, osquery has %s\n", s->name, want->name,
               osq_type_name(have->type), want->type);
    if (have->options != want->options) {
      char h[128], w[128];
      options_text(have->options, h, sizeof h);
      options_text(want->options, w, sizeof w);
      mismatch("%s.%s: options '%s', osquery has '%s'\n", s->name, want->name, h, w);
    }
  }
}

static int collect_xinfo(void *u, sqlite3_stmt *st) {
  /* table_xinfo: cid, name, type, notnull, dflt_value, pk, hidden */
  char *out = u;
  const char *name = (const char *)sqlite3_column_text(st, 1);
  if (sqlite3_column_int(st, 6) != 0 && strncmp(name, "osq_", 4) == 0)
    return 0; /* osq's own hidden column: see osq_own_column */
  size_t used = strlen(out);
  snprintf(out + used, 8192 - used, "%s %s %d\n",
           (const char *)sqlite3_column_text(st, 1),
           (const char *)sqlite3_column_text(st, 2), sqlite3_column_int(st, 6) != 0);
  return 0;
}

/* What SQLite itself reports must agree with the declaration too. */
static void compare_sql(osq_db *db, const spec_table *s) {
  char sql[128], got[8192] = "", want[8192] = "";
  snprintf(sql, sizeof sql, "PRAGMA table_xinfo(%s)", s->name);
  osq_sql_sink sink = {.row = collect_xinfo, .u = got};
  char *msg = NULL;
  if (osq_db_exec(db, sql, &sink, &msg) != SQLITE_OK) {
    mismatch("%s: %s: %s\n", s->name, sql, msg ? msg : "?");
    free(msg);
    return;
  }
  for (size_t i = 0; i < s->ncolumns; i++) {
    size_t used = strlen(want);
    snprintf(want + used, sizeof want - used, "%s %s %d\n", s->columns[i].name,
             s->columns[i].type, (s->columns[i].options & OSQ_COL_HIDDEN) != 0);
  }
  /* report the first line that differs */
  const char *g = got, *w = want;
  while (*g && *g == *w)
    g++, w++;
  while (g > got && g[-1] != '\n')
    g--, w--;
  if (*g || *w)
    mismatch("%s: PRAGMA table_xinfo has '%.*s', osquery has '%.*s'\n", s->name,
             (int)strcspn(g, "\n"), g, (int)strcspn(w, "\n"), w);
}

static void test_every_table_has_osquerys_schema(void **state) {
  (void)state;
  nspecs = 0;
  assert_true(load_specs("linux.schema") > 100);
  osq_flags_init(OSQ_PERSONALITY_DAEMON);
  osq_registry_reset();
  assert_int_equal(osq_tables_register_builtin(), OSQ_OK);
  assert_int_equal(osq_sched_register_tables(), 0);
  assert_int_equal(osq_events_register_tables(), OSQ_OK);
  char err[256];
  osq_db *db = osq_db_open(err, sizeof err);
  if (db == NULL)
    fail_msg("osq_db_open: %s", err);

  const osq_plugin **list;
  size_t n = osq_registry_list(OSQ_REGISTRY_TABLE, &list);
  size_t checked = 0;
  for (size_t i = 0; i < n; i++) {
    const osq_table_plugin *tp = list[i]->u.table;
    const spec_table *s = find_spec(tp->name);
    if (s == NULL) {
      if (strncmp(tp->name, "osq_", 4) != 0)
        mismatch("%s: not an osquery Linux table and not named osq_*\n", tp->name);
      continue;
    }
    compare_table(tp, s);
    compare_sql(db, s);
    checked++;
  }
  osq_registry_list_free(list, n);
  osq_db_close(db);
  print_message("checked %zu tables against schema/linux.schema\n", checked);
  if (nmismatch) {
    fputs(report, stderr);
    fail_msg("%d schema mismatches (listed above)", nmismatch);
  }
}

/* A foreign table has its spec's columns and aliases; osquery gives its
 * foreign tables no attributes. */
static void test_foreign_tables_have_osquerys_schema(void **state) {
  (void)state;
  nspecs = 0;
  assert_true(load_specs("linux.schema") > 100);
  size_t first_foreign = nspecs;
  assert_true(load_specs("foreign.schema") > 0);
  nmismatch = 0, nreport = 0, report[0] = '\0';
  osq_flags_init(OSQ_PERSONALITY_DAEMON);
  char err[256];
  assert_int_equal(OSQ_FLAG_SET(enable_foreign, "true", err, sizeof err), 0);
  osq_registry_reset();
  assert_int_equal(osq_tables_register_builtin(), OSQ_OK);
  osq_db *db = osq_db_open(err, sizeof err);
  if (db == NULL)
    fail_msg("osq_db_open: %s", err);

  size_t checked = 0;
  for (size_t i = first_foreign; i < nspecs; i++) {
    const spec_table *s = &specs[i];
    /* a table osquery also has on Linux is osq's own, checked above */
    bool also_linux = false;
    for (size_t j = 0; j < first_foreign; j++)
      also_linux |= strcmp(specs[j].name, s->name) == 0;
    if (also_linux)
      continue;
    const osq_plugin *p = osq_registry_get(OSQ_REGISTRY_TABLE, s->name);
    if (p == NULL) {
      mismatch("%s: in schema/foreign.schema but not registered\n", s->name);
      continue;
    }
    spec_table bare = *s;
    bare.attributes = 0;
    compare_table(p->u.table, &bare);
    osq_plugin_release(p);
    compare_sql(db, s);
    checked++;
  }
  osq_db_close(db);
  osq_registry_reset();
  osq_flags_shutdown();
  print_message("checked %zu foreign tables against schema/foreign.schema\n",
                checked);
  if (nmismatch) {
    fputs(report, stderr);
    fail_msg("%d schema mismatches (listed above)", nmismatch);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_table_has_osquerys_schema),
      cmocka_unit_test(test_foreign_tables_have_osquerys_schema),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
