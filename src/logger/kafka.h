/* The "kafka_producer" logger plugin: result and snapshot lines to Kafka
 * topics through librdkafka, as osquery's plugin of that name does
 * (docs/daemon.md, "Kafka logger").
 *
 * librdkafka is loaded with dlopen when the plugin is initialised, so a
 * process that never uses this logger never maps it.
 *
 * Threads: set_topics and shutdown on the main thread; logging: any
 * thread. */
#ifndef OSQ_LOGGER_KAFKA_H
#define OSQ_LOGGER_KAFKA_H

#include <jansson.h>
#include <stddef.h>

#include <osq/plugin.h>

extern const osq_logger_plugin osq_logger_kafka;

/* The config's "kafka_topics" object (topic name -> array of query
 * names), read when the plugin is initialised; NULL: none. Copied. */
void osq_kafka_set_topics(const json_t *topics);

/* Deliver what is in flight, waiting at most timeout_ms, then close the
 * producer. The number of messages left undelivered. */
size_t osq_kafka_shutdown(int timeout_ms);

#endif
