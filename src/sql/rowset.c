/* Row sets: the typed rows of one generate() call, stored compactly (one
 * cell array and one byte arena per set), and the per-statement cache that
 * lets a JOIN reuse them. */
#include "sql_internal.h"
#include "core/grow.h"
#include "core/parse.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- building ------------------------------------------------------------ */

static size_t rowset_bytes(const osq_rowset *rs) {
  return rs->cap * rs->stride * sizeof(struct osq_cell) + rs->bcap +
         (rs->rowids ? rs->cap * sizeof(int64_t) : 0);
}

static int grow_rows(osq_rowset *rs) {
  size_t cap = rs->cap ? rs->cap * 2 : 64;
  size_t per = rs->stride ? rs->stride : 1;
  if (cap > SIZE_MAX / (per * sizeof(struct osq_cell)) ||
      cap * per * sizeof(struct osq_cell) + rs->bcap > OSQ_SQL_MAX_ROWSET_BYTES) {
    rs->too_big = true;
    return OSQ_ERANGE;
  }
  struct osq_cell *cells = realloc(rs->cells, cap * per * sizeof *cells);
  if (cells == NULL) {
    rs->nomem = true;
    return OSQ_ENOMEM;
  }
  rs->cells = cells;
  if (rs->rowids) {
    int64_t *ids = realloc(rs->rowids, cap * sizeof *ids);
    if (ids == NULL) {
      rs->nomem = true;
      return OSQ_ENOMEM;
    }
    rs->rowids = ids;
  }
  rs->cap = cap;
  return OSQ_OK;
}

static int open_row(osq_rowset *rs) {
  if (rs->row_open)
    return OSQ_OK;
  if (rs->nrows == rs->cap) {
    int rc = grow_rows(rs);
    if (rc != OSQ_OK)
      return rc;
  }
  if (rs->stride)
    memset(&rs->cells[rs->nrows * rs->stride], 0,
           rs->stride * sizeof(struct osq_cell));
  if (rs->rowids)
    rs->rowids[rs->nrows] = (int64_t)rs->nrows;
  rs->nrows++;
  rs->row_open = true;
  return OSQ_OK;
}

static int put_bytes(osq_rowset *rs, struct osq_cell *c, uint8_t kind,
                     const char *p, size_t n) {
  if (n > UINT32_MAX || n > OSQ_SQL_MAX_ROWSET_BYTES - rs->nbytes) {
    rs->too_big = true;
    return OSQ_ERANGE;
  }
  if (osq_grow(&rs->bytes, &rs->bcap, rs->nbytes + n, 1, 4096,
               OSQ_SQL_MAX_ROWSET_BYTES) != OSQ_OK) {
    rs->nomem = true;
    return OSQ_ENOMEM;
  }
  if (n)
    memcpy(rs->bytes + rs->nbytes, p, n);
  c->v.off = rs->nbytes;
  c->len = (uint32_t)n;
  c->kind = kind;
  rs->nbytes += n;
  return OSQ_OK;
}

/* osquery reads integers with std::stoll(s, 0, 0): base prefixes,
 * leading blanks, trailing junk ignored; no digits or out of range is
 * NULL. */
static bool parse_int(const char *p, size_t n, int64_t *out) {
  return osq_parse_i64(p, n, 0, false, out) == OSQ_OK;
}

/* DOUBLE cells must be a whole number text (strtod consumes it all). */
static bool parse_double(const char *p, size_t n, double *out) {
  char buf[128];
  if (n == 0 || n >= sizeof buf)
    return false;
  memcpy(buf, p, n);
  buf[n] = '\0';
  char *end;
  errno = 0;
  double d = strtod(buf, &end);
  if (end != buf + n || end == buf)
    return false;
  *out = d;
  return true;
}

