#include "flags.h"
#include "identity.h"

#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern const osq_flag_def osq_builtin_flags[OSQ_FLAG_COUNT];

#define OSQ_FLAGS_MAX 512
#define OSQ_FLAGFILE_MAX_DEPTH 8
#define OSQ_FLAGFILE_MAX_BYTES (1u << 20)
#define OSQ_FLAGFILE_MAX_FILES 64 /* read under one top-level flagfile */

struct flag {
  const osq_flag_def *def;
  const char *dflt;  /* may differ from def->default_value per personality */
  const char *value; /* never freed while running: see retire() */
  bool set;
  bool warned; /* named in the not-implemented warning */
};

/* Legacy names osquery still accepts. */
static const struct {
  const char *alias, *target;
} aliases[] = {
    {"config_tls_refresh", "config_refresh"},
    {"config_tls_accelerated_refresh", "config_accelerated_refresh"},
    {"db_path", "database_path"},
    {"osquery_log_dir", "logger_path"},
    {"log_numerics_as_numbers", "logger_numerics"},
    {"socket", "extensions_socket"},
    {"timeout", "extensions_timeout"},
    {"interval", "extensions_interval"},
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct flag flags[OSQ_FLAGS_MAX];
static size_t nflags;
/* Where each built-in flag sits in flags[] (which define() re-sorts). */
static size_t slot_of[OSQ_FLAG_COUNT];
static osq_personality personality;
/* The flagfile the command line named last, or the default one read. */
static char flagfile_used[4096];
/* Replaced values stay allocated so readers never see freed memory; a
 * process sets few flags, so this stays small. */
static char **retired;
static size_t nretired, capretired;

static void retire(const char *v) {
  if (v == NULL)
    return;
  if (nretired == capretired) {
    size_t cap = capretired ? capretired * 2 : 32;
    char **r = realloc(retired, cap * sizeof *r);
    if (r == NULL)
      return; /* leak rather than free a value a reader may hold */
    retired = r;
    capretired = cap;
  }
  retired[nretired++] = (char *)v;
}

static int cmp_flag(const void *a, const void *b) {
  return strcmp(((const struct flag *)a)->def->name,
                ((const struct flag *)b)->def->name);
}

static const char *resolve_alias(const char *name) {
  for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
    if (strcmp(name, aliases[i].alias) == 0)
      return aliases[i].target;
  return name;
}

static struct flag *find(const char *name) {
  name = resolve_alias(name);
  size_t lo = 0, hi = nflags;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = strcmp(flags[mid].def->name, name);
    if (c == 0)
      return &flags[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

void osq_flags_define(const osq_flag_def *defs, size_t n) {
  pthread_mutex_lock(&lock);
  /* Append what is new (find() only sees the sorted entries), then sort
   * once: sorting per flag made start-up quadratic. */
  size_t total = nflags;
  for (size_t i = 0; i < n && total < OSQ_FLAGS_MAX; i++) {
    if (find(defs[i].name))
      continue;
    flags[total++] = (struct flag){&defs[i], defs[i].default_value,
                                   defs[i].default_value, false, false};
  }
  qsort(flags, total, sizeof flags[0], cmp_flag);
  size_t kept = 0;
  for (size_t i = 0; i < total; i++)
    if (kept == 0 || strcmp(flags[kept - 1].def->name, flags[i].def->name))
      flags[kept++] = flags[i];
  nflags = kept;
  for (size_t i = 0; i < nflags; i++) {
    const osq_flag_def *d = flags[i].def;
    if (d >= osq_builtin_flags && d < osq_builtin_flags + OSQ_FLAG_COUNT)
      slot_of[d - osq_builtin_flags] = i;
  }
  pthread_mutex_unlock(&lock);
}

static bool owned(const struct flag *f, const char *v) {
  return v != NULL && v != f->def->default_value;
}

void osq_flags_shutdown(void) {
  pthread_mutex_lock(&lock);
  for (size_t i = 0; i < nflags; i++) {
    if (owned(&flags[i], flags[i].value) && flags[i].value != flags[i].dflt)
      free((char *)flags[i].value);
    if (owned(&flags[i], flags[i].dflt))
      free((char *)flags[i].dflt);
  }
  nflags = 0;
  for (size_t i = 0; i < nretired; i++)
    free(retired[i]);
  free(retired);
  retired = NULL;
  nretired = capretired = 0;
  pthread_mutex_unlock(&lock);
}

void osq_flags_init(osq_personality p) {
  osq_flags_shutdown();
  personality = p;
  osq_flags_define(osq_builtin_flags, OSQ_FLAG_COUNT);
  if (p == OSQ_PERSONALITY_SHELL) {
    /* The shell's own defaults (docs/compat.md §5.1). Its socket path
     * depends on $HOME and is chosen by the shell itself. */
    OSQ_FLAG_SET_DEFAULT(disable_events, "true");
    OSQ_FLAG_SET_DEFAULT(hash_delay, "0");
  }
}

osq_personality osq_flags_personality(void) { return personality; }

const char *osq_flags_flagfile(void) { return flagfile_used; }

const char *osq_flag_type_name(osq_flag_type t) {
  static const char *const n[] = {"bool",   "int32",  "int64", "uint32",
                                  "uint64", "double", "string"};
  return (unsigned)t < 7 ? n[t] : "string";
}

static bool parse_bool(const char *v, bool *out) {
  static const char *const yes[] = {"true", "1", "yes", "y", "t"};
  static const char *const no[] = {"false", "0", "no", "n", "f"};
  for (size_t i = 0; i < 5; i++) {
    if (strcasecmp(v, yes[i]) == 0)
      return *out = true, true;
    if (strcasecmp(v, no[i]) == 0)
      return *out = false, true;
  }
  return false;
}

/* Normalise a value to the form osq_flag_str reports (bools as
 * true/false). NULL if the value is not of the flag's type. */
static char *normalise(const osq_flag_def *d, const char *v) {
  char *end;
  errno = 0;
  switch (d->type) {
  case OSQ_FT_BOOL: {
    bool b;
    return parse_bool(v, &b) ? strdup(b ? "true" : "false") : NULL;
  }
  case OSQ_FT_INT32:
  case OSQ_FT_INT64: {
    long long x = strtoll(v, &end, 10);
    if (*v == '\0' || *end != '\0' || errno)
      return NULL;
    if (d->type == OSQ_FT_INT32 && (x < INT32_MIN || x > INT32_MAX))
      return NULL;
    break;
  }
  case OSQ_FT_UINT32:
  case OSQ_FT_UINT64: {
    if (strchr(v, '-'))
      return NULL;
    unsigned long long x = strtoull(v, &end, 10);
    if (*v == '\0' || *end != '\0' || errno)
      return NULL;
    if (d->type == OSQ_FT_UINT32 && x > UINT32_MAX)
      return NULL;
    break;
  }
  case OSQ_FT_DOUBLE:
    strtod(v, &end);
    if (*v == '\0' || *end != '\0' || errno)
      return NULL;
    break;
  case OSQ_FT_STRING:
    break;
  }
  return strdup(v);
}

/* The slot of a built-in flag; the caller holds the lock. */
static struct flag *at(osq_flag_id id) {
  return (unsigned)id < OSQ_FLAG_COUNT && slot_of[id] < nflags
             ? &flags[slot_of[id]]
             : NULL;
}

const char *osq_flag_name(osq_flag_id id) {
  return (unsigned)id < OSQ_FLAG_COUNT ? osq_builtin_flags[id].name : "";
}

/* Set f from text; the caller holds the lock, which this releases. */
static int set_locked(struct flag *f, const char *value, char *err,
                      size_t errlen) {
  char *v = normalise(f->def, value);
  if (v == NULL) {
    pthread_mutex_unlock(&lock);
    snprintf(err, errlen, "illegal value '%s' specified for %s flag '%s'",
             value, osq_flag_type_name(f->def->type), f->def->name);
    return -1;
  }
  if (owned(f, f->value) && f->value != f->dflt)
    retire(f->value);
  f->value = v;
  f->set = true;
  pthread_mutex_unlock(&lock);
  return 0;
}

int osq_flag_set(const char *name, const char *value, char *err,
                 size_t errlen) {
  pthread_mutex_lock(&lock);
  struct flag *f = find(name);
  if (f == NULL) {
    pthread_mutex_unlock(&lock);
    snprintf(err, errlen, "unknown flag '%s'", name);
    return -1;
  }
  return set_locked(f, value, err, errlen);
}

int osq_flag_set_at(osq_flag_id id, const char *value, char *err,
                    size_t errlen) {
  pthread_mutex_lock(&lock);
  struct flag *f = at(id);
  if (f == NULL) {
    pthread_mutex_unlock(&lock);
    snprintf(err, errlen, "flags are not initialised");
    return -1;
  }
  return set_locked(f, value, err, errlen);
}

/* The caller holds the lock. */
static void set_default_locked(struct flag *f, const char *value) {
  if (f && !f->set) {
    char *v = normalise(f->def, value);
    if (v) {
      retire(owned(f, f->dflt) ? f->dflt : NULL);
      f->dflt = v;
      f->value = v;
    }
  }
}

void osq_flag_set_default_by_name(const char *name, const char *value) {
  pthread_mutex_lock(&lock);
  set_default_locked(find(name), value);
  pthread_mutex_unlock(&lock);
}

void osq_flag_set_default_at(osq_flag_id id, const char *value) {
  pthread_mutex_lock(&lock);
  set_default_locked(at(id), value);
  pthread_mutex_unlock(&lock);
}

bool osq_flag_exists(const char *name) {
  pthread_mutex_lock(&lock);
  bool ok = find(name) != NULL;
  pthread_mutex_unlock(&lock);
  return ok;
}

/* Readers: a built-in flag by its id, or any flag by its name, through
 * the same conversions. */
static const char *str_of(struct flag *(*lookup)(const void *),
                          const void *key) {
  pthread_mutex_lock(&lock);
  struct flag *f = lookup(key);
  const char *v = f ? f->value : "";
  pthread_mutex_unlock(&lock);
  return v;
}

static bool default_of(struct flag *(*lookup)(const void *), const void *key) {
  pthread_mutex_lock(&lock);
  struct flag *f = lookup(key);
  bool d = f == NULL || strcmp(f->value, f->dflt) == 0;
  pthread_mutex_unlock(&lock);
  return d;
}

static bool set_of(struct flag *(*lookup)(const void *), const void *key) {
  pthread_mutex_lock(&lock);
  struct flag *f = lookup(key);
  bool s = f && f->set;
  pthread_mutex_unlock(&lock);
  return s;
}

static struct flag *by_name(const void *name) { return find(name); }
static struct flag *by_id(const void *id) {
  return at(*(const osq_flag_id *)id);
}

static bool as_bool(const char *v) {
  bool b = false;
  parse_bool(v, &b);
  return b;
}

const char *osq_flag_str_by_name(const char *name) {
  return str_of(by_name, name);
}
bool osq_flag_bool_by_name(const char *name) {
  return as_bool(osq_flag_str_by_name(name));
}
int64_t osq_flag_int_by_name(const char *name) {
  return strtoll(osq_flag_str_by_name(name), NULL, 10);
}
uint64_t osq_flag_uint_by_name(const char *name) {
  return strtoull(osq_flag_str_by_name(name), NULL, 10);
}
double osq_flag_double_by_name(const char *name) {
  return strtod(osq_flag_str_by_name(name), NULL);
}
bool osq_flag_is_default_by_name(const char *name) {
  return default_of(by_name, name);
}
bool osq_flag_was_set_by_name(const char *name) {
  return set_of(by_name, name);
}

const char *osq_flag_str_at(osq_flag_id id) { return str_of(by_id, &id); }
bool osq_flag_bool_at(osq_flag_id id) { return as_bool(osq_flag_str_at(id)); }
int64_t osq_flag_int_at(osq_flag_id id) {
  return strtoll(osq_flag_str_at(id), NULL, 10);
}
uint64_t osq_flag_uint_at(osq_flag_id id) {
  return strtoull(osq_flag_str_at(id), NULL, 10);
}
double osq_flag_double_at(osq_flag_id id) {
  return strtod(osq_flag_str_at(id), NULL);
}
bool osq_flag_is_default_at(osq_flag_id id) { return default_of(by_id, &id); }
bool osq_flag_was_set_at(osq_flag_id id) { return set_of(by_id, &id); }

size_t osq_flags_list(osq_flag_info **out) {
  pthread_mutex_lock(&lock);
  osq_flag_info *list = calloc(nflags ? nflags : 1, sizeof *list);
  size_t n = 0;
  for (size_t i = 0; list && i < nflags; i++) {
    const struct flag *f = &flags[i];
    list[n++] = (osq_flag_info){f->def->name, osq_flag_type_name(f->def->type),
                                f->def->description, f->dflt, f->value,
                                f->def->kind, f->def->unimplemented};
  }
  pthread_mutex_unlock(&lock);
  *out = list;
  return n;
}

/* ---- parsing ------------------------------------------------------------ */

static int load_file(const char *path, const char *argv0, FILE *err,
                     int depth);

/* Apply one "--name[=value]" from a flagfile: mistakes are warnings. */
static void flagfile_entry(const char *line, const char *argv0, FILE *err,
                           int depth, const char *path, int lineno) {
  const char *p = line + (line[1] == '-' ? 2 : 1);
  const char *eq = strchr(p, '=');
  char name[128];
  size_t nlen = eq ? (size_t)(eq - p) : strlen(p);
  if (nlen == 0 || nlen >= sizeof name) {
    fprintf(err, "W flagfile %s:%d: ignoring malformed line '%s'\n", path,
            lineno, line);
    return;
  }
  memcpy(name, p, nlen);
  name[nlen] = '\0';
  char msg[256];
  if (strcmp(name, "flagfile") == 0 && eq) {
    char *files = strdup(eq + 1);
    for (char *save = NULL, *f = strtok_r(files, ",", &save); f;
         f = strtok_r(NULL, ",", &save))
      if (load_file(f, argv0, err, depth + 1) != 0)
        fprintf(err, "W flagfile %s:%d: cannot read nested flagfile %s\n",
                path, lineno, f);
    free(files);
    return;
  }
  struct flag *f;
  pthread_mutex_lock(&lock);
  f = find(name);
  bool is_bool = f && f->def->type == OSQ_FT_BOOL;
  pthread_mutex_unlock(&lock);
  if (f == NULL && strncmp(name, "no", 2) == 0 && eq == NULL) {
    pthread_mutex_lock(&lock);
    struct flag *neg = find(name + 2);
    bool neg_bool = neg && neg->def->type == OSQ_FT_BOOL;
    pthread_mutex_unlock(&lock);
    if (neg_bool) {
      osq_flag_set(name + 2, "false", msg, sizeof msg);
      return;
    }
  }
  if (f == NULL && strpbrk(name, " \t")) {
    fprintf(err,
            "W flagfile %s:%d: ignoring '%s': a flagfile needs --name=value\n",
            path, lineno, line);
    return;
  }
  if (f == NULL) {
    fprintf(err, "W flagfile %s:%d: ignoring unknown flag '%s'\n", path,
            lineno, name);
    return;
  }
  if (eq == NULL && !is_bool) {
    fprintf(err,
            "W flagfile %s:%d: ignoring '--%s' without a value (a flagfile "
            "needs --%s=value)\n",
            path, lineno, name, name);
    return;
  }
  if (osq_flag_set(name, eq ? eq + 1 : "true", msg, sizeof msg) != 0)
    fprintf(err, "W flagfile %s:%d: ignoring %s\n", path, lineno, msg);
}

static int load_file(const char *path, const char *argv0, FILE *err,
                     int depth) {
  /* Nested --flagfile lists may fan out (a file naming itself k times
   * reads k^depth files): count every file read under one top-level load. */
  static _Thread_local unsigned files_read;
  if (depth == 0)
    files_read = 0;
  if (depth > OSQ_FLAGFILE_MAX_DEPTH) {
    fprintf(err, "W flagfile %s: nested deeper than %d files, skipped\n",
            path, OSQ_FLAGFILE_MAX_DEPTH);
    return 0;
  }
  if (++files_read > OSQ_FLAGFILE_MAX_FILES) {
    fprintf(err, "W flagfile %s: more than %d flagfiles in all, skipped\n",
            path, OSQ_FLAGFILE_MAX_FILES);
    return 0;
  }
  FILE *f = fopen(path, "re");
  if (f == NULL)
    return -1;
  /* Read no more than the bound: a device or a pipe named as a flagfile
   * (e.g. /dev/zero) may never end a line nor the file. */
  char *text = malloc(OSQ_FLAGFILE_MAX_BYTES + 2);
  if (text == NULL) {
    fclose(f);
    errno = ENOMEM;
    return -1;
  }
  size_t len = fread(text, 1, OSQ_FLAGFILE_MAX_BYTES + 1, f);
  fclose(f);
  text[len] = '\0';
  size_t total = 0, pos = 0;
  int lineno = 0;
  bool applies = true; /* gflags: a glob line limits the flags after it */
  const char *base = argv0 ? strrchr(argv0, '/') : NULL;
  base = base ? base + 1 : argv0;
  while (pos < len) {
    char *line = text + pos;
    char *nl = memchr(line, '\n', len - pos);
    size_t n = nl ? (size_t)(nl - line) : len - pos;
    pos += n + (nl ? 1 : 0);
    lineno++;
    total += n + (nl ? 1 : 0);
    if (total > OSQ_FLAGFILE_MAX_BYTES) {
      fprintf(err, "W flagfile %s: larger than %u bytes, rest ignored\n",
              path, OSQ_FLAGFILE_MAX_BYTES);
      break;
    }
    line[n] = '\0';
    while (n > 0 && line[n - 1] == '\r')
      line[--n] = '\0';
    char *p = line;
    while (*p == ' ' || *p == '\t')
      p++;
    if (*p == '\0' || *p == '#')
      continue;
    if (*p != '-') {
      applies = false;
      char *save = NULL;
      for (char *g = strtok_r(p, " \t", &save); g && !applies;
           g = strtok_r(NULL, " \t", &save))
        applies = argv0 && (fnmatch(g, argv0, 0) == 0 ||
                            (base && fnmatch(g, base, 0) == 0));
      continue;
    }
    if (applies)
      flagfile_entry(p, argv0, err, depth, path, lineno);
  }
  free(text);
  return 0;
}

int osq_flags_load_file(const char *path, const char *argv0, FILE *err) {
  return load_file(path, argv0, err, 0);
}

static const char *progname_of(const char *argv0) {
  const char *b = argv0 ? strrchr(argv0, '/') : NULL;
  return b ? b + 1 : (argv0 ? argv0 : "osq");
}

int osq_flags_parse(int *argc, char **argv, const char *default_flagfile,
                    FILE *out, FILE *err) {
  const char *argv0 = *argc > 0 ? argv[0] : NULL;
  bool cli_flagfile = false;
  for (int i = 1; i < *argc; i++)
    if (strncmp(argv[i], "--flagfile", 10) == 0 ||
        strncmp(argv[i], "-flagfile", 9) == 0)
      cli_flagfile = true;
  flagfile_used[0] = '\0';
  char msg[256];
  if (!cli_flagfile && default_flagfile &&
      access(default_flagfile, R_OK) == 0) {
    /* As gflags does, --flagfile then names the file that was read. */
    OSQ_FLAG_SET(flagfile, default_flagfile, msg, sizeof msg);
    if (osq_flags_load_file(default_flagfile, argv0, err) == 0)
      snprintf(flagfile_used, sizeof flagfile_used, "%s", default_flagfile);
  }

  int kept = 1;
  bool only_positional = false;
  for (int i = 1; i < *argc; i++) {
    char *a = argv[i];
    if (only_positional || a[0] != '-' || a[1] == '\0') {
      argv[kept++] = a;
      continue;
    }
    if (strcmp(a, "--") == 0) {
      only_positional = true;
      continue;
    }
    const char *p = a + (a[1] == '-' ? 2 : 1);
    const char *eq = strchr(p, '=');
    char name[128];
    size_t nlen = eq ? (size_t)(eq - p) : strlen(p);
    if (nlen == 0 || nlen >= sizeof name) {
      fprintf(err, "ERROR: unknown command line flag '%s'\n", p);
      return 1;
    }
    memcpy(name, p, nlen);
    name[nlen] = '\0';
    if (strcmp(name, "help") == 0 || strcmp(name, "h") == 0) {
      osq_flags_usage(out, progname_of(argv0));
      return 0;
    }
    if (strcmp(name, "version") == 0) {
      fprintf(out, "%s version %s\n", progname_of(argv0),
              osq_identity_version());
      return 0;
    }
    const char *value = eq ? eq + 1 : NULL;
    if (strcmp(name, "flagfile") == 0) {
      if (value == NULL) {
        if (i + 1 >= *argc) {
          fprintf(err, "ERROR: flag '--flagfile' is missing its argument\n");
          return 1;
        }
        value = argv[++i];
      }
      OSQ_FLAG_SET(flagfile, value, msg, sizeof msg);
      char *files = strdup(value);
      int rc = 0;
      for (char *save = NULL, *f = strtok_r(files, ",", &save); f && !rc;
           f = strtok_r(NULL, ",", &save)) {
        if (osq_flags_load_file(f, argv0, err) != 0) {
          fprintf(err, "ERROR: cannot read flagfile '%s': %s\n", f,
                  strerror(errno));
          rc = 1;
        }
      }
      free(files);
      if (rc)
        return rc;
      snprintf(flagfile_used, sizeof flagfile_used, "%s", value);
      continue;
    }
    pthread_mutex_lock(&lock);
    struct flag *f = find(name);
    bool negated = false;
    if (f == NULL && value == NULL && strncmp(name, "no", 2) == 0) {
      f = find(name + 2);
      negated = f && f->def->type == OSQ_FT_BOOL;
      if (!negated)
        f = NULL;
    }
    osq_flag_type type = f ? f->def->type : OSQ_FT_STRING;
    pthread_mutex_unlock(&lock);
    if (f == NULL) {
      fprintf(err, "ERROR: unknown command line flag '%s'\n", name);
      return 1;
    }
    if (negated) {
      value = "false";
      memmove(name, name + 2, strlen(name + 2) + 1);
    } else if (value == NULL) {
      if (type == OSQ_FT_BOOL) {
        value = "true";
      } else if (i + 1 < *argc) {
        value = argv[++i];
      } else {
        fprintf(err, "ERROR: flag '%s' is missing its argument\n", name);
        return 1;
      }
    }
    if (osq_flag_set(name, value, msg, sizeof msg) != 0) {
      fprintf(err, "ERROR: %s\n", msg);
      return 1;
    }
  }
  argv[kept] = NULL;
  *argc = kept;
  osq_flags_warn_unimplemented(err);
  return OSQ_FLAGS_CONTINUE;
}

size_t osq_flags_take_unimplemented(char *buf, size_t len) {
  size_t used = 0, named = 0;
  if (len)
    buf[0] = '\0';
  pthread_mutex_lock(&lock);
  for (size_t i = 0; i < nflags; i++) {
    struct flag *f = &flags[i];
    if (!f->set || !f->def->unimplemented || f->warned)
      continue;
    f->warned = true;
    named++;
    if (len == 0)
      continue;
    int n = snprintf(buf + used, len - used, "%s--%s", named > 1 ? ", " : "",
                     f->def->name);
    if (n > 0)
      used = used + (size_t)n < len ? used + (size_t)n : len - 1;
  }
  pthread_mutex_unlock(&lock);
  return named;
}

void osq_flags_warn_unimplemented(FILE *err) {
  char names[2048];
  size_t n = osq_flags_take_unimplemented(names, sizeof names);
  if (n)
    fprintf(err, "W %s %s\n",
            n > 1 ? OSQ_FLAGS_UNIMPLEMENTED_MANY : OSQ_FLAGS_UNIMPLEMENTED_ONE,
            names);
}

static void usage_section(FILE *out, const char *title, unsigned want,
                          unsigned mask) {
  if (*title)
    fprintf(out, "\n%s\n", title);
  for (size_t i = 0; i < nflags; i++) {
    const osq_flag_def *d = flags[i].def;
    if ((d->kind & OSQ_FK_HIDDEN) || d->unimplemented ||
        (d->kind & mask) != want)
      continue;
    if (strlen(d->name) <= 2 && want != OSQ_FK_SHELL)
      continue;
    char left[64];
    snprintf(left, sizeof left, "--%s%s", d->name,
             d->type == OSQ_FT_BOOL ? "" : " VALUE");
    fprintf(out, "    %-34s %s\n", left, d->description);
  }
}

void osq_flags_usage(FILE *out, const char *progname) {
  bool shell = personality == OSQ_PERSONALITY_SHELL;
  fprintf(out, "osq %s, your OS as a high-performance relational database\n",
          OSQ_VERSION);
  fprintf(out, "Usage: %s [OPTION]...%s\n", progname,
          shell ? " [SQL STATEMENT]" : "");
  pthread_mutex_lock(&lock);
  const unsigned mask = OSQ_FK_CLI | OSQ_FK_SHELL | OSQ_FK_EXTENSION;
  fprintf(out, "\nosq command line flags:\n");
  fprintf(out, "    %-34s %s\n", "--flagfile PATH",
          "Line-delimited file of additional flags");
  usage_section(out, "", OSQ_FK_CLI, mask);
  usage_section(out, "osq configuration options (set by config or CLI flags):",
                0, mask);
  if (shell)
    usage_section(out, "osq shell-only CLI flags:", OSQ_FK_SHELL, mask);
  size_t accepted = 0;
  for (size_t i = 0; i < nflags; i++)
    accepted += flags[i].def->unimplemented;
  pthread_mutex_unlock(&lock);
  if (accepted)
    fprintf(out,
            "\n%zu more osquery flags are accepted but not implemented "
            "(SELECT name FROM osquery_flags WHERE osq_implemented = 0).\n",
            accepted);
}
