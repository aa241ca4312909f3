//! `barman-wal-archive`: PostgreSQL's `archive_command` side of `put-wal`. Streams the WAL
//! file (optionally compressed) and its `SHA256SUMS` as a PAX tar over
//! `ssh USER@HOST barman put-wal SERVER`, with Barman's command line, ssh argv and exit codes
//! (ssh failure 3, remote failure its code, bad WAL path 2).

use super::fail;
use crate::adapters::codec::Codec;
use crate::core::wal_name::{WalFileName, WalSegmentName};
use crate::core::wal_segment_size::WalSegmentSize;
use crate::error::ExitKind;
use clap::Parser;
use md5::Md5;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

/// Command line of `barman-wal-archive`.
#[derive(Debug, Parser)]
#[command(
    name = "barman-wal-archive",
    version = crate::BARMAN_VERSION,
    about = "This script will be used as an 'archive_command' based on the put-wal feature of Barman. A ssh connection will be opened to the Barman host."
)]
pub struct Args {
    /// ssh user and port.
    #[command(flatten)]
    pub ssh: super::SshTarget,
    /// configuration file on the Barman server
    #[arg(short = 'c', long)]
    pub config: Option<String>,
    /// test both the connection and the configuration of the requested PostgreSQL server in
    /// Barman for WAL retrieval.
    #[arg(short = 't', long)]
    pub test: bool,
    /// Use MD5 as the hash algorithm to maintain compatibility between mismatched client
    /// and server versions.
    #[arg(long)]
    pub md5: bool,
    /// gzip-compress the WAL file before sending it (of several compressions, the last
    /// one given is used)
    // Barman's are `store_const` options into one `dest`: no conflict, the last one wins.
    #[arg(short = 'z', long = "gzip", overrides_with_all = ["bzip2", "xz", "snappy", "zstd", "lz4"])]
    pub gzip: bool,
    /// bzip2-compress the WAL file before sending it
    #[arg(short = 'j', long = "bzip2", overrides_with_all = ["gzip", "xz", "snappy", "zstd", "lz4"])]
    pub bzip2: bool,
    /// xz-compress the WAL file before sending it
    #[arg(long, overrides_with_all = ["gzip", "bzip2", "snappy", "zstd", "lz4"])]
    pub xz: bool,
    /// snappy-compress the WAL file before sending it
    #[arg(long, overrides_with_all = ["gzip", "bzip2", "xz", "zstd", "lz4"])]
    pub snappy: bool,
    /// zstd-compress the WAL file before sending it
    #[arg(long, overrides_with_all = ["gzip", "bzip2", "xz", "snappy", "lz4"])]
    pub zstd: bool,
    /// lz4-compress the WAL file before sending it
    #[arg(long, overrides_with_all = ["gzip", "bzip2", "xz", "snappy", "zstd"])]
    pub lz4: bool,
    /// A compression level for the specified compression algorithm
    #[arg(long = "compression-level", value_parser = crate::core::config::value::compression_level_text)]
    pub compression_level: Option<String>,
    /// Specifies the maximum number of WALs to archive in parallel
    #[arg(short = 'p', long = "parallel", default_value_t = 0)]
    pub parallel: u32,
    /// Directory where to store cache metadata when using --parallel. Defaults to
    /// '/tmp/barman-SERVER_NAME-COMPUTED_HASH'.
    #[arg(long = "prefetch-cache-dir")]
    pub prefetch_cache_dir: Option<PathBuf>,
    /// The host of the Barman server.
    #[arg(value_name = "BARMAN_HOST")]
    pub barman_host: String,
    /// The server name configured in Barman from which WALs are taken.
    #[arg(value_name = "SERVER_NAME")]
    pub server_name: String,
    /// The value of the '%p' keyword (according to 'archive_command').
    #[arg(value_name = "WAL_PATH")]
    pub wal_path: PathBuf,
}

impl Args {
    fn codec(&self) -> Option<Codec> {
        [
            (self.gzip, Codec::Gzip),
            (self.bzip2, Codec::Bzip2),
            (self.xz, Codec::Xz),
            (self.snappy, Codec::Snappy),
            (self.zstd, Codec::Zstd),
            (self.lz4, Codec::Lz4),
        ]
        .into_iter()
        .find_map(|(on, codec)| on.then_some(codec))
    }
}

