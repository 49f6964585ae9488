/* The extension handle: plugins, the manager connection pool, query(). */
#include "sdk.h"

#include "core/grow.h"

#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const void *osq_sdk_find(const osq_extension *ext, int kind,
                         const char *name) {
  for (size_t i = 0; i < ext->plugins[kind].n; i++) {
    const void *p = ext->plugins[kind].items[i];
    if (strcmp(osq_plugin_name_of(kind, p), name) == 0)
      return p;
  }
  return NULL;
}

static bool name_ok(const char *name) {
  return name && *name && strlen(name) <= OSQ_EXT_MAX_NAME;
}

/* The core attaches a table as `CREATE VIRTUAL TABLE temp.<name> USING
 * <name>` with the name unquoted (protocol.md §4.4). */
static bool identifier(const char *s) {
  if (!name_ok(s) || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                       *s == '_'))
    return false;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
          (*s >= '0' && *s <= '9') || *s == '_'))
      return false;
  return true;
}

osq_extension *osq_extension_new(const char *name, const char *version) {
  if (!name_ok(name) || (version && strlen(version) > OSQ_EXT_MAX_NAME))
    return NULL;
  osq_extension *ext = calloc(1, sizeof *ext);
  if (ext == NULL)
    return NULL;
  ext->name = strdup(name);
  ext->version = strdup(version ? version : "0.0.0");
  ext->wake[0] = ext->wake[1] = -1;
  if (!ext->name || !ext->version) {
    free(ext->name);
    free(ext->version);
    free(ext);
    return NULL;
  }
  pthread_mutex_init(&ext->lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&ext->watcher_cond, &ca);
  pthread_condattr_destroy(&ca);
  return ext;
}

void osq_extension_free(osq_extension *ext) {
  if (ext == NULL)
    return;
  /* A plugin call that outlived the stop still uses the handle and its
   * plugins; the process is about to exit, so leave them be. */
  if (atomic_load(&ext->busy_at_exit) > 0)
    return;
  for (int k = 0; k < OSQ_SDK_KINDS; k++) {
    for (size_t i = 0; i < ext->plugins[k].n; i++)
      osq_plugin_destroy_of(k, ext->plugins[k].items[i]);
    free(ext->plugins[k].items);
  }
  for (size_t i = 0; i < ext->copies.n; i++)
    free(ext->copies.items[i]);
  free(ext->copies.items);
  for (size_t i = 0; i < ext->npool; i++)
    osq_tconn_close(ext->pool[i]);
  osq_option_list_clear(&ext->options);
  osq_sdk_args_free(&ext->args);
  free(ext->socket_path);
  free(ext->name);
  free(ext->version);
  pthread_mutex_destroy(&ext->lock);
  pthread_cond_destroy(&ext->watcher_cond);
  free(ext);
}

/* ---- adding plugins: the versioned ABI --------------------------------------- */

/* The bytes of a plugin struct in the current API, and in API 1 (the
 * fields before the first one a later version added). */
static size_t struct_size(int kind) {
  switch (kind) {
  case OSQ_REGISTRY_TABLE: return sizeof(osq_table_plugin);
  case OSQ_REGISTRY_CONFIG: return sizeof(osq_config_plugin);
  case OSQ_REGISTRY_LOGGER: return sizeof(osq_logger_plugin);
  default: return sizeof(osq_distributed_plugin);
  }
}

static size_t struct_size_v1(int kind) {
  return kind == OSQ_REGISTRY_TABLE ? offsetof(osq_table_plugin, description)
                                    : struct_size(kind);
}

/* The struct to use for the extension's: its own when it has the current
 * layout, else a current-layout copy with the fields its API version has
 * and zero for those it does not (*copied then). NULL with *rc and a
 * message when the version or size is not one this library knows. */
