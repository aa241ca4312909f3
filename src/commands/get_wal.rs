//! `get-wal`: serve an archived WAL file to `restore_command` (directly or through
//! `barman-wal-restore`), as Barman's `Server.get_wal` does: search order, decompression or
//! re-compression, `--peek` listing, and exit code 3 for names that are not WAL files.
//! A gpg-encrypted WAL is decrypted first (passphrase from `encryption_passphrase_command`)
//! into a temporary folder under `wals_directory`, as Barman does.

use super::{select, status::server_dirs, Context};
use crate::adapters::catalog::wal_archive;
use crate::adapters::codec::Codec;
use crate::adapters::durable::{self, ReplaceError};
use crate::adapters::gpg::{self, GpgError, PassphraseError};
use crate::core::config::ServerConfig;
use crate::core::encryption;
use crate::core::py_literal;
use crate::core::wal_name::{WalFileName, WalSegmentName};
use crate::output::{self, Output};
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

/// What the caller asked for.
#[derive(Debug, Clone, Default)]
pub struct GetWalRequest {
    /// The WAL file name.
    pub wal_name: String,
    /// `-o/--output-directory`.
    pub output_directory: Option<PathBuf>,
    /// `-z/--gzip` (`gzip`) or `-j/--bzip2` (`bzip2`).
    pub compression: Option<String>,
    /// `--keep-compression`.
    pub keep_compression: bool,
    /// `-p/--peek N`.
    pub peek: Option<u32>,
    /// `-P/--partial`.
    pub partial: bool,
    /// `-t/--test`.
    pub test: bool,
}

/// Run `get-wal`.
pub fn run(
    ctx: &Context,
    out: &mut Output,
    server_name: &str,
    request: &GetWalRequest,
) -> crate::Result<()> {
    let policy = select::Policy {
        inactive_is_error: false,
        skip_inactive: false,
        disabled_is_error: true,
    };
    let Some(server) = select::single(&ctx.config, server_name, out, policy) else {
        return Ok(());
    };
    if server.uses_wal_cloud_storage() {
        // Barman's `get_server` has turned `args.server_name` into a list by then.
        out.error(&format!(
            "Cannot retrieve WAL file for server '['{server_name}']' because it is configured \
             with a cloud object storage. WAL retrieval is only supported for local storages."
        ));
        return Ok(());
    }
    if request.test {
        out.info(&format!(
            "Ready to retrieve WAL files from the server {}",
            server.name()
        ));
        return Ok(());
    }
    if let Some(compression) = &request.compression {
        if request.keep_compression {
            out.error(&format!(
                "argument `{compression}` not allowed with argument `keep-compression`"
            ));
            return Ok(());
        }
    }
    let suffix = super::ssh_suffix();
    let Ok(name) = request.wal_name.parse::<WalFileName>() else {
        out.error_with_kind(
            &format!(
                "'{}' is not a valid wal file name{suffix}",
                request.wal_name
            ),
            crate::error::ExitKind::GetWalRequest,
        );
        return Ok(());
    };
    if let Some(count) = request.peek {
        peek(server, out, &name, count);
        return Ok(());
    }
    let candidates = possible_paths(server, &name, request.partial);
    let Some(found) = candidates.iter().find(|p| p.exists()) else {
        out.error(&format!(
            "WAL file '{}' not found in server '{}'{suffix}",
            request.wal_name,
            server.name()
        ));
        return Ok(());
    };
    send(out, server, found, request, &suffix);
    Ok(())
}

