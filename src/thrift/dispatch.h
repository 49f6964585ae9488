/* Serving one osquery plugin call for a plugin that lives in this process:
 * the request map of a Thrift `call` in, an ExtensionResponse out
 * (docs/protocol.md §5). Shared by the core (its manager answers calls to
 * core plugins) and libosqext (an extension answers the core's calls).
 *
 * Routing a (registry, item) pair to a plugin is the caller's job; the
 * messages for unknown targets are here so both homes say the same.
 *
 * Thread-safe: any thread; one reply per call, owned by the caller. */
#ifndef OSQ_DISPATCH_H
#define OSQ_DISPATCH_H

#include "../plugin/kind.h"
#include "api.h"

/* Largest generate reply the dispatcher builds: what a Thrift >= 0.14 peer
 * reads by default (protocol.md §2.4). Past it, generate fails and says why. */
#define OSQ_DISPATCH_MAX_REPLY OSQ_THRIFT_DEFAULT_MAX_MESSAGE

/* Serve one call for plugin p. The reply's status is always set: code 0
 * "OK" with self_uuid on success, code 1 with a message naming the plugin
 * and the reason on failure (and then no rows). A logger's `features`
 * reply carries the feature bitmask as its code, as osquery expects.
 * Returns OSQ_OK, or OSQ_ENOMEM when even the failure reply could not be
 * built (the caller then answers with a Thrift exception). */
int osq_dispatch_call(const osq_plugin *p, const osq_strmap *request,
                      osq_api_reply *reply, int64_t self_uuid);

/* The same for the four plugin kinds without a registry entry (libosqext
 * keeps its plugins in its own handle). */
int osq_dispatch_table(const osq_table_plugin *t, const osq_strmap *request,
                       osq_api_reply *reply, int64_t self_uuid);
int osq_dispatch_config(const osq_config_plugin *c, const osq_strmap *request,
                        osq_api_reply *reply, int64_t self_uuid);
int osq_dispatch_logger(const osq_logger_plugin *l, const osq_strmap *request,
                        osq_api_reply *reply, int64_t self_uuid);
int osq_dispatch_distributed(const osq_distributed_plugin *d,
                             const osq_strmap *request, osq_api_reply *reply,
                             int64_t self_uuid);

/* A table's route info, as registered and as its `columns` action answers:
 * one {"id":"column","name","type","op"} per column in column order, one
 * {"id":"alias","alias"} per alias, then {"id":"attributes","attributes"}.
 * Appends to out. OSQ_OK or OSQ_ENOMEM. */
int osq_dispatch_route_info(const osq_table_plugin *t, osq_plist *out);

/* Failure replies for targets the caller could not resolve, with
 * osquery's wording: "Unknown registry requested: R" and "Cannot call
 * registry item: I". */
void osq_dispatch_unknown_registry(osq_api_reply *reply, const char *registry,
                                   int64_t self_uuid);
void osq_dispatch_unknown_item(osq_api_reply *reply, const char *item,
                               int64_t self_uuid);

/* Format a cell as osquery carries it: integers in decimal, doubles with
 * the shortest of %.15g/%.17g that reads back exactly, text and blobs
 * verbatim. For ints and doubles buf (>= 32 bytes) receives the text;
 * returns a pointer to the bytes and their count in *len, or NULL for a
 * NULL value. */
#define OSQ_DISPATCH_NUMBUF 32
const char *osq_dispatch_format(const osq_value *v, char *buf, size_t *len);

#endif
