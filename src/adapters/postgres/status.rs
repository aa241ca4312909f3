//! The pieces of Barman's remote status: the PostgreSQL session's facts
//! (`PostgreSQLConnection.fetch_remote_status`), the streaming connection's, and the
//! archivers' and backup executor's.

use super::{parse_pg_time, RemoteValue, Session, StatusInputs};
use crate::adapters::libpq::{Connection, Kind};
use crate::adapters::pg_tools::{self, ToolVersion};
use crate::core::pg_version::PgVersion;
use serde_json::Value;
use std::collections::BTreeMap;

pub(super) const BACKUP_PRIVILEGES_15: &str = "SELECT usesuper OR ((pg_has_role(CURRENT_USER, 'pg_monitor', 'USAGE') \
OR (pg_has_role(CURRENT_USER, 'pg_read_all_settings', 'USAGE') AND pg_has_role(CURRENT_USER, 'pg_read_all_stats', 'USAGE'))) \
AND has_function_privilege(CURRENT_USER, 'pg_backup_start(text,bool)', 'EXECUTE') \
AND has_function_privilege(CURRENT_USER, 'pg_backup_stop(bool)', 'EXECUTE') \
AND has_function_privilege(CURRENT_USER, 'pg_switch_wal()', 'EXECUTE') \
AND has_function_privilege(CURRENT_USER, 'pg_create_restore_point(text)', 'EXECUTE')) \
FROM pg_user WHERE usename = CURRENT_USER";

pub(super) const BACKUP_PRIVILEGES_10: &str = "SELECT usesuper OR ((pg_has_role(CURRENT_USER, 'pg_monitor', 'USAGE') \
OR (pg_has_role(CURRENT_USER, 'pg_read_all_settings', 'USAGE') AND pg_has_role(CURRENT_USER, 'pg_read_all_stats', 'USAGE'))) \
AND has_function_privilege(CURRENT_USER, 'pg_start_backup(text,bool,bool)', 'EXECUTE') \
AND (has_function_privilege(CURRENT_USER, 'pg_stop_backup()', 'EXECUTE') OR has_function_privilege(CURRENT_USER, 'pg_stop_backup(bool,bool)', 'EXECUTE')) \
AND has_function_privilege(CURRENT_USER, 'pg_switch_wal()', 'EXECUTE') \
AND has_function_privilege(CURRENT_USER, 'pg_create_restore_point(text)', 'EXECUTE')) \
FROM pg_user WHERE usename = CURRENT_USER";

const MONITORING_PRIVILEGES: &str = "SELECT (pg_has_role(CURRENT_USER, 'pg_monitor', 'USAGE') \
OR (pg_has_role(CURRENT_USER, 'pg_read_all_settings', 'USAGE') AND pg_has_role(CURRENT_USER, 'pg_read_all_stats', 'USAGE')))";

/// `PostgreSQLConnection.fetch_remote_status`.
pub(super) fn postgres_status(
    session: Option<&mut Session>,
    inputs: &StatusInputs,
    out: &mut BTreeMap<String, RemoteValue>,
) {
    for key in [
        "data_directory",
        "server_txt_version",
        "is_superuser",
        "is_in_recovery",
        "current_xlog",
        "replication_slot_support",
        "replication_slot",
        "synchronous_standby_names",
        "postgres_systemid",
        "version_supported",
    ] {
        out.insert(key.into(), RemoteValue::none());
    }
    let Some(s) = session else { return };
    let backup_privileges = privileges_status(s, out) == Some(true);
    settings_status(s, backup_privileges, out);
    wal_position_status(s, out);
    sizes_and_timeouts_status(s, backup_privileges, out);
    config_files_status(s, out);
    out.insert(
        "replication_slot_support".into(),
        RemoteValue::bool(Some(true)),
    );
    if let Some(slot) = &inputs.slot_name {
        out.insert("replication_slot".into(), slot_status(s, slot));
    }
    let names = synchronous_standby_names(s.setting("synchronous_standby_names"));
    out.insert(
        "synchronous_standby_names".into(),
        RemoteValue::Plain(Value::Array(names.into_iter().map(Value::String).collect())),
    );
    out.insert(
        "postgres_systemid".into(),
        RemoteValue::opt_str(s.text("SELECT system_identifier::text FROM pg_control_system()")),
    );
}

