/* rpm_packages and rpm_package_files: the RPM database, read through
 * librpm (loaded on first use), as `rpm -qa` and `rpm -ql` see it.
 *
 * librpm keeps its configuration and macros in process globals, so one
 * query at a time uses it (rpm_mu); rows stream out of the database
 * iterator one header at a time, never a copy of the database. An "="
 * on the package name is pushed down to the database's name index. The
 * hidden --rpm_dbpath flag points both tables at another database (the
 * tests build one); by default librpm's %_dbpath is read. */
#include "core/flags.h"
#include "core/lazylib.h"
#include "core/log.h"
#include "tables/builtin.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rpm/header.h>
#include <rpm/rpmdb.h>
#include <rpm/rpmfi.h>
#include <rpm/rpmlib.h>
#include <rpm/rpmlog.h>
#include <rpm/rpmmacro.h>
#include <rpm/rpmpgp.h>
#include <rpm/rpmts.h>

/* osquery skips a package claiming more files than this. */
#define RPM_FILES_MAX (64 * 1024)

static __typeof__(rpmReadConfigFiles) *lz_rpmReadConfigFiles;
static __typeof__(rpmPushMacro) *lz_rpmPushMacro;
static __typeof__(rpmPopMacro) *lz_rpmPopMacro;
static __typeof__(rpmlogSetCallback) *lz_rpmlogSetCallback;
static __typeof__(rpmlogRecMessage) *lz_rpmlogRecMessage;
static __typeof__(rpmtsCreate) *lz_rpmtsCreate;
static __typeof__(rpmtsFree) *lz_rpmtsFree;
static __typeof__(rpmtsInitIterator) *lz_rpmtsInitIterator;
static __typeof__(rpmdbNextIterator) *lz_rpmdbNextIterator;
static __typeof__(rpmdbFreeIterator) *lz_rpmdbFreeIterator;
static __typeof__(headerGetString) *lz_headerGetString;
static __typeof__(headerGetNumber) *lz_headerGetNumber;
static __typeof__(headerIsEntry) *lz_headerIsEntry;
static __typeof__(rpmfiNew) *lz_rpmfiNew;
static __typeof__(rpmfiFree) *lz_rpmfiFree;
static __typeof__(rpmfiFC) *lz_rpmfiFC;
static __typeof__(rpmfiNext) *lz_rpmfiNext;
static __typeof__(rpmfiFN) *lz_rpmfiFN;
static __typeof__(rpmfiFUser) *lz_rpmfiFUser;
static __typeof__(rpmfiFGroup) *lz_rpmfiFGroup;
static __typeof__(rpmfiFMode) *lz_rpmfiFMode;
static __typeof__(rpmfiFSize) *lz_rpmfiFSize;
static __typeof__(rpmfiFDigestHex) *lz_rpmfiFDigestHex;
static __typeof__(rpmtsOpenDB) *lz_rpmtsOpenDB;
static __typeof__(rpmtsGetRdb) *lz_rpmtsGetRdb;
static __typeof__(rpmdbIndexIteratorInit) *lz_rpmdbIndexIteratorInit;
static __typeof__(rpmdbIndexIteratorNext) *lz_rpmdbIndexIteratorNext;
static __typeof__(rpmdbIndexIteratorNumPkgs) *lz_rpmdbIndexIteratorNumPkgs;
static __typeof__(rpmdbIndexIteratorFree) *lz_rpmdbIndexIteratorFree;

