#include "remote/tls.h"

#include "core/log.h"
#include "registry/registry.h"
#include "remote/carve.h"
#include "remote/plugins.h"
#include "sql/sql.h"

#include <stdio.h>

int osq_tls_register(const osq_tls_env *env, char *err,
                        size_t errlen) {
  if (osq_node_open(env, err, errlen) != 0)
    return -1;
  if (osq_sql_add_functions(osq_carve_register_function) != 0) {
    snprintf(err, errlen, "cannot add the carve() SQL function");
    return -1;
  }
  const osq_plugin_spec specs[] = {
      {OSQ_REGISTRY_CONFIG, &osq_remote_tls_config, OSQ_CORE_UUID, false},
      {OSQ_REGISTRY_LOGGER, &osq_remote_tls_logger, OSQ_CORE_UUID, false},
      {OSQ_REGISTRY_DISTRIBUTED, &osq_remote_tls_distributed, OSQ_CORE_UUID,
       false},
      {OSQ_REGISTRY_TABLE, &osq_remote_carves_table, OSQ_CORE_UUID, false},
  };
  for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
    const char *name = specs[i].kind == OSQ_REGISTRY_TABLE ? "carves" : "tls";
    if (osq_registry_exists(specs[i].kind, name))
      continue;
    if (osq_registry_add(specs[i].kind, specs[i].plugin, specs[i].owner,
                         specs[i].internal, err, errlen) != 0)
      return -1;
  }
  return 0;
}

void osq_tls_shutdown(void) {
  osq_carve_shutdown();
  osq_remote_tls_logger_stop();
  osq_remote_tls_config_stop();
  osq_remote_tls_distributed_stop();
  osq_node_close();
}
