/* Loading the config from a config plugin, shared by osqd's worker,
 * osqi's --pack and both programs' --config_check / --config_dump
 * (osquery's rules: docs/daemon.md, "Checking a config").
 * Any thread; the registry is read under its own lock. */
#ifndef OSQ_CONFIG_LOAD_H
#define OSQ_CONFIG_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config/config.h"

/* Exit code of a process whose config plugin cannot be activated. */
#define OSQ_CONFIG_EXIT_NO_PLUGIN 78

typedef enum osq_config_status {
  OSQ_CONFIG_LOADED = 0,
  OSQ_CONFIG_NO_PLUGIN,    /* no registered config plugin of that name */
  OSQ_CONFIG_FETCH_FAILED, /* the plugin's generate failed */
  OSQ_CONFIG_PARSE_FAILED, /* a source is not a valid config */
} osq_config_status;

/* Generate the sources with the config plugin named plugin and build
 * them into *cfg. keep (may be NULL): receives the sources when the
 * config was built (the daemon's backup).
 * On failure err says why: for OSQ_CONFIG_NO_PLUGIN in osquery's words,
 * "Cannot activate NAME config plugin: Unknown registry plugin: NAME". */
osq_config_status osq_config_load(const char *plugin, osq_strmap *keep,
                                  osq_config **cfg, char *err,
                                  size_t errlen);

/* Register the built-in "filesystem" config plugin if it is not yet.
 * 0, or -1 with err set. */
int osq_config_register_builtin(char *err, size_t errlen);

/* --config_check (dump false) or --config_dump (dump true) with the
 * plugin --config_plugin names, as osquery does them: messages to errf,
 * the dump to out. Returns the exit code: 0; 1 when the config cannot
 * be read or (check) parsed, with "Error reading config: why";
 * OSQ_CONFIG_EXIT_NO_PLUGIN for an unknown plugin. A dump prints each
 * source as {"name": text}, one line each, unparsed, so only a failed
 * fetch fails it. */
int osq_config_check_main(bool dump, FILE *out, FILE *errf);

#endif
