/* file_logger: a logger plugin that appends results, snapshots and status
 * lines to one file, one JSON object per line (ready for a log shipper).
 *
 *   ./file_logger.ext --socket S --logger_file /var/log/osq/lines.jsonl
 *   OSQ_LOGGER_FILE=/tmp/lines.jsonl ./file_logger.ext --socket S
 *   osqd --logger_plugin=file_logger ...
 *
 * Each line is prefixed by its kind so one file can carry all of them:
 *   {"kind":"result","line":{...}}    differential/batch result lines
 *   {"kind":"snapshot","line":{...}}  snapshot results
 *   {"kind":"status","line":{...}}    one per status-log entry
 *   {"kind":"init","line":"osqd"}     when the core starts its loggers
 * Writes are single O_APPEND write()s, so calls arriving on several
 * threads never interleave within a line. */
#include <osq/extension.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int log_fd = -1;

static int write_all(const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(log_fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0) {
      osq_error("file_logger: write: %s", w < 0 ? strerror(errno) : "no room");
      return OSQ_EIO;
    }
    p += w;
    n -= (size_t)w;
  }
  return OSQ_OK;
}

/* One line: {"kind":K,"line":<json or string>}\n */
static int put(const char *kind, const char *text, size_t len, bool raw) {
  json_t *line = raw ? json_loadb(text, len, JSON_DECODE_ANY, NULL) : NULL;
  if (line == NULL)
    line = json_stringn(text, len); /* not JSON (or init): keep as text */
  json_t *o = json_pack("{s:s,s:o}", "kind", kind, "line", line);
  char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  json_decref(o);
  if (s == NULL) {
    osq_error("file_logger: out of memory");
    return OSQ_ENOMEM;
  }
  size_t n = strlen(s);
  s[n] = '\n'; /* replaces the NUL: one write per line */
  int rc = write_all(s, n + 1);
  free(s);
  return rc;
}

static int log_line(osq_log_kind kind, const char *text, size_t len,
                    void *udata) {
  (void)udata;
  switch (kind) {
  case OSQ_LOG_RESULT: return put("result", text, len, true);
  case OSQ_LOG_SNAPSHOT: return put("snapshot", text, len, true);
  case OSQ_LOG_INIT: return put("init", text, len, false);
  case OSQ_LOG_EVENT: return put("event", text, len, true);
  case OSQ_LOG_STATUS: {
    /* a JSON array of status entries: one line each */
    json_t *arr = json_loadb(text, len, 0, NULL);
    if (!json_is_array(arr)) {
      json_decref(arr);
      return put("status", text, len, false);
    }
    size_t i;
    json_t *e;
    int rc = OSQ_OK;
    json_array_foreach(arr, i, e) {
      char *s = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER |
                                  JSON_ENCODE_ANY);
      if (s && rc == OSQ_OK)
        rc = put("status", s, strlen(s), true);
      free(s);
    }
    json_decref(arr);
    return rc;
  }
  }
  return OSQ_EINVAL;
}

static const osq_logger_plugin plugin = {
    .name = "file_logger",
    .features = OSQ_LOGGER_FEATURE_STATUS,
    .log = log_line,
};

int main(int argc, char **argv) {
  const char *path = getenv("OSQ_LOGGER_FILE");
  for (int i = 1; i < argc; i++) { /* our own flag; the SDK ignores it */
    if (strcmp(argv[i], "--logger_file") == 0 && i + 1 < argc)
      path = argv[++i];
    else if (strncmp(argv[i], "--logger_file=", 14) == 0)
      path = argv[i] + 14;
  }
  if (path == NULL || *path == '\0') {
    fprintf(stderr, "file_logger: give --logger_file PATH or set "
                    "$OSQ_LOGGER_FILE\n");
    return 1;
  }
  log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (log_fd < 0) {
    fprintf(stderr, "file_logger: cannot open %s: %s\n", path,
            strerror(errno));
    return 1;
  }
  osq_extension *ext = osq_extension_new("file_logger", "1.0.0");
  if (ext == NULL || osq_extension_add_logger(ext, &plugin) != OSQ_OK) {
    fprintf(stderr, "file_logger: cannot set up the extension: %s\n",
            ext ? osq_last_error() : "out of memory");
    return 1;
  }
  int code = osq_extension_run(ext, argc, argv);
  osq_extension_free(ext);
  close(log_fd);
  return code;
}
