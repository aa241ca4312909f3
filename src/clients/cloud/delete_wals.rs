//! The WAL clean-up after a backup is deleted from object storage, rule for rule as
//! barman-cloud-backup-delete's `_remove_wals_for_backup`: WALs go only when no older
//! backup needs them (or all older ones are keep:standalone, when allowed), up to the
//! begin WAL of the next backup (or of the deleted one when none is left), sparing other
//! timelines with backups and the ranges standalone backups need. Whole `wals/<tli+log>/`
//! folders below that point go in one sweep.

use super::catalog::{CatalogError, CloudCatalog, Fail};
use super::Log;
use crate::core::backup_info::{BackupInfo, BackupStatus, Field};
use crate::core::backup_wals::{should_remove_wals, timeline_of, BackupWalRange};
use crate::core::retention::KeepTarget;
use crate::core::wal_name::WalFileName;
use std::collections::{BTreeMap, BTreeSet};

/// How the deletion runs.
pub struct DeleteOptions {
    /// `--dry-run`: print what would go.
    pub dry_run: bool,
    /// `--batch-size` (1000, S3's maximum, when unset).
    pub batch: usize,
    /// Whether WALs stay when every older backup is keep:standalone (true for `-b`).
    pub skip_if_standalone: bool,
    /// `--check-object-lock`: a backup's archives are not deleted while S3 Object Lock
    /// holds one of them (its WALs are not checked, as in Python).
    pub check_object_lock: bool,
}

/// Backups counted by `BackupManager.DEFAULT_STATUS_FILTER`.
fn copy_done(info: &BackupInfo) -> bool {
    matches!(
        info.status(),
        BackupStatus::Done | BackupStatus::WaitingForWals
    )
}

/// The tli and log of a hash folder name (`xlog.decode_hash_dir`).
fn decode_hash_dir(name: &str) -> Option<(u32, u32)> {
    if name.len() != 16 || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some((
        u32::from_str_radix(&name[..8], 16).ok()?,
        u32::from_str_radix(&name[8..], 16).ok()?,
    ))
}

/// The tli and log of a segment name (`xlog.decode_segment_name`, first two parts).
fn tli_log(name: &str) -> (u32, u32) {
    let part = |r: std::ops::Range<usize>| {
        name.get(r)
            .and_then(|s| u32::from_str_radix(s, 16).ok())
            .unwrap_or(0)
    };
    (part(0..8), part(8..16))
}

/// Python's repr of a list of strings.
pub fn py_list(items: &[String]) -> String {
    let parts: Vec<String> = items
        .iter()
        .map(|s| crate::core::py_literal::str_repr(s))
        .collect();
    format!("[{}]", parts.join(", "))
}

/// What the clean-up after one deletion spares and where it stops.
#[derive(Debug, Clone, PartialEq)]
struct Plan {
    /// WALs from this name on stay: the begin WAL of the next backup (or the deleted one).
    until_begin: String,
    /// Timelines other backups are on.
    protect: BTreeSet<u32>,
    /// Inclusive begin..end ranges of keep:standalone backups.
    ranges: Vec<(String, String)>,
}

impl Plan {
    /// The `wals/<tli+log>/` folders whose WALs all go (all below `until_begin` on its
    /// timeline, none in a protected range or timeline); malformed folders are logged.
    fn deletable_prefixes(&self, prefixes: Vec<String>, log: Log) -> Vec<String> {
        let (until_tli, until_log) = tli_log(&self.until_begin);
        let mut deletable = Vec::new();
        for prefix in prefixes {
            let folder = prefix
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or("");
            let Some((tli, lg)) = decode_hash_dir(folder) else {
                log.warning(&format!("Ignoring malformed WAL object prefix: {prefix}"));
                continue;
            };
            if self.protect.contains(&tli) {
                continue;
            }
            let in_range = self.ranges.iter().any(|(begin, end)| {
                let (bt, bl) = tli_log(begin);
                let (et, el) = tli_log(end);
                tli >= bt && lg >= bl && tli <= et && lg <= el
            });
            if !in_range && tli == until_tli && lg < until_log {
                deletable.push(prefix);
            }
        }
        deletable
    }

