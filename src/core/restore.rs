//! What a rollback restores, decided purely: the plan that makes the bucket equal to an earlier
//! release (copying its recorded versions back, deleting what it did not have) and the record of
//! the bucket afterwards.

use std::collections::BTreeMap;

use crate::core::exec_report::ExecReport;
use crate::core::objects::{RemoteListing, RemoteObject};
use crate::core::plan::{Action, Op, Phase, Plan, Reason, is_state, write_phase};
use crate::core::release::Release;

/// The plan that makes the site (`bucket`, `prefix`, `state_prefix`) equal to `target`.
///
/// A key is unchanged when the bucket holds the recorded ETag and the live release records the
/// same headers; otherwise its recorded version is copied back (headers included). Site keys the
/// target did not have are deleted. Errors with the keys whose version was not recorded
/// (deployed while versioning was off).
pub fn plan(
    target: &Release,
    live: Option<&Release>,
    listing: &RemoteListing,
    (bucket, prefix, state_prefix): (&str, &str, &str),
) -> Result<Plan, Vec<String>> {
    let now: BTreeMap<&str, &RemoteObject> = listing
        .objects
        .iter()
        .filter(|o| o.key.starts_with(prefix) && !is_state(&o.key, prefix, state_prefix))
        .map(|o| (o.key.as_str(), o))
        .collect();
    let mut actions = Vec::new();
    let mut unchanged = 0;
    let mut unchanged_bytes = 0;
    let mut unversioned = Vec::new();
    for (key, rec) in &target.objects {
        let same_headers = live.and_then(|l| l.objects.get(key)).is_none_or(|l| {
            l.content_type == rec.content_type && l.cache_control == rec.cache_control
        });
        let reason = match now.get(key.as_str()) {
            Some(o) if o.etag == rec.etag && same_headers => {
                unchanged += 1;
                unchanged_bytes += rec.size;
                continue;
            }
            Some(o) if o.etag == rec.etag => Reason::HeadersChanged,
            Some(_) => Reason::ContentChanged,
            None => Reason::New,
        };
        let Some(version_id) = rec.version_id.clone() else {
            unversioned.push(key.clone());
            continue;
        };
        actions.push(Action {
            key: key.clone(),
            op: Op::Restore { version_id },
            reason,
            phase: write_phase(key, prefix),
            size: rec.size,
        });
    }
    if !unversioned.is_empty() {
        return Err(unversioned);
    }
    for (key, o) in &now {
        if !target.objects.contains_key(*key) {
            actions.push(Action {
                key: (*key).to_owned(),
                op: Op::Delete,
                reason: Reason::Stale,
                phase: Phase::Deletes,
                size: o.size,
            });
        }
    }
    actions.sort_by(|a, b| (a.phase, &a.key).cmp(&(b.phase, &b.key)));
    Ok(Plan {
        bucket: bucket.to_owned(),
        prefix: prefix.to_owned(),
        actions,
        unchanged,
        unchanged_bytes,
        kept_stale: 0,
        kept_assets: BTreeMap::new(),
        keep_assets: 0,
        notes: Vec::new(),
        warnings: Vec::new(),
        evidence: crate::core::fingerprint::Evidence::default(),
    })
}

