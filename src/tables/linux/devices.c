/* device_partitions, device_file and device_hash: partitions, files and
 * file contents of a disk or disk image read through The Sleuth Kit (not
 * the mounted filesystem), as osquery's forensic tables. libtsk is loaded
 * on first use (tsk_lazy.c). */
#include "tables/builtin.h"
#include "tables/util.h"
#include "tsk_lazy.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The walk of one partition stops after this many directories and
 * entries, as osquery's does. */
#define WALK_DIRS_MAX 1024
#define WALK_ENTRIES_MAX 10240

/* The "=" values of a column. */
static size_t eq_values(const osq_context *ctx, size_t col,
                        const char **out, size_t max) {
  size_t n = 0;
  for (size_t i = 0; i < osq_context_nconstraints(ctx, col) && n < max; i++) {
    const osq_constraint *c = osq_context_constraint(ctx, col, i);
    if (c->op == OSQ_OP_EQ)
      out[n++] = c->expr;
  }
  return n;
}

#define VALUES_MAX 64

#ifdef OSQ_HAVE_TSK

typedef struct device {
  const osq_tsk_api *t;
  TSK_IMG_INFO *img;
  TSK_VS_INFO *vs;
} device;

/* Open the image and its volume system; false (nothing to close) when
 * either is missing, as osquery (a bare filesystem has no partitions).
 * The image is read raw (a disk, a partition or a dd image): libtsk's
 * format detection leaks its VMDK/VHD probes' handles on every open
 * (libtsk 4.11), which a daemon asking every few minutes cannot afford,
 * so E01/VMDK/VHD containers are not opened. */
static bool dev_open(device *d, const osq_tsk_api *t, const char *path) {
  d->t = t;
  d->vs = NULL;
  d->img = t->img_open(path, TSK_IMG_TYPE_RAW, 0);
  if (d->img == NULL)
    return false;
  d->vs = t->vs_open(d->img, 0, TSK_VS_TYPE_DETECT);
  if (d->vs == NULL) {
    t->img_close(d->img);
    return false;
  }
  return true;
}

static void dev_close(device *d) {
  d->t->vs_close(d->vs);
  d->t->img_close(d->img);
}

static const osq_tsk_api *load(osq_rows *out) {
  char err[300];
  const osq_tsk_api *t = osq_tsk(err, sizeof err);
  if (t == NULL)
    osq_rows_error(out, "%s", err);
  return t;
}

/* fn for each of devs that opens as a device; arg is fn's. */
typedef int (*device_fn)(const device *d, const char *dev, const void *arg,
                         osq_rows *out);

static int for_each_device(const char *const *devs, size_t nd, device_fn fn,
                           const void *arg, osq_rows *out) {
  const osq_tsk_api *t = load(out);
  if (t == NULL)
    return OSQ_ERROR;
  int rc = OSQ_OK;
  for (size_t k = 0; k < nd && rc == OSQ_OK; k++) {
    device d;
    if (!dev_open(&d, t, devs[k]))
      continue;
    rc = fn(&d, devs[k], arg, out);
    dev_close(&d);
  }
  return rc;
}

/* ---- device_partitions ------------------------------------------------ */

static int partition_rows(const device *d, const char *dev, const void *arg,
                          osq_rows *out) {
  (void)arg;
  const osq_tsk_api *t = d->t;
  int rc = OSQ_OK;
  for (TSK_PNUM_T i = 0; i < d->vs->part_count && rc == OSQ_OK; i++) {
    const TSK_VS_PART_INFO *p = t->vs_part_get(d->vs, i);
    if (p == NULL)
      continue;
    osq_rows_cstr(out, 0, dev);
    osq_rows_int(out, 1, p->addr);
    if (p->desc != NULL)
      osq_rows_cstr(out, 2, p->desc);
    TSK_FS_INFO *fs = t->fs_open_vol(p, TSK_FS_TYPE_DETECT);
    if (fs == NULL) {
      osq_rows_cstr(out, 3,
                    p->flags & TSK_VS_PART_FLAG_META      ? "meta"
                    : p->flags & TSK_VS_PART_FLAG_UNALLOC ? "unallocated"
                                                          : "normal");
      osq_rows_int(out, 4, (int64_t)(p->start * d->vs->block_size));
      osq_rows_int(out, 5, d->vs->block_size);
      osq_rows_int(out, 6, (int64_t)p->len);
      osq_rows_int(out, 7, -1);
      osq_rows_int(out, 8, p->flags);
    } else {
      /* a filesystem names the partition's type */
      osq_rows_cstr(out, 3, t->fs_type_toname(fs->ftype));
      osq_rows_int(out, 4, (int64_t)fs->offset);
      osq_rows_int(out, 5, fs->block_size);
      osq_rows_int(out, 6, (int64_t)fs->block_count);
      osq_rows_int(out, 7, (int64_t)fs->inum_count);
      osq_rows_int(out, 8, fs->flags);
      t->fs_close(fs);
    }
    rc = osq_rows_end(out);
  }
  return rc;
}

