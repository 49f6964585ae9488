#include "config/load.h"

#include <jansson.h>
#include <stdlib.h>

#include "config/filesystem.h"
#include "core/flags.h"
#include "plugin/plugin_impl.h"
#include "registry/registry.h"

static void print_sources(const osq_strmap *src, FILE *out) {
  for (size_t i = 0; i < osq_strmap_count(src); i++) {
    size_t len;
    const char *v = osq_strmap_val(src, i, &len);
    json_t *k = json_string(osq_strmap_key(src, i));
    char *ks = k ? json_dumps(k, JSON_ENCODE_ANY) : NULL;
    fprintf(out, "{%s: %.*s}\n", ks ? ks : "\"\"", (int)len, v);
    free(ks);
    json_decref(k);
  }
  fflush(out);
}

static void keep_sources(const osq_strmap *src, osq_strmap *keep) {
  for (size_t i = 0; i < osq_strmap_count(src); i++) {
    size_t len;
    const char *v = osq_strmap_val(src, i, &len);
    osq_strmap_set(keep, osq_strmap_key(src, i), v, len);
  }
}

/* The plugin's sources into src; the plugin stays held in *held (for its
 * gen_pack) until the caller releases it. */
static osq_config_status fetch(const char *plugin, osq_strmap *src,
                               const osq_plugin **held, char *err,
                               size_t errlen) {
  *held = osq_registry_get(OSQ_REGISTRY_CONFIG, plugin);
  if (*held == NULL) {
    snprintf(err, errlen,
             "Cannot activate %s config plugin: Unknown registry plugin: %s",
             plugin, plugin);
    return OSQ_CONFIG_NO_PLUGIN;
  }
  const osq_config_plugin *cp = (*held)->u.config;
  uint64_t mark = osq_error_mark();
  if (cp->generate == NULL || cp->generate(src, cp->udata) != OSQ_OK) {
    snprintf(err, errlen, "%s",
             osq_error_reason(osq_strmap_message(src), mark,
                              "the config plugin failed"));
    return OSQ_CONFIG_FETCH_FAILED;
  }
  return OSQ_CONFIG_LOADED;
}

osq_config_status osq_config_load(const char *plugin, osq_strmap *keep,
                                  osq_config **cfg, char *err,
                                  size_t errlen) {
  *cfg = NULL;
  osq_strmap src;
  osq_strmap_init(&src);
  const osq_plugin *p = NULL;
  osq_config_status st = fetch(plugin, &src, &p, err, errlen);
  if (st == OSQ_CONFIG_LOADED) {
    const osq_config_plugin *cp = p->u.config;
    *cfg = osq_config_build(&src, cp->gen_pack, cp->udata, err, errlen);
    if (*cfg == NULL)
      st = OSQ_CONFIG_PARSE_FAILED;
    else if (keep)
      keep_sources(&src, keep);
  }
  osq_strmap_clear(&src);
  osq_plugin_release(p);
  return st;
}

int osq_config_register_builtin(char *err, size_t errlen) {
  if (osq_registry_exists(OSQ_REGISTRY_CONFIG, "filesystem"))
    return 0;
  return osq_registry_add(OSQ_REGISTRY_CONFIG, &osq_config_filesystem,
                          OSQ_CORE_UUID, false, err, errlen) == 0
             ? 0
             : -1;
}

int osq_config_check_main(bool dump, FILE *out, FILE *errf) {
  const char *plugin = OSQ_FLAG_STR(config_plugin);
  char err[1024] = "";
  osq_config_status st;
  if (dump) {
    /* the sources as fetched; they are not parsed, so a broken config
     * still dumps */
    osq_strmap src;
    osq_strmap_init(&src);
    const osq_plugin *p = NULL;
    st = fetch(plugin, &src, &p, err, sizeof err);
    if (st == OSQ_CONFIG_LOADED)
      print_sources(&src, out);
    osq_strmap_clear(&src);
    osq_plugin_release(p);
  } else {
    osq_config *cfg = NULL;
    st = osq_config_load(plugin, NULL, &cfg, err, sizeof err);
    osq_config_free(cfg);
  }
  if (st == OSQ_CONFIG_NO_PLUGIN) {
    fprintf(errf, "%s\n", err);
    return OSQ_CONFIG_EXIT_NO_PLUGIN;
  }
  if (st == OSQ_CONFIG_LOADED)
    return 0;
  fprintf(errf, "Error reading config: %s\n", err);
  return 1;
}
