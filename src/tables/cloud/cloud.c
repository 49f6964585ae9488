/* ec2_instance_metadata, ec2_instance_tags, azure_instance_metadata,
 * azure_instance_tags, ycloud_instance_metadata: the instance metadata
 * service of the cloud the machine runs on. A machine whose DMI data does
 * not name that cloud sends nothing and has no rows. */
#include "core/log.h"
#include "tables/builtin.h"
#include "tables/cloud/metadata.h"
#include "tables/containers/api.h"
#include "tables/http.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Resolve the base URL for cloud, or say why not. *go is false (and the
 * result OSQ_OK) when the machine is not on that cloud. */
static int cloud_begin(osq_cloud cloud, char *base, size_t cap, bool *go) {
  *go = false;
  if (!osq_cloud_detected(cloud))
    return OSQ_OK;
  if (!osq_cloud_base(base, cap))
    return OSQ_EINVAL;
  *go = true;
  return OSQ_OK;
}

/* A 200 reply's JSON object, or NULL with *rc (OSQ_OK for a 404). */
static json_t *reply_object(const osq_cloud_reply *r, const char *what,
                            int *rc) {
  *rc = OSQ_OK;
  if (r->status == 404)
    return NULL;
  if (r->status != 200) {
    osq_error("%s: HTTP status %ld", what, r->status);
    *rc = OSQ_EPROTO;
    return NULL;
  }
  json_error_t err;
  json_t *doc = json_loadb(r->body, r->len, 0, &err);
  if (!json_is_object(doc)) {
    osq_error("%s: reply is not a JSON object (%s)", what,
              doc ? "another JSON value" : err.text);
    json_decref(doc);
    *rc = OSQ_EPROTO;
    return NULL;
  }
  return doc;
}

/* GET base + path as a JSON object (see reply_object); what names the
 * document in messages. */
static json_t *get_object(const char *base, const char *path,
                          const char *const *headers, const char *what,
                          int *rc) {
  osq_cloud_reply r;
  if ((*rc = osq_cloud_get(base, path, headers, &r)) != OSQ_OK)
    return NULL;
  json_t *doc = reply_object(&r, what, rc);
  free(r.body);
  return doc;
}

/* ---- EC2 -------------------------------------------------------------- */

#define IMDS_TOKEN_MAX 256

typedef struct ec2 {
  char base[512];
  char token_header[64 + IMDS_TOKEN_MAX];
  const char *headers[2];
} ec2;

/* IMDSv2: a session token first; without one (IMDSv1 only), plain GETs. */
static void ec2_token(ec2 *e) {
  static const char *const ttl[] = {
      "X-aws-ec2-metadata-token-ttl-seconds: 21600", NULL};
  e->headers[0] = e->headers[1] = NULL;
  osq_cloud_reply r;
  if (osq_cloud_put(e->base, "/latest/api/token", ttl, &r) != OSQ_OK)
    return;
  bool ok = r.status == 200 && r.len > 0 && r.len <= IMDS_TOKEN_MAX;
  for (size_t i = 0; ok && i < r.len; i++)
    ok = r.body[i] > ' ' && r.body[i] < 0x7f;
  if (ok) {
    snprintf(e->token_header, sizeof e->token_header,
             "X-aws-ec2-metadata-token: %s", r.body);
    e->headers[0] = e->token_header;
  }
  free(r.body);
}

/* GET /latest/<path>: OSQ_OK with the reply (status 0 on no answer). */
static int ec2_get(ec2 *e, const char *path, osq_cloud_reply *r) {
  char p[1024];
  snprintf(p, sizeof p, "/latest/%s", path);
  return osq_cloud_get(e->base, p, e->headers, r);
}

static int ec2_begin(ec2 *e, bool *go) {
  int rc = cloud_begin(OSQ_CLOUD_EC2, e->base, sizeof e->base, go);
  if (*go)
    ec2_token(e);
  return rc;
}

/* The identity document, or NULL (*rc says whether that is an error). */
static json_t *ec2_identity(ec2 *e, int *rc) {
  return get_object(e->base, "/latest/dynamic/instance-identity/document",
                    e->headers, "EC2 instance identity document", rc);
}

