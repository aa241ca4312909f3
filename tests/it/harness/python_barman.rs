//! The real Python Barman, installed by `scripts/python-barman` into `target/python-barman`
//! (or named by `PYTHON_BARMAN`).

use std::path::PathBuf;
use std::process::Command;

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

/// True when Python Barman is installed.
pub fn available() -> bool {
    path().is_some()
}

/// A command running Python Barman.
pub fn command() -> Option<Command> {
    path().map(Command::new)
}
