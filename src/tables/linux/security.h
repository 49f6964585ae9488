/* Files and trees the shadow, selinux_settings and apparmor_profiles tables
 * read (tests point them elsewhere). */
#ifndef OSQ_TABLES_SECURITY_H
#define OSQ_TABLES_SECURITY_H

extern const char *osq_tables_shadow_path; /* default /etc/shadow */
/* default /sys/kernel/security/apparmor/policy/profiles */
extern const char *osq_tables_apparmor_profiles;

#endif
