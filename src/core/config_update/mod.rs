//! `config-update`'s pure half (Barman 3.20's `ConfigChangesProcessor` and
//! `ConfigChangesQueue` in `barman/config.py`): the JSON changes read with their key order,
//! Python's messages for every refused section, the change sets queued in
//! `config_changes_queue` (Barman's JSON layout, byte for byte), and the choice of the file
//! each change goes to. The editor of the configuration files lives in [`editor`].
//!
//! Deliberate differences from Barman, each refusing input that Barman accepts and then
//! chokes on (its queue stays blocked, or our strict loader would refuse the result):
//! non-string names and values, values on several lines, the reserved names `barman`
//! and `all`, and values our configuration loader refuses (Barman only warns at start-up).

pub mod editor;

use crate::core::config::value;
use crate::core::config::{self, options};
use crate::core::py_literal::{self, PyValue};
use serde::{Deserialize, Serialize};

/// One change of one key (`ConfigChange`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    /// The option.
    pub key: String,
    /// Its new value.
    pub value: String,
    /// The file the change is written to.
    pub config_file: String,
}

/// The changes of one section (`ConfigChangeSet`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeSet {
    /// Server or model name.
    pub section: String,
    /// Its changes, in the order given.
    pub changes_set: Vec<Change>,
}

/// Why the command line's JSON cannot be read as sections. Both are exceptions Barman does
/// not catch (`EXCEPTION: <text>`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangesError {
    /// Not JSON at all.
    #[error("{0}")]
    Json(String),
    /// JSON, but not a list of objects: the text of the Python exception Barman hits.
    #[error("{0}")]
    Python(String),
}

/// One JSON object of the command line, its keys in the order given.
#[derive(Debug, Clone, PartialEq)]
pub struct RawSection(pub Vec<(String, PyValue)>);

impl RawSection {
    /// Python's `repr()` of the dict, as Barman's messages show it.
    pub fn repr(&self) -> String {
        let items = self
            .0
            .iter()
            .map(|(k, v)| (PyValue::Str(k.clone()), v.clone()))
            .collect();
        py_literal::repr(&PyValue::Dict(items))
    }

    fn get(&self, key: &str) -> Option<&PyValue> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

/// Parse the `json_changes` argument: a JSON list of objects. Anything else fails as the
/// Python code iterating over it does.
///
/// # Errors
/// [`ChangesError::Json`] for text that is not JSON, [`ChangesError::Python`] with
/// Python's exception text for JSON of another shape.
pub fn parse_changes(text: &str) -> Result<Vec<RawSection>, ChangesError> {
    let value: PyValue = serde_json::from_str::<JsonValue>(text)
        .map_err(|e| ChangesError::Json(e.to_string()))?
        .0;
    let items = match value {
        PyValue::List(items) => items,
        PyValue::Dict(items) if items.is_empty() => Vec::new(),
        PyValue::Str(s) if s.is_empty() => Vec::new(),
        // Iterating a dict gives its keys, a string its characters: both are strings.
        PyValue::Dict(_) | PyValue::Str(_) => return Err(no_pop("str")),
        other => {
            return Err(ChangesError::Python(format!(
                "'{}' object is not iterable",
                type_name(&other)
            )))
        }
    };
    items
        .into_iter()
        .map(|item| match item {
            PyValue::Dict(entries) => Ok(RawSection(
                entries
                    .into_iter()
                    .map(|(k, v)| match k {
                        PyValue::Str(k) => (k, v),
                        other => (py_literal::repr(&other), v),
                    })
                    .collect(),
            )),
            PyValue::List(_) => Err(ChangesError::Python(
                "pop expected at most 1 argument, got 2".into(),
            )),
            other => Err(no_pop(type_name(&other))),
        })
        .collect()
}

fn no_pop(type_name: &str) -> ChangesError {
    ChangesError::Python(format!("'{type_name}' object has no attribute 'pop'"))
}

fn type_name(value: &PyValue) -> &'static str {
    match value {
        PyValue::None => "NoneType",
        PyValue::Bool(_) => "bool",
        PyValue::Int(_) => "int",
        PyValue::Float(_) => "float",
        PyValue::Str(_) => "str",
        PyValue::List(_) => "list",
        PyValue::Tuple(_) => "tuple",
        PyValue::Dict(_) => "dict",
    }
}

