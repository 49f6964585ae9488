/* Values of the osquery_info table that the daemon owns.
 *
 * Thread-safe: any thread. */
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
/* Values the daemon keeps in its store (host_uuid_v3, instance_uuid_v1),
 * so osquery_info matches the host identifier in its logs. A value that
 * is not a 36-character UUID is ignored (returns false); NULL reverts to
 * the table's own source. */
bool osq_info_set_host_uuid(const char *uuid);
bool osq_info_set_instance_id(const char *uuid);

/* The instance id osquery_info shows (36 characters + NUL). */
void osq_info_instance_id(char out[37]);

#endif
