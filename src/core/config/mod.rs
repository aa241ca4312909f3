//! Barman's configuration, as Barman 3.20 reads it (`barman/config.py`, plus the
//! configuration effects of `Server.__init__`): files merged in load order, `[barman]`
//! defaults inherited by servers, `%(key)s` defaults, models, the server-disabling rules and
//! warnings. Pure: the file texts come in, the typed configuration goes out; the one piece of
//! I/O it needs (resolving symlinks for path conflicts) is passed in as a function.
//!
//! One deliberate difference from Barman, required by this project: an unparsable value
//! (and an unknown retention policy, a server defined twice, ...) is an error that stops the
//! program, where Barman warns and silently falls back to another value.

pub mod ini;
mod model;
pub mod options;
mod rules;
mod server;
pub mod value;

use crate::core::retention::RetentionPolicy;
use model::{apply_active_model, build_model};
pub use model::{cluster_mismatch, ModelConfig};
use options::{GlobalOption, ServerOption, GLOBAL_OPTIONS, SERVER_OPTIONS};
pub use server::ServerConfig;
use std::collections::BTreeMap;
pub use value::{Kind, OptionValue};

/// One configuration file's path and text, in load order.
#[derive(Debug, Clone)]
pub struct ConfigText {
    /// Path as Barman reports it (the `-c` argument as given, or the included file's path).
    pub path: String,
    /// The file's content.
    pub text: String,
}

/// A configuration problem that stops the program: one line naming what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl ConfigError {
    fn at(file: &str, line: usize, section: &str, key: &str, value: &str, reason: &str) -> Self {
        ConfigError(format!(
            "{file}:{line}: [{section}] {key} = '{value}': {reason}"
        ))
    }
}

/// Where a merged value came from.
#[derive(Debug, Clone)]
struct Entry {
    value: String,
    /// Shared by every entry of the file (servers keep it as their keys' source).
    file: std::sync::Arc<str>,
    line: usize,
}

/// The merged INI content: section name → key → entry, sections in first-seen order.
#[derive(Debug, Default, Clone)]
struct Merged {
    order: Vec<String>,
    sections: BTreeMap<String, BTreeMap<String, Entry>>,
    /// The file that first defined each section (to detect a server defined twice).
    defined_in: BTreeMap<String, String>,
}

impl Merged {
    fn get(&self, section: &str, key: &str) -> Option<&Entry> {
        self.sections.get(section)?.get(key)
    }

    /// One section, looked up once for the 122 keys read from it.
    fn section<'a>(&'a self, name: &'a str) -> Section<'a> {
        Section {
            name,
            entries: self.sections.get(name),
        }
    }
}

/// A section of [`Merged`] (its entries, `None` when absent).
#[derive(Clone, Copy)]
struct Section<'a> {
    name: &'a str,
    entries: Option<&'a BTreeMap<String, Entry>>,
}

impl<'a> Section<'a> {
    fn get(&self, key: &str) -> Option<&'a Entry> {
        self.entries?.get(key)
    }
}

/// The `[barman]` section.
#[derive(Debug, Clone)]
pub struct GlobalConfig {
    /// `barman_home` (required).
    pub barman_home: String,
    /// `barman_user` (default `barman`).
    pub barman_user: String,
    /// `barman_lock_directory` (default `barman_home`).
    pub barman_lock_directory: String,
    /// `lock_directory_cleanup` (default true).
    pub lock_directory_cleanup: bool,
    /// `config_changes_queue` (default `<barman_home>/cfg_changes.queue`).
    pub config_changes_queue: String,
    /// `configuration_files_directory`.
    pub configuration_files_directory: Option<String>,
    /// `log_file` (stderr when unset).
    pub log_file: Option<String>,
    /// `metrics_file` (ours): Prometheus text `cron` refreshes after each pass.
    pub metrics_file: Option<String>,
    /// `drill_directory` (ours): where `barman drill` restores (default
    /// `<barman_home>/drills`).
    pub drill_directory: String,
    /// `drill_user` (ours): the OS user a drill runs PostgreSQL as when barman runs as root.
    pub drill_user: String,
    /// `drill_schedule` (ours), seconds: `cron` starts a drill of a server whose last
    /// successful drill is older than this.
    pub drill_schedule: Option<i64>,
    /// `drill_maximum_age` (ours), seconds: `check` fails when the last successful drill
    /// is older than this.
    pub drill_maximum_age: Option<i64>,
    /// `recovery_estimates` (ours, default off): show-backup's recovery window and
    /// restore's replay estimate, lines Barman does not print.
    pub recovery_estimates: bool,
    /// `log_level` (default `INFO`).
    pub log_level: String,
    /// `log_format`.
    pub log_format: String,
    /// Raw `[barman]` items with their source file, for `diagnose`.
    raw: Vec<(String, String, String)>,
}

