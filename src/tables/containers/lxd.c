/* lxd_* tables: the LXD REST API on its UNIX socket (--lxd_socket), as
 * osquery reads it. Every reply is LXD's envelope
 * ({"type": "sync", "metadata": ...}); lists are URLs of the objects,
 * which are checked to be paths under the listed collection before they
 * are asked for. No daemon: empty tables (osquery's behaviour). */
#include "core/flags.h"
#include "core/log.h"
#include "tables/builtin.h"
#include "tables/containers/api.h"
#include "tables/http.h"
#include "tables/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* At most this many objects are read from one list. */
#define LX_LIST_MAX 4096

/* The reply to GET path; *meta is its "metadata". NULL with *rc OSQ_OK
 * when LXD is absent or (missing_ok) the object is gone. */
static json_t *lx_get(const char *path, bool missing_ok, json_t **meta,
                      int *rc) {
  json_t *doc = osq_api_get(OSQ_FLAG_STR(lxd_socket), "LXD", path, rc);
  if (doc == NULL) {
    if (*rc == OSQ_EIO) {
      OSQ_VLOG("LXD: %s", osq_last_error());
      *rc = OSQ_OK;
    } else if (*rc == OSQ_ENOTFOUND) {
      if (missing_ok) {
        *rc = OSQ_OK;
      } else {
        osq_error("LXD API %s: HTTP status 404", path);
        *rc = OSQ_EPROTO;
      }
    }
    return NULL;
  }
  *meta = json_object_get(doc, "metadata");
  if (!json_is_object(doc) || *meta == NULL) {
    osq_error("LXD API %s: reply has no \"metadata\"", path);
    json_decref(doc);
    *rc = OSQ_EPROTO;
    return NULL;
  }
  return doc;
}

/* Is url "<prefix><one path segment>" with a segment safe to send back? */
static bool listed_url_ok(const char *url, const char *prefix) {
  size_t n = strlen(prefix);
  if (strncmp(url, prefix, n) != 0)
    return false;
  const char *seg = url + n;
  size_t len = strlen(seg);
  if (len == 0 || len > 255 || strcmp(seg, "..") == 0 || strcmp(seg, ".") == 0)
    return false;
  for (const char *p = seg; *p; p++) {
    unsigned char ch = (unsigned char)*p;
    if (ch <= ' ' || ch == 0x7f || ch == '/' || ch == '?' || ch == '#')
      return false;
  }
  return true;
}

/* Call fn with the URL of each object that GET list names. */
typedef int (*lx_item_fn)(const char *url, const osq_context *ctx,
                          osq_rows *out);

static int lx_for_each(const char *list, const char *prefix, lx_item_fn fn,
                       const osq_context *ctx, osq_rows *out) {
  int rc;
  json_t *meta;
  json_t *doc = lx_get(list, false, &meta, &rc);
  if (doc == NULL)
    return rc;
  if (!json_is_array(meta)) {
    osq_error("LXD API %s: \"metadata\" is not a list", list);
    json_decref(doc);
    return OSQ_EPROTO;
  }
  size_t i;
  json_t *u;
  rc = OSQ_OK;
  json_array_foreach(meta, i, u) {
    if (i >= LX_LIST_MAX)
      break;
    const char *url = json_string_value(u);
    if (url == NULL || !listed_url_ok(url, prefix)) {
      OSQ_VLOG("LXD API %s: skipping an entry that is not under %s", list,
               prefix);
      continue;
    }
    if ((rc = fn(url, ctx, out)) != OSQ_OK)
      break;
  }
  json_decref(doc);
  return rc;
}

/* prefix + the percent-encoded name, for names from a query. */
static bool name_url(const char *prefix, const char *name, char *url,
                     size_t cap) {
  char esc[1024];
  if (!osq_http_escape(name, esc, sizeof esc))
    return false;
  return snprintf(url, cap, "%s%s", prefix, esc) < (int)cap;
}

