//! `check` (with `--nagios` and `-f json`) and `status`.
//!
//! The check catalogue lives in [`catalogue`] (order and timeout) and the files it calls:
//! [`archive`] (WAL archive, queues, archivers), [`remote`] (PostgreSQL connections),
//! [`local`] (catalog and configuration), [`executor`] (backup method). `backup` reuses it
//! through [`run_checks`] and [`is_critical`].

mod archive;
mod catalogue;
mod cloud;
mod drill;
mod encryption;
mod executor;
mod local;
mod remote;
mod result;
mod status;

pub use catalogue::{run_checks, wal_streaming_preflight};
pub use result::{is_critical, json_key, CheckResult, NON_CRITICAL_CHECKS};

use crate::commands::{select, Context};
use crate::core::config::ServerConfig;
use crate::output::nagios::{self, NagiosItem};
use crate::output::{Color, Output};
use serde_json::{Map, Value};

/// `check` options.
#[derive(Debug, Clone, Copy)]
pub struct CheckOptions {
    /// `--nagios`
    pub nagios: bool,
    /// `--check-timeout` (None: the server's `check_timeout`)
    pub check_timeout: Option<u64>,
}

/// `check`.
pub fn run(
    ctx: &Context,
    out: &mut Output,
    servers: &[String],
    options: CheckOptions,
) -> crate::Result<()> {
    if options.nagios {
        out.mute();
    }
    let selected = select::servers(&ctx.config, servers, out);
    let mut recorded = Vec::new();
    for server in select::known(selected, out) {
        check_server(ctx, out, server, options, &mut recorded);
    }
    if options.nagios {
        let (lines, critical) = nagios::render(&recorded, out.errored());
        for line in lines {
            crate::output::print_raw(&format!("{line}\n"));
        }
        if critical {
            out.set_exit_kind(crate::error::ExitKind::NagiosCritical);
        }
    }
    Ok(())
}

/// The timeout of a check run: `--check-timeout`, else the server's `check_timeout`.
fn timeout_of(server: &ServerConfig, options: CheckOptions) -> u64 {
    options.check_timeout.unwrap_or_else(|| {
        server
            .check_timeout()
            .and_then(|t| u64::try_from(t).ok())
            .unwrap_or(30)
    })
}

fn check_server(
    ctx: &Context,
    out: &mut Output,
    server: &ServerConfig,
    options: CheckOptions,
    recorded: &mut Vec<NagiosItem>,
) {
    let name = server.name().to_string();
    let active = server.active();
    let label = if !active {
        format!("{name} (inactive)")
    } else if server.disabled() {
        format!("{name} (WARNING: disabled)")
    } else {
        name.clone()
    };
    // Before the checks, so `failed backups` counts a backup whose process died (ours,
    // not Barman's: see `backup::abandoned`). A lock that cannot be probed is only logged:
    // the checks report the lock directory themselves.
    let lock_dir = std::path::Path::new(&ctx.config.global.barman_lock_directory);
    if let Err(e) = crate::commands::backup::abandoned::fail_abandoned(server, lock_dir) {
        tracing::warn!(target: "barman.backup", "cannot look for abandoned backups of {name}: {e}");
    }
    out.line(&format!("Server {label}:"));
    let mut doc = Map::new();
    let timeout = timeout_of(server, options);
    catalogue::run_bounded(ctx, server, timeout, &mut |r| {
        let status = if r.ok {
            out.paint("OK", Color::Green)
        } else {
            out.paint("FAILED", Color::Red)
        };
        match r.hint.as_deref().filter(|h| !h.is_empty()) {
            Some(hint) => out.line(&format!("\t{}: {status} ({hint})", r.name)),
            None => out.line(&format!("\t{}: {status}", r.name)),
        }
        for detail in &r.details {
            out.info(detail);
        }
        let mut entry = Map::new();
        entry.insert(
            "status".into(),
            Value::String(if r.ok { "OK" } else { "FAILED" }.into()),
        );
        entry.insert(
            "hint".into(),
            Value::String(r.hint.clone().unwrap_or_default()),
        );
        doc.insert(json_key(&r.name), Value::Object(entry));
        if !r.ok && active {
            out.set_errored();
        }
        recorded.push(NagiosItem {
            server: name.clone(),
            check: r.name,
            ok: r.ok,
            hint: r.hint,
            perfdata: r.perfdata,
        });
    });
    out.json_set(&name, Value::Object(doc));
}

/// `status`.
pub fn status(ctx: &Context, out: &mut Output, servers: &[String]) -> crate::Result<()> {
    let selected = select::servers(&ctx.config, servers, out);
    for server in select::known(selected, out) {
        status::show(out, server);
    }
    Ok(())
}