impl GlobalConfig {
    /// What `diagnose` reports under `global.config`: the raw `[barman]` items (as strings)
    /// plus the three computed ones, each with its source file (`None` = default).
    pub fn diagnose_items(&self) -> Vec<(String, serde_json::Value, Option<String>)> {
        let mut items: BTreeMap<String, (serde_json::Value, Option<String>)> = self
            .raw
            .iter()
            .map(|(k, v, f)| {
                (
                    k.clone(),
                    (serde_json::Value::String(v.clone()), Some(f.clone())),
                )
            })
            .collect();
        let source = |key: &str| {
            self.raw
                .iter()
                .find(|(k, _, _)| k == key)
                .map(|(_, _, f)| f.clone())
        };
        items.insert(
            "barman_lock_directory".into(),
            (
                self.barman_lock_directory.clone().into(),
                source("barman_lock_directory"),
            ),
        );
        items.insert(
            "lock_directory_cleanup".into(),
            (
                self.lock_directory_cleanup.into(),
                source("lock_directory_cleanup"),
            ),
        );
        items.insert(
            "config_changes_queue".into(),
            (
                self.config_changes_queue.clone().into(),
                source("config_changes_queue"),
            ),
        );
        items.into_iter().map(|(k, (v, s))| (k, v, s)).collect()
    }
}

/// The whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The main file's path.
    pub config_file: String,
    /// The `[barman]` section.
    pub global: GlobalConfig,
    /// Servers by name (sorted).
    pub servers: BTreeMap<String, ServerConfig>,
    /// Models by name.
    pub models: BTreeMap<String, ModelConfig>,
    /// Warnings to print as `WARNING: <text>` (Barman's wording).
    pub warnings: Vec<String>,
    /// Global configuration errors (servers sharing a directory), Barman's wording.
    pub errors_list: Vec<String>,
    /// Names of the files read after the main one, in order (Barman logs each as
    /// `Including configuration file: <name>`); filled by the loader.
    pub included_files: Vec<String>,
    /// Errors Barman prints when it sets the servers up (an active model of another
    /// cluster): every command prints them and exits 1.
    pub model_errors: Vec<String>,
    /// The merged sections, for `config-update` (old values and source files).
    merged: Merged,
}

impl Config {
    /// Barman's `Config.get(section, key)`: the merged text of the key in the section
    /// (no `[barman]` inheritance), `None` for a missing key or `None`, one pair of
    /// surrounding quotes removed.
    pub fn raw_get(&self, section: &str, key: &str) -> Option<String> {
        let entry = self.merged.get(section, key)?;
        (entry.value != "None").then(|| clean(&entry.value, "None"))
    }

    /// The file setting `key` in `section` itself.
    pub fn own_source(&self, section: &str, key: &str) -> Option<&str> {
        self.merged.get(section, key).map(|e| &*e.file)
    }

    /// The first file that defines `section`.
    pub fn section_file(&self, section: &str) -> Option<&str> {
        self.merged.defined_in.get(section).map(String::as_str)
    }
}

/// Build the configuration from the files in load order (main file first).
///
/// `active_models` maps a server to the content of its `.active-model.auto` file;
/// `realpath` resolves symlinks for the path-conflict checks.
///
/// # Errors
/// Syntax and interpolation errors, unparsable values, a server defined in two files, the
/// reserved section name `all`, `[barman]` content in an included file, a missing
/// `barman_home`.
pub fn build(
    files: &[ConfigText],
    active_models: &BTreeMap<String, String>,
    realpath: &dyn Fn(&str) -> String,
) -> Result<Config, ConfigError> {
    let main = files.first().map(|f| f.path.clone()).unwrap_or_default();
    let merged = merge(files)?;
    let mut warnings = Vec::new();
    let global = build_global(&merged, &mut warnings)?;
    let mut servers = BTreeMap::new();
    let mut models = BTreeMap::new();
    // The first server's values, shared by all (each keeps only its differences).
    let mut shared: Option<server::Shared> = None;
    for section in &merged.order {
        if section == "barman" {
            continue;
        }
        if section == "all" {
            return Err(ConfigError(
                "FATAL: the reserved word 'all' is not allowed as server name.Please rename it."
                    .into(),
            ));
        }
        if is_model(&merged, section)? {
            models.insert(
                section.clone(),
                build_model(&merged, section, &mut warnings)?,
            );
        } else {
            let mut server = build_server(&merged, &global, section, &mut warnings)?;
            let table = shared.get_or_insert_with(|| server.table());
            server.share(table);
            servers.insert(section.clone(), server);
        }
    }
    let errors_list = check_conflicting_paths(&mut servers, realpath);
    let mut model_errors = Vec::new();
    for (name, server) in servers.iter_mut() {
        if let Err(e) = apply_active_model(server, active_models.get(name), &models) {
            model_errors.push(e);
        }
    }
    for server in servers.values_mut() {
        rules::server_init_rules(server);
    }
    Ok(Config {
        config_file: main,
        global,
        servers,
        models,
        warnings,
        errors_list,
        included_files: Vec::new(),
        model_errors,
        merged,
    })
}

