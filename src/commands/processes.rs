//! Barman's sub-processes, found through their lock files (`barman/process.py`):
//! `list-processes`, `terminate-process`, and the `kill` cron uses to stop `receive-wal`.
//! A lock file whose lock nobody holds (a dead process left it) lists nothing; a held one
//! gives the pid written in it.

use super::{select, Context};
use crate::adapters::lock;
use crate::core::config::ServerConfig;
use crate::output::Output;
use serde_json::{json, Value};
use std::path::Path;

/// Lock and task names in Barman's `ProcessManager.TASKS` order: the first suffix that
/// matches wins (sync-backup before backup).
const TASKS: [(&str, &str); 6] = [
    ("receive-wal", "-receive-wal.lock"),
    ("sync-backup", "-sync-backup.lock"),
    ("backup", "-backup.lock"),
    ("cron", "-cron.lock"),
    ("archive-wal", "-archive-wal.lock"),
    ("sync-wal", "-sync-wal.lock"),
];

/// A running Barman sub-process of one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    /// Its pid (from the lock file).
    pub pid: u32,
    /// The task (`receive-wal`, `backup`, ...).
    pub task: &'static str,
}

/// The task a lock file name belongs to, by Barman's `LOCK_PATTERN`s.
fn task_of(file_name: &str) -> Option<&'static str> {
    let rest = file_name.strip_prefix('.')?;
    TASKS.iter().find_map(|(task, suffix)| {
        let head = rest.strip_suffix(suffix)?;
        // Every pattern needs a non-empty server name; sync-backup also a backup id.
        let ok = if *task == "sync-backup" {
            head.split_once('-')
                .is_some_and(|(s, id)| !s.is_empty() && !id.is_empty())
        } else {
            !head.is_empty()
        };
        ok.then_some(*task)
    })
}

/// Every live sub-process of `server` (glob `.<server>-*.lock` in the lock directory, in
/// directory order as Python's `glob`).
pub fn list(lock_dir: &Path, server: &str, out: &mut Output) -> Vec<ProcessInfo> {
    let prefix = format!(".{server}-");
    let Ok(entries) = std::fs::read_dir(lock_dir) else {
        return Vec::new();
    };
    let mut processes = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with(&prefix) || !name.ends_with(".lock") {
            continue;
        }
        let Some(task) = task_of(&name) else {
            continue;
        };
        processes.extend(holder(&entry.path(), task, server, out));
    }
    processes
}

/// The live process holding the lock file at `path`, if any (a warning when its pid
/// cannot be read).
fn holder(path: &Path, task: &'static str, server: &str, out: &mut Output) -> Option<ProcessInfo> {
    match lock::owner_pid(path) {
        Ok(pid) => pid.map(|pid| ProcessInfo { pid, task }),
        Err(_) => {
            out.warning(&format!(
                "Skipping the {task} process for server {server}: Error reading the PID from lock file '{}'",
                path.display()
            ));
            None
        }
    }
}

/// list-processes and terminate-process work on any server, inactive or disabled.
const ANY_SERVER: select::Policy = select::Policy {
    inactive_is_error: false,
    skip_inactive: false,
    disabled_is_error: false,
};

/// `list-processes SERVER`.
pub fn list_processes(ctx: &Context, out: &mut Output, name: &str) -> crate::Result<()> {
    let Some(server) = select::single(&ctx.config, name, out, ANY_SERVER) else {
        return Ok(());
    };
    let lock_dir = Path::new(&ctx.config.global.barman_lock_directory);
    let processes = list(lock_dir, server.name(), out);
    let name = server.name();
    if out.is_json() {
        let items: Vec<Value> = processes
            .iter()
            .map(|p| json!({"pid": p.pid, "name": p.task}))
            .collect();
        out.json_set(name, Value::Array(items));
    } else if processes.is_empty() {
        out.info(&format!("No active subprocesses found for server {name}."));
    } else {
        out.info(&format!("Active subprocesses for server {name}:"));
        for p in &processes {
            out.info(&format!("{} {}", p.pid, p.task));
        }
    }
    Ok(())
}

/// `terminate-process SERVER TASK`.
pub fn terminate_process(
    ctx: &Context,
    out: &mut Output,
    name: &str,
    task: &str,
) -> crate::Result<()> {
    let Some(server) = select::single(&ctx.config, name, out, ANY_SERVER) else {
        return Ok(());
    };
    kill(ctx, server, task, true, out);
    Ok(())
}

/// Barman's `Server.kill`: SIGINT the first process of `task`, then wait for it to go.
pub fn kill(
    ctx: &Context,
    server: &ServerConfig,
    task: &str,
    fail_if_not_present: bool,
    out: &mut Output,
) {
    let lock_dir = Path::new(&ctx.config.global.barman_lock_directory);
    let processes = match TASKS
        .iter()
        .find(|(t, _)| *t == task && *t != "sync-backup")
    {
        // One task's lock has one name: read it, not the whole lock folder (cron stops
        // receive-wal this way for every server: a listing each made a fleet's cron
        // quadratic). Nor can it pick up `.a-b-receive-wal.lock` of server `a-b` for
        // server `a`, as Barman's glob does.
        Some((task, suffix)) => {
            let path = lock_dir.join(format!(".{}{suffix}", server.name()));
            holder(&path, task, server.name(), out)
                .into_iter()
                .collect()
        }
        None => list(lock_dir, server.name(), out),
    };
    if let Some(process) = processes.iter().find(|p| p.task == task) {
        match crate::adapters::signals::interrupt_and_wait(process.pid, 10) {
            Ok(true) => out.info(&format!(
                "Stopped process {}({})",
                process.task, process.pid
            )),
            Ok(false) => out.error(&format!(
                "Cannot terminate process {}({})",
                process.task, process.pid
            )),
            Err(e) => {
                out.error(&e);
                out.error(&format!(
                    "Cannot terminate process {}({})",
                    process.task, process.pid
                ));
            }
        }
        return;
    }
    if fail_if_not_present {
        out.error(&format!(
            "Termination of {task} failed: no such process for server {}",
            server.name()
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_names_map_to_tasks_in_barman_order() {
        assert_eq!(task_of(".pg-receive-wal.lock"), Some("receive-wal"));
        assert_eq!(
            task_of(".pg-20240101T000000-sync-backup.lock"),
            Some("sync-backup")
        );
        assert_eq!(task_of(".pg-backup.lock"), Some("backup"));
        assert_eq!(task_of(".pg-cron.lock"), Some("cron"));
        assert_eq!(task_of(".pg-archive-wal.lock"), Some("archive-wal"));
        assert_eq!(task_of(".pg-sync-wal.lock"), Some("sync-wal"));
        assert_eq!(task_of(".pg-xlogdb.lock"), None);
        assert_eq!(task_of(".pg-20240101T000000.lock"), None);
        assert_eq!(task_of(".-backup.lock"), None);
    }
}
