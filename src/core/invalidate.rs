//! Which CloudFront paths a deploy must invalidate, as pure arithmetic: users pay per path and
//! wait on every invalidation, so only URLs that were cached before and changed are sent,
//! encoded the way CloudFront expects, and long lists collapse to the fewest wildcards that
//! cover them within CloudFront's limits.

use std::collections::{BTreeMap, BTreeSet};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;

use crate::core::exec_report::ExecReport;
use crate::core::plan::Plan;

/// CloudFront allows at most 3000 file paths in progress per distribution.
pub const MAX_PATHS_IN_PROGRESS: usize = 3000;
/// CloudFront allows at most 15 wildcard paths in progress per distribution.
pub const MAX_WILDCARDS_IN_PROGRESS: usize = 15;

/// Characters kept as they are in an invalidation path: RFC 3986 unreserved, plus `/` between
/// segments. Everything else is percent-encoded as UTF-8 bytes: space `%20`, `+` `%2B`, `#`
/// `%23`, and `*` `%2A` (a literal `*` would be a wildcard).
const PATH: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// The paths of one invalidation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Invalidation {
    /// Encoded, sorted; wildcards end in `*`.
    pub paths: Vec<String>,
    /// How many URLs changed before collapsing.
    pub urls: usize,
    /// Whether wildcards replaced some of the URLs.
    pub collapsed: bool,
}

/// The URLs (decoded, starting with `/`) under which the distribution serves `key`: the key's
/// own path, and for `dir/index.html` also `/dir/` (the root page also `/`). `origin_path` is
/// the origin's `OriginPath` (`""` or like `/site`): a key outside it is not served by this
/// distribution, so it has no URL.
#[must_use]
pub fn urls_for_key(key: &str, origin_path: &str) -> Vec<String> {
    let origin = origin_path.trim_matches('/');
    let rel = if origin.is_empty() {
        key
    } else {
        match key
            .strip_prefix(origin)
            .and_then(|rest| rest.strip_prefix('/'))
        {
            Some(rest) => rest,
            None => return Vec::new(),
        }
    };
    let mut urls = vec![format!("/{rel}")];
    if rel == "index.html" {
        urls.push("/".to_owned());
    } else if let Some(dir) = rel.strip_suffix("/index.html") {
        urls.push(format!("/{dir}/"));
    }
    urls
}

/// Percent-encodes a decoded URL path for CloudFront (RFC 3986).
#[must_use]
pub fn encode_path(url: &str) -> String {
    utf8_percent_encode(url, PATH).to_string()
}

/// The folder wildcards that could cover `url`: `/a/b/c.html` -> `/a/`, `/a/b/`. The root
/// folder is left out: `/*` is the last resort, not a candidate.
fn folders_of(url: &str) -> impl Iterator<Item = &str> {
    url.match_indices('/')
        .skip(1)
        .map(move |(i, _)| &url[..=i])
        .filter(move |folder| folder.len() < url.len() || url.ends_with('/'))
}

/// Invalidation for the keys a deploy overwrote or deleted.
///
/// Up to `max_paths` URLs go as they are. Past that, folders are replaced by `folder/*`
/// greedily, always the one that saves the most paths (the deeper one on ties, to invalidate
/// no more than needed), until the list fits, with at most `MAX_WILDCARDS_IN_PROGRESS`
/// wildcards; if that cannot make it fit, the answer is `/*`. `max_paths` is capped at
/// `MAX_PATHS_IN_PROGRESS`.
#[must_use]
pub fn invalidation<'a>(
    changed_keys: impl IntoIterator<Item = &'a str>,
    origin_path: &str,
    max_paths: usize,
) -> Invalidation {
    let urls: BTreeSet<String> = changed_keys
        .into_iter()
        .flat_map(|k| urls_for_key(k, origin_path))
        .collect();
    let limit = max_paths.clamp(1, MAX_PATHS_IN_PROGRESS);
    let count = urls.len();
    if count <= limit {
        return Invalidation {
            paths: urls.iter().map(|u| encode_path(u)).collect(),
            urls: count,
            collapsed: false,
        };
    }
    match collapse(&urls, limit) {
        Some(paths) => Invalidation {
            paths,
            urls: count,
            collapsed: true,
        },
        None => Invalidation {
            paths: vec!["/*".to_owned()],
            urls: count,
            collapsed: true,
        },
    }
}

