/* Flags with osquery's names, defaults and gflags semantics.
 *
 * Every built-in flag is declared once, in flag_list.def. Code reads a
 * flag through the typed readers below, which name the flag as an
 * identifier: a misspelt or undeclared flag, or a flag read as the wrong
 * type, does not compile. Input that names flags at run time (command
 * line, flagfile, config "options", an extension's own flags) goes through
 * the *_by_name functions instead.
 *
 * Values are kept as strings; readers convert. A value string returned by
 * a string reader stays valid for the life of the process even if the flag
 * is set again, so threads may read flags without copying.
 *
 * Threads: init/define/parse/shutdown before other threads; rest any thread. */
#ifndef OSQ_FLAGS_H
#define OSQ_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum osq_flag_type {
  OSQ_FT_BOOL,
  OSQ_FT_INT32,
  OSQ_FT_INT64,
  OSQ_FT_UINT32,
  OSQ_FT_UINT64,
  OSQ_FT_DOUBLE,
  OSQ_FT_STRING,
} osq_flag_type;

/* osquery's flag kinds */
enum {
  OSQ_FK_FLAG = 0,      /* CLI, flagfile and config "options" */
  OSQ_FK_CLI = 1,       /* start-up only: ignored (with a warning) in config */
  OSQ_FK_SHELL = 2,     /* shell only */
  OSQ_FK_EXTENSION = 4, /* extension binaries only */
  OSQ_FK_HIDDEN = 8,    /* works but is not in --help */
};

typedef struct osq_flag_def {
  const char *name;
  osq_flag_type type;
  const char *default_value;
  unsigned kind;
  const char *description;
  /* An osquery flag osq accepts but does not act on (zero for flags that
   * work, so extensions' own definitions need not mention it). */
  bool unimplemented;
} osq_flag_def;

/* The identifiers of the built-in flags, in declaration order. */
typedef enum osq_flag_id {
#define OSQ_FLAG(name, type, dflt, kind, implemented, desc) OSQ_FID_##name,
#include "flag_list.def"
#undef OSQ_FLAG
  OSQ_FLAG_COUNT
} osq_flag_id;

/* One more name per flag that says its type: OSQ_BOOL_FLAG_verbose exists
 * only because verbose is a bool. The typed readers paste these, so the
 * compiler rejects a flag read as another type ("OSQ_STRING_FLAG_verbose
 * undeclared"). The int and uint readers take either width. */
#define OSQ_FLAG_OF_TYPE_BOOL(n) OSQ_BOOL_FLAG_##n = OSQ_FID_##n,
#define OSQ_FLAG_OF_TYPE_INT32(n) OSQ_INT_FLAG_##n = OSQ_FID_##n,
#define OSQ_FLAG_OF_TYPE_INT64(n) OSQ_INT_FLAG_##n = OSQ_FID_##n,
#define OSQ_FLAG_OF_TYPE_UINT32(n) OSQ_UINT_FLAG_##n = OSQ_FID_##n,
#define OSQ_FLAG_OF_TYPE_UINT64(n) OSQ_UINT_FLAG_##n = OSQ_FID_##n,
#define OSQ_FLAG_OF_TYPE_DOUBLE(n) OSQ_DOUBLE_FLAG_##n = OSQ_FID_##n,
#define OSQ_FLAG_OF_TYPE_STRING(n) OSQ_STRING_FLAG_##n = OSQ_FID_##n,
enum {
#define OSQ_FLAG(name, type, dflt, kind, implemented, desc)                    \
  OSQ_FLAG_OF_TYPE_##type(name)
#include "flag_list.def"
#undef OSQ_FLAG
  OSQ_FLAG_OF_TYPE_END_
};

/* Typed readers and writers of built-in flags: the argument is the flag's
 * name as an identifier, e.g. OSQ_FLAG_BOOL(verbose). */
