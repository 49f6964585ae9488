/* Meta-commands (.help, .mode, ...) with osquery's names, prefix
 * matching, arguments and messages (docs/compat.md §5.4). */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/flags.h"
#include "core/identity.h"
#include "registry/registry.h"
#include "shell.h"

#define META_MAX_ARGS 50

/* Split a meta-command line into words: "..." and '...' group words,
 * backslash escapes (\n \t \r \\ \NNN) are resolved outside '...'. */
static void unescape(char *z) {
  size_t i = 0, j = 0;
  for (; z[i]; i++, j++) {
    char c = z[i];
    if (c == '\\' && z[i + 1]) {
      c = z[++i];
      if (c == 'n')
        c = '\n';
      else if (c == 't')
        c = '\t';
      else if (c == 'r')
        c = '\r';
      else if (c >= '0' && c <= '7') {
        int v = c - '0';
        for (int k = 0; k < 2 && z[i + 1] >= '0' && z[i + 1] <= '7'; k++)
          v = v * 8 + (z[++i] - '0');
        c = (char)v;
      }
    }
    z[j] = c;
  }
  z[j] = '\0';
}

static int split_args(char *z, char **argv) {
  int n = 0;
  size_t i = 1; /* skip the '.' */
  while (z[i] && n < META_MAX_ARGS) {
    while (isspace((unsigned char)z[i]))
      i++;
    if (z[i] == '\0')
      break;
    if (z[i] == '\'' || z[i] == '"') {
      char q = z[i++];
      argv[n++] = &z[i];
      while (z[i] && z[i] != q) {
        if (z[i] == '\\' && q == '"' && z[i + 1])
          i++;
        i++;
      }
      if (z[i] == q)
        z[i++] = '\0';
      if (q == '"')
        unescape(argv[n - 1]);
    } else {
      argv[n++] = &z[i];
      while (z[i] && !isspace((unsigned char)z[i]))
        i++;
      if (z[i])
        z[i++] = '\0';
      unescape(argv[n - 1]);
    }
  }
  return n;
}

/* Integers as the sqlite3 shell reads them: sign, decimal or 0x hex, and
 * a KiB/MiB/GiB/KB/MB/GB/K/M/G suffix. */
static long long integer_value(const char *z) {
  static const struct {
    const char *suffix;
    long long mult;
  } mult[] = {{"KiB", 1024},      {"MiB", 1024 * 1024},
              {"GiB", 1 << 30},   {"KB", 1000},
              {"MB", 1000000},    {"GB", 1000000000},
              {"K", 1000},        {"M", 1000000},
              {"G", 1000000000}};
  bool neg = false;
  unsigned long long v = 0;
  if (*z == '-' || *z == '+')
    neg = *z++ == '-';
  if (z[0] == '0' && z[1] == 'x') {
    for (z += 2; isxdigit((unsigned char)*z); z++)
      v = v * 16 + (unsigned)(isdigit((unsigned char)*z)
                                  ? *z - '0'
                                  : tolower((unsigned char)*z) - 'a' + 10);
  } else {
    for (; isdigit((unsigned char)*z); z++)
      v = v * 10 + (unsigned)(*z - '0');
  }
  for (size_t i = 0; i < sizeof mult / sizeof mult[0]; i++)
    if (strcasecmp(mult[i].suffix, z) == 0) {
      v *= (unsigned long long)mult[i].mult;
      break;
    }
  long long r = (long long)(v & LLONG_MAX);
  return neg ? -r : r;
}

