//! Facts about the backup host for `diagnose` (Barman's `UnixLocalCommand.get_system_info`):
//! OS release, kernel, rsync and ssh versions, and what runs Barman.

use serde_json::{Map, Value};
use std::process::Command;

/// Collect the `system_info` object. Commands that are missing give empty strings, as in
/// Barman, never an error.
pub fn collect() -> Map<String, Value> {
    let mut info = Map::new();
    info.insert("release".into(), Value::String(release()));
    info.insert(
        "kernel_ver".into(),
        Value::String(first_output("uname", &["-a"]).unwrap_or_default()),
    );
    // Barman reports its Python interpreter here; we report the binary that runs instead.
    info.insert(
        "python_ver".into(),
        Value::String(format!("Rust barman {}", env!("CARGO_PKG_VERSION"))),
    );
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    info.insert("python_executable".into(), Value::String(exe));
    let rsync = first_output("rsync", &["--version"])
        .and_then(|out| out.lines().next().map(|l| l.trim_end().to_string()))
        .unwrap_or_default();
    info.insert("rsync_ver".into(), Value::String(rsync));
    info.insert(
        "ssh_ver".into(),
        Value::String(first_output("ssh", &["-V"]).unwrap_or_default()),
    );
    info
}

fn release() -> String {
    if let Some(out) = first_output("lsb_release", &["-a"]) {
        return out;
    }
    let read = |path: &str| {
        std::fs::read_to_string(path)
            .ok()
            .map(|s| s.trim_end().to_string())
    };
    if let Some(text) = read("/etc/lsb-release") {
        return format!("Ubuntu Linux {text}");
    }
    if let Some(text) = read("/etc/debian_version") {
        return format!("Debian GNU/Linux {text}");
    }
    if let Some(text) = read("/etc/redhat-release") {
        return format!("RedHat Linux {text}");
    }
    String::new()
}

/// Run a program; its stdout (or stderr when stdout is empty, as `ssh -V` writes there),
/// right-trimmed, when it exits 0.
fn first_output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = if out.stdout.is_empty() {
        out.stderr
    } else {
        out.stdout
    };
    Some(String::from_utf8_lossy(&text).trim_end().to_string())
}
