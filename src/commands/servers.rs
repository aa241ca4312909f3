//! `list-servers` and `show-servers`.

use super::{select, status, Context};
use crate::output::Output;
use serde_json::{Map, Value};

/// `list-servers [--minimal]`: one line per configured server with its description and
/// state markers, as Barman prints them.
pub fn list(ctx: &Context, out: &mut Output, minimal: bool) -> crate::Result<()> {
    let mut doc = Map::new();
    for (name, server) in &ctx.config.servers {
        select::announce(server, out);
        let mut description = server.description().unwrap_or_default().to_string();
        if !server.active() {
            description.push_str(" (inactive)");
        } else if server.disabled() {
            description.push_str(" (WARNING: disabled)");
        }
        if server.passive_node() {
            description.push_str(" (Passive)");
        }
        if minimal || description.is_empty() {
            out.line(name);
        } else {
            out.line(&format!("{name} - {description}"));
        }
        let mut entry = Map::new();
        entry.insert("description".into(), Value::String(description));
        doc.insert(name.clone(), Value::Object(entry));
    }
    for (name, entry) in doc {
        out.json_set(&name, entry);
    }
    Ok(())
}

/// `show-servers SERVER...|all`: every configuration key of each server, plus its remote
/// status (PostgreSQL, streaming, archivers) for active, non-passive servers.
pub fn show(ctx: &Context, out: &mut Output, names: &[String]) -> crate::Result<()> {
    let selected = select::servers(&ctx.config, names, out);
    for server in select::known(selected, out) {
        let marker = if !server.active() {
            Some("(inactive)")
        } else if server.disabled() {
            Some("(WARNING: disabled)")
        } else {
            None
        };
        match marker {
            Some(marker) => out.line(&format!("Server {} {marker}:", server.name())),
            None => out.line(&format!("Server {}:", server.name())),
        }
        let rows = status::show_rows(server, &ctx.now);
        let mut doc = Map::new();
        doc.insert(
            "description".into(),
            marker.map_or(Value::Null, |m| Value::String(m.into())),
        );
        for row in &rows {
            out.line(&format!("\t{}: {}", row.key, row.text));
            // Barman's JSON writer never lets a null override a value already present.
            if row.json.is_null() && doc.contains_key(&row.key) {
                continue;
            }
            doc.insert(row.key.clone(), row.json.clone());
        }
        out.json_set(server.name(), Value::Object(doc));
    }
    Ok(())
}
