/* Per-user files of local accounts, for the user-based tables
 * (authorized_keys, shell_history, known_hosts, user_ssh_keys,
 * ssh_configs). */
#ifndef OSQ_TABLES_USER_FILES_H
#define OSQ_TABLES_USER_FILES_H

#include <osq/plugin.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Open a user's file for reading: a regular file, no symlink at the last
 * component, no larger than --read_max. NULL otherwise. */
FILE *osq_user_file_open(const char *path);

/* Reads one user's file (or directory); line is the caller's buffer of
 * the linecap given to osq_each_user_file. */
typedef int (*osq_user_file_fn)(osq_rows *out, uint32_t uid, const char *path,
                                char *line);

/* Call fn for each of the nnames files (relative to the home directory)
 * of every local user with an absolute home whom the "=" constraints on
 * uid_col let through (a JOIN against users arrives as one uid at a
 * time). fn gets a linecap-byte line buffer. With once_per_home, an
 * account with the uid and home of an earlier one (root and toor) is
 * skipped. */
int osq_each_user_file(const osq_context *ctx, osq_rows *out, size_t uid_col,
                       const char *const *names, size_t nnames, size_t linecap,
                       bool once_per_home, osq_user_file_fn fn);

#endif
