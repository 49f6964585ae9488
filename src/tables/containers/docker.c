/* docker_* tables: the Docker Engine API on its UNIX socket
 * (--docker_socket), as osquery reads it. A daemon that is not there
 * gives empty tables (osquery's behaviour); a reply that is not what the
 * API documents is an error naming the endpoint. "=" constraints on id
 * (name for volumes) are pushed down as the API's filters, and an id may
 * be given as a prefix, which the row then repeats so SQLite keeps it. */
#include "core/flags.h"
#include "core/log.h"
#include "tables/builtin.h"
#include "tables/containers/api.h"
#include "tables/http.h"
#include "tables/util.h"

#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* At most this many ids are pushed down as a filter. */
#define DK_IDS_MAX 64

/* ---- the API ---------------------------------------------------------- */

/* GET path; NULL with *rc: OSQ_OK (daemon absent: no rows; or, with
 * missing_ok, no such object) or an error. */
static json_t *dk_fetch(const char *path, bool missing_ok, int *rc) {
  const char *sock = OSQ_FLAG_STR(docker_socket);
  json_t *doc = osq_api_get(sock, "docker", path, rc);
  if (doc != NULL)
    return doc;
  if (*rc == OSQ_EIO) {
    OSQ_VLOG("docker: %s", osq_last_error());
    *rc = OSQ_OK;
  } else if (*rc == OSQ_ENOTFOUND) {
    if (missing_ok) {
      *rc = OSQ_OK;
    } else {
      osq_error("docker API %s: HTTP status 404", path);
      *rc = OSQ_EPROTO;
    }
  }
  return NULL;
}

static json_t *dk_get(const char *path, int *rc) {
  return dk_fetch(path, false, rc);
}

/* For one object (a container, an image): one that is gone has no rows. */
static json_t *dk_get_object(const char *path, int *rc) {
  return dk_fetch(path, true, rc);
}

/* Like dk_fetch, and the document must be of the given JSON type. */
static json_t *dk_fetch_type(const char *path, bool missing_ok,
                             json_type type, int *rc) {
  json_t *doc = dk_fetch(path, missing_ok, rc);
  if (doc != NULL && json_typeof(doc) != type) {
    osq_error("docker API %s: expected a JSON %s", path,
              type == JSON_ARRAY ? "array" : "object");
    json_decref(doc);
    *rc = OSQ_EPROTO;
    return NULL;
  }
  return doc;
}

static json_t *dk_get_type(const char *path, json_type type, int *rc) {
  return dk_fetch_type(path, false, type, rc);
}

/* ---- constraints ------------------------------------------------------ */

/* A Docker object id or a prefix of one (osquery accepts these only). */
static bool is_hex_id(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 64)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!isxdigit((unsigned char)s[i]))
      return false;
  return true;
}

static bool is_volume_name(const char *s) {
  size_t n = strlen(s);
  return n > 0 && n <= 255;
}

typedef struct keys {
  const char *v[DK_IDS_MAX];
  size_t n;
  bool constrained;
} keys;

static void get_keys(const osq_context *ctx, size_t col,
                     bool (*ok)(const char *), keys *k) {
  k->n = osq_api_eq_values(ctx, col, ok, k->v, DK_IDS_MAX, &k->constrained);
}

/* "?[all=1&]filters={"key":{"v1":true,...}}" URL-encoded into q, or "" /
 * "?all=1" without keys. false if it does not fit. */
static bool filter_query(const keys *k, const char *key, bool all, char *q,
                         size_t cap) {
  q[0] = '\0';
  if (k->n == 0) {
    if (all)
      snprintf(q, cap, "?all=1");
    return true;
  }
  json_t *inner = json_object();
  json_t *outer = json_object();
  for (size_t i = 0; i < k->n; i++)
    json_object_set_new(inner, k->v[i], json_true());
  json_object_set_new(outer, key, inner);
  char *js = json_dumps(outer, JSON_COMPACT);
  json_decref(outer);
  if (js == NULL)
    return false;
  int n = snprintf(q, cap, "?%sfilters=", all ? "all=1&" : "");
  bool ok = n > 0 && (size_t)n < cap &&
            osq_http_escape(js, q + n, cap - (size_t)n);
  free(js);
  return ok;
}

/* The id for a row: the API's value without "sha256:", or the query's
 * prefix of it, so that SQLite's own check of "id = prefix" passes. */
static const char *row_key(const char *value, const keys *k) {
  if (strncmp(value, "sha256:", 7) == 0)
    value += 7;
  for (size_t i = 0; i < k->n; i++)
    if (strncasecmp(value, k->v[i], strlen(k->v[i])) == 0)
      return k->v[i];
  return value;
}

static const char *strip_sha(const char *s) {
  return strncmp(s, "sha256:", 7) == 0 ? s + 7 : s;
}

/* The list at path filtered by the "=" values of column col (key names
 * the filter); NULL with *rc OSQ_OK when nothing can match or docker is
 * absent. */
static json_t *list_filtered(const osq_context *ctx, size_t col,
                             bool (*ok)(const char *), const char *key,
                             const char *path, bool all, keys *k, int *rc) {
  get_keys(ctx, col, ok, k);
  *rc = OSQ_OK;
  if (k->constrained && k->n == 0)
    return NULL;
  char q[8192], url[8400];
  if (!filter_query(k, key, all, q, sizeof q)) {
    /* Too long to push down: list everything, SQLite filters. */
    k->n = 0;
    snprintf(q, sizeof q, "%s", all ? "?all=1" : "");
  }
  snprintf(url, sizeof url, "%s%s", path, q);
  return dk_get(url, rc);
}

/* list_filtered by id, and the reply must be a JSON array. */
static json_t *id_list(const osq_context *ctx, const char *path, bool all,
                       keys *k, int *rc) {
  json_t *doc = list_filtered(ctx, 0, is_hex_id, "id", path, all, k, rc);
  if (doc != NULL && !json_is_array(doc)) {
    osq_error("docker API %s: expected a JSON array", path);
    json_decref(doc);
    *rc = OSQ_EPROTO;
    return NULL;
  }
  return doc;
}

static json_t *containers(const osq_context *ctx, keys *k, int *rc) {
  return id_list(ctx, "/containers/json", true, k, rc);
}

/* ---- docker_containers ------------------------------------------------ */

