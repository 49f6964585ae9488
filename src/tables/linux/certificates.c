/* certificates: X.509 certificates in PEM bundles, read with OpenSSL's
 * libcrypto (loaded on first use).
 *
 * As osquery on Linux: without a path constraint the distribution's CA
 * bundles (/etc/pki/tls/certs/ca-bundle.crt, /etc/ssl/certs/
 * ca-certificates.crt); `path = '<bundle>'` reads that file instead. osq
 * also takes `path LIKE '/dir/%'` (osquery's wildcards), so a store
 * directory of one-certificate files can be listed. Certificates stream
 * out one at a time; a bundle larger than --read_max is skipped with a
 * warning.
 *
 * Formats follow osquery: subject/issuer as X509_NAME_oneline
 * ("/C=../CN=..") and subject2/issuer2 in OpenSSL's one-line form ("C =
 * .., CN = .."); the validity bounds as Unix times; key_strength is the
 * key size in bits (RSA, DSA) or the curve's long name (EC); key ids and
 * sha1 in lowercase hex, serial in uppercase hex. */
#include "core/flags.h"
#include "core/lazylib.h"
#include "core/log.h"
#include "tables/builtin.h"
#include "tables/fsglob.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

enum {
  C_COMMON_NAME, C_SUBJECT, C_SUBJECT2, C_ISSUER, C_ISSUER2, C_CA,
  C_SELF_SIGNED, C_NOT_BEFORE, C_NOT_AFTER, C_SIGNING_ALG, C_KEY_ALG,
  C_KEY_STRENGTH, C_KEY_USAGE, C_SUBJECT_KEY_ID, C_AUTHORITY_KEY_ID, C_SHA1,
  C_PATH, C_SERIAL, C_SID, C_STORE_LOCATION, C_STORE, C_USERNAME, C_STORE_ID,
  C_COUNT
};

#define FOREIGN (OSQ_COL_HIDDEN)
static const osq_column columns[] = {
    {"common_name", OSQ_TYPE_TEXT, 0},
    {"subject", OSQ_TYPE_TEXT, 0},
    {"subject2", OSQ_TYPE_TEXT, 0},
    {"issuer", OSQ_TYPE_TEXT, 0},
    {"issuer2", OSQ_TYPE_TEXT, 0},
    {"ca", OSQ_TYPE_INTEGER, 0},
    {"self_signed", OSQ_TYPE_INTEGER, 0},
    {"not_valid_before", OSQ_TYPE_TEXT, 0},
    {"not_valid_after", OSQ_TYPE_TEXT, 0},
    {"signing_algorithm", OSQ_TYPE_TEXT, 0},
    {"key_algorithm", OSQ_TYPE_TEXT, 0},
    {"key_strength", OSQ_TYPE_TEXT, 0},
    {"key_usage", OSQ_TYPE_TEXT, 0},
    {"subject_key_id", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"authority_key_id", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"sha1", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"path", OSQ_TYPE_TEXT, OSQ_COL_ADDITIONAL | OSQ_COL_OPTIMIZED},
    {"serial", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"sid", OSQ_TYPE_TEXT, FOREIGN},
    {"store_location", OSQ_TYPE_TEXT, FOREIGN},
    {"store", OSQ_TYPE_TEXT, FOREIGN},
    {"username", OSQ_TYPE_TEXT, FOREIGN},
    {"store_id", OSQ_TYPE_TEXT, FOREIGN},
};
_Static_assert(sizeof columns / sizeof *columns == C_COUNT, "cols");

static const char *const default_bundles[] = {
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/certs/ca-certificates.crt",
};

/* osquery's key usage names, in the order of their flag bits. */
static const struct {
  uint32_t bit;
  const char *name;
} usages[] = {
    {0x0001, "Encipher Only"},     {0x0002, "CRL Sign"},
    {0x0004, "Key Cert Sign"},     {0x0008, "Key Agreement"},
    {0x0010, "Data Encipherment"}, {0x0020, "Key Encipherment"},
    {0x0040, "Non Repudiation"},   {0x0080, "Digital Signature"},
    {0x8000, "Decipher Only"},
};

