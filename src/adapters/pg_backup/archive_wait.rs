//! Waiting, after `pg_backup_stop`, until PostgreSQL has archived the WAL a backup needs: the
//! segment holding the stop point and the backup history file (`<start segment>.<offset>
//! .backup`). PostgreSQL's own wait (`wait_for_archive => true`, what Barman asks for) checks
//! the archive status, then sleeps a whole second between checks, so every backup pays at
//! least a second even when the archiver is done in 50 ms. When the session may list
//! `pg_wal` and its `archive_status` (superuser or `pg_monitor`), the stop asks PostgreSQL not
//! to wait and this module polls the same condition (`XLogArchiveIsBusy` in xlogarchive.c),
//! starting at 10 ms; otherwise PostgreSQL waits as before. Its warnings are PostgreSQL's.

use crate::adapters::interrupt;
use crate::adapters::postgres::Session;
use crate::core::lsn::Lsn;
use std::time::{Duration, Instant};

/// Whether the stop may leave the wait to us: a primary archiving WAL (a standby's stop waits
/// only with `archive_mode = always`, and names no history file: left to PostgreSQL), and
/// the right to list `pg_wal` and `pg_wal/archive_status` (functions of PostgreSQL 12+).
pub(super) fn can_poll(session: &mut Session) -> bool {
    if session.version < crate::core::pg_version::PgVersion::V12 {
        return false;
    }
    session.flag(
        "SELECT NOT pg_is_in_recovery() \
         AND current_setting('archive_mode') IN ('on', 'always') \
         AND has_function_privilege('pg_ls_archive_statusdir()', 'EXECUTE') \
         AND has_function_privilege('pg_ls_waldir()', 'EXECUTE')",
    ) == Some(true)
}

/// The backup history file PostgreSQL writes at the stop (`BackupHistoryFileName`): the
/// start segment's name and the start's offset in it, as 8 upper-case hex digits.
pub(super) fn history_file_name(start_segment: &str, start_offset: u64) -> String {
    format!("{start_segment}.{start_offset:08X}.backup")
}

/// Poll until neither file is busy. A file is busy, as `XLogArchiveIsBusy` says, when it has
/// no `.done` status and either a `.ready` status or is still in `pg_wal` (a file gone from
/// `pg_wal` was archived and recycled). Waits as long as PostgreSQL would (for ever), with
/// its warnings at 60, 120, 240… seconds; a Ctrl-C or SIGTERM ends the wait with an error.
pub(super) fn until_archived(session: &mut Session, start: Lsn, stop: Lsn) -> Result<(), String> {
    let names = session
        .rows(&format!(
            "SELECT pg_walfile_name('{stop}'), file_name, file_offset \
             FROM pg_walfile_name_offset('{start}')"
        ))
        .map_err(|e| e.message)?;
    let row = names.into_iter().next().unwrap_or_default();
    let field = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
    let offset: u64 = field(2)
        .parse()
        .map_err(|_| "no WAL file offset returned".to_string())?;
    let files = [field(0), history_file_name(&field(1), offset)];
    tracing::debug!(target: "barman.postgres",
        "Waiting for PostgreSQL to archive {} and {}", files[0], files[1]);
    let busy_sql = busy_query(&files);
    let began = Instant::now();
    let mut pause = Duration::from_millis(10);
    let mut warn_at = 60;
    loop {
        let busy = session.text(&busy_sql).ok_or_else(|| {
            "cannot read pg_wal/archive_status while waiting for WAL archiving".to_string()
        })?;
        if busy == "0" {
            tracing::debug!(target: "barman.postgres",
                "All required WAL segments have been archived ({} ms)", began.elapsed().as_millis());
            return Ok(());
        }
        if let Some(signal) = interrupt::received() {
            return Err(format!(
                "interrupted ({}) while waiting for WAL archiving",
                interrupt::reason(signal)
            ));
        }
        let waited = began.elapsed().as_secs();
        if waited >= warn_at {
            warn_at *= 2;
            tracing::warn!(target: "barman.postgres",
                "still waiting for all required WAL segments to be archived ({waited} seconds elapsed)");
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}

/// How many of `files` are still busy (0 when all are archived).
fn busy_query(files: &[String]) -> String {
    let list = files
        .iter()
        .map(|f| format!("'{}'", f.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT count(*) FROM unnest(ARRAY[{list}]) AS f(name) \
         WHERE NOT EXISTS (SELECT 1 FROM pg_ls_archive_statusdir() s WHERE s.name = f.name || '.done') \
         AND (EXISTS (SELECT 1 FROM pg_ls_archive_statusdir() s WHERE s.name = f.name || '.ready') \
         OR EXISTS (SELECT 1 FROM pg_ls_waldir() w WHERE w.name = f.name))"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_file_is_named_as_postgres_names_it() {
        assert_eq!(
            history_file_name("000000010000000000000005", 0x28),
            "000000010000000000000005.00000028.backup"
        );
        assert_eq!(
            history_file_name("00000002000000000000001A", 0xFF_FFF8),
            "00000002000000000000001A.00FFFFF8.backup"
        );
    }

    #[test]
    fn busy_query_names_each_file_quoted() {
        let q = busy_query(&["a'b".to_string(), "c".to_string()]);
        assert!(q.contains("ARRAY['a''b', 'c']"), "{q}");
    }
}
