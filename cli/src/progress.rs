//! A progress line on a terminal for big rule sets (compile, Wizer,
//! components); nothing otherwise, so logs and pipes stay quiet.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

/// Rule sets from this many lines on get a progress line.
pub const MIN_LINES: usize = 100_000;

/// A spinner naming the current build step, or nothing.
pub struct Progress(Option<ProgressBar>);

impl Progress {
    /// A spinner when stderr is a terminal and `rules` has at least
    /// [`MIN_LINES`] lines; otherwise a silent one.
    pub fn for_rules(rules: &Path) -> Progress {
        let big = std::io::stderr().is_terminal()
            && std::fs::read(rules)
                .map(|t| t.iter().filter(|&&b| b == b'\n').count() >= MIN_LINES)
                .unwrap_or(false);
        if !big {
            return Progress(None);
        }
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed:>3} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(100));
        Progress(Some(bar))
    }

    /// Names the step that starts now.
    pub fn step(&self, name: &str) {
        if let Some(bar) = &self.0 {
            bar.set_message(name.to_string());
        }
    }

    /// Clears the line.
    pub fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
