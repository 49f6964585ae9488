/* chrome_extensions and chrome_extension_content_scripts: extensions of
 * Chromium-based browsers, from each local user's profiles.
 *
 * A browser's user-data directory (~/.config/google-chrome, …) is a
 * profile itself when it holds "Preferences" or "Secure Preferences",
 * else each subdirectory that holds one is ("Default", "Profile 1"). In a
 * profile, every Extensions/<id>/<version>/ with a readable manifest.json
 * is an extension; those that the preferences' extensions.settings (Opera:
 * extensions.opsettings) point at by "path" are "referenced" and get their
 * install settings (state, from_webstore, install_time) from there, and a
 * referenced extension outside the profile (an unpacked one) is read too.
 *
 * As in osquery, a profile whose preferences are not JSON, or that has no
 * profile.name (Opera excepted), gives no rows; an extension whose manifest
 * is unreadable or not JSON gives none either. Every file is read whole
 * with a bound (OSQ_APPS_MANIFEST_MAX; preferences PREFS_MAX), not through
 * a symlink at its last component. */
#include "apps.h"
#include "tables/builtin.h"
#include "tables/fsglob.h"
#include "tables/util.h"
#include "user_files.h"

#include <ctype.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Preferences of a heavily used profile run to a few MiB. */
#define PREFS_MAX (32u * 1024 * 1024)
/* Extensions and versions looked at in one profile. */
#define EXT_DIRS_MAX 10000

/* ---- columns ----------------------------------------------------------- */

enum {
  E_BROWSER_TYPE, E_UID, E_NAME, E_PROFILE, E_PROFILE_PATH,
  E_REFERENCED_IDENTIFIER, E_IDENTIFIER, E_VERSION, E_DESCRIPTION,
  E_DEFAULT_LOCALE, E_LOCALE, E_CURRENT_LOCALE, E_UPDATE_URL, E_AUTHOR,
  E_PERSISTENT, E_PATH, E_PERMISSIONS, E_PERMISSIONS_JSON,
  E_OPTIONAL_PERMISSIONS, E_OPTIONAL_PERMISSIONS_JSON, E_MANIFEST_HASH,
  E_REFERENCED, E_FROM_WEBSTORE, E_STATE, E_INSTALL_TIME,
  E_INSTALL_TIMESTAMP, E_MANIFEST_JSON, E_KEY, E_COUNT
};

