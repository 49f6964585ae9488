/* The flags a core passes to an extension. osquery starts extensions with
 * `[--verbose] --socket P --timeout T --interval I` and other SDKs get
 * other flags from their users, so unknown flags are tolerated: an
 * extension that exits on them cannot be autoloaded (protocol.md §4.2). */
#include "sdk.h"

#include "core/flags.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { F_SOCKET, F_TIMEOUT, F_INTERVAL, F_VERBOSE, F_HELP };

static const struct {
  const char *name;
  int id;
} known[] = {
    {"socket", F_SOCKET},     {"extensions_socket", F_SOCKET},
    {"timeout", F_TIMEOUT},   {"extensions_timeout", F_TIMEOUT},
    {"interval", F_INTERVAL}, {"extensions_interval", F_INTERVAL},
    {"verbose", F_VERBOSE},   {"help", F_HELP},
};

static int seconds(const char *flag, const char *v, double *out, char *err,
                   size_t errlen) {
  char *end;
  double d = strtod(v, &end);
  if (end == v || *end != '\0' || !isfinite(d) || d < 0 ||
      d > OSQ_SDK_MAX_SECONDS) {
    snprintf(err, errlen,
             "flag --%s: \"%.64s\" is not a number of seconds between 0 and "
             "%.0f",
             flag, v, OSQ_SDK_MAX_SECONDS);
    return OSQ_EINVAL;
  }
  *out = d;
  return OSQ_OK;
}

static int boolean(const char *v, bool *out) {
  static const char *const yes[] = {"true", "1", "yes", "t", "y"};
  static const char *const no[] = {"false", "0", "no", "f", "n"};
  for (size_t i = 0; i < 5; i++) {
    if (strcasecmp(v, yes[i]) == 0)
      return *out = true, OSQ_OK;
    if (strcasecmp(v, no[i]) == 0)
      return *out = false, OSQ_OK;
  }
  return OSQ_EINVAL;
}

void osq_sdk_args_free(osq_sdk_args *a) {
  free(a->socket);
  a->socket = NULL;
}

int osq_sdk_args_parse(osq_sdk_args *a, int argc, char **argv,
                       const char *default_socket, char *err, size_t errlen) {
  memset(a, 0, sizeof *a);
  a->timeout = 3;
  a->interval = 3;
  const char *socket = default_socket;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (arg == NULL || arg[0] != '-' || arg[1] == '\0')
      continue; /* positional: not ours */
    const char *name = arg + (arg[1] == '-' ? 2 : 1);
    if (*name == '\0')
      break; /* "--" ends the flags */
    const char *eq = strchr(name, '=');
    size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
    bool negated = false;
    int id = -1;
    for (int pass = 0; pass < 2 && id < 0; pass++) {
      const char *n = name;
      size_t l = nlen;
      if (pass == 1) { /* gflags' --noverbose */
        if (nlen < 2 || strncmp(name, "no", 2) != 0)
          break;
        n += 2;
        l -= 2;
        negated = true;
      }
      for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
        if (strlen(known[k].name) == l && strncmp(known[k].name, n, l) == 0)
          id = known[k].id;
    }
    if (id < 0) {
      /* Another program's flag: tolerated. An osquery flag given as
       * --name=value still applies (e.g. --logger_min_stderr=0). */
      if (eq && nlen < 128) {
        char fname[128], ignored[256];
        memcpy(fname, name, nlen);
        fname[nlen] = '\0';
        if (osq_flag_exists(fname))
          osq_flag_set(fname, eq + 1, ignored, sizeof ignored);
      }
      continue;
    }
    if (id == F_VERBOSE || id == F_HELP) {
      bool v = !negated;
      if (eq && !negated && boolean(eq + 1, &v) != OSQ_OK) {
        snprintf(err, errlen, "flag --%.*s: \"%.64s\" is not a boolean",
                 (int)nlen, name, eq + 1);
        return OSQ_EINVAL;
      }
      if (id == F_VERBOSE)
        a->verbose = v;
      else
        a->help = v;
      continue;
    }
    if (negated)
      continue; /* --nosocket means nothing */
    const char *value;
    if (eq) {
      value = eq + 1;
    } else if (i + 1 < argc && argv[i + 1] != NULL) {
      value = argv[++i];
    } else {
      snprintf(err, errlen, "flag --%.*s needs a value", (int)nlen, name);
      return OSQ_EINVAL;
    }
    int rc = OSQ_OK;
    char flag[32];
    snprintf(flag, sizeof flag, "%.*s", (int)nlen, name);
    if (id == F_SOCKET) {
      if (*value == '\0') {
        snprintf(err, errlen, "flag --%s: the socket path is empty", flag);
        return OSQ_EINVAL;
      }
      socket = value;
    } else if (id == F_TIMEOUT) {
      rc = seconds(flag, value, &a->timeout, err, errlen);
    } else {
      rc = seconds(flag, value, &a->interval, err, errlen);
    }
    if (rc != OSQ_OK)
      return rc;
  }
  a->socket = strdup(socket ? socket : "");
  if (a->socket == NULL) {
    snprintf(err, errlen, "out of memory");
    return OSQ_ENOMEM;
  }
  return OSQ_OK;
}
