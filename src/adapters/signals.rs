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
