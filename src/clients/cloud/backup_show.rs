//! `barman-cloud-backup-show`: one backup's metadata from object storage, as Barman's
//! show-backup renders a bare backup.info (no WAL or catalog sections), or as JSON.

use super::catalog::{run_tool, CloudCatalog, Fail};
use super::CommonArgs;
use crate::commands::catalog::show_render::{python_str, seconds, snapshots, tablespaces};
use crate::core::backup_info::{BackupInfo, Field};
use crate::core::py_literal::PyValue;
use crate::output::python::{human_timedelta, pretty_size};
use clap::Parser;
use std::process::ExitCode;

/// Command line of `barman-cloud-backup-show`.
#[derive(Debug, Parser)]
#[command(
    name = "barman-cloud-backup-show",
    version = crate::BARMAN_VERSION,
    disable_help_flag = true,
    about = "This script can be used to show metadata for backups made with barman-cloud-backup command. Currently AWS S3 and S3-compatible servers are supported (Azure Blob Storage and Google Cloud Storage are not built yet)."
)]
pub struct Args {
    /// URL of the cloud source, such as a bucket in AWS S3. For example:
    /// `s3://bucket/path/to/folder`.
    pub source_url: String,
    /// the name of the server as configured in Barman.
    pub server_name: String,
    /// the backup ID
    pub backup_id: String,
    /// Options shared by the barman-cloud tools.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Path to a file containing the customer-provided encryption key (SSE-C) (not
    /// supported yet)
    #[arg(
        long = "sse-customer-key",
        help_heading = "Extra options for the aws-s3 cloud provider"
    )]
    pub sse_customer_key: Option<String>,
    /// Output format (console or json). Default console.
    #[arg(long, default_value = "console")]
    pub format: String,
}

/// Run the client.
pub fn run(args: Args) -> ExitCode {
    run_tool(
        &args.common,
        &args.source_url,
        args.sse_customer_key.as_deref(),
        "Barman cloud backup show",
        |store, log| {
            let mut catalog = CloudCatalog::new(store, &args.server_name);
            let id = catalog.parse_backup_id(&args.backup_id, log)?;
            let Some(info) = catalog.backup_info(&id)? else {
                log.error(&format!(
                    "Backup {id} for server {} does not exist",
                    args.server_name
                ));
                return Err(Fail::Operation);
            };
            let local = super::local_offset();
            let text = if args.format == "console" {
                let mut lines = console(&info, &id);
                lines.push(String::new());
                lines.join("\n")
            } else {
                let server = info
                    .raw(Field::ServerName)
                    .map_or_else(|| "null".to_string(), super::info_json::string);
                format!(
                    "{{{server}: {}}}\n",
                    super::info_json::dumps_info(&info, &id, local)
                )
            };
            crate::output::print_raw(&text);
            Ok(())
        },
    )
}

fn row(label: &str, value: &str) -> String {
    format!("  {label:<23}: {value}")
}

fn nested(label: &str, value: &str) -> String {
    format!("    {label:<21}: {value}")
}

fn raw(info: &BackupInfo, field: Field) -> String {
    info.raw(field).unwrap_or("None").to_string()
}

/// `ConsoleOutputWriter.render_show_backup(backup_info.to_dict(), print)`.
fn console(info: &BackupInfo, id: &str) -> Vec<String> {
    let mut lines = vec![format!("Backup {id}:")];
    if let Some(name) = info.raw(Field::BackupName).filter(|n| !n.is_empty()) {
        lines.push(row("Backup Name", name));
    }
    lines.push(row("Server Name", &raw(info, Field::ServerName)));
    if let Some(systemid) = info.raw(Field::Systemid).filter(|s| !s.is_empty()) {
        lines.push(row("System Id", systemid));
    }
    lines.push(row("Status", &info.status().to_string()));
    let copy_done = info.status().copy_done();
    if copy_done {
        lines.push(row("PostgreSQL Version", &raw(info, Field::Version)));
        lines.push(row("PGDATA directory", &raw(info, Field::Pgdata)));
        if let Some(size) = info.int(Field::ClusterSize).filter(|s| *s != 0) {
            lines.push(row("Estimated Cluster Size", &pretty_size(size as f64)));
        }
    }
    lines.push(String::new());
    crate::commands::catalog::show_render::server_information(info, &mut lines);
    if copy_done {
        snapshots(info, &mut lines);
        tablespaces(info, &mut lines);
        base(info, &mut lines);
    } else if let Some(error) = info.raw(Field::Error).filter(|e| !e.is_empty()) {
        lines.push(row("Error", error));
    }
    lines
}

