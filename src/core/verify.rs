//! Verifying what visitors get after a deploy, decided purely: which URLs to ask for (the root
//! page, an SPA's fallback through a deep link, and the changed files, a sample past 50), what
//! each must answer as the release recorded it (status 200, Content-Type, Cache-Control, the
//! body's MD5), and what differed.

use std::time::Duration;

pub use crate::core::release::{Mismatch, Verification};
use crate::core::release::{Release, ReleasedObject};

/// The most changed files asked for; past this, an even sample of them.
pub const MAX_CHANGED: usize = 50;

/// The path an SPA's fallback is asked for at: no build has it, so the function (or the
/// distribution's error response) answers it with the fallback page.
pub const DEEP_LINK: &str = "/shipfront-verify/deep/link";

/// How long verification waits for a change to reach the edge, and its first wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Patience {
    /// Past this, what still differs is a failure.
    pub timeout: Duration,
    /// The wait before the second round; each next one doubles, up to `MAX_WAIT`.
    pub first_wait: Duration,
}

/// The longest wait between two rounds.
pub const MAX_WAIT: Duration = Duration::from_secs(20);

impl Default for Patience {
    fn default() -> Self {
        Patience {
            timeout: Duration::from_secs(180),
            first_wait: Duration::from_secs(2),
        }
    }
}

/// What one URL must answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The path asked for (percent-encoded), from the site's root.
    pub path: String,
    /// The key whose object must answer it.
    pub key: String,
    pub content_type: String,
    pub cache_control: String,
    /// Hex MD5 of the object's content.
    pub md5: String,
}

/// What a URL answered, as a visitor got it (redirects followed, uncompressed).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub cache_control: Option<String>,
    /// Hex MD5 of the body.
    pub md5: String,
}

/// What a deploy does when its verification fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnFailure {
    /// An atomic site: `live` switched back to this release (the one before).
    SwitchBack(String),
    /// A preview: `live` was never touched; nothing to undo.
    Preview,
    /// An atomic site's first release: there is nothing to switch back to.
    NothingBefore,
    /// In place: the objects are overwritten; `shipfront rollback` puts the release before back.
    Rollback,
}

impl OnFailure {
    /// For a deploy that switched `live` from `switched_from` (None: in place; `Some(None)`:
    /// the first atomic release), or a preview.
    #[must_use]
    pub fn of(switched_from: Option<Option<&str>>, preview: bool) -> Self {
        match (preview, switched_from) {
            (true, _) => OnFailure::Preview,
            (false, None) => OnFailure::Rollback,
            (false, Some(None)) => OnFailure::NothingBefore,
            (false, Some(Some(before))) => OnFailure::SwitchBack(before.to_owned()),
        }
    }

    /// What the user is told was done, or is to do.
    #[must_use]
    pub fn said(&self) -> String {
        match self {
            OnFailure::SwitchBack(before) => format!("switched `live` back to release {before}"),
            OnFailure::Preview => {
                "`live` is unchanged (a preview): fix the build and deploy the preview again"
                    .to_owned()
            }
            OnFailure::NothingBefore => {
                "nothing was live before this release: fix the build and deploy again".to_owned()
            }
            OnFailure::Rollback => "put the release before it back with `shipfront rollback` \
                 (in place, a deploy cannot be switched back by itself)"
                .to_owned(),
        }
    }
}

/// The file of the site a key of `record` holds (its prefix, and an atomic release's folder,
/// left out).
fn rel_of<'k>(key: &'k str, prefix: &str, record: &Release) -> &'k str {
    let rel = key.strip_prefix(prefix).unwrap_or(key);
    if record.atomic.is_some() {
        let folder = format!("{}{}/", crate::core::plan::RELEASES_DIR, record.id);
        if let Some(inner) = rel.strip_prefix(&folder) {
            return inner;
        }
    }
    rel
}

/// The path a visitor asks for the file `rel` at: with the routing function (`routed`), a
/// folder's page at the folder (`/about/`); without it, which a private S3 origin cannot serve
/// at a folder, at its own name; any other file at its own name.
fn path_of(rel: &str, routed: bool) -> String {
    match rel.strip_suffix("index.html") {
        Some(folder) if routed && (folder.is_empty() || folder.ends_with('/')) => {
            format!("/{}", crate::core::routing::encode_path(folder))
        }
        _ => format!("/{}", crate::core::routing::encode_path(rel)),
    }
}