static bool boolean_value(shell *sh, const char *z) {
  size_t i = 0;
  if (z[0] == '0' && z[1] == 'x')
    for (i = 2; isxdigit((unsigned char)z[i]); i++)
      ;
  else
    for (; isdigit((unsigned char)z[i]); i++)
      ;
  if (i > 0 && z[i] == '\0')
    return (integer_value(z) & 0xffffffff) != 0;
  static const char *const yes[] = {"1", "yes", "y", "true", "t",
                                    "ok", "on", "enable"};
  static const char *const no[] = {"0", "no", "n", "false", "f", "off",
                                   "disable"};
  for (size_t k = 0; k < sizeof yes / sizeof yes[0]; k++)
    if (strcasecmp(z, yes[k]) == 0)
      return true;
  for (size_t k = 0; k < sizeof no / sizeof no[0]; k++)
    if (strcasecmp(z, no[k]) == 0)
      return false;
  fprintf(sh->err, "ERROR: Not a boolean value: \"%s\". Assuming \"no\".\n",
          z);
  return false;
}

/* ---- the commands ------------------------------------------------------- */

static const char help_text[] =
    "osqi: SQL over this machine's state. Type SQL ending in ';' or one of:\n"
    "\n"
    ".all [TABLE]     Show every row of TABLE\n"
    ".bail ON|OFF     Stop reading input at the first error\n"
    ".connect PATH    Send SQL to the extension manager at PATH\n"
    ".disconnect      Run SQL here again\n"
    ".echo ON|OFF     Print each statement before running it\n"
    ".exit [CODE]     Leave the shell\n"
    ".features        Show the disable_*/enable_* switches\n"
    ".headers ON|OFF  Show column names in list, csv and column modes\n"
    ".help            This text\n"
    ".mode MODE       Output mode, one of:\n"
    "                   csv      comma-separated values\n"
    "                   column   fixed-width columns (see .width)\n"
    "                   line     one 'column = value' per line\n"
    "                   list     values joined by .separator\n"
    "                   pretty   an ASCII table (default)\n"
    ".nullvalue STR   Text printed for NULL\n"
    ".print STR...    Print the words given\n"
    ".quit            Leave the shell\n"
    ".schema [TABLE]  CREATE statements of tables starting with TABLE\n"
    ".separator STR   Separator for list and csv modes\n"
    ".socket          Path of the extensions socket\n"
    ".show            Current settings and changed flags\n"
    ".summary         Same as .show\n"
    ".tables [TABLE]  Table names starting with TABLE\n"
    ".types SQL       Names and types of the columns SQL returns\n"
    ".version         osq and SQLite versions\n"
    ".width [NUM]...  Column widths for column mode\n";
static const char timer_help[] =
    ".timer ON|OFF    Print the time each statement took\n";

static void c_string(FILE *f, const char *z) {
  fputc('"', f);
  for (; *z; z++) {
    unsigned char c = (unsigned char)*z;
    if (c == '\\' || c == '"')
      fprintf(f, "\\%c", c);
    else if (c == '\t')
      fputs("\\t", f);
    else if (c == '\n')
      fputs("\\n", f);
    else if (c == '\r')
      fputs("\\r", f);
    else if (!isprint(c))
      fprintf(f, "\\%03o", c);
    else
      fputc(c, f);
  }
  fputc('"', f);
}

static void meta_version(shell *sh) {
  fprintf(sh->out.out, "%s %s\nusing SQLite %s\n", osq_identity_product(),
          osq_identity_version(), sqlite3_libversion());
}

static void meta_tables(shell *sh, const char *prefix) {
  const osq_plugin **list;
  size_t n = osq_registry_list(OSQ_REGISTRY_TABLE, &list);
  size_t pl = prefix ? strlen(prefix) : 0;
  for (size_t i = 0; i < n; i++)
    if (pl == 0 || strncmp(list[i]->name, prefix, pl) == 0)
      fprintf(sh->out.out, "  => %s\n", list[i]->name);
  osq_registry_list_free(list, n);
}

static const char *collation(uint32_t o) {
  static const struct {
    uint32_t bit;
    const char *name;
  } c[] = {{OSQ_COL_COLLATE_BINARY, "BINARY"},
           {OSQ_COL_COLLATE_NOCASE, "NOCASE"},
           {OSQ_COL_COLLATE_RTRIM, "RTRIM"},
           {OSQ_COL_COLLATE_VERSION, "VERSION"},
           {OSQ_COL_COLLATE_VERSION_ARCH, "VERSION_ARCH"},
           {OSQ_COL_COLLATE_VERSION_DPKG, "VERSION_DPKG"},
           {OSQ_COL_COLLATE_VERSION_RHEL, "VERSION_RHEL"}};
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
    if (o & c[i].bit)
      return c[i].name;
  return NULL;
}

