/* Interactive input through libedit's readline interface: prompts,
 * history in ~/.osq/.history (at most 100 entries) and tab completion of
 * table names and meta-commands. */
#include <stdlib.h>
#include <string.h>

#include <editline/readline.h>

#include "registry/registry.h"
#include "shell.h"

#define HISTORY_MAX 100

static const char *const meta_names[] = {
    ".all",      ".bail",   ".echo",      ".exit",  ".features", ".headers",
    ".help",     ".mode",   ".nullvalue", ".print", ".quit",     ".schema",
    ".separator", ".show",  ".socket",    ".summary", ".tables", ".timer",
    ".types",    ".version", ".width",    NULL};

/* Candidates for the word being completed, gathered once per Tab. */
static char **cands;
static size_t ncands, icand;

static void cands_free(void) {
  for (size_t i = 0; i < ncands; i++)
    free(cands[i]);
  free(cands);
  cands = NULL;
  ncands = icand = 0;
}

static void cands_gather(const char *text, bool meta) {
  cands_free();
  size_t tl = strlen(text);
  if (meta) {
    size_t n = sizeof meta_names / sizeof meta_names[0];
    cands = calloc(n, sizeof *cands);
    for (size_t i = 0; cands && meta_names[i]; i++)
      if (strncmp(meta_names[i], text, tl) == 0)
        cands[ncands++] = strdup(meta_names[i]);
    return;
  }
  const osq_plugin **list;
  size_t n = osq_registry_list(OSQ_REGISTRY_TABLE, &list);
  cands = calloc(n ? n : 1, sizeof *cands);
  for (size_t i = 0; cands && i < n; i++)
    if (strncmp(list[i]->name, text, tl) == 0)
      cands[ncands++] = strdup(list[i]->name);
  osq_registry_list_free(list, n);
}

static bool complete_meta;

static char *generator(const char *text, int state) {
  if (state == 0)
    cands_gather(text, complete_meta);
  while (icand < ncands) {
    char *c = cands[icand++];
    if (c)
      return strdup(c);
  }
  return NULL;
}

static char **complete(const char *text, int start, int end) {
  (void)end;
  rl_attempted_completion_over = 1; /* never fall back to file names */
  complete_meta = start == 0 && text[0] == '.';
  return rl_completion_matches(text, generator);
}

void shell_edit_begin(shell *sh) {
  rl_readline_name = "osqi";
  rl_attempted_completion_function = complete;
  stifle_history(HISTORY_MAX);
  if (sh->history[0])
    read_history(sh->history);
}

void shell_edit_end(shell *sh) {
  /* stifle_history already keeps HISTORY_MAX entries; libedit's
   * history_truncate_file would drop the file's header line. */
  if (sh->history[0])
    write_history(sh->history);
  cands_free();
}

char *shell_readline(shell *sh, bool continuation) {
  (void)sh;
  char *line = readline(continuation ? "  ...> " : "osq> ");
  if (line && *line)
    add_history(line);
  return line;
}
