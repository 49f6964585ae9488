/* etc_services and etc_protocols: the netdb files, line by line.
 *
 * A line is "fields # comment"; the comment is everything after the first
 * '#', its '#'-separated parts trimmed, empty parts dropped and the rest
 * joined with " # " (osquery's reading). */
#include "tables/builtin.h"
#include "tables/util.h"
#include "netdb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Overridable for tests (netdb.h). */
const char *osq_tables_services_path = "/etc/services";
const char *osq_tables_protocols_path = "/etc/protocols";

/* The most whitespace-separated fields a line keeps (name, number and
 * aliases); more aliases than that are dropped. */
#define NETDB_FIELDS 64

typedef struct netdb_line {
  char *field[NETDB_FIELDS];
  int nfields;
  char comment[OSQ_TBL_LINE_MAX];
  bool has_comment;
} netdb_line;

/* Split line (in place) into fields and its comment. */
static void netdb_split(char *line, netdb_line *l) {
  char *hash = strchr(line, '#');
  l->has_comment = false;
  l->comment[0] = '\0';
  if (hash != NULL) {
    *hash = '\0';
    size_t n = 0;
    char *save = NULL;
    for (char *part = strtok_r(hash + 1, "#", &save); part;
         part = strtok_r(NULL, "#", &save)) {
      part = osq_tbl_trim(part);
      size_t pl = strlen(part);
      if (pl == 0 || n + pl + 4 > sizeof l->comment)
        continue;
      if (n > 0) {
        memcpy(l->comment + n, " # ", 3);
        n += 3;
      }
      memcpy(l->comment + n, part, pl + 1);
      n += pl;
      l->has_comment = true;
    }
  }
  l->nfields = osq_tbl_tokens(line, " \t\r\v\f", l->field, NETDB_FIELDS);
}

/* Join fields [from, nfields) with single spaces into buf. */
static size_t join_fields(const netdb_line *l, int from, char *buf,
                          size_t cap) {
  size_t n = 0;
  buf[0] = '\0';
  for (int i = from; i < l->nfields; i++) {
    size_t fl = strlen(l->field[i]);
    if (n + fl + 2 > cap)
      break;
    if (n > 0)
      buf[n++] = ' ';
    memcpy(buf + n, l->field[i], fl + 1);
    n += fl;
  }
  return n;
}

typedef int (*netdb_row_fn)(osq_rows *out, netdb_line *l);

static int netdb_scan(const char *path, osq_rows *out, netdb_row_fn fn) {
  FILE *f = fopen(path, "re");
  if (f == NULL)
    return OSQ_OK; /* no file, no rows */
  char line[OSQ_TBL_LINE_MAX];
  netdb_line *l = malloc(sizeof *l);
  int rc = l ? OSQ_OK : OSQ_ENOMEM, got;
  while (rc == OSQ_OK && (got = osq_tbl_getline(f, line, sizeof line)) != 0) {
    if (got < 0)
      continue;
    netdb_split(line, l);
    if (l->nfields >= 2)
      rc = fn(out, l);
  }
  free(l);
  fclose(f);
  return rc;
}

/* ---- etc_services ----------------------------------------------------- */

enum { S_NAME, S_PORT, S_PROTOCOL, S_ALIASES, S_COMMENT };

static const osq_column services_columns[] = {
    {"name", OSQ_TYPE_TEXT, 0},     {"port", OSQ_TYPE_INTEGER, 0},
    {"protocol", OSQ_TYPE_TEXT, 0}, {"aliases", OSQ_TYPE_TEXT, 0},
    {"comment", OSQ_TYPE_TEXT, 0},
};

static int service_row(osq_rows *out, netdb_line *l) {
  char *slash = strchr(l->field[1], '/');
  int64_t port;
  if (slash == NULL || slash[1] == '\0' || strchr(slash + 1, '/'))
    return OSQ_OK;
  *slash = '\0';
  if (!osq_tbl_parse_i64(l->field[1], &port) || port < 0 || port > 65535)
    return OSQ_OK;
  char aliases[OSQ_TBL_LINE_MAX];
  size_t an = join_fields(l, 2, aliases, sizeof aliases);
  osq_rows_cstr(out, S_NAME, l->field[0]);
  osq_rows_int(out, S_PORT, port);
  osq_rows_cstr(out, S_PROTOCOL, slash + 1);
  osq_rows_text(out, S_ALIASES, aliases, an);
  if (l->has_comment)
    osq_rows_cstr(out, S_COMMENT, l->comment);
  return osq_rows_end(out);
}

static int services_generate(const osq_context *ctx, osq_rows *out,
                             void *udata) {
  (void)ctx;
  (void)udata;
  return netdb_scan(osq_tables_services_path, out, service_row);
}

const osq_table_plugin osq_table_etc_services = {
    .name = "etc_services",
    .columns = services_columns,
    .ncolumns = OSQ_NCOLS(services_columns),
    .attributes = OSQ_TABLE_CACHEABLE,
    .generate = services_generate,
};

/* ---- etc_protocols ---------------------------------------------------- */

enum { P_NAME, P_NUMBER, P_ALIAS, P_COMMENT };

static const osq_column protocols_columns[] = {
    {"name", OSQ_TYPE_TEXT, 0},
    {"number", OSQ_TYPE_INTEGER, 0},
    {"alias", OSQ_TYPE_TEXT, 0},
    {"comment", OSQ_TYPE_TEXT, 0},
};

static int protocol_row(osq_rows *out, netdb_line *l) {
  int64_t number;
  /* not a byte: the file lists mptcp as 262 */
  if (!osq_tbl_parse_i64(l->field[1], &number) || number < 0 ||
      number > INT32_MAX)
    return OSQ_OK;
  osq_rows_cstr(out, P_NAME, l->field[0]);
  osq_rows_int(out, P_NUMBER, number);
  /* osquery keeps the first alias only */
  if (l->nfields > 2)
    osq_rows_cstr(out, P_ALIAS, l->field[2]);
  if (l->has_comment)
    osq_rows_cstr(out, P_COMMENT, l->comment);
  return osq_rows_end(out);
}

static int protocols_generate(const osq_context *ctx, osq_rows *out,
                              void *udata) {
  (void)ctx;
  (void)udata;
  return netdb_scan(osq_tables_protocols_path, out, protocol_row);
}

const osq_table_plugin osq_table_etc_protocols = {
    .name = "etc_protocols",
    .columns = protocols_columns,
    .ncolumns = OSQ_NCOLS(protocols_columns),
    .attributes = OSQ_TABLE_CACHEABLE,
    .generate = protocols_generate,
};
