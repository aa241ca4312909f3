//! Everything the user sees: the only place in the crate that writes to stdout or stderr.
//!
//! Mirrors Barman's `output.py`: a console writer (info on stdout, `WARNING:`/`ERROR:`/
//! `EXCEPTION:`/`DEBUG:` lines on stderr) and a JSON writer that collects everything and prints
//! one object at exit. Any error sets a sticky "errored" flag that decides the exit code, so a
//! multi-server command keeps going after one server fails (as Barman's `error_occurred`).

pub mod json;
pub mod nagios;
pub mod progress;
pub mod python;

use crate::error::ExitKind;
use serde_json::{Map, Value};
use std::io::{IsTerminal, Write};

/// `-f/--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human-readable lines (Barman's `ConsoleOutputWriter`).
    Console,
    /// One JSON object printed at exit (Barman's `JsonOutputWriter`).
    Json,
}

/// `--color/--colour`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorChoice {
    /// Never colour.
    Never,
    /// Always colour.
    Always,
    /// Colour only when both stdout and stderr are terminals (Barman's rule).
    Auto,
}

/// Colours Barman uses for check results and message prefixes.
#[derive(Debug, Clone, Copy)]
pub enum Color {
    /// OK.
    Green,
    /// FAILED, ERROR, EXCEPTION.
    Red,
    /// WARNING.
    Yellow,
}

/// The output writer shared by a whole command run.
pub struct Output {
    format: Format,
    quiet: bool,
    debug: bool,
    color: bool,
    errored: bool,
    /// Exit code an error asked for (Barman's `exit_code=` keyword), instead of 1.
    exit_kind: Option<ExitKind>,
    /// Nothing is shown (`check --nagios` prints only its own summary).
    muted: bool,
    /// JSON mode: the structured result (server name → value) and message lists.
    doc: Map<String, Value>,
    /// The last error or exception, for a command that runs another one muted.
    last_error: Option<String>,
}

impl Output {
    /// A writer for the given options.
    pub fn new(format: Format, quiet: bool, debug: bool, color: ColorChoice) -> Self {
        let color = match color {
            ColorChoice::Never => false,
            ColorChoice::Always => true,
            ColorChoice::Auto => std::io::stdout().is_terminal() && std::io::stderr().is_terminal(),
        };
        Output {
            format,
            quiet,
            debug,
            color,
            errored: false,
            exit_kind: None,
            muted: false,
            doc: Map::new(),
            last_error: None,
        }
    }

    /// True under `-q`.
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// The selected format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// True when `-f json` was given.
    pub fn is_json(&self) -> bool {
        self.format == Format::Json
    }

    /// True when any error was reported.
    pub fn errored(&self) -> bool {
        self.errored
    }

    /// An error that ends the run with its own exit kind (get-wal's bad names).
    pub fn error_with_kind(&mut self, msg: &str, kind: ExitKind) {
        self.error(msg);
        self.exit_kind = Some(kind);
    }

    /// The last error or exception message (without its `ERROR:` prefix).
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// The exit kind an error asked for, if any.
    pub fn exit_kind(&self) -> Option<ExitKind> {
        self.exit_kind
    }

    /// Show nothing from now on (messages still set the errored flag and are logged), as
    /// Barman's Nagios writer does; the command prints its summary with [`print_raw`].
    pub fn mute(&mut self) {
        self.muted = true;
    }

    /// Set the exit kind without a message (`check --nagios` when CRITICAL).
    pub fn set_exit_kind(&mut self, kind: ExitKind) {
        self.exit_kind = Some(kind);
    }

    /// Mark the run as failed without printing anything (e.g. a failed check line).
    pub fn set_errored(&mut self) {
        self.errored = true;
    }

    // Messages are also logged, as Barman logs them under the calling module's logger; most
    // of Barman's come from `barman.cli`, so that is the logger name we give them.

    /// A normal message: stdout in console mode (muted by `-q`), `_INFO` in JSON mode.
    pub fn info(&mut self, msg: &str) {
        tracing::info!(target: "barman.cli", "{}", redact(msg));
        self.message("_INFO", None, msg);
    }

    /// Like [`Output::info`], without copying the message to the log (Barman's `log=False`,
    /// used for bulky reports such as `diagnose`).
    pub fn info_unlogged(&mut self, msg: &str) {
        self.message("_INFO", None, msg);
    }

    /// A JSON report printed through `info` without being logged (Barman's `diagnose`):
    /// indented, keys sorted. Passwords are hidden inside each string value, so the text
    /// stays valid JSON whatever follows a password (the closing quote of the value, an
    /// escaped quote).
    pub fn info_report(&mut self, report: &Value) {
        let text = json::dumps_indented(&redact_strings(report));
        self.emit("_INFO", None, text);
    }

    /// A warning: `WARNING: <msg>` on stderr.
    pub fn warning(&mut self, msg: &str) {
        tracing::warn!(target: "barman.cli", "{}", redact(msg));
        self.message("_WARNING", Some(("WARNING", Color::Yellow)), msg);
    }

