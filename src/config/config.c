#include "config/config.h"

#include "config/sha1.h"

#include "core/flags.h"
#include "core/platform.h"
#include "core/log.h"
#include "plugin/plugin_impl.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- parsing one source -------------------------------------------------- */

static int depth_of(const json_t *v) {
  int d = 0;
  if (json_is_object(v)) {
    const char *k;
    json_t *c;
    json_object_foreach((json_t *)v, k, c) {
      int cd = depth_of(c);
      if (cd > d)
        d = cd;
    }
    return d + 1;
  }
  if (json_is_array(v)) {
    size_t i;
    json_t *c;
    json_array_foreach((json_t *)v, i, c) {
      int cd = depth_of(c);
      if (cd > d)
        d = cd;
    }
    return d + 1;
  }
  return 0;
}

json_t *osq_config_parse_text(const char *source, const char *text,
                              size_t len, char *err, size_t errlen) {
  if (len > OSQ_CONFIG_MAX_SIZE) {
    snprintf(err, errlen,
             "Error parsing the config JSON: %s: %zu bytes is over the "
             "limit of %u bytes",
             source, len, OSQ_CONFIG_MAX_SIZE);
    return NULL;
  }
  char *buf = malloc(len + 1);
  if (buf == NULL) {
    snprintf(err, errlen, "out of memory reading %s", source);
    return NULL;
  }
  /* Continuations are joined first; whole-line comments then become empty
   * lines so that error positions still point at the right line. */
  size_t m = 0;
  for (size_t i = 0; i < len; i++) {
    if (text[i] == '\\' && i + 1 < len && text[i + 1] == '\n') {
      i++;
      continue;
    }
    buf[m++] = text[i];
  }
  size_t o = 0;
  for (size_t i = 0; i < m;) {
    size_t end = i;
    while (end < m && buf[end] != '\n')
      end++;
    size_t s = i;
    while (s < end && isspace((unsigned char)buf[s]))
      s++;
    bool comment = (s < end && buf[s] == '#') ||
                   (s + 1 < end && buf[s] == '/' && buf[s + 1] == '/');
    if (!comment) {
      memmove(buf + o, buf + i, end - i);
      o += end - i;
    }
    if (end < m)
      buf[o++] = '\n';
    i = end + 1;
  }
  buf[o] = '\0';
  json_error_t jerr;
  json_t *root = json_loadb(buf, o, 0, &jerr);
  free(buf);
  if (root == NULL) {
    snprintf(err, errlen,
             "Error parsing the config JSON: %s: line %d, column %d: %s",
             source, jerr.line, jerr.column, jerr.text);
    return NULL;
  }
  if (!json_is_object(root)) {
    snprintf(err, errlen,
             "Error parsing the config JSON: %s: the top level must be an "
             "object",
             source);
    json_decref(root);
    return NULL;
  }
  if (depth_of(root) >= OSQ_CONFIG_MAX_DEPTH) {
    snprintf(err, errlen,
             "Error parsing the config JSON: %s: too many nesting levels!",
             source);
    json_decref(root);
    return NULL;
  }
  return root;
}

/* ---- lenient field conversions ------------------------------------------- */

bool osq_config_bool(const json_t *v, bool dflt) {
  if (v == NULL || json_is_null(v))
    return dflt;
  if (json_is_boolean(v))
    return json_is_true(v);
  if (json_is_integer(v))
    return json_integer_value(v) != 0;
  if (json_is_real(v))
    return json_real_value(v) != 0;
  if (json_is_string(v)) {
    const char *s = json_string_value(v);
    return strcasecmp(s, "true") == 0 || strcasecmp(s, "t") == 0;
  }
  return dflt;
}

bool osq_config_uint(const json_t *v, uint64_t *out) {
  if (json_is_integer(v)) {
    if (json_integer_value(v) < 0)
      return false;
    *out = (uint64_t)json_integer_value(v);
    return true;
  }
  if (json_is_real(v)) {
    double d = json_real_value(v);
    if (d < 0 || d > 1.8e19)
      return false;
    *out = (uint64_t)d;
    return true;
  }
  if (json_is_string(v)) {
    const char *s = json_string_value(v);
    char *end;
    if (*s == '\0' || *s == '-')
      return false;
    unsigned long long x = strtoull(s, &end, 10);
    if (*end != '\0')
      return false;
    *out = x;
    return true;
  }
  return false;
}