/// Greedy folder collapsing; None when even the best 15 wildcards leave too many paths.
fn collapse(urls: &BTreeSet<String>, limit: usize) -> Option<Vec<String>> {
    let mut wildcards: BTreeSet<String> = BTreeSet::new();
    let covered = |url: &str, wildcards: &BTreeSet<String>| {
        wildcards.iter().any(|w| url.starts_with(w.as_str()))
    };
    loop {
        let uncovered: Vec<&str> = urls
            .iter()
            .map(String::as_str)
            .filter(|u| !covered(u, &wildcards))
            .collect();
        if uncovered.len() + wildcards.len() <= limit {
            let mut paths: Vec<String> = wildcards
                .iter()
                .map(|w| format!("{}*", encode_path(w)))
                .chain(uncovered.iter().map(|u| encode_path(u)))
                .collect();
            paths.sort();
            return Some(paths);
        }
        // Paths each folder would save: the URLs it newly covers, plus the wildcards it
        // absorbs, minus itself.
        let mut under: BTreeMap<&str, usize> = BTreeMap::new();
        for url in &uncovered {
            for folder in folders_of(url) {
                *under.entry(folder).or_default() += 1;
            }
        }
        let best = under
            .iter()
            .filter(|(folder, _)| !covered(folder, &wildcards))
            .map(|(folder, n)| {
                let absorbed = wildcards.iter().filter(|w| w.starts_with(folder)).count();
                (*folder, n + absorbed, absorbed)
            })
            .filter(|(_, saved_plus_one, absorbed)| {
                *saved_plus_one > 1 && wildcards.len() - absorbed < MAX_WILDCARDS_IN_PROGRESS
            })
            // Most saved; on a tie the deeper folder (longer path) invalidates less.
            .max_by_key(|(folder, saved_plus_one, _)| (*saved_plus_one, folder.len()))?;
        let folder = best.0.to_owned();
        wildcards.retain(|w| !w.starts_with(&folder));
        wildcards.insert(folder);
    }
}

/// What a deploy or rollback invalidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalidate {
    /// The URLs of overwritten and deleted objects (nothing when nothing changed).
    Changed,
    /// `/*`.
    All,
    /// Nothing.
    Nothing,
}

/// The invalidation `how` asks for, given the keys a CDN may have cached: their URLs
/// (collapsed above `max_paths`), `/*`, or none; None when there is nothing to send.
#[must_use]
pub fn invalidation_for(
    how: Invalidate,
    keys: Vec<&str>,
    origin_path: &str,
    max_paths: usize,
) -> Option<Invalidation> {
    match how {
        Invalidate::Nothing => None,
        Invalidate::All => Some(Invalidation {
            paths: vec!["/*".to_owned()],
            urls: keys.len(),
            collapsed: true,
        }),
        Invalidate::Changed => {
            Some(invalidation(keys, origin_path, max_paths)).filter(|inv| !inv.paths.is_empty())
        }
    }
}

/// `inv` with the paths a failed invalidation left pending added (deduplicated); above
/// `max_paths` paths in all, `/*`. None when there is nothing to send.
#[must_use]
pub fn with_pending(
    inv: Option<Invalidation>,
    pending: &[String],
    max_paths: usize,
) -> Option<Invalidation> {
    if pending.is_empty() {
        return inv;
    }
    let mut merged = inv.unwrap_or(Invalidation {
        paths: Vec::new(),
        urls: 0,
        collapsed: false,
    });
    let mut paths: BTreeSet<String> = merged.paths.drain(..).collect();
    paths.extend(pending.iter().cloned());
    merged.urls += pending.len();
    let wildcards = paths.iter().filter(|p| p.ends_with('*')).count();
    if paths.contains("/*")
        || paths.len() > max_paths.min(MAX_PATHS_IN_PROGRESS)
        || wildcards > MAX_WILDCARDS_IN_PROGRESS
    {
        merged.paths = vec!["/*".to_owned()];
        merged.collapsed = true;
    } else {
        merged.paths = paths.into_iter().collect();
    }
    Some(merged)
}

