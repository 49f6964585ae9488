/* jetbrains_plugins: plugins of each local user's JetBrains IDEs.
 *
 * In ~/.local/share/JetBrains/<Product><version>/plugins a plugin is either
 * a .jar (the row's path is the jar) or a directory whose lib/ holds the
 * plugin's jar among its libraries (the row's path is the directory). The
 * name, vendor and version come from the jar's META-INF/plugin.xml; a
 * plugin without a readable plugin.xml is no row. Which jar of lib/ to
 * try first follows the IDE's own preference: not "resources*", not a
 * versioned library ("gson-2.8.0.jar"), named like the directory, not
 * "*-idea.jar", not database-plugin.jar, shorter names first. */
#include "apps.h"
#include "tables/builtin.h"
#include "tables/fsglob.h"
#include "tables/util.h"
#include "user_files.h"
#include "zipread.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

enum { C_PRODUCT_TYPE, C_UID, C_NAME, C_VERSION, C_VENDOR, C_PATH, C_COUNT };

static const osq_column columns[] = {
    {"product_type", OSQ_TYPE_TEXT, 0},
    {"uid", OSQ_TYPE_BIGINT, OSQ_COL_INDEX},
    {"name", OSQ_TYPE_TEXT, 0},
    {"version", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_VERSION},
    {"vendor", OSQ_TYPE_TEXT, 0},
    {"path", OSQ_TYPE_TEXT, 0},
};
_Static_assert(sizeof columns / sizeof *columns == C_COUNT, "cols");

/* Configuration directory prefixes and osquery's product names. */
static const struct {
  const char *prefix, *product;
} products[] = {
    {"CLion", "clion"},
    {"DataGrip", "datagrip"},
    {"GoLand", "goland"},
    {"IntelliJIdea", "intellij_idea"},
    {"IdeaIC", "intellij_idea_community_edition"},
    {"PhpStorm", "phpstorm"},
    {"PyCharm", "pycharm"},
    {"PyCharmCE", "pycharm_community_edition"},
    {"ReSharper", "resharper"},
    {"Rider", "rider"},
    {"RubyMine", "rubymine"},
    {"RustRover", "rust_rov"}, /* sic: osquery's name */
    {"WebStorm", "webstorm"},
};
#define NPRODUCTS (sizeof products / sizeof *products)

#define PLUGIN_XML_MAX (4u * 1024 * 1024)
/* Jars tried per plugin directory. */
#define LIB_JARS_MAX 512

/* "<tag …>text</tag>": the text of the first such element, trimmed. */
static bool tag_text(const char *xml, const char *tag, char *out, size_t cap) {
  size_t tl = strlen(tag);
  for (const char *p = strstr(xml, "<"); p; p = strstr(p + 1, "<")) {
    if (strncmp(p + 1, tag, tl) != 0 ||
        !(p[1 + tl] == '>' || isspace((unsigned char)p[1 + tl])))
      continue;
    const char *gt = strchr(p, '>');
    if (gt == NULL)
      return false;
    if (gt[-1] == '/') { /* <vendor url="…"/>: empty */
      out[0] = '\0';
      return true;
    }
    char close[64];
    snprintf(close, sizeof close, "</%s>", tag);
    const char *end = strstr(gt + 1, close);
    if (end == NULL)
      return false;
    const char *s = gt + 1;
    while (s < end && isspace((unsigned char)*s))
      s++;
    while (end > s && isspace((unsigned char)end[-1]))
      end--;
    size_t n = (size_t)(end - s);
    if (n >= cap)
      n = cap - 1;
    memcpy(out, s, n);
    out[n] = '\0';
    return true;
  }
  return false;
}

typedef struct plugin_info {
  char name[512], vendor[512], version[128];
} plugin_info;

static bool from_jar(const char *jar, plugin_info *pi) {
  char *xml = osq_zip_read_member(jar, "META-INF/plugin.xml", PLUGIN_XML_MAX,
                                  NULL);
  if (xml == NULL)
    return false;
  if (!tag_text(xml, "name", pi->name, sizeof pi->name))
    pi->name[0] = '\0';
  if (!tag_text(xml, "vendor", pi->vendor, sizeof pi->vendor))
    pi->vendor[0] = '\0';
  if (!tag_text(xml, "version", pi->version, sizeof pi->version))
    pi->version[0] = '\0';
  free(xml);
  return true;
}

static int row(osq_rows *out, const char *product, uint32_t uid,
               const plugin_info *pi, const char *path) {
  osq_rows_cstr(out, C_PRODUCT_TYPE, product);
  osq_rows_int(out, C_UID, uid);
  osq_rows_cstr(out, C_NAME, pi->name);
  osq_rows_cstr(out, C_VERSION, pi->version);
  osq_rows_cstr(out, C_VENDOR, pi->vendor);
  osq_rows_cstr(out, C_PATH, path);
  return osq_rows_end(out);
}