static int parts_generate(const osq_context *ctx, osq_rows *out,
                          void *udata) {
  (void)udata;
  const char *devs[VALUES_MAX];
  size_t nd = eq_values(ctx, 0, devs, VALUES_MAX);
  if (nd == 0)
    return OSQ_OK;
  return for_each_device(devs, nd, partition_rows, NULL, out);
}

/* ---- device_file ------------------------------------------------------ */

enum {
  F_DEVICE, F_PARTITION, F_PATH, F_FILENAME, F_INODE, F_UID, F_GID, F_MODE,
  F_SIZE, F_BLOCK_SIZE, F_ATIME, F_MTIME, F_CTIME, F_HARD_LINKS, F_TYPE
};

static const char *type_name(TSK_FS_META_TYPE_ENUM t) {
  switch (t) {
  case TSK_FS_META_TYPE_REG: return "regular";
  case TSK_FS_META_TYPE_DIR: return "directory";
  case TSK_FS_META_TYPE_LNK: return "symlink";
  case TSK_FS_META_TYPE_BLK: return "block";
  case TSK_FS_META_TYPE_CHR: return "character";
  case TSK_FS_META_TYPE_FIFO: return "fifo";
  case TSK_FS_META_TYPE_SOCK: return "socket";
  default: return "unknown";
  }
}

static int file_row(osq_rows *out, const char *dev, const char *part,
                    const TSK_FS_INFO *fs, const TSK_FS_META *m,
                    const char *path) {
  osq_rows_cstr(out, F_DEVICE, dev);
  osq_rows_cstr(out, F_PARTITION, part);
  osq_rows_cstr(out, F_PATH, path);
  const char *base = strrchr(path, '/');
  osq_rows_cstr(out, F_FILENAME, base ? base + 1 : path);
  osq_rows_int(out, F_BLOCK_SIZE, fs->block_size);
  osq_rows_int(out, F_INODE, (int64_t)m->addr);
  osq_rows_int(out, F_UID, m->uid);
  osq_rows_int(out, F_GID, m->gid);
  /* osquery prints TSK's mode bits as a decimal number */
  char mode[16];
  snprintf(mode, sizeof mode, "%u", (unsigned)m->mode);
  osq_rows_cstr(out, F_MODE, mode);
  osq_rows_int(out, F_SIZE, m->size);
  osq_rows_int(out, F_ATIME, m->atime);
  osq_rows_int(out, F_MTIME, m->mtime);
  /* osquery's ctime is the creation time */
  osq_rows_int(out, F_CTIME, m->crtime);
  osq_rows_int(out, F_HARD_LINKS, m->nlink);
  osq_rows_cstr(out, F_TYPE, type_name(m->type));
  return osq_rows_end(out);
}

typedef struct walk {
  const osq_tsk_api *t;
  TSK_FS_INFO *fs;
  osq_rows *out;
  const char *dev, *part;
  size_t dirs, entries;
} walk;

typedef struct subdir {
  TSK_INUM_T inum;
  char *path;
} subdir;

static bool is_dot(const char *n) {
  return strcmp(n, ".") == 0 || strcmp(n, "..") == 0;
}

/* Regular files of the directory at inum (path names it), then its
 * subdirectories. */
