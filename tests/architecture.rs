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

/// The file with every `#[cfg(test)]` item blanked out (unit tests may use what production
/// code may not), line numbers kept. The whole file is scanned, so code placed after a test
/// module is checked too.
fn production_part(file: &Path, text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut kept = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim() != "#[cfg(test)]" {
            kept.push(lines[i].to_string());
            i += 1;
            continue;
        }
        let end = test_item_end(&lines, i + 1).unwrap_or_else(|| {
            panic!(
                "{}:{}: unterminated #[cfg(test)] item",
                file.display(),
                i + 1
            )
        });
        kept.extend(std::iter::repeat_n(String::new(), end + 1 - i));
        i = end + 1;
    }
    kept.join("\n")
}

/// Index of the last line of the item that starts at line `start`: a `mod x;`-style line, or
/// the line holding the brace that closes its block. Braces inside comments, string and char
/// literals (multi-line strings included) do not count; raw strings included.
fn test_item_end(lines: &[&str], start: usize) -> Option<usize> {
    let text = lines[start..].join("\n");
    let chars: Vec<char> = text.chars().collect();
    let (mut depth, mut opened, mut line, mut i) = (0usize, false, start, 0);
    while i < chars.len() {
        match chars[i] {
            '\n' => line += 1,
            '/' if chars.get(i + 1) == Some(&'/') => {
                while i + 1 < chars.len() && chars[i + 1] != '\n' {
                    i += 1;
                }
            }
            'r' if raw_string_hashes(&chars, i).is_some() => {
                let hashes = raw_string_hashes(&chars, i).unwrap_or(0);
                let close: Vec<char> = std::iter::once('"')
                    .chain(std::iter::repeat_n('#', hashes))
                    .collect();
                i += hashes + 2;
                while i < chars.len() && !chars[i..].starts_with(&close) {
                    line += usize::from(chars[i] == '\n');
                    i += 1;
                }
                i += hashes;
            }
            '"' => {
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    line += usize::from(chars[i] == '\n');
                    i += if chars[i] == '\\' { 2 } else { 1 };
                }
            }
            '\'' if chars.get(i + 2) == Some(&'\'') => i += 2,
            '\'' if chars.get(i + 1) == Some(&'\\') => {
                while i + 1 < chars.len() && chars[i + 1] != '\'' {
                    i += 1;
                }
                i += 1;
            }
            '{' => {
                depth += 1;
                opened = true;
            }
            '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(line);
                }
            }
            ';' if !opened => return Some(line),
            _ => {}
        }
        i += 1;
    }
    None
}

/// `Some(number of #)` when a raw string literal (`r"…"`, `r#"…"#`) starts at `i`.
fn raw_string_hashes(chars: &[char], i: usize) -> Option<usize> {
    if i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_') {
        return None;
    }
    let hashes = chars[i + 1..].iter().take_while(|c| **c == '#').count();
    (chars.get(i + 1 + hashes) == Some(&'"')).then_some(hashes)
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
        for (n, line) in production_part(&file, &text).lines().enumerate() {
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
        for (n, line) in production_part(&file, &text).lines().enumerate() {
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

#[test]
fn the_scan_covers_code_after_a_test_module() {
    let text = "fn a() {}\n#[cfg(test)]\nmod tests {\n    const S: &str = \"}\n{\";\n    \
                const R: &str = r#\"}\"#;\n    fn t() { let c = '}'; }\n}\nfn b() { println!(); }\n\
                #[cfg(test)]\nmod more;\nfn c() {}\n";
    let kept = production_part(Path::new("sample.rs"), text);
    let lines: Vec<&str> = kept.lines().collect();
    assert_eq!(lines.len(), text.lines().count(), "line numbers are kept");
    assert!(lines[8].contains("println!"), "{kept}");
    assert!(lines[11].contains("fn c()"), "{kept}");
    assert!(
        !kept.contains("const S") && !kept.contains("mod more"),
        "{kept}"
    );
}
