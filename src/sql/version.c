/* Version comparison for package versions: version_compare() and the
 * VERSION, VERSION_ARCH, VERSION_DPKG and VERSION_RHEL collations.
 *
 * A version is cut into segments at the delimiters ~ - ^ . : ; inside a
 * segment characters compare by value and the first difference decides
 * once both sides reach a delimiter. The flavors add package-manager
 * rules: an epoch ("N:") wins, delimiters have a precedence
 * (~ < - < ^ < . < :), and what is left over on the longer side decides
 * by its first character (~ sorts lower, ^ higher, - equal). */
#include "sql_internal.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

struct vflavor {
  bool epoch;           /* a version with an epoch sorts higher */
  bool delim_order;     /* delimiters compare by precedence */
  bool remainder;       /* look at the leftover of the longer version */
  bool remainder_alpha; /* ...but a numeric tail just compares by length */
};

static const struct vflavor flavor_plain = {false, false, false, false};
static const struct vflavor flavor_arch = {true, false, true, true};
static const struct vflavor flavor_dpkg = {true, true, false, false};
static const struct vflavor flavor_rhel = {true, true, true, false};

static int delim_rank(unsigned char c) {
  switch (c) {
  case '~': return 1;
  case '-': return 2;
  case '^': return 3;
  case '.': return 4;
  case ':': return 5;
  default: return 0;
  }
}

static long epoch_pos(const char *s, size_t n) {
  const char *c = memchr(s, ':', n);
  return c ? (long)(c - s) : -1;
}

static int sign(long v) { return v < 0 ? -1 : v > 0 ? 1 : 0; }

/* The longer side has characters left at pos; decide by them. */
static int leftover(const char *l, size_t ln, const char *r, size_t rn,
                    size_t pos, int diff, const struct vflavor *f) {
  if (f->remainder) {
    if (ln == pos) {
      switch (r[pos]) {
      case '~': return 1;
      case '-': return 0;
      case '^': return -1;
      default:
        if (diff != 0 &&
            (!f->remainder_alpha || pos == 0 || !isdigit((unsigned char)l[pos - 1])))
          return diff;
      }
    }
    if (rn == pos) {
      switch (l[pos]) {
      case '~': return -1;
      case '-': return 0;
      case '^': return 1;
      default:
        if (diff != 0 &&
            (!f->remainder_alpha || pos == 0 || !isdigit((unsigned char)r[pos - 1])))
          return diff;
      }
    }
  }
  return ln < rn ? -1 : 1;
}

static int vcompare(const char *l, size_t ln, const char *r, size_t rn,
                    const struct vflavor *f) {
  if (ln == 0 || rn == 0)
    return ln == rn ? 0 : ln == 0 ? -1 : 1;
  if (ln == rn && memcmp(l, r, ln) == 0)
    return 0;
  if (f->epoch) {
    long le = epoch_pos(l, ln), re = epoch_pos(r, rn);
    if (le >= 0 && re >= 0 && le != re)
      return sign(le - re);
    if (le >= 0 && re < 0)
      return 1;
    if (le < 0 && re >= 0)
      return -1;
  }
  int diff = 0;
  size_t min = ln < rn ? ln : rn;
  for (size_t i = 0; i < min; i++) {
    int ld = delim_rank((unsigned char)l[i]), rd = delim_rank((unsigned char)r[i]);
    if (ld == 0 && rd == 0) {
      if (diff == 0)
        diff = (unsigned char)l[i] - (unsigned char)r[i];
      continue;
    }
    if (ld == 0)
      return 1; /* a longer segment is a bigger number */
    if (rd == 0)
      return -1;
    if (diff != 0)
      return sign(diff);
    if (f->delim_order && ld != rd)
      return sign(ld - rd);
  }
  if (ln == rn)
    return sign(diff);
  return sign(leftover(l, ln, r, rn, min, sign(diff), f));
}

static const struct vflavor *flavor_named(const char *name) {
  if (strcasecmp(name, "ARCH") == 0)
    return &flavor_arch;
  if (strcasecmp(name, "DPKG") == 0)
    return &flavor_dpkg;
  if (strcasecmp(name, "RHEL") == 0)
    return &flavor_rhel;
  return NULL;
}

static void version_compare_fn(sqlite3_context *ctx, int argc,
                               sqlite3_value **argv) {
  if (argc < 2 || argc > 3) {
    sqlite3_result_error(ctx, "version_compare takes two versions and an "
                              "optional flavor (ARCH, DPKG or RHEL)", -1);
    return;
  }
  for (int i = 0; i < argc; i++)
    if (sqlite3_value_type(argv[i]) != SQLITE_TEXT) {
      sqlite3_result_error(ctx, "version_compare: every argument must be text",
                           -1);
      return;
    }
  const struct vflavor *f = &flavor_plain;
  if (argc == 3) {
    const char *name = (const char *)sqlite3_value_text(argv[2]);
    f = name ? flavor_named(name) : NULL;
    if (f == NULL) {
      char *msg = sqlite3_mprintf(
          "version_compare: unknown flavor '%s'; use ARCH, DPKG or RHEL",
          name ? name : "");
      sqlite3_result_error(ctx, msg ? msg : "version_compare: unknown flavor",
                           -1);
      sqlite3_free(msg);
      return;
    }
  }
  const char *l = (const char *)sqlite3_value_text(argv[0]);
  const char *r = (const char *)sqlite3_value_text(argv[1]);
  if (l == NULL || r == NULL) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sqlite3_result_int(ctx, vcompare(l, (size_t)sqlite3_value_bytes(argv[0]), r,
                                   (size_t)sqlite3_value_bytes(argv[1]), f));
}

static int coll(void *u, int ln, const void *l, int rn, const void *r) {
  return vcompare(l, (size_t)ln, r, (size_t)rn, u);
}

int osq_sql_register_version(sqlite3 *db) {
  int rc = sqlite3_create_function(db, "version_compare", -1,
                                   SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                                   version_compare_fn, NULL, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_create_collation(db, "VERSION", SQLITE_UTF8,
                                  (void *)&flavor_plain, coll);
  if (rc == SQLITE_OK)
    rc = sqlite3_create_collation(db, "VERSION_ARCH", SQLITE_UTF8,
                                  (void *)&flavor_arch, coll);
  if (rc == SQLITE_OK)
    rc = sqlite3_create_collation(db, "VERSION_DPKG", SQLITE_UTF8,
                                  (void *)&flavor_dpkg, coll);
  if (rc == SQLITE_OK)
    rc = sqlite3_create_collation(db, "VERSION_RHEL", SQLITE_UTF8,
                                  (void *)&flavor_rhel, coll);
  return rc;
}