static int walk_dir(walk *w, TSK_INUM_T inum, const char *path) {
  if (w->dirs++ > WALK_DIRS_MAX)
    return OSQ_OK;
  TSK_FS_DIR *dir = w->t->dir_open_meta(w->fs, inum);
  if (dir == NULL)
    return OSQ_OK;
  size_t n = w->t->dir_getsize(dir);
  subdir *subs = calloc(n ? n : 1, sizeof *subs);
  size_t ns = 0;
  int rc = subs ? OSQ_OK : OSQ_ENOMEM;
  for (size_t i = 0; i < n && rc == OSQ_OK; i++) {
    if (w->entries++ > WALK_ENTRIES_MAX)
      break;
    TSK_FS_FILE *f = w->t->dir_get(dir, i);
    if (f == NULL)
      continue;
    if (f->meta != NULL && f->name != NULL && f->name->name != NULL) {
      size_t pl = strlen(path), nl = strlen(f->name->name);
      char *leaf = malloc(pl + nl + 2);
      if (leaf == NULL) {
        rc = OSQ_ENOMEM;
      } else {
        snprintf(leaf, pl + nl + 2, "%s%s%s", path,
                 pl && path[pl - 1] == '/' ? "" : "/", f->name->name);
        if (f->meta->type == TSK_FS_META_TYPE_REG) {
          rc = file_row(w->out, w->dev, w->part, w->fs, f->meta, leaf);
          free(leaf);
        } else if (f->meta->type == TSK_FS_META_TYPE_DIR &&
                   !is_dot(f->name->name)) {
          subs[ns].inum = f->meta->addr;
          subs[ns++].path = leaf;
        } else {
          free(leaf);
        }
      }
    }
    w->t->file_close(f);
  }
  w->t->dir_close(dir);
  for (size_t i = 0; i < ns; i++) {
    if (rc == OSQ_OK)
      rc = walk_dir(w, subs[i].inum, subs[i].path);
    free(subs[i].path);
  }
  free(subs);
  return rc;
}

/* The partition of the device whose address is part, with its
 * filesystem open; NULL if none. */
static TSK_FS_INFO *open_partition(const device *d, const char *part) {
  for (TSK_PNUM_T i = 0; i < d->vs->part_count; i++) {
    const TSK_VS_PART_INFO *p = d->t->vs_part_get(d->vs, i);
    if (p == NULL)
      continue;
    char addr[24];
    snprintf(addr, sizeof addr, "%" PRIu64, (uint64_t)p->addr);
    if (strcmp(addr, part) == 0)
      return d->t->fs_open_vol(p, TSK_FS_TYPE_DETECT);
  }
  return NULL;
}

/* The name TSK records with an inode (NTFS, and some others), else "". */
static const char *meta_name(const TSK_FS_META *m) {
  return m->name2 != NULL ? m->name2->name : "";
}

/* The file whose inode number is the text s; NULL if none. */
static TSK_FS_FILE *open_inode(const osq_tsk_api *t, TSK_FS_INFO *fs,
                               const char *s, TSK_INUM_T *inum) {
  uint64_t v;
  if (!osq_tbl_parse_u64(s, &v))
    return NULL;
  *inum = (TSK_INUM_T)v;
  return t->file_open_meta(fs, NULL, *inum);
}

/* What device_file and device_hash were asked for on each device: one
 * partition, and the files by path or by inode. */
typedef struct fs_query {
  const char *part;
  const char *const *paths, *const *inodes;
  size_t npath, ni;
  int (*rows)(const struct fs_query *q, const osq_tsk_api *t,
              TSK_FS_INFO *fs, const char *dev, osq_rows *out);
} fs_query;

static int fs_query_rows(const device *d, const char *dev, const void *arg,
                         osq_rows *out) {
  const fs_query *q = arg;
  TSK_FS_INFO *fs = open_partition(d, q->part);
  if (fs == NULL)
    return OSQ_OK;
  int rc = q->rows(q, d->t, fs, dev, out);
  d->t->fs_close(fs);
  return rc;
}

