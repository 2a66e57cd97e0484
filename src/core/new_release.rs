//! Builds the release record a deploy or a rollback writes, from what it planned and wrote: pure,
//! so every rule about which version and headers a key is recorded with is tested with tables.
//! `release.rs` holds the record's shape, its key and its id; this module fills it.

use std::collections::BTreeMap;
use std::time::SystemTime;

use crate::core::etag::hex;
use crate::core::exec_report::ExecReport;
use crate::core::fingerprint::Evidence;
use crate::core::object_headers::HeaderPolicy;
use crate::core::objects::{LocalTree, RemoteListing};
use crate::core::release::{Release, ReleasedObject, new_id};

/// The id of the release a deploy's writes make: its time, salted with the previous release
/// and what it wrote (versions included), so two releases in the same millisecond differ.
#[must_use]
pub(crate) fn id_for(now: SystemTime, previous: Option<&Release>, report: &ExecReport) -> String {
    let salt = previous
        .map(|p| p.id.clone())
        .into_iter()
        .chain(report.writes.iter().map(|w| {
            format!(
                "{} {} {}",
                w.key,
                w.etag.as_deref().unwrap_or_default(),
                w.version_id.as_deref().unwrap_or_default()
            )
        }))
        .chain(report.deleted_keys.iter().cloned())
        .collect::<Vec<_>>()
        .join("\n");
    new_id(now, previous.map(|p| p.id.as_str()), &salt)
}

/// The id of the release a rollback to `target` makes: its time, after the newest recorded
/// release (`newest`), salted with both.
#[must_use]
pub(crate) fn rollback_id(now: SystemTime, target: &str, newest: &str) -> String {
    let salt = format!("rollback {target} from {newest}");
    new_id(now, Some(newest), &salt)
}

/// Everything `of_deploy` needs about the deploy that just ran.
pub(crate) struct Deployed<'a> {
    pub(crate) tree: &'a LocalTree,
    pub(crate) listing: &'a RemoteListing,
    pub(crate) report: &'a ExecReport,
    pub(crate) previous: Option<&'a Release>,
    pub(crate) headers: &'a HeaderPolicy,
    /// What the build says about its files, as the plan saw it.
    pub(crate) evidence: &'a Evidence,
    /// Current version ids from `ListObjectVersions`, for keys neither written now nor
    /// recorded by `previous`.
    pub(crate) versions: &'a BTreeMap<String, String>,
    /// Assets the plan kept for their grace period.
    pub(crate) kept: &'a BTreeMap<String, u32>,
}

/// The record of the bucket after a deploy. Pure: written keys take the version and ETag S3
/// returned; unchanged keys keep what the previous record says when the object is still the one
/// it recorded (same ETag), else the listing's ETag and current version. Headers of unchanged
/// objects come from the previous record; without one they are taken to be what the rules say
/// (the listing does not return headers, and a HEAD per object is what this tool avoids).
#[must_use]
pub(crate) fn of_deploy(
    id: String,
    time: String,
    message: Option<String>,
    o: &Deployed<'_>,
) -> Release {
    let written: BTreeMap<&str, _> = o
        .report
        .writes
        .iter()
        .map(|w| (w.key.as_str(), w))
        .collect();
    let listed = o.listing.etags();
    let mut objects = BTreeMap::new();
    for file in &o.tree.files {
        let wanted = o.headers.headers_for(&file.rel, o.evidence);
        let before = o.previous.and_then(|p| p.objects.get(&file.key));
        let entry = match written.get(file.key.as_str()) {
            Some(w) => ReleasedObject {
                version_id: w.version_id.clone(),
                size: file.size,
                content_md5: hex(&file.md5),
                etag: w.etag.clone().unwrap_or_else(|| file.expected_etag()),
                content_type: wanted.content_type.into(),
                cache_control: wanted.cache_control.into(),
            },
            None => {
                let etag = listed
                    .get(file.key.as_str())
                    .map_or_else(|| file.expected_etag(), |e| (*e).to_owned());
                match before.filter(|b| b.etag == etag) {
                    Some(b) => b.clone(),
                    None => ReleasedObject {
                        version_id: o.versions.get(&file.key).cloned(),
                        size: file.size,
                        content_md5: hex(&file.md5),
                        etag,
                        content_type: wanted.content_type.into(),
                        cache_control: wanted.cache_control.into(),
                    },
                }
            }
        };
        objects.insert(file.key.clone(), entry);
    }
    let rewritten = o
        .previous
        .iter()
        .flat_map(|p| p.rewritten.iter().cloned())
        .chain(
            o.tree
                .files
                .iter()
                .filter(|f| o.evidence.rewritten().contains(&f.rel))
                .map(|f| f.key.clone()),
        )
        .collect();
    Release {
        id,
        time,
        message,
        shipfront: env!("CARGO_PKG_VERSION").to_owned(),
        changed: o.report.writes.len() + o.report.deleted,
        bytes: o.report.uploaded_bytes,
        objects,
        kept: o.kept.clone(),
        rewritten,
        pending_invalidation: Vec::new(),
        routing: o.previous.and_then(|p| p.routing.clone()),
        routing_inputs: o.previous.and_then(|p| p.routing_inputs.clone()),
        // An in-place deploy makes an in-place release.
        atomic: None,
        headers: o.previous.and_then(|p| p.headers.clone()),
        preview: None,
        verification: None,
    }
}

