/* libcurl is loaded on first use (core/curl_lib.h): it pulls in libssl,
 * libcrypto and a dozen more libraries whose relocations would cost every
 * osqi and osqd start, while only a daemon with tls plugins ever sends a
 * request. zlib, for gzip bodies, likewise. */
#include "remote/http.h"

#include "core/flags.h"
#include "core/log.h"

#include "core/curl_lib.h"
#include "core/lazylib.h"

#include <zlib.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static __typeof__(deflateInit2_) *lz_deflateInit2_;
static __typeof__(deflate) *lz_deflate;
static __typeof__(deflateEnd) *lz_deflateEnd;
static const osq_lazysym zsyms[] = {OSQ_LAZYSYM(deflateInit2_),
                                    OSQ_LAZYSYM(deflate),
                                    OSQ_LAZYSYM(deflateEnd)};
static osq_lazylib zlib = OSQ_LAZYLIB("libz.so.1", zsyms);

unsigned char *osq_gzip(const void *in, size_t len, size_t *outlen,
                        char *err, size_t errlen) {
  if (!osq_lazylib_load(&zlib)) {
    snprintf(err, errlen, "%s", osq_lazylib_error(&zlib));
    return NULL;
  }
  z_stream z;
  memset(&z, 0, sizeof z);
  /* 15 + 16: a gzip wrapper rather than zlib's */
  if (lz_deflateInit2_(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
               Z_DEFAULT_STRATEGY, ZLIB_VERSION, (int)sizeof z) != Z_OK) {
    snprintf(err, errlen, "gzip: cannot initialise");
    return NULL;
  }
  size_t cap = len + len / 1000 + 64;
  unsigned char *out = malloc(cap);
  if (out == NULL || len > UINT32_MAX || cap > UINT32_MAX) {
    lz_deflateEnd(&z);
    free(out);
    snprintf(err, errlen, "gzip: body of %zu bytes too large", len);
    return NULL;
  }
  z.next_in = (Bytef *)(uintptr_t)in;
  z.avail_in = (uInt)len;
  z.next_out = out;
  z.avail_out = (uInt)cap;
  int rc = lz_deflate(&z, Z_FINISH);
  lz_deflateEnd(&z);
  if (rc != Z_STREAM_END) {
    free(out);
    snprintf(err, errlen, "gzip: deflate failed (%d)", rc);
    return NULL;
  }
  *outlen = cap - z.avail_out;
  return out;
}

struct osq_http {
  const osq_curl_fns *cu;
  CURL *curl;
  osq_http_opts o;
  char *host, *certs, *cert, *key, *proxy;
  const atomic_bool *cancel;
};

void osq_http_set_cancel(osq_http *h, const atomic_bool *flag) {
  h->cancel = flag;
}

static int on_progress(void *u, curl_off_t dt, curl_off_t dn, curl_off_t ut,
                       curl_off_t un) {
  (void)dt, (void)dn, (void)ut, (void)un;
  const atomic_bool *flag = u;
  return flag && atomic_load(flag) ? 1 : 0;
}

osq_http_opts osq_http_opts_from_flags(void) {
  osq_http_opts o = {
      .hostname = OSQ_FLAG_STR(tls_hostname),
      .server_certs = OSQ_FLAG_STR(tls_server_certs),
      .client_cert = OSQ_FLAG_STR(tls_client_cert),
      .client_key = OSQ_FLAG_STR(tls_client_key),
      .proxy = OSQ_FLAG_STR(proxy_hostname),
      .session_reuse = OSQ_FLAG_BOOL(tls_session_reuse),
      .session_timeout = (long)OSQ_FLAG_UINT(tls_session_timeout),
      .timeout = 60,
      .dump = OSQ_FLAG_BOOL(tls_dump),
  };
  return o;
}

static char *dup_or_null(const char *s) {
  return s && s[0] ? strdup(s) : NULL;
}

/* osquery's --tls_hostname: a host name or address with an optional
 * :port, no scheme and no path. */
static bool hostname_ok(const char *h, char *err, size_t errlen) {
  if (h == NULL || h[0] == '\0') {
    snprintf(err, errlen, "--tls_hostname is not set");
    return false;
  }
  if (strstr(h, "://") || strpbrk(h, "/ \t\r\n?#@")) {
    snprintf(err, errlen,
             "--tls_hostname '%s' must be host[:port] without a scheme or "
             "path",
             h);
    return false;
  }
  return true;
}

osq_http *osq_http_new(const osq_http_opts *o, char *err, size_t errlen) {
  if (!hostname_ok(o->hostname, err, errlen))
    return NULL;
  const osq_curl_fns *fns = osq_curl(err, errlen);
  if (fns == NULL)
    return NULL;

  osq_http *h = calloc(1, sizeof *h);
  if (h == NULL) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  h->o = *o;
  h->host = strdup(o->hostname);
  h->certs = dup_or_null(o->server_certs);
  h->cert = dup_or_null(o->client_cert);
  h->key = dup_or_null(o->client_key);
  h->proxy = dup_or_null(o->proxy);
  h->cu = fns;
  h->curl = fns->easy_init();
  if (h->curl == NULL || h->host == NULL) {
    snprintf(err, errlen, "cannot create a libcurl handle");
    osq_http_free(h);
    return NULL;
  }
  return h;
}

void osq_http_free(osq_http *h) {
  if (h == NULL)
    return;
  if (h->curl)
    h->cu->easy_cleanup(h->curl);
  free(h->host);
  free(h->certs);
  free(h->cert);
  free(h->key);
  free(h->proxy);
  free(h);
}

