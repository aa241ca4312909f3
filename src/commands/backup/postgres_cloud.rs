//! `backup_method = postgres` with a cloud `basebackups_directory` (Barman's
//! `CloudPostgresBackupExecutor`): pg_basebackup writes a plain backup into
//! `<cloud_staging_directory>/<pid>/plain` (`data/`, one `<oid>/` per tablespace); each file
//! it has closed (no longer open in `/proc/<pid>/fd`) is appended to its archive (`data`,
//! or the tablespace's oid, cut into parts as barman-cloud-backup cuts them) and deleted.
//! The `.conf`, `.tmp`, `current_logfiles` and `PG_VERSION` files wait for pg_basebackup's
//! end; then the folders themselves go, and `pg_control` last. A monitor keeps the staging
//! area under `cloud_staging_max_size`: past it, pg_basebackup is stopped (SIGSTOP) while
//! closed files are uploaded, and resumed (SIGCONT) once below it or when nothing more
//! can be freed. `backup_label` gives the metadata, `backup_manifest` is kept in
//! `meta/<id>-backup_manifest` (the parent of a later incremental backup), and the
//! staging area is removed whatever happened.

use super::postgres_method::{base_backup, outcome, prepare_destination};
use super::{Running, StepError};
use crate::adapters::catalog::layout::ServerDirs;
use crate::adapters::pg_backup::ServerFacts;
use crate::clients::cloud::backup_tar::{Controller, TarError, Uploaded};
use crate::clients::cloud::Log;
use crate::core::backup_id::BackupId;
use crate::core::backup_info::Field;
use crate::core::path_rules::{path_allowed, EXCLUDE, PGDATA_EXCLUDE};
use crate::output::python::human_timedelta;
use crate::output::Output;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the staging area is scanned for closed files and measured: pg_basebackup
/// may write tens of MB/s, and the overshoot past the limit is what it writes meanwhile.
const TICK: Duration = Duration::from_millis(20);

/// [`Monitor::stalled`] when the upload loop has files to upload.
const NOT_STALLED: u64 = u64::MAX;

/// Where a cloud backup keeps its `backup_manifest`: `meta/<id>-backup_manifest`.
pub(super) fn meta_manifest(dirs: &ServerDirs, id: &BackupId) -> PathBuf {
    dirs.meta_directory().join(format!("{id}-backup_manifest"))
}

/// The staging area of this process.
struct Staging {
    /// `<cloud_staging_directory>/<pid>`.
    root: PathBuf,
    /// `<root>/plain`: pg_basebackup's destination.
    plain: PathBuf,
    /// `<root>/plain/data`: PGDATA.
    data: PathBuf,
}

impl Staging {
    fn new(dir: &Path) -> Staging {
        let root = dir.join(std::process::id().to_string());
        let plain = root.join("plain");
        Staging {
            data: plain.join("data"),
            root,
            plain,
        }
    }
}

/// Copy and upload; returns the backup label. Records `copy_stats`, `size` and
/// `deduplicated_size`.
pub(super) fn copy(
    out: &mut Output,
    running: &mut Running<'_>,
    facts: &ServerFacts,
) -> Result<String, StepError> {
    let staging = Staging::new(&running.settings.cloud_staging_directory);
    let provider = crate::commands::cloud_wal::provider_of(running.server.basebackups_dir());
    out.info(&format!(
        "Starting backup copy via pg_basebackup for {} to the cloud storage {}: {}",
        running.id,
        crate::adapters::cloud::provider_name(provider),
        running.server.basebackups_dir()
    ));
    let result = copy_through(out, running, facts, &staging);
    // Barman removes the staging area after a success; a failed run's files would stay
    // behind under the name of a process that is gone, so they are removed too.
    if let Err(e) = std::fs::remove_dir_all(&staging.root) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(target: "barman.backup_executor", "cannot remove {}: {e}", staging.root.display());
        }
    }
    result
}