static int file_rows(const fs_query *q, const osq_tsk_api *t,
                     TSK_FS_INFO *fs, const char *dev, osq_rows *out) {
  int rc = OSQ_OK;
  if (q->npath == 0 && q->ni == 0) {
    walk w = {t, fs, out, dev, q->part, 0, 0};
    rc = walk_dir(&w, fs->root_inum, "/");
  }
  for (size_t i = 0; i < q->npath && rc == OSQ_OK; i++) {
    TSK_FS_FILE *f = t->file_open(fs, NULL, q->paths[i]);
    if (f == NULL)
      continue;
    if (f->meta != NULL)
      rc = file_row(out, dev, q->part, fs, f->meta, q->paths[i]);
    t->file_close(f);
  }
  for (size_t i = 0; i < q->ni && rc == OSQ_OK; i++) {
    TSK_INUM_T inum;
    TSK_FS_FILE *f = open_inode(t, fs, q->inodes[i], &inum);
    if (f == NULL)
      continue;
    if (f->meta != NULL)
      rc = file_row(out, dev, q->part, fs, f->meta, meta_name(f->meta));
    t->file_close(f);
  }
  return rc;
}

static int file_generate(const osq_context *ctx, osq_rows *out,
                         void *udata) {
  (void)udata;
  const char *devs[VALUES_MAX], *parts[VALUES_MAX], *paths[VALUES_MAX],
      *inodes[VALUES_MAX];
  size_t nd = eq_values(ctx, F_DEVICE, devs, VALUES_MAX);
  size_t np = eq_values(ctx, F_PARTITION, parts, VALUES_MAX);
  /* as osquery: one partition, at least one device */
  if (nd == 0 || np != 1)
    return OSQ_OK;
  fs_query q = {.part = parts[0], .paths = paths, .inodes = inodes,
                .rows = file_rows};
  q.npath = eq_values(ctx, F_PATH, paths, VALUES_MAX);
  q.ni = eq_values(ctx, F_INODE, inodes, VALUES_MAX);
  return for_each_device(devs, nd, fs_query_rows, &q, out);
}

/* ---- device_hash ------------------------------------------------------ */

/* md5, sha1 and sha256 of the file's content in hex; all "" when it is
 * empty or a read comes up short, as osquery. */
static void hash_file(const osq_tsk_api *t, TSK_FS_FILE *f, char *md5,
                      char *sha1, char *sha256) {
  md5[0] = sha1[0] = sha256[0] = '\0';
  if (f->meta == NULL || f->meta->size <= 0)
    return;
  const EVP_MD *mds[3] = {EVP_md5(), EVP_sha1(), EVP_sha256()};
  char *outs[3] = {md5, sha1, sha256};
  EVP_MD_CTX *c[3] = {EVP_MD_CTX_new(), EVP_MD_CTX_new(), EVP_MD_CTX_new()};
  bool ok = true;
  for (int i = 0; i < 3; i++)
    ok = ok && c[i] && EVP_DigestInit_ex(c[i], mds[i], NULL) == 1;
  char buf[4096];
  TSK_OFF_T size = f->meta->size;
  for (TSK_OFF_T off = 0; ok && off < size;) {
    size_t want = (size_t)(size - off < (TSK_OFF_T)sizeof buf
                               ? size - off
                               : (TSK_OFF_T)sizeof buf);
    ssize_t got = t->file_read(f, off, buf, want, TSK_FS_FILE_READ_FLAG_NONE);
    if (got != (ssize_t)want) {
      ok = false;
      break;
    }
    for (int i = 0; i < 3; i++)
      EVP_DigestUpdate(c[i], buf, want);
    off += (TSK_OFF_T)want;
  }
  for (int i = 0; i < 3; i++) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdl = 0;
    if (ok && c[i] && EVP_DigestFinal_ex(c[i], md, &mdl) == 1) {
      for (unsigned b = 0; b < mdl; b++)
        snprintf(outs[i] + 2 * b, 3, "%02x", md[b]);
    }
    EVP_MD_CTX_free(c[i]);
  }
  if (!ok)
    md5[0] = sha1[0] = sha256[0] = '\0';
}

static int hash_rows(const fs_query *q, const osq_tsk_api *t,
                     TSK_FS_INFO *fs, const char *dev, osq_rows *out) {
  int rc = OSQ_OK;
  for (size_t i = 0; i < q->ni && rc == OSQ_OK; i++) {
    TSK_INUM_T inum;
    TSK_FS_FILE *f = open_inode(t, fs, q->inodes[i], &inum);
    if (f == NULL)
      continue;
    char md5[33], sha1[41], sha256[65];
    hash_file(t, f, md5, sha1, sha256);
    t->file_close(f);
    osq_rows_cstr(out, 0, dev);
    osq_rows_cstr(out, 1, q->part);
    osq_rows_int(out, 2, (int64_t)inum);
    osq_rows_cstr(out, 3, md5);
    osq_rows_cstr(out, 4, sha1);
    osq_rows_cstr(out, 5, sha256);
    rc = osq_rows_end(out);
  }
  return rc;
}

