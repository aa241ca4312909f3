//! `cron [--keep-descriptors]`, step by step as Barman 3.20's `cli.cron` + `Server.cron`:
//! the configuration-update lock, then per server (sorted, disabled ones skipped) under
//! the non-blocking `.<server>-cron.lock`: stop receive-wal of an inactive server; start
//! `archive-wal` and `receive-wal` in the background (or stop receive-wal when
//! `streaming_archiver` is off); mark FAILED the STARTED backups no process holds (ours,
//! see `backup::abandoned`); start `check-backup` for the oldest WAITING_FOR_WALS
//! backup; enforce the retention policy in this process; finally clean the lock directory.
//!
//! Two crons at once never archive a file twice: each per-server pass holds the server's
//! cron lock, and `archive-wal` itself runs under `.<server>-archive-wal.lock`.

use super::{processes, Context};
use crate::adapters::lock::{LockError, LockFile, LockKind};
use crate::adapters::spawn;
use crate::core::backup_info::BackupStatus;
use crate::core::config::ServerConfig;
use crate::output::Output;
use std::path::{Path, PathBuf};

mod retention;

/// `cron`.
pub fn run(ctx: &Context, out: &mut Output, keep_descriptors: bool) -> crate::Result<()> {
    let lock_dir = PathBuf::from(&ctx.config.global.barman_lock_directory);
    // The changes `config-update` queued are applied first, under its lock; this run
    // goes on with the configuration it loaded, as Barman's does.
    let queue_lock = crate::commands::locks::take(
        out,
        &lock_dir,
        &LockKind::ConfigUpdate,
        &crate::commands::locks::CRON_CONFIG_QUEUE,
    )?;
    if let Some(_lock) = queue_lock {
        // As Barman, a queue that cannot be processed is logged and the cron goes on.
        if let Err(e) = super::config_cmds::drain_queue(ctx, out) {
            tracing::error!(target: "barman.config", "Cannot process the configuration changes queue: {e}");
        }
    }
    let spawner = Spawner::new(ctx, keep_descriptors)?;
    for (name, server) in &ctx.config.servers {
        if server.disabled() {
            continue;
        }
        if let Err(e) = server_cron(ctx, out, server, &lock_dir, &spawner) {
            tracing::error!(target: "barman.cli", "cron on server {name}: {e}");
            out.exception(&format!(
                "Unable to run cron on server '{name}', please look in the barman log file for more details."
            ));
        }
    }
    if let Some(path) = &ctx.config.global.metrics_file {
        // After the pass, so the file shows what this cron did; a failure is an error of
        // this run (exit 1) once everything else has been done.
        if let Err(e) = super::metrics::write_file(ctx, std::path::Path::new(path)) {
            tracing::error!(target: "barman.cli", "{e}");
            out.error(&e.to_string());
        }
    }
    lock_files_cleanup(&lock_dir, ctx.config.global.lock_directory_cleanup);
    Ok(())
}

/// How cron starts its children: this very executable, with the same configuration.
struct Spawner<'a> {
    exe: PathBuf,
    config: &'a str,
    keep_descriptors: bool,
}

impl<'a> Spawner<'a> {
    fn new(ctx: &'a Context, keep_descriptors: bool) -> crate::Result<Self> {
        let exe = std::env::current_exe().map_err(|source| crate::Error::Io {
            op: "locate",
            path: PathBuf::from("/proc/self/exe"),
            source,
        })?;
        Ok(Spawner {
            exe,
            config: &ctx.config.config_file,
            keep_descriptors,
        })
    }

    fn start(&self, subcommand: &str, args: &[&str]) -> crate::Result<()> {
        spawn::barman_subprocess(
            &self.exe,
            self.config,
            subcommand,
            args,
            self.keep_descriptors,
        )
        .map(|_| ())
        .map_err(crate::Error::from)
    }
}

/// Barman's `Server.cron` for one server.
fn server_cron(
    ctx: &Context,
    out: &mut Output,
    server: &ServerConfig,
    lock_dir: &Path,
    spawner: &Spawner,
) -> crate::Result<()> {
    let name = server.name();
    let Some(_cron) = crate::commands::locks::take(
        out,
        lock_dir,
        &LockKind::ServerCron(name.into()),
        &crate::commands::locks::CRON_SERVER,
    )?
    else {
        return Ok(());
    };
    if !server.active() {
        let lock_path = lock_dir;
        if processes::list(lock_path, name, out)
            .iter()
            .any(|p| p.task == "receive-wal")
        {
            out.info(&format!(
                "Server '{name}' is inactive: stopping receive-wal subprocess"
            ));
            processes::kill(ctx, server, "receive-wal", false, out);
        }
        return Ok(());
    }
    if server.passive_node() {
        let start = |subcommand: &str, args: &[&str]| spawner.start(subcommand, args);
        super::sync::sync_cron(ctx, out, server, lock_dir, &start)?;
    } else {
        cron_archive_wal(out, server, lock_dir, spawner)?;
        if server.streaming_archiver() {
            background_receive_wal(out, server, lock_dir, spawner)?;
        } else {
            processes::kill(ctx, server, "receive-wal", false, out);
        }
    }
    // Not in Barman 3.20.1: a backup whose process died is FAILED, not STARTED forever.
    crate::commands::backup::abandoned::fail_abandoned(server, lock_dir)?;
    cron_check_backup(out, server, lock_dir, spawner)?;
    retention::enforce(ctx, out, server, lock_dir)?;
    cron_drill(ctx, out, server, lock_dir, spawner)
}

