//! A reader for the INI dialect Barman uses: Python's `ConfigParser(strict=False)` with
//! `BasicInterpolation`, as merged file by file by Barman's `ConfigMapping.read_config`.
//!
//! Hand-written on purpose: rust-ini does not match ConfigParser where users' files rely on
//! it — `:` as separator, continuation lines by indentation, `[DEFAULT]` feeding every
//! section, case-insensitive keys, `%(key)s` interpolation resolved per file and section.

use std::collections::BTreeMap;

/// One parsed file: its sections in order, with interpolated values and line numbers.
#[derive(Debug, Clone, Default)]
pub struct IniFile {
    /// Section name → options (lower-cased key → value), in file order.
    pub sections: Vec<(String, Vec<IniOption>)>,
}

/// One `key = value` of a section, after interpolation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IniOption {
    /// Lower-cased key (ConfigParser's `optionxform`).
    pub key: String,
    /// Interpolated value (continuation lines joined with `\n`).
    pub value: String,
    /// 1-based line where the key was written.
    pub line: usize,
}

/// A syntax or interpolation problem, with its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IniError {
    /// 1-based line number.
    pub line: usize,
    /// Section, when known.
    pub section: Option<String>,
    /// Key, when known.
    pub key: Option<String>,
    /// What is wrong.
    pub reason: String,
}

struct RawOption {
    key: String,
    value: String,
    line: usize,
    indent: usize,
}

/// Parse one file's text. Interpolation uses the same section and `[DEFAULT]` of this file
/// only, as Barman's per-file merge does; `[DEFAULT]` keys are copied into every section.
pub fn parse(text: &str) -> Result<IniFile, IniError> {
    let mut reader = Reader::default();
    for (index, line) in text.lines().enumerate() {
        reader.line(index + 1, line)?;
    }
    interpolate_all(reader.raw, reader.defaults)
}

/// The state of reading a file line by line, before interpolation.
#[derive(Default)]
struct Reader {
    raw: Vec<(String, Vec<RawOption>)>,
    defaults: Vec<RawOption>,
    /// Index into `raw` of the current section, or None for [DEFAULT]; outer None = no section.
    current: Option<Option<usize>>,
    /// Section name → index into `raw` (a linear search made 10,000 sections quadratic).
    index_of: std::collections::HashMap<String, usize>,
    /// The last line was a `key = value` that an indented line may continue.
    last_key_open: bool,
}

impl Reader {
    /// Read one line (`number` is 1-based).
    fn line(&mut self, number: usize, line: &str) -> Result<(), IniError> {
        let trimmed = line.trim();
        let indent = line.len() - line.trim_start().len();
        if trimmed.is_empty() {
            self.last_key_open = false;
            return Ok(());
        }
        if trimmed.starts_with('#') || trimmed.starts_with(';') {
            return Ok(());
        }
        if self.continue_value(trimmed, indent) || self.section_header(trimmed) {
            return Ok(());
        }
        self.assign(number, trimmed, indent)
    }

    /// Continuation of the previous value: indented deeper than its key.
    fn continue_value(&mut self, trimmed: &str, indent: usize) -> bool {
        if !self.last_key_open || indent == 0 {
            return false;
        }
        let options = match self.current {
            Some(Some(i)) => &mut self.raw[i].1,
            _ => &mut self.defaults,
        };
        match options.last_mut() {
            Some(previous) if indent > previous.indent => {
                previous.value.push('\n');
                previous.value.push_str(trimmed);
                true
            }
            _ => false,
        }
    }

    /// `[name]` starts (or, repeated, continues) a section; `[]` is not a header.
    fn section_header(&mut self, trimmed: &str) -> bool {
        if !trimmed.starts_with('[') {
            return false;
        }
        let Some(end) = trimmed.rfind(']') else {
            return false;
        };
        let name = &trimmed[1..end];
        if name.is_empty() {
            return false;
        }
        self.current = Some(if name == "DEFAULT" {
            None
        } else if let Some(i) = self.index_of.get(name) {
            // strict=False: a repeated section continues the first one.
            Some(*i)
        } else {
            self.index_of.insert(name.to_string(), self.raw.len());
            self.raw.push((name.to_string(), Vec::new()));
            Some(self.raw.len() - 1)
        });
        self.last_key_open = false;
        true
    }