/// The ssh argv Barman's client builds.
pub fn ssh_argv(args: &Args) -> Vec<String> {
    let mut argv = args.ssh.argv(&args.barman_host);
    if let Some(config) = &args.config {
        argv.push(format!("--config='{config}'"));
    }
    argv.extend(["put-wal".into(), args.server_name.clone()]);
    if args.test {
        argv.push("--test".into());
    }
    argv
}

/// Run the client.
pub fn run(args: Args) -> ExitCode {
    let argv = ssh_argv(&args);
    if args.test {
        let out = match Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .output()
        {
            Ok(out) => out,
            Err(e) => {
                return fail(
                    &format!("Impossible to invoke remote put-wal: {e}"),
                    ExitKind::ArchiveClientUsage,
                )
            }
        };
        return super::connectivity_test_result(&out);
    }
    // Barman's one check of the path (`os.path.isdir`, so a link to a folder too).
    if args.wal_path.is_dir() {
        return fail(
            &format!(
                "WAL_PATH cannot be a directory: {}",
                args.wal_path.display()
            ),
            ExitKind::ArchiveClientUsage,
        );
    }
    let cache = (args.parallel > 1).then(|| prefetch_cache(&args)).flatten();
    let name = args
        .wal_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Some(cache) = &cache {
        // Already sent by an earlier call's prefetching: PostgreSQL may move on.
        if is_segment(&name) && read_cache(cache).is_some_and(|last| name <= last) {
            return ExitCode::SUCCESS;
        }
    }
    let code = send(&args, &args.wal_path);
    if code != Some(0) {
        return exit_of(code);
    }
    if let Some(cache) = cache {
        prefetch(&args, &cache, &name);
    }
    ExitCode::SUCCESS
}

/// Send one WAL file through `ssh … barman put-wal`; ssh's exit code.
///
/// ssh starts as soon as the path is known good, and the file streams into it while it is
/// hashed, so the remote start-up, the read, the hash and ssh's encryption overlap instead
/// of running one after the other (the whole file is never held in memory unless it is
/// compressed first, which needs its final size for the tar header).
fn send(args: &Args, path: &Path) -> Option<i32> {
    let payload = match Payload::open(args, path) {
        Ok(payload) => payload,
        Err(message) => {
            crate::output::eprint_raw(&format!("ERROR: {message}\n"));
            return Some(2);
        }
    };
    let argv = ssh_argv(args);
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::piped())
        .spawn()
        .ok()?;
    if let Some(stdin) = child.stdin.take() {
        widen_pipe(&stdin);
        let mut out = std::io::BufWriter::with_capacity(STREAM_BUFFER, stdin);
        let sent = payload
            .write_to(args, &mut out)
            .and_then(|()| out.flush().map_err(|_| SendError::Pipe));
        if let Err(SendError::Local(message)) = sent {
            // Stop ssh before the stream is closed: put-wal must see it cut short, never
            // a well-formed archive of a file that changed under us.
            let _ = child.kill();
            let _ = child.wait();
            // Closed without flushing what is still buffered.
            drop(out.into_parts());
            crate::output::eprint_raw(&format!("ERROR: {message}\n"));
            return Some(2);
        }
        // A broken pipe (Err(Pipe)) shows up in ssh's exit status below.
    }
    child.wait().ok().and_then(|s| s.code())
}

/// Chunk size of the stream and of the buffer in front of ssh's stdin.
const STREAM_BUFFER: usize = 1 << 18;

/// A 1 MiB pipe to ssh (Linux' default is 64 KiB) lets the hashing side run ahead of ssh's
/// encryption instead of waking it for every 64 KiB. Best effort: the default pipe works.
fn widen_pipe(stdin: &std::process::ChildStdin) {
    use std::os::fd::AsRawFd;
    let _ = nix::fcntl::fcntl(
        stdin.as_raw_fd(),
        nix::fcntl::FcntlArg::F_SETPIPE_SZ(1 << 20),
    );
}

fn is_segment(name: &str) -> bool {
    matches!(name.parse(), Ok(WalFileName::Segment(_)))
}

