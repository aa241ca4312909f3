//! `check-archived-wal-range SERVER BEGIN_WAL END_WAL` (new in Barman 3.20): every segment
//! from BEGIN_WAL to END_WAL must be in the server's WAL archive. The segment size comes
//! from the newest backup (WAITING_FOR_WALS or DONE), so a server without one is an error.
//! Messages, output and exit codes are Barman's (`cli.check_archived_wal_range`,
//! `Server.check_archived_wal_range`, the console and JSON writers).

use super::{select, Context};
use crate::adapters::catalog::store;
use crate::core::backup_info::Field;
use crate::core::wal_range::{self, DEFAULT_SEGMENT_SIZE};
use crate::output::Output;
use serde_json::json;
use std::path::Path;

/// Inactive and disabled servers are checked too.
const ANY_SERVER: select::Policy = select::Policy {
    inactive_is_error: false,
    skip_inactive: false,
    disabled_is_error: false,
};

/// `check-archived-wal-range`.
pub fn run(
    ctx: &Context,
    out: &mut Output,
    server_name: &str,
    begin_wal: &str,
    end_wal: &str,
) -> crate::Result<()> {
    let Some(server) = select::single(&ctx.config, server_name, out, ANY_SERVER) else {
        return Ok(());
    };
    let range = match wal_range::validate(begin_wal, end_wal) {
        Ok(range) => range,
        Err(message) => {
            out.error(&message);
            return Ok(());
        }
    };
    let name = server.name();
    if server.uses_wal_cloud_storage() {
        // Not in this build (Barman asks the cloud provider): refuse rather than report
        // every segment missing.
        out.error(&format!(
            "WAL archive in cloud storage is not supported for server '{name}': {}",
            server.wals_dir()
        ));
        return Ok(());
    }
    let mut doc = json!({"begin_wal": begin_wal, "end_wal": end_wal});
    if out.is_json() {
        out.json_set(name, doc.clone());
    } else {
        out.info(&format!("Server {name}:"));
        out.debug(&format!(
            "\tChecking WAL sequence from {begin_wal} to {end_wal}"
        ));
    }
    let dirs = super::status::server_dirs(server);
    let backups = store::load_backups(&dirs)?;
    let Some(last) = backups.values().rev().find(|b| b.status().copy_done()) else {
        out.error(&format!(
            "No backup found for server '{name}': cannot determine WAL segment size"
        ));
        return Ok(());
    };
    let segment_size = last
        .int(Field::XlogSegmentSize)
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or(DEFAULT_SEGMENT_SIZE);
    let wals = Path::new(server.wals_dir());
    let missing: Vec<String> = range
        .segments(segment_size)
        .filter(|segment| !wals.join(&segment[..16]).join(segment).exists())
        .collect();
    if out.is_json() {
        doc["missing_wals"] = json!(missing);
        out.json_set(name, doc);
    } else if missing.is_empty() {
        out.info(&format!(
            "\tWAL sequence check for server {name}: all segments are present"
        ));
    } else {
        out.info(&format!(
            "\tWAL sequence check for server {name}: {} missing segment(s):",
            missing.len()
        ));
        for wal in &missing {
            out.info(&format!("\t\t{wal}"));
        }
    }
    if !missing.is_empty() {
        out.error(&format!(
            "WAL sequence check failed for server '{name}': {} missing segment(s) in range {begin_wal}..{end_wal}",
            missing.len()
        ));
    }
    Ok(())
}
