//! `receive-wal`: run `pg_receivewal` in the foreground into `streaming/` through the
//! server's replication slot (created when `create_slot = auto`), holding Barman's
//! `.<server>-receive-wal.lock` so `cron` and Python Barman see it running; and the slot
//! management options `--create-slot [--if-not-exists]`, `--drop-slot`, `--stop`.

use super::{select, status, Context};
use crate::adapters::lock::LockKind;
use crate::adapters::pg_tools;
use crate::adapters::postgres::{self, RemoteValue, SlotError};
use crate::commands::locks;
use crate::core::config::ServerConfig;
use crate::output::Output;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// The options of `receive-wal`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReceiveWalOptions {
    /// `--stop`.
    pub stop: bool,
    /// `--create-slot`.
    pub create_slot: bool,
    /// `--if-not-exists`.
    pub if_not_exists: bool,
    /// `--drop-slot`.
    pub drop_slot: bool,
    /// `--reset`.
    pub reset: bool,
}

/// Run `receive-wal`.
pub fn run(
    ctx: &Context,
    out: &mut Output,
    name: &str,
    options: ReceiveWalOptions,
) -> crate::Result<()> {
    let maintenance = options.stop || options.create_slot || options.drop_slot || options.reset;
    let policy = select::Policy {
        inactive_is_error: false,
        skip_inactive: !maintenance,
        disabled_is_error: true,
    };
    let Some(server) = select::single(&ctx.config, name, out, policy) else {
        return Ok(());
    };
    let lock_dir = PathBuf::from(&ctx.config.global.barman_lock_directory);
    if options.stop && options.reset {
        out.error("--stop and --reset options are not compatible");
    } else if options.stop {
        out.warning(&format!(
            "--stop is deprecated and will be removed in a future release. Use 'barman terminate-process {name} receive-wal' instead."
        ));
        // Barman's `receive-wal --stop` is `terminate-process <server> receive-wal`.
        super::processes::kill(ctx, server, "receive-wal", true, out);
    } else if options.create_slot {
        create_slot(out, server, options.if_not_exists);
    } else if options.drop_slot {
        drop_slot(out, server);
    } else {
        receive(ctx, out, server, &lock_dir, options.reset)?;
    }
    Ok(())
}

fn streaming_conninfo(server: &ServerConfig) -> &str {
    server
        .streaming_conninfo()
        .or(server.conninfo())
        .unwrap_or_default()
}

fn create_slot(out: &mut Output, server: &ServerConfig, if_not_exists: bool) {
    let Some(slot) = server.slot_name() else {
        out.error(
            "Unable to create a physical replication slot: slot_name configuration option required",
        );
        return;
    };
    out.info(&format!(
        "Creating physical replication slot '{slot}' on server '{}'",
        server.name()
    ));
    match postgres::create_slot(streaming_conninfo(server), slot) {
        Ok(()) => out.info(&format!("Replication slot '{slot}' created")),
        Err(SlotError::Exists) if if_not_exists => out.info(&format!(
            "Replication slot '{slot}' already exists and --if-not-exists was specified. Skipping creation"
        )),
        Err(SlotError::Exists) => out.error(&format!("Replication slot '{slot}' already exists")),
        Err(SlotError::Full) => out.error(&format!(
            "All replication slots for server '{}' are in use\nFree one or increase the max_replication_slots value on your PostgreSQL server.",
            server.name()
        )),
        Err(SlotError::Connect(reason)) => cannot_connect(out, server, &reason),
        Err(SlotError::Other(reason)) => out.error(&format!(
            "Cannot create replication slot '{slot}' on server '{}': {reason}",
            server.name()
        )),
        Err(SlotError::Missing | SlotError::InUse) => out.error(&format!(
            "Cannot create replication slot '{slot}' on server '{}'",
            server.name()
        )),
    }
}

/// Barman's message when the streaming connection fails (the reason goes to the log only).
fn cannot_connect(out: &mut Output, server: &ServerConfig, reason: &str) {
    let message = format!("Cannot connect to server '{}'", server.name());
    tracing::error!(target: "barman.server", "{message}: {reason}");
    out.error(&message);
}

