/* user_ssh_keys and ssh_configs: the ssh client files of local users.
 *
 * Users come from the passwd file; "uid =" constraints (and JOINs against
 * users) narrow them. Files are opened as the other per-user tables open
 * theirs: regular, not through a symlink, bounded in size. */
#include "tables/builtin.h"
#include "tables/fsglob.h"
#include "tables/util.h"
#include "ssh_files.h"
#include "user_files.h"

#include <ctype.h>
#include <limits.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Overridable for tests (ssh_files.h). */
const char *osq_tables_ssh_config_path = "/etc/ssh/ssh_config";

/* ---- user_ssh_keys ---------------------------------------------------- */

enum {
  UK_UID, UK_PATH, UK_ENCRYPTED, UK_KEY_TYPE, UK_KEY_GROUP_NAME,
  UK_KEY_LENGTH, UK_KEY_SECURITY_BITS, UK_PID_WITH_NAMESPACE
};

static const osq_column key_columns[] = {
    {"uid", OSQ_TYPE_BIGINT, OSQ_COL_ADDITIONAL | OSQ_COL_OPTIMIZED},
    {"path", OSQ_TYPE_TEXT, OSQ_COL_INDEX},
    {"encrypted", OSQ_TYPE_INTEGER, 0},
    {"key_type", OSQ_TYPE_TEXT, 0},
    {"key_group_name", OSQ_TYPE_TEXT, 0},
    {"key_length", OSQ_TYPE_INTEGER, 0},
    {"key_security_bits", OSQ_TYPE_INTEGER, 0},
    {"pid_with_namespace", OSQ_TYPE_INTEGER,
     OSQ_COL_ADDITIONAL | OSQ_COL_HIDDEN},
};

/* Private keys are a few KiB; a larger file in ~/.ssh is not one. */
#define KEY_FILE_MAX (256 * 1024)
/* Files looked at in one ~/.ssh. */
#define SSH_DIR_FILES_MAX 4096

typedef struct key_info {
  bool encrypted;
  char type[80];
  char group[32];
  int64_t length, security_bits; /* -1 when unknown */
} key_info;

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

/* A length-prefixed field of an OpenSSH key blob at *pos: its start and
 * length, *pos moved past it. False if it runs past the end. */
static bool ssh_field(const unsigned char *b, size_t n, size_t *pos,
                      const unsigned char **f, uint32_t *len) {
  if (*pos > n || n - *pos < 4)
    return false;
  *len = be32(b + *pos);
  *pos += 4;
  if (*len > n - *pos)
    return false;
  *f = b + *pos;
  *pos += *len;
  return true;
}

/* Bits of a big-endian number, without a leading zero byte (the sign
 * byte of an mpint), in whole bytes as osquery counts them. */
static int64_t mpint_bits(const unsigned char *f, uint32_t len) {
  if (len > 1 && f[0] == 0)
    len--;
  return (int64_t)len * 8;
}

/* NIST SP 800-57 strength of an RSA modulus, as osquery estimates it. */
static int64_t rsa_security(int64_t bits) {
  return bits >= 15360 ? 256
         : bits >= 7680 ? 192
         : bits >= 3072 ? 128
         : bits >= 2048 ? 112
         : bits >= 1024 ? 80
                        : 64;
}

/* "-----BEGIN OPENSSH PRIVATE KEY-----": the public part of the blob is
 * never encrypted, so the type and size are known either way. */
