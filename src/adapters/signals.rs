//! Signalling other processes: Barman's `ProcessManager.kill` (SIGINT, then probe with
//! signal 0 once a second) and the liveness probe.

use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::time::Duration;

/// Send SIGINT to `pid` and check up to `retries` times, one second apart, that it is
/// gone. `Ok(true)` when it ended (or was already gone), `Ok(false)` when still alive,
/// `Err` with the OS error text on anything else (e.g. not permitted).
pub fn interrupt_and_wait(pid: u32, retries: u32) -> Result<bool, String> {
    let Ok(raw) = i32::try_from(pid) else {
        return Ok(true);
    };
    let pid = Pid::from_raw(raw);
    tracing::debug!(target: "barman.process", "Sending SIGINT to PID {pid}");
    match kill(pid, Signal::SIGINT) {
        Ok(()) => {}
        Err(Errno::ESRCH) => return Ok(true),
        Err(e) => return Err(python_os_error(e)),
    }
    for _ in 0..retries {
        match kill(pid, None) {
            Ok(()) => {}
            Err(Errno::ESRCH) => return Ok(true),
            Err(e) => return Err(python_os_error(e)),
        }
        // A child of ours that ended stays a zombie until reaped: reap it if it is one.
        reap(pid);
        if matches!(kill(pid, None), Err(Errno::ESRCH)) {
            return Ok(true);
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    Ok(false)
}

fn reap(pid: Pid) {
    use nix::sys::wait::{waitpid, WaitPidFlag};
    let _ = waitpid(pid, Some(WaitPidFlag::WNOHANG));
}

/// `str(OSError)` as Python prints it: `[Errno 1] Operation not permitted`.
fn python_os_error(e: Errno) -> String {
    format!("[Errno {}] {}", e as i32, e.desc())
}

/// `true` only when no process `pid` exists (signal 0 answers ESRCH). A process we may not
/// signal (EPERM) exists; PID 0 and values beyond `i32` are never "gone", so a caller that
/// deletes what a dead process left behind never deletes on a doubt.
pub fn is_gone(pid: u32) -> bool {
    match i32::try_from(pid) {
        Ok(raw) if raw > 0 => matches!(kill(Pid::from_raw(raw), None), Err(Errno::ESRCH)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_gone_tells_live_from_ended_processes() {
        assert!(!is_gone(std::process::id()));
        assert!(!is_gone(0));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(is_gone(pid));
    }
}
