//! PostgreSQL: the "remote status" Barman reports in `show-servers`, `diagnose` and
//! `check` (`PostgreSQLConnection`, `StreamingConnection`, the archivers' and backup
//! executors' `fetch_remote_status`).
//!
//! Every connection is libpq's ([`crate::adapters::libpq`]), opened as Barman opens it: a
//! regular session from `conninfo`, and a replication session from `streaming_conninfo`
//! (`replication=true`, `dbname=replication`) over which the streaming values, the server
//! version included, are read. Connection errors are libpq's own text, which Barman shows
//! as `connection_error`.

use crate::adapters::libpq::{self, ConnectError, Connection, Kind};
use crate::adapters::pg_tools::{self, ToolVersion};
use chrono::{DateTime, FixedOffset};
use serde_json::Value;
use std::collections::BTreeMap;

/// A remote-status value, with the renderings Barman gives its Python type.
#[derive(Debug, Clone, PartialEq)]
pub enum RemoteValue {
    /// A plain JSON-able value (None, bool, int, str, list of str).
    Plain(Value),
    /// A PostgreSQL `numeric` (Python `Decimal`): text in show-servers, float in diagnose.
    Decimal(String),
    /// A timestamp with zone: `str(datetime)` in show-servers, ISO 8601 in diagnose.
    Time(DateTime<FixedOffset>),
    /// A replication slot row (psycopg2 `Record`).
    Slot {
        /// `slot_name`.
        slot_name: String,
        /// `active`.
        active: bool,
        /// `restart_lsn` (None before first use).
        restart_lsn: Option<String>,
    },
}

impl RemoteValue {
    fn none() -> Self {
        RemoteValue::Plain(Value::Null)
    }

    fn str(text: impl Into<String>) -> Self {
        RemoteValue::Plain(Value::String(text.into()))
    }

    fn opt_str(text: Option<String>) -> Self {
        text.map_or_else(RemoteValue::none, RemoteValue::str)
    }

    fn bool(b: Option<bool>) -> Self {
        b.map_or_else(RemoteValue::none, |b| RemoteValue::Plain(Value::Bool(b)))
    }

    fn int(n: Option<i64>) -> Self {
        n.map_or_else(RemoteValue::none, |n| RemoteValue::Plain(Value::from(n)))
    }

    /// Python `str()` of the value (console output).
    pub fn python_str(&self) -> String {
        match self {
            RemoteValue::Plain(Value::Null) => "None".into(),
            RemoteValue::Plain(Value::Bool(true)) => "True".into(),
            RemoteValue::Plain(Value::Bool(false)) => "False".into(),
            RemoteValue::Plain(Value::String(s)) => s.clone(),
            RemoteValue::Plain(Value::Array(items)) => {
                let inner: Vec<String> = items
                    .iter()
                    .map(|i| crate::core::py_literal::str_repr(i.as_str().unwrap_or_default()))
                    .collect();
                format!("[{}]", inner.join(", "))
            }
            RemoteValue::Plain(other) => other.to_string(),
            RemoteValue::Decimal(text) => text.clone(),
            RemoteValue::Time(t) => python_datetime_str(t),
            RemoteValue::Slot {
                slot_name,
                active,
                restart_lsn,
            } => format!(
                "Record(slot_name={}, active={}, restart_lsn={})",
                crate::core::py_literal::str_repr(slot_name),
                if *active { "True" } else { "False" },
                restart_lsn
                    .as_deref()
                    .map_or("None".to_string(), crate::core::py_literal::str_repr)
            ),
        }
    }

    /// The `show-servers -f json` value (objects other than plain types become `str()`).
    pub fn show_json(&self) -> Value {
        match self {
            RemoteValue::Plain(v) => v.clone(),
            other => Value::String(other.python_str()),
        }
    }

    /// The `diagnose` value (Barman's JSON encoder: Decimal → float, datetime → ISO,
    /// Record → list).
    pub fn diagnose_json(&self) -> Value {
        match self {
            RemoteValue::Plain(v) => v.clone(),
            RemoteValue::Decimal(text) => text
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or(Value::Null, Value::Number),
            RemoteValue::Time(t) => Value::String(crate::core::backup_info::python_isoformat(t)),
            RemoteValue::Slot {
                slot_name,
                active,
                restart_lsn,
            } => Value::Array(vec![
                Value::String(slot_name.clone()),
                Value::Bool(*active),
                restart_lsn.clone().map_or(Value::Null, Value::String),
            ]),
        }
    }
}

