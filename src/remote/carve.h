/* File carving (docs/fleet.md, "Carving"): the carves table starts a
 * carve when a query asks for carve=1 and a path; a worker thread packs
 * the files into a tar (zstd-compressed with --carver_compression) and
 * uploads it in blocks to --carver_start_endpoint and
 * --carver_continue_endpoint. Each carve's state (status, sha256, size)
 * lives in the remote state connection's carves table and is forgotten
 * --carver_expiry seconds after it ended.
 *
 * Threads: the table: any; carves run on threads of their own. */
#ifndef OSQ_REMOTE_CARVE_H
#define OSQ_REMOTE_CARVE_H

#include <osq/plugin.h>

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

/* Archives larger than this are refused (they are built in memory). */
#define OSQ_CARVE_MAX_BYTES (512u * 1024 * 1024)

extern const osq_table_plugin osq_remote_carves_table;

/* The carve(path) aggregate SQL function on db (an osq_sql_functions_fn):
 * one carve of every path of its rows; the result is the carve_guid. With
 * --carver_disable_function (the default) it fails saying so. */
int osq_carve_register_function(sqlite3 *db, char *err, size_t errlen);

/* The distributed query id the calling thread runs (NULL: none); the
 * carves table records it as a carve's request_id. */
void osq_carve_set_request_id(const char *id);

/* Wait for running carves to end (they are told to stop). */
void osq_carve_shutdown(void);

/* Wait for running carves to end on their own (uploaded or failed). */
void osq_carve_wait(void);

/* A ustar archive of the files in paths (entry names without the leading
 * '/'), appended to *buf (malloc'd, *len bytes). 0, or -1 with err. */
int osq_carve_tar(const char *const *paths, size_t n, unsigned char **buf,
                  size_t *len, char *err, size_t errlen);

#endif
