//! `barman-cloud-backup-delete`: delete one backup (`-b`) or every backup a retention
//! policy makes obsolete (`-r`) from object storage, then the WALs no longer needed,
//! honouring keep annotations and `--minimum-redundancy`, as barman-cli-cloud 3.20.1 does.

use super::catalog::{run_tool, CloudCatalog, Fail};
use super::delete_wals::{py_list, remove_wals_for_backup, DeleteOptions};
use super::{CommonArgs, Log};
use crate::core::backup_info::{BackupInfo, BackupStatus, Field};
use crate::core::py_literal::PyValue;
use crate::core::retention::{self, KeepTarget, RetentionInput, RetentionPolicy, RetentionStatus};
use clap::Parser;
use std::process::ExitCode;

/// Command line of `barman-cloud-backup-delete`.
#[derive(Debug, Parser)]
#[command(
    name = "barman-cloud-backup-delete",
    version = crate::BARMAN_VERSION,
    disable_help_flag = true,
    about = "This script can be used to delete backups made with barman-cloud-backup command. Currently AWS S3 and S3-compatible servers are supported (Azure Blob Storage and Google Cloud Storage are not built yet)."
)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["backup_id", "retention_policy"])))]
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
    /// Backup ID of the backup to be deleted
    #[arg(short = 'b', long = "backup-id")]
    pub backup_id: Option<String>,
    /// The minimum number of backups that should always be available.
    #[arg(short = 'm', long = "minimum-redundancy", default_value_t = 0)]
    pub minimum_redundancy: u32,
    /// If specified, delete all backups eligible for deletion according to the supplied
    /// retention policy. Syntax: REDUNDANCY value | RECOVERY WINDOW OF value {DAYS |
    /// WEEKS | MONTHS}
    #[arg(short = 'r', long = "retention-policy")]
    pub retention_policy: Option<String>,
    /// Find the objects which need to be deleted but do not delete them
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    /// The maximum number of objects to be deleted in a single request to the cloud
    /// provider. If unset then the maximum allowed batch size for the specified cloud
    /// provider will be used (1000 for aws-s3).
    #[arg(long = "batch-size")]
    pub batch_size: Option<i64>,
    /// Check for S3 Object Lock before deleting. If enabled, the backup will not be deleted
    /// if any of its objects are protected by Object Lock (retention or legal hold)
    #[arg(long = "check-object-lock")]
    pub check_object_lock: bool,
}

/// Run the client.
pub fn run(args: Args) -> ExitCode {
    run_tool(
        &args.common,
        &args.source_url,
        args.sse_customer_key.as_deref(),
        "Barman cloud backup delete",
        |store, log| {
            let mut catalog = CloudCatalog::new(store, &args.server_name);
            catalog.backup_list(log)?;
            if !catalog.unreadable.is_empty() {
                log.error(&format!(
                    "Cannot read the following backups: {}\nUnsafe to proceed with deletion due to failure reading backup catalog",
                    py_list(&catalog.unreadable)
                ));
                return Err(Fail::Operation);
            }
            // Python clamps the requested size between 1 and S3's maximum, 1000.
            let batch = args.batch_size.map_or(1000, |n| n.clamp(1, 1000)) as usize;
            let mut options = DeleteOptions {
                dry_run: args.dry_run,
                batch,
                skip_if_standalone: true,
                check_object_lock: args.check_object_lock,
            };
            if let Some(word) = &args.backup_id {
                by_id(&mut catalog, &args, word, &options, log)
            } else {
                options.skip_if_standalone = false;
                let policy = args.retention_policy.as_deref().unwrap_or("");
                by_policy(&mut catalog, &args, policy, &options, log)
            }
        },
    )
}

fn by_id(
    catalog: &mut CloudCatalog,
    args: &Args,
    word: &str,
    options: &DeleteOptions,
    log: Log,
) -> Result<(), Fail> {
    let id = catalog.parse_backup_id(word, log)?;
    if catalog.keep_target(&id, false)?.is_some() {
        log.error(&format!(
            "Skipping delete of backup {id} for server {} as it has a current keep request. If you really want to delete this backup please remove the keep and try again.",
            args.server_name
        ));
        return Err(Fail::Operation);
    }
    if args.minimum_redundancy > 0 {
        let completed = catalog
            .backup_list(log)?
            .values()
            .filter(|b| b.status() != BackupStatus::Started)
            .count();
        if args.minimum_redundancy as usize >= completed {
            log.error(&format!(
                "Skipping delete of backup {id} for server {} due to minimum redundancy requirements (minimum redundancy = {}, current redundancy = {completed})",
                args.server_name, args.minimum_redundancy
            ));
            return Err(Fail::Operation);
        }
    }
    delete_backup(catalog, &id, options, log)
}

