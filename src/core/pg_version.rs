//! A PostgreSQL server version, as `server_version_num` gives it (`150018`, `90624`): the
//! one place that knows how majors are encoded, so no caller divides by 10000 or compares
//! with a bare `90400`.

use std::fmt;

/// `server_version_num`. Ordered, so `version >= PgVersion::V12` reads as it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PgVersion(u32);

impl PgVersion {
    /// 9.1: `pause_at_recovery_target`.
    pub const V9_1: PgVersion = PgVersion(90100);
    /// 9.3: WAL segment names no longer skip `…FF`.
    pub const V9_3: PgVersion = PgVersion(90300);
    /// 9.4: `pg_start_backup`'s immediate targets, `recovery_target = 'immediate'`.
    pub const V9_4: PgVersion = PgVersion(90400);
    /// 9.5: `recovery_target_action`.
    pub const V9_5: PgVersion = PgVersion(90500);
    /// 9.6: concurrent (non-exclusive) backups.
    pub const V9_6: PgVersion = PgVersion(90600);
    /// 10: `pg_wal`, LSN targets, the `pg_*_wal*` function names.
    pub const V10: PgVersion = PgVersion(100000);
    /// 12: recovery settings in `postgresql.auto.conf` with signal files.
    pub const V12: PgVersion = PgVersion(120000);
    /// 13: `wal_keep_size`.
    pub const V13: PgVersion = PgVersion(130000);
    /// 14: `pg_backup_start` keeps `fast` as a named argument.
    pub const V14: PgVersion = PgVersion(140000);
    /// 15: exclusive backups removed, `pg_backup_start`/`pg_backup_stop`.
    pub const V15: PgVersion = PgVersion(150000);
    /// 17: incremental backups and WAL summaries.
    pub const V17: PgVersion = PgVersion(170000);

    /// From `server_version_num`.
    pub const fn from_num(num: u32) -> PgVersion {
        PgVersion(num)
    }

    /// From a signed `server_version_num` (as libpq and `backup.info` give it); a negative
    /// number reads as 0, older than every version.
    pub fn from_i64(num: i64) -> PgVersion {
        PgVersion(u32::try_from(num).unwrap_or(0))
    }

    /// `server_version_num` itself.
    pub fn num(self) -> u32 {
        self.0
    }

    /// The major number: 9 for 9.6, 15 for 15.
    pub fn major(self) -> u32 {
        self.0 / 10000
    }

    /// The version as PostgreSQL prints it: `15.18`, `9.6.24` (Barman's
    /// `int_version_to_string_version`).
    pub fn full_text(self) -> String {
        if self.major() < 10 {
            format!("{}.{}.{}", self.major(), self.0 / 100 % 100, self.0 % 100)
        } else {
            format!("{}.{}", self.major(), self.0 % 100)
        }
    }

    /// The major as Barman prints it (`version_major` in `backup_method`'s texts):
    /// `9.6` before 10, `15` from 10 on.
    pub fn major_text(self) -> String {
        if self.major() < 10 {
            format!("{}.{}", self.major(), self.0 / 100 % 100)
        } else {
            self.major().to_string()
        }
    }
}

impl fmt::Display for PgVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majors_and_their_texts() {
        assert_eq!(PgVersion::from_num(90624).major_text(), "9.6");
        assert_eq!(PgVersion::from_num(150018).major_text(), "15");
        assert_eq!(PgVersion::from_num(180001).major(), 18);
        assert!(PgVersion::from_num(90624) >= PgVersion::V9_6);
        assert!(PgVersion::from_num(90624) < PgVersion::V10);
        assert_eq!(PgVersion::from_i64(-1), PgVersion::from_num(0));
        assert_eq!(PgVersion::from_num(120005).to_string(), "120005");
        assert_eq!(PgVersion::from_num(150018).full_text(), "15.18");
        assert_eq!(PgVersion::from_num(90624).full_text(), "9.6.24");
    }
}