/// `is_superuser`, `has_backup_privileges` (returned) and `has_monitoring_privileges`, with
/// the privilege query of the server's major.
fn privileges_status(s: &mut Session, out: &mut BTreeMap<String, RemoteValue>) -> Option<bool> {
    let is_superuser = s.flag("SELECT usesuper FROM pg_user WHERE usename = CURRENT_USER");
    let backup_privileges = if s.version < PgVersion::V10 {
        is_superuser
    } else if s.version < PgVersion::V15 {
        s.flag(BACKUP_PRIVILEGES_10)
    } else {
        s.flag(BACKUP_PRIVILEGES_15)
    };
    out.insert("is_superuser".into(), RemoteValue::bool(is_superuser));
    out.insert(
        "has_backup_privileges".into(),
        RemoteValue::bool(backup_privileges),
    );
    let monitoring = if is_superuser == Some(true) {
        Some(true)
    } else {
        s.flag(MONITORING_PRIVILEGES)
    };
    out.insert(
        "has_monitoring_privileges".into(),
        RemoteValue::bool(monitoring),
    );
    backup_privileges
}

/// The settings Barman reads with `SHOW` (`data_directory` only with backup privileges) and
/// the server version.
fn settings_status(
    s: &mut Session,
    backup_privileges: bool,
    out: &mut BTreeMap<String, RemoteValue>,
) {
    if backup_privileges {
        out.insert(
            "data_directory".into(),
            RemoteValue::opt_str(s.setting("data_directory")),
        );
    }
    let keep = if s.version < PgVersion::V13 {
        "wal_keep_segments"
    } else {
        "wal_keep_size"
    };
    for name in [
        "wal_level",
        "hot_standby",
        "max_wal_senders",
        "data_checksums",
        "max_replication_slots",
        "wal_compression",
        keep,
    ] {
        out.insert(name.into(), RemoteValue::opt_str(s.setting(name)));
    }
    out.insert(
        "server_txt_version".into(),
        RemoteValue::str(s.version.full_text()),
    );
    out.insert(
        "version_supported".into(),
        RemoteValue::bool(Some(s.version >= PgVersion::V9_6)),
    );
}

/// `is_in_recovery`, the current (or last replayed, on a standby) LSN and its WAL file.
fn wal_position_status(s: &mut Session, out: &mut BTreeMap<String, RemoteValue>) {
    let in_recovery = s.flag("SELECT pg_is_in_recovery()");
    out.insert("is_in_recovery".into(), RemoteValue::bool(in_recovery));
    let (lsn, file) = if in_recovery == Some(false) {
        let row = s.row("SELECT location, (pg_walfile_name_offset(location)).file_name FROM pg_current_wal_lsn() AS location");
        let lsn = row.as_ref().and_then(|r| r.first().cloned().flatten());
        (lsn, row.and_then(|r| r.get(1).cloned().flatten()))
    } else {
        (s.text("SELECT pg_last_wal_replay_lsn()"), None)
    };
    out.insert("current_lsn".into(), RemoteValue::opt_str(lsn));
    out.insert("current_xlog".into(), RemoteValue::opt_str(file));
}

/// `current_size` (with backup privileges), the timeouts and the WAL segment size.
fn sizes_and_timeouts_status(
    s: &mut Session,
    backup_privileges: bool,
    out: &mut BTreeMap<String, RemoteValue>,
) {
    let size = if backup_privileges {
        s.text("SELECT sum(pg_tablespace_size(oid)) FROM pg_tablespace")
            .map(RemoteValue::Decimal)
    } else {
        None
    };
    out.insert(
        "current_size".into(),
        size.unwrap_or_else(RemoteValue::none),
    );
    let mut int_setting = |name: &str| {
        s.text(&format!(
            "SELECT setting FROM pg_settings WHERE name='{name}'"
        ))
        .and_then(|v| v.parse::<i64>().ok())
    };
    let archive_timeout = int_setting("archive_timeout").unwrap_or(0);
    let checkpoint_timeout = int_setting("checkpoint_timeout");
    let segment_size = int_setting("wal_segment_size");
    out.insert(
        "archive_timeout".into(),
        RemoteValue::int(Some(archive_timeout)),
    );
    out.insert(
        "checkpoint_timeout".into(),
        RemoteValue::int(checkpoint_timeout),
    );
    out.insert("xlog_segment_size".into(), RemoteValue::int(segment_size));
}

/// `config_file`, `hba_file`, `ident_file` and the other files settings come from.
fn config_files_status(s: &mut Session, out: &mut BTreeMap<String, RemoteValue>) {
    if let Ok(rows) = s.rows(
        "SELECT name, setting FROM pg_settings WHERE name IN ('config_file', 'hba_file', 'ident_file')",
    ) {
        for row in rows {
            if let [Some(name), Some(value), ..] = row.as_slice() {
                out.insert(name.clone(), RemoteValue::str(value.clone()));
            }
        }
    }
    if let Ok(rows) = s.rows(
        "SELECT DISTINCT sourcefile AS included_file FROM pg_settings WHERE sourcefile IS NOT NULL \
         AND sourcefile NOT IN (SELECT setting FROM pg_settings WHERE name = 'config_file') ORDER BY 1",
    ) {
        let included: Vec<Value> = rows
            .into_iter()
            .filter_map(|row| row.into_iter().next().flatten().map(Value::String))
            .collect();
        if !included.is_empty() {
            out.insert("included_files".into(), RemoteValue::Plain(Value::Array(included)));
        }
    }
}