/// Ours: `drill_schedule` starts `barman drill` of a server whose last successful drill is
/// too old, after retention (never a backup about to go), one at a time per server.
fn cron_drill(
    ctx: &Context,
    out: &mut Output,
    server: &ServerConfig,
    lock_dir: &Path,
    spawner: &Spawner,
) -> crate::Result<()> {
    let name = server.name();
    if server.passive_node() || !super::drill::due(ctx, server)? {
        return Ok(());
    }
    if probe(lock_dir, &LockKind::Drill(name.into()))? {
        out.info(&format!("Starting a restore drill for server {name}"));
        spawner.start("drill", &[name])
    } else {
        Ok(())
    }
}

/// Probe a lock: `Ok(true)` when free (it is released at once).
fn probe(lock_dir: &Path, kind: &LockKind) -> crate::Result<bool> {
    match LockFile::acquire(lock_dir, kind) {
        Ok(_lock) => Ok(true),
        Err(LockError::Busy(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

fn cron_archive_wal(
    out: &mut Output,
    server: &ServerConfig,
    lock_dir: &Path,
    spawner: &Spawner,
) -> crate::Result<()> {
    let name = server.name();
    if probe(lock_dir, &LockKind::ArchiveWal(name.into()))? {
        out.info_unlogged(&format!("Starting WAL archiving for server {name}"));
        // Not in Barman, which starts archive-wal every minute for every server: with
        // nothing in incoming/ or streaming/ it would only find that out. A fleet's idle
        // cron then costs no process per server. A file landing right after this look
        // waits for the next cron, as one landing after archive-wal's listing would.
        if !has_pending_wal(server) {
            return Ok(());
        }
        spawner.start("archive-wal", &[name])
    } else {
        out.info(&format!(
            "Another archive-wal process is already running on server {name}. Skipping to the next server"
        ));
        Ok(())
    }
}

/// True when a folder archive-wal reads holds anything (a file, a temporary file, junk
/// it would move to errors/); a folder that cannot be read counts as holding something,
/// so archive-wal runs and reports it.
fn has_pending_wal(server: &ServerConfig) -> bool {
    let holds_entries = |dir: &str| match std::fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_some(),
        Err(e) => e.kind() != std::io::ErrorKind::NotFound,
    };
    (server.streaming_archiver() && holds_entries(server.streaming_dir()))
        || (server.archiver() && holds_entries(server.incoming_dir()))
}

/// Start `receive-wal` in the background unless one runs (Barman's
/// `Server.background_receive_wal`, used by `config-switch` and `config-update`).
pub(crate) fn start_receive_wal(
    ctx: &Context,
    out: &mut Output,
    server: &ServerConfig,
) -> crate::Result<()> {
    let spawner = Spawner::new(ctx, false)?;
    let lock_dir = PathBuf::from(&ctx.config.global.barman_lock_directory);
    background_receive_wal(out, server, &lock_dir, &spawner)
}

fn background_receive_wal(
    out: &mut Output,
    server: &ServerConfig,
    lock_dir: &Path,
    spawner: &Spawner,
) -> crate::Result<()> {
    let name = server.name();
    if probe(lock_dir, &LockKind::ReceiveWal(name.into()))? {
        out.info_unlogged(&format!("Starting streaming archiver for server {name}"));
        spawner.start("receive-wal", &[name])
    } else {
        tracing::debug!(target: "barman.server", "Another STREAMING ARCHIVER process is running for server {name}");
        Ok(())
    }
}

fn cron_check_backup(
    out: &mut Output,
    server: &ServerConfig,
    lock_dir: &Path,
    spawner: &Spawner,
) -> crate::Result<()> {
    let name = server.name();
    let dirs = super::status::server_dirs(server);
    let backups = crate::adapters::catalog::store::load_backups(&dirs)?;
    let Some(id) = backups
        .iter()
        .find(|(_, b)| b.status() == BackupStatus::WaitingForWals)
        .map(|(id, _)| id.clone())
    else {
        return Ok(());
    };
    if probe(lock_dir, &LockKind::Backup(name.into(), id.to_string()))? {
        out.info_unlogged(&format!(
            "Starting check-backup for backup {id} of server {name}"
        ));
        spawner.start("check-backup", &[name, id.as_str()])
    } else {
        tracing::debug!(target: "barman.server", "Another process is holding the backup lock for {id} of server {name}");
        Ok(())
    }
}

/// Barman's `lock_files_cleanup`: remove every `.*.lock` of the lock directory that can be
/// locked right now (nobody runs under it). Disabled by `lock_directory_cleanup = false`.
pub fn lock_files_cleanup(lock_dir: &Path, enabled: bool) {
    if !enabled {
        tracing::debug!(target: "barman.utils", "Auto-cleanup of '{}' directory disabled", lock_dir.display());
        return;
    }
    tracing::info!(target: "barman.utils", "Cleaning up lockfiles directory.");
    let Ok(entries) = std::fs::read_dir(lock_dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.starts_with('.') && name.ends_with(".lock") && name.len() > ".lock".len()) {
            continue;
        }
        let path = entry.path();
        match LockFile::acquire_path(&path, false) {
            Ok(_held) => {
                tracing::debug!(target: "barman.utils", "deleting {}", path.display());
                if std::fs::remove_file(&path).is_ok() {
                    tracing::debug!(target: "barman.utils", "{} deleted", path.display());
                }
            }
            Err(_) => tracing::debug!(
                target: "barman.utils",
                "{} file lock already acquired, skipping removal",
                path.display()
            ),
        }
    }
}

/// `lock-directory-cleanup`.
pub fn lock_directory_cleanup(ctx: &Context) -> crate::Result<()> {
    lock_files_cleanup(Path::new(&ctx.config.global.barman_lock_directory), true);
    Ok(())
}
