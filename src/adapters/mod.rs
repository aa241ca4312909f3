//! Adapters: all I/O. Each module owns one external thing and returns typed errors with
//! context. Adapters never print.

pub mod catalog;
pub mod cloud;
pub mod codec;
pub mod config_edit;
pub mod config_files;
pub mod destination;
pub mod durable;
pub mod export_tar;
pub mod gpg;
pub mod hooks;
pub mod hostname;
pub mod interrupt;
pub mod libpq;
pub mod libpq_api;
pub mod lock;
pub mod pg_backup;
pub mod pg_combinebackup;
pub mod pg_tools;
pub mod postgres;
pub mod postgres_checks;
pub mod privileges;
pub mod rsync;
pub mod scratch_cluster;
pub mod signals;
pub mod spawn;
pub mod system_info;
pub mod tree_copy;
pub mod untar;
pub mod writeback;
