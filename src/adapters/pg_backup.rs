//! The PostgreSQL side of a base backup: server facts recorded in `backup.info`, the
//! concurrent low-level API (`pg_backup_start` / `pg_backup_stop`, or the `pg_start_backup` /
//! `pg_stop_backup` forms before PostgreSQL 15) held in ONE session from start to stop, the
//! exclusive API of PostgreSQL 14 and older (`pg_start_backup(label, fast)` /
//! `pg_stop_backup()`, PostgreSQL writing `backup_label` into PGDATA), the current WAL
//! position, `pg_switch_wal()` and the restore point Barman creates afterwards.
//! Queries are Barman's (`barman/postgres.py`), so the recorded values are the same.

use crate::adapters::postgres::{parse_pg_time, Session};
use crate::core::lsn::Lsn;
use crate::core::pg_version::PgVersion;
use chrono::{DateTime, FixedOffset};

mod archive_wait;

/// A failed step, with PostgreSQL's message.
#[derive(Debug, thiserror::Error)]
pub enum PgBackupError {
    /// The connection could not be opened.
    #[error("{0}")]
    Connect(String),
    /// A step failed with a message of its own (Barman's wording, no PostgreSQL text).
    #[error("{0}")]
    Failed(String),
    /// A query failed.
    #[error("{step}: {message}")]
    Query {
        /// What we asked (Barman's wording where it has one).
        step: String,
        /// PostgreSQL's error text.
        message: String,
    },
}

/// One tablespace: name, oid, location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tablespace {
    /// `spcname`.
    pub name: String,
    /// `oid`.
    pub oid: u32,
    /// `pg_tablespace_location(oid)`.
    pub location: String,
}

/// What Barman's `_pg_get_metadata` records before a backup starts.
#[derive(Debug, Clone)]
pub struct ServerFacts {
    /// `data_directory`.
    pub pgdata: String,
    /// `server_version_num`.
    pub version: PgVersion,
    /// `wal_segment_size` in bytes.
    pub xlog_segment_size: u64,
    /// `config_file`, `hba_file`, `ident_file` (whichever PostgreSQL reports).
    pub config_files: Vec<(String, String)>,
    /// Files included from `postgresql.conf` (`sourcefile` other than config_file).
    pub included_files: Vec<String>,
    /// Tablespaces with a location.
    pub tablespaces: Vec<Tablespace>,
    /// `data_checksums` (`on`/`off`).
    pub data_checksums: Option<String>,
    /// `summarize_wal` on PostgreSQL 17 and later.
    pub summarize_wal: Option<String>,
    /// `sum(pg_tablespace_size(oid))` (a numeric: Barman stores the integer text).
    pub cluster_size: Option<String>,
    /// `pg_is_in_recovery()`.
    pub in_recovery: bool,
    /// `pg_control_system().system_identifier`.
    pub systemid: Option<String>,
}

/// The result of a start or stop of a backup, or of a current-position query.
#[derive(Debug, Clone)]
pub struct Position {
    /// The LSN.
    pub location: Lsn,
    /// The timeline PostgreSQL reported (start/stop), if any.
    pub timeline: Option<u32>,
    /// `pg_walfile_name_offset()` when PostgreSQL computed it.
    pub file_name: Option<String>,
    /// Offset inside `file_name`.
    pub file_offset: Option<u64>,
    /// `now()` in the session's time zone.
    pub timestamp: DateTime<FixedOffset>,
    /// The backup label returned by a concurrent stop.
    pub backup_label: Option<String>,
}

/// One session used for the whole backup.
pub struct BackupSession {
    session: Session,
    /// Where the concurrent backup of this session started: the backup history file
    /// PostgreSQL archives at the stop is named after it.
    started_at: Option<Lsn>,
}

