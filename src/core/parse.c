#include "parse.h"

#include <ctype.h>
#include <osq/plugin.h>
#include <string.h>

static int digit_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'Z')
    return c - 'A' + 10;
  return 99;
}

/* By hand rather than strtoll: the text is not NUL-terminated and may be
 * longer than any stack copy, yet must read exactly as strtoll reads it. */
int osq_parse_i64(const char *s, size_t len, int base, bool whole,
                  int64_t *out) {
  size_t i = 0;
  while (i < len && isspace((unsigned char)s[i]))
    i++;
  bool neg = false;
  if (i < len && (s[i] == '+' || s[i] == '-'))
    neg = s[i++] == '-';
  if ((base == 0 || base == 16) && i + 1 < len && s[i] == '0' &&
      (s[i + 1] == 'x' || s[i + 1] == 'X') && i + 2 < len &&
      digit_value(s[i + 2]) < 16) {
    base = 16;
    i += 2;
  } else if (base == 0) {
    base = i < len && s[i] == '0' ? 8 : 10;
  }
  /* Magnitude up to 2^63 (the most negative value), checked per digit. */
  const uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  uint64_t v = 0;
  bool overflow = false;
  size_t start = i;
  for (; i < len && digit_value(s[i]) < base; i++) {
    unsigned d = (unsigned)digit_value(s[i]);
    if (v > (limit - d) / (unsigned)base)
      overflow = true;
    else
      v = v * (unsigned)base + d;
  }
  if (i == start || (whole && i != len))
    return OSQ_EINVAL;
  if (overflow)
    return OSQ_ERANGE;
  *out = neg ? (int64_t)(0 - v) : (int64_t)v;
  return OSQ_OK;
}

bool osq_parse_i64_str(const char *s, int64_t *out) {
  return s != NULL && *s != '\0' &&
         osq_parse_i64(s, strlen(s), 10, true, out) == OSQ_OK;
}
