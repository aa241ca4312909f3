//! One server's effective configuration, stored so that 10,000 servers cost memory in
//! proportion to what their sections set: every server of a configuration shares one table
//! of values (the first server's), and keeps only the keys whose value differs from it (its
//! own settings, the defaults derived from its name such as `backup_directory`, and what
//! the server-initialisation rules changed). Reading a key looks in the server's own keys,
//! then in the shared table; what a server reports is unchanged.

use super::OptionValue;
use crate::core::hooks::HookId;
use crate::core::retention::RetentionPolicy;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What the servers of one configuration share: a table of values and one of sources.
#[derive(Debug, Clone)]
pub(super) struct Shared {
    values: Arc<BTreeMap<&'static str, OptionValue>>,
    sources: Arc<BTreeMap<&'static str, Option<Arc<str>>>>,
}

/// A table of keys stored as its differences from a shared table.
#[derive(Debug, Clone)]
struct Diffed<V> {
    shared: Arc<BTreeMap<&'static str, V>>,
    /// Sorted by key.
    own: Vec<(&'static str, V)>,
}

impl<V> Default for Diffed<V> {
    fn default() -> Self {
        Diffed {
            shared: Arc::default(),
            own: Vec::new(),
        }
    }
}

impl<V: Clone + PartialEq> Diffed<V> {
    fn position(&self, key: &str) -> Result<usize, usize> {
        self.own.binary_search_by(|(k, _)| (*k).cmp(key))
    }

    fn get(&self, key: &str) -> Option<&V> {
        match self.position(key) {
            Ok(i) => Some(&self.own[i].1),
            Err(_) => self.shared.get(key),
        }
    }

    fn set(&mut self, key: &'static str, value: V) {
        let position = self.position(key);
        if self.shared.get(key) == Some(&value) {
            if let Ok(i) = position {
                self.own.remove(i);
            }
            return;
        }
        match position {
            Ok(i) => self.own[i].1 = value,
            Err(i) => {
                // Rules change a few keys of every server: grow by one, not by doubling.
                self.own.reserve_exact(1);
                self.own.insert(i, (key, value));
            }
        }
    }

    /// Every key with its value, sorted by key.
    fn items(&self) -> Vec<(&'static str, &V)> {
        let mut items: Vec<(&'static str, &V)> = self
            .shared
            .iter()
            .filter(|(k, _)| self.position(k).is_err())
            .map(|(k, v)| (*k, v))
            .chain(self.own.iter().map(|(k, v)| (*k, v)))
            .collect();
        items.sort_unstable_by(|a, b| a.0.cmp(b.0));
        items
    }

    /// Every key with its value, as a table to share.
    fn table(&self) -> Arc<BTreeMap<&'static str, V>> {
        Arc::new(
            self.items()
                .into_iter()
                .map(|(k, v)| (k, v.clone()))
                .collect(),
        )
    }

    /// Keep only the differences from `shared`.
    fn share(&mut self, shared: &Arc<BTreeMap<&'static str, V>>) {
        let full: Vec<(&'static str, V)> = self
            .items()
            .into_iter()
            .map(|(k, v)| (k, v.clone()))
            .collect();
        self.shared = Arc::clone(shared);
        self.own = full
            .into_iter()
            .filter(|(k, v)| shared.get(k) != Some(v))
            .collect();
        // `collect` reuses the full list's allocation: give the unused room back.
        self.own.shrink_to_fit();
    }
}

/// One server's effective configuration.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    name: String,
    values: Diffed<OptionValue>,
    /// The file that set each key (`None`: a default).
    sources: Diffed<Option<Arc<str>>>,
    /// Why the server is disabled (Barman's texts), shown by `check`.
    pub msg_list: Vec<String>,
    /// Warnings Barman prints when it sets this server up for a command (e.g. the default
    /// backup strategy); printed by commands that use the server.
    pub warnings: Vec<String>,
    active_model: Option<String>,
}

impl ServerConfig {
    /// The server name (its section).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value of `key` (any of the 122 keys, or `name`).
    pub(super) fn get(&self, key: &str) -> Option<&OptionValue> {
        self.values.get(key)
    }

    /// Every key (122 + `name`) with its value, sorted by key.
    pub fn items(&self) -> Vec<(&str, &OptionValue)> {
        self.values.items()
    }

    /// The file that gave the effective value of `key`, `None` for a default.
    pub fn source(&self, key: &str) -> Option<&str> {
        self.sources.get(key).and_then(|file| file.as_deref())
    }

