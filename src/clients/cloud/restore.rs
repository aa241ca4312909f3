//! `barman-cloud-restore`: download a backup made by `barman-cloud-backup` into a recovery
//! folder, as barman-cli-cloud 3.20.1's `cloud_restore.py` does: the backup named by id,
//! name, shortcut or `auto` (the newest fitting `--target-*`), PGDATA and each tablespace
//! extracted (relocated by `--tablespace NAME:LOCATION`) and linked from `pg_tblspc`, the
//! WAL folder recreated. Exit codes: 1 refused, 3 command line, 4 any other error.
//! Snapshot backups are refused: restoring them needs the cloud provider's disk APIs.

use super::restore_catalog::{Catalog, Targets};
use super::restore_extract::{self, Job};
use super::{CommonArgs, Log};
use crate::adapters::cloud::{os_error_text, CloudError, CloudStore};
use crate::app::exit::exit_code;
use crate::core::backup_info::{BackupInfo, Field};
use crate::error::ExitKind;
use clap::Parser;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Command line of `barman-cloud-restore`.
#[derive(Debug, Parser)]
#[command(
    name = "barman-cloud-restore",
    version = crate::BARMAN_VERSION,
    disable_help_flag = true,
    about = "This script can be used to download a backup previously made with barman-cloud-backup command. Currently AWS S3 and S3-compatible servers are supported (Azure Blob Storage and Google Cloud Storage are not built yet)."
)]
pub struct Args {
    /// URL of the cloud source, such as a bucket in AWS S3. For example:
    /// `s3://bucket/path/to/folder`.
    pub source_url: String,
    /// the name of the server as configured in Barman.
    pub server_name: String,
    /// the backup ID
    pub backup_id: String,
    /// the path to a directory for recovery.
    pub recovery_dir: PathBuf,
    /// Options shared by the barman-cloud tools.
    #[command(flatten)]
    pub common: CommonArgs,
    /// tablespace relocation rule
    #[arg(long, value_name = "NAME:LOCATION")]
    pub tablespace: Vec<String>,
    /// Instance where the disks recovered from the snapshots are attached
    #[arg(long = "snapshot-recovery-instance")]
    pub snapshot_recovery_instance: Option<String>,
    /// Zone containing the instance and disks for the snapshot recovery (deprecated:
    /// replaced by --gcp-zone)
    #[arg(long = "snapshot-recovery-zone", value_name = "GCP_ZONE")]
    pub snapshot_recovery_zone: Option<String>,
    /// target timeline
    #[arg(long = "target-tli", value_parser = crate::cli::checks::check_tli)]
    pub target_tli: Option<String>,
    /// target LSN (Log Sequence Number)
    #[arg(long = "target-lsn", conflicts_with = "target_time")]
    pub target_lsn: Option<String>,
    /// target time. You can use any valid unambiguous representation. e.g: "YYYY-MM-DD
    /// HH:MM:SS.mmm"
    #[arg(long = "target-time")]
    pub target_time: Option<String>,
    /// Path to a file containing the customer-provided encryption key (SSE-C) to use for
    /// decrypting data in S3, specified as a file:// URI (e.g. file:///path/to/key.b64)
    #[arg(
        long = "sse-customer-key",
        help_heading = "Extra options for the aws-s3 cloud provider"
    )]
    pub sse_customer_key: Option<String>,
    /// Name of the AWS region where the instance and disks for snapshot recovery are
    /// located
    #[arg(
        long = "aws-region",
        help_heading = "Extra options for the aws-s3 cloud provider"
    )]
    pub aws_region: Option<String>,
    /// Resource group containing the instance and disks for the snapshot recovery
    #[arg(
        long = "azure-resource-group",
        help_heading = "Extra options for the azure-blob-storage cloud provider"
    )]
    pub azure_resource_group: Option<String>,
    /// Zone containing the instance and disks for the snapshot recovery
    #[arg(
        long = "gcp-zone",
        help_heading = "Extra options for google-cloud-storage cloud provider"
    )]
    pub gcp_zone: Option<String>,
}

/// Why a restore stopped: the exit and the line logged (none when already logged).
struct Failure(ExitKind, Option<String>);

impl From<CloudError> for Failure {
    /// Python's catch-all: `Barman cloud restore exception: ...`, exit 4.
    fn from(e: CloudError) -> Failure {
        exception(&e)
    }
}