/* The DDL osquery declares a table with (docs/compat.md §6.2). */
static void schema_one(FILE *f, const osq_plugin *p) {
  const osq_table_plugin *t = p->u.table;
  fprintf(f, "CREATE TABLE %s(", t->name);
  bool index = false, additional = false;
  for (size_t i = 0; i < t->ncolumns; i++) {
    const osq_column *c = &t->columns[i];
    fprintf(f, "%s`%s` %s", i ? ", " : "", c->name, osq_type_name(c->type));
    if (c->options & OSQ_COL_HIDDEN)
      fputs(" HIDDEN", f);
    const char *coll = collation(c->options);
    if (coll)
      fprintf(f, " COLLATE %s", coll);
    index |= (c->options & OSQ_COL_INDEX) != 0;
    additional |= (c->options & OSQ_COL_ADDITIONAL) != 0;
  }
  bool pk = (index || additional) && p->owner == OSQ_CORE_UUID;
  if (pk) {
    fputs(", PRIMARY KEY (", f);
    bool first = true;
    for (size_t i = 0; i < t->ncolumns; i++) {
      const osq_column *c = &t->columns[i];
      /* only ADDITIONAL columns: the key is every column */
      if (index && !(c->options & (OSQ_COL_INDEX | OSQ_COL_ADDITIONAL)))
        continue;
      fprintf(f, "%s`%s`", first ? "" : ", ", c->name);
      first = false;
    }
    fputc(')', f);
  }
  fprintf(f, ")%s;\n", pk ? " WITHOUT ROWID" : "");
}

static void meta_schema(shell *sh, const char *prefix) {
  const osq_plugin **list;
  size_t n = osq_registry_list(OSQ_REGISTRY_TABLE, &list);
  size_t pl = prefix ? strlen(prefix) : 0;
  for (size_t i = 0; i < n; i++)
    if (pl == 0 || strncmp(list[i]->name, prefix, pl) == 0)
      schema_one(sh->out.out, list[i]);
  osq_registry_list_free(list, n);
}

static void meta_features(shell *sh) {
  osq_flag_info *fl;
  size_t n = osq_flags_list(&fl);
  for (size_t i = 0; i < n; i++)
    if (strcmp(fl[i].type, "bool") == 0 &&
        (strncmp(fl[i].name, "disable_", 8) == 0 ||
         strncmp(fl[i].name, "enable_", 7) == 0))
      fprintf(sh->out.out, "%s: %s\n", fl[i].name, fl[i].value);
  free(fl);
}

/* Collect one column of a query as "a, b, c" (for .show). */
struct join_state {
  char buf[1024];
  size_t len;
};

static int join_columns(void *u, sqlite3_stmt *st) {
  (void)u, (void)st;
  return 0;
}

static int join_row(void *u, sqlite3_stmt *st) {
  struct join_state *j = u;
  const char *v = (const char *)sqlite3_column_text(st, 0);
  if (v && j->len < sizeof j->buf)
    j->len += (size_t)snprintf(j->buf + j->len, sizeof j->buf - j->len,
                               "%s%s", j->len ? ", " : "", v);
  return 0;
}


/* Every name in a comma-separated plugin list is registered. */
static bool plugins_exist(osq_registry_kind kind, const char *list) {
  char name[256];
  const char *p = list;
  if (*p == '\0')
    return false;
  while (*p) {
    size_t n = strcspn(p, ",");
    if (n == 0 || n >= sizeof name)
      return false;
    memcpy(name, p, n);
    name[n] = '\0';
    if (!osq_registry_exists(kind, name))
      return false;
    p += n + (p[n] == ',');
  }
  return true;
}

