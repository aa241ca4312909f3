//! `SHA256SUMS` / `MD5SUMS` members of a put-wal tar stream (`sha256sum` format:
//! `<hex> *<name>` or `<hex>  <name>`), parsed as Barman does.

use std::collections::BTreeMap;

/// The digest algorithm a sums file names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// `SHA256SUMS` (Barman's default).
    Sha256,
    /// `MD5SUMS` (clients run with `--md5`).
    Md5,
}

impl Algorithm {
    /// The algorithm of a sums member name, if it is one.
    pub fn of_member(name: &str) -> Option<Algorithm> {
        match name {
            "SHA256SUMS" => Some(Algorithm::Sha256),
            "MD5SUMS" => Some(Algorithm::Md5),
            _ => None,
        }
    }
}

/// Parsed sums: file name → hex digest, and the lines that could not be parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sums {
    /// Name (leading `./` removed) → digest as written.
    pub digests: BTreeMap<String, String>,
    /// Lines Barman warns about and skips.
    pub bad_lines: Vec<String>,
}

/// Lower-case hex of a digest, as `sha256sum`/`md5sum` and Barman print it.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parse a sums file: each line split at the first `" *"` or `"  "`.
pub fn parse(text: &str) -> Sums {
    let mut sums = Sums::default();
    for line in text.lines() {
        let line = line.trim_end();
        let split = [" *", "  "]
            .iter()
            .filter_map(|sep| line.find(sep).map(|i| (i, sep.len())))
            .min();
        match split {
            Some((i, len)) => {
                let name = &line[i + len..];
                let name = name.strip_prefix("./").unwrap_or(name);
                sums.digests.insert(name.to_string(), line[..i].to_string());
            }
            None => sums.bad_lines.push(line.to_string()),
        }
    }
    sums
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_accept_both_separators_and_dot_slash() {
        let sums = parse("abc *000000010000000000000042\ndef  ./00000002.history\nbroken\n");
        assert_eq!(sums.digests["000000010000000000000042"], "abc");
        assert_eq!(sums.digests["00000002.history"], "def");
        assert_eq!(sums.bad_lines, ["broken"]);
        assert_eq!(Algorithm::of_member("MD5SUMS"), Some(Algorithm::Md5));
        assert_eq!(Algorithm::of_member("x"), None);
    }
}
