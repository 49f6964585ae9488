/* The ExtensionManager methods: registration with osquery's checks in
 * osquery's order and wording (docs/protocol.md §4.4, §4.8, §5). */
#include "manager_impl.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "thrift/dispatch.h"
#include "registry/registry.h"
#include "sql/sql.h"

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

void osq_ext_rec_free(struct osq_ext_rec *r) {
  if (r == NULL)
    return;
  /* no close here: deregistration lets calls in flight finish; the pool
   * goes with the last reference */
  osq_remote_ext_unref(r->remote);
  osq_ext_info_clear(&r->info);
  free(r->path);
  free(r);
}

/* ---- versions ------------------------------------------------------------- */

/* Split on '.', dropping empty parts; at most max parts. */
static size_t split_version(const char *s, char parts[][32], size_t max) {
  size_t n = 0;
  while (*s && n < max) {
    size_t len = strcspn(s, ".");
    if (len > 0) {
      size_t k = len < 31 ? len : 31;
      memcpy(parts[n], s, k);
      parts[n][k] = '\0';
      n++;
    }
    s += len;
    if (*s == '.')
      s++;
  }
  return n;
}

static bool to_int(const char *s, long *v) {
  char *end;
  errno = 0;
  *v = strtol(s, &end, 10); /* a numeric prefix counts, as with stoi */
  return end != s && errno == 0 && *v >= -2147483647L && *v <= 2147483647L;
}

bool osq_version_at_least(const char *required, const char *actual) {
  if (strcmp(required, "0.0.0") == 0 || strcmp(actual, "0.0.0") == 0)
    return true;
  char req[16][32], act[16][32];
  size_t nreq = split_version(required, req, 16);
  size_t nact = split_version(actual, act, 16);
  for (size_t i = 0; i < nact; i++) {
    if (i >= nreq)
      return true;
    long a, r;
    if (to_int(act[i], &a) && to_int(req[i], &r)) {
      if (a < r)
        return false;
      if (a > r)
        return true;
    } else if (strcmp(act[i], req[i]) < 0) {
      return false;
    }
  }
  return true;
}

/* ---- uuids ---------------------------------------------------------------- */

static bool uuid_unusable(osq_manager *m, int64_t uuid, int64_t now) {
  if (m->quarantine[uuid] > now)
    return true;
  for (struct osq_ext_rec *r = m->exts; r; r = r->next)
    if (r->uuid == uuid)
      return true;
  return false;
}

/* Round robin over 1..65535 from a random start, skipping live uuids and
 * ones released within the quarantine. Caller holds the lock. */
static int64_t next_uuid(osq_manager *m) {
  int64_t now = osq_now_ms();
  for (int tries = 0; tries < 65535; tries++) {
    int64_t u = m->next_uuid;
    m->next_uuid = m->next_uuid >= 65535 ? 1 : m->next_uuid + 1;
    if (!uuid_unusable(m, u, now))
      return u;
  }
  return 0;
}

static void quarantine(osq_manager *m, int64_t uuid) {
  if (uuid > 0 && uuid <= 65535)
    m->quarantine[uuid] = osq_now_ms() + OSQ_MANAGER_UUID_QUARANTINE_MS;
}

/* ---- register / deregister ------------------------------------------------ */

static void fail(osq_ext_status *out, const char *msg) {
  osq_ext_status_set(out, 1, msg, 0);
}

static void unlink_rec(osq_manager *m, struct osq_ext_rec *rec) {
  struct osq_ext_rec **pp = &m->exts;
  while (*pp && *pp != rec)
    pp = &(*pp)->next;
  if (*pp)
    *pp = rec->next;
}

/* A record holding owned copies of what the extension sent, and its peer. */
static struct osq_ext_rec *new_rec(const struct osq_conn_rec *cr,
                                   const osq_ext_info *info) {
  struct osq_ext_rec *rec = calloc(1, sizeof *rec);
  if (rec == NULL)
    return NULL;
  rec->info.name = dup_or_empty(info->name);
  rec->info.version = dup_or_empty(info->version);
  rec->info.sdk_version = dup_or_empty(info->sdk_version);
  rec->info.min_sdk_version = dup_or_empty(info->min_sdk_version);
  rec->pid = cr->pid;
  rec->uid = cr->uid;
  if (!rec->info.name || !rec->info.version || !rec->info.sdk_version ||
      !rec->info.min_sdk_version) {
    osq_ext_rec_free(rec);
    return NULL;
  }
  return rec;
}