static const osq_lazysym syms[] = {
    OSQ_LAZYSYM(rpmReadConfigFiles), OSQ_LAZYSYM(rpmPushMacro),
    OSQ_LAZYSYM(rpmPopMacro),        OSQ_LAZYSYM(rpmlogSetCallback),
    OSQ_LAZYSYM(rpmlogRecMessage),   OSQ_LAZYSYM(rpmtsCreate),
    OSQ_LAZYSYM(rpmtsFree),          OSQ_LAZYSYM(rpmtsInitIterator),
    OSQ_LAZYSYM(rpmdbNextIterator),  OSQ_LAZYSYM(rpmdbFreeIterator),
    OSQ_LAZYSYM(headerGetString),    OSQ_LAZYSYM(headerGetNumber),
    OSQ_LAZYSYM(headerIsEntry),      OSQ_LAZYSYM(rpmfiNew),
    OSQ_LAZYSYM(rpmfiFree),          OSQ_LAZYSYM(rpmfiFC),
    OSQ_LAZYSYM(rpmfiNext),          OSQ_LAZYSYM(rpmfiFN),
    OSQ_LAZYSYM(rpmfiFUser),         OSQ_LAZYSYM(rpmfiFGroup),
    OSQ_LAZYSYM(rpmfiFMode),         OSQ_LAZYSYM(rpmfiFSize),
    OSQ_LAZYSYM(rpmfiFDigestHex),    OSQ_LAZYSYM(rpmtsOpenDB),
    OSQ_LAZYSYM(rpmtsGetRdb),        OSQ_LAZYSYM(rpmdbIndexIteratorInit),
    OSQ_LAZYSYM(rpmdbIndexIteratorNext),
    OSQ_LAZYSYM(rpmdbIndexIteratorNumPkgs),
    OSQ_LAZYSYM(rpmdbIndexIteratorFree),
};
static osq_lazylib librpm = OSQ_LAZYLIB("librpm.so.9", syms);

static pthread_mutex_t rpm_mu = PTHREAD_MUTEX_INITIALIZER;
static bool configured; /* under rpm_mu */

/* librpm's messages (a missing database …) go to osq's log, verbose. */
static int rpm_log(rpmlogRec rec, rpmlogCallbackData data) {
  (void)data;
  const char *m = lz_rpmlogRecMessage(rec);
  if (m)
    OSQ_VLOG("librpm: %.*s", (int)strcspn(m, "\n"), m);
  return 0; /* handled: librpm prints nothing itself */
}

/* Under rpm_mu: librpm loaded and configured, or false with a warning. */
static bool rpm_ready(const char *table) {
  if (!osq_lazylib_load(&librpm)) {
    OSQ_WARN("%s: %s", table, osq_lazylib_error(&librpm));
    return false;
  }
  if (!configured) {
    lz_rpmlogSetCallback(rpm_log, NULL);
    if (lz_rpmReadConfigFiles(NULL, NULL) != 0) {
      OSQ_WARN("%s: cannot read the RPM configuration", table);
      return false;
    }
    configured = true;
  }
  return true;
}

/* One database pass: every header, or those named by the "=" constraint
 * on name_col. each() emits the rows of one header. With rows_only (the
 * query reads no column: count(*)) and no constraint, every package of
 * the name index is an empty row, and no header is read. */
typedef int (*header_fn)(const osq_context *ctx, osq_rows *out, rpmts ts,
                         Header h);

/* Under rpm_mu: an empty row per package in ts's name index (the index
 * the full scan walks), without reading or checking any header. False,
 * with no row, when the database has no such index. */
static bool count_names(osq_rows *out, rpmts ts, int *rc) {
  rpmdb db = lz_rpmtsOpenDB(ts, O_RDONLY) == 0 ? lz_rpmtsGetRdb(ts) : NULL;
  rpmdbIndexIterator ii = db ? lz_rpmdbIndexIteratorInit(db, RPMDBI_NAME)
                             : NULL;
  if (ii == NULL)
    return false;
  const void *key;
  size_t len;
  *rc = OSQ_OK;
  while (*rc == OSQ_OK && lz_rpmdbIndexIteratorNext(ii, &key, &len) == 0)
    for (unsigned n = lz_rpmdbIndexIteratorNumPkgs(ii); n > 0 && *rc == OSQ_OK;
         n--)
      *rc = osq_rows_end(out);
  lz_rpmdbIndexIteratorFree(ii);
  return true;
}

