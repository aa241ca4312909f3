//! The one integration-test binary: real PostgreSQL clusters, a real sshd, the real Python
//! Barman, and our `barman` binary, together.

// `clippy::unwrap_used` is denied in src/ only: a test helper that cannot set up panics.
#![allow(clippy::unwrap_used)]

mod harness;

mod archive_wal;
mod archive_wal_batch;
mod archive_wal_temps;
mod archived_range;
mod backup;
mod backup_archive_wait;
mod catalog;
mod catalog_generated;
mod check;
mod check_wal_archive;
mod cli_config;
mod cli_output;
mod cloud_backup;
mod cloud_backups_barman;
mod cloud_barman;
mod cloud_barman_pg;
mod cloud_catalog;
mod cloud_credentials;
mod cloud_object_lock;
mod cloud_postgres_method;
mod cloud_restore;
mod cloud_sse_c;
mod cloud_wal;
mod codecs;
mod commit_index;
mod compare_servers;
mod config_models;
mod connections;
mod debug_log;
mod delta_restore;
mod demo;
mod diagnose;
mod drill;
mod encryption;
mod encryption_restore;
mod export_import;
mod export_import_bad;
mod geo;
mod get_wal;
mod hardening;
mod hardening_children;
mod hardening_putwal;
mod harness_selftest;
mod incremental;
mod locks;
mod majors;
mod majors_paths;
mod manifests;
mod metrics;
mod native_restore;
mod ops_cron;
mod ops_hooks;
mod ops_retention;
mod package;
mod put_wal;
mod receive_wal;
mod recover;
mod seed_guide;
mod verify_archive;
mod wal_clients;