    /// An error: `ERROR: <msg>` on stderr; the run will exit 1.
    pub fn error(&mut self, msg: &str) {
        tracing::error!(target: "barman.cli", "{}", redact(msg));
        self.errored = true;
        self.last_error = Some(msg.to_string());
        self.message("_ERROR", Some(("ERROR", Color::Red)), msg);
    }

    /// An unexpected failure: `EXCEPTION: <msg>` on stderr; the run will exit 1.
    pub fn exception(&mut self, msg: &str) {
        tracing::error!(target: "barman.cli", "{}", redact(msg));
        self.errored = true;
        self.last_error = Some(msg.to_string());
        self.message("_EXCEPTION", Some(("EXCEPTION", Color::Red)), msg);
    }

    /// A debug line, shown only with `-d`.
    pub fn debug(&mut self, msg: &str) {
        tracing::debug!(target: "barman.cli", "{}", redact(msg));
        if self.debug {
            self.message("_DEBUG", Some(("DEBUG", Color::Green)), msg);
        }
    }

    fn message(&mut self, list: &str, prefix: Option<(&str, Color)>, msg: &str) {
        self.emit(list, prefix, redact(msg));
    }

    /// Show an already redacted message.
    fn emit(&mut self, list: &str, prefix: Option<(&str, Color)>, msg: String) {
        if self.muted {
            return;
        }
        match self.format {
            Format::Json => {
                let entry = self
                    .doc
                    .entry(list.to_string())
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(items) = entry {
                    items.push(Value::String(msg));
                }
            }
            Format::Console => match prefix {
                None => {
                    if !self.quiet {
                        write_out(&format!("{msg}\n"));
                    }
                }
                Some((label, color)) => {
                    let label = self.paint(label, color);
                    write_err(&format!("{label}: {msg}\n"));
                }
            },
        }
    }

    /// Console only: print a result line on stdout (muted by `-q`). No-op in JSON mode.
    pub fn line(&mut self, text: &str) {
        if self.format == Format::Console && !self.quiet && !self.muted {
            write_out(&format!("{}\n", redact(text)));
        }
    }

    /// JSON only: set a top-level member of the result object. No-op in console mode.
    pub fn json_set(&mut self, key: &str, value: Value) {
        if self.format == Format::Json {
            self.doc.insert(key.to_string(), value);
        }
    }

    /// Wrap `text` in ANSI colour codes when colours are on.
    pub fn paint(&self, text: &str, color: Color) -> String {
        if !self.color {
            return text.to_string();
        }
        let code = match color {
            Color::Green => 32,
            Color::Red => 31,
            Color::Yellow => 33,
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    /// Flush the JSON document (one object, no trailing newline, as Barman). `-q` with JSON
    /// prints nothing at all.
    pub fn close(&mut self) {
        if self.format == Format::Json && !self.quiet && !self.muted {
            let doc = Value::Object(std::mem::take(&mut self.doc));
            write_out(&json::dumps(&doc));
        }
    }
}

/// Hide passwords in conninfo strings and URIs, as Barman's output does
/// ([`crate::core::redact::passwords`]).
pub fn redact(msg: &str) -> String {
    crate::core::redact::passwords(msg)
}

/// `value` with [`redact`] applied to every string in it (keys are names, kept as they are).
fn redact_strings(value: &Value) -> Value {
    match value {
        Value::String(text) => Value::String(redact(text)),
        Value::Array(items) => Value::Array(items.iter().map(redact_strings).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| (key.clone(), redact_strings(value)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn write_out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`barman list-servers | head -1`) is not an error worth reporting.
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

fn write_err(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// Standard output for raw bytes (get-wal streams WAL content there).
pub fn raw_stdout() -> std::io::StdoutLock<'static> {
    std::io::stdout().lock()
}

/// Print text on stdout regardless of format (help, version, completions).
pub fn print_raw(text: &str) {
    write_out(text);
}

/// Print text on stderr regardless of format (usage errors before an `Output` exists).
pub fn eprint_raw(text: &str) {
    write_err(text);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_stay_json_with_passwords_in_them() {
        let report = serde_json::json!({
            "a": {"conninfo": "host=h password=secret", "n": 1},
            "b": ["password=x\"y", "password='s p' z"],
        });
        let mut out = Output::new(Format::Json, false, false, ColorChoice::Never);
        out.info_report(&report);
        let text = out.doc["_INFO"][0].as_str().unwrap();
        let parsed: Value = serde_json::from_str(text).unwrap();
        assert_eq!(parsed["a"]["conninfo"], "host=h password=*REDACTED*");
        assert_eq!(parsed["b"][0], "password=*REDACTED*\"y");
        assert_eq!(parsed["b"][1], "password=*REDACTED* z");
    }

    #[test]
    fn json_messages_collect_in_lists() {
        let mut out = Output::new(Format::Json, false, false, ColorChoice::Never);
        out.error("boom");
        out.info("hello");
        assert!(out.errored());
        assert_eq!(
            json::dumps(&Value::Object(out.doc.clone())),
            r#"{"_ERROR": ["boom"], "_INFO": ["hello"]}"#
        );
    }
}
