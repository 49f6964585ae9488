/* Running SQL: statement splitting, streaming rows to the output modes,
 * osquery's error texts, and the line-by-line input loop. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/flags.h"
#include "core/log.h"
#include "shell.h"

extern volatile sig_atomic_t shell_interrupted;

/* The sink's view of one statement. */
struct sink_state {
  shell *sh;
  const char **vals;
  size_t *lens;
  const char **names;
  size_t cap;
  size_t ncol;
  int write_errno; /* the output failed (EPIPE etc.) */
};

static int grow(struct sink_state *s, size_t n) {
  if (n <= s->cap)
    return 0;
  const char **v = realloc(s->vals, n * sizeof *v);
  if (v)
    s->vals = v;
  size_t *l = realloc(s->lens, n * sizeof *l);
  if (l)
    s->lens = l;
  const char **nm = realloc(s->names, n * sizeof *nm);
  if (nm)
    s->names = nm;
  if (!v || !l || !nm)
    return -1;
  s->cap = n;
  return 0;
}

static int sink_columns(void *u, sqlite3_stmt *st) {
  struct sink_state *s = u;
  size_t n = (size_t)sqlite3_column_count(st);
  if (grow(s, n ? n : 1) != 0) {
    s->sh->out.oom = true;
    return 1;
  }
  for (size_t i = 0; i < n; i++)
    s->names[i] = sqlite3_column_name(st, (int)i);
  s->ncol = n;
  return shell_out_columns(&s->sh->out, n, s->names) != 0;
}

static int sink_row(void *u, sqlite3_stmt *st) {
  struct sink_state *s = u;
  for (size_t i = 0; i < s->ncol; i++) {
    if (sqlite3_column_type(st, (int)i) == SQLITE_NULL) {
      s->vals[i] = NULL;
      s->lens[i] = 0;
      continue;
    }
    const char *t = (const char *)sqlite3_column_text(st, (int)i);
    if (t == NULL) {
      s->sh->out.oom = true;
      return 1;
    }
    s->vals[i] = t;
    s->lens[i] = (size_t)sqlite3_column_bytes(st, (int)i);
  }
  if (shell_out_row(&s->sh->out, s->vals, s->lens) != 0) {
    if (!s->sh->out.oom)
      s->write_errno = errno ? errno : EIO;
    return 1;
  }
  return 0;
}

bool shell_all_whitespace(const char *z) {
  while (*z) {
    unsigned char c = (unsigned char)*z;
    if (c == ' ' || (c >= '\t' && c <= '\r')) {
      z++;
    } else if (z[0] == '/' && z[1] == '*') {
      const char *e = strstr(z + 2, "*/");
      if (e == NULL)
        return false;
      z = e + 2;
    } else if (z[0] == '-' && z[1] == '-') {
      const char *e = strchr(z, '\n');
      if (e == NULL)
        return true;
      z = e + 1;
    } else {
      return false;
    }
  }
  return true;
}

static void set_err(char **errmsg, const char *msg) {
  if (errmsg && *errmsg == NULL)
    *errmsg = strdup(msg);
}

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double tv_diff(struct timeval a, struct timeval b) {
  return (double)(b.tv_sec - a.tv_sec) + (b.tv_usec - a.tv_usec) * 1e-6;
}

/* One statement: echo, run, print. */
static int exec_one(shell *sh, struct sink_state *ss, const char *stmt,
                    char **errmsg) {
  if (shell_all_whitespace(stmt))
    return SQLITE_OK;
  if (sh->echo)
    fprintf(sh->out.out, "%s\n", stmt);
  osq_sql_sink sink = {sink_columns, sink_row, ss};
  char *msg = NULL;
  int rc = sh->connect[0] ? shell_remote_exec(sh, stmt, &msg)
                          : osq_db_exec(sh->db, stmt, &sink, &msg);
  shell_out_stmt_end(&sh->out);
  if (rc != SQLITE_OK) {
    if (sh->out.oom) {
      rc = SQLITE_NOMEM;
      set_err(errmsg, "out of memory");
    } else if (ss->write_errno) {
      char b[256];
      snprintf(b, sizeof b, "cannot write output: %s",
               strerror(ss->write_errno));
      set_err(errmsg, b);
    }
    if (errmsg && *errmsg == NULL)
      *errmsg = msg ? msg : strdup(sqlite3_errstr(rc));
    else
      free(msg);
    sh->out.oom = false;
  } else {
    free(msg);
  }
  return rc;
}

