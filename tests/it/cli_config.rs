//! The binary's behaviour on configuration problems: one clear line on stderr naming the
//! file, section, key and value, exit code 1, and nothing written anywhere.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Run {
    stdout: String,
    stderr: String,
    code: i32,
}

fn barman(config: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_barman"))
        .arg("-c")
        .arg(config)
        .args(args)
        .env_remove("BARMAN_CONFIG_FILE")
        .output()
        .expect("run barman");
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

/// Every path below `dir` (to prove a failed run wrote nothing).
fn tree(dir: &Path) -> BTreeSet<PathBuf> {
    let mut found = BTreeSet::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                found.extend(tree(&path));
            }
            found.insert(path);
        }
    }
    found
}

/// A temp folder with `barman.conf` (global section plus `body`) and optional includes.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(body: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path().join("home");
        std::fs::create_dir(&home).expect("home");
        let text = format!(
            "[barman]\nbarman_home = {}\nbarman_user = {}\nconfiguration_files_directory = {}\n\n{body}",
            home.display(),
            current_user(),
            dir.path().join("barman.d").display()
        );
        std::fs::write(dir.path().join("barman.conf"), text).expect("write config");
        std::fs::create_dir(dir.path().join("barman.d")).expect("barman.d");
        Setup { dir }
    }

    fn include(&self, name: &str, text: &str) -> &Self {
        std::fs::write(self.dir.path().join("barman.d").join(name), text).expect("write include");
        self
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("barman.conf")
    }

    /// Run a command expected to fail on the configuration; check the shared contract and
    /// return stderr.
    fn fails(&self, args: &[&str]) -> String {
        let before = tree(self.dir.path());
        let run = barman(&self.config(), args);
        assert_eq!(run.code, 1, "exit code; stderr: {}", run.stderr);
        assert_eq!(run.stdout, "", "nothing on stdout");
        assert_eq!(
            tree(self.dir.path()),
            before,
            "a failed run must not write anything"
        );
        run.stderr
    }
}

fn current_user() -> String {
    let uid = nix::unistd::getuid();
    nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| "root".into())
}

const SERVER: &str = "[pg]\nconninfo = host=127.0.0.1 port=1 dbname=postgres\nbackup_method = postgres\nstreaming_archiver = on\nslot_name = barman\n";

fn one_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected, got: {stderr}");
    lines[0]
}

#[test]
fn config_error_unparsable_bool_names_file_section_key_value() {
    let setup = Setup::new(&format!("{SERVER}network_compression = maybe\n"));
    let stderr = setup.fails(&["list-servers"]);
    let line = one_line(&stderr);
    for part in ["barman.conf", "[pg]", "network_compression", "maybe"] {
        assert!(line.contains(part), "'{part}' missing from: {line}");
    }
}

#[test]
fn config_error_unparsable_int_names_the_value() {
    let setup = Setup::new(&format!("{SERVER}parallel_jobs = two\n"));
    let line = setup.fails(&["show-servers", "all"]);
    for part in ["[pg]", "parallel_jobs", "two"] {
        assert!(
            one_line(&line).contains(part),
            "'{part}' missing from: {line}"
        );
    }
}

#[test]
fn config_error_unknown_retention_policy_syntax() {
    let setup = Setup::new(&format!("{SERVER}retention_policy = KEEP 3 FOREVER\n"));
    let stderr = setup.fails(&["list-servers"]);
    let line = one_line(&stderr);
    for part in ["[pg]", "retention_policy", "KEEP 3 FOREVER"] {
        assert!(line.contains(part), "'{part}' missing from: {line}");
    }
}

#[test]
fn config_error_two_servers_with_one_name() {
    let setup = Setup::new(SERVER);
    setup.include("pg.conf", SERVER);
    let stderr = setup.fails(&["list-servers"]);
    let line = one_line(&stderr);
    assert!(line.contains("pg"), "{line}");
    assert!(
        line.contains("pg.conf"),
        "the second file must be named: {line}"
    );
}

#[test]
fn config_error_server_named_all_uses_barmans_text() {
    let setup = Setup::new("[all]\nconninfo = host=x\n");
    let stderr = setup.fails(&["list-servers"]);
    assert!(
        one_line(&stderr)
            .contains("the reserved word 'all' is not allowed as server name.Please rename it."),
        "{stderr}"
    );
}

#[test]
fn config_error_barman_section_in_include_file() {
    let setup = Setup::new(SERVER);
    setup.include("extra.conf", "[barman]\nlog_level = DEBUG\n");
    let stderr = setup.fails(&["list-servers"]);
    assert!(
        one_line(&stderr)
            .contains("the configuration file extra.conf contains a not empty [barman] section"),
        "{stderr}"
    );
}

#[test]
fn config_error_missing_file_uses_barmans_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope.conf");
    let run = barman(&missing, &["list-servers"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        format!(
            "Configuration file '{}' does not exist\n",
            missing.display()
        )
    );
    assert!(tree(dir.path()).is_empty());
}

#[test]
fn config_error_missing_barman_home() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("barman.conf");
    std::fs::write(
        &config,
        format!("[barman]\nbarman_user = {}\n", current_user()),
    )
    .expect("write");
    let run = barman(&config, &["list-servers"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("barman_home"), "{}", run.stderr);
}

#[test]
fn config_unknown_key_only_warns_as_barman_does() {
    let setup = Setup::new(&format!("{SERVER}frobnicate = yes\n"));
    let run = barman(&setup.config(), &["list-servers"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("WARNING: Invalid configuration option \"frobnicate\" in [pg] section."),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "pg\n");
}

#[test]
fn unknown_server_is_an_error_but_others_still_run() {
    let setup = Setup::new(SERVER);
    let run = barman(&setup.config(), &["-f", "json", "list-servers"]);
    assert_eq!(run.code, 0);
    let run = barman(&setup.config(), &["show-servers", "nosuch"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("ERROR: Unknown server 'nosuch'"),
        "{}",
        run.stderr
    );
}
