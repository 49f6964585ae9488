/* secureboot and secureboot_certificates: UEFI Secure Boot state and the
 * certificates of its signature databases, from efivarfs.
 *
 * An efivarfs file is 4 bytes of attributes, then the variable's data.
 * SecureBoot and SetupMode hold one byte (0 or 1). db (allowed) and dbx
 * (revoked) hold EFI_SIGNATURE_LISTs: a 28-byte header (type GUID, list
 * size, header size, entry size), then entries of a 16-byte owner GUID and
 * the signature; for the X.509 type the signature is a DER certificate.
 * Every size is checked against the data before it is used.
 *
 * Certificates are decoded by libcrypto, loaded with dlopen on the first
 * query that finds one (the rest of osq does not link it either). On a
 * machine without EFI both tables are empty. */
#include "apps.h"
#include "core/log.h"
#include "tables/builtin.h"
#include "tables/fsglob.h"
#include "tables/util.h"

#include <dlfcn.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EFIVARS "/sys/firmware/efi/efivars"
#define GLOBAL_GUID "8be4df61-93ca-11d2-aa0d-00e098032b8c"
/* db and dbx are a few KiB to a few hundred KiB. */
#define SIGDB_MAX (4u * 1024 * 1024)

/* ---- secureboot -------------------------------------------------------- */

enum {
  B_SECURE_BOOT, B_SECURE_MODE, B_DESCRIPTION, B_KERNEL_EXTENSIONS,
  B_MDM_OPERATIONS, B_SETUP_MODE, B_COUNT
};

static const osq_column boot_columns[] = {
    {"secure_boot", OSQ_TYPE_INTEGER, 0},
    {"secure_mode", OSQ_TYPE_INTEGER, OSQ_COL_HIDDEN},
    {"description", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
    {"kernel_extensions", OSQ_TYPE_INTEGER, OSQ_COL_HIDDEN},
    {"mdm_operations", OSQ_TYPE_INTEGER, OSQ_COL_HIDDEN},
    {"setup_mode", OSQ_TYPE_INTEGER, 0},
};
_Static_assert(sizeof boot_columns / sizeof *boot_columns == B_COUNT, "cols");

/* A boolean EFI variable: 0, 1, -1 for another value; false if absent. */
static bool bool_var(const char *name, int64_t *v) {
  char rel[128], path[PATH_MAX];
  snprintf(rel, sizeof rel, EFIVARS "/%s-" GLOBAL_GUID, name);
  if (!osq_apps_path(path, sizeof path, rel))
    return false;
  size_t n;
  char *data = osq_apps_slurp(path, 64, &n);
  if (data == NULL)
    return false;
  bool ok = n == 5;
  if (ok) {
    unsigned char b = (unsigned char)data[4];
    *v = b == 0 ? 0 : b == 1 ? 1 : -1;
  }
  free(data);
  return ok;
}

static int boot_generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)ctx;
  (void)udata;
  int64_t sb, sm;
  bool has_sb = bool_var("SecureBoot", &sb);
  bool has_sm = bool_var("SetupMode", &sm);
  if (!has_sb && !has_sm)
    return OSQ_OK; /* no EFI variables: not an EFI boot */
  if (has_sb)
    osq_rows_int(out, B_SECURE_BOOT, sb);
  if (has_sm)
    osq_rows_int(out, B_SETUP_MODE, sm);
  return osq_rows_end(out);
}

const osq_table_plugin osq_table_secureboot = {
    .name = "secureboot",
    .columns = boot_columns,
    .ncolumns = OSQ_NCOLS(boot_columns),
    .generate = boot_generate,
};

/* ---- libcrypto, for certificates --------------------------------------- */

