/* The built-in table plugins, registered by osq_tables_register_builtin.
 *
 * Threads: register on the main thread at start-up; generate: any thread. */
#ifndef OSQ_TABLES_BUILTIN_H
#define OSQ_TABLES_BUILTIN_H

#include <osq/plugin.h>

/* utility */
extern const osq_table_plugin osq_table_osquery_info;
extern const osq_table_plugin osq_table_osquery_flags;
extern const osq_table_plugin osq_table_osquery_registry;
extern const osq_table_plugin osq_table_osquery_extensions;
extern const osq_table_plugin osq_table_time;
extern const osq_table_plugin osq_table_file;

/* linux */
extern const osq_table_plugin osq_table_processes;
extern const osq_table_plugin osq_table_users;
extern const osq_table_plugin osq_table_groups;
extern const osq_table_plugin osq_table_system_info;
extern const osq_table_plugin osq_table_os_version;
extern const osq_table_plugin osq_table_uptime;
extern const osq_table_plugin osq_table_hash;
extern const osq_table_plugin osq_table_listening_ports;
extern const osq_table_plugin osq_table_kernel_info;
extern const osq_table_plugin osq_table_memory_info;
extern const osq_table_plugin osq_table_cpu_time;
extern const osq_table_plugin osq_table_etc_hosts;
extern const osq_table_plugin osq_table_user_groups;
extern const osq_table_plugin osq_table_mounts;
extern const osq_table_plugin osq_table_process_open_files;
extern const osq_table_plugin osq_table_process_envs;
extern const osq_table_plugin osq_table_interface_addresses;
extern const osq_table_plugin osq_table_interface_details;
extern const osq_table_plugin osq_table_deb_packages;
extern const osq_table_plugin osq_table_deb_package_files;
extern const osq_table_plugin osq_table_process_memory_map;
extern const osq_table_plugin osq_table_known_hosts;
extern const osq_table_plugin osq_table_kernel_modules;
extern const osq_table_plugin osq_table_last;
extern const osq_table_plugin osq_table_block_devices;
extern const osq_table_plugin osq_table_sudoers;
extern const osq_table_plugin osq_table_arp_cache;
extern const osq_table_plugin osq_table_routes;
extern const osq_table_plugin osq_table_dns_resolvers;
extern const osq_table_plugin osq_table_authorized_keys;
extern const osq_table_plugin osq_table_shell_history;
extern const osq_table_plugin osq_table_crontab;
extern const osq_table_plugin osq_table_suid_bin;
extern const osq_table_plugin osq_table_system_controls;
extern const osq_table_plugin osq_table_logged_in_users;
extern const osq_table_plugin osq_table_process_open_sockets;
extern const osq_table_plugin osq_table_systemd_units;
extern const osq_table_plugin osq_table_rpm_packages;
extern const osq_table_plugin osq_table_rpm_package_files;
extern const osq_table_plugin osq_table_magic;
extern const osq_table_plugin osq_table_yara_file;
extern const osq_table_plugin osq_table_yara_process;
extern const osq_table_plugin osq_table_augeas;
extern const osq_table_plugin osq_table_iptables;
extern const osq_table_plugin osq_table_certificates;
extern const osq_table_plugin osq_table_curl;
extern const osq_table_plugin osq_table_curl_certificate;
extern const osq_table_plugin osq_table_disk_encryption;

/* tables I */
extern const osq_table_plugin osq_table_load_average;
extern const osq_table_plugin osq_table_ulimit_info;
extern const osq_table_plugin osq_table_etc_services;
extern const osq_table_plugin osq_table_etc_protocols;
extern const osq_table_plugin osq_table_interface_ipv6;
extern const osq_table_plugin osq_table_process_namespaces;
extern const osq_table_plugin osq_table_process_open_pipes;
extern const osq_table_plugin osq_table_shared_memory;
extern const osq_table_plugin osq_table_memory_map;
extern const osq_table_plugin osq_table_kernel_keys;
extern const osq_table_plugin osq_table_shadow;
extern const osq_table_plugin osq_table_selinux_settings;
extern const osq_table_plugin osq_table_apparmor_profiles;
extern const osq_table_plugin osq_table_extended_attributes;
extern const osq_table_plugin osq_table_apt_sources;
extern const osq_table_plugin osq_table_yum_sources;
extern const osq_table_plugin osq_table_user_ssh_keys;
extern const osq_table_plugin osq_table_ssh_configs;
extern const osq_table_plugin osq_table_startup_items;

