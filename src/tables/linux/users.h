/* Files the users and groups tables read (tests point them elsewhere).
 *
 * Threads: set before any query (tests); then read-only from any thread. */
#ifndef OSQ_TABLES_USERS_H
#define OSQ_TABLES_USERS_H

extern const char *osq_tables_passwd_path; /* default /etc/passwd */
extern const char *osq_tables_group_path;  /* default /etc/group */

#include <stddef.h>
#include <stdint.h>

/* One account of the passwd file, for tables that read per-user files. */
typedef struct osq_local_user {
  uint32_t uid, gid;
  char *name, *dir;
} osq_local_user;

/* Every well-formed account of osq_tables_passwd_path (free with
 * osq_tables_users_free). */
size_t osq_tables_users_list(osq_local_user **out);
void osq_tables_users_free(osq_local_user *u, size_t n);

#endif
