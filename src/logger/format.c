#include "logger/format.h"

#include "core/utf8.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void osq_calendar_time(int64_t t, char out[64]) {
  time_t tt = (time_t)t;
  struct tm tm;
  char buf[64];
  if (gmtime_r(&tt, &tm) == NULL || asctime_r(&tm, buf) == NULL) {
    snprintf(out, 64, "UTC");
    return;
  }
  size_t n = strnlen(buf, 59);
  if (n > 0 && buf[n - 1] == '\n')
    n--;
  memcpy(out, buf, n);
  memcpy(out + n, " UTC", 5);
}

static char *escape(const char *s, size_t len, size_t *outlen, bool controls) {
  char *out = malloc(len * 4 + 1);
  if (out == NULL)
    return NULL;
  const unsigned char *p = (const unsigned char *)s;
  size_t o = 0;
  for (size_t i = 0; i < len;) {
    unsigned char c = p[i];
    if (c < 0x20 && controls) {
      o += (size_t)sprintf(out + o, "\\x%02X", c);
      i++;
    } else if (c < 0x80) {
      out[o++] = (char)c;
      i++;
    } else {
      size_t n = osq_utf8_seq(p + i, len - i);
      if (n == 0) {
        o += (size_t)sprintf(out + o, "\\x%02X", c);
        i++;
      } else {
        memcpy(out + o, p + i, n);
        o += n;
        i += n;
      }
    }
  }
  out[o] = '\0';
  if (outlen)
    *outlen = o;
  return out;
}

char *osq_log_escape(const char *s, size_t len, size_t *outlen) {
  return escape(s, len, outlen, true);
}

char *osq_log_escape_invalid_utf8(const char *s, size_t len, size_t *outlen) {
  return escape(s, len, outlen, false);
}

void osq_log_double_text(double d, char *buf, size_t cap) {
  if (!isfinite(d)) {
    snprintf(buf, cap, "%s", isnan(d) ? "nan" : (d > 0 ? "inf" : "-inf"));
    return;
  }
  snprintf(buf, cap, "%.15g", d);
  if (strchr(buf, '.') == NULL) {
    size_t n = strlen(buf);
    if (n + 3 <= cap)
      memcpy(buf + n, ".0", 3);
  }
}

/* A row with numbers as strings (numerics off) or as they are. */
static json_t *row_out(const json_t *row, bool numerics) {
  if (numerics)
    return json_deep_copy(row);
  json_t *o = json_object();
  if (o == NULL)
    return NULL;
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)row, k, v) {
    char buf[64];
    json_t *nv;
    if (json_is_integer(v)) {
      snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
      nv = json_string(buf);
    } else if (json_is_real(v)) {
      osq_log_double_text(json_real_value(v), buf, sizeof buf);
      nv = json_string(buf);
    } else {
      nv = json_incref(v);
    }
    if (nv == NULL || json_object_set_new(o, k, nv) != 0) {
      json_decref(o);
      return NULL;
    }
  }
  return o;
}

static json_t *rows_out(const json_t *rows, bool numerics) {
  json_t *a = json_array();
  size_t i;
  json_t *r;
  if (a == NULL)
    return NULL;
  json_array_foreach((json_t *)rows, i, r) {
    if (json_array_append_new(a, row_out(r, numerics)) != 0) {
      json_decref(a);
      return NULL;
    }
  }
  return a;
}

/* name .. numerics, then decorations (nested or top level). */
static int add_common(json_t *o, const osq_log_meta *m) {
  char cal[64];
  osq_calendar_time(m->unix_time, cal);
  int rc = 0;
  rc |= json_object_set_new(o, "name", json_string(m->name ? m->name : ""));
  rc |= json_object_set_new(o, "hostIdentifier",
                            json_string(m->host ? m->host : ""));
  rc |= json_object_set_new(o, "calendarTime", json_string(cal));
  rc |= json_object_set_new(o, "unixTime", json_integer(m->unix_time));
  rc |= json_object_set_new(o, "epoch", json_integer((json_int_t)m->epoch));
  rc |= json_object_set_new(o, "counter",
                            json_integer((json_int_t)m->counter));
  rc |= json_object_set_new(o, "numerics", json_boolean(m->numerics));
  if (m->decorations && json_object_size(m->decorations) > 0) {
    if (m->decorations_top_level)
      rc |= json_object_update(o, (json_t *)m->decorations);
    else
      rc |= json_object_set_new(o, "decorations",
                                json_deep_copy(m->decorations));
  }
  return rc ? -1 : 0;
}

static char *finish(json_t *o, int rc) {
  char *s = NULL;
  if (rc == 0)
    s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(o);
  return s;
}

char *osq_log_event_line(const osq_log_meta *m, const json_t *row,
                         const char *action) {
  json_t *o = json_object();
  if (o == NULL)
    return NULL;
  int rc = add_common(o, m);
  rc |= json_object_set_new(o, "columns", row_out(row, m->numerics));
  rc |= json_object_set_new(o, "action", json_string(action));
  return finish(o, rc);
}

char *osq_log_batch_line(const osq_log_meta *m, const json_t *removed,
                         const json_t *added) {
  json_t *o = json_object(), *d = json_object();
  if (o == NULL || d == NULL) {
    json_decref(o);
    json_decref(d);
    return NULL;
  }
  int rc = json_object_set_new(d, "removed", rows_out(removed, m->numerics));
  rc |= json_object_set_new(d, "added", rows_out(added, m->numerics));
  rc |= json_object_set_new(o, "diffResults", d);
  rc |= add_common(o, m);
  return finish(o, rc);
}

char *osq_log_snapshot_line(const osq_log_meta *m, const json_t *rows) {
  json_t *o = json_object();
  if (o == NULL)
    return NULL;
  int rc = json_object_set_new(o, "snapshot", rows_out(rows, m->numerics));
  rc |= json_object_set_new(o, "action", json_string("snapshot"));
  rc |= add_common(o, m);
  return finish(o, rc);
}

json_t *osq_log_status_record(const osq_status_line *st, const char *host) {
  char cal[64];
  osq_calendar_time(st->unix_time, cal);
  size_t ml = strlen(st->message ? st->message : "");
  char *msg = osq_log_escape_invalid_utf8(st->message ? st->message : "", ml,
                                          NULL);
  json_t *o = json_pack("{s:i,s:s,s:i,s:s,s:s,s:s,s:I}", "s",
                        (int)st->severity, "f", st->file ? st->file : "", "i",
                        st->line, "m", msg ? msg : "", "h", host ? host : "",
                        "c", cal, "u", (json_int_t)st->unix_time);
  free(msg);
  return o;
}

void osq_log_status_text(const osq_status_line *st, long usec, long tid,
                         char *buf, size_t cap) {
  time_t tt = (time_t)st->unix_time;
  struct tm tm;
  localtime_r(&tt, &tm);
  snprintf(buf, cap, "%c%02d%02d %02d:%02d:%02d.%06ld %5ld %s:%d] %s",
           "IWEF"[st->severity & 3], tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
           tm.tm_min, tm.tm_sec, usec, tid, st->file ? st->file : "",
           st->line, st->message ? st->message : "");
}
