//! The tar archives of a cloud backup, as Python's `CloudUploadController` and
//! `CloudTarUploader` write them: one stream per tablespace (`<oid>.tar`) and one for PGDATA
//! (`data.tar`), compressed on the way (`.gz`, `.bz2`, `.snappy`, `.lz4`, `.zst`), each
//! uploaded in parts while it is written; when an archive grows past `--max-archive-size`
//! (checked before each entry, on the compressed bytes) it is completed and the next one
//! is `<name>_0001.tar`, `<name>_0002.tar`... Directories are walked as `os.walk` does
//! (files first, then subfolders; symbolic links to folders are left out, other links kept
//! as links; a file or folder vanished meanwhile is skipped; a file that shrank is padded
//! with zeros).

use super::Log;
use crate::adapters::cloud::{CloudError, CloudStore, MultipartWriter, UploadOptions, UploadStats};
use crate::core::path_rules::path_allowed;
use std::collections::HashMap;
use std::fs::{self, Metadata};
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;
use std::time::Instant;

/// `-z/-j/--snappy/--lz4/--zstd`, with the suffix Python gives the archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TarCompression {
    /// `.gz` (tarfile's `w|gz`: level 9).
    Gzip,
    /// `.bz2` (tarfile's `w|bz2`: level 9).
    Bzip2,
    /// `.snappy` (framed format).
    Snappy,
    /// `.lz4` (frame format).
    Lz4,
    /// `.zst` (zstandard's default level 3).
    Zstd,
}

impl TarCompression {
    /// The suffix after `.tar` (and `compression` in backup.info).
    pub fn suffix(self) -> &'static str {
        match self {
            TarCompression::Gzip => "gz",
            TarCompression::Bzip2 => "bz2",
            TarCompression::Snappy => "snappy",
            TarCompression::Lz4 => "lz4",
            TarCompression::Zstd => "zst",
        }
    }
}

/// The compressor between the tar stream and the upload.
enum Encoder {
    Plain(MultipartWriter),
    Gzip(flate2::write::GzEncoder<MultipartWriter>),
    Bzip2(bzip2::write::BzEncoder<MultipartWriter>),
    Snappy(Box<snap::write::FrameEncoder<MultipartWriter>>),
    Lz4(lz4_flex::frame::FrameEncoder<MultipartWriter>),
    Zstd(zstd::stream::write::Encoder<'static, MultipartWriter>),
}

impl Encoder {
    fn new(
        compression: Option<TarCompression>,
        out: MultipartWriter,
        max_archive_size: u64,
    ) -> io::Result<Encoder> {
        Ok(match compression {
            None => Encoder::Plain(out),
            Some(TarCompression::Gzip) => Encoder::Gzip(flate2::write::GzEncoder::new(
                out,
                flate2::Compression::new(9),
            )),
            Some(TarCompression::Bzip2) => Encoder::Bzip2(bzip2::write::BzEncoder::new(
                out,
                bzip2::Compression::new(9),
            )),
            Some(TarCompression::Snappy) => {
                Encoder::Snappy(Box::new(snap::write::FrameEncoder::new(out)))
            }
            Some(TarCompression::Lz4) => Encoder::Lz4(lz4_flex::frame::FrameEncoder::new(out)),
            Some(TarCompression::Zstd) => Encoder::Zstd(zstd_encoder(out, max_archive_size)?),
        })
    }

    fn sink(&self) -> &MultipartWriter {
        match self {
            Encoder::Plain(w) => w,
            Encoder::Gzip(e) => e.get_ref(),
            Encoder::Bzip2(e) => e.get_ref(),
            Encoder::Snappy(e) => e.get_ref(),
            Encoder::Lz4(e) => e.get_ref(),
            Encoder::Zstd(e) => e.get_ref(),
        }
    }