/// Python's `str()` of a JSON value (`'%s'` in Barman's messages).
fn py_str(value: &PyValue) -> String {
    match value {
        PyValue::Str(s) => s.clone(),
        other => py_literal::repr(other),
    }
}

/// Whether a section is a server or a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `"scope": "server"`.
    Server,
    /// `"scope": "model"`.
    Model,
}

impl Scope {
    fn name(self) -> &'static str {
        match self {
            Scope::Server => "server",
            Scope::Model => "model",
        }
    }
}

/// What validation needs to know about the configuration.
pub struct Known<'a> {
    /// True for a configured server name.
    pub is_server: &'a dyn Fn(&str) -> bool,
    /// True for a configured model name.
    pub is_model: &'a dyn Fn(&str) -> bool,
}

/// A validated section: its name and the options to set, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidSection {
    /// Server or model name.
    pub name: String,
    /// `(key, value)` pairs, in the order given (`model = on` last for a new model).
    pub options: Vec<(String, String)>,
}

/// Barman's `_validate_section`. On failure, the lines Barman prints as errors: the reason,
/// then `Aborting config‐update: invalid section <dict>` (U+2010 in "config‐update").
///
/// # Errors
/// The error lines, in order.
pub fn validate(section: &RawSection, known: &Known) -> Result<ValidSection, Vec<String>> {
    let original = section.repr();
    validate_inner(section, known, &original).map_err(|reason| {
        vec![
            reason,
            format!("Aborting config\u{2010}update: invalid section {original}"),
        ]
    })
}

fn validate_inner(
    section: &RawSection,
    known: &Known,
    original: &str,
) -> Result<ValidSection, String> {
    let scope = match section.get("scope") {
        Some(PyValue::Str(s)) if s == "server" => Scope::Server,
        Some(PyValue::Str(s)) if s == "model" => Scope::Model,
        other => {
            let shown = other.map_or_else(|| "None".to_string(), py_str);
            return Err(format!(
                "Invalid section {original}: 'scope' is invalid: '{shown}'. It should be either 'server' or 'model'."
            ));
        }
    };
    let name_key = match scope {
        Scope::Server => "server_name",
        Scope::Model => "model_name",
    };
    let name = match section.get(name_key) {
        None => {
            return Err(format!(
                "Invalid section {original}: '{name_key}' is missing."
            ))
        }
        Some(PyValue::Str(name)) => name.clone(),
        Some(_) => {
            return Err(format!(
                "Invalid section {original}: '{name_key}' must be a string."
            ))
        }
    };
    check_name(&name, scope, known, original)?;
    let mut options: Vec<(String, PyValue)> = section
        .0
        .iter()
        .filter(|(key, _)| key != "scope" && key != name_key)
        .cloned()
        .collect();
    if scope == Scope::Model && !(known.is_model)(&name) {
        // Barman forces `model = on` on a new model (setdefault: appended last).
        if !options.iter().any(|(k, _)| k == "model") {
            options.push(("model".into(), PyValue::Str("on".into())));
        }
        if !options.iter().any(|(k, _)| k == "cluster") {
            return Err(format!(
                "Invalid section {original}: new model but 'cluster' is missing."
            ));
        }
    }
    let options = options
        .iter()
        .map(|(key, value)| check_option(scope, &name, key, value).map(|text| (key.clone(), text)))
        .collect::<Result<Vec<_>, String>>()?;
    Ok(ValidSection { name, options })
}

fn check_name(name: &str, scope: Scope, known: &Known, original: &str) -> Result<(), String> {
    if scope == Scope::Server && (known.is_model)(name) {
        return Err(format!(
            "Invalid section {original}: '{name}' is a model, not a server."
        ));
    }
    if scope == Scope::Model && (known.is_server)(name) {
        return Err(format!(
            "Invalid section {original}: '{name}' is a server, not a model."
        ));
    }
    // Not in Barman: `[barman]` and `[all]` written by config-update stop every later run.
    if name == "barman" || name == "all" || name.is_empty() || name.contains(['\n', '\r', ']']) {
        return Err(format!(
            "Invalid section {original}: '{name}' cannot be used as a section name."
        ));
    }
    Ok(())
}

