//! The progress line on stderr: bytes read, rate, time left and files while reading, then the
//! stage the run is in (graph and rules, reports). Drawn only when stderr is a terminal and
//! `-q` is not given; cleared before anything else is printed.

use super::Ui;
use crate::pipeline::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The progress line of one run (hidden when it is not to be drawn).
pub struct Bar {
    pb: ProgressBar,
    files: AtomicUsize,
    done: AtomicUsize,
}

const READING: &str =
    "{spinner} reading {msg} {bytes}/{total_bytes} [{wide_bar}] {binary_bytes_per_sec}, {eta} left";
const STAGE: &str = "{spinner} {msg} ({elapsed})";

impl Bar {
    /// A progress line for `ui`: drawn on stderr when it is a terminal, unless `-q`.
    pub fn new(ui: &Ui) -> Bar {
        let pb = if ui.progress {
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        Bar {
            pb,
            files: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
        }
    }

    /// The run is now in `stage` (e.g. "graph and rules"): a spinner with the time spent.
    pub fn stage(&self, stage: &str) {
        if self.pb.is_hidden() {
            return;
        }
        if let Ok(style) = ProgressStyle::with_template(STAGE) {
            self.pb.set_style(style);
        }
        self.pb.set_message(stage.to_string());
        self.pb.reset_elapsed();
        self.pb.enable_steady_tick(Duration::from_millis(120));
    }

    /// Remove the line (before the summary or the output is printed).
    pub fn clear(&self) {
        self.pb.disable_steady_tick();
        self.pb.finish_and_clear();
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.clear();
    }
}

impl Progress for Bar {
    fn start(&self, files: usize, bytes: u64) {
        self.files.store(files, Ordering::Relaxed);
        if self.pb.is_hidden() {
            return;
        }
        self.pb.set_message(format!("0/{files} files"));
        self.pb.set_length(bytes);
        self.pb.set_position(0);
        if let Ok(style) = ProgressStyle::with_template(READING) {
            self.pb.set_style(style.progress_chars("=> "));
        }
        self.pb.enable_steady_tick(Duration::from_millis(120));
    }

    fn read(&self, bytes: u64) {
        self.pb.inc(bytes);
    }

    fn file_done(&self) {
        let k = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if !self.pb.is_hidden() {
            let n = self.files.load(Ordering::Relaxed);
            self.pb.set_message(format!("{k}/{n} files"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_and_a_hidden_bar_counts() {
        assert!(ProgressStyle::with_template(READING).is_ok());
        assert!(ProgressStyle::with_template(STAGE).is_ok());
        let b = Bar::new(&Ui::default());
        assert!(b.pb.is_hidden());
        b.start(2, 100);
        b.read(60);
        b.file_done();
        b.stage("graph and rules");
        assert_eq!(b.done.load(Ordering::Relaxed), 1);
        assert_eq!(b.files.load(Ordering::Relaxed), 2);
    }
}