/* ".show" line for a config, logger or distributed plugin, with where it
 * reads from; none for a plugin this shell does not have (built in or
 * from an extension). A logger flag may name several plugins. */
static void show_plugin(FILE *f, const char *label, osq_registry_kind kind,
                        const char *plugin_flag, const char *path_flag,
                        const char *tls_flag) {
  const char *p = osq_flag_str_by_name(plugin_flag);
  if (!plugins_exist(kind, p))
    return;
  fprintf(f, "%13.13s: %s", label, p);
  if (strcmp(p, "filesystem") == 0 && path_flag)
    fprintf(f, " (%s)\n", osq_flag_str_by_name(path_flag));
  else if (strcmp(p, "tls") == 0 && tls_flag)
    fprintf(f, " (%s%s)\n", OSQ_FLAG_STR(tls_hostname),
            osq_flag_str_by_name(tls_flag));
  else
    fputc('\n', f);
}

static void meta_show(shell *sh) {
  FILE *f = sh->out.out;
  int title = fprintf(f, "%s shell settings\n", osq_identity_product()) - 1;
  for (int i = 0; i < title; i++)
    fputc('~', f);
  fputc('\n', f);
  meta_version(sh);
  fprintf(f, "\nGeneral settings:\n");
  fprintf(f, "%13.13s: %s\n", "Flagfile", osq_flags_flagfile());
  show_plugin(f, "Config", OSQ_REGISTRY_CONFIG, "config_plugin", "config_path",
              "config_tls_endpoint");
  show_plugin(f, "Logger", OSQ_REGISTRY_LOGGER, "logger_plugin", "logger_path",
              "logger_tls_endpoint");
  show_plugin(f, "Distributed", OSQ_REGISTRY_DISTRIBUTED, "distributed_plugin",
              NULL, NULL);
  fprintf(f, "%13.13s: %s\n", "Database", "ephemeral");
  struct join_state js = {.len = 0};
  js.buf[0] = '\0';
  osq_sql_sink sink = {join_columns, join_row, &js};
  char *err = NULL;
  osq_db_exec(sh->db, "SELECT name FROM osquery_extensions WHERE uuid <> 0",
              &sink, &err);
  free(err);
  fprintf(f, "%13.13s: %s\n", "Extensions", js.buf);
  fprintf(f, "%13.13s: %s\n", "Socket", OSQ_FLAG_STR(extensions_socket));

  fprintf(f, "\nShell settings:\n");
  fprintf(f, "%13.13s: %s\n", "echo", sh->echo ? "on" : "off");
  fprintf(f, "%13.13s: %s\n", "headers", sh->out.header ? "on" : "off");
  fprintf(f, "%13.13s: %s\n", "mode", shell_mode_name(sh->out.mode));
  fprintf(f, "%13.13s: ", "nullvalue");
  c_string(f, sh->out.nullvalue);
  fprintf(f, "\n%13.13s: %s\n", "output",
          sh->outfile[0] ? sh->outfile : "stdout");
  fprintf(f, "%13.13s: ", "separator");
  c_string(f, sh->out.separator);
  fprintf(f, "\n%13.13s: ", "width");
  for (int i = 0; i < SHELL_WIDTHS_MAX && sh->out.widths[i] != 0; i++)
    fprintf(f, "%d ", sh->out.widths[i]);
  fprintf(f, "\n\nNon-default flags/options:\n");
  osq_flag_info *fl;
  size_t n = osq_flags_list(&fl);
  for (size_t i = 0; i < n; i++)
    if (strlen(fl[i].name) > 2 && strcmp(fl[i].default_value, fl[i].value))
      fprintf(f, "  %s: %s\n", fl[i].name, fl[i].value);
  free(fl);
}