/// Python's `str(datetime)`: `2026-11-24 00:55:41.116992+00:00`.
fn python_datetime_str(t: &DateTime<FixedOffset>) -> String {
    if t.timestamp_subsec_micros() == 0 {
        t.format("%Y-%m-%d %H:%M:%S%:z").to_string()
    } else {
        t.format("%Y-%m-%d %H:%M:%S%.6f%:z").to_string()
    }
}

/// What the remote status depends on, from the server's configuration.
#[derive(Debug, Clone, Default)]
pub struct StatusInputs {
    /// `conninfo`.
    pub conninfo: Option<String>,
    /// `streaming_conninfo`, when Barman opens a streaming connection (postgres backup
    /// method or streaming archiver).
    pub streaming_conninfo: Option<String>,
    /// `slot_name`.
    pub slot_name: Option<String>,
    /// `archiver`.
    pub archiver: bool,
    /// `streaming_archiver`.
    pub streaming_archiver: bool,
    /// `streaming_archiver_name`.
    pub streaming_archiver_name: String,
    /// `backup_method`.
    pub backup_method: String,
    /// `path_prefix`.
    pub path_prefix: Option<String>,
}

/// Everything Barman's `Server.get_remote_status()` returns, key by key.
pub fn remote_status(inputs: &StatusInputs) -> BTreeMap<String, RemoteValue> {
    let mut status = BTreeMap::new();
    let mut session = inputs
        .conninfo
        .as_deref()
        .and_then(|c| Session::open(c).ok());
    postgres_status(session.as_mut(), inputs, &mut status);
    let streaming = inputs
        .streaming_conninfo
        .as_deref()
        .map(|c| streaming_status(c, &mut status));
    let server_major = streaming.flatten();
    if inputs.streaming_archiver {
        receivewal_status(
            inputs,
            server_major.as_deref(),
            session.as_mut(),
            &mut status,
        );
    }
    if inputs.archiver {
        archiver_status(session.as_mut(), &mut status);
    }
    if inputs.backup_method == "postgres" {
        basebackup_status(inputs, server_major.as_deref(), &mut status);
    }
    status
}

/// A regular SQL session (also used by the backup adapter, which holds one open from
/// start to stop of a concurrent backup).
pub(crate) struct Session {
    pub(crate) conn: Connection,
    pub(crate) version_num: i64,
}

impl Session {
    /// Barman's `PostgreSQLConnection.connect()`: libpq with the conninfo as written, then
    /// `SET application_name TO barman` unless the conninfo names one.
    pub(crate) fn open(conninfo: &str) -> Result<Session, ConnectError> {
        let mut conn = Connection::open(conninfo, Kind::Regular).inspect_err(|e| {
            tracing::warn!(target: "barman.postgres", "Error retrieving PostgreSQL status: {e}");
        })?;
        let named = libpq::parse_conninfo(conninfo)
            .map(|pairs| pairs.iter().any(|(k, _)| k == "application_name"))
            .unwrap_or(false);
        if !named {
            conn.query("SET application_name TO barman")
                .map_err(|e| ConnectError { message: e.message })?;
        }
        let version_num = conn.server_version();
        Ok(Session { conn, version_num })
    }

    /// Every row of `sql`.
    pub(crate) fn rows(&mut self, sql: &str) -> Result<libpq::Rows, libpq::QueryError> {
        self.conn.query(sql)
    }

    pub(crate) fn text(&mut self, sql: &str) -> Option<String> {
        self.row(sql).and_then(|r| r.into_iter().next().flatten())
    }

    pub(crate) fn flag(&mut self, sql: &str) -> Option<bool> {
        self.text(sql).map(|v| v == "t" || v == "on" || v == "true")
    }

    pub(crate) fn setting(&mut self, name: &str) -> Option<String> {
        self.text(&format!("SHOW \"{}\"", name.replace('"', "\"\"")))
    }

    pub(crate) fn row(&mut self, sql: &str) -> Option<Vec<Option<String>>> {
        self.conn.query(sql).ok()?.into_iter().next()
    }
}