static int rs_cell(void *self, size_t col, const osq_value *v) {
  osq_rowset *rs = self;
  if (col >= rs->ncols)
    return OSQ_EINVAL;
  int rc = open_row(rs);
  if (rc != OSQ_OK)
    return rc;
  if (rs->slot[col] < 0)
    return OSQ_OK; /* the query never reads this column */
  struct osq_cell *c =
      &rs->cells[(rs->nrows - 1) * rs->stride + (size_t)rs->slot[col]];
  c->kind = OSQ_VALUE_NULL;
  char num[64];
  switch (rs->cols[col].type) {
  case OSQ_TYPE_INTEGER:
  case OSQ_TYPE_BIGINT:
  case OSQ_TYPE_UNSIGNED_BIGINT:
    switch (v->kind) {
    case OSQ_VALUE_INT: c->v.i = v->u.i, c->kind = OSQ_VALUE_INT; break;
    case OSQ_VALUE_DOUBLE:
      if (isfinite(v->u.d) && v->u.d >= -9.2233720368547758e18 &&
          v->u.d < 9.2233720368547758e18)
        c->v.i = (int64_t)v->u.d, c->kind = OSQ_VALUE_INT;
      break;
    case OSQ_VALUE_TEXT:
    case OSQ_VALUE_BLOB:
      if (parse_int(v->u.s.p, v->u.s.n, &c->v.i))
        c->kind = OSQ_VALUE_INT;
      break;
    default: break;
    }
    return OSQ_OK;
  case OSQ_TYPE_DOUBLE:
    switch (v->kind) {
    case OSQ_VALUE_INT: c->v.d = (double)v->u.i, c->kind = OSQ_VALUE_DOUBLE; break;
    case OSQ_VALUE_DOUBLE: c->v.d = v->u.d, c->kind = OSQ_VALUE_DOUBLE; break;
    case OSQ_VALUE_TEXT:
    case OSQ_VALUE_BLOB:
      if (parse_double(v->u.s.p, v->u.s.n, &c->v.d))
        c->kind = OSQ_VALUE_DOUBLE;
      break;
    default: break;
    }
    return OSQ_OK;
  case OSQ_TYPE_TEXT:
  case OSQ_TYPE_BLOB: {
    uint8_t kind =
        rs->cols[col].type == OSQ_TYPE_TEXT ? OSQ_VALUE_TEXT : OSQ_VALUE_BLOB;
    switch (v->kind) {
    case OSQ_VALUE_INT: {
      int n = snprintf(num, sizeof num, "%lld", (long long)v->u.i);
      return put_bytes(rs, c, kind, num, (size_t)n);
    }
    case OSQ_VALUE_DOUBLE: {
      int n = snprintf(num, sizeof num, "%.15g", v->u.d);
      return put_bytes(rs, c, kind, num, (size_t)n);
    }
    case OSQ_VALUE_TEXT:
    case OSQ_VALUE_BLOB:
      return put_bytes(rs, c, kind, v->u.s.p, v->u.s.n);
    default: return OSQ_OK;
    }
  }
  default:
    /* osquery answers NULL for cells of an UNKNOWN column. */
    return OSQ_OK;
  }
}

static int rs_rowid(void *self, int64_t rowid) {
  osq_rowset *rs = self;
  int rc = open_row(rs);
  if (rc != OSQ_OK)
    return rc;
  if (rs->rowids == NULL) {
    rs->rowids = malloc(rs->cap * sizeof *rs->rowids);
    if (rs->rowids == NULL) {
      rs->nomem = true;
      return OSQ_ENOMEM;
    }
    for (size_t i = 0; i < rs->nrows; i++)
      rs->rowids[i] = (int64_t)i;
  }
  rs->rowids[rs->nrows - 1] = rowid;
  return OSQ_OK;
}

static int rs_end(void *self) {
  osq_rowset *rs = self;
  int rc = open_row(rs);
  rs->row_open = false;
  return rc;
}

const struct osq_rows_ops osq_rowset_ops = {rs_cell, rs_rowid, rs_end};

/* Only the columns the query reads (SQLite's colUsed) get a slot, so a
 * count(*) stores no cells at all. */
osq_rowset *osq_rowset_new(const osq_column *cols, size_t ncols,
                           uint64_t used) {
  osq_rowset *rs = calloc(1, sizeof *rs);
  if (rs == NULL)
    return NULL;
  rs->slot = malloc((ncols ? ncols : 1) * sizeof *rs->slot);
  if (rs->slot == NULL) {
    free(rs);
    return NULL;
  }
  for (size_t c = 0; c < ncols; c++) {
    unsigned bit = c >= 63 ? 63 : (unsigned)c;
    rs->slot[c] = (used >> bit) & 1 ? (int32_t)rs->stride++ : -1;
  }
  rs->cols = cols;
  rs->ncols = ncols;
  rs->used = used;
  rs->refs = 1;
  return rs;
}