/* osquery's first checks, in its order, under the lock: a name not in use
 * (pending registrations count, so two at once with the same name cannot
 * both pass), a recent enough SDK, a free uuid. On success rec is listed
 * as pending (its uuid reserved) and NULL is returned; otherwise the
 * reason for the reply. */
static const char *reserve(osq_manager *m, struct osq_ext_rec *rec) {
  const char *name = rec->info.name, *sdk = rec->info.sdk_version;
  pthread_mutex_lock(&m->lock);
  const char *why = NULL;
  if (m->stopping)
    why = "Extension manager is shutting down";
  for (struct osq_ext_rec *r = m->exts; !why && r; r = r->next)
    if (strcmp(r->info.name, name) == 0) {
      OSQ_WARN("Refusing to register duplicate extension %s", name);
      why = "Duplicate extension registered";
    }
  if (!why && !osq_version_at_least(OSQ_MANAGER_SDK_MIN, sdk)) {
    OSQ_WARN("Could not register extension %s: incompatible extension SDK "
             "version %s, minimum required is %s",
             name, sdk, OSQ_MANAGER_SDK_MIN);
    why = "Incompatible extension SDK version";
  }
  if (!why && (rec->uuid = next_uuid(m)) == 0)
    why = "No free extension UUID";
  if (!why) {
    rec->pending = true;
    rec->next = m->exts;
    m->exts = rec;
  }
  pthread_mutex_unlock(&m->lock);
  return why;
}

/* No route may name a plugin that exists already (osquery checks this
 * before unknown registries). */
static int check_conflicts(const osq_route_table *routes, char *err,
                           size_t errlen) {
  for (size_t i = 0; i < routes->n; i++) {
    int kind = osq_registry_from_name(routes->routes[i].registry);
    if (kind >= 0 &&
        osq_registry_exists((osq_registry_kind)kind, routes->routes[i].item)) {
      snprintf(err, errlen,
               "Registry item %s conflicts with another item of the same "
               "name.",
               routes->routes[i].item);
      return OSQ_EEXIST;
    }
  }
  return OSQ_OK;
}

/* The extension's socket, its client, and its routes in the registry; run
 * without the manager lock (registry listeners and SQL may run). */
static int add_routes(osq_manager *m, struct osq_ext_rec *rec,
                      const osq_route_table *routes, char *err,
                      size_t errlen) {
  size_t plen = strlen(m->path) + 24;
  rec->path = malloc(plen);
  if (rec->path)
    snprintf(rec->path, plen, "%s.%lld", m->path, (long long)rec->uuid);
  rec->remote = rec->path ? osq_remote_ext_new(rec->uuid, rec->info.name,
                                               rec->path, &m->set.thrift)
                          : NULL;
  if (rec->remote == NULL) {
    snprintf(err, errlen, "out of memory");
    return OSQ_ENOMEM;
  }
  int rc = check_conflicts(routes, err, errlen);
  osq_plugin_spec *specs = NULL;
  size_t nspecs = 0;
  if (rc == OSQ_OK)
    rc = osq_remote_build(rec->remote, routes, &specs, &nspecs, err, errlen);
  if (rc != OSQ_OK)
    return rc;
  rc = osq_registry_add_all(specs, nspecs, err, errlen);
  if (rc == OSQ_OK)
    osq_remote_specs_release(specs);
  else
    osq_remote_specs_free(specs, nspecs);
  return rc;
}

/* Make the pending record live, or take it back (a failed route, or stop()
 * began meanwhile: its shutdown() round has passed, so an extension added
 * now would never be told). Returns the failure reason, or NULL. */