static struct {
  bool ok;
  X509 *(*d2i)(X509 **, const unsigned char **, long);
  void (*free_)(X509 *);
  X509_NAME *(*subject)(const X509 *);
  X509_NAME *(*issuer)(const X509 *);
  char *(*oneline)(const X509_NAME *, char *, int);
  void (*crypto_free)(void *, const char *, int);
  int (*index_by_nid)(const X509_NAME *, int, int);
  X509_NAME_ENTRY *(*get_entry)(const X509_NAME *, int);
  ASN1_STRING *(*entry_data)(const X509_NAME_ENTRY *);
  const unsigned char *(*str_data)(const ASN1_STRING *);
  int (*str_len)(const ASN1_STRING *);
  const ASN1_TIME *(*not_before)(const X509 *);
  const ASN1_TIME *(*not_after)(const X509 *);
  int (*time_to_tm)(const ASN1_TIME *, struct tm *);
  ASN1_INTEGER *(*serial)(X509 *);
  BIGNUM *(*int_to_bn)(const ASN1_INTEGER *, BIGNUM *);
  char *(*bn2hex)(const BIGNUM *);
  void (*bn_free)(BIGNUM *);
  int (*check_ca)(X509 *);
  int (*check_issued)(X509 *, X509 *);
  uint32_t (*key_usage)(X509 *);
  const ASN1_OCTET_STRING *(*akid)(X509 *);
  const ASN1_OCTET_STRING *(*skid)(X509 *);
  int (*sig_nid)(const X509 *);
  const char *(*nid2ln)(int);
  int (*txt2nid)(const char *);
  X509_PUBKEY *(*pubkey_of)(const X509 *);
  int (*pubkey_param)(ASN1_OBJECT **, const unsigned char **, int *,
                      X509_ALGOR **, const X509_PUBKEY *);
  int (*obj2nid)(const ASN1_OBJECT *);
  EVP_PKEY *(*get_pubkey)(X509 *);
  int (*pkey_size)(const EVP_PKEY *);
  int (*pkey_group)(const EVP_PKEY *, char *, size_t, size_t *);
  void (*pkey_free)(EVP_PKEY *);
  int (*digest)(const void *, size_t, unsigned char *, unsigned int *,
                const EVP_MD *, ENGINE *);
  const EVP_MD *(*sha1)(void);
} x;
static pthread_once_t x_once = PTHREAD_ONCE_INIT;

#define X_SYM(h, field, name)                                                 \
  do {                                                                        \
    void *sym_ = dlsym(h, name);                                              \
    if (sym_ == NULL)                                                         \
      missing = name;                                                         \
    else /* ISO C has no conversion from void * to a function pointer */     \
      memcpy(&x.field, &sym_, sizeof x.field);                                \
  } while (0)

static void x_load(void) {
  void *h = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    const char *e = dlerror();
    OSQ_WARN("secureboot_certificates: cannot load libcrypto.so.3: %s",
             e ? e : "unknown error");
    return;
  }
  const char *missing = NULL;
  X_SYM(h, d2i, "d2i_X509");
  X_SYM(h, free_, "X509_free");
  X_SYM(h, subject, "X509_get_subject_name");
  X_SYM(h, issuer, "X509_get_issuer_name");
  X_SYM(h, oneline, "X509_NAME_oneline");
  X_SYM(h, crypto_free, "CRYPTO_free");
  X_SYM(h, index_by_nid, "X509_NAME_get_index_by_NID");
  X_SYM(h, get_entry, "X509_NAME_get_entry");
  X_SYM(h, entry_data, "X509_NAME_ENTRY_get_data");
  X_SYM(h, str_data, "ASN1_STRING_get0_data");
  X_SYM(h, str_len, "ASN1_STRING_length");
  X_SYM(h, not_before, "X509_get0_notBefore");
  X_SYM(h, not_after, "X509_get0_notAfter");
  X_SYM(h, time_to_tm, "ASN1_TIME_to_tm");
  X_SYM(h, serial, "X509_get_serialNumber");
  X_SYM(h, int_to_bn, "ASN1_INTEGER_to_BN");
  X_SYM(h, bn2hex, "BN_bn2hex");
  X_SYM(h, bn_free, "BN_free");
  X_SYM(h, check_ca, "X509_check_ca");
  X_SYM(h, check_issued, "X509_check_issued");
  X_SYM(h, key_usage, "X509_get_key_usage");
  X_SYM(h, akid, "X509_get0_authority_key_id");
  X_SYM(h, skid, "X509_get0_subject_key_id");
  X_SYM(h, sig_nid, "X509_get_signature_nid");
  X_SYM(h, nid2ln, "OBJ_nid2ln");
  X_SYM(h, txt2nid, "OBJ_txt2nid");
  X_SYM(h, pubkey_of, "X509_get_X509_PUBKEY");
  X_SYM(h, pubkey_param, "X509_PUBKEY_get0_param");
  X_SYM(h, obj2nid, "OBJ_obj2nid");
  X_SYM(h, get_pubkey, "X509_get_pubkey");
  X_SYM(h, pkey_size, "EVP_PKEY_get_size");
  X_SYM(h, pkey_group, "EVP_PKEY_get_group_name");
  X_SYM(h, pkey_free, "EVP_PKEY_free");
  X_SYM(h, digest, "EVP_Digest");
  X_SYM(h, sha1, "EVP_sha1");
  if (missing != NULL) {
    OSQ_WARN("secureboot_certificates: libcrypto.so.3 has no %s", missing);
    return; /* the handle stays: libcrypto is never unloaded safely */
  }
  x.ok = true;
}

