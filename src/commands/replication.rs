//! `replication-status`: the streaming clients of each server (hot standbys and WAL
//! streamers such as Barman's own pg_receivewal), in Barman's console and JSON layouts.

use super::{select, Context};
use crate::adapters::postgres::{self, ClientKind, ReplicationClient};
use crate::core::lsn::Lsn;
use crate::output::python::pretty_size;
use crate::output::Output;
use serde_json::{json, Map, Value};

/// Options of `replication-status`.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// `--minimal`.
    pub minimal: bool,
    /// `--target`.
    pub target: ClientKind,
    /// `--source wal-host`: use `wal_conninfo`.
    pub wal_host: bool,
}

/// Run `replication-status SERVER...|all`.
pub fn run(
    ctx: &Context,
    out: &mut Output,
    names: &[String],
    options: Options,
) -> crate::Result<()> {
    let selected = select::servers(&ctx.config, names, out);
    for server in select::known(selected, out) {
        if !select::usable(server, out, select::Policy::SKIP_INACTIVE) {
            continue;
        }
        if server.passive_node() {
            out.info(&format!("Skipping passive server '{}'", server.name()));
            continue;
        }
        let conninfo = if options.wal_host {
            server.wal_conninfo().or(server.conninfo())
        } else {
            server.conninfo()
        };
        match postgres::replication_clients(conninfo.unwrap_or_default(), options.target) {
            None => out.error(&format!("Unable to connect to server {}", server.name())),
            Some((lsn, clients)) => report(out, server.name(), options, lsn.as_deref(), &clients),
        }
    }
    Ok(())
}

fn title(target: ClientKind) -> &'static str {
    match target {
        ClientKind::HotStandby => "hot standby servers",
        ClientKind::WalStreamer => "WAL streamers",
        ClientKind::All => "streaming clients",
    }
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + &chars.as_str().to_lowercase())
        .unwrap_or_default()
}

/// `a - b` in bytes (Barman's `diff_lsn`), `None` when either is missing.
fn diff(a: Option<&str>, b: Option<&str>) -> Option<i128> {
    Some(a?.parse::<Lsn>().ok()?.diff(b?.parse::<Lsn>().ok()?))
}

fn sync_stage(c: &ReplicationClient) -> (String, &'static str) {
    let d = |lsn: &Option<String>| diff(lsn.as_deref(), c.current_lsn.as_deref());
    let (kind, max) = if c.replay_lsn.is_none() {
        ("WAL streamer", 3)
    } else {
        ("standby", 5)
    };
    if c.replay_lsn.is_some() {
        if d(&c.replay_lsn) == Some(0) {
            return ("5/5 Hot standby (max)".into(), kind);
        }
        if d(&c.flush_lsn) == Some(0) {
            return ("4/5 2-safe".into(), kind);
        }
    }
    let stage = if d(&c.write_lsn) == Some(0) {
        format!("3/{max} Remote write")
    } else if d(&c.sent_lsn) == Some(0) {
        format!("2/{max} WAL Sent (min)")
    } else {
        format!("1/{max} 1-safe")
    };
    (stage, kind)
}

fn client_name(c: &ReplicationClient, kind: &str) -> String {
    if c.sync_priority > 0 {
        format!("#{} {} {kind}", c.sync_priority, capitalize(&c.sync_state))
    } else {
        format!("{} {kind}", capitalize(&c.sync_state))
    }
}

fn report(
    out: &mut Output,
    server: &str,
    options: Options,
    lsn: Option<&str>,
    clients: &[ReplicationClient],
) {
    let title = title(options.target);
    let key = title.replace(' ', "_").to_lowercase();
    let mut doc = Map::new();
    doc.insert(
        "server_lsn".into(),
        lsn.map_or(Value::Null, |l| Value::String(l.into())),
    );
    report_header(out, server, options.minimal, title, lsn);
    if clients.is_empty() {
        out.line(&format!("  No {title} attached"));
        doc.insert(key, json!([]));
        doc.insert(
            "standby_info".into(),
            Value::String(format!("No {title} attached")),
        );
        out.json_set(server, Value::Object(doc));
        return;
    }
    if !options.minimal {
        out.line(&format!("  Number of {title}: {}", clients.len()));
    }
    let entries = clients
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if options.minimal {
                minimal_entry(out, i + 1, c)
            } else {
                full_entry(out, i + 1, c)
            }
        })
        .collect();
    doc.insert(key, Value::Array(entries));
    out.json_set(server, Value::Object(doc));
}

fn report_header(out: &mut Output, server: &str, minimal: bool, title: &str, lsn: Option<&str>) {
    if minimal {
        match lsn {
            Some(lsn) => out.line(&format!(
                "{} for master '{server}' (LSN @ {lsn}):",
                capitalize(title)
            )),
            None => out.line(&format!("{} for slave '{server}':", capitalize(title))),
        }
    } else {
        out.line(&format!("Status of {title} for server '{server}':"));
        if let Some(lsn) = lsn {
            out.line(&format!("  Current LSN on master: {lsn}"));
        }
    }
}

fn or_none(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "None".into())
}

