/* Built-in table plugins.
 *
 * Threads: register on the main thread at start-up. */
#ifndef OSQ_TABLES_H
#define OSQ_TABLES_H

/* Register every built-in table with the registry (owner 0), and with
 * --enable_foreign osquery's tables of other platforms as empty tables.
 * Returns 0 or a negative OSQ_E* code. */
int osq_tables_register_builtin(void);

#include <jansson.h>

/* The config's "prometheus_targets" section ({"urls": [...], "timeout":
 * seconds}) for the prometheus_metrics table; NULL clears it. Copied:
 * any thread, at any time. */
void osq_tables_set_prometheus_targets(const json_t *section);

#endif
