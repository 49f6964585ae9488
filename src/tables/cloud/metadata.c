/* Which cloud, by DMI, and cached requests to its metadata service. */
#include "tables/cloud/metadata.h"

#include "core/flags.h"
#include "tables/http.h"
#include "tables/util.h"

#include <osq/plugin.h>

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* The link-local address every one of these clouds serves metadata on. */
#define DEFAULT_BASE "http://169.254.169.254"
#define DEFAULT_DMI_DIR "/sys/class/dmi/id"
/* A metadata service answers at once or not at all (osquery: 3 s). */
#define CLOUD_TIMEOUT_MS 5000
#define CACHE_SLOTS 64

/* ---- DMI -------------------------------------------------------------- */

static void dmi_read(const char *name, char *out, size_t cap) {
  char path[4096];
  out[0] = '\0';
  snprintf(path, sizeof path, "%s/%s", OSQ_FLAG_STR(cloud_dmi_dir), name);
  if (osq_tbl_read(path, out, cap, NULL) < 0)
    out[0] = '\0';
  osq_tbl_trim(out);
}

static bool dmi_is(const char *name, const char *want) {
  char v[256];
  dmi_read(name, v, sizeof v);
  return strcasecmp(v, want) == 0;
}

static bool dmi_has(const char *name, const char *part) {
  char v[256];
  dmi_read(name, v, sizeof v);
  return strcasestr(v, part) != NULL;
}

static bool dmi_starts(const char *name, const char *prefix) {
  char v[256];
  dmi_read(name, v, sizeof v);
  return strncasecmp(v, prefix, strlen(prefix)) == 0;
}

bool osq_cloud_detected(osq_cloud cloud) {
  switch (cloud) {
  case OSQ_CLOUD_EC2:
    /* Nitro instances name the vendor; Xen ones carry an "ec2" UUID. */
    return dmi_is("sys_vendor", "Amazon EC2") ||
           dmi_is("board_vendor", "Amazon EC2") ||
           dmi_starts("product_uuid", "ec2");
  case OSQ_CLOUD_AZURE:
    /* Hyper-V says Microsoft; the asset tag is Azure's own. */
    return dmi_is("sys_vendor", "Microsoft Corporation") &&
           dmi_is("chassis_asset_tag", "7783-7084-3265-9085-8269-3286-77");
  case OSQ_CLOUD_YCLOUD:
    return dmi_has("sys_vendor", "Yandex") ||
           dmi_has("bios_vendor", "Yandex") ||
           dmi_has("board_vendor", "Yandex");
  }
  return false;
}

/* ---- where requests go ------------------------------------------------ */

bool osq_cloud_url_is_loopback(const char *url) {
  if (strncmp(url, "http://", 7) != 0)
    return false;
  const char *h = url + 7, *end;
  if (strncmp(h, "localhost", 9) == 0) {
    end = h + 9;
  } else if (strncmp(h, "[::1]", 5) == 0) {
    end = h + 5;
  } else {
    /* 127.a.b.c */
    int parts[4], n = 0;
    const char *p = h;
    while (n < 4) {
      if (!isdigit((unsigned char)*p))
        return false;
      int v = 0, digits = 0;
      while (isdigit((unsigned char)*p) && digits < 4) {
        v = v * 10 + (*p++ - '0');
        digits++;
      }
      if (digits > 3 || v > 255)
        return false;
      parts[n++] = v;
      if (n < 4 && *p++ != '.')
        return false;
    }
    if (parts[0] != 127)
      return false;
    end = p;
  }
  if (*end == ':') {
    end++;
    int digits = 0;
    while (isdigit((unsigned char)*end)) {
      end++;
      digits++;
    }
    if (digits == 0 || digits > 5)
      return false;
  }
  if (*end == '/')
    end++;
  return *end == '\0';
}

