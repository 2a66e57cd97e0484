//! What a GitHub Actions workflow is told, as text: the step outputs of a deploy or rollback,
//! the markdown section of the job summary, and annotation lines, escaped so that no key name or
//! message can break out of its cell, its line or its annotation. Pure: `run::github` writes it
//! where the runner reads it.

use std::fmt::Write as _;

use crate::core::plan::{Op, human_bytes};
use crate::core::report::{DeployOutput, InvalidationReport};

/// How many changed keys the job summary lists.
pub(crate) const SUMMARY_KEYS: usize = 50;

/// What a deploy or rollback did (or, in a dry run, would do), counted once for the outputs
/// and the summary.
#[derive(Debug, Clone, Copy)]
struct Counts {
    uploaded: usize,
    headers_updated: usize,
    restored: usize,
    deleted: usize,
    bytes: u64,
    changed: usize,
}

impl Counts {
    fn of(out: &DeployOutput<'_>) -> Counts {
        let plan = out.plan;
        match out.result {
            Some(r) => Counts {
                uploaded: r.uploaded,
                headers_updated: r.headers_updated,
                restored: r.restored,
                deleted: r.deleted,
                bytes: r.uploaded_bytes,
                changed: r.writes.len() + r.deleted,
            },
            None => {
                let count =
                    |pred: fn(&Op) -> bool| plan.actions.iter().filter(|a| pred(&a.op)).count();
                Counts {
                    uploaded: count(|op| matches!(op, Op::Upload { .. })),
                    headers_updated: count(|op| matches!(op, Op::UpdateHeaders { .. })),
                    restored: count(|op| matches!(op, Op::Restore { .. })),
                    deleted: plan.deletes(),
                    bytes: plan.upload_bytes(),
                    changed: plan.actions.len(),
                }
            }
        }
    }
}

/// The step outputs of a deploy or rollback, in a fixed order. A dry run reports what it would
/// do, with an empty `release-id` and `invalidation-id`.
#[must_use]
pub(crate) fn outputs(out: &DeployOutput<'_>) -> Vec<(&'static str, String)> {
    let c = Counts::of(out);
    vec![
        ("release-id", out.release.clone().unwrap_or_default()),
        ("uploaded", c.uploaded.to_string()),
        ("headers-updated", c.headers_updated.to_string()),
        ("restored", c.restored.to_string()),
        ("deleted", c.deleted.to_string()),
        ("unchanged", out.plan.unchanged.to_string()),
        ("bytes", c.bytes.to_string()),
        ("changed", c.changed.to_string()),
        (
            "invalidation-id",
            out.invalidation
                .as_ref()
                .and_then(|i| i.id.clone())
                .unwrap_or_default(),
        ),
        ("dry-run", out.dry_run.to_string()),
        (
            "preview-url",
            out.switch
                .and_then(|s| s.preview.as_ref())
                .map(|p| p.url.clone())
                .unwrap_or_default(),
        ),
    ]
}

/// `name=value` lines as `$GITHUB_OUTPUT` reads them. Values are ids and counts; a line break
/// in one could forge another output, so breaks are dropped.
#[must_use]
pub(crate) fn output_lines(outputs: &[(&str, String)]) -> String {
    outputs
        .iter()
        .map(|(name, value)| format!("{name}={}\n", value.replace(['\r', '\n'], "")))
        .collect()
}

/// The markdown section a deploy or rollback adds to the job summary.
#[must_use]
pub(crate) fn summary(command: &str, out: &DeployOutput<'_>) -> String {
    let plan = out.plan;
    let c = Counts::of(out);
    let mut s = String::new();
    let heading = if out.dry_run {
        format!("shipfront {command} (dry run, nothing written)")
    } else {
        format!("shipfront {command}")
    };
    let _ = writeln!(s, "### {heading}: `{}`\n", plan.target());
    let _ = writeln!(s, "| | |\n| --- | --- |");
    if let Some(id) = &out.release {
        let _ = writeln!(s, "| release | `{id}` |");
    }
    if let Some(preview) = out.switch.and_then(|s| s.preview.as_ref()) {
        let _ = writeln!(
            s,
            "| preview `{}` | [{}]({}) |",
            preview.name, preview.url, preview.url
        );
    }
    let verb = |done: &str, planned: &str| if out.dry_run { planned } else { done }.to_owned();
    let _ = writeln!(
        s,
        "| {} | {} ({}) |",
        verb("uploaded", "to upload"),
        c.uploaded,
        human_bytes(c.bytes)
    );
    for (n, done, planned) in [
        (c.headers_updated, "headers updated", "headers to update"),
        (c.restored, "restored", "to restore"),
    ] {
        if n > 0 {
            let _ = writeln!(s, "| {} | {n} |", verb(done, planned));
        }
    }
    let _ = writeln!(s, "| {} | {} |", verb("deleted", "to delete"), c.deleted);
    let _ = writeln!(s, "| unchanged | {} |", plan.unchanged);
    if !plan.kept_assets.is_empty() {
        let _ = writeln!(
            s,
            "| old assets kept (--keep-assets) | {} |",
            plan.kept_assets.len()
        );
    }
    if let Some(r) = out.result {
        let _ = writeln!(s, "| time | {:.2} s |", r.elapsed.as_secs_f64());
    }
    if let Some(inv) = &out.invalidation {
        invalidation_section(&mut s, inv);
    }
    changed_keys_section(&mut s, plan);
    s.push('\n');
    s
}