static const void *adopt(int kind, const void *p, size_t size, int version,
                         bool *copied, int *rc) {
  const char *what = osq_registry_name(kind);
  if (version < 1 || version > OSQ_API_VERSION) {
    osq_error("%s plugin: the extension was built for osq API %d; this "
              "libosqext has API %d (1..%d supported): rebuild or link a "
              "newer libosqext",
              what, version, OSQ_API_VERSION, OSQ_API_VERSION);
    *rc = OSQ_EVERSION;
    return NULL;
  }
  size_t want = version == OSQ_API_VERSION ? struct_size(kind)
                                           : struct_size_v1(kind);
  if (size < struct_size_v1(kind) || size > struct_size(kind) ||
      (version == OSQ_API_VERSION && size != want)) {
    osq_error("%s plugin: a struct of %zu bytes does not match osq API %d "
              "(%zu bytes): the extension and its headers disagree",
              what, size, version, want);
    *rc = OSQ_EVERSION;
    return NULL;
  }
  *copied = size < struct_size(kind);
  if (!*copied)
    return p;
  void *copy = calloc(1, struct_size(kind));
  if (copy == NULL) {
    osq_error("%s plugin: out of memory", what);
    *rc = OSQ_ENOMEM;
    return NULL;
  }
  memcpy(copy, p, size);
  return copy;
}

static int table_ok(const osq_table_plugin *t) {
  if (!identifier(t->name)) {
    osq_error("table plugin: the name \"%.64s\" is not a bare SQL identifier "
              "of at most %d bytes",
              t->name ? t->name : "", OSQ_EXT_MAX_NAME);
    return OSQ_EINVAL;
  }
  if (t->ncolumns == 0 || t->columns == NULL || t->generate == NULL) {
    osq_error("table %s: needs columns and a generate callback", t->name);
    return OSQ_EINVAL;
  }
  for (size_t i = 0; i < t->ncolumns; i++)
    if (!name_ok(t->columns[i].name)) {
      osq_error("table %s: column %zu has no name or a longer one than %d "
                "bytes",
                t->name, i, OSQ_EXT_MAX_NAME);
      return OSQ_EINVAL;
    }
  for (size_t i = 0; t->aliases && t->aliases[i]; i++)
    if (!identifier(t->aliases[i])) {
      osq_error("table %s: alias \"%.64s\" is not a bare SQL identifier",
                t->name, t->aliases[i]);
      return OSQ_EINVAL;
    }
  return OSQ_OK;
}

static int add(osq_extension *ext, int kind, const void *p, size_t size,
               int version) {
  osq_error_mark(); /* a message from an earlier call is not this one's */
  if (ext == NULL || p == NULL || ext->running) {
    osq_error("osq_extension_add: %s", ext == NULL ? "no extension"
                                       : p == NULL ? "no plugin"
                                                   : "the extension runs");
    return OSQ_EINVAL;
  }
  int rc = OSQ_OK;
  bool copied = false;
  const void *use = adopt(kind, p, size, version, &copied, &rc);
  if (use == NULL)
    return rc;
  const char *name = osq_plugin_name_of(kind, use);
  if (kind == OSQ_REGISTRY_TABLE)
    rc = table_ok(use);
  else if (!name_ok(name)) {
    osq_error("%s plugin: no name or a longer one than %d bytes",
              osq_registry_name(kind), OSQ_EXT_MAX_NAME);
    rc = OSQ_EINVAL;
  }
  if (rc == OSQ_OK && osq_sdk_find(ext, kind, name)) {
    osq_error("%s plugin %s: added twice", osq_registry_name(kind), name);
    rc = OSQ_EEXIST;
  }
  if (rc == OSQ_OK && ext->nplugins >= OSQ_EXT_MAX_PLUGINS) {
    osq_error("%s plugin %s: more than %d plugins", osq_registry_name(kind),
              name, OSQ_EXT_MAX_PLUGINS);
    rc = OSQ_ERANGE;
  }
  if (rc == OSQ_OK &&
      (osq_grow(&ext->plugins[kind].items, &ext->plugins[kind].cap,
                ext->plugins[kind].n + 1, sizeof *ext->plugins[kind].items, 4,
                0) != OSQ_OK ||
       (copied && osq_grow(&ext->copies.items, &ext->copies.cap,
                           ext->copies.n + 1, sizeof *ext->copies.items, 4,
                           0) != OSQ_OK))) {
    osq_error("%s plugin %s: out of memory", osq_registry_name(kind), name);
    rc = OSQ_ENOMEM;
  }
  if (rc != OSQ_OK) {
    if (copied)
      free((void *)use);
    return rc;
  }
  if (copied)
    ext->copies.items[ext->copies.n++] = (void *)use;
  ext->plugins[kind].items[ext->plugins[kind].n++] = use;
  ext->nplugins++;
  return OSQ_OK;
}

int osq_extension_add_table_v(osq_extension *ext, const osq_table_plugin *t,
                              size_t size, int api_version) {
  return add(ext, OSQ_REGISTRY_TABLE, t, size, api_version);
}

