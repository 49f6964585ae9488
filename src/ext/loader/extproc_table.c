/* osq_extension_processes: the extension processes osq launched and
 * supervises, one row per path, with the extension's uuid/name once it has
 * registered. rss_bytes is read when the query runs; cpu_percent is the
 * last resource check's (it needs an interval). Registered at run time by
 * the loader. */
#include "ext/introspect.h"
#include "loader.h"

#include "registry/registry.h"

#include <stdatomic.h>
#include <stdlib.h>

enum {
  C_PATH, C_PID, C_UUID, C_NAME, C_STATE, C_AUTOLOAD, C_RESTARTS, C_STARTED,
  C_BACKOFF, C_RSS, C_CPU, C_LAST_EXIT, C_COUNT
};

static const osq_column columns[C_COUNT] = {
    {"path", OSQ_TYPE_TEXT, 0},
    {"pid", OSQ_TYPE_BIGINT, 0},
    {"uuid", OSQ_TYPE_BIGINT, 0},
    {"name", OSQ_TYPE_TEXT, 0},
    {"state", OSQ_TYPE_TEXT, 0},
    {"autoload", OSQ_TYPE_INTEGER, 0},
    {"restarts", OSQ_TYPE_INTEGER, 0},
    {"started", OSQ_TYPE_BIGINT, 0},
    {"last_backoff_ms", OSQ_TYPE_BIGINT, 0},
    {"rss_bytes", OSQ_TYPE_BIGINT, 0},
    {"cpu_percent", OSQ_TYPE_DOUBLE, 0},
    {"last_exit", OSQ_TYPE_TEXT, 0},
};

typedef struct gen {
  osq_rows *out;
  osq_ext_view *views;
  size_t nviews;
  int rc;
} gen;

/* Memory now, not at the last resource check (which runs every few
 * seconds, and not at all before the first): the snapshot's value only if
 * /proc cannot tell (the process just exited). */
static uint64_t live_rss(const osq_ext_proc_info *p) {
  osq_proc_sample s;
  if (p->pid > 0 && osq_proc_sample_read(p->pid, &s) == 0)
    return s.rss_bytes;
  return p->rss_bytes;
}

static void emit(const osq_ext_proc_info *p, void *udata) {
  gen *g = udata;
  if (g->rc)
    return;
  osq_rows *o = g->out;
  osq_rows_cstr(o, C_PATH, p->path);
  osq_rows_int(o, C_PID, p->pid);
  for (size_t i = 0; p->pid > 0 && i < g->nviews; i++)
    if (g->views[i].pid == p->pid) {
      osq_rows_int(o, C_UUID, g->views[i].uuid);
      osq_rows_cstr(o, C_NAME, g->views[i].name);
      break;
    }
  osq_rows_cstr(o, C_STATE, osq_ext_state_name(p->state));
  osq_rows_int(o, C_AUTOLOAD, p->from_autoload);
  osq_rows_int(o, C_RESTARTS, p->restarts);
  osq_rows_int(o, C_STARTED, p->started_unix);
  osq_rows_int(o, C_BACKOFF, p->last_backoff_ms);
  osq_rows_int(o, C_RSS, (int64_t)live_rss(p));
  osq_rows_double(o, C_CPU, p->cpu_percent);
  osq_rows_cstr(o, C_LAST_EXIT, p->last_exit);
  g->rc = osq_rows_end(o);
}

static int generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)ctx;
  (void)udata;
  gen g = {.out = out};
  g.nviews = osq_introspect_extensions(&g.views);
  osq_loader_each(emit, &g);
  osq_introspect_free(g.views, g.nviews);
  return g.rc ? OSQ_ERROR : OSQ_OK;
}

static const osq_table_plugin table = {
    .name = "osq_extension_processes",
    .columns = columns,
    .ncolumns = C_COUNT,
    .generate = generate,
};

void osq_loader_register_table(void) {
  if (osq_registry_exists(OSQ_REGISTRY_TABLE, table.name))
    return;
  char err[256];
  /* EEXIST from a concurrent registration is fine. */
  osq_registry_add(OSQ_REGISTRY_TABLE, &table, OSQ_CORE_UUID, false, err,
                   sizeof err);
}
