//! What a deploy prints when it is done: a one-line summary for people, or one JSON document
//! for scripts (the plan, and the result when something ran).

use serde::Serialize;

use crate::core::exec_report::ExecReport;
use crate::core::invalidate::Invalidation;
use crate::core::plan::{Plan, human_bytes};

/// The version of every `--json` document's shape (docs/json.md): raised when a field is
/// removed or changes meaning, not when one is added.
pub(crate) const JSON_SCHEMA: u32 = 1;

/// The JSON document `--json` prints.
#[derive(Debug, Serialize)]
pub(crate) struct DeployOutput<'a> {
    /// `JSON_SCHEMA`.
    pub(crate) schema: u32,
    /// `deploy` or `rollback`.
    pub(crate) command: &'static str,
    /// The release a rollback restores; None (null) for a deploy.
    pub(crate) to: Option<&'a str>,
    pub(crate) dry_run: bool,
    pub(crate) plan: &'a Plan,
    /// None for a dry run.
    pub(crate) result: Option<&'a ExecReport>,
    /// The CloudFront invalidation sent (or, in a dry run, planned); None when none.
    pub(crate) invalidation: Option<InvalidationReport>,
    /// The id of the release record written; None when nothing changed (or a dry run).
    pub(crate) release: Option<String>,
    /// An atomic site's pointer switch (planned, in a dry run); None for an in-place site.
    pub(crate) switch: Option<&'a SwitchReport>,
    /// `--verify`: what visitors got; None when not asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) verify: Option<&'a crate::core::verify::Verification>,
}

/// An atomic site's switch of its live release: the KeyValueStore's `live` key pointed at a
/// release, after its exception keys.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SwitchReport {
    /// The KeyValueStore's name.
    pub(crate) key_value_store: String,
    /// The key pointed: `live`, or a preview's `p/NAME`.
    pub(crate) key: String,
    /// A preview's name and address; None when `live` is switched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) preview: Option<PreviewReport>,
    /// The release `live` points at now (in a dry run: would).
    pub(crate) release: String,
    /// The release it pointed at before; None for the first.
    pub(crate) from: Option<String>,
    /// Exception keys written with the pointer.
    pub(crate) exception_keys: usize,
    /// The store's ETag after the switch; None in a dry run.
    pub(crate) etag: Option<String>,
    /// `UpdateKeys` calls made; 0 in a dry run.
    pub(crate) writes: usize,
    /// Seconds from the command's start to the switch; None in a dry run.
    pub(crate) seconds: Option<f64>,
}

impl SwitchReport {
    /// A switch of KeyValueStore `store` to `release` from `from`, with `exception_keys`, not
    /// made yet.
    #[must_use]
    pub(crate) fn planned(
        store: &str,
        release: &str,
        from: Option<String>,
        exception_keys: usize,
    ) -> Self {
        SwitchReport {
            key_value_store: store.to_owned(),
            key: crate::core::atomic::LIVE_KEY.to_owned(),
            preview: None,
            release: release.to_owned(),
            from,
            exception_keys,
            etag: None,
            writes: 0,
            seconds: None,
        }
    }

    /// Makes it preview `name`'s, served at `url`, which showed release `from` before.
    pub(crate) fn preview(&mut self, name: &str, url: &str, from: Option<String>) {
        self.key = crate::core::preview::key(name);
        self.from = from;
        self.preview = Some(PreviewReport {
            name: name.to_owned(),
            url: url.to_owned(),
        });
    }

    /// The switch made: the store's ETag after it, the writes it took, and the time from the
    /// command's start.
    pub(crate) fn done(&mut self, etag: String, writes: usize, elapsed: std::time::Duration) {
        self.etag = Some(etag);
        self.writes = writes;
        self.seconds = Some(elapsed.as_secs_f64());
    }
}

/// A preview a deploy made: its name and where it is served.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PreviewReport {
    pub(crate) name: String,
    pub(crate) url: String,
}

