//! keepalived 2.2.7 keywords that vrrpd knows but does not implement: they are ignored with
//! a warning (a whole block when followed by `{`). Compiled from `man 5 keepalived.conf`
//! (2.2.7) and cross-checked against the keyword tables of its parsers; a test checks
//! every entry against the installed man page.

/// Top-level keywords other than `global_defs`, `vrrp_script`, `vrrp_instance`, `vrrpd_check`.
pub(crate) const IGNORED_TOP: &[&str] = &[
    "virtual_server",
    "virtual_server_group",
    "real_server",
    "SSL",
    "vrrp_sync_group",
    "static_ipaddress",
    "static_routes",
    "static_rules",
    "track_group",
    "garp_group",
    "linkbeat_interfaces",
    "vrrp_track_process",
    "track_file",
    "vrrp_track_file",
    "bfd_instance",
    "interface_up_down_delays",
    "linkbeat_use_polling",
    "net_namespace",
    "net_namespace_ipvs",
    "namespace_with_ipsets",
    "use_pid_dir",
    "instance",
    "child_wait_time",
];

/// `global_defs` keywords vrrpd ignores (logging, SMTP, LVS, SNMP, DBus, scheduling, …).
pub(crate) const IGNORED_GLOBAL: &[&str] = &[
    "linkbeat_use_polling",
    "net_namespace",
    "net_namespace_ipvs",
    "namespace_with_ipsets",
    "use_pid_dir",
    "instance",
    "child_wait_time",
    "process_names",
    "process_name",
    "vrrp_process_name",
    "checker_process_name",
    "lvs_process_name",
    "bfd_process_name",
    "notification_email_from",
    "smtp_server",
    "smtp_helo_name",
    "smtp_connect_timeout",
    "notification_email",
    "smtp_alert",
    "startup_script",
    "startup_script_timeout",
    "shutdown_script",
    "shutdown_script_timeout",
    "max_auto_priority",
    "min_auto_priority_delay",
    "smtp_alert_vrrp",
    "smtp_alert_checker",
    "checker_log_all_failures",
    "dynamic_interfaces",
    "no_email_faults",
    "default_interface",
    "disable_local_igmp",
    "lvs_timeouts",
    "lvs_flush",
    "lvs_flush_on_stop",
    "lvs_flush_onstop",
    "lvs_sync_daemon",
    "vrrp_garp_interval",
    "vrrp_gna_interval",
    "vrrp_min_garp",
    "vrrp_garp_extra_if",
    "vrrp_iptables",
    "vrrp_ipsets",
    "nftables",
    "nftables_priority",
    "nftables_ifindex",
    "nftables_ipvs",
    "nftables_ipvs_priority",
    "nftables_ipvs_start_fwmark",
    "nftables_counters",
    "vrrp_skip_check_adv_addr",
    "vrrp_no_swap",
    "vrrp_cpu_affinity",
    "notify_fifo",
    "notify_fifo_script",
    "vrrp_notify_fifo",
    "vrrp_notify_fifo_script",
    "vrrp_notify_priority_changes",
    "fifo_write_vrrp_states_on_reload",
    "lvs_notify_fifo",
    "lvs_notify_fifo_script",
    "checker_priority",
    "checker_no_swap",
    "checker_rt_priority",
    "checker_cpu_affinity",
    "checker_rlimit_rttime",
    "bfd_priority",
    "bfd_no_swap",
    "bfd_rt_priority",
    "bfd_cpu_affinity",
    "bfd_rlimit_rttime",
    "snmp_socket",
    "enable_traps",
    "enable_snmp_vrrp",
    "enable_snmp_keepalived",
    "enable_snmp_rfc",
    "enable_snmp_rfcv2",
    "enable_snmp_rfcv3",
    "enable_snmp_checker",
    "enable_dbus",
    "dbus_service_name",
    "vrrp_netlink_cmd_rcv_bufs",
    "vrrp_netlink_cmd_rcv_bufs_force",
    "vrrp_netlink_monitor_rcv_bufs",
    "vrrp_netlink_monitor_rcv_bufs_force",
    "process_monitor_rcv_bufs",
    "process_monitor_rcv_bufs_force",
    "lvs_netlink_cmd_rcv_bufs",
    "lvs_netlink_cmd_rcv_bufs_force",
    "lvs_netlink_monitor_rcv_bufs",
    "lvs_netlink_monitor_rcv_bufs_force",
    "rs_init_notifies",
    "no_checker_emails",
    "vrrp_rx_bufs_policy",
    "vrrp_rx_bufs_multiplier",
    "log_unknown_vrids",
    "vmac_prefix",
    "vmac_addr_prefix",
    "umask",
    "random_seed",
    "reload_check_config",
    "reload_time_file",
    "reload_repeat",
    "reload_file",
    "include_check",
    "config_save_dir",
    "tmp_config_directory",
    "data_use_instance",
];

/// `vrrp_instance` keywords vrrpd ignores.
pub(crate) const IGNORED_INSTANCE: &[&str] = &[
    "use_vmac",
    "use_vmac_addr",
    "vmac_xmit_base",
    "use_ipvlan",
    "unicast_fault_no_peer",
    "old_unicast_checksum",
    "native_ipv6",
    "vrf",
    "track_file",
    "track_process",
    "track_bfd",
    "mcast_dst_ip",
    "track_src_ip",
    "promote_secondaries",
    "linkbeat_use_polling",
    "virtual_routes",
    "virtual_rules",
    "skip_check_adv_addr",
    "debug",
    "notify_backup",
    "notify_master",
    "notify_fault",
    "notify_stop",
    "notify_deleted",
    "notify",
    "notify_master_rx_lower_pri",
    "smtp_alert",
    "notify_priority_changes",
    "lvs_sync_daemon_interface",
    "garp_extra_if",
    "kernel_rx_buf_size",
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Every ignored keyword must be a real keepalived 2.2.7 keyword: it has to appear in
    /// the installed man page (the test is skipped where `man` or the page is missing).
    #[test]
    fn ignored_keywords_are_documented_by_keepalived() {
        let Ok(out) = Command::new("man")
            .args(["5", "keepalived.conf"])
            .env("MANWIDTH", "200")
            .output()
        else {
            netlab::skip("man not available");
            return;
        };
        let page = String::from_utf8_lossy(&out.stdout).replace("\u{8}", "");
        if page.len() < 10_000 {
            netlab::skip("keepalived.conf(5) not installed");
            return;
        }
        let words: std::collections::HashSet<&str> = page
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .collect();
        // Aliases and deprecated names present in the 2.2.7 parser sources but not on the page.
        let undocumented = [
            "lvs_flush_onstop",
            "checker_rlimit_rttime",
            "bfd_rlimit_rttime",
            "lvs_process_name",
            "enable_snmp_keepalived",
            "lvs_sync_daemon_interface",
        ];
        let mut missing = Vec::new();
        for kw in IGNORED_TOP
            .iter()
            .chain(IGNORED_GLOBAL)
            .chain(IGNORED_INSTANCE)
        {
            if !words.contains(kw) && !undocumented.contains(kw) {
                missing.push(*kw);
            }
        }
        assert!(missing.is_empty(), "not in keepalived.conf(5): {missing:?}");
    }
}