fn copy_through(
    out: &mut Output,
    running: &mut Running<'_>,
    facts: &ServerFacts,
    staging: &Staging,
) -> Result<String, StepError> {
    let action = running.action.clone();
    let fail = |e: String| StepError::new(&action, e);
    running.copy_start = Some(chrono::Local::now());
    let started = Instant::now();
    prepare_destination(std::slice::from_ref(&staging.plain))
        .map_err(|e| fail(format!("{}: {e}", staging.plain.display())))?;
    let store = running
        .cloud
        .ok_or_else(|| fail("no cloud storage for backups".into()))?;
    let settings = super::cloud_method::upload_settings(running);
    let prefix = super::cloud_method::backup_key(store, running.server.name(), running.id.as_str());
    let options = crate::clients::cloud::backup_run::options_for(&settings, &prefix, Log::barman());
    let mut controller = Controller::new(store, options, Log::barman());
    let job = base_backup(running, facts, &action, &staging.plain)?;
    let archives = transfer(
        &job,
        &mut controller,
        staging,
        running.settings.cloud_staging_max_size,
    )
    .and_then(|()| finish_archives(controller, staging).map_err(|e| e.to_string()))
    .map_err(|message| {
        if crate::adapters::interrupt::received().is_some() {
            fail(message)
        } else {
            fail(format!(
                "data transfer failure on directory '{}'\n{message}",
                staging.data.display()
            ))
        }
    })?;
    let size: u64 = archives
        .iter()
        .flat_map(|(_, list)| list.iter().map(|(size, _)| size))
        .sum();
    let stats = crate::clients::cloud::backup_run::copy_stats(started, settings.jobs, &archives);
    let label_path = staging.data.join("backup_label");
    let label = std::fs::read_to_string(&label_path)
        .map_err(|e| fail(format!("{}: {e}", label_path.display())))?;
    save_manifest(running, staging).map_err(fail)?;
    let copy_time = crate::core::py_literal::parse(&stats)
        .ok()
        .and_then(|v| v.to_json()["copy_time"].as_f64())
        .unwrap_or(0.0);
    running.info.set_raw(Field::CopyStats, Some(stats));
    running.info.set_raw(Field::Size, Some(size.to_string()));
    running
        .info
        .set_raw(Field::DeduplicatedSize, Some(size.to_string()));
    out.info(&format!("Copy done (time: {})", human_timedelta(copy_time)));
    Ok(label)
}

/// `backup_manifest` into `meta/<id>-backup_manifest` (none before PostgreSQL 13).
fn save_manifest(running: &Running<'_>, staging: &Staging) -> Result<(), String> {
    let src = staging.data.join("backup_manifest");
    let bytes = match std::fs::read(&src) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("{}: {e}", src.display())),
    };
    let dest = meta_manifest(running.dirs, &running.id);
    crate::adapters::durable::write_atomic(&dest, &bytes)
        .map_err(|e| format!("{}: {e}", dest.display()))
}

/// Run pg_basebackup with the monitor, uploading its closed files as they come.
fn transfer(
    job: &super::postgres_method::BaseBackup,
    controller: &mut Controller<'_>,
    staging: &Staging,
    max_size: u64,
) -> Result<(), String> {
    let mut cmd = crate::adapters::spawn::child_command(&job.program);
    cmd.args(&job.args)
        .envs(job.env.iter().map(|(k, v)| (k, v)));
    crate::adapters::spawn::log_command(&cmd);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", job.program.display()))?;
    let stderr = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut e) = stderr {
            let _ = e.read_to_string(&mut text);
        }
        text
    });
    let monitor = Monitor::start(child.id(), staging.root.clone(), max_size);
    let streamed = stream(controller, &child, staging, &monitor);
    let peak = monitor.stop();
    tracing::debug!(target: "barman.backup_executor", "Staging area peak size: {peak} bytes (max {max_size})");
    let status = match streamed {
        Ok(()) => child.wait().map_err(|e| e.to_string()),
        Err(message) => {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = reader.join().unwrap_or_default();
            for line in stderr.lines() {
                tracing::info!(target: "barman.backup_executor", "{line}");
            }
            return Err(message);
        }
    }?;
    crate::adapters::spawn::log_status(&status);
    outcome(status, &reader.join().unwrap_or_default())
}

/// Has the child exited? Seen without reaping it, so that its pid cannot be reused
/// while the monitor may still signal it.
fn exited(child: &Child) -> Result<bool, String> {
    use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    match waitid(Id::Pid(Pid::from_raw(child.id() as i32)), flags) {
        Ok(WaitStatus::StillAlive) => Ok(false),
        Ok(_) => Ok(true),
        Err(e) => Err(format!("cannot wait for pg_basebackup: {e}")),
    }
}

