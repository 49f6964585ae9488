/* libFuzzer target: the decoders of what the kernel (and rsyslog) send
 * the event publishers (src/events/parse.c). Byte 0 % 5 picks the
 * decoder (process connector datagram, inotify read, audit netlink
 * records with their SELinux labels and process_file_events' path
 * helpers, a syslog CSV line, a kernel uevent); the rest is the buffer,
 * copied to its own allocation so ASan sees any read past its end. Every
 * decoded field is touched. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "events/parse.h"

static volatile uint64_t sink;

static void on_cn(void *u, const osq_cn_event *ev) {
  (void)u;
  sink += (uint64_t)ev->pid + (uint64_t)ev->parent + ev->timestamp_ns +
          (uint64_t)ev->kind + ev->thread;
}

static void on_in(void *u, const osq_in_event *ev) {
  (void)u;
  sink += (uint64_t)ev->wd + ev->mask + ev->cookie;
  for (size_t i = 0; i < ev->nlen; i++)
    sink += (unsigned char)ev->name[i];
}

static void on_audit(void *u, uint16_t type, const char *text, size_t len) {
  (void)u;
  sink += type;
  osq_audit_hdr h;
  size_t body = 0;
  if (osq_audit_header(text, len, &h, &body))
    sink += (uint64_t)h.sec + (uint64_t)h.msec + h.serial;
  static const char *const keys[] = {"syscall", "exe", "a0", "a1", "saddr",
                                     "argc", "cwd", "mode"};
  char v[64];
  /* the index answers as the scan does */
  static osq_audit_fields fs;
  osq_audit_fields_index(&fs, text + body, len - body);
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
    char w[64];
    bool a = osq_audit_field(text + body, len - body, keys[i], i % 2 == 1, v,
                             sizeof v);
    bool b = osq_audit_fields_get(&fs, keys[i], i % 2 == 1, w, sizeof w);
    if (a != b || (a && strcmp(v, w) != 0))
      __builtin_trap();
    if (a)
      sink += strlen(v);
  }
  const char *label = osq_audit_mac_label(type);
  sink += label ? strlen(label) : 0;
  /* process_file_events: a PATH name made absolute against a cwd, then
   * matched against file_paths patterns */
  char cwd[64], name[128], path[96];
  if (osq_audit_field(text + body, len - body, "cwd", true, cwd, sizeof cwd) &&
      osq_audit_field(text + body, len - body, "name", true, name,
                      sizeof name) &&
      osq_path_normalize(cwd, name, path, sizeof path)) {
    static const char *const pats[] = {"/%%", "/tmp/%", "/a/%/b/%%", "/x"};
    for (size_t i = 0; i < sizeof pats / sizeof *pats; i++)
      sink += osq_path_pattern_match(pats[i], path);
  }
}

static void on_kv(void *u, const char *key, size_t klen, const char *val,
                  size_t vlen) {
  (void)u;
  for (size_t i = 0; i < klen; i++)
    sink += (unsigned char)key[i];
  for (size_t i = 0; i < vlen; i++)
    sink += (unsigned char)val[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  size_t n = size - 1;
  /* aligned like the kernel's buffers, sized exactly */
  unsigned char *buf = malloc(n ? n : 1);
  if (buf == NULL)
    return 0;
  memcpy(buf, data + 1, n);
  osq_parse_counts c = {0};
  switch (data[0] % 5) {
  case 0:
    osq_cn_parse(buf, n, on_cn, NULL, &c);
    break;
  case 1:
    osq_in_parse(buf, n, on_in, NULL, &c);
    break;
  case 2:
    osq_audit_parse_nl(buf, n, on_audit, NULL, &c);
    break;
  case 3: {
    char out[512];
    const char *f[6];
    int k = osq_syslog_csv((const char *)buf, n, out, sizeof out, f, 6);
    for (int i = 0; i < k; i++)
      sink += strlen(f[i]);
    break;
  }
  default:
    osq_uevent_parse(buf, n, on_kv, NULL);
    break;
  }
  sink += c.records + c.malformed + c.overruns;
  free(buf);
  return 0;
}
