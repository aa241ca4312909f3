//! `status SERVER...|all`: Barman's `Server.status()` rows in their order (description,
//! state, PostgreSQL, the file archiver, retention, the catalog counts and minimum
//! redundancy, the passive node's primary), on the console or as `-f json`.

use super::catalogue::Remote;
use crate::adapters::catalog::store;
use crate::adapters::postgres::RemoteValue;
use crate::commands::status::{remote_status, server_dirs};
use crate::core::backup_info::BackupStatus;
use crate::core::config::ServerConfig;
use crate::output::python::{ctime, pretty_size};
use crate::output::Output;
use serde_json::{Map, Value};

/// One status row: JSON key, console label, text.
struct Row(&'static str, &'static str, String);

fn py_bool(b: bool) -> String {
    if b { "True" } else { "False" }.into()
}

/// Rows from PostgreSQL (`status_postgres`); only the failure row when the version could
/// not be read.
fn postgres_rows(remote: &Remote, rows: &mut Vec<Row>) {
    let Some(version) = remote.text("server_txt_version") else {
        rows.push(Row(
            "pg_version",
            "PostgreSQL version",
            "FAILED trying to get PostgreSQL version".into(),
        ));
        return;
    };
    rows.push(Row("pg_version", "PostgreSQL version", version));
    let state = if remote.flag("is_in_recovery") == Some(true) {
        "in archive recovery"
    } else {
        "in production"
    };
    rows.push(Row("is_in_recovery", "Cluster state", state.into()));
    if let Some(RemoteValue::Decimal(size)) = remote.get("current_size") {
        let bytes = size.parse::<f64>().unwrap_or(0.0);
        rows.push(Row("current_size", "Current data size", pretty_size(bytes)));
    }
    if let Some(dir) = remote.text("data_directory").filter(|d| !d.is_empty()) {
        rows.push(Row("data_directory", "PostgreSQL Data directory", dir));
    }
    if let Some(wal) = remote.text("current_xlog").filter(|d| !d.is_empty()) {
        rows.push(Row("current_xlog", "Current WAL segment", wal));
    }
}

fn time_of(remote: &Remote, key: &str) -> Option<String> {
    match remote.get(key) {
        Some(RemoteValue::Time(t)) => Some(ctime(t)),
        _ => None,
    }
}

/// `FileWalArchiver.status` rows.
fn file_archiver_rows(remote: &Remote, rows: &mut Vec<Row>) {
    if remote.text("archive_mode").is_none() {
        return;
    }
    let command = remote
        .text("archive_command")
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "FAILED (please set it accordingly to documentation)".into());
    rows.push(Row(
        "archive_command",
        "PostgreSQL 'archive_command' setting",
        command,
    ));
    let mut last = remote.text("last_archived_wal").filter(|w| !w.is_empty());
    if let (Some(wal), Some(at)) = (last.as_mut(), time_of(remote, "last_archived_time")) {
        wal.push_str(&format!(", at {at}"));
    }
    rows.push(Row(
        "last_archived_wal",
        "Last archived WAL",
        last.unwrap_or_else(|| "No WAL segment shipped yet".into()),
    ));
    if let Some(failed) = remote.text("failed_count") {
        let mut text = failed.clone();
        if failed.parse::<i64>().unwrap_or(0) > 0 {
            text.push_str(&format!(
                " ({} at {})",
                remote
                    .text("last_failed_wal")
                    .unwrap_or_else(|| "None".into()),
                time_of(remote, "last_failed_time").unwrap_or_default()
            ));
        }
        rows.push(Row("failed_count", "Failures of WAL archiver", text));
    }
    if let Some(RemoteValue::Decimal(rate)) = remote.get("current_archived_wals_per_second") {
        let rate = rate.parse::<f64>().unwrap_or(0.0);
        if rate != 0.0 {
            rows.push(Row(
                "server_archived_wals_per_hour",
                "Server WAL archiving rate",
                format!("{:.2}/hour", 3600.0 * rate),
            ));
        }
    }
}

/// Every row of one server, in Barman's order.
fn rows(server: &ServerConfig) -> Vec<Row> {
    let mut rows = Vec::new();
    if let Some(description) = server.description().filter(|d| !d.is_empty()) {
        rows.push(Row("description", "Description", description.to_string()));
    }
    rows.push(Row("active", "Active", py_bool(server.active())));
    rows.push(Row("disabled", "Disabled", py_bool(server.disabled())));
    rows.push(Row(
        "active_model",
        "Active configuration model",
        server.active_model().unwrap_or("None").to_string(),
    ));
    let passive = server.passive_node();
    if server.active() && !passive {
        let remote = Remote(remote_status(server));
        postgres_rows(&remote, &mut rows);
        // The archivers answer even when the version could not be read (without
        // PostgreSQL they have nothing to say); the streaming archiver shows nothing.
        if server.archiver() {
            file_archiver_rows(&remote, &mut rows);
        }
    }
    rows.push(Row("passive_node", "Passive node", py_bool(passive)));
    let retention = match server.retention_policy() {
        Some(policy) => format!(
            "enforced (mode: {}, retention: {policy}, WAL retention: MAIN)",
            server.retention_policy_mode().unwrap_or("auto")
        ),
        None => "not enforced".into(),
    };
    rows.push(Row("retention_policies", "Retention policies", retention));
    catalog_rows(server, &mut rows);
    if server.active() && passive {
        rows.push(Row(
            "primary_ssh_command",
            "SSH command to primary server",
            server.primary_ssh_command().unwrap_or("None").to_string(),
        ));
    }
    rows
}

/// `BackupManager.status` rows.
fn catalog_rows(server: &ServerConfig, rows: &mut Vec<Row>) {
    let backups = store::load_backups(&server_dirs(server)).unwrap_or_default();
    let done: Vec<_> = backups
        .values()
        .filter(|b| b.status() == BackupStatus::Done)
        .collect();
    rows.push(Row(
        "backups_number",
        "No. of available backups",
        done.len().to_string(),
    ));
    let mut usable = backups.iter().filter(|(_, b)| b.status().copy_done());
    let first = usable.next().map(|(id, _)| id.to_string());
    let last = backups
        .iter()
        .rev()
        .find(|(_, b)| b.status().copy_done())
        .map(|(id, _)| id.to_string());
    rows.push(Row(
        "first_backup",
        "First available backup",
        first.unwrap_or_else(|| "None".into()),
    ));
    rows.push(Row(
        "last_backup",
        "Last available backup",
        last.unwrap_or_else(|| "None".into()),
    ));
    let full = done
        .iter()
        .filter(|b| b.backup_type() != "incremental")
        .count();
    let minimum = server.minimum_redundancy_count();
    let verdict = if full < minimum as usize {
        "FAILED"
    } else {
        "satisfied"
    };
    rows.push(Row(
        "minimum_redundancy",
        "Minimum redundancy requirements",
        format!("{verdict} ({full}/{minimum})"),
    ));
}

/// Show the status of one server.
pub(super) fn show(out: &mut Output, server: &ServerConfig) {
    let name = server.name();
    out.line(&format!("Server {name}:"));
    let mut doc = Map::new();
    for Row(key, label, text) in rows(server) {
        out.line(&format!("\t{label}: {text}"));
        let mut entry = Map::new();
        entry.insert("description".into(), Value::String(label.into()));
        entry.insert("message".into(), Value::String(text));
        doc.insert(key.into(), Value::Object(entry));
    }
    out.json_set(name, Value::Object(doc));
}