static int scan_names(const osq_context *ctx, osq_rows *out, size_t name_col,
                      const char *table, header_fn each, bool rows_only) {
  pthread_mutex_lock(&rpm_mu);
  if (!rpm_ready(table)) {
    pthread_mutex_unlock(&rpm_mu);
    return OSQ_OK; /* no RPM support here: no rows, as in osquery */
  }
  const char *dbpath = OSQ_FLAG_STR(rpm_dbpath);
  bool pushed = dbpath && dbpath[0];
  if (pushed)
    lz_rpmPushMacro(NULL, "_dbpath", NULL, dbpath, RMIL_CMDLINE);
  rpmts ts = lz_rpmtsCreate();

  size_t n = osq_context_nconstraints(ctx, name_col);
  bool by_name = n > 0;
  for (size_t i = 0; i < n; i++)
    if (osq_context_constraint(ctx, name_col, i)->op != OSQ_OP_EQ)
      by_name = false;
  int rc = OSQ_OK;
  bool counted = rows_only && n == 0 && count_names(out, ts, &rc);
  for (size_t i = 0; !counted && rc == OSQ_OK && i < (by_name ? n : 1); i++) {
    const osq_constraint *c =
        by_name ? osq_context_constraint(ctx, name_col, i) : NULL;
    if (c && (c->len == 0 || strlen(c->expr) != c->len))
      continue;
    rpmdbMatchIterator mi = lz_rpmtsInitIterator(
        ts, RPMDBI_NAME, c ? c->expr : NULL, c ? c->len : 0);
    Header h;
    while (rc == OSQ_OK && mi && (h = lz_rpmdbNextIterator(mi)) != NULL)
      rc = each(ctx, out, ts, h);
    lz_rpmdbFreeIterator(mi);
  }
  lz_rpmtsFree(ts);
  if (pushed)
    lz_rpmPopMacro(NULL, "_dbpath");
  pthread_mutex_unlock(&rpm_mu);
  return rc;
}

/* ---- rpm_packages ------------------------------------------------------ */

enum {
  P_NAME, P_VERSION, P_RELEASE, P_SOURCE, P_SIZE, P_SHA1, P_ARCH, P_EPOCH,
  P_INSTALL_TIME, P_VENDOR, P_PACKAGE_GROUP, P_PID_WITH_NAMESPACE,
  P_MOUNT_NAMESPACE_ID, P_COUNT
};

