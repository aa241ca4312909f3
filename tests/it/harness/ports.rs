//! Free loopback ports, never handed out twice: not within one test process (a registry
//! behind a mutex), nor across the processes `cargo nextest` runs in parallel (a claim file
//! per port in a shared folder, created exclusively).

use std::collections::HashSet;
use std::net::TcpListener;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

/// Where claims live; shared by every test process on the machine.
pub const CLAIMS: &str = "/tmp/barman-it-ports";

/// A claim older than this belongs to a finished run: the port may be handed out again.
const CLAIM_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// A port on 127.0.0.1 that was free a moment ago and that no other test got from us.
pub fn free_port() -> u16 {
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("bind an ephemeral loopback port");
        let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
        if given.get_or_insert_with(HashSet::new).insert(port) && claim(port) {
            return port;
        }
    }
}

/// Claim `port` for this process; false when another test process holds a recent claim.
pub fn claim(port: u16) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let dir = Path::new(CLAIMS);
    if !dir.is_dir() {
        // Several processes may race here; whoever loses finds the folder made.
        let _ = std::fs::create_dir(dir);
        // Sticky and open to all: tests run by another user share the same registry.
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o1777));
    }
    let file = dir.join(port.to_string());
    for _ in 0..2 {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&file)
        {
            Ok(_) => return true,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let stale = std::fs::metadata(&file)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| SystemTime::now().duration_since(t).ok())
                    .is_some_and(|age| age > CLAIM_LIFETIME);
                if !stale {
                    return false;
                }
                // A leftover of an old run: drop it and claim afresh (once).
                let _ = std::fs::remove_file(&file);
            }
            // No usable registry (read-only /tmp?): the in-process check is all we have.
            Err(_) => return true,
        }
    }
    false
}
