//! `backup_method = postgres`: `pg_basebackup` over the streaming connection, as Barman's
//! `PostgresBackupExecutor` runs it (start position from `pg_current_wal_lsn()`, begin
//! fields re-read from the `backup_label`, stop position = current LSN after the copy,
//! then `pg_switch_wal()`), with `backup_compression`, tablespace mapping, `--max-rate`,
//! retries that wipe and restart the copy, and progress from the destination's size.

use super::{reported, Running, StepError};
use crate::adapters::pg_backup::{BackupSession, ServerFacts};
use crate::adapters::pg_tools;
use crate::core::backup_info::Field;
use crate::core::backup_record::{self};
use crate::output::progress::Progress;
use crate::output::python::human_timedelta;
use crate::output::Output;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// `backup_compression*` settings as pg_basebackup takes them.
struct Compression {
    kind: String,
    format: String,
    location: Option<String>,
    level: Option<i64>,
    workers: Option<i64>,
}

fn compression(running: &Running<'_>) -> Option<Compression> {
    let server = running.server;
    let kind = server.backup_compression()?.to_string();
    Some(Compression {
        format: server
            .backup_compression_format()
            .unwrap_or("tar")
            .to_string(),
        location: server.backup_compression_location().map(str::to_string),
        level: server.backup_compression_level(),
        workers: server.backup_compression_workers(),
        kind,
    })
}

fn compression_args(c: &Compression, client_major: u32) -> Vec<String> {
    let mut args = vec![format!("--format={}", c.format)];
    if client_major >= 15 {
        let mut arg = "--compress=".to_string();
        if let Some(location) = &c.location {
            arg.push_str(&format!("{location}-"));
        }
        arg.push_str(&c.kind);
        let mut detail = Vec::new();
        if let Some(level) = c.level {
            detail.push(format!("level={level}"));
        }
        if let Some(workers) = c.workers {
            detail.push(format!("workers={workers}"));
        }
        if !detail.is_empty() {
            arg.push_str(&format!(":{}", detail.join(",")));
        }
        args.push(arg);
    } else if c.kind == "none" {
        args.push("--compress=0".into());
    } else {
        if let Some(level) = c.level {
            args.push(format!("--compress={level}"));
        }
        args.push(format!("--{}", c.kind));
    }
    args
}

/// Run the method: start position, copy, stop position.
pub(super) fn run(
    out: &mut Output,
    running: &mut Running<'_>,
    session: &mut BackupSession,
    facts: ServerFacts,
) -> Result<(), StepError> {
    running.set_action("initialising postgres backup_method");
    running.record_facts(&facts);
    running.set_action("issuing start backup command");
    let start = session
        .current_position()
        .map_err(|e| StepError::new(&running.action, e))?;
    backup_record::record_start(&mut running.info, &reported(&start));
    running.save()?;
    running.report_start(out);
    running.set_action("copying files");
    if running.cloud.is_some() {
        let label = super::postgres_cloud::copy(out, running, &facts)?;
        stop_with_label(out, running, session, &label)?;
        return running.purge_if_first(out);
    }
    out.info(&format!(
        "Starting backup copy via pg_basebackup for {}",
        running.id
    ));
    let copy_time = copy(out, running, &facts)?;
    running.info.set_raw(
        Field::CopyStats,
        Some(backup_record::postgres_copy_stats(copy_time)),
    );
    out.info(&format!("Copy done (time: {})", human_timedelta(copy_time)));
    stop(out, running, session)?;
    running.purge_if_first(out)
}

/// Copy with pg_basebackup (retried from scratch); returns the copy time in seconds.
fn copy(
    out: &mut Output,
    running: &mut Running<'_>,
    facts: &ServerFacts,
) -> Result<f64, StepError> {
    let action = running.action.clone();
    running.copy_start = Some(chrono::Local::now());
    let started = Instant::now();
    let job = base_backup(running, facts, &action, &running.base())?;
    let total = facts
        .cluster_size
        .as_deref()
        .and_then(|s| s.split('.').next()?.parse().ok());
    let progress = Progress::bytes(out, total, "pg_basebackup");
    run_with_retries(out, running, &job, &progress)
        .map_err(|message| StepError::new(&action, message))?;
    progress.finish();
    if compression(running).is_some_and(|c| c.format != "plain") {
        running
            .info
            .set_raw(Field::Compression, compression(running).map(|c| c.kind));
    }
    Ok(started.elapsed().as_secs_f64())
}

