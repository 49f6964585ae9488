#include "proc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <osq/plugin.h>
#include <unistd.h>

#include "parse.h"

int osq_proc_walk_open(osq_proc_walk *w, int procfd) {
  /* A duplicate, so closedir does not close the caller's descriptor. */
  int dfd = dup(procfd);
  DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
  if (d == NULL) {
    int saved = errno;
    if (dfd >= 0)
      close(dfd);
    errno = saved;
    w->dir = NULL;
    return OSQ_EIO;
  }
  w->dir = d;
  return OSQ_OK;
}

bool osq_proc_walk_next(osq_proc_walk *w, int64_t *pid) {
  struct dirent *e;
  while (w->dir && (e = readdir(w->dir)) != NULL)
    if (isdigit((unsigned char)e->d_name[0]) &&
        osq_parse_i64_str(e->d_name, pid) && *pid > 0)
      return true;
  return false;
}

void osq_proc_walk_close(osq_proc_walk *w) {
  if (w->dir)
    closedir(w->dir);
  w->dir = NULL;
}