static char *str_field(const json_t *o, const char *key) {
  const json_t *v = json_object_get(o, key);
  if (json_is_string(v))
    return strdup(json_string_value(v));
  if (json_is_integer(v)) {
    char b[32];
    snprintf(b, sizeof b, "%lld", (long long)json_integer_value(v));
    return strdup(b);
  }
  return NULL;
}

/* ---- host gates ----------------------------------------------------------- */

bool osq_config_platform_ok(const char *p) { return osq_platform_matches(p); }

bool osq_config_version_ok(const char *want) {
  if (want == NULL || *want == '\0' || strcmp(want, "null") == 0)
    return true;
  const char *have = OSQ_SDK_VERSION;
  for (int i = 0; i < 4; i++) {
    unsigned long a = strtoul(have, (char **)&have, 10);
    unsigned long b = strtoul(want, (char **)&want, 10);
    if (a != b)
      return a > b;
    if (*have == '.')
      have++;
    if (*want == '.')
      want++;
    if (*want == '\0' || *want == '-')
      return true;
  }
  return true;
}

unsigned osq_config_machine_shard(void) {
  char host[HOST_NAME_MAX + 1] = "";
  gethostname(host, sizeof host);
  host[HOST_NAME_MAX] = '\0';
  uint8_t md[OSQ_SHA1_LEN];
  osq_sha1(host, strlen(host), md);
  return (unsigned)md[0] * 100u / 255u;
}

bool osq_config_shard_ok(uint64_t shard) {
  return shard == 0 || shard >= osq_config_machine_shard();
}

/* ---- building ------------------------------------------------------------- */

static bool reserved_name(const char *n) {
  size_t l = strlen(n);
  return strncmp(n, "query.", 6) == 0 || strncmp(n, "cache.", 6) == 0 ||
         strncmp(n, "config_views.", 13) == 0 ||
         (l >= 5 && strcmp(n + l - 5, "epoch") == 0) ||
         (l >= 7 && strcmp(n + l - 7, "counter") == 0);
}

static void query_free(osq_sched_query *q) {
  free(q->name);
  free(q->qname);
  free(q->sql);
  free(q->platform);
  free(q->version);
}

static int cmp_query(const void *a, const void *b) {
  const osq_sched_query *x = a, *y = b;
  if (x->startup_priority != y->startup_priority)
    return x->startup_priority < y->startup_priority ? -1 : 1;
  return strcmp(x->name, y->name);
}

