//! `barman-cloud-backup` as Barman's `post_backup_script` (or `post_backup_retry_script`):
//! Python's `CloudBackupUploaderBarman`. The backup Barman just took
//! (`BARMAN_BACKUP_DIR`, `BARMAN_BACKUP_ID`, `BARMAN_BACKUP_INFO_PATH`) is uploaded as the
//! tool uploads a live one — tablespaces from `<dir>/<oid>`, PGDATA from `<dir>/data`
//! (which already holds its `backup_label`) — then its `backup.info` as it is on disk.
//! A failure leaves that file untouched and exits 1; a backup not DONE exits 63, which
//! Barman takes as "stop, do not retry".

use super::backup::Args;
use super::backup_run::{controller_options, copy_files, general, Failure, Source};
use super::backup_tar::Controller;
use super::Log;
use crate::adapters::cloud::CloudStore;
use crate::core::backup_info::{BackupInfo, Field};
use crate::error::ExitKind;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Python's `__is_hook_script`: true as a post backup hook, an error for any other hook.
pub(super) fn is_hook_script() -> Result<bool, Failure> {
    let (Ok(hook), Ok(phase)) = (std::env::var("BARMAN_HOOK"), std::env::var("BARMAN_PHASE"))
    else {
        return Ok(false);
    };
    if matches!(hook.as_str(), "backup_script" | "backup_retry_script") && phase == "post" {
        return Ok(true);
    }
    Err(general(format!(
        "barman-cloud-backup called as unsupported hook script: {phase}_{hook}"
    )))
}

/// The hook's checks and the upload.
pub(super) fn upload(args: &Args, store: &CloudStore, log: Log) -> Result<ExitCode, Failure> {
    if args.backup_name.is_some() {
        return Err(general(
            "Cannot set backup name when running as a hook script",
        ));
    }
    let var = |name: &str| {
        std::env::var(name).map_err(|_| general(format!("{name} environment variable not set")))
    };
    let dir = var("BARMAN_BACKUP_DIR")?;
    let id = var("BARMAN_BACKUP_ID")?;
    let status = std::env::var("BARMAN_STATUS").unwrap_or_else(|_| "None".into());
    if status != "DONE" {
        // 63: Barman's `UnrecoverableHookScriptError`, which stops its retry loop.
        return Err(Failure(
            ExitKind::RemoteFailed(63),
            format!(
                "Barman cloud backup exception: backup in '{dir}' has status '{status}' (status should be: DONE)"
            ),
        ));
    }
    let info_path = var("BARMAN_BACKUP_INFO_PATH")?;
    let text = std::fs::read(&info_path).map_err(|e| general(format!("{e}: '{info_path}'")))?;
    let info = BackupInfo::parse(&String::from_utf8_lossy(&text)).map_err(general)?;
    if info.raw(Field::Compression).is_some() {
        return Err(general(
            "Compressed backups are not supported when running as a hook script",
        ));
    }
    let source = Source {
        original_pgdata: info.raw(Field::Pgdata).unwrap_or("").to_string(),
        pgdata: PathBuf::from(&dir).join("data"),
        tablespaces: crate::commands::recover::copy::tablespaces(&info)
            .into_iter()
            .map(|(name, oid, location)| {
                let from = PathBuf::from(&dir).join(oid.to_string());
                (name, oid, location, from)
            })
            .collect(),
        major: info.version().map(|v| v.major_text()).unwrap_or_default(),
    };
    let prefix = store.url.key(&[&args.server_name, "base", &id]);
    let start = chrono::Local::now();
    let started = Instant::now();
    let uploaded = (|| -> Result<(), String> {
        let mut controller = Controller::new(store, controller_options(args, &prefix, log), log);
        copy_files(&mut controller, &source, &mut || {}).map_err(|e| e.to_string())?;
        controller.close().map_err(|e| e.to_string())?;
        store
            .put(
                &format!("{prefix}/backup.info"),
                text.clone(),
                &args.object_tags(),
            )
            .map_err(|e| e.to_string())
    })();
    if let Err(e) = uploaded {
        let first = e.trim().lines().next().unwrap_or("Exception").to_string();
        log.error(&format!("Backup upload failed uploading data ({first})"));
        return Err(Failure(ExitKind::CloudOperation, String::new()));
    }
    log.info(&format!(
        "Upload of backup completed (start time: {}, elapsed time: {})",
        crate::commands::backup::python_naive(&start),
        crate::output::python::human_timedelta(started.elapsed().as_secs_f64())
    ));
    Ok(ExitCode::SUCCESS)
}