static const osq_column ec2_columns[] = {
    {"instance_id", OSQ_TYPE_TEXT, 0},
    {"instance_type", OSQ_TYPE_TEXT, 0},
    {"architecture", OSQ_TYPE_TEXT, 0},
    {"region", OSQ_TYPE_TEXT, 0},
    {"availability_zone", OSQ_TYPE_TEXT, 0},
    {"local_hostname", OSQ_TYPE_TEXT, 0},
    {"local_ipv4", OSQ_TYPE_TEXT, 0},
    {"mac", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"security_groups", OSQ_TYPE_TEXT, 0},
    {"iam_arn", OSQ_TYPE_TEXT, 0},
    {"ami_id", OSQ_TYPE_TEXT, 0},
    {"reservation_id", OSQ_TYPE_TEXT, 0},
    {"account_id", OSQ_TYPE_TEXT, 0},
    {"ssh_public_key", OSQ_TYPE_TEXT, 0},
};

/* A text item: trailing newlines dropped, lines joined with ','. A 404
 * (or no answer) is "". */
static int ec2_text_cell(ec2 *e, const char *path, size_t col,
                         osq_rows *out) {
  osq_cloud_reply r;
  int rc = ec2_get(e, path, &r);
  if (rc != OSQ_OK) {
    OSQ_VLOG("EC2 metadata %s: %s", path, osq_last_error());
    osq_rows_cstr(out, col, "");
    return OSQ_OK;
  }
  if (r.status != 200) {
    if (r.status != 404)
      OSQ_VLOG("EC2 metadata %s: HTTP status %ld", path, r.status);
    r.len = 0;
  }
  while (r.len > 0 && (r.body[r.len - 1] == '\n' || r.body[r.len - 1] == '\r'))
    r.len--;
  for (size_t i = 0; i < r.len; i++)
    if (r.body[i] == '\n')
      r.body[i] = ',';
  rc = osq_rows_text(out, col, r.body ? r.body : "", r.len);
  free(r.body);
  return rc;
}

static const osq_jfield ec2_identity_fields[] = {
    {0, "instanceId", OSQ_JSTR}, {1, "instanceType", OSQ_JSTR},
    {2, "architecture", OSQ_JSTR}, {3, "region", OSQ_JSTR},
    {4, "availabilityZone", OSQ_JSTR}, {6, "privateIp", OSQ_JSTR},
    {10, "imageId", OSQ_JSTR}, {12, "accountId", OSQ_JSTR},
};

static int ec2_generate(const osq_context *ctx, osq_rows *out, void *u) {
  (void)ctx;
  (void)u;
  ec2 e;
  bool go;
  int rc = ec2_begin(&e, &go);
  if (!go)
    return rc;
  json_t *id = ec2_identity(&e, &rc);
  if (id == NULL && rc != OSQ_OK)
    return rc;
  osq_jfields(out, id, ec2_identity_fields, OSQ_NCOLS(ec2_identity_fields));
  json_decref(id);

  osq_cloud_reply r;
  osq_rows_cstr(out, 9, "");
  if (ec2_get(&e, "meta-data/iam/info", &r) == OSQ_OK) {
    json_t *iam = r.status == 200 ? json_loadb(r.body, r.len, 0, NULL) : NULL;
    if (json_is_object(iam))
      osq_rows_cstr(out, 9, osq_js(iam, "InstanceProfileArn"));
    json_decref(iam);
    free(r.body);
  }
  static const struct {
    size_t col;
    const char *path;
  } text[] = {{7, "meta-data/mac"},
              {5, "meta-data/local-hostname"},
              {13, "meta-data/public-keys/0/openssh-key"},
              {11, "meta-data/reservation-id"},
              {8, "meta-data/security-groups"}};
  for (size_t i = 0; i < OSQ_NCOLS(text) && rc == OSQ_OK; i++)
    rc = ec2_text_cell(&e, text[i].path, text[i].col, out);
  return rc == OSQ_OK ? osq_rows_end(out) : rc;
}

