/* libFuzzer target: the manager's side of registerExtension, turning an
 * extension's route table (registry -> item -> route info rows) into
 * plugin specs (osq_remote_build: column names, types, options, aliases,
 * column aliases, attributes, registry names, bounds). No server is
 * involved: the remote plugins are built, checked and freed, never
 * called.
 *
 * Input: records split at 0xFF. A record's first byte says what it is:
 *   % 4 == 0  a new route "registry 0xFE item"
 *   % 4 == 1  a new route info row in the current route
 *   % 4 == 2  a cell "key 0xFE value" in the current row
 *   % 4 == 3  a registry sent with an empty route table
 * A table that builds must describe itself (osq_dispatch_route_info) in
 * route info that builds again into the same table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/flags.h"
#include "core/log.h"
#include "ext/client/remote.h"
#include "thrift/dispatch.h"

#define MAX_ROUTES 64

static char *field(const uint8_t *p, size_t n) {
  char *s = malloc(n + 1);
  if (s == NULL)
    abort();
  memcpy(s, p, n);
  s[n] = '\0'; /* a NUL inside ends the C string, as on the wire */
  return s;
}

static void split(const uint8_t *p, size_t n, char **a, char **b) {
  const uint8_t *sep = memchr(p, 0xfe, n);
  size_t an = sep ? (size_t)(sep - p) : n;
  *a = field(p, an);
  *b = sep ? field(sep + 1, n - an - 1) : field(p, 0);
}

static void same_table(const osq_table_plugin *a, const osq_table_plugin *b) {
  if (strcmp(a->name, b->name) != 0 || a->ncolumns != b->ncolumns ||
      a->attributes != b->attributes)
    abort();
  for (size_t i = 0; i < a->ncolumns; i++)
    if (strcmp(a->columns[i].name, b->columns[i].name) != 0 ||
        a->columns[i].type != b->columns[i].type ||
        a->columns[i].options != b->columns[i].options)
      abort();
  size_t na = 0, nb = 0;
  while (a->aliases && a->aliases[na])
    na++;
  while (b->aliases && b->aliases[nb])
    nb++;
  if (na != nb)
    abort();
  for (size_t i = 0; i < na; i++)
    if (strcmp(a->aliases[i], b->aliases[i]) != 0)
      abort();
}

/* Describe t as route info and build it again. */
static void round_trip(osq_remote_ext *e, const osq_table_plugin *t) {
  osq_route_table rt = {0};
  rt.routes = calloc(1, sizeof *rt.routes);
  if (rt.routes == NULL)
    abort();
  rt.n = 1;
  rt.routes[0].registry = strdup("table");
  rt.routes[0].item = strdup(t->name);
  osq_plist_init(&rt.routes[0].info);
  if (osq_dispatch_route_info(t, &rt.routes[0].info) != OSQ_OK)
    abort();
  osq_plugin_spec *specs = NULL;
  size_t n = 0;
  char err[512];
  if (osq_remote_build(e, &rt, &specs, &n, err, sizeof err) != OSQ_OK) {
    fprintf(stderr, "table %s does not build from its own route info: %s\n",
            t->name, err);
    abort();
  }
  if (n != 1 || specs[0].kind != OSQ_REGISTRY_TABLE)
    abort();
  same_table(t, specs[0].plugin);
  osq_remote_specs_free(specs, n);
  osq_route_table_clear(&rt);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  osq_flags_init(OSQ_PERSONALITY_DAEMON);
  char err[256];
  OSQ_FLAG_SET(logger_stderr, "false", err, sizeof err);
  osq_log_configure();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  osq_route_table rt = {0};
  rt.routes = calloc(MAX_ROUTES, sizeof *rt.routes);
  rt.empty_registries = calloc(MAX_ROUTES, sizeof *rt.empty_registries);
  if (rt.routes == NULL || rt.empty_registries == NULL)
    abort();
  osq_strmap *row = NULL;
  const uint8_t *p = data, *end = data + size;
  while (p < end) {
    const uint8_t *f = memchr(p, 0xff, (size_t)(end - p));
    const uint8_t *rend = f ? f : end;
    size_t n = (size_t)(rend - p);
    if (n > 0) {
      uint8_t kind = p[0] % 4;
      const uint8_t *body = p + 1;
      size_t bn = n - 1;
      if (kind == 0 && rt.n < MAX_ROUTES) {
        osq_route *r = &rt.routes[rt.n++];
        split(body, bn, &r->registry, &r->item);
        osq_plist_init(&r->info);
        row = NULL;
      } else if (kind == 1 && rt.n > 0) {
        row = osq_plist_add(&rt.routes[rt.n - 1].info);
      } else if (kind == 2 && row != NULL) {
        char *k, *v;
        split(body, bn, &k, &v);
        osq_strmap_set(row, k, v, strlen(v));
        free(k);
        free(v);
      } else if (kind == 3 && rt.nempty < MAX_ROUTES) {
        rt.empty_registries[rt.nempty++] = field(body, bn);
      }
    }
    p = f ? f + 1 : end;
  }

  osq_remote_ext *e = osq_remote_ext_new(42, "fuzz", "/nonexistent/osq.em.42", NULL);
  if (e == NULL)
    abort();
  osq_plugin_spec *specs = NULL;
  size_t n = 0;
  char err[512] = "";
  int rc = osq_remote_build(e, &rt, &specs, &n, err, sizeof err);
  if (rc != OSQ_OK) {
    if (err[0] == '\0' || specs != NULL || n != 0)
      abort();
  } else {
    for (size_t i = 0; i < n; i++) {
      if (specs[i].owner != 42 || specs[i].plugin == NULL)
        abort();
      if (specs[i].kind == OSQ_REGISTRY_TABLE) {
        const osq_table_plugin *t = specs[i].plugin;
        if (t->ncolumns == 0 || t->ncolumns > OSQ_REMOTE_MAX_COLUMNS)
          abort();
        round_trip(e, t);
      }
    }
    osq_remote_specs_free(specs, n);
  }
  osq_remote_ext_unref(e);
  osq_route_table_clear(&rt);
  return 0;
}