/// Barman's default cache folder: `/tmp/barman-<server>-<sha256("host:port:config")[:16]>`
/// (unset values hashed as `None`). It must be ours and not writable by others, or
/// prefetching is off, as in Barman.
fn prefetch_cache(args: &Args) -> Option<PathBuf> {
    let dir = args.prefetch_cache_dir.clone().unwrap_or_else(|| {
        let destination = format!(
            "{}:{}:{}",
            args.barman_host,
            args.ssh.port.as_deref().unwrap_or("None"),
            args.config.as_deref().unwrap_or("None")
        );
        let hash = crate::core::checksums::hex(&Sha256::digest(destination.as_bytes()));
        PathBuf::from(format!("/tmp/barman-{}-{}", args.server_name, &hash[..16]))
    });
    if !dir.exists() {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new().mode(0o700).create(&dir).ok()?;
    }
    let meta = std::fs::symlink_metadata(&dir).ok()?;
    let secure =
        meta.is_dir() && meta.uid() == nix::unistd::geteuid().as_raw() && meta.mode() & 0o022 == 0;
    secure.then_some(dir)
}

fn read_cache(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("wal-last-archived")).ok()?;
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

/// After the requested segment: send the following ones PostgreSQL has marked `.ready`,
/// up to `parallel - 1`, concurrently; remember the last of the unbroken run that arrived.
fn prefetch(args: &Args, cache: &Path, name: &str) {
    let Ok(first) = name.parse::<WalSegmentName>() else {
        return;
    };
    let Some(size) = std::fs::metadata(&args.wal_path)
        .ok()
        .and_then(|m| WalSegmentSize::new(m.len()).ok())
    else {
        return;
    };
    let pg_wal = args
        .wal_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let status = pg_wal.join("archive_status");
    let mut next = first;
    let mut ready = Vec::new();
    for _ in 1..args.parallel {
        next = next.next(size);
        let candidate = next.to_string();
        if !status.join(format!("{candidate}.ready")).exists() {
            break;
        }
        ready.push(candidate);
    }
    let results: Vec<bool> = std::thread::scope(|scope| {
        let jobs: Vec<_> = ready
            .iter()
            .map(|wal| {
                let path = pg_wal.join(wal);
                scope.spawn(move || send(args, &path) == Some(0))
            })
            .collect();
        jobs.into_iter()
            .map(|j| j.join().unwrap_or(false))
            .collect()
    });
    let mut last = name.to_string();
    for (wal, ok) in ready.iter().zip(results) {
        if !ok {
            break;
        }
        last = wal.clone();
    }
    let _ =
        crate::adapters::durable::write_atomic(&cache.join("wal-last-archived"), last.as_bytes());
}

fn exit_of(code: Option<i32>) -> ExitCode {
    match code {
        Some(0) => ExitCode::SUCCESS,
        Some(255) => fail("Connection problem with ssh", ExitKind::ArchiveClientSsh),
        Some(code) => fail(
            "Remote 'barman put-wal' command has failed!",
            u8::try_from(code).map_or(ExitKind::Failure, ExitKind::RemoteFailed),
        ),
        None => fail(
            "Remote 'barman put-wal' command has failed!",
            ExitKind::Failure,
        ),
    }
}

/// Why a stream stopped: something on this side (the error to print), or the pipe to ssh
/// (whose exit status tells the rest).
#[derive(Debug)]
enum SendError {
    Local(String),
    Pipe,
}

/// What goes in the stream for one WAL path, checked before ssh starts so a bad path costs
/// no connection.
///
/// A WAL path that is itself a symbolic link is sent as what it is, a link member without
/// content, as Barman's `tarfile.add` sends it: `put-wal` refuses it ("Unsupported file
/// type") and the client exits 1 with "Remote 'barman put-wal' command has failed!". The
/// file it points to is never read. (Barman, asked to compress, reads through the link
/// and archives whatever it points to; we refuse then too.) Only the last component
/// counts: a symlinked `pg_wal` folder is fine.
struct Payload {
    name: String,
    header: tar::Header,
    body: Body,
}

enum Body {
    Link(PathBuf),
    File(std::fs::File),
    Packed(Vec<u8>),
}

