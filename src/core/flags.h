/* Flags with osquery's names, defaults and gflags semantics.
 *
 * Every flag osq knows is defined in flag_list.c. Values are kept as
 * strings; readers convert. A value string returned by osq_flag_str stays
 * valid for the life of the process even if the flag is set again, so
 * threads may read flags without copying. */
#ifndef OSQ_FLAGS_H
#define OSQ_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum osq_flag_type {
  OSQ_FLAG_BOOL,
  OSQ_FLAG_INT32,
  OSQ_FLAG_INT64,
  OSQ_FLAG_UINT32,
  OSQ_FLAG_UINT64,
  OSQ_FLAG_DOUBLE,
  OSQ_FLAG_STRING,
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
} osq_flag_def;

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

/* Set a flag from text, validating its type. source is used in messages.
 * Returns 0, or -1 with a message in err naming the flag and the rule. */
int osq_flag_set(const char *name, const char *value, char *err,
                 size_t errlen);
/* Change the default of a flag not yet set explicitly (personalities). */
void osq_flag_set_default(const char *name, const char *value);

bool osq_flag_exists(const char *name);
/* "" for an unknown flag. */
const char *osq_flag_str(const char *name);
bool osq_flag_bool(const char *name);
int64_t osq_flag_int(const char *name);
uint64_t osq_flag_uint(const char *name);
double osq_flag_double(const char *name);
bool osq_flag_is_default(const char *name); /* value == default */
bool osq_flag_was_set(const char *name);    /* given on CLI/flagfile/config */

typedef struct osq_flag_info {
  const char *name;
  const char *type; /* gflags type name: bool, int32, ... */
  const char *description;
  const char *default_value;
  const char *value;
  unsigned kind;
} osq_flag_info;

/* Snapshot of every flag in name order; free() the array only. */
size_t osq_flags_list(osq_flag_info **out);
const char *osq_flag_type_name(osq_flag_type t);

osq_personality osq_flags_personality(void);
void osq_flags_usage(FILE *out, const char *progname);

#define OSQ_VERSION "0.1.0"
/* The osquery version whose behaviour osq follows: osquery_info.version,
 * the gate for packs' and queries' "version" keys, and the sdk_version
 * sent at registration. osq follows osquery's master of mid-2026; its
 * newest release then was 5.23.1. OSQ_VERSION is osq's own (--version,
 * osquery_info.osq_version). */
#define OSQ_SDK_VERSION "5.23.1"

#endif
