//! The crate error type: what a command can end with.
//!
//! Errors are typed in every layer and rendered once, at the edge (`app::exit`), as Barman
//! renders them: one `ERROR: <message>` line on stderr (or in `_ERROR` under `-f json`);
//! the exit code is decided there too (1, or the code an error asked for, e.g. get-wal's 3).

/// Why a program ends unsuccessfully. `app::exit::code` is the one table that turns each
/// into Barman's (or barman-cli's) number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitKind {
    /// Any error (Barman's `error_occurred`).
    Failure,
    /// Bad command-line usage (clap, Barman's argparse).
    Usage,
    /// `check --nagios` found a CRITICAL state, or global configuration errors.
    NagiosCritical,
    /// `get-wal`: a bad WAL name, or a file that cannot be opened.
    GetWalRequest,
    /// `barman-wal-archive`: bad arguments, or `put-wal` could not be started.
    ArchiveClientUsage,
    /// `barman-wal-archive`: ssh could not connect (ssh exit 255).
    ArchiveClientSsh,
    /// `barman-wal-restore`: ssh could not connect, or `get-wal` could not be started.
    RestoreClientSsh,
    /// `barman-wal-restore`: the destination is a folder or cannot be opened.
    RestoreClientDestination,
    /// barman-cloud tools: the cloud answered but the operation failed (`OperationErrorExit`).
    CloudOperation,
    /// barman-cloud tools: the cloud could not be reached (`NetworkErrorExit`).
    CloudNetwork,
    /// barman-cloud tools: bad command line (`CLIErrorExit`).
    CloudUsage,
    /// barman-cloud tools: any other failure (`GeneralErrorExit`).
    CloudGeneral,
    /// A client's remote command failed with this exit status (passed on as it is).
    RemoteFailed(u8),
}

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
    /// A lock file could not be taken for a reason other than busy or permission (those
    /// are reported by `commands::locks::take` in Barman's words).
    #[error(transparent)]
    Lock(#[from] crate::adapters::lock::LockError),
    /// The WAL catalog (`xlog.db`) could not be written.
    #[error(transparent)]
    XlogDb(#[from] crate::adapters::catalog::xlog_db::XlogDbWriteError),
    /// A configuration file could not be edited (`config-update`, `config-switch`).
    #[error(transparent)]
    ConfigEdit(#[from] crate::adapters::config_edit::EditError),
    /// A sub-process could not be started (`cron`'s detached commands).
    #[error(transparent)]
    Spawn(#[from] crate::adapters::spawn::SpawnError),
    /// The catalog on disk could not be read.
    #[error(transparent)]
    Catalog(#[from] crate::adapters::catalog::store::CatalogError),
}