impl std::fmt::Display for SwitchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let extra = match self.exception_keys {
            0 => String::new(),
            n => format!(" with {n} exception key{}", if n == 1 { "" } else { "s" }),
        };
        match self.seconds {
            Some(seconds) => write!(
                f,
                "switched `{}` of KeyValueStore `{}` to release {}{extra} {:.2}s after the \
                 start ({} write{})",
                self.key,
                self.key_value_store,
                self.release,
                seconds,
                self.writes,
                if self.writes == 1 { "" } else { "s" }
            ),
            None => write!(
                f,
                "switch: point `{}` of KeyValueStore `{}` at release {}{extra}, once every \
                 object is written",
                self.key, self.key_value_store, self.release
            ),
        }?;
        match &self.preview {
            Some(preview) => write!(
                f,
                "\npreview `{}`: {} (`live` is unchanged; `shipfront promote {}` makes it live)",
                preview.name, preview.url, preview.name
            ),
            None => Ok(()),
        }
    }
}

/// What a deploy or a rollback did (or, in a dry run, would do): the one result both commands
/// return, printed as text or as the `--json` document (`view`).
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) command: Command,
    pub(crate) dry_run: bool,
    pub(crate) plan: Plan,
    /// None for a dry run.
    pub(crate) result: Option<ExecReport>,
    pub(crate) invalidation: Option<InvalidationReport>,
    /// The id of the release record written; None when nothing changed (or a dry run).
    pub(crate) release: Option<String>,
    /// An atomic site's pointer switch; None for an in-place site.
    pub(crate) switch: Option<SwitchReport>,
    /// What visitors got after it (`--verify`); None when not asked.
    pub(crate) verify: Option<crate::core::verify::Verification>,
}

/// Which command ran, with what its text output names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    Deploy,
    /// A rollback to the release with this id.
    Rollback {
        to: String,
    },
    /// `live` switched to release `to`, which preview `name` shows.
    Promote {
        name: String,
        to: String,
    },
}

impl Command {
    /// The command's name, as GitHub Actions outputs and summaries name it.
    #[must_use]
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Command::Deploy => "deploy",
            Command::Rollback { .. } => "rollback",
            Command::Promote { .. } => "promote",
        }
    }
}

/// The `releases --json` document.
#[derive(Debug, Serialize)]
pub(crate) struct ReleasesOutput<'a> {
    /// `JSON_SCHEMA`.
    pub(crate) schema: u32,
    /// Newest first.
    pub(crate) releases: Vec<ReleaseSummary<'a>>,
    /// An atomic site's pointer, which says which release is live; None for an in-place site.
    pub(crate) pointer: Option<&'a PointerView>,
}

/// An atomic site's `live` pointer as `releases` shows it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PointerView {
    /// The KeyValueStore's name.
    pub(crate) key_value_store: String,
    /// The release `live` points at; None when nothing is live yet.
    pub(crate) release: Option<String>,
    /// The store's ETag: a switch is conditional on it.
    pub(crate) etag: String,
}

impl std::fmt::Display for PointerView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.release {
            Some(id) => write!(
                f,
                "live: release {id}, by `live` in KeyValueStore `{}` (ETag {})",
                self.key_value_store, self.etag
            ),
            None => write!(
                f,
                "live: nothing yet; KeyValueStore `{}` has no `live` key (ETag {})",
                self.key_value_store, self.etag
            ),
        }
    }
}

