/* curl: an HTTP(S) GET of each `url = …`, through libcurl (loaded on
 * first use), as osquery's table: the response code, the round trip in
 * microseconds, the body and its size.
 *
 * As osquery: one row per URL even when the request fails (then only
 * url, method and user_agent are set, and the reason is logged); the
 * user agent is "osquery" unless `user_agent = …` gives one (CR and LF
 * removed; more than one value is refused). Only http and https are
 * fetched, redirects are not followed, the peer is verified against the
 * system's CAs or --tls_server_certs, the request gives up after
 * CURL_TIMEOUT_S and the body kept is at most --read_max bytes. */
#include "core/flags.h"
#include "core/curl_lib.h"
#include "core/log.h"
#include "tables/builtin.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#define CURL_TIMEOUT_S 30L
#define DEFAULT_USER_AGENT "osquery"
#define USER_AGENT_MAX 1024

enum {
  C_URL, C_METHOD, C_USER_AGENT, C_RESPONSE_CODE, C_ROUND_TRIP_TIME, C_BYTES,
  C_RESULT, C_COUNT
};

static const osq_column columns[] = {
    {"url", OSQ_TYPE_TEXT,
     OSQ_COL_INDEX | OSQ_COL_OPTIMIZED | OSQ_COL_REQUIRED},
    {"method", OSQ_TYPE_TEXT, 0},
    {"user_agent", OSQ_TYPE_TEXT, OSQ_COL_ADDITIONAL},
    {"response_code", OSQ_TYPE_INTEGER, 0},
    {"round_trip_time", OSQ_TYPE_BIGINT, 0},
    {"bytes", OSQ_TYPE_BIGINT, 0},
    {"result", OSQ_TYPE_TEXT, 0},
};
_Static_assert(sizeof columns / sizeof *columns == C_COUNT, "cols");

typedef struct body {
  char *p;
  size_t n, cap, max;
  bool over;
} body;

static size_t on_data(char *data, size_t size, size_t nmemb, void *ud) {
  body *b = ud;
  size_t len = size * nmemb;
  if (b->n + len > b->max) {
    b->over = true;
    return 0; /* stops the transfer: CURLE_WRITE_ERROR */
  }
  if (b->n + len + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + len + 1)
      cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL)
      return 0;
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, data, len);
  b->n += len;
  return len;
}

static int fetch(const osq_curl_fns *cu, osq_rows *out, const char *url,
                 const char *agent) {
  osq_rows_cstr(out, C_URL, url);
  osq_rows_cstr(out, C_METHOD, "GET");
  osq_rows_cstr(out, C_USER_AGENT, agent);
  CURL *h = cu->easy_init();
  if (h == NULL) {
    OSQ_WARN("curl: cannot create a request for %s", url);
    return osq_rows_end(out);
  }
  body b = {.max = OSQ_FLAG_UINT(read_max)};
  char errbuf[CURL_ERROR_SIZE] = "";
  cu->easy_setopt(h, CURLOPT_URL, url);
  cu->easy_setopt(h, CURLOPT_USERAGENT, agent);
  cu->easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  cu->easy_setopt(h, CURLOPT_TIMEOUT, CURL_TIMEOUT_S);
  cu->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  cu->easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
  cu->easy_setopt(h, CURLOPT_WRITEDATA, &b);
  cu->easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  const char *ca = OSQ_FLAG_STR(tls_server_certs);
  if (ca && ca[0])
    cu->easy_setopt(h, CURLOPT_CAINFO, ca);
  CURLcode rc = cu->easy_perform(h);
  if (rc == CURLE_OK) {
    long code = 0;
    curl_off_t us = 0;
    cu->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    cu->easy_getinfo(h, CURLINFO_TOTAL_TIME_T, &us);
    osq_rows_int(out, C_RESPONSE_CODE, code);
    osq_rows_int(out, C_ROUND_TRIP_TIME, (int64_t)us);
    osq_rows_int(out, C_BYTES, (int64_t)b.n);
    osq_rows_text(out, C_RESULT, b.p ? b.p : "", b.n);
  } else if (b.over) {
    OSQ_WARN("curl: %s: the response is larger than --read_max (%zu bytes)",
             url, b.max);
  } else {
    OSQ_WARN("curl: %s: %s", url, errbuf[0] ? errbuf
                                            : cu->easy_strerror(rc));
  }
  free(b.p);
  cu->easy_cleanup(h);
  return osq_rows_end(out);
}

static int generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)udata;
  char agent[USER_AGENT_MAX] = DEFAULT_USER_AGENT;
  size_t nagents = 0;
  for (size_t i = 0; i < osq_context_nconstraints(ctx, C_USER_AGENT); i++) {
    const osq_constraint *c = osq_context_constraint(ctx, C_USER_AGENT, i);
    if (c->op != OSQ_OP_EQ)
      continue;
    if (nagents++ > 0) {
      OSQ_WARN("curl: only one user_agent can be given");
      return OSQ_OK; /* as osquery: no rows */
    }
    size_t n = 0; /* no header injection: CR and LF dropped */
    for (size_t j = 0; j < c->len && n + 1 < sizeof agent; j++)
      if (c->expr[j] != '\r' && c->expr[j] != '\n' && c->expr[j] != '\0')
        agent[n++] = c->expr[j];
    agent[n] = '\0';
  }
  char why[320];
  const osq_curl_fns *cu = osq_curl(why, sizeof why);
  if (cu == NULL) {
    osq_rows_error(out, "curl: %s", why);
    return OSQ_ERROR;
  }
  int rc = OSQ_OK;
  for (size_t i = 0; i < osq_context_nconstraints(ctx, C_URL); i++) {
    const osq_constraint *c = osq_context_constraint(ctx, C_URL, i);
    if (c->op == OSQ_OP_LIKE)
      OSQ_WARN("curl: LIKE on url is not supported");
    if (c->op != OSQ_OP_EQ || c->len == 0 || strlen(c->expr) != c->len)
      continue;
    if ((rc = fetch(cu, out, c->expr, agent)) != OSQ_OK)
      break;
  }
  return rc;
}

const osq_table_plugin osq_table_curl = {
    .name = "curl",
    .columns = columns,
    .ncolumns = OSQ_NCOLS(columns),
    .generate = generate,
};
