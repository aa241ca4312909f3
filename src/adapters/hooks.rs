//! Running hook scripts as Barman's `HookScriptRunner` / `RetryHookScriptRunner` do:
//! `/bin/sh -c <script>` (Barman's `shell=True`), the current environment plus the
//! `BARMAN_*` variables, `PATH` prefixed with `path_prefix`, output captured and logged
//! (a non-zero exit is a warning with the output, never an error of the command). Retry
//! hooks run again until they exit 0, 62 or 63, pausing between attempts.
//!
//! A script that does not exist or is not executable is what the shell makes of it: exit
//! 127 or 126 with the shell's message in the logged output, exactly as with Barman.

use crate::core::hooks::{self, HookId, RetryStep};
use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Barman's pause after a failed retry attempt.
const BREAK_TIME: Duration = Duration::from_secs(3);
/// Barman's pause after every `ATTEMPTS_BEFORE_NAP` failures.
const NAP_TIME: Duration = Duration::from_secs(60);

/// `PATH` for the hook: `path_prefix:$PATH` (Barman's `Server._build_path`), or the
/// inherited one when no prefix is set.
fn path_with_prefix(path_prefix: Option<&str>) -> Option<String> {
    let prefix = path_prefix.filter(|p| !p.is_empty())?;
    let current = std::env::var("PATH").unwrap_or_default();
    Some(format!("{prefix}:{current}"))
}

/// Run `script` once; the exit status (`-signal` when killed, as Python reports it), or
/// `None` when the shell itself could not be started.
pub fn run_once(
    hook: &HookId,
    script: &str,
    env: &BTreeMap<String, String>,
    path_prefix: Option<&str>,
) -> Option<i32> {
    let name = hook.hook_name();
    tracing::debug!(target: "barman.hooks", "Attempt to run {name}: {script}");
    let mut command = Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(script)
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(path) = path_with_prefix(path_prefix) {
        command.env("PATH", path);
    }
    let output = match super::spawn::output(&mut command) {
        Ok(output) => output,
        Err(e) => {
            tracing::error!(target: "barman.hooks", "Exception running {name}: {e}");
            return None;
        }
    };
    let status = output.status.code().unwrap_or_else(|| {
        use std::os::unix::process::ExitStatusExt;
        -output.status.signal().unwrap_or(0)
    });
    if status != 0 {
        tracing::warn!(
            target: "barman.hooks",
            "{script} returned {status}\nOutput details:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    } else {
        tracing::debug!(target: "barman.hooks", "{script} returned {status}");
    }
    Some(status)
}

/// The pauses of the retry loop. Under the `failpoints` feature the tests shorten them
/// with `BARMAN_TEST_HOOK_BREAK_MS` / `BARMAN_TEST_HOOK_NAP_MS`.
fn pause(step: RetryStep) -> Duration {
    let (default, _variable) = match step {
        RetryStep::Nap => (NAP_TIME, "BARMAN_TEST_HOOK_NAP_MS"),
        _ => (BREAK_TIME, "BARMAN_TEST_HOOK_BREAK_MS"),
    };
    #[cfg(feature = "failpoints")]
    if let Some(ms) = std::env::var(_variable)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        return Duration::from_millis(ms);
    }
    default
}

/// Run a hook: once for a standard hook, in Barman's retry loop for a retry hook. Returns
/// the final exit status (`None` if the script could not run at all).
pub fn run(
    hook: &HookId,
    script: &str,
    env: &BTreeMap<String, String>,
    path_prefix: Option<&str>,
) -> Option<i32> {
    if !hook.retry {
        return run_once(hook, script, env, path_prefix);
    }
    let mut attempts = 1;
    loop {
        let status = run_once(hook, script, env, path_prefix);
        let (step, next) = hooks::retry_step(status, attempts);
        attempts = next;
        match step {
            RetryStep::Finish(code) => {
                if code == hooks::EXIT_ABORT_CONTINUE {
                    tracing::warn!(target: "barman.hooks", "{script} was aborted (got exit status {code}, Barman resumes)");
                } else if code == hooks::EXIT_ABORT_STOP {
                    tracing::error!(target: "barman.hooks", "{script} was aborted (got exit status {code}, Barman requested to stop)");
                }
                return Some(code);
            }
            RetryStep::Break => {
                tracing::debug!(target: "barman.hooks", "Retry again in {} seconds", BREAK_TIME.as_secs());
                std::thread::sleep(pause(step));
            }
            RetryStep::Nap => {
                tracing::debug!(
                    target: "barman.hooks",
                    "Reached {} failures. Take a nap then retry again in {} seconds",
                    hooks::ATTEMPTS_BEFORE_NAP,
                    NAP_TIME.as_secs()
                );
                std::thread::sleep(pause(step));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::hooks::{HookFamily, Phase};

    fn id(retry: bool) -> HookId {
        HookId {
            family: HookFamily::Backup,
            phase: Phase::Pre,
            retry,
        }
    }

    #[test]
    fn hook_gets_environment_and_path_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("env");
        let mut env = BTreeMap::new();
        env.insert("BARMAN_SERVER".to_string(), "pg".to_string());
        let script = format!("echo \"$BARMAN_SERVER $PATH\" > {}", out.display());
        assert_eq!(run(&id(false), &script, &env, Some("/opt/x")), Some(0));
        let text = std::fs::read_to_string(out).unwrap();
        assert!(text.starts_with("pg /opt/x:"), "{text}");
    }

    #[test]
    fn missing_script_is_exit_127() {
        let env = BTreeMap::new();
        assert_eq!(
            run(&id(false), "/nonexistent/hook.sh", &env, None),
            Some(127)
        );
    }

    #[test]
    fn retry_hook_stops_on_62() {
        let dir = tempfile::tempdir().unwrap();
        let count = dir.path().join("count");
        // Fails once, then asks to abort and continue.
        let script = format!(
            "if [ -f {0} ]; then exit 62; else touch {0}; exit 1; fi",
            count.display()
        );
        let started = std::time::Instant::now();
        std::env::set_var("BARMAN_TEST_HOOK_BREAK_MS", "10");
        let status = run(&id(true), &script, &BTreeMap::new(), None);
        assert_eq!(status, Some(62));
        if cfg!(not(feature = "failpoints")) {
            assert!(started.elapsed() >= BREAK_TIME);
        }
    }
}
