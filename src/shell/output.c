#include "output.h"

#include "core/grow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Output is written by one thread; skip stdio's per-call locking, which
 * dominated printing a table cell by cell. */
#define fputc fputc_unlocked
#define fputs fputs_unlocked
#define fwrite fwrite_unlocked

#define NULL_LEN UINT32_MAX

static const char *const mode_names[] = {"line", "column", "list", "csv",
                                         "pretty"};

const char *shell_mode_name(shell_mode m) {
  return (unsigned)m < sizeof mode_names / sizeof mode_names[0]
             ? mode_names[m]
             : "pretty";
}

void shell_out_init(shell_out *o, FILE *out) {
  memset(o, 0, sizeof *o);
  o->out = out;
  o->mode = SHELL_MODE_PRETTY;
  o->header = true;
  strcpy(o->separator, "|");
}

static void stmt_reset(shell_out *o) {
  free(o->names);
  free(o->uniq);
  free(o->order);
  free(o->width);
  o->names = NULL;
  o->uniq = o->order = o->width = NULL;
  o->ncol = o->norder = 0;
  o->rows = 0;
  o->arena_len = 0;
}

void shell_out_free(shell_out *o) {
  stmt_reset(o);
  free(o->arena);
  o->arena = NULL;
  o->arena_cap = 0;
}

size_t shell_utf8_len(const char *s, size_t n) {
  size_t c = 0;
  for (size_t i = 0; i < n; i++)
    c += ((unsigned char)s[i] & 0xC0) != 0x80;
  return c;
}

static bool json_active(const shell_out *o) {
  return o->mode == SHELL_MODE_PRETTY && o->json != SHELL_JSON_OFF;
}

static const char **order_names; /* qsort context; the shell is 1 thread */

static int cmp_order(const void *a, const void *b) {
  return strcmp(order_names[*(const size_t *)a],
                order_names[*(const size_t *)b]);
}

int shell_out_columns(shell_out *o, size_t ncol, const char *const *names) {
  stmt_reset(o);
  size_t bytes = ncol * sizeof(char *);
  for (size_t i = 0; i < ncol; i++)
    bytes += strlen(names[i] ? names[i] : "") + 1;
  o->names = malloc(bytes ? bytes : 1);
  o->uniq = calloc(ncol ? ncol : 1, sizeof *o->uniq);
  o->order = calloc(ncol ? ncol : 1, sizeof *o->order);
  o->width = calloc(ncol ? ncol : 1, sizeof *o->width);
  if (!o->names || !o->uniq || !o->order || !o->width) {
    stmt_reset(o);
    o->oom = true;
    return -1;
  }
  char *p = (char *)(o->names + ncol);
  for (size_t i = 0; i < ncol; i++) {
    const char *n = names[i] ? names[i] : "";
    size_t l = strlen(n) + 1;
    memcpy(p, n, l);
    o->names[i] = p;
    p += l;
  }
  o->ncol = ncol;
  /* osquery turns a row into a map keyed by column name: for a repeated
   * name the last column's value wins and the keys come out sorted. */
  for (size_t i = 0; i < ncol; i++) {
    o->uniq[i] = i;
    for (size_t j = ncol; j-- > i + 1;)
      if (strcmp(o->names[j], o->names[i]) == 0) {
        o->uniq[i] = j;
        break;
      }
  }
  for (size_t i = 0; i < ncol; i++)
    if (o->uniq[i] == i)
      o->order[o->norder++] = i;
  order_names = (const char **)o->names;
  qsort(o->order, o->norder, sizeof *o->order, cmp_order);
  return 0;
}

/* ---- field writers ------------------------------------------------------ */

static void put(FILE *f, const char *s, size_t n) {
  if (n)
    fwrite(s, 1, n, f);
}

static void spaces(FILE *f, size_t n) {
  static const char sp[] = "                                ";
  while (n > 0) {
    size_t k = n < sizeof sp - 1 ? n : sizeof sp - 1;
    fwrite(sp, 1, k, f);
    n -= k;
  }
}

static void dashes(FILE *f, size_t n) {
  static const char d[] = "--------------------------------";
  while (n > 0) {
    size_t k = n < sizeof d - 1 ? n : sizeof d - 1;
    fwrite(d, 1, k, f);
    n -= k;
  }
}

/* The sqlite3 shell's table of bytes that force CSV quoting: control
 * characters, space, '"', '\'', DEL and every byte >= 0x80. */
