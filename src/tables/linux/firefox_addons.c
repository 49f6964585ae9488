/* firefox_addons: add-ons of each local user's Firefox profiles.
 *
 * Every directory in ~/.mozilla/firefox (and the snap's
 * ~/snap/firefox/common/.mozilla/firefox) with an extensions.json is a
 * profile; each object of its "addons" array is a row. A file that is not
 * JSON, or has no "addons" array, gives no rows. */
#include "apps.h"
#include "tables/builtin.h"
#include "tables/fsglob.h"
#include "tables/util.h"
#include "user_files.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
  C_UID, C_NAME, C_IDENTIFIER, C_CREATOR, C_TYPE, C_VERSION, C_DESCRIPTION,
  C_SOURCE_URL, C_VISIBLE, C_ACTIVE, C_DISABLED, C_AUTOUPDATE, C_LOCATION,
  C_PATH, C_COUNT
};

static const osq_column columns[] = {
    {"uid", OSQ_TYPE_BIGINT, OSQ_COL_ADDITIONAL | OSQ_COL_OPTIMIZED},
    {"name", OSQ_TYPE_TEXT, 0},
    {"identifier", OSQ_TYPE_TEXT, OSQ_COL_INDEX},
    {"creator", OSQ_TYPE_TEXT, 0},
    {"type", OSQ_TYPE_TEXT, 0},
    {"version", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_VERSION},
    {"description", OSQ_TYPE_TEXT, 0},
    {"source_url", OSQ_TYPE_TEXT, 0},
    {"visible", OSQ_TYPE_INTEGER, 0},
    {"active", OSQ_TYPE_INTEGER, 0},
    {"disabled", OSQ_TYPE_INTEGER, 0},
    {"autoupdate", OSQ_TYPE_INTEGER, 0},
    {"location", OSQ_TYPE_TEXT, 0},
    {"path", OSQ_TYPE_TEXT, 0},
};
_Static_assert(sizeof columns / sizeof *columns == C_COUNT, "cols");

/* A profile's extensions.json can list hundreds of add-ons with their
 * locales; well below this. */
#define EXTENSIONS_JSON_MAX (64u * 1024 * 1024)

/* Text of a string member, "" otherwise (osquery's default). */
static const char *text_of(const json_t *obj, const char *key) {
  const char *s = osq_json_str(obj, key);
  return s ? s : "";
}

/* A boolean or number member as an integer cell; NULL when absent or of
 * another kind. */
static void int_cell(osq_rows *out, size_t col, const json_t *v) {
  if (json_is_boolean(v))
    osq_rows_int(out, col, json_is_true(v));
  else if (json_is_integer(v))
    osq_rows_int(out, col, json_integer_value(v));
  else if (json_is_string(v) && strcmp(json_string_value(v), "true") == 0)
    osq_rows_int(out, col, 1);
  else if (json_is_string(v) && strcmp(json_string_value(v), "false") == 0)
    osq_rows_int(out, col, 0);
}

static int addon_row(osq_rows *out, uint32_t uid, const json_t *a) {
  const json_t *loc = json_object_get(a, "defaultLocale");
  osq_rows_int(out, C_UID, uid);
  osq_rows_cstr(out, C_NAME, text_of(loc, "name"));
  osq_rows_cstr(out, C_IDENTIFIER, text_of(a, "id"));
  osq_rows_cstr(out, C_CREATOR, text_of(loc, "creator"));
  osq_rows_cstr(out, C_TYPE, text_of(a, "type"));
  osq_rows_cstr(out, C_VERSION, text_of(a, "version"));
  osq_rows_cstr(out, C_DESCRIPTION, text_of(loc, "description"));
  osq_rows_cstr(out, C_SOURCE_URL, text_of(a, "sourceURI"));
  int_cell(out, C_VISIBLE, json_object_get(a, "visible"));
  int_cell(out, C_ACTIVE, json_object_get(a, "active"));
  int_cell(out, C_AUTOUPDATE, json_object_get(a, "applyBackgroundUpdates"));
  /* any of the three ways to disable an add-on */
  osq_rows_int(out, C_DISABLED,
               json_is_true(json_object_get(a, "softDisabled")) ||
                   json_is_true(json_object_get(a, "softDisable")) ||
                   json_is_true(json_object_get(a, "appDisabled")) ||
                   json_is_true(json_object_get(a, "userDisabled")));
  osq_rows_cstr(out, C_LOCATION, text_of(a, "location"));
  osq_rows_cstr(out, C_PATH, text_of(a, "path"));
  return osq_rows_end(out);
}

static int profiles_dir(osq_rows *out, uint32_t uid, const char *dir,
                        char *line) {
  (void)line;
  osq_pathlist profiles = {0};
  osq_pathlist_readdir(&profiles, dir, NULL);
  int rc = OSQ_OK;
  for (size_t i = 0; i < profiles.n && rc == OSQ_OK; i++) {
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s/extensions.json", dir,
                 profiles.items[i]) >= (int)sizeof path)
      continue;
    json_t *j = osq_apps_json_file(path, EXTENSIONS_JSON_MAX);
    const json_t *addons = json_object_get(j, "addons");
    size_t k;
    const json_t *a;
    json_array_foreach(addons, k, a) {
      if (json_is_object(a) && rc == OSQ_OK)
        rc = addon_row(out, uid, a);
    }
    json_decref(j);
  }
  osq_pathlist_free(&profiles);
  return rc;
}

static int generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)udata;
  static const char *const names[] = {".mozilla/firefox",
                                      "snap/firefox/common/.mozilla/firefox"};
  return osq_each_user_file(ctx, out, C_UID, names, 2, 1, true, profiles_dir);
}

const osq_table_plugin osq_table_firefox_addons = {
    .name = "firefox_addons",
    .columns = columns,
    .ncolumns = OSQ_NCOLS(columns),
    .attributes = OSQ_TABLE_USER_BASED,
    .generate = generate,
};