    /// Text value of a key, `None` when unset. Outside this module, use the typed
    /// accessor generated for each option (`options.rs`).
    pub(super) fn str(&self, key: &str) -> Option<&str> {
        match self.values.get(key) {
            Some(OptionValue::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// Boolean value of a key (false when unset).
    pub(super) fn bool(&self, key: &str) -> bool {
        matches!(self.values.get(key), Some(OptionValue::Bool(true)))
    }

    /// Integer value of a key.
    pub(super) fn int(&self, key: &str) -> Option<i64> {
        match self.values.get(key) {
            Some(OptionValue::Int(n)) => Some(*n),
            _ => None,
        }
    }

    /// An interval key, in seconds.
    pub(super) fn interval(&self, key: &str) -> Option<i64> {
        match self.values.get(key) {
            Some(OptionValue::Interval(seconds)) => Some(*seconds),
            _ => None,
        }
    }

    /// A retention policy key, parsed.
    pub(super) fn retention(&self, key: &str) -> Option<RetentionPolicy> {
        match self.values.get(key) {
            Some(OptionValue::Retention(p)) => Some(*p),
            _ => None,
        }
    }

    /// A list key (`backup_options`, `recovery_options`, `snapshot_disks`); empty when unset.
    pub(super) fn list(&self, key: &str) -> &[String] {
        match self.values.get(key) {
            Some(OptionValue::Csv(_, items)) | Some(OptionValue::List(items)) => items,
            _ => &[],
        }
    }

    /// A key's value as parsed, `None` when unset.
    pub(super) fn value(&self, key: &str) -> Option<&OptionValue> {
        self.values
            .get(key)
            .filter(|v| !matches!(v, OptionValue::None))
    }

    /// The value of an option the caller found by walking the option table or a model's
    /// overrides (`show-servers`, `config-switch`); a known option has its typed accessor.
    pub fn value_of(&self, key: &str) -> Option<&OptionValue> {
        self.get(key)
    }

    /// `retention_policy` holds a value, valid or not (a value that does not parse stays
    /// text, and `check` reports it).
    pub fn retention_policy_given(&self) -> bool {
        self.get("retention_policy").is_some_and(|v| {
            !matches!(v, OptionValue::None) && !matches!(v, OptionValue::Str(s) if s.is_empty())
        })
    }

    /// The script configured for a hook (`pre_backup_script`, ...); the hook keys are
    /// built from [`HookId`], and a test checks each one is an option of the table.
    pub fn hook_script(&self, hook: &HookId) -> Option<&str> {
        self.str(&hook.config_key())
    }

    /// A passive node copies from another Barman (`primary_ssh_command` is set).
    pub fn passive_node(&self) -> bool {
        self.primary_ssh_command().is_some()
    }

    /// The model applied through `config-switch`, if any.
    pub fn active_model(&self) -> Option<&str> {
        self.active_model.as_deref()
    }

    /// Backups live in cloud storage (`basebackups_directory` is a cloud URL).
    pub fn uses_backup_cloud_storage(&self) -> bool {
        super::value::is_cloud_url(self.basebackups_dir())
    }

    /// WALs live in cloud storage (`wals_directory` is a cloud URL).
    pub fn uses_wal_cloud_storage(&self) -> bool {
        super::value::is_cloud_url(self.wals_dir())
    }

    /// `backup_directory` (empty when unset, which configuration checks refuse).
    pub fn backup_dir(&self) -> &str {
        self.backup_directory().unwrap_or_default()
    }

    /// `basebackups_directory` (empty when unset).
    pub fn basebackups_dir(&self) -> &str {
        self.basebackups_directory().unwrap_or_default()
    }

    /// `wals_directory` (empty when unset).
    pub fn wals_dir(&self) -> &str {
        self.wals_directory().unwrap_or_default()
    }

    /// `incoming_wals_directory` (empty when unset).
    pub fn incoming_dir(&self) -> &str {
        self.incoming_wals_directory().unwrap_or_default()
    }

    /// `streaming_wals_directory` (empty when unset).
    pub fn streaming_dir(&self) -> &str {
        self.streaming_wals_directory().unwrap_or_default()
    }

    /// `errors_directory` (empty when unset).
    pub fn errors_dir(&self) -> &str {
        self.errors_directory().unwrap_or_default()
    }

    /// `xlogdb_directory` (empty when unset).
    pub fn xlogdb_dir(&self) -> &str {
        self.xlogdb_directory().unwrap_or_default()
    }

    /// Where `<server>-xlog.db` lives (Barman's `Server.xlogdb_directory`): the configured
    /// `xlogdb_directory`, except that with WALs in the cloud its default (under the cloud
    /// URL) becomes the local `meta` folder.
    pub fn xlogdb_location(&self) -> String {
        let configured = self.xlogdb_dir();
        if self.uses_wal_cloud_storage() && configured.starts_with(self.wals_dir()) {
            format!("{}/meta", self.backup_dir().trim_end_matches('/'))
        } else {
            configured.to_string()
        }
    }

    /// `backup_method`, `rsync` when unset (Barman's default).
    pub fn method(&self) -> &str {
        self.backup_method().unwrap_or("rsync")
    }

    /// `minimum_redundancy` as the integer Barman converts it to.
    pub fn minimum_redundancy_count(&self) -> u32 {
        self.minimum_redundancy()
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0)
    }

    /// A server with no values yet.
    pub(super) fn new(name: &str) -> ServerConfig {
        ServerConfig {
            name: name.to_string(),
            values: Diffed::default(),
            sources: Diffed::default(),
            msg_list: Vec::new(),
            warnings: Vec::new(),
            active_model: None,
        }
    }

    pub(super) fn set(&mut self, key: &'static str, value: OptionValue) {
        self.values.set(key, value);
    }

    /// Record the file that set `key` (`None`: its value is a default).
    pub(super) fn set_source(&mut self, key: &'static str, file: Option<Arc<str>>) {
        self.sources.set(key, file);
    }

    pub(super) fn set_active_model(&mut self, model: &str) {
        self.active_model = Some(model.to_string());
    }

    pub(super) fn disable(&mut self, message: String) {
        self.msg_list.push(message);
        self.set("disabled", OptionValue::Bool(true));
    }

    /// Every value and source as tables, to share with the other servers.
    pub(super) fn table(&self) -> Shared {
        Shared {
            values: self.values.table(),
            sources: self.sources.table(),
        }
    }

    /// Keep only this server's differences from `shared`.
    pub(super) fn share(&mut self, shared: &Shared) {
        self.values.share(&shared.values);
        self.sources.share(&shared.sources);
    }
}
