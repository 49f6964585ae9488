/* Values of the osquery_info table that the daemon owns. */
#ifndef OSQ_TABLES_OSQUERY_INFO_H
#define OSQ_TABLES_OSQUERY_INFO_H

#include <stdbool.h>
#include <sys/types.h>

/* The hash of the config in use and whether it parsed (config_hash,
 * config_valid). hash may be NULL (shown as ""). */
void osq_info_set_config(const char *hash, bool valid);
/* The watcher's pid (the worker reports its parent), or -1 for none. */
void osq_info_set_watcher(pid_t pid);

/* Where the instance id is kept (tests point it elsewhere; NULL restores
 * the default /var/osq/instance_id). Resets the cached value. */
void osq_info_set_instance_path(const char *path);
/* The instance id osquery_info shows (36 characters + NUL). */
void osq_info_instance_id(char out[37]);

#endif