fn query_error(step: &str, e: impl std::fmt::Display) -> PgBackupError {
    PgBackupError::Query {
        step: step.to_string(),
        message: e.to_string().trim().to_string(),
    }
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

impl BackupSession {
    /// Connect with the server's `conninfo`.
    pub fn connect(conninfo: &str) -> Result<BackupSession, PgBackupError> {
        Session::open(conninfo)
            .map(|session| BackupSession {
                session,
                started_at: None,
            })
            .map_err(|e| PgBackupError::Connect(e.message))
    }

    /// `server_version_num`.
    pub fn version(&self) -> PgVersion {
        self.session.version
    }

    fn rows(&mut self, step: &str, sql: &str) -> Result<Vec<Vec<Option<String>>>, PgBackupError> {
        self.session
            .rows(sql)
            .map_err(|e| query_error(step, e.message))
    }

    fn one(&mut self, step: &str, sql: &str) -> Result<Vec<Option<String>>, PgBackupError> {
        self.rows(step, sql)?
            .into_iter()
            .next()
            .ok_or_else(|| query_error(step, "no row returned"))
    }

    /// Everything `_pg_get_metadata` reads.
    pub fn facts(&mut self) -> Result<ServerFacts, PgBackupError> {
        let step = "detecting data directory";
        let pgdata = self
            .session
            .setting("data_directory")
            .ok_or_else(|| query_error(step, "cannot read data_directory"))?;
        let segment = self.one(
            "reading wal_segment_size",
            "SELECT setting::bigint * CASE unit WHEN '8kB' THEN 8192 WHEN 'MB' THEN 1048576 ELSE 1 END \
             FROM pg_settings WHERE name = 'wal_segment_size'",
        )?;
        let xlog_segment_size = segment
            .first()
            .cloned()
            .flatten()
            .and_then(|v| v.parse().ok())
            .unwrap_or(16 * 1024 * 1024);
        let config_files = self
            .rows(
                "reading configuration files",
                "SELECT name, setting FROM pg_settings \
                 WHERE name IN ('config_file', 'hba_file', 'ident_file')",
            )?
            .into_iter()
            .filter_map(|r| Some((r.first()?.clone()?, r.get(1)?.clone()?)))
            .collect();
        let included_files = self
            .rows(
                "reading configuration files",
                "SELECT DISTINCT sourcefile AS included_file FROM pg_settings \
                 WHERE sourcefile IS NOT NULL AND sourcefile NOT IN \
                 (SELECT setting FROM pg_settings WHERE name = 'config_file') ORDER BY 1",
            )
            .unwrap_or_default()
            .into_iter()
            .filter_map(|r| r.into_iter().next().flatten())
            .collect();
        let tablespaces = self
            .rows(
                "detecting tablespaces",
                "SELECT spcname, oid, pg_tablespace_location(oid) AS spclocation \
                 FROM pg_tablespace WHERE pg_tablespace_location(oid) != ''",
            )?
            .into_iter()
            .filter_map(|r| {
                Some(Tablespace {
                    name: r.first()?.clone()?,
                    oid: r.get(1)?.as_deref()?.parse().ok()?,
                    location: r.get(2)?.clone()?,
                })
            })
            .collect();
        let data_checksums = self.session.setting("data_checksums");
        let summarize_wal = if self.session.version >= PgVersion::V17 {
            self.session.setting("summarize_wal")
        } else {
            None
        };
        let cluster_size = self
            .session
            .text("SELECT sum(pg_tablespace_size(oid)) FROM pg_tablespace");
        let in_recovery = self.session.flag("SELECT pg_is_in_recovery()") == Some(true);
        let systemid = self
            .session
            .text("SELECT system_identifier::text FROM pg_control_system()");
        Ok(ServerFacts {
            pgdata,
            version: self.session.version,
            xlog_segment_size,
            config_files,
            included_files,
            tablespaces,
            data_checksums,
            summarize_wal,
            cluster_size,
            in_recovery,
            systemid,
        })
    }

    /// `current_xlog_info`: the current WAL position, with PostgreSQL's own file name and
    /// offset (on a primary), as the postgres method records its start and stop.
    pub fn current_position(&mut self) -> Result<Position, PgBackupError> {
        let step = "reading the current WAL position";
        let row = if self.is_in_recovery() {
            self.one(
                step,
                "SELECT location, NULL AS file_name, NULL AS file_offset, CURRENT_TIMESTAMP AS timestamp \
                 FROM pg_last_wal_replay_lsn() AS location",
            )?
        } else {
            self.one(
                step,
                "SELECT location, (pg_walfile_name_offset(location)).*, CURRENT_TIMESTAMP AS timestamp \
                 FROM pg_current_wal_lsn() AS location",
            )?
        };
        named_position(step, &row)
    }

    fn is_in_recovery(&mut self) -> bool {
        self.session.flag("SELECT pg_is_in_recovery()") == Some(true)
    }

    /// Start a concurrent backup (`pg_backup_start(label, fast)`; `pg_start_backup(label,
    /// fast, FALSE)` before 15). The session must stay open until [`Self::stop_concurrent`].
    pub fn start_concurrent(
        &mut self,
        label: &str,
        immediate: bool,
    ) -> Result<Position, PgBackupError> {
        let v = self.session.version;
        let step = if v >= PgVersion::V15 {
            "pg_backup_start command"
        } else {
            "pg_start_backup command"
        };
        if v >= PgVersion::V14 {
            // pg_backup_start and pg_backup_stop must run in the same session: an
            // idle_session_timeout shorter than the copy would abort the backup.
            self.session
                .rows("SET idle_session_timeout TO 0")
                .map_err(|e| query_error(step, e.message))?;
        }
        let (function, args) = if v >= PgVersion::V15 {
            (
                "pg_backup_start",
                format!("{}, {}", quote(label), immediate),
            )
        } else {
            (
                "pg_start_backup",
                format!("{}, {}, FALSE", quote(label), immediate),
            )
        };
        let sql = format!(
            "SELECT location, (SELECT timeline_id FROM pg_control_checkpoint()) AS timeline, \
             now() AS timestamp FROM {function}({args}) AS location"
        );
        let row = self.one(step, &sql)?;
        let position = position_from(step, &row, Some(1), Some(2))?;
        self.started_at = Some(position.location);
        Ok(position)
    }

    /// Stop the concurrent backup started in this session and wait, as Barman does, until
    /// PostgreSQL has archived the WAL the backup needs. PostgreSQL's own wait re-checks once
    /// a second, so it costs a whole second even when the archiver is done in 50 ms; where
    /// the session may list `pg_wal` (see [`archive_wait`]) we ask PostgreSQL not to wait and
    /// poll the same condition ourselves, as pgBackRest does.
    pub fn stop_concurrent(&mut self) -> Result<Position, PgBackupError> {
        let v = self.session.version;
        let poll_from = match self.started_at {
            Some(start) if archive_wait::can_poll(&mut self.session) => Some(start),
            _ => None,
        };
        let (step, call) = match (v >= PgVersion::V15, poll_from.is_some()) {
            (true, false) => ("pg_backup_stop command", "pg_backup_stop()"),
            (true, true) => (
                "pg_backup_stop command",
                "pg_backup_stop(wait_for_archive => false)",
            ),
            (false, false) => ("pg_stop_backup command", "pg_stop_backup(FALSE)"),
            (false, true) => ("pg_stop_backup command", "pg_stop_backup(FALSE, FALSE)"),
        };
        if v >= PgVersion::V14 {
            self.session
                .rows("RESET idle_session_timeout")
                .map_err(|e| query_error(step, e.message))?;
        }
        let sql = format!(
            "SELECT end_row.lsn AS location, (SELECT CASE WHEN pg_is_in_recovery() \
             THEN min_recovery_end_timeline ELSE timeline_id END \
             FROM pg_control_checkpoint(), pg_control_recovery()) AS timeline, \
             end_row.labelfile AS backup_label, now() AS timestamp FROM {call} AS end_row"
        );
        let row = self.one(step, &sql)?;
        let mut position = position_from(step, &row, Some(1), Some(3))?;
        position.backup_label = row.get(2).cloned().flatten();
        if let Some(start) = poll_from {
            archive_wait::until_archived(&mut self.session, start, position.location)
                .map_err(|e| query_error(step, e))?;
        }
        Ok(position)
    }

    /// Start an exclusive backup (`pg_start_backup(label, fast)`, PostgreSQL 14 and older):
    /// PostgreSQL writes `backup_label` into PGDATA and computes the start WAL file and
    /// offset itself, as Barman's `start_exclusive_backup` asks. Refused on 15 and later,
    /// where the exclusive API no longer exists (Barman's `PostgresObsoleteFeature`).
    pub fn start_exclusive(
        &mut self,
        label: &str,
        immediate: bool,
    ) -> Result<Position, PgBackupError> {
        let step = "pg_start_backup()";
        if self.session.version >= PgVersion::V15 {
            return Err(query_error(step, "15"));
        }
        let sql = format!(
            "SELECT location, (pg_walfile_name_offset(location)).*, now() AS timestamp \
             FROM pg_start_backup({}, {immediate}) AS location",
            quote(label)
        );
        let row = self.one(step, &sql)?;
        named_position(step, &row)
    }

    /// Stop the exclusive backup (`pg_stop_backup()`): PostgreSQL switches WAL, waits for
    /// archiving and renames `backup_label` to `backup_label.old` in PGDATA. Any failure is
    /// Barman's one message (the cause is only logged).
    pub fn stop_exclusive(&mut self) -> Result<Position, PgBackupError> {
        let failed = || {
            PgBackupError::Failed(
                "Cannot terminate exclusive backup. You might have to manually execute \
                 pg_stop_backup on your PostgreSQL server"
                    .into(),
            )
        };
        if self.session.version >= PgVersion::V15 {
            return Err(failed());
        }
        let sql = "SELECT location, (pg_walfile_name_offset(location)).*, now() AS timestamp \
                   FROM pg_stop_backup() AS location";
        let row = self.one("pg_stop_backup", sql).map_err(|e| {
            tracing::debug!(target: "barman.postgres", "Error issuing pg_stop_backup command: {e}");
            failed()
        })?;
        named_position("pg_stop_backup", &row).map_err(|_| failed())
    }

    /// `pg_switch_wal()`, skipped on a standby (Barman ignores `PostgresIsInRecovery`).
    pub fn switch_wal(&mut self) -> Result<(), PgBackupError> {
        if self.is_in_recovery() {
            return Ok(());
        }
        self.rows("pg_switch_wal", "SELECT pg_switch_wal()")
            .map(|_| ())
    }

    /// `pg_create_restore_point(name)`; Barman only logs a failure.
    pub fn create_restore_point(&mut self, name: &str) -> Result<(), PgBackupError> {
        if self.is_in_recovery() {
            return Ok(());
        }
        let sql = format!("SELECT pg_create_restore_point({})", quote(name));
        self.rows("pg_create_restore_point", &sql).map(|_| ())
    }

    /// A trivial query that keeps the session alive through firewalls during a long copy.
    pub fn keepalive(&mut self) -> Result<(), PgBackupError> {
        self.rows("keepalive", "SELECT 1").map(|_| ())
    }
}

/// A row of `location, file_name, file_offset, timestamp` (the current position and the
/// exclusive API's queries).
fn named_position(step: &str, row: &[Option<String>]) -> Result<Position, PgBackupError> {
    let mut position = position_from(step, row, None, Some(3))?;
    position.file_name = row.get(1).cloned().flatten();
    position.file_offset = row.get(2).cloned().flatten().and_then(|o| o.parse().ok());
    Ok(position)
}

fn position_from(
    step: &str,
    row: &[Option<String>],
    timeline_column: Option<usize>,
    timestamp_column: Option<usize>,
) -> Result<Position, PgBackupError> {
    let location: Lsn = row
        .first()
        .cloned()
        .flatten()
        .and_then(|l| l.parse().ok())
        .ok_or_else(|| query_error(step, "no WAL location returned"))?;
    let timeline = timeline_column
        .and_then(|c| row.get(c).cloned().flatten())
        .and_then(|t| t.parse().ok());
    let timestamp = timestamp_column
        .and_then(|c| row.get(c).cloned().flatten())
        .and_then(|t| parse_pg_time(&t))
        .ok_or_else(|| query_error(step, "no timestamp returned"))?;
    Ok(Position {
        location,
        timeline,
        file_name: None,
        file_offset: None,
        timestamp,
        backup_label: None,
    })
}
