//! The check catalogue of one server in Barman's order (`Server.check`), run under the
//! `check_timeout` bound: the checks run on a worker thread that reports each result as it
//! is known, so a check stuck on the network is abandoned when the time is up and the
//! results already known are kept, as Barman's SIGALRM does.

use super::result::CheckResult;
use super::{archive, cloud, encryption, executor, local, remote};
use crate::adapters::catalog::layout::ServerDirs;
use crate::adapters::postgres::RemoteValue;
use crate::commands::Context;
use crate::core::config::ServerConfig;
use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What a running catalogue tells its caller.
pub(super) enum Step {
    /// A check started (kept to name the check that timed out in the log).
    Init(String),
    /// A check finished.
    Done(CheckResult),
}

/// Barman's `CheckStrategy`: remembers the running check so a result can be given
/// without repeating its name.
pub(super) struct Recorder<'a> {
    server: &'a str,
    running: Option<String>,
    sink: &'a mut dyn FnMut(Step),
}

impl Recorder<'_> {
    /// Start a check.
    pub(super) fn init(&mut self, name: &str) {
        tracing::debug!(target: "barman.server", "Starting check: '{name}'");
        self.running = Some(name.to_string());
        (self.sink)(Step::Init(name.to_string()));
    }

    /// The result of the running check.
    pub(super) fn result(&mut self, ok: bool, hint: Option<String>) {
        let name = self.running.clone().unwrap_or_default();
        self.push(CheckResult::new(&name, ok, hint));
    }

    /// A result under an explicit name (Barman's `check=` keyword).
    pub(super) fn result_as(&mut self, name: &str, ok: bool, hint: Option<String>) {
        self.push(CheckResult::new(name, ok, hint));
    }

    /// Record a complete result.
    pub(super) fn push(&mut self, result: CheckResult) {
        if result.ok {
            tracing::debug!(
                target: "barman.server",
                "Check '{}' succeeded for server '{}'",
                result.name,
                self.server
            );
        }
        self.running = None;
        (self.sink)(Step::Done(result));
    }
}

/// What the checks of one server share: the configuration, its catalog paths and the
/// remote status (read once, when the first check needs it, as Barman caches it).
pub(super) struct Probe<'a> {
    pub ctx: &'a Context,
    pub server: &'a ServerConfig,
    pub dirs: ServerDirs,
    pub check_timeout: u64,
    /// The checks run before a backup: the `ssh` check opens the master connection the
    /// backup's own ssh calls then share (see `control_dir::BACKUP_PERSIST_SECONDS`).
    pub share_ssh: bool,
    remote: Option<Remote>,
}

impl Probe<'_> {
    /// Barman opens PostgreSQL connections only for active, non-passive servers.
    pub fn has_postgres(&self) -> bool {
        self.server.active() && !self.server.passive_node() && self.server.conninfo().is_some()
    }

    /// The server's remote status (empty for inactive and passive servers).
    pub fn remote(&mut self) -> &Remote {
        let server = self.server;
        self.remote.get_or_insert_with(|| {
            if server.active() && !server.passive_node() {
                Remote(crate::commands::status::remote_status(server))
            } else {
                Remote(BTreeMap::new())
            }
        })
    }
}

/// The remote status with Python's truthiness rules.
pub(super) struct Remote(pub BTreeMap<String, RemoteValue>);

