#include "daemon/hostid.h"

#include "core/flags.h"
#include "tables/util.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char ephemeral[37];

static void hostname(char *out, size_t cap) {
  char h[HOST_NAME_MAX + 1] = "";
  gethostname(h, sizeof h);
  h[HOST_NAME_MAX] = '\0';
  snprintf(out, cap, "%s", h);
}

/* A value kept in the store under key, made by make() the first time. */
static void persisted(osq_store *store, const char *key,
                      void (*make)(char[37]), char *out, size_t cap) {
  char *v = store ? osq_store_get(store, key) : NULL;
  if (v && strlen(v) == 36) {
    snprintf(out, cap, "%s", v);
    free(v);
    return;
  }
  free(v);
  char fresh[37];
  make(fresh);
  if (store)
    osq_store_set(store, key, fresh);
  snprintf(out, cap, "%s", fresh);
}

void osq_host_identifier(osq_store *store, char *out, size_t cap) {
  const char *mode = OSQ_FLAG_STR(host_identifier);
  pthread_mutex_lock(&lock);
  if (strcmp(mode, "uuid") == 0) {
    persisted(store, "host_uuid_v3", osq_tbl_host_uuid, out, cap);
  } else if (strcmp(mode, "instance") == 0) {
    persisted(store, "instance_uuid_v1", osq_tbl_random_uuid, out, cap);
  } else if (strcmp(mode, "ephemeral") == 0) {
    if (ephemeral[0] == '\0')
      osq_tbl_random_uuid(ephemeral);
    snprintf(out, cap, "%s", ephemeral);
  } else if (strcmp(mode, "specified") == 0 &&
             OSQ_FLAG_STR(specified_identifier)[0] != '\0') {
    snprintf(out, cap, "%s", OSQ_FLAG_STR(specified_identifier));
  } else {
    hostname(out, cap);
  }
  pthread_mutex_unlock(&lock);
}