int shell_exec(shell *sh, const char *sql, char **errmsg) {
  if (errmsg)
    *errmsg = NULL;
  char *buf = strdup(sql);
  if (buf == NULL) {
    set_err(errmsg, "out of memory");
    return SQLITE_NOMEM;
  }
  struct rusage r0, r1;
  int64_t t0 = 0;
  if (sh->timer) {
    getrusage(RUSAGE_SELF, &r0);
    t0 = wall_ms();
  }
  struct sink_state ss = {.sh = sh};
  shell_out_unit_begin(&sh->out);
  int rc = SQLITE_OK;
  /* Split at every ';' that completes a statement, so each statement can
   * be echoed and its pretty table printed before the next one runs. */
  char *p = buf;
  while (rc == SQLITE_OK && *p) {
    while (*p == ' ' || (*p >= '\t' && *p <= '\r'))
      p++;
    if (*p == '\0')
      break;
    char *end = NULL;
    for (char *q = strchr(p, ';'); q; q = strchr(q + 1, ';')) {
      char save = q[1];
      q[1] = '\0';
      int done = sqlite3_complete(p);
      q[1] = save;
      if (done) {
        end = q + 1;
        break;
      }
    }
    if (end == NULL)
      end = p + strlen(p);
    char save = *end;
    *end = '\0';
    rc = exec_one(sh, &ss, p, errmsg);
    *end = save;
    p = end;
  }
  shell_out_unit_end(&sh->out);
  if (sh->timer) {
    getrusage(RUSAGE_SELF, &r1);
    fprintf(sh->out.out, "Run Time: real %.3f user %f sys %f\n",
            (double)(wall_ms() - t0) * 0.001,
            tv_diff(r0.ru_utime, r1.ru_utime),
            tv_diff(r0.ru_stime, r1.ru_stime));
  }
  fflush(sh->out.out);
  if (ss.write_errno == EPIPE && errmsg) {
    /* A closed pipe is the reader's choice, not an error to report. */
    free(*errmsg);
    *errmsg = NULL;
  }
  free(ss.vals);
  free(ss.lens);
  free(ss.names);
  free(buf);
  return rc;
}

/* osquery follows a missing required column with a pointer to the
 * table's documentation. */
static void required_hint(int rc, const char *err) {
  char table[128];
  if (rc == SQLITE_CONSTRAINT && err &&
      sscanf(err, "Table %127s was queried without a required column",
             table) == 1 &&
      strstr(err, "without a required column"))
    OSQ_WARN("Please see the table documentation: "
             "https://osquery.io/schema/#%s",
             table);
}

int shell_run_query(shell *sh, const char *sql) {
  char *err = NULL;
  int rc = shell_exec(sh, sql, &err);
  required_hint(rc, err);
  if (err) {
    fprintf(sh->err, "Error: %s\n", err);
    free(err);
    rc = rc == 0 ? 1 : rc;
  }
  return rc;
}

/* ---- line input ------------------------------------------------------- */

/* One line of piped input, without its end of line. A line longer than
 * limit is cut there (the rest is skipped); the caller then rejects the
 * statement as too long, so a huge line costs at most limit bytes. */
static char *read_line(shell *sh, FILE *in, bool cont, size_t limit) {
  if (in == NULL)
    return shell_readline(sh, cont);
  size_t cap = 128, n = 0;
  char *b = malloc(cap);
  int c = EOF;
  while (b && (c = getc_unlocked(in)) != EOF && c != '\n') {
    if (n >= limit)
      continue;
    if (n + 1 >= cap) {
      size_t ncap = cap * 2 > limit + 1 ? limit + 1 : cap * 2;
      char *nb = realloc(b, ncap);
      if (nb == NULL) {
        free(b);
        return NULL;
      }
      b = nb;
      cap = ncap;
    }
    b[n++] = (char)c;
  }
  if (b == NULL || (c == EOF && n == 0)) {
    free(b);
    return NULL;
  }
  if (n > 0 && b[n - 1] == '\r')
    n--;
  b[n] = '\0';
  return b;
}

/* osquery names the line a failed statement started on, unless a user
 * is typing. */
