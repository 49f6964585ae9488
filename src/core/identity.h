/* Which names osq answers to. Started as osqi/osqd it is osq, with its own
 * paths (/etc/osq, /var/osq, /var/log/osq, ~/.osq). Started (or linked)
 * as osqueryi/osqueryd it is a drop-in for osquery's binaries: osquery's
 * default paths, prompt and --version text (docs/shell.md, "Drop-in").
 *
 * Call osq_identity_init once from main(), after osq_flags_init and
 * before osq_flags_parse: it sets the path defaults of the flags. The
 * getters may be called from any thread afterwards. */
#ifndef OSQ_CORE_IDENTITY_H
#define OSQ_CORE_IDENTITY_H

#include <stdbool.h>

/* Decide from argv[0]'s basename (a name starting with "osquery" is
 * osquery's) and set the default paths of the flags for the personality
 * chosen by osq_flags_init. */
void osq_identity_init(const char *argv0);

/* True when running under one of osquery's names. */
bool osq_identity_is_osquery(void);

/* "osq" or "osquery": the prompt, the home directory, messages. */
const char *osq_identity_product(void);

/* What --version prints after "<name> version ": osq's own version, or
 * the osquery version whose behaviour osq follows. */
const char *osq_identity_version(void);

/* The daemon's flagfile when none is given: /etc/osq/osq.flags or
 * /etc/osquery/osquery.flags. */
const char *osq_identity_daemon_flagfile(void);

/* The shell's optional defaults file: /etc/osq/osq.flags.default or
 * /etc/osquery/osquery.flags.default. */
const char *osq_identity_shell_flagfile(void);

/* The per-user directory name under $HOME: ".osq" or ".osquery". */
const char *osq_identity_home_name(void);

/* The daemon's process name, as /proc/<pid>/comm and syslog show it. */
const char *osq_identity_daemon_name(void);

#endif