    /// WAL name → key of each WAL that goes, outside the `deletable` folders.
    fn doomed(
        &self,
        paths: &BTreeMap<String, String>,
        deletable: &[String],
    ) -> BTreeMap<String, String> {
        let mut doomed = BTreeMap::new();
        for (name, key) in paths {
            if deletable.iter().any(|p| key.starts_with(p.as_str())) {
                continue;
            }
            let parsed = name.parse::<WalFileName>();
            if matches!(parsed, Ok(WalFileName::History(_))) {
                continue;
            }
            if timeline_of(name).is_some_and(|t| self.protect.contains(&t)) {
                continue;
            }
            let check = match parsed {
                Ok(WalFileName::BackupLabel { .. }) => name.get(..24).unwrap_or(name),
                _ => name.as_str(),
            };
            if self
                .ranges
                .iter()
                .any(|(b, e)| check >= b.as_str() && check <= e.as_str())
            {
                continue;
            }
            if name.as_str() < self.until_begin.as_str() {
                doomed.insert(name.clone(), key.clone());
            }
        }
        doomed
    }
}

/// `_remove_wals_for_backup` for `deleted` (still in the catalog's list).
pub fn remove_wals_for_backup(
    catalog: &mut CloudCatalog,
    deleted: &BackupInfo,
    deleted_id: &str,
    options: &DeleteOptions,
    log: Log,
) -> Result<(), Fail> {
    let list: BTreeMap<String, BackupInfo> = catalog.backup_list(log)?.clone();
    let (remove, ranges) = wal_plan(catalog, &list, deleted_id, options)?;
    if !remove {
        return Ok(());
    }
    let plan = plan(&list, deleted, deleted_id, ranges);
    let deletable = plan.deletable_prefixes(catalog.wal_prefixes()?, log);
    for prefix in &deletable {
        if options.dry_run {
            crate::output::print_raw(&format!(
                "Skipping deletion of all objects under prefix {prefix} due to --dry-run option\n"
            ));
        } else {
            let keys = catalog.store.list(prefix)?;
            catalog.store.delete_many(&keys, options.batch)?;
        }
    }
    let doomed = match catalog.wal_paths() {
        Ok(paths) => plan.doomed(paths, &deletable),
        Err(e) => {
            log.error(&format!(
                "Cannot clean up WALs for backup {deleted_id} because an error occurred listing WALs: {e}"
            ));
            return Ok(());
        }
    };
    let keys: Vec<String> = doomed.values().cloned().collect();
    if !keys.is_empty() {
        if options.dry_run {
            crate::output::print_raw(&format!(
                "Skipping deletion of objects {} due to --dry-run option\n",
                py_list(&keys)
            ));
        } else if let Err(e) = catalog.store.delete_many(&keys, options.batch) {
            log.error(&format!(
                "Could not delete the following WALs for backup {deleted_id}: {}, Reason: {e}",
                py_list(&keys)
            ));
            return Ok(());
        }
    }
    for name in doomed.keys() {
        catalog.forget_wal(name);
    }
    Ok(())
}

/// Where the clean-up stops (`find_next_backup_in`) and the timelines it spares
/// (`get_timelines_to_protect`).
fn plan(
    list: &BTreeMap<String, BackupInfo>,
    deleted: &BackupInfo,
    deleted_id: &str,
    ranges: Vec<(String, String)>,
) -> Plan {
    let next = list
        .iter()
        .filter(|(id, _)| id.as_str() > deleted_id)
        .find(|(_, info)| copy_done(info))
        .map(|(_, info)| info);
    let until = next.unwrap_or(deleted);
    // Python skips the deleted backup by identity, comparing a freshly read copy, so the
    // deleted backup's timeline counts too.
    let mut protect: BTreeSet<u32> = list
        .values()
        .filter_map(|info| info.timeline().map(|t| t.get()))
        .collect();
    if let Some(t) = until.timeline() {
        protect.remove(&t.get());
    }
    Plan {
        until_begin: until.raw(Field::BeginWal).unwrap_or("").to_string(),
        protect,
        ranges,
    }
}

