//! What a deploy prints when it is done: a one-line summary for people, or one JSON document
//! for scripts (the plan, and the result when something ran).

use serde::Serialize;

use crate::execute::ExecReport;
use crate::plan::{Plan, human_bytes};

/// The JSON document `--json` prints.
#[derive(Debug, Serialize)]
pub struct DeployOutput<'a> {
    pub dry_run: bool,
    pub plan: &'a Plan,
    /// None for a dry run.
    pub result: Option<&'a ExecReport>,
}

/// `deployed to s3://b/p: uploaded 3 (12.4 KiB), ...`.
#[must_use]
pub fn summary(plan: &Plan, report: &ExecReport) -> String {
    let mut s = format!(
        "deployed to {}: uploaded {} ({}), deleted {}, unchanged {}",
        plan.target(),
        report.uploaded,
        human_bytes(report.uploaded_bytes),
        report.deleted,
        plan.unchanged,
    );
    if report.headers_updated > 0 {
        s.push_str(&format!(", headers updated {}", report.headers_updated));
    }
    if plan.kept_stale > 0 {
        s.push_str(&format!(", stale kept {} (--no-delete)", plan.kept_stale));
    }
    s.push_str(&format!(" in {:.2}s", report.elapsed.as_secs_f64()));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn summary_names_counts_bytes_and_time() {
        let plan = Plan {
            bucket: "b".into(),
            prefix: "site/".into(),
            actions: vec![],
            unchanged: 7,
            unchanged_bytes: 0,
            kept_stale: 2,
        };
        let report = ExecReport {
            uploaded: 3,
            uploaded_bytes: 2048,
            deleted: 1,
            elapsed: Duration::from_millis(1250),
            ..ExecReport::default()
        };
        assert_eq!(
            summary(&plan, &report),
            "deployed to s3://b/site/: uploaded 3 (2.0 KiB), deleted 1, unchanged 7, \
             stale kept 2 (--no-delete) in 1.25s"
        );
    }
}