/// The upload loop: every tick, the files pg_basebackup has closed go to their archive.
fn stream(
    controller: &mut Controller<'_>,
    child: &Child,
    staging: &Staging,
    monitor: &Monitor,
) -> Result<(), String> {
    let mut processed: HashSet<PathBuf> = HashSet::new();
    loop {
        let done = exited(child)?;
        if let Some(signal) = crate::adapters::interrupt::received() {
            return Err(crate::adapters::interrupt::reason(signal).to_string());
        }
        // Listed before the open files are read: a file created after the listing waits
        // for the next round, one closed in between is complete.
        let mut files = Vec::new();
        list_files(&staging.plain, &mut files);
        let count = files.len();
        let open = if done {
            HashSet::new()
        } else {
            match open_files(child.id(), &staging.plain) {
                Some(open) => open,
                // Unknown this round: nothing is taken as complete.
                None => files.iter().cloned().collect(),
            }
        };
        let ready: Vec<PathBuf> = files
            .into_iter()
            .filter(|f| !processed.contains(f) && !open.contains(f))
            .filter(|f| done || !is_last_file(f))
            .filter(|f| !ignored(f, staging))
            .collect();
        // Nothing closed to upload: let pg_basebackup run until it creates its next file
        // (the one it has open is then complete).
        let stalled = if ready.is_empty() {
            count as u64
        } else {
            NOT_STALLED
        };
        monitor.stalled.store(stalled, Ordering::SeqCst);
        for file in ready.iter() {
            add(controller, staging, file).map_err(|e| e.to_string())?;
            processed.insert(file.clone());
        }
        if done {
            return Ok(());
        }
        if ready.is_empty() {
            std::thread::sleep(TICK);
        }
    }
}

/// Append one file to its archive (`plain/data/base/1/1259` is `base/1/1259` in `data`,
/// `plain/16385/PG_16_.../x` is `PG_16_.../x` in `16385`) and delete it, except
/// `backup_label` and `backup_manifest`, read afterwards.
fn add(controller: &mut Controller<'_>, staging: &Staging, file: &Path) -> Result<(), TarError> {
    let rel = file.strip_prefix(&staging.plain).unwrap_or(file);
    let rel = rel.to_string_lossy();
    let Some((tarball, inside)) = rel.split_once('/') else {
        return Ok(());
    };
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    controller.add_file(&name, file, tarball, inside, false)?;
    if name != "backup_label" && name != "backup_manifest" {
        std::fs::remove_file(file)?;
    }
    Ok(())
}

/// The folders (and the kept files) of each archive, then `pg_control`; complete the
/// archives.
fn finish_archives(
    mut controller: Controller<'_>,
    staging: &Staging,
) -> Result<Vec<Uploaded>, TarError> {
    let mut exclude: Vec<String> = EXCLUDE.iter().map(|s| s.to_string()).collect();
    exclude.extend(PGDATA_EXCLUDE.iter().map(|s| s.to_string()));
    let mut dirs: Vec<String> = std::fs::read_dir(&staging.plain)?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    for dir in dirs {
        let src = staging.plain.join(&dir);
        controller.upload_directory(&dir, &src, &dir, (&exclude, &[]), &mut || {})?;
    }
    controller.add_file(
        "pg_control",
        &staging.data.join("global/pg_control"),
        "data",
        "global/pg_control",
        false,
    )?;
    controller.close()
}

/// Every file under `dir` (links to folders left out, as `os.walk` lists them).
fn list_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => list_files(&path, files),
            Ok(t) if t.is_symlink() && path.is_dir() => {}
            Ok(_) => files.push(path),
            Err(_) => {}
        }
    }
}

/// The files under `plain` that process `pid` has open; `None` when its descriptors
/// cannot be read (a running process has at least its standard ones).
fn open_files(pid: u32, plain: &Path) -> Option<HashSet<PathBuf>> {
    let entries = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    let mut seen = 0;
    let mut open = HashSet::new();
    for entry in entries {
        let entry = entry.ok()?;
        seen += 1;
        if let Ok(target) = std::fs::read_link(entry.path()) {
            if target.starts_with(plain) {
                open.insert(target);
            }
        }
    }
    (seen > 0).then_some(open)
}

/// Barman's `_LAST_FILES`: written or rewritten by pg_basebackup at its end.
fn is_last_file(file: &Path) -> bool {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.ends_with(".conf")
        || name.ends_with(".tmp")
        || name.contains("current_logfiles")
        || name.contains("PG_VERSION")
}