/// One pg_basebackup invocation and the folders it fills.
pub(super) struct BaseBackup {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Where PGDATA goes (named when the transfer fails).
    pub data: PathBuf,
    /// PGDATA's and each tablespace's destination, emptied before every attempt.
    pub dest_dirs: Vec<PathBuf>,
}

/// The pg_basebackup run of this backup: PGDATA into `<root>/data/`, each tablespace into
/// `<root>/<oid>/`, WAL left to the archive (`--wal-method=none`). To the cloud (the
/// staging area as root) without compression and with `--no-sync`, as Barman does.
pub(super) fn base_backup(
    running: &Running<'_>,
    facts: &ServerFacts,
    action: &str,
    root: &Path,
) -> Result<BaseBackup, StepError> {
    let data = root.join("data");
    let mut dest_dirs = vec![data.clone()];
    let mut mapping = Vec::new();
    for t in &facts.tablespaces {
        let dest = root.join(t.oid.to_string());
        mapping.push(format!(
            "--tablespace-mapping={}={}",
            t.location,
            dest.display()
        ));
        dest_dirs.push(dest);
    }
    let tool = pg_tools::version_info(&["pg_basebackup"], running.server.path_prefix());
    let program = tool
        .path
        .clone()
        .ok_or_else(|| StepError::new(action, "pg_basebackup not present in $PATH"))?;
    let client_major: u32 = tool
        .major_version
        .as_deref()
        .and_then(|m| m.split('.').next().and_then(|v| v.parse().ok()))
        .unwrap_or(15);
    // The password (if the conninfo holds one) goes to pg_basebackup's environment, never
    // to its argv, where any local user could read it with `ps`.
    let child_conninfo =
        crate::adapters::libpq::child_conninfo(running.server.streaming_conninfo().unwrap_or(""));
    let mut args = vec![
        format!("--dbname={}", dbname(running, &child_conninfo.conninfo)),
        "-v".into(),
        "--no-password".into(),
        format!("--pgdata={}", data.display()),
        "--no-slot".into(),
        "--wal-method=none".into(),
    ];
    if running.cloud.is_some() {
        args.push("--no-sync".into());
    }
    args.extend(mapping);
    args.extend(option_args(running, client_major));
    let mut env = vec![(
        "PATH".to_string(),
        pg_tools::search_path(running.server.path_prefix()),
    )];
    if let Some(password) = child_conninfo.password {
        env.push(("PGPASSWORD".to_string(), password));
    }
    Ok(BaseBackup {
        program,
        args,
        env,
        data,
        dest_dirs,
    })
}

/// The conninfo with Barman's `streaming_backup_name` as application name, unless the
/// user set one.
fn dbname(running: &Running<'_>, conninfo: &str) -> String {
    let app_name = running
        .server
        .streaming_backup_name()
        .unwrap_or("barman_streaming_backup");
    if conninfo.contains("application_name") {
        conninfo.to_string()
    } else {
        format!("{conninfo} application_name={app_name}")
    }
}

/// Rate limit, incremental parent manifest, fast checkpoint and compression arguments.
fn option_args(running: &Running<'_>, client_major: u32) -> Vec<String> {
    let mut args = Vec::new();
    if let Some(rate) = running.settings.bwlimit {
        args.push(format!("--max-rate={rate}"));
    }
    if let Some(parent) = &running.parent {
        let manifest = match running.cloud {
            // Cloud backups keep their manifest in `meta/<id>-backup_manifest`.
            Some(_) => super::postgres_cloud::meta_manifest(running.dirs, parent),
            None => running
                .dirs
                .backup_base(parent)
                .join("data")
                .join("backup_manifest"),
        };
        args.push(format!("--incremental={}", manifest.display()));
    }
    if running.settings.immediate {
        args.push("--checkpoint=fast".into());
    }
    match compression(running) {
        Some(c) if running.cloud.is_none() => args.extend(compression_args(&c, client_major)),
        _ => {}
    }
    args
}

