/* Files the users and groups tables read (tests point them elsewhere). */
#ifndef OSQ_TABLES_USERS_H
#define OSQ_TABLES_USERS_H

extern const char *osq_tables_passwd_path; /* default /etc/passwd */
extern const char *osq_tables_group_path;  /* default /etc/group */

#endif
