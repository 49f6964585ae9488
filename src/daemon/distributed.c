#include "daemon/distributed.h"

#include "config/sha1.h"
#include "core/flags.h"
#include "core/log.h"
#include "plugin/plugin_impl.h"
#include "registry/registry.h"
#include "remote/carve.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_DISTRIBUTED_QUERIES 1024

typedef struct strrows {
  json_t *rows;
  int ncol;
} strrows;

static int sr_columns(void *u, sqlite3_stmt *st) {
  ((strrows *)u)->ncol = sqlite3_column_count(st);
  return 0;
}

static int sr_row(void *u, sqlite3_stmt *st) {
  strrows *r = u;
  json_t *o = json_object();
  if (o == NULL)
    return 1;
  for (int i = 0; i < r->ncol; i++) {
    char buf[64];
    const char *s;
    size_t n;
    osq_sql_cell_text(st, i, buf, sizeof buf, &s, &n);
    json_object_set_new(o, sqlite3_column_name(st, i),
                        json_stringn(s ? s : "", s ? n : 0));
  }
  return json_array_append_new(r->rows, o) != 0;
}

static json_t *run(osq_db *db, const char *sql, char **err) {
  strrows r = {json_array(), 0};
  osq_sql_sink sink = {sr_columns, sr_row, &r};
  if (osq_db_exec(db, sql, &sink, err) != SQLITE_OK) {
    json_decref(r.rows);
    return NULL;
  }
  return r.rows;
}

#define RUNNING_PREFIX "distributed_running."

static void running_key(const char *sql, char key[64]) {
  char hex[41];
  osq_sha1_hex(sql, strlen(sql), hex);
  snprintf(key, 64, "%s%s", RUNNING_PREFIX, hex);
}

/* True if sql is denylisted: marked as running by an earlier worker that
 * never finished it, less than --distributed_denylist_duration ago.
 * Otherwise marks it as running now. */
static bool check_and_mark_running(osq_store *store, const char *sql) {
  if (store == NULL)
    return false;
  char key[64];
  running_key(sql, key);
  uint64_t now = (uint64_t)time(NULL);
  char *v = osq_store_get(store, key);
  if (v) {
    uint64_t started = strtoull(v, NULL, 10);
    free(v);
    if (now <= started + OSQ_FLAG_UINT(distributed_denylist_duration))
      return true;
  }
  char ts[32];
  snprintf(ts, sizeof ts, "%llu", (unsigned long long)now);
  osq_store_set(store, key, ts);
  return false;
}

static void mark_not_running(osq_store *store, const char *sql) {
  if (store == NULL)
    return;
  char key[64];
  running_key(sql, key);
  osq_store_del(store, key);
}

uint64_t osq_distributed_round(osq_db *db, osq_store *store) {
  uint64_t next = OSQ_FLAG_UINT(distributed_interval);
  const char *name = OSQ_FLAG_STR(distributed_plugin);
  const osq_plugin *p = osq_registry_get(OSQ_REGISTRY_DISTRIBUTED, name);
  if (p == NULL) {
    OSQ_WARN("Distributed plugin %s is not registered", name);
    return next;
  }
  const osq_distributed_plugin *d = p->u.distributed;
  osq_strmap out;
  osq_strmap_init(&out);
  json_t *req = NULL, *res = NULL;
  uint64_t mark = osq_error_mark();
  if (d->get_queries == NULL || d->get_queries(&out, d->udata) != OSQ_OK) {
    OSQ_WARN("Distributed getQueries failed: %s",
             osq_error_reason(osq_strmap_message(&out), mark,
                              "the plugin gave no reason"));
    goto done;
  }
  const char *text = osq_strmap_get(&out, "results");
  json_error_t je;
  req = text ? json_loads(text, 0, &je) : NULL;
  if (!json_is_object(req)) {
    OSQ_WARN("Distributed plugin %s returned no JSON object in results",
             name);
    goto done;
  }
  uint64_t acc;
  json_t *a = json_object_get(req, "accelerate");
  if (json_is_integer(a) && (acc = (uint64_t)json_integer_value(a)) > 0)
    next = acc;
  json_t *queries = json_object_get(req, "queries");
  if (!json_is_object(queries) || json_object_size(queries) == 0)
    goto done;
  if (json_object_size(queries) > MAX_DISTRIBUTED_QUERIES) {
    OSQ_WARN("Distributed plugin sent %zu queries; at most %d are run",
             json_object_size(queries), MAX_DISTRIBUTED_QUERIES);
  }
  json_t *discovery = json_object_get(req, "discovery");
  res = json_pack("{s:{},s:{},s:{}}", "queries", "statuses", "messages");
  json_t *rq = json_object_get(res, "queries");
  json_t *rs = json_object_get(res, "statuses");
  json_t *rm = json_object_get(res, "messages");
  const char *qname;
  json_t *sql;
  size_t count = 0;
  json_object_foreach(queries, qname, sql) {
    if (++count > MAX_DISTRIBUTED_QUERIES)
      break;
    if (!json_is_string(sql))
      continue;
    json_t *disc = json_object_get(discovery, qname);
    if (json_is_string(disc)) {
      char *e = NULL;
      json_t *dr = run(db, json_string_value(disc), &e);
      bool ok = dr && json_array_size(dr) > 0;
      json_decref(dr);
      free(e);
      if (!ok)
        continue; /* this host is not one the query is meant for */
    }
    if (OSQ_FLAG_BOOL(distributed_loginfo))
      OSQ_INFO("Executing distributed query: %s: %s", qname,
               json_string_value(sql));
    if (check_and_mark_running(store, json_string_value(sql))) {
      OSQ_WARN("Distributed query %s is denylisted: an earlier run did not "
               "finish",
               qname);
      json_object_set_new(rq, qname, json_array());
      json_object_set_new(rs, qname, json_integer(1));
      json_object_set_new(rm, qname, json_string("Query is denylisted"));
      continue;
    }
    char *e = NULL;
    osq_carve_set_request_id(qname); /* a carve's request_id */
    json_t *rows = run(db, json_string_value(sql), &e);
    osq_carve_set_request_id(NULL);
    mark_not_running(store, json_string_value(sql));
    if (rows) {
      json_object_set_new(rq, qname, rows);
      json_object_set_new(rs, qname, json_integer(0));
    } else {
      json_object_set_new(rq, qname, json_array());
      json_object_set_new(rs, qname, json_integer(1));
      json_object_set_new(rm, qname, json_string(e ? e : "query failed"));
    }
    free(e);
  }
  char *body = json_dumps(res, JSON_COMPACT);
  if (body == NULL || d->write_results == NULL ||
      d->write_results(body, strlen(body), d->udata) != OSQ_OK)
    OSQ_WARN("Distributed writeResults to %s failed", name);
  free(body);
done:
  json_decref(req);
  json_decref(res);
  osq_strmap_clear(&out);
  osq_plugin_release(p);
  return next ? next : 60;
}
