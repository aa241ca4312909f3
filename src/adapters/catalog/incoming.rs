//! `put-wal`'s server side: a tar stream (from `barman-wal-archive`) unpacked into
//! `incoming/`, every file checked against the `SHA256SUMS`/`MD5SUMS` member before it is
//! renamed into place. Any problem (bad checksum, a member that is not a plain WAL file, a
//! path with `/`, `..` or a link, a truncated stream) aborts with nothing left behind.

use crate::adapters::durable;
use crate::core::checksums::{self, Algorithm};
use crate::core::escape::text as esc;
use crate::core::tar_time::{self, MemberTime, TarTimeError};
use crate::core::wal_name::is_any_xlog_file;
use md5::Md5;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Why a stream was refused; the text is Barman's, without the server suffix. Every value
/// taken from the stream is quoted escaped (`core::escape`), so each message is one
/// printable line; Python Barman quotes them raw.
#[derive(Debug, thiserror::Error)]
pub enum PutWalError {
    /// Nothing at all on standard input: `tarfile`'s `ReadError`, which Barman does not
    /// catch (`EXCEPTION: empty file`).
    #[error("empty file")]
    Empty,
    /// A member that is not a regular file.
    #[error("Unsupported file type '{}' for file '{}'", esc(kind), esc(name))]
    FileType {
        /// tar type letter.
        kind: String,
        /// Member name.
        name: String,
    },
    /// A name that is a path, or not a WAL file name.
    #[error("Unsupported filename '{}'", esc(.0))]
    FileName(String),
    /// A modification time no file can have (Python: an uncaught `OverflowError`).
    #[error("{source} for file '{}'", esc(name))]
    Timestamp {
        /// Member name.
        name: String,
        /// What is wrong with it.
        source: TarTimeError,
    },
    /// The stream ended inside a member (Python: "unexpected end of data").
    #[error("Unexpected end of data for file '{}'", esc(.0))]
    Truncated(String),
    /// A checksum for a file the stream did not carry.
    #[error("Checksum without corresponding file '{}'", esc(.0))]
    ChecksumWithoutFile(String),
    /// A digest mismatch.
    #[error(
        "Bad file checksum '{got}' (should be {}) for file '{}'",
        esc(want),
        esc(name)
    )]
    BadChecksum {
        /// Computed digest.
        got: String,
        /// Announced digest.
        want: String,
        /// File.
        name: String,
    },
    /// A file without checksum.
    #[error("Missing checksum for file '{}'", esc(.0))]
    MissingChecksum(String),
    /// The stream is not a valid tar (the tar reader's message may quote header bytes).
    #[error("invalid tar stream: {}", esc(&.0.to_string()))]
    Stream(std::io::Error),
    /// Writing failed.
    #[error("cannot write '{path}': {source}")]
    Io {
        /// Path.
        path: PathBuf,
        /// OS error.
        source: std::io::Error,
    },
}

/// What happened to each received file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// Stored in `incoming/`.
    Stored(String),
    /// Already there with the same digest: nothing to do.
    Identical(String),
    /// Already there with another digest: the new one went to `errors/`.
    Mismatch {
        /// File.
        name: String,
        /// Digest of the file already in incoming.
        existing: String,
        /// Digest of the received file.
        incoming: String,
    },
}

struct Extracted {
    tmp: PathBuf,
    sha256: String,
}

/// The parsed sums member (SHA-256 and none when the stream has none).
type Announced = (Algorithm, checksums::Sums);

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> PutWalError {
    let path = path.to_path_buf();
    move |source| PutWalError::Io { path, source }
}

/// A reader that counts what it hands out: an empty stream is told from an empty archive.
struct Counted<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

/// Receive a put-wal tar stream into `incoming`. Also returns the checksum lines Barman
/// warns about. Whatever happens, no temporary file is left behind.
pub fn receive(
    stream: impl Read,
    incoming: &Path,
    errors_dir: &Path,
    stamp: &str,
) -> Result<(Vec<Received>, Vec<String>), PutWalError> {
    durable::create_dir_all_durable(incoming).map_err(io_err(incoming))?;
    let mut extracted: BTreeMap<String, Extracted> = BTreeMap::new();
    let to = Destination {
        incoming,
        errors_dir,
        stamp,
    };
    let result = unpack(stream, incoming, &mut extracted)
        .and_then(|announced| settle(&extracted, announced, &to));
    for file in extracted.values() {
        let _ = std::fs::remove_file(&file.tmp);
    }
    result
}

