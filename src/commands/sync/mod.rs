//! Geo-redundancy (Barman's passive nodes): `sync-info` on a primary prints what it holds,
//! a passive node (`primary_ssh_command`) fetches that over ssh into `primary.info`, copies
//! new backups with `sync-backup` and new WAL with `sync-wals`, and its `cron` drives both
//! (see `cron`). The rules are in `core::sync`.

mod backup;
mod cron;
mod wals;

pub use backup::sync_backup;
pub(crate) use cron::sync_cron;
pub use wals::sync_wals;

use super::status::server_dirs;
use super::{select, Context};
use crate::adapters::catalog::store;
use crate::adapters::lock::{LockFile, LockKind};
use crate::core::backup_info::BackupStatus;
use crate::core::backup_info::Field;
use crate::core::config::ServerConfig;
use crate::core::sync::{self, SyncError};
use crate::output::Output;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// `<backup_directory>/primary.info`: the primary's last `sync-info`.
const PRIMARY_INFO_FILE: &str = "primary.info";
/// `<wals_directory>/sync-wals.info`: where WAL synchronisation resumes.
const SYNC_WALS_INFO_FILE: &str = "sync-wals.info";

/// Barman's `get_server` flags for `sync-info`: every server, whatever its state.
const ANY_STATE: select::Policy = select::Policy {
    inactive_is_error: false,
    skip_inactive: false,
    disabled_is_error: false,
};

/// `sync-info [--primary] SERVER [LAST_WAL [LAST_POSITION]]`.
pub fn sync_info(
    ctx: &Context,
    out: &mut Output,
    name: &str,
    last_wal: Option<&str>,
    last_position: Option<u64>,
    primary: bool,
) -> crate::Result<()> {
    let Some(server) = select::single(&ctx.config, name, out, ANY_STATE) else {
        return Ok(());
    };
    let position = last_position.map(|p| p.to_string());
    let result = if primary {
        primary_node_info(ctx, out, server, last_wal, position.as_deref())
            .map(|info| crate::output::json::dumps_indented(&info))
            .map(|text| out.info_unlogged(&text))
    } else {
        sync_status(ctx, server, last_wal, last_position).map(|status| {
            // Barman writes this with `json.dump` straight to stdout: no newline after.
            crate::output::print_raw(&crate::output::json::dumps_indented(&status));
        })
    };
    if let Err(e) = result {
        out.error(&e.to_string());
    }
    Ok(())
}

/// Barman's `Server.sync_status`: backups whose copy is done, the WAL catalog from
/// `last_wal` on, this version and the server's configuration.
fn sync_status(
    ctx: &Context,
    server: &ServerConfig,
    last_wal: Option<&str>,
    last_position: Option<u64>,
) -> Result<Value, SyncError> {
    let dirs = server_dirs(server);
    let offset = *ctx.now.offset();
    let backups = store::load_backups(&dirs).map_err(|e| SyncError(e.to_string()))?;
    let done: Vec<_> = backups
        .iter()
        .filter(|(_, b)| {
            matches!(
                b.status(),
                BackupStatus::Done | BackupStatus::WaitingForWals
            )
        })
        .collect();
    let first_useful = done.first().and_then(|(_, b)| b.raw(Field::BeginWal));
    let lock_dir = PathBuf::from(&ctx.config.global.barman_lock_directory);
    let db = {
        let _lock = LockFile::acquire(&lock_dir, &LockKind::XlogDb(server.name().into()))
            .map_err(|e| SyncError(e.to_string()))?;
        let path = store::xlog_db_path(&dirs);
        match std::fs::read(&path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(SyncError(format!("{}: {e}", path.display()))),
        }
    };
    let selection = sync::select_wals(&db, last_wal, last_position, first_useful)?;
    let mut status = Map::new();
    status.insert("last_position".into(), Value::from(selection.last_position));
    status.insert("last_name".into(), Value::String(selection.last_name));
    let backups_json: Map<String, Value> = done
        .iter()
        .map(|(id, info)| (id.to_string(), sync::backup_json(info, id.as_str(), offset)))
        .collect();
    status.insert("backups".into(), Value::Object(backups_json));
    status.insert(
        "wals".into(),
        Value::Array(selection.wals.iter().map(sync::wal_json).collect()),
    );
    status.insert(
        "version".into(),
        Value::String(crate::BARMAN_VERSION.into()),
    );
    status.insert(
        "config".into(),
        Value::Object(super::diagnose::server_config_json(server)),
    );
    Ok(Value::Object(status))
}

