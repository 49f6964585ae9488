/* The "tls" distributed plugin: queries from
 * --distributed_tls_read_endpoint, results to
 * --distributed_tls_write_endpoint, with osquery's bodies. */
#include "remote/plugins.h"

#include "core/flags.h"
#include "core/log.h"
#include "plugin/plugin_impl.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static osq_http *client;

static osq_http *get_client(char *err, size_t errlen) {
  if (client == NULL) {
    osq_http_opts o = osq_http_opts_from_flags();
    client = osq_http_new(&o, err, errlen);
  }
  return client;
}

static unsigned attempts(void) {
  return (unsigned)OSQ_FLAG_UINT(distributed_tls_max_attempts);
}

static int get_queries(osq_strmap *out, void *udata) {
  (void)udata;
  char err[1024] = "";
  json_t *reply = NULL;
  int rc = -1;
  pthread_mutex_lock(&lock);
  if (get_client(err, sizeof err)) {
    json_t *body = json_object();
    rc = osq_node_request(client, OSQ_FLAG_STR(distributed_tls_read_endpoint),
                          body, attempts(), false, &reply, err, sizeof err);
    json_decref(body);
  }
  pthread_mutex_unlock(&lock);
  if (rc != 0) {
    osq_strmap_error(out, "%s", err);
    return OSQ_ERROR;
  }
  json_t *q = json_object_get(reply, "queries");
  json_t *d = json_object_get(reply, "discovery");
  json_t *a = json_object_get(reply, "accelerate");
  if ((q && !json_is_object(q)) || (d && !json_is_object(d)) ||
      (a && !json_is_integer(a))) {
    osq_strmap_error(out,
                     "%s sent a malformed reply: queries and discovery must "
                     "be objects, accelerate an integer",
                     OSQ_FLAG_STR(distributed_tls_read_endpoint));
    json_decref(reply);
    return OSQ_ERROR;
  }
  char *text = json_dumps(reply, JSON_COMPACT);
  json_decref(reply);
  if (text == NULL) {
    osq_strmap_error(out, "out of memory");
    return OSQ_ERROR;
  }
  osq_strmap_set(out, "results", text, strlen(text));
  free(text);
  return OSQ_OK;
}

static int write_results(const char *json, size_t len, void *udata) {
  (void)udata;
  char err[1024] = "";
  json_error_t je;
  json_t *body = json_loadb(json, len, 0, &je);
  if (!json_is_object(body)) {
    json_decref(body);
    OSQ_WARN("Distributed results are not a JSON object: %s", je.text);
    return OSQ_EINVAL;
  }
  json_t *reply = NULL;
  int rc = -1;
  pthread_mutex_lock(&lock);
  if (get_client(err, sizeof err))
    rc = osq_node_request(client,
                          OSQ_FLAG_STR(distributed_tls_write_endpoint), body,
                          attempts(), false, &reply, err, sizeof err);
  pthread_mutex_unlock(&lock);
  json_decref(body);
  json_decref(reply);
  if (rc != 0) {
    OSQ_WARN("Cannot write distributed results: %s", err);
    return OSQ_ERROR;
  }
  return OSQ_OK;
}

const osq_distributed_plugin osq_remote_tls_distributed = {
    .name = "tls",
    .get_queries = get_queries,
    .write_results = write_results,
};

void osq_remote_tls_distributed_stop(void) {
  pthread_mutex_lock(&lock);
  osq_http_free(client);
  client = NULL;
  pthread_mutex_unlock(&lock);
}
