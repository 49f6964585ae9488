/* libFuzzer target: a flagfile (osq_flags_load_file) with arbitrary
 * contents, read from a memfd through its /proc/self/fd path, applied to
 * the built-in flag table; the table is rebuilt after every input so each
 * starts from the defaults. Nested --flagfile lines may name the memfd
 * itself: the depth bound must stop the recursion. Warnings go to
 * /dev/null; a crash, a leak or an unbounded read is a failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/flags.h"
#include "core/log.h"

static FILE *devnull;

static void quiet(void) {
  char err[256];
  OSQ_FLAG_SET(logger_stderr, "false", err, sizeof err);
  osq_log_configure();
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  devnull = fopen("/dev/null", "we");
  osq_flags_init(OSQ_PERSONALITY_DAEMON);
  quiet();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int fd = memfd_create("flagfile", MFD_CLOEXEC);
  if (fd < 0)
    return 0;
  if (size > 0 && write(fd, data, size) != (ssize_t)size) {
    close(fd);
    return 0;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  if (osq_flags_load_file(path, "/usr/bin/osqd", devnull) != 0)
    abort(); /* the file exists and is readable */
  /* every flag still reads back with its declared type */
  osq_flag_info *list = NULL;
  size_t n = osq_flags_list(&list);
  for (size_t i = 0; i < n; i++)
    if (list[i].name == NULL || list[i].value == NULL ||
        list[i].default_value == NULL)
      abort();
  free(list);
  close(fd);
  osq_flags_shutdown();
  osq_flags_init(OSQ_PERSONALITY_DAEMON);
  quiet();
  return 0;
}