/* "name-1.2.jar", "junit-m5.jar": a library with a version suffix. */
static bool versioned(const char *name) {
  const char *d = strrchr(name, '-');
  if (d == NULL)
    return false;
  if (isdigit((unsigned char)d[1]))
    return true;
  return (d[1] == 'm' || d[1] == 'M') && isdigit((unsigned char)d[2]);
}

static bool ends_nocase(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

static _Thread_local const char *sort_dir_name;

/* Rank keys, lower first: each rule in order, then length. */
static int jar_order(const void *a, const void *b) {
  const char *x = *(char *const *)a, *y = *(char *const *)b;
  int kx[5] = {strncmp(x, "resources", 9) == 0, versioned(x),
               strncasecmp(x, sort_dir_name, strlen(sort_dir_name)) != 0,
               ends_nocase(x, "-idea.jar"),
               strcmp(x, "database-plugin.jar") == 0};
  int ky[5] = {strncmp(y, "resources", 9) == 0, versioned(y),
               strncasecmp(y, sort_dir_name, strlen(sort_dir_name)) != 0,
               ends_nocase(y, "-idea.jar"),
               strcmp(y, "database-plugin.jar") == 0};
  for (int i = 0; i < 5; i++)
    if (kx[i] != ky[i])
      return kx[i] - ky[i];
  size_t lx = strlen(x), ly = strlen(y);
  return lx < ly ? -1 : lx > ly ? 1 : strcmp(x, y);
}

static int plugins_dir(osq_rows *out, const char *product, uint32_t uid,
                       const char *dir) {
  osq_pathlist entries = {0};
  osq_pathlist_readdir(&entries, dir, NULL);
  int rc = OSQ_OK;
  for (size_t i = 0; i < entries.n && rc == OSQ_OK; i++) {
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, entries.items[i]) >=
        (int)sizeof path)
      continue;
    struct stat st;
    if (stat(path, &st) != 0)
      continue;
    plugin_info pi;
    if (S_ISREG(st.st_mode)) {
      if (from_jar(path, &pi))
        rc = row(out, product, uid, &pi, path);
      continue;
    }
    if (!S_ISDIR(st.st_mode))
      continue;
    char lib[PATH_MAX + 8];
    snprintf(lib, sizeof lib, "%s/lib", path);
    osq_pathlist jars = {0};
    osq_pathlist_readdir(&jars, lib, NULL);
    sort_dir_name = entries.items[i];
    qsort(jars.items, jars.n, sizeof *jars.items, jar_order);
    bool found = false;
    for (size_t k = 0; k < jars.n && k < LIB_JARS_MAX && !found; k++) {
      char jar[PATH_MAX * 2];
      snprintf(jar, sizeof jar, "%s/%s", lib, jars.items[k]);
      found = stat(jar, &st) == 0 && S_ISREG(st.st_mode) && from_jar(jar, &pi);
    }
    osq_pathlist_free(&jars);
    if (found)
      rc = row(out, product, uid, &pi, path);
  }
  osq_pathlist_free(&entries);
  return rc;
}

/* ~/.local/share/JetBrains: <Product><version>/plugins for each product
 * (the version starts with a digit, so PyCharm is not PyCharmCE). */
static int jetbrains_dir(osq_rows *out, uint32_t uid, const char *base,
                         char *line) {
  (void)line;
  osq_pathlist confs = {0};
  osq_pathlist_readdir(&confs, base, NULL);
  int rc = OSQ_OK;
  for (size_t i = 0; i < confs.n && rc == OSQ_OK; i++)
    for (size_t k = 0; k < NPRODUCTS && rc == OSQ_OK; k++) {
      size_t pl = strlen(products[k].prefix);
      const char *c = confs.items[i];
      if (strncmp(c, products[k].prefix, pl) != 0 ||
          !isdigit((unsigned char)c[pl]))
        continue;
      char dir[PATH_MAX];
      if (snprintf(dir, sizeof dir, "%s/%s/plugins", base, c) <
          (int)sizeof dir)
        rc = plugins_dir(out, products[k].product, uid, dir);
    }
  osq_pathlist_free(&confs);
  return rc;
}

static int generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)udata;
  static const char *const names[] = {".local/share/JetBrains"};
  return osq_each_user_file(ctx, out, C_UID, names, 1, 1, true,
                            jetbrains_dir);
}

const osq_table_plugin osq_table_jetbrains_plugins = {
    .name = "jetbrains_plugins",
    .columns = columns,
    .ncolumns = OSQ_NCOLS(columns),
    .attributes = OSQ_TABLE_USER_BASED,
    .generate = generate,
};
