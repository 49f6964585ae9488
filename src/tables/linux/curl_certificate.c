/* curl_certificate: the certificate a TLS server presents, for each
 * `hostname = 'host[:port]'` (port 443 by default). libcurl (loaded on
 * first use) resolves, connects and completes the handshake without
 * verifying the peer (the point is to look at whatever it presents) and
 * hands over the peer's certificate (CURLOPT_CERTINFO), which libcrypto
 * decodes.
 *
 * As osquery: `timeout = n` bounds the connection in seconds (default 4;
 * a negative value is ignored), `dump_certificate = 1` adds the PEM;
 * names are the first CN/O/OU entries, validity bounds as OpenSSL prints
 * them ("Jan  1 00:00:00 2030 GMT"), fingerprints in lowercase hex, the
 * signature as colon-separated hex, extensions as OpenSSL prints them
 * with line breaks turned into ';'. A host that cannot be reached gives
 * no row (logged). */
#include "core/curl_lib.h"
#include "core/lazylib.h"
#include "core/log.h"
#include "tables/builtin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define DEFAULT_TIMEOUT_S 4
#define HOSTNAME_MAX 512

enum {
  C_HOSTNAME, C_COMMON_NAME, C_ORGANIZATION, C_ORGANIZATION_UNIT, C_SERIAL,
  C_ISSUER_CN, C_ISSUER_O, C_ISSUER_OU, C_VALID_FROM, C_VALID_TO, C_SHA256,
  C_SHA1, C_VERSION, C_SIG_ALG, C_SIGNATURE, C_SKID, C_AKID, C_KEY_USAGE,
  C_EXT_KEY_USAGE, C_POLICIES, C_SAN, C_IAN, C_INFO_ACCESS, C_SINFO_ACCESS,
  C_POLICY_MAPPINGS, C_HAS_EXPIRED, C_BASIC_CONSTRAINT, C_NAME_CONSTRAINTS,
  C_POLICY_CONSTRAINTS, C_DUMP, C_TIMEOUT, C_PEM, C_COUNT
};

static const osq_column columns[] = {
    {"hostname", OSQ_TYPE_TEXT, OSQ_COL_OPTIMIZED | OSQ_COL_REQUIRED},
    {"common_name", OSQ_TYPE_TEXT, 0},
    {"organization", OSQ_TYPE_TEXT, 0},
    {"organization_unit", OSQ_TYPE_TEXT, 0},
    {"serial_number", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"issuer_common_name", OSQ_TYPE_TEXT, 0},
    {"issuer_organization", OSQ_TYPE_TEXT, 0},
    {"issuer_organization_unit", OSQ_TYPE_TEXT, 0},
    {"valid_from", OSQ_TYPE_TEXT, 0},
    {"valid_to", OSQ_TYPE_TEXT, 0},
    {"sha256_fingerprint", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"sha1_fingerprint", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"version", OSQ_TYPE_INTEGER, 0},
    {"signature_algorithm", OSQ_TYPE_TEXT, 0},
    {"signature", OSQ_TYPE_TEXT, 0},
    {"subject_key_identifier", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"authority_key_identifier", OSQ_TYPE_TEXT, OSQ_COL_COLLATE_NOCASE},
    {"key_usage", OSQ_TYPE_TEXT, 0},
    {"extended_key_usage", OSQ_TYPE_TEXT, 0},
    {"policies", OSQ_TYPE_TEXT, 0},
    {"subject_alternative_names", OSQ_TYPE_TEXT, 0},
    {"issuer_alternative_names", OSQ_TYPE_TEXT, 0},
    {"info_access", OSQ_TYPE_TEXT, 0},
    {"subject_info_access", OSQ_TYPE_TEXT, 0},
    {"policy_mappings", OSQ_TYPE_TEXT, 0},
    {"has_expired", OSQ_TYPE_INTEGER, 0},
    {"basic_constraint", OSQ_TYPE_TEXT, 0},
    {"name_constraints", OSQ_TYPE_TEXT, 0},
    {"policy_constraints", OSQ_TYPE_TEXT, 0},
    {"dump_certificate", OSQ_TYPE_INTEGER,
     OSQ_COL_ADDITIONAL | OSQ_COL_HIDDEN},
    {"timeout", OSQ_TYPE_INTEGER, OSQ_COL_ADDITIONAL | OSQ_COL_HIDDEN},
    {"pem", OSQ_TYPE_TEXT, 0},
};
_Static_assert(sizeof columns / sizeof *columns == C_COUNT, "cols");