/* ---- secureboot_certificates ------------------------------------------- */

enum {
  C_COMMON_NAME, C_SUBJECT, C_ISSUER, C_NOT_VALID_BEFORE, C_NOT_VALID_AFTER,
  C_SHA1, C_SERIAL, C_REVOKED, C_PATH, C_IS_CA, C_SELF_SIGNED, C_KEY_USAGE,
  C_AUTHORITY_KEY_ID, C_SUBJECT_KEY_ID, C_SIGNING_ALGORITHM,
  C_KEY_ALGORITHM, C_KEY_STRENGTH, C_COUNT
};

static const osq_column cert_columns[] = {
    {"common_name", OSQ_TYPE_TEXT, 0},
    {"subject", OSQ_TYPE_TEXT, 0},
    {"issuer", OSQ_TYPE_TEXT, 0},
    {"not_valid_before", OSQ_TYPE_TEXT, 0},
    {"not_valid_after", OSQ_TYPE_TEXT, 0},
    {"sha1", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"serial", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"revoked", OSQ_TYPE_INTEGER, 0},
    {"path", OSQ_TYPE_TEXT, 0},
    {"is_ca", OSQ_TYPE_INTEGER, 0},
    {"self_signed", OSQ_TYPE_INTEGER, 0},
    {"key_usage", OSQ_TYPE_TEXT, 0},
    {"authority_key_id", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"subject_key_id", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"signing_algorithm", OSQ_TYPE_TEXT, 0},
    {"key_algorithm", OSQ_TYPE_TEXT, 0},
    {"key_strength", OSQ_TYPE_TEXT, 0},
};
_Static_assert(sizeof cert_columns / sizeof *cert_columns == C_COUNT, "cols");

static void hex_cell(osq_rows *out, size_t col, const unsigned char *p,
                     size_t n) {
  char buf[2 * 64 + 1];
  if (n > 64)
    n = 64;
  for (size_t i = 0; i < n; i++)
    snprintf(buf + 2 * i, 3, "%02x", p[i]);
  buf[2 * n] = '\0';
  osq_rows_cstr(out, col, buf);
}

static void name_cell(osq_rows *out, size_t col, const X509_NAME *name) {
  char *s = name ? x.oneline(name, NULL, 0) : NULL;
  if (s != NULL) {
    osq_rows_cstr(out, col, s);
    x.crypto_free(s, __FILE__, __LINE__);
  }
}

static void time_cell(osq_rows *out, size_t col, const ASN1_TIME *t) {
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  if (t == NULL || x.time_to_tm(t, &tm) != 1)
    return;
  char buf[32];
  snprintf(buf, sizeof buf, "%lld", (long long)timegm(&tm));
  osq_rows_cstr(out, col, buf);
}

