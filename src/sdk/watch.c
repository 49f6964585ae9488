/* Watching the core every --interval, as osquery's C++ SDK does (protocol.md
 * §4.7): the core's socket gone means the core stopped (exit 0); our uuid
 * missing from extensions() means the core dropped us, silently, after a
 * failed health check (exit 1: a supervisor restarts and re-registers us,
 * which beats staying alive but invisible). */
#include "sdk.h"

#include "core/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static bool socket_present(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISSOCK(st.st_mode) &&
         access(path, W_OK) == 0;
}

/* 1: listed, 0: not listed, <0: could not ask (msg says why). */
static int listed(osq_extension *ext, osq_tconn **conn, char *msg,
                  size_t msglen) {
  int rc = OSQ_OK;
  if (*conn != NULL && osq_tconn_stale(*conn)) {
    osq_tconn_close(*conn);
    *conn = NULL;
  }
  if (*conn == NULL) {
    *conn = osq_tconn_connect(ext->args.socket, OSQ_SDK_CONNECT_MS, &rc);
    if (*conn == NULL) {
      snprintf(msg, msglen, "cannot connect: %s", osq_strerror(rc));
      return rc ? rc : OSQ_EIO;
    }
  }
  osq_tconn_set_deadline(*conn, osq_now_ms() + OSQ_SDK_CONNECT_MS);
  osq_ext_list list = {0};
  rc = osq_api_extensions(*conn, &list, msg, msglen);
  if (rc != OSQ_OK) {
    osq_tconn_close(*conn);
    *conn = NULL;
    return rc;
  }
  int64_t uuid = atomic_load(&ext->uuid);
  int found = 0;
  for (size_t i = 0; i < list.n; i++)
    if (list.items[i].uuid == uuid)
      found = 1;
  osq_ext_list_clear(&list);
  return found;
}

/* Wait one interval; false when told to quit. */
static bool wait_interval(osq_extension *ext, int64_t ms) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_sec += ms / 1000;
  ts.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&ext->lock);
  while (!ext->watcher_quit &&
         pthread_cond_timedwait(&ext->watcher_cond, &ext->lock, &ts) !=
             ETIMEDOUT)
    ;
  bool go_on = !ext->watcher_quit;
  pthread_mutex_unlock(&ext->lock);
  return go_on;
}

static void *watch_main(void *arg) {
  osq_extension *ext = arg;
  int64_t ms = (int64_t)(ext->args.interval * 1000);
  if (ms < 200)
    ms = 200; /* osquery's floor */
  osq_tconn *conn = NULL;
  int failures = 0;
  while (wait_interval(ext, ms)) {
    if (!socket_present(ext->args.socket)) {
      osq_sdk_request_stop(ext, 0, false,
                           "the osquery core has gone away (%s is gone)",
                           ext->args.socket);
      break;
    }
    char msg[256] = "";
    int r = listed(ext, &conn, msg, sizeof msg);
    if (r == 1) {
      failures = 0;
      continue;
    }
    if (r == 0) {
      osq_sdk_request_stop(ext, 1, false,
                           "extension %s (uuid %lld) is no longer registered "
                           "with the osquery core",
                           ext->name, (long long)atomic_load(&ext->uuid));
      break;
    }
    /* One failed check may be the core stopping: look again next time
     * before giving up (the socket check then says it has gone). */
    if (++failures >= 2) {
      osq_sdk_request_stop(ext, 1, false,
                           "cannot get the extension list from the osquery "
                           "core at %s: %s",
                           ext->args.socket, msg);
      break;
    }
    OSQ_VLOG("checking the osquery core failed (%s); retrying", msg);
  }
  if (conn)
    osq_tconn_close(conn);
  return NULL;
}

int osq_sdk_watch_start(osq_extension *ext) {
  ext->watcher_quit = false;
  if (pthread_create(&ext->watcher, NULL, watch_main, ext) != 0)
    return OSQ_ENOMEM;
  ext->watcher_started = true;
  return OSQ_OK;
}

void osq_sdk_watch_stop(osq_extension *ext) {
  if (!ext->watcher_started)
    return;
  pthread_mutex_lock(&ext->lock);
  ext->watcher_quit = true;
  pthread_cond_broadcast(&ext->watcher_cond);
  pthread_mutex_unlock(&ext->lock);
  pthread_join(ext->watcher, NULL);
  ext->watcher_started = false;
}