static const osq_column containers_columns[] = {
    {"id", OSQ_TYPE_TEXT, OSQ_COL_INDEX | OSQ_COL_COLLATE_NOCASE},
    {"name", OSQ_TYPE_TEXT, OSQ_COL_INDEX},
    {"image", OSQ_TYPE_TEXT, 0},
    {"image_id", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"command", OSQ_TYPE_TEXT, 0},
    {"created", OSQ_TYPE_BIGINT, 0},
    {"state", OSQ_TYPE_TEXT, 0},
    {"status", OSQ_TYPE_TEXT, 0},
    {"pid", OSQ_TYPE_BIGINT, 0},
    {"path", OSQ_TYPE_TEXT, 0},
    {"config_entrypoint", OSQ_TYPE_TEXT, 0},
    {"started_at", OSQ_TYPE_TEXT, 0},
    {"finished_at", OSQ_TYPE_TEXT, 0},
    {"privileged", OSQ_TYPE_INTEGER, 0},
    {"security_options", OSQ_TYPE_TEXT, 0},
    {"env_variables", OSQ_TYPE_TEXT, 0},
    {"readonly_rootfs", OSQ_TYPE_INTEGER, 0},
    {"cgroup_namespace", OSQ_TYPE_TEXT, 0},
    {"ipc_namespace", OSQ_TYPE_TEXT, 0},
    {"mnt_namespace", OSQ_TYPE_TEXT, 0},
    {"net_namespace", OSQ_TYPE_TEXT, 0},
    {"pid_namespace", OSQ_TYPE_TEXT, 0},
    {"user_namespace", OSQ_TYPE_TEXT, 0},
    {"uts_namespace", OSQ_TYPE_TEXT, 0},
};
enum { C_DETAIL_FIRST = 8, C_NS_FIRST = 17 };

static const char *const ns_names[] = {"cgroup", "ipc", "mnt", "net",
                                       "pid",    "user", "uts"};

/* GET /containers/{id}/json; NULL when the container is gone or on error
 * (*rc says which). */
static json_t *inspect(const char *id, int *rc) {
  char path[160];
  snprintf(path, sizeof path, "/containers/%s/json", id);
  return dk_fetch_type(path, true, JSON_OBJECT, rc);
}

static int emit_joined(osq_rows *out, size_t col, const json_t *arr,
                       const char *sep) {
  char *s = osq_jjoin(arr, sep);
  if (s == NULL)
    return OSQ_ENOMEM;
  int rc = osq_rows_cstr(out, col, s);
  free(s);
  return rc;
}

static void emit_namespaces(osq_rows *out, int64_t pid) {
  for (size_t i = 0; i < OSQ_NCOLS(ns_names); i++) {
    char path[64], link[128];
    snprintf(path, sizeof path, "/proc/%" PRId64 "/ns/%s", pid, ns_names[i]);
    if (osq_tbl_readlinkat(AT_FDCWD, path, link, sizeof link) <= 0)
      continue;
    /* "net:[4026531840]" -> "4026531840" */
    char *lb = strchr(link, '['), *rb = strrchr(link, ']');
    if (lb == NULL || rb == NULL || rb < lb)
      continue;
    *rb = '\0';
    osq_rows_cstr(out, C_NS_FIRST + i, lb + 1);
  }
}

static bool details_used(const osq_context *ctx) {
  for (size_t c = C_DETAIL_FIRST; c < OSQ_NCOLS(containers_columns); c++)
    if (osq_tbl_used(ctx, c))
      return true;
  return false;
}

static const osq_jfield container_fields[] = {
    {2, "Image", OSQ_JSTR}, {4, "Command", OSQ_JSTR}, {5, "Created", OSQ_JINT},
    {6, "State", OSQ_JSTR}, {7, "Status", OSQ_JSTR},
};
static const osq_jfield inspect_fields[] = {
    {9, "Path", OSQ_JSTR}, {11, "State.StartedAt", OSQ_JPATH},
    {12, "State.FinishedAt", OSQ_JPATH},
    {13, "HostConfig.Privileged", OSQ_JINT},
    {16, "HostConfig.ReadonlyRootfs", OSQ_JINT},
};

static int containers_generate(const osq_context *ctx, osq_rows *out,
                               void *udata) {
  (void)udata;
  keys k;
  int rc;
  json_t *list = containers(ctx, &k, &rc);
  if (list == NULL)
    return rc;
  bool details = details_used(ctx);
  size_t i;
  json_t *c;
  json_array_foreach(list, i, c) {
    if (!json_is_object(c))
      continue;
    const char *id = osq_js(c, "Id");
    osq_rows_cstr(out, 0, row_key(id, &k));
    json_t *names = json_object_get(c, "Names");
    if (json_is_string(json_array_get(names, 0)))
      osq_rows_cstr(out, 1, json_string_value(json_array_get(names, 0)));
    osq_rows_cstr(out, 3, strip_sha(osq_js(c, "ImageID")));
    osq_jfields(out, c, container_fields, OSQ_NCOLS(container_fields));
    if (details && is_hex_id(id)) {
      json_t *d = inspect(id, &rc);
      if (d == NULL && rc != OSQ_OK)
        break;
      if (d != NULL) {
        int64_t pid = json_is_integer(osq_jpath(d, "State.Pid"))
                          ? osq_jint(d, "State.Pid")
                          : -1;
        osq_rows_int(out, 8, pid);
        osq_jfields(out, d, inspect_fields, OSQ_NCOLS(inspect_fields));
        rc = emit_joined(out, 10, osq_jpath(d, "Config.Entrypoint"), ", ");
        if (rc == OSQ_OK)
          rc = emit_joined(out, 14, osq_jpath(d, "HostConfig.SecurityOpt"),
                           ", ");
        if (rc == OSQ_OK)
          rc = emit_joined(out, 15, osq_jpath(d, "Config.Env"), ", ");
        if (pid > 0)
          emit_namespaces(out, pid);
        json_decref(d);
        if (rc != OSQ_OK)
          break;
      }
    }
    if ((rc = osq_rows_end(out)) != OSQ_OK)
      break;
  }
  json_decref(list);
  return rc;
}

const osq_table_plugin osq_table_docker_containers = {
    .name = "docker_containers",
    .columns = containers_columns,
    .ncolumns = OSQ_NCOLS(containers_columns),
    .generate = containers_generate,
};

/* ---- labels: containers, images, networks, volumes -------------------- */

static const osq_column id_labels_columns[] = {
    {"id", OSQ_TYPE_TEXT, OSQ_COL_INDEX | OSQ_COL_COLLATE_NOCASE},
    {"key", OSQ_TYPE_TEXT, 0},
    {"value", OSQ_TYPE_TEXT, 0},
};
static const osq_column container_labels_columns[] = {
    {"id", OSQ_TYPE_TEXT, OSQ_COL_INDEX | OSQ_COL_COLLATE_NOCASE},
    {"key", OSQ_TYPE_TEXT, OSQ_COL_INDEX},
    {"value", OSQ_TYPE_TEXT, 0},
};
static const osq_column volume_labels_columns[] = {
    {"name", OSQ_TYPE_TEXT, OSQ_COL_INDEX},
    {"key", OSQ_TYPE_TEXT, OSQ_COL_INDEX},
    {"value", OSQ_TYPE_TEXT, 0},
};

/* One row per label of each object in arr. Volume names are exact (the
 * API's name filter matches parts of names, so a query's value must not
 * stand in for the name); ids may be prefixes. */