const osq_table_plugin osq_table_ec2_instance_metadata = {
    .name = "ec2_instance_metadata",
    .columns = ec2_columns,
    .ncolumns = OSQ_NCOLS(ec2_columns),
    .attributes = OSQ_TABLE_CACHEABLE,
    .generate = ec2_generate,
};

static const osq_column ec2_tags_columns[] = {
    {"instance_id", OSQ_TYPE_TEXT, 0},
    {"key", OSQ_TYPE_TEXT, 0},
    {"value", OSQ_TYPE_TEXT, 0},
};

/* EC2 allows 50 tags an instance. */
#define EC2_TAGS_MAX 50

/* Tags from the metadata service (instance metadata tags), where osquery
 * asks the EC2 API with AWS credentials. */
static int ec2_tags_generate(const osq_context *ctx, osq_rows *out, void *u) {
  (void)ctx;
  (void)u;
  ec2 e;
  bool go;
  int rc = ec2_begin(&e, &go);
  if (!go)
    return rc;
  json_t *id = ec2_identity(&e, &rc);
  if (id == NULL)
    return rc;
  char instance[128];
  snprintf(instance, sizeof instance, "%s", osq_js(id, "instanceId"));
  json_decref(id);

  osq_cloud_reply keys;
  if ((rc = ec2_get(&e, "meta-data/tags/instance", &keys)) != OSQ_OK)
    return rc;
  if (keys.status != 200) {
    /* 404: tags are not exposed to the metadata service. */
    if (keys.status != 404)
      OSQ_VLOG("EC2 metadata tags: HTTP status %ld", keys.status);
    free(keys.body);
    return OSQ_OK;
  }
  char *save = NULL;
  int n = 0;
  for (char *k = strtok_r(keys.body, "\r\n", &save);
       k != NULL && n < EC2_TAGS_MAX && rc == OSQ_OK;
       k = strtok_r(NULL, "\r\n", &save), n++) {
    char esc[800], path[900];
    if (!osq_http_escape(k, esc, sizeof esc))
      continue;
    snprintf(path, sizeof path, "meta-data/tags/instance/%s", esc);
    osq_cloud_reply v;
    if ((rc = ec2_get(&e, path, &v)) != OSQ_OK)
      break;
    if (v.status == 200) {
      osq_rows_cstr(out, 0, instance);
      osq_rows_cstr(out, 1, k);
      osq_rows_text(out, 2, v.body, v.len);
      rc = osq_rows_end(out);
    }
    free(v.body);
  }
  free(keys.body);
  return rc;
}

const osq_table_plugin osq_table_ec2_instance_tags = {
    .name = "ec2_instance_tags",
    .columns = ec2_tags_columns,
    .ncolumns = OSQ_NCOLS(ec2_tags_columns),
    .attributes = OSQ_TABLE_CACHEABLE,
    .generate = ec2_tags_generate,
};

/* ---- Azure ------------------------------------------------------------ */

#define AZURE_PATH "/metadata/instance/compute?api-version=2021-02-01"

/* The compute document, or NULL (*rc OSQ_OK: not on Azure, or 404). */
static json_t *azure_compute(int *rc) {
  static const char *const hdr[] = {"Metadata: true", NULL};
  char base[512];
  bool go;
  *rc = cloud_begin(OSQ_CLOUD_AZURE, base, sizeof base, &go);
  if (!go)
    return NULL;
  return get_object(base, AZURE_PATH, hdr, "Azure instance metadata", rc);
}