fn target(path: String, key: &str, object: &ReleasedObject) -> Target {
    Target {
        path,
        key: key.to_owned(),
        content_type: object.content_type.as_str().to_owned(),
        cache_control: object.cache_control.as_str().to_owned(),
        md5: object.content_md5.clone(),
    }
}

/// The URLs to verify `record` by: its root page, its SPA fallback through a deep link (when
/// routed as an SPA), and `changed` (keys it wrote; at most `MAX_CHANGED`, evenly sampled), each
/// once, in that order. Keys the record lacks are left out.
#[must_use]
pub fn targets(record: &Release, prefix: &str, changed: &[String]) -> Vec<Target> {
    let mut out: Vec<Target> = Vec::new();
    let find = |rel: &str| {
        record
            .objects
            .iter()
            .find(|(key, _)| rel_of(key, prefix, record) == rel)
    };
    if let Some((key, object)) = find("index.html") {
        out.push(target("/".to_owned(), key, object));
    }
    let fallback = record
        .routing_inputs
        .as_ref()
        .and_then(|inputs| match &inputs.config.mode {
            crate::core::routing::Mode::Spa { fallback } => Some(fallback.clone()),
            crate::core::routing::Mode::Pages => None,
        });
    if let Some((key, object)) = fallback.as_deref().and_then(find) {
        out.push(target(DEEP_LINK.to_owned(), key, object));
    }
    let mut changed: Vec<&String> = changed
        .iter()
        .filter(|key| record.objects.contains_key(*key))
        .collect();
    changed.sort();
    changed.dedup();
    let step = changed.len().div_ceil(MAX_CHANGED).max(1);
    for key in changed.into_iter().step_by(step) {
        let path = path_of(rel_of(key, prefix, record), record.routing.is_some());
        if out.iter().any(|t| t.path == path) {
            continue;
        }
        if let Some(object) = record.objects.get(key) {
            out.push(target(path, key, object));
        }
    }
    out
}