    /// A `key = value` (or `key: value`) line of the current section.
    fn assign(&mut self, number: usize, trimmed: &str, indent: usize) -> Result<(), IniError> {
        let Some(section) = self.current else {
            return Err(IniError {
                line: number,
                section: None,
                key: None,
                reason: format!("no section header before '{trimmed}'"),
            });
        };
        let Some(sep) = trimmed.find(['=', ':']) else {
            return Err(IniError {
                line: number,
                section: section.map(|i| self.raw[i].0.clone()),
                key: None,
                reason: format!("line '{trimmed}' is not 'key = value'"),
            });
        };
        let key = trimmed[..sep].trim().to_lowercase();
        let value = trimmed[sep + 1..].trim().to_string();
        let options = match section {
            Some(i) => &mut self.raw[i].1,
            None => &mut self.defaults,
        };
        // strict=False: the last assignment of a key wins, at the place of the first.
        let option = RawOption {
            key,
            value,
            line: number,
            indent,
        };
        match options.iter_mut().find(|o| o.key == option.key) {
            Some(existing) => *existing = option,
            None => options.push(option),
        }
        self.last_key_open = true;
        Ok(())
    }
}

fn interpolate_all(
    raw: Vec<(String, Vec<RawOption>)>,
    defaults: Vec<RawOption>,
) -> Result<IniFile, IniError> {
    let mut file = IniFile::default();
    for (name, options) in raw {
        // The section's view: DEFAULT values overridden by the section's own.
        let mut view: BTreeMap<String, (String, usize)> = defaults
            .iter()
            .map(|o| (o.key.clone(), (o.value.clone(), o.line)))
            .collect();
        for option in &options {
            view.insert(option.key.clone(), (option.value.clone(), option.line));
        }
        // Output order: the section's own keys first (file order), then DEFAULT-only keys.
        let mut keys: Vec<String> = options.iter().map(|o| o.key.clone()).collect();
        for d in &defaults {
            if !keys.contains(&d.key) {
                keys.push(d.key.clone());
            }
        }
        let mut resolved = Vec::new();
        for key in keys {
            let (raw_value, line) = &view[&key];
            let value = interpolate(raw_value, &view, 1).map_err(|reason| IniError {
                line: *line,
                section: Some(name.clone()),
                key: Some(key.clone()),
                reason,
            })?;
            resolved.push(IniOption {
                key,
                value,
                line: *line,
            });
        }
        file.sections.push((name, resolved));
    }
    Ok(file)
}

/// The longest value interpolation may build. ConfigParser has no limit (ten levels of ten
/// references each make 10^10 bytes and Python runs out of memory); no real value comes
/// near 1 MiB.
const MAX_EXPANDED_VALUE: usize = 1 << 20;