static const char *commit(osq_manager *m, struct osq_ext_rec *rec, int rc,
                          char *err, size_t errlen) {
  pthread_mutex_lock(&m->lock);
  if (rc == OSQ_OK && m->stopping) {
    pthread_mutex_unlock(&m->lock);
    osq_registry_remove_owner((uint64_t)rec->uuid);
    snprintf(err, errlen, "Extension manager is shutting down");
    rc = OSQ_ECLOSED;
    pthread_mutex_lock(&m->lock);
  }
  if (rc != OSQ_OK) {
    unlink_rec(m, rec);
    pthread_mutex_unlock(&m->lock);
    return err;
  }
  rec->pending = false;
  rec->registered_ms = osq_now_ms();
  pthread_cond_broadcast(&m->changed);
  pthread_mutex_unlock(&m->lock);
  return NULL;
}

static int h_register(void *u, const osq_ext_info *info,
                      const osq_route_table *routes, osq_ext_status *out) {
  struct osq_conn_rec *cr = u;
  osq_manager *m = cr->m;
  struct osq_ext_rec *rec = new_rec(cr, info);
  if (rec == NULL)
    return OSQ_ENOMEM;
  const char *why = reserve(m, rec);
  if (why) {
    osq_ext_rec_free(rec);
    fail(out, why);
    return OSQ_OK;
  }
  char err[1024];
  int rc = add_routes(m, rec, routes, err, sizeof err);
  if (commit(m, rec, rc, err, sizeof err)) {
    char msg[1100];
    snprintf(msg, sizeof msg, "%s%s",
             rc == OSQ_OK ? "" : "Failed adding registry: ", err);
    OSQ_WARN("Could not register extension %s: %s", rec->info.name, msg);
    osq_ext_rec_free(rec);
    fail(out, msg);
    return OSQ_OK;
  }
  OSQ_INFO("Registering extension (%s, %lld, version=%s, sdk=%s)",
           rec->info.name, (long long)rec->uuid, rec->info.version,
           rec->info.sdk_version);
  osq_ext_status_set(out, 0, "OK", rec->uuid);
  return OSQ_OK;
}

bool osq_manager_drop(osq_manager *m, int64_t uuid, const char *why,
                      bool cut) {
  pthread_mutex_lock(&m->lock);
  struct osq_ext_rec *rec = m->exts;
  while (rec && (rec->uuid != uuid || rec->pending))
    rec = rec->next;
  if (rec) {
    unlink_rec(m, rec);
    quarantine(m, uuid);
    pthread_cond_broadcast(&m->changed);
  }
  pthread_mutex_unlock(&m->lock);
  if (rec == NULL)
    return false;
  /* Stop its calls first, so the routes go away without waiting on them. */
  if (cut)
    osq_remote_ext_close_because(rec->remote, why);
  else
    osq_remote_ext_retire(rec->remote);
  osq_registry_remove_owner((uint64_t)uuid);
  OSQ_INFO("Extension %s (uuid %lld) %s", rec->info.name, (long long)uuid,
           why);
  osq_ext_rec_free(rec);
  return true;
}

static int h_deregister(void *u, int64_t uuid, osq_ext_status *out) {
  struct osq_conn_rec *cr = u;
  if (!osq_manager_drop(cr->m, uuid, "deregistered", false)) {
    fail(out, "No extension UUID found");
    return OSQ_OK;
  }
  osq_ext_status_set(out, 0, "OK", 0);
  return OSQ_OK;
}

/* ---- listing -------------------------------------------------------------- */

static int h_extensions(void *u, osq_ext_list *out) {
  struct osq_conn_rec *cr = u;
  osq_manager *m = cr->m;
  pthread_mutex_lock(&m->lock);
  size_t n = 0;
  for (struct osq_ext_rec *r = m->exts; r; r = r->next)
    n += !r->pending;
  out->items = calloc(n ? n : 1, sizeof *out->items);
  out->n = 0;
  int rc = out->items ? OSQ_OK : OSQ_ENOMEM;
  for (struct osq_ext_rec *r = m->exts; rc == OSQ_OK && r; r = r->next) {
    if (r->pending)
      continue;
    osq_ext_entry *e = &out->items[out->n++];
    e->uuid = r->uuid;
    e->info.name = strdup(r->info.name);
    e->info.version = strdup(r->info.version);
    e->info.sdk_version = strdup(r->info.sdk_version);
    e->info.min_sdk_version = strdup(r->info.min_sdk_version);
    if (!e->info.name || !e->info.version || !e->info.sdk_version ||
        !e->info.min_sdk_version)
      rc = OSQ_ENOMEM;
  }
  pthread_mutex_unlock(&m->lock);
  return rc;
}

