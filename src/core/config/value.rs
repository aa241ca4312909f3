//! Typed configuration values, their parsers (Barman's `PARSERS` in `config.py`) and the
//! renderings Barman's output gives them: Python `str()` for console, the JSON writer's
//! value for `show-servers`, and the `BarmanEncoder` value for `diagnose`.

use crate::core::retention::RetentionPolicy;
use serde_json::Value;

/// How a key's text is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Free text.
    Str,
    /// `true|t|yes|1|on` / `false|f|no|0|off`.
    Bool,
    /// Python `int()`.
    Int,
    /// An absolute path (`staging_path` family).
    AbsPath,
    /// A path or a cloud URL (`s3://`, `gs://`, `https://…blob.core.windows.net`).
    DirOrUrl,
    /// `N day|week|month|hour[s]`.
    Interval,
    /// `N[k|Ki|M|Mi|G|Gi|T|Ti]`.
    SiSize,
    /// One of a fixed list, compared lower-cased.
    Choice(&'static [&'static str]),
    /// One of a fixed list, compared as written (`aws_encryption`).
    ChoiceExact(&'static [&'static str]),
    /// `low|medium|high` or an integer.
    CompressionLevel,
    /// Comma list of `exclusive_backup`, `concurrent_backup`, `external_configuration`.
    BackupOptions,
    /// Comma list of `get-wal`, `delta-restore`.
    RecoveryOptions,
    /// Replication slot name: lower-cased, `[0-9a-z_]+`.
    SlotName,
    /// Comma list of non-empty disk names.
    DiskList,
    /// `none` (→ unset) or `gpg`.
    Encryption,
    /// `REDUNDANCY n` / `RECOVERY WINDOW OF …`.
    Retention,
    /// Text Barman converts to an integer later (`minimum_redundancy`, `bandwidth_limit`).
    LaterInt,
}

impl Kind {
    /// How the type is described in `doc/configuration.md`.
    pub fn describe(&self) -> String {
        match self {
            Kind::Str => "string".into(),
            Kind::Bool => "boolean (`true|t|yes|1|on`, `false|f|no|0|off`)".into(),
            Kind::Int => "integer".into(),
            Kind::AbsPath => "absolute path".into(),
            Kind::DirOrUrl => "path or cloud URL (`s3://`, `gs://`, Azure blob URL)".into(),
            Kind::Interval => "interval (`N day|week|month|hour[s]`, a month is 31 days)".into(),
            Kind::SiSize => {
                "size (`N`, `Nk|M|G|T` powers of 1000, `NKi|Mi|Gi|Ti` powers of 1024)".into()
            }
            Kind::Choice(values) | Kind::ChoiceExact(values) => {
                let quoted: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
                format!("one of {}", quoted.join(", "))
            }
            Kind::CompressionLevel => "`low`, `medium`, `high` or an integer".into(),
            Kind::BackupOptions => {
                "comma list of `concurrent_backup`, `exclusive_backup`, `external_configuration`"
                    .into()
            }
            Kind::RecoveryOptions => "comma list of `get-wal`, `delta-restore`".into(),
            Kind::SlotName => "replication slot name (`[0-9a-z_]+`, lower-cased)".into(),
            Kind::DiskList => "comma list of names".into(),
            Kind::Encryption => "`none` or `gpg`".into(),
            Kind::Retention => "`REDUNDANCY n` or `RECOVERY WINDOW OF n DAYS|WEEKS|MONTHS`".into(),
            Kind::LaterInt => "non-negative integer".into(),
        }
    }
}