/// The key must be one of the scope's keys and its value must pass the key's parser (ours,
/// which is at least as strict as Barman's).
fn check_option(scope: Scope, name: &str, key: &str, value: &PyValue) -> Result<String, String> {
    let scope_name = scope.name();
    let option = options::server_option(key);
    let allowed = match scope {
        Scope::Server => option.is_some(),
        Scope::Model => key == "model" || option.is_some_and(|o| o.model),
    };
    if !allowed {
        return Err(format!("Invalid option '{key}' for {scope_name} '{name}'"));
    }
    let failed = |reason: String| {
        format!("Validation failed for {scope_name} '{name}': key '{key}' -> {reason}")
    };
    let PyValue::Str(text) = value else {
        return Err(failed("the value must be a string".into()));
    };
    if text.contains(['\n', '\r']) {
        return Err(failed("the value must be on one line".into()));
    }
    if !interpolation_ok(text) {
        // ConfigParser (Barman's and ours) would refuse the whole file at the next start.
        return Err(failed(
            "'%' must be followed by '%' or '(key)s' (write '%%' for a literal '%')".into(),
        ));
    }
    let Some(option) = option else {
        // `model`: a boolean.
        return value::parse_bool(text)
            .map(|_| text.clone())
            .map_err(failed);
    };
    if text.is_empty() && config::empty_is_accepted(option) {
        return Ok(text.clone());
    }
    value::parse(option.kind, text).map_err(|ours| {
        let source = format!("{scope_name} '{name}'");
        failed(python_reason(key, text, &source, ours))
    })?;
    if option.kind == value::Kind::LaterInt && text.trim().parse::<u64>().is_err() {
        return Err(failed(format!(
            "invalid literal for int() with base 10: '{text}'"
        )));
    }
    Ok(text.clone())
}

/// True when every `%` starts `%%` or `%(key)s`, as ConfigParser's interpolation requires.
fn interpolation_ok(text: &str) -> bool {
    let mut rest = text;
    while let Some(pos) = rest.find('%') {
        let tail = &rest[pos + 1..];
        rest = if let Some(after) = tail.strip_prefix('%') {
            after
        } else if let Some(inner) = tail.strip_prefix('(') {
            match inner.find(")s") {
                Some(end) => &inner[end + 2..],
                None => return false,
            }
        } else {
            return false;
        };
    }
    true
}

/// The text of the exception Barman's parser raises for `key` (the parsers of `config.py`
/// word their errors differently from our loader's), ours for the keys where they agree.
fn python_reason(key: &str, text: &str, source: &str, ours: String) -> String {
    match key {
        "backup_options" => csv_reason(
            key,
            text,
            source,
            &["exclusive_backup", "concurrent_backup", "external_configuration"],
        )
        .unwrap_or(ours),
        "recovery_options" => {
            csv_reason(key, text, source, &["get-wal", "delta-restore"]).unwrap_or(ours)
        }
        "aws_encryption" => format!("Invalid value '{text}' (must be one in: ['AES256', 'aws:kms'])"),
        "backup_compression" => {
            format!("Invalid value '{text}'(must be one in: ['gzip', 'lz4', 'zstd', 'none'])")
        }
        "backup_compression_format" => "Invalid value (must be either `plain` or `tar`)".into(),
        "backup_compression_location" => {
            "Invalid value (must be either `client` or `server`)".into()
        }
        "combine_mode" => {
            format!("Invalid value: {text} (options are: copy, link, clone, copy-file-range)")
        }
        "compression" => format!(
            "Invalid value: '{text}' (must be one in: gzip, bzip2, pygzip, pybzip2, pigz, xz, zstd, lz4, snappy, custom)"
        ),
        "create_slot" => "Invalid value (use 'manual' or 'auto')".into(),
        "reuse_backup" => "Invalid value (use 'copy', 'link' or 'off')".into(),
        "staging_location" => format!("Invalid value: {text} (options are: local, remote)"),
        _ => ours,
    }
}