static int emit_labels(const json_t *arr, const char *pk, const keys *k,
                       osq_rows *out) {
  static const keys none = {.n = 0};
  if (strcmp(pk, "Name") == 0)
    k = &none;
  size_t i;
  json_t *o;
  int rc = OSQ_OK;
  json_array_foreach(arr, i, o) {
    const char *key = row_key(osq_js(o, pk), k);
    const char *lk;
    json_t *lv;
    json_object_foreach(json_object_get(o, "Labels"), lk, lv) {
      osq_rows_cstr(out, 0, key);
      osq_rows_cstr(out, 1, lk);
      osq_rows_cstr(out, 2, json_is_string(lv) ? json_string_value(lv) : "");
      if ((rc = osq_rows_end(out)) != OSQ_OK)
        return rc;
    }
  }
  return rc;
}

static int labels_of(const osq_context *ctx, const char *path, bool filter,
                     bool all, const char *array_key, const char *pk,
                     osq_rows *out) {
  keys k = {.n = 0};
  int rc;
  json_t *doc;
  bool by_name = strcmp(pk, "Name") == 0;
  if (filter) {
    doc = list_filtered(ctx, 0, by_name ? is_volume_name : is_hex_id,
                        by_name ? "name" : "id", path, all, &k, &rc);
  } else {
    doc = dk_get(path, &rc);
  }
  if (doc == NULL)
    return rc;
  json_t *arr = array_key ? json_object_get(doc, array_key) : doc;
  if (!json_is_array(arr) && !json_is_null(arr) && arr != NULL) {
    osq_error("docker API %s: expected a JSON array", path);
    json_decref(doc);
    return OSQ_EPROTO;
  }
  rc = emit_labels(arr, pk, &k, out);
  json_decref(doc);
  return rc;
}

static int container_labels_generate(const osq_context *ctx, osq_rows *out,
                                     void *u) {
  (void)u;
  return labels_of(ctx, "/containers/json", true, true, NULL, "Id", out);
}
static int image_labels_generate(const osq_context *ctx, osq_rows *out,
                                 void *u) {
  (void)u;
  return labels_of(ctx, "/images/json", false, false, NULL, "Id", out);
}
static int network_labels_generate(const osq_context *ctx, osq_rows *out,
                                   void *u) {
  (void)u;
  return labels_of(ctx, "/networks", true, false, NULL, "Id", out);
}
static int volume_labels_generate(const osq_context *ctx, osq_rows *out,
                                  void *u) {
  (void)u;
  return labels_of(ctx, "/volumes", true, false, "Volumes", "Name", out);
}

const osq_table_plugin osq_table_docker_container_labels = {
    .name = "docker_container_labels",
    .columns = container_labels_columns,
    .ncolumns = OSQ_NCOLS(container_labels_columns),
    .generate = container_labels_generate,
};
const osq_table_plugin osq_table_docker_image_labels = {
    .name = "docker_image_labels",
    .columns = id_labels_columns,
    .ncolumns = OSQ_NCOLS(id_labels_columns),
    .generate = image_labels_generate,
};
const osq_table_plugin osq_table_docker_network_labels = {
    .name = "docker_network_labels",
    .columns = id_labels_columns,
    .ncolumns = OSQ_NCOLS(id_labels_columns),
    .generate = network_labels_generate,
};
const osq_table_plugin osq_table_docker_volume_labels = {
    .name = "docker_volume_labels",
    .columns = volume_labels_columns,
    .ncolumns = OSQ_NCOLS(volume_labels_columns),
    .generate = volume_labels_generate,
};

/* ---- per-container lists: mounts, networks, ports --------------------- */

static const osq_column mounts_columns[] = {
    {"id", OSQ_TYPE_TEXT, OSQ_COL_INDEX | OSQ_COL_COLLATE_NOCASE},
    {"type", OSQ_TYPE_TEXT, 0},
    {"name", OSQ_TYPE_TEXT, OSQ_COL_INDEX},
    {"source", OSQ_TYPE_TEXT, 0},
    {"destination", OSQ_TYPE_TEXT, 0},
    {"driver", OSQ_TYPE_TEXT, 0},
    {"mode", OSQ_TYPE_TEXT, 0},
    {"rw", OSQ_TYPE_INTEGER, 0},
    {"propagation", OSQ_TYPE_TEXT, 0},
};

static const osq_jfield mount_fields[] = {
    {1, "Type", OSQ_JSTR}, {2, "Name", OSQ_JSTR}, {3, "Source", OSQ_JSTR},
    {4, "Destination", OSQ_JSTR}, {5, "Driver", OSQ_JSTR},
    {6, "Mode", OSQ_JSTR}, {7, "RW", OSQ_JINT}, {8, "Propagation", OSQ_JSTR},
};