/* Key usage flags in osquery's words and order. */
static void usage_cell(osq_rows *out, uint32_t flags) {
  static const struct {
    uint32_t bit;
    const char *name;
  } names[] = {{0x0001, "Encipher Only"},     {0x0002, "CRL Sign"},
               {0x0004, "Key Cert Sign"},     {0x0008, "Key Agreement"},
               {0x0010, "Data Encipherment"}, {0x0020, "Key Encipherment"},
               {0x0040, "Non Repudiation"},   {0x0080, "Digital Signature"},
               {0x8000, "Decipher Only"}};
  if (flags == UINT32_MAX)
    return;
  char buf[256] = "";
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (flags & names[i].bit) {
      if (buf[0] != '\0')
        strcat(buf, ", ");
      strcat(buf, names[i].name);
    }
  osq_rows_cstr(out, C_KEY_USAGE, buf);
}

static void key_cells(osq_rows *out, X509 *cert) {
  X509_PUBKEY *pk = x.pubkey_of(cert);
  ASN1_OBJECT *alg = NULL;
  if (pk == NULL || x.pubkey_param(&alg, NULL, NULL, NULL, pk) != 1 ||
      alg == NULL)
    return;
  int nid = x.obj2nid(alg);
  const char *ln = nid != NID_undef ? x.nid2ln(nid) : NULL;
  if (ln == NULL)
    return;
  osq_rows_cstr(out, C_KEY_ALGORITHM, ln);
  EVP_PKEY *key = x.get_pubkey(cert);
  if (key == NULL)
    return;
  if (nid == NID_rsaEncryption || nid == NID_dsa) {
    int size = x.pkey_size(key);
    char buf[32];
    snprintf(buf, sizeof buf, "%d", size * 8);
    if (size > 0)
      osq_rows_cstr(out, C_KEY_STRENGTH, buf);
  } else if (nid == NID_X9_62_id_ecPublicKey) {
    char group[80];
    size_t gl = 0;
    if (x.pkey_group(key, group, sizeof group, &gl) == 1) {
      int cn = x.txt2nid(group);
      const char *curve = cn != NID_undef ? x.nid2ln(cn) : NULL;
      osq_rows_cstr(out, C_KEY_STRENGTH, curve ? curve : group);
    }
  }
  x.pkey_free(key);
}

static int cert_row(osq_rows *out, const unsigned char *der, size_t n,
                    bool revoked, const char *path) {
  const unsigned char *p = der;
  X509 *cert = x.d2i(NULL, &p, (long)n);
  if (cert == NULL)
    return OSQ_OK; /* not a certificate: no row */
  X509_NAME *subject = x.subject(cert);
  int i = subject ? x.index_by_nid(subject, NID_commonName, -1) : -1;
  X509_NAME_ENTRY *cn = i >= 0 ? x.get_entry(subject, i) : NULL;
  ASN1_STRING *cns = cn ? x.entry_data(cn) : NULL;
  if (cns != NULL && x.str_len(cns) > 0)
    osq_rows_text(out, C_COMMON_NAME, (const char *)x.str_data(cns),
                  (size_t)x.str_len(cns));
  name_cell(out, C_SUBJECT, subject);
  name_cell(out, C_ISSUER, x.issuer(cert));
  time_cell(out, C_NOT_VALID_BEFORE, x.not_before(cert));
  time_cell(out, C_NOT_VALID_AFTER, x.not_after(cert));
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned mdn = 0;
  /* the certificate's own encoding, as d2i consumed it */
  if (x.digest(der, (size_t)(p - der), md, &mdn, x.sha1(), NULL) == 1)
    hex_cell(out, C_SHA1, md, mdn);
  BIGNUM *bn = x.int_to_bn(x.serial(cert), NULL);
  char *hex = bn ? x.bn2hex(bn) : NULL;
  if (hex != NULL) {
    osq_rows_cstr(out, C_SERIAL, hex);
    x.crypto_free(hex, __FILE__, __LINE__);
  }
  if (bn != NULL)
    x.bn_free(bn);
  osq_rows_int(out, C_REVOKED, revoked);
  osq_rows_cstr(out, C_PATH, path);
  osq_rows_int(out, C_IS_CA, x.check_ca(cert) > 0);
  osq_rows_int(out, C_SELF_SIGNED, x.check_issued(cert, cert) == X509_V_OK);
  usage_cell(out, x.key_usage(cert));
  const ASN1_OCTET_STRING *id = x.akid(cert);
  if (id != NULL)
    hex_cell(out, C_AUTHORITY_KEY_ID, x.str_data(id), (size_t)x.str_len(id));
  id = x.skid(cert);
  if (id != NULL)
    hex_cell(out, C_SUBJECT_KEY_ID, x.str_data(id), (size_t)x.str_len(id));
  int sig = x.sig_nid(cert);
  const char *sig_ln = sig != NID_undef ? x.nid2ln(sig) : NULL;
  if (sig_ln != NULL)
    osq_rows_cstr(out, C_SIGNING_ALGORITHM, sig_ln);
  key_cells(out, cert);
  x.free_(cert);
  return osq_rows_end(out);
}