fn exception(e: &dyn std::fmt::Display) -> Failure {
    Failure(
        ExitKind::CloudGeneral,
        Some(format!("Barman cloud restore exception: {e}")),
    )
}

fn refused(message: String) -> Failure {
    Failure(ExitKind::CloudOperation, Some(message))
}

/// Run the client.
pub fn run(args: Args) -> ExitCode {
    let log = args.common.log();
    match restore(&args, log) {
        Ok(code) => code,
        Err(Failure(kind, message)) => {
            if let Some(message) = message {
                log.error(&message);
            }
            exit_code(kind)
        }
    }
}

fn restore(args: &Args, log: Log) -> Result<ExitCode, Failure> {
    let mut options = args.common.options();
    options.sse_customer_key = args.sse_customer_key.clone();
    let store = super::open_store(&args.common, &args.source_url, options)?;
    if args.common.test {
        return Ok(super::verify(&store, log));
    }
    let mut catalog = Catalog::new(&store, &args.server_name, log);
    let backup_id = if args.backup_id != "auto" {
        catalog.parse_backup_id(&args.backup_id)?
    } else {
        let targets = Targets {
            tli: args.target_tli.clone(),
            lsn: args.target_lsn.clone(),
            time: args.target_time.clone(),
        };
        let local = *chrono::Local::now().offset();
        catalog
            .auto_backup_id(&targets, local)?
            .ok_or_else(|| refused("Cannot find any candidate backup for recovery.".into()))?
    };
    let info = catalog.backup_info(&backup_id)?;
    log.info(&format!("Restoring from backup_id: {backup_id}"));
    let Some(info) = info else {
        return Err(refused(format!(
            "Backup {backup_id} for server {} does not exists",
            args.server_name
        )));
    };
    if info.raw(Field::SnapshotsInfo).is_some() {
        return Err(snapshot_refusal(args, &backup_id));
    }
    let relocations = tablespace_map(&args.tablespace, log)?;
    let place = Placement {
        server_name: &args.server_name,
        destination: &args.recovery_dir,
        relocations: &relocations,
    };
    download(&store, &catalog, &place, (&backup_id, &info), log)?;
    Ok(ExitCode::SUCCESS)
}

/// A snapshot backup: Python's message when relocation rules are given, ours otherwise.
fn snapshot_refusal(args: &Args, backup_id: &str) -> Failure {
    if !args.tablespace.is_empty() {
        return exception(&format!(
            "Backup {backup_id} is a snapshot backup therefore tablespace relocation rules cannot be used."
        ));
    }
    exception(&format!(
        "Backup {backup_id} is a snapshot backup: restoring snapshot backups is not supported (attach the disks cloned from its snapshots with Python's barman-cloud-restore)"
    ))
}

/// `--tablespace NAME:LOCATION` rules by name (a later rule for a name wins).
fn tablespace_map(rules: &[String], log: Log) -> Result<HashMap<String, String>, Failure> {
    let mut map = HashMap::new();
    for rule in rules {
        let Some((name, location)) = rule.split_once(':') else {
            log.error(&format!(
                "Invalid tablespace relocation rule '{rule}'\nHINT: The valid syntax for a relocation rule is NAME:LOCATION"
            ));
            return Err(Failure(ExitKind::CloudUsage, None));
        };
        map.insert(name.to_string(), location.to_string());
    }
    Ok(map)
}

/// Python's `os.path.exists(d) and os.listdir(d)`: an existing folder with entries.
fn not_empty(dir: &Path) -> Result<bool, Failure> {
    if !dir.exists() {
        return Ok(false);
    }
    let mut entries = std::fs::read_dir(dir).map_err(|e| exception(&os_error_text(&e, dir)))?;
    Ok(entries.next().is_some())
}

/// Where a download goes.
pub struct Placement<'a> {
    /// The server's folder in the bucket.
    pub server_name: &'a str,
    /// The recovery folder.
    pub destination: &'a Path,
    /// Tablespace name → new location.
    pub relocations: &'a HashMap<String, String>,
}

/// Download and extract backup `id` of a cloud-stored backup into `place` (Barman's
/// `restore` of a server whose backups are in the bucket); the error is Python's
/// exception text.
pub fn download_backup(
    store: &CloudStore,
    place: &Placement<'_>,
    (backup_id, info): (&str, &BackupInfo),
    log: Log,
) -> Result<(), String> {
    let catalog = Catalog::new(store, place.server_name, log);
    download(store, &catalog, place, (backup_id, info), log)
        .map_err(|f| f.1.unwrap_or_else(|| "cloud restore failed".into()))
}

