//! Decides what a deploy or a rollback does, as data: which keys to upload, re-header, restore or
//! delete, each with its reason, in the phase that keeps the live site working. Pure and
//! deterministic (no IO, output sorted), so every rule is tested with tables and `--dry-run`
//! shows exactly what will run.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::core::fingerprint::{Evidence, is_html};
use crate::core::object_headers::{HeaderPolicy, Headers};
use crate::core::objects::{LocalFile, LocalTree, RemoteListing, RemoteObject};
use crate::core::release::Release;

/// The default state prefix, under the site's prefix: `<prefix>.shipfront/`.
pub const STATE_DIR: &str = ".shipfront/";

/// Whether a key is shipfront's own bookkeeping rather than site: under the state prefix, under
/// the default one, or named like a release record anywhere. Records left behind when
/// `--state-prefix` changed are kept, never deleted as stale: they are the rollback history.
#[must_use]
pub fn is_state(key: &str, prefix: &str, state_prefix: &str) -> bool {
    key.starts_with(state_prefix)
        || key
            .strip_prefix(prefix)
            .is_some_and(|rel| rel.starts_with(STATE_DIR))
        || is_record_name(key)
}

/// The folder of an atomic site's releases, under its prefix: never part of an in-place site's
/// plan (neither deleted nor restored), so moving between the modes leaves the releases the
/// routing function may still read.
pub const RELEASES_DIR: &str = "_releases/";

/// Whether `key` is one of the site's own objects under `prefix` that an in-place plan works
/// on: neither shipfront's state nor an atomic release's.
#[must_use]
pub fn is_in_place_key(key: &str, prefix: &str, state_prefix: &str) -> bool {
    key.strip_prefix(prefix)
        .is_some_and(|rel| !rel.starts_with(RELEASES_DIR))
        && !is_state(key, prefix, state_prefix)
}

/// `.../releases/20261128T032033.120Z-3f2a1b.json`: a release record's key, by its shape.
fn is_record_name(key: &str) -> bool {
    let Some(id) = key
        .strip_suffix(".json")
        .and_then(|k| k.rsplit_once('/'))
        .filter(|(dir, _)| *dir == "releases" || dir.ends_with("/releases"))
        .map(|(_, id)| id.as_bytes())
    else {
        return false;
    };
    // yyyymmddThhmmss.mmmZ-hhhhhh
    let shape = b"00000000T000000.000Z-aaaaaa";
    id.len() == shape.len()
        && id.iter().zip(shape).all(|(c, s)| match s {
            b'0' => c.is_ascii_digit(),
            b'a' => c.is_ascii_hexdigit() && !c.is_ascii_uppercase(),
            s => c == s,
        })
}

/// Everything the plan needs besides the three inputs.
#[derive(Debug, Clone)]
pub struct PlanConfig {
    pub bucket: String,
    /// Normalised: empty or ending in `/`.
    pub prefix: String,
    /// Where release records and the lock live (see `is_state`).
    pub state_prefix: String,
    /// Delete remote keys that are not in the folder.
    pub delete: bool,
    pub headers: HeaderPolicy,
    /// Releases a stale file that open pages may fetch is kept after it left the tree, so a
    /// visitor holding an older page still loads its bundle.
    pub keep_assets: u32,
}

/// Why an action is in the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The key does not exist in the bucket.
    New,
    /// The bucket holds other bytes under the key.
    ContentChanged,
    /// Same bytes, but Content-Type or Cache-Control differ from what they should be.
    HeadersChanged,
    /// The key is in the bucket but no longer in the folder.
    Stale,
    /// A file kept for open pages after it left the folder, whose `--keep-assets` grace ended.
    /// Not invalidated: it is fingerprinted, and evicting it only hurts old tabs.
    GraceEnded,
    /// An atomic site's object that only releases older than `keep_releases` (and their grace
    /// for open tabs) used: retention deletes it.
    Pruned,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reason::New => "new",
            Reason::ContentChanged => "content changed",
            Reason::HeadersChanged => "headers changed",
            Reason::Stale => "stale",
            Reason::GraceEnded => "grace ended",
            Reason::Pruned => "pruned",
        })
    }
}

/// The ordered phases of a deploy. Each finishes before the next starts, so a deploy killed at
/// any moment leaves pages that reference only objects that exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Everything that is not HTML: what pages reference.
    Assets,
    /// HTML pages other than the root page.
    Pages,
    /// The root `index.html`, the entry point of the site, last of all writes.
    RootPage,
    /// Removal of stale keys, once nothing new references them.
    Deletes,
}

impl Phase {
    pub const ALL: [Phase; 4] = [Phase::Assets, Phase::Pages, Phase::RootPage, Phase::Deletes];

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Phase::Assets => "assets",
            Phase::Pages => "pages",
            Phase::RootPage => "root page",
            Phase::Deletes => "deletes",
        }
    }
}

/// What to do with one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Op {
    Upload {
        #[serde(flatten)]
        headers: Headers,
        #[serde(skip)]
        file: std::sync::Arc<LocalFile>,
    },
    UpdateHeaders {
        #[serde(flatten)]
        headers: Headers,
    },
    /// Rollback: copy a recorded version back over the key (its headers come with it).
    Restore {
        version_id: String,
    },
    /// Atomic releases: copy a file unchanged since the previous release from that release's
    /// key (`from`, at `version_id` when known), server-side: no upload.
    Copy {
        from: String,
        version_id: Option<String>,
    },
    Delete,
}

