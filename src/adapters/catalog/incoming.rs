//! `put-wal`'s server side: a tar stream (from `barman-wal-archive`) unpacked into
//! `incoming/`, every file checked against the `SHA256SUMS`/`MD5SUMS` member before it is
//! renamed into place. Any problem (bad checksum, a member that is not a plain WAL file, a
//! path with `/`, `..` or a link, a truncated stream) aborts with nothing left behind.

use crate::adapters::durable;
use crate::core::checksums::{self, Algorithm};
use crate::core::wal_name::is_any_xlog_file;
use md5::Md5;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Why a stream was refused; the text is Barman's, without the server suffix.
#[derive(Debug, thiserror::Error)]
pub enum PutWalError {
    /// A member that is not a regular file.
    #[error("Unsupported file type '{kind}' for file '{name}'")]
    FileType {
        /// tar type letter.
        kind: String,
        /// Member name.
        name: String,
    },
    /// A name that is a path, or not a WAL file name.
    #[error("Unsupported filename '{0}'")]
    FileName(String),
    /// A checksum for a file the stream did not carry.
    #[error("Checksum without corresponding file '{0}'")]
    ChecksumWithoutFile(String),
    /// A digest mismatch.
    #[error("Bad file checksum '{got}' (should be {want}) for file '{name}'")]
    BadChecksum {
        /// Computed digest.
        got: String,
        /// Announced digest.
        want: String,
        /// File.
        name: String,
    },
    /// A file without checksum.
    #[error("Missing checksum for file '{0}'")]
    MissingChecksum(String),
    /// The stream is not a valid tar.
    #[error("invalid tar stream: {0}")]
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
    md5: String,
}

/// Receive a put-wal tar stream into `incoming`. Also returns the checksum lines Barman
/// warns about.
pub fn receive(
    stream: impl Read,
    incoming: &Path,
    errors_dir: &Path,
    stamp: &str,
) -> Result<(Vec<Received>, Vec<String>), PutWalError> {
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PutWalError::Io { path, source }
    };
    durable::create_dir_all_durable(incoming).map_err(io_err(incoming))?;
    let mut extracted: BTreeMap<String, Extracted> = BTreeMap::new();
    let result = (|| {
        let mut sums: Option<(Algorithm, checksums::Sums)> = None;
        let mut archive = tar::Archive::new(stream);
        for entry in archive.entries().map_err(PutWalError::Stream)? {
            let mut entry = entry.map_err(PutWalError::Stream)?;
            let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let name = raw.strip_prefix("./").unwrap_or(&raw).to_string();
            let kind = entry.header().entry_type();
            if !kind.is_file() {
                return Err(PutWalError::FileType {
                    kind: String::from_utf8_lossy(&[kind.as_byte()]).into_owned(),
                    name,
                });
            }
            if name.contains('/') || name.is_empty() || name == ".." {
                return Err(PutWalError::FileName(name));
            }
            if let Some(algorithm) = Algorithm::of_member(&name) {
                let mut text = String::new();
                entry
                    .read_to_string(&mut text)
                    .map_err(PutWalError::Stream)?;
                sums = Some((algorithm, checksums::parse(&text)));
                continue;
            }
            // Stricter than Barman: only WAL-like names may enter incoming/.
            if !is_any_xlog_file(&name) {
                return Err(PutWalError::FileName(name));
            }
            let tmp = incoming.join(format!(".{}-{name}", std::process::id()));
            let mut file = File::create(&tmp).map_err(io_err(&tmp))?;
            extracted.insert(
                name.clone(),
                Extracted {
                    tmp: tmp.clone(),
                    sha256: String::new(),
                    md5: String::new(),
                },
            );
            // SHA-256 while streaming (the clients' default); MD5 only if an MD5SUMS member
            // asks for it, by re-reading the file, so the common path hashes once.
            let mut sha = Sha256::new();
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let n = entry.read(&mut buf).map_err(PutWalError::Stream)?;
                if n == 0 {
                    break;
                }
                sha.update(&buf[..n]);
                file.write_all(&buf[..n]).map_err(io_err(&tmp))?;
            }
            let mtime = entry.header().mtime().unwrap_or(0);
            let mode = entry.header().mode().unwrap_or(0o600);
            {
                use std::os::unix::fs::PermissionsExt;
                file.set_permissions(std::fs::Permissions::from_mode(mode & 0o7777))
                    .map_err(io_err(&tmp))?;
            }
            let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(mtime);
            file.set_times(
                std::fs::FileTimes::new()
                    .set_modified(time)
                    .set_accessed(time),
            )
            .map_err(io_err(&tmp))?;
            file.sync_all().map_err(io_err(&tmp))?;
            let done = extracted.get_mut(&name).expect("invariant: inserted above");
            done.sha256 = crate::core::checksums::hex(&sha.finalize());
        }
        let (algorithm, sums) = sums.unwrap_or((Algorithm::Sha256, checksums::Sums::default()));
        if algorithm == Algorithm::Md5 {
            for file in extracted.values_mut() {
                file.md5 = file_digest(&file.tmp, Algorithm::Md5).map_err(io_err(&file.tmp))?;
            }
        }
        let digest = |e: &Extracted| match algorithm {
            Algorithm::Sha256 => e.sha256.clone(),
            Algorithm::Md5 => e.md5.clone(),
        };
        for (name, want) in &sums.digests {
            let Some(file) = extracted.get(name) else {
                return Err(PutWalError::ChecksumWithoutFile(name.clone()));
            };
            if &digest(file) != want {
                return Err(PutWalError::BadChecksum {
                    got: digest(file),
                    want: want.clone(),
                    name: name.clone(),
                });
            }
        }
        let mut received = Vec::new();
        for (name, file) in &extracted {
            if !sums.digests.contains_key(name) {
                return Err(PutWalError::MissingChecksum(name.clone()));
            }
            let path = incoming.join(name);
            if path.exists() {
                let existing = file_digest(&path, algorithm).map_err(io_err(&path))?;
                if existing == digest(file) {
                    received.push(Received::Identical(name.clone()));
                    continue;
                }
                durable::create_dir_all_durable(errors_dir).map_err(io_err(errors_dir))?;
                let dst = errors_dir.join(format!("{name}.{stamp}.duplicate"));
                durable::rename_durable(&file.tmp, &dst).map_err(io_err(&file.tmp))?;
                received.push(Received::Mismatch {
                    name: name.clone(),
                    existing,
                    incoming: digest(file),
                });
                continue;
            }
            std::fs::rename(&file.tmp, &path).map_err(io_err(&path))?;
            received.push(Received::Stored(name.clone()));
        }
        durable::fsync_dir(incoming).map_err(io_err(incoming))?;
        Ok((received, sums.bad_lines))
    })();
    for file in extracted.values() {
        let _ = std::fs::remove_file(&file.tmp);
    }
    result
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

    const WAL: &str = "000000010000000000000042";

    fn tar_of(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, data) in members {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o600);
            header.set_mtime(1_700_000_000);
            header.set_cksum();
            builder.append_data(&mut header, name, *data).unwrap();
        }
        builder.into_inner().unwrap()
    }

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
