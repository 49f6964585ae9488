/* prometheus_metrics: samples scraped from the Prometheus targets of the
 * config's "prometheus_targets" section ({"urls": [...], "timeout": s}).
 *
 * Each URL is fetched with an HTTP GET when the table is queried; every
 * sample line of the text exposition format ("name{labels} value [ts]",
 * comments and blank lines skipped) is a row with the time of the scrape
 * in milliseconds. A target that cannot be fetched, or answers with an
 * error status or a body over BODY_MAX, gives no rows (a warning says
 * why); the other targets are still read.
 *
 * HTTP is libcurl's, loaded on the first scrape (core/curl_lib.h): http and
 * https with redirects, as osquery's client does, without osq linking
 * libcurl for one table that most configurations never use. Without
 * libcurl the table is empty and says so once. */
#include "core/log.h"
#include "tables/builtin.h"
#include "tables/tables.h"
#include "tables/util.h"

#define CURL_DISABLE_DEPRECATION 1
#include "core/curl_lib.h"
#include <stdatomic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { C_TARGET_NAME, C_METRIC_NAME, C_METRIC_VALUE, C_TIMESTAMP_MS };

static const osq_column columns[] = {
    {"target_name", OSQ_TYPE_TEXT, 0},
    {"metric_name", OSQ_TYPE_TEXT, 0},
    {"metric_value", OSQ_TYPE_DOUBLE, 0},
    {"timestamp_ms", OSQ_TYPE_BIGINT, 0},
};

/* An exporter's page is tens to hundreds of KiB. */
#define BODY_MAX (16u * 1024 * 1024)
/* Targets read per query. */
#define TARGETS_MAX 256
/* osquery's default timeout, seconds. */
#define DEFAULT_TIMEOUT 1

/* ---- the config section ------------------------------------------------ */

static pthread_mutex_t targets_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *targets; /* a copy of the section, or NULL */

void osq_tables_set_prometheus_targets(const json_t *section) {
  json_t *copy = json_is_object(section) ? json_deep_copy(section) : NULL;
  pthread_mutex_lock(&targets_lock);
  json_t *old = targets;
  targets = copy;
  pthread_mutex_unlock(&targets_lock);
  json_decref(old);
}

static json_t *targets_get(void) {
  pthread_mutex_lock(&targets_lock);
  json_t *t = json_incref(targets);
  pthread_mutex_unlock(&targets_lock);
  return t;
}

/* ---- libcurl ----------------------------------------------------------- */

/* libcurl's entry points (core/curl_lib.h); NULL, said once, without it */
static const osq_curl_fns *curl_fns(void) {
  static atomic_bool warned;
  char err[320];
  const osq_curl_fns *f = osq_curl(err, sizeof err);
  if (f == NULL && !atomic_exchange(&warned, true))
    OSQ_WARN("prometheus_metrics: %s", err);
  return f;
}

typedef struct body {
  char *p;
  size_t n, cap;
  bool too_big;
} body;

static size_t on_data(char *data, size_t size, size_t nmemb, void *u) {
  body *b = u;
  size_t n = size * nmemb;
  if (n > BODY_MAX - b->n) {
    b->too_big = true;
    return 0; /* aborts the transfer */
  }
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 65536;
    while (cap < b->n + n + 1)
      cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL)
      return 0;
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, data, n);
  b->n += n;
  b->p[b->n] = '\0';
  return n;
}