/// What a run invalidates: the paths of `keys` (`invalidation_for`) with those an earlier
/// run's failed invalidation left `pending` (`with_pending`); nothing with `--no-invalidate`.
#[must_use]
pub fn of_run(
    how: Invalidate,
    keys: Vec<&str>,
    origin_path: &str,
    max_paths: usize,
    pending: &[String],
) -> Option<Invalidation> {
    match how {
        Invalidate::Nothing => None,
        _ => with_pending(
            invalidation_for(how, keys, origin_path, max_paths),
            pending,
            max_paths,
        ),
    }
}

/// The keys a plan would write or delete that a CDN may have cached, for a dry run's
/// invalidation.
#[must_use]
pub fn planned_cached_keys(plan: &Plan) -> Vec<&str> {
    plan.actions
        .iter()
        .filter(|a| a.overwrites_existing())
        .map(|a| a.key.as_str())
        .collect()
}

/// The keys an execution wrote or deleted that a CDN may have cached
/// (`Action::overwrites_existing`): not new keys, not fingerprinted files whose grace ended.
#[must_use]
pub fn cached_keys<'a>(plan: &'a Plan, result: &'a ExecReport) -> Vec<&'a str> {
    let cached: std::collections::BTreeSet<&str> = plan
        .actions
        .iter()
        .filter(|a| a.overwrites_existing())
        .map(|a| a.key.as_str())
        .collect();
    result
        .writes
        .iter()
        .map(|w| w.key.as_str())
        .chain(result.deleted_keys.iter().map(String::as_str))
        .filter(|k| cached.contains(k))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_paths_join_the_next_invalidation() {
        let own = || {
            Some(Invalidation {
                paths: vec!["/".into(), "/index.html".into()],
                urls: 2,
                collapsed: false,
            })
        };
        let pending = ["/app.js".to_owned(), "/index.html".to_owned()];
        let got = with_pending(own(), &pending, 15).unwrap();
        assert_eq!(got.paths, ["/", "/app.js", "/index.html"]);
        assert_eq!(
            with_pending(own(), &[], 15).unwrap().paths,
            own().unwrap().paths
        );
        assert_eq!(
            with_pending(None, &pending, 15).unwrap().paths,
            ["/app.js", "/index.html"]
        );
        assert_eq!(with_pending(own(), &pending, 2).unwrap().paths, ["/*"]);
        assert!(with_pending(None, &[], 15).is_none());
        // More wildcards than CloudFront allows in progress: one `/*` instead.
        let wild: Vec<String> = (0..16).map(|i| format!("/d{i}/*")).collect();
        assert_eq!(with_pending(None, &wild, 100).unwrap().paths, ["/*"]);
    }

    #[test]
    fn urls_of_keys() {
        let cases: [(&str, &str, &[&str]); 8] = [
            ("index.html", "", &["/index.html", "/"]),
            ("about/index.html", "", &["/about/index.html", "/about/"]),
            ("a/b/index.html", "", &["/a/b/index.html", "/a/b/"]),
            ("assets/app.js", "", &["/assets/app.js"]),
            ("site/index.html", "/site", &["/index.html", "/"]),
            ("site/docs/x.html", "/site/", &["/docs/x.html"]),
            ("other/x.html", "/site", &[]),
            ("sitemap.xml", "/site", &[]),
        ];
        for (key, origin, want) in cases {
            assert_eq!(urls_for_key(key, origin), want, "{key} behind {origin:?}");
        }
    }

    #[test]
    fn encoding() {
        let cases = [
            ("/docs/getting started.html", "/docs/getting%20started.html"),
            ("/a+b.txt", "/a%2Bb.txt"),
            ("/c#d.txt", "/c%23d.txt"),
            ("/café/ü.txt", "/caf%C3%A9/%C3%BC.txt"),
            ("/star*.txt", "/star%2A.txt"),
            ("/ok-_.~/x.html", "/ok-_.~/x.html"),
            ("/", "/"),
        ];
        for (url, want) in cases {
            assert_eq!(encode_path(url), want, "{url}");
        }
    }

    #[test]
    fn one_page_and_the_root_page() {
        let inv = invalidation(["docs/getting started.html"], "", 100);
        assert_eq!(inv.paths, ["/docs/getting%20started.html"]);
        assert!(!inv.collapsed);
        let inv = invalidation(["index.html"], "", 100);
        assert_eq!(inv.paths, ["/", "/index.html"]);
        assert_eq!(inv.urls, 2);
    }

    #[test]
    fn forty_pages_under_one_folder_collapse_to_its_wildcard() {
        let keys: Vec<String> = (0..40).map(|i| format!("blog/post{i}.html")).collect();
        let mut all: Vec<&str> = keys.iter().map(String::as_str).collect();
        all.push("about.html");
        let inv = invalidation(all.iter().copied(), "", 10);
        assert_eq!(inv.paths, ["/about.html", "/blog/*"]);
        assert!(inv.collapsed);
        assert_eq!(inv.urls, 41);
        // Under the threshold nothing collapses.
        let inv = invalidation(all.iter().copied(), "", 100);
        assert_eq!(inv.paths.len(), 41);
    }

    #[test]
    fn collapsing_picks_the_folders_that_cover_the_most() {
        // (groups of `count` pages `{stem}{i}.html`, single keys, the path limit, the paths)
        type Case<'a> = (&'a [(&'a str, usize)], &'a [&'a str], usize, &'a [&'a str]);
        let cases: [Case<'_>; 3] = [
            // The deeper folder wins a tie.
            (&[("docs/api/p", 5)], &[], 3, &["/docs/api/*"]),
            // A parent folder beats its children.
            (
                &[("docs/a/p", 6), ("docs/b/p", 6), ("docs/c", 3)],
                &["index.html"],
                3,
                &["/", "/docs/*", "/index.html"],
            ),
            // Unicode keys collapse under encoded wildcards.
            (&[("café/p", 4)], &[], 2, &["/caf%C3%A9/*"]),
        ];
        for (groups, singles, limit, expected) in cases {
            let mut keys: Vec<String> = groups
                .iter()
                .flat_map(|(stem, n)| (0..*n).map(move |i| format!("{stem}{i}.html")))
                .collect();
            keys.extend(singles.iter().map(|k| (*k).to_owned()));
            let inv = invalidation(keys.iter().map(String::as_str), "", limit);
            assert_eq!(inv.paths, expected, "{groups:?}");
        }
    }

    #[test]
    fn five_thousand_keys_fit_the_limits() {
        // 5000 keys over 100 folders: at most 15 wildcards, so the rest must fit beside them.
        let keys: Vec<String> = (0..5000)
            .map(|i| format!("f{:03}/page{i}.html", i % 100))
            .collect();
        let inv = invalidation(keys.iter().map(String::as_str), "", 3000);
        let wildcards = inv.paths.iter().filter(|p| p.ends_with('*')).count();
        assert!(wildcards <= MAX_WILDCARDS_IN_PROGRESS, "{wildcards}");
        assert!(inv.paths.len() <= 3000, "{}", inv.paths.len());
        assert!(inv.collapsed);
        // Every changed URL is covered by a path.
        for k in &keys {
            let url = format!("/{k}");
            assert!(
                inv.paths
                    .iter()
                    .any(|p| p == &url || p.strip_suffix('*').is_some_and(|w| url.starts_with(w))),
                "{url} not covered"
            );
        }
        // With a low threshold, 15 wildcards cannot cover 100 folders: everything goes.
        let inv = invalidation(keys.iter().map(String::as_str), "", 50);
        assert_eq!(inv.paths, ["/*"]);
    }

    #[test]
    fn limit_is_capped_at_cloudfront_maximum() {
        let keys: Vec<String> = (0..3500).map(|i| format!("d{}/p{i}.html", i % 2)).collect();
        let inv = invalidation(keys.iter().map(String::as_str), "", 10_000);
        assert!(inv.paths.len() <= MAX_PATHS_IN_PROGRESS);
        assert!(inv.collapsed);
    }

    #[test]
    fn nothing_changed_means_no_paths() {
        let inv = invalidation(std::iter::empty(), "", 100);
        assert!(inv.paths.is_empty());
        assert_eq!(inv.urls, 0);
    }
}
