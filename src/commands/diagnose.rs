//! `diagnose`: one JSON report of the configuration, the host, and every server's status,
//! backups and last archived WAL per timeline (Barman's `barman/diagnose.py`).
//!
//! Barman prints it through `info`, indented, so under `-f json` it becomes one string in
//! `_INFO`; we keep that shape for tools that parse it.

use super::{status, Context};
use crate::adapters::system_info;
use crate::core::backup_info::python_isoformat;
use crate::core::config::{OptionValue, ServerConfig};
use crate::output::Output;
use serde_json::{Map, Value};

/// Run `diagnose [--show-config-source]`.
pub fn run(ctx: &Context, out: &mut Output, show_config_source: bool) -> crate::Result<()> {
    let mut global = Map::new();
    global.insert(
        "config".into(),
        Value::Object(global_config(ctx, show_config_source)),
    );
    global.insert("system_info".into(), Value::Object(system_info(ctx)));
    let mut servers = Map::new();
    for (name, server) in &ctx.config.servers {
        super::select::announce(server, out);
        servers.insert(
            name.clone(),
            Value::Object(server_report(ctx, server, show_config_source)?),
        );
    }
    let mut models = Map::new();
    for (name, model) in &ctx.config.models {
        let config = config_json(model.items(), |key| model.source(key), show_config_source);
        let mut entry = Map::new();
        entry.insert("config".into(), Value::Object(config));
        models.insert(name.clone(), Value::Object(entry));
    }
    let mut report = Map::new();
    report.insert("global".into(), Value::Object(global));
    report.insert("models".into(), Value::Object(models));
    report.insert("servers".into(), Value::Object(servers));
    out.info_report(&Value::Object(report));
    Ok(())
}

fn global_config(ctx: &Context, show_config_source: bool) -> Map<String, Value> {
    let mut config: Map<String, Value> = ctx
        .config
        .global
        .diagnose_items()
        .into_iter()
        .map(|(key, value, source)| {
            (
                key,
                with_source(value, source.as_deref(), show_config_source),
            )
        })
        .collect();
    let errors = ctx
        .config
        .errors_list
        .iter()
        .cloned()
        .map(Value::String)
        .collect();
    config.insert("errors_list".into(), Value::Array(errors));
    config
}

fn system_info(ctx: &Context) -> Map<String, Value> {
    let mut info = system_info::collect();
    info.insert(
        "barman_ver".into(),
        Value::String(crate::BARMAN_VERSION.into()),
    );
    info.insert(
        "timestamp".into(),
        Value::String(python_isoformat(&ctx.now)),
    );
    info
}

fn server_report(
    ctx: &Context,
    server: &ServerConfig,
    show_config_source: bool,
) -> crate::Result<Map<String, Value>> {
    let config = config_json(server.items(), |key| server.source(key), show_config_source);
    let mut report = Map::new();
    report.insert("config".into(), Value::Object(config));
    report.insert(
        "msg_list".into(),
        Value::Array(server.msg_list.iter().cloned().map(Value::String).collect()),
    );
    report.insert(
        "active_model".into(),
        server
            .active_model()
            .map_or(Value::Null, |m| Value::String(m.into())),
    );
    if let Some(ssh_command) = server.ssh_command().filter(|c| !c.is_empty()) {
        if let Some(info) = system_info::collect_remote(ssh_command) {
            report.insert("system_info".into(), Value::Object(info));
        }
    }
    // Barman's JSON encoder: Decimal → float, datetime → ISO 8601, Record → list.
    let remote: Map<String, Value> = status::remote_status(server)
        .into_iter()
        .map(|(key, value)| (key, value.diagnose_json()))
        .collect();
    report.insert("status".into(), Value::Object(remote));
    report.insert(
        "backups".into(),
        Value::Object(status::backups_json(ctx, server)?),
    );
    let mut wals = Map::new();
    wals.insert(
        "last_archived_wal_per_timeline".into(),
        Value::Object(status::last_wal_per_timeline(server)?),
    );
    report.insert("wals".into(), Value::Object(wals));
    Ok(report)
}

/// A server's configuration as `ServerConfig.to_json()` gives it (`sync-info` uses it).
pub fn server_config_json(server: &ServerConfig) -> Map<String, Value> {
    config_json(server.items(), |key| server.source(key), false)
}

/// A server's or model's configuration as diagnose shows it.
fn config_json<'a>(
    items: Vec<(&str, &OptionValue)>,
    source: impl Fn(&str) -> Option<&'a str>,
    show_config_source: bool,
) -> Map<String, Value> {
    items
        .into_iter()
        .map(|(key, value)| {
            let json = with_source(value.to_diagnose_json(), source(key), show_config_source);
            (key.to_string(), json)
        })
        .collect()
}

/// `--show-config-source` wraps each value as `{"source": <file>|"default", "value": v}`.
fn with_source(value: Value, source: Option<&str>, show: bool) -> Value {
    if !show {
        return value;
    }
    let mut wrapped = Map::new();
    wrapped.insert(
        "source".into(),
        Value::String(source.unwrap_or("default").to_string()),
    );
    wrapped.insert("value".into(), value);
    Value::Object(wrapped)
}
