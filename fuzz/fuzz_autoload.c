/* libFuzzer target: the extensions autoload file (--extensions_autoload).
 * Byte 0 picks the entry point: even, osq_autoload_parse on the text;
 * odd, osq_loader_read_autoload on a memfd holding it (the file-level
 * bounds, then every listed path through the permission check). The
 * loader is never started, so nothing is ever launched.
 *
 * Every path handed on must be absolute, NUL-free, trimmed and within
 * OSQ_LOADER_MAX_LINE, on increasing lines, and the count returned must
 * be the number handed on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/flags.h"
#include "core/log.h"
#include "ext/loader/loader.h"
#include "settings/ext_settings.h"

/* The settings the shell would pass, from the flags this test set. */
static const osq_ext_settings *settings_from_flags(void) {
  static osq_ext_settings s;
  osq_ext_settings_from_flags(&s);
  return &s;
}

typedef struct seen {
  int n;
  unsigned last_line;
} seen;

static void on_path(const char *path, unsigned line, void *u) {
  seen *s = u;
  size_t n = strlen(path);
  if (path[0] != '/' || n > OSQ_LOADER_MAX_LINE || line <= s->last_line ||
      line > OSQ_LOADER_MAX_LINES)
    abort();
  if (path[n - 1] == ' ' || path[n - 1] == '\t' || path[n - 1] == '\r')
    abort(); /* trimmed */
  s->last_line = line;
  s->n++;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  osq_flags_init(OSQ_PERSONALITY_DAEMON);
  char err[256];
  OSQ_FLAG_SET(logger_stderr, "false", err, sizeof err);
  osq_log_configure();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  const char *text = (const char *)data + 1;
  size_t len = size - 1;
  char err[512] = "";
  if ((data[0] & 1) == 0) {
    seen s = {0, 0};
    int rc = osq_autoload_parse(text, len, "fuzz.load", on_path, &s, err,
                                sizeof err);
    if (rc < 0 ? strstr(err, "fuzz.load") == NULL : rc != s.n)
      abort();
    return 0;
  }
  int fd = memfd_create("autoload", MFD_CLOEXEC);
  if (fd < 0)
    return 0;
  if (len > 0 && write(fd, text, len) != (ssize_t)len) {
    close(fd);
    return 0;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  osq_loader *l = osq_loader_new("/nonexistent/osq.em", settings_from_flags());
  if (l != NULL) {
    int rc = osq_loader_read_autoload(l, path, err, sizeof err);
    if (rc < 0 && err[0] == '\0')
      abort(); /* a refusal says why */
    if (rc > 0 && (size_t)rc > osq_loader_count(l))
      abort(); /* added paths are kept (and never launched here) */
    osq_loader_free(l);
  }
  close(fd);
  return 0;
}
