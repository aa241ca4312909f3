//! What `show-servers` and `diagnose` report about one server: its configuration items,
//! derived flags, and the remote status read from PostgreSQL and the client tools.

use super::Context;
use crate::adapters::catalog::{layout::ServerDirs, store};
use crate::adapters::postgres::{self, RemoteValue, StatusInputs};
use crate::core::backup_info::Field;
use crate::core::config::value::human_timedelta;
use crate::core::config::ServerConfig;
use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One `key: value` row with both renderings (console text is Python's `str()`).
#[derive(Debug, Clone)]
pub struct Row {
    /// The key, as Barman names it.
    pub key: String,
    /// Console rendering.
    pub text: String,
    /// JSON rendering.
    pub json: Value,
}

impl Row {
    fn new(key: &str, text: String, json: Value) -> Self {
        Row {
            key: key.to_string(),
            text,
            json,
        }
    }
}

/// Rows of `show-servers` for a server, sorted by key (Barman sorts the merged dict).
pub fn show_rows(server: &ServerConfig, now: &DateTime<FixedOffset>) -> Vec<Row> {
    let mut rows: std::collections::BTreeMap<String, Row> = server
        .items()
        .into_iter()
        .map(|(key, value)| {
            (
                key.to_string(),
                Row::new(key, value.python_str(), value.to_json()),
            )
        })
        .collect();
    let passive = server.passive_node();
    rows.insert(
        "passive_node".into(),
        Row::new("passive_node", python_bool(passive), Value::Bool(passive)),
    );
    if !passive && server.active() {
        for row in remote_rows(server) {
            rows.insert(row.key.clone(), row);
        }
    }
    let age = last_backup_maximum_age(server, now);
    rows.insert(
        "last_backup_maximum_age".into(),
        Row::new("last_backup_maximum_age", age.clone(), Value::String(age)),
    );
    let model = server.active_model();
    rows.insert(
        "active_model".into(),
        Row::new(
            "active_model",
            model.unwrap_or("None").to_string(),
            model.map_or(Value::Null, |m| Value::String(m.to_string())),
        ),
    );
    rows.into_values().collect()
}

/// The remote status (PostgreSQL connection, streaming connection, archivers, client
/// tools) of an active, non-passive server, as Barman's `Server.get_remote_status()`.
pub fn remote_status(server: &ServerConfig) -> BTreeMap<String, RemoteValue> {
    let method = server.method().to_string();
    let streaming = method == "postgres" || server.streaming_archiver();
    let inputs = StatusInputs {
        conninfo: server.conninfo().map(str::to_string),
        streaming_conninfo: if streaming {
            server.streaming_conninfo().map(str::to_string)
        } else {
            None
        },
        slot_name: server.slot_name().map(str::to_string),
        archiver: server.archiver(),
        streaming_archiver: server.streaming_archiver(),
        streaming_archiver_name: server
            .streaming_archiver_name()
            .unwrap_or("barman_receive_wal")
            .to_string(),
        backup_method: method,
        path_prefix: server.path_prefix().map(str::to_string),
    };
    postgres::remote_status(&inputs)
}

/// The remote status as show-servers rows.
pub fn remote_rows(server: &ServerConfig) -> Vec<Row> {
    remote_status(server)
        .into_iter()
        .map(|(key, value)| Row::new(&key, value.python_str(), value.show_json()))
        .collect()
}

/// `last_backup_maximum_age` as show-servers prints it: `None` when unset, else the limit
/// and the age of the newest backup (Barman's `validate_last_backup_maximum_age`).
fn last_backup_maximum_age(server: &ServerConfig, now: &DateTime<FixedOffset>) -> String {
    let Some(limit) = server.last_backup_maximum_age() else {
        return "None".to_string();
    };
    let limit_text = human_timedelta(limit);
    let newest_end = store::load_backups(&server_dirs(server))
        .ok()
        .and_then(|backups| {
            backups
                .values()
                .rev()
                .find(|b| b.status().copy_done())
                .and_then(|b| b.time(Field::EndTime, *now.offset()))
        });
    match newest_end {
        None => format!("{limit_text} (WARNING! latest backup is No available backups old)"),
        Some(end) => {
            let age = (*now - end).num_seconds();
            let age_text = human_timedelta(age);
            if age > limit {
                format!("{limit_text} (WARNING! latest backup is {age_text} old)")
            } else {
                format!("{limit_text} (latest backup: {age_text} )")
            }
        }
    }
}

fn python_bool(b: bool) -> String {
    if b { "True" } else { "False" }.to_string()
}

/// The catalog paths of a configured server.
pub fn server_dirs(server: &ServerConfig) -> ServerDirs {
    ServerDirs {
        name: server.name().to_string(),
        backup_directory: server.backup_dir().into(),
        basebackups_directory: server.basebackups_dir().into(),
        wals_directory: server.wals_dir().into(),
        xlogdb_directory: server.xlogdb_location().into(),
    }
}

/// Every backup of the server as `diagnose` shows it (times in the host's zone).
pub fn backups_json(ctx: &Context, server: &ServerConfig) -> crate::Result<Map<String, Value>> {
    let offset = *ctx.now.offset();
    Ok(store::load_backups(&server_dirs(server))?
        .into_iter()
        .map(|(id, info)| {
            let json = info.to_json(id.as_str(), offset);
            (id.into(), json)
        })
        .collect())
}

/// The last archived segment of each timeline, as `diagnose` shows it.
pub fn last_wal_per_timeline(server: &ServerConfig) -> crate::Result<Map<String, Value>> {
    Ok(store::last_wal_per_timeline(&server_dirs(server))?
        .into_iter()
        .map(|(tli, entry)| {
            let mut wal = Map::new();
            wal.insert(
                "compression".into(),
                entry.compression.map_or(Value::Null, Value::String),
            );
            wal.insert(
                "encryption".into(),
                entry.encryption.map_or(Value::Null, Value::String),
            );
            wal.insert("name".into(), Value::String(entry.name));
            wal.insert("size".into(), Value::from(entry.size));
            wal.insert(
                "time".into(),
                serde_json::Number::from_f64(entry.time).map_or(Value::Null, Value::Number),
            );
            (tli, Value::Object(wal))
        })
        .collect())
}