impl Op {
    /// The action's name, as the plan and the job summary print it.
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.words().0
    }

    /// What a progress line says of the action once it is done.
    #[must_use]
    pub fn done(&self) -> &'static str {
        self.words().1
    }

    fn words(&self) -> (&'static str, &'static str) {
        match self {
            Op::Upload { .. } => ("upload", "uploaded"),
            Op::UpdateHeaders { .. } => ("headers", "re-headered"),
            Op::Restore { .. } => ("restore", "restored"),
            Op::Copy { .. } => ("copy", "copied"),
            Op::Delete => ("delete", "deleted"),
        }
    }
}

/// One step of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Action {
    pub key: String,
    #[serde(flatten)]
    pub op: Op,
    pub reason: Reason,
    pub phase: Phase,
    /// Bytes to send (uploads) or of the object (deletes, header updates).
    pub size: u64,
}

impl Action {
    /// Whether this action replaces or removes something a CDN must stop serving: new keys
    /// were never cached, and files whose grace ended are fingerprinted (evicting them only
    /// hurts old tabs).
    #[must_use]
    pub fn overwrites_existing(&self) -> bool {
        !matches!(
            self.reason,
            Reason::New | Reason::GraceEnded | Reason::Pruned
        )
    }
}

/// The whole plan of a deploy.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub bucket: String,
    pub prefix: String,
    /// Sorted by phase, then key.
    pub actions: Vec<Action>,
    /// Keys whose content and headers already match.
    pub unchanged: usize,
    pub unchanged_bytes: u64,
    /// Stale keys left in place because deletion is off.
    pub kept_stale: usize,
    /// Stale files kept for open pages in their grace period: key -> releases since they left.
    pub kept_assets: BTreeMap<String, u32>,
    /// `--keep-assets`: releases a stale asset is kept.
    pub keep_assets: u32,
    /// One line each about the build folder: files left out, and why.
    pub notes: Vec<String>,
    /// Things in the build folder the user should fix.
    pub warnings: Vec<String>,
    /// What the build says about its files; the release record is built with the same.
    #[serde(skip)]
    pub evidence: Evidence,
}

impl Plan {
    /// A plan for `config`'s site with no action yet: the build's `notes`, and what its
    /// `evidence` says (its warnings with it).
    #[must_use]
    pub fn new(config: &PlanConfig, notes: Vec<String>, evidence: Evidence) -> Self {
        Plan {
            bucket: config.bucket.clone(),
            prefix: config.prefix.clone(),
            actions: Vec::new(),
            unchanged: 0,
            unchanged_bytes: 0,
            kept_stale: 0,
            kept_assets: BTreeMap::new(),
            keep_assets: config.keep_assets,
            notes,
            warnings: evidence.warnings().to_vec(),
            evidence,
        }
    }