static const osq_column ext_columns[] = {
    {"browser_type", OSQ_TYPE_TEXT, 0},
    {"uid", OSQ_TYPE_BIGINT, OSQ_COL_INDEX | OSQ_COL_OPTIMIZED},
    {"name", OSQ_TYPE_TEXT, 0},
    {"profile", OSQ_TYPE_TEXT, 0},
    {"profile_path", OSQ_TYPE_TEXT, 0},
    {"referenced_identifier", OSQ_TYPE_TEXT, 0},
    {"identifier", OSQ_TYPE_TEXT, 0},
    {"version", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_VERSION},
    {"description", OSQ_TYPE_TEXT, 0},
    {"default_locale", OSQ_TYPE_TEXT, 0},
    {"locale", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
    {"current_locale", OSQ_TYPE_TEXT, 0},
    {"update_url", OSQ_TYPE_TEXT, 0},
    {"author", OSQ_TYPE_TEXT, 0},
    {"persistent", OSQ_TYPE_INTEGER, 0},
    {"path", OSQ_TYPE_TEXT, 0},
    {"permissions", OSQ_TYPE_TEXT, 0},
    {"permissions_json", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
    {"optional_permissions", OSQ_TYPE_TEXT, 0},
    {"optional_permissions_json", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
    {"manifest_hash", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"referenced", OSQ_TYPE_BIGINT, 0},
    {"from_webstore", OSQ_TYPE_TEXT, 0},
    {"state", OSQ_TYPE_TEXT, 0},
    {"install_time", OSQ_TYPE_TEXT, 0},
    {"install_timestamp", OSQ_TYPE_BIGINT, 0},
    {"manifest_json", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
    {"key", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
};
_Static_assert(sizeof ext_columns / sizeof *ext_columns == E_COUNT, "cols");

enum {
  S_BROWSER_TYPE, S_UID, S_IDENTIFIER, S_VERSION, S_SCRIPT, S_MATCH,
  S_PROFILE_PATH, S_PATH, S_REFERENCED, S_COUNT
};

static const osq_column script_columns[] = {
    {"browser_type", OSQ_TYPE_TEXT, 0},
    {"uid", OSQ_TYPE_BIGINT, OSQ_COL_INDEX | OSQ_COL_OPTIMIZED},
    {"identifier", OSQ_TYPE_TEXT, 0},
    {"version", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_VERSION},
    {"script", OSQ_TYPE_TEXT, 0},
    {"match", OSQ_TYPE_TEXT, 0},
    {"profile_path", OSQ_TYPE_TEXT, 0},
    {"path", OSQ_TYPE_TEXT, 0},
    {"referenced", OSQ_TYPE_BIGINT, 0},
};
_Static_assert(sizeof script_columns / sizeof *script_columns == S_COUNT,
               "cols");

/* ---- browsers ---------------------------------------------------------- */

/* User-data directories below a home, as osquery knows them on Linux,
 * and Microsoft Edge's. */
static const struct {
  const char *dir, *type;
} browsers[] = {
    {".config/google-chrome", "chrome"},
    {".config/google-chrome-beta", "chrome_beta"},
    {".config/google-chrome-unstable", "chrome_dev"},
    {".config/BraveSoftware/Brave-Browser", "brave"},
    {".config/chromium", "chromium"},
    {"snap/chromium/common/chromium", "chromium"},
    {".config/yandex-browser-beta", "yandex"},
    {".config/opera", "opera"},
    {".config/vivaldi", "vivaldi"},
    {".config/island", "island"},
    {".config/microsoft-edge", "edge"},
    {".config/microsoft-edge-beta", "edge_beta"},
};
#define NBROWSERS (sizeof browsers / sizeof *browsers)

/* ---- one query --------------------------------------------------------- */

typedef struct chrome_scan {
  osq_rows *out;
  bool scripts; /* chrome_extension_content_scripts */
  const osq_context *ctx;
} chrome_scan;

typedef struct profile {
  const char *type;
  uint32_t uid;
  char path[PATH_MAX];
  char name[512];
  json_t *prefs[2]; /* Preferences, Secure Preferences (either may be NULL) */
} profile;

/* A JSON scalar in the text form osquery's property tree gives it: strings
 * as they are, true/false, numbers as written; an object or array reads as
 * "" (present, no text). NULL when v is NULL. */
static const char *scalar_text(const json_t *v, char *buf, size_t cap) {
  if (v == NULL)
    return NULL;
  switch (json_typeof(v)) {
  case JSON_STRING:
    return json_string_value(v);
  case JSON_TRUE:
    return "true";
  case JSON_FALSE:
    return "false";
  case JSON_NULL:
    return "null";
  case JSON_INTEGER:
    snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    return buf;
  case JSON_REAL:
    snprintf(buf, cap, "%g", json_real_value(v));
    return buf;
  default:
    return "";
  }
}

/* The member at a dotted path ("background.persistent"). */
static const json_t *json_path(const json_t *j, const char *path) {
  char part[128];
  while (j != NULL && *path) {
    size_t n = strcspn(path, ".");
    if (n >= sizeof part)
      return NULL;
    memcpy(part, path, n);
    part[n] = '\0';
    j = json_is_object(j) ? json_object_get(j, part) : NULL;
    path += n + (path[n] == '.');
  }
  return j;
}

/* Is there a Preferences or Secure Preferences file in dir? */
static bool is_profile_dir(const char *dir) {
  char p[PATH_MAX + 32];
  if (snprintf(p, sizeof p, "%s/Preferences", dir) >= (int)sizeof p)
    return false; /* a longer path is no profile of a browser's */
  if (access(p, R_OK) == 0)
    return true;
  if (snprintf(p, sizeof p, "%s/Secure Preferences", dir) >= (int)sizeof p)
    return false;
  return access(p, R_OK) == 0;
}

/* The "settings" object of a preferences file. */
static const json_t *ext_settings(const json_t *prefs) {
  const json_t *ext = json_is_object(prefs) ? json_object_get(prefs, "extensions")
                                            : NULL;
  const json_t *s = json_is_object(ext) ? json_object_get(ext, "settings")
                                        : NULL;
  if (s == NULL && json_is_object(ext))
    s = json_object_get(ext, "opsettings");
  return json_is_object(s) ? s : NULL;
}

/* An extension's "path" setting as an absolute, canonical path. */
static bool settings_path(const profile *p, const json_t *entry, char *out,
                          size_t cap) {
  const char *rel = osq_json_str(entry, "path");
  if (rel == NULL || rel[0] == '\0')
    return false;
  char abs[PATH_MAX * 2];
  if (rel[0] == '/')
    snprintf(abs, sizeof abs, "%s", rel);
  else
    snprintf(abs, sizeof abs, "%s/Extensions/%s", p->path, rel);
  char real[PATH_MAX];
  const char *use = realpath(abs, real) ? real : abs;
  return snprintf(out, cap, "%s", use) < (int)cap;
}

/* The settings entry (and its id) that points at ext_path, looking in
 * Preferences first, then Secure Preferences. */
static const json_t *find_settings(const profile *p, const char *ext_path,
                                   const char **id) {
  for (int f = 0; f < 2; f++) {
    const json_t *s = ext_settings(p->prefs[f]);
    const char *key;
    const json_t *entry;
    json_object_foreach((json_t *)s, key, entry) {
      char path[PATH_MAX];
      if (settings_path(p, entry, path, sizeof path) &&
          strcmp(path, ext_path) == 0) {
        *id = key;
        return entry;
      }
    }
  }
  return NULL;
}

/* Chrome's extension id: the first 128 bits of SHA-256 of the public key
 * (the manifest's base64 "key"), one letter a..p per hex digit. */
static bool extension_id(const char *b64, char out[33]) {
  size_t n = strlen(b64);
  if (n == 0 || n > 64 * 1024)
    return false;
  unsigned char *der = malloc(n);
  if (der == NULL)
    return false;
  int dn = EVP_DecodeBlock(der, (const unsigned char *)b64, (int)n);
  if (dn > 0) /* EVP_DecodeBlock counts the padding as zero bytes */
    for (size_t i = n; i > 0 && b64[i - 1] == '=' && dn > 0; i--)
      dn--;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned mdn = 0;
  bool ok = dn > 0 &&
            EVP_Digest(der, (size_t)dn, md, &mdn, EVP_sha256(), NULL) == 1 &&
            mdn >= 16;
  free(der);
  if (!ok)
    return false;
  for (int i = 0; i < 16; i++) {
    out[2 * i] = (char)('a' + (md[i] >> 4));
    out[2 * i + 1] = (char)('a' + (md[i] & 15));
  }
  out[32] = '\0';
  return true;
}

static void sha256_hex(const char *data, size_t n, char out[65]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned mdn = 0;
  out[0] = '\0';
  if (EVP_Digest(data, n, md, &mdn, EVP_sha256(), NULL) != 1 || mdn != 32)
    return;
  for (unsigned i = 0; i < mdn; i++)
    snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Microseconds since 1601 to seconds since 1970; 0 when not a number or
 * before 1970, as osquery reports it. */
static int64_t webkit_to_unix(const char *s) {
  int64_t v;
  if (s == NULL || !osq_tbl_parse_i64(s, &v))
    return 0;
  int64_t t = v / 1000000 - INT64_C(11644473600);
  return t < 0 ? 0 : t;
}

/* The member of obj whose name equals key ignoring ASCII case (Chrome's
 * message names are case-insensitive). */
static const json_t *get_nocase(const json_t *obj, const char *key) {
  const char *k;
  const json_t *v;
  json_object_foreach((json_t *)obj, k, v) if (strcasecmp(k, key) == 0) return v;
  return NULL;
}

/* A manifest's strings, localized when they are "__MSG_<name>__". */
typedef struct manifest_text {
  const json_t *messages; /* _locales/<locale>/messages.json, or NULL */
  char buf[64];
} manifest_text;

static const char *localize(const manifest_text *mt, const char *v) {
  if (v == NULL || strncmp(v, "__MSG_", 6) != 0 || mt->messages == NULL)
    return v;
  size_t n = strlen(v);
  if (n < 8)
    return v;
  char name[256];
  snprintf(name, sizeof name, "%.*s", (int)(n - 8), v + 6);
  const json_t *e = get_nocase(mt->messages, name);
  const json_t *m = json_is_object(e) ? get_nocase(e, "message") : NULL;
  return json_is_string(m) ? json_string_value(m) : v;
}

/* Manifest property as a localized text; NULL if absent. */
static const char *prop(manifest_text *mt, const json_t *m, const char *path) {
  return localize(mt, scalar_text(json_path(m, path), mt->buf, sizeof mt->buf));
}

/* A manifest array of strings joined by ", " (malloc'd). */
static char *joined(const json_t *arr) {
  size_t cap = 1;
  size_t i;
  const json_t *v;
  json_array_foreach(arr, i, v) if (json_is_string(v)) cap +=
      json_string_length(v) + 2;
  char *s = malloc(cap), *p = s;
  if (s == NULL)
    return NULL;
  *p = '\0';
  json_array_foreach(arr, i, v) {
    if (!json_is_string(v))
      continue;
    if (p != s) {
      memcpy(p, ", ", 2);
      p += 2;
    }
    memcpy(p, json_string_value(v), json_string_length(v));
    p += json_string_length(v);
    *p = '\0';
  }
  return s;
}

static void list_cells(osq_rows *out, const json_t *m, const char *key,
                       size_t col, size_t json_col) {
  const json_t *v = json_object_get(m, key);
  char *text = json_is_array(v) ? joined(v) : NULL;
  osq_rows_cstr(out, col, text ? text : "");
  free(text);
  char *js = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
  osq_rows_cstr(out, json_col, js ? js : "{}");
  free(js);
}

static json_t *load_messages(const char *ext_path, const char *locale) {
  char p[PATH_MAX * 2];
  snprintf(p, sizeof p, "%s/_locales/%s/messages.json", ext_path, locale);
  if (strchr(locale, '/') != NULL)
    return NULL; /* a locale naming another directory is no locale */
  json_t *j = osq_apps_json_file(p, OSQ_APPS_MANIFEST_MAX);
  if (!json_is_object(j)) {
    json_decref(j);
    return NULL;
  }
  return j;
}

static int extension_row(chrome_scan *s, const profile *p,
                         const char *ext_path, const char *text, size_t tn,
                         const json_t *m, bool referenced) {
  const char *ref_id = NULL;
  const json_t *settings = referenced ? find_settings(p, ext_path, &ref_id)
                                      : NULL;
  manifest_text mt = {0};
  char ident[33] = "";
  const char *key = osq_json_str(m, "key");
  if (key != NULL && !extension_id(key, ident))
    ident[0] = '\0';
  const char *version = scalar_text(json_object_get(m, "version"), mt.buf,
                                    sizeof mt.buf);
  char version_buf[64];
  snprintf(version_buf, sizeof version_buf, "%s", version ? version : "");
  osq_rows *out = s->out;
  int rc = OSQ_OK;
  if (s->scripts) {
    const json_t *cs = json_object_get(m, "content_scripts");
    size_t i;
    const json_t *entry;
    json_array_foreach(cs, i, entry) {
      const json_t *matches = json_object_get(entry, "matches");
      const json_t *js = json_object_get(entry, "js");
      if (!json_is_array(matches) || !json_is_array(js))
        continue;
      size_t a, b;
      const json_t *match, *script;
      json_array_foreach(matches, a, match) {
        if (!json_is_string(match))
          continue;
        json_array_foreach(js, b, script) {
          if (!json_is_string(script) || rc != OSQ_OK)
            continue;
          osq_rows_cstr(out, S_BROWSER_TYPE, p->type);
          osq_rows_int(out, S_UID, p->uid);
          osq_rows_cstr(out, S_IDENTIFIER, ident);
          osq_rows_cstr(out, S_VERSION, version_buf);
          osq_rows_cstr(out, S_SCRIPT, json_string_value(script));
          osq_rows_cstr(out, S_MATCH, json_string_value(match));
          osq_rows_cstr(out, S_PROFILE_PATH, p->path);
          osq_rows_cstr(out, S_PATH, ext_path);
          osq_rows_int(out, S_REFERENCED, referenced);
          rc = osq_rows_end(out);
        }
      }
    }
    return rc;
  }
  const char *locale = scalar_text(json_object_get(m, "default_locale"),
                                   mt.buf, sizeof mt.buf);
  if (locale == NULL)
    locale = scalar_text(json_object_get(m, "current_locale"), mt.buf,
                         sizeof mt.buf);
  json_t *messages = load_messages(ext_path, locale ? locale : "en");
  mt.messages = messages;
  static const struct {
    const char *path;
    size_t col;
  } texts[] = {
      {"name", E_NAME},
      {"update_url", E_UPDATE_URL},
      {"author", E_AUTHOR},
      {"default_locale", E_DEFAULT_LOCALE},
      {"default_locale", E_LOCALE},
      {"current_locale", E_CURRENT_LOCALE},
      {"description", E_DESCRIPTION},
      {"key", E_KEY},
  };
  for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
    const char *v = prop(&mt, m, texts[i].path);
    osq_rows_cstr(out, texts[i].col, v ? v : "");
  }
  osq_rows_cstr(out, E_VERSION, version_buf);
  const char *persistent = prop(&mt, m, "background.persistent");
  osq_rows_int(out, E_PERSISTENT,
               persistent != NULL && strcasecmp(persistent, "true") == 0);
  list_cells(out, m, "permissions", E_PERMISSIONS, E_PERMISSIONS_JSON);
  list_cells(out, m, "optional_permissions", E_OPTIONAL_PERMISSIONS,
             E_OPTIONAL_PERMISSIONS_JSON);
  json_decref(messages);

  osq_rows_cstr(out, E_BROWSER_TYPE, p->type);
  osq_rows_int(out, E_UID, p->uid);
  osq_rows_cstr(out, E_PROFILE, p->name);
  osq_rows_cstr(out, E_PROFILE_PATH, p->path);
  osq_rows_cstr(out, E_PATH, ext_path);
  osq_rows_cstr(out, E_IDENTIFIER, ident);
  char hash[65];
  sha256_hex(text, tn, hash);
  osq_rows_cstr(out, E_MANIFEST_HASH, hash);
  osq_rows_int(out, E_REFERENCED, referenced);
  char b1[64], b2[64], b3[64];
  const char *from_webstore =
      scalar_text(json_object_get(settings, "from_webstore"), b1, sizeof b1);
  const char *state = scalar_text(json_object_get(settings, "state"), b2,
                                  sizeof b2);
  const char *install_time =
      scalar_text(json_object_get(settings, "install_time"), b3, sizeof b3);
  osq_rows_cstr(out, E_REFERENCED_IDENTIFIER, ref_id ? ref_id : "");
  osq_rows_cstr(out, E_FROM_WEBSTORE, from_webstore ? from_webstore : "");
  osq_rows_cstr(out, E_STATE, state ? state : "");
  osq_rows_cstr(out, E_INSTALL_TIME, install_time ? install_time : "");
  osq_rows_int(out, E_INSTALL_TIMESTAMP, webkit_to_unix(install_time));
  if (osq_tbl_used(s->ctx, E_MANIFEST_JSON)) {
    char *mj = json_dumps(m, JSON_COMPACT | JSON_PRESERVE_ORDER);
    osq_rows_cstr(out, E_MANIFEST_JSON, mj ? mj : "");
    free(mj);
  }
  return osq_rows_end(out);
}

/* Read one extension directory and emit its row(s). No row when its
 * manifest is unreadable or not a JSON object. */
static int extension(chrome_scan *s, const profile *p, const char *ext_path,
                     bool referenced) {
  char mp[PATH_MAX + 16];
  snprintf(mp, sizeof mp, "%s/manifest.json", ext_path);
  size_t tn;
  char *text = osq_apps_slurp(mp, OSQ_APPS_MANIFEST_MAX, &tn);
  if (text == NULL)
    return OSQ_OK;
  json_error_t err;
  json_t *m = json_loadb(text, tn, 0, &err);
  int rc = OSQ_OK;
  if (json_is_object(m))
    rc = extension_row(s, p, ext_path, text, tn, m, referenced);
  json_decref(m);
  free(text);
  return rc;
}

static bool in_list(const osq_pathlist *l, const char *path) {
  for (size_t i = 0; i < l->n; i++)
    if (strcmp(l->items[i], path) == 0)
      return true;
  return false;
}

static int scan_profile(chrome_scan *s, profile *p) {
  static const char *const files[] = {"Preferences", "Secure Preferences"};
  bool any = false;
  for (int f = 0; f < 2; f++) {
    char fp[PATH_MAX + 32];
    snprintf(fp, sizeof fp, "%s/%s", p->path, files[f]);
    size_t n;
    char *text = osq_apps_slurp(fp, PREFS_MAX, &n);
    p->prefs[f] = NULL;
    if (text == NULL)
      continue;
    any = true;
    json_error_t err;
    p->prefs[f] = n ? json_loadb(text, n, 0, &err) : json_object();
    free(text);
    if (!json_is_object(p->prefs[f]))
      return OSQ_OK; /* a broken profile: skipped, as osquery does */
  }
  if (!any)
    return OSQ_OK;
  const char *name = NULL;
  for (int f = 0; f < 2 && (name == NULL || name[0] == '\0'); f++)
    name = osq_json_str(json_path(p->prefs[f], "profile"), "name");
  if ((name == NULL || name[0] == '\0') && strcmp(p->type, "opera") != 0)
    return OSQ_OK;
  snprintf(p->name, sizeof p->name, "%s", name ? name : "");

  /* referenced: every settings path, in file order, once */
  osq_pathlist refs = {0};
  for (int f = 0; f < 2; f++) {
    const char *key;
    const json_t *entry;
    json_object_foreach((json_t *)ext_settings(p->prefs[f]), key, entry) {
      char path[PATH_MAX];
      if (settings_path(p, entry, path, sizeof path) && !in_list(&refs, path) &&
          refs.n < EXT_DIRS_MAX)
        osq_pathlist_add(&refs, path);
    }
  }
  int rc = OSQ_OK;
  /* Extensions/<id>/<version> that nothing references */
  char exts[PATH_MAX + 16];
  snprintf(exts, sizeof exts, "%s/Extensions", p->path);
  osq_pathlist ids = {0};
  osq_pathlist_readdir(&ids, exts, NULL);
  size_t seen = 0;
  for (size_t i = 0; i < ids.n && rc == OSQ_OK && seen < EXT_DIRS_MAX; i++) {
    char idp[PATH_MAX * 2];
    snprintf(idp, sizeof idp, "%s/%s", exts, ids.items[i]);
    osq_pathlist versions = {0};
    osq_pathlist_readdir(&versions, idp, NULL);
    for (size_t k = 0; k < versions.n && rc == OSQ_OK && seen < EXT_DIRS_MAX;
         k++, seen++) {
      char vp[PATH_MAX * 3], real[PATH_MAX];
      snprintf(vp, sizeof vp, "%s/%s", idp, versions.items[k]);
      struct stat st;
      if (stat(vp, &st) != 0 || !S_ISDIR(st.st_mode))
        continue;
      const char *use = realpath(vp, real) ? real : vp;
      if (!in_list(&refs, use))
        rc = extension(s, p, use, false);
    }
    osq_pathlist_free(&versions);
  }
  osq_pathlist_free(&ids);
  for (size_t i = 0; i < refs.n && rc == OSQ_OK; i++)
    rc = extension(s, p, refs.items[i], true);
  osq_pathlist_free(&refs);
  return rc;
}

static void profile_release(profile *p) {
  json_decref(p->prefs[0]);
  json_decref(p->prefs[1]);
  p->prefs[0] = p->prefs[1] = NULL;
}

static _Thread_local chrome_scan *current_scan;

/* One browser's user-data directory of one user. */
static int user_data_dir(osq_rows *out, uint32_t uid, const char *path,
                         char *line) {
  (void)out;
  (void)line;
  const char *type = NULL;
  size_t pn = strlen(path);
  for (size_t i = 0; i < NBROWSERS && type == NULL; i++) {
    size_t bn = strlen(browsers[i].dir);
    if (pn > bn && path[pn - bn - 1] == '/' &&
        strcmp(path + pn - bn, browsers[i].dir) == 0)
      type = browsers[i].type;
  }
  if (type == NULL)
    return OSQ_OK;
  profile *p = calloc(1, sizeof *p);
  if (p == NULL)
    return OSQ_ENOMEM;
  p->type = type;
  p->uid = uid;
  char real[PATH_MAX];
  const char *dir = realpath(path, real) ? real : path;
  int rc = OSQ_OK;
  if (is_profile_dir(dir)) {
    snprintf(p->path, sizeof p->path, "%s", dir);
    rc = scan_profile(current_scan, p);
    profile_release(p);
  } else {
    osq_pathlist subs = {0};
    osq_pathlist_readdir(&subs, dir, NULL);
    for (size_t i = 0; i < subs.n && rc == OSQ_OK; i++) {
      char sub[PATH_MAX * 2], sreal[PATH_MAX];
      snprintf(sub, sizeof sub, "%s/%s", dir, subs.items[i]);
      struct stat st;
      if (stat(sub, &st) != 0 || !S_ISDIR(st.st_mode) || !is_profile_dir(sub))
        continue;
      const char *use = realpath(sub, sreal) ? sreal : sub;
      if (strlen(use) >= sizeof p->path)
        continue;
      memcpy(p->path, use, strlen(use) + 1);
      rc = scan_profile(current_scan, p);
      profile_release(p);
    }
    osq_pathlist_free(&subs);
  }
  free(p);
  return rc;
}

static int generate_any(const osq_context *ctx, osq_rows *out, bool scripts) {
  chrome_scan s = {.out = out, .scripts = scripts, .ctx = ctx};
  const char *names[NBROWSERS];
  for (size_t i = 0; i < NBROWSERS; i++)
    names[i] = browsers[i].dir;
  current_scan = &s;
  int rc = osq_each_user_file(ctx, out, scripts ? S_UID : E_UID, names,
                              NBROWSERS, 1, true, user_data_dir);
  current_scan = NULL;
  return rc;
}

static int ext_generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)udata;
  return generate_any(ctx, out, false);
}

static int scripts_generate(const osq_context *ctx, osq_rows *out,
                            void *udata) {
  (void)udata;
  return generate_any(ctx, out, true);
}

const osq_table_plugin osq_table_chrome_extensions = {
    .name = "chrome_extensions",
    .columns = ext_columns,
    .ncolumns = OSQ_NCOLS(ext_columns),
    .attributes = OSQ_TABLE_USER_BASED,
    .generate = ext_generate,
};

const osq_table_plugin osq_table_chrome_extension_content_scripts = {
    .name = "chrome_extension_content_scripts",
    .columns = script_columns,
    .ncolumns = OSQ_NCOLS(script_columns),
    .attributes = OSQ_TABLE_USER_BASED,
    .generate = scripts_generate,
};
