//! What `verify-archive` found, and how it is shown: console lines and `ERROR:` lines in
//! Barman's style, the `-f json` document, or one Nagios plugin line.

use crate::core::archive_verify::{Gap, TimelineFault};
use crate::output::Output;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::PathBuf;

/// One problem found.
#[derive(Debug, Clone)]
pub enum Fault {
    /// The content no longer matches its recorded checksum.
    Mismatch {
        /// File name.
        file: String,
        /// Where it is.
        path: PathBuf,
        /// Recorded SHA-256.
        recorded: String,
        /// SHA-256 now.
        actual: String,
    },
    /// It does not decompress to one segment.
    WrongSize {
        /// File name.
        file: String,
        /// Where it is.
        path: PathBuf,
        /// Plain bytes read.
        size: u64,
        /// The segment size.
        expected: u64,
    },
    /// It cannot be read or decompressed (corrupt, truncated).
    Unreadable {
        /// File name.
        file: String,
        /// Where it is.
        path: PathBuf,
        /// The reader's error.
        reason: String,
    },
    /// Segments missing from the archive.
    Gap(Gap),
    /// Timeline histories that do not hang together.
    Timeline(TimelineFault),
    /// Listed in the xlog db, absent from the archive.
    NotInArchive {
        /// File name.
        file: String,
    },
    /// In the archive, not listed in the xlog db.
    NotInCatalog {
        /// File name.
        file: String,
    },
}

impl Fault {
    fn kind(&self) -> &'static str {
        match self {
            Fault::Mismatch { .. } => "checksum_mismatch",
            Fault::WrongSize { .. } => "wrong_size",
            Fault::Unreadable { .. } => "unreadable",
            Fault::Gap(_) => "gap",
            Fault::Timeline(_) => "timeline",
            Fault::NotInArchive { .. } => "not_in_archive",
            Fault::NotInCatalog { .. } => "not_in_xlogdb",
        }
    }

    fn file(&self) -> Option<&str> {
        match self {
            Fault::Mismatch { file, .. }
            | Fault::WrongSize { file, .. }
            | Fault::Unreadable { file, .. }
            | Fault::NotInArchive { file }
            | Fault::NotInCatalog { file } => Some(file),
            Fault::Gap(_) | Fault::Timeline(_) => None,
        }
    }

    /// The message, naming the file or the segments.
    pub fn message(&self, server: &str) -> String {
        match self {
            Fault::Mismatch { file, path, recorded, actual } => format!(
                "Checksum mismatch for WAL file {file} of server {server} ({}): recorded sha256 {recorded}, found {actual}",
                path.display()
            ),
            Fault::WrongSize { file, path, size, expected } => format!(
                "WAL file {file} of server {server} ({}) holds {size} bytes once decompressed, not a whole segment of {expected}",
                path.display()
            ),
            Fault::Unreadable { file, path, reason } => format!(
                "Cannot read WAL file {file} of server {server} ({}): {reason}",
                path.display()
            ),
            Fault::Gap(gap) => {
                let range = if gap.count == 1 {
                    gap.first.to_string()
                } else {
                    format!("{}..{}", gap.first, gap.last)
                };
                format!(
                    "Missing WAL for server {server}: {range} ({} segment(s)), needed by backup(s) {}",
                    gap.count,
                    gap.backups.join(", ")
                )
            }
            Fault::Timeline(t) => format!("Timeline {} of server {server}: {}", t.tli, t.problem),
            Fault::NotInArchive { file } => format!(
                "WAL file {file} of server {server} is listed in the xlog db but missing from the archive"
            ),
            Fault::NotInCatalog { file } => format!(
                "WAL file {file} of server {server} is in the archive but not in the xlog db (see rebuild-xlogdb)"
            ),
        }
    }

    fn json(&self, server: &str) -> Value {
        let mut doc = json!({"kind": self.kind(), "message": self.message(server)});
        if let Some(file) = self.file() {
            doc["file"] = json!(file);
        }
        match self {
            Fault::Gap(gap) => {
                doc["first"] = json!(gap.first.to_string());
                doc["last"] = json!(gap.last.to_string());
                doc["count"] = json!(gap.count);
                doc["backups"] = json!(gap.backups);
            }
            Fault::Timeline(t) => doc["timeline"] = json!(t.tli),
            _ => {}
        }
        doc
    }
}

