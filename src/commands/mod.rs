//! One module per command family. Each command receives the resolved [`Context`] and the
//! output writer, and returns `Ok` or the error that ends it; non-fatal problems go through
//! `Output::error` so a multi-server command keeps going.

pub mod archive_hooks;
pub mod backup;
pub mod catalog;
pub mod check;
pub mod cloud_wal;
pub mod config_cmds;
pub mod cron;
pub mod diagnose;
pub mod drill;
pub mod encryption;
pub mod export;
pub mod get_wal;
pub mod hooks;
pub mod locks;
pub mod manifest;
pub mod metrics;
pub mod processes;
pub mod receive_wal;
pub mod recover;
pub mod replication;
pub mod select;
pub mod servers;
pub mod status;
pub mod sync;
pub mod verify_archive;
pub mod wal;
pub mod wal_range;

use crate::core::config::Config;
use chrono::{DateTime, FixedOffset};

/// What every command gets: the loaded configuration and the time the run started.
pub struct Context {
    /// The whole configuration (global section, servers, models).
    pub config: Config,
    /// The run's start time (local zone), passed down so pure code never reads the clock.
    pub now: DateTime<FixedOffset>,
}

/// Barman appends ` (SSH host: <client ip>)` to put-wal/get-wal messages when the command
/// runs through ssh, so the log tells which PostgreSQL host asked.
pub fn ssh_suffix() -> String {
    std::env::var("SSH_CONNECTION")
        .ok()
        .and_then(|c| {
            c.split_whitespace()
                .next()
                .map(|ip| format!(" (SSH host: {ip})"))
        })
        .unwrap_or_default()
}
