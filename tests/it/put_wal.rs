//! `put-wal`: the tar stream `barman-wal-archive` sends, received into `incoming/`; the
//! same streams given to Python Barman give the same files and the same errors.

use crate::harness::{python_barman, BarmanHome, Run};
use crate::require;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

pub(crate) const WAL: &str = "000000010000000000000042";

pub(crate) fn home() -> BarmanHome {
    let home = BarmanHome::new();
    home.write_config(
        "",
        &[("pg", "conninfo = host=127.0.0.1 port=1\nssh_command = ssh x\narchiver = on\nbackup_options = concurrent_backup")],
    );
    home
}

/// A PAX tar of `files` plus a `SHA256SUMS` member, made by GNU tar and sha256sum as a
/// client would.
fn stream(dir: &Path, files: &[(&str, &[u8])], sums: Option<&str>) -> Vec<u8> {
    let mut names = Vec::new();
    for (name, data) in files {
        std::fs::write(dir.join(name), data).unwrap();
        names.push(name.to_string());
    }
    let sums = match sums {
        Some(text) => text.to_string(),
        None => {
            let out = Command::new("sha256sum")
                .arg("-b")
                .args(&names)
                .current_dir(dir)
                .output()
                .unwrap();
            String::from_utf8(out.stdout).unwrap()
        }
    };
    std::fs::write(dir.join("SHA256SUMS"), sums).unwrap();
    names.push("SHA256SUMS".into());
    let out = Command::new("tar")
        .args(["--format=pax", "-cf", "-"])
        .args(&names)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    out.stdout
}