/* GET url into b; false (with a warning) when it fails. */
static bool fetch(const osq_curl_fns *cu, const char *url, long timeout,
                  body *b) {
  CURL *h = cu->easy_init();
  if (h == NULL)
    return false;
  char err[CURL_ERROR_SIZE] = "";
  cu->easy_setopt(h, CURLOPT_URL, url);
  cu->easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
  cu->easy_setopt(h, CURLOPT_REDIR_PROTOCOLS,
            (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
  cu->easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  cu->easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
  cu->easy_setopt(h, CURLOPT_TIMEOUT, timeout);
  cu->easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* no SIGALRM in a threaded process */
  cu->easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
  cu->easy_setopt(h, CURLOPT_WRITEDATA, b);
  cu->easy_setopt(h, CURLOPT_ERRORBUFFER, err);
  cu->easy_setopt(h, CURLOPT_USERAGENT, "osquery");
  /* as osquery's client: no proxy from the environment */
  cu->easy_setopt(h, CURLOPT_PROXY, "");
  CURLcode rc = cu->easy_perform(h);
  long status = 0;
  cu->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  cu->easy_cleanup(h);
  if (rc != CURLE_OK) {
    OSQ_WARN("prometheus_metrics: failed on scrape of target %s: %s", url,
             b->too_big ? "the response is larger than 16 MiB"
             : err[0]   ? err
                        : cu->easy_strerror(rc));
    return false;
  }
  if (status < 200 || status > 299) {
    OSQ_WARN("prometheus_metrics: failed on scrape of target %s: HTTP %ld",
             url, status);
    return false;
  }
  return true;
}

/* ---- the exposition format --------------------------------------------- */

/* Length of the metric name with its labels: to the first blank outside
 * the {…} (label values may hold blanks and quoted braces). */
static size_t name_len(const char *s) {
  size_t i = 0;
  bool in_labels = false, quoted = false;
  for (; s[i]; i++) {
    char c = s[i];
    if (quoted) {
      if (c == '\\' && s[i + 1])
        i++;
      else if (c == '"')
        quoted = false;
    } else if (in_labels) {
      if (c == '"')
        quoted = true;
      else if (c == '}')
        in_labels = false;
    } else if (c == '{') {
      in_labels = true;
    } else if (c == ' ' || c == '\t') {
      break;
    }
  }
  return i;
}

static int sample_rows(osq_rows *out, const char *url, char *text,
                       int64_t ts) {
  int rc = OSQ_OK;
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line && rc == OSQ_OK;
       line = strtok_r(NULL, "\n", &save)) {
    line[strcspn(line, "\r")] = '\0';
    while (*line == ' ' || *line == '\t')
      line++;
    if (*line == '\0' || *line == '#')
      continue;
    size_t nl = name_len(line);
    const char *v = line + nl;
    while (*v == ' ' || *v == '\t')
      v++;
    if (nl == 0 || *v == '\0')
      continue; /* a name without a value is no sample */
    char *end;
    double value = strtod(v, &end);
    if (end == v || (*end != '\0' && *end != ' ' && *end != '\t'))
      continue; /* not a number ("+Inf", "NaN" are) */
    osq_rows_cstr(out, C_TARGET_NAME, url);
    osq_rows_text(out, C_METRIC_NAME, line, nl);
    osq_rows_double(out, C_METRIC_VALUE, value);
    osq_rows_int(out, C_TIMESTAMP_MS, ts);
    rc = osq_rows_end(out);
  }
  return rc;
}

static int64_t now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)ctx;
  (void)udata;
  json_t *cfg = targets_get();
  const json_t *urls = json_object_get(cfg, "urls");
  if (!json_is_array(urls) || json_array_size(urls) == 0) {
    json_decref(cfg);
    return OSQ_OK; /* no targets configured */
  }
  long timeout = DEFAULT_TIMEOUT;
  const json_t *t = json_object_get(cfg, "timeout");
  if (json_is_integer(t) && json_integer_value(t) > 0 &&
      json_integer_value(t) <= 3600)
    timeout = (long)json_integer_value(t);
  const osq_curl_fns *cu = curl_fns();
  int rc = OSQ_OK;
  size_t i;
  const json_t *u;
  json_array_foreach(urls, i, u) {
    if (rc != OSQ_OK || i >= TARGETS_MAX)
      break;
    if (!json_is_string(u) || cu == NULL)
      continue;
    body b = {0};
    if (fetch(cu, json_string_value(u), timeout, &b) && b.p != NULL)
      rc = sample_rows(out, json_string_value(u), b.p, now_ms());
    free(b.p);
  }
  json_decref(cfg);
  return rc;
}

const osq_table_plugin osq_table_prometheus_metrics = {
    .name = "prometheus_metrics",
    .columns = columns,
    .ncolumns = OSQ_NCOLS(columns),
    .generate = generate,
};
