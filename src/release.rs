//! The release record: what a deploy left in the bucket, key by key (version id, content hash,
//! headers). The plan reads the live one to recognise content it cannot tell from an ETag
//! (SSE-KMS, foreign part sizes) and headers that drifted; `rollback` puts recorded
//! versions back.

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

use crate::execute::ExecReport;
use crate::fingerprint::Evidence;
use crate::headers::HeaderPolicy;
use crate::scan::{LocalTree, hex};
use crate::store::RemoteListing;

/// A deploy's record, stored as `<state prefix>releases/<id>.json` (by default
/// `<prefix>.shipfront/releases/`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// Sortable: UTC time to the millisecond, then a short hash (`20261128T032033.120Z-3f2a1b`).
    pub id: String,
    /// RFC 3339 UTC.
    #[serde(default)]
    pub time: String,
    /// `--message`, else the commit (`GITHUB_SHA`) when known.
    #[serde(default)]
    pub message: Option<String>,
    /// The shipfront version that wrote it.
    #[serde(default)]
    pub shipfront: String,
    /// Objects written or deleted by this release.
    #[serde(default)]
    pub changed: usize,
    /// Bytes uploaded by this release.
    #[serde(default)]
    pub bytes: u64,
    /// Every site object after the release, by full key.
    pub objects: BTreeMap<String, ReleasedObject>,
    /// Stale files kept for open pages in their grace period: key -> releases since they left.
    #[serde(default)]
    pub kept: BTreeMap<String, u32>,
    /// Keys whose bytes changed under the same name although the name looked fingerprinted, in
    /// this or any earlier release: never cached as immutable again.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub rewritten: BTreeSet<String>,
}

/// One object as the release left it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleasedObject {
    pub version_id: Option<String>,
    pub size: u64,
    /// Hex MD5 of the whole content.
    pub content_md5: String,
    /// The ETag S3 reports, without quotes.
    pub etag: String,
    pub content_type: String,
    pub cache_control: String,
}

/// `<state prefix>releases/`.
#[must_use]
pub fn releases_prefix(state_prefix: &str) -> String {
    format!("{state_prefix}releases/")
}

/// The keys of the release records in a listing, oldest first: ids sort by time.
#[must_use]
pub fn record_keys(listing: &RemoteListing, state_prefix: &str) -> Vec<String> {
    let dir = releases_prefix(state_prefix);
    let mut keys: Vec<String> = listing
        .objects
        .iter()
        .map(|o| o.key.as_str())
        .filter(|k| k.starts_with(&dir) && k.ends_with(".json"))
        .map(str::to_owned)
        .collect();
    keys.sort();
    keys
}

/// The release record keys of a site, oldest first. The listing of the site's prefix already
/// holds them when the state prefix lies under it (the default); otherwise the releases folder
/// is listed on its own.
pub async fn list_record_keys<S: crate::store::ObjectStore>(
    store: &S,
    site_listing: &RemoteListing,
    site: &crate::config::Site,
) -> crate::error::Result<Vec<String>> {
    if site.state_prefix.starts_with(&site.prefix) {
        return Ok(record_keys(site_listing, &site.state_prefix));
    }
    let listing = store
        .list(&releases_prefix(&site.state_prefix))
        .await
        .map_err(|e| e.into_error("ListObjectsV2", &site.bucket, None))?;
    Ok(record_keys(&listing, &site.state_prefix))
}

/// A new release id: the UTC time to the millisecond (so ids sort in the order releases were
/// made), then six hex digits of a digest of `salt`.
#[must_use]
pub fn new_id(now: SystemTime, salt: &str) -> String {
    let stamp: String = humantime::format_rfc3339_millis(now)
        .to_string()
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect();
    format!("{stamp}-{}", &hex(&Md5::digest(salt.as_bytes()))[..6])
}

/// The id of the release a deploy's writes make: its time, salted with the previous release
/// and what it wrote (versions included), so two releases in the same millisecond differ.
#[must_use]
pub fn id_for(now: SystemTime, previous: Option<&Release>, report: &ExecReport) -> String {
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
    new_id(now, &salt)
}

/// The message of a release: `--message`, else the commit GitHub Actions is building.
#[must_use]
pub fn default_message(flag: Option<String>) -> Option<String> {
    if flag.is_some() {
        return flag;
    }
    let sha = std::env::var("GITHUB_SHA")
        .ok()
        .filter(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_hexdigit()))?;
    Some(match commit_subject(&sha) {
        Some(subject) => format!("commit {sha}: {subject}"),
        None => format!("commit {sha}"),
    })
}

