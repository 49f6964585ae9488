/* The four kinds of plugin, their osquery registry names, and a plugin of
 * any kind as one tagged reference. Shared by the registry store (which
 * owns the references), the dispatcher and libosqext (which only needs the
 * vocabulary). Pure functions over constant tables: any thread. */
#ifndef OSQ_PLUGIN_KIND_H
#define OSQ_PLUGIN_KIND_H

#include <osq/plugin.h>

typedef enum osq_registry_kind {
  OSQ_REGISTRY_CONFIG = 0,
  OSQ_REGISTRY_DISTRIBUTED,
  OSQ_REGISTRY_LOGGER,
  OSQ_REGISTRY_TABLE,
  OSQ_REGISTRY_COUNT,
} osq_registry_kind; /* in name order, as osquery_registry lists them */

/* "config", "distributed", "logger", "table"; "unknown" out of range. */
const char *osq_registry_name(osq_registry_kind kind);
/* -1 if the name is not one of osq's registries. */
int osq_registry_from_name(const char *name);
/* True for registry names osquery knows but osq does not serve (e.g.
 * "sql", "event_subscriber"): extensions may broadcast them empty. */
bool osq_registry_is_foreign(const char *name);

#define OSQ_CORE_UUID 0

typedef struct osq_plugin {
  osq_registry_kind kind;
  const char *name; /* the plugin struct's own name */
  uint64_t owner;   /* OSQ_CORE_UUID or the extension's uuid */
  bool internal;
  union {
    const osq_table_plugin *table;
    const osq_config_plugin *config;
    const osq_logger_plugin *logger;
    const osq_distributed_plugin *distributed;
    const void *any;
  } u;
} osq_plugin;

/* The name of a plugin struct of that kind (NULL for an unknown kind). */
const char *osq_plugin_name_of(osq_registry_kind kind, const void *plugin);
/* Call the plugin struct's destroy(udata), if it has one. */
void osq_plugin_destroy_of(osq_registry_kind kind, const void *plugin);

/* One plugin to add to a registry (registry/registry.h's add_all); the
 * remote client builds these for an extension's routes. */
typedef struct osq_plugin_spec {
  osq_registry_kind kind;
  const void *plugin; /* osq_table_plugin * etc. */
  uint64_t owner;
  bool internal;
} osq_plugin_spec;

#endif
