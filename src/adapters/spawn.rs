//! Starting our own binary in the background, as Barman's `BarmanSubProcess` does for
//! `cron`: `[<exe>, -c, <config>, -q, <subcommand>, <args>...]` in a new session, stdin on
//! `/dev/null`, stdout/stderr on `/dev/null` unless the descriptors are kept. Nobody waits
//! for the child: when cron exits, init adopts it.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

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
    tracing::debug!(target: "barman.command_wrappers", "BarmanSubProcess: {:?}", argv());
    let child = command.spawn().map_err(|source| SpawnError {
        argv: argv(),
        source,
    })?;
    tracing::debug!(
        target: "barman.command_wrappers",
        "BarmanSubProcess: subprocess started. pid: {}",
        child.id()
    );
    Ok(child.id())
}
