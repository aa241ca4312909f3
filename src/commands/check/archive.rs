//! Archiving checks: `WAL archive` (with its archive-wal and switch-wal probes), the
//! incoming/streaming queue checks (`Server.check_archive`), and the archivers' own checks
//! (`StreamingWalArchiver.check`, `FileWalArchiver.check`).

use super::catalogue::{Probe, Recorder};
use crate::adapters::catalog::store;
use crate::adapters::lock::{owner_pid, LockKind};
use crate::core::backup_info::BackupStatus;
use crate::output::{ColorChoice, Format, Output};
use std::path::{Path, PathBuf};

/// A writer that shows nothing (Barman's `muted(output)`): JSON mode collects messages and
/// `quiet` keeps it from printing them.
fn muted() -> Output {
    Output::new(Format::Json, true, false, ColorChoice::Never)
}

fn xlogdb_is_empty(p: &Probe) -> bool {
    std::fs::metadata(store::xlog_db_path(&p.dirs)).map_or(true, |m| m.len() == 0)
}

fn has_waiting_backup(p: &Probe) -> bool {
    store::load_backups(&p.dirs).is_ok_and(|backups| {
        backups
            .values()
            .any(|b| b.status() == BackupStatus::WaitingForWals)
    })
}

/// `WAL archive` (printed only when failing) and the queue checks.
pub(super) fn check_archive(p: &mut Probe, rec: &mut Recorder) {
    rec.init("WAL archive");
    let archiving = p.server.active() && !p.server.passive_node();
    let mut ok = !xlogdb_is_empty(p) || has_waiting_backup(p);
    if !ok && archiving {
        let mut quiet = muted();
        let _ = crate::commands::wal::archive_server(p.ctx, &mut quiet, p.server, false);
        ok = !xlogdb_is_empty(p);
    }
    if !ok && p.has_postgres() {
        let mut quiet = muted();
        // The switched WAL has a third of the check time to arrive and be archived.
        let _ = crate::commands::wal::switch_wal(
            p.ctx,
            &mut quiet,
            &[p.server.name().to_string()],
            false,
            true,
            p.check_timeout / 3,
        );
        ok = !xlogdb_is_empty(p);
    }
    if !ok {
        rec.result(false, Some("please make sure WAL shipping is setup".into()));
    }
    let incoming = p.server.incoming_dir().to_string();
    let streaming = p.server.streaming_dir().to_string();
    wal_queue(
        p,
        rec,
        "incoming",
        &incoming,
        p.server.archiver(),
        "archiver",
    );
    wal_queue(
        p,
        rec,
        "streaming",
        &streaming,
        p.server.streaming_archiver(),
        "streaming_archiver",
    );
}

/// Files waiting in a queue folder (`glob('*')`: hidden files are not listed), without
/// `.tmp` and `.partial` files.
fn queued_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.') && !n.ends_with(".tmp") && !n.ends_with(".partial"))
            .count()
    })
}

fn wal_queue(
    p: &Probe,
    rec: &mut Recorder,
    dir_name: &str,
    dir: &str,
    enabled: bool,
    archiver_name: &str,
) {
    let count = queued_files(Path::new(dir));
    rec.init(&format!("empty {dir_name} directory"));
    if !enabled {
        if count > 0 {
            rec.result(
                false,
                Some(format!("'{dir}' must be empty when {archiver_name}=off")),
            );
        }
        return;
    }
    let Some(max) = p.server.max_incoming_wals_queue() else {
        return;
    };
    rec.init(&format!("{dir_name} WALs directory"));
    if i64::try_from(count).unwrap_or(i64::MAX) > max {
        rec.result(
            false,
            Some(format!(
                "there are too many WALs in queue: {count}, max {max}"
            )),
        );
    }
}

/// The archivers' checks, streaming first then file, as Barman orders its archivers.
pub(super) fn check_archivers(p: &mut Probe, rec: &mut Recorder) {
    if p.server.passive_node() {
        return;
    }
    if p.server.streaming_archiver() {
        check_streaming_archiver(p, rec);
    }
    if p.server.archiver() {
        check_file_archiver(p, rec);
    }
}

fn check_streaming_archiver(p: &mut Probe, rec: &mut Recorder) {
    rec.init("pg_receivexlog");
    let remote = p.remote();
    rec.result(remote.flag("pg_receivexlog_installed") == Some(true), None);
    rec.init("pg_receivexlog compatible");
    let compatible = remote.flag("pg_receivexlog_compatible") == Some(true);
    let hint = (!compatible).then(|| {
        format!(
            "PostgreSQL version: {}, pg_receivexlog version: {}",
            streaming_server_version(remote),
            remote
                .text("pg_receivexlog_version")
                .unwrap_or_else(|| "None".into())
        )
    });
    rec.result(compatible, hint);
    let lock_dir = PathBuf::from(&p.ctx.config.global.barman_lock_directory);
    let lock = lock_dir.join(LockKind::ReceiveWal(p.server.name().to_string()).file_name());
    rec.init("receive-wal running");
    if matches!(owner_pid(&lock), Ok(Some(_))) {
        rec.result(true, None);
    } else {
        rec.result(
            false,
            Some("See the Barman log file for more details".into()),
        );
    }
}

/// The streaming connection's `server_txt_version` (None when it cannot connect).
pub(super) fn streaming_server_version(remote: &super::catalogue::Remote) -> String {
    if remote.text("streaming_supported").is_some() || remote.flag("streaming_supported").is_some()
    {
        remote
            .text("server_txt_version")
            .unwrap_or_else(|| "None".into())
    } else {
        "None".into()
    }
}

fn check_file_archiver(p: &mut Probe, rec: &mut Recorder) {
    rec.init("archive_mode");
    let remote = p.remote();
    // Without archive_mode PostgreSQL could not be reached: nothing to say.
    let Some(mode) = remote.text("archive_mode") else {
        return;
    };
    if mode == "on" || mode == "always" {
        rec.result(true, None);
    } else {
        rec.result(false, Some("please set it to 'on' or 'always'".into()));
    }
    rec.init("archive_command");
    match remote.text("archive_command") {
        Some(command) if !command.is_empty() && command != "(disabled)" => {
            rec.result_as("archive_command", true, None);
            if let Some(archiving) = remote.flag("is_archiving") {
                rec.result_as("continuous archiving", archiving, None);
            }
        }
        _ => rec.result(
            false,
            Some("please set it accordingly to documentation".into()),
        ),
    }
}