static bool csv_needs_quote(unsigned char c) {
  return c <= 0x20 || c == '"' || c == '\'' || c >= 0x7F;
}

void shell_csv_field(FILE *f, const char *s, size_t n, const char *sep) {
  size_t nsep = strlen(sep);
  bool quote = false;
  for (size_t i = 0; i < n && !quote; i++)
    quote = csv_needs_quote((unsigned char)s[i]) ||
            (nsep > 0 && s[i] == sep[0] &&
             (nsep == 1 || (n - i >= nsep && memcmp(s + i, sep, nsep) == 0)));
  if (!quote) {
    put(f, s, n);
    return;
  }
  fputc('"', f);
  size_t start = 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] == '"') {
      put(f, s + start, i + 1 - start);
      fputc('"', f);
      start = i + 1;
    }
  put(f, s + start, n - start);
  fputc('"', f);
}

void shell_json_string(FILE *f, const char *s, size_t n) {
  static const char hex[] = "0123456789ABCDEF";
  fputc('"', f);
  size_t start = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    const char *esc = NULL;
    char u[7];
    switch (c) {
    case '"': esc = "\\\""; break;
    case '\\': esc = "\\\\"; break;
    case '\b': esc = "\\b"; break;
    case '\f': esc = "\\f"; break;
    case '\n': esc = "\\n"; break;
    case '\r': esc = "\\r"; break;
    case '\t': esc = "\\t"; break;
    default:
      if (c < 0x20) {
        memcpy(u, "\\u00", 4);
        u[4] = hex[c >> 4];
        u[5] = hex[c & 15];
        u[6] = '\0';
        esc = u;
      }
    }
    if (esc) {
      put(f, s + start, i - start);
      fputs(esc, f);
      start = i + 1;
    }
  }
  put(f, s + start, n - start);
  fputc('"', f);
}

/* ---- streaming modes ---------------------------------------------------- */

static void cell(const shell_out *o, const char *const *vals,
                 const size_t *lens, size_t i, const char **s, size_t *n) {
  if (vals[i]) {
    *s = vals[i];
    *n = lens[i];
  } else {
    *s = o->nullvalue;
    *n = strlen(o->nullvalue);
  }
}

static void row_line(shell_out *o, const char *const *vals,
                     const size_t *lens) {
  size_t w = 5;
  for (size_t i = 0; i < o->ncol; i++) {
    size_t l = strlen(o->names[i]);
    w = l > w ? l : w;
  }
  if (o->rows > 0)
    fputc('\n', o->out);
  for (size_t i = 0; i < o->ncol; i++) {
    const char *s;
    size_t n;
    cell(o, vals, lens, i, &s, &n);
    size_t l = strlen(o->names[i]);
    spaces(o->out, w - l);
    fputs(o->names[i], o->out);
    fputs(" = ", o->out);
    put(o->out, s, n);
    fputc('\n', o->out);
  }
}

/* printf's "%-*.*s" / "%*.*s" on a counted string. */
static void fixed(FILE *f, const char *s, size_t n, int w) {
  size_t aw = (size_t)(w < 0 ? -(long)w : w);
  size_t k = n < aw ? n : aw;
  if (w < 0)
    spaces(f, aw - k);
  put(f, s, k);
  if (w >= 0)
    spaces(f, aw - k);
}

static void row_column(shell_out *o, const char *const *vals,
                       const size_t *lens) {
  size_t nc = o->ncol;
  if (o->rows == 0) {
    for (size_t i = 0; i < nc; i++) {
      int w = i < SHELL_WIDTHS_MAX ? o->widths[i] : 0;
      if (w == 0) {
        const char *s;
        size_t n;
        cell(o, vals, lens, i, &s, &n);
        size_t l = strlen(o->names[i]);
        l = l < 10 ? 10 : l;
        l = l < n ? n : l;
        w = l > 0x3fffffff ? 0x3fffffff : (int)l;
      }
      if (i < SHELL_WIDTHS_MAX)
        o->actual[i] = w;
      if (o->header) {
        fixed(o->out, o->names[i], strlen(o->names[i]), w);
        fputs(i == nc - 1 ? "\n" : "  ", o->out);
      }
    }
    if (o->header) {
      for (size_t i = 0; i < nc; i++) {
        int w = i < SHELL_WIDTHS_MAX ? o->actual[i] : 10;
        w = w < 0 ? -w : w;
        /* the sqlite3 shell pads from a 93-dash string */
        size_t d = (size_t)w < 93 ? (size_t)w : 93;
        dashes(o->out, d);
        spaces(o->out, (size_t)w - d);
        fputs(i == nc - 1 ? "\n" : "  ", o->out);
      }
    }
  }
  for (size_t i = 0; i < nc; i++) {
    int w = i < SHELL_WIDTHS_MAX ? o->actual[i] : 10;
    const char *s;
    size_t n;
    cell(o, vals, lens, i, &s, &n);
    fixed(o->out, s, n, w);
    fputs(i == nc - 1 ? "\n" : "  ", o->out);
  }
}

