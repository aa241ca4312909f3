//! The crate error type: what a command can end with.
//!
//! Errors are typed in every layer and rendered once, at the edge (`app::exit`), as Barman
//! renders them: one `ERROR: <message>` line on stderr (or in `_ERROR` under `-f json`);
//! the exit code is decided there too (1, or the code an error asked for, e.g. get-wal's 3).

/// Result with the crate error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every error a command can end with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
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
    /// A pre retry hook script asked to stop (exit 63). Barman lets the exception end the
    /// command: `EXCEPTION: <text>\nSee log file for more details.`
    #[error("{0}")]
    HookAborted(String),
    /// Any other exception Barman lets reach `cli.main` (e.g. `generate-manifest` on a
    /// backup that already has a manifest): rendered like [`Error::HookAborted`].
    #[error("{0}")]
    Uncaught(String),
    /// The catalog on disk could not be read.
    #[error(transparent)]
    Catalog(#[from] crate::adapters::catalog::store::CatalogError),
}
