/* dlopen on first use: see lazylib.h. */
#include "core/lazylib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t load_mu = PTHREAD_MUTEX_INITIALIZER;

static void resolve(osq_lazylib *lib) {
  void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    const char *e = dlerror();
    snprintf(lib->error, sizeof lib->error, "cannot load %s: %s", lib->soname,
             e ? e : "unknown error");
    atomic_store(&lib->state, -1);
    return;
  }
  for (size_t i = 0; i < lib->nsyms; i++) {
    void *sym = dlsym(h, lib->syms[i].name);
    if (sym == NULL) {
      snprintf(lib->error, sizeof lib->error, "%s has no symbol %s",
               lib->soname, lib->syms[i].name);
      atomic_store(&lib->state, -1);
      return; /* the handle stays open: unloading is never safe here */
    }
    /* ISO C has no conversion from void * to a function pointer. */
    memcpy(lib->syms[i].slot, &sym, sizeof sym);
  }
  atomic_store(&lib->state, 1);
}

bool osq_lazylib_load(osq_lazylib *lib) {
  int s = atomic_load(&lib->state);
  if (s != 0)
    return s > 0;
  pthread_mutex_lock(&load_mu);
  if (atomic_load(&lib->state) == 0)
    resolve(lib);
  pthread_mutex_unlock(&load_mu);
  return atomic_load(&lib->state) > 0;
}

const char *osq_lazylib_error(const osq_lazylib *lib) {
  return atomic_load(&lib->state) < 0 ? lib->error : "";
}