static void row_list(shell_out *o, const char *const *vals,
                     const size_t *lens) {
  if (o->rows == 0 && o->header) {
    for (size_t i = 0; i < o->ncol; i++) {
      fputs(o->names[i], o->out);
      fputs(i == o->ncol - 1 ? "\n" : o->separator, o->out);
    }
  }
  for (size_t i = 0; i < o->ncol; i++) {
    const char *s;
    size_t n;
    cell(o, vals, lens, i, &s, &n);
    put(o->out, s, n);
    fputs(i == o->ncol - 1 ? "\n" : o->separator, o->out);
  }
}

static void row_csv(shell_out *o, const char *const *vals,
                    const size_t *lens) {
  if (o->rows == 0 && o->header) {
    for (size_t i = 0; i < o->ncol; i++) {
      shell_csv_field(o->out, o->names[i], strlen(o->names[i]),
                      o->separator);
      if (i + 1 < o->ncol)
        fputs(o->separator, o->out);
    }
    fputc('\n', o->out);
  }
  for (size_t i = 0; i < o->ncol; i++) {
    if (vals[i])
      shell_csv_field(o->out, vals[i], lens[i], o->separator);
    else
      fputs(o->nullvalue, o->out);
    if (i + 1 < o->ncol)
      fputs(o->separator, o->out);
  }
  fputc('\n', o->out);
}

static void row_json(shell_out *o, const char *const *vals,
                     const size_t *lens) {
  bool pretty = o->json == SHELL_JSON_PRETTY;
  fputs(o->unit_rows == 0 ? "[\n" : ",\n", o->out);
  fputs(pretty ? "  {\n" : "  {", o->out);
  for (size_t k = 0; k < o->norder; k++) {
    size_t i = o->order[k];
    const char *s;
    size_t n;
    cell(o, vals, lens, i, &s, &n);
    if (pretty)
      fputs(k ? ",\n    " : "    ", o->out);
    else if (k)
      fputc(',', o->out);
    shell_json_string(o->out, o->names[i], strlen(o->names[i]));
    fputs(pretty ? ": " : ":", o->out);
    shell_json_string(o->out, s, n);
  }
  fputs(pretty ? "\n  }" : "}", o->out);
}

/* ---- pretty ------------------------------------------------------------- */

static int arena_reserve(shell_out *o, size_t more) {
  if (more > SIZE_MAX - o->arena_len)
    return -1;
  return osq_grow(&o->arena, &o->arena_cap, o->arena_len + more, 1, 4096, 0) ==
                 OSQ_OK
             ? 0
             : -1;
}

static int row_pretty(shell_out *o, const char *const *vals,
                      const size_t *lens) {
  /* Only the columns a pretty row shows (the last of each name). */
  size_t need = 0;
  for (size_t k = 0; k < o->norder; k++) {
    size_t i = o->order[k];
    if (vals[i] && lens[i] >= NULL_LEN)
      return -1;
    need += 4 + (vals[i] ? lens[i] : 0);
  }
  if (arena_reserve(o, need) != 0) {
    o->oom = true;
    return -1;
  }
  for (size_t k = 0; k < o->norder; k++) {
    size_t i = o->order[k];
    const char *s;
    size_t n;
    cell(o, vals, lens, i, &s, &n);
    uint32_t l = vals[i] ? (uint32_t)lens[i] : NULL_LEN;
    memcpy(o->arena + o->arena_len, &l, 4);
    o->arena_len += 4;
    if (vals[i]) {
      memcpy(o->arena + o->arena_len, vals[i], lens[i]);
      o->arena_len += lens[i];
    }
    size_t w = shell_utf8_len(s, n);
    if (w > o->width[i])
      o->width[i] = w;
  }
  return 0;
}