/// A parsed configuration value.
#[derive(Debug, Clone, PartialEq)]
pub enum OptionValue {
    /// Unset (Python `None`).
    None,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// Text.
    Str(String),
    /// A time interval in seconds (Python `timedelta`).
    Interval(i64),
    /// A `CsvOption` set: class name and sorted items.
    Csv(&'static str, Vec<String>),
    /// A list of strings (`snapshot_disks`).
    List(Vec<String>),
    /// A retention policy object.
    Retention(RetentionPolicy),
    /// The WAL retention policy object Barman builds when a retention policy is set.
    WalRetentionMain,
}

impl OptionValue {
    /// Python `str()` of the value (console `show-servers`).
    pub fn python_str(&self) -> String {
        match self {
            OptionValue::None => "None".into(),
            OptionValue::Bool(true) => "True".into(),
            OptionValue::Bool(false) => "False".into(),
            OptionValue::Int(n) => n.to_string(),
            OptionValue::Str(s) => s.clone(),
            OptionValue::Interval(seconds) => python_timedelta_str(*seconds),
            OptionValue::Csv(class, items) => {
                if items.is_empty() {
                    format!("{class}()")
                } else {
                    let inner: Vec<String> = items.iter().map(|i| format!("'{i}'")).collect();
                    format!("{class}({{{}}})", inner.join(", "))
                }
            }
            OptionValue::List(items) => {
                let inner: Vec<String> = items.iter().map(|i| format!("'{i}'")).collect();
                format!("[{}]", inner.join(", "))
            }
            OptionValue::Retention(policy) => policy.to_string(),
            OptionValue::WalRetentionMain => "MAIN".into(),
        }
    }

    /// The value Barman's JSON writer emits in `show-servers`: plain types kept, other
    /// objects as their `str()`.
    pub fn to_json(&self) -> Value {
        match self {
            OptionValue::None => Value::Null,
            OptionValue::Bool(b) => Value::Bool(*b),
            OptionValue::Int(n) => Value::from(*n),
            OptionValue::Str(s) => Value::String(s.clone()),
            OptionValue::List(items) => {
                Value::Array(items.iter().cloned().map(Value::String).collect())
            }
            other => Value::String(other.python_str()),
        }
    }

    /// The value `diagnose` emits (Barman's `BarmanEncoderV2`): sets as comma-joined
    /// text, intervals as human-readable text, policies as their text.
    pub fn to_diagnose_json(&self) -> Value {
        match self {
            OptionValue::Csv(_, items) => Value::String(items.join(",")),
            OptionValue::Interval(seconds) => Value::String(human_timedelta(*seconds)),
            other => other.to_json(),
        }
    }

