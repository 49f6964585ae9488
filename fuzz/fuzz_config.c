/* libFuzzer target: the daemon's config sources (osq_config_build: comment
 * stripping, size/depth bounds, schedule, packs, options, decorators) and
 * applying the merged options as flags.
 *
 * Input: byte 0 picks variants (bit 0: the plugin serves genPack, bit 1:
 * apply the options). The rest is split at 0xFF: the first up to three
 * fields are sources "a", "b", "c"; further fields are the packs genPack
 * returns for a pack given as a string, in turn. A source that does not
 * parse must fail the build with an error naming it; a config that builds
 * must be internally consistent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/flags.h"
#include "core/log.h"
#include "plugin/plugin_impl.h"

#define MAX_FIELDS 8

static const uint8_t *fields[MAX_FIELDS];
static size_t flen[MAX_FIELDS], nfields, nsources;

static int gen_pack(const char *name, const char *value, osq_strmap *out,
                    void *u) {
  (void)u;
  if (strcmp(value, "fail") == 0) {
    osq_strmap_error(out, "pack %s refused", name);
    return OSQ_ERROR;
  }
  char pname[64];
  for (size_t i = nsources; i < nfields; i++) {
    snprintf(pname, sizeof pname, "%.32s%zu", name, i);
    osq_strmap_set(out, pname, (const char *)fields[i], flen[i]);
  }
  return OSQ_OK;
}

static void quiet(void) {
  char err[256];
  OSQ_FLAG_SET(logger_stderr, "false", err, sizeof err);
  OSQ_FLAG_SET(verbose, "false", err, sizeof err);
  osq_log_configure();
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  osq_flags_init(OSQ_PERSONALITY_DAEMON);
  quiet();
  return 0;
}

static void check_query(const osq_pack *p, const osq_sched_query *q) {
  if (q->name == NULL || q->qname == NULL || q->sql == NULL)
    abort();
  if (q->interval < 1 || q->interval > OSQ_CONFIG_MAX_INTERVAL)
    abort();
  if (strcmp(p->name, "main") == 0 && strcmp(q->name, q->qname) != 0)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  uint8_t mode = data[0];
  const uint8_t *p = data + 1, *end = data + size;
  nfields = 0;
  while (nfields < MAX_FIELDS) {
    const uint8_t *f = memchr(p, 0xff, (size_t)(end - p));
    fields[nfields] = p;
    flen[nfields] = (size_t)((f ? f : end) - p);
    nfields++;
    if (f == NULL)
      break;
    p = f + 1;
  }
  nsources = nfields < 3 ? nfields : 3;

  osq_strmap src;
  osq_strmap_init(&src);
  static const char *const names[] = {"a", "b", "c"};
  for (size_t i = 0; i < nsources; i++)
    osq_strmap_set(&src, names[i], (const char *)fields[i], flen[i]);
  char err[512] = "";
  osq_config *c = osq_config_build(&src, (mode & 1) ? gen_pack : NULL, NULL,
                                   err, sizeof err);
  if (c == NULL) {
    /* the message names the source that failed */
    if (strstr(err, ": a:") == NULL && strstr(err, ": b:") == NULL &&
        strstr(err, ": c:") == NULL && strstr(err, "out of memory") == NULL) {
      fprintf(stderr, "error without a source: %s\n", err);
      abort();
    }
    osq_strmap_clear(&src);
    return 0;
  }
  if (strlen(c->hash) != 40 || !json_is_object(c->options) ||
      !json_is_array(c->decorators) ||
      json_object_size(c->sources) != nsources)
    abort();
  for (size_t i = 0; i < c->npacks; i++) {
    const osq_pack *pk = &c->packs[i];
    if (pk->name == NULL || pk->source == NULL)
      abort();
    for (size_t d = 0; d < pk->ndiscovery; d++)
      if (pk->discovery[d] == NULL)
        abort();
    for (size_t q = 0; q < pk->nqueries; q++) {
      check_query(pk, &pk->queries[q]);
      if (q > 0 && pk->queries[q - 1].startup_priority >
                       pk->queries[q].startup_priority)
        abort();
    }
  }
  if ((mode & 2) && json_object_size(c->options) > 0) {
    osq_config_apply_options(c->options);
    /* start the next input from the built-in flags */
    osq_flags_shutdown();
    osq_flags_init(OSQ_PERSONALITY_DAEMON);
    quiet();
  }
  osq_config_free(c);
  osq_strmap_clear(&src);
  return 0;
}
