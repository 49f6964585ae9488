/* The event tables' schemas (osquery's columns) and their generate. */
#include "events/events_internal.h"

enum {
  H = OSQ_COL_HIDDEN,
  A = OSQ_COL_ADDITIONAL,
  NC = OSQ_COL_COLLATE_NOCASE,
};

static const osq_column process_events_columns[] = {
    {"pid", OSQ_TYPE_BIGINT, 0},
    {"path", OSQ_TYPE_TEXT, 0},
    {"mode", OSQ_TYPE_TEXT, 0},
    {"cmdline", OSQ_TYPE_TEXT, 0},
    {"cmdline_size", OSQ_TYPE_BIGINT, H},
    {"env", OSQ_TYPE_TEXT, H},
    {"environment", OSQ_TYPE_TEXT, H},
    {"env_count", OSQ_TYPE_BIGINT, H},
    {"environment_count", OSQ_TYPE_BIGINT, H},
    {"env_size", OSQ_TYPE_BIGINT, H},
    {"environment_size", OSQ_TYPE_BIGINT, H},
    {"cwd", OSQ_TYPE_TEXT, 0},
    {"auid", OSQ_TYPE_BIGINT, 0},
    {"uid", OSQ_TYPE_BIGINT, 0},
    {"euid", OSQ_TYPE_BIGINT, 0},
    {"gid", OSQ_TYPE_BIGINT, 0},
    {"egid", OSQ_TYPE_BIGINT, 0},
    {"owner_uid", OSQ_TYPE_BIGINT, 0},
    {"owner_gid", OSQ_TYPE_BIGINT, 0},
    {"atime", OSQ_TYPE_BIGINT, 0},
    {"access_time", OSQ_TYPE_BIGINT, H},
    {"mtime", OSQ_TYPE_BIGINT, 0},
    {"modify_time", OSQ_TYPE_BIGINT, H},
    {"ctime", OSQ_TYPE_BIGINT, 0},
    {"change_time", OSQ_TYPE_BIGINT, H},
    {"btime", OSQ_TYPE_BIGINT, 0},
    {"create_time", OSQ_TYPE_BIGINT, H},
    {"overflows", OSQ_TYPE_TEXT, H},
    {"parent", OSQ_TYPE_BIGINT, 0},
    {"time", OSQ_TYPE_BIGINT, A},
    {"uptime", OSQ_TYPE_BIGINT, 0},
    {"eid", OSQ_TYPE_TEXT, H},
    {"status", OSQ_TYPE_BIGINT, H},
    {"fsuid", OSQ_TYPE_BIGINT, 0},
    {"suid", OSQ_TYPE_BIGINT, 0},
    {"fsgid", OSQ_TYPE_BIGINT, 0},
    {"sgid", OSQ_TYPE_BIGINT, 0},
    {"syscall", OSQ_TYPE_TEXT, 0},
};

const osq_table_plugin osq_table_process_events = {
    .name = "process_events",
    .columns = process_events_columns,
    .ncolumns = sizeof process_events_columns / sizeof *process_events_columns,
    .attributes = OSQ_TABLE_EVENT_BASED,
    .generate = osq_ev_generate,
    .udata = (void *)"process_events",
};

static const osq_column file_events_columns[] = {
    {"target_path", OSQ_TYPE_TEXT, 0},
    {"category", OSQ_TYPE_TEXT, 0},
    {"action", OSQ_TYPE_TEXT, 0},
    {"transaction_id", OSQ_TYPE_BIGINT, 0},
    {"inode", OSQ_TYPE_BIGINT, 0},
    {"uid", OSQ_TYPE_BIGINT, 0},
    {"gid", OSQ_TYPE_BIGINT, 0},
    {"mode", OSQ_TYPE_TEXT, 0},
    {"size", OSQ_TYPE_BIGINT, 0},
    {"atime", OSQ_TYPE_BIGINT, 0},
    {"mtime", OSQ_TYPE_BIGINT, 0},
    {"ctime", OSQ_TYPE_BIGINT, 0},
    {"md5", OSQ_TYPE_TEXT, NC},
    {"sha1", OSQ_TYPE_TEXT, NC},
    {"sha256", OSQ_TYPE_TEXT, NC},
    {"hashed", OSQ_TYPE_INTEGER, 0},
    {"time", OSQ_TYPE_BIGINT, A},
    {"eid", OSQ_TYPE_TEXT, H},
};

const osq_table_plugin osq_table_file_events = {
    .name = "file_events",
    .columns = file_events_columns,
    .ncolumns = sizeof file_events_columns / sizeof *file_events_columns,
    .attributes = OSQ_TABLE_EVENT_BASED,
    .generate = osq_ev_generate,
    .udata = (void *)"file_events",
};

