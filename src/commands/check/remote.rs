//! Checks of the PostgreSQL connections (`Server.check_postgres`, `check_wal_streaming`,
//! `check_identity`): connection and version, backup privileges, streaming, `wal_level`,
//! the standby pair, the replication slot, the WAL-only connections and the system id.

use super::catalogue::{Probe, Recorder, Remote};
use crate::adapters::catalog::store;
use crate::adapters::postgres::RemoteValue;
use crate::adapters::postgres_checks;

/// `PostgreSQL`, privileges, `PostgreSQL streaming`, `wal_level`, standby checks.
pub(super) fn check_postgres(p: &mut Probe, rec: &mut Recorder) {
    rec.init("PostgreSQL");
    let remote = p.remote();
    let Some(version) = remote.text("server_txt_version") else {
        rec.result(false, None);
        return;
    };
    if remote.flag("version_supported") == Some(false) {
        rec.result(
            false,
            Some(format!(
                "unsupported version: PostgreSQL server is too old ({version} < 9.6.0)"
            )),
        );
        return;
    }
    rec.result(true, None);
    if let Some(privileged) = remote.flag("has_backup_privileges") {
        rec.init("superuser or standard user with backup privileges");
        if privileged {
            rec.result(true, None);
        } else {
            rec.result_as(
                "no access to backup functions",
                false,
                Some(
                    "privileges for PostgreSQL backup functions are required (see documentation)"
                        .into(),
                ),
            );
        }
    }
    streaming_supported(remote, rec, None);
    wal_level(remote, rec, None);
    if let Some(primary) = p.server.primary_conninfo() {
        let conninfo = p.server.conninfo().unwrap_or_default().to_string();
        check_standby(&conninfo, primary, rec);
    }
}

fn suffixed(name: &str, suffix: Option<&str>) -> String {
    suffix.map_or_else(|| name.to_string(), |s| format!("{name} ({s})"))
}

fn streaming_supported(remote: &Remote, rec: &mut Recorder, suffix: Option<&str>) {
    if !remote.has("streaming_supported") {
        return;
    }
    rec.init(&suffixed("PostgreSQL streaming", suffix));
    let hint = if remote.flag("streaming_supported").is_none() {
        remote.text("connection_error")
    } else {
        None
    };
    rec.result(remote.flag("streaming") == Some(true), hint);
}

fn wal_level(remote: &Remote, rec: &mut Recorder, suffix: Option<&str>) {
    if !remote.has("wal_level") {
        return;
    }
    rec.init(&suffixed("wal_level", suffix));
    if remote.text("wal_level").as_deref() != Some("minimal") {
        rec.result(true, None);
    } else {
        rec.result(
            false,
            Some("please set it to a higher level than 'minimal'".into()),
        );
    }
}

/// `_check_standby`: conninfo must be a standby of a primary with the same system id.
fn check_standby(conninfo: &str, primary: &str, rec: &mut Recorder) {
    rec.init("PostgreSQL server is standby");
    let standby = postgres_checks::node_facts(conninfo);
    // Barman keeps a standby connection only when conninfo is in recovery.
    let is_standby_conn = standby
        .as_ref()
        .is_some_and(|f| f.in_recovery != Some(false));
    if is_standby_conn && standby.as_ref().and_then(|f| f.in_recovery) == Some(true) {
        rec.result(true, None);
    } else {
        rec.result(
            false,
            Some("conninfo should point to a standby server if primary_conninfo is set".into()),
        );
    }
    if !is_standby_conn {
        return;
    }
    let primary_facts = postgres_checks::node_facts(primary);
    rec.init("Primary server is not a standby");
    if primary_facts.as_ref().and_then(|f| f.in_recovery) != Some(true) {
        rec.result(true, None);
    } else {
        rec.result(
            false,
            Some("primary_conninfo should point to a primary server, not a standby".into()),
        );
    }
    rec.init("Primary and standby have same system ID");
    let standby_id = standby.and_then(|f| f.systemid);
    let primary_id = primary_facts.and_then(|f| f.systemid);
    if standby_id == primary_id {
        rec.result(true, None);
    } else {
        rec.result(
            false,
            Some("primary_conninfo and conninfo should point to primary and standby servers which share the same system identifier".into()),
        );
    }
}