impl Outcome {
    /// The `--json` document (and what GitHub Actions outputs are made from).
    #[must_use]
    pub(crate) fn view(&self) -> DeployOutput<'_> {
        DeployOutput {
            schema: JSON_SCHEMA,
            command: self.command.name(),
            to: match &self.command {
                Command::Rollback { to } | Command::Promote { to, .. } => Some(to),
                Command::Deploy => None,
            },
            dry_run: self.dry_run,
            plan: &self.plan,
            result: self.result.as_ref(),
            invalidation: self.invalidation.clone(),
            release: self.release.clone(),
            switch: self.switch.as_ref(),
            verify: self.verify.as_ref(),
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Some(result) = &self.result else {
            match &self.command {
                Command::Rollback { to } => writeln!(f, "rollback to {to}")?,
                Command::Promote { name, to } => {
                    writeln!(f, "promote preview `{name}` (release {to})")?;
                }
                Command::Deploy => {}
            }
            writeln!(f, "{}", self.plan)?;
            if let Some(inv) = &self.invalidation {
                writeln!(f, "{}", invalidation_plan(inv))?;
            }
            if let Some(switch) = &self.switch {
                writeln!(f, "{switch}")?;
            }
            return f.write_str("dry run: nothing was written");
        };
        match &self.command {
            Command::Promote { name, to } if self.switch.is_some() => write!(
                f,
                "promoted preview `{name}`: {} now serves release {to}, what the preview \
                 showed; nothing uploaded, nothing to invalidate",
                self.plan.target()
            )?,
            Command::Promote { name, to } => write!(
                f,
                "preview `{name}` shows release {to}, which is live already: nothing to do"
            )?,
            Command::Rollback { to } if self.switch.is_some() => write!(
                f,
                "rolled back {} to release {to}: {}, nothing to invalidate",
                self.plan.target(),
                match result.copied {
                    0 => "no object written".to_owned(),
                    n => format!("no object written but its {n} error page(s) at their own keys"),
                }
            )?,
            Command::Deploy => {
                f.write_str(&summary(&self.plan, result, self.invalidation.as_ref()))?;
            }
            Command::Rollback { to } if self.plan.is_empty() => write!(
                f,
                "{} already holds release {to}: nothing to restore",
                self.plan.target()
            )?,
            Command::Rollback { to } => write!(
                f,
                "rolled back {} to release {to}: restored {}, deleted {}, unchanged {}{} in \
                 {:.2}s",
                self.plan.target(),
                result.restored,
                result.deleted,
                self.plan.unchanged,
                self.invalidation
                    .as_ref()
                    .map_or_else(String::new, |i| format!(", invalidated {}", i.describe())),
                result.elapsed.as_secs_f64()
            )?,
        }
        if let Some(switch) = &self.switch {
            write!(f, "\n{switch}")?;
        }
        if let Some(id) = &self.release {
            write!(f, "\nrelease {id}")?;
        }
        if let Some(verification) = &self.verify {
            write!(f, "\n{verification}")?;
        }
        Ok(())
    }
}

/// A CloudFront invalidation as reported to the user.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct InvalidationReport {
    /// None in a dry run.
    pub(crate) id: Option<String>,
    pub(crate) paths: Vec<String>,
    /// Changed URLs before collapsing.
    pub(crate) urls: usize,
    pub(crate) collapsed: bool,
    /// Whether `--wait` saw it complete.
    pub(crate) completed: bool,
}

impl InvalidationReport {
    /// What a dry run would send.
    #[must_use]
    pub(crate) fn planned(inv: &Invalidation) -> Self {
        InvalidationReport {
            id: None,
            paths: inv.paths.clone(),
            urls: inv.urls,
            collapsed: inv.collapsed,
            completed: false,
        }
    }
}

/// `3 paths`, or `2 paths (collapsed from 40 URLs)`.
#[must_use]
pub(crate) fn paths_phrase(paths: usize, collapsed: bool, urls: usize) -> String {
    let mut s = format!("{paths} path{}", if paths == 1 { "" } else { "s" });
    if collapsed {
        s.push_str(&format!(" (collapsed from {urls} URLs)"));
    }
    s
}

impl InvalidationReport {
    /// `3 paths[ (collapsed from N URLs)][, completed]`.
    #[must_use]
    pub(crate) fn describe(&self) -> String {
        let mut s = paths_phrase(self.paths.len(), self.collapsed, self.urls);
        if self.completed {
            s.push_str(", completed");
        }
        s
    }
}

/// The dry-run lines for a planned invalidation.
#[must_use]
pub(crate) fn invalidation_plan(inv: &InvalidationReport) -> String {
    let mut s = format!(
        "invalidate {}:",
        paths_phrase(inv.paths.len(), inv.collapsed, inv.urls)
    );
    for p in &inv.paths {
        s.push_str("\n  ");
        s.push_str(p);
    }
    s
}

