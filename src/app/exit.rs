//! The one place that turns errors into Barman's messages and exit codes.

use crate::output::Output;
use crate::{Error, ExitKind};
use std::process::ExitCode;

/// The process exit code of an exit kind (Barman's codes: 1 failure, 2 usage, 3 bad WAL name).
pub fn code(kind: ExitKind) -> ExitCode {
    ExitCode::from(match kind {
        ExitKind::Failure => 1,
        ExitKind::Usage => 2,
        ExitKind::BadWalName => 3,
    })
}

/// Render a command's final error the way Barman does: one `ERROR: <message>` line (or an
/// `_ERROR` entry under `-f json`), which also marks the run as failed.
pub fn report(out: &mut Output, err: &Error) {
    out.error(&err.to_string());
}
