//! A progress bar on standard error for runs longer than a moment: hidden
//! at first, drawn only if the run is still going after [`DELAY`], and
//! never when standard error is not a terminal or under `--quiet`.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Runs shorter than this show nothing: a bar that flashes is noise.
const DELAY: Duration = Duration::from_millis(300);

/// Files done out of files found; a no-op when not shown.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar over `total` files, to be drawn after [`DELAY`] if `shown`.
    pub fn new(total: usize, shown: bool) -> Self {
        if !shown {
            return Self { bar: None };
        }
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::hidden());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} files") {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message("indexing");
        let later = bar.clone();
        std::thread::spawn(move || {
            std::thread::sleep(DELAY);
            if !later.is_finished() {
                later.set_draw_target(ProgressDrawTarget::stderr());
                later.enable_steady_tick(Duration::from_millis(120));
            }
        });
        Self { bar: Some(bar) }
    }

    /// The index is built; files are being checked.
    pub fn checking(&self) {
        if let Some(bar) = &self.bar {
            bar.set_message("checking");
        }
    }

    pub fn file_done(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    /// Clears the bar before anything else is printed.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