/// `check_wal_streaming`: the slot, and the WAL-only connections when they differ.
pub(super) fn check_wal_streaming(p: &mut Probe, rec: &mut Recorder) {
    let server = p.server;
    let wal_streaming = server
        .wal_streaming_conninfo()
        .or_else(|| server.streaming_conninfo());
    let wal_conninfo = server
        .wal_conninfo()
        .or_else(|| server.wal_streaming_conninfo())
        .or_else(|| server.conninfo());
    if wal_conninfo != server.conninfo() {
        let remote = Remote(postgres_checks::wal_remote_status(
            server,
            wal_conninfo.unwrap_or_default(),
            wal_streaming.unwrap_or_default(),
        ));
        monitoring_privileges(&remote, rec, Some("WAL streaming"));
        streaming_supported(&remote, rec, Some("WAL streaming"));
        wal_level(&remote, rec, Some("WAL streaming"));
        identity(p, &remote, rec, Some("WAL streaming"));
        replication_slot(p, &remote, rec, Some("WAL streaming"));
    } else {
        let remote = Remote(p.remote().0.clone());
        replication_slot(p, &remote, rec, None);
    }
}

/// `_check_wal_streaming_preflight`: what receive-wal verifies, on the server's remote
/// status, before it starts streaming.
pub(super) fn wal_streaming_preflight(p: &Probe, remote: &Remote, rec: &mut Recorder) {
    let suffix = Some("WAL streaming");
    monitoring_privileges(remote, rec, suffix);
    streaming_supported(remote, rec, suffix);
    wal_level(remote, rec, suffix);
    identity(p, remote, rec, suffix);
}

fn monitoring_privileges(remote: &Remote, rec: &mut Recorder, suffix: Option<&str>) {
    rec.init(&suffixed("has monitoring privileges", suffix));
    if remote.flag("has_monitoring_privileges") == Some(true) {
        rec.result(true, None);
    } else {
        rec.result_as(
            "no access to monitoring functions",
            false,
            Some(
                "privileges for PostgreSQL monitoring functions are required (see documentation)"
                    .into(),
            ),
        );
    }
}

fn replication_slot(p: &Probe, remote: &Remote, rec: &mut Recorder, suffix: Option<&str>) {
    let Some(slot_name) = p.server.slot_name() else {
        return;
    };
    rec.init(&suffixed("replication slot", suffix));
    let slot = match remote.get("replication_slot") {
        Some(RemoteValue::Slot {
            active,
            restart_lsn,
            ..
        }) => Some((*active, restart_lsn.is_some())),
        _ => None,
    };
    if p.server.streaming_archiver() {
        match slot {
            None => rec.result(
                false,
                Some(format!(
                    "replication slot '{slot_name}' doesn't exist. Please execute 'barman receive-wal --create-slot {}'",
                    p.server.name()
                )),
            ),
            Some((_, false)) => rec.result(
                false,
                Some(format!(
                    "slot '{slot_name}' not initialised: is 'receive-wal' running?"
                )),
            ),
            Some((false, true)) => rec.result(
                false,
                Some(format!(
                    "slot '{slot_name}' not active: is 'receive-wal' running?"
                )),
            ),
            Some((true, true)) => rec.result(true, None),
        }
    } else if let Some((active, true)) = slot {
        let state = if active { "active" } else { "initialised" };
        rec.result(
            true,
            Some(format!(
                "WARNING: slot '{slot_name}' is {state} but not required by the current config"
            )),
        );
    }
}

/// `systemid coherence` on the server's own connections.
pub(super) fn check_identity(p: &mut Probe, rec: &mut Recorder) {
    let remote = Remote(p.remote().0.clone());
    identity(p, &remote, rec, None);
}

fn identity(p: &Probe, remote: &Remote, rec: &mut Recorder, suffix: Option<&str>) {
    rec.init(&suffixed("systemid coherence", suffix));
    let streaming = remote.text("streaming_systemid").filter(|s| !s.is_empty());
    let postgres = remote.text("postgres_systemid").filter(|s| !s.is_empty());
    if let (Some(a), Some(b)) = (&streaming, &postgres) {
        if a != b {
            rec.result(
                false,
                Some("is the streaming DSN targeting the same server of the PostgreSQL connection string?".into()),
            );
            return;
        }
    }
    let Some(systemid) = streaming.or(postgres) else {
        rec.result(true, Some("no system Id available".into()));
        return;
    };
    let path = p.dirs.identity();
    if !path.exists() {
        rec.result(true, Some("no system Id stored on disk".into()));
        return;
    }
    let stored = match store::load_identity(&p.dirs) {
        Ok(identity) => identity.map(|i| i.systemid),
        Err(e) => {
            // Not a changed system id: a file nobody can read.
            rec.result(
                false,
                Some(format!("cannot read \"{}\": {e}", path.display())),
            );
            return;
        }
    };
    if stored.as_deref() != Some(systemid.as_str()) {
        rec.result(
            false,
            Some(format!(
                "the system Id of the connected PostgreSQL server changed, stored in \"{}\"",
                path.display()
            )),
        );
    } else {
        rec.result(true, None);
    }
}