    /// True for `None`.
    pub fn is_none(&self) -> bool {
        matches!(self, OptionValue::None)
    }
}

/// Parse `text` as `kind`. The error is Barman's reason text for the value.
pub fn parse(kind: Kind, text: &str) -> Result<OptionValue, String> {
    match kind {
        Kind::Str | Kind::LaterInt => Ok(OptionValue::Str(text.to_string())),
        Kind::Bool => parse_bool(text).map(OptionValue::Bool),
        Kind::Int => parse_int(text).map(OptionValue::Int),
        Kind::AbsPath => parse_abs_path(text),
        Kind::DirOrUrl => parse_dir_or_url(text),
        Kind::Interval => parse_interval(text).map(OptionValue::Interval),
        Kind::SiSize => parse_si_size(text).map(OptionValue::Int),
        Kind::Choice(choices) => parse_choice(choices, text),
        Kind::ChoiceExact(choices) => parse_choice_exact(choices, text),
        Kind::CompressionLevel => parse_compression_level(text),
        Kind::BackupOptions => parse_csv(
            "BackupOptions",
            text,
            &[
                "exclusive_backup",
                "concurrent_backup",
                "external_configuration",
            ],
            Some(("exclusive_backup", "concurrent_backup")),
        ),
        Kind::RecoveryOptions => {
            parse_csv("RecoveryOptions", text, &["get-wal", "delta-restore"], None)
        }
        Kind::SlotName => parse_slot_name(text),
        Kind::DiskList => parse_disk_list(text),
        Kind::Encryption => parse_encryption(text),
        Kind::Retention => text
            .parse::<RetentionPolicy>()
            .map(|_| OptionValue::Str(text.to_string()))
            .map_err(|e| e.to_string()),
    }
}

fn parse_abs_path(text: &str) -> Result<OptionValue, String> {
    if text.starts_with('/') {
        Ok(OptionValue::Str(text.to_string()))
    } else {
        Err(format!(
            "Invalid value : '{text}' (must be an absolute path)"
        ))
    }
}

/// A local directory, or a URL of a cloud provider Barman supports.
fn parse_dir_or_url(text: &str) -> Result<OptionValue, String> {
    if text.contains("://") && !is_cloud_url(text) {
        Err("The URL is not compatible with any of the supported cloud providers".into())
    } else {
        Ok(OptionValue::Str(text.to_string()))
    }
}

/// One of `choices`, case-insensitively (the value is kept lower-cased).
fn parse_choice(choices: &[&str], text: &str) -> Result<OptionValue, String> {
    let lower = text.to_lowercase();
    if choices.contains(&lower.as_str()) {
        Ok(OptionValue::Str(lower))
    } else {
        Err(format!(
            "Invalid value (must be one in: '{}')",
            choices.join("', '")
        ))
    }
}

/// One of `choices`, spelt exactly.
fn parse_choice_exact(choices: &[&str], text: &str) -> Result<OptionValue, String> {
    if choices.contains(&text) {
        Ok(OptionValue::Str(text.to_string()))
    } else {
        Err(format!(
            "Invalid value '{text}' (must be one in: '{}')",
            choices.join("', '")
        ))
    }
}

/// An integer level, or one of the words `low`, `medium`, `high`.
fn parse_compression_level(text: &str) -> Result<OptionValue, String> {
    let lower = compression_level_text(text)?;
    if ["low", "medium", "high"].contains(&lower.as_str()) {
        Ok(OptionValue::Str(lower))
    } else {
        parse_int(&lower).map(OptionValue::Int)
    }
}

/// A compression level as Barman's `parse_compression_level` takes it, in the
/// configuration and on barman-cloud-wal-archive's command line: an integer, or `low`,
/// `medium`, `high` in any case. The lower-cased text.
pub fn compression_level_text(text: &str) -> Result<String, String> {
    let lower = text.to_lowercase();
    let digits = lower.strip_prefix('-').unwrap_or(&lower);
    let integer = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    if integer || ["low", "medium", "high"].contains(&lower.as_str()) {
        Ok(lower)
    } else {
        Err(format!(
            "Invalid value: '{lower}' (must be one in [low, medium, high] or an acceptable integer)"
        ))
    }
}

/// The characters PostgreSQL allows in a replication slot name (kept lower-cased).
fn parse_slot_name(text: &str) -> Result<OptionValue, String> {
    let lower = text.to_lowercase();
    if !lower.is_empty()
        && lower
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase() || b == b'_')
    {
        Ok(OptionValue::Str(lower))
    } else {
        Err("Replication slot names may only contain lower case letters, numbers, and the underscore character.".into())
    }
}

/// Comma-separated disk names, none empty.
fn parse_disk_list(text: &str) -> Result<OptionValue, String> {
    let disks: Vec<String> = text.split(',').map(str::to_string).collect();
    if disks.iter().any(String::is_empty) {
        Err(format!("empty disk name in '{text}'"))
    } else {
        Ok(OptionValue::List(disks))
    }
}

/// `none` (no encryption) or `gpg`, case-insensitively.
fn parse_encryption(text: &str) -> Result<OptionValue, String> {
    match text.to_lowercase().as_str() {
        "none" => Ok(OptionValue::None),
        "gpg" => Ok(OptionValue::Str("gpg".into())),
        other => Err(format!(
            "Invalid encryption value '{other}'. Allowed values are: none, gpg."
        )),
    }
}

/// Barman's `parse_boolean`.
pub fn parse_bool(text: &str) -> Result<bool, String> {
    match text.to_lowercase().as_str() {
        "true" | "t" | "yes" | "1" | "on" => Ok(true),
        "false" | "f" | "no" | "0" | "off" => Ok(false),
        _ => Err(
            "Invalid boolean representation (must be one in: true|t|yes|1|on | false|f|no|0|off)"
                .into(),
        ),
    }
}

/// Python `int()` on a config string: optional sign, digits, `_` separators, spaces around.
fn parse_int(text: &str) -> Result<i64, String> {
    let trimmed = text.trim();
    let cleaned: String = trimmed.chars().filter(|c| *c != '_').collect();
    cleaned
        .parse::<i64>()
        .map_err(|_| format!("invalid literal for int() with base 10: '{text}'"))
}

