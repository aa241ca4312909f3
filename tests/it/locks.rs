//! Our lock files and Python Barman's exclude each other on one `barman_home`.

use crate::harness::python_barman;
use crate::require;
use barman::adapters::lock::{LockError, LockFile, LockKind};
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn python() -> Option<PathBuf> {
    python_barman::path().map(|barman| barman.with_file_name("python"))
}

#[test]
fn locks_exclude_python_barman_and_are_excluded_by_it() {
    require!(
        "Python Barman (scripts/python-barman)",
        python_barman::available()
    );
    let python = python().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kind = LockKind::ServerBackup("pg".into());

    // We hold it: Python Barman's ServerBackupLock reports it busy, and sees our pid.
    let held = LockFile::acquire(dir.path(), &kind).unwrap();
    let script = "import sys\nfrom barman.lockfile import ServerBackupLock, LockFileBusy\n\
                  lock = ServerBackupLock(sys.argv[1], 'pg')\nprint(lock.get_owner_pid())\n\
                  try:\n    lock.acquire()\n    print('acquired')\nexcept LockFileBusy:\n    print('busy')\n";
    let out = Command::new(&python)
        .args(["-c", script])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout,
        format!("{}\nbusy\n", std::process::id()),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(held);

    // Python holds it: we are refused until it lets go.
    let hold = "import sys, time\nfrom barman.lockfile import ServerBackupLock\n\
                lock = ServerBackupLock(sys.argv[1], 'pg')\nlock.acquire()\nprint('held', flush=True)\n\
                sys.stdin.read()\n";
    let mut child = Command::new(&python)
        .args(["-c", hold])
        .arg(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line, "held\n");
    assert!(matches!(
        LockFile::acquire(dir.path(), &kind),
        Err(LockError::Busy(_))
    ));
    let path = dir.path().join(kind.file_name());
    assert_eq!(
        barman::adapters::lock::owner_pid(&path).unwrap(),
        Some(child.id())
    );
    drop(child.stdin.take());
    child.wait().unwrap();
    assert!(LockFile::acquire(dir.path(), &kind).is_ok());
}
