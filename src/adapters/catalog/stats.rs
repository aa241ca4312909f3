//! Figures of a server's catalog read from disk for `barman metrics`: the WAL archive's in
//! one streaming pass over the xlog db (files, bytes, newest archive time, files archived
//! recently), which reuses one line buffer and reads only the size and time columns, so a
//! ten-million-line xlog db costs one sequential read, not ten million allocations.

use super::layout::ServerDirs;
use super::store::xlog_db_path;
use crate::core::metrics::WalFacts;
use std::io::{BufRead, BufReader};
use std::path::Path;

/// The WAL figures at Unix time `now` (entries newer than `now - 3600` count as the last
/// hour's). A missing xlog db is an empty archive.
///
/// # Errors
/// The xlog db cannot be read.
pub fn wal_facts(dirs: &ServerDirs, now: f64) -> std::io::Result<WalFacts> {
    let path = xlog_db_path(dirs);
    let file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(WalFacts::default()),
        Err(e) => return Err(e),
    };
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut facts = WalFacts::default();
    let mut line = Vec::with_capacity(128);
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        let mut columns = line
            .split(|b| b.is_ascii_whitespace())
            .filter(|c| !c.is_empty());
        let (Some(_name), Some(size), Some(time)) =
            (columns.next(), columns.next(), columns.next())
        else {
            // Blank or torn lines: the commands that own the xlog db report them.
            continue;
        };
        let number = |bytes: &[u8]| std::str::from_utf8(bytes).ok()?.parse::<f64>().ok();
        facts.files += 1;
        facts.bytes += number(size).map_or(0, |s| s as u64);
        if let Some(time) = number(time) {
            facts.last_time = Some(facts.last_time.map_or(time, |t: f64| t.max(time)));
            if time > now - 3600.0 {
                facts.last_hour += 1;
            }
        }
    }
    Ok(facts)
}

/// Regular files in `dir` (0 when it does not exist).
pub fn count_files(dir: &Path) -> u64 {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .count() as u64
    })
}

/// Modification time of `path`, Unix seconds.
pub fn modified(path: &Path) -> Option<f64> {
    let time = std::fs::metadata(path).ok()?.modified().ok()?;
    let since = time.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some(since.as_secs_f64())
}