impl Remote {
    /// The key is present (even when its value is None).
    pub fn has(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// A text value (None, and absent, give `None`).
    pub fn text(&self, key: &str) -> Option<String> {
        match self.0.get(key)? {
            RemoteValue::Plain(serde_json::Value::Null) => None,
            RemoteValue::Plain(serde_json::Value::String(s)) => Some(s.clone()),
            other => Some(other.python_str()),
        }
    }

    /// A boolean value (`None` when unknown).
    pub fn flag(&self, key: &str) -> Option<bool> {
        match self.0.get(key)? {
            RemoteValue::Plain(serde_json::Value::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    /// The value of a key.
    pub fn get(&self, key: &str) -> Option<&RemoteValue> {
        self.0.get(key)
    }
}

/// receive-wal's preflight (Barman's `_check_wal_streaming_preflight` under a default
/// `CheckStrategy`) on `remote`, the server's remote status: whether every check passed.
/// Each failure is logged as Barman logs it ("Check '...' failed for server '...'").
pub fn wal_streaming_preflight(
    ctx: &Context,
    server: &ServerConfig,
    remote: BTreeMap<String, RemoteValue>,
) -> bool {
    let mut passed = true;
    let mut sink = |step: Step| {
        if let Step::Done(result) = step {
            if !result.ok {
                tracing::error!(target: "barman.server", "Check '{}' failed for server '{}'", result.name, server.name());
                passed = false;
            }
        }
    };
    let mut rec = Recorder {
        server: server.name(),
        running: None,
        sink: &mut sink,
    };
    let probe = Probe {
        ctx,
        server,
        dirs: crate::commands::status::server_dirs(server),
        check_timeout: 0,
        share_ssh: false,
        remote: None,
    };
    remote::wal_streaming_preflight(&probe, &Remote(remote), &mut rec);
    passed
}

/// Run every check of `server` in Barman's order, giving each step to `sink`.
fn catalogue(
    ctx: &Context,
    server: &ServerConfig,
    check_timeout: u64,
    share_ssh: bool,
    sink: &mut dyn FnMut(Step),
) {
    let mut rec = Recorder {
        server: server.name(),
        running: None,
        sink,
    };
    let mut probe = Probe {
        ctx,
        server,
        dirs: crate::commands::status::server_dirs(server),
        check_timeout,
        share_ssh,
        remote: None,
    };
    let rec = &mut rec;
    let p = &mut probe;
    archive::check_archive(p, rec);
    if server.active() && !server.passive_node() {
        remote::check_postgres(p, rec);
        remote::check_wal_streaming(p, rec);
    }
    local::check_directories(p, rec);
    local::check_retention_policy_settings(p, rec);
    local::check_backup_validity(p, rec);
    encryption::check_encryption(p, rec);
    cloud::check_cloud_storage(p, rec);
    local::check_wal_validity(p, rec);
    local::check_backup_manager(p, rec);
    local::check_unreadable_backups(p, rec);
    executor::check(p, rec);
    local::check_configuration(p, rec);
    remote::check_identity(p, rec);
    if server.active() {
        archive::check_archivers(p, rec);
    }
    local::check_archiver_errors(p, rec);
    super::drill::check_drill_age(p, rec);
}

/// Run the catalogue for `server` within `timeout` seconds (0: no limit), giving each
/// result to `on_result` as soon as it is known. When the time is up a `check timeout`
/// failure is given and the unfinished checks are abandoned.
pub fn run_bounded(
    ctx: &Context,
    server: &ServerConfig,
    timeout: u64,
    on_result: &mut dyn FnMut(CheckResult),
) {
    bounded(ctx, server, timeout, false, on_result);
}

/// [`run_bounded`], with the `ssh` check sharing its connection when `share_ssh`.
fn bounded(
    ctx: &Context,
    server: &ServerConfig,
    timeout: u64,
    share_ssh: bool,
    on_result: &mut dyn FnMut(CheckResult),
) {
    let (tx, rx) = mpsc::channel::<Step>();
    let owned_ctx = Context {
        config: ctx.config.clone(),
        now: ctx.now,
    };
    let owned_server = server.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("check-{}", server.name()))
        .spawn(move || {
            let mut send = |step: Step| {
                // The receiver is gone when the check timed out: nothing left to report.
                let _ = tx.send(step);
            };
            catalogue(&owned_ctx, &owned_server, timeout, share_ssh, &mut send);
        });
    if spawned.is_err() {
        // No thread available: run in place, without the bound.
        catalogue(ctx, server, timeout, share_ssh, &mut |step| {
            if let Step::Done(result) = step {
                on_result(result);
            }
        });
        return;
    }
    let deadline = (timeout > 0).then(|| Instant::now() + Duration::from_secs(timeout));
    let mut running: Option<String> = None;
    loop {
        let step = match deadline {
            None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
            Some(deadline) => rx.recv_timeout(deadline.saturating_duration_since(Instant::now())),
        };
        match step {
            Ok(Step::Init(name)) => running = Some(name),
            Ok(Step::Done(result)) => {
                running = None;
                on_result(result);
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                tracing::info!(
                    target: "barman.server",
                    "Check command timed out executing '{}' check",
                    running.as_deref().unwrap_or("None")
                );
                on_result(CheckResult::new(
                    "check timeout",
                    false,
                    Some("barman check command timed out".into()),
                ));
                return;
            }
        }
    }
}

/// Every check of `server` (bounded by its `check_timeout`), for `barman backup`, which
/// refuses to start when a check that [`super::is_critical`] fails.
pub fn run_checks(ctx: &Context, server: &ServerConfig) -> Vec<CheckResult> {
    let timeout = server
        .check_timeout()
        .and_then(|t| u64::try_from(t).ok())
        .unwrap_or(30);
    let mut results = Vec::new();
    bounded(ctx, server, timeout, true, &mut |r| results.push(r));
    for r in results.iter().filter(|r| !r.ok) {
        if super::is_critical(&r.name) {
            tracing::error!(target: "barman.server", "Check '{}' failed for server '{}'", r.name, server.name());
        } else {
            tracing::info!(target: "barman.server", "Ignoring failed check '{}' for server '{}'", r.name, server.name());
        }
    }
    results
}
