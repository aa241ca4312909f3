//! `barman-cloud-backup-keep`: add, show or release the keep annotation of a backup in
//! object storage (`base/<id>/annotations/keep`, holding `full` or `standalone`), which
//! retention and barman-cloud-backup-delete honour.

use super::catalog::{run_tool, CloudCatalog, Fail};
use super::CommonArgs;
use crate::core::backup_info::BackupStatus;
use clap::Parser;
use std::process::ExitCode;

/// Command line of `barman-cloud-backup-keep`.
#[derive(Debug, Parser)]
#[command(
    name = "barman-cloud-backup-keep",
    version = crate::BARMAN_VERSION,
    disable_help_flag = true,
    about = "This script can be used to tag backups in cloud storage as archival backups such that they will not be deleted. Currently AWS S3 and S3-compatible servers are supported (Azure Blob Storage and Google Cloud Storage are not built yet)."
)]
#[command(group(clap::ArgGroup::new("keep").required(true).args(["release", "status", "target"])))]
pub struct Args {
    /// URL of the cloud source, such as a bucket in AWS S3. For example:
    /// `s3://bucket/path/to/folder`.
    pub source_url: String,
    /// the name of the server as configured in Barman.
    pub server_name: String,
    /// the backup ID of the backup to be kept
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
    /// If specified, the command will remove the keep annotation and the backup will be
    /// eligible for deletion
    #[arg(short = 'r', long)]
    pub release: bool,
    /// Print the keep status of the backup
    #[arg(short = 's', long)]
    pub status: bool,
    /// Specify the recovery target for this backup
    #[arg(long, value_parser = ["full", "standalone"])]
    pub target: Option<String>,
}

/// Run the client.
pub fn run(args: Args) -> ExitCode {
    run_tool(
        &args.common,
        &args.source_url,
        args.sse_customer_key.as_deref(),
        "Barman cloud keep",
        |store, log| {
            let mut catalog = CloudCatalog::new(store, &args.server_name);
            let id = catalog.parse_backup_id(&args.backup_id, log)?;
            if args.release {
                catalog.release(&id)?;
            } else if args.status {
                let target = catalog.keep_target(&id, true)?.filter(|t| !t.is_empty());
                crate::output::print_raw(&format!(
                    "Keep: {}\n",
                    target.as_deref().unwrap_or("nokeep")
                ));
            } else {
                let Some(info) = catalog.backup_info(&id)? else {
                    // Python reads `.status` of None here.
                    return Err(Fail::General(
                        "'NoneType' object has no attribute 'status'".into(),
                    ));
                };
                if info.status() != BackupStatus::Done {
                    log.error(&format!(
                        "Cannot add keep to backup {id} because it has status {}. Only backups with status DONE can be kept.",
                        info.status()
                    ));
                    return Err(Fail::Operation);
                }
                catalog.keep(&id, args.target.as_deref().unwrap_or("full"))?;
            }
            Ok(())
        },
    )
}
