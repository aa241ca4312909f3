//! The background prefetcher of `barman-wal-restore -p N`. Barman fetches the next files
//! inside each `restore_command` call, so fetching and replay alternate; here every call
//! records the segment PostgreSQL just asked for (`<spool>/.prefetch.want`) and makes sure
//! one detached prefetcher runs (`<spool>/.prefetch.lock`), which keeps the N segments after
//! it in the spool while PostgreSQL replays, and exits after a while without requests.

use super::{fetch, rebuild_argv, ssh_argv, Args};
use crate::adapters::lock::{LockError, LockFile};
use clap::Parser;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Seconds without a new request after which the prefetcher exits.
const IDLE_EXIT: Duration = Duration::from_secs(10);

fn want_path(spool: &Path) -> std::path::PathBuf {
    spool.join(".prefetch.want")
}

/// Record the requested segment and start the prefetcher unless one runs already.
pub fn ensure(args: &Args) {
    if std::fs::create_dir_all(&args.spool_dir).is_err() {
        return;
    }
    let want = want_path(&args.spool_dir);
    let tmp = args.spool_dir.join(".prefetch.want.tmp");
    if std::fs::write(&tmp, &args.wal_name).is_err() || std::fs::rename(&tmp, &want).is_err() {
        return;
    }
    let lock = match LockFile::acquire_path(&args.spool_dir.join(".prefetch.lock"), false) {
        Ok(lock) => lock,
        // A prefetcher runs: it reads the new request on its next pass.
        Err(LockError::Busy(_)) => return,
        Err(_) => return,
    };
    // SAFETY: the process is single-threaded here (no thread has been spawned by this
    // client), so the child may run arbitrary code after fork.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            detach();
            run(args);
            drop(lock);
            // Leave without running the parent's exit path (stdio is already closed).
            // SAFETY: _exit ends the child process immediately.
            unsafe { libc::_exit(0) };
        }
        Ok(nix::unistd::ForkResult::Parent { .. }) => {
            // The child holds the lock through its copy of the descriptor; closing ours
            // (without unlocking) keeps it held.
            std::mem::forget(lock);
        }
        Err(_) => {}
    }
}

/// A new session with stdio on /dev/null, so PostgreSQL's restore_command returns at once.
fn detach() {
    let _ = nix::unistd::setsid();
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        use std::os::fd::AsRawFd;
        for fd in 0..3 {
            // SAFETY: dup2 onto the standard descriptors.
            unsafe {
                libc::dup2(null.as_raw_fd(), fd);
            }
        }
    }
}

/// Keep the `parallel` segments after the latest request in the spool.
fn run(args: &Args) {
    let mut last_want = String::new();
    let mut idle_since = Instant::now();
    loop {
        let want = std::fs::read_to_string(want_path(&args.spool_dir)).unwrap_or_default();
        if want != last_want {
            idle_since = Instant::now();
            last_want = want.clone();
        }
        let fetched = want.len() >= 24 && fill(args, &want);
        if !fetched {
            if idle_since.elapsed() > IDLE_EXIT {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// One pass: ask which of the next segments exist and fetch the missing ones in parallel.
/// True when something was fetched.
fn fill(args: &Args, want: &str) -> bool {
    let argv = ssh_argv(args, want, Some(args.parallel + 1));
    let Ok(out) = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
    else {
        return false;
    };
    if !out.status.success() {
        return false;
    }
    let names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|n| n.len() >= 24 && *n != want)
        .map(str::to_string)
        .filter(|n| !args.spool_dir.join(n).exists())
        .take(args.parallel as usize)
        .collect();
    if names.is_empty() {
        return false;
    }
    let workers: Vec<_> = names
        .into_iter()
        .map(|name| {
            let worker_args = Args::parse_from(rebuild_argv(args, &name));
            std::thread::spawn(move || {
                // Fetch to a temporary name; publish only complete files.
                let tmp = worker_args.spool_dir.join(format!(".{name}.tmp"));
                let ok = fetch(&worker_args, &name, &tmp).is_ok_and(|c| c == 0);
                if ok {
                    let _ = std::fs::rename(&tmp, worker_args.spool_dir.join(&name));
                } else {
                    let _ = std::fs::remove_file(&tmp);
                }
                ok
            })
        })
        .collect();
    // Join every worker before deciding (no short-circuit: none is left running).
    let results: Vec<bool> = workers
        .into_iter()
        .map(|w| w.join().unwrap_or(false))
        .collect();
    results.into_iter().any(|ok| ok)
}