/// The physical slot `slot_name`, as Barman's `Record(...)`; `None` when it does not exist.
fn slot_status(s: &mut Session, slot: &str) -> RemoteValue {
    let sql = format!(
        "SELECT slot_name, active, restart_lsn FROM pg_replication_slots WHERE slot_type = 'physical' AND slot_name = '{}'",
        slot.replace('\'', "''")
    );
    s.row(&sql)
        .map_or_else(RemoteValue::none, |r| RemoteValue::Slot {
            slot_name: r.first().cloned().flatten().unwrap_or_default(),
            active: r.get(1).cloned().flatten().as_deref() == Some("t"),
            restart_lsn: r.get(2).cloned().flatten(),
        })
}

/// Barman's parsing of `synchronous_standby_names` (`FIRST 1 (a, "b")` → `[a, b]`).
pub(super) fn synchronous_standby_names(setting: Option<String>) -> Vec<String> {
    let Some(text) = setting else {
        return Vec::new();
    };
    let start = text.find('(').map_or(0, |i| i + 1);
    let end = text.rfind(')').unwrap_or(text.len());
    let inner = if start <= end { &text[start..end] } else { "" };
    inner
        .split(',')
        .map(|n| n.trim().trim_matches('"').to_string())
        .collect()
}

/// `StreamingConnection.fetch_remote_status`; returns the server's major version.
pub(super) fn streaming_status(
    conninfo: &str,
    out: &mut BTreeMap<String, RemoteValue>,
) -> Option<String> {
    for key in [
        "connection_error",
        "streaming_supported",
        "streaming",
        "streaming_systemid",
        "timeline",
        "xlogpos",
        "version_supported",
    ] {
        out.insert(key.into(), RemoteValue::none());
    }
    let mut conn = match Connection::open(conninfo, Kind::Replication) {
        Ok(conn) => conn,
        Err(e) => {
            tracing::warn!(target: "barman.postgres", "Error retrieving PostgreSQL status: {e}");
            out.insert("connection_error".into(), RemoteValue::str(e.message));
            return None;
        }
    };
    let version = PgVersion::from_i64(conn.server_version());
    out.insert(
        "version_supported".into(),
        RemoteValue::bool(Some(version >= PgVersion::V9_6)),
    );
    if version < PgVersion::V9_6 {
        return Some(pg_tools::major_of(&version.full_text()));
    }
    out.insert("streaming_supported".into(), RemoteValue::bool(Some(true)));
    match conn.query("IDENTIFY_SYSTEM") {
        Ok(rows) => {
            let fields = rows.into_iter().next().unwrap_or_default();
            out.insert("streaming".into(), RemoteValue::bool(Some(true)));
            out.insert(
                "streaming_systemid".into(),
                RemoteValue::opt_str(fields.first().cloned().flatten()),
            );
            out.insert(
                "timeline".into(),
                RemoteValue::int(
                    fields
                        .get(1)
                        .cloned()
                        .flatten()
                        .and_then(|t| t.parse().ok()),
                ),
            );
            out.insert(
                "xlogpos".into(),
                RemoteValue::opt_str(fields.get(2).cloned().flatten()),
            );
        }
        Err(_) => {
            out.insert("streaming".into(), RemoteValue::bool(Some(false)));
        }
    }
    Some(pg_tools::major_of(&version.full_text()))
}

fn tool_status(prefix: &str, tool: &ToolVersion, out: &mut BTreeMap<String, RemoteValue>) {
    out.insert(
        format!("{prefix}_installed"),
        RemoteValue::bool(Some(tool.path.is_some())),
    );
    if let Some(path) = &tool.path {
        out.insert(
            format!("{prefix}_path"),
            RemoteValue::str(path.display().to_string()),
        );
        out.insert(
            format!("{prefix}_version"),
            RemoteValue::opt_str(tool.full_version.clone()),
        );
    }
}