#define LZ(fn) static __typeof__(fn) *lz_##fn
LZ(BIO_new_mem_buf); LZ(BIO_new); LZ(BIO_s_mem); LZ(BIO_free); LZ(BIO_ctrl);
LZ(PEM_read_bio_X509_AUX); LZ(X509_free); LZ(X509_get_subject_name);
LZ(X509_get_issuer_name); LZ(X509_NAME_oneline); LZ(X509_NAME_print_ex);
LZ(CRYPTO_free); LZ(X509_NAME_get_index_by_NID); LZ(X509_NAME_get_entry);
LZ(X509_NAME_ENTRY_get_data); LZ(ASN1_STRING_get0_data);
LZ(ASN1_STRING_length); LZ(X509_check_ca); LZ(X509_check_issued);
LZ(X509_get0_notBefore); LZ(X509_get0_notAfter); LZ(ASN1_TIME_to_tm);
LZ(X509_get_signature_nid); LZ(OBJ_nid2ln); LZ(OBJ_obj2nid); LZ(OBJ_sn2nid);
LZ(X509_get_X509_PUBKEY); LZ(X509_PUBKEY_get0_param); LZ(X509_get0_pubkey);
LZ(EVP_PKEY_get_size); LZ(EVP_PKEY_get_group_name); LZ(X509_get_key_usage);
LZ(X509_get0_subject_key_id); LZ(X509_get0_authority_key_id);
LZ(X509_get_serialNumber); LZ(ASN1_INTEGER_to_BN); LZ(BN_bn2hex);
LZ(BN_free); LZ(X509_digest); LZ(EVP_sha1); LZ(ERR_clear_error);
#undef LZ

static const osq_lazysym syms[] = {
    OSQ_LAZYSYM(BIO_new_mem_buf), OSQ_LAZYSYM(BIO_new), OSQ_LAZYSYM(BIO_s_mem),
    OSQ_LAZYSYM(BIO_free), OSQ_LAZYSYM(BIO_ctrl),
    OSQ_LAZYSYM(PEM_read_bio_X509_AUX), OSQ_LAZYSYM(X509_free),
    OSQ_LAZYSYM(X509_get_subject_name), OSQ_LAZYSYM(X509_get_issuer_name),
    OSQ_LAZYSYM(X509_NAME_oneline), OSQ_LAZYSYM(X509_NAME_print_ex),
    OSQ_LAZYSYM(CRYPTO_free), OSQ_LAZYSYM(X509_NAME_get_index_by_NID),
    OSQ_LAZYSYM(X509_NAME_get_entry), OSQ_LAZYSYM(X509_NAME_ENTRY_get_data),
    OSQ_LAZYSYM(ASN1_STRING_get0_data), OSQ_LAZYSYM(ASN1_STRING_length),
    OSQ_LAZYSYM(X509_check_ca), OSQ_LAZYSYM(X509_check_issued),
    OSQ_LAZYSYM(X509_get0_notBefore), OSQ_LAZYSYM(X509_get0_notAfter),
    OSQ_LAZYSYM(ASN1_TIME_to_tm), OSQ_LAZYSYM(X509_get_signature_nid),
    OSQ_LAZYSYM(OBJ_nid2ln), OSQ_LAZYSYM(OBJ_obj2nid), OSQ_LAZYSYM(OBJ_sn2nid),
    OSQ_LAZYSYM(X509_get_X509_PUBKEY), OSQ_LAZYSYM(X509_PUBKEY_get0_param),
    OSQ_LAZYSYM(X509_get0_pubkey), OSQ_LAZYSYM(EVP_PKEY_get_size),
    OSQ_LAZYSYM(EVP_PKEY_get_group_name), OSQ_LAZYSYM(X509_get_key_usage),
    OSQ_LAZYSYM(X509_get0_subject_key_id),
    OSQ_LAZYSYM(X509_get0_authority_key_id),
    OSQ_LAZYSYM(X509_get_serialNumber), OSQ_LAZYSYM(ASN1_INTEGER_to_BN),
    OSQ_LAZYSYM(BN_bn2hex), OSQ_LAZYSYM(BN_free), OSQ_LAZYSYM(X509_digest),
    OSQ_LAZYSYM(EVP_sha1), OSQ_LAZYSYM(ERR_clear_error),
};
static osq_lazylib libcrypto = OSQ_LAZYLIB("libcrypto.so.3", syms);

static void cell_hex(osq_rows *out, size_t col, const unsigned char *p,
                     size_t n) {
  char buf[2 * 64 + 1];
  size_t w = 0;
  for (size_t i = 0; i < n && w + 2 < sizeof buf; i++)
    w += (size_t)snprintf(buf + w, sizeof buf - w, "%02x", p[i]);
  osq_rows_text(out, col, buf, w);
}

