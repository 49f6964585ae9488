/* The shell's config: --pack NAME runs every query of one pack from the
 * config the config_plugin produces, in order, stopping at the first
 * failure (docs/compat.md §5.2); at start the config's tables, yara
 * rules and event paths are taken. Main thread. */
#include <stdio.h>
#include <string.h>

#include "config/load.h"
#include "core/flags.h"
#include "core/log.h"
#include "events/events.h"
#include "plugin/plugin_impl.h"
#include "registry/registry.h"
#include "shell.h"
#include "tables/atc.h"
#include "tables/yara.h"
#include "tables/tables.h"

#include <unistd.h>

int shell_run_pack(shell *sh, const char *pack) {
  char err[1024] = "";
  osq_config *c = NULL;
  if (osq_config_register_builtin(err, sizeof err) == 0)
    osq_config_load(OSQ_FLAG_STR(config_plugin), NULL, &c, err, sizeof err);
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

/* osqueryi reads its config at start. A missing default config file is
 * no error for a shell. */
void shell_load_config(void) {
  if (strcmp(OSQ_FLAG_STR(config_plugin), "filesystem") == 0 &&
      access(OSQ_FLAG_STR(config_path), R_OK) != 0) {
    osq_events_configure(NULL);
    return;
  }
  char err[1024] = "";
  osq_config *c = NULL;
  if (osq_config_register_builtin(err, sizeof err) == 0)
    osq_config_load(OSQ_FLAG_STR(config_plugin), NULL, &c, err, sizeof err);
  if (c == NULL) {
    OSQ_WARN("cannot load the config: %s", err);
    osq_events_configure(NULL);
    return;
  }
  osq_atc_apply(c->atc);
  osq_yara_apply(c->yara);
  osq_tables_set_prometheus_targets(c->prometheus);
  osq_events_configure(c->sources);
  osq_config_free(c);
}
