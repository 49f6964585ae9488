#include "daemon/diff.h"

#include "core/log.h"

#include <stdlib.h>
#include <string.h>

typedef struct keyed {
  char *key;
  size_t idx;
  bool used;
} keyed;

static int cmp_keyed(const void *a, const void *b) {
  const keyed *x = a, *y = b;
  int c = strcmp(x->key, y->key);
  if (c)
    return c;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* A canonical text per row: keys sorted, compact. Equal typed maps give
 * equal text (an integer 1 and a string "1" differ, as in osquery). */
static keyed *keys_of(const json_t *rows, size_t *n) {
  *n = json_array_size(rows);
  keyed *k = calloc(*n ? *n : 1, sizeof *k);
  if (k == NULL)
    return NULL;
  for (size_t i = 0; i < *n; i++) {
    k[i].key = json_dumps(json_array_get(rows, i),
                          JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    k[i].idx = i;
    if (k[i].key == NULL) {
      for (size_t j = 0; j < i; j++)
        free(k[j].key);
      free(k);
      return NULL;
    }
  }
  qsort(k, *n, sizeof *k, cmp_keyed);
  return k;
}

static void free_keys(keyed *k, size_t n) {
  for (size_t i = 0; k && i < n; i++)
    free(k[i].key);
  free(k);
}

int osq_diff_rows(const json_t *prev, const json_t *cur, json_t **added,
                  json_t **removed) {
  size_t np, nc;
  keyed *kp = keys_of(prev, &np);
  keyed *kc = keys_of(cur, &nc);
  *added = json_array();
  *removed = json_array();
  bool *cur_matched = calloc(nc ? nc : 1, 1);
  bool *prev_matched = calloc(np ? np : 1, 1);
  int rc = -1;
  if (!kp || !kc || !*added || !*removed || !cur_matched || !prev_matched)
    goto out;
  /* merge walk over both sorted lists pairs equal rows one to one */
  for (size_t i = 0, j = 0; i < np && j < nc;) {
    int c = strcmp(kp[i].key, kc[j].key);
    if (c == 0) {
      prev_matched[kp[i].idx] = true;
      cur_matched[kc[j].idx] = true;
      i++;
      j++;
    } else if (c < 0) {
      i++;
    } else {
      j++;
    }
  }
  for (size_t j = 0; j < nc; j++)
    if (!cur_matched[j] &&
        json_array_append(*added, json_array_get(cur, j)) != 0)
      goto out;
  for (size_t i = 0; i < np; i++)
    if (!prev_matched[i] &&
        json_array_append(*removed, json_array_get(prev, i)) != 0)
      goto out;
  rc = 0;
out:
  free_keys(kp, np);
  free_keys(kc, nc);
  free(cur_matched);
  free(prev_matched);
  if (rc != 0) {
    json_decref(*added);
    json_decref(*removed);
    *added = *removed = NULL;
  }
  return rc;
}

int osq_results_prepare(osq_store *s, const char *name, const char *sql,
                        uint64_t epoch, const json_t *rows, bool log_removed,
                        osq_diff_out *out) {
  memset(out, 0, sizeof *out);
  osq_stored_query q;
  int found = osq_store_get_query(s, name, &q);
  if (found < 0)
    return -1;
  json_t *prev = NULL;
  if (found) {
    json_error_t jerr;
    prev = json_loads(q.rows, 0, &jerr);
    if (!json_is_array(prev)) {
      /* A damaged entry starts a new epoch rather than stopping the query. */
      OSQ_WARN("Stored results for %s are unreadable, starting over", name);
      json_decref(prev);
      prev = NULL;
      found = 0;
    }
  }
  if (!found) {
    OSQ_INFO("Storing initial results for new scheduled query: %s", name);
    out->new_epoch = true;
  } else if (q.epoch != epoch) {
    OSQ_INFO("New Epoch %llu for scheduled query %s",
             (unsigned long long)epoch, name);
    out->new_epoch = true;
  } else if (strcmp(q.sql, sql) != 0) {
    OSQ_INFO("Scheduled query has been updated: %s", name);
    out->sql_changed = true;
  }
  int rc = 0;
  if (out->new_epoch) {
    out->added = json_deep_copy(rows);
    out->removed = json_array();
    out->counter = 0;
    out->store = true;
    out->log = true;
  } else {
    if (osq_diff_rows(prev, rows, &out->added, &out->removed) != 0) {
      rc = -1;
    } else if (json_array_size(out->added) || json_array_size(out->removed)) {
      out->store = true;
      out->counter = q.counter + 1;
      out->log = true;
    } else {
      out->counter = q.counter;
    }
  }
  if (rc == 0 && !log_removed && out->removed) {
    json_array_clear(out->removed);
    if (!out->new_epoch && json_array_size(out->added) == 0)
      out->log = false;
  }
  if (rc == 0 && (out->added == NULL || out->removed == NULL))
    rc = -1;
  json_decref(prev);
  if (found)
    osq_stored_query_free(&q);
  if (rc != 0)
    osq_diff_out_free(out);
  return rc;
}

int osq_results_commit(osq_store *s, const char *name, const char *sql,
                       uint64_t epoch, const json_t *rows,
                       const osq_diff_out *out) {
  if (out->store) {
    char *text = json_dumps(rows, JSON_COMPACT | JSON_ENCODE_ANY);
    if (text == NULL)
      return -1;
    int rc = osq_store_put_query(s, name, text, epoch, out->counter, sql);
    free(text);
    return rc;
  }
  if (out->sql_changed)
    return osq_store_set_query_sql(s, name, sql);
  return 0;
}

void osq_diff_out_free(osq_diff_out *out) {
  json_decref(out->added);
  json_decref(out->removed);
  out->added = out->removed = NULL;
}
