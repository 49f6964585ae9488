/* augeas (view configurations): configuration files as Augeas trees,
 * through libaugeas (loaded on first use).
 *
 * As osquery: one handle for the process, created without loading and
 * without Augeas's standard lens directory, with the lenses of
 * --augeas_lenses; each query reloads what changed. `node = …` values
 * are Augeas path expressions; `path = '/etc/x'` matches that file's
 * node and everything below it. Unlike osquery, a query constrained by
 * path parses only those files (aug_load_file) instead of every file
 * every lens covers. Without constraints every node under /files is a
 * row. Osquery's default lens directory rarely exists on a Debian
 * machine: when --augeas_lenses is left at its default and that
 * directory is missing, Debian's augeas-lenses directory is used. The
 * root is Augeas's: AUGEAS_ROOT, else "/". */
#include "core/flags.h"
#include "core/lazylib.h"
#include "core/log.h"
#include "tables/builtin.h"

#include <augeas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DEBIAN_LENSES "/usr/share/augeas/lenses/dist"
/* The longest match expression built from constraints. */
#define EXPR_MAX (64 * 1024)

enum { C_NODE, C_VALUE, C_LABEL, C_PATH, C_COUNT };

static const osq_column columns[] = {
    {"node", OSQ_TYPE_TEXT, OSQ_COL_INDEX},
    {"value", OSQ_TYPE_TEXT, 0},
    {"label", OSQ_TYPE_TEXT, 0},
    {"path", OSQ_TYPE_TEXT, OSQ_COL_ADDITIONAL},
};
_Static_assert(sizeof columns / sizeof *columns == C_COUNT, "cols");

static __typeof__(aug_init) *lz_aug_init;
static __typeof__(aug_close) *lz_aug_close;
static __typeof__(aug_load) *lz_aug_load;
static __typeof__(aug_load_file) *lz_aug_load_file;
static __typeof__(aug_defvar) *lz_aug_defvar;
static __typeof__(aug_match) *lz_aug_match;
static __typeof__(aug_ns_attr) *lz_aug_ns_attr;
static __typeof__(aug_error) *lz_aug_error;
static __typeof__(aug_error_message) *lz_aug_error_message;

static const osq_lazysym syms[] = {
    OSQ_LAZYSYM(aug_init),       OSQ_LAZYSYM(aug_close),
    OSQ_LAZYSYM(aug_load),       OSQ_LAZYSYM(aug_load_file),
    OSQ_LAZYSYM(aug_defvar),     OSQ_LAZYSYM(aug_match),
    OSQ_LAZYSYM(aug_ns_attr),    OSQ_LAZYSYM(aug_error),
    OSQ_LAZYSYM(aug_error_message),
};
static osq_lazylib libaugeas = OSQ_LAZYLIB("libaugeas.so.0", syms);

static pthread_mutex_t aug_mu = PTHREAD_MUTEX_INITIALIZER;
static augeas *handle;        /* under aug_mu */
static char handle_lenses[4096]; /* the lens directory handle was made with */

static const char *lens_dir(void) {
  const char *dir = OSQ_FLAG_STR(augeas_lenses);
  struct stat st;
  if (!OSQ_FLAG_WAS_SET(augeas_lenses) &&
      (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)))
    return DEBIAN_LENSES;
  return dir;
}

/* Under aug_mu: the handle for the current lens directory, or NULL. */
static augeas *get_handle(osq_rows *out) {
  const char *lenses = lens_dir();
  if (handle && strcmp(handle_lenses, lenses) == 0)
    return handle;
  if (handle)
    lz_aug_close(handle);
  handle = lz_aug_init(NULL, lenses,
                       AUG_NO_ERR_CLOSE | AUG_NO_LOAD | AUG_NO_STDINC |
                           AUG_SAVE_NOOP);
  if (handle && lz_aug_error(handle) != AUG_NOERROR) {
    osq_rows_error(out, "augeas: cannot initialise Augeas with lenses %s: %s",
                   lenses, lz_aug_error_message(handle));
    lz_aug_close(handle);
    handle = NULL;
  } else if (handle == NULL) {
    osq_rows_error(out, "augeas: cannot initialise Augeas");
  }
  if (handle)
    snprintf(handle_lenses, sizeof handle_lenses, "%s", lenses);
  return handle;
}

