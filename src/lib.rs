//! `barman`: a drop-in replacement for Barman, the Backup and Recovery Manager for PostgreSQL.
//!
//! Layers (dependency direction `cli → app → commands → {core, adapters, output}`):
//! - [`core`]: pure domain types and rules. No I/O, no clock, no environment.
//! - [`adapters`]: every external thing (files, locks, PostgreSQL, processes), one module each.
//! - [`output`]: everything the user sees; the only place that prints.
//! - [`commands`]: one module per command family, orchestrating the above.
//! - [`app`]: loads the configuration, builds the context, dispatches, maps errors to exit codes.
//! - [`cli`]: clap definitions only.

pub mod adapters;
pub mod app;
pub mod cli;
pub mod clients;
pub mod commands;
pub mod core;
pub mod error;
pub mod logging;
pub mod output;

pub use error::{Error, Result};

/// The version string Barman prints; we report the Barman release we are compatible with.
pub const BARMAN_VERSION: &str = "3.20.1";
