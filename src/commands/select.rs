//! Server selection for commands that take server names (Barman's `get_server_list` and
//! `manage_server_command`): `all` expands to every server, names are de-duplicated and
//! processed in sorted order, unknown names are reported and skipped.

use crate::core::config::{Config, ServerConfig};
use crate::output::Output;

/// One requested server: its name and, when configured, its configuration.
pub type Selected<'a> = (String, Option<&'a ServerConfig>);

/// Resolve `names` (as typed) against the configuration, in sorted order.
///
/// `all` mixed with other names is an error that Barman reports and then ignores: it still
/// runs on every server.
pub fn servers<'a>(config: &'a Config, names: &[String], out: &mut Output) -> Vec<Selected<'a>> {
    let wanted: std::collections::BTreeSet<String> = if names.iter().any(|n| n == "all") {
        if names.len() != 1 {
            out.error("You cannot use 'all' with other server names");
        }
        config.servers.keys().cloned().collect()
    } else {
        names.iter().cloned().collect()
    };
    wanted
        .into_iter()
        .map(|name| {
            let server = config.servers.get(&name);
            (name, server)
        })
        .collect()
}

/// Barman's `manage_server_command` for commands that show every server whatever its
/// state (show-servers, status, ...): report unknown names, run on the rest.
pub fn known<'a>(selected: Vec<Selected<'a>>, out: &mut Output) -> Vec<&'a ServerConfig> {
    selected
        .into_iter()
        .filter_map(|(name, server)| {
            match server {
                None => out.error(&format!("Unknown server '{name}'")),
                Some(server) => announce(server, out),
            }
            server
        })
        .collect()
}

/// Print the warnings Barman emits when it sets a server up for a command.
pub fn announce(server: &ServerConfig, out: &mut Output) {
    for warning in &server.warnings {
        out.warning(warning);
    }
}

/// How a command treats inactive and disabled servers (Barman's `get_server` flags).
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Inactive servers are refused with `Inactive server: <name>`.
    pub inactive_is_error: bool,
    /// Inactive servers are skipped with an info line.
    pub skip_inactive: bool,
    /// Disabled servers are refused with their configuration errors.
    pub disabled_is_error: bool,
}

impl Policy {
    /// archive-wal, rebuild-xlogdb, switch-wal: skip inactive, refuse disabled.
    pub const SKIP_INACTIVE: Policy = Policy {
        inactive_is_error: false,
        skip_inactive: true,
        disabled_is_error: true,
    };

    /// put-wal: an inactive server is an error.
    pub const REFUSE_INACTIVE: Policy = Policy {
        inactive_is_error: true,
        skip_inactive: false,
        disabled_is_error: true,
    };
}

/// Whether a command runs on `server`, printing Barman's messages when it does not.
pub fn usable(server: &ServerConfig, out: &mut Output, policy: Policy) -> bool {
    if policy.inactive_is_error && !server.active() {
        out.error(&format!("Inactive server: {}", server.name()));
        return false;
    }
    if policy.skip_inactive && !server.active() {
        out.info(&format!("Skipping inactive server '{}'", server.name()));
        return false;
    }
    if policy.disabled_is_error && server.disabled() {
        // Barman reports the first configuration error only.
        if let Some(message) = server.msg_list.first() {
            out.error(message);
        }
        return false;
    }
    true
}

/// A single-server command's server (Barman's `get_server`): `all` and unknown names are
/// errors.
pub fn single<'a>(
    config: &'a Config,
    name: &str,
    out: &mut Output,
    policy: Policy,
) -> Option<&'a ServerConfig> {
    if name == "all" {
        out.error("You cannot use 'all' in a single server context");
        return None;
    }
    let Some(server) = config.servers.get(name) else {
        out.error(&format!("Unknown server '{name}'"));
        return None;
    };
    announce(server, out);
    usable(server, out, policy).then_some(server)
}