/// Barman's `parse_time_interval`, in seconds.
pub fn parse_interval(text: &str) -> Result<i64, String> {
    let invalid = || format!("Invalid value for a time interval {text}");
    let words: Vec<&str> = text.split_whitespace().collect();
    let [number, unit] = words.as_slice() else {
        return Err(invalid());
    };
    if !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let n: i64 = number.parse().map_err(|_| invalid())?;
    let unit = unit.to_lowercase();
    let unit = unit.strip_suffix('s').unwrap_or(&unit);
    let seconds = match unit {
        "day" => 86_400,
        "week" => 7 * 86_400,
        "month" => 31 * 86_400,
        "hour" => 3_600,
        _ => return Err(invalid()),
    };
    Ok(n * seconds)
}

/// Barman's `parse_si_suffix` (k/M/G/T are powers of 1000, Ki/Mi/Gi/Ti of 1024).
pub(crate) fn parse_si_size(text: &str) -> Result<i64, String> {
    let invalid = || format!("Invalid value for a number {text}");
    let trimmed = text.trim_end();
    let digits_end = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    if digits_end == 0 {
        return Err(invalid());
    }
    let n: i64 = trimmed[..digits_end].parse().map_err(|_| invalid())?;
    let factor: i64 = match trimmed[digits_end..].trim_start() {
        "" => 1,
        "k" => 1_000,
        "Ki" => 1 << 10,
        "M" => 1_000_000,
        "Mi" => 1 << 20,
        "G" => 1_000_000_000,
        "Gi" => 1 << 30,
        "T" => 1_000_000_000_000,
        "Ti" => 1 << 40,
        _ => return Err(invalid()),
    };
    n.checked_mul(factor).ok_or_else(invalid)
}

fn parse_csv(
    class: &'static str,
    text: &str,
    allowed: &[&str],
    conflict: Option<(&str, &str)>,
) -> Result<OptionValue, String> {
    let mut items: Vec<String> = Vec::new();
    if !text.is_empty() {
        for item in text.split(',') {
            let item = item.trim().to_lowercase();
            if !allowed.contains(&item.as_str()) {
                return Err(format!("'{item}' is not one of: {}", allowed.join(", ")));
            }
            if !items.contains(&item) {
                items.push(item);
            }
        }
    }
    if let Some((a, b)) = conflict {
        if items.iter().any(|i| i == a) && items.iter().any(|i| i == b) {
            return Err(format!("cannot contain both '{a}' and '{b}'"));
        }
    }
    items.sort();
    Ok(OptionValue::Csv(class, items))
}

/// True for the cloud storage URLs Barman recognises (`recognize_cloud_provider`): S3,
/// Google Cloud Storage and Azure Blob Storage.
pub fn is_cloud_url(text: &str) -> bool {
    text.starts_with("s3://")
        || text.starts_with("gs://")
        || (text.starts_with("https://") && text.contains(".blob.core.windows.net"))
        || text.starts_with("azure://")
}

/// Python `str(timedelta)`: `7 days, 0:00:00`, `1 day, 0:00:00`, `5:00:00`.
pub fn python_timedelta_str(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let rem = seconds.rem_euclid(86_400);
    let clock = format!("{}:{:02}:{:02}", rem / 3600, (rem % 3600) / 60, rem % 60);
    match days {
        0 => clock,
        1 | -1 => format!("{days} day, {clock}"),
        _ => format!("{days} days, {clock}"),
    }
}

