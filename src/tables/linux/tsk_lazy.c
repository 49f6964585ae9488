/* See tsk_lazy.h. */
#include "tsk_lazy.h"

#ifdef OSQ_HAVE_TSK
#include <dlfcn.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define TSK_SONAME "libtsk.so.19"

static osq_tsk_api api;
static bool loaded;
static char load_error[256];
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* ISO C has no conversion from void * to a function pointer; copy the
 * address instead. */
static bool sym(void *lib, const char *name, void *slot, size_t size) {
  void *p = dlsym(lib, name);
  if (p == NULL) {
    snprintf(load_error, sizeof load_error, "%s lacks %s", TSK_SONAME, name);
    return false;
  }
  memcpy(slot, &p, size);
  return true;
}

#define SYM(field, name) sym(lib, name, &api.field, sizeof api.field)

static void load(void) {
  void *lib = dlopen(TSK_SONAME, RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL) {
    snprintf(load_error, sizeof load_error,
             "cannot load %s (install libtsk19 / sleuthkit): %s", TSK_SONAME,
             dlerror());
    return;
  }
  loaded = SYM(img_open, "tsk_img_open_utf8_sing") &&
           SYM(img_close, "tsk_img_close") && SYM(vs_open, "tsk_vs_open") &&
           SYM(vs_close, "tsk_vs_close") &&
           SYM(vs_part_get, "tsk_vs_part_get") &&
           SYM(fs_open_vol, "tsk_fs_open_vol") &&
           SYM(fs_close, "tsk_fs_close") &&
           SYM(fs_type_toname, "tsk_fs_type_toname") &&
           SYM(dir_open_meta, "tsk_fs_dir_open_meta") &&
           SYM(dir_getsize, "tsk_fs_dir_getsize") &&
           SYM(dir_get, "tsk_fs_dir_get") &&
           SYM(dir_close, "tsk_fs_dir_close") &&
           SYM(file_open, "tsk_fs_file_open") &&
           SYM(file_open_meta, "tsk_fs_file_open_meta") &&
           SYM(file_close, "tsk_fs_file_close") &&
           SYM(file_read, "tsk_fs_file_read");
  /* a partial library stays loaded: unloading C++ code is not safe */
}

const osq_tsk_api *osq_tsk(char *err, size_t errlen) {
  pthread_once(&once, load);
  if (!loaded) {
    if (err != NULL && errlen > 0)
      snprintf(err, errlen, "%s", load_error);
    return NULL;
  }
  return &api;
}
#endif
