//! The companion programs installed with `barman` (Barman's `barman-cli`):
//! `barman-wal-archive` (archive_command) and `barman-wal-restore` (restore_command).

pub mod wal_archive;
pub mod wal_restore;