    /// `s3://bucket/prefix`, for messages.
    #[must_use]
    pub fn target(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    pub fn in_phase(&self, phase: Phase) -> impl Iterator<Item = &Action> {
        self.actions.iter().filter(move |a| a.phase == phase)
    }

    #[must_use]
    pub fn count(&self, pred: impl Fn(&Action) -> bool) -> usize {
        self.actions.iter().filter(|a| pred(a)).count()
    }

    #[must_use]
    pub fn deletes(&self) -> usize {
        self.count(|a| matches!(a.op, Op::Delete))
    }

    #[must_use]
    pub fn upload_bytes(&self) -> u64 {
        self.actions
            .iter()
            .filter(|a| matches!(a.op, Op::Upload { .. }))
            .map(|a| a.size)
            .sum()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }
}

/// The phase a key's write belongs to.
pub(crate) fn write_phase(key: &str, prefix: &str) -> Phase {
    let rel = key.strip_prefix(prefix).unwrap_or(key);
    if rel == "index.html" {
        Phase::RootPage
    } else if is_html(rel) {
        Phase::Pages
    } else {
        Phase::Assets
    }
}

/// Computes the plan that makes `s3://bucket/prefix` equal to the folder.
///
/// A remote object is unchanged when its ETag equals the local MD5 (single part) or the local
/// multipart ETag, or when the last release recorded the same content under the ETag it still
/// has (SSE-KMS ETags and foreign part sizes are not MD5s). Headers are compared only where the
/// release recorded them: `ListObjectsV2` does not return them, and a HEAD per object is what
/// this tool exists to avoid.
#[must_use]
pub fn plan(
    local: &LocalTree,
    remote: &RemoteListing,
    release: Option<&Release>,
    config: &PlanConfig,
) -> Plan {
    let is_state = |key: &str| is_state(key, &config.prefix, &config.state_prefix);
    let remote_by_key: BTreeMap<&str, _> = remote
        .objects
        .iter()
        .filter(|o| is_in_place_key(&o.key, &config.prefix, &config.state_prefix))
        .map(|o| (o.key.as_str(), o))
        .collect();
    let evidence = evidence(local, release, &config.prefix);
    let mut plan = Plan::new(config, local.notes.clone(), evidence);
    for file in local.files.iter().filter(|f| !is_state(&f.key)) {
        // A file whose key falls under the state prefix would collide with the records; the
        // deploy refuses such a folder before planning.
        let remote = remote_by_key.get(file.key.as_str()).copied();
        plan_file(&mut plan, file, remote, release, config);
    }
    plan_stale(&mut plan, local, &remote_by_key, release, config);
    plan.actions
        .sort_by(|a, b| (a.phase, &a.key).cmp(&(b.phase, &b.key)));
    plan.actions.shrink_to_fit();
    plan
}

/// The evidence of the build, with the history of the live release: files whose bytes changed
/// under a name that looked fingerprinted, then or now, are never immutable again.
fn evidence(local: &LocalTree, release: Option<&Release>, prefix: &str) -> Evidence {
    let evidence = Evidence::new(local.files.iter().map(|f| f.rel.as_str()));
    let Some(release) = release else {
        return evidence;
    };
    let recorded = release
        .rewritten
        .iter()
        .filter_map(|key| key.strip_prefix(prefix))
        .map(str::to_owned);
    let now: Vec<String> = local
        .files
        .iter()
        .filter(|f| {
            release
                .objects
                .get(&f.key)
                .is_some_and(|r| r.content_md5 != crate::core::etag::hex(&f.md5))
                && evidence.fingerprint(&f.rel).is_some()
        })
        .map(|f| f.rel.clone())
        .collect();
    evidence.with_rewritten(recorded.chain(now))
}

/// Upload, re-header or count as unchanged one file of the folder.
fn plan_file(
    plan: &mut Plan,
    file: &std::sync::Arc<LocalFile>,
    obj: Option<&RemoteObject>,
    release: Option<&Release>,
    config: &PlanConfig,
) {
    let headers = config.headers.headers_for(&file.rel, &plan.evidence);
    let phase = write_phase(&file.key, &config.prefix);
    let upload = |reason, headers| Action {
        key: file.key.clone(),
        op: Op::Upload {
            headers,
            file: std::sync::Arc::clone(file),
        },
        reason,
        phase,
        size: file.size,
    };
    let Some(obj) = obj else {
        plan.actions.push(upload(Reason::New, headers));
        return;
    };
    let rec = release.and_then(|r| r.objects.get(&file.key));
    let md5 = crate::core::etag::hex(&file.md5);
    let same_content = obj.size == file.size
        && (obj.etag == file.expected_etag()
            || obj.etag == md5
            || rec.is_some_and(|r| r.etag == obj.etag && r.content_md5 == md5));
    if !same_content {
        plan.actions.push(upload(Reason::ContentChanged, headers));
        return;
    }
    // What the object's headers are: as the live release recorded them, else as read from
    // the bucket (a bucket no record describes yet).
    let stored = rec
        .map(|r| (r.content_type.as_str(), r.cache_control.as_str()))
        .or_else(|| {
            obj.headers
                .as_ref()
                .map(|h| (h.content_type.as_str(), h.cache_control.as_str()))
        });
    let drifted = stored.is_some_and(|(content_type, cache_control)| {
        content_type != headers.content_type || cache_control != headers.cache_control
    });
    if drifted {
        plan.actions.push(Action {
            key: file.key.clone(),
            op: Op::UpdateHeaders { headers },
            reason: Reason::HeadersChanged,
            phase,
            size: file.size,
        });
    } else {
        plan.unchanged += 1;
        plan.unchanged_bytes += file.size;
    }
}

/// Deletes, keeps for open pages, or (with `--no-delete`) counts the remote keys that left the
/// folder. A deploy that changes nothing else in the site uses up no grace: files whose grace
/// would end stay, and every count stays as the live release recorded it.
fn plan_stale(
    plan: &mut Plan,
    local: &LocalTree,
    remote_by_key: &BTreeMap<&str, &RemoteObject>,
    release: Option<&Release>,
    config: &PlanConfig,
) {
    let local_keys: std::collections::BTreeSet<&str> =
        local.files.iter().map(|f| f.key.as_str()).collect();
    let delete = |key: &str, size, reason| Action {
        key: key.to_owned(),
        op: Op::Delete,
        reason,
        phase: Phase::Deletes,
        size,
    };
    // Stale files whose grace ends now: (key, size, releases since they left, fingerprinted).
    let mut ended = Vec::new();
    for (key, obj) in remote_by_key {
        if local_keys.contains(key) {
            continue;
        }
        if !config.delete {
            plan.kept_stale += 1;
            continue;
        }
        let rel = key.strip_prefix(&config.prefix).unwrap_or(key);
        // What the live release says counts too: a file a rule made immutable, or one it kept.
        let recorded_immutable = release
            .and_then(|r| r.objects.get(*key))
            .is_some_and(|o| o.cache_control.contains("immutable"));
        let kept_before = release.is_some_and(|r| r.kept.contains_key(*key));
        let open_pages_fetch =
            recorded_immutable || kept_before || plan.evidence.fetched_by_open_pages(rel);
        match grace(key, release, open_pages_fetch) {
            Some(since) if since <= config.keep_assets => {
                plan.kept_assets.insert((*key).to_owned(), since);
            }
            // With `--keep-assets 0` there is no grace to end: plain stale.
            Some(since) if config.keep_assets > 0 => {
                let fingerprinted = recorded_immutable || plan.evidence.fingerprint(rel).is_some();
                ended.push(((*key).to_owned(), obj.size, since, fingerprinted));
            }
            _ => plan.actions.push(delete(key, obj.size, Reason::Stale)),
        }
    }
    if plan.actions.is_empty() {
        // Nothing else changes, so no release is written: no grace is used up, and every count
        // stays what the live release says.
        plan.kept_assets
            .extend(ended.into_iter().map(|(key, _, since, _)| (key, since)));
        let recorded = release.map(|r| &r.kept);
        for (key, since) in &mut plan.kept_assets {
            if let Some(n) = recorded.and_then(|k| k.get(key)) {
                *since = *n;
            }
        }
        return;
    }
    for (key, size, _, fingerprinted) in ended {
        // A fingerprinted file goes without an invalidation: no visitor can hold a stale copy
        // of it. A plainly named script may come back under its name, so it is invalidated.
        let reason = if fingerprinted {
            Reason::GraceEnded
        } else {
            Reason::Stale
        };
        plan.actions.push(delete(&key, size, reason));
    }
}

/// For a stale key an open page may fetch: Some(releases since it left the tree, counting this
/// deploy); None when it goes now. A file in the live release just left (1); one the live
/// release kept has been gone one release longer; one no record knows about is an orphan and
/// goes (without any record, such a file counts as just left).
fn grace(key: &str, release: Option<&Release>, open_pages_fetch: bool) -> Option<u32> {
    if !open_pages_fetch {
        return None;
    }
    match release {
        None => Some(1),
        Some(r) => match (r.objects.get(key), r.kept.get(key)) {
            (Some(_), _) => Some(1),
            (None, Some(n)) => Some(n.saturating_add(1)),
            (None, None) => None,
        },
    }
}

/// Human-readable byte counts for summaries.
#[must_use]
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    #[allow(clippy::cast_precision_loss)]
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// A key as printed: control characters escaped (`\n`, `\u{1b}`), so a name from the
/// bucket can neither break a line of output nor start a GitHub workflow command.
#[must_use]
pub fn shown(key: &str) -> std::borrow::Cow<'_, str> {
    if key.chars().any(char::is_control) {
        key.escape_debug().to_string().into()
    } else {
        key.into()
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "plan for {}:", self.target())?;
        for note in &self.notes {
            writeln!(f, "  note: {note}")?;
        }
        for warning in &self.warnings {
            writeln!(f, "  warning: {warning}")?;
        }
        for a in &self.actions {
            let verb = a.op.name();
            let detail = match &a.op {
                Op::Upload { headers, .. } | Op::UpdateHeaders { headers } => format!(
                    "  [{}; {} ({})]",
                    headers.content_type, headers.cache_control, headers.reason
                ),
                Op::Restore { version_id } => format!("  [version {version_id}]"),
                Op::Copy { from, .. } => format!("  [from {}]", shown(from)),
                Op::Delete => String::new(),
            };
            writeln!(
                f,
                "  {verb:<8} {:<16} {} ({}){detail}",
                a.reason.to_string(),
                shown(&a.key),
                human_bytes(a.size)
            )?;
        }
        for (key, since) in &self.kept_assets {
            writeln!(
                f,
                "  {:<8} {:<16} {} (left the tree {since} release(s) ago; --keep-assets {})",
                "keep",
                "old asset",
                shown(key),
                self.keep_assets,
            )?;
        }
        let uploads = self.count(|a| matches!(a.op, Op::Upload { .. }));
        let headers = self.count(|a| matches!(a.op, Op::UpdateHeaders { .. }));
        let restores = self.count(|a| matches!(a.op, Op::Restore { .. }));
        if restores > 0 {
            write!(f, "{restores} to restore, ")?;
        }
        write!(
            f,
            "{uploads} to upload ({}), {headers} to re-header, {} to delete, {} unchanged",
            human_bytes(self.upload_bytes()),
            self.deletes(),
            self.unchanged
        )?;
        if self.kept_stale > 0 {
            write!(f, ", {} stale kept (--no-delete)", self.kept_stale)?;
        }
        if !self.kept_assets.is_empty() {
            write!(
                f,
                ", {} old assets kept for visitors of older pages (--keep-assets)",
                self.kept_assets.len()
            )?;
        }
        Ok(())
    }
}

