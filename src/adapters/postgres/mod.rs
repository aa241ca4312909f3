//! PostgreSQL: the "remote status" Barman reports in `show-servers`, `diagnose` and
//! `check` (`PostgreSQLConnection`, `StreamingConnection`, the archivers' and backup
//! executors' `fetch_remote_status`).
//!
//! Every connection is libpq's ([`crate::adapters::libpq`]), opened as Barman opens it: a
//! regular session from `conninfo`, and a replication session from `streaming_conninfo`
//! (`replication=true`, `dbname=replication`) over which the streaming values, the server
//! version included, are read. Connection errors are libpq's own text, which Barman shows
//! as `connection_error`.

mod operations;
mod status;

use crate::core::pg_version::PgVersion;
pub use operations::*;
use status::{
    archiver_status, basebackup_status, postgres_status, receivewal_status, streaming_status,
};

use crate::adapters::libpq::{self, ConnectError, Connection, Kind};
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
    pub(crate) version: PgVersion,
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
        let version = PgVersion::from_i64(conn.server_version());
        Ok(Session { conn, version })
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

#[cfg(test)]
mod tests {
    use super::status::synchronous_standby_names;
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
        assert_eq!(synchronous_standby_names(Some(String::new())), vec![""]);
        assert_eq!(
            synchronous_standby_names(Some("FIRST 1 (a, \"b\")".into())),
            vec!["a", "b"]
        );
        assert!(synchronous_standby_names(None).is_empty());
    }
}