/// The outcome of one run.
#[derive(Debug, Default)]
pub struct Report {
    /// `--full`.
    pub full: bool,
    /// Files in the archive.
    pub files: usize,
    /// Files read (decompressed and hashed) by this run.
    pub read: usize,
    /// Files skipped because the last run verified them and they have not changed.
    pub unchanged: usize,
    /// Files read whose content is as recorded (or first seen).
    pub good: BTreeSet<String>,
    /// Files without a checksum until now.
    pub first_seen: Vec<String>,
    /// gpg-encrypted files: only their presence is checked.
    pub encrypted: usize,
    /// Timelines with WAL in the archive.
    pub timelines: Vec<u32>,
    /// When the previous run started.
    pub previous_run: Option<String>,
    /// Problems found.
    pub faults: Vec<Fault>,
}

impl Report {
    fn mode(&self) -> &'static str {
        if self.full {
            "full"
        } else {
            "incremental"
        }
    }
}

/// Console lines (or the JSON member) and one `ERROR:` per fault.
pub fn show(out: &mut Output, server: &str, report: &Report) {
    if out.is_json() {
        out.json_set(server, json_of(server, report));
    } else {
        console(out, server, report);
    }
    for fault in &report.faults {
        out.error(&fault.message(server));
    }
}

fn json_of(server: &str, report: &Report) -> Value {
    json!({
        "mode": report.mode(),
        "status": if report.faults.is_empty() { "OK" } else { "FAILED" },
        "files": report.files,
        "read": report.read,
        "unchanged": report.unchanged,
        "first_seen": report.first_seen,
        "encrypted": report.encrypted,
        "timelines": report.timelines,
        "previous_run": report.previous_run,
        "faults": report.faults.iter().map(|f| f.json(server)).collect::<Vec<_>>(),
    })
}

fn console(out: &mut Output, server: &str, report: &Report) {
    out.info(&format!("Server {server}:"));
    let since = match (&report.previous_run, report.full) {
        (Some(at), false) => format!(" since {at}"),
        _ => String::new(),
    };
    out.info(&format!(
        "\tWAL archive verification ({}): {} file(s), {} read, {} unchanged{since}",
        report.mode(),
        report.files,
        report.read,
        report.unchanged
    ));
    for name in &report.first_seen {
        out.info(&format!(
            "\t\t{name}: first seen, no checksum was recorded: recorded now"
        ));
    }
    if report.encrypted > 0 {
        out.info(&format!(
            "\t{} encrypted file(s): present, content not verifiable without the passphrase",
            report.encrypted
        ));
    }
    let timelines: Vec<String> = report.timelines.iter().map(u32::to_string).collect();
    out.info(&format!("\tTimelines: {}", timelines.join(", ")));
    if report.faults.is_empty() {
        out.info(&format!(
            "\tWAL archive verification for server {server}: OK"
        ));
    } else {
        out.info(&format!(
            "\tWAL archive verification for server {server}: FAILED ({} fault(s))",
            report.faults.len()
        ));
    }
}

/// The Nagios plugin line; exit code 2 when CRITICAL.
pub fn nagios(out: &mut Output, server: &str, report: Option<&Report>) {
    let line = match report {
        Some(r) if r.faults.is_empty() && !out.errored() => format!(
            "BARMAN OK - WAL archive of server {server} verified ({} files, {} read)|{server}_wal_files={} {server}_wal_read={}",
            r.files, r.read, r.files, r.read
        ),
        Some(r) => {
            let shown: Vec<String> = r.faults.iter().take(3).map(|f| f.message(server)).collect();
            let more = match r.faults.len() {
                n if n > 3 => format!(" (and {} more)", n - 3),
                _ => String::new(),
            };
            format!(
                "BARMAN CRITICAL - WAL archive of server {server}: {} fault(s): {}{more}",
                r.faults.len(),
                shown.join("; ")
            )
        }
        None => format!(
            "BARMAN CRITICAL - WAL archive of server {server} not verified: {}",
            out.last_error().unwrap_or("unknown error")
        ),
    };
    crate::output::print_raw(&format!("{line}\n"));
    if line.starts_with("BARMAN CRITICAL") {
        out.set_exit_kind(crate::error::ExitKind::NagiosCritical);
    }
}
