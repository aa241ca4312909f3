//! Pure domain types and rules: no `std::fs`, `std::process`, `std::net`, PostgreSQL, clock or
//! environment access (enforced by `tests/architecture.rs`). Time comes in as a parameter.

pub mod archive_plan;
pub mod archive_verify;
pub mod backup_id;
pub mod backup_info;
pub mod backup_manifest;
pub mod backup_record;
pub mod backup_wals;
pub mod checksums;
pub mod commit_index;
pub mod compression;
pub mod config;
pub mod config_update;
pub mod drill;
pub mod encryption;
pub mod escape;
pub mod export_tarball;
pub mod hooks;
pub mod identity;
pub mod lsn;
pub mod metrics;
pub mod path_rules;
pub mod pg_version;
pub mod py_literal;
pub mod recovery;
pub mod redact;
pub mod retention;
pub mod sync;
pub mod tar_time;
pub mod timeline;
pub mod wal_checksums;
pub mod wal_name;
pub mod wal_range;
pub mod wal_records;
pub mod wal_segment_size;
pub mod xlog_db;
