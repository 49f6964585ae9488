/* The few libcrypto calls osq makes (digests for the md5/sha1/sha256 SQL
 * functions, the hash table and community_id; private-key parsing for
 * user_ssh_keys), with libcrypto loaded by dlopen on first use instead of
 * linked.
 *
 * Why: libcrypto is bound with BIND_NOW and brings ~3,400 symbol
 * relocations, ~0.7 ms of every start of osqi and osqd, while most runs
 * never hash anything. The functions keep OpenSSL's names and prototypes
 * (checked against <openssl/evp.h>), so callers are plain OpenSSL code.
 *
 * EVP_md5() and friends are called when SQL functions are registered, on
 * every connection; until libcrypto is needed they return tokens that the
 * digest functions resolve. If libcrypto is already in the process (a
 * program that links it), the real objects are returned at once, since
 * libcrypto's own calls may then land here. If it cannot be loaded, the
 * digest functions fail as OpenSSL's do (0 / NULL) and the reason is
 * logged once. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "core/log.h"

#define CRYPTO_SONAME "libcrypto.so.3"

static struct {
  bool ok;
  const EVP_MD *(*md5)(void);
  const EVP_MD *(*sha1)(void);
  const EVP_MD *(*sha256)(void);
  int (*digest)(const void *, size_t, unsigned char *, unsigned int *,
                const EVP_MD *, ENGINE *);
  EVP_MD_CTX *(*ctx_new)(void);
  void (*ctx_free)(EVP_MD_CTX *);
  int (*init_ex)(EVP_MD_CTX *, const EVP_MD *, ENGINE *);
  int (*update)(EVP_MD_CTX *, const void *, size_t);
  int (*final_ex)(EVP_MD_CTX *, unsigned char *, unsigned int *);
  /* private keys (user_ssh_keys) */
  BIO *(*bio_new_mem_buf)(const void *, int);
  int (*bio_free)(BIO *);
  EVP_PKEY *(*pem_read_bio_privatekey)(BIO *, EVP_PKEY **, pem_password_cb *,
                                       void *);
  void (*pkey_free)(EVP_PKEY *);
  int (*pkey_base_id)(const EVP_PKEY *);
  int (*pkey_bits)(const EVP_PKEY *);
  int (*pkey_security_bits)(const EVP_PKEY *);
  int (*pkey_group_name)(const EVP_PKEY *, char *, size_t, size_t *);
  void (*err_clear)(void);
  int (*decode_block)(unsigned char *, const unsigned char *, int);
} lc;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;

/* ISO C has no conversion from void * to a function pointer. */
#define LC_SYM(h, field, name)                                                \
  do {                                                                        \
    void *sym_ = dlsym(h, name);                                              \
    if (sym_ == NULL)                                                         \
      missing = name;                                                         \
    else                                                                      \
      memcpy(&lc.field, &sym_, sizeof lc.field);                              \
  } while (0)

static void load(void) {
  void *h = dlopen(CRYPTO_SONAME, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    const char *e = dlerror();
    OSQ_ERR("Cannot load %s for hashing: %s", CRYPTO_SONAME,
            e ? e : "unknown error");
    return;
  }
  const char *missing = NULL;
  LC_SYM(h, md5, "EVP_md5");
  LC_SYM(h, sha1, "EVP_sha1");
  LC_SYM(h, sha256, "EVP_sha256");
  LC_SYM(h, digest, "EVP_Digest");
  LC_SYM(h, ctx_new, "EVP_MD_CTX_new");
  LC_SYM(h, ctx_free, "EVP_MD_CTX_free");
  LC_SYM(h, init_ex, "EVP_DigestInit_ex");
  LC_SYM(h, update, "EVP_DigestUpdate");
  LC_SYM(h, final_ex, "EVP_DigestFinal_ex");
  LC_SYM(h, bio_new_mem_buf, "BIO_new_mem_buf");
  LC_SYM(h, bio_free, "BIO_free");
  LC_SYM(h, pem_read_bio_privatekey, "PEM_read_bio_PrivateKey");
  LC_SYM(h, pkey_free, "EVP_PKEY_free");
  LC_SYM(h, pkey_base_id, "EVP_PKEY_get_base_id");
  LC_SYM(h, pkey_bits, "EVP_PKEY_get_bits");
  LC_SYM(h, pkey_security_bits, "EVP_PKEY_get_security_bits");
  LC_SYM(h, pkey_group_name, "EVP_PKEY_get_group_name");
  LC_SYM(h, err_clear, "ERR_clear_error");
  LC_SYM(h, decode_block, "EVP_DecodeBlock");
  if (missing) {
    OSQ_ERR("Cannot load %s for hashing: no %s", CRYPTO_SONAME, missing);
    return; /* the handle stays: libcrypto is never unloaded safely */
  }
  lc.ok = true;
}

static bool loaded(void) {
  pthread_once(&load_once, load);
  return lc.ok;
}

/* Tokens for digests asked for before libcrypto is loaded. */
static const struct token { char name[8]; } tokens[3] = {{"md5"}, {"sha1"},
                                                         {"sha256"}};

