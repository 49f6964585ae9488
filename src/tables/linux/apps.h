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

/* ---- files as another process sees them (pid_with_namespace) -------- */

/* Until osq_apps_leave_root, the osq_apps_* file functions of this thread
 * resolve absolute paths inside the root directory of process pid, every
 * symlink and ".." confined to it (osq_tbl_open_beneath). pid <= 0: the
 * host's files. False if that root cannot be opened. */
bool osq_apps_enter_root(int64_t pid);
void osq_apps_leave_root(void);

#include <stdio.h>
#include <sys/stat.h>

/* stat(2) in the current root (following symlinks, confined). */
int osq_apps_stat(const char *path, struct stat *st);
/* The names in directory dir except "." and "..", those keep rejects
 * (when not NULL); sorted. False if dir cannot be opened. */
struct osq_pathlist;
bool osq_apps_readdir(struct osq_pathlist *l, const char *dir,
                      bool (*keep)(const char *name));
/* A regular file of at most --read_max bytes, not through a symlink at
 * its last component, for reading line by line; NULL otherwise. */
FILE *osq_apps_fopen(const char *path);

/* Manifests and metadata files are small; a bigger one is not read. */
#define OSQ_APPS_MANIFEST_MAX (4u * 1024 * 1024)

#endif
