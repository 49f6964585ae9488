/* The "tls" config plugin: the config is the reply of
 * --config_tls_endpoint. The last good reply is kept in the results
 * store, so that a daemon that starts while the server is unreachable
 * runs the last config it had (osquery's config backup); a failed
 * refresh later on fails, and the daemon keeps the config it runs. */
#include "remote/plugins.h"

#include "config/config.h"
#include "core/flags.h"
#include "core/log.h"
#include "plugin/plugin_impl.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define BACKUP_KEY "remote.config_backup"
#define SOURCE "tls_plugin"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static osq_http *client;
static bool fetched_once;

static int generate(osq_strmap *out, void *udata) {
  (void)udata;
  char err[1024] = "";
  pthread_mutex_lock(&lock);
  bool first = !fetched_once;
  fetched_once = true;
  if (client == NULL) {
    osq_http_opts o = osq_http_opts_from_flags();
    client = osq_http_new(&o, err, sizeof err);
  }
  json_t *reply = NULL;
  int rc = -1;
  if (client) {
    json_t *body = json_object();
    rc = osq_node_request(client, OSQ_FLAG_STR(config_tls_endpoint), body,
                          (unsigned)OSQ_FLAG_UINT(config_tls_max_attempts),
                          false, &reply, err, sizeof err);
    json_decref(body);
  }
  pthread_mutex_unlock(&lock);
  char *text = rc == 0 ? json_dumps(reply, JSON_COMPACT) : NULL;
  json_decref(reply);
  if (text && strlen(text) > OSQ_CONFIG_MAX_SIZE) {
    snprintf(err, sizeof err, "the config from %s is larger than %u bytes",
             OSQ_FLAG_STR(config_tls_endpoint), OSQ_CONFIG_MAX_SIZE);
    free(text);
    text = NULL;
  }
  if (text) {
    osq_node_set(BACKUP_KEY, text);
    osq_strmap_set(out, SOURCE, text, strlen(text));
    free(text);
    return OSQ_OK;
  }
  char *backup = first ? osq_node_get(BACKUP_KEY) : NULL;
  if (backup) {
    OSQ_WARN("Cannot fetch the config: %s; using the last good config from "
             "the results store",
             err);
    osq_strmap_set(out, SOURCE, backup, strlen(backup));
    free(backup);
    return OSQ_OK;
  }
  osq_strmap_error(out, "Cannot fetch the config: %s", err);
  return OSQ_ERROR;
}

const osq_config_plugin osq_remote_tls_config = {
    .name = "tls",
    .generate = generate,
};

void osq_remote_tls_config_stop(void) {
  pthread_mutex_lock(&lock);
  osq_http_free(client);
  client = NULL;
  fetched_once = false;
  pthread_mutex_unlock(&lock);
}
