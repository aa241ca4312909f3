//! Layer rules that the compiler cannot enforce (see doc/architecture.md):
//! `src/core/**` does no I/O, and only `src/output/**` prints.

use std::fs;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).expect("read src dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// Code before the first `#[cfg(test)]`: unit tests may use what production code may not.
fn production_part(text: &str) -> &str {
    text.split("#[cfg(test)]").next().unwrap_or(text)
}

#[test]
fn core_modules_do_no_io() {
    let forbidden = [
        "std::fs",
        "std::process",
        "std::net",
        "std::env",
        "postgres::",
        "Local::now",
        "Utc::now",
        "SystemTime::now",
        "Instant::now",
        "crate::adapters",
        "crate::output",
        "crate::commands",
        "crate::app",
        "crate::cli",
    ];
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/core");
    let mut offences = Vec::new();
    for file in rust_files(&root) {
        let text = fs::read_to_string(&file).expect("read source");
        for (n, line) in production_part(&text).lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for word in forbidden {
                if line.contains(word) {
                    offences.push(format!("{}:{}: {}", file.display(), n + 1, word));
                }
            }
        }
    }
    assert!(
        offences.is_empty(),
        "core/ must stay pure:\n{}",
        offences.join("\n")
    );
}

#[test]
fn only_output_prints() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut offences = Vec::new();
    for file in rust_files(&root) {
        if file.starts_with(root.join("output")) {
            continue;
        }
        let text = fs::read_to_string(&file).expect("read source");
        for (n, line) in production_part(&text).lines().enumerate() {
            for word in ["println!", "eprintln!", "print!(", "eprint!(", "dbg!("] {
                if line.contains(word) {
                    offences.push(format!("{}:{}: {}", file.display(), n + 1, word));
                }
            }
        }
    }
    assert!(
        offences.is_empty(),
        "print only through src/output:\n{}",
        offences.join("\n")
    );
}

#[test]
fn main_rs_stays_thin() {
    let main = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/main.rs"))
        .expect("read main.rs");
    assert!(
        main.lines().count() <= 20,
        "src/main.rs must stay within 20 lines"
    );
}