static int emit_string_or_json(osq_rows *out, size_t col, const json_t *v) {
  if (json_is_string(v))
    return osq_rows_cstr(out, col, json_string_value(v));
  char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
  if (s == NULL)
    return OSQ_ENOMEM;
  int rc = osq_rows_cstr(out, col, s);
  free(s);
  return rc;
}

/* The columns fields name, from the "metadata" of GET url; *found is
 * false when the object is gone (or LXD absent). */
static int get_fields(const char *url, const osq_jfield *fields, size_t n,
                      osq_rows *out, bool *found) {
  int rc;
  json_t *m;
  json_t *doc = lx_get(url, true, &m, &rc);
  *found = doc != NULL;
  if (doc == NULL)
    return rc;
  osq_jfields(out, m, fields, n);
  json_decref(doc);
  return OSQ_OK;
}

/* get_fields of url/sub, asked for only when the query uses one of the
 * columns. */
static int sub_fields(const osq_context *ctx, const char *url,
                      const char *sub, const osq_jfield *fields, size_t n,
                      osq_rows *out) {
  bool used = false;
  for (size_t i = 0; i < n && !used; i++)
    used = osq_tbl_used(ctx, fields[i].col);
  if (!used)
    return OSQ_OK;
  char path[600];
  snprintf(path, sizeof path, "%s/%s", url, sub);
  bool found;
  return get_fields(path, fields, n, out, &found);
}

/* The one row of the object at url whose columns are all fields. */
static int fields_row(const char *url, const osq_jfield *fields, size_t n,
                      osq_rows *out) {
  bool found;
  int rc = get_fields(url, fields, n, out, &found);
  return rc != OSQ_OK || !found ? rc : osq_rows_end(out);
}

/* One row per key of obj except skip: the prefix values in the columns
 * before, then the key and its value. */
static int pair_rows(osq_rows *out, const char *const *prefix, size_t n,
                     const json_t *obj, const char *skip) {
  const char *k;
  json_t *v;
  int rc = OSQ_OK;
  json_object_foreach((json_t *)obj, k, v) {
    if (skip != NULL && strcmp(k, skip) == 0)
      continue;
    for (size_t i = 0; i < n; i++)
      osq_rows_cstr(out, i, prefix[i]);
    osq_rows_cstr(out, n, k);
    if ((rc = emit_string_or_json(out, n + 1, v)) != OSQ_OK ||
        (rc = osq_rows_end(out)) != OSQ_OK)
      break;
  }
  return rc;
}

/* ---- lxd_instances ---------------------------------------------------- */

static const osq_column instances_columns[] = {
    {"name", OSQ_TYPE_TEXT, OSQ_COL_INDEX},
    {"status", OSQ_TYPE_TEXT, 0},
    {"stateful", OSQ_TYPE_INTEGER, 0},
    {"ephemeral", OSQ_TYPE_INTEGER, 0},
    {"created_at", OSQ_TYPE_TEXT, 0},
    {"base_image", OSQ_TYPE_TEXT, 0},
    {"architecture", OSQ_TYPE_TEXT, 0},
    {"os", OSQ_TYPE_TEXT, 0},
    {"description", OSQ_TYPE_TEXT, 0},
    {"pid", OSQ_TYPE_INTEGER, 0},
    {"processes", OSQ_TYPE_INTEGER, 0},
};

#define CONTAINERS_PREFIX "/1.0/containers/"

static const osq_jfield instance_fields[] = {
    {0, "name", OSQ_JSTR}, {1, "status", OSQ_JSTR}, {2, "stateful", OSQ_JTRUE},
    {3, "ephemeral", OSQ_JTRUE}, {4, "created_at", OSQ_JSTR},
};
static const osq_jfield instance_image_fields[] = {
    {6, "properties.architecture", OSQ_JPATH}, {7, "properties.os", OSQ_JPATH},
    {8, "properties.description", OSQ_JPATH},
};
static const osq_jfield instance_state_fields[] = {
    {9, "pid", OSQ_JINT}, {10, "processes", OSQ_JINT},
};