static const osq_column azure_columns[] = {
    {"location", OSQ_TYPE_TEXT, 0},
    {"name", OSQ_TYPE_TEXT, 0},
    {"offer", OSQ_TYPE_TEXT, 0},
    {"publisher", OSQ_TYPE_TEXT, 0},
    {"sku", OSQ_TYPE_TEXT, 0},
    {"version", OSQ_TYPE_TEXT, 0},
    {"os_type", OSQ_TYPE_TEXT, 0},
    {"platform_update_domain", OSQ_TYPE_TEXT, 0},
    {"platform_fault_domain", OSQ_TYPE_TEXT, 0},
    {"vm_id", OSQ_TYPE_TEXT, OSQ_COL_INDEX},
    {"vm_size", OSQ_TYPE_TEXT, 0},
    {"subscription_id", OSQ_TYPE_TEXT, 0},
    {"resource_group_name", OSQ_TYPE_TEXT, 0},
    {"placement_group_id", OSQ_TYPE_TEXT, 0},
    {"vm_scale_set_name", OSQ_TYPE_TEXT, 0},
    {"zone", OSQ_TYPE_TEXT, 0},
};
static const osq_jfield azure_fields[] = {
    {0, "location", OSQ_JSTR}, {1, "name", OSQ_JSTR}, {2, "offer", OSQ_JSTR},
    {3, "publisher", OSQ_JSTR}, {4, "sku", OSQ_JSTR}, {5, "version", OSQ_JSTR},
    {6, "osType", OSQ_JSTR}, {7, "platformUpdateDomain", OSQ_JSTR},
    {8, "platformFaultDomain", OSQ_JSTR}, {9, "vmId", OSQ_JSTR},
    {10, "vmSize", OSQ_JSTR}, {11, "subscriptionId", OSQ_JSTR},
    {12, "resourceGroupName", OSQ_JSTR}, {13, "placementGroupId", OSQ_JSTR},
    {14, "vmScaleSetName", OSQ_JSTR}, {15, "zone", OSQ_JSTR},
};

static int azure_generate(const osq_context *ctx, osq_rows *out, void *u) {
  (void)ctx;
  (void)u;
  int rc;
  json_t *doc = azure_compute(&rc);
  if (doc == NULL)
    return rc;
  osq_jfields(out, doc, azure_fields, OSQ_NCOLS(azure_fields));
  json_decref(doc);
  return osq_rows_end(out);
}

const osq_table_plugin osq_table_azure_instance_metadata = {
    .name = "azure_instance_metadata",
    .columns = azure_columns,
    .ncolumns = OSQ_NCOLS(azure_columns),
    .attributes = OSQ_TABLE_CACHEABLE,
    .generate = azure_generate,
};

static const osq_column azure_tags_columns[] = {
    {"vm_id", OSQ_TYPE_TEXT, 0},
    {"key", OSQ_TYPE_TEXT, 0},
    {"value", OSQ_TYPE_TEXT, 0},
};

/* "tags" is "k1:v1;k2:v2"; a value may hold ':' but not ';'. */
static int azure_tags_generate(const osq_context *ctx, osq_rows *out,
                               void *u) {
  (void)ctx;
  (void)u;
  int rc;
  json_t *doc = azure_compute(&rc);
  if (doc == NULL)
    return rc;
  const char *vm = osq_js(doc, "vmId");
  const char *p = osq_js(doc, "tags");
  rc = OSQ_OK;
  while (*p && rc == OSQ_OK) {
    const char *end = strchr(p, ';');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    const char *colon = memchr(p, ':', n);
    if (colon != NULL) {
      osq_rows_cstr(out, 0, vm);
      osq_rows_text(out, 1, p, (size_t)(colon - p));
      osq_rows_text(out, 2, colon + 1, n - (size_t)(colon - p) - 1);
      rc = osq_rows_end(out);
    }
    p += n + (end ? 1 : 0);
  }
  json_decref(doc);
  return rc;
}

const osq_table_plugin osq_table_azure_instance_tags = {
    .name = "azure_instance_tags",
    .columns = azure_tags_columns,
    .ncolumns = OSQ_NCOLS(azure_tags_columns),
    .attributes = OSQ_TABLE_CACHEABLE,
    .generate = azure_tags_generate,
};

/* ---- Yandex Cloud ----------------------------------------------------- */