/* Fill pack->queries from a "schedule"/"queries" object. */
static int add_queries(osq_pack *pack, const json_t *queries) {
  size_t n = json_object_size(queries);
  pack->queries = calloc(n ? n : 1, sizeof *pack->queries);
  if (pack->queries == NULL)
    return -1;
  const char *delim = OSQ_FLAG_STR(pack_delimiter);
  bool main_pack = strcmp(pack->name, "main") == 0;
  const char *qname;
  json_t *qv;
  json_object_foreach((json_t *)queries, qname, qv) {
    const json_t *sql = json_object_get(qv, "query");
    if (!json_is_string(sql)) {
      OSQ_VLOG("The query %s has no \"query\" string; skipping it", qname);
      continue;
    }
    if (reserved_name(qname)) {
      OSQ_WARN("Query name is reserved (ends in epoch/counter or starts with "
               "query./cache./config_views.): %s",
               qname);
      continue;
    }
    uint64_t interval = OSQ_FLAG_UINT(schedule_default_interval);
    const json_t *iv = json_object_get(qv, "interval");
    if (iv != NULL && !osq_config_uint(iv, &interval))
      interval = 0;
    if (interval < 1 || interval > OSQ_CONFIG_MAX_INTERVAL) {
      OSQ_WARN("Query has invalid interval: %s: %llu", qname,
               (unsigned long long)interval);
      continue;
    }
    uint64_t shard = 0;
    if (!osq_config_uint(json_object_get(qv, "shard"), &shard))
      shard = 0;
    char *platform = str_field(qv, "platform");
    char *version = str_field(qv, "version");
    bool runs_here = osq_config_platform_ok(platform) &&
                     osq_config_version_ok(version) &&
                     osq_config_shard_ok(shard);
    free(platform);
    free(version);
    if (!runs_here) {
      /* dropped as osquery drops it: not scheduled, not listed */
      OSQ_VLOG("The query %s does not run on this host (platform, version "
               "or shard); skipping it",
               qname);
      continue;
    }
    osq_sched_query *q = &pack->queries[pack->nqueries];
    memset(q, 0, sizeof *q);
    q->qname = strdup(qname);
    if (main_pack) {
      q->name = strdup(qname);
    } else {
      size_t l = strlen(pack->name) + strlen(qname) + 2 * strlen(delim) + 5;
      q->name = malloc(l);
      if (q->name)
        snprintf(q->name, l, "pack%s%s%s%s", delim, pack->name, delim, qname);
    }
    q->sql = strdup(json_string_value(sql));
    q->interval = interval;
    q->removed = osq_config_bool(json_object_get(qv, "removed"), true);
    q->snapshot = osq_config_bool(json_object_get(qv, "snapshot"), false);
    q->denylist = osq_config_bool(json_object_get(qv, "denylist"), true);
    q->platform = str_field(qv, "platform");
    q->version = str_field(qv, "version");
    uint64_t u;
    q->shard = osq_config_uint(json_object_get(qv, "shard"), &u) ? u : 0;
    q->startup_priority =
        osq_config_uint(json_object_get(qv, "startup_priority"), &u)
            ? u
            : UINT64_MAX;
    if (!q->name || !q->qname || !q->sql) {
      query_free(q);
      return -1;
    }
    pack->nqueries++;
  }
  qsort(pack->queries, pack->nqueries, sizeof *pack->queries, cmp_query);
  return 0;
}

static osq_pack *new_pack(osq_config *c, const char *name,
                          const char *source) {
  osq_pack *p = realloc(c->packs, (c->npacks + 1) * sizeof *p);
  if (p == NULL)
    return NULL;
  c->packs = p;
  osq_pack *pk = &p[c->npacks++];
  memset(pk, 0, sizeof *pk);
  pk->name = strdup(name);
  pk->source = strdup(source);
  pk->gated_ok = true;
  if (!pk->name || !pk->source)
    return NULL;
  return pk;
}

static int add_pack_object(osq_config *c, const char *name,
                           const char *source, const json_t *obj) {
  osq_pack *pk = new_pack(c, name, source);
  if (pk == NULL)
    return -1;
  pk->platform = str_field(obj, "platform");
  pk->version = str_field(obj, "version");
  uint64_t u;
  pk->shard = osq_config_uint(json_object_get(obj, "shard"), &u) ? u : 0;
  pk->gated_ok = osq_config_platform_ok(pk->platform) &&
                 osq_config_version_ok(pk->version) &&
                 osq_config_shard_ok(pk->shard);
  const json_t *disc = json_object_get(obj, "discovery");
  if (json_is_array(disc)) {
    pk->discovery = calloc(json_array_size(disc) + 1, sizeof(char *));
    if (pk->discovery == NULL)
      return -1;
    size_t i;
    json_t *d;
    json_array_foreach((json_t *)disc, i, d) {
      if (json_is_string(d))
        pk->discovery[pk->ndiscovery++] = strdup(json_string_value(d));
    }
  }
  const json_t *qs = json_object_get(obj, "queries");
  if (!pk->gated_ok || !json_is_object(qs))
    return 0; /* listed, but inactive or empty */
  return add_queries(pk, qs);
}