static void cell_name(osq_rows *out, size_t col, size_t col2,
                      const X509_NAME *name) {
  char *s = name ? lz_X509_NAME_oneline(name, NULL, 0) : NULL;
  osq_rows_cstr(out, col, s ? s : "");
  lz_CRYPTO_free(s, __FILE__, __LINE__);
  BIO *b = name ? lz_BIO_new(lz_BIO_s_mem()) : NULL;
  char *p = NULL;
  long n = 0;
  if (b && lz_X509_NAME_print_ex(b, name, 0, XN_FLAG_ONELINE) >= 0)
    n = lz_BIO_ctrl(b, BIO_CTRL_INFO, 0, (char *)&p);
  osq_rows_text(out, col2, p && n > 0 ? p : "", p && n > 0 ? (size_t)n : 0);
  if (b)
    lz_BIO_free(b);
}

static void cell_time(osq_rows *out, size_t col, const ASN1_TIME *t) {
  struct tm tm;
  if (t == NULL || lz_ASN1_TIME_to_tm(t, &tm) != 1)
    return;
  char buf[24];
  snprintf(buf, sizeof buf, "%lld", (long long)timegm(&tm));
  osq_rows_cstr(out, col, buf);
}

static void cell_common_name(osq_rows *out, X509 *x) {
  X509_NAME *name = lz_X509_get_subject_name(x);
  int i = name ? lz_X509_NAME_get_index_by_NID(name, NID_commonName, -1) : -1;
  X509_NAME_ENTRY *e = i >= 0 ? lz_X509_NAME_get_entry(name, i) : NULL;
  ASN1_STRING *s = e ? lz_X509_NAME_ENTRY_get_data(e) : NULL;
  int len = s ? lz_ASN1_STRING_length(s) : 0;
  const unsigned char *p = s ? lz_ASN1_STRING_get0_data(s) : NULL;
  osq_rows_text(out, C_COMMON_NAME, p && len > 0 ? (const char *)p : "",
                p && len > 0 ? (size_t)len : 0);
}

static void cell_key(osq_rows *out, X509 *x) {
  X509_PUBKEY *pk = lz_X509_get_X509_PUBKEY(x);
  ASN1_OBJECT *alg = NULL;
  int nid = NID_undef;
  if (pk && lz_X509_PUBKEY_get0_param(&alg, NULL, NULL, NULL, pk) && alg)
    nid = lz_OBJ_obj2nid(alg);
  const char *ln = nid != NID_undef ? lz_OBJ_nid2ln(nid) : NULL;
  osq_rows_cstr(out, C_KEY_ALG, ln ? ln : "");
  EVP_PKEY *key = lz_X509_get0_pubkey(x);
  char buf[128] = "";
  if (key && (nid == NID_rsaEncryption || nid == NID_dsa)) {
    int size = lz_EVP_PKEY_get_size(key);
    if (size > 0)
      snprintf(buf, sizeof buf, "%d", size * 8);
  } else if (key && nid == NID_X9_62_id_ecPublicKey) {
    char group[80];
    size_t glen = 0;
    if (lz_EVP_PKEY_get_group_name(key, group, sizeof group, &glen) == 1) {
      int cn = lz_OBJ_sn2nid(group);
      const char *name = cn != NID_undef ? lz_OBJ_nid2ln(cn) : NULL;
      snprintf(buf, sizeof buf, "%s", name ? name : "");
    }
  }
  osq_rows_cstr(out, C_KEY_STRENGTH, buf);
}

static void cell_usage(osq_rows *out, X509 *x) {
  uint32_t flags = lz_X509_get_key_usage(x);
  char buf[256] = "";
  size_t n = 0;
  if (flags != UINT32_MAX)
    for (size_t i = 0; i < sizeof usages / sizeof *usages; i++)
      if (flags & usages[i].bit)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", n ? ", " : "",
                              usages[i].name);
  osq_rows_cstr(out, C_KEY_USAGE, buf);
}

static void cell_serial(osq_rows *out, X509 *x) {
  ASN1_INTEGER *s = lz_X509_get_serialNumber(x);
  BIGNUM *bn = s ? lz_ASN1_INTEGER_to_BN(s, NULL) : NULL;
  char *hex = bn ? lz_BN_bn2hex(bn) : NULL;
  osq_rows_cstr(out, C_SERIAL, hex ? hex : "");
  lz_CRYPTO_free(hex, __FILE__, __LINE__);
  lz_BN_free(bn);
}

