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