/// The summary's invalidation row and its paths.
fn invalidation_section(s: &mut String, inv: &InvalidationReport) {
    let id = inv
        .id
        .as_ref()
        .map_or_else(|| "planned".to_owned(), |id| format!("`{id}`"));
    let _ = writeln!(s, "| invalidation | {id}: {} |", inv.describe());
    let _ = writeln!(
        s,
        "\n<details><summary>Invalidated paths ({})</summary>\n",
        inv.paths.len()
    );
    for p in &inv.paths {
        let _ = writeln!(s, "- <code>{}</code>", escape_html(p));
    }
    let _ = writeln!(s, "\n</details>");
}

/// The summary's list of the plan's actions (the first `SUMMARY_KEYS`), or that none were needed.
fn changed_keys_section(s: &mut String, plan: &crate::core::plan::Plan) {
    if plan.actions.is_empty() {
        let _ = writeln!(s, "\nNothing to change: the bucket already matches.");
    } else {
        let shown = plan.actions.len().min(SUMMARY_KEYS);
        let _ = writeln!(
            s,
            "\n<details><summary>Changed keys: {}{}</summary>\n",
            plan.actions.len(),
            if shown < plan.actions.len() {
                format!(" (first {shown} shown)")
            } else {
                String::new()
            }
        );
        let _ = writeln!(s, "| action | reason | key |\n| --- | --- | --- |");
        for a in plan.actions.iter().take(SUMMARY_KEYS) {
            let action = a.op.name();
            let _ = writeln!(
                s,
                "| {action} | {} | <code>{}</code> |",
                a.reason,
                escape_html(&a.key)
            );
        }
        let _ = writeln!(s, "\n</details>");
    }
}

/// The job summary section of a failed command.
#[must_use]
pub(crate) fn failure_summary(command: &str, message: &str) -> String {
    format!(
        "### shipfront {command} failed\n\n<pre>{}</pre>\n\n",
        escape_html(message)
    )
}