/// Run pg_basebackup, wiping the destinations and starting over up to
/// `basebackup_retry_times` times (never after an interruption). The error is the step's
/// failure message; the progress bar is finished when pg_basebackup fails for good.
fn run_with_retries(
    out: &mut Output,
    running: &Running<'_>,
    job: &BaseBackup,
    progress: &Progress,
) -> Result<(), String> {
    let mut attempt = 0;
    loop {
        prepare_destination(&job.dest_dirs).map_err(|e| e.to_string())?;
        // A backup staged for the cloud is read and deleted: no point writing it to disk.
        let writeback = running.cloud.is_none();
        match run_pg_basebackup(job, &running.base(), writeback, progress) {
            Ok(()) => return Ok(()),
            Err(message)
                if attempt < running.settings.retry_times
                    && crate::adapters::interrupt::received().is_none() =>
            {
                attempt += 1;
                out.warning(&format!(
                    "Failure executing a backup using pg_basebackup (attempt {attempt})"
                ));
                out.warning(&format!(
                    "The files copied so far will be removed and the backup process will restart in {} seconds",
                    running.settings.retry_sleep
                ));
                tracing::warn!(target: "barman.backup_executor", "pg_basebackup failed: {message}");
                std::thread::sleep(Duration::from_secs(running.settings.retry_sleep));
            }
            Err(message) if crate::adapters::interrupt::received().is_some() => {
                progress.finish();
                return Err(message);
            }
            Err(message) => {
                progress.finish();
                return Err(format!(
                    "data transfer failure on directory '{}'\n{message}",
                    job.data.display()
                ));
            }
        }
    }
}

/// Remove and recreate each destination with mode 0700 (Barman's
/// `_prepare_backup_destination`, also run before each retry).
pub(super) fn prepare_destination(dirs: &[PathBuf]) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    for dir in dirs {
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
        std::fs::create_dir_all(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Run pg_basebackup to completion, logging its stderr and updating the progress from the
/// size of the backup folder. With `writeback`, what it wrote is handed to the disk as it
/// goes, so its closing fsync of every file has little left to wait for.
fn run_pg_basebackup(
    job: &BaseBackup,
    base: &Path,
    writeback: bool,
    progress: &Progress,
) -> Result<(), String> {
    let program = &job.program;
    let mut cmd = crate::adapters::spawn::child_command(program);
    cmd.args(&job.args)
        .envs(job.env.iter().map(|(k, v)| (k, v)));
    crate::adapters::spawn::log_command(&cmd);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    let stderr = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut e) = stderr {
            let _ = e.read_to_string(&mut text);
        }
        text
    });
    let _early = writeback.then(|| crate::adapters::writeback::BackgroundWriteback::start(base));
    let mut polls = 0u32;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {
                if let Some(signal) = crate::adapters::interrupt::received() {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(crate::adapters::interrupt::reason(signal).to_string());
                }
                // Its end is noticed within 20 ms; the folder is sized every 200 ms.
                if polls % 10 == 0 {
                    progress.set(dir_size(base));
                }
                polls = polls.wrapping_add(1);
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(e.to_string()),
        }
    };
    crate::adapters::spawn::log_status(&status);
    outcome(status, &reader.join().unwrap_or_default())
}

/// pg_basebackup's stderr logged; its failure as a message with the last lines.
pub(super) fn outcome(status: std::process::ExitStatus, stderr: &str) -> Result<(), String> {
    for line in stderr.lines() {
        tracing::info!(target: "barman.backup_executor", "{line}");
    }
    if status.success() {
        return Ok(());
    }
    let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    let how = match status.code() {
        Some(code) => format!("pg_basebackup exited with code {code}"),
        None => "pg_basebackup was killed by a signal".to_string(),
    };
    Err(if tail.is_empty() {
        how
    } else {
        format!("{how}: {}", tail.join("\n"))
    })
}

pub(super) fn dir_size(root: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(entry.path()),
                Ok(t) if t.is_file() => total += entry.metadata().map(|m| m.len()).unwrap_or(0),
                _ => {}
            }
        }
    }
    total
}

/// Read the label, record the stop position, switch WAL.
fn stop(
    out: &mut Output,
    running: &mut Running<'_>,
    session: &mut BackupSession,
) -> Result<(), StepError> {
    running.set_action("reading the backup label");
    let label = read_backup_label(running).map_err(|e| StepError::new(&running.action, e))?;
    stop_with_label(out, running, session, &label)
}

