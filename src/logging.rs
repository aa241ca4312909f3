//! Logging to `log_file` (or stderr when unset) at `log_level`, in Barman's `log_format`
//! (`%(asctime)s [%(process)s] %(name)s %(levelname)s: %(message)s`), through `tracing`.
//!
//! The logger name is the tracing target with `::` turned into `.` (`barman.commands.servers`),
//! the closest match to Python's per-module loggers (`barman.cli`, `barman.postgres`).

use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::{format::Writer, FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Barman's default `log_format`.
pub const DEFAULT_LOG_FORMAT: &str =
    "%(asctime)s [%(process)s] %(name)s %(levelname)s: %(message)s";

/// Map a Python logging level (name or number) to a tracing level filter.
///
/// Returns `None` for an unknown level, which Barman reports with a warning and replaces
/// with INFO.
pub fn parse_level(level: &str) -> Option<tracing::level_filters::LevelFilter> {
    use tracing::level_filters::LevelFilter;
    let numeric = level.trim().parse::<i64>().ok();
    let by_number = |n: i64| match n {
        i64::MIN..=0 => LevelFilter::TRACE,
        1..=10 => LevelFilter::DEBUG,
        11..=20 => LevelFilter::INFO,
        21..=30 => LevelFilter::WARN,
        31..=40 => LevelFilter::ERROR,
        // CRITICAL: we emit nothing above ERROR, so only criticals (none) would pass.
        _ => LevelFilter::OFF,
    };
    if let Some(n) = numeric {
        return Some(by_number(n));
    }
    match level.trim().to_ascii_uppercase().as_str() {
        "NOTSET" => Some(LevelFilter::TRACE),
        "DEBUG" => Some(LevelFilter::DEBUG),
        "INFO" => Some(LevelFilter::INFO),
        "WARNING" | "WARN" => Some(LevelFilter::WARN),
        "ERROR" => Some(LevelFilter::ERROR),
        "CRITICAL" | "FATAL" => Some(LevelFilter::OFF),
        _ => None,
    }
}

/// Install the global subscriber. `log_file` is created (with its parent folder) when
/// missing; when it cannot be opened we fall back to stderr and log Barman's warning.
pub fn init(
    log_file: Option<&Path>,
    level: tracing::level_filters::LevelFilter,
    format: &str,
) -> Option<String> {
    let mut problem = None;
    let sink: Box<dyn Write + Send> = match log_file {
        Some(path) => {
            if let Some(parent) = path.parent() {
                let _ = std::fs::create_dir_all(parent);
            }
            match OpenOptions::new().create(true).append(true).open(path) {
                Ok(file) => Box::new(file),
                Err(_) => {
                    problem = Some(
                        "Failed opening the requested log file. Using standard error instead."
                            .to_string(),
                    );
                    Box::new(std::io::stderr())
                }
            }
        }
        None => Box::new(std::io::stderr()),
    };
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(level)
        .event_format(BarmanFormat {
            template: format.to_string(),
        })
        .with_writer(Mutex::new(sink))
        .finish();
    // A second init (tests calling run() twice) keeps the first subscriber.
    let _ = tracing::subscriber::set_global_default(subscriber);
    if let Some(text) = &problem {
        tracing::warn!("{text}");
    }
    problem
}

/// Formats events with a Python logging template.
struct BarmanFormat {
    template: String,
}

impl<S, N> FormatEvent<S, N> for BarmanFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let mut message = String::new();
        ctx.format_fields(Writer::new(&mut message), event)?;
        let meta = event.metadata();
        let line = render_template(
            &self.template,
            &chrono::Local::now()
                .format("%Y-%m-%d %H:%M:%S,%3f")
                .to_string(),
            std::process::id(),
            &meta.target().replace("::", "."),
            level_name(meta.level()),
            // Whoever logs a conninfo or an argv, no password reaches the log.
            &crate::core::redact::passwords(&message),
        );
        writeln!(writer, "{line}")
    }
}

fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARNING",
        Level::INFO => "INFO",
        Level::DEBUG | Level::TRACE => "DEBUG",
    }
}

/// Substitute the `%(field)s` placeholders Barman users put in `log_format`.
pub fn render_template(
    template: &str,
    asctime: &str,
    pid: u32,
    name: &str,
    level: &str,
    message: &str,
) -> String {
    let mut out = String::with_capacity(template.len() + message.len());
    let mut rest = template;
    while let Some(start) = rest.find("%(") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(close) = after.find(')') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let field = &after[..close];
        // Skip the conversion type (`s`, `d`, ...) after the closing parenthesis.
        let tail = &after[close + 1..];
        let conv_len = tail
            .chars()
            .take_while(|c| !c.is_ascii_alphabetic())
            .count()
            + 1;
        let conv_len = conv_len.min(tail.len());
        match field {
            "asctime" => out.push_str(asctime),
            "process" => {
                let _ = write!(out, "{pid}");
            }
            "name" | "module" => out.push_str(name),
            "levelname" => out.push_str(level),
            "message" => out.push_str(message),
            other => {
                let _ = write!(out, "%({other})");
            }
        }
        rest = &tail[conv_len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_template_renders_like_python_logging() {
        let line = render_template(
            DEFAULT_LOG_FORMAT,
            "2026-11-24 02:17:57,550",
            5708,
            "barman.postgres",
            "WARNING",
            "Error retrieving PostgreSQL status",
        );
        assert_eq!(
            line,
            "2026-11-24 02:17:57,550 [5708] barman.postgres WARNING: Error retrieving PostgreSQL status"
        );
    }

    #[test]
    fn parse_level_accepts_names_and_numbers() {
        use tracing::level_filters::LevelFilter;
        assert_eq!(parse_level("info"), Some(LevelFilter::INFO));
        assert_eq!(parse_level("WARNING"), Some(LevelFilter::WARN));
        assert_eq!(parse_level("10"), Some(LevelFilter::DEBUG));
        assert_eq!(parse_level("verbose"), None);
    }
}