/// `150018` → `15.18` (Barman's `int_version_to_string_version`).
fn version_text(num: i64) -> String {
    let major = num / 10000;
    if major < 10 {
        format!("{}.{}.{}", major, (num / 100) % 100, num % 100)
    } else {
        format!("{}.{}", major, num % 100)
    }
}

pub(crate) fn parse_pg_time(text: &str) -> Option<DateTime<FixedOffset>> {
    // PostgreSQL prints `2026-11-24 00:55:41.116992+00`.
    let padded = if text.len() > 3 && text.as_bytes()[text.len() - 3] == b'+'
        || text.as_bytes().get(text.len().wrapping_sub(3)) == Some(&b'-')
    {
        format!("{text}:00")
    } else {
        text.to_string()
    };
    DateTime::parse_from_str(&padded, "%Y-%m-%d %H:%M:%S%.f%:z").ok()
}

const BACKUP_PRIVILEGES_15: &str = "SELECT usesuper OR ((pg_has_role(CURRENT_USER, 'pg_monitor', 'USAGE') \
OR (pg_has_role(CURRENT_USER, 'pg_read_all_settings', 'USAGE') AND pg_has_role(CURRENT_USER, 'pg_read_all_stats', 'USAGE'))) \
AND has_function_privilege(CURRENT_USER, 'pg_backup_start(text,bool)', 'EXECUTE') \
AND has_function_privilege(CURRENT_USER, 'pg_backup_stop(bool)', 'EXECUTE') \
AND has_function_privilege(CURRENT_USER, 'pg_switch_wal()', 'EXECUTE') \
AND has_function_privilege(CURRENT_USER, 'pg_create_restore_point(text)', 'EXECUTE')) \
FROM pg_user WHERE usename = CURRENT_USER";

const BACKUP_PRIVILEGES_10: &str = "SELECT usesuper OR ((pg_has_role(CURRENT_USER, 'pg_monitor', 'USAGE') \
OR (pg_has_role(CURRENT_USER, 'pg_read_all_settings', 'USAGE') AND pg_has_role(CURRENT_USER, 'pg_read_all_stats', 'USAGE'))) \
AND has_function_privilege(CURRENT_USER, 'pg_start_backup(text,bool,bool)', 'EXECUTE') \
AND (has_function_privilege(CURRENT_USER, 'pg_stop_backup()', 'EXECUTE') OR has_function_privilege(CURRENT_USER, 'pg_stop_backup(bool,bool)', 'EXECUTE')) \
AND has_function_privilege(CURRENT_USER, 'pg_switch_wal()', 'EXECUTE') \
AND has_function_privilege(CURRENT_USER, 'pg_create_restore_point(text)', 'EXECUTE')) \
FROM pg_user WHERE usename = CURRENT_USER";

const MONITORING_PRIVILEGES: &str = "SELECT (pg_has_role(CURRENT_USER, 'pg_monitor', 'USAGE') \
OR (pg_has_role(CURRENT_USER, 'pg_read_all_settings', 'USAGE') AND pg_has_role(CURRENT_USER, 'pg_read_all_stats', 'USAGE')))";