static int h_options(void *u, osq_option_list *out) {
  struct osq_conn_rec *cr = u;
  out->items = NULL;
  out->n = 0;
  if (cr->m->set.list_options)
    return cr->m->set.list_options(out);
  return OSQ_OK;
}

static int h_ping(void *u, osq_ext_status *out) {
  (void)u;
  osq_ext_status_set(out, 0, "pong", 0);
  return OSQ_OK;
}

static int h_shutdown(void *u) {
  (void)u; /* does not apply to a manager, as in osquery */
  return OSQ_OK;
}

/* ---- SQL ------------------------------------------------------------------ */

struct qsink {
  osq_api_reply *reply;
  size_t limit; /* reply bytes a Thrift peer would read */
  bool too_big;
  char buf[64];
};

static int q_row(void *u, sqlite3_stmt *st) {
  struct qsink *q = u;
  int n = sqlite3_column_count(st);
  osq_api_reply_row_begin(q->reply);
  for (int i = 0; i < n; i++) {
    const char *name = sqlite3_column_name(st, i);
    const char *s;
    size_t len;
    osq_sql_cell_text(st, i, q->buf, sizeof q->buf, &s, &len);
    osq_api_reply_cell(q->reply, name ? name : "", name ? strlen(name) : 0,
                       s ? s : "", s ? len : 0);
  }
  osq_api_reply_row_end(q->reply);
  if (q->reply->rows.len > q->limit) {
    q->too_big = true; /* stop before the core holds more of it */
    return 1;
  }
  return q->reply->rows.failed ? 1 : 0;
}

static int h_query(void *u, const char *sql, osq_api_reply *reply) {
  struct osq_conn_rec *cr = u;
  char err[512];
  osq_db *db = osq_db_acquire(err, sizeof err);
  if (db == NULL) {
    osq_ext_status_set(&reply->status, 1, err, 0);
    return OSQ_OK;
  }
  size_t limit = cr->m->set.thrift.max_message;
  struct qsink q = {reply, limit ? limit : OSQ_THRIFT_DEFAULT_MAX_MESSAGE,
                    false, {0}};
  osq_sql_sink sink = {NULL, q_row, &q};
  char *errmsg = NULL;
  int rc = osq_db_exec(db, sql, &sink, &errmsg);
  osq_db_release(db);
  if (q.too_big) {
    osq_api_reply_discard_rows(reply);
    char m[160];
    snprintf(m, sizeof m,
             "query result larger than %zu bytes (--thrift_max_message_size)",
             q.limit);
    osq_ext_status_set(&reply->status, 1, m, 0);
  } else if (rc != SQLITE_OK || reply->rows.failed) {
    osq_api_reply_discard_rows(reply);
    osq_ext_status_set(&reply->status, 1,
                       errmsg ? errmsg
                       : reply->rows.failed
                           ? "out of memory building the reply"
                           : sqlite3_errstr(rc),
                       0);
  } else {
    osq_ext_status_set(&reply->status, 0, "OK", 0);
  }
  free(errmsg);
  return OSQ_OK;
}

static int h_get_query_columns(void *u, const char *sql,
                               osq_api_reply *reply) {
  (void)u;
  char err[512];
  osq_db *db = osq_db_acquire(err, sizeof err);
  if (db == NULL) {
    osq_ext_status_set(&reply->status, 1, err, 0);
    return OSQ_OK;
  }
  osq_db_sync(db);
  sqlite3 *s = osq_db_sqlite(db);
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(s, sql, -1, &st, NULL);
  if (rc != SQLITE_OK) {
    osq_ext_status_set(&reply->status, 1, sqlite3_errmsg(s), 0);
  } else {
    int n = st ? sqlite3_column_count(st) : 0;
    for (int i = 0; i < n; i++) {
      const char *name = sqlite3_column_name(st, i);
      const char *type = osq_sql_column_type(st, i);
      osq_api_reply_row_begin(reply);
      osq_api_reply_cell(reply, name ? name : "", name ? strlen(name) : 0,
                         type, strlen(type));
      osq_api_reply_row_end(reply);
    }
    osq_ext_status_set(&reply->status, 0, "OK", 0);
  }
  sqlite3_finalize(st);
  osq_db_release(db);
  return OSQ_OK;
}

