//! The backup executor's checks (`backup_executor.py`): `pg_basebackup*` for the postgres
//! method, `ssh`/`ssh output clean`/`backup_label` for rsync, `local PGDATA` for
//! local-rsync, `ssh` to the primary for passive nodes, then the backup strategy's checks.

use super::archive::streaming_server_version;
use super::catalogue::{Probe, Recorder};
use crate::adapters::catalog::store;
use crate::adapters::pg_tools;
use crate::adapters::postgres_checks::{self, SshCommand};
use crate::clients::control_dir;
use crate::core::backup_info::BackupStatus;
use crate::core::backup_info::Field;

/// Run the executor checks of an active server (inactive servers have no executor).
pub(super) fn check(p: &mut Probe, rec: &mut Recorder) {
    if !p.server.active() {
        return;
    }
    if p.server.passive_node() {
        if let Some(command) = p.server.primary_ssh_command() {
            ssh_check(p, rec, command, "Barman primary node");
        }
        return;
    }
    match p.server.method() {
        "postgres" => postgres_executor(p, rec),
        "rsync" => {
            // Without ssh_command Barman has no executor (the server is disabled).
            let Some(command) = p.server.ssh_command() else {
                return;
            };
            if ssh_check(p, rec, command, "PostgreSQL server") {
                backup_label_check(p, rec, command);
            }
            strategy(p, rec);
        }
        "local-rsync" => {
            if p.server.ssh_command().is_some() {
                return;
            }
            local_pgdata(p, rec);
            strategy(p, rec);
        }
        _ => {}
    }
}

fn postgres_executor(p: &mut Probe, rec: &mut Recorder) {
    let streaming_configured = p.server.streaming_conninfo().is_some();
    rec.init("pg_basebackup");
    let remote = p.remote();
    rec.result(remote.flag("pg_basebackup_installed") == Some(true), None);
    rec.init("pg_basebackup compatible");
    let compatible = remote.flag("pg_basebackup_compatible") == Some(true);
    let hint = (!compatible).then(|| {
        let pg = if streaming_configured {
            streaming_server_version(remote)
        } else {
            "Unknown".to_string()
        };
        format!(
            "PostgreSQL version: {pg}, pg_basebackup version: {}",
            remote
                .text("pg_basebackup_version")
                .unwrap_or_else(|| "Unknown".into())
        )
    });
    rec.result(compatible, hint);
    let Some(version) = remote.text("server_txt_version") else {
        return;
    };
    let mapping = remote.flag("pg_basebackup_tbls_mapping") == Some(true);
    rec.init("pg_basebackup supports tablespaces mapping");
    if mapping {
        rec.result(true, None);
        return;
    }
    let old = !pg_tools::version_le("9.3", &pg_tools::major_of(&version));
    let tablespaces = p
        .server
        .conninfo()
        .and_then(postgres_checks::tablespace_count)
        .unwrap_or(0);
    let hint = match (tablespaces > 0, old) {
        (true, true) => {
            "pg_basebackup can't be used with tablespaces and PostgreSQL older than 9.3"
        }
        (false, true) => "pg_basebackup can be used as long as tablespaces support is not required",
        _ => "pg_basebackup 9.4 or higher is required for tablespaces support",
    };
    rec.result(tablespaces == 0, Some(hint.to_string()));
}

/// `ssh` (and `ssh output clean` when the probe printed something); true when it worked.
fn ssh_check(p: &Probe, rec: &mut Recorder, command: &str, hint: &str) -> bool {
    rec.init("ssh");
    let probe = SshCommand::parse(command)
        .map(|ssh| if p.share_ssh { shared(ssh) } else { ssh })
        .ok_or_else(|| "No ssh command provided".to_string())
        .and_then(|ssh| ssh.probe(p.server.path_prefix()));
    match probe {
        Ok(output) => {
            rec.result(true, Some(hint.to_string()));
            if !output.is_empty() {
                rec.init("ssh output clean");
                rec.result(
                    false,
                    Some("the configured ssh_command must not add anything to the remote command output".into()),
                );
            }
            true
        }
        Err(message) => {
            rec.result(false, Some(message.trim().to_string()));
            false
        }
    }
}