int shell_meta_types(shell *sh, const char *sql) {
  sqlite3 *db = osq_db_sqlite(sh->db);
  osq_db_sync(sh->db);
  sqlite3_stmt *st = NULL;
  const char *tail = NULL;
  int rc = sqlite3_prepare_v2(db, sql, -1, &st, &tail);
  if (rc != SQLITE_OK || st == NULL) {
    fprintf(sh->err, "Error: %s\n",
            rc != SQLITE_OK ? sqlite3_errmsg(db) : "no SQL statement");
    sqlite3_finalize(st);
    return rc != SQLITE_OK ? rc : 1;
  }
  static const char *const names[] = {"name", "type"};
  shell_out_unit_begin(&sh->out);
  shell_out_columns(&sh->out, 2, names);
  int n = sqlite3_column_count(st);
  for (int i = 0; i < n; i++) {
    const char *v[2] = {sqlite3_column_name(st, i),
                        osq_sql_column_type(st, i)};
    size_t l[2] = {strlen(v[0] ? v[0] : ""), strlen(v[1] ? v[1] : "")};
    if (!v[0])
      v[0] = "";
    if (!v[1])
      v[1] = "UNKNOWN";
    shell_out_row(&sh->out, v, l);
  }
  shell_out_stmt_end(&sh->out);
  shell_out_unit_end(&sh->out);
  sqlite3_finalize(st);
  fflush(sh->out.out);
  return 0;
}

/* ---- dispatch ----------------------------------------------------------- */

/* One function per meta-command: argv[0] is the command as typed,
 * argc counts it (the table below has already checked the count); rest
 * is the line after the command word, untouched by word splitting.
 * Each returns META_* or, for .all, the SQLite code of the query. */
typedef int meta_fn(shell *sh, int argc, char **argv, const char *rest);

static void copy_setting(char *dst, size_t cap, const char *src) {
  snprintf(dst, cap, "%.*s", (int)(cap - 1), src);
}

static int cmd_all(shell *sh, int argc, char **argv, const char *rest) {
  (void)argc, (void)rest;
  size_t n = strlen(argv[1]) + 16;
  char *q = malloc(n);
  if (q == NULL)
    return META_ERROR;
  snprintf(q, n, "SELECT * FROM %s", argv[1]);
  int rc = shell_exec(sh, q, NULL);
  free(q);
  if (rc != SQLITE_OK)
    fprintf(sh->err, "Error querying table: %s\n", argv[1]);
  return rc;
}

static int cmd_socket(shell *sh, int argc, char **argv, const char *rest) {
  (void)argc, (void)argv, (void)rest;
  FILE *out = sh->out.out;
  fprintf(out, "%s", OSQ_FLAG_STR(extensions_socket));
  if (sh->connect[0])
    fprintf(out, " (connected to %s)", sh->connect);
  fputc('\n', out);
  return META_OK;
}

static int cmd_connect(shell *sh, int argc, char **argv, const char *rest) {
  (void)argc, (void)rest;
  if (sh->connect[0]) {
    fprintf(sh->err, "Error: Please disconnect from the current socket\n");
    return META_ERROR;
  }
  snprintf(sh->connect, sizeof sh->connect, "%s", argv[1]);
  fprintf(sh->err, "Connected to extension socket %s\n", sh->connect);
  return META_OK;
}

static int cmd_disconnect(shell *sh, int argc, char **argv, const char *rest) {
  (void)argc, (void)argv, (void)rest;
  if (!sh->connect[0]) {
    fprintf(sh->err, "Error: Not connected to a socket\n");
    return META_ERROR;
  }
  fprintf(sh->err, "Disconnected from extension socket %s\n", sh->connect);
  sh->connect[0] = '\0';
  return META_OK;
}

static int cmd_bail(shell *sh, int argc, char **argv, const char *rest) {
  (void)argc, (void)rest;
  sh->bail = boolean_value(sh, argv[1]);
  return META_OK;
}

static int cmd_echo(shell *sh, int argc, char **argv, const char *rest) {
  (void)argc, (void)rest;
  sh->echo = boolean_value(sh, argv[1]);
  return META_OK;
}

