/* One member of a ZIP archive (a .jar), read with bounds: the central
 * directory is located from the end record, the member is stored or
 * deflated (zlib, loaded with dlopen on first use so that osq does not
 * link it for the one table that reads archives).
 *
 * Thread-safe: any thread. */
#ifndef OSQ_TABLES_ZIPREAD_H
#define OSQ_TABLES_ZIPREAD_H

#include <stddef.h>

/* The contents of member name of the archive at path, NUL-terminated,
 * malloc'd, at most max bytes (*len its length). NULL when the file is no
 * ZIP archive, lacks the member, the member is larger than max, uses
 * another compression, is damaged, or zlib is needed and missing. */
char *osq_zip_read_member(const char *path, const char *name, size_t max,
                          size_t *len);

#endif
