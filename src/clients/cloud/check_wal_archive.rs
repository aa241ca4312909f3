//! `barman-cloud-check-wal-archive`: the pre-flight check that a WAL archive in object
//! storage can take a new server's WAL: empty, or (with `--timeline N`) holding only WAL
//! of timelines before N. Barman's messages and exit codes (1 refused, 2 unreachable,
//! 4 other errors).

use super::CommonArgs;
use crate::adapters::cloud::{CloudError, CloudStore};
use crate::app::exit::exit_code;
use crate::core::wal_name::WalFileName;
use crate::error::ExitKind;
use clap::Parser;
use std::process::ExitCode;

/// The compression suffixes barman-cloud allows after a WAL name.
const SUFFIXES: [&str; 6] = [".gz", ".bz2", ".xz", ".snappy", ".zst", ".lz4"];

/// Command line of `barman-cloud-check-wal-archive`.
#[derive(Debug, Parser)]
#[command(
    name = "barman-cloud-check-wal-archive",
    version = crate::BARMAN_VERSION,
    disable_help_flag = true,
    about = "Checks that the WAL archive on the specified cloud storage can be safely used for a new PostgreSQL server."
)]
pub struct Args {
    /// URL of the cloud destination, such as a bucket in AWS S3. For example:
    /// `s3://bucket/path/to/folder`.
    pub destination_url: String,
    /// the name of the server as configured in Barman.
    pub server_name: String,
    /// Options shared by the barman-cloud tools.
    #[command(flatten)]
    pub common: CommonArgs,
    /// The earliest timeline whose WALs should cause the check to fail
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub timeline: Option<u32>,
}

/// Run the client.
pub fn run(args: Args) -> ExitCode {
    let log = args.common.log();
    let general = |e: &CloudError| {
        log.error(&format!("Barman cloud WAL archive check exception: {e}"));
        exit_code(ExitKind::CloudGeneral)
    };
    let store = match super::open_store(&args.common, &args.destination_url, args.common.options())
    {
        Ok(store) => store,
        Err(e) => return general(&e),
    };
    // Barman's test_connectivity: only an unreachable server stops here.
    match store.bucket_exists() {
        Err(e) if e.is_connectivity() => {
            log.error(&format!("Can't connect to cloud provider: {e}"));
            return exit_code(ExitKind::CloudNetwork);
        }
        Err(e) => return general(&e),
        Ok(_) if args.common.test => return ExitCode::SUCCESS,
        // A missing bucket holds no WAL: Barman creates it here; we leave it to the
        // first archive (object_store has no bucket creation) and report it empty.
        Ok(_) => {}
    }
    let wals = match wal_names(&store, &args.server_name) {
        Ok(wals) => wals,
        Err(CloudError::NoSuchBucket(_)) => Vec::new(),
        Err(e) => return general(&e),
    };
    match usable(&wals, args.timeline) {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            log.error(&format!(
                "WAL archive check failed for server {}: {reason}",
                args.server_name
            ));
            exit_code(ExitKind::CloudOperation)
        }
    }
}

/// The WAL names under `<path>/<server>/wals/` (Barman's `get_wal_paths`: a WAL name,
/// optionally with one compression suffix; anything else ignored), deduplicated.
fn wal_names(store: &CloudStore, server: &str) -> Result<Vec<WalFileName>, CloudError> {
    let prefix = format!("{}/", store.url.key(&[server, "wals"]));
    let mut names: Vec<String> = store
        .list(&prefix)?
        .iter()
        .filter_map(|key| {
            let base = key.rsplit('/').next().unwrap_or(key);
            let plain = SUFFIXES
                .iter()
                .find_map(|s| base.strip_suffix(s))
                .filter(|n| n.parse::<WalFileName>().is_ok());
            match base.parse::<WalFileName>() {
                Ok(_) => Some(base.to_string()),
                Err(_) => plain.map(str::to_string),
            }
        })
        .collect();
    names.sort();
    names.dedup();
    Ok(names.iter().filter_map(|n| n.parse().ok()).collect())
}

/// Barman's `check_archive_usable`.
fn usable(wals: &[WalFileName], timeline: Option<u32>) -> Result<(), String> {
    let Some(timeline) = timeline else {
        return if wals.is_empty() {
            Ok(())
        } else {
            Err("Expected empty archive".into())
        };
    };
    let newer = wals.iter().filter(|w| timeline <= tli(w)).count();
    match newer {
        0 => Ok(()),
        n => Err(format!(
            "Found {n} file{} in WAL archive equal to or newer than timeline {timeline}",
            if n > 1 { "s" } else { "" }
        )),
    }
}

fn tli(wal: &WalFileName) -> u32 {
    match wal {
        WalFileName::Segment(s) | WalFileName::Partial(s) => s.tli,
        WalFileName::BackupLabel { segment, .. } => segment.tli,
        WalFileName::History(tli) => *tli,
    }
}