/// Send `found` to `-o DIR` or stdout, reporting failures as Barman does.
fn send(
    out: &mut Output,
    server: &ServerConfig,
    found: &Path,
    request: &GetWalRequest,
    suffix: &str,
) {
    let is_partial = found.to_string_lossy().ends_with(".partial");
    let sending = |destination: &str| {
        format!(
            "Sending WAL '{}' for server '{}' {destination}{suffix}",
            found
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            server.name(),
        )
    };
    let result = match &request.output_directory {
        Some(dir) => {
            let target = dir.join(&request.wal_name);
            let sending = sending(&format!("into '{}' file", target.display()));
            let payload = || prepare(server, found, is_partial, request);
            match to_file(out, &target, &sending, suffix, payload) {
                Some(result) => result,
                None => return,
            }
        }
        None => {
            tracing::info!(target: "barman.server", "{}", sending("to standard output"));
            prepare(server, found, is_partial, request).and_then(|payload| {
                let mut stdout = output::raw_stdout();
                stdout.write_all(&payload)?;
                stdout.flush().map_err(SendError::Io)
            })
        }
    };
    match result {
        Ok(()) => {}
        Err(SendError::Decompress(e)) => out.error(&format!(
            "Error decompressing WAL: {{'ret': None, 'err': {}, 'out': None}}",
            py_literal::str_repr(&decompress_error_text(&e))
        )),
        Err(SendError::NoPassphraseCommand(name)) => out.error(&format!(
            "Encrypted WAL file '{name}' detected, but no 'encryption_passphrase_command' is configured. Please set 'encryption_passphrase_command' in the configuration so the correct private key can be identified for decryption."
        )),
        // Exceptions Barman lets reach `cli.main`.
        Err(SendError::Passphrase(e)) => {
            out.exception(&format!("{e}\nSee log file for more details."));
        }
        Err(SendError::Decrypt(e)) => out.exception(&format!(
            "{}\nSee log file for more details.",
            e.barman_text()
        )),
        Err(SendError::Io(e)) => out.error(&format!(
            "Failed sending WAL '{}' for server '{}': {e}",
            request.wal_name,
            server.name()
        )),
    }
}

/// `-o DIR`: the prepared file goes into a temporary file next to `target`, renamed over
/// it (both fsynced, `adapters::durable`) once complete, so a corrupt source leaves nothing
/// in the folder (Python Barman leaves an empty file). None when the folder cannot be
/// written: reported with exit code 3, as Barman's failed `open`.
fn to_file(
    out: &mut Output,
    target: &Path,
    sending: &str,
    suffix: &str,
    payload: impl FnOnce() -> Result<Vec<u8>, SendError>,
) -> Option<Result<(), SendError>> {
    let mut opened = false;
    let written = durable::replace_with(target, |file| {
        opened = true;
        out.info(sending);
        let bytes = payload().map_err(ReplaceError::Fill)?;
        Ok(file.write_all(&bytes)?)
    });
    match written {
        Ok(()) => Some(Ok(())),
        Err(ReplaceError::Fill(failure)) => Some(Err(failure)),
        Err(ReplaceError::Io(e)) if opened => Some(Err(SendError::Io(e))),
        Err(ReplaceError::Io(e)) => {
            out.error_with_kind(
                &format!("Unable to open '{}' file{suffix}: {e}", target.display()),
                crate::error::ExitKind::GetWalRequest,
            );
            None
        }
    }
}

