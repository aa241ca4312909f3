//! Facts about a host for `diagnose` (Barman's `UnixLocalCommand.get_system_info`): OS
//! release, kernel, rsync and ssh versions, and what runs Barman. The backup host's are
//! read through `sh -c`, a PostgreSQL server's through its `ssh_command`, one shell
//! command at a time, as Barman does.

use serde_json::{Map, Value};

/// Where the shell commands run.
enum Host {
    /// `sh -c <command>` here.
    Local,
    /// `<ssh_command words> <command>`.
    Remote(Vec<String>),
}

impl Host {
    /// Run one shell command: its exit code (None when it could not start) and its stdout.
    fn run(&self, command: &str) -> (Option<i32>, String) {
        let mut cmd = match self {
            Host::Local => {
                let mut cmd = super::spawn::child_command("sh");
                cmd.arg("-c");
                cmd
            }
            Host::Remote(words) => {
                let mut cmd = super::spawn::child_command(&words[0]);
                cmd.args(&words[1..]);
                cmd
            }
        };
        cmd.arg(command).stdin(std::process::Stdio::null());
        match super::spawn::output(&mut cmd) {
            Ok(out) => (
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
            ),
            Err(_) => (None, String::new()),
        }
    }

    fn succeeds(&self, command: &str) -> bool {
        self.run(command).0 == Some(0)
    }
}

/// The backup host's `system_info` (without `barman_ver` and `timestamp`, which the
/// command adds). Commands that fail give empty strings, as in Barman, never an error.
pub fn collect() -> Map<String, Value> {
    gather(&Host::Local)
}

/// A PostgreSQL server's `system_info`, read over `ssh_command`; None when ssh does not
/// work (Barman then leaves the block out). As in Barman, `python_ver` and
/// `python_executable` describe the program running here, not the remote host.
pub fn collect_remote(ssh_command: &str) -> Option<Map<String, Value>> {
    let words = shell_words::split(ssh_command)
        .ok()
        .filter(|w| !w.is_empty())?;
    let host = Host::Remote(words);
    if !host.succeeds("true") {
        return None;
    }
    Some(gather(&host))
}

fn gather(host: &Host) -> Map<String, Value> {
    let mut info = Map::new();
    let mut put = |key: &str, value: String| {
        info.insert(key.into(), Value::String(value));
    };
    put("release", release(host));
    put(
        "kernel_ver",
        host.run("uname '-a'").1.trim_end().to_string(),
    );
    // Barman reports its Python interpreter here; we report the binary that runs instead.
    put(
        "python_ver",
        format!("Rust barman {}", env!("CARGO_PKG_VERSION")),
    );
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    put("python_executable", exe);
    // Barman quotes its `2>&1`, so both commands pass it as an argument: rsync prints its
    // version all the same, `ssh -V` writes on stderr and Barman's value stays empty.
    let rsync = host.run("rsync '--version' '2>&1'").1;
    put(
        "rsync_ver",
        rsync.lines().next().unwrap_or("").trim_end().to_string(),
    );
    put(
        "ssh_ver",
        host.run("ssh '-V' '2>&1'").1.trim_end().to_string(),
    );
    info
}

fn release(host: &Host) -> String {
    let (code, out) = host.run("lsb_release '-a'");
    if code == Some(0) {
        return out.trim_end().to_string();
    }
    let files = [
        ("/etc/lsb-release", "Ubuntu Linux"),
        ("/etc/debian_version", "Debian GNU/Linux"),
        ("/etc/redhat-release", "RedHat Linux"),
    ];
    for (path, name) in files {
        if host.succeeds(&format!("test '-e' '{path}'")) {
            let text = host.run(&format!("cat '{path}'")).1;
            return format!("{name} {}", text.trim_end());
        }
    }
    let (code, out) = host.run("sw_vers");
    if code == Some(0) {
        return out.trim_end().to_string();
    }
    String::new()
}
