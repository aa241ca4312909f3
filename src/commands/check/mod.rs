//! `check` (with `--nagios` and `-f json`) and `status`.

use crate::commands::Context;
use crate::output::Output;

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
    let _ = (ctx, out, servers, options);
    Err(crate::Error::Fatal("SCAFFOLD check".into()))
}

/// `status`.
pub fn status(ctx: &Context, out: &mut Output, servers: &[String]) -> crate::Result<()> {
    let _ = (ctx, out, servers);
    Err(crate::Error::Fatal("SCAFFOLD status".into()))
}

// INTEGRATION-STUB (replaced by the check branch)
/// One check's outcome.
pub struct CheckResult {
    /// name
    pub name: String,
    /// ok
    pub ok: bool,
}
/// stub
pub fn run_checks(_ctx: &Context, _server: &crate::core::config::ServerConfig) -> Vec<CheckResult> {
    Vec::new()
}
/// stub
pub fn is_critical(_name: &str) -> bool {
    true
}