static void report(shell *sh, FILE *in, int startline, int rc, char *err) {
  const char *m = err ? err : sqlite3_errstr(rc);
  required_hint(rc, err);
  if (in != NULL)
    fprintf(sh->err, "Error: near line %d: %s\n", startline, m);
  else
    fprintf(sh->err, "Error: %s\n", m);
  free(err);
}

static int run_unit(shell *sh, FILE *in, int startline, const char *sql,
                    bool types) {
  if (types)
    return shell_meta_types(sh, sql);
  char *err = NULL;
  int rc = shell_exec(sh, sql, &err);
  if (rc != 0 || err)
    report(sh, in, startline, rc, err);
  return rc;
}

int shell_process(shell *sh, FILE *in) {
  char *sql = NULL;
  size_t nsql = 0, cap = 0;
  int errors = 0, lineno = 0, startline = 0;
  bool types = false, eof = false;
  size_t limit = (size_t)OSQ_FLAG_UINT(read_max);
  if (limit == 0)
    limit = 50u << 20;

  while (errors == 0 || !sh->bail || in == NULL) {
    fflush(sh->out.out);
    if (in == NULL)
      shell_interrupted = 0; /* a ^C that came after the last query ended */
    char *line = read_line(sh, in, nsql > 0, limit);
    if (line == NULL && in == NULL && shell_interrupted) {
      /* ^C at the prompt drops the statement being typed, not the shell */
      shell_interrupted = 0;
      nsql = 0;
      types = false;
      fputc('\n', stdout);
      continue;
    }
    if (line == NULL) {
      if (in == NULL)
        fputc('\n', stdout);
      eof = true;
      break;
    }
    if (shell_interrupted) {
      shell_interrupted = 0;
      if (in != NULL) {
        free(line);
        break;
      }
    }
    lineno++;
    if (nsql == 0 && shell_all_whitespace(line)) {
      if (sh->echo)
        fprintf(sh->out.out, "%s\n", line);
      free(line);
      continue;
    }
    const char *text = line;
    if (nsql == 0 && line[0] == '.') {
      if (sh->echo)
        fprintf(sh->out.out, "%s\n", line);
      if (strncmp(line, ".types ", 7) == 0) {
        types = true;
        text = line + 7;
      } else {
        int rc = shell_meta(sh, line);
        free(line);
        if (rc == META_EXIT)
          break;
        if (rc != META_OK)
          errors++;
        continue;
      }
    }
    size_t len = strlen(text);
    if (nsql == 0) {
      while (*text == ' ' || (*text >= '\t' && *text <= '\r'))
        text++, len--;
      startline = lineno;
    }
    if (nsql + len + 2 > limit) {
      fprintf(sh->err, "Error: near line %d: statement longer than %zu bytes\n",
              startline, limit);
      errors++;
      nsql = 0;
      types = false;
      free(line);
      continue;
    }
    if (nsql + len + 2 > cap) {
      size_t ncap = (nsql + len + 2) * 2;
      char *n = realloc(sql, ncap);
      if (n == NULL) {
        fprintf(sh->err, "Error: out of memory\n");
        free(line);
        errors++;
        break;
      }
      sql = n;
      cap = ncap;
    }
    size_t prior = nsql;
    if (nsql > 0)
      sql[nsql++] = '\n';
    memcpy(sql + nsql, text, len + 1);
    nsql += len;
    free(line);
    if (memchr(sql + prior, ';', nsql - prior) && sqlite3_complete(sql)) {
      int rc = run_unit(sh, in, startline, sql, types);
      types = false;
      if (rc != 0)
        errors++;
      nsql = 0;
      if (shell_interrupted && in != NULL)
        break; /* ^C ends piped input */
    } else if (shell_all_whitespace(sql)) {
      if (sh->echo)
        fprintf(sh->out.out, "%s\n", sql);
      nsql = 0;
    }
  }
  /* Unlike older osquery, SQL left without its ';' at EOF still runs. */
  if (eof && nsql > 0 && !shell_all_whitespace(sql) &&
      run_unit(sh, in, startline, sql, types) != 0)
    errors++;
  free(sql);
  fflush(sh->out.out);
  if (sh->exit_code != 0)
    return sh->exit_code;
  return errors > 0;
}