/// Barman's `human_readable_timedelta` for whole seconds (`7 days`, `1 day, 2 hours`).
pub fn human_timedelta(seconds: i64) -> String {
    let total = seconds.unsigned_abs();
    let parts: Vec<String> = [
        (total / 86_400, "day"),
        ((total % 86_400) / 3600, "hour"),
        ((total % 3600) / 60, "minute"),
        (total % 60, "second"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, unit)| format!("{n} {unit}{}", if n == 1 { "" } else { "s" }))
    .collect();
    let text = if parts.is_empty() {
        "less than one second".to_string()
    } else {
        parts.join(", ")
    };
    if seconds < 0 {
        format!("{text} ago")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_bool_accepts_barman_spellings() {
        for t in ["true", "T", "yes", "1", "ON"] {
            assert_eq!(parse(Kind::Bool, t), Ok(OptionValue::Bool(true)), "{t}");
        }
        for f in ["false", "F", "no", "0", "off"] {
            assert_eq!(parse(Kind::Bool, f), Ok(OptionValue::Bool(false)), "{f}");
        }
        assert!(parse(Kind::Bool, "maybe").is_err());
    }

    #[test]
    fn value_si_size_uses_both_bases() {
        assert_eq!(
            parse(Kind::SiSize, "30Gi"),
            Ok(OptionValue::Int(32_212_254_720))
        );
        assert_eq!(parse(Kind::SiSize, "100 k"), Ok(OptionValue::Int(100_000)));
        assert_eq!(parse(Kind::SiSize, "5"), Ok(OptionValue::Int(5)));
        assert!(parse(Kind::SiSize, "5 KB").is_err());
        assert!(parse(Kind::SiSize, "Gi").is_err());
    }

    #[test]
    fn value_interval_units_and_renderings() {
        assert_eq!(
            parse(Kind::Interval, "1 week"),
            Ok(OptionValue::Interval(604_800))
        );
        assert_eq!(
            parse(Kind::Interval, "2 Months"),
            Ok(OptionValue::Interval(62 * 86_400))
        );
        assert!(parse(Kind::Interval, "1 year").is_err());
        assert_eq!(
            OptionValue::Interval(604_800).python_str(),
            "7 days, 0:00:00"
        );
        assert_eq!(OptionValue::Interval(18_000).python_str(), "5:00:00");
        assert_eq!(
            OptionValue::Interval(604_800).to_diagnose_json(),
            Value::String("7 days".into())
        );
    }

    #[test]
    fn value_csv_options_render_like_python_sets() {
        let v = parse(Kind::BackupOptions, "concurrent_backup").unwrap();
        assert_eq!(v.python_str(), "BackupOptions({'concurrent_backup'})");
        assert_eq!(
            v.to_diagnose_json(),
            Value::String("concurrent_backup".into())
        );
        assert_eq!(
            parse(Kind::RecoveryOptions, "").unwrap().python_str(),
            "RecoveryOptions()"
        );
        assert!(parse(Kind::BackupOptions, "exclusive_backup,concurrent_backup").is_err());
        assert!(parse(Kind::RecoveryOptions, "get-wal,bogus").is_err());
    }

    #[test]
    fn value_slot_name_is_lowercased_and_checked() {
        assert_eq!(
            parse(Kind::SlotName, "Barman_1"),
            Ok(OptionValue::Str("barman_1".into()))
        );
        assert!(parse(Kind::SlotName, "bad-slot").is_err());
    }

    #[test]
    fn value_compression_level_accepts_words_and_integers() {
        assert_eq!(
            parse(Kind::CompressionLevel, "High"),
            Ok(OptionValue::Str("high".into()))
        );
        assert_eq!(
            parse(Kind::CompressionLevel, "-5"),
            Ok(OptionValue::Int(-5))
        );
        assert!(parse(Kind::CompressionLevel, "fast").is_err());
        // The same rule for barman-cloud-wal-archive's --compression-level.
        assert_eq!(compression_level_text("HIGH"), Ok("high".into()));
        assert_eq!(compression_level_text("-5"), Ok("-5".into()));
        for bad in ["foo", "", "-", "5x", "--5"] {
            assert!(compression_level_text(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn value_encryption_none_means_unset() {
        assert_eq!(parse(Kind::Encryption, "none"), Ok(OptionValue::None));
        assert!(parse(Kind::Encryption, "aes").is_err());
    }

    #[test]
    fn value_paths_and_urls() {
        assert!(parse(Kind::AbsPath, "relative/dir").is_err());
        assert!(parse(Kind::DirOrUrl, "ftp://x").is_err());
        assert!(parse(Kind::DirOrUrl, "s3://bucket/x").is_ok());
    }
}
