/* Inputs of arp_cache, routes and dns_resolvers (tests point them
 * elsewhere).
 *
 * Threads: set before any query (tests); then read-only from any thread. */
#ifndef OSQ_TABLES_NET_CONFIG_H
#define OSQ_TABLES_NET_CONFIG_H

extern const char *osq_tables_resolv_path; /* default /etc/resolv.conf */
extern const char *osq_tables_proc_net;    /* default /proc/net */

#endif