/// Read the stream: WAL files into hidden temporary files in `incoming` (recorded in
/// `extracted` as soon as they exist), the sums member parsed.
fn unpack(
    stream: impl Read,
    incoming: &Path,
    extracted: &mut BTreeMap<String, Extracted>,
) -> Result<Announced, PutWalError> {
    let mut counted = Counted {
        inner: stream,
        read: 0,
    };
    let mut sums: Option<Announced> = None;
    let mut archive = tar::Archive::new(&mut counted);
    for entry in archive.entries().map_err(PutWalError::Stream)? {
        let mut entry = entry.map_err(PutWalError::Stream)?;
        let name = member_name(&entry)?;
        if let Some(algorithm) = Algorithm::of_member(&name) {
            let mut text = String::new();
            let read = entry
                .read_to_string(&mut text)
                .map_err(PutWalError::Stream)?;
            if read as u64 != entry.size() {
                return Err(PutWalError::Truncated(name));
            }
            sums = Some((algorithm, checksums::parse(&text)));
            continue;
        }
        // Stricter than Barman: only WAL-like names may enter incoming/.
        if !is_any_xlog_file(&name) {
            return Err(PutWalError::FileName(name));
        }
        let time = member_time(&mut entry, &name)?;
        let tmp = incoming.join(format!(".{}-{name}", std::process::id()));
        // Created as Barman's `open(path, "wb")` creates it: 0666 less the umask, whatever
        // mode the member claims (a setuid or unreadable WAL is no use to anyone).
        let file = File::create(&tmp).map_err(io_err(&tmp))?;
        extracted.insert(
            name.clone(),
            Extracted {
                tmp: tmp.clone(),
                sha256: String::new(),
            },
        );
        let sha256 = extract(&mut entry, file, &tmp, &name, time)?;
        if let Some(done) = extracted.get_mut(&name) {
            done.sha256 = sha256;
        }
    }
    if counted.read == 0 {
        return Err(PutWalError::Empty);
    }
    Ok(sums.unwrap_or((Algorithm::Sha256, checksums::Sums::default())))
}

/// The member's name (leading `./` removed), refused unless it is a plain file without a
/// directory part.
fn member_name<R: Read>(entry: &tar::Entry<'_, R>) -> Result<String, PutWalError> {
    let raw = entry.path_bytes();
    let raw = raw.strip_prefix(b"./").unwrap_or(&raw);
    let name = crate::core::escape::bytes(raw);
    let kind = entry.header().entry_type();
    if !kind.is_file() {
        return Err(PutWalError::FileType {
            kind: crate::core::escape::bytes(&[kind.as_byte()]),
            name,
        });
    }
    if name.contains('/') || name.is_empty() || name == ".." {
        return Err(PutWalError::FileName(name));
    }
    Ok(name)
}

/// The member's modification time: its PAX `mtime` record if any (the last one, as
/// `tarfile` keeps), else the header field; refused when no file can have it.
fn member_time<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    name: &str,
) -> Result<SystemTime, PutWalError> {
    let refused = |source| PutWalError::Timestamp {
        name: name.to_string(),
        source,
    };
    let mut pax_mtime = None;
    if let Some(records) = entry.pax_extensions().map_err(PutWalError::Stream)? {
        for record in records {
            let record = record.map_err(PutWalError::Stream)?;
            if record.key_bytes() == b"mtime" {
                pax_mtime = Some(String::from_utf8_lossy(record.value_bytes()).into_owned());
            }
        }
    }
    let time = match pax_mtime {
        Some(value) => tar_time::from_pax(&value),
        None => tar_time::from_header(&entry.header().as_old().mtime),
    }
    .map_err(refused)?;
    system_time(time).ok_or_else(|| refused(TarTimeError::OutOfRange(time.secs.to_string())))
}

fn system_time(time: MemberTime) -> Option<SystemTime> {
    let whole = match u64::try_from(time.secs) {
        Ok(secs) => UNIX_EPOCH.checked_add(Duration::from_secs(secs)),
        Err(_) => UNIX_EPOCH.checked_sub(Duration::from_secs(time.secs.unsigned_abs())),
    };
    whole?.checked_add(Duration::from_nanos(u64::from(time.nanos)))
}

/// Bytes received between two writeback requests.
const WRITEBACK_STRETCH: u64 = 2 << 20;