/// `deployed to s3://b/p: uploaded 3 (12.4 KiB), ...`.
#[must_use]
pub(crate) fn summary(
    plan: &Plan,
    report: &ExecReport,
    invalidation: Option<&InvalidationReport>,
) -> String {
    let mut s = format!(
        "deployed to {}: uploaded {} ({}), deleted {}, unchanged {}",
        plan.target(),
        report.uploaded,
        human_bytes(report.uploaded_bytes),
        report.deleted,
        plan.unchanged,
    );
    if report.copied > 0 {
        s.push_str(&format!(", copied {}", report.copied));
    }
    if report.headers_updated > 0 {
        s.push_str(&format!(", headers updated {}", report.headers_updated));
    }
    if plan.kept_stale > 0 {
        s.push_str(&format!(", stale kept {} (--no-delete)", plan.kept_stale));
    }
    if let Some(inv) = invalidation {
        s.push_str(&format!(", invalidated {}", inv.describe()));
    }
    s.push_str(&format!(" in {:.2}s", report.elapsed.as_secs_f64()));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Each column's header stands over its values, whatever the ids' and times' lengths.
    #[test]
    fn the_releases_header_stands_over_its_columns() {
        let listed = |id: &str, time: &str, bytes| {
            let mut record = crate::run::fixtures::release(id, &[]);
            record.time = time.into();
            record.bytes = bytes;
            record.changed = 12;
            Listed::Read {
                record: Box::new(record),
                files: 345,
                missing_versions: 0,
            }
        };
        let rows = [
            listed(
                "20261206T031228.031Z-97afb3",
                "2026-12-06T03:12:28.031Z",
                2048,
            ),
            listed(
                "20261206T031300.000Z-rollback-97afb3",
                "2026-12-06T03:13:00.000Z",
                0,
            ),
            Listed::Unreadable {
                id: "20261206T000000.000Z-000000".into(),
            },
        ];
        let table = releases_table(&rows, Some(0));
        let lines: Vec<&str> = table.lines().collect();
        let header = lines[0];
        for (row, time) in [
            (lines[1], "2026-12-06T03:12:28"),
            (lines[2], "2026-12-06T03:13"),
        ] {
            assert_eq!(header.find("time"), row.find(time), "{table}");
            // Numbers are right-aligned under their headers.
            let files_end = header.find("files").map(|i| i + "files".len());
            let end_of = |value: &str| row.find(value).map(|i| i + value.len());
            assert_eq!(files_end, end_of("345"), "{table}");
            let changed_end = header.find("changed").map(|i| i + "changed".len());
            assert_eq!(changed_end, end_of("  12"), "{table}");
        }
        assert!(
            lines[1].starts_with("* 20261206T031228.031Z-97afb3 "),
            "{table}"
        );
    }

    #[test]
    fn summary_names_counts_bytes_and_time() {
        let plan = Plan {
            bucket: "b".into(),
            prefix: "site/".into(),
            actions: vec![],
            unchanged: 7,
            unchanged_bytes: 0,
            kept_stale: 2,
            kept_assets: std::collections::BTreeMap::new(),
            keep_assets: 1,
            notes: vec![],
            warnings: vec![],
            evidence: crate::core::fingerprint::Evidence::default(),
        };
        let report = ExecReport {
            uploaded: 3,
            uploaded_bytes: 2048,
            deleted: 1,
            elapsed: Duration::from_millis(1250),
            ..ExecReport::default()
        };
        assert_eq!(
            summary(&plan, &report, None),
            "deployed to s3://b/site/: uploaded 3 (2.0 KiB), deleted 1, unchanged 7, \
             stale kept 2 (--no-delete) in 1.25s"
        );
    }
}

/// A release record as `releases` lists it: read, or unreadable (its id only).
#[derive(Debug, Clone)]
pub(crate) enum Listed {
    /// The record without its objects (`files` of them), let go once counted and compared
    /// with the bucket: a large site's records are not all held at once.
    Read {
        record: Box<crate::core::release::Release>,
        files: usize,
        /// Versions it names that the bucket no longer keeps: a rollback to it is refused.
        missing_versions: usize,
    },
    Unreadable {
        id: String,
    },
}

impl Listed {
    /// Keeps what `releases` shows of `record`, of whose versions `missing_versions` are gone.
    #[must_use]
    pub(crate) fn read(record: crate::core::release::Release, missing_versions: usize) -> Self {
        Listed::Read {
            files: record.objects.len(),
            missing_versions,
            record: Box::new(crate::core::release::Release {
                objects: std::collections::BTreeMap::new(),
                ..record
            }),
        }
    }
}