static uint32_t le32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

/* EFI_CERT_X509_GUID a5c059a1-94e4-4aa7-87b5-ab155c2bf072, as stored. */
static const unsigned char x509_guid[16] = {
    0xa1, 0x59, 0xc0, 0xa5, 0xe4, 0x94, 0xa7, 0x4a,
    0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72};

/* The X.509 entries of the signature lists in data[4..n). */
static int signature_lists(osq_rows *out, const unsigned char *d, size_t n,
                           bool revoked, const char *path) {
  int rc = OSQ_OK;
  size_t head = 4;
  while (rc == OSQ_OK && n - head >= 28) {
    uint32_t list = le32(d + head + 16), hdr = le32(d + head + 20),
             each = le32(d + head + 24);
    if (list < 28 || list > n - head)
      break; /* damaged: stop, keep what was read */
    size_t start = head + 28 + (size_t)hdr, end = head + list;
    if (memcmp(d + head, x509_guid, 16) == 0 && each > 16 && start <= end) {
      if (!x.ok)
        pthread_once(&x_once, x_load);
      if (!x.ok)
        return OSQ_OK;
      for (size_t s = start; rc == OSQ_OK && end - s >= each; s += each)
        rc = cert_row(out, d + s + 16, each - 16, revoked, path);
    }
    head = end;
  }
  return rc;
}

static bool sigdb_name(const char *name) {
  return strncmp(name, "db-", 3) == 0 || strncmp(name, "dbx-", 4) == 0;
}

static int certs_generate(const osq_context *ctx, osq_rows *out,
                          void *udata) {
  (void)ctx;
  (void)udata;
  char dir[PATH_MAX];
  if (!osq_apps_path(dir, sizeof dir, EFIVARS))
    return OSQ_OK;
  osq_pathlist vars = {0};
  osq_pathlist_readdir(&vars, dir, sigdb_name);
  int rc = OSQ_OK;
  for (size_t i = 0; i < vars.n && rc == OSQ_OK; i++) {
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, vars.items[i]) >=
        (int)sizeof path)
      continue;
    size_t n;
    char *data = osq_apps_slurp(path, SIGDB_MAX, &n);
    if (data != NULL && n > 4)
      rc = signature_lists(out, (const unsigned char *)data, n,
                           strncmp(vars.items[i], "dbx-", 4) == 0, path);
    free(data);
  }
  osq_pathlist_free(&vars);
  return rc;
}

const osq_table_plugin osq_table_secureboot_certificates = {
    .name = "secureboot_certificates",
    .columns = cert_columns,
    .ncolumns = OSQ_NCOLS(cert_columns),
    .generate = certs_generate,
};