/// A workflow command line, `::error title=...::message`, escaped so a message with line
/// breaks or `%` stays one annotation.
#[must_use]
pub(crate) fn annotation(level: &str, title: &str, message: &str) -> String {
    format!(
        "::{level} title={}::{}",
        escape_property(title),
        escape_data(message)
    )
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Text for a markdown table cell inside `<code>`: HTML-escaped, and the characters markdown
/// would still read (emphasis, code spans, links, the cell separator) as numeric references.
fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' | '*' | '_' | '`' | '[' | ']' | '~' | '\\' => {
                out.push_str(&format!("&#{};", u32::from(c)));
            }
            // A line break would end the HTML block and let the rest render as markdown.
            c if c.is_control() => out.push_str(&format!("&#{};", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_key_names_stay_inside_their_cell_and_line() {
        let key = "a\n\n::error::owned|*x*\r<b>";
        let html = escape_html(key);
        assert!(!html.contains(['\n', '\r', '|', '<', '*']), "{html}");
        let line = crate::core::plan::shown(key);
        assert!(!line.contains(['\n', '\r']), "{line}");
        assert_eq!(line, "a\\n\\n::error::owned|*x*\\r<b>");
        assert_eq!(escape_data("50%\ndone"), "50%25%0Adone");
    }
    use crate::core::exec_report::{ExecReport, WriteRecord};
    use crate::core::object_headers::Headers;
    use crate::core::plan::{Action, Phase, Plan, Reason};
    use crate::core::report::InvalidationReport;
    use std::time::Duration;

    fn action(key: &str, op: Op, reason: Reason) -> Action {
        Action {
            key: key.into(),
            op,
            reason,
            phase: Phase::Assets,
            size: 10,
        }
    }

    fn plan(actions: Vec<Action>) -> Plan {
        Plan {
            bucket: "b".into(),
            prefix: "site/".into(),
            actions,
            unchanged: 7,
            unchanged_bytes: 70,
            kept_stale: 0,
            kept_assets: std::collections::BTreeMap::new(),
            keep_assets: 1,
            notes: vec![],
            warnings: vec![],
            evidence: crate::core::fingerprint::Evidence::default(),
        }
    }

    fn headers() -> Headers {
        Headers {
            content_type: "text/css".into(),
            cache_control: "public".into(),
            reason: "rule `*.css`".into(),
        }
    }

    /// A deploy's document of `plan`, nothing done.
    fn document(dry_run: bool, plan: &Plan) -> DeployOutput<'_> {
        DeployOutput {
            schema: crate::core::report::JSON_SCHEMA,
            command: "deploy",
            to: None,
            dry_run,
            plan,
            result: None,
            invalidation: None,
            release: None,
            switch: None,
            verify: None,
        }
    }

    #[test]
    fn outputs_of_a_deploy_and_of_its_dry_run() {
        let p = plan(vec![
            action(
                "site/a|b*_`.css",
                Op::UpdateHeaders { headers: headers() },
                Reason::HeadersChanged,
            ),
            action("site/old.js", Op::Delete, Reason::Stale),
        ]);
        let result = ExecReport {
            uploaded: 2,
            uploaded_bytes: 4096,
            headers_updated: 1,
            deleted: 1,
            writes: ["x", "y", "z"]
                .iter()
                .map(|k| WriteRecord {
                    key: (*k).into(),
                    reason: Reason::New,
                    version_id: None,
                    etag: None,
                })
                .collect(),
            elapsed: Duration::from_millis(1500),
            ..ExecReport::default()
        };
        let inv = InvalidationReport {
            id: Some("I2J0".into()),
            paths: vec!["/site/a%7Cb.css".into()],
            urls: 1,
            collapsed: false,
            completed: true,
        };
        let done = DeployOutput {
            result: Some(&result),
            invalidation: Some(inv),
            release: Some("20261128T000000.000Z-abcdef".into()),
            ..document(false, &p)
        };
        assert_eq!(
            output_lines(&outputs(&done)),
            "release-id=20261128T000000.000Z-abcdef\nuploaded=2\nheaders-updated=1\nrestored=0\n\
             deleted=1\nunchanged=7\nbytes=4096\nchanged=4\ninvalidation-id=I2J0\ndry-run=false\n\
             preview-url=\n"
        );
        let text = summary("deploy", &done);
        for want in [
            "### shipfront deploy: `s3://b/site/`",
            "| release | `20261128T000000.000Z-abcdef` |",
            "| uploaded | 2 (4.0 KiB) |",
            "| headers updated | 1 |",
            "| deleted | 1 |",
            "| unchanged | 7 |",
            "| time | 1.50 s |",
            "| invalidation | `I2J0`: 1 path, completed |",
            "- <code>/site/a%7Cb.css</code>",
            "<summary>Changed keys: 2</summary>",
            "| headers | headers changed | <code>site/a&#124;b&#42;&#95;&#96;.css</code> |",
            "| delete | stale | <code>site/old.js</code> |",
        ] {
            assert!(text.contains(want), "{want:?} missing from:\n{text}");
        }
        assert!(!text.contains("restored"), "{text}");

        let dry = document(true, &p);
        let values: std::collections::BTreeMap<_, _> = outputs(&dry).into_iter().collect();
        assert_eq!(values["release-id"], "");
        assert_eq!(values["headers-updated"], "1");
        assert_eq!(values["deleted"], "1");
        assert_eq!(values["changed"], "2");
        assert_eq!(values["dry-run"], "true");
        let text = summary("deploy", &dry);
        assert!(text.contains("(dry run, nothing written)"), "{text}");
        assert!(text.contains("| to delete | 1 |"), "{text}");
    }

    #[test]
    fn the_summary_lists_at_most_fifty_keys() {
        let p = plan(
            (0..60)
                .map(|i| action(&format!("k{i:02}"), Op::Delete, Reason::Stale))
                .collect(),
        );
        let out = document(true, &p);
        let text = summary("deploy", &out);
        assert!(text.contains("Changed keys: 60 (first 50 shown)"), "{text}");
        assert!(text.contains("<code>k49</code>") && !text.contains("<code>k50</code>"));
        let nothing = plan(vec![]);
        let out = DeployOutput {
            plan: &nothing,
            ..out
        };
        assert!(summary("deploy", &out).contains("Nothing to change"));
    }

    #[test]
    fn annotations_and_outputs_stay_on_one_line() {
        let cases = [
            (
                "no bucket given: pass --bucket NAME\nor set it",
                "::error title=shipfront deploy::no bucket given: pass --bucket NAME%0Aor set it",
            ),
            (
                "100% done\r",
                "::error title=shipfront deploy::100%25 done%0D",
            ),
        ];
        for (message, want) in cases {
            assert_eq!(annotation("error", "shipfront deploy", message), want);
        }
        assert_eq!(
            annotation("warning", "a: b, c", "x"),
            "::warning title=a%3A b%2C c::x"
        );
        assert_eq!(
            output_lines(&[("release-id", "a\nforged=1".into())]),
            "release-id=aforged=1\n"
        );
    }
}