/// `BackupManager.should_remove_wals` over the catalog: the older copy-done backups,
/// newest first, with their keep targets.
fn wal_plan(
    catalog: &mut CloudCatalog,
    list: &BTreeMap<String, BackupInfo>,
    deleted_id: &str,
    options: &DeleteOptions,
) -> Result<(bool, Vec<(String, String)>), CatalogError> {
    let mut previous = Vec::new();
    for (id, info) in list.iter().rev().filter(|(id, _)| id.as_str() < deleted_id) {
        if !copy_done(info) {
            continue;
        }
        let keep = catalog
            .keep_target(id, true)?
            .and_then(|t| KeepTarget::from_annotation(&t));
        previous.push(BackupWalRange {
            id: id.clone(),
            begin_wal: info.raw(Field::BeginWal).map(str::to_string),
            end_wal: info.raw(Field::EndWal).map(str::to_string),
            keep,
        });
        // The walk stops at the first backup that is not keep:standalone.
        if keep != Some(KeepTarget::Standalone) {
            break;
        }
    }
    Ok(should_remove_wals(&previous, options.skip_if_standalone))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(until: &str, protect: &[u32], ranges: &[(&str, &str)]) -> Plan {
        Plan {
            until_begin: until.into(),
            protect: protect.iter().copied().collect(),
            ranges: ranges
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        }
    }

    fn log() -> Log {
        Log {
            level: 50,
            to_log_file: false,
        }
    }

    #[test]
    fn whole_folders_below_the_next_backup_go_unless_protected() {
        let prefixes: Vec<String> = [
            "p/wals/0000000100000000/",
            "p/wals/0000000100000001/",
            "p/wals/0000000100000002/",
            "p/wals/0000000200000000/",
            "p/wals/junk/",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let open = plan("000000010000000200000010", &[], &[]);
        assert_eq!(
            open.deletable_prefixes(prefixes.clone(), log()),
            ["p/wals/0000000100000000/", "p/wals/0000000100000001/"]
        );
        // A standalone backup's range keeps its folder; another timeline is never swept.
        let kept = plan(
            "000000010000000200000010",
            &[2],
            &[("000000010000000100000003", "000000010000000100000004")],
        );
        assert_eq!(
            kept.deletable_prefixes(prefixes, log()),
            ["p/wals/0000000100000000/"]
        );
    }

    #[test]
    fn single_wals_below_the_stop_go_except_history_ranges_and_other_timelines() {
        let paths: BTreeMap<String, String> = [
            "000000010000000000000001",
            "000000010000000000000002",
            "000000010000000000000002.00000028.backup",
            "000000010000000000000003",
            "000000010000000000000005",
            "00000002.history",
            "000000020000000000000001",
        ]
        .iter()
        .map(|n| (n.to_string(), format!("w/{n}")))
        .collect();
        let p = plan(
            "000000010000000000000005",
            &[2],
            &[("000000010000000000000002", "000000010000000000000002")],
        );
        let names: Vec<String> = p.doomed(&paths, &[]).into_keys().collect();
        assert_eq!(
            names,
            ["000000010000000000000001", "000000010000000000000003"]
        );
        // Keys under a swept folder are not listed again.
        let swept: Vec<String> = p
            .doomed(&paths, &["w/000000010000000000000001".into()])
            .into_keys()
            .collect();
        assert_eq!(swept, ["000000010000000000000003"]);
    }
}
