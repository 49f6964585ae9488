/* vscode_extensions: Visual Studio Code extensions of each local user.
 *
 * ~/.vscode, ~/.vscode-server (edition "vscode") and ~/.vscode-insiders,
 * ~/.vscode-server-insiders ("vscode_insiders"): extensions/extensions.json
 * is an array with an object per installed extension. An entry without the
 * "identifier", "metadata" and "location" objects is skipped; a file that
 * is not a JSON array gives no rows. */
#include "apps.h"
#include "tables/builtin.h"
#include "tables/util.h"
#include "user_files.h"

#include <stdio.h>
#include <string.h>

enum {
  C_NAME, C_UUID, C_VERSION, C_PATH, C_PUBLISHER, C_PUBLISHER_ID,
  C_INSTALLED_AT, C_PRERELEASE, C_UID, C_VSCODE_EDITION, C_COUNT
};

static const osq_column columns[] = {
    {"name", OSQ_TYPE_TEXT, 0},
    {"uuid", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"version", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_VERSION},
    {"path", OSQ_TYPE_TEXT, 0},
    {"publisher", OSQ_TYPE_TEXT, 0},
    {"publisher_id", OSQ_TYPE_TEXT, 0},
    {"installed_at", OSQ_TYPE_BIGINT, 0},
    {"prerelease", OSQ_TYPE_INTEGER, 0},
    {"uid", OSQ_TYPE_BIGINT, OSQ_COL_ADDITIONAL | OSQ_COL_OPTIMIZED},
    {"vscode_edition", OSQ_TYPE_TEXT, 0},
};
_Static_assert(sizeof columns / sizeof *columns == C_COUNT, "cols");

static const struct {
  const char *file, *edition;
} places[] = {
    {".vscode/extensions/extensions.json", "vscode"},
    {".vscode-server/extensions/extensions.json", "vscode"},
    {".vscode-insiders/extensions/extensions.json", "vscode_insiders"},
    {".vscode-server-insiders/extensions/extensions.json",
     "vscode_insiders"},
};
#define NPLACES (sizeof places / sizeof *places)

static void str_cell(osq_rows *out, size_t col, const json_t *obj,
                     const char *key) {
  const char *s = osq_json_str(obj, key);
  if (s != NULL)
    osq_rows_cstr(out, col, s);
}

static int extension_row(osq_rows *out, uint32_t uid, const char *edition,
                         const json_t *e) {
  const json_t *id = json_object_get(e, "identifier");
  const json_t *meta = json_object_get(e, "metadata");
  const json_t *loc = json_object_get(e, "location");
  if (!json_is_object(id) || !json_is_object(meta) || !json_is_object(loc))
    return OSQ_OK;
  osq_rows_int(out, C_UID, uid);
  osq_rows_cstr(out, C_VSCODE_EDITION, edition);
  str_cell(out, C_NAME, id, "id");
  str_cell(out, C_UUID, id, "uuid");
  str_cell(out, C_VERSION, e, "version");
  str_cell(out, C_PATH, loc, "path");
  str_cell(out, C_PUBLISHER, meta, "publisherDisplayName");
  str_cell(out, C_PUBLISHER_ID, meta, "publisherId");
  const json_t *ts = json_object_get(meta, "installedTimestamp");
  if (json_is_integer(ts))
    osq_rows_int(out, C_INSTALLED_AT, json_integer_value(ts));
  const json_t *pre = json_object_get(meta, "isPreReleaseVersion");
  if (json_is_boolean(pre))
    osq_rows_int(out, C_PRERELEASE, json_is_true(pre));
  return osq_rows_end(out);
}

static int extensions_file(osq_rows *out, uint32_t uid, const char *path,
                           char *line) {
  (void)line;
  const char *edition = NULL;
  size_t pn = strlen(path);
  for (size_t i = 0; i < NPLACES && edition == NULL; i++) {
    size_t fn = strlen(places[i].file);
    if (pn > fn && path[pn - fn - 1] == '/' &&
        strcmp(path + pn - fn, places[i].file) == 0)
      edition = places[i].edition;
  }
  json_t *j = edition ? osq_apps_json_file(path, OSQ_APPS_MANIFEST_MAX * 4)
                      : NULL;
  int rc = OSQ_OK;
  size_t i;
  const json_t *e;
  json_array_foreach(j, i, e) {
    if (rc == OSQ_OK)
      rc = extension_row(out, uid, edition, e);
  }
  json_decref(j);
  return rc;
}

static int generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)udata;
  const char *names[NPLACES];
  for (size_t i = 0; i < NPLACES; i++)
    names[i] = places[i].file;
  return osq_each_user_file(ctx, out, C_UID, names, NPLACES, 1, true,
                            extensions_file);
}

const osq_table_plugin osq_table_vscode_extensions = {
    .name = "vscode_extensions",
    .columns = columns,
    .ncolumns = OSQ_NCOLS(columns),
    .attributes = OSQ_TABLE_USER_BASED,
    .generate = generate,
};