fn by_policy(
    catalog: &mut CloudCatalog,
    args: &Args,
    text: &str,
    options: &DeleteOptions,
    log: Log,
) -> Result<(), Fail> {
    let Ok(policy) = text.parse::<RetentionPolicy>() else {
        log.error(&format!(
            "Could not create retention policy {text}: Cannot parse option retention_policy: {text}"
        ));
        return Err(Fail::Usage);
    };
    let min = args.minimum_redundancy;
    if let RetentionPolicy::Redundancy(n) = policy {
        if n < min {
            log.warning(&format!(
                "Retention policy redundancy ({n}) is lower than the required minimum redundancy ({min}). Enforce {min}."
            ));
        }
    }
    let local = super::local_offset();
    let list = catalog.backup_list(log)?.clone();
    let mut inputs = Vec::new();
    for (id, info) in &list {
        let keep = if info.status() == BackupStatus::Done {
            catalog
                .keep_target(id, true)?
                .and_then(|t| KeepTarget::from_annotation(&t))
        } else {
            None
        };
        inputs.push(RetentionInput {
            id: id.clone(),
            status: info.status(),
            end_time: info.end_time(local),
            keep,
            parent: info.raw(Field::ParentBackupId).map(str::to_string),
            children: info
                .raw(Field::ChildrenBackupIds)
                .map(|v| v.split(',').map(str::to_string).collect()),
        });
    }
    let now = chrono::Local::now().fixed_offset();
    let report = retention::evaluate(policy, min, &inputs, now);
    if let Some(days) = policy.window_days() {
        // Python's warning for each backup out of the window kept for -m, newest first;
        // the point of recoverability is `str()` of now minus the window.
        let point =
            now - chrono::Duration::days(i64::try_from(days).unwrap_or(i64::MAX / 86_400_000));
        for (id, _) in report
            .iter()
            .rev()
            .filter(|(_, s)| **s == RetentionStatus::PotentiallyObsolete)
        {
            log.warning(&format!(
                "Keeping obsolete backup {id} for server {} (older than {}) due to minimum redundancy requirements ({min})",
                args.server_name,
                crate::commands::catalog::show_render::python_str(&point)
            ));
        }
    }
    let obsolete: Vec<String> = report
        .iter()
        .filter(|(_, status)| **status == RetentionStatus::Obsolete)
        .map(|(id, _)| id.clone())
        .collect();
    for id in obsolete {
        delete_backup(catalog, &id, options, log)?;
    }
    Ok(())
}

/// `_delete_backup`: the backup's files, then its backup.info, then the WALs.
fn delete_backup(
    catalog: &mut CloudCatalog,
    id: &str,
    options: &DeleteOptions,
    log: Log,
) -> Result<(), Fail> {
    let Some(info) = catalog.backup_info(id)? else {
        log.warning(&format!("Backup {id} does not exist"));
        return Ok(());
    };
    if info.raw(Field::SnapshotsInfo).is_some() {
        return Err(Fail::General(
            "deleting snapshot backups is not supported yet".into(),
        ));
    }
    let files = backup_files(catalog, &info, id, log)?;
    let info_key = format!("{}/{id}/backup.info", catalog.prefix);
    log.debug(&format!("Will delete backup.info file at {info_key}"));
    if options.dry_run {
        let mut all = files.clone();
        all.push(info_key);
        crate::output::print_raw(&format!(
            "Skipping deletion of objects {} due to --dry-run option\n",
            py_list(&all)
        ));
    } else {
        // backup.info goes last, so that a failed deletion can be retried; with the lock
        // check, the archives only (Python's).
        let archives = match options.check_object_lock {
            true => catalog
                .store
                .delete_many_unless_locked(&files, options.batch, &mut |why| log.error(why)),
            false => catalog.store.delete_many(&files, options.batch),
        };
        let result = archives.and_then(|()| catalog.store.delete_many(&[info_key], options.batch));
        if let Err(e) = result {
            log.error(&format!("Could not delete backup {id}: {e}"));
            return Err(Fail::Operation);
        }
    }
    remove_wals_for_backup(catalog, &info, id, options, log)?;
    catalog.forget_backup(id);
    Ok(())
}

