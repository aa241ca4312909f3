//! The real Python Barman, installed by `scripts/python-barman` into `target/python-barman`
//! (or named by `PYTHON_BARMAN`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// What a test names in `require!` when it needs Python Barman.
pub const REQUIREMENT: &str = "Python Barman (scripts/python-barman)";

/// Path of the `barman` script of Python Barman, when installed.
pub fn path() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("PYTHON_BARMAN").map(PathBuf::from),
        Some(PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/target/python-barman/bin/barman"
        ))),
    ];
    candidates.into_iter().flatten().find(|p| p.is_file())
}

/// True when Python Barman is installed. Under CI (`BARMAN_TEST_REQUIRE_ALL=1`) a missing
/// Python Barman fails the calling test, so a comparison guarded by this never goes silent.
pub fn available() -> bool {
    super::available(REQUIREMENT, path().is_some())
}

/// A command running Python Barman (no arguments yet); `None` (a failure under CI) when it
/// is not installed.
pub fn command() -> Option<Command> {
    available().then(|| path().map(Command::new)).flatten()
}

/// Python Barman with `-c <config>` preset, like `BarmanHome::barman()` for ours. Call it
/// after `require!(REQUIREMENT, available())`: it panics when Barman is not installed.
///
/// The configuration must set `barman_user` to the user running the tests (as
/// `BarmanHome` does): otherwise Barman, run as root, tries to switch to `barman`.
pub fn python_barman(config: &Path) -> Command {
    let mut cmd = command().expect("Python Barman is installed (checked with require!)");
    cmd.arg("-c").arg(config);
    cmd
}

/// A command running one of the venv's other scripts (`barman-wal-archive`,
/// `barman-wal-restore`, …) or its `python`, when Python Barman is installed.
pub fn venv_tool(name: &str) -> Option<PathBuf> {
    available()
        .then(path)
        .flatten()
        .map(|barman| barman.with_file_name(name))
        .filter(|p| p.is_file())
}

/// True when the OS user `user` can run Python Barman (its interpreter may live under a
/// home folder other users cannot enter; `scripts/python-barman` grants access when it can).
pub fn usable_by(user: &str) -> bool {
    let Some(barman) = path() else {
        return false;
    };
    if !super::is_root() {
        return super::barman_home::current_user() == user
            && Command::new(&barman)
                .arg("-v")
                .output()
                .is_ok_and(|o| o.status.success());
    }
    Command::new("runuser")
        .args(["-u", user, "--"])
        .arg(&barman)
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success())
}
