//! PostgreSQL operations beyond the status report: `switch-wal`, replication slots and the
//! replication clients `replication-status` lists.

use super::status::{BACKUP_PRIVILEGES_10, BACKUP_PRIVILEGES_15};
use super::{parse_pg_time, python_datetime_str, Session};
use crate::adapters::libpq::{self, Connection, Kind};
use crate::core::pg_version::PgVersion;

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
    let privileges = if s.version < PgVersion::V15 {
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
