/* Interactive input through libedit (histedit): prompts, history in
 * ~/.osq/.history (at most 100 entries), tab completion of table names
 * and meta-commands.
 *
 * ^C while editing is a key, not a signal (the edit mode clears ISIG):
 * it drops the line. libedit's own SIGINT path (cooked mode, re-raise,
 * a retried read) cannot tell the shell reliably whether the line was
 * abandoned. While a query runs the terminal is in its normal mode and
 * ^C is SIGINT, which interrupts the query.
 *
 * libedit (with libtinfo, libbsd, libmd) is loaded with dlopen when an
 * interactive session starts, not linked: one-shot runs (`osqi "select
 * 1"`) would otherwise pay ~0.45 ms of loading and relocation for a line
 * editor they never use. Without libedit, lines are read plainly. */
#include <ctype.h>
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <histedit.h>

#include "core/identity.h"
#include "registry/registry.h"
#include "shell.h"

#define HISTORY_MAX 100

extern volatile sig_atomic_t shell_interrupted;

static EditLine *el;
static History *hist;

/* libedit's entry points, from dlopen. */
static struct {
  void *lib;
  EditLine *(*el_init)(const char *, FILE *, FILE *, FILE *);
  void (*el_end)(EditLine *);
  const char *(*el_gets)(EditLine *, int *);
  int (*el_set)(EditLine *, int, ...);
  int (*el_wset)(EditLine *, int, ...);
  const LineInfo *(*el_line)(EditLine *);
  int (*el_insertstr)(EditLine *, const char *);
  int (*el_source)(EditLine *, const char *);
  History *(*history_init)(void);
  void (*history_end)(History *);
  int (*history)(History *, HistEvent *, int, ...);
} ed;

/* Pointers to functions cannot be assigned from void * in ISO C; copy
 * the bytes instead. */
#define ED_SYM(field, name)                                                   \
  do {                                                                        \
    void *sym_ = dlsym(ed.lib, name);                                         \
    if (sym_ == NULL)                                                         \
      ok = false;                                                             \
    else                                                                      \
      memcpy(&ed.field, &sym_, sizeof ed.field);                              \
  } while (0)

static bool ed_load(void) {
  if (ed.lib)
    return true;
  ed.lib = dlopen("libedit.so.2", RTLD_NOW | RTLD_LOCAL);
  if (ed.lib == NULL)
    return false;
  bool ok = true;
  ED_SYM(el_init, "el_init");
  ED_SYM(el_end, "el_end");
  ED_SYM(el_gets, "el_gets");
  ED_SYM(el_set, "el_set");
  ED_SYM(el_wset, "el_wset");
  ED_SYM(el_line, "el_line");
  ED_SYM(el_insertstr, "el_insertstr");
  ED_SYM(el_source, "el_source");
  ED_SYM(history_init, "history_init");
  ED_SYM(history_end, "history_end");
  ED_SYM(history, "history");
  if (!ok) {
    dlclose(ed.lib);
    memset(&ed, 0, sizeof ed);
  }
  return ok;
}
static const char *prompt_text = "";

/* "osq> " and "  ...> ", or osquery's "osquery> " and "    ...> " under
 * its names; "[*]" first while .connect'ed. osquery colours the prompt
 * on 256-colour xterms; \1 brackets the escape sequences so libedit does
 * not count them as columns (and libedit drops such a sequence at the
 * very end of a prompt, hence the reset before the last space). */
static const char *edit_prompt(bool color, bool connected, bool continuation) {
  static char built[2][2][2][64];
  char *p = built[color][connected][continuation];
  if (p[0] == '\0') {
    bool osquery = osq_identity_is_osquery();
    const char *word = continuation ? (osquery ? "    ...>" : "  ...>")
                                    : (osquery ? "osquery>" : "osq>");
    snprintf(p, sizeof built[0][0][0], "%s%s%s%s ",
             color ? "\1\033[38;5;147m\1" : "", connected ? "[*]" : "", word,
             color ? "\1\033[0m\1" : "");
  }
  return p;
}
static bool cancelled;

static const char *const meta_names[] = {
    ".all",      ".bail",   ".connect", ".disconnect", ".echo",      ".exit",  ".features", ".headers",
    ".help",     ".mode",   ".nullvalue", ".print", ".quit",     ".schema",
    ".separator", ".show",  ".socket",    ".summary", ".tables", ".timer",
    ".types",    ".version", ".width",    NULL};

static char *prompt_fn(EditLine *e) {
  (void)e;
  return (char *)prompt_text;
}

static unsigned char cancel_fn(EditLine *e, int ch) {
  (void)e, (void)ch;
  cancelled = true;
  return CC_NEWLINE;
}

/* Candidates for the word before the cursor. */
struct cands {
  char **v;
  size_t n;
};

static void cands_add(struct cands *c, const char *s, size_t cap) {
  if (c->v == NULL)
    c->v = calloc(cap ? cap : 1, sizeof *c->v);
  if (c->v && c->n < cap)
    c->v[c->n] = strdup(s), c->n += c->v[c->n] != NULL;
}

static void cands_gather(struct cands *c, const char *prefix, size_t len,
                         bool meta) {
  if (meta) {
    size_t cap = sizeof meta_names / sizeof meta_names[0];
    for (size_t i = 0; meta_names[i]; i++)
      if (strncmp(meta_names[i], prefix, len) == 0)
        cands_add(c, meta_names[i], cap);
    return;
  }
  const osq_plugin **list;
  size_t n = osq_registry_list(OSQ_REGISTRY_TABLE, &list);
  for (size_t i = 0; i < n; i++)
    if (strncmp(list[i]->name, prefix, len) == 0)
      cands_add(c, list[i]->name, n);
  osq_registry_list_free(list, n);
}