#define LZ(fn) static __typeof__(fn) *lz_##fn
LZ(X509_free); LZ(X509_get_subject_name); LZ(X509_get_issuer_name);
LZ(X509_NAME_get_text_by_NID); LZ(X509_get_serialNumber);
LZ(ASN1_INTEGER_to_BN); LZ(BN_bn2hex); LZ(BN_free); LZ(CRYPTO_free);
LZ(BIO_new); LZ(BIO_s_mem); LZ(BIO_ctrl); LZ(BIO_free); LZ(ASN1_TIME_print);
LZ(X509_get0_notBefore); LZ(X509_get0_notAfter); LZ(X509_digest);
LZ(EVP_sha256); LZ(EVP_sha1); LZ(X509_get_version);
LZ(X509_get_signature_nid); LZ(OBJ_nid2sn); LZ(X509_get0_signature);
LZ(X509_get_ext_by_NID); LZ(X509_get_ext); LZ(X509V3_EXT_print);
LZ(ASN1_STRING_print); LZ(X509_EXTENSION_get_data);
LZ(X509_cmp_current_time); LZ(PEM_write_bio_X509); LZ(BIO_new_mem_buf);
LZ(PEM_read_bio_X509);
#undef LZ

static const osq_lazysym crypto_syms[] = {
    OSQ_LAZYSYM(X509_free), OSQ_LAZYSYM(X509_get_subject_name),
    OSQ_LAZYSYM(X509_get_issuer_name), OSQ_LAZYSYM(X509_NAME_get_text_by_NID),
    OSQ_LAZYSYM(X509_get_serialNumber), OSQ_LAZYSYM(ASN1_INTEGER_to_BN),
    OSQ_LAZYSYM(BN_bn2hex), OSQ_LAZYSYM(BN_free), OSQ_LAZYSYM(CRYPTO_free),
    OSQ_LAZYSYM(BIO_new), OSQ_LAZYSYM(BIO_s_mem), OSQ_LAZYSYM(BIO_ctrl),
    OSQ_LAZYSYM(BIO_free), OSQ_LAZYSYM(ASN1_TIME_print),
    OSQ_LAZYSYM(X509_get0_notBefore), OSQ_LAZYSYM(X509_get0_notAfter),
    OSQ_LAZYSYM(X509_digest), OSQ_LAZYSYM(EVP_sha256), OSQ_LAZYSYM(EVP_sha1),
    OSQ_LAZYSYM(X509_get_version), OSQ_LAZYSYM(X509_get_signature_nid),
    OSQ_LAZYSYM(OBJ_nid2sn), OSQ_LAZYSYM(X509_get0_signature),
    OSQ_LAZYSYM(X509_get_ext_by_NID), OSQ_LAZYSYM(X509_get_ext),
    OSQ_LAZYSYM(X509V3_EXT_print), OSQ_LAZYSYM(ASN1_STRING_print),
    OSQ_LAZYSYM(X509_EXTENSION_get_data), OSQ_LAZYSYM(X509_cmp_current_time),
    OSQ_LAZYSYM(PEM_write_bio_X509), OSQ_LAZYSYM(BIO_new_mem_buf),
    OSQ_LAZYSYM(PEM_read_bio_X509),
};
static osq_lazylib libcrypto = OSQ_LAZYLIB("libcrypto.so.3", crypto_syms);


/* A memory BIO's text as a cell, trailing line breaks dropped and inner
 * ones turned into ';' (osquery's form for extensions). */
static void cell_bio(osq_rows *out, size_t col, BIO *b, bool join_lines) {
  char *p = NULL;
  long n = lz_BIO_ctrl(b, BIO_CTRL_INFO, 0, (char *)&p);
  if (p == NULL || n <= 0) {
    osq_rows_cstr(out, col, "");
    return;
  }
  while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r'))
    n--;
  if (join_lines)
    for (long i = 0; i < n; i++)
      if (p[i] == '\n')
        p[i] = ';';
  osq_rows_text(out, col, p, (size_t)n);
}

static void cell_name_part(osq_rows *out, size_t col, X509_NAME *name,
                           int nid) {
  char buf[256];
  if (name && lz_X509_NAME_get_text_by_NID(name, nid, buf, sizeof buf) >= 0)
    osq_rows_cstr(out, col, buf);
}

static void cell_ext(osq_rows *out, size_t col, X509 *x, int nid) {
  int i = lz_X509_get_ext_by_NID(x, nid, -1);
  if (i < 0) {
    osq_rows_cstr(out, col, "");
    return;
  }
  X509_EXTENSION *ext = lz_X509_get_ext(x, i);
  BIO *b = lz_BIO_new(lz_BIO_s_mem());
  if (b == NULL)
    return;
  if (!lz_X509V3_EXT_print(b, ext, 0, 0))
    lz_ASN1_STRING_print(b, lz_X509_EXTENSION_get_data(ext));
  cell_bio(out, col, b, true);
  lz_BIO_free(b);
}

