/* libFuzzer target: the decoders of what the kernel sends the event
 * publishers (src/events/parse.c). Byte 0 picks the decoder (process
 * connector datagram or inotify read); the rest is the record buffer,
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
  if (data[0] & 1)
    osq_in_parse(buf, n, on_in, NULL, &c);
  else
    osq_cn_parse(buf, n, on_cn, NULL, &c);
  sink += c.records + c.malformed + c.overruns;
  free(buf);
  return 0;
}