    fn finish(self) -> io::Result<MultipartWriter> {
        match self {
            Encoder::Plain(w) => Ok(w),
            Encoder::Gzip(e) => e.finish(),
            Encoder::Bzip2(e) => e.finish(),
            Encoder::Snappy(e) => e.into_inner().map_err(|e| io::Error::other(e.to_string())),
            Encoder::Lz4(e) => e.finish().map_err(io::Error::other),
            Encoder::Zstd(e) => e.finish(),
        }
    }
}

impl Write for Encoder {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::Plain(w) => w.write(buf),
            Encoder::Gzip(e) => e.write(buf),
            Encoder::Bzip2(e) => e.write(buf),
            Encoder::Snappy(e) => e.write(buf),
            Encoder::Lz4(e) => e.write(buf),
            Encoder::Zstd(e) => e.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Size of the reads of a file's data.
const READ_BUFFER: usize = 1 << 20;

/// Below this `--max-archive-size`, zstd compresses on the reading thread.
const ZSTD_WORKERS_MIN_ARCHIVE: u64 = 1 << 30;

/// A zstd encoder at level 3 compressing on one worker thread per core: Python compresses on
/// the thread that reads the files; here reading, compressing and uploading overlap and both
/// cores compress (the frame is an ordinary one: any zstd reader decodes it). The workers
/// hold up to a few jobs of input (8 MiB each at level 3) before any compressed byte comes
/// out, so the archive-size check, which sees only compressed bytes, lags by that much:
/// nothing beside Python's own slack of one whole entry (up to a 1 GiB segment) once the cap
/// is ≥ 1 GiB (the default is 100 GiB), but it would ignore a small cap, where the reading
/// thread compresses instead.
fn zstd_encoder(
    out: MultipartWriter,
    max_archive_size: u64,
) -> io::Result<zstd::stream::write::Encoder<'static, MultipartWriter>> {
    let mut encoder = zstd::stream::write::Encoder::new(out, 3)?;
    if max_archive_size >= ZSTD_WORKERS_MIN_ARCHIVE {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        encoder.multithread(u32::try_from(cores).unwrap_or(1))?;
    }
    Ok(encoder)
}

/// Why writing the archives failed.
#[derive(Debug, thiserror::Error)]
pub enum TarError {
    /// Reading the source or writing the stream.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The store refused or could not be reached.
    #[error("{0}")]
    Cloud(#[from] CloudError),
}

/// A name's archives once completed: its name and, per archive, the compressed size and
/// the upload statistics.
pub type Uploaded = (String, Vec<(u64, UploadStats)>);

/// One archive object being written.
struct Archive {
    builder: tar::Builder<Encoder>,
}

/// The uploaded archives of one name (`data`, or a tablespace oid).
struct Stream {
    name: String,
    done: Vec<(u64, UploadStats)>,
    open: Option<Archive>,
}

/// How the archives are cut and sent.
#[derive(Debug, Clone)]
pub struct ControllerOptions {
    /// `<path>/<server>/base/<backup id>`.
    pub prefix: String,
    /// The compression, if any.
    pub compression: Option<TarCompression>,
    /// `-S/--max-archive-size` (capped at S3's 1 TiB).
    pub max_archive_size: u64,
    /// Part size, jobs, bandwidth, tags.
    pub upload: UploadOptions,
}

/// Python's `CloudUploadController`.
pub struct Controller<'a> {
    store: &'a CloudStore,
    options: ControllerOptions,
    log: Log,
    streams: Vec<Stream>,
    owners: HashMap<u32, String>,
    /// When the controller was made (`copy_start_time`).
    pub started: Instant,
}

impl<'a> Controller<'a> {
    /// A controller writing under `options.prefix`.
    pub fn new(store: &'a CloudStore, options: ControllerOptions, log: Log) -> Self {
        Controller {
            store,
            options,
            log,
            streams: Vec::new(),
            owners: HashMap::new(),
            started: Instant::now(),
        }
    }

    /// Python's `_build_dest_name`.
    pub fn dest_name(&self, name: &str, count: usize) -> String {
        let mut out = name.to_string();
        if count > 0 {
            out.push_str(&format!("_{count:04}"));
        }
        out.push_str(".tar");
        if let Some(c) = self.options.compression {
            out.push('.');
            out.push_str(c.suffix());
        }
        out
    }

