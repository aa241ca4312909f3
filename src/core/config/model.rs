//! Model sections (`model = true`): their values, and applying a server's active model
//! (Barman's `ModelConfig`, `ServerConfig.apply_model` and `Config._apply_models`).

use super::options::{self, SERVER_OPTIONS};
use super::{resolve_in, source_of, ConfigError, Merged, OptionValue, ServerConfig};
use std::collections::BTreeMap;

/// A model section (`model = true`).
#[derive(Debug, Clone)]
pub struct ModelConfig {
    name: String,
    values: BTreeMap<&'static str, OptionValue>,
    sources: BTreeMap<&'static str, String>,
}

impl ModelConfig {
    /// The model name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Every model key (set or `None`), sorted.
    pub fn items(&self) -> Vec<(&str, &OptionValue)> {
        self.values.iter().map(|(k, v)| (*k, v)).collect()
    }

    /// The file that set `key`.
    pub fn source(&self, key: &str) -> Option<&str> {
        self.sources.get(key).map(String::as_str)
    }

    /// The keys the model overrides (Barman's `get_override_options`: every set key but
    /// `cluster` and `model`), sorted.
    pub fn overrides(&self) -> impl Iterator<Item = (&'static str, &OptionValue)> {
        self.values
            .iter()
            .filter(|(k, v)| !matches!(**k, "model" | "cluster") && !v.is_none())
            .map(|(k, v)| (*k, v))
    }

    /// `cluster`.
    pub fn cluster(&self) -> Option<&str> {
        match self.values.get("cluster") {
            Some(OptionValue::Str(s)) => Some(s),
            _ => None,
        }
    }
}

pub(super) fn build_model(
    merged: &Merged,
    name: &str,
    warnings: &mut Vec<String>,
) -> Result<ModelConfig, ConfigError> {
    let section = &merged.sections[name];
    for key in section.keys() {
        let allowed = key == "model" || options::server_option(key).is_some_and(|o| o.model);
        if !allowed {
            warnings.push(format!(
                "Invalid configuration option \"{key}\" in [{name}] section."
            ));
        }
    }
    let mut values = BTreeMap::new();
    let mut sources = BTreeMap::new();
    let (own, barman) = (merged.section(name), merged.section("barman"));
    for option in SERVER_OPTIONS.iter().filter(|o| o.model) {
        let value = match resolve_in(own, option, warnings)? {
            Some((value, _)) => value,
            None => OptionValue::None,
        };
        if let Some(file) = source_of(own, barman, option.name) {
            sources.insert(option.name, file.to_string());
        }
        values.insert(option.name, value);
    }
    values.insert("model", OptionValue::Bool(true));
    if let Some(entry) = merged.get(name, "model") {
        sources.insert("model", entry.file.to_string());
    }
    if matches!(values.get("cluster"), None | Some(OptionValue::None)) {
        return Err(ConfigError(format!(
            "{}: [{name}] Parameter \"cluster\" is required in [{name}] section.",
            merged.defined_in.get(name).cloned().unwrap_or_default()
        )));
    }
    Ok(ModelConfig {
        name: name.to_string(),
        values,
        sources,
    })
}

/// Barman's `_apply_models` for one server: the model named in its `.active-model.auto`
/// overrides its keys.
///
/// # Errors
/// Barman's message for a model of another cluster (the server keeps its own values).
pub(super) fn apply_active_model(
    server: &mut ServerConfig,
    active: Option<&String>,
    models: &BTreeMap<String, ModelConfig>,
) -> Result<(), String> {
    let Some(model_name) = active.map(|m| m.trim()).filter(|m| !m.is_empty()) else {
        return Ok(());
    };
    let Some(model) = models.get(model_name) else {
        let message = format!(
            "Model '{model_name}' is set as the active model for the server '{}' but the model does not exist.",
            server.name()
        );
        server.disable(message);
        return Ok(());
    };
    if let Some(mismatch) = cluster_mismatch(model, server) {
        return Err(mismatch);
    }
    for (key, value) in model.overrides() {
        if let Some(option) = options::server_option(key) {
            server.set(option.name, value.clone());
        }
    }
    server.set_active_model(model_name);
    Ok(())
}

/// Barman's refusal of a model whose `cluster` differs from the server's.
pub fn cluster_mismatch(model: &ModelConfig, server: &ServerConfig) -> Option<String> {
    let (theirs, ours) = (model.cluster(), server.cluster());
    (theirs != ours).then(|| {
        format!(
            "Model '{}' has 'cluster={}', which is not compatible with 'cluster={}' from server '{}'",
            model.name(),
            theirs.unwrap_or("None"),
            ours.unwrap_or("None"),
            server.name()
        )
    })
}
