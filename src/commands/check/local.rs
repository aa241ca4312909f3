//! Checks answered from the configuration and the catalog on disk: `directories`,
//! `retention policy settings`, backup age and size, WAL age and size, compression,
//! failed backups, minimum redundancy, `configuration` and `archiver errors`.

use super::catalogue::{Probe, Recorder};
use super::result::{summarise_error_files, CheckResult};
use crate::adapters::catalog::store;
use crate::core::backup_id::BackupId;
use crate::core::backup_info::Field;
use crate::core::backup_info::{BackupInfo, BackupStatus};
use crate::core::config::value::human_timedelta;
use crate::core::config::ServerConfig;
use crate::output::python::pretty_size;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The configuration keys whose folders `check` creates, in Barman's `KEYS` order.
type DirectoryOption = fn(&ServerConfig) -> Option<&str>;
const DIRECTORY_KEYS: [DirectoryOption; 8] = [
    ServerConfig::backup_directory,
    ServerConfig::basebackups_directory,
    ServerConfig::cloud_staging_directory,
    ServerConfig::errors_directory,
    ServerConfig::incoming_wals_directory,
    ServerConfig::streaming_wals_directory,
    ServerConfig::wals_directory,
    ServerConfig::xlogdb_directory,
];

/// Python's `os.makedirs(exist_ok=True)`; the error names the folder that could not be made.
fn makedirs(path: &Path) -> Result<(), (PathBuf, std::io::Error)> {
    if path.is_dir() {
        return Ok(());
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        makedirs(parent)?;
    }
    match std::fs::create_dir(path) {
        Ok(()) => Ok(()),
        Err(_) if path.is_dir() => Ok(()),
        Err(e) => Err((path.to_path_buf(), e)),
    }
}

fn strerror(e: &std::io::Error) -> String {
    e.raw_os_error()
        .map(|code| nix::errno::Errno::from_raw(code).desc().to_string())
        .unwrap_or_else(|| e.to_string())
}

/// `directories`: create what is missing (not for disabled servers, which get no line).
pub(super) fn check_directories(p: &mut Probe, rec: &mut Recorder) {
    rec.init("directories");
    if p.server.disabled() {
        return;
    }
    let mut dirs: Vec<PathBuf> = DIRECTORY_KEYS
        .iter()
        .filter_map(|option| option(p.server))
        .filter(|v| !v.contains("://"))
        .map(PathBuf::from)
        .collect();
    dirs.push(p.dirs.meta_directory());
    for dir in dirs {
        if let Err((path, e)) = makedirs(&dir) {
            rec.result(false, Some(format!("{}: {}", path.display(), strerror(&e))));
            return;
        }
    }
    rec.result(true, None);
}

/// `retention policy settings`: a policy that is set must be enforceable.
pub(super) fn check_retention_policy_settings(p: &mut Probe, rec: &mut Recorder) {
    rec.init("retention policy settings");
    if p.server.retention_policy_given() && p.server.retention_policy().is_none() {
        rec.result(false, Some("see log".into()));
    } else {
        rec.result(true, None);
    }
}

fn backups(p: &Probe) -> BTreeMap<BackupId, BackupInfo> {
    store::load_backups(&p.dirs).unwrap_or_default()
}

/// The newest backup whose copy is complete (Barman's default status filter).
fn last_backup(backups: &BTreeMap<BackupId, BackupInfo>) -> Option<&BackupInfo> {
    backups.values().rev().find(|b| b.status().copy_done())
}

/// `backup maximum age` and `backup minimum size`.
pub(super) fn check_backup_validity(p: &mut Probe, rec: &mut Recorder) {
    let all = backups(p);
    let last = last_backup(&all);
    rec.init("backup maximum age");
    match p.server.last_backup_maximum_age() {
        Some(limit) => {
            let (ok, age) = match last.and_then(|b| b.time(Field::EndTime, *p.ctx.now.offset())) {
                None => (false, "No available backups".to_string()),
                Some(end) => {
                    let age = (p.ctx.now - end).num_seconds();
                    (age <= limit, human_timedelta(age))
                }
            };
            rec.result(
                ok,
                Some(format!(
                    "interval provided: {}, latest backup age: {age}",
                    human_timedelta(limit)
                )),
            );
        }
        None => rec.result(true, Some("no last_backup_maximum_age provided".into())),
    }
    rec.init("backup minimum size");
    let size = last.and_then(|b| b.int(Field::Size)).unwrap_or(0).max(0);
    let mut result = match p.server.last_backup_minimum_size() {
        Some(minimum) => {
            let ok = last.is_some() && size >= minimum;
            let gtlt = if ok { ">" } else { "<" };
            CheckResult::new(
                "backup minimum size",
                ok,
                Some(format!(
                    "last backup size {} {gtlt} {} minimum",
                    pretty_size(size as f64),
                    pretty_size(minimum as f64)
                )),
            )
        }
        None => CheckResult::new("backup minimum size", true, Some(pretty_size(size as f64))),
    };
    result.perfdata = u64::try_from(size).ok();
    rec.push(result);
}