/// ConfigParser's `BasicInterpolation`: `%(key)s` from the same section (or DEFAULT),
/// `%%` for a literal `%`, at most 10 levels deep, at most [`MAX_EXPANDED_VALUE`] bytes.
fn interpolate(
    value: &str,
    view: &BTreeMap<String, (String, usize)>,
    depth: usize,
) -> Result<String, String> {
    if depth > 10 {
        return Err(format!("interpolation too deep in '{value}'"));
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(pos) = rest.find('%') {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos + 1..];
        if let Some(after) = tail.strip_prefix('%') {
            out.push('%');
            rest = after;
        } else if let Some(inner) = tail.strip_prefix('(') {
            let Some(close) = inner.find(")s") else {
                return Err(format!("bad interpolation syntax in '{value}'"));
            };
            let name = inner[..close].to_lowercase();
            let Some((referenced, _)) = view.get(&name) else {
                return Err(format!(
                    "bad value substitution: '%({name})s' is not defined in this section of this file"
                ));
            };
            out.push_str(&interpolate(referenced, view, depth + 1)?);
            if out.len() > MAX_EXPANDED_VALUE {
                return Err(format!(
                    "interpolation expands beyond {} bytes (a reference loop or bomb?)",
                    MAX_EXPANDED_VALUE
                ));
            }
            rest = &inner[close + 2..];
        } else {
            return Err(format!("'%' must be followed by '%' or '(' in '{value}'"));
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section<'a>(file: &'a IniFile, name: &str) -> Vec<(&'a str, &'a str)> {
        file.sections
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, opts)| {
                opts.iter()
                    .map(|o| (o.key.as_str(), o.value.as_str()))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn ini_reads_both_separators_and_lowercases_keys() {
        let file = parse("[pg]\nConnInfo = host=a\nssh_command: ssh x\n").unwrap();
        assert_eq!(
            section(&file, "pg"),
            vec![("conninfo", "host=a"), ("ssh_command", "ssh x")]
        );
    }

    #[test]
    fn ini_skips_full_line_comments_but_keeps_inline_hash() {
        let file = parse("# c\n[pg]\n; c\n  # c\ndescription = a # not a comment\n").unwrap();
        assert_eq!(
            section(&file, "pg"),
            vec![("description", "a # not a comment")]
        );
    }

    #[test]
    fn ini_joins_continuation_lines() {
        let file = parse("[pg]\ndescription = one\n   two\nactive = true\n").unwrap();
        assert_eq!(
            section(&file, "pg"),
            vec![("description", "one\ntwo"), ("active", "true")]
        );
    }

    #[test]
    fn ini_default_feeds_every_section() {
        let file = parse("[DEFAULT]\nx = 1\n[a]\ny = %(x)s2\n[b]\nx = 3\n").unwrap();
        assert_eq!(section(&file, "a"), vec![("y", "12"), ("x", "1")]);
        assert_eq!(section(&file, "b"), vec![("x", "3")]);
    }

    #[test]
    fn ini_refuses_an_interpolation_bomb_naming_the_key() {
        let mut text = String::from("[pg]\nk0 = xxxxxxxxxx\n");
        for level in 1..=10 {
            let refs = format!("%(k{})s", level - 1).repeat(10);
            text.push_str(&format!("k{level} = {refs}\n"));
        }
        let start = std::time::Instant::now();
        let err = parse(&text).expect_err("a bomb");
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
        assert_eq!(err.key.as_deref(), Some("k6"));
        assert!(err.reason.contains("expands beyond"), "{}", err.reason);
    }

    #[test]
    fn ini_interpolates_within_the_section_in_any_order() {
        let file = parse("[pg]\nwals_directory = %(backup_directory)s/w\nbackup_directory = /b\n")
            .unwrap();
        assert_eq!(section(&file, "pg")[0], ("wals_directory", "/b/w"));
    }

    #[test]
    fn ini_double_percent_is_a_literal_percent() {
        let file = parse("[pg]\nx = 100%%\n").unwrap();
        assert_eq!(section(&file, "pg"), vec![("x", "100%")]);
    }

    #[test]
    fn ini_missing_reference_is_an_error_with_its_line() {
        let err = parse("[pg]\n\nbackup_directory = %(name)s/x\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert_eq!(err.key.as_deref(), Some("backup_directory"));
        assert!(err.reason.contains("%(name)s"), "{}", err.reason);
    }

    #[test]
    fn ini_repeated_section_and_key_last_wins() {
        let file = parse("[pg]\na = 1\n[other]\n[pg]\na = 2\nb = 3\n").unwrap();
        assert_eq!(section(&file, "pg"), vec![("a", "2"), ("b", "3")]);
    }

    #[test]
    fn ini_text_before_any_section_is_an_error() {
        let err = parse("a = 1\n[pg]\n").unwrap_err();
        assert_eq!(err.line, 1);
    }

    #[test]
    fn ini_line_without_separator_is_an_error() {
        let err = parse("[pg]\njunk\n").unwrap_err();
        assert_eq!((err.line, err.section.as_deref()), (2, Some("pg")));
    }
}