static void cell_time(osq_rows *out, size_t col, const ASN1_TIME *t) {
  BIO *b = lz_BIO_new(lz_BIO_s_mem());
  if (b == NULL)
    return;
  if (t && lz_ASN1_TIME_print(b, t))
    cell_bio(out, col, b, false);
  lz_BIO_free(b);
}

static void cell_digest(osq_rows *out, size_t col, X509 *x, const EVP_MD *md) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!lz_X509_digest(x, md, d, &n))
    return;
  char hex[2 * EVP_MAX_MD_SIZE + 1];
  for (unsigned i = 0; i < n; i++)
    snprintf(hex + 2 * i, 3, "%02x", d[i]);
  osq_rows_text(out, col, hex, 2 * (size_t)n);
}

static void cell_signature(osq_rows *out, X509 *x) {
  const ASN1_BIT_STRING *sig = NULL;
  lz_X509_get0_signature(&sig, NULL, x);
  if (sig == NULL || lz_X509_get_signature_nid(x) == NID_undef) {
    osq_rows_cstr(out, C_SIGNATURE, "");
    return;
  }
  size_t n = (size_t)sig->length;
  char *s = malloc(3 * n + 1);
  if (s == NULL)
    return;
  size_t w = 0;
  for (size_t i = 0; i < n; i++)
    w += (size_t)snprintf(s + w, 4, "%02x%s", sig->data[i],
                          i + 1 == n ? "" : ":");
  osq_rows_text(out, C_SIGNATURE, s, w);
  free(s);
}

static int cert_row(osq_rows *out, X509 *x, const char *hostname, int dump,
                    long timeout) {
  osq_rows_cstr(out, C_HOSTNAME, hostname);
  X509_NAME *subj = lz_X509_get_subject_name(x);
  X509_NAME *iss = lz_X509_get_issuer_name(x);
  cell_name_part(out, C_COMMON_NAME, subj, NID_commonName);
  cell_name_part(out, C_ORGANIZATION, subj, NID_organizationName);
  cell_name_part(out, C_ORGANIZATION_UNIT, subj, NID_organizationalUnitName);
  cell_name_part(out, C_ISSUER_CN, iss, NID_commonName);
  cell_name_part(out, C_ISSUER_O, iss, NID_organizationName);
  cell_name_part(out, C_ISSUER_OU, iss, NID_organizationalUnitName);
  BIGNUM *bn = lz_ASN1_INTEGER_to_BN(lz_X509_get_serialNumber(x), NULL);
  char *hex = bn ? lz_BN_bn2hex(bn) : NULL;
  if (hex)
    osq_rows_cstr(out, C_SERIAL, hex);
  lz_CRYPTO_free(hex, __FILE__, __LINE__);
  lz_BN_free(bn);
  cell_time(out, C_VALID_FROM, lz_X509_get0_notBefore(x));
  cell_time(out, C_VALID_TO, lz_X509_get0_notAfter(x));
  cell_digest(out, C_SHA256, x, lz_EVP_sha256());
  cell_digest(out, C_SHA1, x, lz_EVP_sha1());
  osq_rows_int(out, C_VERSION, lz_X509_get_version(x) + 1);
  int nid = lz_X509_get_signature_nid(x);
  osq_rows_cstr(out, C_SIG_ALG, nid != NID_undef ? lz_OBJ_nid2sn(nid)
                                                 : "undefined");
  cell_signature(out, x);
  static const struct {
    size_t col;
    int nid;
  } exts[] = {
      {C_SKID, NID_subject_key_identifier},
      {C_AKID, NID_authority_key_identifier},
      {C_KEY_USAGE, NID_key_usage},
      {C_EXT_KEY_USAGE, NID_ext_key_usage},
      {C_POLICIES, NID_certificate_policies},
      {C_SAN, NID_subject_alt_name},
      {C_IAN, NID_issuer_alt_name},
      {C_INFO_ACCESS, NID_info_access},
      {C_SINFO_ACCESS, NID_sinfo_access},
      {C_POLICY_MAPPINGS, NID_policy_mappings},
      {C_BASIC_CONSTRAINT, NID_basic_constraints},
      {C_NAME_CONSTRAINTS, NID_name_constraints},
      {C_POLICY_CONSTRAINTS, NID_policy_constraints},
  };
  for (size_t i = 0; i < sizeof exts / sizeof *exts; i++)
    cell_ext(out, exts[i].col, x, exts[i].nid);
  osq_rows_int(out, C_HAS_EXPIRED,
               lz_X509_cmp_current_time(lz_X509_get0_notAfter(x)) <= 0);
  osq_rows_int(out, C_TIMEOUT, timeout);
  osq_rows_int(out, C_DUMP, dump);
  if (dump) {
    BIO *b = lz_BIO_new(lz_BIO_s_mem());
    if (b && lz_PEM_write_bio_X509(b, x)) {
      char *p = NULL;
      long n = lz_BIO_ctrl(b, BIO_CTRL_INFO, 0, (char *)&p);
      if (p && n > 0)
        osq_rows_text(out, C_PEM, p, (size_t)n);
    }
    if (b)
      lz_BIO_free(b);
  }
  return osq_rows_end(out);
}

