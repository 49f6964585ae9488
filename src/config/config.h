/* The daemon's configuration (docs/compat.md §2): sources from a config
 * plugin, parsed and merged into packs of scheduled queries, options and
 * decorators.
 *
 * A config is immutable once built; a refresh builds a new one and swaps
 * it in, so a failed refresh keeps the last good config.
 *
 * Threads: build on one thread at a time; a built config: any thread. */
#ifndef OSQ_CONFIG_H
#define OSQ_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <osq/plugin.h>

/* Limits from osquery: source text size and JSON nesting. */
#define OSQ_CONFIG_MAX_SIZE (4u * 1024 * 1024)
#define OSQ_CONFIG_MAX_DEPTH 32
#define OSQ_CONFIG_MAX_INTERVAL 604800u

typedef struct osq_sched_query {
  char *name;   /* scheduled name: bare for "main", pack<d>P<d>Q for packs */
  char *qname;  /* the name inside its pack */
  char *sql;
  uint64_t interval;
  bool removed;
  bool snapshot;
  bool denylist;
  char *platform; /* may be NULL */
  char *version;  /* may be NULL */
  uint64_t shard;
  uint64_t startup_priority; /* UINT64_MAX: default */
} osq_sched_query;

typedef struct osq_pack {
  char *name;     /* "main" for a source's schedule */
  char *source;
  char *platform; /* may be NULL */
  char *version;  /* may be NULL */
  uint64_t shard;
  bool gated_ok;  /* platform/version/shard pass on this host */
  char **discovery;
  size_t ndiscovery;
  osq_sched_query *queries; /* sorted by (startup_priority, name) */
  size_t nqueries;
} osq_pack;

typedef struct osq_config {
  osq_pack *packs; /* per source in name order: main first, then packs */
  size_t npacks;
  json_t *options;    /* accumulated, later sources override */
  json_t *decorators; /* array of per-source decorator objects, in order */
  json_t *sources;    /* source name -> raw text (for --config_dump) */
  json_t *atc;        /* auto_table_construction: table name -> spec */
  json_t *yara;       /* "yara": signatures merged across sources */
  json_t *prometheus; /* "prometheus_targets" of the last source with one,
                         or NULL (the prometheus_metrics table) */
  char hash[41];      /* SHA-1 over the per-source SHA-1 hex digests */
} osq_config;

/* Strip comments/continuations, check size and depth, parse one source.
 * The error names the source, the line and the column. */
json_t *osq_config_parse_text(const char *source, const char *text,
                              size_t len, char *err, size_t errlen);

/* Resolve a pack given as a string (a path, or "*" with a glob): fills
 * out with pack name -> pack JSON text. */
typedef int (*osq_gen_pack_fn)(const char *name, const char *value,
                               osq_strmap *out, void *udata);

/* Build a config from sources (name -> JSON text; any order). NULL with
 * the reason in err when a source is malformed. */
osq_config *osq_config_build(const osq_strmap *sources, osq_gen_pack_fn gen,
                             void *udata, char *err, size_t errlen);
void osq_config_free(osq_config *c);

/* Apply the options as flags (not CLI-only ones), with osquery's
 * warnings. Returns how many were applied. */
int osq_config_apply_options(const json_t *options);

/* Host gates. */
bool osq_config_platform_ok(const char *platform);
bool osq_config_version_ok(const char *version);
/* SHA-1(hostname) first byte * 100 / 255. */
unsigned osq_config_machine_shard(void);
bool osq_config_shard_ok(uint64_t shard);

/* Lenient conversions as osquery does for query fields. */
bool osq_config_bool(const json_t *v, bool dflt);
/* Number or numeric string; false if neither. */
bool osq_config_uint(const json_t *v, uint64_t *out);

#endif