/// Copy the member's data into `file`, hashing it with SHA-256 as it goes (the clients'
/// default; MD5 only if an MD5SUMS member asks for it, by re-reading the file), then give
/// it the member's time and sync it. Returns the digest.
fn extract<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    mut file: File,
    tmp: &Path,
    name: &str,
    time: SystemTime,
) -> Result<String, PutWalError> {
    let mut sha = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut written: u64 = 0;
    // Writeback starts every few MiB while the stream still arrives, so the closing fsync
    // waits for the last stretch only, not for the whole segment.
    let mut handed_to_disk: u64 = 0;
    loop {
        let n = entry.read(&mut buf).map_err(PutWalError::Stream)?;
        if n == 0 {
            break;
        }
        sha.update(&buf[..n]);
        file.write_all(&buf[..n]).map_err(io_err(tmp))?;
        written += n as u64;
        if written - handed_to_disk >= WRITEBACK_STRETCH {
            durable::start_writeback(&file, handed_to_disk, written - handed_to_disk);
            handed_to_disk = written;
        }
    }
    if written != entry.size() {
        return Err(PutWalError::Truncated(name.to_string()));
    }
    let times = std::fs::FileTimes::new()
        .set_modified(time)
        .set_accessed(time);
    file.set_times(times).map_err(io_err(tmp))?;
    file.sync_all().map_err(io_err(tmp))?;
    Ok(crate::core::checksums::hex(&sha.finalize()))
}

/// Check every file against the sums, then move each into place (or aside, to `errors/`,
/// when a different file of that name is already there).
fn settle(
    extracted: &BTreeMap<String, Extracted>,
    (algorithm, sums): Announced,
    to: &Destination<'_>,
) -> Result<(Vec<Received>, Vec<String>), PutWalError> {
    let mut digests = BTreeMap::new();
    for (name, file) in extracted {
        let digest = match algorithm {
            Algorithm::Sha256 => file.sha256.clone(),
            Algorithm::Md5 => file_digest(&file.tmp, Algorithm::Md5).map_err(io_err(&file.tmp))?,
        };
        digests.insert(name.as_str(), digest);
    }
    for (name, want) in &sums.digests {
        let Some(got) = digests.get(name.as_str()) else {
            return Err(PutWalError::ChecksumWithoutFile(name.clone()));
        };
        if got != want {
            return Err(PutWalError::BadChecksum {
                got: got.clone(),
                want: want.clone(),
                name: name.clone(),
            });
        }
    }
    if let Some(name) = digests.keys().find(|n| !sums.digests.contains_key(**n)) {
        return Err(PutWalError::MissingChecksum((*name).to_string()));
    }
    let mut received = Vec::new();
    for (name, file) in extracted {
        let digest = digests[name.as_str()].clone();
        received.push(place(name, &file.tmp, digest, algorithm, to)?);
    }
    durable::fsync_dir(to.incoming).map_err(io_err(to.incoming))?;
    Ok((received, sums.bad_lines))
}

/// Where received files go.
struct Destination<'a> {
    incoming: &'a Path,
    errors_dir: &'a Path,
    /// Suffix of a mismatched duplicate's name in `errors/`.
    stamp: &'a str,
}

/// Move one checked file into `incoming/`; an identical file already there makes it a
/// no-op, a different one sends it to `errors/` (both exit 0 in Barman, so WAL files do not
/// pile up on PostgreSQL).
fn place(
    name: &str,
    tmp: &Path,
    digest: String,
    algorithm: Algorithm,
    to: &Destination<'_>,
) -> Result<Received, PutWalError> {
    let path = to.incoming.join(name);
    if path.exists() {
        let existing = file_digest(&path, algorithm).map_err(io_err(&path))?;
        if existing == digest {
            return Ok(Received::Identical(name.to_string()));
        }
        durable::create_dir_all_durable(to.errors_dir).map_err(io_err(to.errors_dir))?;
        let dst = to.errors_dir.join(format!("{name}.{}.duplicate", to.stamp));
        durable::rename_durable(tmp, &dst).map_err(io_err(tmp))?;
        return Ok(Received::Mismatch {
            name: name.to_string(),
            existing,
            incoming: digest,
        });
    }
    std::fs::rename(tmp, &path).map_err(io_err(&path))?;
    Ok(Received::Stored(name.to_string()))
}