/* Is libcrypto mapped already? Then hand out real objects. */
static bool present(void) {
  static int state; /* 0 unknown, 1 yes, 2 no; racing writers agree */
  int s = __atomic_load_n(&state, __ATOMIC_ACQUIRE);
  if (s == 0) {
    void *h = dlopen(CRYPTO_SONAME, RTLD_NOW | RTLD_NOLOAD);
    s = h ? 1 : 2;
    if (h)
      dlclose(h);
    __atomic_store_n(&state, s, __ATOMIC_RELEASE);
  }
  return s == 1;
}

static const EVP_MD *md_for(int i) {
  if (present() && loaded())
    return i == 0 ? lc.md5() : i == 1 ? lc.sha1() : lc.sha256();
  return (const EVP_MD *)(const void *)&tokens[i];
}

const EVP_MD *EVP_md5(void) { return md_for(0); }
const EVP_MD *EVP_sha1(void) { return md_for(1); }
const EVP_MD *EVP_sha256(void) { return md_for(2); }

/* A token or a real EVP_MD to the real one; call after loaded(). */
static const EVP_MD *real_md(const EVP_MD *md) {
  const void *p = md;
  if (p == &tokens[0])
    return lc.md5();
  if (p == &tokens[1])
    return lc.sha1();
  if (p == &tokens[2])
    return lc.sha256();
  return md;
}

int EVP_Digest(const void *data, size_t count, unsigned char *md,
               unsigned int *size, const EVP_MD *type, ENGINE *impl) {
  if (!loaded())
    return 0;
  return lc.digest(data, count, md, size, real_md(type), impl);
}

EVP_MD_CTX *EVP_MD_CTX_new(void) { return loaded() ? lc.ctx_new() : NULL; }

void EVP_MD_CTX_free(EVP_MD_CTX *ctx) {
  if (ctx && loaded())
    lc.ctx_free(ctx);
}

int EVP_DigestInit_ex(EVP_MD_CTX *ctx, const EVP_MD *type, ENGINE *impl) {
  if (!loaded())
    return 0;
  return lc.init_ex(ctx, real_md(type), impl);
}

int EVP_DigestUpdate(EVP_MD_CTX *ctx, const void *d, size_t cnt) {
  return loaded() ? lc.update(ctx, d, cnt) : 0;
}

int EVP_DigestFinal_ex(EVP_MD_CTX *ctx, unsigned char *md, unsigned int *s) {
  return loaded() ? lc.final_ex(ctx, md, s) : 0;
}

/* Base64 with '=' padding and no line breaks, NUL-terminated; returns
 * the length without the NUL: what OpenSSL's EVP_EncodeBlock does. */
int EVP_EncodeBlock(unsigned char *t, const unsigned char *f, int n) {
  static const char al[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  int o = 0;
  for (int i = 0; i < n; i += 3) {
    unsigned v = (unsigned)f[i] << 16;
    if (i + 1 < n)
      v |= (unsigned)f[i + 1] << 8;
    if (i + 2 < n)
      v |= f[i + 2];
    t[o++] = (unsigned char)al[(v >> 18) & 63];
    t[o++] = (unsigned char)al[(v >> 12) & 63];
    t[o++] = (unsigned char)(i + 1 < n ? al[(v >> 6) & 63] : '=');
    t[o++] = (unsigned char)(i + 2 < n ? al[v & 63] : '=');
  }
  t[o] = '\0';
  return o;
}

/* ---- private keys (user_ssh_keys) ------------------------------------- */

BIO *BIO_new_mem_buf(const void *buf, int len) {
  return loaded() ? lc.bio_new_mem_buf(buf, len) : NULL;
}

int BIO_free(BIO *a) { return a && loaded() ? lc.bio_free(a) : 0; }

EVP_PKEY *PEM_read_bio_PrivateKey(BIO *bp, EVP_PKEY **x, pem_password_cb *cb,
                                  void *u) {
  return loaded() ? lc.pem_read_bio_privatekey(bp, x, cb, u) : NULL;
}

void EVP_PKEY_free(EVP_PKEY *pkey) {
  if (pkey && loaded())
    lc.pkey_free(pkey);
}

int EVP_PKEY_get_base_id(const EVP_PKEY *pkey) {
  return loaded() ? lc.pkey_base_id(pkey) : EVP_PKEY_NONE;
}

int EVP_PKEY_get_bits(const EVP_PKEY *pkey) {
  return loaded() ? lc.pkey_bits(pkey) : 0;
}

int EVP_PKEY_get_security_bits(const EVP_PKEY *pkey) {
  return loaded() ? lc.pkey_security_bits(pkey) : 0;
}

int EVP_PKEY_get_group_name(const EVP_PKEY *pkey, char *name, size_t len,
                            size_t *out) {
  return loaded() ? lc.pkey_group_name(pkey, name, len, out) : 0;
}

void ERR_clear_error(void) {
  if (loaded())
    lc.err_clear();
}

int EVP_DecodeBlock(unsigned char *t, const unsigned char *f, int n) {
  return loaded() ? lc.decode_block(t, f, n) : -1;
}
