/* Inside the remote layer: the three tls plugins and their stops.
 *
 * Threads: as their plugin structs say (any). */
#ifndef OSQ_REMOTE_PLUGINS_H
#define OSQ_REMOTE_PLUGINS_H

#include <osq/plugin.h>

#include "remote/node.h"

extern const osq_config_plugin osq_remote_tls_config;
extern const osq_logger_plugin osq_remote_tls_logger;
extern const osq_distributed_plugin osq_remote_tls_distributed;

void osq_remote_tls_config_stop(void);
void osq_remote_tls_logger_stop(void);
void osq_remote_tls_distributed_stop(void);

#endif
