//! The crate error type and the small set of exit kinds it maps to.
//!
//! Errors are typed in every layer and rendered once, at the edge (`app::exit`), as Barman
//! renders them: one `ERROR: <message>` line on stderr (or in `_ERROR` under `-f json`).

/// Result with the crate error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How a failure maps to a process exit code (decided in one table, `app::exit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitKind {
    /// Ordinary failure: exit 1, as Barman's `close_and_exit()` with `error_occurred`.
    Failure,
    /// Command-line usage error: exit 2 (argparse).
    Usage,
    /// `get-wal` given a name that is not a WAL, or an unwritable output: exit 3.
    BadWalName,
}

/// Every error a command can end with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Configuration could not be loaded or is invalid.
    #[error("{0}")]
    Config(String),
    /// A fatal message Barman prints verbatim (e.g. `SystemExit` texts).
    #[error("{0}")]
    Fatal(String),
    /// A filesystem operation failed.
    #[error("{op} '{path}': {source}")]
    Io {
        /// What we were doing (`open`, `rename`, ...).
        op: &'static str,
        /// The path involved.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The catalog on disk could not be read.
    #[error(transparent)]
    Catalog(#[from] crate::adapters::catalog::store::CatalogError),
    /// A server name that no configuration section defines.
    #[error("Unknown server '{0}'")]
    UnknownServer(String),
}

impl Error {
    /// The exit kind of this error.
    pub fn kind(&self) -> ExitKind {
        ExitKind::Failure
    }
}
