//! The WAL files a restore copies when it does not use get-wal (Barman's
//! `get_required_xlog_files` + `_xlog_copy` + `_generate_archive_status`): every history
//! file, the backup's WALs and those after it on the target timeline (up to the target LSN
//! segment, or only to the backup's end with `--target-immediate`), decrypted (gpg, in a
//! temporary folder on this host) and decompressed into `pg_wal` (with
//! `archive_status/*.done`) or into the PITR staging folder.

use super::options::{self, Plan, RestoreOptions};
use super::Stop;
use crate::adapters::catalog::layout::ServerDirs;
use crate::adapters::catalog::{store, wal_archive};
use crate::adapters::codec::Codec;
use crate::adapters::destination::Destination;
use crate::adapters::gpg::{self, Passphrase};
use crate::adapters::pg_tools;
use crate::adapters::rsync::{self, Transport};
use crate::core::backup_info::BackupInfo;
use crate::core::backup_info::Field;
use crate::core::config::ServerConfig;
use crate::core::pg_version::PgVersion;
use crate::core::recovery::{WalSelection, WalSelector};
use crate::core::timeline::TimelineId;
use crate::core::wal_name::WalFileName;
use crate::output::Output;
use std::io::Read;
use std::path::{Path, PathBuf};

/// One WAL to restore: its name in the destination and where it comes from.
pub struct RequiredWal {
    /// Name in the destination (`.partial` stripped).
    pub name: String,
    /// The archived (or streaming) file.
    pub source: PathBuf,
    /// The xlog db compression column.
    pub compression: Option<String>,
    /// The xlog db encryption column.
    pub encryption: Option<String>,
}

/// The WALs the recovery needs, in xlog db order.
pub fn required(
    server: &ServerConfig,
    dirs: &ServerDirs,
    info: &BackupInfo,
    options: &RestoreOptions,
    plan: &Plan,
) -> Result<Vec<RequiredWal>, Stop> {
    let begin = info.raw(Field::BeginWal).unwrap_or_default().to_string();
    let end = info.raw(Field::EndWal).unwrap_or_default().to_string();
    let version = info.version().unwrap_or(PgVersion::from_num(0));
    let target_tli = match plan.target_tli {
        Some(t) => t,
        None if version >= PgVersion::V12 => {
            let last = store::last_wal_per_timeline(dirs)?;
            last.keys()
                .filter_map(|t| TimelineId::from_hex(t).ok().map(TimelineId::get))
                .max()
                .unwrap_or(1)
        }
        None => TimelineId::of_name(&end).map_or(1, TimelineId::get),
    };
    let target_wal = plan
        .targets
        .lsn
        .as_deref()
        .and_then(|l| options::segment_of(l, target_tli, info));
    let include_partial = options.partial_wal && !plan.get_wal;
    let mut selector = WalSelector::new(WalSelection {
        begin,
        end,
        target_tli,
        target_wal: target_wal.clone(),
        immediate: plan.targets.immediate,
        include_partial,
    });
    let mut wals = Vec::new();
    store::for_each_wal(dirs, |entry| {
        if selector.wants(&entry.name) {
            if let Ok(parsed) = entry.name.parse::<WalFileName>() {
                wals.push(RequiredWal {
                    name: entry.name.trim_end_matches(".partial").to_string(),
                    source: wal_archive::archive_path(dirs, &parsed),
                    compression: entry.compression.clone(),
                    encryption: entry.encryption.clone(),
                });
            }
        }
    })?;
    // The segment pg_receivewal is still writing, when asked for and contiguous.
    if include_partial && !plan.targets.immediate {
        let size = crate::core::backup_record::segment_size(info);
        if let Ok(WalFileName::Segment(last)) = selector.last().parse::<WalFileName>() {
            let next = last.next(size);
            let next_name = next.to_string();
            let in_reach = target_wal
                .as_deref()
                .is_none_or(|w| next_name.as_str() <= w);
            if next.tli == target_tli && in_reach {
                let path = Path::new(server.streaming_dir()).join(format!("{next_name}.partial"));
                if path.exists() {
                    wals.push(RequiredWal {
                        name: next_name,
                        source: path,
                        compression: None,
                        encryption: None,
                    });
                }
            }
        }
    }
    Ok(wals)
}

fn codec_for(
    server: &ServerConfig,
    wal: &RequiredWal,
    source: &Path,
) -> std::io::Result<Option<Codec>> {
    let mut head = [0u8; 16];
    let n = std::fs::File::open(source)?.read(&mut head)?;
    if let Some(codec) = Codec::detect(&head[..n]) {
        return Ok(Some(codec));
    }
    Ok(match wal.compression.as_deref() {
        Some("custom") => Codec::from_name(
            "custom",
            server.custom_compression_filter(),
            server.custom_decompression_filter(),
        ),
        _ => None,
    })
}

/// True when `wal` is stored encrypted: xlog.db says so, or (a catalog rebuilt from
/// files that `file` did not recognise) its first bytes do.
fn is_encrypted(wal: &RequiredWal) -> bool {
    if wal.encryption.is_some() {
        return true;
    }
    let mut head = [0u8; 16];
    std::fs::File::open(&wal.source)
        .and_then(|mut f| f.read(&mut head))
        .is_ok_and(|n| crate::core::encryption::is_gpg(&head[..n]))
}

