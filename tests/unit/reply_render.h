/* Test helper: an ExtensionResponse built by the dispatcher, as text.
 * Include after cmocka and thrift/dispatch.h. */
#ifndef OSQ_TEST_REPLY_RENDER_H
#define OSQ_TEST_REPLY_RENDER_H

/* Render the reply as text: "code|message|uuid" then one line per row,
 * "k=v,k=v" in wire order. */
static char *render(osq_api_reply *r) {
  size_t cap = 1 << 16, len = 0;
  char *out = malloc(cap);
  len += (size_t)snprintf(out + len, cap - len, "%d|%s|%lld",
                          (int)r->status.code,
                          r->status.message ? r->status.message : "",
                          (long long)r->status.uuid);
  osq_treader rd;
  osq_tr_init_mem(&rd, r->rows.buf, r->rows.len, 1 << 26);
  for (size_t i = 0; i < r->nrows; i++) {
    int kt, vt;
    int32_t n;
    assert_int_equal(osq_tr_map_begin(&rd, &kt, &vt, &n), OSQ_OK);
    len += (size_t)snprintf(out + len, cap - len, "\n");
    for (int32_t j = 0; j < n; j++) {
      char *k, *v;
      size_t kl, vl;
      assert_int_equal(osq_tr_string(&rd, &k, &kl), OSQ_OK);
      assert_int_equal(osq_tr_string(&rd, &v, &vl), OSQ_OK);
      len += (size_t)snprintf(out + len, cap - len, "%s%s=%s", j ? "," : "",
                              k, v);
      free(k);
      free(v);
    }
  }
  osq_tr_free(&rd);
  return out;
}

#endif