int osq_extension_add_config_v(osq_extension *ext, const osq_config_plugin *c,
                               size_t size, int api_version) {
  return add(ext, OSQ_REGISTRY_CONFIG, c, size, api_version);
}

int osq_extension_add_logger_v(osq_extension *ext, const osq_logger_plugin *l,
                               size_t size, int api_version) {
  return add(ext, OSQ_REGISTRY_LOGGER, l, size, api_version);
}

int osq_extension_add_distributed_v(osq_extension *ext,
                                    const osq_distributed_plugin *d,
                                    size_t size, int api_version) {
  return add(ext, OSQ_REGISTRY_DISTRIBUTED, d, size, api_version);
}

/* API 1's entry points, which extensions built against API 1 headers
 * call: their structs have API 1's layout. (The names are macros in the
 * current header; the parentheses define the functions themselves.) */
int(osq_extension_add_table)(osq_extension *ext, const osq_table_plugin *t) {
  return add(ext, OSQ_REGISTRY_TABLE, t, struct_size_v1(OSQ_REGISTRY_TABLE),
             1);
}

int(osq_extension_add_config)(osq_extension *ext, const osq_config_plugin *c) {
  return add(ext, OSQ_REGISTRY_CONFIG, c, struct_size_v1(OSQ_REGISTRY_CONFIG),
             1);
}

int(osq_extension_add_logger)(osq_extension *ext, const osq_logger_plugin *l) {
  return add(ext, OSQ_REGISTRY_LOGGER, l, struct_size_v1(OSQ_REGISTRY_LOGGER),
             1);
}

int(osq_extension_add_distributed)(osq_extension *ext,
                                   const osq_distributed_plugin *d) {
  return add(ext, OSQ_REGISTRY_DISTRIBUTED, d,
             struct_size_v1(OSQ_REGISTRY_DISTRIBUTED), 1);
}

/* ---- stopping ---------------------------------------------------------------- */

void osq_sdk_request_stop(osq_extension *ext, int code, bool deregister,
                          const char *fmt, ...) {
  pthread_mutex_lock(&ext->lock);
  if (!ext->stop_set) {
    ext->stop_set = true;
    ext->stop_code = code;
    ext->stop_deregister = deregister;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ext->stop_reason, sizeof ext->stop_reason, fmt, ap);
    va_end(ap);
  }
  /* A non-blocking pipe write under the lock, so end() cannot close the
   * pipe (and the number be reused) in between. */
  if (ext->wake[1] >= 0) {
    char b = 's';
    ssize_t n;
    do
      n = write(ext->wake[1], &b, 1);
    while (n < 0 && errno == EINTR);
  }
  pthread_mutex_unlock(&ext->lock);
}

void osq_extension_stop(osq_extension *ext, int code) {
  if (ext)
    osq_sdk_request_stop(ext, code, true, "stop requested by the extension");
}

/* ---- accessors --------------------------------------------------------------- */

int64_t osq_extension_uuid(const osq_extension *ext) {
  return ext ? atomic_load(&((osq_extension *)ext)->uuid) : 0;
}

const char *osq_extension_socket(const osq_extension *ext) {
  return ext ? ext->socket_path : NULL;
}

const char *osq_extension_manager_socket(const osq_extension *ext) {
  return ext ? ext->args.socket : NULL;
}

const char *osq_extension_option(const osq_extension *ext, const char *name) {
  if (ext == NULL || name == NULL)
    return NULL;
  for (size_t i = 0; i < ext->options.n; i++)
    if (strcmp(ext->options.items[i].name, name) == 0)
      return ext->options.items[i].value;
  return NULL;
}

/* ---- manager connections ----------------------------------------------------- */

osq_tconn *osq_sdk_get_conn(osq_extension *ext, int *err) {
  for (;;) {
    osq_tconn *c = NULL;
    pthread_mutex_lock(&ext->lock);
    if (ext->npool > 0)
      c = ext->pool[--ext->npool];
    pthread_mutex_unlock(&ext->lock);
    if (c == NULL)
      break;
    if (!osq_tconn_stale(c))
      return c;
    osq_tconn_close(c); /* the core closed it while idle */
  }
  return osq_tconn_connect(ext->args.socket, OSQ_SDK_CONNECT_MS, err);
}

