/* Libraries loaded with dlopen on first use instead of linked.
 *
 * Why: most runs of osqi and osqd never touch the tables that read a
 * format through a library (librpm, libmagic, libyara, sd-bus …). Linked,
 * each would cost every start its loading and symbol relocation; loaded
 * on first use it costs only the queries that need it.
 *
 * A table declares its entry points as function pointers typed from the
 * library's own header (so calls stay checked), lists them in an
 * osq_lazysym array, and calls osq_lazylib_load before use:
 *
 *   static __typeof__(magic_open) *lz_magic_open;
 *   static const osq_lazysym syms[] = {OSQ_LAZYSYM(magic_open)};
 *   static osq_lazylib lib = OSQ_LAZYLIB("libmagic.so.1", syms);
 *   if (!osq_lazylib_load(&lib)) … osq_lazylib_error(&lib) …
 *
 * Thread-safe: any thread; the first call loads, later calls are a read.
 * A library is never unloaded (its own threads and atexit handlers may
 * outlive any use of it). */
#ifndef OSQ_CORE_LAZYLIB_H
#define OSQ_CORE_LAZYLIB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct osq_lazysym {
  const char *name;
  void *slot; /* address of a function pointer variable */
} osq_lazysym;

typedef struct osq_lazylib {
  const char *soname;
  const osq_lazysym *syms;
  size_t nsyms;
  _Atomic int state; /* 0 not tried, 1 loaded, -1 failed */
  char error[256];
} osq_lazylib;

#define OSQ_LAZYSYM(fn) {#fn, &lz_##fn}
#define OSQ_LAZYLIB(soname, syms)                                             \
  {(soname), (syms), sizeof(syms) / sizeof((syms)[0]), 0, ""}

/* Load the library and resolve every symbol, once. False if the library
 * or one of its symbols is missing; the reason stays in the error. */
bool osq_lazylib_load(osq_lazylib *lib);
/* Why loading failed ("" if it did not). */
const char *osq_lazylib_error(const osq_lazylib *lib);

#endif
