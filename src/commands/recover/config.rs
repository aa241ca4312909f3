//! The restored server's configuration (Barman's `_generate_recovery_conf` and the
//! `ConfigurationFileMangeler` pass): recovery settings appended to `postgresql.auto.conf`
//! with `recovery.signal`/`standby.signal` (PostgreSQL 12+) or written to `recovery.conf`,
//! dangerous settings neutralised (originals kept as `<file>.origin`) and reported.

use super::options::{Plan, RestoreOptions};
use super::{Results, Stop};
use crate::adapters::destination::Destination;
use crate::adapters::rsync::{self, Transport};
use crate::commands::Context;
use crate::core::backup_info::BackupInfo;
use crate::core::config::ServerConfig;
use crate::core::pg_version::PgVersion;
use crate::core::recovery::{self, RecoverySettings, RestoreCommand};
use crate::output::Output;
use std::path::{Path, PathBuf};

/// The recovery settings; for PostgreSQL < 12 `recovery.conf` is written here, and for 12+
/// the signal file is created (the lines are appended by [`mangle`]).
pub fn recovery_lines(
    ctx: &Context,
    out: &mut Output,
    server: &ServerConfig,
    info: &BackupInfo,
    options: &RestoreOptions,
    plan: &Plan,
    target: &Destination,
) -> Result<Vec<String>, Stop> {
    let user = ctx.config.global.barman_user.clone();
    let restore = if plan.get_wal {
        if let Some(custom) = &options.restore_command {
            out.info(&format!(
                "Custom restore command override: restore_command = '{}'",
                custom.replace('\'', "''")
            ));
            RestoreCommand::Custom(custom.clone())
        } else if server.uses_wal_cloud_storage() {
            RestoreCommand::CloudWalRestore {
                server: server.name().to_string(),
            }
        } else if target.is_remote() {
            RestoreCommand::RemoteWalRestore {
                user,
                port: options.recovery_option_port.clone(),
                host: crate::adapters::hostname::getfqdn(),
                server: server.name().to_string(),
                parallel: plan.jobs,
            }
        } else {
            RestoreCommand::LocalGetWal {
                user,
                server: server.name().to_string(),
            }
        }
    } else {
        if options.restore_command.is_some() && !options.standby_mode {
            out.warning("The provided custom restore command was ignored as it only works with get-wal mode.");
        }
        RestoreCommand::Staged(plan.wal_dest.clone())
    };
    let version = info.version().unwrap_or(PgVersion::from_num(0));
    let settings = RecoverySettings {
        restore,
        targets: plan.targets.clone(),
        standby: options.standby_mode,
        version,
    };
    let lines = recovery::recovery_lines(&settings);
    let dest = options.destination.trim_end_matches('/');
    let (name, content) = if version >= PgVersion::V12 {
        let signal = if options.standby_mode {
            "standby.signal"
        } else {
            "recovery.signal"
        };
        (signal, Vec::new())
    } else {
        (
            "recovery.conf",
            format!("{}\n", lines.join("\n")).into_bytes(),
        )
    };
    put_file(server, target, dest, name, &content)?;
    Ok(lines)
}

fn transport(server: &ServerConfig, target: &Destination) -> Transport {
    Transport {
        ssh: target.ssh(),
        compress: false,
        path: crate::adapters::pg_tools::search_path(server.path_prefix()),
    }
}

fn rsync_file(
    server: &ServerConfig,
    target: &Destination,
    src: &str,
    dst: &str,
) -> Result<(), rsync::RsyncError> {
    rsync::copy_plain(&transport(server, target), src, dst)
}

/// Write `name` with `content` in the destination folder.
fn put_file(
    server: &ServerConfig,
    target: &Destination,
    dest: &str,
    name: &str,
    content: &[u8],
) -> Result<(), Stop> {
    match target {
        Destination::Local => {
            std::fs::write(Path::new(dest).join(name), content)?;
        }
        Destination::Remote(_) => {
            let staging = tempfile::Builder::new()
                .prefix("barman_recovery-")
                .tempdir()?;
            let local = staging.path().join(name);
            std::fs::write(&local, content)?;
            rsync_file(
                server,
                target,
                &local.display().to_string(),
                &target.rsync_path(&format!("{dest}/{name}")),
            )
            .map_err(|e| Stop::Message(format!("remote copy of {name} failed: {e}")))?;
        }
    }
    Ok(())
}