static int add_packs(osq_config *c, const char *source, const json_t *packs,
                     osq_gen_pack_fn gen, void *udata) {
  const char *name;
  json_t *v;
  json_object_foreach((json_t *)packs, name, v) {
    if (json_is_object(v)) {
      if (add_pack_object(c, name, source, v) != 0)
        return -1;
      continue;
    }
    if (!json_is_string(v)) {
      OSQ_WARN("Error config pack %s should be an object or a string", name);
      continue;
    }
    if (gen == NULL) {
      OSQ_WARN("Cannot resolve pack %s: the config plugin has no genPack",
               name);
      continue;
    }
    osq_strmap out;
    osq_strmap_init(&out);
    uint64_t mark = osq_error_mark();
    if (gen(name, json_string_value(v), &out, udata) != 0) {
      OSQ_WARN("Error resolving pack %s: %s", name,
               osq_error_reason(osq_strmap_message(&out), mark,
                                "the config plugin failed"));
      osq_strmap_clear(&out);
      continue;
    }
    for (size_t i = 0; i < osq_strmap_count(&out); i++) {
      size_t len;
      const char *text = osq_strmap_val(&out, i, &len);
      const char *pname = osq_strmap_key(&out, i);
      char err[512];
      json_t *obj = osq_config_parse_text(pname, text, len, err, sizeof err);
      if (obj == NULL) {
        OSQ_WARN("Error parsing pack %s: %s", pname, err);
        continue;
      }
      int rc = add_pack_object(c, pname, source, obj);
      json_decref(obj);
      if (rc != 0) {
        osq_strmap_clear(&out);
        return -1;
      }
    }
    osq_strmap_clear(&out);
  }
  return 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

osq_config *osq_config_build(const osq_strmap *sources, osq_gen_pack_fn gen,
                             void *udata, char *err, size_t errlen) {
  osq_config *c = calloc(1, sizeof *c);
  size_t n = osq_strmap_count(sources);
  const char **names = calloc(n ? n : 1, sizeof *names);
  if (c == NULL || names == NULL)
    goto oom;
  c->options = json_object();
  c->decorators = json_array();
  c->sources = json_object();
  c->atc = json_object();
  c->yara = json_object();
  if (!c->options || !c->decorators || !c->sources || !c->atc || !c->yara)
    goto oom;
  for (size_t i = 0; i < n; i++)
    names[i] = osq_strmap_key(sources, i);
  qsort(names, n, sizeof *names, cmp_str);
  char *digests = calloc(n ? n : 1, 41);
  if (digests == NULL)
    goto oom;
  for (size_t i = 0; i < n; i++) {
    size_t len = 0;
    const char *text = osq_strmap_get(sources, names[i]);
    for (size_t k = 0; k < n; k++)
      if (osq_strmap_key(sources, k) == names[i])
        text = osq_strmap_val(sources, k, &len);
    osq_sha1_hex(text, len, digests + 40 * i);
    json_object_set_new(c->sources, names[i], json_stringn_nocheck(text, len));
    json_t *root = osq_config_parse_text(names[i], text, len, err, errlen);
    if (root == NULL) {
      free(digests);
      free(names);
      osq_config_free(c);
      return NULL;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
      if (!json_is_object(v) && !json_is_array(v))
        OSQ_WARN("Error config %s should be an array or object", key);
    }
    const json_t *opts = json_object_get(root, "options");
    if (json_is_object(opts))
      json_object_update(c->options, (json_t *)opts);
    const json_t *sched = json_object_get(root, "schedule");
    int rc = 0;
    if (json_is_object(sched)) {
      osq_pack *pk = new_pack(c, "main", names[i]);
      rc = pk ? add_queries(pk, sched) : -1;
    }
    const json_t *packs = json_object_get(root, "packs");
    if (rc == 0 && json_is_object(packs))
      rc = add_packs(c, names[i], packs, gen, udata);
    const json_t *atc = json_object_get(root, "auto_table_construction");
    if (json_is_object(atc))
      json_object_update(c->atc, (json_t *)atc);
    /* osquery's yara parser: each source's signature groups are added,
     * a later source's group replacing one of the same name */
    const json_t *yara = json_object_get(root, "yara");
    const json_t *ysigs = json_object_get(yara, "signatures");
    if (json_is_object(ysigs)) {
      json_t *all = json_object_get(c->yara, "signatures");
      if (all == NULL) {
        all = json_object();
        json_object_set_new(c->yara, "signatures", all);
      }
      json_object_update(all, (json_t *)ysigs);
    }
    json_t *prom = json_object_get(root, "prometheus_targets");
    if (json_is_object(prom)) { /* as osquery's parser: the last one wins */
      json_decref(c->prometheus);
      c->prometheus = json_incref(prom);
    }
    const json_t *dec = json_object_get(root, "decorators");
    if (rc == 0 && json_is_object(dec))
      json_array_append(c->decorators, (json_t *)dec);
    json_decref(root);
    if (rc != 0) {
      free(digests);
      free(names);
      osq_config_free(c);
      snprintf(err, errlen, "out of memory building the config");
      return NULL;
    }
  }
  osq_sha1_hex(digests, 40 * n, c->hash);
  free(digests);
  free(names);
  return c;
oom:
  free(names);
  osq_config_free(c);
  snprintf(err, errlen, "out of memory building the config");
  return NULL;
}

void osq_config_free(osq_config *c) {
  if (c == NULL)
    return;
  for (size_t i = 0; i < c->npacks; i++) {
    osq_pack *p = &c->packs[i];
    for (size_t k = 0; k < p->nqueries; k++)
      query_free(&p->queries[k]);
    free(p->queries);
    for (size_t k = 0; k < p->ndiscovery; k++)
      free(p->discovery[k]);
    free(p->discovery);
    free(p->name);
    free(p->source);
    free(p->platform);
    free(p->version);
  }
  free(c->packs);
  json_decref(c->options);
  json_decref(c->decorators);
  json_decref(c->sources);
  json_decref(c->atc);
  json_decref(c->yara);
  json_decref(c->prometheus);
  free(c);
}

/* ---- options ---------------------------------------------------------------- */

static unsigned flag_kind(const char *name, bool *found) {
  osq_flag_info *list = NULL;
  size_t n = osq_flags_list(&list);
  unsigned kind = 0;
  *found = false;
  for (size_t i = 0; i < n; i++)
    if (strcmp(list[i].name, name) == 0) {
      kind = list[i].kind;
      *found = true;
      break;
    }
  free(list);
  return kind;
}

int osq_config_apply_options(const json_t *options) {
  int applied = 0;
  const char *name;
  json_t *v;
  json_object_foreach((json_t *)options, name, v) {
    if (*name == '\0')
      continue;
    char buf[64];
    char *owned = NULL;
    const char *val = NULL;
    if (json_is_string(v)) {
      val = json_string_value(v);
    } else if (json_is_boolean(v)) {
      val = json_is_true(v) ? "true" : "false";
    } else if (json_is_integer(v)) {
      snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
      val = buf;
    } else if (json_is_real(v)) {
      uint64_t u = 0;
      osq_config_uint(v, &u);
      snprintf(buf, sizeof buf, "%llu", (unsigned long long)u);
      val = buf;
    } else if (json_is_object(v) || json_is_array(v)) {
      owned = json_dumps(v, JSON_COMPACT);
      val = owned;
    }
    if (val == NULL || *val == '\0') {
      free(owned);
      continue;
    }
    if (strncmp(name, "custom_", 7) == 0) {
      free(owned);
      continue; /* free-form options: kept in the config only */
    }
    bool found;
    unsigned kind = flag_kind(name, &found);
    if (!found) {
      OSQ_WARN("Cannot set unknown or invalid flag: %s", name);
    } else if (kind & OSQ_FK_CLI) {
      OSQ_WARN("The CLI only flag --%s set via config file will be ignored, "
               "please use a flagfile or pass it to the process at startup",
               name);
    } else {
      char err[256];
      if (osq_flag_set(name, val, err, sizeof err) != 0)
        OSQ_WARN("Cannot set unknown or invalid flag: %s: %s", name, err);
      else
        applied++;
    }
    free(owned);
  }
  char unimplemented[1024];
  size_t n = osq_flags_take_unimplemented(unimplemented, sizeof unimplemented);
  if (n)
    OSQ_WARN("%s %s",
             n > 1 ? OSQ_FLAGS_UNIMPLEMENTED_MANY : OSQ_FLAGS_UNIMPLEMENTED_ONE,
             unimplemented);
  osq_log_configure();
  return applied;
}
