//! What Barman's `Server.__init__` and backup executors do to an active server's
//! configuration: disable it when connection settings are missing or contradict its
//! `backup_method`, set the default backup strategy, force `archiver` on.

use super::{OptionValue, ServerConfig};

/// The configuration effects of Barman's `Server.__init__` and backup executors for active
/// servers: missing connection settings disable the server, the backup strategy default is
/// applied, and `archiver` is forced on when no archiver is enabled.
pub(super) fn server_init_rules(server: &mut ServerConfig) {
    let mut warnings = std::mem::take(&mut server.warnings);
    if !server.active() {
        server.warnings = warnings;
        return;
    }
    let name = server.name().to_string();
    let passive = server.passive_node();
    let method = server.method().to_string();
    if !passive {
        if server.conninfo().is_none() {
            server.disable(format!(
                "PostgreSQL connection: Missing 'conninfo' parameter for server '{name}'"
            ));
        }
        if (method == "postgres" || server.streaming_archiver())
            && server.streaming_conninfo().is_none()
        {
            server.disable(format!(
                "Streaming connection: Missing 'streaming_conninfo' parameter for server '{name}'"
            ));
        }
        backup_executor_rules(server, &method, &mut warnings);
        if !server.archiver() && server.streaming_archiver() && server.slot_name().is_none() {
            server.disable(
                "Streaming-only archiver requires 'streaming_conninfo' and 'slot_name' options to be properly configured"
                    .into(),
            );
        }
        if !server.archiver() && !server.streaming_archiver() {
            warnings.push(format!(
                "No archiver enabled for server '{name}'. Please turn on 'archiver', 'streaming_archiver' or both"
            ));
            warnings.push("Forcing 'archiver = on'".into());
            server.set("archiver", OptionValue::Bool(true));
        }
    }
    server.warnings = warnings;
}

fn backup_options(server: &ServerConfig) -> Vec<String> {
    match server.get("backup_options") {
        Some(OptionValue::Csv(_, items)) => items.clone(),
        _ => Vec::new(),
    }
}

fn set_backup_options(server: &mut ServerConfig, mut items: Vec<String>) {
    items.sort();
    items.dedup();
    server.set("backup_options", OptionValue::Csv("BackupOptions", items));
}

fn backup_executor_rules(server: &mut ServerConfig, method: &str, warnings: &mut Vec<String>) {
    let name = server.name().to_string();
    let mut opts = backup_options(server);
    match method {
        "postgres" => {
            if opts.iter().any(|o| o == "exclusive_backup") {
                opts.retain(|o| o != "exclusive_backup");
                warnings.push(
                    "'exclusive_backup' is not a valid backup_option using postgres backup_method. Overriding with 'concurrent_backup'."
                        .into(),
                );
            }
            opts.push("concurrent_backup".into());
            set_backup_options(server, opts);
            if server.tablespace_bandwidth_limit().is_some() {
                server.disable(
                    "tablespace_bandwidth_limit option is not supported by postgres backup_method"
                        .into(),
                );
            }
            if matches!(server.reuse_backup(), Some("copy" | "link")) {
                server.disable(
                    "reuse_backup option is not supported by postgres backup_method".into(),
                );
            }
            if server.network_compression() {
                server.disable(
                    "network_compression option is not supported by postgres backup_method".into(),
                );
            }
        }
        "rsync" | "local-rsync" => {
            let local = method == "local-rsync";
            if !local && server.ssh_command().is_none() {
                server.disable(format!(
                    "Missing or invalid ssh_command in barman configuration for server {name}"
                ));
                return;
            }
            if local && server.ssh_command().is_some() {
                server.disable(format!(
                    "Local copy requires ssh_command in barman configuration to be empty for server {name}"
                ));
                return;
            }
            if !opts
                .iter()
                .any(|o| o == "concurrent_backup" || o == "exclusive_backup")
            {
                opts.push("concurrent_backup".into());
                set_backup_options(server, opts);
                warnings.push(format!(
                    "No backup strategy set for server '{name}' (using default 'concurrent_backup')."
                ));
            }
            if server.backup_compression().is_some() {
                server.disable(
                    "backup_compression option is not supported by rsync backup_method".into(),
                );
            }
        }
        _ => {}
    }
}
