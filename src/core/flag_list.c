/* Every flag osq knows: osquery's names, types, defaults and kinds, with
 * osq's own default paths (/etc/osq/, /var/osq/, /var/log/osq/). */
#include "flags.h"

#define B OSQ_FLAG_BOOL
#define I32 OSQ_FLAG_INT32
#define U32 OSQ_FLAG_UINT32
#define U64 OSQ_FLAG_UINT64
#define S OSQ_FLAG_STRING
#define CLI OSQ_FK_CLI
#define SH OSQ_FK_SHELL
#define HID OSQ_FK_HIDDEN
#define EXT OSQ_FK_EXTENSION

const osq_flag_def osq_builtin_flags[] = {
    /* process and daemon control */
    {"S", B, "false", CLI, "Run as a shell process"},
    {"D", B, "false", CLI, "Run as a daemon process"},
    {"daemonize", B, "false", CLI, "Attempt to daemonize (POSIX only)"},
    {"pidfile", S, "/var/osq/osqd.pidfile", CLI, "Path to the daemon pidfile mutex"},
    {"force", B, "false", CLI, "Force osqd to kill a previously-running daemon"},
    {"ephemeral", B, "false", 0, "Skip pidfile and database state checks"},
    {"alarm_timeout", U64, "15", CLI, "Seconds to allow for shutdown before killing the process"},
    {"database_path", S, "/var/osq/osq.db", CLI, "If using a disk-based backing store, specify a path"},
    {"database_dump", B, "false", CLI, "Dump the contents of the backing store"},
    {"disable_database", B, "false", 0, "Disable the persistent database and use an in-memory one"},
    {"host_identifier", S, "hostname", 0, "Field used to identify the host running osq (hostname, uuid, instance, ephemeral, specified)"},
    {"specified_identifier", S, "", 0, "Field used to specify the host_identifier when set to \"specified\""},
    {"verbose", B, "false", 0, "Enable verbose informational messages"},
    {"read_max", U64, "52428800", 0, "Maximum file read size"},
    {"disable_tables", S, "", CLI, "Comma-delimited list of table names to be disabled"},
    {"enable_tables", S, "", CLI, "Comma-delimited list of table names to be enabled"},
    {"table_delay", U64, "0", 0, "Add an optional microsecond delay between table scans"},
    {"disable_caching", B, "false", 0, "Disable scheduled query caching"},
    {"nullvalue", S, "", 0, "Set string for NULL values, default ''"},
    {"hash_cache_max", U32, "500", 0, "Size of LRU file hash cache"},
    {"disable_hash_cache", B, "false", 0, "Cache calculated file hashes, re-calculate only if inode times change"},
    {"hash_delay", U32, "20", HID, "Number of milliseconds to delay after hashing"},
    {"utc", B, "true", HID, "Convert all UNIX times to UTC"},
    {"allow_unsafe", B, "false", HID, "Allow unsafe executable permissions"},
    /* config */
    {"config_plugin", S, "filesystem", CLI, "Config plugin name"},
    {"config_path", S, "/etc/osq/osq.conf", CLI, "Path to JSON config file"},
    {"config_refresh", U64, "0", CLI, "Optional interval in seconds to re-read configuration"},
    {"config_accelerated_refresh", U64, "300", CLI, "Interval to wait if reading a configuration fails"},
    {"config_enable_backup", B, "false", CLI, "Backup config and use it when refresh fails"},
    {"config_check", B, "false", CLI, "Check the format of an osquery config and exit"},
    {"config_dump", B, "false", CLI, "Dump the contents of the configuration, then exit"},
    {"pack_refresh_interval", U64, "3600", 0, "Cache expiration for a packs discovery queries"},
    {"pack_delimiter", S, "_", 0, "Delimiter for pack and query names"},
    {"schedule_splay_percent", U64, "10", 0, "Percent to splay config times"},
    {"schedule_default_interval", U64, "3600", 0, "Query interval to use if none is provided"},
    {"schedule_timeout", U64, "0", 0, "Limit the schedule, 0 for no limit"},
    {"schedule_max_drift", U64, "60", 0, "Max time drift in seconds"},
    {"schedule_reload", U64, "3600", 0, "Interval in seconds to reload database arenas"},
    {"schedule_epoch", U64, "0", 0, "Epoch for scheduled queries"},
    {"schedule_lognames", B, "false", 0, "Log the running scheduled query name"},
    {"disable_decorators", B, "false", 0, "Disable log result decoration"},
    {"decorations_top_level", B, "false", 0, "Add decorators as top level JSON objects"},
    /* logger */
    {"logger_plugin", S, "filesystem", CLI, "Logger plugin name"},
    {"logger_path", S, "/var/log/osq/", 0, "Directory path for ERROR/WARN/INFO and results logging"},
    {"logger_mode", S, "0640", CLI, "Decimal mode for log files (default '0640')"},
    {"logger_rotate", B, "false", 0, "Use log file rotation"},
    {"logger_rotate_size", U64, "26214400", 0, "Size in bytes to trigger rotation"},
    {"logger_rotate_max_files", U64, "25", 0, "Max number of files to keep in rotation"},
    {"logger_event_type", B, "true", 0, "Log scheduled results as events"},
    {"logger_snapshot_event_type", B, "false", 0, "Log scheduled snapshot results as events"},
    {"logger_numerics", B, "false", 0, "Use numeric JSON syntax for numeric values"},
    {"logger_min_status", I32, "0", 0, "Minimum level for status log recording"},
    {"logger_min_stderr", I32, "0", 0, "Minimum level for statuses written to stderr"},
    {"logger_stderr", B, "true", CLI, "Write status logs to stderr"},
    {"logger_status_sync", B, "false", HID, "Always send status logs synchronously"},
    {"logger_syslog_facility", I32, "19", 0, "Syslog facility for status and results logs (0-23)"},
    {"logger_syslog_prepend_cee", B, "false", 0, "Prepend @cee: tag to logged JSON messages"},
    {"disable_logging", B, "false", 0, "Disable ERROR/INFO logging"},
    {"buffered_log_max", U64, "1000000", 0, "Maximum number of logs in buffered output plugins"},
    /* extensions */
    {"disable_extensions", B, "false", CLI, "Disable extension API"},
    {"extensions_socket", S, "/var/osq/osq.em", CLI, "Path to the extensions UNIX domain socket"},
    {"extensions_socket_mode", S, "0600", CLI, "Mode of the extensions socket (octal); add group bits to let extensions_socket_group connect"},
    {"extensions_socket_group", S, "", CLI, "Group (name or gid) allowed to connect to the extensions socket"},
    {"extensions_autoload", S, "/etc/osq/extensions.load", CLI, "Optional path to a list of autoloaded & managed extensions"},
    {"extensions_timeout", S, "3", CLI, "Seconds to wait for autoloaded extensions"},
    {"extensions_interval", S, "3", CLI, "Seconds delay between connectivity checks"},
    {"extensions_require", S, "", CLI, "Comma-separated list of required extensions"},
    {"extensions_default_index", B, "true", 0, "Enable INDEX on all extension table columns (default true)"},
    {"extensions_max_connections", U32, "1024", CLI, "Maximum concurrent connections to the extension manager (each extension keeps one open)"},
    {"extension", S, "", SH, "Path to a single extension to autoload"},
    {"thrift_timeout", U32, "300", 0, "Thrift client timeout in seconds for extension calls"},
    {"thrift_string_size_limit", U32, "0", 0, "Thrift string size limit in bytes (0 means no limit beyond thrift_max_message_size)"},
    {"thrift_max_message_size", U64, "104857600", 0, "Largest Thrift message accepted, in bytes"},
    {"thrift_verbose", B, "false", 0, "Enable verbose Thrift logs"},
    /* watchdog */
    {"disable_watchdog", B, "false", CLI, "Disable userland watchdog process"},
    {"watchdog_level", I32, "0", CLI, "Performance limit level (0=normal, 1=restrictive, -1=off)"},
    {"watchdog_memory_limit", U64, "0", CLI, "Override watchdog profile memory limit (e.g., 300, for 300MB)"},
    {"watchdog_utilization_limit", U64, "0", CLI, "Override watchdog profile CPU utilization limit"},
    {"watchdog_latency_limit", U64, "0", CLI, "Override watchdog profile latency limit"},
    {"watchdog_delay", U64, "60", CLI, "Initial delay in seconds before watchdog starts"},
    {"watchdog_max_delay", U64, "600", HID, "Max delay in seconds between worker respawns"},
    {"watchdog_forced_shutdown_delay", U64, "4", CLI, "Seconds that the watchdog will wait to do a forced shutdown after a graceful shutdown request"},
    {"enable_extensions_watchdog", B, "true", CLI, "Enable userland watchdog for extensions processes (on by default in osq)"},
    {"enable_watchdog_debug", B, "false", CLI, "Enable debug info on watchdog"},
    /* events */
    {"disable_events", B, "false", 0, "Disable osquery publish/subscribe system"},
    {"events_expiry", U64, "3600", 0, "Timeout to expire event subscriber results"},
    {"events_max", U64, "50000", 0, "Maximum number of events per type to buffer"},
    {"events_optimize", B, "true", 0, "Optimize subscriber select queries (scheduler only)"},
    /* distributed */
    {"disable_distributed", B, "true", 0, "Disable distributed queries"},
    {"distributed_plugin", S, "tls", 0, "Distributed plugin name"},
    {"distributed_interval", U64, "60", 0, "Seconds between polling for new queries"},
    {"distributed_loginfo", B, "false", 0, "Log the running distributed queries name at INFO level"},
    /* shell */
    {"csv", B, "false", SH, "Set output mode to 'csv'"},
    {"json", B, "false", SH, "Set output mode to 'json'"},
    {"json_pretty", B, "false", SH, "Set output mode to 'json_pretty'"},
    {"line", B, "false", SH, "Set output mode to 'line'"},
    {"list", B, "false", SH, "Set output mode to 'list'"},
    {"separator", S, "|", SH, "Set output field separator, default \"|\""},
    {"header", B, "true", SH, "Toggle column headers true/false"},
    {"A", S, "", SH, "Select all from a table"},
    {"L", B, "false", SH, "List all table names"},
    {"pack", S, "", SH, "Run all queries in a pack"},
    {"planner", B, "false", SH, "Enable osquery runtime planner output"},
    {"query", S, "", SH, "Run a single SQL statement"},
    {"query_file", S, "", SH, "Run the SQL statements in a file"},
    {"connect", S, "", SH, "Send SQL to the extension manager at this socket"},
    {"output", S, "", SH, "Write results to this file instead of stdout"},
    {"history_file", S, "", SH | HID, "Path of the shell history file (default ~/.osq/.history)"},
};

const unsigned long osq_builtin_flags_count =
    sizeof osq_builtin_flags / sizeof osq_builtin_flags[0];
