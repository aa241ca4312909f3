//! `get-wal`: serve an archived WAL file to `restore_command` (directly or through
//! `barman-wal-restore`), as Barman's `Server.get_wal` does: search order, decompression or
//! re-compression, `--peek` listing, and exit code 3 for names that are not WAL files.

use super::{select, status::server_dirs, Context};
use crate::adapters::catalog::wal_archive;
use crate::adapters::codec::Codec;
use crate::core::config::ServerConfig;
use crate::core::wal_name::{WalFileName, WalSegmentName};
use crate::output::{self, Output};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
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
        out.error_with_code(
            &format!(
                "'{}' is not a valid wal file name{suffix}",
                request.wal_name
            ),
            3,
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
    let is_partial = found.to_string_lossy().ends_with(".partial");
    let result = match &request.output_directory {
        Some(dir) => {
            let target = dir.join(&request.wal_name);
            let file = match File::create(&target) {
                Ok(file) => file,
                Err(e) => {
                    out.error_with_code(
                        &format!("Unable to open '{}' file{suffix}: {e}", target.display()),
                        3,
                    );
                    return Ok(());
                }
            };
            out.info(&format!(
                "Sending WAL '{}' for server '{}' into '{}' file{suffix}",
                found
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                server.name(),
                target.display()
            ));
            let mut writer = BufWriter::new(file);
            send(found, is_partial, request, &mut writer).and_then(|_| writer.flush())
        }
        None => {
            let mut stdout = output::raw_stdout();
            send(found, is_partial, request, &mut stdout).and_then(|_| stdout.flush())
        }
    };
    if let Err(e) = result {
        out.error(&format!(
            "Failed sending WAL '{}' for server '{}': {e}",
            request.wal_name,
            server.name()
        ));
    }
    Ok(())
}

/// Barman's `get_wal_possible_paths`.
fn possible_paths(server: &ServerConfig, name: &WalFileName, partial: bool) -> Vec<PathBuf> {
    let dirs = server_dirs(server);
    let archived = wal_archive::archive_path(&dirs, name);
    let text = name.to_string();
    let incoming = Path::new(server.incoming_wals_directory());
    let streaming = Path::new(server.streaming_wals_directory());
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

fn send(
    path: &Path,
    is_partial: bool,
    request: &GetWalRequest,
    dst: &mut dyn Write,
) -> std::io::Result<()> {
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
    if is_partial || request.keep_compression {
        std::io::copy(&mut src, dst)?;
        return Ok(());
    }
    let wanted = match request.compression.as_deref() {
        Some("gzip") => Some(Codec::Gzip),
        Some("bzip2") => Some(Codec::Bzip2),
        _ => None,
    };
    match (stored, wanted) {
        (Some(s), Some(w)) if s == w => {
            std::io::copy(&mut src, dst)?;
        }
        (None, None) => {
            std::io::copy(&mut src, dst)?;
        }
        (Some(s), None) => {
            s.decompress(&mut src, dst)?;
        }
        (None, Some(w)) => {
            w.compress(w.level("medium"), &mut src, dst)?;
        }
        (Some(s), Some(w)) => {
            let mut plain = Vec::new();
            s.decompress(&mut src, &mut plain)?;
            w.compress(w.level("medium"), &mut plain.as_slice(), dst)?;
        }
    }
    Ok(())
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
