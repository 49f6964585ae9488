/* Registration of the built-in tables. */
#include "tables/tables.h"

#include "core/flags.h"
#include "core/log.h"
#include "registry/registry.h"
#include "tables/builtin.h"
#include "tables/foreign.h"

static const osq_table_plugin *const builtin[] = {
    &osq_table_apparmor_profiles,
    &osq_table_apt_sources,
    &osq_table_arp_cache,
    &osq_table_augeas,
    &osq_table_authorized_keys,
    &osq_table_block_devices,
    &osq_table_certificates,
    &osq_table_cpu_time,
    &osq_table_crontab,
    &osq_table_curl,
    &osq_table_curl_certificate,
    &osq_table_deb_package_files,
    &osq_table_deb_packages,
    &osq_table_disk_encryption,
    &osq_table_dns_resolvers,
    &osq_table_etc_hosts,
    &osq_table_etc_protocols,
    &osq_table_etc_services,
    &osq_table_extended_attributes,
    &osq_table_file,
    &osq_table_groups,
    &osq_table_hash,
    &osq_table_interface_addresses,
    &osq_table_interface_details,
    &osq_table_interface_ipv6,
    &osq_table_iptables,
    &osq_table_kernel_info,
    &osq_table_kernel_keys,
    &osq_table_kernel_modules,
    &osq_table_known_hosts,
    &osq_table_last,
    &osq_table_listening_ports,
    &osq_table_load_average,
    &osq_table_logged_in_users,
    &osq_table_magic,
    &osq_table_memory_info,
    &osq_table_memory_map,
    &osq_table_mounts,
    &osq_table_os_version,
    &osq_table_osquery_extensions,
    &osq_table_osquery_flags,
    &osq_table_osquery_info,
    &osq_table_osquery_registry,
    &osq_table_process_envs,
    &osq_table_process_memory_map,
    &osq_table_process_namespaces,
    &osq_table_process_open_files,
    &osq_table_process_open_pipes,
    &osq_table_process_open_sockets,
    &osq_table_processes,
    &osq_table_routes,
    &osq_table_rpm_package_files,
    &osq_table_rpm_packages,
    &osq_table_selinux_settings,
    &osq_table_shadow,
    &osq_table_shared_memory,
    &osq_table_shell_history,
    &osq_table_ssh_configs,
    &osq_table_startup_items,
    &osq_table_sudoers,
    &osq_table_suid_bin,
    &osq_table_system_controls,
    &osq_table_system_info,
    &osq_table_systemd_units,
    &osq_table_time,
    &osq_table_ulimit_info,
    &osq_table_uptime,
    &osq_table_user_groups,
    &osq_table_user_ssh_keys,
    &osq_table_users,
    &osq_table_yara_file,
    &osq_table_yara_process,
    &osq_table_yum_sources,
};

int osq_tables_register_builtin(void) {
  enum { N = sizeof builtin / sizeof *builtin };
  osq_plugin_spec specs[N];
  size_t n = 0;
  for (size_t i = 0; i < N; i++) {
    /* A second call (tests, a registry reset) must not fail on tables
     * that are already there. */
    if (osq_registry_exists(OSQ_REGISTRY_TABLE, builtin[i]->name))
      continue;
    specs[n++] = (osq_plugin_spec){.kind = OSQ_REGISTRY_TABLE,
                                   .plugin = builtin[i],
                                   .owner = OSQ_CORE_UUID,
                                   .internal = false};
  }
  if (n > 0) {
    char err[256];
    int rc = osq_registry_add_all(specs, n, err, sizeof err);
    if (rc != OSQ_OK) {
      OSQ_ERR("Cannot register the built-in tables: %s", err);
      return rc;
    }
  }
  return OSQ_FLAG_BOOL(enable_foreign) ? osq_tables_register_foreign() : OSQ_OK;
}
