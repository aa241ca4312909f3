//! `barman verify-archive SERVER [--full] [--nagios]` (ours): prove the WAL archive is
//! whole and unchanged. Each file's plain content is checked against the SHA-256 the
//! archiver recorded (`<server>-xlog.db.sha256`), segments must decompress to one segment
//! size, the timeline history files must hang together, and no segment may be missing
//! between a backup's first WAL and the newest of its timeline. Incremental by default:
//! only files new or changed since the last run are read (`<server>-xlog.db.verified`);
//! `--full` reads them all. See doc/verify-archive.md.

mod report;
mod scan;

use super::select;
use super::status::server_dirs;
use super::Context;
use crate::adapters::catalog::annotations;
use crate::adapters::catalog::layout::ServerDirs;
use crate::adapters::catalog::store;
use crate::adapters::catalog::wal_checksums::{self, Content, PlainDigest};
use crate::adapters::codec::Codec;
use crate::adapters::lock::LockKind;
use crate::commands::locks;
use crate::core::archive_verify::{self, BackupStart, Geometry, History, Verdict};
use crate::core::backup_id::BackupId;
use crate::core::backup_info::BackupInfo;
use crate::core::config::ServerConfig;
use crate::core::pg_version::PgVersion;
use crate::core::retention::KeepTarget;
use crate::core::timeline::parse_history;
use crate::core::wal_checksums::{ChecksumEntry, ChecksumIndex, Origin, VerifyState};
use crate::core::wal_name::{WalFileName, WalSegmentName};
use crate::core::wal_segment_size::WalSegmentSize;
use crate::output::Output;
use report::{Fault, Report};
use scan::{ArchivedFile, Reading};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What to do.
#[derive(Debug, Clone, Copy, Default)]
pub struct VerifyOptions {
    /// `--full`: read every file, not only those new since the last run.
    pub full: bool,
    /// `--nagios`: one Nagios plugin line, exit 0 (OK) or 2 (CRITICAL).
    pub nagios: bool,
}

/// Inactive and disabled servers can be verified too: it reads only the archive.
const ANY_SERVER: select::Policy = select::Policy {
    inactive_is_error: false,
    skip_inactive: false,
    disabled_is_error: false,
};

/// `verify-archive`.
pub fn run(
    ctx: &Context,
    out: &mut Output,
    server_name: &str,
    options: VerifyOptions,
) -> crate::Result<()> {
    if options.nagios {
        out.mute();
    }
    let verified = verify_server(ctx, out, server_name, options);
    if options.nagios {
        report::nagios(out, server_name, verified.as_ref());
    }
    Ok(())
}

/// Everything but the Nagios line: `None` when the server could not be verified at all
/// (the reason was reported as an error).
fn verify_server(
    ctx: &Context,
    out: &mut Output,
    server_name: &str,
    options: VerifyOptions,
) -> Option<Report> {
    let server = select::single(&ctx.config, server_name, out, ANY_SERVER)?;
    let name = server.name();
    if server.uses_wal_cloud_storage() {
        out.error(&format!(
            "WAL archive in cloud storage is not supported for server '{name}': {}",
            server.wals_dir()
        ));
        return None;
    }
    let lock_dir = PathBuf::from(&ctx.config.global.barman_lock_directory);
    let kind = LockKind::VerifyArchive(name.into());
    let _lock = match locks::take(out, &lock_dir, &kind, &locks::VERIFY_ARCHIVE) {
        Ok(Some(lock)) => lock,
        Ok(None) => return None,
        Err(e) => {
            out.error(&e.to_string());
            return None;
        }
    };
    let started = ctx.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
    match verify(server, &lock_dir, options.full, &started) {
        Ok(report) => {
            report::show(out, name, &report);
            Some(report)
        }
        Err(e) => {
            out.error(&format!(
                "Cannot verify the WAL archive of server {name}: {e}"
            ));
            None
        }
    }
}

/// The catalog as `verify` needs it.
struct Catalog {
    /// xlog db entries: name → recorded compression.
    compression: BTreeMap<String, Option<String>>,
    index: ChecksumIndex,
    state: VerifyState,
    backups: BTreeMap<BackupId, BackupInfo>,
}

fn load(dirs: &ServerDirs) -> crate::Result<Catalog> {
    let mut compression = BTreeMap::new();
    store::for_each_wal(dirs, |e| {
        compression.insert(e.name, e.compression);
    })?;
    Ok(Catalog {
        compression,
        index: wal_checksums::read_index(dirs)?,
        state: wal_checksums::read_state(dirs)?,
        backups: store::load_backups(dirs)?,
    })
}