static int instance_row(const char *url, const osq_context *ctx,
                        osq_rows *out) {
  int rc;
  json_t *m;
  json_t *doc = lx_get(url, true, &m, &rc);
  if (doc == NULL)
    return rc;
  osq_jfields(out, m, instance_fields, OSQ_NCOLS(instance_fields));
  osq_rows_cstr(out, 5,
                osq_js(json_object_get(m, "config"), "volatile.base_image"));
  json_decref(doc);
  if ((rc = sub_fields(ctx, url, "metadata", instance_image_fields,
                       OSQ_NCOLS(instance_image_fields), out)) != OSQ_OK ||
      (rc = sub_fields(ctx, url, "state", instance_state_fields,
                       OSQ_NCOLS(instance_state_fields), out)) != OSQ_OK)
    return rc;
  return osq_rows_end(out);
}

/* fn for each "=" name of column col, or for every listed instance. */
static int for_instances(const osq_context *ctx, size_t col, bool required,
                         lx_item_fn fn, osq_rows *out) {
  size_t n = osq_context_nconstraints(ctx, col);
  bool any = false;
  int rc = OSQ_OK;
  for (size_t i = 0; i < n && rc == OSQ_OK; i++) {
    const osq_constraint *c = osq_context_constraint(ctx, col, i);
    if (c->op != OSQ_OP_EQ)
      continue;
    any = true;
    char url[1200];
    if (*c->expr == '\0' || !name_url(CONTAINERS_PREFIX, c->expr, url,
                                      sizeof url))
      continue; /* no instance has such a name */
    rc = fn(url, ctx, out);
  }
  if (any || required)
    return rc;
  return lx_for_each("/1.0/containers", CONTAINERS_PREFIX, fn, ctx, out);
}

static int instances_generate(const osq_context *ctx, osq_rows *out,
                              void *u) {
  (void)u;
  return for_instances(ctx, 0, false, instance_row, out);
}

const osq_table_plugin osq_table_lxd_instances = {
    .name = "lxd_instances",
    .columns = instances_columns,
    .ncolumns = OSQ_NCOLS(instances_columns),
    .generate = instances_generate,
};

/* ---- lxd_instance_config, lxd_instance_devices ------------------------ */

static const osq_column config_columns[] = {
    {"name", OSQ_TYPE_TEXT, OSQ_COL_INDEX | OSQ_COL_REQUIRED},
    {"key", OSQ_TYPE_TEXT, 0},
    {"value", OSQ_TYPE_TEXT, 0},
};

static int config_rows(const char *url, const osq_context *ctx,
                       osq_rows *out) {
  (void)ctx;
  int rc;
  json_t *m;
  json_t *doc = lx_get(url, true, &m, &rc);
  if (doc == NULL)
    return rc;
  const char *name = osq_js(m, "name");
  rc = pair_rows(out, &name, 1, json_object_get(m, "config"), NULL);
  json_decref(doc);
  return rc;
}

static int config_generate(const osq_context *ctx, osq_rows *out, void *u) {
  (void)u;
  return for_instances(ctx, 0, true, config_rows, out);
}

const osq_table_plugin osq_table_lxd_instance_config = {
    .name = "lxd_instance_config",
    .columns = config_columns,
    .ncolumns = OSQ_NCOLS(config_columns),
    .generate = config_generate,
};

static const osq_column devices_columns[] = {
    {"name", OSQ_TYPE_TEXT, OSQ_COL_INDEX | OSQ_COL_REQUIRED},
    {"device", OSQ_TYPE_TEXT, 0},
    {"device_type", OSQ_TYPE_TEXT, 0},
    {"key", OSQ_TYPE_TEXT, 0},
    {"value", OSQ_TYPE_TEXT, 0},
};

