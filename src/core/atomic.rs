//! Atomic releases (`atomic = true`), decided purely: where each file of a release lives, in
//! the release's own prefix or in the shared pool of fingerprinted files at their own names;
//! the pointer the KeyValueStore holds for the live release; and the lookups the routing
//! function makes to send a URL to the very key the plan placed its file at.
//!
//! The function cannot run the fingerprint evidence, so the placement is made of what it can
//! read: the pointer names the release and the pool folders (the folders whose files are
//! mostly fingerprinted), and a file in a pool folder that is not in the pool (no evidence, or
//! its bytes changed under the same name) is an exception, one KVS key per file. A
//! fingerprinted file outside a pool folder goes to the release, copied per release like any
//! other: never the other way round.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::core::fingerprint::{CacheClass, Evidence};
use crate::core::routing::{MAX_FUNCTION_BYTES, RoutingInputs, TooLarge};

/// The KVS key whose value is the live release's pointer.
pub const LIVE_KEY: &str = "live";

/// CloudFront's limit on a KVS value, in bytes.
pub const MAX_VALUE_BYTES: usize = 1024;

/// CloudFront's limit on a KVS key, in bytes.
pub const MAX_KEY_BYTES: usize = 512;

/// The most exception keys a release may need: past this, a folder is not a pool folder (its
/// files go to the release), so a switch never waits on thousands of KVS writes.
pub const MAX_EXCEPTIONS: usize = 200;

/// Where a release's files go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placement {
    /// Files in the pool at their own names (relative paths).
    pub pool: BTreeSet<String>,
    /// Files under the release's prefix.
    pub release: BTreeSet<String>,
    /// The pool folders, as URL paths ending in `/` (percent-encoded as CloudFront hands URIs
    /// to the function): a file directly in one is in the pool unless it is an exception.
    pub pool_folders: Vec<String>,
    /// Files directly in a pool folder that are not in the pool, as URL paths (encoded).
    pub exceptions: Vec<String>,
}

/// What the KVS holds for a live release (or a preview): its id and its pool folders, as
/// compact JSON (`{"r":"...","p":["/assets/"]}`), at most `MAX_VALUE_BYTES`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pointer {
    #[serde(rename = "r")]
    pub release: String,
    #[serde(rename = "p")]
    pub pool_folders: Vec<String>,
}