    /// Python's `_get_tar`: the archive of `name`, opening the next one when the current
    /// one is over the size limit.
    fn archive(&mut self, name: &str) -> Result<&mut tar::Builder<Encoder>, TarError> {
        let index = match self.streams.iter().position(|s| s.name == name) {
            Some(i) => i,
            None => {
                self.streams.push(Stream {
                    name: name.to_string(),
                    done: Vec::new(),
                    open: None,
                });
                self.streams.len() - 1
            }
        };
        let full = self.streams[index]
            .open
            .as_ref()
            .is_some_and(|a| a.builder.get_ref().sink().written > self.options.max_archive_size);
        if full {
            let archive = self.streams[index].open.take().expect("open archive");
            let finished = close_archive(archive)?;
            self.streams[index].done.push(finished);
        }
        if self.streams[index].open.is_none() {
            let count = self.streams[index].done.len();
            let key = join_key(&self.options.prefix, &self.dest_name(name, count));
            let writer = self.store.upload(&key, self.options.upload.clone());
            let encoder = Encoder::new(
                self.options.compression,
                writer,
                self.options.max_archive_size,
            )?;
            let mut builder = tar::Builder::new(encoder);
            builder.mode(tar::HeaderMode::Complete);
            builder.follow_symlinks(false);
            self.streams[index].open = Some(Archive { builder });
        }
        Ok(&mut self.streams[index]
            .open
            .as_mut()
            .expect("open archive")
            .builder)
    }

    /// Python's `upload_directory`: walk `src` into the archives of `dst`.
    pub fn upload_directory(
        &mut self,
        label: &str,
        src: &Path,
        dst: &str,
        rules: (&[String], &[String]),
        tick: &mut dyn FnMut(),
    ) -> Result<(), TarError> {
        self.log.info(&format!(
            "Uploading '{label}' directory '{}' as '{}'",
            src.display(),
            self.dest_name(dst, 0)
        ));
        self.walk(src, ".", dst, rules, tick)
    }

