//! Progress bars on stderr, shown only when stderr is a terminal and the user did not ask for
//! quiet: cron logs and pipes stay clean.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A spinner for work of unknown length; hidden when not wanted.
pub fn spinner(quiet: bool, message: impl Into<String>) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(message.into());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// A counter of records for long reads; hidden when not wanted.
pub fn counter(quiet: bool, message: impl Into<String>) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg}: {human_pos} records [{elapsed}, {per_sec}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(message.into());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// A bar over a known number of items; hidden when not wanted.
pub fn bar(quiet: bool, total: u64, message: impl Into<String>) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} {wide_bar} {human_pos}/{human_len} [{elapsed}, {per_sec}]",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(message.into());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// How much of a run's progress to show beyond the spinners.
#[derive(Debug, Clone, Copy)]
pub struct Show {
    /// No bars, no lines.
    pub quiet: bool,
    /// One line per finished piece of a stage (`check   125 rules on 2 datasets (1.9s)`).
    pub stage_lines: bool,
    /// One line per batch file written (`batch fee_details 000001.json: 500 records, …`).
    pub batch_lines: bool,
}

/// The display of the driver's progress: a spinner per piece of a stage, and the lines `show`
/// asks for, on stderr. Batches are written during the check's pass (each one a `Batch` event).
pub fn run_display(show: Show) -> impl FnMut(yibao::pipeline::Progress) {
    use std::io::Write as _;
    use yibao::pipeline::Progress;
    let mut bar: Option<ProgressBar> = None;
    move |p| match p {
        Progress::Begin { stage, what } => {
            bar = Some(spinner(show.quiet, format!("{} {what}", stage.name())));
        }
        Progress::End {
            stage,
            what,
            elapsed,
        } => {
            if let Some(b) = bar.take() {
                b.finish_and_clear();
            }
            if show.stage_lines && !show.quiet {
                // A closed stderr loses nothing that matters.
                let _ = writeln!(
                    std::io::stderr(),
                    "{:<7} {what} ({:.1}s)",
                    stage.name(),
                    elapsed.as_secs_f64()
                );
            }
        }
        Progress::Batch { dataset, entry } => {
            if show.batch_lines {
                let _ = writeln!(
                    std::io::stderr(),
                    "batch {dataset} {}: {} records, {} bytes",
                    entry.file,
                    entry.records,
                    entry.bytes
                );
            }
        }
    }
}