/// Barman's `primary_node_info`: run `barman sync-info` on the primary through
/// `primary_ssh_command`, store its output in `primary.info` (atomically) and return it.
/// An exit code 1 with a resume point asks again for everything, as Barman does.
pub(crate) fn primary_node_info(
    ctx: &Context,
    out: &mut Output,
    server: &ServerConfig,
    mut last_wal: Option<&str>,
    mut last_position: Option<&str>,
) -> Result<Value, SyncError> {
    let name = server.name();
    tracing::debug!(target: "barman.server", "primary sync-info({name}, {last_wal:?}, {last_position:?})");
    let Some(ssh) = primary_ssh_command(server).filter(|_| server.passive_node()) else {
        return Err(SyncError(format!("server {name} is not passive")));
    };
    let output = loop {
        let mut remote = if server.forward_config_path() {
            format!("barman -c {} sync-info", ctx.config.config_file)
        } else {
            "barman sync-info".to_string()
        };
        remote.push_str(&format!(" {name}"));
        if let Some(wal) = last_wal {
            remote.push_str(&format!(" {wal} "));
            if let Some(position) = last_position {
                remote.push_str(&format!(" {position} "));
            }
        }
        let line = format!("{ssh} {}", shell_words::quote(&remote));
        let mut cmd = crate::adapters::spawn::child_command("sh");
        cmd.arg("-c").arg(&line).env(
            "PATH",
            crate::adapters::pg_tools::search_path(server.path_prefix()),
        );
        let output = crate::adapters::spawn::output(cmd.stdin(std::process::Stdio::null()))
            .map_err(|e| {
                SyncError(format!(
                    "sync-info execution on remote primary server {name} failed: {e}"
                ))
            })?;
        if output.status.success() {
            break output;
        }
        if output.status.code() == Some(1) && last_wal.is_some() {
            last_wal = None;
            last_position = None;
            out.warning(&format!("sync-info is out of sync. Self-recovery procedure started: requesting full synchronisation from primary server {name}"));
            continue;
        }
        return Err(SyncError(format!(
            "sync-info execution on remote primary server {name} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )));
    };
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let info: Value = serde_json::from_str(&text).map_err(|e| {
        SyncError(format!(
            "sync-info on primary server {name} returned invalid JSON: {e}"
        ))
    })?;
    let path = Path::new(server.backup_dir()).join(PRIMARY_INFO_FILE);
    crate::adapters::durable::create_dir_all_durable(Path::new(server.backup_dir()))
        .and_then(|()| crate::adapters::durable::write_atomic(&path, text.as_bytes()))
        .map_err(|e| {
            SyncError(format!(
                "Cannot open {PRIMARY_INFO_FILE} file for server {name}: {e}"
            ))
        })?;
    Ok(info)
}

/// Barman's `load_primary_info`: the stored `primary.info`, checked for the parts used.
pub(crate) fn load_primary_info(server: &ServerConfig) -> Result<Value, SyncError> {
    let name = server.name();
    let path = Path::new(server.backup_dir()).join(PRIMARY_INFO_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        SyncError(format!(
            "Cannot open {PRIMARY_INFO_FILE} file for server {name}: {}",
            python_os_error(&e, &path)
        ))
    })?;
    let info: Value = serde_json::from_str(&text).map_err(|e| {
        SyncError(format!(
            "Cannot read {PRIMARY_INFO_FILE} file for server {name}: {e}"
        ))
    })?;
    let shaped = info["backups"].is_object()
        && info["wals"].is_array()
        && info["config"].is_object()
        && info["config"]["basebackups_directory"].is_string()
        && info["config"]["wals_directory"].is_string();
    if !shaped {
        return Err(SyncError(format!(
            "Cannot read {PRIMARY_INFO_FILE} file for server {name}: not the output of sync-info"
        )));
    }
    Ok(info)
}

/// Barman's `load_sync_wals_info` (nothing yet when the file is absent).
pub(crate) fn load_sync_wals_info(server: &ServerConfig) -> Result<sync::SyncWalsInfo, SyncError> {
    let path = Path::new(server.wals_dir()).join(SYNC_WALS_INFO_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => sync::SyncWalsInfo::parse(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(sync::SyncWalsInfo::default()),
        Err(e) => Err(SyncError(format!(
            "Cannot open {SYNC_WALS_INFO_FILE} file for server {}: {}",
            server.name(),
            python_os_error(&e, &path)
        ))),
    }
}

/// `str(OSError)` with its file name, as Python prints it:
/// `[Errno 2] No such file or directory: '/path'`.
fn python_os_error(e: &std::io::Error, path: &Path) -> String {
    match e.raw_os_error() {
        Some(code) => format!(
            "[Errno {code}] {}: {}",
            nix::errno::Errno::from_raw(code).desc(),
            crate::core::py_literal::str_repr(&path.display().to_string())
        ),
        None => e.to_string(),
    }
}

/// How long an idle shared connection to the primary lives: two `cron` minutes, so a
/// passive node's passes keep finding it while one missed pass does not close it.
const PRIMARY_CONTROL_PERSIST_SECONDS: u32 = 120;

/// `primary_ssh_command`, with the options that make the passive node's calls (cron's
/// `sync-info`, the rsync of `sync-backup` and `sync-wals`) share one ssh connection when
/// the command is OpenSSH's `ssh` and a private control folder exists: a cron pass with
/// nothing to sync then costs a round trip, not a handshake. An extension to Barman, which
/// opens a connection per call; other commands are used as written.
pub(crate) fn primary_ssh_command(server: &ServerConfig) -> Option<String> {
    let command = server.primary_ssh_command()?.trim();
    let program = command.split_whitespace().next()?;
    let is_ssh = Path::new(program).file_name().is_some_and(|n| n == "ssh");
    let dir = is_ssh
        .then(crate::clients::control_dir::control_dir)
        .flatten();
    let Some(dir) = dir else {
        return Some(command.to_string());
    };
    let options = shell_words::join(crate::clients::control_dir::master_options(
        &dir,
        PRIMARY_CONTROL_PERSIST_SECONDS,
    ));
    Some(format!("{program} {options}{}", &command[program.len()..]))
}