impl Pointer {
    /// The value written to the KVS.
    #[must_use]
    pub fn value(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The KVS key that marks `uri` (a file directly in a pool folder) as not in the pool for
/// release `id`.
#[must_use]
pub fn exception_key(id: &str, uri: &str) -> String {
    format!("x/{id}{uri}")
}

/// The folder of `rel` as a URL path ending in `/` (`/` for the root), encoded.
fn folder_url(rel: &str) -> String {
    let folder = rel.rsplit_once('/').map_or("", |(folder, _)| folder);
    if folder.is_empty() {
        "/".to_owned()
    } else {
        format!("/{}/", crate::core::routing::encode_path(folder))
    }
}

/// `rel` as the URL path the function sees, encoded.
fn url_of(rel: &str) -> String {
    format!("/{}", crate::core::routing::encode_path(rel))
}

/// The files directly in one folder: proven immutable, and the others.
#[derive(Debug, Default)]
struct Folder<'a> {
    proven: Vec<&'a str>,
    others: Vec<&'a str>,
}

/// Places the files `rels` of release `id`, given what the build says about them
/// (`evidence`, the history of rewritten names included). A file goes in the pool only when
/// the evidence proves it immutable and its folder is a pool folder: a folder (never the root,
/// where pages live) in which proven files outnumber the others, whose exceptions stay within
/// `MAX_EXCEPTIONS` and `MAX_KEY_BYTES`, and whose URL still fits the pointer.
#[must_use]
pub fn place<'a>(
    rels: impl IntoIterator<Item = &'a str>,
    evidence: &Evidence,
    id: &str,
) -> Placement {
    let mut folders: BTreeMap<String, Folder> = BTreeMap::new();
    for rel in rels {
        let entry = folders.entry(folder_url(rel)).or_default();
        if evidence.verdict(rel).class == CacheClass::Immutable {
            entry.proven.push(rel);
        } else {
            entry.others.push(rel);
        }
    }
    // The folders with the most proven files are chosen first.
    let mut candidates: Vec<(&String, &Folder)> = folders
        .iter()
        .filter(|(url, f)| *url != "/" && f.proven.len() > f.others.len())
        .collect();
    candidates.sort_by(|a, b| (b.1.proven.len().cmp(&a.1.proven.len())).then(a.0.cmp(b.0)));
    let mut pointer = Pointer {
        release: id.to_owned(),
        pool_folders: Vec::new(),
    };
    let mut exceptions = Vec::new();
    for (url, folder) in candidates {
        let extra: Vec<String> = folder.others.iter().map(|rel| url_of(rel)).collect();
        let keys_fit = extra
            .iter()
            .all(|uri| exception_key(id, uri).len() <= MAX_KEY_BYTES);
        if !keys_fit || exceptions.len() + extra.len() > MAX_EXCEPTIONS {
            continue;
        }
        pointer.pool_folders.push(url.clone());
        if pointer.value().len() > MAX_VALUE_BYTES {
            pointer.pool_folders.pop();
            continue;
        }
        exceptions.extend(extra);
    }
    pointer.pool_folders.sort();
    exceptions.sort();
    let mut placement = Placement {
        pool_folders: pointer.pool_folders,
        exceptions,
        ..Placement::default()
    };
    for (url, folder) in &folders {
        let pooled = placement.pool_folders.contains(url);
        for rel in &folder.proven {
            let side = if pooled {
                &mut placement.pool
            } else {
                &mut placement.release
            };
            side.insert((*rel).to_owned());
        }
        placement
            .release
            .extend(folder.others.iter().map(|rel| (*rel).to_owned()));
    }
    placement
}

impl Placement {
    /// The pointer to this placement's release `id`.
    #[must_use]
    pub fn pointer(&self, id: &str) -> Pointer {
        Pointer {
            release: id.to_owned(),
            pool_folders: self.pool_folders.clone(),
        }
    }
}

/// The routing function of an atomic site: the routing of `inputs`, then every URL it did not
/// answer sent to its key, in the pool or in the live release's prefix, as the KVS pointer says
/// (`releases_url`: `/_releases/` as the origin serves the releases).
///
/// # Errors
/// When it would be larger than CloudFront allows.
pub fn function(inputs: &RoutingInputs, releases_url: &str) -> Result<String, TooLarge> {
    let routed = inputs.function()?;
    let (head, handler) = function_lines(releases_url);
    let s = format!(
        "{head}{}{handler}",
        routed.replacen("function handler(event) {", "function route(event) {", 1)
    );
    if s.len() > MAX_FUNCTION_BYTES {
        return Err(TooLarge {
            bytes: s.len(),
            redirects: inputs.config.redirects.len(),
            exceptions: inputs.layout.exceptions.len(),
        });
    }
    Ok(s)
}

