//! Hook scripts around operations (Barman's `HookScriptRunner` call sites): builds the
//! `BARMAN_*` environment from the catalog, runs each side of an operation in Barman's
//! order, and turns a pre retry hook's exit 63 into [`HookAbort`]. Used by `backup`,
//! `archive-wal`, `delete`/cron retention (delete and wal_delete hooks) and, through
//! [`run_recovery_hooks`], by `restore`.

use crate::adapters::catalog::layout::ServerDirs;
use crate::adapters::hooks as runner;
use crate::core::backup_id::BackupId;
use crate::core::backup_info::BackupInfo;
use crate::core::backup_info::Field;
use crate::core::config::{Config, ServerConfig};
use crate::core::hooks::{self, BackupFacts, HookFamily, HookId, Phase, WalFacts};
use crate::core::xlog_db::XlogDbEntry;
use std::collections::BTreeMap;
use std::path::Path;

pub use crate::core::hooks::Phase as HookPhase;

/// A pre retry hook exited 63: the operation must stop. Displays as Barman's
/// `AbortedRetryHookScript`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Abort '{config_key}' retry hook script ({script}, exit code: {code})")]
pub struct HookAbort {
    /// `pre_<family>_retry_script`.
    pub config_key: String,
    /// The configured command line.
    pub script: String,
    /// Its exit code (63).
    pub code: i32,
}

/// The hooks of one server, with what their environment needs.
#[derive(Debug, Clone, Copy)]
pub struct Hooks<'a> {
    server: &'a ServerConfig,
    config_file: &'a str,
}

impl<'a> Hooks<'a> {
    /// The hooks configured for `server`.
    pub fn new(config: &'a Config, server: &'a ServerConfig) -> Self {
        Hooks {
            server,
            config_file: &config.config_file,
        }
    }

    /// The hooks of `server`, given the main configuration file path directly.
    pub fn with_config_file(config_file: &'a str, server: &'a ServerConfig) -> Self {
        Hooks {
            server,
            config_file,
        }
    }

    /// Whether any hook of `family` is configured.
    pub fn any(&self, family: HookFamily) -> bool {
        [Phase::Pre, Phase::Post]
            .iter()
            .flat_map(|p| HookId::sequence(family, *p))
            .any(|h| self.script(&h).is_some())
    }

    fn script(&self, hook: &HookId) -> Option<&'a str> {
        self.server
            .hook_script(hook)
            .filter(|s| !s.trim().is_empty())
    }

    /// Run both hooks of one side of an operation; `env_of` adds the operation's variables
    /// to the base environment of each hook.
    fn run_side(
        &self,
        family: HookFamily,
        phase: Phase,
        env_of: &dyn Fn(&HookId, &mut BTreeMap<String, String>),
    ) -> Result<(), HookAbort> {
        for hook in HookId::sequence(family, phase) {
            let Some(script) = self.script(&hook) else {
                continue;
            };
            let mut env = hooks::base_env(
                crate::BARMAN_VERSION,
                self.server.name(),
                self.config_file,
                &hook,
            );
            env_of(&hook, &mut env);
            let status = runner::run(&hook, script, &env, self.server.path_prefix());
            if hook.retry && status == Some(hooks::EXIT_ABORT_STOP) {
                if phase == Phase::Pre {
                    return Err(HookAbort {
                        config_key: hook.config_key(),
                        script: script.to_string(),
                        code: hooks::EXIT_ABORT_STOP,
                    });
                }
                tracing::warn!(
                    target: "barman.backup",
                    "Ignoring stop request after receiving abort (exit code {}) from post-{} retry hook script: {script}",
                    hooks::EXIT_ABORT_STOP,
                    family.dashed()
                );
            }
        }
        Ok(())
    }

    /// Backup or delete hooks for one backup.
    pub fn backup(
        &self,
        family: HookFamily,
        phase: Phase,
        facts: &BackupFacts,
    ) -> Result<(), HookAbort> {
        self.run_side(family, phase, &|_, env| hooks::add_backup_env(env, facts))
    }

    /// Archive or wal_delete hooks for one WAL file. `error` is the failure of the
    /// operation (post hooks). As in Barman, the standard post-archive hook always sees an
    /// empty `BARMAN_ERROR` (its runner overwrites it); the retry one sees the error.
    pub fn wal(
        &self,
        family: HookFamily,
        phase: Phase,
        facts: &WalFacts,
        error: Option<&str>,
    ) -> Result<(), HookAbort> {
        let error = error.unwrap_or_default();
        self.run_side(family, phase, &|hook, env| {
            let shown = if family == HookFamily::Archive && !hook.retry {
                ""
            } else {
                error
            };
            hooks::add_wal_env(env, facts, shown)
        })
    }
}