fn drop_slot(out: &mut Output, server: &ServerConfig) {
    let Some(slot) = server.slot_name() else {
        out.error(
            "Unable to drop a physical replication slot: slot_name configuration option required",
        );
        return;
    };
    out.info(&format!(
        "Dropping physical replication slot '{slot}' on server '{}'",
        server.name()
    ));
    match postgres::drop_slot(streaming_conninfo(server), slot) {
        Ok(()) => out.info(&format!("Replication slot '{slot}' dropped")),
        Err(SlotError::Missing) => out.error(&format!("Replication slot '{slot}' does not exist")),
        Err(SlotError::InUse) => out.error(&format!(
            "Cannot drop replication slot '{slot}' on server '{}' because it is in use.",
            server.name()
        )),
        Err(SlotError::Connect(reason)) => cannot_connect(out, server, &reason),
        Err(SlotError::Other(reason)) => out.error(&format!(
            "Cannot drop replication slot '{slot}' on server '{}': {reason}",
            server.name()
        )),
        Err(SlotError::Exists | SlotError::Full) => out.error(&format!(
            "Cannot drop replication slot '{slot}' on server '{}'",
            server.name()
        )),
    }
}

/// The server's remote status as `status::remote_status` reports it.
type RemoteStatus = std::collections::BTreeMap<String, RemoteValue>;

fn receive(
    ctx: &Context,
    out: &mut Output,
    server: &ServerConfig,
    lock_dir: &std::path::Path,
    reset: bool,
) -> crate::Result<()> {
    let name = server.name();
    if !server.streaming_archiver() {
        out.error("Unable to start receive-wal process: streaming_archiver option set to 'off' in barman configuration file");
        return Ok(());
    }
    // Barman checks the connections first, quietly (the failures go to the log).
    let status = status::remote_status(server);
    if !crate::commands::check::wal_streaming_preflight(ctx, server, status.clone()) {
        out.error(&format!("Impossible to start WAL streaming. Check the log for more details, or run 'barman check {name}'"));
        return Ok(());
    }
    if !reset {
        out.info(&format!("Starting receive-wal for server {name}"));
    }
    let spec = if reset {
        &locks::RECEIVE_WAL_RESET
    } else {
        &locks::RECEIVE_WAL
    };
    let kind = LockKind::ReceiveWal(name.to_string());
    let Some(_lock) = locks::take(out, lock_dir, &kind, spec)? else {
        return Ok(());
    };
    let tool = pg_tools::version_info(&["pg_receivewal", "pg_receivexlog"], server.path_prefix());
    let Some(program) = tool.path else {
        out.error("pg_receivewal not present in $PATH");
        return Ok(());
    };
    if !slot_ready(out, server, &status, reset) {
        return Ok(());
    }
    let directory = PathBuf::from(server.streaming_dir());
    std::fs::create_dir_all(&directory).map_err(|source| crate::Error::Io {
        op: "create",
        path: directory.clone(),
        source,
    })?;
    let segment_size = match status.get("xlog_segment_size") {
        Some(RemoteValue::Plain(serde_json::Value::Number(n))) => n.as_u64(),
        _ => None,
    };
    if reset {
        reset_position(out, &directory, &status, segment_size);
        return Ok(());
    }
    truncate_partial_if_needed(out, &directory, segment_size);
    let command = receivewal_command(server, &program, &directory, &status);
    let exit = run_relaying(out, name, command, program)?;
    report_exit(out, exit);
    Ok(())
}

/// Whether the configured slot (if any) can be streamed from: it exists and is idle, or
/// `create_slot = auto` lets us create it now (not under `--reset`, which only moves files).
fn slot_ready(out: &mut Output, server: &ServerConfig, status: &RemoteStatus, reset: bool) -> bool {
    let Some(slot) = server.slot_name() else {
        return true;
    };
    match status.get("replication_slot") {
        Some(RemoteValue::Slot { active: true, .. }) => {
            out.error(&format!("replication slot '{slot}' is already in use"));
            false
        }
        Some(RemoteValue::Slot { .. }) => true,
        _ if server.create_slot() == Some("auto") => {
            if !reset {
                out.info(&format!("Creating replication slot '{slot}'"));
                create_slot(out, server, true);
            }
            true
        }
        _ => {
            out.error(&format!(
                "replication slot '{slot}' doesn't exist. Please execute 'barman receive-wal --create-slot {}'",
                server.name()
            ));
            false
        }
    }
}

