//! `show-backup`: gather everything Barman's `Server.get_backup_ext_info` knows about one
//! backup (catalog neighbours, WAL statistics, retention status, copy statistics, child
//! timelines, incremental chain), then render it (see `show_render`).

use super::common::{backup_type, bad_wal_name_message, children, ServerCatalog};
use super::show_render;
use crate::commands::{select, Context};
use crate::core::backup_id::BackupId;
use crate::core::backup_info::BackupInfo;
use crate::core::backup_info::Field;
use crate::core::backup_wals::WalInfo;
use crate::core::py_literal::PyValue;
use crate::core::timeline::parse_history;
use crate::output::Output;
use std::path::PathBuf;

/// Everything show-backup prints about a copy-done backup beyond its backup.info.
pub struct Extended {
    /// Previous copy-done backup.
    pub previous: Option<String>,
    /// Next copy-done backup.
    pub next: Option<String>,
    /// WAL statistics.
    pub wal: WalInfo,
    /// Retention label, `None` when no policy is enforced.
    pub retention: Option<String>,
    /// Timelines forked from this backup's timeline after its end.
    pub children_timelines: Vec<u32>,
    /// `copy_stats['copy_time']` when > 0.
    pub copy_time: Option<PyValue>,
    /// `copy_stats['analysis_time']` when ≥ 1.
    pub analysis_time: Option<PyValue>,
    /// `deduplicated_size / copy_time` when both are > 0.
    pub throughput: Option<f64>,
    /// `copy_stats['number_of_workers']` (1 unless more).
    pub workers: i64,
    /// Root of the incremental chain and its length.
    pub root: (String, usize),
    /// `backup_type`.
    pub backup_type: &'static str,
    /// Estimated deduplication ratio (`None` = Python's integer 0).
    pub dedup_ratio: Option<f64>,
    /// Estimated bytes saved (`None` = Python's integer 0).
    pub est_dedup_size: Option<f64>,
}

/// `show-backup SERVER ID`.
pub fn run(ctx: &Context, out: &mut Output, server: &str, backup_id: &str) -> crate::Result<()> {
    let Some(server) = select::single(&ctx.config, server, out, NO_FILTER) else {
        return Ok(());
    };
    let lock_dir = PathBuf::from(&ctx.config.global.barman_lock_directory);
    let catalog = ServerCatalog::load(server, &lock_dir, *ctx.now.offset())?;
    let Some(id) = catalog.resolve(backup_id, out) else {
        return Ok(());
    };
    let info = &catalog.backups[&id];
    let extended = if info.status().copy_done() {
        match extended(ctx, &catalog, &id, info) {
            Ok(ext) => Some(ext),
            Err(Ok(name)) => {
                out.error(&bad_wal_name_message(&name, server.name(), "xlog segment"));
                return Ok(());
            }
            Err(Err(e)) => return Err(e),
        }
    } else {
        None
    };
    // Ours, shown only when `barman drill` ran on this backup (so, without drills, the
    // output stays Barman's).
    let drill = last_drill(&catalog, &id);
    // Barman shows no recovery window: only when the operator asked for it.
    let window = ctx
        .config
        .global
        .recovery_estimates
        .then(|| super::show_window::recovery_window(&catalog, info, *ctx.now.offset()))
        .flatten();
    if out.is_json() {
        let mut doc = show_render::json(&catalog, &id, info, extended.as_ref());
        if let (Some(record), Some(map)) = (&drill, doc.as_object_mut()) {
            map.insert(
                "last_drill".into(),
                serde_json::to_value(record).unwrap_or_default(),
            );
        }
        if let (Some((earliest, latest)), Some(map)) = (&window, doc.as_object_mut()) {
            map.insert(
                "recovery_window".into(),
                serde_json::json!({"earliest": earliest, "latest": latest}),
            );
        }
        out.json_set(info.raw(Field::ServerName).unwrap_or("None"), doc);
    } else {
        for line in show_render::console(&catalog, &id, info, extended.as_ref()) {
            out.line(&line);
        }
        if let Some((earliest, latest)) = &window {
            out.line(&format!("  Recovery window      : {earliest} to {latest}"));
        }
        if let Some(record) = drill {
            out.line(&format!(
                "  Last drill           : {} at {}",
                record.verdict(),
                record.started_at
            ));
            for line in record.lines() {
                out.line(&format!("  {line}"));
            }
        }
    }
    Ok(())
}

/// The backup's drill record, when `barman drill` ran on it.
pub fn last_drill(
    catalog: &ServerCatalog,
    id: &BackupId,
) -> Option<crate::core::drill::DrillRecord> {
    use crate::adapters::catalog::annotations;
    let text = annotations::read(&catalog.dirs, id, annotations::DRILL_RECORD).ok()??;
    serde_json::from_str(&text).ok()
}