static bool openssh_key(const char *text, size_t tn, key_info *k) {
  static const char header[] = "-----BEGIN OPENSSH PRIVATE KEY-----";
  if (tn < sizeof header || strncmp(text, header, sizeof header - 1) != 0)
    return false;
  /* what osquery concludes when the blob does not say "none" */
  k->encrypted = true;
  const char *body = text + sizeof header - 1;
  const char *end = strstr(body, "-----END");
  if (end == NULL)
    return true; /* osquery lists it with what it knows: nothing */
  char *b64 = malloc((size_t)(end - body) + 1);
  unsigned char *blob = malloc((size_t)(end - body) + 4);
  size_t bn = 0;
  if (b64 == NULL || blob == NULL) {
    free(b64);
    free(blob);
    return true;
  }
  for (const char *p = body; p < end; p++)
    if (!isspace((unsigned char)*p))
      b64[bn++] = *p;
  b64[bn] = '\0';
  int dn = EVP_DecodeBlock(blob, (const unsigned char *)b64, (int)bn);
  free(b64);
  static const char magic[] = "openssh-key-v1";
  size_t n = dn > 0 ? (size_t)dn : 0, pos = sizeof magic;
  const unsigned char *f, *cipher = NULL;
  uint32_t len, cipher_len = 0;
  if (n < sizeof magic || memcmp(blob, magic, sizeof magic) != 0) {
    free(blob);
    return true;
  }
  bool ok = ssh_field(blob, n, &pos, &cipher, &cipher_len) &&
            ssh_field(blob, n, &pos, &f, &len) && /* kdf name */
            ssh_field(blob, n, &pos, &f, &len);   /* kdf options */
  k->encrypted = !(ok && cipher_len == 4 && memcmp(cipher, "none", 4) == 0);
  pos += 4; /* number of keys */
  const unsigned char *pub, *type;
  uint32_t pub_len, type_len;
  if (ok && ssh_field(blob, n, &pos, &pub, &pub_len)) {
    size_t pp = 0;
    if (ssh_field(pub, pub_len, &pp, &type, &type_len) && type_len > 0 &&
        type_len < sizeof k->type) {
      static const struct {
        const char *ssh, *name;
        int64_t length, security;
      } fixed[] = {
          {"ssh-ed25519", "ed25519", 256, 128},
          {"ecdsa-sha2-nistp256", "ecdsa-p256", 256, 128},
          {"ecdsa-sha2-nistp384", "ecdsa-p384", 384, 192},
          {"ecdsa-sha2-nistp521", "ecdsa-p521", 521, 256},
      };
      snprintf(k->type, sizeof k->type, "%.*s", (int)type_len, type);
      for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        if (strcmp(k->type, fixed[i].ssh) == 0) {
          snprintf(k->type, sizeof k->type, "%s", fixed[i].name);
          k->length = fixed[i].length;
          k->security_bits = fixed[i].security;
        }
      if (strcmp(k->type, "ssh-rsa") == 0) {
        snprintf(k->type, sizeof k->type, "rsa");
        /* e, then the modulus n */
        if (ssh_field(pub, pub_len, &pp, &f, &len) &&
            ssh_field(pub, pub_len, &pp, &f, &len) && len > 0) {
          k->length = mpint_bits(f, len);
          k->security_bits = rsa_security(k->length);
        }
      } else if (strcmp(k->type, "ssh-dss") == 0) {
        snprintf(k->type, sizeof k->type, "dsa");
        if (ssh_field(pub, pub_len, &pp, &f, &len) && len > 0) {
          k->length = mpint_bits(f, len);
          k->security_bits = 80;
        }
      }
    }
  }
  free(blob);
  return true;
}

static int note_encrypted(char *buf, int size, int rwflag, void *u) {
  (void)buf, (void)size, (void)rwflag;
  *(bool *)u = true;
  return -1; /* no passphrase: only whether one is needed matters */
}

/* The names osquery gives OpenSSL's key types. */
static const char *pkey_type_name(int id) {
  switch (id) {
  case EVP_PKEY_RSA:
  case EVP_PKEY_RSA2:
    return "rsa";
  case EVP_PKEY_DSA:
  case EVP_PKEY_DSA1:
  case EVP_PKEY_DSA2:
  case EVP_PKEY_DSA3:
  case EVP_PKEY_DSA4:
    return "dsa";
  case EVP_PKEY_DH:
  case EVP_PKEY_DHX:
    return "dh";
  case EVP_PKEY_EC:
    return "ec";
  case EVP_PKEY_HMAC:
    return "hmac";
  case EVP_PKEY_CMAC:
    return "cmac";
  default:
    return "";
  }
}

/* Is text a private key, and what kind? A PEM key OpenSSL reads (or would
 * read with a passphrase), or an OpenSSH-format key. */
static bool parse_key(const char *text, size_t n, key_info *k) {
  memset(k, 0, sizeof *k);
  k->length = k->security_bits = -1;
  BIO *bio = BIO_new_mem_buf(text, (int)n);
  if (bio == NULL)
    return false;
  EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, note_encrypted,
                                           &k->encrypted);
  BIO_free(bio);
  ERR_clear_error();
  if (pkey == NULL)
    return k->encrypted || openssh_key(text, n, k);
  snprintf(k->type, sizeof k->type, "%s",
           pkey_type_name(EVP_PKEY_base_id(pkey)));
  k->length = EVP_PKEY_bits(pkey);
  k->security_bits = EVP_PKEY_security_bits(pkey);
  size_t gl = 0;
  if (EVP_PKEY_get_group_name(pkey, k->group, sizeof k->group, &gl) != 1)
    k->group[0] = '\0';
  EVP_PKEY_free(pkey);
  ERR_clear_error();
  return true;
}

