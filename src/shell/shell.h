/* osqi internals shared by its files.
 *
 * Threads: osqi's main thread only (shell_interrupted: the SIGINT handler). */
#ifndef OSQ_SHELL_H
#define OSQ_SHELL_H

#include <stdbool.h>
#include <stdio.h>

#include "output.h"
#include "sql/sql.h"

typedef struct shell {
  osq_db *db;
  shell_out out;
  FILE *err;
  char outfile[4096]; /* --output path, "" for stdout */
  bool interactive;   /* reading a TTY through libedit */
  bool echo;
  bool bail;
  bool timer;
  int exit_code;      /* set by .exit N */
  char history[4096]; /* history file path, "" for none */
  char connect[4096]; /* .connect: SQL goes to this manager socket */
} shell;

/* do_meta results */
enum {
  META_OK = 0,
  META_ERROR = 1,
  META_EXIT = -2, /* .exit/.quit: stop reading; exit_code says how */
};

/* Run one unit of SQL text (every statement in it). Prints rows, and on
 * failure returns the SQLite code with the message in *errmsg (malloc'd;
 * may be NULL when there is none). */
int shell_exec(shell *sh, const char *sql, char **errmsg);
/* Positional SQL / --query: prints "Error: msg"; returns the rc or 1. */
int shell_run_query(shell *sh, const char *sql);
/* One statement through the manager at sh->connect (connect.c); the
 * same contract as shell_exec. */
int shell_remote_exec(shell *sh, const char *sql, char **errmsg);
/* --pack NAME (pack.c): 0, or the first failure's code. */
int shell_run_pack(shell *sh, const char *pack);
/* Read the config at start, as osqueryi does (when --config_plugin is
 * not filesystem, or --config_path's file exists): register its
 * auto_table_construction tables, take its yara and prometheus sections,
 * and hand its file_paths to the event publishers (with
 * --disable_events=false). Without a config the event tables still hold
 * the events since start. */
void shell_load_config(void);
/* A meta-command line starting with '.'; returns META_* or, for .all, the
 * SQLite code of the failed query. */
int shell_meta(shell *sh, const char *line);
/* .types SQL */
int shell_meta_types(shell *sh, const char *sql);
/* Statements and meta-commands from a stream (stdin not a TTY, or
 * interactive when in is NULL). Returns 1 if any failed, or the code
 * of .exit N. */
int shell_process(shell *sh, FILE *in);
/* Interactive line editing (edit.c): returns the next line (malloc'd),
 * NULL at EOF. */
char *shell_readline(shell *sh, bool continuation);
void shell_edit_begin(shell *sh);
void shell_edit_end(shell *sh);

/* True if s is blank or only SQL comments. */
bool shell_all_whitespace(const char *s);

/* shell_ext.c: extension manager and --extension (filled by the
 * extension helpers). */
int shell_extensions_start(void);
void shell_extensions_stop(void);

#endif
