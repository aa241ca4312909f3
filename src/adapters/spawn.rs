//! Running external programs with Barman's debug log lines (its `command_wrappers.Command`
//! logs `Command: [argv]`, then the return code, stdout and stderr), and starting our own
//! binary in the background, as Barman's `BarmanSubProcess` does for `cron`:
//! `[<exe>, -c, <config>, -q, <subcommand>, <args>...]` in a new session, stdin on
//! `/dev/null`, stdout/stderr on `/dev/null` unless the descriptors are kept. Nobody waits
//! for the child: when cron exits, init adopts it.
//!
//! Passwords in an argv (a conninfo given to a PostgreSQL tool) are hidden by the log
//! formatter, which redacts every line (`crate::logging`).

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Output, Stdio};

/// Barman's logger for commands.
const TARGET: &str = "barman.command_wrappers";

/// Python's `repr()` of a command's argv list: `['rsync', '-e', "ssh -p 22"]`.
pub fn argv_repr(cmd: &Command) -> String {
    let words: Vec<String> = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|w| crate::core::py_literal::str_repr(&w.to_string_lossy()))
        .collect();
    format!("[{}]", words.join(", "))
}

/// Log `Command: [argv]` before starting `cmd`.
pub fn log_command(cmd: &Command) {
    if tracing::enabled!(target: TARGET, tracing::Level::DEBUG) {
        tracing::debug!(target: TARGET, "Command: {}", argv_repr(cmd));
    }
}

/// [`log_command`], then the command, for a chained `.spawn()`.
pub fn logged(cmd: &mut Command) -> &mut Command {
    log_command(cmd);
    cmd
}

/// Log how a command ended (`Command return code: N`; a signal shows as `None`).
pub fn log_status(status: &ExitStatus) {
    let code = status
        .code()
        .map_or_else(|| "None".to_string(), |c| c.to_string());
    tracing::debug!(target: TARGET, "Command return code: {code}");
}

/// Most of a command's output written to the log (an rsync listing of a big cluster runs
/// to megabytes; Barman logs it whole).
const LOGGED_OUTPUT: usize = 64 * 1024;

/// Log a finished command's return code and captured output.
pub fn log_output(out: &Output) {
    log_status(&out.status);
    if tracing::enabled!(target: TARGET, tracing::Level::DEBUG) {
        tracing::debug!(target: TARGET, "Command stdout: {}", log_text(&out.stdout));
        tracing::debug!(target: TARGET, "Command stderr: {}", log_text(&out.stderr));
    }
}

/// Output as logged: text, without the final newline, cut after [`LOGGED_OUTPUT`] bytes.
fn log_text(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(LOGGED_OUTPUT)];
    let mut text = String::from_utf8_lossy(shown)
        .trim_end_matches('\n')
        .to_string();
    if bytes.len() > shown.len() {
        text.push_str(&format!(" [... {} more bytes]", bytes.len() - shown.len()));
    }
    text
}

/// `cmd.output()` with the debug lines Barman logs around it.
///
/// # Errors
/// The program could not be started.
pub fn output(cmd: &mut Command) -> std::io::Result<Output> {
    log_command(cmd);
    let out = cmd.output();
    match &out {
        Ok(out) => log_output(out),
        Err(e) => tracing::debug!(target: TARGET, "Command failed to start: {e}"),
    }
    out
}

/// `cmd.status()` with the debug lines Barman logs around it.
///
/// # Errors
/// The program could not be started.
pub fn status(cmd: &mut Command) -> std::io::Result<ExitStatus> {
    log_command(cmd);
    let status = cmd.status();
    match &status {
        Ok(status) => log_status(status),
        Err(e) => tracing::debug!(target: TARGET, "Command failed to start: {e}"),
    }
    status
}

/// Make the child of `cmd` receive SIGTERM when its parent goes away, even by SIGKILL
/// (Linux `PR_SET_PDEATHSIG`), so a killed `barman` leaves no `pg_basebackup`,
/// `pg_receivewal`, rsync or ssh behind. Python Barman does not do this; its children
/// outlive it.
///
/// The kernel sends the signal when the *thread* that spawned the child exits, not the
/// process. Every caller spawns from a thread that then waits for the child (the command's
/// own thread, or an rsync worker thread that lives until its rsync ends), so the signal
/// only comes when that wait can no longer happen. Not for detached children
/// ([`barman_subprocess`]) nor for hook scripts, which Barman lets run to their end.
pub fn dies_with_parent(cmd: &mut Command) -> &mut Command {
    let parent = nix::unistd::getpid();
    // SAFETY: prctl(2) and getppid(2) are async-signal-safe and touch no parent memory.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGTERM as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died between fork and prctl: then nobody signals us.
            if nix::unistd::getppid() != parent {
                return Err(std::io::Error::other(
                    "parent exited before the child started",
                ));
            }
            Ok(())
        })
    }
}

/// A [`Command`] for `program` whose child dies with us ([`dies_with_parent`]): the one
/// constructor for children that run for the length of a command.
pub fn child_command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new(program);
    dies_with_parent(&mut cmd);
    cmd
}

/// Why a sub-process could not be started.
#[derive(Debug, thiserror::Error)]
#[error("cannot start barman sub-process {argv:?}: {source}")]
pub struct SpawnError {
    /// The command line.
    pub argv: Vec<String>,
    /// The OS error.
    pub source: std::io::Error,
}

/// Start `exe -c config -q subcommand args...` detached; returns the child's pid.
pub fn barman_subprocess(
    exe: &Path,
    config: &str,
    subcommand: &str,
    args: &[&str],
    keep_descriptors: bool,
) -> Result<u32, SpawnError> {
    let mut command = Command::new(exe);
    command
        .arg("-c")
        .arg(config)
        .arg("-q")
        .arg(subcommand)
        .args(args)
        .stdin(Stdio::null());
    if !keep_descriptors {
        command.stdout(Stdio::null()).stderr(Stdio::null());
    }
    // SAFETY: setsid(2) is async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            nix::unistd::setsid()
                .map(|_| ())
                .map_err(std::io::Error::from)
        });
    }
    let argv = || {
        let mut argv = vec![
            exe.display().to_string(),
            "-c".into(),
            config.into(),
            "-q".into(),
            subcommand.into(),
        ];
        argv.extend(args.iter().map(|a| a.to_string()));
        argv
    };
    tracing::debug!(target: TARGET, "BarmanSubProcess: {}", argv_repr(&command));
    let child = command.spawn().map_err(|source| SpawnError {
        argv: argv(),
        source,
    })?;
    tracing::debug!(
        target: TARGET,
        "BarmanSubProcess: subprocess started. pid: {}",
        child.id()
    );
    Ok(child.id())
}