static int device_rows(const char *url, const osq_context *ctx,
                       osq_rows *out) {
  (void)ctx;
  int rc;
  json_t *m;
  json_t *doc = lx_get(url, true, &m, &rc);
  if (doc == NULL)
    return rc;
  const char *dev;
  json_t *d;
  rc = OSQ_OK;
  json_object_foreach(json_object_get(m, "expanded_devices"), dev, d) {
    const char *prefix[] = {osq_js(m, "name"), dev, osq_js(d, "type")};
    if ((rc = pair_rows(out, prefix, 3, d, "type")) != OSQ_OK)
      break;
  }
  json_decref(doc);
  return rc;
}

static int devices_generate(const osq_context *ctx, osq_rows *out, void *u) {
  (void)u;
  return for_instances(ctx, 0, true, device_rows, out);
}

const osq_table_plugin osq_table_lxd_instance_devices = {
    .name = "lxd_instance_devices",
    .columns = devices_columns,
    .ncolumns = OSQ_NCOLS(devices_columns),
    .generate = devices_generate,
};

/* ---- lxd_images ------------------------------------------------------- */

static const osq_column images_columns[] = {
    {"id", OSQ_TYPE_TEXT, OSQ_COL_INDEX | OSQ_COL_COLLATE_NOCASE},
    {"architecture", OSQ_TYPE_TEXT, 0},
    {"os", OSQ_TYPE_TEXT, 0},
    {"release", OSQ_TYPE_TEXT, 0},
    {"description", OSQ_TYPE_TEXT, 0},
    {"aliases", OSQ_TYPE_TEXT, 0},
    {"filename", OSQ_TYPE_TEXT, 0},
    {"size", OSQ_TYPE_BIGINT, 0},
    {"auto_update", OSQ_TYPE_INTEGER, 0},
    {"cached", OSQ_TYPE_INTEGER, 0},
    {"public", OSQ_TYPE_INTEGER, 0},
    {"created_at", OSQ_TYPE_TEXT, 0},
    {"expires_at", OSQ_TYPE_TEXT, 0},
    {"uploaded_at", OSQ_TYPE_TEXT, 0},
    {"last_used_at", OSQ_TYPE_TEXT, 0},
    {"update_source_server", OSQ_TYPE_TEXT, 0},
    {"update_source_protocol", OSQ_TYPE_TEXT, 0},
    {"update_source_certificate", OSQ_TYPE_TEXT, 0},
    {"update_source_alias", OSQ_TYPE_TEXT, 0},
};

#define IMAGES_PREFIX "/1.0/images/"

static const osq_jfield image_fields[] = {
    {1, "architecture", OSQ_JSTR}, {2, "properties.os", OSQ_JPATH},
    {3, "properties.release", OSQ_JPATH},
    {4, "properties.description", OSQ_JPATH}, {6, "filename", OSQ_JSTR},
    {7, "size", OSQ_JINT}, {8, "auto_update", OSQ_JTRUE},
    {9, "cached", OSQ_JTRUE}, {10, "public", OSQ_JTRUE},
    {11, "created_at", OSQ_JSTR}, {12, "expires_at", OSQ_JSTR},
    {13, "uploaded_at", OSQ_JSTR}, {14, "last_used_at", OSQ_JSTR},
    {15, "update_source.server", OSQ_JPATH},
    {16, "update_source.protocol", OSQ_JPATH},
    {17, "update_source.certificate", OSQ_JPATH},
    {18, "update_source.alias", OSQ_JPATH},
};

/* The row's id: the query's (a fingerprint prefix works in LXD) or the
 * image's fingerprint. */
static int image_row_as(const char *url, const char *id, osq_rows *out) {
  int rc;
  json_t *m;
  json_t *doc = lx_get(url, true, &m, &rc);
  if (doc == NULL)
    return rc;
  osq_rows_cstr(out, 0, id ? id : osq_js(m, "fingerprint"));
  osq_jfields(out, m, image_fields, OSQ_NCOLS(image_fields));
  /* aliases: [{"name": ..., "description": ...}] -> "a,b" */
  json_t *names = json_array();
  size_t i;
  json_t *a;
  json_array_foreach(json_object_get(m, "aliases"), i, a) {
    json_array_append(names, json_object_get(a, "name"));
  }
  char *joined = osq_jjoin(names, ",");
  json_decref(names);
  if (joined == NULL) {
    json_decref(doc);
    return OSQ_ENOMEM;
  }
  osq_rows_cstr(out, 5, joined);
  free(joined);
  json_decref(doc);
  return osq_rows_end(out);
}