impl Payload {
    fn open(args: &Args, path: &Path) -> Result<Payload, String> {
        let meta = std::fs::symlink_metadata(path)
            .map_err(|e| format!("Unable to stat '{}': {e}", path.display()))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| format!("'{}' has no file name", path.display()))?;
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(path)
                .map_err(|e| format!("Unable to read link '{}': {e}", path.display()))?;
            let header = member_header(&meta, tar::EntryType::Symlink);
            return Ok(Payload {
                name,
                header,
                body: Body::Link(target),
            });
        }
        if meta.is_dir() {
            return Err(format!(
                "WAL_PATH cannot be a directory: {}",
                path.display()
            ));
        }
        let unreadable = |e: std::io::Error| format!("Unable to read '{}': {e}", path.display());
        let file = std::fs::File::open(path).map_err(unreadable)?;
        // The header describes the file that was opened, whatever the path is now.
        let meta = file.metadata().map_err(unreadable)?;
        let mut header = member_header(&meta, tar::EntryType::Regular);
        let Some(codec) = args.codec() else {
            header.set_size(meta.len());
            return Ok(Payload {
                name,
                header,
                body: Body::File(file),
            });
        };
        let level = codec.level(args.compression_level.as_deref().unwrap_or("medium"));
        let mut packed = Vec::with_capacity(usize::try_from(meta.len() / 4).unwrap_or(0));
        codec
            .compress(level, &mut std::io::BufReader::new(file), &mut packed)
            .map_err(|e| format!("Compression of '{name}' failed: {e}"))?;
        header.set_size(packed.len() as u64);
        Ok(Payload {
            name,
            header,
            body: Body::Packed(packed),
        })
    }

    /// The tar stream: the WAL member (name unchanged, content compressed when asked,
    /// mode, owner and mtime from the file), then `SHA256SUMS`/`MD5SUMS` (0644, root,
    /// epoch), then the end-of-archive blocks. Written by hand rather than by
    /// `tar::Builder` because a builder closes the archive when dropped, and a stream cut
    /// short by a local error must stay visibly cut short; the bytes are the builder's
    /// (a test compares them).
    fn write_to(self, args: &Args, out: &mut impl Write) -> Result<(), SendError> {
        let Payload {
            name,
            mut header,
            body,
        } = self;
        let mut digest = Hasher::new(args.md5);
        let local = |e: std::io::Error| SendError::Local(e.to_string());
        match body {
            Body::Link(target) => {
                header.set_link_name(&target).map_err(local)?;
                write_header(out, &mut header, &name)?;
            }
            Body::Packed(content) => {
                write_header(out, &mut header, &name)?;
                digest.update(&content);
                out.write_all(&content).map_err(|_| SendError::Pipe)?;
                pad(out, content.len() as u64)?;
            }
            Body::File(file) => {
                write_header(out, &mut header, &name)?;
                let size = header.size().map_err(local)?;
                stream_file(file, &name, size, &mut digest, out)?;
                pad(out, size)?;
            }
        }
        let sums_name = digest.sums_name();
        let sums = format!("{} *{name}\n", digest.hex());
        write_header(out, &mut sums_header(sums.len()), sums_name)?;
        out.write_all(sums.as_bytes())
            .map_err(|_| SendError::Pipe)?;
        pad(out, sums.len() as u64)?;
        out.write_all(&[0; 1024]).map_err(|_| SendError::Pipe)
    }
}

/// Copy exactly `size` bytes of `file` into the stream, hashing them on the way; a file
/// that is not that size any more is a local error (PostgreSQL never changes a segment it
/// asked to archive, so something else is writing to it).
fn stream_file(
    mut file: std::fs::File,
    name: &str,
    size: u64,
    digest: &mut Hasher,
    out: &mut impl Write,
) -> Result<(), SendError> {
    use std::io::Read;
    let changed = || SendError::Local(format!("'{name}' changed size while it was sent"));
    let mut buf = vec![0u8; STREAM_BUFFER];
    let mut sent: u64 = 0;
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| SendError::Local(format!("Unable to read '{name}': {e}")))?;
        if n == 0 {
            break;
        }
        if sent + n as u64 > size {
            return Err(changed());
        }
        digest.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(|_| SendError::Pipe)?;
        sent += n as u64;
    }
    if sent == size {
        Ok(())
    } else {
        Err(changed())
    }
}