/* ---- call: core plugins --------------------------------------------------- */

static void call_one(osq_registry_kind kind, const char *item,
                     const osq_strmap *request, osq_api_reply *reply) {
  const osq_plugin *p = osq_registry_get(kind, item);
  if (p == NULL) {
    osq_dispatch_unknown_item(reply, item, 0);
    return;
  }
  osq_dispatch_call(p, request, reply, 0);
  osq_plugin_release(p);
}

static int h_call(void *u, const char *registry, const char *item,
                  const osq_strmap *request, osq_api_reply *reply) {
  (void)u;
  int kind = osq_registry_from_name(registry ? registry : "");
  if (kind < 0) {
    osq_dispatch_unknown_registry(reply, registry ? registry : "", 0);
    return OSQ_OK;
  }
  char *active = NULL;
  if (item == NULL || item[0] == '\0') {
    /* the registry's active plugin */
    active = osq_registry_active((osq_registry_kind)kind);
    item = active ? active : "";
  }
  if (strchr(item, ',') == NULL) {
    call_one((osq_registry_kind)kind, item, request, reply);
    free(active);
    return OSQ_OK;
  }
  /* A list: each is called, and the reply is success (osquery's rule). */
  char *list = strdup(item);
  for (char *save = NULL, *tok = list ? strtok_r(list, ",", &save) : NULL;
       tok; tok = strtok_r(NULL, ",", &save)) {
    osq_api_reply one;
    osq_api_reply_init(&one);
    call_one((osq_registry_kind)kind, tok, request, &one);
    osq_api_reply_free(&one);
  }
  free(list);
  free(active);
  osq_ext_status_set(&reply->status, 0, "OK", 0);
  return OSQ_OK;
}

/* ---- deadlines around every handler --------------------------------------- */

/* The request has been read whole when a handler runs: its deadline ends
 * there (a query may take long), and the reply gets its own. */
#define TIMED(call)                                                            \
  do {                                                                         \
    osq_manager_request_read(u);                                               \
    int rc_ = (call);                                                          \
    osq_manager_reply_due(u);                                                  \
    return rc_;                                                                \
  } while (0)

static int t_ping(void *u, osq_ext_status *out) { TIMED(h_ping(u, out)); }
static int t_call(void *u, const char *registry, const char *item,
                  const osq_strmap *request, osq_api_reply *reply) {
  TIMED(h_call(u, registry, item, request, reply));
}
static int t_shutdown(void *u) { TIMED(h_shutdown(u)); }
static int t_extensions(void *u, osq_ext_list *out) {
  TIMED(h_extensions(u, out));
}
static int t_options(void *u, osq_option_list *out) {
  TIMED(h_options(u, out));
}
static int t_register(void *u, const osq_ext_info *info,
                      const osq_route_table *routes, osq_ext_status *out) {
  TIMED(h_register(u, info, routes, out));
}
static int t_deregister(void *u, int64_t uuid, osq_ext_status *out) {
  TIMED(h_deregister(u, uuid, out));
}
static int t_query(void *u, const char *sql, osq_api_reply *reply) {
  TIMED(h_query(u, sql, reply));
}
static int t_get_query_columns(void *u, const char *sql,
                               osq_api_reply *reply) {
  TIMED(h_get_query_columns(u, sql, reply));
}

const osq_api_handlers osq_manager_handlers = {
    .ping = t_ping,
    .call = t_call,
    .shutdown = t_shutdown,
    .extensions = t_extensions,
    .options = t_options,
    .register_extension = t_register,
    .deregister_extension = t_deregister,
    .query = t_query,
    .get_query_columns = t_get_query_columns,
};
