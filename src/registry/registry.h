/* Plugin registries: table, config, logger, distributed.
 *
 * A plugin is a refcounted entry. Readers take a reference
 * (osq_registry_get / osq_registry_list) and may use the plugin after the
 * lock is dropped, even if it is removed meanwhile; the plugin's destroy()
 * runs when the last reference goes. No lock is held across a plugin call,
 * an RPC or SQLite work.
 *
 * Thread-safe: any thread; add listeners before other threads start. */
#ifndef OSQ_REGISTRY_H
#define OSQ_REGISTRY_H

#include "../plugin/kind.h" /* kinds, names, osq_plugin */

/* Add all or none. On a name clash: OSQ_EEXIST and err gets osquery's
 * message "Registry item NAME conflicts with another item of the same
 * name." On failure nothing was added and no destroy() was called. */
int osq_registry_add_all(const osq_plugin_spec *specs, size_t n, char *err,
                         size_t errlen);
int osq_registry_add(osq_registry_kind kind, const void *plugin,
                     uint64_t owner, bool internal, char *err, size_t errlen);
/* Remove one plugin (OSQ_ENOTFOUND if absent). */
int osq_registry_remove(osq_registry_kind kind, const char *name);
/* Remove every plugin an extension owns; returns how many. */
size_t osq_registry_remove_owner(uint64_t owner);

/* A new reference, or NULL. Release with osq_plugin_release. */
const osq_plugin *osq_registry_get(osq_registry_kind kind, const char *name);
void osq_plugin_release(const osq_plugin *p);
bool osq_registry_exists(osq_registry_kind kind, const char *name);

/* References to every plugin of a registry in name order; free with
 * osq_registry_list_free. */
size_t osq_registry_list(osq_registry_kind kind, const osq_plugin ***out);
void osq_registry_list_free(const osq_plugin **list, size_t n);

/* Counts every change; the SQL layer compares it to resync its tables. */
uint64_t osq_registry_generation(void);

/* Active plugin of a registry (comma list allowed for logger). NULL/""
 * means none set. */
void osq_registry_set_active(osq_registry_kind kind, const char *names);
/* Copy of the active string (caller frees), or NULL. */
char *osq_registry_active(osq_registry_kind kind);
bool osq_registry_is_active(osq_registry_kind kind, const char *name);

/* Change listeners (e.g. the extension manager or the SQL layer). Called
 * after the lock is dropped. */
typedef void (*osq_registry_listener)(osq_registry_kind kind,
                                      const char *name, bool added,
                                      void *udata);
void osq_registry_listen(osq_registry_listener fn, void *udata);

/* Drop everything (tests, shutdown). */
void osq_registry_reset(void);

#endif