/// What differs between what `target` must answer and `got`.
#[must_use]
pub fn differences(target: &Target, got: &Answer) -> Vec<String> {
    let mut out = Vec::new();
    if got.status != 200 {
        out.push(format!("status {}, not 200", got.status));
        return out;
    }
    let header = |name: &str, got: Option<&String>, want: &str| match got {
        Some(value) if value == want => None,
        Some(value) => Some(format!("{name} `{value}`, not `{want}`")),
        None => Some(format!("no {name}, not `{want}`")),
    };
    out.extend(header(
        "Content-Type",
        got.content_type.as_ref(),
        &target.content_type,
    ));
    out.extend(header(
        "Cache-Control",
        got.cache_control.as_ref(),
        &target.cache_control,
    ));
    if got.md5 != target.md5 {
        out.push(format!(
            "a body of MD5 {}, not {} (another version of `{}`)",
            got.md5, target.md5, target.key
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn object(md5: &str) -> ReleasedObject {
        ReleasedObject {
            version_id: None,
            size: 1,
            content_md5: md5.to_owned(),
            etag: md5.to_owned(),
            content_type: "text/html; charset=utf-8".into(),
            cache_control: "public, max-age=0, must-revalidate".into(),
        }
    }

    fn record(keys: &[&str]) -> Release {
        Release {
            id: "r1".into(),
            objects: keys.iter().map(|k| ((*k).to_owned(), object(k))).collect(),
            ..Release::default()
        }
    }

    #[test]
    fn the_root_the_fallback_and_the_changed_files_are_asked_for_each_once() {
        let mut spa = record(&[
            "site/index.html",
            "site/assets/app.js",
            "site/about/index.html",
        ]);
        let inputs = crate::core::routing::RoutingInputs {
            config: crate::core::routing::RoutingConfig {
                mode: crate::core::routing::Mode::Spa {
                    fallback: "index.html".into(),
                },
                trailing_slash: crate::core::routing::TrailingSlash::AsBuilt,
                redirects: Vec::new(),
                hidden: None,
                preview_domain: None,
            },
            layout: crate::core::routing::Layout::default(),
        };
        spa.routing_inputs = Some(inputs);
        spa.routing = Some("function handler(event) {}".into());
        let changed = [
            "site/index.html".to_owned(),
            "site/assets/app.js".to_owned(),
            "site/about/index.html".to_owned(),
            "site/gone.js".to_owned(),
        ];
        let got: Vec<(String, String)> = targets(&spa, "site/", &changed)
            .into_iter()
            .map(|t| (t.path, t.key))
            .collect();
        let want = [
            ("/", "site/index.html"),
            (DEEP_LINK, "site/index.html"),
            ("/about/", "site/about/index.html"),
            ("/assets/app.js", "site/assets/app.js"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(p, k)| ((*p).to_owned(), (*k).to_owned()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn an_atomic_release_is_asked_for_at_its_files_paths_and_many_changes_are_sampled() {
        let mut keys: Vec<String> = (0..120)
            .map(|i| format!("_releases/r1/p/{i:03}.html"))
            .collect();
        keys.push("_releases/r1/index.html".into());
        keys.push("assets/app-BbXQDiXP.js".into());
        let mut atomic = record(&keys.iter().map(String::as_str).collect::<Vec<_>>());
        atomic.atomic = Some(crate::core::release::AtomicRecord::default());
        let found = targets(&atomic, "", &keys);
        assert_eq!(found[0].path, "/");
        assert!(found.len() <= MAX_CHANGED + 1, "{}", found.len());
        assert!(found.len() > MAX_CHANGED / 2, "{}", found.len());
        assert!(
            found
                .iter()
                .any(|t| t.path.starts_with("/p/") && t.key.starts_with("_releases/r1/p/"))
        );
        let all: BTreeMap<&str, &str> = found
            .iter()
            .map(|t| (t.path.as_str(), t.key.as_str()))
            .collect();
        assert_eq!(all.len(), found.len(), "each path once");
    }

    #[test]
    fn without_the_routing_function_pages_are_asked_for_at_their_names() {
        let plain = record(&["index.html", "about/index.html"]);
        let paths: Vec<String> = targets(&plain, "", &["about/index.html".to_owned()])
            .into_iter()
            .map(|t| t.path)
            .collect();
        assert_eq!(paths, ["/", "/about/index.html"]);
    }

    #[test]
    fn a_failed_verification_switches_back_only_what_it_can() {
        let cases = [
            (Some(Some("r1")), false, OnFailure::SwitchBack("r1".into())),
            (Some(Some("r1")), true, OnFailure::Preview),
            (Some(None), false, OnFailure::NothingBefore),
            (Some(None), true, OnFailure::Preview),
            (None, false, OnFailure::Rollback),
        ];
        for (from, preview, want) in cases {
            assert_eq!(OnFailure::of(from, preview), want, "{from:?} {preview}");
        }
        assert!(OnFailure::Rollback.said().contains("`shipfront rollback`"));
        assert!(
            OnFailure::SwitchBack("r1".into())
                .said()
                .ends_with("release r1")
        );
    }

    #[test]
    fn what_differed_is_named() {
        let t = target("/".into(), "index.html", &object("aaa"));
        let good = Answer {
            status: 200,
            content_type: Some("text/html; charset=utf-8".into()),
            cache_control: Some("public, max-age=0, must-revalidate".into()),
            md5: "aaa".into(),
        };
        assert!(differences(&t, &good).is_empty());
        type Spoil = fn(&mut Answer);
        let cases: [(Spoil, &str); 5] = [
            (|a| a.status = 503, "status 503, not 200"),
            (|a| a.status = 404, "status 404"),
            (
                |a| a.content_type = Some("text/plain".into()),
                "Content-Type `text/plain`",
            ),
            (|a| a.cache_control = None, "no Cache-Control"),
            (|a| a.md5 = "bbb".into(), "MD5 bbb, not aaa"),
        ];
        for (change, want) in cases {
            let mut got = good.clone();
            change(&mut got);
            let found = differences(&t, &got).join("; ");
            assert!(found.contains(want), "{found} lacks {want}");
        }
    }
}
