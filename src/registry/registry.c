#include "registry.h"

#include "../core/grow.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OSQ_REGISTRY_MAX_LISTENERS 8

struct entry {
  osq_plugin pub; /* first: osq_plugin * and struct entry * convert */
  atomic_int refs;
};

struct registry {
  struct entry **items; /* sorted by name */
  size_t n, cap;
  char *active;
};

static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static struct registry regs[OSQ_REGISTRY_COUNT];
static atomic_uint_fast64_t generation;
static struct {
  osq_registry_listener fn;
  void *udata;
} listeners[OSQ_REGISTRY_MAX_LISTENERS];
static atomic_int nlisteners;

void osq_plugin_release(const osq_plugin *p) {
  if (p == NULL)
    return;
  struct entry *e = (struct entry *)p;
  if (atomic_fetch_sub(&e->refs, 1) == 1) {
    osq_plugin_destroy_of(p->kind, p->u.any);
    free(e);
  }
}

/* Binary search; *pos gets the insertion point. Caller holds the lock. */
static struct entry *find(struct registry *r, const char *name, size_t *pos) {
  size_t lo = 0, hi = r->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = strcmp(r->items[mid]->pub.name, name);
    if (c == 0) {
      if (pos)
        *pos = mid;
      return r->items[mid];
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (pos)
    *pos = lo;
  return NULL;
}

static void notify(osq_registry_kind kind, const char *name, bool added) {
  int n = atomic_load(&nlisteners);
  for (int i = 0; i < n; i++)
    listeners[i].fn(kind, name, added, listeners[i].udata);
}

int osq_registry_add_all(const osq_plugin_spec *specs, size_t n, char *err,
                         size_t errlen) {
  struct entry **made = calloc(n ? n : 1, sizeof *made);
  if (made == NULL)
    return OSQ_ENOMEM;
  int rc = OSQ_OK;
  for (size_t i = 0; i < n; i++) {
    const char *name = osq_plugin_name_of(specs[i].kind, specs[i].plugin);
    if (name == NULL || name[0] == '\0') {
      snprintf(err, errlen, "Plugin without a name in registry %s",
               osq_registry_name(specs[i].kind));
      rc = OSQ_EINVAL;
      goto fail;
    }
    made[i] = calloc(1, sizeof **made);
    if (made[i] == NULL) {
      rc = OSQ_ENOMEM;
      goto fail;
    }
    made[i]->pub = (osq_plugin){.kind = specs[i].kind,
                                .name = name,
                                .owner = specs[i].owner,
                                .internal = specs[i].internal,
                                .u.any = specs[i].plugin};
    atomic_init(&made[i]->refs, 1);
  }
  pthread_rwlock_wrlock(&lock);
  /* Check every name first, against the registry and within the batch,
   * so the batch is added whole or not at all. */
  for (size_t i = 0; i < n; i++) {
    struct registry *r = &regs[specs[i].kind];
    bool clash = find(r, made[i]->pub.name, NULL) != NULL;
    for (size_t j = 0; j < i && !clash; j++)
      clash = specs[j].kind == specs[i].kind &&
              strcmp(made[j]->pub.name, made[i]->pub.name) == 0;
    if (clash) {
      snprintf(err, errlen,
               "Registry item %s conflicts with another item of the same "
               "name.",
               made[i]->pub.name);
      rc = OSQ_EEXIST;
      break;
    }
    size_t need = r->n + 1;
    for (size_t j = 0; j < i; j++)
      need += specs[j].kind == specs[i].kind;
    if (osq_grow(&r->items, &r->cap, need, sizeof *r->items, 32, 0) !=
        OSQ_OK) {
      rc = OSQ_ENOMEM;
      break;
    }
  }
  if (rc == OSQ_OK) {
    for (size_t i = 0; i < n; i++) {
      struct registry *r = &regs[specs[i].kind];
      size_t pos;
      find(r, made[i]->pub.name, &pos);
      memmove(&r->items[pos + 1], &r->items[pos],
              (r->n - pos) * sizeof *r->items);
      r->items[pos] = made[i];
      r->n++;
    }
    atomic_fetch_add(&generation, 1);
  }
  pthread_rwlock_unlock(&lock);
  if (rc != OSQ_OK)
    goto fail;
  for (size_t i = 0; i < n; i++)
    notify(specs[i].kind, made[i]->pub.name, true);
  free(made);
  return OSQ_OK;
fail:
  for (size_t i = 0; i < n; i++)
    free(made[i]); /* never published: no destroy() */
  free(made);
  return rc;
}

int osq_registry_add(osq_registry_kind kind, const void *plugin,
                     uint64_t owner, bool internal, char *err, size_t errlen) {
  osq_plugin_spec s = {kind, plugin, owner, internal};
  return osq_registry_add_all(&s, 1, err, errlen);
}

/* Caller holds the write lock; returns the entry (the caller releases it). */
static struct entry *unlink_at(struct registry *r, size_t pos) {
  struct entry *e = r->items[pos];
  memmove(&r->items[pos], &r->items[pos + 1],
          (r->n - pos - 1) * sizeof *r->items);
  r->n--;
  return e;
}

static void release_removed(struct entry *e) {
  notify(e->pub.kind, e->pub.name, false);
  osq_plugin_release(&e->pub);
}

int osq_registry_remove(osq_registry_kind kind, const char *name) {
  if ((unsigned)kind >= OSQ_REGISTRY_COUNT)
    return OSQ_EINVAL;
  size_t pos;
  pthread_rwlock_wrlock(&lock);
  struct entry *e = find(&regs[kind], name, &pos);
  if (e) {
    unlink_at(&regs[kind], pos);
    atomic_fetch_add(&generation, 1);
  }
  pthread_rwlock_unlock(&lock);
  if (e == NULL)
    return OSQ_ENOTFOUND;
  release_removed(e);
  return OSQ_OK;
}

size_t osq_registry_remove_owner(uint64_t owner) {
  struct entry **gone = NULL;
  size_t ngone = 0, cap = 0;
  pthread_rwlock_wrlock(&lock);
  for (int k = 0; k < OSQ_REGISTRY_COUNT; k++) {
    struct registry *r = &regs[k];
    for (size_t i = 0; i < r->n;) {
      if (r->items[i]->pub.owner != owner) {
        i++;
        continue;
      }
      /* on failure leave the rest registered rather than leak them */
      if (osq_grow(&gone, &cap, ngone + 1, sizeof *gone, 16, 0) != OSQ_OK)
        break;
      gone[ngone++] = unlink_at(r, i);
    }
  }
  if (ngone)
    atomic_fetch_add(&generation, 1);
  pthread_rwlock_unlock(&lock);
  for (size_t i = 0; i < ngone; i++)
    release_removed(gone[i]);
  free(gone);
  return ngone;
}

const osq_plugin *osq_registry_get(osq_registry_kind kind, const char *name) {
  if ((unsigned)kind >= OSQ_REGISTRY_COUNT || name == NULL)
    return NULL;
  pthread_rwlock_rdlock(&lock);
  struct entry *e = find(&regs[kind], name, NULL);
  if (e)
    atomic_fetch_add(&e->refs, 1);
  pthread_rwlock_unlock(&lock);
  return e ? &e->pub : NULL;
}

bool osq_registry_exists(osq_registry_kind kind, const char *name) {
  const osq_plugin *p = osq_registry_get(kind, name);
  osq_plugin_release(p);
  return p != NULL;
}

size_t osq_registry_list(osq_registry_kind kind, const osq_plugin ***out) {
  *out = NULL;
  if ((unsigned)kind >= OSQ_REGISTRY_COUNT)
    return 0;
  pthread_rwlock_rdlock(&lock);
  struct registry *r = &regs[kind];
  const osq_plugin **list = malloc((r->n ? r->n : 1) * sizeof *list);
  size_t n = 0;
  if (list) {
    for (; n < r->n; n++) {
      atomic_fetch_add(&r->items[n]->refs, 1);
      list[n] = &r->items[n]->pub;
    }
  }
  pthread_rwlock_unlock(&lock);
  *out = list;
  return n;
}

void osq_registry_list_free(const osq_plugin **list, size_t n) {
  for (size_t i = 0; i < n; i++)
    osq_plugin_release(list[i]);
  free(list);
}

uint64_t osq_registry_generation(void) { return atomic_load(&generation); }

void osq_registry_set_active(osq_registry_kind kind, const char *active) {
  if ((unsigned)kind >= OSQ_REGISTRY_COUNT)
    return;
  char *copy = (active && *active) ? strdup(active) : NULL;
  pthread_rwlock_wrlock(&lock);
  free(regs[kind].active);
  regs[kind].active = copy;
  pthread_rwlock_unlock(&lock);
}

char *osq_registry_active(osq_registry_kind kind) {
  if ((unsigned)kind >= OSQ_REGISTRY_COUNT)
    return NULL;
  pthread_rwlock_rdlock(&lock);
  char *copy = regs[kind].active ? strdup(regs[kind].active) : NULL;
  pthread_rwlock_unlock(&lock);
  return copy;
}

bool osq_registry_is_active(osq_registry_kind kind, const char *name) {
  char *active = osq_registry_active(kind);
  if (active == NULL)
    return true; /* no active plugin set: osquery shows all as active */
  bool hit = false;
  size_t len = strlen(name);
  for (char *p = active; *p && !hit;) {
    size_t n = strcspn(p, ",");
    hit = n == len && strncmp(p, name, n) == 0;
    p += n;
    if (*p == ',')
      p++;
  }
  free(active);
  return hit;
}

void osq_registry_listen(osq_registry_listener fn, void *udata) {
  int i = atomic_load(&nlisteners);
  if (i >= OSQ_REGISTRY_MAX_LISTENERS)
    return;
  listeners[i].fn = fn;
  listeners[i].udata = udata;
  atomic_store(&nlisteners, i + 1);
}

void osq_registry_reset(void) {
  for (int k = 0; k < OSQ_REGISTRY_COUNT; k++) {
    pthread_rwlock_wrlock(&lock);
    struct registry r = regs[k];
    memset(&regs[k], 0, sizeof regs[k]);
    atomic_fetch_add(&generation, 1);
    pthread_rwlock_unlock(&lock);
    for (size_t i = 0; i < r.n; i++)
      osq_plugin_release(&r.items[i]->pub);
    free(r.items);
    free(r.active);
  }
  atomic_store(&nlisteners, 0);
}
