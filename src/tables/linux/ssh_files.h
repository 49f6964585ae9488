/* The system-wide ssh client configuration ssh_configs reads (tests point
 * it elsewhere). */
#ifndef OSQ_TABLES_SSH_FILES_H
#define OSQ_TABLES_SSH_FILES_H

extern const char *osq_tables_ssh_config_path; /* /etc/ssh/ssh_config */

#endif
