//! `barman metrics [SERVER...]` and `cron`'s `metrics_file`: each server's catalog as
//! Prometheus text (see [`crate::core::metrics`]). Reads only the catalog, never
//! PostgreSQL, so a scrape or a cron refresh stays cheap and works while a server is down.

use super::catalog::ServerCatalog;
use super::select;
use super::status::server_dirs;
use super::Context;
use crate::adapters::catalog::annotations;
use crate::adapters::catalog::stats;
use crate::adapters::durable;
use crate::core::backup_info::BackupStatus;
use crate::core::backup_info::Field;
use crate::core::config::ServerConfig;
use crate::core::metrics::{self, BackupFacts, ServerFacts};
use crate::core::retention::RetentionStatus;
use crate::output::{self, Output};
use std::path::{Path, PathBuf};

/// Print the metrics of `names` (every server when none is given).
pub fn run(ctx: &Context, out: &mut Output, names: &[String]) -> crate::Result<()> {
    let names = if names.is_empty() {
        vec!["all".to_string()]
    } else {
        names.to_vec()
    };
    let selected = select::servers(&ctx.config, &names, out);
    let mut facts = Vec::new();
    for server in select::known(selected, out) {
        facts.push(server_facts(ctx, server)?);
    }
    output::print_raw(&metrics::render(&facts, unix(ctx)));
    Ok(())
}

/// Replace `metrics_file` with every server's metrics (atomically: a scraper never reads a
/// half-written file). Called by `cron` after its pass.
///
/// # Errors
/// A catalog or the file cannot be read or written.
pub fn write_file(ctx: &Context, path: &Path) -> crate::Result<()> {
    let mut facts = Vec::new();
    for server in ctx.config.servers.values() {
        facts.push(server_facts(ctx, server)?);
    }
    let text = metrics::render(&facts, unix(ctx));
    durable::write_atomic(path, text.as_bytes()).map_err(|e| {
        crate::Error::Fatal(format!("cannot write metrics_file {}: {e}", path.display()))
    })
}

fn unix(ctx: &Context) -> f64 {
    ctx.now.timestamp_micros() as f64 / 1e6
}

fn server_facts(ctx: &Context, server: &ServerConfig) -> crate::Result<ServerFacts> {
    let lock_dir = PathBuf::from(&ctx.config.global.barman_lock_directory);
    let catalog = ServerCatalog::load(server, &lock_dir, *ctx.now.offset())?;
    let mut facts = ServerFacts {
        name: server.name().to_string(),
        active: server.active() && !server.disabled(),
        passive: server.passive_node(),
        minimum_redundancy: u64::from(server.minimum_redundancy_count()),
        ..ServerFacts::default()
    };
    let seconds = |info, field| {
        catalog
            .time(info, field)
            .map(|t| t.timestamp_micros() as f64 / 1e6)
    };
    for (id, info) in &catalog.backups {
        let status = info.status();
        *facts
            .backups_by_status
            .entry(status.to_string())
            .or_default() += 1;
        facts.backups_bytes += info.size().unwrap_or(0);
        if status != BackupStatus::Done {
            continue;
        }
        facts.done_backups += 1;
        let end = seconds(info, Field::EndTime);
        if facts.first_backup_end.is_none() {
            facts.first_backup_end = end;
        }
        if let (Some(begin), Some(end)) = (seconds(info, Field::BeginTime), end) {
            facts.last_backup = Some(BackupFacts {
                begin,
                end,
                size: info.size().unwrap_or(0),
            });
        } else {
            tracing::debug!(target: "barman.metrics", "backup {id} has no begin or end time");
        }
    }
    // As for an unreadable record, a meta/ folder we cannot list means "no drill".
    let drilled =
        annotations::ids_with(&catalog.dirs, annotations::DRILL_RECORD).unwrap_or_else(|e| {
            tracing::warn!(target: "barman.metrics", "cannot list the drill records: {e}");
            Vec::new()
        });
    facts.last_drill = drilled
        .iter()
        .filter_map(|id| catalog.backups.get_key_value(id.as_str()))
        .filter_map(|(id, _)| super::catalog::last_drill(&catalog, id))
        .filter_map(|record| {
            let start = chrono::DateTime::parse_from_rfc3339(&record.started_at).ok()?;
            Some((start.timestamp_micros() as f64 / 1e6, record.passed()))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0));
    facts.obsolete_backups = catalog.retention(ctx.now)?.map(|report| {
        report
            .values()
            .filter(|s| **s == RetentionStatus::Obsolete)
            .count() as u64
    });
    let dirs = server_dirs(server);
    facts.wal = stats::wal_facts(&dirs, unix(ctx)).map_err(|e| {
        crate::Error::Fatal(format!("cannot read the xlog db of {}: {e}", server.name()))
    })?;
    facts.wal_errors = stats::count_files(Path::new(server.errors_dir()));
    if facts.passive {
        facts.last_sync = stats::modified(&Path::new(server.backup_dir()).join("primary.info"));
    }
    Ok(facts)
}