static const osq_column cnet_columns[] = {
    {"id", OSQ_TYPE_TEXT, OSQ_COL_INDEX | OSQ_COL_COLLATE_NOCASE},
    {"name", OSQ_TYPE_TEXT, OSQ_COL_INDEX},
    {"network_id", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"endpoint_id", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"gateway", OSQ_TYPE_TEXT, 0},
    {"ip_address", OSQ_TYPE_TEXT, 0},
    {"ip_prefix_len", OSQ_TYPE_INTEGER, 0},
    {"ipv6_gateway", OSQ_TYPE_TEXT, 0},
    {"ipv6_address", OSQ_TYPE_TEXT, 0},
    {"ipv6_prefix_len", OSQ_TYPE_INTEGER, 0},
    {"mac_address", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
};
static const osq_jfield cnet_fields[] = {
    {2, "NetworkID", OSQ_JSTR}, {3, "EndpointID", OSQ_JSTR},
    {4, "Gateway", OSQ_JSTR}, {5, "IPAddress", OSQ_JSTR},
    {6, "IPPrefixLen", OSQ_JINT}, {7, "IPv6Gateway", OSQ_JSTR},
    {8, "GlobalIPv6Address", OSQ_JSTR}, {9, "GlobalIPv6PrefixLen", OSQ_JINT},
    {10, "MacAddress", OSQ_JSTR},
};

static const osq_column ports_columns[] = {
    {"id", OSQ_TYPE_TEXT, OSQ_COL_ADDITIONAL | OSQ_COL_COLLATE_NOCASE},
    {"type", OSQ_TYPE_TEXT, 0},
    {"port", OSQ_TYPE_INTEGER, 0},
    {"host_ip", OSQ_TYPE_TEXT, 0},
    {"host_port", OSQ_TYPE_INTEGER, 0},
};
static const osq_jfield port_fields[] = {
    {1, "Type", OSQ_JSTR}, {2, "PrivatePort", OSQ_JINT}, {3, "IP", OSQ_JSTR},
    {4, "PublicPort", OSQ_JINT},
};

enum sub_kind { SUB_MOUNTS, SUB_NETWORKS, SUB_PORTS };

static int per_container(const osq_context *ctx, osq_rows *out,
                         enum sub_kind kind) {
  keys k;
  int rc;
  json_t *list = containers(ctx, &k, &rc);
  if (list == NULL)
    return rc;
  size_t i;
  json_t *c;
  rc = OSQ_OK;
  json_array_foreach(list, i, c) {
    const char *id = row_key(osq_js(c, "Id"), &k);
    if (kind == SUB_NETWORKS) {
      const char *name;
      json_t *n;
      json_object_foreach(osq_jpath(c, "NetworkSettings.Networks"), name, n) {
        osq_rows_cstr(out, 0, id);
        osq_rows_cstr(out, 1, name);
        osq_jfields(out, n, cnet_fields, OSQ_NCOLS(cnet_fields));
        if ((rc = osq_rows_end(out)) != OSQ_OK)
          goto done;
      }
      continue;
    }
    bool mounts = kind == SUB_MOUNTS;
    json_t *arr = json_object_get(c, mounts ? "Mounts" : "Ports");
    size_t j;
    json_t *e;
    json_array_foreach(arr, j, e) {
      osq_rows_cstr(out, 0, id);
      if (mounts)
        osq_jfields(out, e, mount_fields, OSQ_NCOLS(mount_fields));
      else
        osq_jfields(out, e, port_fields, OSQ_NCOLS(port_fields));
      if ((rc = osq_rows_end(out)) != OSQ_OK)
        goto done;
    }
  }
done:
  json_decref(list);
  return rc;
}

static int mounts_generate(const osq_context *ctx, osq_rows *out, void *u) {
  (void)u;
  return per_container(ctx, out, SUB_MOUNTS);
}
static int cnet_generate(const osq_context *ctx, osq_rows *out, void *u) {
  (void)u;
  return per_container(ctx, out, SUB_NETWORKS);
}
static int ports_generate(const osq_context *ctx, osq_rows *out, void *u) {
  (void)u;
  return per_container(ctx, out, SUB_PORTS);
}

const osq_table_plugin osq_table_docker_container_mounts = {
    .name = "docker_container_mounts",
    .columns = mounts_columns,
    .ncolumns = OSQ_NCOLS(mounts_columns),
    .generate = mounts_generate,
};
const osq_table_plugin osq_table_docker_container_networks = {
    .name = "docker_container_networks",
    .columns = cnet_columns,
    .ncolumns = OSQ_NCOLS(cnet_columns),
    .generate = cnet_generate,
};
const osq_table_plugin osq_table_docker_container_ports = {
    .name = "docker_container_ports",
    .columns = ports_columns,
    .ncolumns = OSQ_NCOLS(ports_columns),
    .generate = ports_generate,
};

/* ---- docker_container_envs -------------------------------------------- */

static const osq_column envs_columns[] = {
    {"id", OSQ_TYPE_TEXT, OSQ_COL_INDEX | OSQ_COL_COLLATE_NOCASE},
    {"key", OSQ_TYPE_TEXT, 0},
    {"value", OSQ_TYPE_TEXT, 0},
};

static int envs_generate(const osq_context *ctx, osq_rows *out, void *u) {
  (void)u;
  keys k;
  int rc;
  json_t *list = containers(ctx, &k, &rc);
  if (list == NULL)
    return rc;
  size_t i;
  json_t *c;
  json_array_foreach(list, i, c) {
    const char *full = osq_js(c, "Id");
    if (!is_hex_id(full))
      continue;
    json_t *d = inspect(full, &rc);
    if (d == NULL) {
      if (rc != OSQ_OK)
        break;
      continue;
    }
    const char *id = row_key(full, &k);
    size_t j;
    json_t *e;
    json_array_foreach(osq_jpath(d, "Config.Env"), j, e) {
      const char *s = json_string_value(e);
      if (s == NULL)
        continue;
      const char *eq = strchr(s, '=');
      osq_rows_cstr(out, 0, id);
      osq_rows_text(out, 1, s, eq ? (size_t)(eq - s) : strlen(s));
      osq_rows_cstr(out, 2, eq ? eq + 1 : "");
      if ((rc = osq_rows_end(out)) != OSQ_OK)
        break;
    }
    json_decref(d);
    if (rc != OSQ_OK)
      break;
  }
  json_decref(list);
  return rc;
}

const osq_table_plugin osq_table_docker_container_envs = {
    .name = "docker_container_envs",
    .columns = envs_columns,
    .ncolumns = OSQ_NCOLS(envs_columns),
    .generate = envs_generate,
};

/* ---- tables that need an id: processes, stats, fs_changes ------------- */

/* For each valid "=" id of column 0, GET fmt (with the id) and call fn.
 * A JSON null reply has no rows when null_ok (a container without fs
 * changes answers null, not []). */
typedef int (*per_id_fn)(const char *id, json_t *doc, osq_rows *out);

static int for_each_id(const osq_context *ctx, const char *fmt,
                       json_type type, bool null_ok, per_id_fn fn,
                       osq_rows *out) {
  keys k;
  get_keys(ctx, 0, is_hex_id, &k);
  int rc = OSQ_OK;
  for (size_t i = 0; i < k.n && rc == OSQ_OK; i++) {
    char path[512];
    snprintf(path, sizeof path, fmt, k.v[i]);
    /* A container that does not exist has no rows. */
    json_t *doc = dk_get_object(path, &rc);
    if (doc == NULL)
      continue;
    if (json_typeof(doc) == type) {
      rc = fn(k.v[i], doc, out);
    } else if (!(null_ok && json_is_null(doc))) {
      osq_error("docker API %s: expected a JSON %s", path,
                type == JSON_ARRAY ? "array" : "object");
      rc = OSQ_EPROTO;
    }
    json_decref(doc);
  }
  return rc;
}

static const osq_column procs_columns[] = {
    {"id", OSQ_TYPE_TEXT,
     OSQ_COL_INDEX | OSQ_COL_REQUIRED | OSQ_COL_COLLATE_NOCASE},
    {"pid", OSQ_TYPE_BIGINT, OSQ_COL_INDEX},
    {"name", OSQ_TYPE_TEXT, 0},
    {"cmdline", OSQ_TYPE_TEXT, 0},
    {"state", OSQ_TYPE_TEXT, 0},
    {"uid", OSQ_TYPE_BIGINT, 0},
    {"gid", OSQ_TYPE_BIGINT, 0},
    {"euid", OSQ_TYPE_BIGINT, 0},
    {"egid", OSQ_TYPE_BIGINT, 0},
    {"suid", OSQ_TYPE_BIGINT, 0},
    {"sgid", OSQ_TYPE_BIGINT, 0},
    {"wired_size", OSQ_TYPE_BIGINT, 0},
    {"resident_size", OSQ_TYPE_BIGINT, 0},
    {"total_size", OSQ_TYPE_BIGINT, 0},
    {"start_time", OSQ_TYPE_BIGINT, 0},
    {"parent", OSQ_TYPE_BIGINT, 0},
    {"pgroup", OSQ_TYPE_BIGINT, 0},
    {"threads", OSQ_TYPE_INTEGER, 0},
    {"nice", OSQ_TYPE_INTEGER, 0},
    {"user", OSQ_TYPE_TEXT, 0},
    {"time", OSQ_TYPE_TEXT, 0},
    {"cpu", OSQ_TYPE_DOUBLE, 0},
    {"mem", OSQ_TYPE_DOUBLE, 0},
};

/* The ps fields asked of /top, in this order (21). */
#define PS_FIELDS                                                             \
  "pid,state,uid,gid,euid,egid,suid,sgid,rss,vsz,etime,ppid,pgrp,nlwp,nice,"  \
  "user,time,pcpu,pmem,comm,cmd"
enum { PS_NFIELDS = 21 };

static void int_cell(osq_rows *out, size_t col, const char *s, int64_t mul) {
  int64_t v, r;
  if (osq_tbl_parse_i64(s, &v) && !__builtin_mul_overflow(v, mul, &r))
    osq_rows_int(out, col, r);
}

/* ps's etime "[[dd-]hh:]mm:ss" in seconds, or -1. */
static int64_t etime_seconds(const char *s) {
  int64_t days = 0, parts[3] = {0, 0, 0};
  int n = 0;
  const char *dash = strchr(s, '-');
  if (dash != NULL) {
    char *end;
    days = strtoll(s, &end, 10);
    if (end != dash)
      return -1;
    s = dash + 1;
  }
  while (*s && n < 3) {
    char *end;
    parts[n++] = strtoll(s, &end, 10);
    if (end == s || (*end != ':' && *end != '\0'))
      return -1;
    s = *end ? end + 1 : end;
  }
  /* bounds keep the sum below from overflowing on nonsense input */
  if (*s || n < 2 || days < 0 || days > 1000000)
    return -1;
  for (int i = 0; i < n; i++)
    if (parts[i] < 0 || parts[i] > 10000000)
      return -1;
  int64_t hms = n == 3 ? parts[0] * 3600 + parts[1] * 60 + parts[2]
                       : parts[0] * 60 + parts[1];
  return days * 86400 + hms;
}

static int procs_one(const char *id, json_t *doc, osq_rows *out) {
  size_t i;
  json_t *p;
  json_array_foreach(json_object_get(doc, "Processes"), i, p) {
    if (json_array_size(p) != PS_NFIELDS)
      continue;
    const char *f[PS_NFIELDS];
    bool strings = true;
    for (size_t j = 0; j < PS_NFIELDS; j++) {
      f[j] = json_string_value(json_array_get(p, j));
      strings = strings && f[j] != NULL;
    }
    if (!strings)
      continue;
    osq_rows_cstr(out, 0, id);
    int_cell(out, 1, f[0], 1);
    osq_rows_cstr(out, 4, f[1]);
    for (size_t j = 0; j < 6; j++)
      int_cell(out, 5 + j, f[2 + j], 1); /* uid .. sgid */
    osq_rows_int(out, 11, 0); /* no unpageable counter in ps */
    int_cell(out, 12, f[8], 1000); /* KiB, scaled as osquery does */
    int_cell(out, 13, f[9], 1000);
    int64_t up = etime_seconds(f[10]);
    if (up >= 0)
      osq_rows_int(out, 14, (int64_t)time(NULL) - up);
    int_cell(out, 15, f[11], 1);
    int_cell(out, 16, f[12], 1);
    int_cell(out, 17, f[13], 1);
    int_cell(out, 18, f[14], 1);
    osq_rows_cstr(out, 19, f[15]);
    osq_rows_cstr(out, 20, f[16]);
    osq_rows_double(out, 21, strtod(f[17], NULL));
    osq_rows_double(out, 22, strtod(f[18], NULL));
    osq_rows_cstr(out, 2, f[19]);
    osq_rows_cstr(out, 3, f[20]);
    int rc = osq_rows_end(out);
    if (rc != OSQ_OK)
      return rc;
  }
  return OSQ_OK;
}

static int procs_generate(const osq_context *ctx, osq_rows *out, void *u) {
  (void)u;
  return for_each_id(ctx, "/containers/%s/top?ps_args=axwwo%%20" PS_FIELDS,
                     JSON_OBJECT, false, procs_one, out);
}

const osq_table_plugin osq_table_docker_container_processes = {
    .name = "docker_container_processes",
    .columns = procs_columns,
    .ncolumns = OSQ_NCOLS(procs_columns),
    .generate = procs_generate,
};

static const osq_column stats_columns[] = {
    {"id", OSQ_TYPE_TEXT,
     OSQ_COL_INDEX | OSQ_COL_REQUIRED | OSQ_COL_COLLATE_NOCASE},
    {"name", OSQ_TYPE_TEXT, OSQ_COL_INDEX},
    {"pids", OSQ_TYPE_INTEGER, 0},
    {"read", OSQ_TYPE_BIGINT, 0},
    {"preread", OSQ_TYPE_BIGINT, 0},
    {"interval", OSQ_TYPE_BIGINT, 0},
    {"disk_read", OSQ_TYPE_BIGINT, 0},
    {"disk_write", OSQ_TYPE_BIGINT, 0},
    {"num_procs", OSQ_TYPE_INTEGER, 0},
    {"cpu_total_usage", OSQ_TYPE_BIGINT, 0},
    {"cpu_kernelmode_usage", OSQ_TYPE_BIGINT, 0},
    {"cpu_usermode_usage", OSQ_TYPE_BIGINT, 0},
    {"system_cpu_usage", OSQ_TYPE_BIGINT, 0},
    {"online_cpus", OSQ_TYPE_INTEGER, 0},
    {"pre_cpu_total_usage", OSQ_TYPE_BIGINT, 0},
    {"pre_cpu_kernelmode_usage", OSQ_TYPE_BIGINT, 0},
    {"pre_cpu_usermode_usage", OSQ_TYPE_BIGINT, 0},
    {"pre_system_cpu_usage", OSQ_TYPE_BIGINT, 0},
    {"pre_online_cpus", OSQ_TYPE_INTEGER, 0},
    {"memory_usage", OSQ_TYPE_BIGINT, 0},
    {"memory_cached", OSQ_TYPE_BIGINT, 0},
    {"memory_inactive_file", OSQ_TYPE_BIGINT, 0},
    {"memory_total_inactive_file", OSQ_TYPE_BIGINT, 0},
    {"memory_max_usage", OSQ_TYPE_BIGINT, 0},
    {"memory_limit", OSQ_TYPE_BIGINT, 0},
    {"network_rx_bytes", OSQ_TYPE_BIGINT, 0},
    {"network_tx_bytes", OSQ_TYPE_BIGINT, 0},
};

/* Column 9 onwards: integers at these paths. */
static const char *const stats_paths[] = {
    "cpu_stats.cpu_usage.total_usage",
    "cpu_stats.cpu_usage.usage_in_kernelmode",
    "cpu_stats.cpu_usage.usage_in_usermode",
    "cpu_stats.system_cpu_usage",
    "cpu_stats.online_cpus",
    "precpu_stats.cpu_usage.total_usage",
    "precpu_stats.cpu_usage.usage_in_kernelmode",
    "precpu_stats.cpu_usage.usage_in_usermode",
    "precpu_stats.system_cpu_usage",
    "precpu_stats.online_cpus",
    "memory_stats.usage",
    "memory_stats.stats.cache",
    "memory_stats.stats.inactive_file",
    "memory_stats.stats.total_inactive_file",
    "memory_stats.max_usage",
    "memory_stats.limit",
};

/* Counters from the daemon: a sum that would overflow stays at the max. */
static int64_t add_sat(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r))
    return b > 0 ? INT64_MAX : INT64_MIN;
  return r;
}

