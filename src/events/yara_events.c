/* yara_events: YARA rules run over the files the inotify publisher sees
 * change (docs/events.md). The config names, per file_paths category, the
 * signature groups to scan with:
 *
 *   "yara": {"signatures": {"g1": ["/etc/osq/rules.yar"]},
 *            "file_paths": {"tmp": ["g1"]}},
 *   "file_paths": {"tmp": ["/tmp/%%"]}
 *
 * As osquery: a file CREATED, UPDATED or MOVED_TO in such a category is
 * scanned with all its groups, and a row is stored only when a rule
 * matched. The rules themselves are the yara tables' engine
 * (tables/yara.h): compiled once per config, shared with yara_file. */
#include "events/events_internal.h"

#include <pthread.h>
#include <string.h>

#include "core/log.h"
#include "tables/yara.h"

static const osq_column yara_events_columns[] = {
    {"target_path", OSQ_TYPE_TEXT, 0},
    {"category", OSQ_TYPE_TEXT, 0},
    {"action", OSQ_TYPE_TEXT, 0},
    {"matches", OSQ_TYPE_TEXT, 0},
    {"count", OSQ_TYPE_INTEGER, 0},
    {"strings", OSQ_TYPE_TEXT, 0},
    {"tags", OSQ_TYPE_TEXT, 0},
    {"time", OSQ_TYPE_BIGINT, 0},
    {"eid", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
    /* osquery fills it from FSEvents on macOS only: NULL here */
    {"transaction_id", OSQ_TYPE_BIGINT, OSQ_COL_HIDDEN},
};

const osq_table_plugin osq_table_yara_events = {
    .name = "yara_events",
    .columns = yara_events_columns,
    .ncolumns = sizeof yara_events_columns / sizeof *yara_events_columns,
    .attributes = OSQ_TABLE_EVENT_BASED,
    .generate = osq_ev_generate,
    .udata = (void *)"yara_events",
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
/* category -> [signature group]: the merged yara.file_paths; under mu */
static json_t *groups_of;

void osq_ev_yara_configure(const json_t *cfg) {
  const json_t *yfp = json_object_get(cfg, "yara_file_paths");
  const json_t *fp = json_object_get(cfg, "file_paths");
  const char *cat;
  json_t *groups;
  json_object_foreach((json_t *)yfp, cat, groups) {
    if (json_object_get(fp, cat) == NULL)
      OSQ_VLOG("yara_events: yara.file_paths category '%s' is not in "
               "file_paths: nothing of it is watched",
               cat);
  }
  json_t *copy = json_object_size(yfp) ? json_deep_copy(yfp) : NULL;
  pthread_mutex_lock(&mu);
  json_decref(groups_of);
  groups_of = copy;
  pthread_mutex_unlock(&mu);
}

static bool scanned_action(const char *action) {
  return strcmp(action, "CREATED") == 0 || strcmp(action, "UPDATED") == 0 ||
         strcmp(action, "MOVED_TO") == 0;
}

void osq_ev_yara_file(const char *path, const char *category,
                      const char *action) {
  if (!scanned_action(action))
    return;
  pthread_mutex_lock(&mu);
  json_t *groups = json_incref(json_object_get(groups_of, category));
  pthread_mutex_unlock(&mu);
  if (groups == NULL)
    return;
  osq_yara_hits h;
  char err[256];
  int rc = osq_yara_scan_groups(path, groups, &h, err, sizeof err);
  json_decref(groups);
  if (rc != 0) {
    OSQ_VLOG("yara_events: %s not scanned: %s", path, err);
    return;
  }
  if (h.count > 0 && h.matches && h.matches[0]) {
    const osq_table_plugin *t = &osq_table_yara_events;
    osq_ev_row *row = osq_ev_row_new(t);
    if (row) {
      osq_ev_row_str(row, t, "target_path", path);
      osq_ev_row_str(row, t, "category", category);
      osq_ev_row_str(row, t, "action", action);
      osq_ev_row_str(row, t, "matches", h.matches);
      osq_ev_row_int(row, t, "count", h.count);
      osq_ev_row_str(row, t, "strings", h.strings ? h.strings : "");
      osq_ev_row_str(row, t, "tags", h.tags ? h.tags : "");
      osq_ev_add("yara_events", osq_ev_now(), row);
    }
  }
  osq_yara_hits_free(&h);
}

void osq_ev_yara_shutdown(void) {
  pthread_mutex_lock(&mu);
  json_decref(groups_of);
  groups_of = NULL;
  pthread_mutex_unlock(&mu);
}