#define OSQ_FLAG_ID(name) OSQ_FID_##name
#define OSQ_FLAG_BOOL(name) osq_flag_bool_at((osq_flag_id)OSQ_BOOL_FLAG_##name)
#define OSQ_FLAG_STR(name) osq_flag_str_at((osq_flag_id)OSQ_STRING_FLAG_##name)
#define OSQ_FLAG_INT(name) osq_flag_int_at((osq_flag_id)OSQ_INT_FLAG_##name)
#define OSQ_FLAG_UINT(name) osq_flag_uint_at((osq_flag_id)OSQ_UINT_FLAG_##name)
#define OSQ_FLAG_DOUBLE(name)                                                  \
  osq_flag_double_at((osq_flag_id)OSQ_DOUBLE_FLAG_##name)
#define OSQ_FLAG_WAS_SET(name) osq_flag_was_set_at(OSQ_FID_##name)
#define OSQ_FLAG_IS_DEFAULT(name) osq_flag_is_default_at(OSQ_FID_##name)
#define OSQ_FLAG_SET_DEFAULT(name, value)                                      \
  osq_flag_set_default_at(OSQ_FID_##name, value)
#define OSQ_FLAG_SET(name, value, err, errlen)                                 \
  osq_flag_set_at(OSQ_FID_##name, value, err, errlen)

bool osq_flag_bool_at(osq_flag_id id);
const char *osq_flag_str_at(osq_flag_id id);
int64_t osq_flag_int_at(osq_flag_id id);
uint64_t osq_flag_uint_at(osq_flag_id id);
double osq_flag_double_at(osq_flag_id id);
bool osq_flag_was_set_at(osq_flag_id id);
bool osq_flag_is_default_at(osq_flag_id id);
void osq_flag_set_default_at(osq_flag_id id, const char *value);
int osq_flag_set_at(osq_flag_id id, const char *value, char *err,
                    size_t errlen);
const char *osq_flag_name(osq_flag_id id);

typedef enum osq_personality {
  OSQ_PERSONALITY_SHELL,
  OSQ_PERSONALITY_DAEMON,
  OSQ_PERSONALITY_EXTENSION,
} osq_personality;

/* Returned by osq_flags_parse. */
enum {
  OSQ_FLAGS_CONTINUE = -1, /* flags parsed; go on */
  /* >= 0: the process should exit with this code (help, version, error) */
};

/* The built-in table; the personality sets shell/daemon defaults (e.g. the
 * shell's socket path). Call once before any other osq_flag_* call. */
void osq_flags_init(osq_personality personality);
/* Free every value (at exit; no osq_flag_* call may follow but init). */
void osq_flags_shutdown(void);
/* Add flags (e.g. an extension's own) before parsing. defs must outlive
 * the process. */
void osq_flags_define(const osq_flag_def *defs, size_t n);

/* Parse argv: removes the flags and leaves program name + positional
 * arguments in argv and *argc. Reads default_flagfile first if it is readable
 * and no --flagfile is on the command line. Unknown flags on the command
 * line are an error naming them (exit 1); in a flagfile they are skipped
 * with a warning, as gflags does. --help and --version print and return
 * 0. Returns OSQ_FLAGS_CONTINUE or an exit code. */
int osq_flags_parse(int *argc, char **argv, const char *default_flagfile,
                    FILE *out, FILE *err);

/* Apply one flagfile now. Returns 0, or -1 if it cannot be read. */
int osq_flags_load_file(const char *path, const char *argv0, FILE *err);

/* ---- by name: for names known only at run time ---- */

/* Set a flag from text, validating its type. Returns 0, or -1 with a
 * message in err naming the flag and the rule. */
int osq_flag_set(const char *name, const char *value, char *err, size_t errlen);
/* Change the default of a flag not yet set explicitly (personalities). */
void osq_flag_set_default_by_name(const char *name, const char *value);

bool osq_flag_exists(const char *name);
/* "" for an unknown flag. */
const char *osq_flag_str_by_name(const char *name);
bool osq_flag_bool_by_name(const char *name);
int64_t osq_flag_int_by_name(const char *name);
uint64_t osq_flag_uint_by_name(const char *name);
double osq_flag_double_by_name(const char *name);
bool osq_flag_is_default_by_name(const char *name); /* value == default */
/* given on CLI/flagfile/config */
bool osq_flag_was_set_by_name(const char *name);

typedef struct osq_flag_info {
  const char *name;
  const char *type; /* gflags type name: bool, int32, ... */
  const char *description;
  const char *default_value;
  const char *value;
  unsigned kind;
  bool unimplemented;
} osq_flag_info;

/* Snapshot of every flag in name order; free() the array only. */
size_t osq_flags_list(osq_flag_info **out);
const char *osq_flag_type_name(osq_flag_type t);

/* Flags osquery has that osq accepts but does not act on: setting one
 * (CLI, flagfile, config "options") is reported once per process.
 * osq_flags_take_unimplemented writes "--a, --b" for those set since the
 * last call (truncated to len) and returns how many there are;
 * osq_flags_warn_unimplemented prints them as one warning line to err
 * (osq_flags_parse calls it; config "options" report through the status
 * log). */
#define OSQ_FLAGS_UNIMPLEMENTED_ONE                                            \
  "osquery flag accepted but not implemented by osq (no effect):"
#define OSQ_FLAGS_UNIMPLEMENTED_MANY                                           \
  "osquery flags accepted but not implemented by osq (no effect):"
size_t osq_flags_take_unimplemented(char *buf, size_t len);
void osq_flags_warn_unimplemented(FILE *err);

osq_personality osq_flags_personality(void);
/* The flagfile osq_flags_parse read: the last --flagfile value on the
 * command line, else the default flagfile if it was read, else "". */
const char *osq_flags_flagfile(void);
void osq_flags_usage(FILE *out, const char *progname);

#define OSQ_VERSION "0.1.0"
/* The osquery version whose behaviour osq follows: osquery_info.version,
 * the gate for packs' and queries' "version" keys, and the sdk_version
 * sent at registration. osq follows osquery's master of mid-2026; its
 * newest release then was 5.23.1. OSQ_VERSION is osq's own (--version,
 * osquery_info.osq_version). */
#define OSQ_SDK_VERSION "5.23.1"

#endif