/// `PostgreSQLConnection.fetch_remote_status`.
fn postgres_status(
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
    let is_superuser = s.flag("SELECT usesuper FROM pg_user WHERE usename = CURRENT_USER");
    let backup_privileges = if s.version_num < 100000 {
        is_superuser
    } else if s.version_num < 150000 {
        s.flag(BACKUP_PRIVILEGES_10)
    } else {
        s.flag(BACKUP_PRIVILEGES_15)
    };
    if backup_privileges == Some(true) {
        out.insert(
            "data_directory".into(),
            RemoteValue::opt_str(s.setting("data_directory")),
        );
    }
    let keep = if s.version_num < 130000 {
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
    let in_recovery = s.flag("SELECT pg_is_in_recovery()");
    out.insert("is_in_recovery".into(), RemoteValue::bool(in_recovery));
    out.insert(
        "server_txt_version".into(),
        RemoteValue::str(version_text(s.version_num)),
    );
    out.insert(
        "version_supported".into(),
        RemoteValue::bool(Some(s.version_num >= 90600)),
    );
    let segment_size = s
        .text("SELECT setting FROM pg_settings WHERE name='wal_segment_size'")
        .and_then(|v| v.parse::<i64>().ok());
    let (lsn, file) = if in_recovery == Some(false) {
        let row = s.row("SELECT location, (pg_walfile_name_offset(location)).file_name FROM pg_current_wal_lsn() AS location");
        let lsn = row.as_ref().and_then(|r| r.first().cloned().flatten());
        (lsn, row.and_then(|r| r.get(1).cloned().flatten()))
    } else {
        (s.text("SELECT pg_last_wal_replay_lsn()"), None)
    };
    out.insert("current_lsn".into(), RemoteValue::opt_str(lsn));
    out.insert("current_xlog".into(), RemoteValue::opt_str(file));
    let size = if backup_privileges == Some(true) {
        s.text("SELECT sum(pg_tablespace_size(oid)) FROM pg_tablespace")
            .map(RemoteValue::Decimal)
    } else {
        None
    };
    out.insert(
        "current_size".into(),
        size.unwrap_or_else(RemoteValue::none),
    );
    let int_setting = |s: &mut Session, name: &str| {
        s.text(&format!(
            "SELECT setting FROM pg_settings WHERE name='{name}'"
        ))
        .and_then(|v| v.parse::<i64>().ok())
    };
    out.insert(
        "archive_timeout".into(),
        RemoteValue::int(Some(int_setting(s, "archive_timeout").unwrap_or(0))),
    );
    out.insert(
        "checkpoint_timeout".into(),
        RemoteValue::int(int_setting(s, "checkpoint_timeout")),
    );
    out.insert("xlog_segment_size".into(), RemoteValue::int(segment_size));
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
    out.insert(
        "replication_slot_support".into(),
        RemoteValue::bool(Some(true)),
    );
    if let Some(slot) = &inputs.slot_name {
        let sql = format!(
            "SELECT slot_name, active, restart_lsn FROM pg_replication_slots WHERE slot_type = 'physical' AND slot_name = '{}'",
            slot.replace('\'', "''")
        );
        let value = s
            .row(&sql)
            .map_or_else(RemoteValue::none, |r| RemoteValue::Slot {
                slot_name: r.first().cloned().flatten().unwrap_or_default(),
                active: r.get(1).cloned().flatten().as_deref() == Some("t"),
                restart_lsn: r.get(2).cloned().flatten(),
            });
        out.insert("replication_slot".into(), value);
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

/// Barman's parsing of `synchronous_standby_names` (`FIRST 1 (a, "b")` → `[a, b]`).
fn synchronous_standby_names(setting: Option<String>) -> Vec<String> {
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
fn streaming_status(conninfo: &str, out: &mut BTreeMap<String, RemoteValue>) -> Option<String> {
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
    let version = conn.server_version();
    out.insert(
        "version_supported".into(),
        RemoteValue::bool(Some(version >= 90600)),
    );
    if version < 90600 {
        return Some(pg_tools::major_of(&version_text(version)));
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
    Some(pg_tools::major_of(&version_text(version)))
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
fn receivewal_status(
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
fn archiver_status(session: Option<&mut Session>, out: &mut BTreeMap<String, RemoteValue>) {
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
fn basebackup_status(
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

/// What `pg_switch_wal()` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwitchOutcome {
    /// This segment was closed.
    Closed(String),
    /// The current segment was empty: nothing to switch.
    NotNeeded,
    /// The server is a standby.
    Standby,
}

/// Why a switch could not be done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwitchError {
    /// `--force` needs superuser or `pg_checkpoint`.
    CheckpointPrivileges,
    /// Anything else (connection, privileges, query): Barman's generic failure.
    Failed(String),
}

/// Barman's `switch_wal` (with the optional CHECKPOINT of `--force`): the segment name
/// before and after `pg_switch_wal()` tell whether a segment was closed.
pub fn switch_wal(conninfo: &str, force: bool) -> Result<SwitchOutcome, SwitchError> {
    let mut s = Session::open(conninfo).map_err(|e| SwitchError::Failed(e.message))?;
    if force {
        let allowed = s.flag(
            "SELECT usesuper OR pg_has_role(CURRENT_USER, 'pg_checkpoint', 'USAGE') FROM pg_user WHERE usename = CURRENT_USER",
        );
        if allowed != Some(true) {
            return Err(SwitchError::CheckpointPrivileges);
        }
        s.rows("CHECKPOINT")
            .map_err(|e| SwitchError::Failed(e.message))?;
    }
    let privileges = if s.version_num < 150000 {
        BACKUP_PRIVILEGES_10
    } else {
        BACKUP_PRIVILEGES_15
    };
    if s.flag(privileges) != Some(true) {
        return Err(SwitchError::Failed("missing backup privileges".into()));
    }
    if s.flag("SELECT pg_is_in_recovery()") == Some(true) {
        return Ok(SwitchOutcome::Standby);
    }
    let current = "SELECT pg_walfile_name(pg_current_wal_insert_lsn())";
    let before = s
        .text(current)
        .ok_or_else(|| SwitchError::Failed("cannot read the current WAL".into()))?;
    s.rows("SELECT pg_switch_wal()")
        .map_err(|e| SwitchError::Failed(e.message))?;
    let after = s
        .text(current)
        .ok_or_else(|| SwitchError::Failed("cannot read the current WAL".into()))?;
    Ok(if before < after {
        SwitchOutcome::Closed(before)
    } else {
        SwitchOutcome::NotNeeded
    })
}

/// Result of creating or dropping a replication slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotError {
    /// The slot already exists (create).
    Exists,
    /// The slot does not exist (drop).
    Missing,
    /// No free slot (`max_replication_slots`).
    Full,
    /// The slot is in use by a WAL sender (drop).
    InUse,
    /// The streaming connection could not be opened (libpq's text).
    Connect(String),
    /// Anything else (connection or query), with libpq's or PostgreSQL's text.
    Other(String),
}

fn slot_error(e: libpq::QueryError) -> SlotError {
    match e.sqlstate.as_deref() {
        Some("42710") => SlotError::Exists,
        Some("42704") => SlotError::Missing,
        Some("53400") => SlotError::Full,
        Some("55006") => SlotError::InUse,
        _ => SlotError::Other(e.message),
    }
}

/// Barman's `StreamingConnection.create_physical_repslot`: `CREATE_REPLICATION_SLOT name
/// PHYSICAL` on a replication connection opened with the streaming conninfo (the name
/// unquoted, as the replication protocol requires).
pub fn create_slot(streaming_conninfo: &str, slot: &str) -> Result<(), SlotError> {
    let mut conn = Connection::open(streaming_conninfo, Kind::Replication)
        .map_err(|e| SlotError::Connect(e.message))?;
    conn.query(&format!("CREATE_REPLICATION_SLOT {slot} PHYSICAL"))
        .map(|_| ())
        .map_err(slot_error)
}

/// Barman's `StreamingConnection.drop_repslot`: `DROP_REPLICATION_SLOT name`.
pub fn drop_slot(streaming_conninfo: &str, slot: &str) -> Result<(), SlotError> {
    let mut conn = Connection::open(streaming_conninfo, Kind::Replication)
        .map_err(|e| SlotError::Connect(e.message))?;
    conn.query(&format!("DROP_REPLICATION_SLOT {slot}"))
        .map(|_| ())
        .map_err(slot_error)
}

/// One row of `pg_stat_replication` (with its slot), as Barman's `get_replication_stats`.
#[derive(Debug, Clone, Default)]
pub struct ReplicationClient {
    /// WAL sender pid.
    pub pid: String,
    /// Role name.
    pub usename: String,
    /// `application_name`.
    pub application_name: String,
    /// Client address (None for a Unix socket).
    pub client_addr: Option<String>,
    /// Client host name.
    pub client_hostname: Option<String>,
    /// Client port.
    pub client_port: Option<String>,
    /// When the sender started, as Python prints a datetime.
    pub backend_start: String,
    /// The standby's xmin.
    pub backend_xmin: Option<String>,
    /// `state`.
    pub state: String,
    /// Positions.
    pub sent_lsn: Option<String>,
    /// Positions.
    pub write_lsn: Option<String>,
    /// Positions.
    pub flush_lsn: Option<String>,
    /// Positions (None for WAL streamers such as pg_receivewal).
    pub replay_lsn: Option<String>,
    /// `sync_priority`.
    pub sync_priority: i64,
    /// `sync_state`.
    pub sync_state: String,
    /// The slot it streams from.
    pub slot_name: Option<String>,
    /// The server's current position.
    pub current_lsn: Option<String>,
}

/// Which clients `replication-status --target` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    /// Everything.
    All,
    /// Clients that replay (hot standbys).
    HotStandby,
    /// Clients that only receive (pg_receivewal).
    WalStreamer,
}

/// The server's current LSN and its streaming clients; `None` when the server cannot be
/// queried (Barman then says it could not connect).
pub fn replication_clients(
    conninfo: &str,
    kind: ClientKind,
) -> Option<(Option<String>, Vec<ReplicationClient>)> {
    let mut s = Session::open(conninfo).ok()?;
    let filter = match kind {
        ClientKind::All => "",
        ClientKind::HotStandby => " AND r.replay_lsn IS NOT NULL",
        ClientKind::WalStreamer => " AND r.replay_lsn IS NULL",
    };
    let sql = format!(
        "SELECT r.pid, r.usename, r.application_name, host(r.client_addr), r.client_hostname, r.client_port, \
         r.backend_start, r.backend_xmin, r.state, r.sent_lsn, r.write_lsn, r.flush_lsn, r.replay_lsn, \
         r.sync_priority, r.sync_state, rs.slot_name, \
         CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END AS current_lsn \
         FROM pg_stat_replication r LEFT JOIN pg_replication_slots rs ON (r.pid = rs.active_pid) \
         WHERE (rs.slot_type IS NULL OR rs.slot_type = 'physical'){filter} \
         ORDER BY sync_state DESC, sync_priority"
    );
    let rows = s.rows(&sql).ok()?;
    let mut clients = Vec::new();
    for row in rows {
        {
            let get = |i: usize| row.get(i).cloned().flatten();
            clients.push(ReplicationClient {
                pid: get(0).unwrap_or_default(),
                usename: get(1).unwrap_or_default(),
                application_name: get(2).unwrap_or_default(),
                client_addr: get(3),
                client_hostname: get(4),
                client_port: get(5),
                backend_start: get(6)
                    .and_then(|t| parse_pg_time(&t))
                    .map(|t| python_datetime_str(&t))
                    .unwrap_or_default(),
                backend_xmin: get(7),
                state: get(8).unwrap_or_default(),
                sent_lsn: get(9),
                write_lsn: get(10),
                flush_lsn: get(11),
                replay_lsn: get(12),
                sync_priority: get(13).and_then(|p| p.parse().ok()).unwrap_or(0),
                sync_state: get(14).unwrap_or_default(),
                slot_name: get(15),
                current_lsn: get(16),
            });
        }
    }
    let server_lsn = if s.flag("SELECT pg_is_in_recovery()") == Some(true) {
        s.text("SELECT pg_last_wal_replay_lsn()")
    } else {
        s.text("SELECT pg_current_wal_lsn()")
    };
    Some((server_lsn, clients))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_values_render_like_python() {
        let slot = RemoteValue::Slot {
            slot_name: "barman_pg".into(),
            active: true,
            restart_lsn: Some("0/50000000".into()),
        };
        assert_eq!(
            slot.python_str(),
            "Record(slot_name='barman_pg', active=True, restart_lsn='0/50000000')"
        );
        assert_eq!(
            slot.diagnose_json(),
            serde_json::json!(["barman_pg", true, "0/50000000"])
        );
        let list = RemoteValue::Plain(serde_json::json!([""]));
        assert_eq!(list.python_str(), "['']");
        let decimal = RemoteValue::Decimal("506660756".into());
        assert_eq!(decimal.show_json(), Value::String("506660756".into()));
        assert_eq!(decimal.diagnose_json(), serde_json::json!(506660756.0));
        let t = parse_pg_time("2026-11-24 00:55:41.116992+00").unwrap();
        assert_eq!(
            RemoteValue::Time(t).python_str(),
            "2026-11-24 00:55:41.116992+00:00"
        );
    }

    #[test]
    fn version_and_standby_names_parsing() {
        assert_eq!(version_text(150018), "15.18");
        assert_eq!(version_text(90624), "9.6.24");
        assert_eq!(synchronous_standby_names(Some(String::new())), vec![""]);
        assert_eq!(
            synchronous_standby_names(Some("FIRST 1 (a, \"b\")".into())),
            vec!["a", "b"]
        );
        assert!(synchronous_standby_names(None).is_empty());
    }
}