/// The record of the bucket after rolling back to `target`: the target's objects, with the new
/// versions the copies created. Names known to have changed bytes stay known (`live`'s too).
#[must_use]
pub(crate) fn of_rollback(
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
        // A target that recorded code without its inputs (an older version) does not get it
        // published either: the live function stays, and so does its record.
        routing: match &target.routing_inputs {
            Some(_) => target.routing.clone(),
            None => live.and_then(|l| l.routing.clone()),
        },
        routing_inputs: match &target.routing_inputs {
            Some(_) => target.routing_inputs.clone(),
            None => live.and_then(|l| l.routing_inputs.clone()),
        },
        atomic: target.atomic.clone(),
        headers: target
            .headers
            .clone()
            .or_else(|| live.and_then(|l| l.headers.clone())),
        preview: None,
        verification: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::exec_report::WriteRecord;
    use crate::core::objects::RemoteObject;
    use crate::core::plan::Reason;
    use crate::run::fixtures::local_file as file;
    use md5::{Digest, Md5};

    #[test]
    fn record_takes_versions_from_writes_previous_record_or_listing() {
        let tree = LocalTree {
            files: [file("a.css", "a"), file("b.js", "b"), file("c.txt", "c")]
                .into_iter()
                .map(std::sync::Arc::new)
                .collect(),
            warnings: vec![],
            notes: vec![],
        };
        let etag = |body: &str| hex(&Md5::digest(body.as_bytes()));
        let listing = RemoteListing {
            objects: ["b.js", "c.txt"]
                .iter()
                .map(|k| RemoteObject {
                    key: (*k).into(),
                    etag: etag(&k[..1]),
                    size: 1,
                    headers: None,
                })
                .collect(),
            pages: 1,
            chain: 1,
        };
        let report = ExecReport {
            writes: vec![WriteRecord {
                key: "a.css".into(),
                reason: Reason::New,
                version_id: Some("va2".into()),
                etag: Some(etag("a")),
            }],
            uploaded_bytes: 1,
            ..ExecReport::default()
        };
        let mut previous = Release::default();
        previous.objects.insert(
            "b.js".into(),
            ReleasedObject {
                version_id: Some("vb1".into()),
                size: 1,
                content_md5: etag("b"),
                etag: etag("b"),
                content_type: "text/javascript; charset=utf-8".into(),
                cache_control: "no-cache".into(),
            },
        );
        let versions: BTreeMap<String, String> = [("c.txt".to_owned(), "vc9".to_owned())].into();
        let policy = HeaderPolicy::default();
        let r = of_deploy(
            "id".into(),
            "t".into(),
            None,
            &Deployed {
                tree: &tree,
                listing: &listing,
                report: &report,
                previous: Some(&previous),
                headers: &policy,
                evidence: &Evidence::default(),
                versions: &versions,
                kept: &BTreeMap::new(),
            },
        );
        let v = |k: &str| r.objects[k].version_id.as_deref();
        assert_eq!(
            (v("a.css"), v("b.js"), v("c.txt")),
            (Some("va2"), Some("vb1"), Some("vc9"))
        );
        // The previous record's headers stand for an object it recorded.
        assert_eq!(r.objects["b.js"].cache_control, "no-cache");
        assert_eq!(r.objects["c.txt"].content_type, "text/plain; charset=utf-8");
        assert_eq!((r.changed, r.bytes), (1, 1));
    }

    /// The record of a rollback.
    mod rollback_record {
        use super::super::*;
        use crate::core::exec_report::ExecReport;
        use crate::core::plan::Reason;
        use crate::run::fixtures::{release, released as obj};

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
            let rec = of_rollback(&target, None, &current, &report, "r".into(), String::new());
            let version = |k: &str| rec.objects[k].version_id.clone().unwrap();
            assert_eq!(version("same.css"), "v3-same");
            assert_eq!(version("app.js"), "v4-app");
        }
    }
}
