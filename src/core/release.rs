//! The release record: what a deploy left in the bucket, key by key (version id, content hash,
//! headers). The plan reads the live one to recognise content it cannot tell from an ETag
//! (SSE-KMS, foreign part sizes) and headers that drifted; `rollback` puts recorded
//! versions back.

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

use crate::core::etag::hex;
use crate::core::objects::RemoteListing;

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
    /// The edge-routing function's code live after this release (`--routing`). A rollback
    /// never publishes it as read: it generates the function again from `routing_inputs`, and
    /// refuses a record whose code differs from what the same version generates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing: Option<String>,
    /// What the routing function was generated from (absent in records of older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_inputs: Option<crate::core::routing::RoutingInputs>,
    /// An atomic release (`atomic = true`): the pointer and exception keys that make it live.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub atomic: Option<AtomicRecord>,
    /// The preview this release was deployed as (`deploy --preview NAME`): `live` did not
    /// point at it then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<String>,
    /// What visitors got right after the release went live (`deploy --verify`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
    /// The response headers (`[headers]` as written) live after this release, which a rollback
    /// to it writes again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
}

/// What makes an atomic release live: the KeyValueStore pointer's value (`core::atomic`) and
/// the exception keys it needs there. A rollback writes the pointer back; the keys stay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AtomicRecord {
    pub pointer: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exception_keys: Vec<String>,
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
    pub content_type: HeaderValue,
    pub cache_control: HeaderValue,
}

/// A header value of a recorded object. A site has few distinct ones and a record holds one
/// per object, so each distinct value is kept once, shared by every object that has it (a
/// record of 100,000 objects would otherwise hold 200,000 copies of a handful of strings).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HeaderValue(std::sync::Arc<str>);

