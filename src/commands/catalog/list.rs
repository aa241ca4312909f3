//! `list-backups`: one line (or JSON object) per backup, newest first, with the backup size
//! including the WALs it needs, the WAL size until the next backup, and the retention
//! status when a policy is enforced (Barman's `Server.list_backups` + output writers).

use super::common::{backup_type, bad_wal_name_message, ServerCatalog};
use crate::commands::{select, Context};
use crate::core::backup_id::BackupId;
use crate::core::backup_info::Field;
use crate::output::python::{ctime, pretty_size};
use crate::output::Output;
use serde_json::{Map, Value};
use std::path::PathBuf;

/// `list-backups SERVER...|all [--minimal]`.
pub fn run(
    ctx: &Context,
    out: &mut Output,
    servers: &[String],
    minimal: bool,
) -> crate::Result<()> {
    let selected = select::servers(&ctx.config, servers, out);
    let lock_dir = PathBuf::from(&ctx.config.global.barman_lock_directory);
    for server in select::known(selected, out) {
        let catalog = ServerCatalog::load(server, &lock_dir, *ctx.now.offset())?;
        list_server(ctx, out, &catalog, minimal)?;
        // Listed apart: an unreadable backup.info must not pass unnoticed.
        for (id, why) in &catalog.unreadable {
            out.warning(&format!(
                "Backup {id} of server {} cannot be read: {why}",
                server.name()
            ));
        }
    }
    Ok(())
}

fn list_server(
    ctx: &Context,
    out: &mut Output,
    catalog: &ServerCatalog,
    minimal: bool,
) -> crate::Result<()> {
    let retention = catalog.retention(ctx.now)?;
    let wal_infos = if minimal {
        Ok(Default::default())
    } else {
        catalog.all_wal_info()
    };
    // The JSON document is built only for `-f json`: on the console each line goes out
    // as it is made (a 10,000-backup catalog's objects would double the memory).
    let json = out.is_json();
    let mut items = Vec::new();
    for (id, info) in catalog.backups.iter().rev() {
        if minimal {
            out.line(id.as_str());
            if json {
                items.push(Value::String(id.to_string()));
            }
            continue;
        }
        let mut row = Row {
            size: info.int(Field::Size).unwrap_or(0),
            wal_size: 0,
            retention: None,
        };
        if info.status().copy_done() {
            match &wal_infos {
                Ok(all) => {
                    if let Some(wal) = all.get(id) {
                        row.size += wal.wal_size as i64;
                        row.wal_size = wal.until_next_size as i64;
                    }
                }
                Err(Ok(name)) => out.error(&bad_wal_name_message(
                    name,
                    catalog.server.name(),
                    "WAL segment",
                )),
                Err(Err(e)) => return Err(crate::Error::Fatal(e.to_string())),
            }
            if let Some(report) = &retention {
                let label = report
                    .get(id.as_str())
                    .map_or_else(|| "-".to_string(), ToString::to_string);
                row.retention = (label != "VALID").then_some(label);
            }
        }
        let (line, item) = backup_row(catalog, id, info, row);
        out.line(&line);
        if json {
            items.push(Value::Object(item));
        }
    }
    out.json_set(catalog.server.name(), Value::Array(items));
    Ok(())
}

/// What `list-backups` adds to a backup's own fields: sizes with WAL, retention label.
struct Row {
    size: i64,
    wal_size: i64,
    retention: Option<String>,
}

/// One backup's console line and JSON object.
fn backup_row(
    catalog: &ServerCatalog,
    id: &BackupId,
    info: &crate::core::backup_info::BackupInfo,
    row: Row,
) -> (String, Map<String, Value>) {
    let status = info.status();
    let server_name = info.raw(Field::ServerName).unwrap_or("None");
    let name = info.raw(Field::BackupName);
    let kind = backup_type(info);
    let mut line = format!("{server_name} {id}");
    if let Some(name) = name {
        line.push_str(&format!(" '{name}'"));
    }
    line.push_str(&format!(" - {} - ", kind[..1].to_uppercase()));
    let mut item = Map::new();
    item.insert("backup_id".into(), Value::String(id.to_string()));
    if let Some(name) = name {
        item.insert("backup_name".into(), Value::String(name.to_string()));
    }
    item.insert("backup_type".into(), Value::String(kind.to_string()));
    item.insert("status".into(), Value::String(status.to_string()));
    if !status.copy_done() {
        line.push_str(&status.to_string());
        return (line, item);
    }
    let (size, wal_size) = (row.size, row.wal_size);
    let end = catalog.time(info, Field::EndTime);
    let end_ctime = end.as_ref().map_or_else(|| "None".to_string(), ctime);
    line.push_str(&format!(
        "{end_ctime} - Size: {} - WAL Size: {}",
        pretty_size(size as f64),
        pretty_size(wal_size as f64)
    ));
    if status == crate::core::backup_info::BackupStatus::WaitingForWals {
        line.push_str(" - WAITING_FOR_WALS");
    }
    if let Some(label) = row.retention.as_deref().filter(|l| *l != "-") {
        line.push_str(&format!(" - {label}"));
    }
    let timestamp = end.map_or(0, |t| t.timestamp());
    item.insert(
        "end_time_timestamp".into(),
        Value::String(timestamp.to_string()),
    );
    item.insert("end_time".into(), Value::String(end_ctime));
    item.insert("size_bytes".into(), Value::from(size));
    item.insert("wal_size_bytes".into(), Value::from(wal_size));
    item.insert("size".into(), Value::String(pretty_size(size as f64)));
    item.insert(
        "wal_size".into(),
        Value::String(pretty_size(wal_size as f64)),
    );
    item.insert(
        "retention_status".into(),
        Value::String(row.retention.unwrap_or_else(|| "-".into())),
    );
    (line, item)
}
