//! Hook scripts as Barman 3.20 names and schedules them (`barman/hooks.py`): which
//! configuration key a hook reads, the `BARMAN_*` environment it gets, and the retry
//! schedule of `*_retry_script` hooks (exit 0 / 62 / 63 end the loop; 3 s between
//! attempts, 60 s after every 5 failures). Pure: running the script is `adapters::hooks`.

use std::collections::BTreeMap;
use std::fmt;

/// The operation a hook is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookFamily {
    /// `backup`.
    Backup,
    /// Archiving one WAL file (`archive-wal`).
    Archive,
    /// Deleting a backup.
    Delete,
    /// `restore`/`recover`.
    Recovery,
    /// Removing one archived WAL file.
    WalDelete,
}

impl HookFamily {
    /// The name part of the option (`backup`, `wal_delete`, ...).
    pub fn stem(self) -> &'static str {
        match self {
            HookFamily::Backup => "backup",
            HookFamily::Archive => "archive",
            HookFamily::Delete => "delete",
            HookFamily::Recovery => "recovery",
            HookFamily::WalDelete => "wal_delete",
        }
    }

    /// How Barman names the operation in its "Ignoring stop request ... from post-<x>
    /// retry hook script" log line.
    pub fn dashed(self) -> &'static str {
        match self {
            HookFamily::Backup => "backup",
            HookFamily::Archive => "archive",
            HookFamily::Delete => "delete",
            HookFamily::Recovery => "recovery",
            HookFamily::WalDelete => "wal-delete",
        }
    }
}

/// Before or after the operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// `pre`.
    Pre,
    /// `post`.
    Post,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Pre => "pre",
            Phase::Post => "post",
        })
    }
}

/// One hook: family, phase, and whether it is the retry variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HookId {
    /// The operation.
    pub family: HookFamily,
    /// Before or after.
    pub phase: Phase,
    /// `*_retry_script`.
    pub retry: bool,
}

impl HookId {
    /// Barman's `BARMAN_HOOK` value (`backup_script`, `archive_retry_script`, ...).
    pub fn hook_name(&self) -> String {
        let kind = if self.retry { "retry_script" } else { "script" };
        format!("{}_{kind}", self.family.stem())
    }

    /// The configuration key (`pre_backup_script`, `post_wal_delete_retry_script`, ...).
    pub fn config_key(&self) -> String {
        format!("{}_{}", self.phase, self.hook_name())
    }

    /// The hooks of one side of an operation, in Barman's order: `pre_x_script` then
    /// `pre_x_retry_script` before; `post_x_retry_script` then `post_x_script` after.
    pub fn sequence(family: HookFamily, phase: Phase) -> [HookId; 2] {
        let standard = HookId {
            family,
            phase,
            retry: false,
        };
        let retry = HookId {
            retry: true,
            ..standard
        };
        match phase {
            Phase::Pre => [standard, retry],
            Phase::Post => [retry, standard],
        }
    }
}

/// Exit code of a retry hook meaning "give up, and let the operation continue".
pub const EXIT_ABORT_CONTINUE: i32 = 62;
/// Exit code of a retry hook meaning "give up, and stop the operation" (pre hooks only).
pub const EXIT_ABORT_STOP: i32 = 63;
/// Failed attempts before the long pause.
pub const ATTEMPTS_BEFORE_NAP: u32 = 5;

/// What a retry hook's loop does after one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryStep {
    /// The loop ends with this exit code (0, 62 or 63).
    Finish(i32),
    /// Short break (3 s in Barman), then try again.
    Break,
    /// Long nap (60 s in Barman), then try again.
    Nap,
}

/// Barman's `RetryHookScriptRunner.run` loop as a step function: given the exit code of
/// attempt `attempts` (counting from 1, reset after each nap), what comes next and the new
/// attempt counter. `None` (the script could not even be run) retries like a failure.
pub fn retry_step(exit_status: Option<i32>, attempts: u32) -> (RetryStep, u32) {
    match exit_status {
        Some(code @ (0 | EXIT_ABORT_CONTINUE | EXIT_ABORT_STOP)) => {
            (RetryStep::Finish(code), attempts)
        }
        _ if attempts <= ATTEMPTS_BEFORE_NAP => (RetryStep::Break, attempts + 1),
        _ => (RetryStep::Nap, 1),
    }
}

/// The environment Barman adds for every hook (`HookScriptRunner.reset`).
pub fn base_env(
    version: &str,
    server: &str,
    config_file: &str,
    hook: &HookId,
) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    env.insert("BARMAN_VERSION".into(), version.into());
    env.insert("BARMAN_SERVER".into(), server.into());
    env.insert("BARMAN_CONFIGURATION".into(), config_file.into());
    env.insert("BARMAN_HOOK".into(), hook.hook_name());
    env.insert(
        "BARMAN_RETRY".into(),
        if hook.retry { "1" } else { "0" }.into(),
    );
    env.insert("BARMAN_PHASE".into(), hook.phase.to_string());
    env
}