static const osq_column socket_events_columns[] = {
    {"action", OSQ_TYPE_TEXT, 0},
    {"pid", OSQ_TYPE_BIGINT, 0},
    {"path", OSQ_TYPE_TEXT, 0},
    {"fd", OSQ_TYPE_TEXT, 0},
    {"auid", OSQ_TYPE_BIGINT, 0},
    {"family", OSQ_TYPE_INTEGER, 0},
    {"protocol", OSQ_TYPE_INTEGER, H},
    {"local_address", OSQ_TYPE_TEXT, 0},
    {"remote_address", OSQ_TYPE_TEXT, 0},
    {"local_port", OSQ_TYPE_INTEGER, 0},
    {"remote_port", OSQ_TYPE_INTEGER, 0},
    {"socket", OSQ_TYPE_TEXT, H},
    {"time", OSQ_TYPE_BIGINT, A},
    {"uptime", OSQ_TYPE_BIGINT, 0},
    {"eid", OSQ_TYPE_TEXT, H},
    {"success", OSQ_TYPE_INTEGER, H},
    {"status", OSQ_TYPE_TEXT, 0},
};

const osq_table_plugin osq_table_socket_events = {
    .name = "socket_events",
    .columns = socket_events_columns,
    .ncolumns = sizeof socket_events_columns / sizeof *socket_events_columns,
    .attributes = OSQ_TABLE_EVENT_BASED,
    .generate = osq_ev_generate,
    .udata = (void *)"socket_events",
};

static const osq_column syslog_events_columns[] = {
    {"time", OSQ_TYPE_BIGINT, A},
    {"datetime", OSQ_TYPE_TEXT, 0},
    {"host", OSQ_TYPE_TEXT, 0},
    {"severity", OSQ_TYPE_INTEGER, 0},
    {"facility", OSQ_TYPE_TEXT, 0},
    {"tag", OSQ_TYPE_TEXT, 0},
    {"message", OSQ_TYPE_TEXT, 0},
    {"eid", OSQ_TYPE_TEXT, H},
};

static const char *const syslog_aliases[] = {"syslog", NULL};

const osq_table_plugin osq_table_syslog_events = {
    .name = "syslog_events",
    .columns = syslog_events_columns,
    .ncolumns = sizeof syslog_events_columns / sizeof *syslog_events_columns,
    .attributes = OSQ_TABLE_EVENT_BASED,
    .aliases = syslog_aliases,
    .generate = osq_ev_generate,
    .udata = (void *)"syslog_events",
};

static const osq_column hardware_events_columns[] = {
    {"action", OSQ_TYPE_TEXT, 0},
    {"path", OSQ_TYPE_TEXT, 0},
    {"type", OSQ_TYPE_TEXT, 0},
    {"driver", OSQ_TYPE_TEXT, 0},
    {"vendor", OSQ_TYPE_TEXT, 0},
    {"vendor_id", OSQ_TYPE_TEXT, NC},
    {"model", OSQ_TYPE_TEXT, 0},
    {"model_id", OSQ_TYPE_TEXT, NC},
    {"serial", OSQ_TYPE_TEXT, 0},
    {"revision", OSQ_TYPE_TEXT, 0},
    {"time", OSQ_TYPE_BIGINT, A},
    {"eid", OSQ_TYPE_TEXT, H},
};

const osq_table_plugin osq_table_hardware_events = {
    .name = "hardware_events",
    .columns = hardware_events_columns,
    .ncolumns = sizeof hardware_events_columns / sizeof *hardware_events_columns,
    .attributes = OSQ_TABLE_EVENT_BASED,
    .generate = osq_ev_generate,
    .udata = (void *)"hardware_events",
};

static const osq_column user_events_columns[] = {
    {"uid", OSQ_TYPE_BIGINT, 0},
    {"auid", OSQ_TYPE_BIGINT, 0},
    {"pid", OSQ_TYPE_BIGINT, 0},
    {"message", OSQ_TYPE_TEXT, 0},
    {"type", OSQ_TYPE_INTEGER, 0},
    {"path", OSQ_TYPE_TEXT, 0},
    {"address", OSQ_TYPE_TEXT, 0},
    {"terminal", OSQ_TYPE_TEXT, 0},
    {"time", OSQ_TYPE_BIGINT, A},
    {"uptime", OSQ_TYPE_BIGINT, 0},
    {"eid", OSQ_TYPE_TEXT, H},
};

const osq_table_plugin osq_table_user_events = {
    .name = "user_events",
    .columns = user_events_columns,
    .ncolumns = sizeof user_events_columns / sizeof *user_events_columns,
    .attributes = OSQ_TABLE_EVENT_BASED,
    .generate = osq_ev_generate,
    .udata = (void *)"user_events",
};

static const osq_column seccomp_events_columns[] = {
    {"time", OSQ_TYPE_BIGINT, A},
    {"uptime", OSQ_TYPE_BIGINT, 0},
    {"auid", OSQ_TYPE_UNSIGNED_BIGINT, 0},
    {"uid", OSQ_TYPE_UNSIGNED_BIGINT, 0},
    {"gid", OSQ_TYPE_UNSIGNED_BIGINT, 0},
    {"ses", OSQ_TYPE_UNSIGNED_BIGINT, 0},
    {"pid", OSQ_TYPE_UNSIGNED_BIGINT, 0},
    {"comm", OSQ_TYPE_TEXT, 0},
    {"exe", OSQ_TYPE_TEXT, 0},
    {"sig", OSQ_TYPE_BIGINT, 0},
    {"arch", OSQ_TYPE_TEXT, 0},
    {"syscall", OSQ_TYPE_TEXT, 0},
    {"compat", OSQ_TYPE_BIGINT, 0},
    {"ip", OSQ_TYPE_TEXT, 0},
    {"code", OSQ_TYPE_TEXT, 0},
};

