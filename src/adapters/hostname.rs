//! This host's names, as Python computes them: `socket.getfqdn()` is what Barman writes as
//! the Barman host in a remote recovery's `restore_command` (`recovery_executor.py`).
//!
//! CPython's `getfqdn()` (Lib/socket.py) is `gethostbyaddr(gethostname())`, then the first
//! of [canonical name, aliases...] containing a dot, else the canonical name; the host name
//! itself only when the lookup fails. `gethostbyaddr(name)` (Modules/socketmodule.c)
//! resolves `name` to its first address with `getaddrinfo(AF_UNSPEC)` (a numeric address
//! is taken as it is) and then looks that address up with `gethostbyaddr_r(3)`. So on a
//! host whose name resolves to 127.0.0.1, listed first as `localhost` in /etc/hosts, the
//! answer is `localhost`, which `hostname -f` does not say.

use std::ffi::CStr;
use std::net::IpAddr;

/// Python's `socket.getfqdn()` for this host.
pub fn getfqdn() -> String {
    let name = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_default();
    match gethostbyaddr(&name) {
        Some((canonical, aliases)) => pick_fqdn(&canonical, &aliases),
        None => name,
    }
}

/// getfqdn's choice: the first of the canonical name and its aliases with a dot, else the
/// canonical name.
pub fn pick_fqdn(canonical: &str, aliases: &[String]) -> String {
    std::iter::once(canonical)
        .chain(aliases.iter().map(String::as_str))
        .find(|n| n.contains('.'))
        .unwrap_or(canonical)
        .to_string()
}

/// CPython's `setipaddr(name, AF_UNSPEC)`: a numeric address as it is, else the first
/// address `getaddrinfo` gives.
fn first_address(name: &str) -> Option<IpAddr> {
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Some(ip);
    }
    // std's resolver is getaddrinfo(AF_UNSPEC) and keeps its order.
    std::net::ToSocketAddrs::to_socket_addrs(&(name, 0))
        .ok()?
        .next()
        .map(|a| a.ip())
}

extern "C" {
    // glibc and musl: the reentrant reverse lookup CPython calls.
    fn gethostbyaddr_r(
        addr: *const libc::c_void,
        len: libc::socklen_t,
        kind: libc::c_int,
        ret: *mut libc::hostent,
        buf: *mut libc::c_char,
        buflen: libc::size_t,
        result: *mut *mut libc::hostent,
        h_errnop: *mut libc::c_int,
    ) -> libc::c_int;
}

/// Python's `socket.gethostbyaddr(name)[:2]`: canonical name and aliases.
fn gethostbyaddr(name: &str) -> Option<(String, Vec<String>)> {
    let (bytes, family) = match first_address(name)? {
        IpAddr::V4(v4) => (v4.octets().to_vec(), libc::AF_INET),
        IpAddr::V6(v6) => (v6.octets().to_vec(), libc::AF_INET6),
    };
    let mut size = 16 * 1024;
    loop {
        let mut buf = vec![0 as libc::c_char; size];
        // SAFETY: all-zero is a valid hostent (null pointers, zero integers).
        let mut entry: libc::hostent = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::hostent = std::ptr::null_mut();
        let mut h_errno: libc::c_int = 0;
        // SAFETY: every pointer is to a live local of the right size; the address length
        // matches `bytes`; on success `result` points to `entry`, whose strings live in `buf`.
        let rc = unsafe {
            gethostbyaddr_r(
                bytes.as_ptr().cast(),
                bytes.len() as libc::socklen_t,
                family,
                &mut entry,
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
                &mut h_errno,
            )
        };
        if rc == libc::ERANGE && size < 1 << 20 {
            size *= 4;
            continue;
        }
        if rc != 0 || result.is_null() || entry.h_name.is_null() {
            return None;
        }
        // SAFETY: glibc filled `entry` with NUL-terminated strings and a NULL-terminated
        // alias array, all inside `buf`, which is still alive.
        return Some(unsafe { read_hostent(&entry) });
    }
}

/// # Safety
/// `entry` must be a hostent filled by the C library, its storage still alive.
unsafe fn read_hostent(entry: &libc::hostent) -> (String, Vec<String>) {
    let text = |p: *const libc::c_char| CStr::from_ptr(p).to_string_lossy().into_owned();
    let canonical = text(entry.h_name);
    let mut aliases = Vec::new();
    let mut cursor = entry.h_aliases;
    while !cursor.is_null() && !(*cursor).is_null() {
        aliases.push(text(*cursor));
        cursor = cursor.add(1);
    }
    (canonical, aliases)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pick_fqdn_follows_cpython() {
        let none: Vec<String> = Vec::new();
        assert_eq!(pick_fqdn("localhost", &none), "localhost");
        assert_eq!(
            pick_fqdn("db", &["db.example.com".to_string(), "x.y".to_string()]),
            "db.example.com"
        );
        assert_eq!(pick_fqdn("a.b", &["c.d".to_string()]), "a.b");
        assert_eq!(pick_fqdn("db", &["other".to_string()]), "db");
    }

    #[test]
    fn getfqdn_is_pythons_socket_getfqdn() {
        let python = std::process::Command::new("python3")
            .args(["-c", "import socket; print(socket.getfqdn())"])
            .output();
        let Some(python) = python.ok().filter(|o| o.status.success()) else {
            assert!(
                std::env::var("BARMAN_TEST_REQUIRE_ALL").is_err(),
                "python3 is required"
            );
            eprintln!("SKIP: python3 is missing");
            return;
        };
        let theirs = String::from_utf8_lossy(&python.stdout).trim().to_string();
        assert_eq!(getfqdn(), theirs);
    }

    #[test]
    fn gethostbyaddr_of_a_numeric_loopback_address() {
        let (canonical, _) = gethostbyaddr("127.0.0.1").expect("127.0.0.1 resolves");
        assert!(!canonical.is_empty());
    }
}
