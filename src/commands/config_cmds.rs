//! `config-switch SERVER [MODEL] [--reset]` and `config-update JSON_CHANGES`, as Barman
//! 3.20's `cli.config_switch` / `cli.config_update` with `ServerConfig.apply_model`,
//! `reset_model` and `ConfigChangesProcessor`; plus the queue drain `cron` runs first.
//!
//! Changes are queued, then applied one change set at a time; the queue is rewritten
//! after each applied set, and each edited file is replaced atomically, so a crash leaves
//! every file old or new and the unapplied sets still queued (applying one twice gives the
//! same file).

use super::{processes, select, Context};
use crate::adapters::config_edit;
use crate::adapters::lock::LockKind;
use crate::core::config::{cluster_mismatch, ModelConfig, OptionValue, ServerConfig};
use crate::core::config_update::{self, editor, Change, ChangeSet, Known, Sources};
use crate::output::Output;
use std::path::{Path, PathBuf};

/// These commands work on any server, inactive or disabled (a server disabled by a
/// missing model must be switchable).
const ANY_SERVER: select::Policy = select::Policy {
    inactive_is_error: false,
    skip_inactive: false,
    disabled_is_error: false,
};

/// `config-switch`.
pub fn config_switch(
    ctx: &Context,
    out: &mut Output,
    server_name: &str,
    model_name: Option<&str>,
    reset: bool,
) -> crate::Result<()> {
    if model_name.is_none() && !reset {
        out.error("Either a model name or '--reset' flag need to be given");
        return Ok(());
    }
    let Some(server) = select::single(&ctx.config, server_name, out, ANY_SERVER) else {
        return Ok(());
    };
    let mut streaming = server.streaming_archiver();
    if reset {
        out.info(&format!(
            "Resetting the active model for the server {}",
            server.name()
        ));
        config_edit::remove_active_model(Path::new(server.backup_dir())).map_err(fatal)?;
    } else if let Some(model_name) = model_name {
        let Some(model) = ctx.config.models.get(model_name) else {
            out.error(&format!("Unknown model '{model_name}'"));
            return Ok(());
        };
        if let Some(switched) = apply_model(out, server, model)? {
            streaming = switched;
        }
    }
    restart_processes(ctx, out, server, streaming)
}

/// Barman's `ServerConfig.apply_model(model, from_cli=True)`. Returns the server's
/// `streaming_archiver` once the model applies (`None` when it does not apply).
fn apply_model(
    out: &mut Output,
    server: &ServerConfig,
    model: &ModelConfig,
) -> crate::Result<Option<bool>> {
    let (name, model_name) = (server.name(), model.name());
    if let Some(message) = cluster_mismatch(model, server) {
        out.error(&message);
        return Ok(None);
    }
    if server.active_model() == Some(model_name) {
        out.info(&format!(
            "Model '{model_name}' is already active for server '{name}', skipping..."
        ));
        return Ok(None);
    }
    out.info(&format!("Applying model '{model_name}' to server '{name}'"));
    let mut streaming = server.streaming_archiver();
    for (key, value) in model.overrides() {
        let old = server.value_of(key).cloned().unwrap_or(OptionValue::None);
        if &old != value {
            out.info(&format!(
                "Changing value of option '{key}' for server '{name}' from '{}' to '{}' through the model '{model_name}'",
                old.python_str(),
                value.python_str()
            ));
        }
        if key == "streaming_archiver" {
            streaming = matches!(value, OptionValue::Bool(true));
        }
    }
    config_edit::write_active_model(Path::new(server.backup_dir()), model_name).map_err(fatal)?;
    Ok(Some(streaming))
}

/// Barman's `Server.restart_processes`: stop receive-wal, start it again when the
/// (possibly just changed) configuration streams.
fn restart_processes(
    ctx: &Context,
    out: &mut Output,
    server: &ServerConfig,
    streaming: bool,
) -> crate::Result<()> {
    processes::kill(ctx, server, "receive-wal", false, out);
    if streaming {
        super::cron::start_receive_wal(ctx, out, server)?;
    }
    Ok(())
}

fn fatal(e: config_edit::EditError) -> crate::Error {
    crate::Error::ConfigEdit(e)
}

