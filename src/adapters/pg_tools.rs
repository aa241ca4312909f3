//! Finding PostgreSQL client tools (`pg_basebackup`, `pg_receivewal`, `pg_verifybackup`)
//! the way Barman does: in `path_prefix` then `PATH`, and reading their versions
//! (`command_wrappers.py`, `PostgreSQLClient.get_version_info`); running `pg_verifybackup`.

use std::path::{Path, PathBuf};

/// What Barman learns about a client tool.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolVersion {
    /// Path of the program found.
    pub path: Option<PathBuf>,
    /// Full version text (`15.18`).
    pub full_version: Option<String>,
    /// Major version (`15`, or `9.6` before 10).
    pub major_version: Option<String>,
}

/// The search path: `path_prefix` entries before `PATH` (Barman's `Server._build_path`).
pub fn search_path(path_prefix: Option<&str>) -> String {
    let env = std::env::var("PATH").unwrap_or_default();
    match path_prefix {
        Some(prefix) if !prefix.is_empty() => format!("{prefix}:{env}"),
        _ => env,
    }
}

fn find(program: &str, path: &str) -> Option<PathBuf> {
    path.split(':')
        .filter(|dir| !dir.is_empty())
        .map(|dir| Path::new(dir).join(program))
        .find(|candidate| {
            use std::os::unix::fs::PermissionsExt;
            candidate
                .metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Find the first of `alternatives` on the search path and read its `--version`, once per
/// process for the same search: `check all` and `status all` ask it for every server, and
/// Debian's `/usr/bin/pg_basebackup` is a Perl wrapper that takes ~40 ms to answer.
pub fn version_info(alternatives: &[&str], path_prefix: Option<&str>) -> ToolVersion {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    /// The programs tried, then the search path.
    type Search = (Vec<String>, String);
    static SEEN: OnceLock<Mutex<HashMap<Search, ToolVersion>>> = OnceLock::new();
    let path = search_path(path_prefix);
    let key: Search = (
        alternatives.iter().map(|a| a.to_string()).collect(),
        path.clone(),
    );
    let seen = SEEN.get_or_init(Default::default);
    if let Some(known) = seen.lock().ok().and_then(|map| map.get(&key).cloned()) {
        return known;
    }
    let found = read_version(alternatives, &path);
    if let Ok(mut map) = seen.lock() {
        map.insert(key, found.clone());
    }
    found
}

fn read_version(alternatives: &[&str], path: &str) -> ToolVersion {
    for program in alternatives {
        let Some(full_path) = find(program, path) else {
            continue;
        };
        let Ok(out) = super::spawn::output(
            super::spawn::child_command(&full_path)
                .arg("--version")
                .env("PATH", path),
        ) else {
            continue;
        };
        if !out.status.success() {
            continue;
        }
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let full_version = parse_version_output(&text);
        return ToolVersion {
            major_version: full_version.as_deref().map(major_of),
            full_version,
            path: Some(full_path),
        };
    }
    ToolVersion::default()
}

/// Run `<program> -n <data_dir> [-F tar]` (Barman's `PgVerifyBackup`: `-n` skips WAL
/// parsing, since Barman keeps a backup's WAL in its archive, not in `pg_wal/`), killed if
/// barman dies.
///
/// # Errors
/// The program could not be started.
pub fn verify_backup(
    program: &Path,
    data_dir: &Path,
    tar: bool,
) -> std::io::Result<std::process::Output> {
    let mut cmd = super::spawn::child_command(program);
    cmd.arg("-n").arg(data_dir);
    if tar {
        cmd.args(["-F", "tar"]);
    }
    super::spawn::dies_with_parent(&mut cmd);
    super::spawn::output(cmd.stdin(std::process::Stdio::null()))
}

/// `pg_basebackup (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)` → `15.18`.
pub fn parse_version_output(text: &str) -> Option<String> {
    let mut cleaned = String::new();
    let mut depth = 0;
    for c in text.trim().chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ if depth == 0 => cleaned.push(c),
            _ => {}
        }
    }
    let version = cleaned.split_whitespace().nth(1)?.to_string();
    version
        .starts_with(|c: char| c.is_ascii_digit())
        .then_some(version)
}

/// The major version: the first number from 10 on, the first two before.
pub fn major_of(version: &str) -> String {
    let digits: Vec<&str> = version
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .collect();
    match digits.as_slice() {
        [first, second, ..] if first.parse::<u32>().is_ok_and(|n| n < 10) => {
            format!("{first}.{second}")
        }
        [first, ..] => first.to_string(),
        [] => version.to_string(),
    }
}

/// Compare two major versions as Barman's `Version` objects do (numerically, part by part).
pub fn version_le(a: &str, b: &str) -> bool {
    let parts = |v: &str| -> Vec<u32> { v.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    parts(a) <= parts(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_version_parsing_like_barman() {
        assert_eq!(
            parse_version_output("pg_basebackup (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n")
                .as_deref(),
            Some("15.18")
        );
        assert_eq!(
            parse_version_output("pg_receivewal (PostgreSQL) 17devel").as_deref(),
            Some("17devel")
        );
        assert_eq!(parse_version_output("garbage"), None);
        assert_eq!(major_of("15.18"), "15");
        assert_eq!(major_of("9.6.24"), "9.6");
        assert!(version_le("9.6", "15"));
        assert!(version_le("15", "15"));
        assert!(!version_le("16", "15"));
    }

    #[test]
    fn tool_search_prefers_path_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let tool = dir.path().join("pg_fake_tool");
        std::fs::write(&tool, "#!/bin/sh\necho 'pg_fake_tool (PostgreSQL) 14.3'\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        let info = version_info(&["pg_fake_tool"], dir.path().to_str());
        assert_eq!(info.path.as_deref(), Some(tool.as_path()));
        assert_eq!(info.full_version.as_deref(), Some("14.3"));
        assert_eq!(info.major_version.as_deref(), Some("14"));
        assert_eq!(
            version_info(&["no_such_tool_here"], None),
            ToolVersion::default()
        );
    }
}