/// `env_from_backup_info` facts: paths, neighbours whose copy is done, status and error.
pub fn backup_facts(
    dirs: &ServerDirs,
    backups: &BTreeMap<BackupId, BackupInfo>,
    id: &BackupId,
    info: &BackupInfo,
) -> BackupFacts {
    let done = |(_, b): &(&BackupId, &BackupInfo)| b.status().copy_done();
    let known = backups.contains_key(id);
    let previous = backups
        .range::<BackupId, _>((std::ops::Bound::Unbounded, std::ops::Bound::Excluded(id)))
        .rev()
        .find(done)
        .filter(|_| known)
        .map(|(k, _)| k.to_string());
    let next = backups
        .range::<BackupId, _>((std::ops::Bound::Excluded(id), std::ops::Bound::Unbounded))
        .find(done)
        .filter(|_| known)
        .map(|(k, _)| k.to_string());
    BackupFacts {
        backup_dir: dirs.backup_base(id).display().to_string(),
        info_path: info_path(dirs, id).display().to_string(),
        backup_id: id.to_string(),
        previous_id: previous.unwrap_or_default(),
        next_id: next.unwrap_or_default(),
        status: info.status().to_string(),
        error: info.raw(Field::Error).unwrap_or_default().to_string(),
    }
}

/// Barman's `LocalBackupInfo.get_filename()`: the `meta/` path unless only the legacy one
/// exists.
fn info_path(dirs: &ServerDirs, id: &BackupId) -> std::path::PathBuf {
    let meta = dirs.backup_info(id);
    let legacy = dirs.legacy_backup_info(id);
    if meta.exists() || !legacy.exists() {
        meta
    } else {
        legacy
    }
}

/// `env_from_wal_info` facts of a catalogued (or about to be) WAL file at `path`.
pub fn wal_facts(entry: &XlogDbEntry, path: &Path) -> WalFacts {
    WalFacts {
        segment: entry.name.clone(),
        file: path.display().to_string(),
        size: entry.size,
        timestamp: crate::output::json::python_float_repr(entry.time),
        compression: entry.compression.clone().unwrap_or_default(),
    }
}

/// What the recovery hooks are told about a restore.
#[derive(Debug, Clone, Default)]
pub struct RecoveryHookFacts {
    /// The destination directory as given.
    pub destination: String,
    /// Tablespace relocations (`--tablespace NAME:LOCATION`), name → location.
    pub tablespaces: BTreeMap<String, String>,
    /// `--remote-ssh-command`, if any.
    pub remote_command: Option<String>,
    /// The extra options of `Server.recover` (`target_tli`, `target_time`, `target_xid`,
    /// `target_lsn`, `target_name`, `target_immediate`, `exclusive`, `target_action`,
    /// `standby_mode`, `recovery_conf_filename`, `recovery_option_port`,
    /// `custom_restore_command`, `copy_partial`, `skip_archive_wal`, ...) with their
    /// values; falsy ones (null, false, 0, "", empty) are dropped as Barman does.
    pub options: serde_json::Map<String, serde_json::Value>,
}

/// Python truthiness of a JSON value.
fn truthy(value: &serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Run the pre (standard, then retry) or post (retry, then standard) recovery hooks of
/// `server` for backup `backup_id`, with Barman's `env_from_recover` environment:
/// the backup variables plus `BARMAN_DESTINATION_DIRECTORY`, `BARMAN_TABLESPACES` (sorted
/// JSON or empty), `BARMAN_REMOTE_COMMAND`, `BARMAN_RECOVER_OPTIONS` (sorted JSON of the
/// truthy options, or empty) and an empty `BARMAN_ERROR`.
///
/// # Errors
/// [`HookAbort`] when `pre_recovery_retry_script` exits 63: the restore must not run
/// (Barman lets the exception end the command, printed as
/// `EXCEPTION: <abort>\nSee log file for more details.`; `crate::Error::from(abort)`
/// renders that). A post retry hook's 63 is only logged.
pub fn run_recovery_hooks(
    config: &Config,
    server: &ServerConfig,
    phase: Phase,
    backup_id: &BackupId,
    facts: &RecoveryHookFacts,
) -> crate::Result<(), HookAbort> {
    let hooks = Hooks::new(config, server);
    if !hooks.any(HookFamily::Recovery) {
        return Ok(());
    }
    let dirs = crate::commands::status::server_dirs(server);
    let backups = crate::adapters::catalog::store::load_backups(&dirs).unwrap_or_default();
    let info = backups
        .get(backup_id)
        .cloned()
        .unwrap_or_else(BackupInfo::empty);
    let backup = backup_facts(&dirs, &backups, backup_id, &info);
    let tablespaces = if facts.tablespaces.is_empty() {
        String::new()
    } else {
        let map: serde_json::Map<String, serde_json::Value> = facts
            .tablespaces
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        crate::output::json::dumps(&serde_json::Value::Object(map))
    };
    let options: serde_json::Map<String, serde_json::Value> = facts
        .options
        .iter()
        .filter(|(_, v)| truthy(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let options = if options.is_empty() {
        String::new()
    } else {
        crate::output::json::dumps(&serde_json::Value::Object(options))
    };
    let remote = facts.remote_command.clone().unwrap_or_default();
    hooks.run_side(HookFamily::Recovery, phase, &|_, env| {
        hooks::add_backup_env(env, &backup);
        hooks::add_recovery_env(env, &facts.destination, &tablespaces, &remote, &options);
    })
}

impl From<HookAbort> for crate::Error {
    fn from(abort: HookAbort) -> Self {
        crate::Error::HookAborted(abort.to_string())
    }
}
