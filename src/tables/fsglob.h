/* Paths from the constraints of the file and hash tables.
 *
 * A LIKE pattern on a path is expanded as osquery does: '%' matches within
 * one path component, a trailing '%%' matches everything below (the
 * component itself and, recursively, its contents); '_' matches one
 * character. Matching is ASCII case-insensitive like SQLite's LIKE; SQLite
 * re-checks every row, so the expansion only has to be a superset.
 *
 * Thread-safe: any thread (no shared state). */
#ifndef OSQ_TABLES_FSGLOB_H
#define OSQ_TABLES_FSGLOB_H

#include <osq/plugin.h>

#include <stdbool.h>
#include <stddef.h>

enum {
  OSQ_GLOB_FILES = 1, /* non-directories */
  OSQ_GLOB_DIRS = 2,  /* directories (symlinks to them count) */
};

/* Limits on a single expansion; past them the walk stops with a warning
 * naming the limit. The work is bounded by the directories read, not only
 * by the matches: a pattern that matches nothing can still walk the whole
 * tree (and /proc's symlinks back to "/"). */
#define OSQ_GLOB_MAX_RESULTS 200000
#define OSQ_GLOB_MAX_DEPTH 64
#define OSQ_GLOB_MAX_DIRS 100000
/* The directory bound in force (OSQ_GLOB_MAX_DIRS; tests lower it). */
extern size_t osq_glob_max_dirs;
/* How many directories are read between two osq_cancelled() checks. */
#define OSQ_GLOB_CANCEL_EVERY 16

typedef struct osq_pathlist {
  char **items;
  size_t n, cap;
  bool truncated; /* a limit stopped an expansion */
  bool cancelled; /* osq_cancelled() stopped one: the rows are not wanted */
} osq_pathlist;

void osq_pathlist_free(osq_pathlist *l);
int osq_pathlist_add(osq_pathlist *l, const char *path);
/* Sort and drop duplicates. */
void osq_pathlist_unique(osq_pathlist *l);
/* Add the names in directory dir, except "." and ".." and those keep
 * (when not NULL) rejects, then sort and drop duplicates. False if dir
 * cannot be opened. When l is full or memory runs out, the names read so
 * far stay. */
bool osq_pathlist_readdir(osq_pathlist *l, const char *dir,
                          bool (*keep)(const char *name));
/* A keep for osq_pathlist_readdir: names not starting with '.'. */
bool osq_name_not_hidden(const char *name);

/* True if the LIKE pattern has a wildcard (% or _). */
bool osq_glob_has_wildcard(const char *pattern);
/* ASCII case-insensitive LIKE match of one name against one component
 * pattern (% = any run, _ = one byte). */
bool osq_glob_match(const char *pattern, size_t plen, const char *name);
/* Append to out every existing path that pattern matches and whose kind
 * is in flags. Symlinks to directories are followed, except into a
 * directory already on the current path (device and inode), which would
 * be a loop. Returns 0 or a negative OSQ_E* code (only for OOM). */
int osq_glob_expand(const char *pattern, unsigned flags, osq_pathlist *out);

/* The paths a column's constraints name: "=" values as given, LIKE
 * patterns expanded (kinds in like_flags); sorted, without duplicates.
 * Empty values are ignored. Returns 0 or OSQ_ENOMEM. */
int osq_glob_collect(const osq_context *ctx, size_t col, unsigned like_flags,
                     osq_pathlist *out);
/* Only the literal values ("=", and LIKE without a wildcard): inside
 * another process's root, where expanding a pattern would walk the host's
 * tree. */
int osq_glob_collect_literal(const osq_context *ctx, size_t col,
                             osq_pathlist *out);
/* True if col has a constraint the collectors use (= or LIKE). Tables with
 * both a path and a directory column generate from the path constraints
 * alone when there are any: SQLite re-checks the directory, and
 * generating from both would return a file twice. */
bool osq_glob_constrained(const osq_context *ctx, size_t col);

#endif