/// Record the label's fields and the stop position, switch WAL.
fn stop_with_label(
    out: &mut Output,
    running: &mut Running<'_>,
    session: &mut BackupSession,
    label: &str,
) -> Result<(), StepError> {
    let start_time = label
        .lines()
        .find_map(|l| l.strip_prefix("START TIME: "))
        .and_then(parse_label_time);
    backup_record::record_from_label(&mut running.info, running.id.as_str(), label, start_time)
        .map_err(|e| StepError::new(&running.action, e))?;
    running.set_action("stopping postgres backup_method");
    out.info("Finalising the backup.");
    let stop = session
        .current_position()
        .map_err(|e| StepError::new(&running.action, e))?;
    let timeline = running.info.timeline().map_or(1, |t| t.get());
    backup_record::record_stop(&mut running.info, &reported(&stop), timeline);
    session
        .switch_wal()
        .map_err(|e| StepError::new(&running.action, e))?;
    running.save()
}

/// `START TIME: 2026-11-24 01:02:56 UTC` (or a numeric offset).
fn parse_label_time(text: &str) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    let (stamp, zone) = text.trim().rsplit_once(' ')?;
    let naive = chrono::NaiveDateTime::parse_from_str(stamp, "%Y-%m-%d %H:%M:%S").ok()?;
    let offset = if zone == "UTC" || zone == "GMT" {
        chrono::FixedOffset::east_opt(0)?
    } else {
        chrono::DateTime::parse_from_str(
            &format!("2000-01-01 00:00:00 {zone}"),
            "%Y-%m-%d %H:%M:%S %z",
        )
        .ok()?
        .offset()
        .to_owned()
    };
    naive.and_local_timezone(offset).single()
}

/// The backup_label from `data/`, or from inside `base.tar[.gz|.lz4|.zst]`.
fn read_backup_label(running: &Running<'_>) -> Result<String, String> {
    let data = running.data_dir();
    let plain = data.join("backup_label");
    if plain.exists() {
        return std::fs::read_to_string(&plain).map_err(|e| format!("{}: {e}", plain.display()));
    }
    for (suffix, kind) in [
        ("base.tar.gz", "gzip"),
        ("base.tar.lz4", "lz4"),
        ("base.tar.zst", "zstd"),
        ("base.tar", "none"),
    ] {
        let path = data.join(suffix);
        if path.exists() {
            return label_from_tar(&path, kind);
        }
    }
    Err(format!(
        "Could not find backup_label in {}",
        data.join("base.tar").display()
    ))
}

fn label_from_tar(path: &Path, kind: &str) -> Result<String, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let reader: Box<dyn Read> = match kind {
        "gzip" => Box::new(flate2::read::MultiGzDecoder::new(file)),
        "lz4" => Box::new(lz4_flex::frame::FrameDecoder::new(file)),
        "zstd" => Box::new(zstd::stream::read::Decoder::new(file).map_err(|e| e.to_string())?),
        _ => Box::new(file),
    };
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let name = entry
            .path()
            .map_err(|e| e.to_string())?
            .display()
            .to_string();
        if name == "backup_label" || name == "./backup_label" {
            let mut text = String::new();
            entry.read_to_string(&mut text).map_err(|e| e.to_string())?;
            return Ok(text);
        }
    }
    Err(format!("Could not find backup_label in {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_arguments_follow_barman() {
        let c = Compression {
            kind: "zstd".into(),
            format: "tar".into(),
            location: Some("server".into()),
            level: Some(3),
            workers: Some(2),
        };
        assert_eq!(
            compression_args(&c, 15),
            ["--format=tar", "--compress=server-zstd:level=3,workers=2"]
        );
        let g = Compression {
            kind: "gzip".into(),
            format: "tar".into(),
            location: None,
            level: Some(5),
            workers: None,
        };
        assert_eq!(
            compression_args(&g, 14),
            ["--format=tar", "--compress=5", "--gzip"]
        );
        assert_eq!(
            compression_args(&g, 16),
            ["--format=tar", "--compress=gzip:level=5"]
        );
    }

    #[test]
    fn label_time_parses_utc_and_offsets() {
        let t = parse_label_time("2026-11-24 01:02:56 UTC").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-24T01:02:56+00:00");
        let t = parse_label_time("2026-11-24 01:02:56 +0100").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-24T01:02:56+01:00");
    }
}
