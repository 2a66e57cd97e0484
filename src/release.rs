//! The release record: what a deploy left in the bucket, key by key (version id, content hash,
//! headers). The plan reads the live one to recognise content it cannot tell from an ETag
//! (SSE-KMS, foreign part sizes) and headers that drifted; `rollback` puts recorded
//! versions back.

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

use crate::etag::hex;
use crate::inventory::RemoteListing;

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
    /// CloudFront paths this release (or one before it) changed whose invalidation failed: the
    /// next deploy or rollback sends them, even when it changes nothing else.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending_invalidation: Vec<String>,
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

/// A new release id: the UTC time to the millisecond (so ids sort in the order releases were
/// made), then six hex digits of a digest of `salt`. The id always sorts after `after` (the
/// live release's): when this host's clock is behind the one that wrote it, or both fall in
/// the same millisecond, the time is `after`'s plus a millisecond, so the newest release is
/// always the live one.
#[must_use]
pub fn new_id(now: SystemTime, after: Option<&str>, salt: &str) -> String {
    let floor = after
        .and_then(id_time)
        .map(|t| t + std::time::Duration::from_millis(1));
    let at = floor.filter(|f| *f > now).unwrap_or(now);
    let stamp: String = humantime::format_rfc3339_millis(at)
        .to_string()
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect();
    format!("{stamp}-{}", &hex(&Md5::digest(salt.as_bytes()))[..6])
}

/// The time a release id starts with (`20261128T095332.123Z-...`).
fn id_time(id: &str) -> Option<SystemTime> {
    let s = id.get(..20).filter(|s| s.is_ascii())?;
    let text = format!(
        "{}-{}-{}T{}:{}:{}",
        &s[0..4],
        &s[4..6],
        &s[6..8],
        &s[9..11],
        &s[11..13],
        &s[13..]
    );
    humantime::parse_rfc3339(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_after_the_live_one_whatever_the_clock_says() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_795_000_000_123);
        let live = new_id(t, None, "x");
        assert_eq!(id_time(&live), Some(t));
        let cases = [
            ("same millisecond", t),
            ("clock behind", t - std::time::Duration::from_secs(3600)),
        ];
        for (what, now) in cases {
            let next = new_id(now, Some(&live), "y");
            assert!(next > live, "{what}: {next} <= {live}");
            assert_eq!(
                id_time(&next),
                Some(t + std::time::Duration::from_millis(1)),
                "{what}"
            );
        }
        let later = t + std::time::Duration::from_secs(5);
        assert_eq!(
            id_time(&new_id(later, Some(&live), "y")),
            Some(later),
            "a clock ahead of the live release keeps its own time"
        );
        for garbage in ["", "v1", "20261128T0953", "ééééééééééééééééééééé"] {
            assert!(
                new_id(t, Some(garbage), "y").starts_with("2026"),
                "{garbage}"
            );
        }
    }
    use crate::store::RemoteObject;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn ids_sort_by_time() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        let a = new_id(t, None, "x");
        let b = new_id(t + Duration::from_secs(1), None, "a");
        assert!(a < b, "{a} < {b}");
        assert_eq!(&a[..20], "20261118T110640.000Z");
        assert_eq!(a.len(), 27);
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
                headers: None,
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
}