/// `_get_files_for_backup`: the archive of PGDATA (`data.tar*`) and of each tablespace
/// (`<oid>.tar*`), each with its additional parts (`_NNNN`), PGDATA first then by oid.
fn backup_files(
    catalog: &CloudCatalog,
    info: &BackupInfo,
    id: &str,
    log: Log,
) -> Result<Vec<String>, Fail> {
    let source = format!("{}/{id}", catalog.prefix);
    let oids = tablespace_oids(info);
    // In Python's dict order: PGDATA then the tablespaces.
    let mut entries = vec![Archive::new(None, format!("{source}/data"))];
    for oid in &oids {
        entries.push(Archive::new(Some(*oid), format!("{source}/{oid}")));
    }
    for item in catalog.store.list(&format!("{source}/"))? {
        for entry in entries.iter_mut() {
            if entry.take(&item, log) {
                log.info(&format!(
                    "Found file from backup '{id}' of server '{}': {item}",
                    catalog.server
                ));
                break;
            }
        }
    }
    entries.sort_by_key(|e| e.oid.unwrap_or(-1));
    let mut files = Vec::new();
    for Archive {
        oid,
        base,
        main,
        mut extra,
    } in entries
    {
        if main.is_none() {
            log.warning(&format!(
                "Missing file {base}.* for server {}",
                catalog.server
            ));
        }
        extra.sort();
        let key = oid.map_or_else(|| "PGDATA".to_string(), |o| o.to_string());
        for path in main.into_iter().chain(extra) {
            log.debug(&format!("Will delete archive for {key} at {path}"));
            files.push(path);
        }
    }
    Ok(files)
}

/// One archive of a backup (`BackupFileInfo`): PGDATA (`oid` None) or a tablespace.
struct Archive {
    oid: Option<i64>,
    /// Key prefix: `<backup>/data` or `<backup>/<oid>`.
    base: String,
    /// The main file, when found.
    main: Option<String>,
    /// Additional parts (`_NNNN` suffixes).
    extra: Vec<String>,
}

impl Archive {
    /// Take `item` when it is this archive's main file or one of its parts (Python's
    /// `get_backup_files` matching: `.` or `_` right after the base, a known extension).
    fn take(&mut self, item: &str, log: Log) -> bool {
        let Some(suffix) = item.strip_prefix(self.base.as_str()) else {
            return false;
        };
        if !suffix.starts_with(['.', '_']) {
            log.debug(&format!(
                "Skipping spurious prefix match: {}|{suffix}",
                self.base
            ));
            return false;
        }
        let additional = suffix.starts_with('_');
        let ext = if additional {
            suffix.split_once('.').map_or(suffix, |(_, e)| e)
        } else {
            &suffix[1..]
        };
        if !matches!(
            ext,
            "tar" | "tar.gz" | "tar.bz2" | "tar.snappy" | "tar.lz4" | "tar.zst"
        ) {
            log.warning(&format!("Skipping unknown extension: {ext}"));
            return false;
        }
        if additional {
            self.extra.push(item.to_string());
        } else {
            self.main = Some(item.to_string());
        }
        true
    }

    fn new(oid: Option<i64>, base: String) -> Self {
        Archive {
            oid,
            base,
            main: None,
            extra: Vec::new(),
        }
    }
}

/// The oids of the backup's tablespaces (`(name, oid, location)` items).
fn tablespace_oids(info: &BackupInfo) -> Vec<i64> {
    match info.literal(Field::Tablespaces) {
        Some(PyValue::List(items)) => items
            .iter()
            .filter_map(|t| match t {
                PyValue::List(f) | PyValue::Tuple(f) if f.len() == 3 => match f[1] {
                    PyValue::Int(oid) => Some(oid),
                    _ => None,
                },
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}