/// The plan of a rollback: it makes the site (`bucket`, `prefix`, `state_prefix`) equal to `target`.
///
/// A key is unchanged when the bucket holds the recorded ETag and the live release records the
/// same headers; otherwise its recorded version is copied back (headers included). Site keys the
/// target did not have are deleted. Errors with the keys whose version was not recorded
/// (deployed while versioning was off).
pub fn rollback(
    target: &Release,
    live: Option<&Release>,
    listing: &RemoteListing,
    (bucket, prefix, state_prefix): (&str, &str, &str),
) -> Result<Plan, Vec<String>> {
    let now: BTreeMap<&str, &RemoteObject> = listing
        .objects
        .iter()
        .filter(|o| is_in_place_key(&o.key, prefix, state_prefix))
        .map(|o| (o.key.as_str(), o))
        .collect();
    let mut actions = Vec::new();
    let mut unchanged = 0;
    let mut unchanged_bytes = 0;
    let mut unversioned = Vec::new();
    let mut warnings = Vec::new();
    for (key, rec) in &target.objects {
        // shipfront's own records and lock are never the site's: a record listing them was
        // changed by hand, and restoring them would overwrite the lock this run holds.
        if !key.starts_with(prefix) || is_state(key, prefix, state_prefix) {
            warnings.push(format!(
                "release `{}` lists `{key}`, which is not a site object (outside the prefix or \
                 under the state prefix): left alone",
                target.id
            ));
            continue;
        }
        let same_headers = live.and_then(|l| l.objects.get(key)).is_none_or(|l| {
            l.content_type == rec.content_type && l.cache_control == rec.cache_control
        });
        // A copy (a rollback's, or a header fix's) of a multipart upload is stored whole, with
        // the plain MD5 the record knows as its ETag.
        let same_bytes = |o: &RemoteObject| o.etag == rec.etag || o.etag == rec.content_md5;
        let reason = match now.get(key.as_str()) {
            Some(o) if same_bytes(o) && same_headers => {
                unchanged += 1;
                unchanged_bytes += rec.size;
                continue;
            }
            Some(o) if same_bytes(o) => Reason::HeadersChanged,
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
        warnings,
        evidence: Evidence::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::etag::{MultipartDigest, hex};
    use crate::core::release::ReleasedObject;
    use crate::run::fixtures::local_file as file;
    use md5::{Digest, Md5};

    fn remote(key: &str, body: &str) -> RemoteObject {
        RemoteObject {
            key: key.into(),
            etag: hex(&Md5::digest(body.as_bytes())),
            size: body.len() as u64,
            headers: None,
        }
    }

    fn config() -> PlanConfig {
        PlanConfig {
            bucket: "b".into(),
            prefix: String::new(),
            state_prefix: STATE_DIR.into(),
            delete: true,
            headers: HeaderPolicy::default(),
            keep_assets: 0,
        }
    }

    fn summary(p: &Plan) -> Vec<(String, &'static str, Reason, Phase)> {
        p.actions
            .iter()
            .map(|a| (a.key.clone(), a.op.name(), a.reason, a.phase))
            .collect()
    }

    fn tree(files: Vec<LocalFile>) -> LocalTree {
        LocalTree {
            files: files.into_iter().map(std::sync::Arc::new).collect(),
            warnings: vec![],
            notes: vec![],
        }
    }

    fn listing(objects: Vec<RemoteObject>) -> RemoteListing {
        RemoteListing {
            objects,
            pages: 1,
            chain: 1,
        }
    }

    #[test]
    fn decides_by_content_with_reasons_and_phases() {
        use Phase::*;
        use Reason::*;
        let local = tree(vec![
            file("a/page.html", "page v2"),
            file("assets/app.js", "js"),
            file("index.html", "root"),
            file("new.css", "css"),
            file("same.txt", "same"),
        ]);
        let remote = listing(vec![
            remote("a/page.html", "page v1"),
            remote("assets/app.js", "js"),
            remote("gone.html", "old"),
            remote("index.html", "root-old"),
            remote("old.js", "x"),
            remote("same.txt", "same"),
        ]);
        let p = plan(&local, &remote, None, &config());
        assert_eq!(
            summary(&p),
            [
                ("new.css".into(), "upload", New, Assets),
                ("a/page.html".into(), "upload", ContentChanged, Pages),
                ("index.html".into(), "upload", ContentChanged, RootPage),
                ("gone.html".into(), "delete", Stale, Deletes),
                ("old.js".into(), "delete", Stale, Deletes),
            ]
        );
        assert_eq!(p.unchanged, 2);
        assert_eq!(p.unchanged_bytes, 6);
    }

    #[test]
    fn same_etag_different_size_is_changed_and_quoted_etags_never_reach_plan() {
        let local = tree(vec![file("a.txt", "abc")]);
        let mut obj = remote("a.txt", "abc");
        obj.size = 99;
        let p = plan(&local, &listing(vec![obj]), None, &config());
        assert_eq!(p.actions[0].reason, Reason::ContentChanged);
    }

    #[test]
    fn multipart_etag_matches() {
        let mut f = file("big.bin", "0123456789");
        f.multipart = Some(MultipartDigest {
            part_size: 5,
            part_md5s: vec![Md5::digest(b"01234").into(), Md5::digest(b"56789").into()],
        });
        let etag = f.expected_etag();
        assert!(etag.ends_with("-2"));
        let cases = [
            (etag.clone(), 0),                    // uploaded by shipfront in parts
            (hex(&f.md5), 0),                     // uploaded by another tool in one part
            ("0123456789abcdef-3".to_owned(), 1), // other part size, no record: re-upload
        ];
        for (remote_etag, want_actions) in cases {
            let obj = RemoteObject {
                key: "big.bin".into(),
                etag: remote_etag.clone(),
                size: 10,
                headers: None,
            };
            let p = plan(&tree(vec![f.clone()]), &listing(vec![obj]), None, &config());
            assert_eq!(p.actions.len(), want_actions, "remote etag {remote_etag}");
        }
    }

    #[test]
    fn release_record_covers_foreign_etags_and_reveals_header_drift() {
        let f = file("app.css", "body{}");
        let kms_etag = "f00dfeedf00dfeedf00dfeedf00dfeed".to_owned();
        let obj = RemoteObject {
            key: "app.css".into(),
            etag: kms_etag.clone(),
            size: 6,
            headers: None,
        };
        let good = config()
            .headers
            .headers_for("app.css", &Evidence::default());
        let rec = |etag: &str, cache: &str| Release {
            id: "r1".into(),
            objects: [(
                "app.css".to_owned(),
                ReleasedObject {
                    version_id: Some("v1".into()),
                    size: 6,
                    content_md5: hex(&f.md5),
                    etag: etag.into(),
                    content_type: good.content_type.clone().into(),
                    cache_control: cache.into(),
                },
            )]
            .into(),
            ..Release::default()
        };
        let cases = [
            // (release, expected ops)
            (None, vec![Reason::ContentChanged]),
            (Some(rec(&kms_etag, &good.cache_control)), vec![]),
            (
                Some(rec(&kms_etag, "no-store")),
                vec![Reason::HeadersChanged],
            ),
            // The object changed since the release (other ETag): the record proves nothing.
            (
                Some(rec("other", &good.cache_control)),
                vec![Reason::ContentChanged],
            ),
        ];
        for (release, want) in cases {
            let p = plan(
                &tree(vec![f.clone()]),
                &listing(vec![obj.clone()]),
                release.as_ref(),
                &config(),
            );
            let got: Vec<_> = p.actions.iter().map(|a| a.reason).collect();
            assert_eq!(got, want, "release {release:?}");
        }
    }

    #[test]
    fn the_state_prefix_and_other_prefixes_are_never_touched() {
        // (site prefix, state prefix, keys in the bucket besides the site's old page, files of
        // the build besides its root page): only `old.html` goes, only `index.html` comes.
        let cases: [(&str, &str, &[&str], &[&str]); 2] = [
            (
                "site/",
                "site/.shipfront/",
                &[
                    "site/.shipfront/releases/1.json",
                    "site/.shipfront/lock",
                    "other/index.html",
                ],
                &[],
            ),
            // A custom state prefix, and the default one's records left by an earlier setting.
            (
                "",
                "_deploys/",
                &[
                    "_deploys/releases/1.json",
                    "_deploys/lock",
                    ".shipfront/releases/0.json",
                ],
                &["_deploys/lock"],
            ),
        ];
        for (prefix, state_prefix, in_bucket, in_build) in cases {
            let mut cfg = config();
            cfg.prefix = prefix.into();
            cfg.state_prefix = state_prefix.into();
            let in_site = |rel: &str| format!("{prefix}{rel}");
            let files = in_build.iter().chain(&["index.html"]).map(|rel| LocalFile {
                key: in_site(rel),
                ..file(rel, "x")
            });
            let old = in_site("old.html");
            let remote = listing(
                in_bucket
                    .iter()
                    .chain(&[old.as_str()])
                    .map(|k| remote(k, "{}"))
                    .collect(),
            );
            let p = plan(&tree(files.collect()), &remote, None, &cfg);
            assert_eq!(
                summary(&p),
                [
                    (
                        in_site("index.html"),
                        "upload",
                        Reason::New,
                        Phase::RootPage
                    ),
                    (old, "delete", Reason::Stale, Phase::Deletes),
                ],
                "{prefix:?} {state_prefix:?}"
            );
        }
    }

    #[test]
    fn release_records_are_bookkeeping_by_their_shape() {
        for (key, prefix, state, want) in [
            (
                "old/releases/20261128T044737.768Z-81f7b3.json",
                "",
                ".shipfront/",
                true,
            ),
            (
                "releases/20261128T044737.768Z-81f7b3.json",
                "",
                ".shipfront/",
                true,
            ),
            ("blog/releases/2026-launch.json", "", ".shipfront/", false),
            (
                "releases/20261128T044737.768Z-81F7B3.json",
                "",
                ".shipfront/",
                false,
            ),
            ("site/.shipfront/lock", "site/", "ops/", true),
            ("ops/lock", "site/", "ops/", true),
            ("site/ops/lock", "site/", "ops/", false),
            ("site/a.shipfront/x", "site/", "site/.shipfront/", false),
        ] {
            assert_eq!(is_state(key, prefix, state), want, "{key}");
        }
    }

    #[test]
    fn kept_assets_are_listed_one_by_one() {
        let mut cfg = config();
        cfg.keep_assets = 2;
        let p = plan(
            &tree(vec![file("index.html", "x")]),
            &listing(vec![
                remote("index.html", "x"),
                remote("assets/app.1234abcd.js", "old"),
            ]),
            None,
            &cfg,
        );
        assert!(p.is_empty());
        let text = p.to_string();
        assert!(
            text.contains(
                "  keep     old asset        assets/app.1234abcd.js (left the tree 1 release(s) \
                 ago; --keep-assets 2)"
            ),
            "{text}"
        );
        assert!(text.contains("1 old assets kept"), "{text}");
    }

    #[test]
    fn no_delete_keeps_stale_keys() {
        let mut cfg = config();
        cfg.delete = false;
        let p = plan(
            &tree(vec![file("index.html", "x")]),
            &listing(vec![remote("index.html", "x"), remote("old.js", "y")]),
            None,
            &cfg,
        );
        assert!(p.is_empty());
        assert_eq!(p.kept_stale, 1);
    }

    #[test]
    fn plan_is_deterministic_and_serializes_with_reasons() {
        let local = tree(vec![
            file("b.js", "b"),
            file("a.js", "a"),
            file("index.html", "i"),
        ]);
        let remote = listing(vec![remote("z.txt", "z")]);
        let p1 = plan(&local, &remote, None, &config());
        let p2 = plan(&local, &remote, None, &config());
        assert_eq!(p1.actions, p2.actions);
        let json = serde_json::to_value(&p1).unwrap();
        assert_eq!(json["actions"][0]["key"], "a.js");
        assert_eq!(json["actions"][0]["action"], "upload");
        assert_eq!(json["actions"][0]["reason"], "new");
        assert_eq!(json["actions"][0]["phase"], "assets");
        assert_eq!(
            json["actions"][0]["content_type"],
            "text/javascript; charset=utf-8"
        );
        assert_eq!(json["actions"][3]["action"], "delete");
        assert_eq!(json["actions"][3]["reason"], "stale");
        let text = p1.to_string();
        assert!(text.contains("upload   new"), "{text}");
        assert!(text.contains("3 to upload"), "{text}");
    }

    #[test]
    fn stale_immutable_assets_get_a_grace_period() {
        let rec = |cache: &str| ReleasedObject {
            version_id: None,
            size: 1,
            content_md5: String::new(),
            etag: String::new(),
            content_type: String::new().into(),
            cache_control: cache.into(),
        };
        let live = Release {
            objects: [
                ("assets/app.1234abcd.js".to_owned(), rec(IMMUTABLE_FOR_TEST)),
                ("img/photo.png".to_owned(), rec(IMMUTABLE_FOR_TEST)),
                (
                    "old.html".to_owned(),
                    rec("public, max-age=0, must-revalidate"),
                ),
            ]
            .into(),
            kept: [
                ("assets/older.5678abcd.js".to_owned(), 1),
                ("js/kept.js".to_owned(), 1),
            ]
            .into(),
            ..Release::default()
        };
        // With a change elsewhere in the site (index.html), what happens to a stale key.
        let outcome = |key: &str, release: Option<&Release>, keep: u32| {
            let mut cfg = config();
            cfg.keep_assets = keep;
            let p = plan(
                &tree(vec![file("index.html", "new")]),
                &listing(vec![remote("index.html", "old"), remote(key, "x")]),
                release,
                &cfg,
            );
            match p.kept_assets.get(key) {
                Some(n) => format!("kept {n}"),
                None => p
                    .actions
                    .iter()
                    .find(|a| a.key == key)
                    .map(|a| format!("delete: {}", a.reason))
                    .unwrap_or_default(),
            }
        };
        let cases = [
            // (key, release, keep, outcome)
            ("assets/app.1234abcd.js", Some(&live), 1, "kept 1"),
            ("assets/app.1234abcd.js", Some(&live), 0, "delete: stale"),
            ("old.html", Some(&live), 1, "delete: stale"),
            (
                "assets/older.5678abcd.js",
                Some(&live),
                1,
                "delete: grace ended",
            ),
            ("assets/older.5678abcd.js", Some(&live), 2, "kept 2"),
            ("assets/orphan.9999abcd.js", Some(&live), 3, "delete: stale"),
            ("assets/orphan.9999abcd.js", None, 1, "kept 1"),
            ("notes.txt", None, 1, "delete: stale"),
            // Scripts, styles and fonts whatever their names; page data never.
            ("js/app.js", None, 1, "kept 1"),
            ("fonts/inter.woff2", None, 1, "kept 1"),
            ("_app/version.json", None, 1, "delete: stale"),
            // A plainly named script's grace ends as a plain delete (it is invalidated).
            ("js/kept.js", Some(&live), 1, "delete: stale"),
            ("js/kept.js", Some(&live), 2, "kept 2"),
            // A file the live release recorded immutable (by a rule) is kept like a bundle.
            ("img/photo.png", Some(&live), 1, "kept 1"),
        ];
        for (key, release, keep, want) in cases {
            assert_eq!(outcome(key, release, keep), want, "{key} keep {keep}");
        }
    }

    #[test]
    fn a_deploy_that_changes_nothing_uses_up_no_grace() {
        let live = Release {
            objects: [(
                "index.html".to_owned(),
                ReleasedObject {
                    version_id: None,
                    size: 1,
                    content_md5: hex(&Md5::digest(b"i")),
                    etag: hex(&Md5::digest(b"i")),
                    content_type: "text/html; charset=utf-8".into(),
                    cache_control: crate::core::object_headers::REVALIDATE.into(),
                },
            )]
            .into(),
            kept: [("assets/app.1234abcd.js".to_owned(), 1)].into(),
            ..Release::default()
        };
        let remote = listing(vec![
            remote("index.html", "i"),
            remote("assets/app.1234abcd.js", "x"),
        ]);
        let mut cfg = config();
        cfg.keep_assets = 1;
        let same = plan(
            &tree(vec![file("index.html", "i")]),
            &remote,
            Some(&live),
            &cfg,
        );
        assert!(same.is_empty(), "{same}");
        assert_eq!(same.kept_assets.get("assets/app.1234abcd.js"), Some(&1));

        let changed = plan(
            &tree(vec![file("index.html", "j")]),
            &remote,
            Some(&live),
            &cfg,
        );
        assert_eq!(
            summary(&changed)[1],
            (
                "assets/app.1234abcd.js".into(),
                "delete",
                Reason::GraceEnded,
                Phase::Deletes
            )
        );
        assert!(!changed.actions[1].overwrites_existing(), "not invalidated");
    }

    #[test]
    fn bytes_changed_under_a_fingerprinted_name_are_never_immutable_again() {
        let rec = |body: &str| ReleasedObject {
            version_id: None,
            size: 1,
            content_md5: hex(&Md5::digest(body.as_bytes())),
            etag: hex(&Md5::digest(body.as_bytes())),
            content_type: String::new().into(),
            cache_control: IMMUTABLE_FOR_TEST.into(),
        };
        let live = Release {
            objects: [("logo.3f2a1b9c.svg".to_owned(), rec("v1"))].into(),
            ..Release::default()
        };
        let local = tree(vec![file("logo.3f2a1b9c.svg", "v2")]);
        let p = plan(
            &local,
            &listing(vec![remote("logo.3f2a1b9c.svg", "v1")]),
            Some(&live),
            &config(),
        );
        let Op::Upload { headers, .. } = &p.actions[0].op else {
            panic!("{p}");
        };
        assert_eq!(
            headers.cache_control,
            crate::core::object_headers::DEFAULT_CACHE
        );
        assert!(
            headers.reason.contains("bytes changed under this name"),
            "{}",
            headers.reason
        );
        assert!(
            p.to_string().contains("bytes changed under this name"),
            "{p}"
        );
        assert!(p.evidence.rewritten().contains("logo.3f2a1b9c.svg"));

        // The record carries it on: the next deploy keeps the hour though nothing changes.
        let later = Release {
            objects: [("logo.3f2a1b9c.svg".to_owned(), rec("v2"))].into(),
            rewritten: ["logo.3f2a1b9c.svg".to_owned()].into(),
            ..Release::default()
        };
        let p = plan(
            &local,
            &listing(vec![remote("logo.3f2a1b9c.svg", "v2")]),
            Some(&later),
            &config(),
        );
        assert_eq!(
            p.actions.len(),
            1,
            "header drift from immutable to the hour: {p}"
        );
        assert_eq!(p.actions[0].reason, Reason::HeadersChanged);
    }

    const IMMUTABLE_FOR_TEST: &str = crate::core::object_headers::IMMUTABLE;

    #[test]
    fn human_bytes_table() {
        for (n, want) in [
            (0, "0 B"),
            (1023, "1023 B"),
            (1536, "1.5 KiB"),
            (5 << 20, "5.0 MiB"),
        ] {
            assert_eq!(human_bytes(n), want);
        }
    }

    /// The plan of a rollback.
    mod rollback_plan {
        use super::super::*;
        use crate::run::fixtures::{listing, release, released as obj};

        const SITE: (&str, &str, &str) = ("b", "", crate::core::plan::STATE_DIR);

        #[test]
        fn restores_changed_and_missing_keys_deletes_new_ones_in_phases() {
            // Each key's ETag and version in the target (v2) and in the live release (v3).
            let keys = [
                ("index.html", Some(("i2", "vi2")), Some(("i3", "vi3"))),
                ("app.js", Some(("a2", "va2")), Some(("a3", "va3"))),
                ("gone.html", Some(("g2", "vg2")), None),
                ("new.html", None, Some(("n3", "vn3"))),
                ("same.css", Some(("s", "vs")), Some(("s", "vs"))),
            ];
            let release_of = |id: &str, live: bool| {
                let objects: Vec<_> = keys
                    .iter()
                    .filter_map(|(key, in_target, in_live)| {
                        let (etag, version) = if live { *in_live } else { *in_target }?;
                        Some((*key, obj(etag, Some(version), "c")))
                    })
                    .collect();
                release(id, &objects)
            };
            let (target, live) = (release_of("v2", false), release_of("v3", true));
            let now = listing(&[
                (".shipfront/releases/v3.json", "x"),
                ("app.js", "a3"),
                ("index.html", "i3"),
                ("new.html", "n3"),
                ("same.css", "s"),
            ]);
            let plan = rollback(&target, Some(&live), &now, SITE).unwrap();
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
            let plan = rollback(&target, Some(&live), &listing(&[("a.css", "s")]), SITE).unwrap();
            assert_eq!(plan.actions[0].reason, Reason::HeadersChanged);
        }

        #[test]
        fn unversioned_records_are_refused_with_their_keys() {
            let target = release("v1", &[("a.css", obj("s", None, "c"))]);
            let err = rollback(&target, None, &listing(&[]), SITE).unwrap_err();
            assert_eq!(err, ["a.css"]);
        }
    }
}