typedef struct sink {
  char *p;
  size_t n, cap;
  bool too_big;
} sink;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *u) {
  sink *s = u;
  size_t n = size * nmemb;
  if (s->n + n > OSQ_HTTP_MAX_REPLY) {
    s->too_big = true;
    return 0; /* aborts the transfer */
  }
  if (s->n + n + 1 > s->cap) {
    size_t cap = s->cap ? s->cap : 4096;
    while (cap < s->n + n + 1)
      cap *= 2;
    char *p = realloc(s->p, cap);
    if (p == NULL)
      return 0;
    s->p = p;
    s->cap = cap;
  }
  memcpy(s->p + s->n, ptr, n);
  s->n += n;
  s->p[s->n] = '\0';
  return n;
}

static void dump(const char *what, const char *url, const char *body,
                 size_t len) {
  fprintf(stderr, "[tls_dump] %s %s (%zu bytes)\n%.*s\n", what, url, len,
          (int)(len > 65536 ? 65536 : len), body ? body : "");
}

int osq_http_post(osq_http *h, const char *endpoint, const char *body,
                  size_t len, bool gzip, osq_http_reply *out, char *err,
                  size_t errlen) {
  memset(out, 0, sizeof *out);
  if (endpoint == NULL || endpoint[0] != '/') {
    snprintf(err, errlen, "endpoint '%s' must start with /",
             endpoint ? endpoint : "");
    return -1;
  }
  /* the endpoint may carry a secret and a node key (--tls_secret_always,
   * --tls_node_api): up to a few KiB */
  size_t urlcap = strlen(h->host) + strlen(endpoint) + 16;
  if (urlcap > OSQ_HTTP_MAX_URL) {
    snprintf(err, errlen, "URL for endpoint %.200s is too long", endpoint);
    return -1;
  }
  char *url = malloc(urlcap);
  if (url == NULL) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  snprintf(url, urlcap, "https://%s%s", h->host, endpoint);
  unsigned char *gz = NULL;
  size_t gzlen = 0;
  if (gzip) {
    gz = osq_gzip(body, len, &gzlen, err, errlen);
    if (gz == NULL) {
      free(url);
      return -1;
    }
  }
  if (h->o.dump)
    dump("POST", url, body, len);
  const osq_curl_fns *cu = h->cu;
  CURL *c = h->curl;
  struct curl_slist *hdr = NULL;
  hdr = cu->slist_append(hdr, "Content-Type: application/json");
  hdr = cu->slist_append(hdr, "Accept: application/json");
  if (gzip)
    hdr = cu->slist_append(hdr, "Content-Encoding: gzip");
  sink s = {0};
  char ua[64];
  snprintf(ua, sizeof ua, "osquery/%s", OSQ_VERSION);
  char cerr[CURL_ERROR_SIZE] = "";
  cu->easy_setopt(c, CURLOPT_URL, url);
  cu->easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
  cu->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  cu->easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
  cu->easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  cu->easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  if (h->certs)
    cu->easy_setopt(c, CURLOPT_CAINFO, h->certs);
  if (h->cert)
    cu->easy_setopt(c, CURLOPT_SSLCERT, h->cert);
  if (h->key)
    cu->easy_setopt(c, CURLOPT_SSLKEY, h->key);
  cu->easy_setopt(c, CURLOPT_PROXY, h->proxy ? h->proxy : "");
  cu->easy_setopt(c, CURLOPT_SSL_SESSIONID_CACHE, h->o.session_reuse ? 1L : 0L);
  cu->easy_setopt(c, CURLOPT_FORBID_REUSE, h->o.session_reuse ? 0L : 1L);
  if (h->o.session_timeout > 0)
    cu->easy_setopt(c, CURLOPT_MAXAGE_CONN, h->o.session_timeout);
  cu->easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  cu->easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
  cu->easy_setopt(c, CURLOPT_TIMEOUT, h->o.timeout > 0 ? h->o.timeout : 60L);
  cu->easy_setopt(c, CURLOPT_USERAGENT, ua);
  cu->easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
  cu->easy_setopt(c, CURLOPT_POST, 1L);
  cu->easy_setopt(c, CURLOPT_POSTFIELDS, gz ? (const char *)gz : body);
  cu->easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
            (curl_off_t)(gz ? gzlen : len));
  cu->easy_setopt(c, CURLOPT_ACCEPT_ENCODING, ""); /* any the library decodes */
  cu->easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  cu->easy_setopt(c, CURLOPT_WRITEDATA, &s);
  cu->easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
  cu->easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  if (h->cancel) {
    cu->easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    cu->easy_setopt(c, CURLOPT_XFERINFODATA, (void *)(uintptr_t)h->cancel);
    cu->easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  }
  CURLcode rc = cu->easy_perform(c);
  cu->easy_setopt(c, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
  cu->easy_setopt(c, CURLOPT_ERRORBUFFER, (char *)NULL);
  cu->slist_free_all(hdr);
  free(gz);
  if (rc != CURLE_OK) {
    /* not the query: --tls_secret_always puts the secret there */
    int shown = (int)strcspn(url, "?&");
    if (s.too_big)
      snprintf(err, errlen, "reply from %.*s exceeds %u bytes", shown, url,
               OSQ_HTTP_MAX_REPLY);
    else
      snprintf(err, errlen, "request to %.*s failed: %s%s%s", shown, url,
               cu->easy_strerror(rc), cerr[0] ? ": " : "", cerr);
    free(s.p);
    free(url);
    return -1;
  }
  cu->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
  if (s.p == NULL)
    s.p = calloc(1, 1);
  out->body = s.p;
  out->len = s.n;
  if (h->o.dump)
    dump("REPLY", url, out->body, out->len);
  free(url);
  return 0;
}