fn verify(
    server: &ServerConfig,
    lock_dir: &Path,
    full: bool,
    started: &str,
) -> crate::Result<Report> {
    let dirs = server_dirs(server);
    let files = scan::list_archive(&dirs.wals_directory)?;
    let catalog = load(&dirs)?;
    let geometry = geometry(&catalog);
    let mut report = Report {
        full,
        files: files.len(),
        previous_run: catalog.state.verified_at.clone(),
        ..Report::default()
    };
    let mut state = VerifyState {
        verified_at: Some(started.to_string()),
        ..VerifyState::default()
    };
    let to_read: Vec<&ArchivedFile> = files
        .iter()
        .filter(|f| {
            let unchanged = !full && catalog.state.files.get(&f.text) == Some(&f.stamp);
            if unchanged {
                state.files.insert(f.text.clone(), f.stamp);
            }
            !unchanged
        })
        .collect();
    report.unchanged = files.len() - to_read.len();
    let custom = |name: &str| custom_codec(server, &catalog, name);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let readings = scan::read_all(&to_read, &custom, workers);
    let mut first_seen = Vec::new();
    for (file, reading) in to_read.iter().zip(readings) {
        let size = geometry.map(|g| g.size);
        if let Some(entry) = judge(file, reading, &catalog.index, size, &mut report) {
            first_seen.push(entry);
        }
        if report.good.contains(&file.text) {
            state.files.insert(file.text.clone(), file.stamp);
        }
    }
    report
        .faults
        .extend(catalog_faults(&dirs, &files, &catalog)?);
    timeline_and_gap_faults(&dirs, server, &files, &catalog, geometry, &mut report);
    persist(&dirs, lock_dir, &files, &catalog.index, &first_seen, &state)?;
    Ok(report)
}

/// Judge one reading; returns the index line to add for a file seen for the first time.
fn judge(
    file: &ArchivedFile,
    reading: Reading,
    index: &ChecksumIndex,
    size: Option<WalSegmentSize>,
    report: &mut Report,
) -> Option<ChecksumEntry> {
    let digest: PlainDigest = match reading {
        Reading::Vanished => return None,
        Reading::Failed(reason) => {
            report.read += 1;
            report.faults.push(Fault::Unreadable {
                file: file.text.clone(),
                path: file.path.clone(),
                reason,
            });
            return None;
        }
        Reading::Read(Content::Encrypted) => {
            report.encrypted += 1;
            return None;
        }
        Reading::Read(Content::Plain(digest)) => digest,
    };
    report.read += 1;
    let recorded = index.entries.get(&file.text);
    match archive_verify::judge(&file.name, &digest.sha256, digest.size, recorded, size) {
        Verdict::Good => {
            report.good.insert(file.text.clone());
            None
        }
        Verdict::FirstSeen => {
            report.good.insert(file.text.clone());
            report.first_seen.push(file.text.clone());
            Some(digest.entry(&file.text, Origin::FirstSeen))
        }
        Verdict::Mismatch { recorded, actual } => {
            report.faults.push(Fault::Mismatch {
                file: file.text.clone(),
                path: file.path.clone(),
                recorded,
                actual,
            });
            None
        }
        Verdict::WrongSize { size, expected } => {
            report.faults.push(Fault::WrongSize {
                file: file.text.clone(),
                path: file.path.clone(),
                size,
                expected,
            });
            None
        }
    }
}

/// The codec for a file without magic bytes that the catalog says was archived with
/// `compression = custom`.
fn custom_codec(server: &ServerConfig, catalog: &Catalog, name: &str) -> Option<Codec> {
    match catalog.compression.get(name) {
        Some(Some(c)) if c == "custom" => Codec::from_name(
            "custom",
            server.custom_compression_filter(),
            server.custom_decompression_filter(),
        ),
        _ => None,
    }
}

/// The segment size and the `…FF` skipping, from the newest backup; without a backup,
/// the segment size the index shows most often.
fn geometry(catalog: &Catalog) -> Option<Geometry> {
    let newest = catalog
        .backups
        .values()
        .rev()
        .find(|b| b.status().copy_done());
    if let Some(info) = newest {
        return Some(Geometry {
            size: super::catalog::segment_size(info),
            skip_last: info.version().is_some_and(|v| v < PgVersion::V9_3),
        });
    }
    let mut counts: BTreeMap<u64, usize> = BTreeMap::new();
    for entry in catalog.index.entries.values() {
        if entry.name.parse::<WalSegmentName>().is_ok() {
            *counts.entry(entry.plain_size).or_default() += 1;
        }
    }
    let (bytes, _) = counts.into_iter().max_by_key(|(_, n)| *n)?;
    Some(Geometry {
        size: WalSegmentSize::new(bytes).ok()?,
        skip_last: false,
    })
}

