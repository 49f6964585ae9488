/* --pack NAME: run every query of one pack from the config the
 * config_plugin produces, in order, stopping at the first failure
 * (osquery-host.md §5.2). */
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "config/filesystem.h"
#include "core/flags.h"
#include "plugin/plugin_impl.h"
#include "registry/registry.h"
#include "shell.h"

static osq_config *load_config(char *err, size_t errlen) {
  if (!osq_registry_exists(OSQ_REGISTRY_CONFIG, "filesystem"))
    osq_registry_add(OSQ_REGISTRY_CONFIG, &osq_config_filesystem,
                     OSQ_CORE_UUID, false, err, errlen);
  const char *name = osq_flag_str("config_plugin");
  const osq_plugin *p = osq_registry_get(OSQ_REGISTRY_CONFIG, name);
  if (p == NULL) {
    snprintf(err, errlen, "Cannot activate %s config plugin: Unknown "
             "registry plugin: %s", name, name);
    return NULL;
  }
  const osq_config_plugin *cp = p->u.config;
  osq_strmap src;
  osq_strmap_init(&src);
  osq_config *c = NULL;
  uint64_t mark = osq_error_mark();
  if (cp->generate == NULL || cp->generate(&src, cp->udata) != OSQ_OK)
    snprintf(err, errlen, "%s",
             osq_error_reason(osq_strmap_message(&src), mark,
                              "the config plugin failed"));
  else
    c = osq_config_build(&src, cp->gen_pack, cp->udata, err, errlen);
  osq_strmap_clear(&src);
  osq_plugin_release(p);
  return c;
}

int shell_run_pack(shell *sh, const char *pack) {
  char err[1024] = "";
  osq_config *c = load_config(err, sizeof err);
  if (c == NULL) {
    fprintf(sh->err, "Error: cannot load the config: %s\n", err);
    return 1;
  }
  int rc = 0;
  bool found = false;
  for (size_t i = 0; i < c->npacks && rc == 0; i++) {
    const osq_pack *p = &c->packs[i];
    if (strcmp(p->name, pack) != 0)
      continue;
    found = true;
    for (size_t q = 0; q < p->nqueries && rc == 0; q++) {
      rc = shell_run_query(sh, p->queries[q].sql);
      if (rc != 0)
        fprintf(sh->err, "Could not execute query %s: %s\n",
                p->queries[q].qname, p->queries[q].sql);
    }
  }
  if (!found) {
    fprintf(sh->err, "Error: the config has no pack named '%s'\n", pack);
    rc = 1;
  }
  osq_config_free(c);
  return rc;
}