/// The first line of a commit's message: from the checkout (`git log`), else from the event
/// that started the workflow (`GITHUB_EVENT_PATH`, a push's `head_commit`).
fn commit_subject(sha: &str) -> Option<String> {
    let from_git = std::process::Command::new("git")
        .args(["log", "-1", "--format=%s", sha, "--"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    from_git.or_else(|| {
        let event = std::fs::read(std::env::var_os("GITHUB_EVENT_PATH")?).ok()?;
        subject_from_event(&event, sha)
    })
}

/// The subject of `head_commit` in a GitHub event payload, when it is the commit `sha`.
fn subject_from_event(event: &[u8], sha: &str) -> Option<String> {
    let event: serde_json::Value = serde_json::from_slice(event).ok()?;
    let head = event.get("head_commit")?;
    if head.get("id")?.as_str()? != sha {
        return None;
    }
    let subject = head.get("message")?.as_str()?.lines().next()?.trim();
    (!subject.is_empty()).then(|| subject.to_owned())
}

/// Everything `record` needs about the deploy that just ran.
pub struct Outcome<'a> {
    pub tree: &'a LocalTree,
    pub listing: &'a RemoteListing,
    pub report: &'a ExecReport,
    pub previous: Option<&'a Release>,
    pub headers: &'a HeaderPolicy,
    /// What the build says about its files, as the plan saw it.
    pub evidence: &'a Evidence,
    /// Current version ids from `ListObjectVersions`, for keys neither written now nor
    /// recorded by `previous`.
    pub versions: &'a BTreeMap<String, String>,
    /// Assets the plan kept for their grace period.
    pub kept: &'a BTreeMap<String, u32>,
}

/// The record of the bucket after a deploy. Pure: written keys take the version and ETag S3
/// returned; unchanged keys keep what the previous record says when the object is still the one
/// it recorded (same ETag), else the listing's ETag and current version. Headers of unchanged
/// objects come from the previous record; without one they are taken to be what the rules say
/// (the listing does not return headers, and a HEAD per object is what this tool avoids).
#[must_use]
pub fn record(id: String, time: String, message: Option<String>, o: &Outcome<'_>) -> Release {
    let written: BTreeMap<&str, _> = o
        .report
        .writes
        .iter()
        .map(|w| (w.key.as_str(), w))
        .collect();
    let listed: BTreeMap<&str, &str> = o
        .listing
        .objects
        .iter()
        .map(|r| (r.key.as_str(), r.etag.as_str()))
        .collect();
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
                content_type: wanted.content_type,
                cache_control: wanted.cache_control,
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
                        content_type: wanted.content_type,
                        cache_control: wanted.cache_control,
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::execute::WriteRecord;
    use crate::plan::Reason;
    use crate::scan::LocalFile;
    use crate::store::RemoteObject;
    use std::time::{Duration, UNIX_EPOCH};

    fn file(key: &str, body: &str) -> LocalFile {
        LocalFile {
            rel: key.into(),
            key: key.into(),
            path: key.into(),
            size: body.len() as u64,
            md5: Md5::digest(body.as_bytes()).into(),
            multipart: None,
        }
    }

    #[test]
    fn ids_sort_by_time() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        let a = new_id(t, "x");
        let b = new_id(t + Duration::from_secs(1), "a");
        assert!(a < b, "{a} < {b}");
        assert_eq!(&a[..20], "20261118T110640.000Z");
        assert_eq!(a.len(), 27);
    }

    #[test]
    fn commit_subject_from_a_push_event() {
        let event =
            br#"{"head_commit": {"id": "abc123", "message": "Fix the footer\n\nLonger text"}}"#;
        let cases: [(&[u8], &str, Option<&str>); 4] = [
            (event, "abc123", Some("Fix the footer")),
            (event, "def456", None),
            (br#"{"pull_request": {}}"#, "abc123", None),
            (b"not json", "abc123", None),
        ];
        for (event, sha, want) in cases {
            assert_eq!(subject_from_event(event, sha).as_deref(), want, "{sha}");
        }
    }

    #[test]
    fn record_keys_ignore_other_state_and_site_keys() {
        let listing = RemoteListing {
            objects: [
                "site/.shipfront/lock",
                "site/.shipfront/releases/20260101T000000.000Z-aaaaaa.json",
                "site/.shipfront/releases/20261128T000000.001Z-bbbbbb.json",
                "site/zzz.html",
            ]
            .iter()
            .map(|k| RemoteObject {
                key: (*k).into(),
                etag: String::new(),
                size: 0,
            })
            .collect(),
            pages: 1,
        };
        assert_eq!(
            record_keys(&listing, "site/.shipfront/"),
            [
                "site/.shipfront/releases/20260101T000000.000Z-aaaaaa.json",
                "site/.shipfront/releases/20261128T000000.001Z-bbbbbb.json"
            ]
        );
        assert!(record_keys(&listing, ".shipfront/").is_empty());
    }

    #[test]
    fn record_takes_versions_from_writes_previous_record_or_listing() {
        let tree = LocalTree {
            files: vec![file("a.css", "a"), file("b.js", "b"), file("c.txt", "c")],
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
                })
                .collect(),
            pages: 1,
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
        let r = record(
            "id".into(),
            "t".into(),
            None,
            &Outcome {
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
}