/// Neutralise and report dangerous settings; append `lines` to the recovery file (12+).
pub fn mangle(
    server: &ServerConfig,
    info: &BackupInfo,
    target: &Destination,
    dest: &str,
    lines: Option<&[String]>,
    results: &mut Results,
) -> Result<(), Stop> {
    let dest = dest.trim_end_matches('/');
    let version = info.version().unwrap_or(PgVersion::from_num(0));
    let mut present = present_config_files(target, dest, version, results)?;
    let staging = tempfile::Builder::new()
        .prefix("barman_recovery-")
        .tempdir()?;
    let work_dir: PathBuf = match target {
        Destination::Local => PathBuf::from(dest),
        Destination::Remote(_) => staging.path().to_path_buf(),
    };
    if target.is_remote() {
        for name in &present {
            let from = target.rsync_path(&format!("{dest}/{name}"));
            copy_config_file(
                server,
                target,
                &from,
                &work_dir.join(name).display().to_string(),
            )?;
        }
    }
    if version >= PgVersion::V12 && !present.contains(&results.recovery_configuration_file) {
        let path = work_dir.join(&results.recovery_configuration_file);
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        present.push(results.recovery_configuration_file.clone());
    }
    for name in &present {
        let append =
            if name.ends_with(&results.recovery_configuration_file) && version >= PgVersion::V12 {
                lines
            } else {
                None
            };
        mangle_one(&work_dir, name, append, results)?;
    }
    if target.is_remote() {
        for name in &present {
            for file in [name.clone(), format!("{name}.origin")] {
                let from = work_dir.join(&file).display().to_string();
                copy_config_file(
                    server,
                    target,
                    &from,
                    &target.rsync_path(&format!("{dest}/{file}")),
                )?;
            }
        }
    }
    Ok(())
}

/// The configuration files Barman mangles that the destination holds; the missing ones
/// (of those and `pg_hba.conf`, `pg_ident.conf`) are recorded for the report.
fn present_config_files(
    target: &Destination,
    dest: &str,
    version: PgVersion,
    results: &mut Results,
) -> Result<Vec<String>, Stop> {
    let mut files = vec!["postgresql.conf".to_string()];
    if version >= PgVersion::V9_4 {
        files.push("postgresql.auto.conf".into());
    }
    let mut present = Vec::new();
    for name in files
        .iter()
        .chain(["pg_hba.conf".to_string(), "pg_ident.conf".to_string()].iter())
    {
        if target.exists(&format!("{dest}/{name}"))? {
            if files.contains(name) {
                present.push(name.clone());
            }
        } else {
            results.missing_files.push(name.clone());
        }
    }
    Ok(present)
}

/// Rewrite one configuration file in `work_dir`, keeping the original as `<name>.origin`
/// with the same permissions, and record what changed and what is dangerous.
fn mangle_one(
    work_dir: &Path,
    name: &str,
    append: Option<&[String]>,
    results: &mut Results,
) -> Result<(), Stop> {
    let path = work_dir.join(name);
    let content = std::fs::read(&path)?;
    let (new_content, changes) = recovery::mangle(name, &content, append);
    let origin = work_dir.join(format!("{name}.origin"));
    std::fs::rename(&path, &origin)?;
    std::fs::write(&path, &new_content)?;
    let permissions = std::fs::metadata(&origin)?.permissions();
    std::fs::set_permissions(&path, permissions)?;
    results.changes.extend(changes);
    results
        .warnings
        .extend(recovery::dangerous_settings(name, &new_content));
    Ok(())
}

/// One configuration file to or from a remote destination.
fn copy_config_file(
    server: &ServerConfig,
    target: &Destination,
    from: &str,
    to: &str,
) -> Result<(), Stop> {
    rsync_file(server, target, from, to)
        .map_err(|e| Stop::Message(format!("remote copy of configuration files failed: {e}")))
}