fn merge(files: &[ConfigText]) -> Result<Merged, ConfigError> {
    let mut merged = Merged::default();
    for (index, file) in files.iter().enumerate() {
        let parsed = ini::parse(&file.text).map_err(|e| {
            let place = match (&e.section, &e.key) {
                (Some(s), Some(k)) => format!(" [{s}] {k}"),
                (Some(s), None) => format!(" [{s}]"),
                _ => String::new(),
            };
            ConfigError(format!("{}:{}:{place}: {}", file.path, e.line, e.reason))
        })?;
        let is_main = index == 0;
        let file_name: std::sync::Arc<str> = file.path.as_str().into();
        let is_auto = file.path.ends_with(".barman.auto.conf");
        for (section, options) in parsed.sections {
            if section == "barman" && !is_main {
                check_global_unchanged(&merged, &file.path, &options)?;
                continue;
            }
            if let Some(first) = merged.defined_in.get(&section) {
                // A server split across files is a mistake that would silently mix two
                // servers' settings. Barman's own .barman.auto.conf (config-update) and
                // repeated sections in one file are how Barman legitimately merges.
                if first != &file.path && !is_auto && section != "barman" {
                    return Err(ConfigError(format!(
                        "{}: [{section}] server '{section}' is defined twice (first in {first})",
                        file.path
                    )));
                }
            } else {
                merged.defined_in.insert(section.clone(), file.path.clone());
                merged.order.push(section.clone());
            }
            let target = merged.sections.entry(section).or_default();
            for option in options {
                target.insert(
                    option.key,
                    Entry {
                        value: option.value,
                        file: std::sync::Arc::clone(&file_name),
                        line: option.line,
                    },
                );
            }
        }
    }
    Ok(merged)
}

/// Barman refuses an included file whose `[barman]` section changes the global settings.
fn check_global_unchanged(
    merged: &Merged,
    path: &str,
    options: &[ini::IniOption],
) -> Result<(), ConfigError> {
    let changes = options
        .iter()
        .any(|o| merged.get("barman", &o.key).map(|e| e.value.as_str()) != Some(o.value.as_str()));
    if changes {
        let name = path.rsplit('/').next().unwrap_or(path);
        return Err(ConfigError(format!(
            "FATAL: the configuration file {name} contains a not empty [barman] section"
        )));
    }
    Ok(())
}

/// Barman's `Config.get`: `None` becomes `none_value`, then one pair of matching quotes
/// around the whole value is removed.
fn clean(value: &str, none_value: &str) -> String {
    let value = if value == "None" { none_value } else { value };
    let bytes = value.as_bytes();
    if bytes.len() >= 2
        && (bytes[0] == b'"' || bytes[0] == b'\'')
        && bytes[bytes.len() - 1] == bytes[0]
        && !value.contains('\n')
    {
        value[1..value.len() - 1].to_string()
    } else {
        value.to_string()
    }
}