static int64_t io_bytes(const json_t *doc, const char *op) {
  int64_t sum = 0;
  size_t i;
  json_t *e;
  json_array_foreach(osq_jpath(doc, "blkio_stats.io_service_bytes_recursive"),
                     i, e) {
    if (strcasecmp(osq_js(e, "op"), op) == 0)
      sum = add_sat(sum, osq_jint(e, "value"));
  }
  return sum;
}

static int64_t net_bytes(const json_t *doc, const char *key) {
  int64_t sum = 0;
  const char *k;
  json_t *n;
  json_object_foreach(json_object_get(doc, "networks"), k, n) {
    sum = add_sat(sum, osq_jint(n, key));
  }
  return sum;
}

static int stats_one(const char *id, json_t *doc, osq_rows *out) {
  osq_rows_cstr(out, 0, id);
  osq_rows_cstr(out, 1, osq_js(doc, "name"));
  osq_rows_int(out, 2, osq_jint(doc, "pids_stats.current"));
  int64_t rn, pn;
  int64_t r = osq_rfc3339(osq_js(doc, "read"), &rn);
  int64_t p = osq_rfc3339(osq_js(doc, "preread"), &pn);
  osq_rows_int(out, 3, r);
  osq_rows_int(out, 4, p);
  /* nanoseconds between the two samples; 0 when preread is unset (the
   * first sample) or the times make no sense */
  int64_t interval = 0;
  if (p > 0 && r >= p && r - p < 9000000000)
    interval = (r - p) * 1000000000 + (rn - pn);
  osq_rows_int(out, 5, interval);
  osq_rows_int(out, 6, io_bytes(doc, "Read"));
  osq_rows_int(out, 7, io_bytes(doc, "Write"));
  osq_rows_int(out, 8, osq_jint(doc, "num_procs"));
  for (size_t i = 0; i < OSQ_NCOLS(stats_paths); i++)
    osq_rows_int(out, 9 + i, osq_jint(doc, stats_paths[i]));
  osq_rows_int(out, 25, net_bytes(doc, "rx_bytes"));
  osq_rows_int(out, 26, net_bytes(doc, "tx_bytes"));
  return osq_rows_end(out);
}