static void pretty_rule(shell_out *o) {
  fputc('+', o->out);
  for (size_t i = 0; i < o->ncol; i++) {
    dashes(o->out, o->width[o->uniq[i]] + 2);
    fputc('+', o->out);
  }
  fputc('\n', o->out);
}

static void pretty_flush(shell_out *o) {
  if (o->rows == 0 || o->ncol == 0)
    return;
  for (size_t i = 0; i < o->ncol; i++) {
    size_t l = shell_utf8_len(o->names[i], strlen(o->names[i]));
    if (l > o->width[o->uniq[i]])
      o->width[o->uniq[i]] = l;
  }
  pretty_rule(o);
  fputc('|', o->out);
  for (size_t i = 0; i < o->ncol; i++) {
    const char *n = o->names[i];
    size_t l = strlen(n);
    fputc(' ', o->out);
    put(o->out, n, l);
    spaces(o->out, o->width[o->uniq[i]] - shell_utf8_len(n, l) + 1);
    fputc('|', o->out);
  }
  fputc('\n', o->out);
  pretty_rule(o);
  /* Cells of a row are stored in o->order; find each column's by its
   * position there. */
  size_t *slot = calloc(o->ncol, sizeof *slot);
  const char **cs = calloc(o->norder ? o->norder : 1, sizeof *cs);
  size_t *cl = calloc(o->norder ? o->norder : 1, sizeof *cl);
  if (!slot || !cs || !cl) {
    free(slot), free(cs), free(cl);
    o->oom = true;
    return;
  }
  for (size_t k = 0; k < o->norder; k++)
    slot[o->order[k]] = k;
  size_t pos = 0;
  while (pos < o->arena_len) {
    for (size_t k = 0; k < o->norder; k++) {
      uint32_t l;
      memcpy(&l, o->arena + pos, 4);
      pos += 4;
      if (l == NULL_LEN) {
        cs[k] = o->nullvalue;
        cl[k] = strlen(o->nullvalue);
      } else {
        cs[k] = (const char *)o->arena + pos;
        cl[k] = l;
        pos += l;
      }
    }
    fputc('|', o->out);
    for (size_t i = 0; i < o->ncol; i++) {
      size_t k = slot[o->uniq[i]];
      fputc(' ', o->out);
      put(o->out, cs[k], cl[k]);
      spaces(o->out, o->width[o->uniq[i]] - shell_utf8_len(cs[k], cl[k]) + 1);
      fputc('|', o->out);
    }
    fputc('\n', o->out);
  }
  free(slot), free(cs), free(cl);
  pretty_rule(o);
}

/* ---- entry points ------------------------------------------------------- */

int shell_out_row(shell_out *o, const char *const *vals, const size_t *lens) {
  if (o->ncol == 0)
    return 0;
  if (json_active(o)) {
    row_json(o, vals, lens);
  } else {
    switch (o->mode) {
    case SHELL_MODE_LINE:
      row_line(o, vals, lens);
      break;
    case SHELL_MODE_COLUMN:
      row_column(o, vals, lens);
      break;
    case SHELL_MODE_LIST:
      row_list(o, vals, lens);
      break;
    case SHELL_MODE_CSV:
      row_csv(o, vals, lens);
      break;
    case SHELL_MODE_PRETTY:
      if (row_pretty(o, vals, lens) != 0)
        return -1;
      break;
    }
  }
  o->rows++;
  o->unit_rows++;
  return ferror(o->out) ? -1 : 0;
}

void shell_out_stmt_end(shell_out *o) {
  if (o->mode == SHELL_MODE_PRETTY && !json_active(o))
    pretty_flush(o);
  stmt_reset(o);
  /* A huge pretty result should not pin its arena for the session. */
  if (o->arena_cap > (1u << 20)) {
    free(o->arena);
    o->arena = NULL;
    o->arena_cap = 0;
  }
}

void shell_out_unit_begin(shell_out *o) {
  o->unit_rows = 0;
  o->unit_open = true;
}

void shell_out_unit_end(shell_out *o) {
  if (!o->unit_open)
    return;
  o->unit_open = false;
  if (!json_active(o))
    return;
  if (o->json == SHELL_JSON_PRETTY)
    fputs(o->unit_rows == 0 ? "[]\n" : "\n]\n", o->out);
  else
    fputs(o->unit_rows == 0 ? "[\n\n]\n" : "\n]\n", o->out);
}