fn build_global(merged: &Merged, warnings: &mut Vec<String>) -> Result<GlobalConfig, ConfigError> {
    let section = merged.sections.get("barman");
    let get = |key: &str| {
        section
            .and_then(|s| s.get(key))
            .map(|e| clean(&e.value, "None"))
    };
    let Some(barman_home) = get("barman_home").filter(|h| !h.is_empty()) else {
        return Err(ConfigError(
            "ERROR: Parameter \"barman_home\" is required in [barman] section. Your configuration is missing required parameters. Exiting.".into(),
        ));
    };
    let raw = global_raw(section, warnings);
    let template = |option: &GlobalOption| {
        option
            .default
            .map(|d| d.replace("%(barman_home)s", &barman_home))
            .unwrap_or_default()
    };
    let default_of = |name: &str| {
        template(
            GLOBAL_OPTIONS
                .iter()
                .find(|o| o.name == name)
                .expect("invariant: global option exists"),
        )
    };
    let cleanup_text =
        get("lock_directory_cleanup").unwrap_or_else(|| default_of("lock_directory_cleanup"));
    let lock_directory_cleanup = value::parse_bool(&cleanup_text)
        .map_err(|reason| global_error(merged, "lock_directory_cleanup", &cleanup_text, &reason))?;
    let non_empty = |key: &str| get(key).filter(|v| !v.is_empty());
    let interval = |key: &str| -> Result<Option<i64>, ConfigError> {
        let Some(text) = non_empty(key) else {
            return Ok(None);
        };
        value::parse_interval(&text)
            .map(Some)
            .map_err(|reason| global_error(merged, key, &text, &reason))
    };
    let estimates_text =
        get("recovery_estimates").unwrap_or_else(|| default_of("recovery_estimates"));
    let recovery_estimates = value::parse_bool(&estimates_text)
        .map_err(|reason| global_error(merged, "recovery_estimates", &estimates_text, &reason))?;
    let drill_schedule = interval("drill_schedule")?;
    let drill_maximum_age = interval("drill_maximum_age")?;
    Ok(GlobalConfig {
        barman_lock_directory: non_empty("barman_lock_directory")
            .unwrap_or_else(|| barman_home.clone()),
        barman_user: non_empty("barman_user").unwrap_or_else(|| default_of("barman_user")),
        config_changes_queue: non_empty("config_changes_queue")
            .unwrap_or_else(|| default_of("config_changes_queue")),
        configuration_files_directory: non_empty("configuration_files_directory"),
        log_file: non_empty("log_file"),
        metrics_file: non_empty("metrics_file"),
        drill_directory: non_empty("drill_directory")
            .unwrap_or_else(|| default_of("drill_directory")),
        drill_user: non_empty("drill_user").unwrap_or_else(|| default_of("drill_user")),
        drill_schedule,
        drill_maximum_age,
        recovery_estimates,
        log_level: non_empty("log_level").unwrap_or_else(|| default_of("log_level")),
        log_format: non_empty("log_format").unwrap_or_else(|| default_of("log_format")),
        lock_directory_cleanup,
        barman_home,
        raw,
    })
}

/// The `[barman]` section as written (key, value, file), warning about unknown keys.
fn global_raw(
    section: Option<&BTreeMap<String, Entry>>,
    warnings: &mut Vec<String>,
) -> Vec<(String, String, String)> {
    let mut raw = Vec::new();
    for (key, entry) in section.into_iter().flatten() {
        if !options::known_in_global(key) {
            warnings.push(format!(
                "Invalid configuration option \"{key}\" in [barman] section."
            ));
        }
        raw.push((key.clone(), entry.value.clone(), entry.file.to_string()));
    }
    raw
}

/// A `[barman]` value that does not parse, named by its file and line.
fn global_error(merged: &Merged, key: &str, text: &str, reason: &str) -> ConfigError {
    let entry = merged.get("barman", key);
    ConfigError::at(
        entry.map_or("", |e| &*e.file),
        entry.map_or(0, |e| e.line),
        "barman",
        key,
        text,
        reason,
    )
}

fn is_model(merged: &Merged, section: &str) -> Result<bool, ConfigError> {
    match merged.get(section, "model") {
        None => Ok(false),
        Some(entry) => value::parse_bool(&entry.value).map_err(|reason| {
            ConfigError::at(
                &entry.file,
                entry.line,
                section,
                "model",
                &entry.value,
                &reason,
            )
        }),
    }
}

/// What an empty value (or `None`) does for a key, reproducing what Barman's parsers do
/// with an empty string.
enum EmptyValue {
    /// The key is unset and not inherited (`compression = None` turns compression off).
    Unset,
    /// The key falls back to `[barman]` and the default, silently.
    Fallback,
    /// As `Fallback`, with Barman's "Ignoring invalid configuration value" warning.
    FallbackWarn,
}

/// True when an empty value (`key =`) is taken without a warning (it unsets text keys and
/// `compression`, sizes and intervals fall back): `config-update` accepts it for those keys
/// only, as Barman's parsers do.
pub fn empty_is_accepted(option: &ServerOption) -> bool {
    !matches!(empty_value(option), EmptyValue::FallbackWarn)
}