/// One client of `--minimal`: a WAL streamer (no replay LSN) or a standby.
fn minimal_entry(out: &mut Output, n: usize, c: &ReplicationClient) -> Value {
    let addr = c.client_addr.clone().unwrap_or_else(|| "socket".into());
    if c.replay_lsn.is_none() {
        out.line(&format!(
            "  {n}. W) {}@{addr} S:{} W:{} P:{} AN:{}",
            c.usename,
            or_none(&c.sent_lsn),
            or_none(&c.write_lsn),
            c.sync_priority,
            c.application_name
        ));
        return json!({"user_name": c.usename, "client_addr": addr, "sent_lsn": c.sent_lsn, "write_lsn": c.write_lsn,
            "sync_priority": c.sync_priority, "application_name": c.application_name});
    }
    let state = c
        .sync_state
        .chars()
        .next()
        .map(|ch| ch.to_ascii_uppercase())
        .unwrap_or('?');
    out.line(&format!(
        "  {n}. {state}) {}@{addr} S:{} F:{} R:{} P:{} AN:{}",
        c.usename,
        or_none(&c.sent_lsn),
        or_none(&c.flush_lsn),
        or_none(&c.replay_lsn),
        c.sync_priority,
        c.application_name
    ));
    json!({"sync_state": state.to_string(), "user_name": c.usename, "client_addr": addr,
        "sent_lsn": c.sent_lsn, "flush_lsn": c.flush_lsn, "replay_lsn": c.replay_lsn,
        "sync_priority": c.sync_priority, "application_name": c.application_name})
}

/// One client of the full report: identity, connection, then its LSNs.
fn full_entry(out: &mut Output, n: usize, c: &ReplicationClient) -> Value {
    let (stage, kind) = sync_stage(c);
    let mut entry = Map::new();
    out.line("");
    let name = client_name(c, kind);
    out.line(&format!("  {n}. {name}"));
    entry.insert("name".into(), json!(name));
    out.line(&format!("     Application name: {}", c.application_name));
    out.line(&format!("     Sync stage      : {stage}"));
    entry.insert("application_name".into(), json!(c.application_name));
    entry.insert("sync_stage".into(), json!(stage));
    connection_lines(out, c, &mut entry);
    out.line(&format!("     User name       : {}", c.usename));
    out.line(&format!(
        "     Current state   : {} ({})",
        c.state, c.sync_state
    ));
    entry.insert("user_name".into(), json!(c.usename));
    entry.insert("current_state".into(), json!(c.state));
    entry.insert("current_sync_state".into(), json!(c.sync_state));
    if let Some(slot) = &c.slot_name {
        out.line(&format!("     Replication slot: {slot}"));
        entry.insert("replication_slot".into(), json!(slot));
    }
    out.line(&format!("     WAL sender PID  : {}", c.pid));
    out.line(&format!("     Started at      : {}", c.backend_start));
    entry.insert("wal_sender_pid".into(), json!(c.pid.parse::<i64>().ok()));
    entry.insert("started_at".into(), json!(c.backend_start));
    if let Some(xmin) = &c.backend_xmin {
        out.line(&format!("     Standby's xmin  : {xmin}"));
        entry.insert("standbys_xmin".into(), json!(xmin));
    }
    lsn_lines(out, c, &mut entry);
    Value::Object(entry)
}

fn connection_lines(out: &mut Output, c: &ReplicationClient, entry: &mut Map<String, Value>) {
    let Some(ip) = &c.client_addr else {
        out.line("     Communication   : Unix domain socket");
        entry.insert("communication".into(), json!("Unix domain socket"));
        return;
    };
    out.line("     Communication   : TCP/IP");
    out.line(&format!(
        "     IP Address      : {ip} / Port: {} / Host: {}",
        or_none(&c.client_port),
        c.client_hostname.clone().unwrap_or_else(|| "-".into())
    ));
    entry.insert("communication".into(), json!("TCP/IP"));
    entry.insert("ip_address".into(), json!(ip));
    entry.insert(
        "port".into(),
        json!(c.client_port.as_deref().and_then(|p| p.parse::<i64>().ok())),
    );
    entry.insert("host".into(), json!(c.client_hostname));
}

/// Sent, write, flush and replay LSNs with their distance from the server's current one.
fn lsn_lines(out: &mut Output, c: &ReplicationClient, entry: &mut Map<String, Value>) {
    for (label, key, lsn) in [
        ("Sent LSN   ", "sent", &c.sent_lsn),
        ("Write LSN  ", "write", &c.write_lsn),
        ("Flush LSN  ", "flush", &c.flush_lsn),
        ("Replay LSN ", "replay", &c.replay_lsn),
    ] {
        if let Some(lsn) = lsn {
            let bytes = diff(Some(lsn), c.current_lsn.as_deref()).unwrap_or(0);
            let size = pretty_size(bytes as f64);
            out.line(&format!("     {label}: {lsn} (diff: {size})"));
            entry.insert(format!("{key}_lsn"), json!(lsn));
            entry.insert(format!("{key}_lsn_diff"), json!(size));
            entry.insert(format!("{key}_lsn_diff_bytes"), json!(bytes as i64));
        }
    }
}