static int stats_generate(const osq_context *ctx, osq_rows *out, void *u) {
  (void)u;
  return for_each_id(ctx, "/containers/%s/stats?stream=false", JSON_OBJECT,
                     false, stats_one, out);
}

const osq_table_plugin osq_table_docker_container_stats = {
    .name = "docker_container_stats",
    .columns = stats_columns,
    .ncolumns = OSQ_NCOLS(stats_columns),
    .generate = stats_generate,
};

static const osq_column changes_columns[] = {
    {"id", OSQ_TYPE_TEXT,
     OSQ_COL_INDEX | OSQ_COL_REQUIRED | OSQ_COL_COLLATE_NOCASE},
    {"path", OSQ_TYPE_TEXT, 0},
    {"change_type", OSQ_TYPE_TEXT, 0},
};

static int changes_one(const char *id, json_t *doc, osq_rows *out) {
  /* The API's Kind: 0 modified, 1 added, 2 deleted. */
  static const char *const kinds[] = {"C", "A", "D"};
  size_t i;
  json_t *e;
  json_array_foreach(doc, i, e) {
    int64_t kind = osq_jint(e, "Kind");
    osq_rows_cstr(out, 0, id);
    osq_rows_cstr(out, 1, osq_js(e, "Path"));
    osq_rows_cstr(out, 2, kind >= 0 && kind <= 2 ? kinds[kind] : "");
    int rc = osq_rows_end(out);
    if (rc != OSQ_OK)
      return rc;
  }
  return OSQ_OK;
}

static int changes_generate(const osq_context *ctx, osq_rows *out, void *u) {
  (void)u;
  return for_each_id(ctx, "/containers/%s/changes", JSON_ARRAY, true,
                     changes_one, out);
}

const osq_table_plugin osq_table_docker_container_fs_changes = {
    .name = "docker_container_fs_changes",
    .columns = changes_columns,
    .ncolumns = OSQ_NCOLS(changes_columns),
    .generate = changes_generate,
};

/* ---- images ----------------------------------------------------------- */

static const osq_column images_columns[] = {
    {"id", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"created", OSQ_TYPE_BIGINT, 0},
    {"size_bytes", OSQ_TYPE_BIGINT, 0},
    {"tags", OSQ_TYPE_TEXT, 0},
};

static const osq_jfield image_fields[] = {
    {1, "Created", OSQ_JINT}, {2, "Size", OSQ_JINT},
};

static int images_generate(const osq_context *ctx, osq_rows *out, void *u) {
  (void)ctx;
  (void)u;
  int rc;
  json_t *list = dk_get_type("/images/json", JSON_ARRAY, &rc);
  if (list == NULL)
    return rc;
  size_t i;
  json_t *im;
  json_array_foreach(list, i, im) {
    osq_rows_cstr(out, 0, strip_sha(osq_js(im, "Id")));
    osq_jfields(out, im, image_fields, OSQ_NCOLS(image_fields));
    if ((rc = emit_joined(out, 3, json_object_get(im, "RepoTags"), ",")) !=
            OSQ_OK ||
        (rc = osq_rows_end(out)) != OSQ_OK)
      break;
  }
  json_decref(list);
  return rc;
}

const osq_table_plugin osq_table_docker_images = {
    .name = "docker_images",
    .columns = images_columns,
    .ncolumns = OSQ_NCOLS(images_columns),
    .generate = images_generate,
};

/* The image ids to look at: the query's (as given), or every image's. */
typedef int (*per_image_fn)(const char *id, const char *api_id,
                            osq_rows *out);

static int for_each_image(const osq_context *ctx, per_image_fn fn,
                          osq_rows *out) {
  keys k;
  get_keys(ctx, 0, is_hex_id, &k);
  int rc = OSQ_OK;
  if (k.constrained) {
    for (size_t i = 0; i < k.n && rc == OSQ_OK; i++)
      rc = fn(k.v[i], k.v[i], out);
    return rc;
  }
  json_t *list = dk_get_type("/images/json", JSON_ARRAY, &rc);
  if (list == NULL)
    return rc;
  size_t i;
  json_t *im;
  json_array_foreach(list, i, im) {
    const char *id = strip_sha(osq_js(im, "Id"));
    if (!is_hex_id(id))
      continue;
    if ((rc = fn(id, id, out)) != OSQ_OK)
      break;
  }
  json_decref(list);
  return rc;
}