static int hash_generate(const osq_context *ctx, osq_rows *out,
                         void *udata) {
  (void)udata;
  const char *devs[VALUES_MAX], *parts[VALUES_MAX], *inodes[VALUES_MAX];
  size_t nd = eq_values(ctx, 0, devs, VALUES_MAX);
  size_t np = eq_values(ctx, 1, parts, VALUES_MAX);
  size_t ni = eq_values(ctx, 2, inodes, VALUES_MAX);
  if (nd == 0 || np == 0 || ni == 0)
    return OSQ_OK;
  fs_query q = {.part = parts[0], .inodes = inodes, .ni = ni,
                .rows = hash_rows};
  return for_each_device(devs, nd, fs_query_rows, &q, out);
}

#else /* no libtsk headers at build time */

static int no_tsk(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)ctx;
  (void)udata;
  osq_rows_error(out, "built without The Sleuth Kit (libtsk-dev)");
  return OSQ_ERROR;
}
#define parts_generate no_tsk
#define file_generate no_tsk
#define hash_generate no_tsk

#endif

static const osq_column parts_columns[] = {
    {"device", OSQ_TYPE_TEXT, OSQ_COL_REQUIRED},
    {"partition", OSQ_TYPE_INTEGER, 0},
    {"label", OSQ_TYPE_TEXT, 0},
    {"type", OSQ_TYPE_TEXT, 0},
    {"offset", OSQ_TYPE_BIGINT, 0},
    {"blocks_size", OSQ_TYPE_BIGINT, 0},
    {"blocks", OSQ_TYPE_BIGINT, 0},
    {"inodes", OSQ_TYPE_BIGINT, 0},
    {"flags", OSQ_TYPE_INTEGER, 0},
};

const osq_table_plugin osq_table_device_partitions = {
    .name = "device_partitions",
    .columns = parts_columns,
    .ncolumns = OSQ_NCOLS(parts_columns),
    .generate = parts_generate,
};

static const osq_column file_columns[] = {
    {"device", OSQ_TYPE_TEXT, OSQ_COL_INDEX | OSQ_COL_REQUIRED},
    {"partition", OSQ_TYPE_TEXT, OSQ_COL_INDEX | OSQ_COL_REQUIRED},
    {"path", OSQ_TYPE_TEXT, OSQ_COL_ADDITIONAL},
    {"filename", OSQ_TYPE_TEXT, 0},
    {"inode", OSQ_TYPE_BIGINT, OSQ_COL_INDEX},
    {"uid", OSQ_TYPE_BIGINT, 0},
    {"gid", OSQ_TYPE_BIGINT, 0},
    {"mode", OSQ_TYPE_TEXT, 0},
    {"size", OSQ_TYPE_BIGINT, 0},
    {"block_size", OSQ_TYPE_INTEGER, 0},
    {"atime", OSQ_TYPE_BIGINT, 0},
    {"mtime", OSQ_TYPE_BIGINT, 0},
    {"ctime", OSQ_TYPE_BIGINT, 0},
    {"hard_links", OSQ_TYPE_INTEGER, 0},
    {"type", OSQ_TYPE_TEXT, 0},
};

const osq_table_plugin osq_table_device_file = {
    .name = "device_file",
    .columns = file_columns,
    .ncolumns = OSQ_NCOLS(file_columns),
    .generate = file_generate,
};

static const osq_column hash_columns[] = {
    {"device", OSQ_TYPE_TEXT, OSQ_COL_REQUIRED},
    {"partition", OSQ_TYPE_TEXT, OSQ_COL_REQUIRED},
    {"inode", OSQ_TYPE_BIGINT, OSQ_COL_REQUIRED},
    {"md5", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"sha1", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"sha256", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
};

const osq_table_plugin osq_table_device_hash = {
    .name = "device_hash",
    .columns = hash_columns,
    .ncolumns = OSQ_NCOLS(hash_columns),
    .generate = hash_generate,
};
