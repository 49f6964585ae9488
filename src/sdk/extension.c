/* The extension handle: plugins, the manager connection pool, query(). */
#include "sdk.h"

#include <errno.h>
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
 * <name>` with the name unquoted (wire §3.4d). */
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

static int add(osq_extension *ext, int kind, const void *p) {
  if (ext == NULL || p == NULL || ext->running)
    return OSQ_EINVAL;
  const char *name = osq_plugin_name_of(kind, p);
  if (!name_ok(name))
    return OSQ_EINVAL;
  if (osq_sdk_find(ext, kind, name))
    return OSQ_EEXIST;
  if (ext->nplugins >= OSQ_EXT_MAX_PLUGINS)
    return OSQ_ERANGE;
  if (ext->plugins[kind].n == ext->plugins[kind].cap) {
    size_t cap = ext->plugins[kind].cap ? ext->plugins[kind].cap * 2 : 4;
    const void **items =
        realloc(ext->plugins[kind].items, cap * sizeof *items);
    if (items == NULL)
      return OSQ_ENOMEM;
    ext->plugins[kind].items = items;
    ext->plugins[kind].cap = cap;
  }
  ext->plugins[kind].items[ext->plugins[kind].n++] = p;
  ext->nplugins++;
  return OSQ_OK;
}

int osq_extension_add_table(osq_extension *ext, const osq_table_plugin *t) {
  if (t == NULL || !identifier(t->name) || t->ncolumns == 0 ||
      t->columns == NULL || t->generate == NULL)
    return OSQ_EINVAL;
  for (size_t i = 0; i < t->ncolumns; i++)
    if (!name_ok(t->columns[i].name))
      return OSQ_EINVAL;
  for (size_t i = 0; t->aliases && t->aliases[i]; i++)
    if (!identifier(t->aliases[i]))
      return OSQ_EINVAL;
  return add(ext, OSQ_REGISTRY_TABLE, t);
}

int osq_extension_add_config(osq_extension *ext, const osq_config_plugin *c) {
  return add(ext, OSQ_REGISTRY_CONFIG, c);
}

int osq_extension_add_logger(osq_extension *ext, const osq_logger_plugin *l) {
  return add(ext, OSQ_REGISTRY_LOGGER, l);
}

int osq_extension_add_distributed(osq_extension *ext,
                                  const osq_distributed_plugin *d) {
  return add(ext, OSQ_REGISTRY_DISTRIBUTED, d);
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

static int ask_core(osq_extension *ext, bool columns, const char *sql,
                    osq_query_row_fn row, void *udata, char *err,
                    size_t errlen) {
  char dummy[8];
  if (err == NULL || errlen == 0) {
    err = dummy;
    errlen = sizeof dummy;
  }
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

int osq_extension_query(osq_extension *ext, const char *sql,
                        osq_query_row_fn row, void *udata, char *err,
                        size_t errlen) {
  return ask_core(ext, false, sql, row, udata, err, errlen);
}

int osq_extension_query_columns(osq_extension *ext, const char *sql,
                                osq_query_row_fn row, void *udata, char *err,
                                size_t errlen) {
  return ask_core(ext, true, sql, row, udata, err, errlen);
}
