//! A progress bar on standard error, shown only when standard error is a terminal, so that
//! piped and CI output stays clean.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// A progress bar for a long import or verification.
#[derive(Debug)]
pub(crate) struct Progress {
    label: &'static str,
    total: u64,
    done: u64,
    enabled: bool,
    last_draw: Option<Instant>,
}

const WIDTH: u64 = 30;

impl Progress {
    /// A bar for `total` items (drawn only on a terminal).
    pub(crate) fn new(label: &'static str, total: u64) -> Self {
        Progress {
            label,
            total,
            done: 0,
            enabled: std::io::stderr().is_terminal(),
            last_draw: None,
        }
    }

    /// Adds `n` done items; redraws at most ten times a second.
    pub(crate) fn add(&mut self, n: u64) {
        self.done += n;
        if !self.enabled {
            return;
        }
        let due = self
            .last_draw
            .is_none_or(|t| t.elapsed() >= Duration::from_millis(100));
        if due || self.done >= self.total {
            self.draw();
            self.last_draw = Some(Instant::now());
        }
    }

    /// Clears the bar's line.
    pub(crate) fn finish(&mut self) {
        if self.enabled {
            let mut err = std::io::stderr();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }

    fn draw(&self) {
        let mut err = std::io::stderr();
        let _ = write!(err, "\r{}", line(self.label, self.done, self.total));
        let _ = err.flush();
    }
}

/// `verifying [##########--------------------]  33% 330000/1000000`
fn line(label: &str, done: u64, total: u64) -> String {
    let total = total.max(1);
    let done = done.min(total);
    let filled = done * WIDTH / total;
    format!(
        "{label} [{}{}] {:>3}% {done}/{total}",
        "#".repeat(filled as usize),
        "-".repeat((WIDTH - filled) as usize),
        done * 100 / total
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_fills_with_progress() {
        assert_eq!(
            line("verifying", 0, 10),
            format!("verifying [{}]   0% 0/10", "-".repeat(30))
        );
        assert_eq!(
            line("verifying", 5, 10),
            format!("verifying [{}{}]  50% 5/10", "#".repeat(15), "-".repeat(15))
        );
        assert_eq!(
            line("verifying", 12, 10),
            format!("verifying [{}] 100% 10/10", "#".repeat(30))
        );
        assert!(line("x", 0, 0).ends_with("0% 0/1"), "no division by zero");
    }
}