/// Set the member's name and checksum, as `tar::Builder::append_data` does, and write it.
fn write_header(
    out: &mut impl Write,
    header: &mut tar::Header,
    name: &str,
) -> Result<(), SendError> {
    header
        .set_path(name)
        .map_err(|e| SendError::Local(format!("'{name}': {e}")))?;
    header.set_cksum();
    out.write_all(header.as_bytes())
        .map_err(|_| SendError::Pipe)
}

/// Zeros up to the next 512-byte block.
fn pad(out: &mut impl Write, size: u64) -> Result<(), SendError> {
    let rest = usize::try_from((512 - size % 512) % 512).unwrap_or(0);
    out.write_all(&[0; 512][..rest])
        .map_err(|_| SendError::Pipe)
}

/// The sums member's header: `len` bytes, 0644, root, epoch.
fn sums_header(len: usize) -> tar::Header {
    let mut header = tar::Header::new_ustar();
    header.set_size(len as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    header
}

/// The member's header: the file's mode, mtime and owner.
fn member_header(meta: &std::fs::Metadata, kind: tar::EntryType) -> tar::Header {
    let mut header = tar::Header::new_ustar();
    header.set_size(0);
    header.set_mode(meta.mode() & 0o7777);
    header.set_mtime(u64::try_from(meta.mtime()).unwrap_or(0));
    header.set_uid(u64::from(meta.uid()));
    header.set_gid(u64::from(meta.gid()));
    header.set_entry_type(kind);
    header
}

/// The digest the sums member carries: SHA-256, or MD5 under `--md5`.
enum Hasher {
    Sha256(Sha256),
    Md5(Md5),
}

impl Hasher {
    fn new(md5: bool) -> Hasher {
        if md5 {
            Hasher::Md5(Md5::new())
        } else {
            Hasher::Sha256(Sha256::new())
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(sha) => sha.update(data),
            Hasher::Md5(md5) => md5.update(data),
        }
    }

    fn sums_name(&self) -> &'static str {
        match self {
            Hasher::Sha256(_) => "SHA256SUMS",
            Hasher::Md5(_) => "MD5SUMS",
        }
    }

    fn hex(self) -> String {
        match self {
            Hasher::Sha256(sha) => crate::core::checksums::hex(&sha.finalize()),
            Hasher::Md5(md5) => crate::core::checksums::hex(&md5.finalize()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wal_archive_builds_barmans_ssh_argv() {
        let args = Args::parse_from([
            "barman-wal-archive",
            "--no-ssh-reuse",
            "--port",
            "2222",
            "-c",
            "/etc/b.conf",
            "-U",
            "bm",
            "backup1",
            "pg",
            "/x/000000010000000000000001",
        ]);
        assert_eq!(
            ssh_argv(&args),
            [
                "ssh",
                "-p",
                "2222",
                "-q",
                "-T",
                "bm@backup1",
                "barman",
                "--config='/etc/b.conf'",
                "put-wal",
                "pg"
            ]
        );
        let args = Args::parse_from([
            "barman-wal-archive",
            "--no-ssh-reuse",
            "-t",
            "backup1",
            "pg",
            "x",
        ]);
        assert_eq!(
            ssh_argv(&args),
            [
                "ssh",
                "-q",
                "-T",
                "barman@backup1",
                "barman",
                "put-wal",
                "pg",
                "--test"
            ]
        );
    }

    #[test]
    fn wal_archive_takes_the_last_compression_given_and_checks_the_level() {
        let parse = |flags: &[&str]| {
            let argv = ["barman-wal-archive"]
                .iter()
                .chain(flags)
                .chain(&["h", "pg", "x"]);
            Args::try_parse_from(argv)
        };
        assert_eq!(parse(&["-z", "-j"]).unwrap().codec(), Some(Codec::Bzip2));
        assert_eq!(parse(&["--zstd", "-z"]).unwrap().codec(), Some(Codec::Gzip));
        let args = parse(&["--lz4", "--compression-level", "HIGH"]).unwrap();
        assert_eq!(args.compression_level.as_deref(), Some("high"));
        assert!(parse(&["--compression-level", "best"]).is_err());
    }

    /// The stream `send` writes into ssh for `path`.
    fn build_tar(args: &Args, path: &Path) -> Result<Vec<u8>, String> {
        let mut stream = Vec::new();
        Payload::open(args, path)?
            .write_to(args, &mut stream)
            .map_err(|e| format!("{e:?}"))?;
        Ok(stream)
    }

    /// The same stream built by `tar::Builder`, as the client built it before it streamed.
    fn builder_tar(path: &Path, md5: bool) -> Vec<u8> {
        let content = std::fs::read(path).unwrap();
        let meta = std::fs::metadata(path).unwrap();
        let name = path.file_name().unwrap().to_str().unwrap();
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = member_header(&meta, tar::EntryType::Regular);
        header.set_size(content.len() as u64);
        builder
            .append_data(&mut header, name, content.as_slice())
            .unwrap();
        let mut hasher = Hasher::new(md5);
        hasher.update(&content);
        let sums_name = hasher.sums_name();
        let sums = format!("{} *{name}\n", hasher.hex());
        builder
            .append_data(&mut sums_header(sums.len()), sums_name, sums.as_bytes())
            .unwrap();
        builder.into_inner().unwrap()
    }

    #[test]
    fn wal_archive_streams_the_bytes_tar_builder_writes() {
        let dir = tempfile::tempdir().unwrap();
        let wal = dir.path().join("000000010000000000000002");
        // Not a multiple of 512, so the padding counts.
        let content: Vec<u8> = (0..70_001u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&wal, &content).unwrap();
        for md5 in [false, true] {
            let mut argv = vec!["barman-wal-archive", "h", "pg", wal.to_str().unwrap()];
            if md5 {
                argv.insert(1, "--md5");
            }
            let args = Args::parse_from(argv);
            assert_eq!(
                build_tar(&args, &args.wal_path).unwrap(),
                builder_tar(&wal, md5)
            );
        }
    }

    #[test]
    fn wal_archive_refuses_a_file_that_grows_while_it_is_sent() {
        let dir = tempfile::tempdir().unwrap();
        let wal = dir.path().join("000000010000000000000003");
        std::fs::write(&wal, vec![7u8; 4096]).unwrap();
        let args = Args::parse_from(["barman-wal-archive", "h", "pg", wal.to_str().unwrap()]);
        let payload = Payload::open(&args, &wal).unwrap();
        let mut file = std::fs::OpenOptions::new().append(true).open(&wal).unwrap();
        file.write_all(&[1u8; 10]).unwrap();
        let mut stream = Vec::new();
        match payload.write_to(&args, &mut stream) {
            Err(SendError::Local(message)) => assert_eq!(
                message,
                "'000000010000000000000003' changed size while it was sent"
            ),
            other => panic!("{other:?}"),
        }
        // Cut short after the header: the grown read is never sent, and no sums member
        // or end-of-archive blocks follow.
        assert_eq!(stream.len(), 512);
    }

    #[test]
    fn wal_archive_tar_carries_the_file_and_its_checksum() {
        let dir = tempfile::tempdir().unwrap();
        let wal = dir.path().join("000000010000000000000001");
        std::fs::write(&wal, vec![1u8; 8192]).unwrap();
        let args = Args::parse_from([
            "barman-wal-archive",
            "--zstd",
            "h",
            "pg",
            wal.to_str().unwrap(),
        ]);
        let stream = build_tar(&args, &args.wal_path).unwrap();
        let incoming = dir.path().join("incoming");
        let (received, _) = crate::adapters::catalog::incoming::receive(
            stream.as_slice(),
            &incoming,
            &dir.path().join("e"),
            "S",
        )
        .unwrap();
        assert_eq!(received.len(), 1);
        let stored = std::fs::read(incoming.join("000000010000000000000001")).unwrap();
        assert_eq!(Codec::detect(&stored), Some(Codec::Zstd));
        let args = Args::parse_from([
            "barman-wal-archive",
            "h",
            "pg",
            dir.path().to_str().unwrap(),
        ]);
        assert!(build_tar(&args, &args.wal_path)
            .unwrap_err()
            .starts_with("WAL_PATH cannot be a directory: "));
    }
}
