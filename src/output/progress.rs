//! Progress of long copies (backup, later recover and sync): bytes, rate and ETA on
//! stderr, drawn only when stderr is a terminal and the run is neither `-q` nor JSON, so
//! cron jobs and pipes see nothing. indicatif throttles redraws.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// A progress display that may be hidden; every method is cheap when hidden.
#[derive(Clone)]
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar for `total` bytes (None: unknown total, a byte counter with rate).
    pub fn bytes(out: &super::Output, total: Option<u64>, label: &str) -> Progress {
        let visible = !out.is_quiet() && !out.is_json() && std::io::stderr().is_terminal();
        let bar = match total {
            Some(total) => ProgressBar::new(total),
            None => ProgressBar::no_length(),
        };
        let template = if total.is_some() {
            "{msg} [{elapsed_precise}] {bytes}/{total_bytes} ({bytes_per_sec}, ETA {eta})"
        } else {
            "{msg} [{elapsed_precise}] {bytes} ({bytes_per_sec})"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        bar.set_message(label.to_string());
        bar.set_draw_target(if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        Progress { bar }
    }

    /// Add `n` bytes done.
    pub fn add(&self, n: u64) {
        self.bar.inc(n);
    }

    /// Set the bytes done.
    pub fn set(&self, n: u64) {
        self.bar.set_position(n);
    }

    /// Set the expected total.
    pub fn set_total(&self, total: u64) {
        self.bar.set_length(total);
    }

    /// Remove the bar from the terminal.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