static int image_row(const char *url, const osq_context *ctx, osq_rows *out) {
  (void)ctx;
  return image_row_as(url, NULL, out);
}

static int images_generate(const osq_context *ctx, osq_rows *out, void *u) {
  (void)u;
  bool any = false;
  int rc = OSQ_OK;
  for (size_t i = 0; i < osq_context_nconstraints(ctx, 0) && rc == OSQ_OK;
       i++) {
    const osq_constraint *c = osq_context_constraint(ctx, 0, i);
    if (c->op != OSQ_OP_EQ)
      continue;
    any = true;
    char url[1200];
    if (*c->expr != '\0' &&
        name_url(IMAGES_PREFIX, c->expr, url, sizeof url))
      rc = image_row_as(url, c->expr, out);
  }
  if (any)
    return rc;
  return lx_for_each("/1.0/images", IMAGES_PREFIX, image_row, ctx, out);
}

const osq_table_plugin osq_table_lxd_images = {
    .name = "lxd_images",
    .columns = images_columns,
    .ncolumns = OSQ_NCOLS(images_columns),
    .generate = images_generate,
};

/* ---- lxd_certificates ------------------------------------------------- */

static const osq_column certs_columns[] = {
    {"name", OSQ_TYPE_TEXT, 0},
    {"type", OSQ_TYPE_TEXT, 0},
    {"fingerprint", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"certificate", OSQ_TYPE_TEXT, 0},
};

static const osq_jfield cert_fields[] = {
    {0, "name", OSQ_JSTR}, {1, "type", OSQ_JSTR}, {2, "fingerprint", OSQ_JSTR},
    {3, "certificate", OSQ_JSTR},
};

static int cert_row(const char *url, const osq_context *ctx, osq_rows *out) {
  (void)ctx;
  return fields_row(url, cert_fields, OSQ_NCOLS(cert_fields), out);
}

static int certs_generate(const osq_context *ctx, osq_rows *out, void *u) {
  (void)u;
  return lx_for_each("/1.0/certificates", "/1.0/certificates/", cert_row, ctx,
                     out);
}

const osq_table_plugin osq_table_lxd_certificates = {
    .name = "lxd_certificates",
    .columns = certs_columns,
    .ncolumns = OSQ_NCOLS(certs_columns),
    .generate = certs_generate,
};

/* ---- lxd_networks ----------------------------------------------------- */

static const osq_column networks_columns[] = {
    {"name", OSQ_TYPE_TEXT, 0},
    {"type", OSQ_TYPE_TEXT, 0},
    {"managed", OSQ_TYPE_INTEGER, 0},
    {"ipv4_address", OSQ_TYPE_TEXT, 0},
    {"ipv6_address", OSQ_TYPE_TEXT, 0},
    {"used_by", OSQ_TYPE_TEXT, 0},
    {"bytes_received", OSQ_TYPE_BIGINT, 0},
    {"bytes_sent", OSQ_TYPE_BIGINT, 0},
    {"packets_received", OSQ_TYPE_BIGINT, 0},
    {"packets_sent", OSQ_TYPE_BIGINT, 0},
    {"hwaddr", OSQ_TYPE_TEXT, 0},
    {"state", OSQ_TYPE_TEXT, 0},
    {"mtu", OSQ_TYPE_INTEGER, 0},
};