static int cmd_exit(shell *sh, int argc, char **argv, const char *rest) {
  (void)rest;
  if (argc > 1) {
    long long c = integer_value(argv[1]);
    sh->exit_code = (int)(c & 0xff);
    if (c != 0 && sh->exit_code == 0)
      sh->exit_code = 1; /* exit(256) must not look like success */
  }
  return META_EXIT;
}

static int cmd_quit(shell *sh, int argc, char **argv, const char *rest) {
  (void)sh, (void)argc, (void)argv, (void)rest;
  return META_EXIT;
}

static int cmd_features(shell *sh, int argc, char **argv, const char *rest) {
  (void)argc, (void)argv, (void)rest;
  meta_features(sh);
  return META_OK;
}

static int cmd_header(shell *sh, int argc, char **argv, const char *rest) {
  (void)argc, (void)rest;
  sh->out.header = boolean_value(sh, argv[1]);
  return META_OK;
}

static int cmd_help(shell *sh, int argc, char **argv, const char *rest) {
  (void)argc, (void)argv, (void)rest;
  fputs(help_text, sh->err);
  fputs(timer_help, sh->err);
  return META_OK;
}

static int cmd_mode(shell *sh, int argc, char **argv, const char *rest) {
  (void)argc, (void)rest;
  const char *m = argv[1];
  if (strcmp(m, "line") == 0 || strcmp(m, "lines") == 0)
    sh->out.mode = SHELL_MODE_LINE;
  else if (strcmp(m, "column") == 0 || strcmp(m, "columns") == 0)
    sh->out.mode = SHELL_MODE_COLUMN;
  else if (strcmp(m, "list") == 0)
    sh->out.mode = SHELL_MODE_LIST;
  else if (strcmp(m, "pretty") == 0)
    sh->out.mode = SHELL_MODE_PRETTY;
  else if (strcmp(m, "csv") == 0) {
    sh->out.mode = SHELL_MODE_CSV;
    strcpy(sh->out.separator, ",");
  } else {
    fprintf(sh->err,
            "Error: mode should be one of: column csv line list pretty\n");
    return META_ERROR;
  }
  return META_OK;
}

static int cmd_nullvalue(shell *sh, int argc, char **argv, const char *rest) {
  (void)argc, (void)rest;
  copy_setting(sh->out.nullvalue, sizeof sh->out.nullvalue, argv[1]);
  return META_OK;
}

static int cmd_print(shell *sh, int argc, char **argv, const char *rest) {
  (void)rest;
  FILE *out = sh->out.out;
  for (int j = 1; j < argc; j++)
    fprintf(out, "%s%s", j > 1 ? " " : "", argv[j]);
  fputc('\n', out);
  return META_OK;
}

static int cmd_schema(shell *sh, int argc, char **argv, const char *rest) {
  (void)rest;
  meta_schema(sh, argc > 1 ? argv[1] : NULL);
  return META_OK;
}

static int cmd_separator(shell *sh, int argc, char **argv, const char *rest) {
  (void)argc, (void)rest;
  copy_setting(sh->out.separator, sizeof sh->out.separator, argv[1]);
  return META_OK;
}

static int cmd_show(shell *sh, int argc, char **argv, const char *rest) {
  (void)argc, (void)argv, (void)rest;
  meta_show(sh);
  return META_OK;
}

static int cmd_tables(shell *sh, int argc, char **argv, const char *rest) {
  (void)rest;
  meta_tables(sh, argc > 1 ? argv[1] : NULL);
  return META_OK;
}

static int cmd_timeout(shell *sh, int argc, char **argv, const char *rest) {
  (void)argc, (void)rest;
  long long ms = integer_value(argv[1]);
  sqlite3_busy_timeout(osq_db_sqlite(sh->db),
                       ms > INT_MAX ? INT_MAX : ms < 0 ? 0 : (int)ms);
  return META_OK;
}

static int cmd_timer(shell *sh, int argc, char **argv, const char *rest) {
  (void)argc, (void)rest;
  sh->timer = boolean_value(sh, argv[1]);
  return META_OK;
}

