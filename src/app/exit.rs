//! The one place that turns errors into Barman's messages and exit codes.

use crate::error::ExitKind;
use crate::output::Output;
use crate::Error;
use std::process::ExitCode;

/// THE table of exit codes: Barman's (`close_and_exit`, `check --nagios`, `get-wal`) and
/// barman-cli's (`barman-wal-archive`, `barman-wal-restore`). Success is 0.
pub fn code(kind: ExitKind) -> u8 {
    match kind {
        ExitKind::Failure => 1,
        // clap exits 2 itself; the number is the same.
        ExitKind::Usage => 2,
        ExitKind::NagiosCritical => 2,
        ExitKind::GetWalRequest => 3,
        ExitKind::ArchiveClientUsage => 2,
        ExitKind::ArchiveClientSsh => 3,
        ExitKind::RestoreClientSsh => 2,
        ExitKind::RestoreClientDestination => 3,
        ExitKind::CloudOperation => 1,
        ExitKind::CloudNetwork => 2,
        ExitKind::CloudUsage => 3,
        ExitKind::CloudGeneral => 4,
        ExitKind::RemoteFailed(status) => status,
    }
}

/// The process exit code of `kind`.
pub fn exit_code(kind: ExitKind) -> ExitCode {
    ExitCode::from(code(kind))
}

/// How a `barman` run ends: the kind an error asked for, else failure when any error was
/// reported, else success.
pub fn of_run(out: &Output) -> ExitCode {
    match (out.exit_kind(), out.errored()) {
        (Some(kind), _) => exit_code(kind),
        (None, true) => exit_code(ExitKind::Failure),
        (None, false) => ExitCode::SUCCESS,
    }
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
