#include "daemon/fleet.h"

#include "daemon/hostid.h"
#include "remote/tls.h"
#include "sql/sql.h"

#include <jansson.h>
#include <stdlib.h>

typedef struct first_row {
  json_t *row;
  int ncol;
} first_row;

static int fr_columns(void *u, sqlite3_stmt *st) {
  ((first_row *)u)->ncol = sqlite3_column_count(st);
  return 0;
}

static int fr_row(void *u, sqlite3_stmt *st) {
  first_row *r = u;
  r->row = json_object();
  for (int i = 0; r->row && i < r->ncol; i++) {
    char buf[64];
    const char *s;
    size_t n;
    osq_sql_cell_text(st, i, buf, sizeof buf, &s, &n);
    json_object_set_new(r->row, sqlite3_column_name(st, i),
                        json_stringn(s ? s : "", s ? n : 0));
  }
  return 1; /* the first row is all osquery sends */
}

/* osquery's enrollment host_details: the first row of each table. */
static json_t *host_details(void *udata) {
  (void)udata;
  static const char *const tables[] = {"os_version", "osquery_info",
                                       "system_info", "platform_info"};
  json_t *out = json_object();
  char err[256];
  osq_db *db = osq_db_acquire(err, sizeof err);
  for (size_t i = 0; out && i < sizeof tables / sizeof tables[0]; i++) {
    first_row r = {NULL, 0};
    if (db) {
      char sql[64];
      snprintf(sql, sizeof sql, "SELECT * FROM %s", tables[i]);
      osq_sql_sink sink = {fr_columns, fr_row, &r};
      char *e = NULL;
      osq_db_exec(db, sql, &sink, &e);
      free(e);
    }
    json_object_set_new(out, tables[i], r.row ? r.row : json_object());
  }
  if (db)
    osq_db_release(db);
  return out;
}

int osq_fleet_register(osq_store *store, const char *database_path,
                       char *err, size_t errlen) {
  char host[512];
  osq_host_identifier(store, host, sizeof host);
  osq_tls_env env = {
      .database_path = database_path,
      .host_identifier = host,
      .host_details = host_details,
  };
  return osq_tls_register(&env, err, errlen);
}

void osq_fleet_shutdown(void) { osq_tls_shutdown(); }