void osq_rowset_free(osq_rowset *rs) {
  if (rs == NULL)
    return;
  free(rs->cells);
  free(rs->slot);
  free(rs->rowids);
  free(rs->bytes);
  free(rs->key);
  free(rs);
}

void osq_rowset_finish(osq_rowset *rs) { rs->row_open = false; }

/* ---- per-statement cache ------------------------------------------------- */

static uint64_t fnv(const char *p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
  return h;
}

/* A set for key whose stored columns cover `used`. */
osq_rowset *osq_cache_find(osq_db *db, const char *key, size_t keylen,
                           uint64_t used) {
  if (db->nbuckets == 0)
    return NULL;
  uint64_t h = fnv(key, keylen);
  for (osq_rowset *rs = db->buckets[h & (db->nbuckets - 1)]; rs;
       rs = rs->hnext)
    if (rs->hash == h && rs->keylen == keylen && (rs->used & used) == used &&
        memcmp(rs->key, key, keylen) == 0) {
      rs->refs++;
      return rs;
    }
  return NULL;
}

static void cache_rehash(osq_db *db) {
  size_t n = db->nbuckets ? db->nbuckets * 2 : 64;
  osq_rowset **b = calloc(n, sizeof *b);
  if (b == NULL)
    return; /* keep the old table; chains just get longer */
  for (size_t i = 0; i < db->nbuckets; i++) {
    osq_rowset *rs = db->buckets[i];
    while (rs) {
      osq_rowset *next = rs->hnext;
      rs->hnext = b[rs->hash & (n - 1)];
      b[rs->hash & (n - 1)] = rs;
      rs = next;
    }
  }
  free(db->buckets);
  db->buckets = b;
  db->nbuckets = n;
}

/* Hand a finished set to the exec call: it stays alive (and its bytes
 * stay put) until osq_db_exec returns, after every statement is
 * finalized, so xColumn can give SQLite static pointers. Takes ownership of key. Over the byte budget the set is not
 * kept: the cursor alone owns it. */
void osq_cache_insert(osq_db *db, osq_rowset *rs, char *key, size_t keylen) {
  size_t bytes = rowset_bytes(rs);
  if (!db->in_exec || db->cached_bytes + bytes > OSQ_SQL_MAX_CACHE_BYTES) {
    free(key);
    return;
  }
  if (db->nentries >= db->nbuckets)
    cache_rehash(db);
  if (db->nbuckets == 0) {
    free(key);
    return;
  }
  rs->key = key;
  rs->keylen = keylen;
  rs->hash = fnv(key, keylen);
  rs->lookup = true;
  rs->retained = true;
  rs->hnext = db->buckets[rs->hash & (db->nbuckets - 1)];
  db->buckets[rs->hash & (db->nbuckets - 1)] = rs;
  rs->anext = db->all;
  db->all = rs;
  db->nentries++;
  db->cached_bytes += bytes;
}

void osq_rowset_release(osq_db *db, osq_rowset *rs) {
  (void)db;
  if (rs == NULL)
    return;
  if (--rs->refs == 0 && !rs->retained)
    osq_rowset_free(rs);
}

/* Keys start with the table name and its NUL. */
void osq_cache_invalidate(osq_db *db, const char *table) {
  for (size_t i = 0; i < db->nbuckets; i++) {
    osq_rowset **pp = &db->buckets[i];
    while (*pp) {
      osq_rowset *rs = *pp;
      if (strcmp(rs->key, table) == 0) {
        *pp = rs->hnext;
        rs->lookup = false;
        db->nentries--;
      } else {
        pp = &rs->hnext;
      }
    }
  }
}

void osq_cache_clear(osq_db *db) {
  osq_rowset *rs = db->all;
  while (rs) {
    osq_rowset *next = rs->anext;
    rs->retained = false;
    rs->anext = NULL;
    rs->hnext = NULL;
    if (rs->refs == 0)
      osq_rowset_free(rs);
    rs = next;
  }
  db->all = NULL;
  if (db->nbuckets)
    memset(db->buckets, 0, db->nbuckets * sizeof *db->buckets);
  db->nentries = 0;
  db->cached_bytes = 0;
}