/// What `get_wal_info` gives about the WAL after the newest backup: the time of the last
/// one and the size of those after the backup's end.
fn wal_after(p: &Probe, backup: &BackupInfo) -> (Option<f64>, u64) {
    let (Some(begin), Some(end)) = (backup.raw(Field::BeginWal), backup.raw(Field::EndWal)) else {
        return (None, 0);
    };
    let backup_tli = begin.get(..8).unwrap_or_default().to_string();
    let mut last_time = None;
    let mut size_after = 0;
    let _ = store::for_each_wal(&p.dirs, |entry| {
        let name = entry.name.as_str();
        let is_segment = name.len() == 24 && name.bytes().all(|b| b.is_ascii_hexdigit());
        if !is_segment || name < begin || name.get(..8).unwrap_or_default() > backup_tli.as_str() {
            return;
        }
        if name > end {
            size_after += entry.size;
        }
        last_time = Some(entry.time);
    });
    (last_time, size_after)
}

/// `wal maximum age` and `wal size`.
pub(super) fn check_wal_validity(p: &mut Probe, rec: &mut Recorder) {
    rec.init("wal maximum age");
    let all = backups(p);
    let wal = last_backup(&all).map(|b| wal_after(p, b));
    let size = wal.map_or(0, |(_, size)| size);
    match p.server.last_wal_maximum_age() {
        Some(limit) => match wal.and_then(|(time, _)| time) {
            None => rec.result(false, Some("No WAL files archived for last backup".into())),
            Some(time) => {
                let age = p.ctx.now.timestamp() as f64
                    + f64::from(p.ctx.now.timestamp_subsec_micros()) / 1e6
                    - time;
                rec.result(
                    age <= limit as f64,
                    Some(format!(
                        "interval provided: {}, latest wal age: {}",
                        human_timedelta(limit),
                        crate::output::python::human_timedelta(age)
                    )),
                );
            }
        },
        _ => rec.result(true, Some("no last_wal_maximum_age provided".into())),
    }
    rec.init("wal size");
    let mut result = CheckResult::new("wal size", true, Some(pretty_size(size as f64)));
    result.perfdata = Some(size);
    rec.push(result);
}

const COMPRESSIONS: [&str; 10] = [
    "gzip", "bzip2", "pygzip", "pybzip2", "pigz", "xz", "zstd", "lz4", "snappy", "custom",
];

/// `backup catalog` (ours, shown only when it fails): every `backup.info` must be
/// readable, or a backup is silently missing from every listing and decision.
pub(super) fn check_unreadable_backups(p: &mut Probe, rec: &mut Recorder) {
    let unreadable = store::unreadable_backups(&p.dirs);
    if unreadable.is_empty() {
        return;
    }
    let hint = unreadable
        .iter()
        .map(|b| format!("{}: {}", b.id, b.error))
        .collect::<Vec<_>>()
        .join(", ");
    rec.result_as(
        "backup catalog",
        false,
        Some(format!("unreadable backup.info: {hint}")),
    );
}

/// `BackupManager.check`: compression, failed backups, minimum redundancy.
pub(super) fn check_backup_manager(p: &mut Probe, rec: &mut Recorder) {
    rec.init("compression settings");
    match p.server.compression() {
        Some(name) if !COMPRESSIONS.contains(&name) => rec.result(false, None),
        Some("custom")
            if p.server.custom_compression_filter().is_none()
                || p.server.custom_decompression_filter().is_none() =>
        {
            // Barman records the incompatibility with a truthy status, then fails it.
            rec.result_as("compression settings", true, None);
            rec.result_as("compression settings", false, None);
        }
        _ => rec.result(true, None),
    }
    let all = backups(p);
    rec.init("failed backups");
    let failed = all
        .values()
        .filter(|b| b.status() == BackupStatus::Failed)
        .count();
    rec.result(
        failed == 0,
        Some(format!("there are {failed} failed backups")),
    );
    rec.init("minimum redundancy requirements");
    let done = all
        .values()
        .filter(|b| b.status() == BackupStatus::Done && b.backup_type() != "incremental")
        .count();
    let minimum = p.server.minimum_redundancy_count();
    rec.result(
        done >= minimum as usize,
        Some(format!(
            "have {done} non-incremental backups, expected at least {minimum}"
        )),
    );
}

/// `configuration`: only when the server is disabled, with each reason as a detail line.
pub(super) fn check_configuration(p: &mut Probe, rec: &mut Recorder) {
    rec.init("configuration");
    if !p.server.msg_list.is_empty() {
        let mut result = CheckResult::new("configuration", false, None);
        result.details = p
            .server
            .msg_list
            .iter()
            .map(|m| format!("\t\t{m}"))
            .collect();
        rec.push(result);
    }
}

/// `archiver errors`: the files in `errors/`, listed in directory order as Python does.
pub(super) fn check_archiver_errors(p: &mut Probe, rec: &mut Recorder) {
    rec.init("archiver errors");
    let names: Vec<String> = std::fs::read_dir(p.server.errors_dir()).map_or_else(
        |_| Vec::new(),
        |entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        },
    );
    rec.result(names.is_empty(), summarise_error_files(&names));
}
