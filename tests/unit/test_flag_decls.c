/* The flag declarations (flag_list.def) and the typed readers: every
 * osquery flag is declared with osquery's type, a sample of defaults, the
 * typed and by-name readers agree, and setting a flag osq does not
 * implement is reported once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/flags.h"

/* osquery 5's flags (the Linux build's, hidden ones, the glog flags its
 * command line accepts, and other platforms' flags) with osquery's gflags
 * type. */
static const struct {
  const char *name, *type;
} osquery_flags[] = {
    {"A", "string"},
    {"D", "bool"},
    {"L", "bool"},
    {"S", "bool"},
    {"alarm_timeout", "uint64"},
    {"allow_unsafe", "bool"},
    {"alsologtostderr", "bool"},
    {"audit_allow_accept_socket_events", "bool"},
    {"audit_allow_apparmor_events", "bool"},
    {"audit_allow_config", "bool"},
    {"audit_allow_failed_socket_events", "bool"},
    {"audit_allow_fim_events", "bool"},
    {"audit_allow_fork_process_events", "bool"},
    {"audit_allow_kill_process_events", "bool"},
    {"audit_allow_null_accept_socket_events", "bool"},
    {"audit_allow_process_events", "bool"},
    {"audit_allow_seccomp_events", "bool"},
    {"audit_allow_selinux_events", "bool"},
    {"audit_allow_sockets", "bool"},
    {"audit_allow_user_events", "bool"},
    {"audit_backlog_limit", "int32"},
    {"audit_backlog_wait_time", "int32"},
    {"audit_debug", "bool"},
    {"audit_fim_debug", "bool"},
    {"audit_fim_show_accesses", "bool"},
    {"audit_force_reconfigure", "bool"},
    {"audit_force_unconfigure", "bool"},
    {"audit_persist", "bool"},
    {"audit_show_partial_fim_events", "bool"},
    {"audit_show_untracked_res_warnings", "bool"},
    {"augeas_lenses", "string"},
    {"aws_access_key_id", "string"},
    {"aws_debug", "bool"},
    {"aws_disable_imdsv1_fallback", "bool"},
    {"aws_enable_proxy", "bool"},
    {"aws_enforce_fips", "bool"},
    {"aws_firehose_endpoint", "string"},
    {"aws_firehose_period", "uint64"},
    {"aws_firehose_region", "string"},
    {"aws_firehose_stream", "string"},
    {"aws_imdsv2_request_attempts", "uint32"},
    {"aws_imdsv2_request_interval", "uint32"},
    {"aws_kinesis_disable_log_status", "bool"},
    {"aws_kinesis_endpoint", "string"},
    {"aws_kinesis_period", "uint64"},
    {"aws_kinesis_random_partition_key", "bool"},
    {"aws_kinesis_region", "string"},
    {"aws_kinesis_stream", "string"},
    {"aws_profile_name", "string"},
    {"aws_proxy_host", "string"},
    {"aws_proxy_password", "string"},
    {"aws_proxy_port", "uint32"},
    {"aws_proxy_scheme", "string"},
    {"aws_proxy_username", "string"},
    {"aws_region", "string"},
    {"aws_secret_access_key", "string"},
    {"aws_session_token", "string"},
    {"aws_sts_arn_role", "string"},
    {"aws_sts_region", "string"},
    {"aws_sts_session_name", "string"},
    {"aws_sts_timeout", "uint64"},
    {"bpf_buffer_storage_size", "uint64"},
    {"bpf_perf_event_array_exp", "uint64"},
    {"bpf_state_tracker_reset_time", "uint32"},
    {"buffered_log_max", "uint64"},
    {"carver_block_size", "uint32"},
    {"carver_compression", "bool"},
    {"carver_continue_endpoint", "string"},
    {"carver_disable_function", "bool"},
    {"carver_expiry", "uint32"},
    {"carver_start_endpoint", "string"},
    {"config_accelerated_refresh", "uint64"},
    {"config_check", "bool"},
    {"config_dump", "bool"},
    {"config_enable_backup", "bool"},
    {"config_path", "string"},
    {"config_plugin", "string"},
    {"config_refresh", "uint64"},
    {"config_tls_endpoint", "string"},
    {"config_tls_max_attempts", "uint64"},
    {"connect", "string"},
    {"csv", "bool"},
    {"daemonize", "bool"},
    {"database_dump", "bool"},
    {"database_path", "string"},
    {"decorations_top_level", "bool"},
    {"disable_audit", "bool"},
    {"disable_caching", "bool"},
    {"disable_carver", "bool"},
    {"disable_database", "bool"},
    {"disable_decorators", "bool"},
    {"disable_distributed", "bool"},
    {"disable_endpointsecurity", "bool"},
    {"disable_endpointsecurity_fim", "bool"},
    {"disable_enrollment", "bool"},
    {"disable_events", "bool"},
    {"disable_extensions", "bool"},
    {"disable_hash_cache", "bool"},
    {"disable_logging", "bool"},
    {"disable_memory", "bool"},
    {"disable_reenrollment", "bool"},
    {"disable_tables", "string"},
    {"disable_watchdog", "bool"},
    {"distributed_denylist_duration", "uint64"},
    {"distributed_interval", "uint64"},
    {"distributed_loginfo", "bool"},
    {"distributed_plugin", "string"},
    {"distributed_tls_max_attempts", "uint64"},
    {"distributed_tls_read_endpoint", "string"},
    {"distributed_tls_write_endpoint", "string"},
    {"docker_socket", "string"},
    {"enable_bpf_events", "bool"},
    {"enable_extensions_watchdog", "bool"},
    {"enable_file_events", "bool"},
    {"enable_foreign", "bool"},
    {"enable_keyboard_events", "bool"},
    {"enable_mouse_events", "bool"},
    {"enable_ntfs_event_publisher", "bool"},
    {"enable_numeric_monitoring", "bool"},
    {"enable_powershell_events_subscriber", "bool"},
    {"enable_process_etw_events", "bool"},
    {"enable_syslog", "bool"},
    {"enable_tables", "string"},
    {"enable_watchdog_debug", "bool"},
    {"enable_windows_events_publisher", "bool"},
    {"enable_windows_events_subscriber", "bool"},
    {"enroll_always", "bool"},
    {"enroll_secret_env", "string"},
    {"enroll_secret_path", "string"},
    {"enroll_tls_endpoint", "string"},
    {"ephemeral", "bool"},
    {"es_fim_enable_open_events", "bool"},
    {"es_fim_mute_path_literal", "string"},
    {"es_fim_mute_path_prefix", "string"},
    {"etw_kernel_trace_buffer_size", "uint32"},
    {"etw_kernel_trace_flush_timer", "uint32"},
    {"etw_kernel_trace_maximum_buffers", "uint32"},
    {"etw_kernel_trace_minimum_buffers", "uint32"},
    {"etw_userspace_trace_buffer_size", "uint32"},
    {"etw_userspace_trace_flush_timer", "uint32"},
    {"etw_userspace_trace_maximum_buffers", "uint32"},
    {"etw_userspace_trace_minimum_buffers", "uint32"},
    {"events_expiry", "uint64"},
    {"events_max", "uint64"},
    {"events_optimize", "bool"},
    {"events_streaming_plugin", "string"},
    {"experiment_list", "string"},
    {"experiments_linuxevents_circular_buffer_size", "uint32"},
    {"experiments_linuxevents_perf_output_size", "uint32"},
    {"extension", "string"},
    {"extensions_autoload", "string"},
    {"extensions_default_index", "bool"},
    {"extensions_interval", "string"},
    {"extensions_require", "string"},
    {"extensions_socket", "string"},
    {"extensions_timeout", "string"},
    {"force", "bool"},
    {"groups_service_delay", "uint64"},
    {"groups_service_interval", "uint64"},
    {"hardware_disabled_types", "string"},
    {"hash_cache_max", "uint32"},
    {"hash_delay", "uint32"},
    {"header", "bool"},
    {"host_identifier", "string"},
    {"ignore_registry_exceptions", "bool"},
    {"ignore_table_exceptions", "bool"},
    {"install", "bool"},
    {"json", "bool"},
    {"json_pretty", "bool"},
    {"keep_container_worker_open", "bool"},
    {"keychain_access_cache", "bool"},
    {"keychain_access_interval", "uint32"},
    {"line", "bool"},
    {"list", "bool"},
    {"log_dir", "string"},
    {"logbufsecs", "int32"},
    {"logger_event_type", "bool"},
    {"logger_kafka_acks", "string"},
    {"logger_kafka_brokers", "string"},
    {"logger_kafka_compression", "string"},
    {"logger_kafka_topic", "string"},
    {"logger_min_status", "int32"},
    {"logger_min_stderr", "int32"},
    {"logger_mode", "string"},
    {"logger_numerics", "bool"},
    {"logger_path", "string"},
    {"logger_plugin", "string"},
    {"logger_rotate", "bool"},
    {"logger_rotate_max_files", "uint64"},
    {"logger_rotate_size", "uint64"},
    {"logger_snapshot_event_type", "bool"},
    {"logger_status_sync", "bool"},
    {"logger_stderr", "bool"},
    {"logger_syslog_facility", "int32"},
    {"logger_syslog_prepend_cee", "bool"},
    {"logger_tls_compress", "bool"},
    {"logger_tls_endpoint", "string"},
    {"logger_tls_max_lines", "uint64"},
    {"logger_tls_max_linesize", "uint64"},
    {"logger_tls_period", "uint64"},
    {"logtostderr", "bool"},
    {"lxd_socket", "string"},
    {"malloc_trim_threshold", "uint64"},
    {"max_log_size", "int32"},
    {"minloglevel", "int32"},
    {"ntfs_event_publisher_debug", "bool"},
    {"nullvalue", "string"},
    {"numeric_monitoring_filesystem_path", "string"},
    {"numeric_monitoring_plugins", "string"},
    {"numeric_monitoring_pre_aggregation_time", "uint64"},
    {"pack", "string"},
    {"pack_delimiter", "string"},
    {"pack_refresh_interval", "uint64"},
    {"pidfile", "string"},
    {"planner", "bool"},
    {"profile", "int32"},
    {"profile_delay", "int32"},
    {"proxy_hostname", "string"},
    {"read_max", "uint64"},
    {"rocksdb_background_flushes", "int32"},
    {"rocksdb_buffer_blocks", "int32"},
    {"rocksdb_max_bgerror_resume_count", "int32"},
    {"rocksdb_merge_number", "int32"},
    {"rocksdb_write_buffer", "int32"},
    {"schedule_default_interval", "uint64"},
    {"schedule_epoch", "uint64"},
    {"schedule_lognames", "bool"},
    {"schedule_max_drift", "uint64"},
    {"schedule_reload", "uint64"},
    {"schedule_reload_sql", "bool"},
    {"schedule_splay_percent", "uint64"},
    {"schedule_timeout", "uint64"},
    {"separator", "string"},
    {"specified_identifier", "string"},
    {"stderrthreshold", "int32"},
    {"stop_logging_if_full_disk", "bool"},
    {"syslog_events_expiry", "uint64"},
    {"syslog_events_max", "uint64"},
    {"syslog_pipe_path", "string"},
    {"syslog_rate_limit", "uint64"},
    {"table_delay", "uint64"},
    {"thrift_string_size_limit", "uint32"},
    {"thrift_timeout", "uint32"},
    {"thrift_verbose", "bool"},
    {"tls_client_cert", "string"},
    {"tls_client_key", "string"},
    {"tls_disable_status_log", "bool"},
    {"tls_dump", "bool"},
    {"tls_enroll_max_attempts", "uint64"},
    {"tls_enroll_max_interval", "uint64"},
    {"tls_enroll_override", "string"},
    {"tls_hostname", "string"},
    {"tls_node_api", "bool"},
    {"tls_secret_always", "bool"},
    {"tls_server_certs", "string"},
    {"tls_session_reuse", "bool"},
    {"tls_session_timeout", "uint32"},
    {"uninstall", "bool"},
    {"users_service_delay", "uint64"},
    {"users_service_interval", "uint64"},
    {"usn_journal_reader_debug", "bool"},
    {"utc", "bool"},
    {"verbose", "bool"},
    {"watchdog_delay", "uint64"},
    {"watchdog_forced_shutdown_delay", "uint64"},
    {"watchdog_latency_limit", "uint64"},
    {"watchdog_level", "int32"},
    {"watchdog_max_delay", "uint64"},
    {"watchdog_memory_limit", "uint64"},
    {"watchdog_utilization_limit", "uint64"},
    {"windows_event_channels", "string"},
    {"worker_threads", "int32"},
    {"yara_delay", "uint32"},
    {"yara_sigurl_authenticate", "bool"},
};

