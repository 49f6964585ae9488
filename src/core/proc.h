/* Walking the processes of /proc. Any thread; one walk per thread. */
#ifndef OSQ_PROC_H
#define OSQ_PROC_H

#include <stdbool.h>
#include <stdint.h>

typedef struct osq_proc_walk {
  void *dir; /* DIR *, kept opaque so callers need no <dirent.h> */
} osq_proc_walk;

/* Start listing the /proc opened as procfd (which stays the caller's and
 * keeps its position). OSQ_OK, or OSQ_EIO when it cannot be listed (errno
 * says why); nothing to close then. */
int osq_proc_walk_open(osq_proc_walk *w, int procfd);
/* The next process (a directory with a positive decimal name): true and
 * *pid, or false at the end. */
bool osq_proc_walk_next(osq_proc_walk *w, int64_t *pid);
void osq_proc_walk_close(osq_proc_walk *w);

#endif