static int cert_row(osq_rows *out, X509 *x, const char *path) {
  osq_rows_cstr(out, C_PATH, path);
  cell_common_name(out, x);
  cell_name(out, C_SUBJECT, C_SUBJECT2, lz_X509_get_subject_name(x));
  cell_name(out, C_ISSUER, C_ISSUER2, lz_X509_get_issuer_name(x));
  osq_rows_int(out, C_CA, lz_X509_check_ca(x) > 0);
  osq_rows_int(out, C_SELF_SIGNED, lz_X509_check_issued(x, x) == X509_V_OK);
  cell_time(out, C_NOT_BEFORE, lz_X509_get0_notBefore(x));
  cell_time(out, C_NOT_AFTER, lz_X509_get0_notAfter(x));
  int sig = lz_X509_get_signature_nid(x);
  const char *sigln = sig != NID_undef ? lz_OBJ_nid2ln(sig) : NULL;
  osq_rows_cstr(out, C_SIGNING_ALG, sigln ? sigln : "");
  cell_key(out, x);
  cell_usage(out, x);
  const ASN1_OCTET_STRING *skid = lz_X509_get0_subject_key_id(x);
  cell_hex(out, C_SUBJECT_KEY_ID, skid ? lz_ASN1_STRING_get0_data(skid) : NULL,
           skid ? (size_t)lz_ASN1_STRING_length(skid) : 0);
  const ASN1_OCTET_STRING *akid = lz_X509_get0_authority_key_id(x);
  cell_hex(out, C_AUTHORITY_KEY_ID,
           akid ? lz_ASN1_STRING_get0_data(akid) : NULL,
           akid ? (size_t)lz_ASN1_STRING_length(akid) : 0);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  if (lz_X509_digest(x, lz_EVP_sha1(), md, &mdlen))
    cell_hex(out, C_SHA1, md, mdlen);
  cell_serial(out, x);
  return osq_rows_end(out);
}

/* The bundle at path, bounded by --read_max; NULL (logged) otherwise. */
static char *read_bundle(const char *path, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    if (fd >= 0)
      close(fd);
    return NULL; /* absent, or not a file: nothing to list */
  }
  uint64_t max = OSQ_FLAG_UINT(read_max);
  if ((uint64_t)st.st_size > max) {
    OSQ_WARN("certificates: %s is larger than --read_max (%llu bytes)", path,
             (unsigned long long)max);
    close(fd);
    return NULL;
  }
  char *buf = malloc((size_t)st.st_size + 1);
  size_t n = 0;
  while (buf && n < (size_t)st.st_size) {
    ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    n += (size_t)r;
  }
  close(fd);
  *len = n;
  return buf;
}

static int gen_bundle(osq_rows *out, const char *path) {
  size_t len = 0;
  char *data = read_bundle(path, &len);
  if (data == NULL)
    return OSQ_OK;
  BIO *b = lz_BIO_new_mem_buf(data, (int)len);
  int rc = OSQ_OK;
  X509 *x;
  while (b && rc == OSQ_OK &&
         (x = lz_PEM_read_bio_X509_AUX(b, NULL, NULL, NULL)) != NULL) {
    rc = cert_row(out, x, path);
    lz_X509_free(x);
  }
  lz_ERR_clear_error(); /* the end of the bundle reads as an error */
  if (b)
    lz_BIO_free(b);
  free(data);
  return rc;
}

static int generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)udata;
  if (!osq_lazylib_load(&libcrypto)) {
    osq_rows_error(out, "certificates: %s", osq_lazylib_error(&libcrypto));
    return OSQ_ERROR;
  }
  int rc = OSQ_OK;
  if (!osq_glob_constrained(ctx, C_PATH)) {
    for (size_t i = 0;
         i < sizeof default_bundles / sizeof *default_bundles && rc == OSQ_OK;
         i++)
      rc = gen_bundle(out, default_bundles[i]);
    return rc;
  }
  osq_pathlist paths = {0};
  if (osq_glob_collect(ctx, C_PATH, OSQ_GLOB_FILES, &paths) != 0) {
    osq_pathlist_free(&paths);
    osq_rows_error(out, "certificates: out of memory");
    return OSQ_ERROR;
  }
  for (size_t i = 0; i < paths.n && rc == OSQ_OK; i++)
    rc = gen_bundle(out, paths.items[i]);
  osq_pathlist_free(&paths);
  return rc;
}

const osq_table_plugin osq_table_certificates = {
    .name = "certificates",
    .columns = columns,
    .ncolumns = OSQ_NCOLS(columns),
    .attributes = OSQ_TABLE_CACHEABLE,
    .generate = generate,
};