/// What `env_from_backup_info` reads from a backup.
#[derive(Debug, Clone, Default)]
pub struct BackupFacts {
    /// `base/<ID>` (absolute).
    pub backup_dir: String,
    /// The backup.info path.
    pub info_path: String,
    /// The backup id.
    pub backup_id: String,
    /// The previous backup whose copy is done (empty if none).
    pub previous_id: String,
    /// The next backup whose copy is done (empty if none).
    pub next_id: String,
    /// Its status.
    pub status: String,
    /// Its `error` field (empty if none).
    pub error: String,
}

/// Add the backup variables (backup, delete and recovery hooks).
pub fn add_backup_env(env: &mut BTreeMap<String, String>, facts: &BackupFacts) {
    env.insert("BARMAN_BACKUP_DIR".into(), facts.backup_dir.clone());
    env.insert("BARMAN_BACKUP_INFO_PATH".into(), facts.info_path.clone());
    env.insert("BARMAN_BACKUP_ID".into(), facts.backup_id.clone());
    env.insert("BARMAN_PREVIOUS_ID".into(), facts.previous_id.clone());
    env.insert("BARMAN_NEXT_ID".into(), facts.next_id.clone());
    env.insert("BARMAN_STATUS".into(), facts.status.clone());
    env.insert("BARMAN_ERROR".into(), facts.error.clone());
}

/// What `env_from_wal_info` reads from a WAL file.
#[derive(Debug, Clone, Default)]
pub struct WalFacts {
    /// The WAL file name.
    pub segment: String,
    /// Its path (incoming/streaming before archiving, the archive after).
    pub file: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its mtime as Python prints a float (`str(wal_info.time)`).
    pub timestamp: String,
    /// Its compression (empty when none).
    pub compression: String,
}

/// Add the WAL variables (archive and wal_delete hooks); `error` is `BARMAN_ERROR`.
pub fn add_wal_env(env: &mut BTreeMap<String, String>, facts: &WalFacts, error: &str) {
    env.insert("BARMAN_SEGMENT".into(), facts.segment.clone());
    env.insert("BARMAN_FILE".into(), facts.file.clone());
    env.insert("BARMAN_SIZE".into(), facts.size.to_string());
    env.insert("BARMAN_TIMESTAMP".into(), facts.timestamp.clone());
    env.insert("BARMAN_COMPRESSION".into(), facts.compression.clone());
    env.insert("BARMAN_ERROR".into(), error.into());
}

/// Add the recovery variables (after the backup ones, as `env_from_recover` does).
/// `tablespaces_json` and `options_json` are the already serialised, key-sorted maps, or
/// empty strings when there is nothing to pass.
pub fn add_recovery_env(
    env: &mut BTreeMap<String, String>,
    destination: &str,
    tablespaces_json: &str,
    remote_command: &str,
    options_json: &str,
) {
    env.insert("BARMAN_DESTINATION_DIRECTORY".into(), destination.into());
    env.insert("BARMAN_TABLESPACES".into(), tablespaces_json.into());
    env.insert("BARMAN_REMOTE_COMMAND".into(), remote_command.into());
    env.insert("BARMAN_RECOVER_OPTIONS".into(), options_json.into());
    env.insert("BARMAN_ERROR".into(), String::new());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hook_names_and_keys_match_barman() {
        let id = HookId {
            family: HookFamily::WalDelete,
            phase: Phase::Post,
            retry: true,
        };
        assert_eq!(id.hook_name(), "wal_delete_retry_script");
        assert_eq!(id.config_key(), "post_wal_delete_retry_script");
        let pre = HookId::sequence(HookFamily::Backup, Phase::Pre);
        assert_eq!(pre[0].config_key(), "pre_backup_script");
        assert_eq!(pre[1].config_key(), "pre_backup_retry_script");
        let post = HookId::sequence(HookFamily::Archive, Phase::Post);
        assert_eq!(post[0].config_key(), "post_archive_retry_script");
        assert_eq!(post[1].config_key(), "post_archive_script");
    }

    #[test]
    fn retry_step_ends_on_0_62_63_and_naps_after_five_failures() {
        assert_eq!(retry_step(Some(0), 1), (RetryStep::Finish(0), 1));
        assert_eq!(retry_step(Some(62), 3), (RetryStep::Finish(62), 3));
        assert_eq!(retry_step(Some(63), 9), (RetryStep::Finish(63), 9));
        // Barman: attempts 1..=5 take a short break each, the 6th failure naps.
        let mut attempts = 1;
        let mut steps = Vec::new();
        for _ in 0..8 {
            let (step, next) = retry_step(Some(1), attempts);
            steps.push(step);
            attempts = next;
        }
        use RetryStep::*;
        assert_eq!(
            steps,
            vec![Break, Break, Break, Break, Break, Nap, Break, Break]
        );
        assert_eq!(retry_step(None, 1).0, Break);
    }

    #[test]
    fn base_env_has_barman_variables() {
        let id = HookId {
            family: HookFamily::Archive,
            phase: Phase::Pre,
            retry: false,
        };
        let env = base_env("3.20.1", "pg", "/etc/barman.conf", &id);
        assert_eq!(env["BARMAN_HOOK"], "archive_script");
        assert_eq!(env["BARMAN_RETRY"], "0");
        assert_eq!(env["BARMAN_PHASE"], "pre");
        assert_eq!(env["BARMAN_CONFIGURATION"], "/etc/barman.conf");
    }
}