/// Barman's exclusions, matched on the path relative to PGDATA's destination (a
/// tablespace file is `../<oid>/...`, as Python's `os.path.relpath` gives it).
fn ignored(file: &Path, staging: &Staging) -> bool {
    let rel = match file.strip_prefix(&staging.data) {
        Ok(rel) => rel.to_string_lossy().into_owned(),
        Err(_) => match file.strip_prefix(&staging.plain) {
            Ok(rel) => format!("../{}", rel.to_string_lossy()),
            Err(_) => return false,
        },
    };
    let mut rules: Vec<String> = EXCLUDE.iter().map(|s| s.to_string()).collect();
    rules.extend(PGDATA_EXCLUDE.iter().map(|s| s.to_string()));
    !path_allowed(&rules, &[], &rel, false)
}

/// The staging area's watcher: pg_basebackup is stopped while the area is over the limit
/// and closed files wait for the upload, resumed otherwise.
struct Monitor {
    stop: Arc<AtomicBool>,
    /// The number of files in the staging area when the upload loop last found nothing to
    /// upload ([`NOT_STALLED`] otherwise): stopping pg_basebackup before it creates
    /// another file would free nothing (its open file is all there is).
    stalled: Arc<AtomicU64>,
    peak: Arc<AtomicU64>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Monitor {
    fn start(pid: u32, root: PathBuf, max_size: u64) -> Monitor {
        let stop = Arc::new(AtomicBool::new(false));
        let stalled = Arc::new(AtomicU64::new(NOT_STALLED));
        let peak = Arc::new(AtomicU64::new(0));
        let (s, t, p) = (stop.clone(), stalled.clone(), peak.clone());
        let handle = std::thread::spawn(move || watch(pid, &root, max_size, &s, &t, &p));
        Monitor {
            stop,
            stalled,
            peak,
            handle: Some(handle),
        }
    }

    /// End the watch (pg_basebackup resumed if it was stopped); the largest size seen.
    fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
        self.peak.load(Ordering::SeqCst)
    }
}

fn watch(
    pid: u32,
    root: &Path,
    max_size: u64,
    stop: &AtomicBool,
    stalled: &AtomicU64,
    peak: &AtomicU64,
) {
    let target = Pid::from_raw(pid as i32);
    let mut paused = false;
    while !stop.load(Ordering::SeqCst) {
        let (size, files) = usage(root);
        peak.fetch_max(size, Ordering::SeqCst);
        let stalled_at = stalled.load(Ordering::SeqCst);
        let pause = size > max_size && (stalled_at == NOT_STALLED || files != stalled_at);
        if pause != paused {
            let (signal, verb) = if pause {
                (Signal::SIGSTOP, "pausing")
            } else {
                (Signal::SIGCONT, "resuming")
            };
            tracing::debug!(target: "barman.backup_executor", "Staging area size {size} against the max size {max_size}, {verb} pg_basebackup");
            let _ = kill(target, signal);
            paused = pause;
        }
        std::thread::sleep(TICK);
    }
    if paused {
        let _ = kill(target, Signal::SIGCONT);
    }
}

/// The size and the number of files under `root` (links to folders not followed).
fn usage(root: &Path) -> (u64, u64) {
    let mut files = Vec::new();
    list_files(root, &mut files);
    let size = files
        .iter()
        .filter_map(|f| std::fs::symlink_metadata(f).ok())
        .map(|m| m.len())
        .sum();
    (size, files.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_files_and_exclusions_follow_barman() {
        assert!(is_last_file(Path::new("/s/plain/data/postgresql.conf")));
        assert!(is_last_file(Path::new("/s/plain/data/backup_manifest.tmp")));
        assert!(is_last_file(Path::new("/s/plain/data/base/1/PG_VERSION")));
        assert!(is_last_file(Path::new("/s/plain/data/current_logfiles")));
        assert!(!is_last_file(Path::new("/s/plain/data/base/1/1259")));
        let staging = Staging::new(Path::new("/s"));
        let data = |rel: &str| staging.data.join(rel);
        assert!(ignored(&data("global/pg_control"), &staging));
        assert!(ignored(&data("pg_wal/000000010000000000000001"), &staging));
        assert!(!ignored(&data("global/1262"), &staging));
        assert!(!ignored(&data("backup_label"), &staging));
        let tablespace = staging.plain.join("16385/PG_16_1/5/pgsql_tmp1");
        assert!(ignored(&tablespace, &staging));
    }
}
