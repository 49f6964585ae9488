/* The one libcurl loader: see curl_lib.h. */
#include "core/curl_lib.h"

#include "core/lazylib.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

static osq_curl_fns fns;

static const osq_lazysym syms[] = {
    {"curl_global_init", &fns.global_init},
    {"curl_easy_init", &fns.easy_init},
    {"curl_easy_cleanup", &fns.easy_cleanup},
    {"curl_easy_setopt", &fns.easy_setopt},
    {"curl_easy_perform", &fns.easy_perform},
    {"curl_easy_getinfo", &fns.easy_getinfo},
    {"curl_easy_strerror", &fns.easy_strerror},
    {"curl_slist_append", &fns.slist_append},
    {"curl_slist_free_all", &fns.slist_free_all},
};
/* Debian's OpenSSL flavour, else its GnuTLS one (the same API) */
static osq_lazylib lib = OSQ_LAZYLIB("libcurl.so.4", syms);
static osq_lazylib lib_gnutls = OSQ_LAZYLIB("libcurl-gnutls.so.4", syms);

static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool ready;
static char why[300];

static void init(void) {
  if (!osq_lazylib_load(&lib) && !osq_lazylib_load(&lib_gnutls)) {
    snprintf(why, sizeof why, "%s", osq_lazylib_error(&lib));
    return;
  }
  /* Not thread-safe in libcurl: once, here, before any other call. */
  if (fns.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    snprintf(why, sizeof why, "curl_global_init failed");
    return;
  }
  ready = true;
}

const osq_curl_fns *osq_curl(char *err, size_t errlen) {
  pthread_once(&once, init);
  if (ready)
    return &fns;
  snprintf(err, errlen, "%s", why);
  return NULL;
}