static int cmd_types(shell *sh, int argc, char **argv, const char *rest) {
  (void)argc, (void)argv;
  return shell_meta_types(sh, rest) ? META_ERROR : META_OK;
}

static int cmd_version(shell *sh, int argc, char **argv, const char *rest) {
  (void)argc, (void)argv, (void)rest;
  meta_version(sh);
  return META_OK;
}

static int cmd_width(shell *sh, int argc, char **argv, const char *rest) {
  (void)rest;
  for (int j = 1; j < argc && j <= SHELL_WIDTHS_MAX; j++) {
    long long w = integer_value(argv[j]);
    sh->out.widths[j - 1] =
        w > 100000 ? 100000 : w < -100000 ? -100000 : (int)w;
  }
  return META_OK;
}

/* In osquery's order of tests: an abbreviation takes the first command
 * it prefixes whose argument count fits (".e on" is .echo, ".e" .exit). */
static const struct {
  const char *name;
  meta_fn *run;
  int minlen;          /* shortest abbreviation */
  int minargs, maxargs; /* words including the command */
} cmds[] = {
    {"all", cmd_all, 1, 2, 2},
    {"socket", cmd_socket, 1, 1, 1},
    {"connect", cmd_connect, 1, 2, 2},
    {"disconnect", cmd_disconnect, 1, 1, 1},
    {"bail", cmd_bail, 3, 2, 2},
    {"echo", cmd_echo, 1, 2, 2},
    {"exit", cmd_exit, 1, 1, META_MAX_ARGS},
    {"features", cmd_features, 1, 1, 1},
    {"header", cmd_header, 1, 2, 2},
    {"headers", cmd_header, 1, 2, 2},
    {"help", cmd_help, 1, 1, META_MAX_ARGS},
    {"mode", cmd_mode, 1, 2, 2},
    {"nullvalue", cmd_nullvalue, 1, 2, 2},
    {"print", cmd_print, 3, 1, META_MAX_ARGS},
    {"quit", cmd_quit, 1, 1, 1},
    {"schema", cmd_schema, 1, 1, 2},
    {"separator", cmd_separator, 1, 2, 2},
    {"show", cmd_show, 1, 1, 1},
    {"summary", cmd_show, 1, 1, 1},
    {"tables", cmd_tables, 2, 1, 2},
    {"list", cmd_tables, 2, 1, 2},
    {"timeout", cmd_timeout, 5, 2, 2},
    {"timer", cmd_timer, 5, 2, 2},
    {"types", cmd_types, 2, 2, META_MAX_ARGS},
    {"version", cmd_version, 1, 1, META_MAX_ARGS},
    {"width", cmd_width, 1, 2, META_MAX_ARGS},
};

int shell_meta(shell *sh, const char *line) {
  char *z = strdup(line);
  if (z == NULL)
    return META_ERROR;
  /* .types takes the rest of the line as SQL, untouched by word
   * splitting. */
  const char *rest = line + 1;
  while (*rest && !isspace((unsigned char)*rest))
    rest++;
  while (isspace((unsigned char)*rest))
    rest++;
  char *argv[META_MAX_ARGS];
  int argc = split_args(z, argv);
  int rc = META_OK;
  if (argc > 0) {
    size_t n = strlen(argv[0]);
    rc = -100;
    for (size_t i = 0; n > 0 && i < sizeof cmds / sizeof cmds[0]; i++)
      if ((int)n >= cmds[i].minlen && strncmp(argv[0], cmds[i].name, n) == 0 &&
          argc >= cmds[i].minargs && argc <= cmds[i].maxargs) {
        rc = cmds[i].run(sh, argc, argv, rest);
        break;
      }
    if (rc == -100) {
      fprintf(sh->err,
              "Error: unknown command or invalid arguments:  \"%s\". Enter "
              "\".help\" for help\n",
              argv[0]);
      rc = META_ERROR;
    }
  }
  fflush(sh->out.out);
  free(z);
  return rc;
}