/// Python's `CloudBackupDownloaderObjectStore.download_backup`.
fn download(
    store: &CloudStore,
    catalog: &Catalog<'_>,
    place: &Placement<'_>,
    (backup_id, info): (&str, &BackupInfo),
    log: Log,
) -> Result<(), Failure> {
    let destination = &place.destination.to_path_buf();
    let relocations = place.relocations;
    let refuse_non_empty = |dir: &Path| -> Result<(), Failure> {
        if not_empty(dir)? {
            return Err(refused(format!(
                "Destination {} already exists and it is not empty",
                dir.display()
            )));
        }
        Ok(())
    };
    refuse_non_empty(destination)?;
    let tablespaces = crate::commands::recover::backup_tablespaces(info);
    let files = catalog.backup_files(backup_id, &tablespaces)?;
    if let Some(missing) = files.iter().find(|f| f.path.is_none()) {
        return Err(refused(format!(
            "Missing file {}.* for server {}",
            missing.base, place.server_name
        )));
    }
    let mut jobs = Vec::new();
    let mut links = Vec::new();
    for file in &files {
        let target = match file.oid {
            None => destination.clone(),
            Some(oid) => {
                let (name, _, location) = tablespaces
                    .iter()
                    .find(|t| t.1 == oid)
                    .ok_or_else(|| exception(&format!("The backup file oid '{oid}' must be present in backupinfo.tablespaces list")))?;
                let target = match relocations.get(name) {
                    Some(rule) => real_path(Path::new(rule)),
                    None => PathBuf::from(location),
                };
                log.debug(&format!(
                    "Tablespace {name} (oid={oid}) will be located at {}",
                    target.display()
                ));
                links.push((
                    destination.join("pg_tblspc").join(oid.to_string()),
                    target.clone(),
                ));
                target
            }
        };
        refuse_non_empty(&target)?;
        let main = (file.path.clone().unwrap_or_default(), file.compression);
        for (key, compression) in std::iter::once(main).chain(file.additional.iter().cloned()) {
            jobs.push(Job {
                key,
                compression,
                target: target.clone(),
            });
        }
    }
    let on_start = |job: &Job| {
        log.debug(&format!(
            "Extracting {} to {} ({})",
            job.key,
            job.target.display(),
            job.compression
                .map(|c| format!("decompressing {c}"))
                .unwrap_or_else(|| "no compression".into())
        ));
    };
    restore_extract::extract_all(store, &jobs, &on_start).map_err(|e| exception(&e.0))?;
    finish(destination, info, &links, &jobs)
}

/// Link the tablespaces, recreate the WAL folder, flush everything to disk.
fn finish(
    destination: &Path,
    info: &BackupInfo,
    links: &[(PathBuf, PathBuf)],
    jobs: &[Job],
) -> Result<(), Failure> {
    for (link, target) in links {
        std::os::unix::fs::symlink(target, link).map_err(|e| {
            // Python: `[Errno 17] File exists: 'target' -> 'link'`.
            let text = os_error_text(&e, target);
            exception(&format!("{text} -> '{}'", link.display()))
        })?;
    }
    // pg_wal is not in the backup when it was a symlink: PostgreSQL needs the folder.
    let wal = if info.int(Field::Version).unwrap_or(0) >= 100_000 {
        "pg_wal"
    } else {
        "pg_xlog"
    };
    let wal_path = destination.join(wal);
    if !wal_path.exists() {
        std::fs::create_dir(&wal_path).map_err(|e| exception(&os_error_text(&e, &wal_path)))?;
    }
    let mut dirs: Vec<&Path> = jobs.iter().map(|j| j.target.as_path()).collect();
    dirs.dedup();
    restore_extract::sync_trees(&dirs)
        .map_err(|e| exception(&format!("cannot flush the restored files to disk: {e}")))
}

/// Python's `os.path.realpath`: absolute, symlinks resolved as far as the path exists.
fn real_path(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return absolute,
        }
    }
    let mut resolved = existing
        .canonicalize()
        .unwrap_or_else(|_| existing.to_path_buf());
    resolved.extend(rest.iter().rev());
    resolved
}