/// `render_show_backup_base` over a bare backup.info: no backup type, WAL or
/// deduplication figures, copy time from `copy_stats`.
fn base(info: &BackupInfo, lines: &mut Vec<String>) {
    lines.push("  Base backup information:".into());
    if let Some(mode) = info.raw(Field::Mode).filter(|m| !m.is_empty()) {
        lines.push(nested("Backup Method", mode));
    }
    if let Some(encryption) = info.raw(Field::Encryption).filter(|e| !e.is_empty()) {
        lines.push(nested("Encryption", encryption));
    }
    if let Some(size) = info.int(Field::DeduplicatedSize).filter(|s| *s != 0) {
        lines.push(nested("Backup Size", &pretty_size(size as f64)));
    }
    if let Some(c) = info
        .raw(Field::Compression)
        .filter(|c| !c.is_empty() && *c != "none")
    {
        lines.push(nested("Backup Compression", c));
    }
    lines.push(nested("Timeline", &raw(info, Field::Timeline)));
    lines.push(nested("Begin WAL", &raw(info, Field::BeginWal)));
    lines.push(nested("End WAL", &raw(info, Field::EndWal)));
    let local = super::local_offset();
    for (label, field) in [
        ("Begin time", Field::BeginTime),
        ("End time", Field::EndTime),
    ] {
        let text = info
            .time(field, local)
            .map_or_else(|| "None".to_string(), |t| python_str(&t));
        lines.push(nested(label, &text));
    }
    copy_time(info, lines);
    lines.push(nested("Begin Offset", &raw(info, Field::BeginOffset)));
    lines.push(nested("End Offset", &raw(info, Field::EndOffset)));
    lines.push(nested("Begin LSN", &raw(info, Field::BeginXlog)));
    lines.push(nested("End LSN", &raw(info, Field::EndXlog)));
    lines.push(String::new());
}

/// `Copy time` from `copy_stats` (`copy_time`, `analysis_time` when at least a second).
fn copy_time(info: &BackupInfo, lines: &mut Vec<String>) {
    let Some(PyValue::Dict(stats)) = info.literal(Field::CopyStats) else {
        return;
    };
    let get = |key: &str| {
        stats
            .iter()
            .find(|(k, _)| matches!(k, PyValue::Str(s) if s == key))
            .map_or(0.0, |(_, v)| seconds(v))
    };
    let copy = get("copy_time");
    if copy == 0.0 {
        return;
    }
    let mut text = human_timedelta(copy);
    let analysis = get("analysis_time");
    if analysis >= 1.0 {
        text.push_str(&format!(" + {} startup", human_timedelta(analysis)));
    }
    lines.push(nested("Copy time", &text));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Python's `render_show_backup(backup_info.to_dict(), print)` of a Barman 3.20.1
    /// backup.info with a tablespace, a method, a size and copy statistics.
    #[test]
    fn a_bare_backup_info_renders_as_python_renders_it() {
        let text = include_str!(
            "../../../tests/fixtures/barman-3.20/catalog/pgr-20261124T004344-backup.info"
        );
        let expected = include_str!(
            "../../../tests/fixtures/barman-3.20/catalog/pgr-20261124T004344-cloud-show.txt"
        );
        let info = BackupInfo::parse(text).unwrap();
        let mut lines = console(&info, "20261124T004344");
        lines.push(String::new());
        assert_eq!(lines.join("\n"), expected);
    }
}
