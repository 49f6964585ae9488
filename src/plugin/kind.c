#include "kind.h"

#include <string.h>

static const char *const names[OSQ_REGISTRY_COUNT] = {
    [OSQ_REGISTRY_CONFIG] = "config",
    [OSQ_REGISTRY_DISTRIBUTED] = "distributed",
    [OSQ_REGISTRY_LOGGER] = "logger",
    [OSQ_REGISTRY_TABLE] = "table",
};

/* Registries osquery has that osq does not serve. */
static const char *const foreign[] = {
    "config_parser", "database",           "enroll",
    "event_publisher", "event_subscriber", "numeric_monitoring",
    "osquery_events_stream", "sql",        "killswitch",
};

const char *osq_registry_name(osq_registry_kind kind) {
  return (unsigned)kind < OSQ_REGISTRY_COUNT ? names[kind] : "unknown";
}

int osq_registry_from_name(const char *name) {
  for (int i = 0; i < OSQ_REGISTRY_COUNT; i++)
    if (strcmp(name, names[i]) == 0)
      return i;
  return -1;
}

bool osq_registry_is_foreign(const char *name) {
  for (size_t i = 0; i < sizeof foreign / sizeof foreign[0]; i++)
    if (strcmp(name, foreign[i]) == 0)
      return true;
  return false;
}

const char *osq_plugin_name_of(osq_registry_kind kind, const void *p) {
  switch (kind) {
  case OSQ_REGISTRY_TABLE: return ((const osq_table_plugin *)p)->name;
  case OSQ_REGISTRY_CONFIG: return ((const osq_config_plugin *)p)->name;
  case OSQ_REGISTRY_LOGGER: return ((const osq_logger_plugin *)p)->name;
  case OSQ_REGISTRY_DISTRIBUTED:
    return ((const osq_distributed_plugin *)p)->name;
  default: return NULL;
  }
}

void osq_plugin_destroy_of(osq_registry_kind kind, const void *plugin) {
  void (*destroy)(void *) = NULL;
  void *udata = NULL;
  switch (kind) {
  case OSQ_REGISTRY_TABLE: {
    const osq_table_plugin *t = plugin;
    destroy = t->destroy, udata = t->udata;
    break;
  }
  case OSQ_REGISTRY_CONFIG: {
    const osq_config_plugin *c = plugin;
    destroy = c->destroy, udata = c->udata;
    break;
  }
  case OSQ_REGISTRY_LOGGER: {
    const osq_logger_plugin *l = plugin;
    destroy = l->destroy, udata = l->udata;
    break;
  }
  case OSQ_REGISTRY_DISTRIBUTED: {
    const osq_distributed_plugin *d = plugin;
    destroy = d->destroy, udata = d->udata;
    break;
  }
  default: break;
  }
  if (destroy)
    destroy(udata);
}
