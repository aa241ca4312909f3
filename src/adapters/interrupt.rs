//! Ctrl-C and SIGTERM during long work (backup copies): the handler only records the
//! signal; copy loops poll [`received`] and stop their children, so the backup is marked
//! FAILED with a reason (Barman records `KeyboardInterrupt`) instead of being left STARTED.

use std::sync::atomic::{AtomicI32, Ordering};

static SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn record(signal: libc::c_int) {
    SIGNAL.store(signal, Ordering::SeqCst);
}

/// Install the handlers for SIGINT and SIGTERM (idempotent).
pub fn install() {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let action = SigAction::new(
        SigHandler::Handler(record),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for signal in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: the handler only stores an integer in an atomic.
        let _ = unsafe { sigaction(signal, &action) };
    }
}

/// The signal received since [`install`], if any.
pub fn received() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// How Barman names the interruption in a backup's `error` (Python raises
/// `KeyboardInterrupt` on SIGINT; SIGTERM is named after the signal).
pub fn reason(signal: i32) -> &'static str {
    if signal == libc::SIGINT {
        "KeyboardInterrupt"
    } else {
        "Terminated"
    }
}

/// Kill `pid` once a signal was received, checking every 100 ms until `done` gets a message
/// or its sender is dropped (which ends the watch at once: the caller joining this thread
/// after its child exited does not wait out a pause).
pub fn watch_child(pid: u32, done: &std::sync::mpsc::Receiver<()>) {
    use std::sync::mpsc::RecvTimeoutError;
    while let Err(RecvTimeoutError::Timeout) =
        done.recv_timeout(std::time::Duration::from_millis(100))
    {
        if received().is_some() {
            // SAFETY: kill(2) on a child we spawned.
            unsafe {
                libc::kill(pid as i32, libc::SIGTERM);
            }
            return;
        }
    }
}