const osq_table_plugin osq_table_seccomp_events = {
    .name = "seccomp_events",
    .columns = seccomp_events_columns,
    .ncolumns = sizeof seccomp_events_columns / sizeof *seccomp_events_columns,
    .attributes = OSQ_TABLE_EVENT_BASED,
    .generate = osq_ev_generate,
    .udata = (void *)"seccomp_events",
};

static const osq_column process_file_events_columns[] = {
    {"operation", OSQ_TYPE_TEXT, 0},
    {"pid", OSQ_TYPE_BIGINT, 0},
    {"ppid", OSQ_TYPE_BIGINT, 0},
    {"time", OSQ_TYPE_BIGINT, A},
    {"executable", OSQ_TYPE_TEXT, 0},
    {"partial", OSQ_TYPE_TEXT, 0},
    {"cwd", OSQ_TYPE_TEXT, 0},
    {"path", OSQ_TYPE_TEXT, 0},
    {"dest_path", OSQ_TYPE_TEXT, 0},
    {"uid", OSQ_TYPE_TEXT, 0},
    {"gid", OSQ_TYPE_TEXT, 0},
    {"auid", OSQ_TYPE_TEXT, 0},
    {"euid", OSQ_TYPE_TEXT, 0},
    {"egid", OSQ_TYPE_TEXT, 0},
    {"fsuid", OSQ_TYPE_TEXT, 0},
    {"fsgid", OSQ_TYPE_TEXT, 0},
    {"suid", OSQ_TYPE_TEXT, 0},
    {"sgid", OSQ_TYPE_TEXT, 0},
    {"uptime", OSQ_TYPE_BIGINT, 0},
    {"eid", OSQ_TYPE_TEXT, H},
};

const osq_table_plugin osq_table_process_file_events = {
    .name = "process_file_events",
    .columns = process_file_events_columns,
    .ncolumns = sizeof process_file_events_columns /
                sizeof *process_file_events_columns,
    .attributes = OSQ_TABLE_EVENT_BASED,
    .generate = osq_ev_generate,
    .udata = (void *)"process_file_events",
};

static const osq_column selinux_events_columns[] = {
    {"type", OSQ_TYPE_TEXT, 0},
    {"message", OSQ_TYPE_TEXT, 0},
    {"time", OSQ_TYPE_BIGINT, A},
    {"uptime", OSQ_TYPE_BIGINT, 0},
    {"eid", OSQ_TYPE_TEXT, H},
};

const osq_table_plugin osq_table_selinux_events = {
    .name = "selinux_events",
    .columns = selinux_events_columns,
    .ncolumns = sizeof selinux_events_columns / sizeof *selinux_events_columns,
    .attributes = OSQ_TABLE_EVENT_BASED,
    .generate = osq_ev_generate,
    .udata = (void *)"selinux_events",
};

static const osq_column apparmor_events_columns[] = {
    {"type", OSQ_TYPE_TEXT, 0},
    {"message", OSQ_TYPE_TEXT, 0},
    {"time", OSQ_TYPE_BIGINT, A},
    {"uptime", OSQ_TYPE_BIGINT, 0},
    {"eid", OSQ_TYPE_TEXT, H},
    {"apparmor", OSQ_TYPE_TEXT, 0},
    {"operation", OSQ_TYPE_TEXT, 0},
    {"parent", OSQ_TYPE_UNSIGNED_BIGINT, 0},
    {"profile", OSQ_TYPE_TEXT, 0},
    {"name", OSQ_TYPE_TEXT, 0},
    {"pid", OSQ_TYPE_UNSIGNED_BIGINT, 0},
    {"comm", OSQ_TYPE_TEXT, 0},
    {"denied_mask", OSQ_TYPE_TEXT, 0},
    {"capname", OSQ_TYPE_TEXT, 0},
    {"fsuid", OSQ_TYPE_UNSIGNED_BIGINT, 0},
    {"ouid", OSQ_TYPE_UNSIGNED_BIGINT, 0},
    {"capability", OSQ_TYPE_BIGINT, 0},
    {"requested_mask", OSQ_TYPE_TEXT, 0},
    {"info", OSQ_TYPE_TEXT, 0},
    {"error", OSQ_TYPE_TEXT, 0},
    {"namespace", OSQ_TYPE_TEXT, 0},
    {"label", OSQ_TYPE_TEXT, 0},
};

const osq_table_plugin osq_table_apparmor_events = {
    .name = "apparmor_events",
    .columns = apparmor_events_columns,
    .ncolumns = sizeof apparmor_events_columns / sizeof *apparmor_events_columns,
    .attributes = OSQ_TABLE_EVENT_BASED,
    .generate = osq_ev_generate,
    .udata = (void *)"apparmor_events",
};