/// The lines the atomic routing function adds to the generated one: the KVS handle and the
/// handler that sends every URL the routing did not answer to its key.
fn function_lines(releases_url: &str) -> (String, String) {
    let head = "import cf from 'cloudfront';\nvar kvs = cf.kvs();\n".to_owned();
    let releases = serde_json::Value::String(releases_url.to_owned()).to_string();
    let handler = format!(
        r#"var RELEASES = {releases};
async function handler(event) {{
  var out = route(event);
  if (out.statusCode) return out;
  var live = await kvs.get('{LIVE_KEY}', {{format: 'json'}});
  var uri = out.uri;
  var folder = uri.slice(0, uri.lastIndexOf('/') + 1);
  var pooled = live.p.indexOf(folder) !== -1 && !(await kvs.exists('x/' + live.r + uri));
  if (!pooled) out.uri = RELEASES + live.r + uri;
  return out;
}}
"#
    );
    (head, handler)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "20261206T000000.000Z-abcdef";

    fn placed(rels: &[&str]) -> Placement {
        let evidence = Evidence::new(rels.iter().copied());
        place(rels.iter().copied(), &evidence, ID)
    }

    #[test]
    fn fingerprinted_folders_are_the_pool_and_everything_else_the_release() {
        let rels = [
            "index.html",
            "about/index.html",
            "favicon.svg",
            "app.3f2a1b9c.js",
            "assets/index-BbXQDiXP.js",
            "assets/index-Cwq-3PKq.css",
            "assets/logo-DkQx9_2a.svg",
            "assets/data.json",
        ];
        let p = placed(&rels);
        assert_eq!(p.pool_folders, ["/assets/"]);
        let pool: Vec<&str> = p.pool.iter().map(String::as_str).collect();
        assert_eq!(
            pool,
            [
                "assets/index-BbXQDiXP.js",
                "assets/index-Cwq-3PKq.css",
                "assets/logo-DkQx9_2a.svg"
            ]
        );
        // A proven file at the root stays in the release; a plain one in a pool folder is an
        // exception the function looks up.
        assert!(p.release.contains("app.3f2a1b9c.js"), "{p:?}");
        assert_eq!(p.exceptions, ["/assets/data.json"]);
        assert_eq!(p.pool.len() + p.release.len(), rels.len());
    }

    #[test]
    fn a_rewritten_name_goes_to_the_release_as_an_exception() {
        let rels = [
            "assets/a-BbXQDiXP.js",
            "assets/b-Cwq-3PKq.js",
            "assets/c-DkQx9_2a.js",
        ];
        let evidence =
            Evidence::new(rels.iter().copied()).with_rewritten(["assets/b-Cwq-3PKq.js".to_owned()]);
        let p = place(rels.iter().copied(), &evidence, "r1");
        assert_eq!(p.pool_folders, ["/assets/"]);
        assert!(p.release.contains("assets/b-Cwq-3PKq.js"));
        assert_eq!(p.exceptions, ["/assets/b-Cwq-3PKq.js"]);
    }

    #[test]
    fn folders_of_mostly_plain_files_and_the_root_are_never_pool_folders() {
        let p = placed(&[
            "img/a.png",
            "img/b.png",
            "img/c-BbXQDiXP.png",
            "x-Cwq-3PKq.js",
            "y-DkQx9_2a.js",
        ]);
        assert!(p.pool_folders.is_empty() && p.pool.is_empty(), "{p:?}");
        assert_eq!(p.release.len(), 5);
    }

    #[test]
    fn the_pointer_fits_a_kvs_value_and_the_exceptions_their_bound() {
        // 300 folders of fingerprinted files: only as many as fit 1 KB become pool folders.
        let rels: Vec<String> = (0..300)
            .flat_map(|f| {
                ["a-BbXQDiXP.js", "b-Cwq-3PKq.js"].map(|name| format!("chunks-{f:03}/{name}"))
            })
            .collect();
        let p = placed(&rels.iter().map(String::as_str).collect::<Vec<_>>());
        let value = p.pointer(ID).value();
        assert!(value.len() <= MAX_VALUE_BYTES, "{}", value.len());
        assert!(p.pool_folders.len() > 10, "{}", p.pool_folders.len());
        assert_eq!(p.pool.len(), 2 * p.pool_folders.len());
        assert_eq!(p.pool.len() + p.release.len(), rels.len());
    }

    #[test]
    fn names_are_encoded_as_cloudfront_hands_them_to_the_function() {
        let p = placed(&[
            "my assets/a-BbXQDiXP.js",
            "my assets/b-Cwq-3PKq.js",
            "my assets/read me.txt",
        ]);
        assert_eq!(p.pool_folders, ["/my%20assets/"]);
        assert_eq!(p.exceptions, ["/my%20assets/read%20me.txt"]);
        assert_eq!(
            Pointer {
                release: "r".into(),
                pool_folders: vec!["/a/".into()]
            }
            .value(),
            r#"{"r":"r","p":["/a/"]}"#
        );
    }
}
