/* The root the apt_sources and yum_sources tables read /etc/apt,
 * /var/lib/apt/lists and /etc/yum* under (tests point it at a fixture). */
#ifndef OSQ_TABLES_REPO_SOURCES_H
#define OSQ_TABLES_REPO_SOURCES_H

extern const char *osq_tables_sources_root; /* default "/" */

#endif