    fn walk(
        &mut self,
        dir: &Path,
        rel: &str,
        dst: &str,
        (exclude, include): (&[String], &[String]),
        tick: &mut dyn FnMut(),
    ) -> Result<(), TarError> {
        // os.walk ignores folders it cannot list.
        let Ok(entries) = fs::read_dir(dir) else {
            return Ok(());
        };
        let mut files = Vec::new();
        let mut dirs = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                dirs.push(name);
            } else if kind.is_symlink() && entry.path().is_dir() {
                // os.walk lists it with the folders but does not follow it.
            } else {
                files.push(name);
            }
        }
        if path_allowed(exclude, include, rel, true) {
            tick();
            if self.add_path(dir, rel, dst)? {
                for name in &files {
                    let item = join_rel(rel, name, true);
                    if !path_allowed(exclude, include, &item, false) {
                        continue;
                    }
                    self.log.debug(&format!("Uploading {item}"));
                    tick();
                    self.add_path(&dir.join(name), &item, dst)?;
                }
            }
        }
        for name in dirs {
            let child = join_rel(rel, &name, false);
            self.walk(&dir.join(&name), &child, dst, (exclude, include), tick)?;
        }
        Ok(())
    }

    /// Python's `add_file`.
    pub fn add_file(
        &mut self,
        label: &str,
        src: &Path,
        dst: &str,
        path: &str,
        optional: bool,
    ) -> Result<(), TarError> {
        if optional && fs::symlink_metadata(src).is_err() {
            return Ok(());
        }
        self.log.info(&format!(
            "Uploading '{label}' file from '{}' to '{}' with path '{path}'",
            src.display(),
            self.dest_name(dst, 0)
        ));
        if !self.add_path(src, path, dst)? {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("[Errno 2] No such file or directory: '{}'", src.display()),
            )
            .into());
        }
        Ok(())
    }

    /// Python's `add_fileobj` for the backup label: mode 0644, mtime 0, uid 0 and the
    /// given gid (Python sets the gid twice, so the uid stays 0).
    pub fn add_bytes(
        &mut self,
        label: &str,
        data: &[u8],
        dst: &str,
        path: &str,
        gid: u32,
    ) -> Result<(), TarError> {
        self.log.info(&format!(
            "Uploading '{label}' file to '{}' with path '{path}'",
            self.dest_name(dst, 0)
        ));
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(0o644);
        header.set_size(data.len() as u64);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(u64::from(gid));
        self.archive(dst)?.append_data(&mut header, path, data)?;
        Ok(())
    }

    /// Add one file system entry (lstat: links stay links). `false` when it vanished.
    fn add_path(&mut self, src: &Path, arcname: &str, dst: &str) -> Result<bool, TarError> {
        let meta = match fs::symlink_metadata(src) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        let kind = meta.file_type();
        if kind.is_socket() {
            // tarfile skips what it cannot represent.
            return Ok(true);
        }
        let mut header = self.header(&meta);
        if kind.is_symlink() {
            let target = match fs::read_link(src) {
                Ok(t) => t,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
                Err(e) => return Err(e.into()),
            };
            self.archive(dst)?
                .append_link(&mut header, arcname, target)?;
        } else if kind.is_file() {
            let file = match fs::File::open(src) {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
                Err(e) => return Err(e.into()),
            };
            // tar copies through an 8 KiB buffer: read the file in 1 MiB reads under it
            // (an 8 KiB read costs this machine about what a 1 MiB one does).
            let exact = Exactly {
                inner: io::BufReader::with_capacity(READ_BUFFER, file),
                left: meta.len(),
            };
            self.archive(dst)?
                .append_data(&mut header, arcname, exact)?;
        } else {
            self.archive(dst)?
                .append_data(&mut header, arcname, io::empty())?;
        }
        Ok(true)
    }

    fn header(&mut self, meta: &Metadata) -> tar::Header {
        let mut header = tar::Header::new_gnu();
        header.set_metadata_in_mode(meta, tar::HeaderMode::Complete);
        if !meta.is_file() {
            header.set_size(0);
        }
        let owner = self.owners.entry(meta.uid()).or_insert_with(|| {
            nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(meta.uid()))
                .ok()
                .flatten()
                .map(|u| u.name)
                .unwrap_or_default()
        });
        let _ = header.set_username(owner);
        if let Some(group) = nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(meta.gid()))
            .ok()
            .flatten()
        {
            let _ = header.set_groupname(&group.name);
        }
        header
    }

    /// Python's `close`: complete every archive still open. Returns, per name in the order
    /// first written, the compressed size and upload statistics of each of its archives.
    pub fn close(mut self) -> Result<Vec<Uploaded>, TarError> {
        self.log
            .info("Marking all the uploaded archives as 'completed'");
        let mut out = Vec::new();
        for mut stream in std::mem::take(&mut self.streams) {
            if let Some(archive) = stream.open.take() {
                stream.done.push(close_archive(archive)?);
            }
            out.push((stream.name, stream.done));
        }
        Ok(out)
    }
}

/// End the tar stream, the compression and the upload.
fn close_archive(archive: Archive) -> Result<(u64, UploadStats), TarError> {
    let encoder = archive.builder.into_inner()?;
    let writer = encoder.finish()?;
    let size = writer.written;
    Ok((size, writer.finish()?))
}

/// `os.path.join(tar_root, item)`, where the root is `.`: files keep `./`, folders are
/// `os.path.relpath` (no `./`).
fn join_rel(rel: &str, name: &str, is_file: bool) -> String {
    match (rel, is_file) {
        (".", true) => format!("./{name}"),
        (".", false) => name.to_string(),
        _ => format!("{rel}/{name}"),
    }
}

/// `os.path.join(prefix, name)`.
fn join_key(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{}/{name}", prefix.trim_end_matches('/'))
    }
}

/// Exactly `left` bytes of `inner`: a file that grew is cut, one that shrank is padded
/// with zeros (Python's `copyfileobj_pad_truncate`).
struct Exactly<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Exactly<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = (buf.len() as u64).min(self.left) as usize;
        if want == 0 {
            return Ok(0);
        }
        let n = match self.inner.read(&mut buf[..want])? {
            0 => {
                buf[..want].fill(0);
                want
            }
            n => n,
        };
        self.left -= n as u64;
        Ok(n)
    }
}