fn file_digest(path: &Path, algorithm: Algorithm) -> std::io::Result<String> {
    let mut file = File::open(path)?;
    let mut buf = vec![0u8; 1 << 16];
    let (mut sha, mut md5) = (Sha256::new(), Md5::new());
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        match algorithm {
            Algorithm::Sha256 => sha.update(&buf[..n]),
            Algorithm::Md5 => md5.update(&buf[..n]),
        }
    }
    Ok(match algorithm {
        Algorithm::Sha256 => crate::core::checksums::hex(&sha.finalize()),
        Algorithm::Md5 => crate::core::checksums::hex(&md5.finalize()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::untar::tar_of;

    const WAL: &str = "000000010000000000000042";

    fn sha(data: &[u8]) -> String {
        crate::core::checksums::hex(&Sha256::digest(data))
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map(|r| {
                r.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    #[test]
    fn put_wal_stores_a_checked_file_with_its_mtime() {
        let dir = tempfile::tempdir().unwrap();
        let sums = format!("{} *{WAL}\n", sha(b"wal data"));
        let stream = tar_of(&[(WAL, b"wal data"), ("SHA256SUMS", sums.as_bytes())]);
        let (received, bad) = receive(
            stream.as_slice(),
            dir.path(),
            &dir.path().join("errors"),
            "STAMP",
        )
        .unwrap();
        assert_eq!(received, vec![Received::Stored(WAL.into())]);
        assert!(bad.is_empty());
        assert_eq!(std::fs::read(dir.path().join(WAL)).unwrap(), b"wal data");
        use std::os::unix::fs::MetadataExt;
        assert_eq!(
            std::fs::metadata(dir.path().join(WAL)).unwrap().mtime(),
            1_700_000_000
        );
        assert_eq!(listing(dir.path()), vec![WAL]);
    }

    #[test]
    fn put_wal_accepts_md5_sums() {
        let dir = tempfile::tempdir().unwrap();
        let sums = format!(
            "{}  ./{WAL}\n",
            crate::core::checksums::hex(&Md5::digest(b"x"))
        );
        let stream = tar_of(&[(&format!("./{WAL}"), b"x"), ("MD5SUMS", sums.as_bytes())]);
        receive(
            stream.as_slice(),
            dir.path(),
            &dir.path().join("errors"),
            "S",
        )
        .unwrap();
        assert!(dir.path().join(WAL).exists());
    }

    #[test]
    fn put_wal_refuses_bad_input_and_writes_nothing() {
        let good_sum = format!("{} *{WAL}\n", sha(b"wal data"));
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (
                tar_of(&[
                    (WAL, b"wal data"),
                    (
                        "SHA256SUMS",
                        format!("{} *{WAL}\n", sha(b"other")).as_bytes(),
                    ),
                ]),
                "Bad file checksum",
            ),
            (
                tar_of(&[(WAL, b"wal data")]),
                "Missing checksum for file '000000010000000000000042'",
            ),
            (
                tar_of(&[("SHA256SUMS", good_sum.as_bytes())]),
                "Checksum without corresponding file",
            ),
            (
                tar_of(&[("junk", b"x"), ("SHA256SUMS", good_sum.as_bytes())]),
                "Unsupported filename 'junk'",
            ),
            (
                b"this is not a tar stream at all, just some bytes".repeat(20),
                "",
            ),
        ];
        for (stream, message) in cases {
            let dir = tempfile::tempdir().unwrap();
            let err = receive(
                stream.as_slice(),
                dir.path(),
                &dir.path().join("errors"),
                "S",
            )
            .unwrap_err();
            assert!(err.to_string().contains(message), "{err} !~ {message}");
            assert!(
                listing(dir.path()).is_empty(),
                "{message}: left {:?}",
                listing(dir.path())
            );
        }
    }

    #[test]
    fn put_wal_duplicates_identical_and_mismatched() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(WAL), b"wal data").unwrap();
        let sums = format!("{} *{WAL}\n", sha(b"wal data"));
        let stream = tar_of(&[(WAL, b"wal data"), ("SHA256SUMS", sums.as_bytes())]);
        let (received, _) = receive(
            stream.as_slice(),
            dir.path(),
            &dir.path().join("errors"),
            "S",
        )
        .unwrap();
        assert_eq!(received, vec![Received::Identical(WAL.into())]);
        let sums = format!("{} *{WAL}\n", sha(b"new data"));
        let stream = tar_of(&[(WAL, b"new data"), ("SHA256SUMS", sums.as_bytes())]);
        let (received, _) = receive(
            stream.as_slice(),
            dir.path(),
            &dir.path().join("errors"),
            "S",
        )
        .unwrap();
        assert!(matches!(&received[0], Received::Mismatch { .. }));
        assert_eq!(std::fs::read(dir.path().join(WAL)).unwrap(), b"wal data");
        assert_eq!(
            listing(&dir.path().join("errors")),
            vec![format!("{WAL}.S.duplicate")]
        );
    }
}
