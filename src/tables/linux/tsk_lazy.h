/* The Sleuth Kit, loaded with dlopen on the first device_* query so that
 * programs that never read a disk image do not map libtsk and its C++
 * runtime at start-up.
 *
 * Thread-safe: the load happens once (pthread_once). */
#ifndef OSQ_TABLES_TSK_LAZY_H
#define OSQ_TABLES_TSK_LAZY_H

#if defined(__has_include)
#if __has_include(<tsk/libtsk.h>)
#define OSQ_HAVE_TSK 1
#include <tsk/libtsk.h>
#endif
#endif

#ifdef OSQ_HAVE_TSK
typedef struct osq_tsk_api {
  __typeof__(&tsk_img_open_utf8_sing) img_open;
  __typeof__(&tsk_img_close) img_close;
  __typeof__(&tsk_vs_open) vs_open;
  __typeof__(&tsk_vs_close) vs_close;
  __typeof__(&tsk_vs_part_get) vs_part_get;
  __typeof__(&tsk_fs_open_vol) fs_open_vol;
  __typeof__(&tsk_fs_close) fs_close;
  __typeof__(&tsk_fs_type_toname) fs_type_toname;
  __typeof__(&tsk_fs_dir_open_meta) dir_open_meta;
  __typeof__(&tsk_fs_dir_getsize) dir_getsize;
  __typeof__(&tsk_fs_dir_get) dir_get;
  __typeof__(&tsk_fs_dir_close) dir_close;
  __typeof__(&tsk_fs_file_open) file_open;
  __typeof__(&tsk_fs_file_open_meta) file_open_meta;
  __typeof__(&tsk_fs_file_close) file_close;
  __typeof__(&tsk_fs_file_read) file_read;
} osq_tsk_api;

/* The API, or NULL (with the reason in err) when libtsk cannot be
 * loaded. */
const osq_tsk_api *osq_tsk(char *err, size_t errlen);
#endif

#endif
