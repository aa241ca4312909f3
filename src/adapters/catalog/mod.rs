//! The on-disk catalog of a server: directory layout, backup.info files, xlog.db.

pub mod annotations;
pub mod backup_dir;
pub mod commit_index;
pub mod incoming;
pub mod layout;
pub mod manifest;
pub mod stats;
pub mod store;
pub mod wal_archive;
pub mod wal_checksums;
pub mod wal_commit;
pub mod wal_removal;
pub mod xlog_db;