fn empty_value(option: &ServerOption) -> EmptyValue {
    match option.kind {
        Kind::Str | Kind::LaterInt | Kind::Retention | Kind::DirOrUrl | Kind::CompressionLevel => {
            EmptyValue::Unset
        }
        Kind::BackupOptions | Kind::RecoveryOptions => EmptyValue::Unset,
        Kind::Choice(_) if option.name == "compression" => EmptyValue::Unset,
        Kind::SiSize | Kind::Interval => EmptyValue::Fallback,
        _ => EmptyValue::FallbackWarn,
    }
}

/// Resolve one key from one section: `Ok(None)` means "not given here".
fn resolve_in(
    from: Section<'_>,
    option: &ServerOption,
    warnings: &mut Vec<String>,
) -> Result<Option<(OptionValue, std::sync::Arc<str>)>, ConfigError> {
    let section = from.name;
    let Some(entry) = from.get(option.name) else {
        return Ok(None);
    };
    let text = clean(&entry.value, "");
    if text.is_empty() {
        return match empty_value(option) {
            EmptyValue::Unset => Ok(Some((empty_of(option), entry.file.clone()))),
            EmptyValue::Fallback => Ok(None),
            EmptyValue::FallbackWarn => {
                let reason = value::parse(option.kind, "").err().unwrap_or_default();
                warnings.push(format!(
                    "Ignoring invalid configuration value '' for key {} in [{section}] section: {reason}",
                    option.name
                ));
                Ok(None)
            }
        };
    }
    let parsed = value::parse(option.kind, &text).map_err(|reason| {
        ConfigError::at(
            &entry.file,
            entry.line,
            section,
            option.name,
            &text,
            &reason,
        )
    })?;
    Ok(Some((parsed, entry.file.clone())))
}

/// The value an explicitly empty key takes.
fn empty_of(option: &ServerOption) -> OptionValue {
    match option.kind {
        Kind::BackupOptions => OptionValue::Csv("BackupOptions", Vec::new()),
        Kind::RecoveryOptions => OptionValue::Csv("RecoveryOptions", Vec::new()),
        _ => OptionValue::None,
    }
}

fn build_server(
    merged: &Merged,
    global: &GlobalConfig,
    name: &str,
    warnings: &mut Vec<String>,
) -> Result<ServerConfig, ConfigError> {
    let section = &merged.sections[name];
    for key in section.keys() {
        if options::server_option(key).is_none() {
            warnings.push(format!(
                "Invalid configuration option \"{key}\" in [{name}] section."
            ));
        }
    }
    let mut server = ServerConfig::new(name);
    // Attributes visible to default templates, as Python's `self.__dict__`.
    let mut attrs: BTreeMap<&str, String> = BTreeMap::new();
    attrs.insert("name", name.to_string());
    attrs.insert("barman_home", global.barman_home.clone());
    let (own, barman) = (merged.section(name), merged.section("barman"));
    for option in SERVER_OPTIONS {
        let mut resolved = None;
        if option.name != "disabled" {
            resolved = resolve_in(own, option, warnings)?;
            if resolved.is_none() && option.inherited {
                resolved = resolve_in(barman, option, warnings)?;
            }
        }
        server.set_source(option.name, source_of(own, barman, option.name));
        let value = match resolved {
            Some((value, _)) => value,
            None => match option.default {
                Some(template) => {
                    let text = expand_template(template, &attrs);
                    if text == "None" {
                        OptionValue::None
                    } else {
                        value::parse(option.kind, &text).map_err(|reason| {
                            ConfigError(format!(
                                "[{name}] default of {} = '{text}': {reason}",
                                option.name
                            ))
                        })?
                    }
                }
                None => OptionValue::None,
            },
        };
        let value = match value {
            OptionValue::Str(s) if s.is_empty() => OptionValue::None,
            other => other,
        };
        attrs.insert(option.name, value.python_str());
        server.set(option.name, value);
    }
    server.set("name", OptionValue::Str(name.to_string()));
    convert_like_server_init(&mut server, merged)?;
    Ok(server)
}

/// Barman's `get_config_source`: the file that sets the key in the section, else the one
/// that sets it in `[barman]` (even for keys servers do not inherit), else none (default).
fn source_of(own: Section<'_>, barman: Section<'_>, key: &str) -> Option<std::sync::Arc<str>> {
    own.get(key)
        .or_else(|| barman.get(key))
        .map(|entry| entry.file.clone())
}