static const osq_column package_columns[] = {
    {"name", OSQ_TYPE_TEXT, OSQ_COL_INDEX | OSQ_COL_OPTIMIZED},
    {"version", OSQ_TYPE_TEXT, OSQ_COL_INDEX | OSQ_COL_COLLATE_VERSION_RHEL},
    {"release", OSQ_TYPE_TEXT, OSQ_COL_INDEX},
    {"source", OSQ_TYPE_TEXT, 0},
    {"size", OSQ_TYPE_BIGINT, 0},
    {"sha1", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"arch", OSQ_TYPE_TEXT, OSQ_COL_INDEX},
    {"epoch", OSQ_TYPE_INTEGER, OSQ_COL_INDEX},
    {"install_time", OSQ_TYPE_INTEGER, 0},
    {"vendor", OSQ_TYPE_TEXT, 0},
    {"package_group", OSQ_TYPE_TEXT, 0},
    {"pid_with_namespace", OSQ_TYPE_INTEGER,
     OSQ_COL_ADDITIONAL | OSQ_COL_HIDDEN},
    {"mount_namespace_id", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
};
_Static_assert(sizeof package_columns / sizeof *package_columns == P_COUNT,
               "cols");

static void cell_str(osq_rows *out, size_t col, Header h, rpmTagVal tag) {
  const char *v = lz_headerGetString(h, tag);
  osq_rows_cstr(out, col, v ? v : "");
}

static int package_row(const osq_context *ctx, osq_rows *out, rpmts ts,
                       Header h) {
  (void)ctx, (void)ts;
  cell_str(out, P_NAME, h, RPMTAG_NAME);
  cell_str(out, P_VERSION, h, RPMTAG_VERSION);
  cell_str(out, P_RELEASE, h, RPMTAG_RELEASE);
  cell_str(out, P_SOURCE, h, RPMTAG_SOURCERPM);
  osq_rows_int(out, P_SIZE, (int64_t)lz_headerGetNumber(h, RPMTAG_SIZE));
  cell_str(out, P_SHA1, h, RPMTAG_SHA1HEADER);
  cell_str(out, P_ARCH, h, RPMTAG_ARCH);
  if (lz_headerIsEntry(h, RPMTAG_EPOCH)) /* no epoch: NULL, not 0 */
    osq_rows_int(out, P_EPOCH, (int64_t)lz_headerGetNumber(h, RPMTAG_EPOCH));
  osq_rows_int(out, P_INSTALL_TIME,
               (int64_t)lz_headerGetNumber(h, RPMTAG_INSTALLTIME));
  cell_str(out, P_VENDOR, h, RPMTAG_VENDOR);
  cell_str(out, P_PACKAGE_GROUP, h, RPMTAG_GROUP);
  return osq_rows_end(out);
}

static int gen_packages(const osq_context *ctx, osq_rows *out, void *ud) {
  (void)ud;
  bool rows_only = true;
  for (size_t c = 0; c < P_COUNT; c++)
    rows_only = rows_only && !osq_context_column_used(ctx, c);
  return scan_names(ctx, out, P_NAME, "rpm_packages", package_row, rows_only);
}

const osq_table_plugin osq_table_rpm_packages = {
    .name = "rpm_packages",
    .columns = package_columns,
    .ncolumns = OSQ_NCOLS(package_columns),
    .attributes = OSQ_TABLE_CACHEABLE,
    .generate = gen_packages,
};

/* ---- rpm_package_files ------------------------------------------------- */

enum {
  F_PACKAGE, F_PATH, F_USERNAME, F_GROUPNAME, F_MODE, F_SIZE, F_SHA256,
  F_COUNT
};

static const osq_column file_columns[] = {
    {"package", OSQ_TYPE_TEXT, OSQ_COL_INDEX | OSQ_COL_OPTIMIZED},
    {"path", OSQ_TYPE_TEXT, OSQ_COL_INDEX},
    {"username", OSQ_TYPE_TEXT, 0},
    {"groupname", OSQ_TYPE_TEXT, 0},
    {"mode", OSQ_TYPE_TEXT, 0},
    {"size", OSQ_TYPE_BIGINT, 0},
    {"sha256", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
};
_Static_assert(sizeof file_columns / sizeof *file_columns == F_COUNT, "cols");

static int file_rows(const osq_context *ctx, osq_rows *out, rpmts ts,
                     Header h) {
  const char *name = lz_headerGetString(h, RPMTAG_NAME);
  rpmfi fi = lz_rpmfiNew(ts, h, RPMTAG_BASENAMES, RPMFI_NOHEADER);
  if (fi == NULL)
    return OSQ_OK;
  int fc = lz_rpmfiFC(fi);
  if (fc > RPM_FILES_MAX) {
    OSQ_VLOG("rpm_package_files: %s lists %d files, over %d: skipped",
             name ? name : "?", fc, RPM_FILES_MAX);
    lz_rpmfiFree(fi);
    return OSQ_OK;
  }
  bool want_sha = osq_context_column_used(ctx, F_SHA256);
  int rc = OSQ_OK;
  while (rc == OSQ_OK && lz_rpmfiNext(fi) >= 0) {
    const char *s;
    osq_rows_cstr(out, F_PACKAGE, name ? name : "");
    osq_rows_cstr(out, F_PATH, (s = lz_rpmfiFN(fi)) ? s : "");
    osq_rows_cstr(out, F_USERNAME, (s = lz_rpmfiFUser(fi)) ? s : "");
    osq_rows_cstr(out, F_GROUPNAME, (s = lz_rpmfiFGroup(fi)) ? s : "");
    char mode[8];
    snprintf(mode, sizeof mode, "%04o", (unsigned)lz_rpmfiFMode(fi) & 07777);
    osq_rows_cstr(out, F_MODE, mode);
    osq_rows_int(out, F_SIZE, (int64_t)lz_rpmfiFSize(fi));
    if (want_sha) {
      int algo = 0;
      char *hex = lz_rpmfiFDigestHex(fi, &algo);
      if (algo == PGPHASHALGO_SHA256) /* osquery: other digests stay NULL */
        osq_rows_cstr(out, F_SHA256, hex ? hex : "");
      free(hex);
    }
    rc = osq_rows_end(out);
  }
  lz_rpmfiFree(fi);
  return rc;
}

static int gen_files(const osq_context *ctx, osq_rows *out, void *ud) {
  (void)ud;
  return scan_names(ctx, out, F_PACKAGE, "rpm_package_files", file_rows,
                    false);
}

const osq_table_plugin osq_table_rpm_package_files = {
    .name = "rpm_package_files",
    .columns = file_columns,
    .ncolumns = OSQ_NCOLS(file_columns),
    .generate = gen_files,
};