static const osq_flag_info *find(osq_flag_info *list, size_t n,
                                 const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(list[i].name, name) == 0)
      return &list[i];
  return NULL;
}

static void test_every_osquery_flag_declared(void **state) {
  (void)state;
  osq_flags_init(OSQ_PERSONALITY_DAEMON);
  osq_flag_info *list = NULL;
  size_t n = osq_flags_list(&list);
  size_t count = sizeof osquery_flags / sizeof osquery_flags[0];
  assert_true(count >= 270);
  for (size_t i = 0; i < count; i++) {
    const osq_flag_info *f = find(list, n, osquery_flags[i].name);
    if (f == NULL)
      fail_msg("osquery flag --%s is not declared", osquery_flags[i].name);
    if (strcmp(f->type, osquery_flags[i].type) != 0)
      fail_msg("--%s is %s, osquery's is %s", f->name, f->type,
               osquery_flags[i].type);
    assert_true(osq_flag_exists(osquery_flags[i].name));
  }
  free(list);
}

static void test_sample_defaults(void **state) {
  (void)state;
  osq_flags_init(OSQ_PERSONALITY_DAEMON);
  assert_int_equal(OSQ_FLAG_UINT(tls_session_timeout), 3600);
  assert_true(OSQ_FLAG_BOOL(tls_session_reuse));
  assert_int_equal(OSQ_FLAG_UINT(logger_tls_period), 4);
  assert_int_equal(OSQ_FLAG_UINT(logger_tls_max_linesize), 1048576);
  assert_true(OSQ_FLAG_BOOL(disable_audit));
  assert_true(OSQ_FLAG_BOOL(disable_carver));
  assert_string_equal(OSQ_FLAG_STR(aws_sts_session_name), "default");
  assert_string_equal(OSQ_FLAG_STR(logger_kafka_acks), "all");
  assert_string_equal(OSQ_FLAG_STR(hardware_disabled_types), "partition");
  assert_int_equal(OSQ_FLAG_INT(audit_backlog_limit), 4096);
  assert_int_equal(OSQ_FLAG_INT(watchdog_level), 0);
  assert_int_equal(OSQ_FLAG_UINT(events_expiry), 3600);
  assert_int_equal(OSQ_FLAG_UINT(schedule_splay_percent), 10);
  assert_false(OSQ_FLAG_BOOL(enable_foreign));
  assert_false(OSQ_FLAG_BOOL(ignore_registry_exceptions));
  /* osq's own paths where osquery's are under /var/osquery */
  assert_string_equal(OSQ_FLAG_STR(extensions_socket), "/var/osq/osq.em");
  assert_string_equal(OSQ_FLAG_STR(syslog_pipe_path), "/var/osq/syslog_pipe");
}