/// Commands that show every server whatever its state.
pub const NO_FILTER: select::Policy = select::Policy {
    inactive_is_error: false,
    skip_inactive: false,
    disabled_is_error: false,
};

fn number(value: Option<&PyValue>) -> f64 {
    match value {
        Some(PyValue::Int(n)) => *n as f64,
        Some(PyValue::Float(f)) => *f,
        _ => 0.0,
    }
}

fn copy_stat(info: &BackupInfo, key: &str) -> Option<PyValue> {
    match info.literal(Field::CopyStats)? {
        PyValue::Dict(items) => items
            .into_iter()
            .find(|(k, _)| matches!(k, PyValue::Str(s) if s == key))
            .map(|(_, v)| v),
        _ => None,
    }
}

fn extended(
    ctx: &Context,
    catalog: &ServerCatalog,
    id: &BackupId,
    info: &BackupInfo,
) -> Result<Extended, Result<String, crate::Error>> {
    let wal = catalog.wal_info(id)?;
    let retention = catalog.retention(ctx.now).map_err(Err)?.map(|report| {
        report
            .get(id.as_str())
            .map_or_else(|| "-".into(), ToString::to_string)
    });
    let copy_time = copy_stat(info, "copy_time").filter(|v| number(Some(v)) > 0.0);
    let analysis_time = copy_stat(info, "analysis_time").filter(|v| number(Some(v)) >= 1.0);
    let dedup = info.int(Field::DeduplicatedSize).unwrap_or(0);
    let throughput = copy_time
        .as_ref()
        .filter(|_| dedup > 0)
        .map(|t| dedup as f64 / number(Some(t)));
    let workers = copy_stat(info, "number_of_workers")
        .map(|v| number(Some(&v)) as i64)
        .filter(|n| *n > 1 && throughput.is_some())
        .unwrap_or(1);
    let kind = backup_type(info);
    let base_size = if kind == "rsync" {
        info.int(Field::Size)
    } else {
        info.int(Field::ClusterSize)
    };
    let dedup_ratio = match (base_size.filter(|s| *s != 0), dedup) {
        (Some(size), d) if d != 0 => Some(1.0 - d as f64 / size as f64),
        _ => None,
    };
    let reference = info
        .int(Field::ClusterSize)
        .filter(|s| *s != 0)
        .or(info.int(Field::Size));
    let est_dedup_size = match (reference, dedup_ratio) {
        (Some(r), Some(ratio)) => Some(r as f64 * ratio),
        _ => None,
    };
    Ok(Extended {
        previous: catalog.neighbour(id, false).map(ToString::to_string),
        next: catalog.neighbour(id, true).map(ToString::to_string),
        wal,
        retention,
        children_timelines: children_timelines(catalog, info),
        copy_time,
        analysis_time,
        throughput,
        workers,
        root: root(catalog, id),
        backup_type: kind,
        dedup_ratio,
        est_dedup_size,
    })
}

/// Barman's `walk_to_root`: follow `parent_backup_id` while the parent exists.
fn root(catalog: &ServerCatalog, id: &BackupId) -> (String, usize) {
    let mut current = id.to_string();
    let mut size = 1;
    while let Some(parent) = catalog
        .backups
        .get(current.as_str())
        .and_then(|b| b.raw(Field::ParentBackupId))
        .filter(|p| {
            catalog
                .backups
                .get(*p)
                .is_some_and(|b| b.status() != crate::core::backup_info::BackupStatus::Empty)
        })
    {
        current = parent.to_string();
        size += 1;
    }
    (current, size)
}

/// Barman's `get_children_timelines(timeline, forked_after=end_xlog)`: read
/// `wals/<TLI+n>.history` while they exist, keep the lines branching from our timeline
/// after the backup's end.
fn children_timelines(catalog: &ServerCatalog, info: &BackupInfo) -> Vec<u32> {
    let Some(tli) = info.timeline().map(|t| t.get()) else {
        return Vec::new();
    };
    let forked_after = info.end_xlog();
    let mut found = Vec::new();
    let mut child = tli;
    loop {
        child += 1;
        let path = catalog
            .dirs
            .wals_directory
            .join(format!("{child:08X}.history"));
        let Ok(text) = std::fs::read_to_string(&path) else {
            break;
        };
        for entry in parse_history(&text).unwrap_or_default() {
            if entry.parent.get() != tli {
                continue;
            }
            if forked_after.is_some_and(|after| entry.switchpoint < after) {
                continue;
            }
            found.push(child);
        }
    }
    found
}

/// `children_backup_ids` for the catalog block.
pub fn children_ids(info: &BackupInfo) -> Option<Vec<String>> {
    children(info)
}