/* GET /images/{id}/<what>; NULL with *rc OSQ_OK when there is no such
 * image. */
static json_t *image_get(const char *id, const char *what, json_type type,
                         int *rc) {
  char path[160];
  snprintf(path, sizeof path, "/images/%s/%s", id, what);
  return dk_fetch_type(path, true, type, rc);
}

static const osq_column layers_columns[] = {
    {"id", OSQ_TYPE_TEXT, OSQ_COL_INDEX | OSQ_COL_COLLATE_NOCASE},
    {"layer_id", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"layer_order", OSQ_TYPE_INTEGER, 0},
};

static int layers_one(const char *id, const char *api_id, osq_rows *out) {
  int rc;
  json_t *doc = image_get(api_id, "json", JSON_OBJECT, &rc);
  if (doc == NULL)
    return rc;
  size_t i;
  json_t *l;
  json_array_foreach(osq_jpath(doc, "RootFS.Layers"), i, l) {
    if (!json_is_string(l))
      continue;
    osq_rows_cstr(out, 0, id);
    osq_rows_cstr(out, 1, strip_sha(json_string_value(l)));
    osq_rows_int(out, 2, (int64_t)i + 1);
    if ((rc = osq_rows_end(out)) != OSQ_OK)
      break;
  }
  json_decref(doc);
  return rc;
}

static int layers_generate(const osq_context *ctx, osq_rows *out, void *u) {
  (void)u;
  return for_each_image(ctx, layers_one, out);
}

const osq_table_plugin osq_table_docker_image_layers = {
    .name = "docker_image_layers",
    .columns = layers_columns,
    .ncolumns = OSQ_NCOLS(layers_columns),
    .generate = layers_generate,
};

static const osq_column history_columns[] = {
    {"id", OSQ_TYPE_TEXT, OSQ_COL_INDEX | OSQ_COL_COLLATE_NOCASE},
    {"created", OSQ_TYPE_BIGINT, 0},
    {"size", OSQ_TYPE_BIGINT, 0},
    {"created_by", OSQ_TYPE_TEXT, 0},
    {"tags", OSQ_TYPE_TEXT, 0},
    {"comment", OSQ_TYPE_TEXT, 0},
};

static const osq_jfield history_fields[] = {
    {1, "Created", OSQ_JINT}, {2, "Size", OSQ_JINT}, {3, "CreatedBy", OSQ_JSTR},
    {5, "Comment", OSQ_JSTR},
};

static int history_one(const char *id, const char *api_id, osq_rows *out) {
  int rc;
  json_t *doc = image_get(api_id, "history", JSON_ARRAY, &rc);
  if (doc == NULL)
    return rc;
  size_t i;
  json_t *h;
  json_array_foreach(doc, i, h) {
    osq_rows_cstr(out, 0, id);
    osq_jfields(out, h, history_fields, OSQ_NCOLS(history_fields));
    if ((rc = emit_joined(out, 4, json_object_get(h, "Tags"), ",")) != OSQ_OK)
      break;
    if ((rc = osq_rows_end(out)) != OSQ_OK)
      break;
  }
  json_decref(doc);
  return rc;
}

static int history_generate(const osq_context *ctx, osq_rows *out, void *u) {
  (void)u;
  return for_each_image(ctx, history_one, out);
}

const osq_table_plugin osq_table_docker_image_history = {
    .name = "docker_image_history",
    .columns = history_columns,
    .ncolumns = OSQ_NCOLS(history_columns),
    .generate = history_generate,
};

/* ---- docker_info, docker_version -------------------------------------- */

static const osq_column info_columns[] = {
    {"id", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"containers", OSQ_TYPE_INTEGER, 0},
    {"containers_running", OSQ_TYPE_INTEGER, 0},
    {"containers_paused", OSQ_TYPE_INTEGER, 0},
    {"containers_stopped", OSQ_TYPE_INTEGER, 0},
    {"images", OSQ_TYPE_INTEGER, 0},
    {"storage_driver", OSQ_TYPE_TEXT, 0},
    {"memory_limit", OSQ_TYPE_INTEGER, 0},
    {"swap_limit", OSQ_TYPE_INTEGER, 0},
    {"kernel_memory", OSQ_TYPE_INTEGER, 0},
    {"cpu_cfs_period", OSQ_TYPE_INTEGER, 0},
    {"cpu_cfs_quota", OSQ_TYPE_INTEGER, 0},
    {"cpu_shares", OSQ_TYPE_INTEGER, 0},
    {"cpu_set", OSQ_TYPE_INTEGER, 0},
    {"ipv4_forwarding", OSQ_TYPE_INTEGER, 0},
    {"bridge_nf_iptables", OSQ_TYPE_INTEGER, 0},
    {"bridge_nf_ip6tables", OSQ_TYPE_INTEGER, 0},
    {"oom_kill_disable", OSQ_TYPE_INTEGER, 0},
    {"logging_driver", OSQ_TYPE_TEXT, 0},
    {"cgroup_driver", OSQ_TYPE_TEXT, 0},
    {"kernel_version", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_VERSION},
    {"os", OSQ_TYPE_TEXT, 0},
    {"os_type", OSQ_TYPE_TEXT, 0},
    {"architecture", OSQ_TYPE_TEXT, 0},
    {"cpus", OSQ_TYPE_INTEGER, 0},
    {"memory", OSQ_TYPE_BIGINT, 0},
    {"http_proxy", OSQ_TYPE_TEXT, 0},
    {"https_proxy", OSQ_TYPE_TEXT, 0},
    {"no_proxy", OSQ_TYPE_TEXT, 0},
    {"name", OSQ_TYPE_TEXT, 0},
    {"server_version", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_VERSION},
    {"root_dir", OSQ_TYPE_TEXT, 0},
};