static void test_typed_and_by_name_agree(void **state) {
  (void)state;
  osq_flags_init(OSQ_PERSONALITY_DAEMON);
  char err[256];
  assert_int_equal(OSQ_FLAG_SET(watchdog_level, "-1", err, sizeof err), 0);
  assert_int_equal(OSQ_FLAG_INT(watchdog_level), -1);
  assert_int_equal(osq_flag_int_by_name("watchdog_level"), -1);
  assert_true(OSQ_FLAG_WAS_SET(watchdog_level));
  assert_false(OSQ_FLAG_IS_DEFAULT(watchdog_level));
  const char *by_name = "read_max"; /* as config "options" name it */
  assert_int_equal(osq_flag_set(by_name, "1024", err, sizeof err), 0);
  assert_int_equal(OSQ_FLAG_UINT(read_max), 1024);
  assert_true(osq_flag_double_by_name("read_max") == 1024.0);
  assert_int_equal(OSQ_FLAG_SET(verbose, "yes", err, sizeof err), 0);
  assert_true(OSQ_FLAG_BOOL(verbose));
  assert_string_equal(osq_flag_str_by_name("verbose"), "true");
  /* a typed set validates as the by-name one does */
  assert_int_equal(OSQ_FLAG_SET(read_max, "-5", err, sizeof err), -1);
  assert_non_null(strstr(err, "uint64 flag 'read_max'"));
  assert_string_equal(osq_flag_name(OSQ_FLAG_ID(read_max)), "read_max");
  /* a default changed before the flag is set (personalities) */
  OSQ_FLAG_SET_DEFAULT(pack_delimiter, "/");
  assert_string_equal(OSQ_FLAG_STR(pack_delimiter), "/");
  assert_true(OSQ_FLAG_IS_DEFAULT(pack_delimiter));
  assert_false(OSQ_FLAG_WAS_SET(pack_delimiter));
}