/* used_by URLs as instance names: "/1.0/instances/c1" -> "c1". */
static char *users_of(const json_t *arr) {
  json_t *names = json_array();
  size_t i;
  json_t *u;
  json_array_foreach(arr, i, u) {
    const char *s = json_string_value(u);
    if (s == NULL)
      continue;
    if (strncmp(s, CONTAINERS_PREFIX, strlen(CONTAINERS_PREFIX)) == 0)
      s += strlen(CONTAINERS_PREFIX);
    else if (strncmp(s, "/1.0/instances/", 15) == 0)
      s += 15;
    json_array_append_new(names, json_string(s));
  }
  char *joined = osq_jjoin(names, ",");
  json_decref(names);
  return joined;
}

static const osq_jfield network_fields[] = {
    {0, "name", OSQ_JSTR}, {1, "type", OSQ_JSTR}, {2, "managed", OSQ_JTRUE},
};
static const osq_jfield network_state_fields[] = {
    {6, "counters.bytes_received", OSQ_JINT},
    {7, "counters.bytes_sent", OSQ_JINT},
    {8, "counters.packets_received", OSQ_JINT},
    {9, "counters.packets_sent", OSQ_JINT}, {10, "hwaddr", OSQ_JSTR},
    {11, "state", OSQ_JSTR}, {12, "mtu", OSQ_JINT},
};

static int network_row(const char *url, const osq_context *ctx,
                       osq_rows *out) {
  int rc;
  json_t *m;
  json_t *doc = lx_get(url, true, &m, &rc);
  if (doc == NULL)
    return rc;
  json_t *cfg = json_object_get(m, "config");
  osq_jfields(out, m, network_fields, OSQ_NCOLS(network_fields));
  /* these config keys hold dots: not paths */
  osq_rows_cstr(out, 3, osq_js(cfg, "ipv4.address"));
  osq_rows_cstr(out, 4, osq_js(cfg, "ipv6.address"));
  char *users = users_of(json_object_get(m, "used_by"));
  json_decref(doc);
  if (users == NULL)
    return OSQ_ENOMEM;
  osq_rows_cstr(out, 5, users);
  free(users);
  rc = sub_fields(ctx, url, "state", network_state_fields,
                  OSQ_NCOLS(network_state_fields), out);
  return rc != OSQ_OK ? rc : osq_rows_end(out);
}

static int networks_generate(const osq_context *ctx, osq_rows *out,
                             void *u) {
  (void)u;
  return lx_for_each("/1.0/networks", "/1.0/networks/", network_row, ctx,
                     out);
}

const osq_table_plugin osq_table_lxd_networks = {
    .name = "lxd_networks",
    .columns = networks_columns,
    .ncolumns = OSQ_NCOLS(networks_columns),
    .generate = networks_generate,
};

/* ---- lxd_cluster, lxd_cluster_members --------------------------------- */

static const osq_column cluster_columns[] = {
    {"server_name", OSQ_TYPE_TEXT, 0},
    {"enabled", OSQ_TYPE_INTEGER, 0},
    {"member_config_entity", OSQ_TYPE_TEXT, 0},
    {"member_config_name", OSQ_TYPE_TEXT, 0},
    {"member_config_key", OSQ_TYPE_TEXT, 0},
    {"member_config_value", OSQ_TYPE_TEXT, 0},
    {"member_config_description", OSQ_TYPE_TEXT, 0},
};

/* One row per member_config entry (one row without them when there are
 * none): every entry is shown, where osquery's row kept the last. */
static int cluster_generate(const osq_context *ctx, osq_rows *out, void *u) {
  (void)ctx;
  (void)u;
  int rc;
  json_t *m;
  json_t *doc = lx_get("/1.0/cluster", false, &m, &rc);
  if (doc == NULL)
    return rc;
  json_t *cfg = json_object_get(m, "member_config");
  size_t n = json_is_array(cfg) ? json_array_size(cfg) : 0;
  rc = OSQ_OK;
  for (size_t i = 0; i < (n ? n : 1) && rc == OSQ_OK; i++) {
    osq_rows_cstr(out, 0, osq_js(m, "server_name"));
    osq_rows_int(out, 1, json_is_true(json_object_get(m, "enabled")));
    if (n) {
      json_t *e = json_array_get(cfg, i);
      static const char *const keys[] = {"entity", "name", "key", "value",
                                         "description"};
      for (size_t k = 0; k < OSQ_NCOLS(keys); k++)
        osq_rows_cstr(out, 2 + k, osq_js(e, keys[k]));
    }
    rc = osq_rows_end(out);
  }
  json_decref(doc);
  return rc;
}