/// `StreamingWalArchiver.fetch_remote_status` (`pg_receivexlog_*` keys).
pub(super) fn receivewal_status(
    inputs: &StatusInputs,
    server_major: Option<&str>,
    session: Option<&mut Session>,
    out: &mut BTreeMap<String, RemoteValue>,
) {
    for key in [
        "compatible",
        "installed",
        "path",
        "supports_slots",
        "synchronous",
        "version",
    ] {
        out.insert(format!("pg_receivexlog_{key}"), RemoteValue::none());
    }
    let tool = pg_tools::version_info(
        &["pg_receivewal", "pg_receivexlog"],
        inputs.path_prefix.as_deref(),
    );
    tool_status("pg_receivexlog", &tool, out);
    let (Some(tool_major), Some(server)) = (tool.major_version.as_deref(), server_major) else {
        return;
    };
    let compatible =
        pg_tools::version_le("9.3", server) && pg_tools::version_le(server, tool_major);
    out.insert(
        "pg_receivexlog_compatible".into(),
        RemoteValue::bool(Some(compatible)),
    );
    let slots = compatible && pg_tools::version_le("9.4", server);
    out.insert(
        "pg_receivexlog_supports_slots".into(),
        RemoteValue::bool(Some(slots)),
    );
    let mut synchronous = Some(false);
    if compatible && pg_tools::version_le("9.4", server) && pg_tools::version_le("9.5", tool_major)
    {
        synchronous = session.map(|s| {
            let names = synchronous_standby_names(s.setting("synchronous_standby_names"));
            names
                .iter()
                .any(|n| n == "*" || *n == inputs.streaming_archiver_name)
        });
    }
    out.insert(
        "pg_receivexlog_synchronous".into(),
        RemoteValue::bool(synchronous),
    );
}

/// `FileWalArchiver.fetch_remote_status`: archive settings and `pg_stat_archiver`.
pub(super) fn archiver_status(
    session: Option<&mut Session>,
    out: &mut BTreeMap<String, RemoteValue>,
) {
    out.insert("archive_mode".into(), RemoteValue::none());
    out.insert("archive_command".into(), RemoteValue::none());
    let Some(s) = session else { return };
    out.insert(
        "archive_mode".into(),
        RemoteValue::opt_str(s.setting("archive_mode")),
    );
    out.insert(
        "archive_command".into(),
        RemoteValue::opt_str(s.setting("archive_command")),
    );
    let sql = "SELECT archived_count, last_archived_wal, last_archived_time, failed_count, last_failed_wal, \
               last_failed_time, stats_reset, \
               current_setting('archive_mode') IN ('on', 'always') AND (last_failed_wal IS NULL \
               OR last_failed_wal LIKE '%.history' AND substring(last_failed_wal from 1 for 8) \
               <= substring(last_archived_wal from 1 for 8) OR last_failed_time <= last_archived_time) AS is_archiving, \
               CAST (archived_count AS NUMERIC) / EXTRACT (EPOCH FROM age(now(), stats_reset)) AS current_archived_wals_per_second \
               FROM pg_stat_archiver";
    let Some(row) = s.row(sql) else { return };
    let get = |i: usize| row.get(i).cloned().flatten();
    let time = |i: usize| {
        get(i)
            .and_then(|t| parse_pg_time(&t))
            .map_or_else(RemoteValue::none, RemoteValue::Time)
    };
    out.insert(
        "archived_count".into(),
        RemoteValue::int(get(0).and_then(|v| v.parse().ok())),
    );
    out.insert("last_archived_wal".into(), RemoteValue::opt_str(get(1)));
    out.insert("last_archived_time".into(), time(2));
    out.insert(
        "failed_count".into(),
        RemoteValue::int(get(3).and_then(|v| v.parse().ok())),
    );
    out.insert("last_failed_wal".into(), RemoteValue::opt_str(get(4)));
    out.insert("last_failed_time".into(), time(5));
    out.insert("stats_reset".into(), time(6));
    out.insert(
        "is_archiving".into(),
        RemoteValue::bool(get(7).map(|v| v == "t")),
    );
    out.insert(
        "current_archived_wals_per_second".into(),
        get(8).map_or_else(RemoteValue::none, RemoteValue::Decimal),
    );
}

/// `PostgresBackupExecutor.fetch_remote_status` (`pg_basebackup_*` keys).
pub(super) fn basebackup_status(
    inputs: &StatusInputs,
    server_major: Option<&str>,
    out: &mut BTreeMap<String, RemoteValue>,
) {
    for key in [
        "compatible",
        "installed",
        "tbls_mapping",
        "path",
        "bwlimit",
        "version",
    ] {
        out.insert(format!("pg_basebackup_{key}"), RemoteValue::none());
    }
    let tool = pg_tools::version_info(&["pg_basebackup"], inputs.path_prefix.as_deref());
    tool_status("pg_basebackup", &tool, out);
    let Some(major) = tool.major_version.as_deref() else {
        return;
    };
    let modern = pg_tools::version_le("9.4", major);
    out.insert(
        "pg_basebackup_bwlimit".into(),
        RemoteValue::bool(Some(modern)),
    );
    out.insert(
        "pg_basebackup_tbls_mapping".into(),
        RemoteValue::bool(Some(modern)),
    );
    if let Some(server) = server_major {
        let compatible = pg_tools::version_le("9.3", server) && pg_tools::version_le(server, major)
            || (server == "9.2" && major == "9.2");
        out.insert(
            "pg_basebackup_compatible".into(),
            RemoteValue::bool(Some(compatible)),
        );
    }
}