/// `%(key)s` → the already computed attribute (Python's `DEFAULTS[key] % self.__dict__`).
///
/// One pass over the template's own `%(…)s` references: most defaults have none, and
/// trying every attribute on every default made loading 20 servers cost tens of ms.
fn expand_template(template: &str, attrs: &BTreeMap<&str, String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("%(") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find(")s") {
            Some(end) if attrs.contains_key(&after[..end]) => {
                out.push_str(&attrs[&after[..end]]);
                rest = &after[end + 2..];
            }
            _ => {
                out.push_str("%(");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The conversions Barman's `Server.__init__` applies to every server's configuration:
/// `minimum_redundancy` and `bandwidth_limit` to integers, the retention policy to an object
/// (and the WAL retention policy to `MAIN` with it).
fn convert_like_server_init(server: &mut ServerConfig, merged: &Merged) -> Result<(), ConfigError> {
    let name = server.name().to_string();
    let where_set = |key: &str| match merged.get(&name, key) {
        Some(e) => (e.file.clone(), e.line, name.clone()),
        None => merged
            .get("barman", key)
            .map(|e| (e.file.clone(), e.line, "barman".to_string()))
            .unwrap_or_default(),
    };
    for key in ["minimum_redundancy", "bandwidth_limit"] {
        if let Some(OptionValue::Str(text)) = server.get(key).cloned() {
            let n: i64 = text
                .trim()
                .parse()
                .ok()
                .filter(|n: &i64| *n >= 0)
                .ok_or_else(|| {
                    let (file, line, section) = where_set(key);
                    ConfigError::at(
                        &file,
                        line,
                        &section,
                        key,
                        &text,
                        "must be a non-negative integer",
                    )
                })?;
            let key: &'static str = if key == "minimum_redundancy" {
                "minimum_redundancy"
            } else {
                "bandwidth_limit"
            };
            server.set(key, OptionValue::Int(n));
        } else if key == "minimum_redundancy" {
            server.set("minimum_redundancy", OptionValue::Int(0));
        }
    }
    if let Some(OptionValue::Str(text)) = server.get("retention_policy").cloned() {
        let policy: RetentionPolicy =
            text.parse()
                .map_err(|e: crate::core::retention::RetentionPolicyError| {
                    let (file, line, section) = where_set("retention_policy");
                    ConfigError::at(
                        &file,
                        line,
                        &section,
                        "retention_policy",
                        &text,
                        &e.to_string(),
                    )
                })?;
        server.set("retention_policy", OptionValue::Retention(policy));
        // Barman supports only the "main" WAL policy and uses it whatever was written.
        server.set("wal_retention_policy", OptionValue::WalRetentionMain);
    }
    if server.retention_policy_mode() != Some("auto") {
        server.set("retention_policy_mode", OptionValue::Str("auto".into()));
    }
    Ok(())
}

/// Barman's `_check_conflicting_paths`: a directory used twice in one server disables it;
/// used by two servers, it is a global error that stops every command but `diagnose`.
fn check_conflicting_paths(
    servers: &mut BTreeMap<String, ServerConfig>,
    realpath: &dyn Fn(&str) -> String,
) -> Vec<String> {
    const LABELS: [&str; 6] = [
        "backup_directory",
        "basebackups_directory",
        "errors_directory",
        "incoming_wals_directory",
        "streaming_wals_directory",
        "wals_directory",
    ];
    let mut seen: BTreeMap<String, (&'static str, String)> = BTreeMap::new();
    let mut errors = Vec::new();
    let names: Vec<String> = servers.keys().cloned().collect();
    for name in names {
        let server = servers.get_mut(&name).expect("invariant: name from keys");
        for label in LABELS {
            let Some(path) = server.str(label).map(str::to_string) else {
                continue;
            };
            if path.contains("://") {
                continue;
            }
            let real = realpath(&path);
            let described = if real == path {
                path.clone()
            } else {
                format!("{path} (symlink to: {real})")
            };
            match seen.get(&real) {
                None => {
                    seen.insert(real, (label, name.clone()));
                }
                Some((first_label, first_server)) if *first_server == name => {
                    let message = format!(
                        "Conflicting path: {label}={described} conflicts with '{first_label}' for server '{first_server}'"
                    );
                    server.disable(message);
                }
                Some((first_label, first_server)) => errors.push(format!(
                    "Conflicting path: {label}={described} for server '{name}' conflicts with '{first_label}' for server '{first_server}'"
                )),
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests;
