/* HTTP for the service-backed tables, through libcurl loaded on first
 * use by core/curl_lib.h (shared with the remote layer): only the
 * container and cloud tables need it. */
#include "tables/http.h"

#include "core/curl_lib.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <osq/plugin.h>

typedef struct sink {
  char *buf;
  size_t len, cap, max;
  bool over;
} sink;

static size_t on_data(char *p, size_t size, size_t n, void *u) {
  sink *s = u;
  size_t add = size * n;
  if (add > s->max - s->len) {
    s->over = true;
    return 0; /* aborts the transfer */
  }
  if (s->len + add + 1 > s->cap) {
    size_t cap = s->cap ? s->cap : 4096;
    while (cap < s->len + add + 1)
      cap *= 2;
    char *b = realloc(s->buf, cap);
    if (b == NULL)
      return 0;
    s->buf = b;
    s->cap = cap;
  }
  memcpy(s->buf + s->len, p, add);
  s->len += add;
  s->buf[s->len] = '\0';
  return add;
}

int osq_http_do(const osq_http_request *req, osq_http_reply *out) {
  memset(out, 0, sizeof *out);
  char why[320];
  const osq_curl_fns *lc = osq_curl(why, sizeof why);
  if (lc == NULL) {
    osq_error("%s", why);
    return OSQ_ERROR;
  }
  CURL *c = lc->easy_init();
  if (c == NULL) {
    osq_error("curl_easy_init failed");
    return OSQ_ENOMEM;
  }
  struct curl_slist *hdrs = NULL;
  for (const char *const *h = req->headers; h != NULL && *h != NULL; h++) {
    struct curl_slist *n = lc->slist_append(hdrs, *h);
    if (n == NULL) {
      lc->slist_free_all(hdrs);
      lc->easy_cleanup(c);
      return OSQ_ENOMEM;
    }
    hdrs = n;
  }
  sink s = {.max = req->max_body};
  lc->easy_setopt(c, CURLOPT_URL, req->url);
  if (req->unix_socket != NULL)
    lc->easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, req->unix_socket);
  if (req->method != NULL && strcmp(req->method, "GET") != 0)
    lc->easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
  if (hdrs != NULL)
    lc->easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  /* Only plain HTTP, never a proxy from the environment, no redirects. */
  lc->easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
  lc->easy_setopt(c, CURLOPT_NOPROXY, "*");
  lc->easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  lc->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  lc->easy_setopt(c, CURLOPT_TIMEOUT_MS, req->timeout_ms);
  lc->easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, req->timeout_ms);
  lc->easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  lc->easy_setopt(c, CURLOPT_WRITEDATA, &s);

  CURLcode rc = lc->easy_perform(c);
  int ret = OSQ_OK;
  if (rc != CURLE_OK) {
    if (s.over) {
      osq_error("reply from %s is larger than %zu bytes", req->url,
                req->max_body);
      ret = OSQ_ERANGE;
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
      osq_error("%s: no reply within %ld ms", req->url, req->timeout_ms);
      ret = OSQ_ETIMEDOUT;
    } else if (rc == CURLE_COULDNT_CONNECT) {
      osq_error("cannot connect to %s",
                req->unix_socket ? req->unix_socket : req->url);
      ret = OSQ_EIO;
    } else {
      osq_error("%s: %s", req->url, lc->easy_strerror(rc));
      ret = rc == CURLE_WRITE_ERROR ? OSQ_ENOMEM : OSQ_EPROTO;
    }
  } else {
    lc->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    if (s.buf == NULL) {
      s.buf = strdup("");
      if (s.buf == NULL)
        ret = OSQ_ENOMEM;
    }
  }
  lc->slist_free_all(hdrs);
  lc->easy_cleanup(c);
  if (ret != OSQ_OK) {
    free(s.buf);
    return ret;
  }
  out->body = s.buf;
  out->len = s.len;
  return OSQ_OK;
}

bool osq_http_escape(const char *s, char *out, size_t cap) {
  static const char hex[] = "0123456789ABCDEF";
  size_t o = 0;
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    bool keep = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' ||
                ch == '_' || ch == '~';
    if (o + (keep ? 1 : 3) >= cap)
      return false;
    if (keep) {
      out[o++] = (char)ch;
    } else {
      out[o++] = '%';
      out[o++] = hex[ch >> 4];
      out[o++] = hex[ch & 15];
    }
  }
  if (o >= cap)
    return false;
  out[o] = '\0';
  return true;
}