static const osq_jfield info_fields[] = {
    {0, "ID", OSQ_JSTR}, {1, "Containers", OSQ_JINT},
    {2, "ContainersRunning", OSQ_JINT}, {3, "ContainersPaused", OSQ_JINT},
    {4, "ContainersStopped", OSQ_JINT}, {5, "Images", OSQ_JINT},
    {6, "Driver", OSQ_JSTR}, {7, "MemoryLimit", OSQ_JNONZERO},
    {8, "SwapLimit", OSQ_JNONZERO}, {9, "KernelMemory", OSQ_JNONZERO},
    {10, "CpuCfsPeriod", OSQ_JNONZERO}, {11, "CpuCfsQuota", OSQ_JNONZERO},
    {12, "CPUShares", OSQ_JNONZERO}, {13, "CPUSet", OSQ_JNONZERO},
    {14, "IPv4Forwarding", OSQ_JNONZERO},
    {15, "BridgeNfIptables", OSQ_JNONZERO},
    {16, "BridgeNfIp6tables", OSQ_JNONZERO},
    {17, "OomKillDisable", OSQ_JNONZERO}, {18, "LoggingDriver", OSQ_JSTR},
    {19, "CgroupDriver", OSQ_JSTR}, {20, "KernelVersion", OSQ_JSTR},
    {21, "OperatingSystem", OSQ_JSTR}, {22, "OSType", OSQ_JSTR},
    {23, "Architecture", OSQ_JSTR}, {24, "NCPU", OSQ_JINT},
    {25, "MemTotal", OSQ_JINT}, {26, "HttpProxy", OSQ_JSTR},
    {27, "HttpsProxy", OSQ_JSTR}, {28, "NoProxy", OSQ_JSTR},
    {29, "Name", OSQ_JSTR}, {30, "ServerVersion", OSQ_JSTR},
    {31, "DockerRootDir", OSQ_JSTR},
};

/* The one row of an endpoint whose reply is a single object. */
static int object_row(const char *path, const osq_jfield *fields, size_t n,
                      osq_rows *out) {
  int rc;
  json_t *doc = dk_get_type(path, JSON_OBJECT, &rc);
  if (doc == NULL)
    return rc;
  osq_jfields(out, doc, fields, n);
  rc = osq_rows_end(out);
  json_decref(doc);
  return rc;
}

static int info_generate(const osq_context *ctx, osq_rows *out, void *u) {
  (void)ctx;
  (void)u;
  return object_row("/info", info_fields, OSQ_NCOLS(info_fields), out);
}

const osq_table_plugin osq_table_docker_info = {
    .name = "docker_info",
    .columns = info_columns,
    .ncolumns = OSQ_NCOLS(info_columns),
    .attributes = OSQ_TABLE_CACHEABLE,
    .generate = info_generate,
};

static const osq_column version_columns[] = {
    {"version", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_VERSION},
    {"api_version", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_VERSION},
    {"min_api_version", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_VERSION},
    {"git_commit", OSQ_TYPE_TEXT, 0},
    {"go_version", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_VERSION},
    {"os", OSQ_TYPE_TEXT, 0},
    {"arch", OSQ_TYPE_TEXT, 0},
    {"kernel_version", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_VERSION},
    {"build_time", OSQ_TYPE_TEXT, 0},
};
static const osq_jfield version_fields[] = {
    {0, "Version", OSQ_JSTR}, {1, "ApiVersion", OSQ_JSTR},
    {2, "MinAPIVersion", OSQ_JSTR}, {3, "GitCommit", OSQ_JSTR},
    {4, "GoVersion", OSQ_JSTR}, {5, "Os", OSQ_JSTR}, {6, "Arch", OSQ_JSTR},
    {7, "KernelVersion", OSQ_JSTR}, {8, "BuildTime", OSQ_JSTR},
};

static int version_generate(const osq_context *ctx, osq_rows *out, void *u) {
  (void)ctx;
  (void)u;
  return object_row("/version", version_fields, OSQ_NCOLS(version_fields),
                    out);
}

const osq_table_plugin osq_table_docker_version = {
    .name = "docker_version",
    .columns = version_columns,
    .ncolumns = OSQ_NCOLS(version_columns),
    .attributes = OSQ_TABLE_CACHEABLE,
    .generate = version_generate,
};

/* ---- networks, volumes ------------------------------------------------ */

static const osq_column networks_columns[] = {
    {"id", OSQ_TYPE_TEXT, OSQ_COL_INDEX | OSQ_COL_COLLATE_NOCASE},
    {"name", OSQ_TYPE_TEXT, 0},
    {"driver", OSQ_TYPE_TEXT, 0},
    {"created", OSQ_TYPE_BIGINT, 0},
    {"enable_ipv6", OSQ_TYPE_INTEGER, 0},
    {"subnet", OSQ_TYPE_TEXT, 0},
    {"gateway", OSQ_TYPE_TEXT, 0},
};

static const osq_jfield network_fields[] = {
    {1, "Name", OSQ_JSTR}, {2, "Driver", OSQ_JSTR}, {4, "EnableIPv6", OSQ_JINT},
};

static int networks_generate(const osq_context *ctx, osq_rows *out, void *u) {
  (void)u;
  keys k;
  int rc;
  json_t *list = id_list(ctx, "/networks", false, &k, &rc);
  if (list == NULL)
    return rc;
  size_t i;
  json_t *n;
  json_array_foreach(list, i, n) {
    osq_rows_cstr(out, 0, row_key(osq_js(n, "Id"), &k));
    osq_jfields(out, n, network_fields, OSQ_NCOLS(network_fields));
    osq_rows_int(out, 3, osq_rfc3339(osq_js(n, "Created"), NULL));
    json_t *cfg = json_array_get(osq_jpath(n, "IPAM.Config"), 0);
    osq_rows_cstr(out, 5, osq_js(cfg, "Subnet"));
    osq_rows_cstr(out, 6, osq_js(cfg, "Gateway"));
    if ((rc = osq_rows_end(out)) != OSQ_OK)
      break;
  }
  json_decref(list);
  return rc;
}

const osq_table_plugin osq_table_docker_networks = {
    .name = "docker_networks",
    .columns = networks_columns,
    .ncolumns = OSQ_NCOLS(networks_columns),
    .generate = networks_generate,
};

static const osq_column volumes_columns[] = {
    {"name", OSQ_TYPE_TEXT, OSQ_COL_INDEX},
    {"driver", OSQ_TYPE_TEXT, 0},
    {"mount_point", OSQ_TYPE_TEXT, 0},
    {"type", OSQ_TYPE_TEXT, 0},
};

/* Volume names are exact, not prefixes: the name is the API's. */
static const osq_jfield volume_fields[] = {
    {0, "Name", OSQ_JSTR}, {1, "Driver", OSQ_JSTR}, {2, "Mountpoint", OSQ_JSTR},
    {3, "Options.type", OSQ_JPATH},
};

static int volumes_generate(const osq_context *ctx, osq_rows *out, void *u) {
  (void)u;
  keys k;
  int rc;
  json_t *doc = list_filtered(ctx, 0, is_volume_name, "name", "/volumes",
                              false, &k, &rc);
  if (doc == NULL)
    return rc;
  json_t *arr = json_object_get(doc, "Volumes");
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v) {
    osq_jfields(out, v, volume_fields, OSQ_NCOLS(volume_fields));
    if ((rc = osq_rows_end(out)) != OSQ_OK)
      break;
  }
  json_decref(doc);
  return rc;
}

const osq_table_plugin osq_table_docker_volumes = {
    .name = "docker_volumes",
    .columns = volumes_columns,
    .ncolumns = OSQ_NCOLS(volumes_columns),
    .generate = volumes_generate,
};