const osq_table_plugin osq_table_lxd_cluster = {
    .name = "lxd_cluster",
    .columns = cluster_columns,
    .ncolumns = OSQ_NCOLS(cluster_columns),
    .generate = cluster_generate,
};

static const osq_column members_columns[] = {
    {"server_name", OSQ_TYPE_TEXT, 0},
    {"url", OSQ_TYPE_TEXT, 0},
    {"database", OSQ_TYPE_INTEGER, 0},
    {"status", OSQ_TYPE_TEXT, 0},
    {"message", OSQ_TYPE_TEXT, 0},
};

static const osq_jfield member_fields[] = {
    {0, "server_name", OSQ_JSTR}, {1, "url", OSQ_JSTR},
    {2, "database", OSQ_JTRUE}, {3, "status", OSQ_JSTR},
    {4, "message", OSQ_JSTR},
};

static int member_row(const char *url, const osq_context *ctx,
                      osq_rows *out) {
  (void)ctx;
  return fields_row(url, member_fields, OSQ_NCOLS(member_fields), out);
}

static int members_generate(const osq_context *ctx, osq_rows *out, void *u) {
  (void)u;
  return lx_for_each("/1.0/cluster/members", "/1.0/cluster/members/",
                     member_row, ctx, out);
}

const osq_table_plugin osq_table_lxd_cluster_members = {
    .name = "lxd_cluster_members",
    .columns = members_columns,
    .ncolumns = OSQ_NCOLS(members_columns),
    .generate = members_generate,
};

/* ---- lxd_storage_pools ------------------------------------------------ */

static const osq_column pools_columns[] = {
    {"name", OSQ_TYPE_TEXT, 0},
    {"driver", OSQ_TYPE_TEXT, 0},
    {"source", OSQ_TYPE_TEXT, 0},
    {"size", OSQ_TYPE_TEXT, 0},
    {"space_used", OSQ_TYPE_BIGINT, 0},
    {"space_total", OSQ_TYPE_BIGINT, 0},
    {"inodes_used", OSQ_TYPE_BIGINT, 0},
    {"inodes_total", OSQ_TYPE_BIGINT, 0},
};

static const osq_jfield pool_fields[] = {
    {0, "name", OSQ_JSTR}, {1, "driver", OSQ_JSTR},
    {2, "config.source", OSQ_JPATH}, {3, "config.size", OSQ_JPATH},
};
static const osq_jfield pool_resource_fields[] = {
    {4, "space.used", OSQ_JINT}, {5, "space.total", OSQ_JINT},
    {6, "inodes.used", OSQ_JINT}, {7, "inodes.total", OSQ_JINT},
};

static int pool_row(const char *url, const osq_context *ctx, osq_rows *out) {
  int rc;
  json_t *m;
  json_t *doc = lx_get(url, true, &m, &rc);
  if (doc == NULL)
    return rc;
  osq_jfields(out, m, pool_fields, OSQ_NCOLS(pool_fields));
  json_decref(doc);
  rc = sub_fields(ctx, url, "resources", pool_resource_fields,
                  OSQ_NCOLS(pool_resource_fields), out);
  return rc != OSQ_OK ? rc : osq_rows_end(out);
}

static int pools_generate(const osq_context *ctx, osq_rows *out, void *u) {
  (void)u;
  return lx_for_each("/1.0/storage-pools", "/1.0/storage-pools/", pool_row,
                     ctx, out);
}

const osq_table_plugin osq_table_lxd_storage_pools = {
    .name = "lxd_storage_pools",
    .columns = pools_columns,
    .ncolumns = OSQ_NCOLS(pools_columns),
    .generate = pools_generate,
};