/// `ssh` with the options that open (or join) the master connection a backup's ssh calls
/// share; unchanged unless it is OpenSSH's `ssh` without control options of its own.
fn shared(ssh: SshCommand) -> SshCommand {
    let mut words = vec![ssh.program];
    words.extend(ssh.options);
    let mut words =
        control_dir::shared_connection_words(&words, control_dir::BACKUP_PERSIST_SECONDS)
            .into_iter();
    SshCommand {
        program: words.next().unwrap_or_default(),
        options: words.collect(),
    }
}

/// `backup_label`: with PostgreSQL down, a `backup_label` left in PGDATA is reported.
fn backup_label_check(p: &mut Probe, rec: &mut Recorder, command: &str) {
    if p.remote().text("server_txt_version").is_some() {
        return;
    }
    let backups = store::load_backups(&p.dirs).unwrap_or_default();
    let Some(last) = backups
        .values()
        .rev()
        .find(|b| b.status() != BackupStatus::Empty)
    else {
        return;
    };
    rec.init("backup_label");
    let pgdata = last.raw(Field::Pgdata).unwrap_or_default();
    let label = format!("{}/backup_label", pgdata.trim_end_matches('/'));
    let exists =
        SshCommand::parse(command).is_some_and(|ssh| ssh.exists(&label, p.server.path_prefix()));
    if exists {
        rec.result(
            false,
            Some(
                "Check that the PostgreSQL server is up and no 'backup_label' file is in PGDATA."
                    .into(),
            ),
        );
    }
}

/// `local PGDATA`: always OK; the hint tells when PGDATA is a file.
fn local_pgdata(p: &mut Probe, rec: &mut Recorder) {
    rec.init("local PGDATA");
    let pgdata = p.remote().text("data_directory");
    let is_file = pgdata
        .as_deref()
        .is_some_and(|d| std::path::Path::new(d).exists() && !std::path::Path::new(d).is_dir());
    let hint = if is_file {
        "A file with the same name exists, but is not a directory"
    } else {
        "Access to local PGDATA"
    };
    rec.result(true, Some(hint.to_string()));
}

fn exclusive(p: &Probe) -> bool {
    let options = p.server.backup_options();
    options.iter().any(|o| o == "exclusive_backup")
        && !options.iter().any(|o| o == "concurrent_backup")
}

/// The backup strategy's checks (concurrent: only a too old server; exclusive: primary
/// and a version that still has exclusive backups).
fn strategy(p: &mut Probe, rec: &mut Recorder) {
    let exclusive = exclusive(p);
    let remote = p.remote();
    let version = remote.text("server_txt_version");
    if !exclusive {
        rec.init("postgres minimal version");
        if let (Some(version), Some(false)) = (version, remote.flag("version_supported")) {
            rec.result(
                false,
                Some(format!(
                    "unsupported PostgresSQL version {}. Expecting 9.6 or above.",
                    pg_tools::major_of(&version)
                )),
            );
        }
        return;
    }
    rec.init("not in recovery");
    if remote.flag("is_in_recovery") == Some(true) {
        rec.result(
            false,
            Some("cannot perform exclusive backup on a standby".into()),
        );
    } else {
        rec.result(true, None);
    }
    rec.init("exclusive backup supported");
    match version {
        None => rec.result(false, Some("unable to determine postgres version".into())),
        Some(v) if pg_tools::version_le("15", &pg_tools::major_of(&v)) => rec.result(
            false,
            Some(format!(
                "exclusive backups not supported on PostgreSQL {}",
                pg_tools::major_of(&v)
            )),
        ),
        Some(_) => rec.result(true, None),
    }
}