static const osq_column ycloud_columns[] = {
    {"instance_id", OSQ_TYPE_TEXT, OSQ_COL_INDEX},
    {"folder_id", OSQ_TYPE_TEXT, 0},
    {"cloud_id", OSQ_TYPE_TEXT, 0},
    {"name", OSQ_TYPE_TEXT, 0},
    {"description", OSQ_TYPE_TEXT, 0},
    {"hostname", OSQ_TYPE_TEXT, 0},
    {"zone", OSQ_TYPE_TEXT, 0},
    {"ssh_public_key", OSQ_TYPE_TEXT, 0},
    {"serial_port_enabled", OSQ_TYPE_TEXT, 0},
    {"metadata_endpoint", OSQ_TYPE_TEXT, OSQ_COL_INDEX},
};
enum { Y_ENDPOINT = 9 };

#define YCLOUD_PATH "/computeMetadata/v1/instance/?alt=json&recursive=true"
#define YCLOUD_ENDPOINTS_MAX 8

/* "projects/<folder>/zones/<zone>" -> "<zone>" */
static const char *zone_of(const char *z) {
  if (strncmp(z, "projects/", 9) != 0)
    return "";
  const char *p = strchr(z + 9, '/');
  if (p == NULL || strncmp(p, "/zones/", 7) != 0)
    return "";
  p += 7;
  return strchr(p, '/') ? "" : p;
}

static const osq_jfield ycloud_fields[] = {
    {0, "id", OSQ_JSTR}, {1, "vendor.folderId", OSQ_JPATH},
    {2, "vendor.cloudId", OSQ_JPATH}, {3, "name", OSQ_JSTR},
    {4, "description", OSQ_JSTR}, {5, "hostname", OSQ_JSTR},
    {7, "attributes.ssh-keys", OSQ_JPATH},
    {8, "attributes.serial-port-enable", OSQ_JPATH},
};

static int ycloud_one(const char *endpoint, osq_rows *out) {
  static const char *const hdr[] = {"Metadata-Flavor: Google", NULL};
  int rc;
  json_t *doc = get_object(endpoint, YCLOUD_PATH, hdr,
                           "Yandex Cloud instance metadata", &rc);
  if (doc == NULL)
    return rc;
  osq_jfields(out, doc, ycloud_fields, OSQ_NCOLS(ycloud_fields));
  osq_rows_cstr(out, 6, zone_of(osq_js(doc, "zone")));
  osq_rows_cstr(out, Y_ENDPOINT, endpoint);
  json_decref(doc);
  return osq_rows_end(out);
}

/* metadata_endpoint = X asks X instead, as in osquery, but only the
 * service's own address or a loopback one: a query must not make osq
 * fetch from arbitrary hosts. */
static int ycloud_generate(const osq_context *ctx, osq_rows *out, void *u) {
  (void)u;
  char base[512];
  bool go;
  int rc = cloud_begin(OSQ_CLOUD_YCLOUD, base, sizeof base, &go);
  if (!go)
    return rc;
  const char *eps[YCLOUD_ENDPOINTS_MAX];
  size_t n = 0;
  bool any = false;
  for (size_t i = 0; i < osq_context_nconstraints(ctx, Y_ENDPOINT); i++) {
    const osq_constraint *c = osq_context_constraint(ctx, Y_ENDPOINT, i);
    if (c->op != OSQ_OP_EQ)
      continue;
    any = true;
    if (strcmp(c->expr, base) != 0 && !osq_cloud_url_is_loopback(c->expr)) {
      OSQ_WARN("ycloud_instance_metadata: ignoring metadata_endpoint '%.100s'"
               " (only %s or a loopback address)",
               c->expr, base);
      continue;
    }
    if (n < YCLOUD_ENDPOINTS_MAX)
      eps[n++] = c->expr;
  }
  if (!any)
    eps[n++] = base;
  rc = OSQ_OK;
  for (size_t i = 0; i < n && rc == OSQ_OK; i++)
    rc = ycloud_one(eps[i], out);
  return rc;
}

const osq_table_plugin osq_table_ycloud_instance_metadata = {
    .name = "ycloud_instance_metadata",
    .columns = ycloud_columns,
    .ncolumns = OSQ_NCOLS(ycloud_columns),
    .attributes = OSQ_TABLE_CACHEABLE,
    .generate = ycloud_generate,
};