pub(crate) fn feed(mut cmd: Command, input: &[u8]) -> Run {
    let mut child = cmd
        .env_remove("BARMAN_CONFIG_FILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A refused stream may be abandoned before the end: ignore a broken pipe.
    let _ = child.stdin.take().unwrap().write_all(input);
    let out = child.wait_with_output().unwrap();
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

pub(crate) fn ours(home: &BarmanHome, input: &[u8]) -> Run {
    let mut cmd = home.barman();
    cmd.args(["put-wal", "pg"]);
    feed(cmd, input)
}

pub(crate) fn theirs(home: &BarmanHome, input: &[u8]) -> Option<Run> {
    let mut cmd = python_barman::command()?;
    cmd.arg("-c")
        .arg(home.config_path())
        .args(["put-wal", "pg"]);
    Some(feed(cmd, input))
}

pub(crate) fn incoming(home: &BarmanHome) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(home.home().join("pg/incoming"))
        .map(|r| {
            r.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

pub(crate) fn error_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("ERROR: "))
        .collect()
}

#[test]
fn put_wal_test_mode_matches_barman() {
    require!(
        "Python Barman (scripts/python-barman)",
        python_barman::available()
    );
    let home = home();
    let ours = home.run(&["put-wal", "--test", "pg"]).ok();
    let theirs = home.run_python(&["put-wal", "--test", "pg"]).unwrap().ok();
    assert_eq!(ours.stdout, "Ready to accept WAL files for the server pg\n");
    assert_eq!(ours.stdout, theirs.stdout);
}

#[test]
fn put_wal_stores_what_python_barman_stores() {
    require!(
        "Python Barman (scripts/python-barman)",
        python_barman::available()
    );
    let work = tempfile::tempdir().unwrap();
    let data = vec![7u8; 1 << 20];
    let input = stream(
        work.path(),
        &[
            (WAL, &data),
            (
                "00000002.history",
                b"1\t0/3000000\tno recovery target specified\n",
            ),
        ],
        None,
    );
    let (a, b) = (home(), home());
    let run = ours(&a, &input);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (0, "", "")
    );
    theirs(&b, &input).unwrap().ok();
    assert_eq!(incoming(&a), vec![WAL, "00000002.history"]);
    assert_eq!(incoming(&a), incoming(&b));
    for name in incoming(&a) {
        let (ours, theirs) = (
            a.home().join("pg/incoming").join(&name),
            b.home().join("pg/incoming").join(&name),
        );
        assert_eq!(
            std::fs::read(&ours).unwrap(),
            std::fs::read(&theirs).unwrap(),
            "{name}"
        );
        use std::os::unix::fs::MetadataExt;
        assert_eq!(
            std::fs::metadata(&ours).unwrap().mtime(),
            std::fs::metadata(&theirs).unwrap().mtime(),
            "{name} mtime"
        );
    }
    // The same stream again: nothing changes, exit 0.
    assert_eq!(ours(&a, &input).code, 0);
    // Then archive-wal takes them into the archive.
    let run = a.run(&["archive-wal", "pg"]).ok();
    assert!(run.stdout.contains(&format!("\t{WAL}\n")), "{}", run.stdout);
    assert!(incoming(&a).is_empty());
}

#[test]
fn put_wal_refuses_bad_streams_like_barman_and_writes_nothing() {
    require!(
        "Python Barman (scripts/python-barman)",
        python_barman::available()
    );
    let work = tempfile::tempdir().unwrap();
    let wrong = "0000000000000000000000000000000000000000000000000000000000000000 *000000010000000000000042\n";
    let bad_sum = stream(work.path(), &[(WAL, b"data")], Some(wrong));
    let no_sum_for_file = stream(work.path(), &[(WAL, b"data")], Some(""));
    for (input, same_as_barman) in [
        (bad_sum, true),
        (no_sum_for_file, true),
        (b"garbage, not tar".repeat(64), false),
    ] {
        let (a, b) = (home(), home());
        let run = ours(&a, &input);
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert_eq!(error_lines(&run.stderr).len(), 1, "{}", run.stderr);
        assert!(
            error_lines(&run.stderr)[0].ends_with(" in put-wal for server 'pg'"),
            "{}",
            run.stderr
        );
        assert!(incoming(&a).is_empty(), "left {:?}", incoming(&a));
        if same_as_barman {
            let python = theirs(&b, &input).unwrap();
            assert_eq!(error_lines(&run.stderr), error_lines(&python.stderr));
        }
    }
}

#[test]
fn put_wal_refuses_paths_links_and_non_wal_names() {
    let work = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/etc/passwd", work.path().join(WAL)).unwrap();
    std::fs::write(work.path().join("SHA256SUMS"), "").unwrap();
    let link = Command::new("tar")
        .args(["--format=pax", "-cf", "-", WAL, "SHA256SUMS"])
        .current_dir(work.path())
        .output()
        .unwrap()
        .stdout;
    let dotdot = {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(dir.path().join(WAL), b"x").unwrap();
        Command::new("tar")
            // -P keeps the `../` GNU tar would otherwise strip, as a hostile client would.
            .args(["--format=pax", "-P", "-cf", "-", &format!("../{WAL}")])
            .current_dir(&sub)
            .output()
            .unwrap()
            .stdout
    };
    let junk = stream(work.path(), &[("postgresql.conf", b"x")], None);
    for (input, expected) in [
        (link, "ERROR: Unsupported file type '2' for file '000000010000000000000042' in put-wal for server 'pg'"),
        (dotdot, "ERROR: Unsupported filename '../000000010000000000000042' in put-wal for server 'pg'"),
        (junk, "ERROR: Unsupported filename 'postgresql.conf' in put-wal for server 'pg'"),
    ] {
        let home = home();
        let run = ours(&home, &input);
        assert_eq!(run.code, 1);
        assert_eq!(error_lines(&run.stderr), vec![expected]);
        assert!(incoming(&home).is_empty());
    }
}

#[test]
fn put_wal_on_an_inactive_server_is_an_error() {
    let home = BarmanHome::new();
    home.write_config(
        "",
        &[(
            "pg",
            "conninfo = host=x\nssh_command = ssh x\narchiver = on\nactive = false",
        )],
    );
    let run = home.run(&["put-wal", "pg"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("ERROR: Inactive server: pg"),
        "{}",
        run.stderr
    );
}
