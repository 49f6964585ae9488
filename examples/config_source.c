/* config_source: a config plugin that serves osquery's config from a file
 * or from an environment variable, checked before it is handed over.
 *
 *   OSQ_CONFIG_JSON='{"schedule":{...}}' ./config_source.ext --socket S
 *   ./config_source.ext --socket S --config_source /etc/osq/fleet.conf
 *   osqd --config_plugin=config_source ...
 *
 * The file is read on every genConfig, so a refresh picks up edits. A
 * config that is not valid JSON is refused with the position of the error,
 * and the core keeps its last good config. Packs given as strings in the
 * config are treated as file paths (as osquery's filesystem plugin does). */
#include <osq/extension.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CONFIG (16 * 1024 * 1024)

static const char *config_path; /* --config_source, or $OSQ_CONFIG_FILE */

static char *read_file(const char *path, size_t *len, char *err,
                       size_t errlen) {
  FILE *f = fopen(path, "re");
  if (f == NULL) {
    snprintf(err, errlen, "cannot open %s: %m", path);
    return NULL;
  }
  char *buf = malloc(MAX_CONFIG + 1);
  size_t n = buf ? fread(buf, 1, MAX_CONFIG + 1, f) : 0;
  fclose(f);
  if (buf == NULL || n > MAX_CONFIG) {
    snprintf(err, errlen, "%s is larger than %d bytes", path, MAX_CONFIG);
    free(buf);
    return NULL;
  }
  buf[n] = '\0';
  *len = n;
  return buf;
}

/* Hand over only what the core can parse; name the spot if it cannot. */
static int put_checked(osq_strmap *out, const char *key, const char *what,
                       const char *text, size_t len) {
  json_error_t e;
  json_t *j = json_loadb(text, len, 0, &e);
  if (j == NULL) {
    osq_error("config_source: %s: %s at line %d column %d", what, e.text,
              e.line, e.column);
    return OSQ_ERROR;
  }
  json_decref(j);
  return osq_strmap_set(out, key, text, len);
}

static int gen_config(osq_strmap *out, void *udata) {
  (void)udata;
  const char *env = getenv("OSQ_CONFIG_JSON");
  if (config_path == NULL && env != NULL)
    return put_checked(out, "config_source", "$OSQ_CONFIG_JSON", env,
                       strlen(env));
  if (config_path == NULL) {
    osq_error("config_source: set $OSQ_CONFIG_JSON, $OSQ_CONFIG_FILE or "
              "--config_source PATH");
    return OSQ_ERROR;
  }
  char err[600];
  size_t len;
  char *text = read_file(config_path, &len, err, sizeof err);
  if (text == NULL) {
    osq_error("config_source: %s", err);
    return OSQ_ERROR;
  }
  int rc = put_checked(out, config_path, config_path, text, len);
  free(text);
  return rc;
}

static int gen_pack(const char *name, const char *value, osq_strmap *out,
                    void *udata) {
  (void)udata;
  char err[600];
  size_t len;
  char *text = read_file(value, &len, err, sizeof err);
  if (text == NULL) {
    osq_error("config_source: pack %s: %s", name, err);
    return OSQ_ERROR;
  }
  int rc = put_checked(out, name, value, text, len);
  free(text);
  return rc;
}

static const osq_config_plugin plugin = {
    .name = "config_source",
    .generate = gen_config,
    .gen_pack = gen_pack,
};

int main(int argc, char **argv) {
  config_path = getenv("OSQ_CONFIG_FILE");
  for (int i = 1; i < argc; i++) { /* our own flag; the SDK ignores it */
    if (strcmp(argv[i], "--config_source") == 0 && i + 1 < argc)
      config_path = argv[++i];
    else if (strncmp(argv[i], "--config_source=", 16) == 0)
      config_path = argv[i] + 16;
  }
  osq_extension *ext = osq_extension_new("config_source", "1.0.0");
  if (ext == NULL || osq_extension_add_config(ext, &plugin) != OSQ_OK) {
    fprintf(stderr, "config_source: cannot set up the extension: %s\n",
            ext ? osq_last_error() : "out of memory");
    return 1;
  }
  int code = osq_extension_run(ext, argc, argv);
  osq_extension_free(ext);
  return code;
}