/// The `pg_receivewal` invocation streaming into `directory` through the server's slot.
fn receivewal_command(
    server: &ServerConfig,
    program: &std::path::Path,
    directory: &std::path::Path,
    status: &RemoteStatus,
) -> std::process::Command {
    let app_name = server
        .streaming_archiver_name()
        .unwrap_or("barman_receive_wal");
    // The password (if any) goes to pg_receivewal's environment, never to its argv.
    let child_conninfo = crate::adapters::libpq::child_conninfo(streaming_conninfo(server));
    let mut args = vec![
        format!(
            "--dbname={} application_name={app_name}",
            child_conninfo.conninfo
        ),
        "--verbose".into(),
        "--no-loop".into(),
        "--no-password".into(),
        format!("--directory={}", directory.display()),
    ];
    if let Some(slot) = server.slot_name() {
        args.push(format!("--slot={slot}"));
    }
    if matches!(
        status.get("pg_receivexlog_synchronous"),
        Some(RemoteValue::Plain(serde_json::Value::Bool(true)))
    ) {
        args.push("--synchronous".into());
    }
    let mut command = crate::adapters::spawn::child_command(program);
    if let Some(password) = &child_conninfo.password {
        command.env("PGPASSWORD", password);
    }
    command.args(&args);
    crate::adapters::spawn::log_command(&command);
    command.env("PATH", pg_tools::search_path(server.path_prefix()));
    command
}

/// Run `pg_receivewal` in the foreground, relaying its stderr lines prefixed with the
/// server name, until it exits.
fn run_relaying(
    out: &mut Output,
    name: &str,
    mut command: std::process::Command,
    program: PathBuf,
) -> crate::Result<std::process::ExitStatus> {
    let io_error = |op: &'static str, path: &PathBuf| {
        let path = path.clone();
        move |source| crate::Error::Io { op, path, source }
    };
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(io_error("run", &program))?;
    forward_signals_to(child.id());
    // pg_receivewal reports on stderr; a thread reads it so that this one can repeat a
    // stop request while pg_receivewal lives (see `repeat_stop`).
    let (lines, received) = std::sync::mpsc::channel();
    if let Some(stderr) = child.stderr.take() {
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
    }
    let mut last_stop_request = None;
    loop {
        match received.recv_timeout(std::time::Duration::from_millis(250)) {
            Ok(line) => out.info(&format!("{name}: {line}")),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                repeat_stop(&mut child, &mut last_stop_request)
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let exit = child.wait().map_err(io_error("wait for", &program))?;
    crate::adapters::spawn::log_status(&exit);
    Ok(exit)
}

/// Once a stop was asked for, send SIGINT again each second while pg_receivewal runs.
/// A signal that lands between its check of the stop flag and its wait on the socket is
/// only seen when that wait ends, up to `--status-interval` (10 s) later: longer than
/// `receive-wal --stop` waits. A repeated SIGINT interrupts the wait itself.
fn repeat_stop(child: &mut std::process::Child, last: &mut Option<std::time::Instant>) {
    if !INTERRUPTED.load(Ordering::SeqCst) {
        return;
    }
    let now = std::time::Instant::now();
    let Some(previous) = *last else {
        // The handler sent the first one.
        *last = Some(now);
        return;
    };
    // try_wait reaps an exited child, so the pid signalled is still pg_receivewal's.
    if now.duration_since(previous) >= std::time::Duration::from_secs(1)
        && matches!(child.try_wait(), Ok(None))
    {
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
        *last = Some(now);
    }
}

/// Barman's words for how `pg_receivewal` ended: a signal we forwarded is a graceful stop.
fn report_exit(out: &mut Output, exit: std::process::ExitStatus) {
    if INTERRUPTED.load(Ordering::SeqCst) {
        out.info("SIGINT received. Terminate gracefully.");
        return;
    }
    match exit.code() {
        Some(0) => {}
        Some(code) => out.error(&format!("pg_receivewal terminated with error code: {code}")),
        None => {
            use std::os::unix::process::ExitStatusExt;
            let signal = exit.signal().unwrap_or(0);
            if signal == 2 || signal == 15 {
                out.info("SIGINT received. Terminate gracefully.");
            } else {
                out.error(&format!("pg_receivewal terminated by signal: {signal}"));
            }
        }
    }
}

/// The pid signals are forwarded to, and whether one arrived.
static CHILD: AtomicI32 = AtomicI32::new(0);
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// With the `failpoints` feature and `BARMAN_FAILPOINT=receive-wal.first-stop-lost`, the
/// first signal is not passed on, as when it lands in pg_receivewal's race (`repeat_stop`).
static LOSE_FIRST: AtomicBool = AtomicBool::new(false);

extern "C" fn forward(signal: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
    if LOSE_FIRST.swap(false, Ordering::SeqCst) {
        return;
    }
    let pid = CHILD.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill(2) is async-signal-safe; it only reads two integers.
        unsafe {
            libc::kill(pid, signal);
        }
    }
}