static int key_file(osq_rows *out, uint32_t uid, const char *path,
                    char *buf) {
  FILE *f = osq_user_file_open(path);
  if (f == NULL)
    return OSQ_OK;
  size_t n = fread(buf, 1, KEY_FILE_MAX, f);
  bool whole = feof(f) && !ferror(f);
  fclose(f);
  key_info k;
  if (!whole || n == 0 || !parse_key(buf, n, &k))
    return OSQ_OK;
  osq_rows_int(out, UK_UID, uid);
  osq_rows_cstr(out, UK_PATH, path);
  osq_rows_int(out, UK_ENCRYPTED, k.encrypted ? 1 : 0);
  osq_rows_cstr(out, UK_KEY_TYPE, k.type);
  osq_rows_cstr(out, UK_KEY_GROUP_NAME, k.group);
  osq_rows_int(out, UK_KEY_LENGTH, k.length);
  osq_rows_int(out, UK_KEY_SECURITY_BITS, k.security_bits);
  return osq_rows_end(out);
}

/* Every file of one user's ~/.ssh (not its subdirectories). */
static int key_dir(osq_rows *out, uint32_t uid, const char *dir, char *buf) {
  osq_pathlist names = {0};
  if (!osq_pathlist_readdir(&names, dir, NULL))
    return OSQ_OK;
  int rc = OSQ_OK;
  for (size_t i = 0; i < names.n && i < SSH_DIR_FILES_MAX && rc == OSQ_OK;
       i++) {
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, names.items[i]) <
        (int)sizeof path)
      rc = key_file(out, uid, path, buf);
  }
  osq_pathlist_free(&names);
  return rc;
}

static int keys_generate(const osq_context *ctx, osq_rows *out,
                         void *udata) {
  (void)udata;
  static const char *const names[] = {".ssh"};
  return osq_each_user_file(ctx, out, UK_UID, names, 1, KEY_FILE_MAX + 1,
                            false, key_dir);
}

const osq_table_plugin osq_table_user_ssh_keys = {
    .name = "user_ssh_keys",
    .columns = key_columns,
    .ncolumns = OSQ_NCOLS(key_columns),
    .attributes = OSQ_TABLE_USER_BASED,
    .generate = keys_generate,
};

/* ---- ssh_configs ------------------------------------------------------ */

enum { SC_UID, SC_BLOCK, SC_OPTION, SC_FILE };

static const osq_column config_columns[] = {
    {"uid", OSQ_TYPE_BIGINT, OSQ_COL_ADDITIONAL | OSQ_COL_OPTIMIZED},
    {"block", OSQ_TYPE_TEXT, 0},
    {"option", OSQ_TYPE_TEXT, 0},
    {"ssh_config_file", OSQ_TYPE_TEXT, 0},
};

/* Each option line is a row of the "host ..." or "match ..." block it
 * follows ("" before the first). Like osquery, lines are trimmed and
 * lower-cased, values included. */
static int config_file(osq_rows *out, uint32_t uid, const char *path,
                       char *line) {
  FILE *f = osq_user_file_open(path);
  if (f == NULL)
    return OSQ_OK;
  char *block = calloc(1, OSQ_TBL_LINE_MAX);
  int rc = block ? OSQ_OK : OSQ_ENOMEM, got;
  while (rc == OSQ_OK &&
         (got = osq_tbl_getline_crlf(f, line, OSQ_TBL_LINE_MAX)) != 0) {
    if (got < 0)
      continue;
    char *l = osq_tbl_trim(line);
    for (char *c = l; *c; c++)
      *c = (char)tolower((unsigned char)*c);
    if (*l == '\0' || *l == '#')
      continue;
    if (strncmp(l, "host ", 5) == 0 || strncmp(l, "match ", 6) == 0) {
      snprintf(block, OSQ_TBL_LINE_MAX, "%s", l);
      continue;
    }
    osq_rows_int(out, SC_UID, uid);
    osq_rows_cstr(out, SC_BLOCK, block);
    osq_rows_cstr(out, SC_OPTION, l);
    osq_rows_cstr(out, SC_FILE, path);
    rc = osq_rows_end(out);
  }
  free(block);
  fclose(f);
  return rc;
}

static int configs_generate(const osq_context *ctx, osq_rows *out,
                            void *udata) {
  (void)udata;
  static const char *const names[] = {".ssh/config"};
  int rc = osq_each_user_file(ctx, out, SC_UID, names, 1, OSQ_TBL_LINE_MAX,
                              false, config_file);
  /* the system-wide file counts as root's */
  if (rc == OSQ_OK && osq_tbl_eq_int_ok(ctx, SC_UID, 0)) {
    char *line = malloc(OSQ_TBL_LINE_MAX);
    if (line == NULL)
      return OSQ_ENOMEM;
    rc = config_file(out, 0, osq_tables_ssh_config_path, line);
    free(line);
  }
  return rc;
}

const osq_table_plugin osq_table_ssh_configs = {
    .name = "ssh_configs",
    .columns = config_columns,
    .ncolumns = OSQ_NCOLS(config_columns),
    .attributes = OSQ_TABLE_USER_BASED,
    .generate = configs_generate,
};