impl HeaderValue {
    /// The value, shared with every other `HeaderValue` equal to it.
    #[must_use]
    pub fn new(value: &str) -> Self {
        static SEEN: std::sync::LazyLock<
            std::sync::Mutex<std::collections::HashSet<std::sync::Arc<str>>>,
        > = std::sync::LazyLock::new(Default::default);
        // A poisoned set still holds valid values.
        let mut seen = SEEN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(shared) = seen.get(value) {
            return HeaderValue(std::sync::Arc::clone(shared));
        }
        let shared: std::sync::Arc<str> = value.into();
        seen.insert(std::sync::Arc::clone(&shared));
        HeaderValue(shared)
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for HeaderValue {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<&str> for HeaderValue {
    fn from(value: &str) -> Self {
        HeaderValue::new(value)
    }
}

impl From<String> for HeaderValue {
    fn from(value: String) -> Self {
        HeaderValue::new(&value)
    }
}

impl PartialEq<str> for HeaderValue {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&str> for HeaderValue {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<String> for HeaderValue {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl std::fmt::Display for HeaderValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for HeaderValue {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for HeaderValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Ok(HeaderValue::new(&value))
    }
}

/// `<state prefix>releases/`.
#[must_use]
pub fn releases_prefix(state_prefix: &str) -> String {
    format!("{state_prefix}releases/")
}

/// `<state prefix>releases/<id>.json`: where the record of release `id` is kept, the one place
/// a record's key is spelled.
#[must_use]
pub fn record_key(state_prefix: &str, id: &str) -> String {
    format!("{}{id}.json", releases_prefix(state_prefix))
}

/// The release id a record's key names (`record_key` read backwards); None for any other key.
#[must_use]
pub fn record_id<'k>(state_prefix: &str, key: &'k str) -> Option<&'k str> {
    key.strip_prefix(state_prefix)?
        .strip_prefix("releases/")?
        .strip_suffix(".json")
        .filter(|id| !id.is_empty() && !id.contains('/'))
}

/// The keys of the release records in a listing, oldest first: ids sort by time.
#[must_use]
pub fn record_keys(listing: &RemoteListing, state_prefix: &str) -> Vec<String> {
    let mut keys: Vec<String> = listing
        .objects
        .iter()
        .map(|o| o.key.as_str())
        .filter(|k| record_id(state_prefix, k).is_some())
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

/// Which of the records (newest first; None: unreadable) is live: the newest whose every
/// recorded version is the bucket's current one (`current`: key -> current version id). The
/// bucket decides, not the clocks that named the records. Without versions to compare (an
/// unversioned bucket, records without version ids), the newest readable record.
#[must_use]
pub fn live_index(
    newest_first: &[Option<&Release>],
    current: &BTreeMap<String, String>,
) -> Option<usize> {
    let compared: Vec<Option<Compared>> = newest_first
        .iter()
        .map(|r| r.map(|r| Compared::with(r, current)))
        .collect();
    live_of(&compared, !current.is_empty())
}

/// A record compared with the bucket: all `live_of` needs of it, so a record can be let go
/// once compared (`shipfront releases` reads them one by one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compared {
    /// It recorded version ids.
    pub versioned: bool,
    /// The bucket holds exactly the versions it recorded (`matches_bucket`).
    pub matches: bool,
}

impl Compared {
    #[must_use]
    pub fn with(record: &Release, current: &BTreeMap<String, String>) -> Self {
        Compared {
            versioned: record.objects.values().any(|o| o.version_id.is_some()),
            matches: matches_bucket(record, current),
        }
    }
}

/// How many of the versions `record` names the bucket no longer keeps (`kept`: every key's
/// versions): expired by a lifecycle rule, or deleted. A rollback to a record missing any is
/// refused.
#[must_use]
pub fn missing_versions(
    record: &Release,
    kept: &BTreeMap<String, crate::core::objects::Versions>,
) -> usize {
    record
        .objects
        .iter()
        .filter(|(key, o)| {
            o.version_id
                .as_ref()
                .is_some_and(|v| !kept.get(*key).is_some_and(|k| k.all.contains(v)))
        })
        .count()
}

/// `live_index` over records already compared (None: unreadable); `versioned_bucket`: the
/// bucket has current versions to compare with.
#[must_use]
pub fn live_of(newest_first: &[Option<Compared>], versioned_bucket: bool) -> Option<usize> {
    let newest_readable = newest_first.iter().position(Option::is_some);
    if !versioned_bucket {
        return newest_readable;
    }
    newest_first
        .iter()
        .position(|c| c.is_some_and(|c| c.matches))
        .or_else(|| {
            // No record carries versions: nothing to compare, so the newest one.
            newest_first
                .iter()
                .flatten()
                .all(|c| !c.versioned)
                .then_some(newest_readable)
                .flatten()
        })
}

/// Whether the bucket holds exactly the versions `record` recorded (`current`: key -> current
/// version id); false when it recorded none to compare.
#[must_use]
pub fn matches_bucket(record: &Release, current: &BTreeMap<String, String>) -> bool {
    record.objects.values().any(|o| o.version_id.is_some())
        && record.objects.iter().all(|(key, o)| {
            o.version_id
                .as_ref()
                .is_none_or(|v| current.get(key) == Some(v))
        })
}

/// How many whole days before `now` each release of `ids` was made (by the time its id starts
/// with), newest first; ids that carry no time are left out.
#[must_use]
pub fn ages_in_days(ids: &[&str], now: SystemTime) -> Vec<u64> {
    let mut ages: Vec<u64> = ids
        .iter()
        .filter_map(|id| id_time(id))
        .map(|t| now.duration_since(t).unwrap_or_default().as_secs() / 86_400)
        .collect();
    ages.sort_unstable();
    ages
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

/// One URL that did not answer as the release wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mismatch {
    pub path: String,
    /// What differed, e.g. `Content-Type text/plain, not text/html; charset=utf-8`.
    pub differences: Vec<String>,
}

/// A verification's outcome, as the release record and `--json` keep it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// The address the URLs were asked at.
    pub base: String,
    /// URLs asked for.
    pub checked: usize,
    /// Rounds of asking (the first, then the retries while the change propagated).
    pub attempts: usize,
    /// Those that still differed at the last round; empty when it passed.
    pub mismatches: Vec<Mismatch>,
    /// What was done about a failure: `switched back to release ID`, or the command to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
}

impl Verification {
    #[must_use]
    pub fn passed(&self) -> bool {
        self.mismatches.is_empty()
    }
}

impl std::fmt::Display for Verification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.passed() {
            return write!(
                f,
                "verified {} URL(s) at {}: each answers as the release wrote it ({} round{})",
                self.checked,
                self.base,
                self.attempts,
                if self.attempts == 1 { "" } else { "s" }
            );
        }
        write!(
            f,
            "verification failed at {}: {} of {} URL(s) differ from what the release wrote \
             (after {} round{})",
            self.base,
            self.mismatches.len(),
            self.checked,
            self.attempts,
            if self.attempts == 1 { "" } else { "s" }
        )?;
        for m in &self.mismatches {
            write!(f, "\n  {}: {}", m.path, m.differences.join("; "))?;
        }
        if let Some(action) = &self.action {
            write!(f, "\n{action}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Versions a record names that the bucket no longer keeps are counted; unversioned
    /// objects (no version id) are not versions gone.
    #[test]
    fn versions_the_bucket_no_longer_keeps_are_counted() {
        use crate::core::objects::Versions;
        let object =
            |version: Option<&str>| crate::run::fixtures::released("e", version, "no-cache");
        let record = crate::run::fixtures::release(
            "r",
            &[
                ("a", object(Some("v1"))),
                ("b", object(Some("v2"))),
                ("c", object(Some("v3"))),
                ("d", object(None)),
            ],
        );
        let kept = |key: &str, ids: &[&str]| {
            (
                key.to_owned(),
                Versions {
                    all: ids.iter().map(|v| (*v).to_owned()).collect(),
                    current: None,
                },
            )
        };
        let cases = [
            (
                vec![kept("a", &["v1"]), kept("b", &["v2"]), kept("c", &["v3"])],
                0,
            ),
            (
                vec![kept("a", &["v1"]), kept("b", &["v9"]), kept("c", &["v3"])],
                1,
            ),
            (vec![kept("a", &["v1"]), kept("b", &["v3"])], 2),
            (vec![], 3),
        ];
        for (kept, want) in cases {
            let kept: BTreeMap<String, Versions> = kept.into_iter().collect();
            assert_eq!(missing_versions(&record, &kept), want, "{kept:?}");
        }
    }

    #[test]
    fn equal_header_values_share_one_string_and_are_written_as_strings() {
        let json = r#"{"version_id":null,"size":1,"content_md5":"","etag":"",
            "content_type":"text/css","cache_control":"no-cache"}"#;
        let one: ReleasedObject = serde_json::from_str(json).unwrap();
        let two: ReleasedObject = serde_json::from_str(json).unwrap();
        assert!(std::sync::Arc::ptr_eq(
            &one.content_type.0,
            &two.content_type.0
        ));
        let built = HeaderValue::from("no-cache".to_owned());
        assert!(std::sync::Arc::ptr_eq(&built.0, &one.cache_control.0));
        assert_eq!(one.content_type, "text/css");
        let written = serde_json::to_value(&one).unwrap();
        assert_eq!(written["cache_control"], "no-cache");
    }

    #[test]
    fn the_live_release_is_the_one_whose_versions_are_current() {
        let rec = |id: &str, versions: &[(&str, Option<&str>)]| Release {
            id: id.into(),
            objects: versions
                .iter()
                .map(|(k, v)| {
                    (
                        (*k).to_owned(),
                        ReleasedObject {
                            version_id: v.map(str::to_owned),
                            size: 1,
                            content_md5: String::new(),
                            etag: String::new(),
                            content_type: String::new().into(),
                            cache_control: String::new().into(),
                        },
                    )
                })
                .collect(),
            ..Release::default()
        };
        let v2 = rec("v2", &[("index.html", Some("b")), ("app.js", Some("y"))]);
        let v1 = rec("v1", &[("index.html", Some("a")), ("app.js", Some("x"))]);
        let plain = rec("p", &[("index.html", None)]);
        let now = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        type Case<'a> = (
            &'a str,
            Vec<Option<&'a Release>>,
            BTreeMap<String, String>,
            Option<usize>,
        );
        let cases: [Case; 6] = [
            (
                "the newest is live",
                vec![Some(&v2), Some(&v1)],
                now(&[("index.html", "b"), ("app.js", "y")]),
                Some(0),
            ),
            (
                "a rollback to v1 left no record",
                vec![Some(&v2), Some(&v1)],
                now(&[("index.html", "a"), ("app.js", "x")]),
                Some(1),
            ),
            (
                "the newest cannot be read",
                vec![None, Some(&v1)],
                now(&[("index.html", "a"), ("app.js", "x")]),
                Some(1),
            ),
            (
                "stopped halfway: a mix",
                vec![Some(&v2), Some(&v1)],
                now(&[("index.html", "a"), ("app.js", "y")]),
                None,
            ),
            (
                "an unversioned bucket",
                vec![None, Some(&v2)],
                BTreeMap::new(),
                Some(1),
            ),
            (
                "records without versions",
                vec![Some(&plain)],
                now(&[("index.html", "z")]),
                Some(0),
            ),
        ];
        for (what, records, current, want) in cases {
            assert_eq!(live_index(&records, &current), want, "{what}");
        }
    }

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
    fn a_record_key_is_spelled_in_one_place_and_read_back() {
        let id = "20261128T000000.001Z-bbbbbb";
        assert_eq!(
            record_key("site/.shipfront/", id),
            "site/.shipfront/releases/20261128T000000.001Z-bbbbbb.json"
        );
        // (state prefix, key, the id it names)
        let cases = [
            (
                "site/.shipfront/",
                record_key("site/.shipfront/", id),
                Some(id),
            ),
            ("", record_key("", id), Some(id)),
            ("site/.shipfront/", "site/.shipfront/lock".to_owned(), None),
            (
                "site/.shipfront/",
                "site/.shipfront/releases/.json".to_owned(),
                None,
            ),
            (
                "site/.shipfront/",
                "site/.shipfront/releases/a/b.json".to_owned(),
                None,
            ),
            (
                "site/.shipfront/",
                "other/.shipfront/releases/x.json".to_owned(),
                None,
            ),
            (
                "site/.shipfront/",
                "site/.shipfront/releases/x.json.bak".to_owned(),
                None,
            ),
        ];
        for (state_prefix, key, expected) in cases {
            assert_eq!(record_id(state_prefix, &key), expected, "{key}");
        }
    }

    #[test]
    fn record_keys_ignore_other_state_and_site_keys() {
        let listing = crate::run::fixtures::listing(&[
            ("site/.shipfront/lock", ""),
            (
                "site/.shipfront/releases/20260101T000000.000Z-aaaaaa.json",
                "",
            ),
            (
                "site/.shipfront/releases/20261128T000000.001Z-bbbbbb.json",
                "",
            ),
            ("site/zzz.html", ""),
        ]);
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
