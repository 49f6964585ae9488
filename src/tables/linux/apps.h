/* Helpers shared by the tables that read the files of package managers,
 * browsers and editors (python_packages, npm_packages, chrome_extensions,
 * firefox_addons, vscode_extensions, …).
 *
 * Threads: osq_tables_apps_root is set before any query (tests); the
 * functions are safe from any thread. */
#ifndef OSQ_TABLES_APPS_H
#define OSQ_TABLES_APPS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Prefix of the system-wide paths these tables read ("" normally; tests
 * point it at a fixture tree). Per-user paths come from the passwd file. */
extern const char *osq_tables_apps_root;

/* osq_tables_apps_root + abs into out; false if it does not fit. */
bool osq_apps_path(char *out, size_t cap, const char *abs);

/* The whole of a regular file (not through a symlink at its last
 * component) of at most max bytes, NUL-terminated, malloc'd; *len its
 * length when len is not NULL. NULL if missing, not regular, larger than
 * max or unreadable. */
char *osq_apps_slurp(const char *path, size_t max, size_t *len);

/* A JSON file of at most max bytes, parsed; NULL when it cannot be read or
 * is not JSON (a malformed manifest is no error of the query). */
json_t *osq_apps_json_file(const char *path, size_t max);

/* The string member key of obj, or NULL when absent or not a string. */
const char *osq_json_str(const json_t *obj, const char *key);

/* Manifests and metadata files are small; a bigger one is not read. */
#define OSQ_APPS_MANIFEST_MAX (4u * 1024 * 1024)

#endif