/* containers */
extern const osq_table_plugin osq_table_docker_containers;
extern const osq_table_plugin osq_table_docker_container_labels;
extern const osq_table_plugin osq_table_docker_container_mounts;
extern const osq_table_plugin osq_table_docker_container_networks;
extern const osq_table_plugin osq_table_docker_container_ports;
extern const osq_table_plugin osq_table_docker_container_envs;
extern const osq_table_plugin osq_table_docker_container_processes;
extern const osq_table_plugin osq_table_docker_container_stats;
extern const osq_table_plugin osq_table_docker_container_fs_changes;
extern const osq_table_plugin osq_table_docker_images;
extern const osq_table_plugin osq_table_docker_image_labels;
extern const osq_table_plugin osq_table_docker_image_layers;
extern const osq_table_plugin osq_table_docker_image_history;
extern const osq_table_plugin osq_table_docker_info;
extern const osq_table_plugin osq_table_docker_version;
extern const osq_table_plugin osq_table_docker_networks;
extern const osq_table_plugin osq_table_docker_network_labels;
extern const osq_table_plugin osq_table_docker_volumes;
extern const osq_table_plugin osq_table_docker_volume_labels;
extern const osq_table_plugin osq_table_lxd_certificates;
extern const osq_table_plugin osq_table_lxd_cluster;
extern const osq_table_plugin osq_table_lxd_cluster_members;
extern const osq_table_plugin osq_table_lxd_images;
extern const osq_table_plugin osq_table_lxd_instance_config;
extern const osq_table_plugin osq_table_lxd_instance_devices;
extern const osq_table_plugin osq_table_lxd_instances;
extern const osq_table_plugin osq_table_lxd_networks;
extern const osq_table_plugin osq_table_lxd_storage_pools;

/* cloud */
extern const osq_table_plugin osq_table_ec2_instance_metadata;
extern const osq_table_plugin osq_table_ec2_instance_tags;
extern const osq_table_plugin osq_table_azure_instance_metadata;
extern const osq_table_plugin osq_table_azure_instance_tags;
extern const osq_table_plugin osq_table_ycloud_instance_metadata;
/* tables II: hardware */
extern const osq_table_plugin osq_table_pci_devices;
extern const osq_table_plugin osq_table_usb_devices;
extern const osq_table_plugin osq_table_smbios_tables;
extern const osq_table_plugin osq_table_platform_info;
extern const osq_table_plugin osq_table_cpu_info;
extern const osq_table_plugin osq_table_oem_strings;
extern const osq_table_plugin osq_table_memory_arrays;
extern const osq_table_plugin osq_table_memory_devices;
extern const osq_table_plugin osq_table_memory_array_mapped_addresses;
extern const osq_table_plugin osq_table_memory_device_mapped_addresses;
extern const osq_table_plugin osq_table_memory_error_info;
extern const osq_table_plugin osq_table_cpuid;
extern const osq_table_plugin osq_table_acpi_tables;
extern const osq_table_plugin osq_table_msr;
extern const osq_table_plugin osq_table_intel_me_info;
extern const osq_table_plugin osq_table_md_devices;
extern const osq_table_plugin osq_table_md_drives;
extern const osq_table_plugin osq_table_md_personalities;
extern const osq_table_plugin osq_table_device_partitions;
extern const osq_table_plugin osq_table_device_file;
extern const osq_table_plugin osq_table_device_hash;
/* applications: package managers, browsers, editors */
extern const osq_table_plugin osq_table_python_packages;
extern const osq_table_plugin osq_table_npm_packages;
extern const osq_table_plugin osq_table_chrome_extensions;
extern const osq_table_plugin osq_table_chrome_extension_content_scripts;
extern const osq_table_plugin osq_table_firefox_addons;
extern const osq_table_plugin osq_table_vscode_extensions;
extern const osq_table_plugin osq_table_jetbrains_plugins;
extern const osq_table_plugin osq_table_portage_packages;
extern const osq_table_plugin osq_table_portage_use;
extern const osq_table_plugin osq_table_portage_keywords;
extern const osq_table_plugin osq_table_secureboot;
extern const osq_table_plugin osq_table_secureboot_certificates;
extern const osq_table_plugin osq_table_carbon_black_info;
extern const osq_table_plugin osq_table_prometheus_metrics;

#define OSQ_NCOLS(a) (sizeof(a) / sizeof((a)[0]))

#endif
