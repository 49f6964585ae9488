/* Files the os_version table reads (tests point it elsewhere).
 *
 * Threads: set before any query (tests); then read-only from any thread. */
#ifndef OSQ_TABLES_SYSTEM_H
#define OSQ_TABLES_SYSTEM_H

extern const char *osq_tables_os_release_path; /* default /etc/os-release */

#endif
