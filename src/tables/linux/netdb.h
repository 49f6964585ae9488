/* Files the etc_services and etc_protocols tables read (tests point them
 * elsewhere). */
#ifndef OSQ_TABLES_NETDB_H
#define OSQ_TABLES_NETDB_H

extern const char *osq_tables_services_path;  /* default /etc/services */
extern const char *osq_tables_protocols_path; /* default /etc/protocols */

#endif
