/* libcurl, loaded with dlopen on first use (core/lazylib.h) for every
 * part of osq that sends HTTP: the service-backed tables (plain HTTP to
 * local sockets) and the remote layer (HTTPS to a fleet server).
 *
 * Why one loader: curl_global_init must run exactly once per process,
 * before any other curl call and while no other thread uses libcurl;
 * two loaders would each run it. Why dlopen: libcurl brings OpenSSL,
 * nghttp2, ssh, ldap and more, whose loading and relocation would cost
 * every start of osqi and osqd, while few runs ever send a request.
 *
 * The entry points are typed from libcurl's own header, so calls through
 * them stay checked.
 *
 * Threads: any; the first call loads and initialises, later calls read. */
#ifndef OSQ_CORE_CURL_LIB_H
#define OSQ_CORE_CURL_LIB_H

#include <curl/curl.h>
#include <stddef.h>

typedef struct osq_curl_fns {
  __typeof__(curl_global_init) *global_init;
  __typeof__(curl_easy_init) *easy_init;
  __typeof__(curl_easy_cleanup) *easy_cleanup;
  __typeof__(curl_easy_setopt) *easy_setopt;
  __typeof__(curl_easy_perform) *easy_perform;
  __typeof__(curl_easy_getinfo) *easy_getinfo;
  __typeof__(curl_easy_strerror) *easy_strerror;
  __typeof__(curl_slist_append) *slist_append;
  __typeof__(curl_slist_free_all) *slist_free_all;
} osq_curl_fns;

/* libcurl's entry points, loaded and globally initialised; NULL with the
 * reason in err when the library or one of its symbols is missing or
 * curl_global_init failed. */
const osq_curl_fns *osq_curl(char *err, size_t errlen);

#endif