static bool eq_value(const osq_constraint *c) {
  return c->op == OSQ_OP_EQ && c->len > 0 && strlen(c->expr) == c->len;
}

static bool append(char *buf, size_t *used, const char *fmt, const char *a,
                   const char *b) {
  int w = snprintf(buf + *used, EXPR_MAX - *used, fmt, *used ? "|" : "", a, b);
  if (w < 0 || (size_t)w >= EXPR_MAX - *used)
    return false;
  *used += (size_t)w;
  return true;
}

/* The match expression for the constraints, loading the files named by
 * path; false if it does not fit. */
static bool build_expr(const osq_context *ctx, augeas *aug, char *expr) {
  size_t used = 0;
  expr[0] = '\0';
  bool any_path = false, any_node = false;
  for (size_t i = 0; i < osq_context_nconstraints(ctx, C_NODE); i++) {
    const osq_constraint *c = osq_context_constraint(ctx, C_NODE, i);
    if (!eq_value(c))
      continue;
    any_node = true;
    if (!append(expr, &used, "%s%s%s", c->expr, ""))
      return false;
  }
  for (size_t i = 0; i < osq_context_nconstraints(ctx, C_PATH); i++) {
    const osq_constraint *c = osq_context_constraint(ctx, C_PATH, i);
    if (!eq_value(c) || c->expr[0] != '/')
      continue;
    any_path = true;
    if (!any_node)
      lz_aug_load_file(aug, c->expr); /* no lens for it: nothing loads */
    if (!append(expr, &used, "%s/files%s", c->expr, "") ||
        !append(expr, &used, "%s/files%s//*", c->expr, ""))
      return false;
  }
  if (any_node || !any_path)
    lz_aug_load(aug); /* a node expression may reach any file */
  if (used == 0)
    snprintf(expr, EXPR_MAX, "/files//*");
  return true;
}

static int generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)udata;
  if (!osq_lazylib_load(&libaugeas)) {
    osq_rows_error(out, "augeas: %s", osq_lazylib_error(&libaugeas));
    return OSQ_ERROR;
  }
  char *expr = malloc(EXPR_MAX);
  if (expr == NULL) {
    osq_rows_error(out, "augeas: out of memory");
    return OSQ_ERROR;
  }
  pthread_mutex_lock(&aug_mu);
  int rc = OSQ_OK;
  augeas *aug = get_handle(out);
  if (aug == NULL) {
    rc = OSQ_ERROR;
    goto done;
  }
  if (!build_expr(ctx, aug, expr)) {
    osq_rows_error(out, "augeas: node/path constraints longer than %d bytes",
                   EXPR_MAX);
    rc = OSQ_ERROR;
    goto done;
  }
  if (lz_aug_defvar(aug, "matches", expr) < 0) {
    OSQ_WARN("augeas: bad expression %s: %s", expr,
             lz_aug_error_message(aug));
    goto done; /* osquery: logged, no rows */
  }
  char **matches = NULL;
  int n = lz_aug_match(aug, "$matches", &matches);
  if (n < 0) {
    OSQ_WARN("augeas: %s", lz_aug_error_message(aug));
    goto done;
  }
  for (int i = 0; i < n; i++) {
    const char *node = matches[i];
    const char *value = NULL, *label = NULL;
    char *file = NULL;
    if (rc == OSQ_OK && node &&
        lz_aug_ns_attr(aug, "matches", i, &value, &label, &file) >= 0) {
      const char *p = file ? file : node; /* a directory node: its own path */
      osq_rows_cstr(out, C_NODE, node);
      osq_rows_cstr(out, C_VALUE, value ? value : "");
      osq_rows_cstr(out, C_LABEL, label ? label : "");
      osq_rows_cstr(out, C_PATH,
                    strncmp(p, "/files", 6) == 0 ? p + 6 : p);
      rc = osq_rows_end(out);
    }
    free(file);
    free(matches[i]);
  }
  free(matches);
done:
  pthread_mutex_unlock(&aug_mu);
  free(expr);
  return rc;
}

static const char *const aliases[] = {"configurations", NULL};

const osq_table_plugin osq_table_augeas = {
    .name = "augeas",
    .columns = columns,
    .ncolumns = OSQ_NCOLS(columns),
    .aliases = aliases,
    .generate = generate,
};