/// Barman's `CsvOption.parse` message: items in sorted order, the first unknown one, or
/// the second of `exclusive_backup` / `concurrent_backup`.
fn csv_reason(key: &str, text: &str, source: &str, allowed: &[&str]) -> Option<String> {
    let mut items: Vec<&str> = text.split(',').collect();
    items.sort_unstable();
    let mut seen: Vec<String> = Vec::new();
    for item in items {
        let item = item.trim().to_lowercase();
        if !allowed.contains(&item.as_str()) {
            return Some(format!(
                "Invalid configuration value '{item}' for key {key} in {source}: Unknown option"
            ));
        }
        let partner = match item.as_str() {
            "exclusive_backup" => Some("concurrent_backup"),
            "concurrent_backup" => Some("exclusive_backup"),
            _ => None,
        };
        if let Some(partner) = partner.filter(|p| seen.iter().any(|s| s == p)) {
            return Some(format!(
                "Invalid configuration value '{item}' for key {key} in {source}: cannot contain both '{item}' and '{partner}'.Configuration directive ignored."
            ));
        }
        seen.push(item);
    }
    None
}

/// Where Barman's `get_config_source` says the effective value of a key comes from.
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    /// The file setting the key in the section itself.
    pub own: Option<&'a str>,
    /// The file setting the key in `[barman]`.
    pub global: Option<&'a str>,
    /// The first file defining the section (none for a new section).
    pub section_file: Option<&'a str>,
    /// `<barman_home>/.barman.auto.conf`.
    pub auto_conf: &'a str,
}

/// The file a change is written to: the one providing the effective value (the section's
/// own, else the one of `[barman]`), else `.barman.auto.conf`.
///
/// One difference from Barman: a key inherited from `[barman]` of another file than the
/// section's goes to the section's own file, because our loader refuses a server defined in
/// two files (Barman would append a second `[server]` section to the main file).
pub fn target_file(sources: Sources) -> String {
    if let Some(own) = sources.own {
        return own.to_string();
    }
    if let Some(global) = sources.global {
        return match sources.section_file {
            Some(file) if file != sources.auto_conf && file != global => file.to_string(),
            _ => global.to_string(),
        };
    }
    sources.auto_conf.to_string()
}

/// The queue file's text as Barman writes it (`json.dump(…, indent=2)`, ASCII only).
pub fn queue_to_text(queue: &[ChangeSet]) -> String {
    let text = serde_json::to_string_pretty(queue).expect("invariant: strings serialize");
    ascii_escape(&text)
}

/// The queue file's content, `None` when it is not a valid queue (Barman then warns
/// `Malformed or empty configuration change queue: <path>` and starts afresh).
pub fn queue_from_text(text: &str) -> Option<Vec<ChangeSet>> {
    serde_json::from_str(text).ok()
}

/// Python's `ensure_ascii`: every non-ASCII character as `\uXXXX` (UTF-16 units).
fn ascii_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// A JSON document read into Python values with the keys' order kept (serde_json's own
/// map sorts them, and Barman's messages show the dict in the order given).
struct JsonValue(PyValue);

impl<'de> Deserialize<'de> for JsonValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JsonVisitor).map(JsonValue)
    }
}

struct JsonVisitor;

impl<'de> serde::de::Visitor<'de> for JsonVisitor {
    type Value = PyValue;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<PyValue, E> {
        Ok(PyValue::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<PyValue, E> {
        Ok(PyValue::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<PyValue, E> {
        Ok(i64::try_from(v).map_or(PyValue::Float(v as f64), PyValue::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<PyValue, E> {
        Ok(PyValue::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<PyValue, E> {
        Ok(PyValue::Str(v.to_string()))
    }
    fn visit_unit<E>(self) -> Result<PyValue, E> {
        Ok(PyValue::None)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<PyValue, A::Error> {
        let mut items = Vec::new();
        while let Some(JsonValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(PyValue::List(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<PyValue, A::Error> {
        let mut items: Vec<(PyValue, PyValue)> = Vec::new();
        while let Some((key, JsonValue(value))) = map.next_entry::<String, JsonValue>()? {
            let key = PyValue::Str(key);
            // A repeated key keeps its first place and its last value, as a Python dict.
            match items.iter_mut().find(|(k, _)| *k == key) {
                Some(entry) => entry.1 = value,
                None => items.push((key, value)),
            }
        }
        Ok(PyValue::Dict(items))
    }
}

#[cfg(test)]
mod tests;
