/* Files the etc_hosts and mounts tables read (tests point them
 * elsewhere).
 *
 * Threads: set before any query (tests); then read-only from any thread. */
#ifndef OSQ_TABLES_MISC_H
#define OSQ_TABLES_MISC_H

extern const char *osq_tables_hosts_path;  /* default /etc/hosts */
extern const char *osq_tables_mounts_path; /* default /proc/mounts */

#endif
