/* Result formatting for osqi: osquery's output modes (docs/compat.md §5.3).
 *
 * Pure formatting: no SQLite here, so it can be unit-tested. Rows stream
 * straight to the FILE in every mode but pretty, which needs the column
 * widths before the first line and so keeps one statement's rows in a
 * single growable arena until the statement ends.
 *
 * Threads: osqi's main thread only. */
#ifndef OSQ_SHELL_OUTPUT_H
#define OSQ_SHELL_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum shell_mode {
  SHELL_MODE_LINE = 0,
  SHELL_MODE_COLUMN,
  SHELL_MODE_LIST,
  SHELL_MODE_CSV,
  SHELL_MODE_PRETTY,
} shell_mode;

/* osquery keeps --json/--json_pretty apart from the mode: they replace the
 * pretty table only while the mode is pretty. */
typedef enum shell_json {
  SHELL_JSON_OFF = 0,
  SHELL_JSON_COMPACT,
  SHELL_JSON_PRETTY,
} shell_json;

#define SHELL_SEP_MAX 20  /* bytes with the NUL, as osquery's buffers */
#define SHELL_NULL_MAX 20
#define SHELL_WIDTHS_MAX 100

typedef struct shell_out {
  /* settings (changed by flags and meta-commands) */
  FILE *out;
  shell_mode mode;
  shell_json json;
  bool header;
  char separator[SHELL_SEP_MAX];
  char nullvalue[SHELL_NULL_MAX];
  int widths[SHELL_WIDTHS_MAX]; /* .width; 0 = automatic; <0 right-aligns */

  /* per statement */
  size_t ncol;
  char **names;      /* column names (one allocation holds all) */
  size_t *uniq;      /* json/pretty: for each column the last column of the
                        same name (osquery keys rows by name) */
  size_t *order;     /* json: unique columns in name order */
  size_t norder;
  uint64_t rows;     /* rows of this statement */
  int actual[SHELL_WIDTHS_MAX]; /* column mode widths */
  /* pretty arena: per cell a uint32 length (UINT32_MAX = NULL) + bytes */
  unsigned char *arena;
  size_t arena_len, arena_cap;
  size_t *width;     /* pretty widths in UTF-8 characters */

  /* per unit (one exec: json arrays span its statements) */
  uint64_t unit_rows;
  bool unit_open;
  bool oom;
} shell_out;

void shell_out_init(shell_out *o, FILE *out);
void shell_out_free(shell_out *o);

/* A statement's columns. Returns 0, or -1 when out of memory. */
int shell_out_columns(shell_out *o, size_t ncol, const char *const *names);
/* One row: vals[i] == NULL is SQL NULL; lens[i] is the byte length.
 * Returns 0, or -1 on a write error or when out of memory. */
int shell_out_row(shell_out *o, const char *const *vals, const size_t *lens);
/* The statement ended: pretty mode prints its table now. */
void shell_out_stmt_end(shell_out *o);
/* Start and end of one exec unit (json arrays). */
void shell_out_unit_begin(shell_out *o);
void shell_out_unit_end(shell_out *o);

/* UTF-8 characters in s (bytes that are not continuation bytes). */
size_t shell_utf8_len(const char *s, size_t n);
/* Write one CSV field with osquery's quoting rules. */
void shell_csv_field(FILE *f, const char *s, size_t n, const char *sep);
/* Write a JSON string literal (RFC 8259 escapes; bytes >= 0x80 as is). */
void shell_json_string(FILE *f, const char *s, size_t n);
/* The mode's name as .show prints it. */
const char *shell_mode_name(shell_mode m);

#endif