static int fetch(const osq_curl_fns *cu, osq_rows *out, const char *hostname,
                 int dump, long timeout) {
  char url[HOSTNAME_MAX + 16];
  size_t hl = strlen(hostname);
  /* "host:" means the default port, as in osquery */
  snprintf(url, sizeof url, "https://%.*s/",
           (int)(hl && hostname[hl - 1] == ':' ? hl - 1 : hl), hostname);
  CURL *h = cu->easy_init();
  if (h == NULL)
    return OSQ_OK;
  char errbuf[CURL_ERROR_SIZE] = "";
  cu->easy_setopt(h, CURLOPT_URL, url);
  cu->easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
  cu->easy_setopt(h, CURLOPT_CERTINFO, 1L);
  cu->easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
  cu->easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  cu->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  cu->easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  if (timeout > 0) /* 0: libcurl's own connect bound */
    cu->easy_setopt(h, CURLOPT_TIMEOUT, timeout);
  int rc = OSQ_OK;
  CURLcode r = cu->easy_perform(h);
  struct curl_certinfo *ci = NULL;
  X509 *x = NULL;
  if (r == CURLE_OK &&
      cu->easy_getinfo(h, CURLINFO_CERTINFO, &ci) == CURLE_OK && ci &&
      ci->num_of_certs > 0) {
    /* the server's own certificate comes first, its PEM under "Cert:" */
    for (struct curl_slist *f = ci->certinfo[0]; f && !x; f = f->next) {
      if (strncmp(f->data, "Cert:", 5) != 0)
        continue;
      BIO *b = lz_BIO_new_mem_buf(f->data + 5, -1);
      if (b) {
        x = lz_PEM_read_bio_X509(b, NULL, NULL, NULL);
        lz_BIO_free(b);
      }
    }
  }
  if (x) {
    rc = cert_row(out, x, hostname, dump, timeout);
    lz_X509_free(x);
  } else {
    OSQ_INFO("curl_certificate: cannot get the certificate of %s: %s",
             hostname, r != CURLE_OK ? (errbuf[0] ? errbuf
                                                  : cu->easy_strerror(r))
                                     : "no certificate");
  }
  cu->easy_cleanup(h);
  return rc;
}

static bool eq_int(const osq_context *ctx, size_t col, long *v) {
  for (size_t i = 0; i < osq_context_nconstraints(ctx, col); i++) {
    const osq_constraint *c = osq_context_constraint(ctx, col, i);
    char *end;
    if (c->op != OSQ_OP_EQ)
      continue;
    long n = strtol(c->expr, &end, 10);
    if (end != c->expr && *end == '\0') {
      *v = n;
      return true;
    }
  }
  return false;
}

static int generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)udata;
  long dump = 0, timeout = DEFAULT_TIMEOUT_S;
  eq_int(ctx, C_DUMP, &dump);
  if (eq_int(ctx, C_TIMEOUT, &timeout) && timeout < 0) {
    OSQ_WARN("curl_certificate: ignoring out of range timeout: %ld", timeout);
    timeout = DEFAULT_TIMEOUT_S;
  }
  char why[320];
  const osq_curl_fns *cu = osq_curl(why, sizeof why);
  if (cu == NULL) {
    osq_rows_error(out, "curl_certificate: %s", why);
    return OSQ_ERROR;
  }
  if (!osq_lazylib_load(&libcrypto)) {
    osq_rows_error(out, "curl_certificate: %s", osq_lazylib_error(&libcrypto));
    return OSQ_ERROR;
  }
  int rc = OSQ_OK;
  for (size_t i = 0; i < osq_context_nconstraints(ctx, C_HOSTNAME); i++) {
    const osq_constraint *c = osq_context_constraint(ctx, C_HOSTNAME, i);
    if (c->op != OSQ_OP_EQ || c->len == 0 || c->len > HOSTNAME_MAX ||
        strlen(c->expr) != c->len || strpbrk(c->expr, "/?#@ ") != NULL)
      continue; /* a host[:port], nothing a URL could smuggle in */
    if ((rc = fetch(cu, out, c->expr, dump == 1, timeout)) != OSQ_OK)
      break;
  }
  return rc;
}

const osq_table_plugin osq_table_curl_certificate = {
    .name = "curl_certificate",
    .columns = columns,
    .ncolumns = OSQ_NCOLS(columns),
    .generate = generate,
};
