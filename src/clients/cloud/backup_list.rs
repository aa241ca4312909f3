//! `barman-cloud-backup-list`: the backups of a server in object storage, as a table or
//! as JSON, byte for byte as barman-cli-cloud 3.20.1 prints them.

use super::catalog::{run_tool, CloudCatalog, Fail};
use super::CommonArgs;
use crate::core::backup_info::{BackupStatus, Field};
use clap::Parser;
use std::process::ExitCode;

/// Command line of `barman-cloud-backup-list`.
#[derive(Debug, Parser)]
#[command(
    name = "barman-cloud-backup-list",
    version = crate::BARMAN_VERSION,
    disable_help_flag = true,
    about = "This script can be used to list backups made with barman-cloud-backup command. Currently AWS S3 and S3-compatible servers are supported (Azure Blob Storage and Google Cloud Storage are not built yet)."
)]
pub struct Args {
    /// URL of the cloud source, such as a bucket in AWS S3. For example:
    /// `s3://bucket/path/to/folder`.
    pub source_url: String,
    /// the name of the server as configured in Barman.
    pub server_name: String,
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
        "Barman cloud backup list",
        |store, log| {
            let mut catalog = CloudCatalog::new(store, &args.server_name);
            let text = if args.format == "console" {
                console(&mut catalog, log)?
            } else {
                json(&mut catalog, log)?
            };
            crate::output::print_raw(&text);
            Ok(())
        },
    )
}

/// The table (`COLUMNS = "{:<20}{:<25}{:<30}{:<17}{:<20}"`).
fn console(catalog: &mut CloudCatalog, log: super::Log) -> Result<String, Fail> {
    let row = |a: &str, b: &str, c: &str, d: &str, e: &str| {
        format!("{a:<20}{b:<25}{c:<30}{d:<17}{e:<20}\n")
    };
    let mut out = row(
        "Backup ID",
        "End Time",
        "Begin Wal",
        "Archival Status",
        "Name",
    );
    let local = super::local_offset();
    let backups: Vec<_> = catalog
        .backup_list(log)?
        .iter()
        .map(|(id, info)| (id.clone(), info.clone()))
        .collect();
    for (id, info) in backups {
        let end = info
            .end_time(local)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default();
        let status = if info.status() == BackupStatus::Done {
            catalog
                .keep_target(&id, true)?
                .filter(|t| !t.is_empty())
                .map(|t| format!("KEEP:{}", t.to_uppercase()))
                .unwrap_or_default()
        } else {
            info.status().to_string()
        };
        out.push_str(&row(
            &id,
            &end,
            info.raw(Field::BeginWal).unwrap_or(""),
            &status,
            info.raw(Field::BackupName).unwrap_or(""),
        ));
    }
    Ok(out)
}

/// `{"backups_list": [...]}`.
fn json(catalog: &mut CloudCatalog, log: super::Log) -> Result<String, Fail> {
    let local = super::local_offset();
    let items: Vec<String> = catalog
        .backup_list(log)?
        .iter()
        .map(|(id, info)| super::info_json::dumps_info(info, id, local))
        .collect();
    Ok(format!("{{\"backups_list\": [{}]}}\n", items.join(", ")))
}
