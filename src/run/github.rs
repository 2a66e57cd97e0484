//! GitHub Actions reporting, done by the CLI itself so it works with or without the action: step
//! outputs in `$GITHUB_OUTPUT` for later steps, a markdown job summary in `$GITHUB_STEP_SUMMARY`,
//! and errors and warnings as workflow annotations. The text is `core::workflow`'s; this module
//! writes it where the runner reads it.

use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::core::report::DeployOutput;
use crate::core::workflow::{annotation, failure_summary, output_lines, outputs, summary};

/// Whether this process runs in a GitHub Actions job.
#[must_use]
pub(crate) fn in_actions() -> bool {
    crate::environment::current().github_actions
}

/// Set while stdout carries a `--json` document, which an annotation line would corrupt.
static STDOUT_IS_JSON: AtomicBool = AtomicBool::new(false);

/// Tells `warn` that stdout is reserved for one JSON document.
pub(crate) fn stdout_is_json(json: bool) {
    STDOUT_IS_JSON.store(json, Ordering::Relaxed);
}

/// Prints a warning: an annotation in a workflow, `warning: ...` on stderr elsewhere.
pub(crate) fn warn(message: &str) {
    if in_actions() {
        print_annotation(&annotation("warning", "shipfront", message));
    } else {
        crate::run::output::err_line(&format!("warning: {}", crate::core::plan::shown(message)));
    }
}

/// Prints a workflow command line: on stdout, where the runner reads them, unless stdout
/// carries a `--json` document (`doctor --json` prints one and then fails), then on stderr.
pub(crate) fn print_annotation(line: &str) {
    if STDOUT_IS_JSON.load(Ordering::Relaxed) {
        crate::run::output::err_line(line);
    } else {
        crate::run::output::line(line);
    }
}

/// Writes the outputs (in a workflow) and the job summary (when `$GITHUB_STEP_SUMMARY` is set)
/// of a finished deploy or rollback. A file that cannot be written is a warning: the deploy
/// itself is done.
pub(crate) fn publish(command: &str, out: &DeployOutput<'_>) {
    let environment = crate::environment::current();
    let output_file = environment
        .github_output
        .as_ref()
        .filter(|_| environment.github_actions);
    let texts = (
        output_file.map(|path| (path, output_lines(&outputs(out)))),
        environment
            .step_summary
            .as_ref()
            .map(|path| (path, summary(command, out))),
    );
    if let Some((path, lines)) = texts.0 {
        append(path, &lines, "GITHUB_OUTPUT");
    }
    if let Some((path, text)) = texts.1 {
        append(path, &text, "GITHUB_STEP_SUMMARY");
    }
}

/// Adds a failed command's message to the job summary, when there is one.
pub(crate) fn publish_failure(command: &str, message: &str) {
    if let Some(path) = &crate::environment::current().step_summary {
        append(
            path,
            &failure_summary(command, message),
            "GITHUB_STEP_SUMMARY",
        );
    }
}

fn append(path: &Path, text: &str, variable: &str) {
    let written = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()));
    if let Err(e) = written {
        warn(&format!(
            "cannot write ${variable} (`{}`): {e}",
            path.display()
        ));
    }
}