/// `config-update`.
pub fn config_update(ctx: &Context, out: &mut Output, json: &str) -> crate::Result<()> {
    let sections =
        config_update::parse_changes(json).map_err(|e| crate::Error::Uncaught(e.to_string()))?;
    let lock_dir = PathBuf::from(&ctx.config.global.barman_lock_directory);
    // Barman does not catch a busy lock: the exception names the lock file.
    let Some(_lock) = crate::commands::locks::take(
        out,
        &lock_dir,
        &LockKind::ConfigUpdate,
        &crate::commands::locks::CONFIG_UPDATE,
    )?
    else {
        return Ok(());
    };
    let is_server = |n: &str| ctx.config.servers.contains_key(n);
    let is_model = |n: &str| ctx.config.models.contains_key(n);
    let known = Known {
        is_server: &is_server,
        is_model: &is_model,
    };
    let mut sets = Vec::new();
    for section in &sections {
        match config_update::validate(section, &known) {
            Ok(valid) => sets.push(change_set(ctx, valid)),
            Err(lines) => {
                for line in lines {
                    out.error(&line);
                }
                return Ok(());
            }
        }
    }
    if !sets.is_empty() {
        let path = queue_path(ctx);
        let mut queue = read_queue(&path, out)?;
        queue.extend(sets);
        config_edit::write_queue(&path, &queue).map_err(fatal)?;
    }
    for applied in drain_queue(ctx, out)? {
        let Some(server) = ctx.config.servers.get(&applied.section) else {
            continue;
        };
        // Barman sets the server up again (printing its warnings), and its `get_server`
        // ends the run on an inactive one.
        select::announce(server, out);
        if !server.active() {
            break;
        }
        restart_processes(ctx, out, server, server.streaming_archiver())?;
    }
    Ok(())
}

/// Each validated option with the file it goes to.
fn change_set(ctx: &Context, valid: config_update::ValidSection) -> ChangeSet {
    let config = &ctx.config;
    let auto_conf = format!("{}/.barman.auto.conf", config.global.barman_home);
    let changes_set = valid
        .options
        .into_iter()
        .map(|(key, value)| {
            let config_file = config_update::target_file(Sources {
                own: config.own_source(&valid.name, &key),
                global: config.own_source("barman", &key),
                section_file: config.section_file(&valid.name),
                auto_conf: &auto_conf,
            });
            Change {
                key,
                value,
                config_file,
            }
        })
        .collect();
    ChangeSet {
        section: valid.name,
        changes_set,
    }
}

fn queue_path(ctx: &Context) -> PathBuf {
    PathBuf::from(&ctx.config.global.config_changes_queue)
}

fn read_queue(path: &Path, out: &mut Output) -> crate::Result<Vec<ChangeSet>> {
    match config_edit::read_queue(path).map_err(fatal)? {
        Some(queue) => Ok(queue),
        None => {
            out.warning(&format!(
                "Malformed or empty configuration change queue: {}",
                path.display()
            ));
            Ok(Vec::new())
        }
    }
}

/// Apply the queued change sets in order (Barman's `process_conf_changes_queue`); the
/// caller holds `.config-update.lock`. Returns the sets applied. A set that fails stays
/// queued, with the ones after it.
pub fn drain_queue(ctx: &Context, out: &mut Output) -> crate::Result<Vec<ChangeSet>> {
    let path = queue_path(ctx);
    let mut queue = read_queue(&path, out)?;
    let mut applied = Vec::new();
    while let Some(set) = queue.first().cloned() {
        if let Err(e) = apply_set(ctx, out, &set) {
            out.error("Unable to process a set of changes. Exiting.");
            tracing::error!(target: "barman.config", "Cannot execute {}: {e}", set.section);
            break;
        }
        queue.remove(0);
        config_edit::write_queue(&path, &queue).map_err(fatal)?;
        crate::adapters::durable::failpoint("config-update.after_set");
        applied.push(set);
    }
    if applied.is_empty() {
        // Barman rewrites the queue on every pass, creating it when missing.
        config_edit::write_queue(&path, &queue).map_err(fatal)?;
    }
    Ok(applied)
}

/// Barman's `apply_change`: edit each file in memory, print each change, then write the
/// files (each atomically).
fn apply_set(
    ctx: &Context,
    out: &mut Output,
    set: &ChangeSet,
) -> Result<(), config_edit::EditError> {
    let mut files: Vec<(String, String)> = Vec::new();
    for change in &set.changes_set {
        let position = match files.iter().position(|(f, _)| *f == change.config_file) {
            Some(i) => i,
            None => {
                let text = config_edit::read_config(Path::new(&change.config_file))?;
                files.push((change.config_file.clone(), text));
                files.len() - 1
            }
        };
        let edited = editor::edit(&files[position].1, &set.section, &change.key, &change.value);
        files[position].1 = edited;
        let old = ctx
            .config
            .raw_get(&set.section, &change.key)
            .unwrap_or_else(|| "None".into());
        out.info(&format!(
            "Changing value of option '{}' for section '{}' from '{old}' to '{}' through config-update.",
            change.key, set.section, change.value
        ));
    }
    for (file, text) in &files {
        config_edit::write_config(Path::new(file), text)?;
    }
    Ok(())
}
