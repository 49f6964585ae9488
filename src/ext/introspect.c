#include "introspect.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *socket_path;
static osq_ext_provider provider;

void osq_introspect_set_manager(const char *path, osq_ext_provider p) {
  char *copy = path ? strdup(path) : NULL;
  pthread_mutex_lock(&lock);
  free(socket_path);
  socket_path = copy;
  provider = p;
  pthread_mutex_unlock(&lock);
}

char *osq_introspect_socket(void) {
  pthread_mutex_lock(&lock);
  char *copy = socket_path ? strdup(socket_path) : NULL;
  pthread_mutex_unlock(&lock);
  return copy;
}

size_t osq_introspect_extensions(osq_ext_view **out) {
  *out = NULL;
  pthread_mutex_lock(&lock);
  osq_ext_provider p = provider;
  pthread_mutex_unlock(&lock);
  return p ? p(out) : 0;
}

void osq_introspect_free(osq_ext_view *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(v[i].name);
    free(v[i].version);
    free(v[i].sdk_version);
    free(v[i].min_sdk_version);
    free(v[i].path);
  }
  free(v);
}