bool osq_cloud_base(char *out, size_t cap) {
  const char *ep = OSQ_FLAG_STR(cloud_metadata_endpoint);
  if (*ep == '\0') {
    if (strcmp(OSQ_FLAG_STR(cloud_dmi_dir), DEFAULT_DMI_DIR) != 0) {
      osq_error("--cloud_dmi_dir is set without --cloud_metadata_endpoint: "
                "refusing to contact a real metadata service");
      return false;
    }
    snprintf(out, cap, "%s", DEFAULT_BASE);
    return true;
  }
  if (!osq_cloud_url_is_loopback(ep)) {
    osq_error("--cloud_metadata_endpoint must be http:// on a loopback "
              "address, not '%.100s'",
              ep);
    return false;
  }
  size_t n = strlen(ep);
  if (n >= cap)
    return false;
  memcpy(out, ep, n + 1);
  if (n > 0 && out[n - 1] == '/')
    out[n - 1] = '\0';
  return true;
}

/* ---- cache ------------------------------------------------------------ */

typedef struct slot {
  char *url;
  long status;
  char *body;
  size_t len;
  time_t at;
} slot;

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static slot cache[CACHE_SLOTS];

static bool cache_find(const char *url, osq_cloud_reply *out) {
  bool hit = false;
  time_t now = time(NULL);
  pthread_mutex_lock(&cache_mu);
  for (size_t i = 0; i < CACHE_SLOTS && !hit; i++) {
    slot *s = &cache[i];
    if (s->url == NULL || strcmp(s->url, url) != 0)
      continue;
    if (now - s->at > OSQ_CLOUD_CACHE_SECONDS || now < s->at)
      break;
    out->body = malloc(s->len + 1);
    if (out->body != NULL) {
      memcpy(out->body, s->body, s->len + 1);
      out->len = s->len;
      out->status = s->status;
      hit = true;
    }
  }
  pthread_mutex_unlock(&cache_mu);
  return hit;
}

static void cache_put(const char *url, const osq_cloud_reply *r) {
  char *u = strdup(url), *b = malloc(r->len + 1);
  if (u == NULL || b == NULL) {
    free(u);
    free(b);
    return;
  }
  memcpy(b, r->body, r->len + 1);
  pthread_mutex_lock(&cache_mu);
  slot *victim = &cache[0];
  for (size_t i = 0; i < CACHE_SLOTS; i++) {
    slot *s = &cache[i];
    if (s->url != NULL && strcmp(s->url, url) == 0) {
      victim = s;
      break;
    }
    if (s->url == NULL || s->at < victim->at)
      victim = s;
    if (s->url == NULL)
      break;
  }
  free(victim->url);
  free(victim->body);
  *victim = (slot){.url = u, .status = r->status, .body = b, .len = r->len,
                   .at = time(NULL)};
  pthread_mutex_unlock(&cache_mu);
}

/* ---- requests --------------------------------------------------------- */

static int request(const char *method, const char *base, const char *path,
                   const char *const *headers, bool cached,
                   osq_cloud_reply *out) {
  memset(out, 0, sizeof *out);
  char url[2048];
  if (snprintf(url, sizeof url, "%s%s", base, path) >= (int)sizeof url) {
    osq_error("metadata URL too long");
    return OSQ_ERANGE;
  }
  if (cached && cache_find(url, out))
    return OSQ_OK;
  osq_http_request req = {.method = method,
                          .url = url,
                          .headers = headers,
                          .max_body = OSQ_CLOUD_MAX_BODY,
                          .timeout_ms = CLOUD_TIMEOUT_MS};
  osq_http_reply rep;
  int rc = osq_http_do(&req, &rep);
  if (rc != OSQ_OK)
    return rc;
  out->status = rep.status;
  out->body = rep.body;
  out->len = rep.len;
  if (cached && (rep.status == 200 || rep.status == 404))
    cache_put(url, out);
  return OSQ_OK;
}

int osq_cloud_get(const char *base, const char *path,
                  const char *const *headers, osq_cloud_reply *out) {
  return request("GET", base, path, headers, true, out);
}

int osq_cloud_put(const char *base, const char *path,
                  const char *const *headers, osq_cloud_reply *out) {
  return request("PUT", base, path, headers, false, out);
}