/// One line of `shipfront releases --json`.
#[derive(Debug, Serialize)]
pub(crate) struct ReleaseSummary<'a> {
    pub(crate) id: &'a str,
    pub(crate) time: &'a str,
    pub(crate) message: Option<&'a str>,
    pub(crate) files: usize,
    pub(crate) changed: usize,
    pub(crate) bytes: u64,
    pub(crate) live: bool,
    /// The record cannot be read (it is skipped by rollback's default choice).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) unreadable: bool,
    /// CloudFront paths whose invalidation failed and is still owed.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub(crate) pending_invalidation: &'a [String],
    /// Every version it names is still kept: a rollback to it can work.
    pub(crate) restorable: bool,
    /// How many of its versions the bucket no longer keeps (expired).
    #[serde(skip_serializing_if = "is_zero")]
    pub(crate) missing_versions: usize,
    /// The preview it was deployed as; absent for a release made live.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) preview: Option<&'a str>,
    /// What `deploy --verify` found; absent when it was not verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) verification: Option<&'a crate::core::verify::Verification>,
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl<'a> ReleaseSummary<'a> {
    #[must_use]
    pub(crate) fn of(listed: &'a Listed, live: bool) -> Self {
        match listed {
            Listed::Read {
                record: r,
                files,
                missing_versions,
            } => ReleaseSummary {
                id: &r.id,
                time: &r.time,
                message: r.message.as_deref(),
                files: *files,
                changed: r.changed,
                bytes: r.bytes,
                live,
                unreadable: false,
                pending_invalidation: &r.pending_invalidation,
                restorable: *missing_versions == 0,
                missing_versions: *missing_versions,
                preview: r.preview.as_deref(),
                verification: r.verification.as_ref(),
            },
            Listed::Unreadable { id } => ReleaseSummary {
                id,
                time: "",
                message: None,
                files: 0,
                changed: 0,
                bytes: 0,
                live: false,
                unreadable: true,
                pending_invalidation: &[],
                restorable: false,
                missing_versions: 0,
                preview: None,
                verification: None,
            },
        }
    }
}

/// What the table adds after a release's message: the preview it showed, its verification.
fn release_notes(r: &crate::core::release::Release) -> String {
    let mut out = String::new();
    if let Some(name) = &r.preview {
        out.push_str(&format!(" (preview `{name}`)"));
    }
    match &r.verification {
        Some(v) if v.passed() => out.push_str(&format!(" (verified {} URL(s))", v.checked)),
        Some(v) => out.push_str(&format!(
            " (verification failed: {} of {} URL(s) differed)",
            v.mismatches.len(),
            v.checked
        )),
        None => {}
    }
    out
}

/// `shipfront releases`: newest first, the live one (`live`, an index) marked with `*`. The
/// columns are as wide as their widest value, so the header stands over its rows.
#[must_use]
pub(crate) fn releases_table(newest_first: &[Listed], live: Option<usize>) -> String {
    let id_of = |listed: &Listed| match listed {
        Listed::Read { record, .. } => record.id.len(),
        Listed::Unreadable { id } => id.len(),
    };
    let time_of = |listed: &Listed| match listed {
        Listed::Read { record, .. } => record.time.len(),
        Listed::Unreadable { .. } => 0,
    };
    let id_w = newest_first.iter().map(id_of).max().unwrap_or(0).max(2);
    let time_w = newest_first.iter().map(time_of).max().unwrap_or(0).max(4);
    let mut s = format!(
        "  {:<id_w$}  {:<time_w$}  {:>5}  {:>7}  {:>9}  message",
        "id", "time", "files", "changed", "uploaded"
    );
    for (i, listed) in newest_first.iter().enumerate() {
        let mark = if live == Some(i) { "*" } else { " " };
        match listed {
            Listed::Read {
                record: r,
                files,
                missing_versions,
            } => s.push_str(&format!(
                "\n{mark} {:<id_w$}  {:<time_w$}  {:>5}  {:>7}  {:>9}  {}{}{}{}",
                r.id,
                r.time,
                files,
                r.changed,
                human_bytes(r.bytes),
                r.message
                    .as_deref()
                    .map(crate::core::plan::shown)
                    .unwrap_or_default(),
                if r.pending_invalidation.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (invalidation of {} path(s) pending)",
                        r.pending_invalidation.len()
                    )
                },
                if *missing_versions == 0 {
                    String::new()
                } else {
                    format!(" (not restorable: {missing_versions} version(s) gone)")
                },
                release_notes(r),
            )),
            Listed::Unreadable { id } => s.push_str(&format!(
                "\n{mark} {id:<id_w$}  (the record cannot be read: skipped)"
            )),
        }
    }
    s.push_str(match live {
        Some(_) => "\n(* live)",
        None => {
            "\n(no release matches the bucket's current objects: a deploy or rollback may \
                 have stopped halfway; the next one completes it)"
        }
    });
    s
}