/// The record of the bucket after rolling back to `target`: the target's objects, with the new
/// versions the copies created. Names known to have changed bytes stay known (`live`'s too).
#[must_use]
pub fn record(
    target: &Release,
    live: Option<&Release>,
    current: &BTreeMap<String, String>,
    report: &ExecReport,
    id: String,
    time: String,
) -> Release {
    let mut objects = target.objects.clone();
    // Keys left as they were keep the version the bucket holds now (the same bytes, maybe
    // written again since the target), so the record matches the bucket.
    for (key, o) in &mut objects {
        if let (Some(_), Some(now)) = (&o.version_id, current.get(key)) {
            o.version_id = Some(now.clone());
        }
    }
    for w in &report.writes {
        if let Some(o) = objects.get_mut(&w.key) {
            o.version_id.clone_from(&w.version_id);
            if let Some(etag) = &w.etag {
                o.etag.clone_from(etag);
            }
        }
    }
    Release {
        id,
        time,
        message: Some(format!("rollback to {}", target.id)),
        shipfront: env!("CARGO_PKG_VERSION").to_owned(),
        changed: report.writes.len() + report.deleted,
        bytes: 0,
        objects,
        kept: BTreeMap::new(),
        rewritten: live.map_or_else(
            || target.rewritten.clone(),
            |live| target.rewritten.union(&live.rewritten).cloned().collect(),
        ),
        pending_invalidation: Vec::new(),
        // What the target recorded none of stays live, so this record keeps the live one's.
        routing: target
            .routing
            .clone()
            .or_else(|| live.and_then(|l| l.routing.clone())),
        headers: target
            .headers
            .clone()
            .or_else(|| live.and_then(|l| l.headers.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::release::ReleasedObject;

    const SITE: (&str, &str, &str) = ("b", "", crate::core::plan::STATE_DIR);

    fn obj(etag: &str, version: Option<&str>, cache: &str) -> ReleasedObject {
        ReleasedObject {
            version_id: version.map(str::to_owned),
            size: 1,
            content_md5: etag.into(),
            etag: etag.into(),
            content_type: "text/html; charset=utf-8".into(),
            cache_control: cache.into(),
        }
    }

    fn release(id: &str, objects: &[(&str, ReleasedObject)]) -> Release {
        Release {
            id: id.into(),
            objects: objects
                .iter()
                .map(|(k, o)| ((*k).to_owned(), o.clone()))
                .collect(),
            ..Release::default()
        }
    }

    fn listing(objects: &[(&str, &str)]) -> RemoteListing {
        RemoteListing {
            objects: objects
                .iter()
                .map(|(k, e)| RemoteObject {
                    key: (*k).into(),
                    etag: (*e).into(),
                    size: 1,
                    headers: None,
                })
                .collect(),
            pages: 1,
            chain: 1,
        }
    }

    #[test]
    fn restores_changed_and_missing_keys_deletes_new_ones_in_phases() {
        let target = release(
            "v2",
            &[
                ("index.html", obj("i2", Some("vi2"), "c")),
                ("app.js", obj("a2", Some("va2"), "c")),
                ("gone.html", obj("g2", Some("vg2"), "c")),
                ("same.css", obj("s", Some("vs"), "c")),
            ],
        );
        let live = release(
            "v3",
            &[
                ("index.html", obj("i3", Some("vi3"), "c")),
                ("app.js", obj("a3", Some("va3"), "c")),
                ("new.html", obj("n3", Some("vn3"), "c")),
                ("same.css", obj("s", Some("vs"), "c")),
            ],
        );
        let now = listing(&[
            (".shipfront/releases/v3.json", "x"),
            ("app.js", "a3"),
            ("index.html", "i3"),
            ("new.html", "n3"),
            ("same.css", "s"),
        ]);
        let plan = plan(&target, Some(&live), &now, SITE).unwrap();
        let got: Vec<(&str, &Op, Reason, Phase)> = plan
            .actions
            .iter()
            .map(|a| (a.key.as_str(), &a.op, a.reason, a.phase))
            .collect();
        let restore = |v: &str| Op::Restore {
            version_id: v.into(),
        };
        assert_eq!(
            got,
            [
                (
                    "app.js",
                    &restore("va2"),
                    Reason::ContentChanged,
                    Phase::Assets
                ),
                ("gone.html", &restore("vg2"), Reason::New, Phase::Pages),
                (
                    "index.html",
                    &restore("vi2"),
                    Reason::ContentChanged,
                    Phase::RootPage
                ),
                ("new.html", &Op::Delete, Reason::Stale, Phase::Deletes),
            ]
        );
        assert_eq!(plan.unchanged, 1);
    }

    #[test]
    fn same_bytes_other_headers_are_restored_too() {
        let target = release("v1", &[("a.css", obj("s", Some("v1"), "max-age=60"))]);
        let live = release("v2", &[("a.css", obj("s", Some("v2"), "max-age=3600"))]);
        let plan = plan(&target, Some(&live), &listing(&[("a.css", "s")]), SITE).unwrap();
        assert_eq!(plan.actions[0].reason, Reason::HeadersChanged);
    }

    #[test]
    fn unversioned_records_are_refused_with_their_keys() {
        let target = release("v1", &[("a.css", obj("s", None, "c"))]);
        let err = plan(&target, None, &listing(&[]), SITE).unwrap_err();
        assert_eq!(err, ["a.css"]);
    }

    #[test]
    fn the_record_names_the_versions_the_bucket_holds_after_the_rollback() {
        let target = release(
            "v1",
            &[
                ("same.css", obj("s", Some("v1-same"), "c")),
                ("app.js", obj("a", Some("v1-app"), "c")),
            ],
        );
        // same.css was uploaded again since v1 with the same bytes: a newer version.
        let current: BTreeMap<String, String> = [
            ("same.css".to_owned(), "v3-same".to_owned()),
            ("app.js".to_owned(), "v3-app".to_owned()),
        ]
        .into();
        let report = ExecReport {
            writes: vec![crate::core::exec_report::WriteRecord {
                key: "app.js".into(),
                reason: Reason::ContentChanged,
                version_id: Some("v4-app".into()),
                etag: Some("a".into()),
            }],
            ..ExecReport::default()
        };
        let rec = record(&target, None, &current, &report, "r".into(), String::new());
        let version = |k: &str| rec.objects[k].version_id.clone().unwrap();
        assert_eq!(version("same.css"), "v3-same");
        assert_eq!(version("app.js"), "v4-app");
    }
}