/// Why one WAL could not be written.
#[derive(Debug, thiserror::Error)]
enum WalError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("{}", .0.barman_text())]
    Decrypt(#[from] gpg::GpgError),
}

/// Write `wal` (decrypted, decompressed) as `dir/<name>`.
fn materialise(
    server: &ServerConfig,
    wal: &RequiredWal,
    dir: &Path,
    passphrase: Option<&Passphrase>,
) -> Result<(), WalError> {
    let target = dir.join(&wal.name);
    // The decrypted copy lives in a temporary folder of this host, removed on return.
    let mut decrypted = None;
    let source = match passphrase.filter(|_| is_encrypted(wal)) {
        Some(passphrase) => {
            let tmp = tempfile::Builder::new()
                .prefix("barman-decrypt-")
                .tempdir()?;
            let plain = tmp.path().join(&wal.name);
            gpg::decrypt(&wal.source, &plain, passphrase, server.path_prefix())?;
            decrypted = Some(tmp);
            plain
        }
        None => wal.source.clone(),
    };
    match codec_for(server, wal, &source)? {
        Some(codec) => {
            let mut src = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(&source)?);
            let mut dst =
                std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&target)?);
            codec.decompress(&mut src, &mut dst)?;
            std::io::Write::flush(&mut dst)?;
        }
        None => {
            std::fs::copy(&source, &target)?;
        }
    }
    drop(decrypted);
    Ok(())
}

/// A gpg failure is an exception Barman does not catch; the rest are copy failures.
fn wal_stop(e: WalError, failure: &dyn Fn(&dyn std::fmt::Display) -> Stop) -> Stop {
    match e {
        WalError::Decrypt(g) => Stop::Uncaught(g.barman_text()),
        other => failure(&other),
    }
}

/// The passphrase when any of `wals` is encrypted (Barman asks for it once, before the
/// first copy).
fn passphrase_for(server: &ServerConfig, wals: &[RequiredWal]) -> Result<Option<Passphrase>, Stop> {
    if !wals.iter().any(is_encrypted) {
        return Ok(None);
    }
    // Barman's message, its missing space included.
    let missing = format!("Encrypted WALs were found for server '{}', but 'encryption_passphrase_command' is not configured correctly.Please configure it before attempting a restore.", server.name());
    super::decrypt::passphrase(server, &missing).map(Some)
}

/// Copy the required WALs into the destination's WAL folder.
pub fn copy(
    out: &mut Output,
    server: &ServerConfig,
    _dirs: &ServerDirs,
    wals: &[RequiredWal],
    target: &Destination,
    plan: &Plan,
) -> Result<(), Stop> {
    let failure =
        |e: &dyn std::fmt::Display| Stop::Message(format!("Failure copying WAL files: {e}"));
    tracing::info!(target: "barman.recovery_executor", "Starting copy of {} WAL files", wals.len());
    let passphrase = passphrase_for(server, wals)?;
    let passphrase = passphrase.as_ref();
    match target {
        Destination::Local => {
            let dir = Path::new(&plan.wal_dest);
            for wal in wals {
                materialise(server, wal, dir, passphrase).map_err(|e| wal_stop(e, &failure))?;
            }
        }
        Destination::Remote(_) => {
            let staging = tempfile::Builder::new()
                .prefix("barman_wal-")
                .tempdir()
                .map_err(|e| failure(&e))?;
            for wal in wals {
                materialise(server, wal, staging.path(), passphrase)
                    .map_err(|e| wal_stop(e, &failure))?;
            }
            push_folder(server, target, staging.path(), &plan.wal_dest).map_err(|e| failure(&e))?;
        }
    }
    let _ = out;
    Ok(())
}

/// rsync a local folder's content into a remote folder.
fn push_folder(
    server: &ServerConfig,
    target: &Destination,
    local: &Path,
    remote_dir: &str,
) -> Result<(), rsync::RsyncError> {
    let transport = Transport {
        ssh: target.ssh(),
        compress: false,
        path: pg_tools::search_path(server.path_prefix()),
    };
    let src = format!("{}/", local.display());
    let dst = target.rsync_path(&format!("{remote_dir}/"));
    rsync::copy_plain(&transport, &src, &dst)
}

/// Empty `archive_status/<name>.done` files so the restored server does not archive the
/// restored WALs again.
pub fn archive_status(
    target: &Destination,
    wal_dest: &str,
    wals: &[RequiredWal],
) -> Result<(), Stop> {
    let status_dir = format!("{wal_dest}/archive_status");
    match target {
        Destination::Local => {
            std::fs::create_dir_all(&status_dir)?;
            for wal in wals {
                std::fs::write(
                    Path::new(&status_dir).join(format!("{}.done", wal.name)),
                    b"",
                )?;
            }
        }
        Destination::Remote(_) => {
            let staging = tempfile::Builder::new()
                .prefix("barman_recovery-")
                .tempdir()?;
            for wal in wals {
                std::fs::write(staging.path().join(format!("{}.done", wal.name)), b"")?;
            }
            let transport = Transport {
                ssh: target.ssh(),
                compress: false,
                path: std::env::var("PATH").unwrap_or_default(),
            };
            let src = format!("{}/", staging.path().display());
            let dst = target.rsync_path(&status_dir);
            rsync::copy_plain(&transport, &src, &dst).map_err(|e| {
                Stop::Message(format!("unable to populate archive_status directory: {e}"))
            })?;
        }
    }
    Ok(())
}