/// Why a WAL file could not be sent.
#[derive(Debug, thiserror::Error)]
enum SendError {
    /// The stored file does not decompress (Barman's `Error decompressing WAL`).
    #[error("cannot decompress: {0}")]
    Decompress(std::io::Error),
    /// The file is encrypted and `encryption_passphrase_command` is unset.
    #[error("encrypted WAL file '{0}' and no encryption_passphrase_command")]
    NoPassphraseCommand(String),
    /// `encryption_passphrase_command` failed.
    #[error(transparent)]
    Passphrase(#[from] PassphraseError),
    /// gpg could not decrypt the file.
    #[error(transparent)]
    Decrypt(#[from] GpgError),
    /// Reading, compressing or writing failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The `err` Barman shows for a file its Python codec rejects: a truncated gzip, bzip2,
/// xz or lz4 stream ends "before the end-of-stream marker" (Python's `EOFError`); other
/// damage is named by our codec.
fn decompress_error_text(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        "Compressed file ended before the end-of-stream marker was reached".into()
    } else {
        e.to_string()
    }
}

/// Barman's `get_wal_possible_paths`.
fn possible_paths(server: &ServerConfig, name: &WalFileName, partial: bool) -> Vec<PathBuf> {
    let dirs = server_dirs(server);
    let archived = wal_archive::archive_path(&dirs, name);
    let text = name.to_string();
    let incoming = Path::new(server.incoming_dir());
    let streaming = Path::new(server.streaming_dir());
    let mut paths = vec![
        archived.clone(),
        incoming.join(&text),
        streaming.join(&text),
    ];
    if partial {
        let partial_name = format!("{text}.partial");
        paths.push(streaming.join(&partial_name));
        paths.push(streaming.join(&text));
        paths.push(archived.with_file_name(&partial_name));
        paths.push(incoming.join(&partial_name));
    }
    // The archiver may have moved the file while we looked elsewhere.
    paths.push(archived);
    paths
}

/// The bytes to send for `path`: the file as stored, decompressed, or recompressed as
/// requested. Prepared whole before anything is written, so a corrupt file fails before the
/// first byte reaches stdout or the target folder. The cost is memory: one WAL segment
/// (16 MiB by default, at most 1 GiB) plus its compressed form when recompressing; Python
/// Barman spends the same on disk, in temporary files under `wals_directory`.
fn prepare(
    server: &ServerConfig,
    path: &Path,
    is_partial: bool,
    request: &GetWalRequest,
) -> Result<Vec<u8>, SendError> {
    let mut head = [0u8; 16];
    let n = File::open(path)?.read(&mut head)?;
    // A .partial file is still being written by pg_receivewal: never encrypted.
    if is_partial || !encryption::is_gpg(&head[..n]) {
        return transform(path, is_partial, request);
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let Some(command) = server.encryption_passphrase_command() else {
        return Err(SendError::NoPassphraseCommand(name));
    };
    let passphrase = gpg::passphrase_from_command(command)?;
    // Barman's `tempfile.mkdtemp(dir=wals_directory, prefix=".<name>.")`; removed on drop,
    // whatever happens (Barman leaves it behind when gpg fails).
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .tempdir_in(server.wals_dir())?;
    let decrypted = tmp.path().join(encryption::decrypted_name(&name));
    gpg::decrypt(path, &decrypted, &passphrase, server.path_prefix())?;
    transform(&decrypted, is_partial, request)
}

/// [`prepare`] for a file that is not encrypted (or no longer).
fn transform(path: &Path, is_partial: bool, request: &GetWalRequest) -> Result<Vec<u8>, SendError> {
    let mut head = [0u8; 16];
    let n = File::open(path)?.read(&mut head)?;
    let stored = Codec::detect(&head[..n]);
    tracing::debug!(
        target: "barman.server",
        "Reading WAL file {} (compression: {stored:?}, requested: {:?}, keep compression: {})",
        path.display(),
        request.compression,
        request.keep_compression || is_partial
    );
    let mut src = BufReader::with_capacity(1 << 20, File::open(path)?);
    let mut stored_bytes = || -> Result<Vec<u8>, SendError> {
        let mut bytes = Vec::new();
        src.read_to_end(&mut bytes)?;
        Ok(bytes)
    };
    if is_partial || request.keep_compression {
        return stored_bytes();
    }
    let wanted = match request.compression.as_deref() {
        Some("gzip") => Some(Codec::Gzip),
        Some("bzip2") => Some(Codec::Bzip2),
        _ => None,
    };
    let plain = match &stored {
        Some(s) if Some(s) != wanted.as_ref() => {
            let mut plain = Vec::new();
            s.decompress(&mut src, &mut plain)
                .map_err(SendError::Decompress)?;
            plain
        }
        _ => stored_bytes()?,
    };
    match wanted {
        Some(w) if stored.as_ref() != Some(&w) => {
            let mut packed = Vec::new();
            w.compress(w.level("medium"), &mut plain.as_slice(), &mut packed)?;
            Ok(packed)
        }
        _ => Ok(plain),
    }
}

/// `--peek N`: up to N names from the requested one that exist in the archive, incoming or
/// streaming, jumping to the next log when a power-of-two segment is missing.
fn peek(server: &ServerConfig, out: &mut Output, name: &WalFileName, count: u32) {
    let WalFileName::Segment(first) = name else {
        if possible_paths(server, name, false)
            .iter()
            .any(|p| p.exists())
        {
            out.info_unlogged(&name.to_string());
        }
        return;
    };
    let mut current = *first;
    let mut printed = 0;
    while printed < count {
        let candidate = WalFileName::Segment(current);
        if possible_paths(server, &candidate, false)
            .iter()
            .any(|p| p.exists())
        {
            out.info_unlogged(&candidate.to_string());
            printed += 1;
            current = next_without_size(current);
            continue;
        }
        if current.seg == 0 || !current.seg.is_power_of_two() {
            break;
        }
        current = WalSegmentName {
            log: current.log + 1,
            seg: 0,
            ..current
        };
    }
}

/// Barman's peek generates names without knowing the segment size (up to 0x7FFFF per log).
fn next_without_size(name: WalSegmentName) -> WalSegmentName {
    if name.seg >= 0x7FFFF {
        WalSegmentName {
            log: name.log + 1,
            seg: 0,
            ..name
        }
    } else {
        WalSegmentName {
            seg: name.seg + 1,
            ..name
        }
    }
}
