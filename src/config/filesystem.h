/* The "filesystem" config plugin: --config_path plus the *.conf files in
 * <config_path>.d, and packs given as file paths or as "*": glob.
 *
 * Thread-safe: any thread (no state kept between calls). */
#ifndef OSQ_CONFIG_FILESYSTEM_H
#define OSQ_CONFIG_FILESYSTEM_H

#include <stddef.h>

#include <osq/plugin.h>

extern const osq_config_plugin osq_config_filesystem;

/* Read a whole file of at most max bytes (one more is read so that the
 * caller can report "too large"). malloc'd, NUL-terminated; NULL with
 * err set. */
char *osq_read_file_bounded(const char *path, size_t max, size_t *len,
                            char *err, size_t errlen);

#endif