/// `terminate-process` and `receive-wal --stop` send SIGINT to us: pass it (and SIGTERM) on
/// to pg_receivewal so it stops cleanly instead of being orphaned.
fn forward_signals_to(pid: u32) {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    CHILD.store(pid as i32, Ordering::SeqCst);
    #[cfg(feature = "failpoints")]
    LOSE_FIRST.store(
        std::env::var("BARMAN_FAILPOINT").is_ok_and(|f| f == "receive-wal.first-stop-lost"),
        Ordering::SeqCst,
    );
    let action = SigAction::new(
        SigHandler::Handler(forward),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for signal in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: the handler only touches atomics and calls kill(2).
        let _ = unsafe { sigaction(signal, &action) };
    }
}

fn text(status: &RemoteStatus, key: &str) -> Option<String> {
    match status.get(key) {
        Some(RemoteValue::Plain(serde_json::Value::String(s))) => Some(s.clone()),
        Some(RemoteValue::Plain(serde_json::Value::Number(n))) => Some(n.to_string()),
        _ => None,
    }
}

/// `--reset`: put an empty `.partial` at the position PostgreSQL will stream from (the
/// slot's restart point, else the current WAL), as Barman's `_reset_streaming_status`.
fn reset_position(
    out: &mut Output,
    dir: &std::path::Path,
    status: &RemoteStatus,
    size: Option<u64>,
) {
    use crate::core::{
        lsn::Lsn, timeline::TimelineId, wal_name::WalSegmentName, wal_segment_size::WalSegmentSize,
    };
    let size = size
        .and_then(|s| WalSegmentSize::new(s).ok())
        .unwrap_or_default();
    let tli = text(status, "timeline")
        .and_then(|t| t.parse::<u32>().ok())
        .and_then(|t| TimelineId::new(t).ok());
    let current = text(status, "current_lsn").and_then(|l| l.parse::<Lsn>().ok());
    let (Some(tli), Some(current)) = (tli, current) else {
        out.error("Unable to read the current WAL position of the server");
        return;
    };
    let current_wal = WalSegmentName::from_lsn(current, tli, size).0.to_string();
    let restart_wal = match status.get("replication_slot") {
        Some(RemoteValue::Slot {
            restart_lsn: Some(lsn),
            ..
        }) => lsn
            .parse::<Lsn>()
            .map(|l| WalSegmentName::from_lsn(l, tli, size).0.to_string())
            .unwrap_or_else(|_| current_wal.clone()),
        _ => current_wal.clone(),
    };
    let restart_partial = format!("{restart_wal}.partial");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
                .collect()
        })
        .unwrap_or_default();
    names.sort_unstable_by(|a, b| b.cmp(a));
    let last = names.into_iter().find(|n| {
        matches!(
            n.parse::<crate::core::wal_name::WalFileName>(),
            Ok(crate::core::wal_name::WalFileName::Segment(_)
                | crate::core::wal_name::WalFileName::Partial(_))
        )
    });
    if last
        .as_deref()
        .is_none_or(|l| l == restart_partial || l == restart_wal)
    {
        out.info("Nothing to do. Position of receive-wal is aligned.");
        return;
    }
    let last = last.unwrap_or_default();
    if last.as_str() > current_wal.as_str() {
        out.error(&format!(
            "The receive-wal position is ahead of PostgreSQL current WAL lsn ({last} > {})",
            text(status, "current_xlog").unwrap_or_default()
        ));
        return;
    }
    out.info("Resetting receive-wal directory status");
    if last.ends_with(".partial") {
        let path = dir.join(&last);
        out.info(&format!("Removing status file {}", path.display()));
        let _ = std::fs::remove_file(&path);
    }
    let path = dir.join(&restart_partial);
    out.info(&format!("Creating status file {}", path.display()));
    let _ = std::fs::File::create(&path);
}

/// A `.partial` that is neither empty nor a whole segment is emptied before pg_receivewal
/// starts (it pads the file again), as Barman does.
fn truncate_partial_if_needed(out: &mut Output, dir: &std::path::Path, size: Option<u64>) {
    let Some(size) = size else { return };
    let last = std::fs::read_dir(dir)
        .ok()
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| {
            matches!(
                n.parse(),
                Ok(crate::core::wal_name::WalFileName::Partial(_))
            )
        })
        .max();
    let Some(last) = last else { return };
    let path = dir.join(&last);
    let Ok(meta) = std::fs::metadata(&path) else {
        return;
    };
    if meta.len() != 0 && meta.len() != size {
        out.info(&format!(
            "Truncating partial file {} that has wrong size {}",
            path.display(),
            meta.len()
        ));
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_len(0));
    }
}
