/* mkdir -p. Any thread. */
#ifndef OSQ_CORE_MKDIRS_H
#define OSQ_CORE_MKDIRS_H

#include <sys/types.h>

/* Create dir and its missing parents with mode (directories that exist
 * keep theirs). 0, or -1 with errno (ENOTDIR when a part is a file,
 * ENAMETOOLONG past PATH_MAX). */
int osq_mkdirs(const char *dir, mode_t mode);

/* The same for the directory that holds path ("a/b/c" -> "a/b"); a bare
 * file name needs nothing. */
int osq_mkdirs_parent(const char *path, mode_t mode);

#endif
