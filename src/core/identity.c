#include "core/identity.h"

#include <string.h>

#include "core/flags.h"

/* Default paths that differ between the two sets of names. */
struct path_default {
  const char *flag;
  const char *osq;
  const char *osquery;
};

static const struct path_default path_defaults[] = {
    {"config_path", "/etc/osq/osq.conf", "/etc/osquery/osquery.conf"},
    {"database_path", "/var/osq/osq.db", "/var/osquery/osquery.db"},
    /* osquery on Linux keeps its pidfile in /var/run (its docs name the
     * macOS default, /var/osquery/osqueryd.pidfile) */
    {"pidfile", "/var/osq/osqd.pidfile", "/var/run/osqueryd.pidfile"},
    {"logger_path", "/var/log/osq/", "/var/log/osquery/"},
    {"extensions_socket", "/var/osq/osq.em", "/var/osquery/osquery.em"},
    {"extensions_autoload", "/etc/osq/extensions.load",
     "/etc/osquery/extensions.load"},
};

static bool osquery_names;

static const char *basename_of(const char *path) {
  const char *slash = path ? strrchr(path, '/') : NULL;
  return slash ? slash + 1 : (path ? path : "");
}

void osq_identity_init(const char *argv0) {
  osquery_names = strncmp(basename_of(argv0), "osquery", 7) == 0;
  for (size_t i = 0; i < sizeof path_defaults / sizeof path_defaults[0]; i++)
    osq_flag_set_default_by_name(path_defaults[i].flag,
                         osquery_names ? path_defaults[i].osquery
                                       : path_defaults[i].osq);
}

bool osq_identity_is_osquery(void) { return osquery_names; }

const char *osq_identity_product(void) {
  return osquery_names ? "osquery" : "osq";
}

const char *osq_identity_version(void) {
  return osquery_names ? OSQ_SDK_VERSION : OSQ_VERSION;
}

const char *osq_identity_daemon_flagfile(void) {
  return osquery_names ? "/etc/osquery/osquery.flags" : "/etc/osq/osq.flags";
}

const char *osq_identity_shell_flagfile(void) {
  return osquery_names ? "/etc/osquery/osquery.flags.default"
                       : "/etc/osq/osq.flags.default";
}

const char *osq_identity_home_name(void) {
  return osquery_names ? ".osquery" : ".osq";
}

const char *osq_identity_daemon_name(void) {
  return osquery_names ? "osqueryd" : "osqd";
}