/// Files in the archive the xlog db does not list, and the other way round. Both lists
/// are checked again against the disk before being reported, so a file archived or
/// removed while we worked is not a fault.
fn catalog_faults(
    dirs: &ServerDirs,
    files: &[ArchivedFile],
    catalog: &Catalog,
) -> crate::Result<Vec<Fault>> {
    let on_disk: BTreeSet<&str> = files.iter().map(|f| f.text.as_str()).collect();
    let mut faults = Vec::new();
    for name in catalog.compression.keys() {
        let Ok(parsed) = name.parse::<WalFileName>() else {
            continue;
        };
        let path = crate::adapters::catalog::wal_archive::archive_path(dirs, &parsed);
        if !on_disk.contains(name.as_str()) && !path.exists() {
            faults.push(Fault::NotInArchive { file: name.clone() });
        }
    }
    let unlisted: Vec<&ArchivedFile> = files
        .iter()
        .filter(|f| !catalog.compression.contains_key(&f.text))
        .collect();
    if !unlisted.is_empty() {
        let mut now_listed = BTreeSet::new();
        store::for_each_wal(dirs, |e| {
            now_listed.insert(e.name);
        })?;
        for file in unlisted {
            if !now_listed.contains(&file.text) && file.path.exists() {
                faults.push(Fault::NotInCatalog {
                    file: file.text.clone(),
                });
            }
        }
    }
    Ok(faults)
}

fn timeline_and_gap_faults(
    dirs: &ServerDirs,
    server: &ServerConfig,
    files: &[ArchivedFile],
    catalog: &Catalog,
    geometry: Option<Geometry>,
    report: &mut Report,
) {
    let mut histories = BTreeMap::new();
    let mut present = BTreeSet::new();
    let mut wal_timelines = BTreeSet::new();
    for file in files {
        match &file.name {
            WalFileName::History(tli) => {
                let custom = custom_codec(server, catalog, &file.text);
                let parsed = match scan::history_text(&file.path, custom.as_ref()) {
                    Ok(Some(text)) => match parse_history(&text) {
                        Ok(entries) => History::Read(entries),
                        Err(e) => History::Unreadable(e.to_string()),
                    },
                    Ok(None) => History::Encrypted,
                    Err(e) => History::Unreadable(e.to_string()),
                };
                histories.insert(*tli, parsed);
            }
            WalFileName::Segment(s) | WalFileName::Partial(s) => {
                present.insert(*s);
                wal_timelines.insert(s.tli);
            }
            WalFileName::BackupLabel { .. } => {}
        }
    }
    report.timelines = wal_timelines.iter().copied().collect();
    for fault in archive_verify::timeline_faults(&histories, &wal_timelines) {
        report.faults.push(Fault::Timeline(fault));
    }
    let Some(geometry) = geometry else {
        return;
    };
    let readable: BTreeMap<u32, _> = histories
        .into_iter()
        .filter_map(|(tli, h)| match h {
            History::Read(entries) => Some((tli, entries)),
            _ => None,
        })
        .collect();
    let starts = backup_starts(dirs, &catalog.backups);
    for gap in archive_verify::gaps(&starts, &present, &readable, geometry) {
        report.faults.push(Fault::Gap(gap));
    }
}

/// Where each usable backup (DONE or WAITING_FOR_WALS) begins, and where one kept
/// `standalone` ends.
fn backup_starts(dirs: &ServerDirs, backups: &BTreeMap<BackupId, BackupInfo>) -> Vec<BackupStart> {
    backups
        .iter()
        .filter(|(_, info)| info.status().copy_done())
        .filter_map(|(id, info)| {
            let keep = annotations::read(dirs, id, annotations::KEEP)
                .ok()
                .flatten();
            let standalone =
                keep.and_then(|k| KeepTarget::from_annotation(&k)) == Some(KeepTarget::Standalone);
            Some(BackupStart {
                id: id.to_string(),
                begin_wal: info.begin_wal()?,
                begin_lsn: info.begin_xlog(),
                standalone_end: info.end_wal().filter(|_| standalone),
            })
        })
        .collect()
}

/// Record first-seen checksums, drop the index lines of files retention removed once
/// they are the larger part, and save what this run verified.
fn persist(
    dirs: &ServerDirs,
    lock_dir: &Path,
    files: &[ArchivedFile],
    index: &ChecksumIndex,
    first_seen: &[ChecksumEntry],
    state: &VerifyState,
) -> crate::Result<()> {
    let fatal = |e: &dyn std::fmt::Display| crate::Error::Fatal(e.to_string());
    wal_checksums::append(dirs, lock_dir, first_seen).map_err(|e| fatal(&e))?;
    let live: BTreeSet<&str> = files.iter().map(|f| f.text.as_str()).collect();
    if index.needs_compaction(|n| live.contains(n)) {
        // Names the archiver adds meanwhile are kept: they are new, not stale.
        let listed: BTreeSet<String> = index.entries.keys().cloned().collect();
        wal_checksums::compact(dirs, lock_dir, |n| live.contains(n) || !listed.contains(n))
            .map_err(|e| fatal(&e))?;
    }
    wal_checksums::write_state(dirs, state)?;
    Ok(())
}