static unsigned char complete_fn(EditLine *e, int ch) {
  (void)ch;
  const LineInfo *li = ed.el_line(e);
  const char *start = li->cursor;
  while (start > li->buffer &&
         (isalnum((unsigned char)start[-1]) || start[-1] == '_' ||
          start[-1] == '.'))
    start--;
  size_t len = (size_t)(li->cursor - start);
  bool meta = start == li->buffer && *start == '.';
  char prefix[256];
  if (len >= sizeof prefix)
    return CC_REFRESH_BEEP;
  memcpy(prefix, start, len);
  prefix[len] = '\0';
  struct cands c = {NULL, 0};
  cands_gather(&c, prefix, len, meta);
  unsigned char rc = CC_REFRESH_BEEP;
  if (c.n > 0) {
    size_t common = strlen(c.v[0]);
    for (size_t i = 1; i < c.n; i++) {
      size_t k = 0;
      while (k < common && c.v[i][k] == c.v[0][k])
        k++;
      common = k;
    }
    if (c.n == 1) {
      char buf[300];
      snprintf(buf, sizeof buf, "%s ", c.v[0] + len);
      ed.el_insertstr(e, buf);
      rc = CC_REFRESH;
    } else if (common > len) {
      char buf[300];
      snprintf(buf, sizeof buf, "%.*s", (int)(common - len), c.v[0] + len);
      ed.el_insertstr(e, buf);
      rc = CC_REFRESH;
    } else {
      /* nothing to add: show the choices under the line */
      fputc('\n', stdout);
      for (size_t i = 0; i < c.n; i++)
        fprintf(stdout, "%s%s", c.v[i], i + 1 < c.n ? "  " : "\n");
      fflush(stdout);
      rc = CC_REDISPLAY;
    }
  }
  for (size_t i = 0; i < c.n; i++)
    free(c.v[i]);
  free(c.v);
  return rc;
}

void shell_edit_begin(shell *sh) {
  HistEvent ev;
  if (!ed_load())
    return; /* plain line reading */
  el = ed.el_init("osqi", stdin, stdout, stderr);
  hist = ed.history_init();
  if (el == NULL || hist == NULL) {
    if (el)
      ed.el_end(el);
    if (hist)
      ed.history_end(hist);
    el = NULL;
    hist = NULL;
    return;
  }
  ed.history(hist, &ev, H_SETSIZE, HISTORY_MAX);
  if (sh->history[0])
    ed.history(hist, &ev, H_LOAD, sh->history);
  ed.el_set(el, EL_EDITOR, "emacs");
  ed.el_set(el, EL_SIGNAL, 1); /* restore the terminal on other signals */
  ed.el_set(el, EL_PROMPT_ESC, prompt_fn, '\1');
  ed.el_set(el, EL_HIST, ed.history, hist);
  /* the wide EL_ADDFN keeps our static strings; the narrow one copies
   * them and never frees the copies */
  ed.el_wset(el, EL_ADDFN, L"osq-complete", L"Complete a table or command name",
             complete_fn);
  ed.el_set(el, EL_BIND, "^I", "osq-complete", NULL);
  ed.el_wset(el, EL_ADDFN, L"osq-cancel", L"Drop the line being typed",
             cancel_fn);
  ed.el_set(el, EL_BIND, "^C", "osq-cancel", NULL);
  ed.el_set(el, EL_SETTY, "-d", "-isig", NULL);
  ed.el_source(el, NULL); /* ~/.editrc may rebind keys */
}

void shell_edit_end(shell *sh) {
  HistEvent ev;
  if (hist && sh->history[0])
    ed.history(hist, &ev, H_SAVE, sh->history);
  if (el)
    ed.el_end(el);
  if (hist)
    ed.history_end(hist);
  el = NULL;
  hist = NULL;
}

/* Without libedit: the prompt, then one line of stdin (cut at
 * PLAIN_LINE_MAX bytes; the rest of the line is skipped). */
#define PLAIN_LINE_MAX (1u << 20)
static char *plain_readline(bool continuation) {
  fputs(edit_prompt(false, false, continuation), stdout);
  fflush(stdout);
  size_t cap = 128, n = 0;
  char *b = malloc(cap);
  int c = EOF;
  while (b && (c = getchar()) != EOF && c != '\n') {
    if (n >= PLAIN_LINE_MAX)
      continue;
    if (n + 1 >= cap) {
      char *nb = realloc(b, cap * 2);
      if (nb == NULL) {
        free(b);
        return NULL;
      }
      b = nb;
      cap *= 2;
    }
    b[n++] = (char)c;
  }
  if (b == NULL || (c == EOF && n == 0)) {
    free(b);
    return NULL;
  }
  while (n > 0 && b[n - 1] == '\r')
    n--;
  b[n] = '\0';
  return b;
}

char *shell_readline(shell *sh, bool continuation) {
  if (el == NULL)
    return plain_readline(continuation);
  const char *term = getenv("TERM");
  bool color = term && strstr(term, "xterm-256color");
  prompt_text = edit_prompt(color, sh->connect[0] != '\0', continuation);
  cancelled = false;
  int n = 0;
  const char *l = ed.el_gets(el, &n);
  if (cancelled) {
    shell_interrupted = 1; /* the caller drops the statement */
    return NULL;
  }
  if (l == NULL || n <= 0)
    return NULL;
  char *line = strndup(l, (size_t)n);
  if (line == NULL)
    return NULL;
  size_t len = strlen(line);
  while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
    line[--len] = '\0';
  if (len > 0) {
    HistEvent ev;
    ed.history(hist, &ev, H_ENTER, line);
  }
  return line;
}