static void test_personality_defaults(void **state) {
  (void)state;
  osq_flags_init(OSQ_PERSONALITY_SHELL);
  assert_true(OSQ_FLAG_BOOL(disable_events));
  assert_int_equal(OSQ_FLAG_UINT(hash_delay), 0);
  osq_flags_init(OSQ_PERSONALITY_DAEMON);
  assert_false(OSQ_FLAG_BOOL(disable_events));
  assert_int_equal(OSQ_FLAG_UINT(hash_delay), 20);
}

/* An extension's own flags re-sort the table: the typed readers still
 * find the built-in ones. */
static void test_defined_flags_keep_ids(void **state) {
  (void)state;
  static const osq_flag_def mine[] = {
      {"aaa_first", OSQ_FT_STRING, "a", 0, "sorts first", false},
      {"zzz_last", OSQ_FT_BOOL, "true", 0, "sorts last", false},
  };
  osq_flags_init(OSQ_PERSONALITY_EXTENSION);
  osq_flags_define(mine, 2);
  char err[256];
  assert_int_equal(OSQ_FLAG_SET(logger_path, "/tmp/lp", err, sizeof err), 0);
  assert_string_equal(OSQ_FLAG_STR(logger_path), "/tmp/lp");
  assert_string_equal(osq_flag_str_by_name("logger_path"), "/tmp/lp");
  assert_string_equal(osq_flag_str_by_name("aaa_first"), "a");
  assert_true(osq_flag_bool_by_name("zzz_last"));
  assert_string_equal(OSQ_FLAG_STR(config_plugin), "filesystem");
}

