//! The one place that turns errors into Barman's messages and exit codes.

use crate::output::Output;
use crate::Error;
use std::process::ExitCode;

/// Barman's exit code for any error (`close_and_exit` with `error_occurred`). Usage errors
/// exit 2 through clap, get-wal's bad names 3 through `Output::error_with_code`.
pub fn failure() -> ExitCode {
    ExitCode::from(1)
}

/// Render a command's final error the way Barman does: one `ERROR: <message>` line (or an
/// `_ERROR` entry under `-f json`), which also marks the run as failed.
pub fn report(out: &mut Output, err: &Error) {
    match err {
        // An exception Barman does not catch: `cli.main` prints it this way.
        Error::HookAborted(text) | Error::Uncaught(text) => {
            out.exception(&format!("{text}\nSee log file for more details."));
        }
        _ => out.error(&err.to_string()),
    }
}
