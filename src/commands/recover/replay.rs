//! What the commit-time index (doc/commit-index.md) changes in a restore that copies WAL:
//! with `--target-time` as the only target, the segments after the first one holding a
//! transaction end past the target are left behind (PostgreSQL stops before that record and
//! never reads them); and before copying, the WAL to replay is estimated (segments, bytes,
//! the span of transaction end times). Without an index line for a segment nothing changes.

use super::options::{self, Plan};
use super::wals::RequiredWal;
use crate::adapters::catalog::commit_index;
use crate::adapters::catalog::layout::ServerDirs;
use crate::core::backup_info::BackupInfo;
use crate::core::backup_info::Field;
use crate::core::commit_index::{self as rules, CommitIndex, ReplayEstimate, TimeCut};
use crate::output::Output;

/// Drop the WAL a `--target-time` recovery will not read, and print the replay estimate.
pub fn plan(
    out: &mut Output,
    dirs: &ServerDirs,
    info: &BackupInfo,
    plan: &Plan,
    mut wals: Vec<RequiredWal>,
    show_estimate: bool,
) -> Vec<RequiredWal> {
    let index = commit_index::read(dirs);
    if index.is_empty() {
        return wals;
    }
    if let Some(target) = time_target(plan) {
        let names: Vec<String> = wals.iter().map(|w| w.name.clone()).collect();
        let end = info.raw(Field::EndWal).unwrap_or_default();
        match rules::plan_time_cut(&names, end, target, &index) {
            TimeCut::After { last, skipped } => {
                let message = format!(
                    "The commit-time index shows the target time is passed in {last}: not copying the {} WAL segments after it",
                    skipped.len()
                );
                tracing::info!(target: "barman.recovery_executor", "{message}");
                out.debug(&message);
                wals.retain(|w| !skipped.contains(&w.name));
            }
            TimeCut::All(why) => {
                let message = format!("Copying all the WAL after the backup: {why}");
                tracing::debug!(target: "barman.recovery_executor", "{message}");
                out.debug(&message);
            }
        }
    }
    let estimate = estimate(&index, info, wals.iter().map(|w| w.name.as_str()));
    if estimate.segments > estimate.unindexed {
        // Barman prints no such line: on the console only when the operator asked for it.
        let message = format!("Replay estimate: {}", estimate.describe());
        if show_estimate {
            out.info(&message);
        } else {
            tracing::info!(target: "barman.recovery_executor", "{message}");
            out.debug(&message);
        }
    }
    wals
}

/// The estimate of replaying the WAL files `names` of the backup `info`.
pub fn estimate<'a>(
    index: &CommitIndex,
    info: &BackupInfo,
    names: impl Iterator<Item = &'a str>,
) -> ReplayEstimate {
    let names: Vec<String> = names.map(str::to_string).collect();
    let size = crate::core::backup_record::segment_size(info);
    rules::estimate(&names, size.bytes(), index)
}

/// The target time as a PostgreSQL timestamp, when it is the recovery's only target.
fn time_target(plan: &Plan) -> Option<i64> {
    let t = &plan.targets;
    if t.xid.is_some() || t.lsn.is_some() || t.name.is_some() || t.immediate {
        return None;
    }
    let text = t.time.as_deref()?;
    let local = *chrono::Local::now().offset();
    let (time, _) = options::parse_target_time(text, local).ok()?;
    Some(rules::to_pg_time(&time))
}