static void test_unimplemented_warned_once(void **state) {
  (void)state;
  osq_flags_init(OSQ_PERSONALITY_SHELL);
  char buf[4096] = {0};
  FILE *err = fmemopen(buf, sizeof buf - 1, "w");
  char *argv[] = {"osqi",      "--aws_firehose_stream=fleet.example",
                  "--verbose", "--aws_kinesis_period",
                  "7",         "--aws_debug"    ,
                  "select 1",  NULL};
  int argc = 7;
  assert_int_equal(osq_flags_parse(&argc, argv, NULL, stdout, err),
                   OSQ_FLAGS_CONTINUE);
  assert_int_equal(argc, 2);
  osq_flags_warn_unimplemented(err); /* nothing new: no second line */
  fclose(err);
  const char *line = strstr(buf, "not implemented by osq");
  assert_non_null(line);
  assert_null(strstr(line + 1, "not implemented by osq"));
  assert_non_null(
      strstr(buf, "--aws_debug, --aws_firehose_stream, --aws_kinesis_period\n"));
  assert_null(strstr(buf, "--verbose"));
  /* the values are kept and type-checked */
  assert_int_equal(OSQ_FLAG_UINT(aws_kinesis_period), 7);
  assert_string_equal(OSQ_FLAG_STR(aws_firehose_stream), "fleet.example");
  /* a flag set later (config "options") is named once, by itself */
  char msg[256], names[256];
  const char *option = "disable_memory";
  assert_int_equal(osq_flag_set(option, "true", msg, sizeof msg), 0);
  assert_int_equal(osq_flags_take_unimplemented(names, sizeof names), 1);
  assert_string_equal(names, "--disable_memory");
  assert_int_equal(osq_flags_take_unimplemented(names, sizeof names), 0);
  assert_string_equal(names, "");
  osq_flag_info *list = NULL;
  size_t n = osq_flags_list(&list);
  assert_true(find(list, n, "aws_firehose_stream")->unimplemented);
  assert_false(find(list, n, "verbose")->unimplemented);
  free(list);
}

static void test_help_lists_implemented_only(void **state) {
  (void)state;
  osq_flags_init(OSQ_PERSONALITY_DAEMON);
  size_t cap = 1 << 16;
  char *out = calloc(1, cap);
  FILE *o = fmemopen(out, cap - 1, "w");
  osq_flags_usage(o, "osqd");
  fclose(o);
  assert_non_null(strstr(out, "--config_path VALUE"));
  assert_null(strstr(out, "--aws_firehose_stream"));
  assert_non_null(strstr(out, "more osquery flags are accepted but not "
                              "implemented"));
  free(out);
}

static void test_flagfile_recorded(void **state) {
  (void)state;
  osq_flags_init(OSQ_PERSONALITY_SHELL);
  char path[] = "/tmp/osq_flagfile_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  FILE *f = fdopen(fd, "w");
  fputs("--verbose\n", f);
  fclose(f);
  char *argv[] = {"osqi", "--flagfile", path, NULL};
  int argc = 3;
  assert_int_equal(osq_flags_parse(&argc, argv, NULL, stdout, stderr),
                   OSQ_FLAGS_CONTINUE);
  unlink(path);
  assert_string_equal(OSQ_FLAG_STR(flagfile), path);
  assert_true(OSQ_FLAG_BOOL(verbose));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_osquery_flag_declared),
      cmocka_unit_test(test_sample_defaults),
      cmocka_unit_test(test_typed_and_by_name_agree),
      cmocka_unit_test(test_personality_defaults),
      cmocka_unit_test(test_defined_flags_keep_ids),
      cmocka_unit_test(test_unimplemented_warned_once),
      cmocka_unit_test(test_help_lists_implemented_only),
      cmocka_unit_test(test_flagfile_recorded),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  osq_flags_shutdown();
  return rc;
}
