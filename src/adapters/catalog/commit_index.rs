//! The commit-time index on disk: `<xlogdb_directory>/<server>-xlog.db.commits`, one line
//! per archived segment (see [`crate::core::commit_index`]), appended and fsynced by the
//! archiver right after the segment's xlog.db line. Python Barman's `rebuild-xlogdb` skips
//! files named after its xlog.db, so it ignores this one. The times are read from the
//! segment's bytes as the archiver streams them ([`SegmentScan::tee`]); a file the archiver
//! does not read itself (stored as it is, or encrypted only) is read once here. Nothing in
//! here fails archiving: an unreadable segment is recorded as `unknown`, and an index that
//! cannot be written is logged and left behind.

use super::layout::ServerDirs;
use crate::adapters::codec::Codec;
use crate::adapters::durable;
use crate::core::commit_index::{CommitIndex, IndexLine};
use crate::core::wal_name::{WalFileName, WalSegmentName};
use crate::core::wal_records::CommitScanner;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Where the index of `dirs`' server lives.
pub fn path(dirs: &ServerDirs) -> PathBuf {
    let mut name = dirs.xlog_db().into_os_string();
    name.push(".commits");
    PathBuf::from(name)
}

/// The index (empty when there is none or it cannot be read: it is only an optimisation).
pub fn read(dirs: &ServerDirs) -> CommitIndex {
    match std::fs::read(path(dirs)) {
        Ok(bytes) => CommitIndex::parse(&String::from_utf8_lossy(&bytes)),
        Err(_) => CommitIndex::default(),
    }
}

/// The scan of one file being archived: only WAL segments are scanned.
#[derive(Debug)]
pub struct SegmentScan {
    name: Option<String>,
    scanner: CommitScanner,
    fed: bool,
}

impl SegmentScan {
    /// A scan for the file archived as `name`.
    pub fn new(name: &WalFileName) -> SegmentScan {
        let segment = match name {
            WalFileName::Segment(s) => Some(s),
            _ => None,
        };
        SegmentScan {
            name: segment.map(ToString::to_string),
            scanner: segment.map_or_else(CommitScanner::new, scanner_for),
            fed: false,
        }
    }

    /// `reader` (the file's plain bytes), feeding this scan with what is read through it.
    pub fn tee<R: Read>(&mut self, reader: R) -> Tee<'_, R> {
        self.fed = self.name.is_some();
        Tee {
            inner: reader,
            scan: self,
        }
    }

    /// Feed the file's next plain bytes (read by someone else, e.g. the checksum).
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.name.is_some() {
            self.fed = true;
            self.scanner.feed(bytes);
        }
    }

    /// Forget what was fed: [`Self::finish`] then reads the file itself.
    pub fn restart(&mut self) {
        let name = self.name.take();
        let expected = name
            .as_deref()
            .and_then(|n| n.parse::<WalSegmentName>().ok());
        self.scanner = expected
            .as_ref()
            .map_or_else(CommitScanner::new, scanner_for);
        self.fed = false;
        self.name = name;
    }

    /// The index line: from the bytes already streamed through [`Self::tee`], or else from
    /// reading `src` (decompressed when it came compressed). None for a file that is not a
    /// segment.
    pub fn finish(mut self, src: &Path) -> Option<IndexLine> {
        let name = self.name.take()?;
        let span = if self.fed {
            self.scanner.finish()
        } else {
            let expected = name.parse::<WalSegmentName>().ok();
            let scanner = expected
                .as_ref()
                .map_or_else(CommitScanner::new, scanner_for);
            read_plain(src, scanner).and_then(CommitScanner::finish)
        };
        Some(IndexLine { name, span })
    }
}

fn scanner_for(segment: &WalSegmentName) -> CommitScanner {
    CommitScanner::for_segment(segment.log, segment.seg)
}

/// A reader that shows what it reads to a [`SegmentScan`].
pub struct Tee<'a, R> {
    inner: R,
    scan: &'a mut SegmentScan,
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.scan.name.is_some() {
            self.scan.scanner.feed(&buf[..n]);
        }
        Ok(n)
    }
}

/// A writer that only scans: the sink of a decompression.
struct ScanSink(CommitScanner);

impl Write for ScanSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.feed(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn read_plain(src: &Path, scanner: CommitScanner) -> Option<CommitScanner> {
    let mut file = File::open(src).ok()?;
    let mut head = [0u8; 16];
    let n = file.read(&mut head).ok()?;
    file.seek(SeekFrom::Start(0)).ok()?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let mut sink = ScanSink(scanner);
    match Codec::detect(&head[..n]) {
        Some(codec) => {
            codec.decompress(&mut reader, &mut sink).ok()?;
        }
        None => {
            std::io::copy(&mut reader, &mut sink).ok()?;
        }
    }
    Some(sink.0)
}

/// Append `line` to the index and fsync it; a torn last line (a crash mid-append) is ended
/// first so the new line stands on its own. Failures are logged, never returned: the index
/// is an optimisation and its segment is already safely archived.
pub fn append(dirs: &ServerDirs, line: &IndexLine) {
    append_all(dirs, std::slice::from_ref(line));
}

/// [`append`] of several lines at once: one write, one fsync.
pub fn append_all(dirs: &ServerDirs, lines: &[IndexLine]) {
    let Some(first) = lines.first() else {
        return;
    };
    let path = path(dirs);
    let text: String = lines.iter().map(IndexLine::to_line).collect();
    if let Err(e) = append_to(&path, text.as_bytes()) {
        tracing::warn!(target: "barman.wal_archiver",
            "Could not add {} (and {} more) to the commit-time index {}: {e}",
            first.name, lines.len() - 1, path.display());
    }
}

fn append_to(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let created = !path.exists();
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)?;
    let len = file.metadata()?.len();
    let mut text = Vec::with_capacity(bytes.len() + 1);
    if len > 0 {
        let mut last = [0u8; 1];
        file.seek(SeekFrom::Start(len - 1))?;
        file.read_exact(&mut last)?;
        if last[0] != b'\n' {
            text.push(b'\n');
        }
    }
    text.extend_from_slice(bytes);
    file.write_all(&text)?;
    file.sync_all()?;
    if created {
        if let Some(dir) = path.parent() {
            durable::fsync_dir(dir)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::wal_records::CommitSpan;

    #[test]
    fn commit_index_append_survives_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pg-xlog.db.commits");
        let a = IndexLine {
            name: "000000010000000000000001".into(),
            span: Some(CommitSpan::default()),
        };
        let b = IndexLine {
            name: "000000010000000000000002".into(),
            span: None,
        };
        append_to(&file, a.to_line().as_bytes()).unwrap();
        std::fs::write(&file, format!("{}00000001000000", a.to_line())).unwrap();
        append_to(&file, b.to_line().as_bytes()).unwrap();
        let index = CommitIndex::parse(&std::fs::read_to_string(&file).unwrap());
        assert_eq!(index.len(), 2);
        assert_eq!(index.get(&b.name), Some(None));
    }

    #[test]
    fn commit_index_scan_of_a_non_segment_or_missing_file() {
        let history: WalFileName = "00000002.history".parse().unwrap();
        assert_eq!(
            SegmentScan::new(&history).finish(Path::new("/nonexistent")),
            None
        );
        let seg: WalFileName = "000000010000000000000001".parse().unwrap();
        let line = SegmentScan::new(&seg)
            .finish(Path::new("/nonexistent"))
            .unwrap();
        assert_eq!(line.span, None);
    }
}