void osq_sdk_put_conn(osq_extension *ext, osq_tconn *c, bool ok) {
  if (c == NULL)
    return;
  if (ok) {
    osq_tconn_set_deadline(c, 0);
    pthread_mutex_lock(&ext->lock);
    if (ext->npool < OSQ_SDK_POOL) {
      ext->pool[ext->npool++] = c;
      c = NULL;
    }
    pthread_mutex_unlock(&ext->lock);
  }
  if (c)
    osq_tconn_close(c);
}

/* ---- query() ------------------------------------------------------------------ */

struct query_rows {
  osq_strmap row;
  osq_query_row_fn fn;
  void *udata;
  int rc;
};

static int q_cell(void *u, const char *key, size_t klen, const char *val,
                  size_t vlen) {
  struct query_rows *q = u;
  if (q->rc != OSQ_OK)
    return OSQ_OK; /* keep decoding so the connection stays in step */
  char k[OSQ_EXT_MAX_NAME + 1];
  if (klen > OSQ_EXT_MAX_NAME) {
    char *big = strndup(key, klen);
    if (big == NULL)
      return OSQ_ENOMEM;
    int rc = osq_strmap_set(&q->row, big, val, vlen);
    free(big);
    return rc;
  }
  memcpy(k, key, klen);
  k[klen] = '\0';
  return osq_strmap_set(&q->row, k, val, vlen);
}

static int q_row_end(void *u) {
  struct query_rows *q = u;
  if (q->rc == OSQ_OK && q->fn)
    q->rc = q->fn(&q->row, q->udata);
  osq_strmap_clear(&q->row);
  return OSQ_OK;
}

/* err: the caller's buffer for the reason (never NULL). */
static int ask_core(osq_extension *ext, bool columns, const char *sql,
                    osq_query_row_fn row, void *udata, char *err,
                    size_t errlen) {
  err[0] = '\0';
  if (ext == NULL || sql == NULL || !ext->running ||
      atomic_load(&ext->uuid) == 0) {
    snprintf(err, errlen, "the extension is not running");
    return OSQ_EINVAL;
  }
  int rc = OSQ_OK;
  osq_tconn *c = osq_sdk_get_conn(ext, &rc);
  if (c == NULL) {
    snprintf(err, errlen, "cannot connect to the osquery core at %s: %s",
             ext->args.socket, osq_strerror(rc));
    return rc ? rc : OSQ_EIO;
  }
  osq_tconn_set_deadline(c, osq_now_ms() + OSQ_SDK_RPC_MS);
  struct query_rows q = {.fn = row, .udata = udata, .rc = OSQ_OK};
  osq_strmap_init(&q.row);
  osq_row_handler h = {q_cell, q_row_end, &q};
  osq_ext_status st = {0};
  rc = columns ? osq_api_get_query_columns(c, sql, &st, &h, err, errlen)
               : osq_api_query(c, sql, &st, &h, err, errlen);
  osq_strmap_clear(&q.row);
  osq_sdk_put_conn(ext, c, rc == OSQ_OK);
  if (rc == OSQ_OK && st.code != 0) {
    snprintf(err, errlen, "%s", st.message ? st.message : "query failed");
    rc = OSQ_ERROR;
  } else if (rc == OSQ_OK) {
    rc = q.rc;
  }
  osq_ext_status_clear(&st);
  return rc;
}

/* The reason goes to err (API 1) and to osq_error (osq_last_error). */
static int ask_core_said(osq_extension *ext, bool columns, const char *sql,
                         osq_query_row_fn row, void *udata, char *err,
                         size_t errlen) {
  char msg[512];
  osq_error_mark(); /* osq_last_error() is this call's reason */
  int rc = ask_core(ext, columns, sql, row, udata, msg, sizeof msg);
  if (err != NULL && errlen > 0)
    snprintf(err, errlen, "%s", rc == OSQ_OK ? "" : msg);
  if (rc != OSQ_OK)
    osq_error("%s", msg[0] ? msg : osq_strerror(rc));
  return rc;
}

int osq_extension_query(osq_extension *ext, const char *sql,
                        osq_query_row_fn row, void *udata, char *err,
                        size_t errlen) {
  return ask_core_said(ext, false, sql, row, udata, err, errlen);
}

int osq_extension_query_columns(osq_extension *ext, const char *sql,
                                osq_query_row_fn row, void *udata, char *err,
                                size_t errlen) {
  return ask_core_said(ext, true, sql, row, udata, err, errlen);
}
