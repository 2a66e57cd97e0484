//! How a running deploy shows itself: bars on a terminal, one plain line per write in CI logs
//! (where bars would print garbage), nothing with `--no-progress`.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::core::plan::{Action, Phase, human_bytes};
use crate::run::execute::Progress;

/// Picks the progress display for this process's stderr.
#[must_use]
pub(crate) fn for_stderr(enabled: bool) -> Arc<dyn Progress> {
    if !enabled {
        Arc::new(crate::run::execute::NoProgress)
    } else if std::io::stderr().is_terminal() {
        Arc::new(Bars::default())
    } else {
        Arc::new(Lines)
    }
}

/// One line per phase and per finished action, on stderr.
pub(crate) struct Lines;

impl Progress for Lines {
    fn phase_started(&self, phase: Phase, actions: usize, bytes: u64) {
        let mut err = std::io::stderr().lock();
        let writes = if actions == 1 { "write" } else { "writes" };
        let _ = if phase == Phase::Deletes {
            writeln!(err, "{}: deleting {actions} objects", phase.name())
        } else if bytes == 0 {
            // Server-side copies (header updates, restores) send no bytes.
            writeln!(err, "{}: {actions} {writes}", phase.name())
        } else {
            writeln!(
                err,
                "{}: {actions} {writes}, {} to send",
                phase.name(),
                human_bytes(bytes)
            )
        };
    }

    fn action_done(&self, action: &Action) {
        let verb = action.op.done();
        let _ = writeln!(
            std::io::stderr().lock(),
            "  {verb} {} ({}, {})",
            crate::core::plan::shown(&action.key),
            action.reason,
            human_bytes(action.size)
        );
    }

    fn phase_finished(&self, _: Phase) {}
}

/// An indicatif bar per phase: files, bytes and rate.
#[derive(Default)]
pub(crate) struct Bars {
    current: Mutex<Option<PhaseBar>>,
}

struct PhaseBar {
    bar: ProgressBar,
    /// Upload phases advance by bytes, the others by actions.
    by_bytes: bool,
    done: usize,
    total: usize,
}

impl Progress for Bars {
    fn phase_started(&self, phase: Phase, actions: usize, bytes: u64) {
        let by_bytes = phase != Phase::Deletes && bytes > 0;
        let (len, template) = if by_bytes {
            (
                bytes,
                "{prefix:>9} [{bar:30}] {binary_bytes}/{binary_total_bytes} \
                 {binary_bytes_per_sec} {msg} {elapsed}",
            )
        } else {
            (actions as u64, "{prefix:>9} [{bar:30}] {msg} {elapsed}")
        };
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr())
            .with_style(
                ProgressStyle::with_template(template)
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            )
            .with_prefix(phase.name())
            .with_message(format!("0/{actions} files"));
        bar.enable_steady_tick(Duration::from_millis(200));
        if let Ok(mut current) = self.current.lock() {
            *current = Some(PhaseBar {
                bar,
                by_bytes,
                done: 0,
                total: actions,
            });
        }
    }

    fn action_done(&self, action: &Action) {
        let Ok(mut current) = self.current.lock() else {
            return;
        };
        let Some(phase) = current.as_mut() else {
            return;
        };
        phase.done += 1;
        phase.bar.inc(if phase.by_bytes { action.size } else { 1 });
        phase
            .bar
            .set_message(format!("{}/{} files", phase.done, phase.total));
    }

    fn phase_finished(&self, _: Phase) {
        if let Ok(mut current) = self.current.lock()
            && let Some(phase) = current.take()
        {
            phase.bar.finish();
        }
    }
}
