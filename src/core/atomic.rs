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

use crate::core::etag::hex;
use crate::core::fingerprint::{CacheClass, Evidence};
use crate::core::object_headers::Headers;
use crate::core::objects::{LocalFile, LocalTree, RemoteListing, RemoteObject};
use crate::core::plan::{Action, Op, Phase, Plan, PlanConfig, Reason};
use crate::core::routing::{MAX_FUNCTION_BYTES, RoutingInputs, TooLarge};

/// The default name of an atomic site's KeyValueStore in front of `distribution`.
#[must_use]
pub fn store_name(distribution: &str) -> String {
    format!("shipfront-{distribution}")
}

/// `name` when CloudFront accepts it as a KeyValueStore's name (1 to 64 letters, digits, `-`
/// and `_`), else why not.
///
/// # Errors
/// What is wrong with the name.
pub fn check_store_name(name: &str) -> Result<String, String> {
    let fine = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if name.is_empty() || name.len() > 64 {
        return Err("a KeyValueStore name has 1 to 64 characters".to_owned());
    }
    match name.chars().find(|c| !fine(*c)) {
        Some(c) => Err(format!(
            "`{}` is not allowed: use letters, digits, `-` and `_`",
            c.escape_default()
        )),
        None => Ok(name.to_owned()),
    }
}

/// The URL path of that folder as the function rewrites to it: the site's URLs are its files'
/// paths under the prefix, as the routing function's are.
pub const RELEASES_URL: &str = "/_releases/";

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
    /// The KVS keys that mark this placement's exceptions for release `id`.
    #[must_use]
    pub fn exception_keys(&self, id: &str) -> Vec<String> {
        self.exceptions
            .iter()
            .map(|uri| exception_key(id, uri))
            .collect()
    }

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
    let (head, handler) = function_lines(releases_url, inputs.config.preview_domain.as_deref());
    // The first line, naming the version that wrote it, stays first.
    let (first, rest) = routed.split_once('\n').unwrap_or((routed.as_str(), ""));
    let s = format!(
        "{first}\n{head}{}{handler}",
        rest.replacen("function handler(event) {", "function route(event) {", 1)
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
/// handler that sends every URL the routing did not answer to its key, in the release `live`
/// points at or, on the host `NAME.<preview_domain>`, the one the preview key `p/NAME` points
/// at (404 when there is no such preview).
fn function_lines(releases_url: &str, preview_domain: Option<&str>) -> (String, String) {
    let head = "import cf from 'cloudfront';\nvar kvs = cf.kvs();\n".to_owned();
    let releases = serde_json::Value::String(releases_url.to_owned()).to_string();
    // Without previews, the text is as it was before previews existed.
    let pointer_key = match preview_domain {
        None => format!("  var live = await kvs.get('{LIVE_KEY}', {{format: 'json'}});\n"),
        Some(domain) => {
            let suffix = serde_json::Value::String(format!(".{domain}")).to_string();
            format!(
                r#"  var key = '{LIVE_KEY}';
  var host = event.request.headers.host ? event.request.headers.host.value : '';
  host = host.toLowerCase().split(':')[0];
  var PREVIEWS = {suffix};
  if (host.length > PREVIEWS.length && host.slice(-PREVIEWS.length) === PREVIEWS) {{
    key = '{prefix}' + host.slice(0, -PREVIEWS.length);
    if (!(await kvs.exists(key))) return {{statusCode: 404, statusDescription: 'Not Found'}};
  }}
  var live = await kvs.get(key, {{format: 'json'}});
"#,
                prefix = crate::core::preview::KEY_PREFIX
            )
        }
    };
    let handler = format!(
        r#"var RELEASES = {releases};
async function handler(event) {{
  var out = route(event);
  if (out.statusCode) return out;
{pointer_key}  var uri = out.uri;
  var folder = uri.slice(0, uri.lastIndexOf('/') + 1);
  var pooled = live.p.indexOf(folder) !== -1 && !(await kvs.exists('x/' + live.r + uri));
  if (!pooled) out.uri = RELEASES + live.r + uri;
  return out;
}}
"#
    );
    (head, handler)
}

/// Whether the routing function `code` serves previews under `domain` (it was generated with
/// that `preview_domain`).
#[must_use]
pub fn serves_previews(code: &str, domain: &str) -> bool {
    let suffix = serde_json::Value::String(format!(".{domain}")).to_string();
    code.contains(&format!("var PREVIEWS = {suffix};"))
}

/// Where a site's atomic releases live, and the release being made.
#[derive(Debug, Clone)]
pub struct Release<'a> {
    /// The new release's id.
    pub id: &'a str,
    /// The folder of the releases under the site prefix, ending in `/` (`_releases/`).
    pub releases_dir: &'a str,
}

impl Release<'_> {
    /// The key of `rel` in release `id` of the site under `prefix`.
    #[must_use]
    pub fn key_in(&self, prefix: &str, id: &str, rel: &str) -> String {
        format!("{prefix}{}{id}/{rel}", self.releases_dir)
    }
}

/// An atomic deploy's plan: the object writes (pool uploads, the release's uploads and
/// copies), then the switch: the exception keys and the pointer, written to the KVS in one
/// conditional call once every object is there.
#[derive(Debug, Clone)]
pub struct AtomicPlan {
    pub plan: Plan,
    pub placement: Placement,
    pub pointer: Pointer,
}

impl AtomicPlan {
    /// The KVS keys the switch writes besides the pointer: one per exception.
    #[must_use]
    pub fn exception_keys(&self) -> Vec<String> {
        self.placement.exception_keys(&self.pointer.release)
    }
}

/// Plans release `release` of the build `local` on a bucket listed as `remote`, after the
/// atomic release `previous` (None: the first). Fingerprinted files proven so go to the pool at
/// their own names, uploaded only when the pool lacks them; a name the pool holds with other
/// bytes is rewritten, so it goes to the release like any plain file. Every other file goes
/// under the release's prefix: copied server-side from the previous release when its bytes
/// and headers are the same there, else uploaded. Nothing is deleted (retention prunes).
#[must_use]
pub fn plan(
    local: &LocalTree,
    remote: &RemoteListing,
    previous: Option<&crate::core::release::Release>,
    config: &PlanConfig,
    release: &Release<'_>,
) -> AtomicPlan {
    let prefix = config.prefix.as_str();
    let remote_by_key: BTreeMap<&str, &RemoteObject> =
        remote.objects.iter().map(|o| (o.key.as_str(), o)).collect();
    let same_bytes = |f: &LocalFile, o: &RemoteObject| {
        o.size == f.size && (o.etag == f.expected_etag() || o.etag == hex(&f.md5))
    };
    let rewritten_now = local.files.iter().filter(|f| {
        remote_by_key
            .get(f.key.as_str())
            .is_some_and(|o| !same_bytes(f, o))
    });
    let recorded = previous.into_iter().flat_map(|p| &p.rewritten);
    let evidence = Evidence::new(local.files.iter().map(|f| f.rel.as_str())).with_rewritten(
        recorded
            .filter_map(|key| key.strip_prefix(prefix))
            .map(str::to_owned)
            .chain(rewritten_now.map(|f| f.rel.clone())),
    );
    let placement = place(
        local.files.iter().map(|f| f.rel.as_str()),
        &evidence,
        release.id,
    );
    let mut plan = Plan::new(config, local.notes.clone(), evidence);
    for file in &local.files {
        let headers = config.headers.headers_for(&file.rel, &plan.evidence);
        let pooled = placement.pool.contains(&file.rel);
        let action = if pooled {
            let in_pool = remote_by_key.get(file.key.as_str());
            if in_pool.is_some_and(|o| same_bytes(file, o)) {
                plan.unchanged += 1;
                plan.unchanged_bytes += file.size;
                continue;
            }
            upload(file, file.key.clone(), headers)
        } else {
            let key = release.key_in(prefix, release.id, &file.rel);
            match carried(file, &headers, previous, prefix, release) {
                Some((from, version_id)) => Action {
                    op: Op::Copy { from, version_id },
                    reason: Reason::New,
                    phase: Phase::Assets,
                    size: file.size,
                    key,
                },
                None => upload(file, key, headers),
            }
        };
        plan.actions.push(action);
    }
    plan.actions
        .sort_by(|a, b| (a.phase, &a.key).cmp(&(b.phase, &b.key)));
    let pointer = placement.pointer(release.id);
    AtomicPlan {
        plan,
        placement,
        pointer,
    }
}

impl AtomicPlan {
    /// Whether this release would be `previous` again: every file of it copied (same bytes and
    /// headers), none more or fewer, the same pool and the same exceptions. Such a deploy makes
    /// no release (a new one would only push older ones out of retention).
    #[must_use]
    pub fn repeats(
        &self,
        previous: &crate::core::release::Release,
        prefix: &str,
        releases_dir: &str,
    ) -> bool {
        let Some(recorded) = &previous.atomic else {
            return false;
        };
        let Ok(pointer) = serde_json::from_str::<Pointer>(&recorded.pointer) else {
            return false;
        };
        if self
            .plan
            .actions
            .iter()
            .any(|a| !matches!(a.op, Op::Copy { .. }))
        {
            return false;
        }
        let releases = format!("{prefix}{releases_dir}");
        let own = format!("{releases}{}/", previous.id);
        let keys = previous.objects.keys();
        let release: BTreeSet<&str> = keys.clone().filter_map(|k| k.strip_prefix(&own)).collect();
        let pool: BTreeSet<&str> = keys
            .filter(|k| !k.starts_with(&releases))
            .filter_map(|k| k.strip_prefix(prefix))
            .collect();
        let marker = format!("x/{}", previous.id);
        let exceptions: Vec<&str> = recorded
            .exception_keys
            .iter()
            .filter_map(|k| k.strip_prefix(&marker))
            .collect();
        release == self.placement.release.iter().map(String::as_str).collect()
            && pool == self.placement.pool.iter().map(String::as_str).collect()
            && pointer.pool_folders == self.placement.pool_folders
            && exceptions
                == self
                    .placement
                    .exceptions
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
    }
}

/// A plan with nothing to write: an atomic rollback's, which only switches the pointer.
#[must_use]
pub fn empty_plan(bucket: &str, prefix: &str) -> Plan {
    Plan {
        bucket: bucket.to_owned(),
        prefix: prefix.to_owned(),
        actions: Vec::new(),
        unchanged: 0,
        unchanged_bytes: 0,
        kept_stale: 0,
        kept_assets: BTreeMap::new(),
        keep_assets: 0,
        notes: Vec::new(),
        warnings: Vec::new(),
        evidence: Evidence::default(),
    }
}

/// An upload of `file` to `key`: every key of a new release is new, and nothing is visible
/// before the switch, so all of them go in one phase.
fn upload(file: &std::sync::Arc<LocalFile>, key: String, headers: Headers) -> Action {
    Action {
        key,
        op: Op::Upload {
            headers,
            file: std::sync::Arc::clone(file),
        },
        reason: Reason::New,
        phase: Phase::Assets,
        size: file.size,
    }
}

/// Where the previous release holds `file` with the same bytes and headers, to be copied from:
/// its key there and the version recorded.
fn carried(
    file: &LocalFile,
    headers: &Headers,
    previous: Option<&crate::core::release::Release>,
    prefix: &str,
    release: &Release<'_>,
) -> Option<(String, Option<String>)> {
    let previous = previous?;
    let from = release.key_in(prefix, &previous.id, &file.rel);
    let recorded = previous.objects.get(&from)?;
    let same = recorded.content_md5 == hex(&file.md5)
        && recorded.size == file.size
        && *recorded.content_type == *headers.content_type
        && *recorded.cache_control == *headers.cache_control;
    same.then(|| (from, recorded.version_id.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_names_are_checked_as_cloudfront_does() {
        let long = "a".repeat(65);
        let cases = [
            ("shipfront-E2EXAMPLE", true),
            ("site_live-2", true),
            ("", false),
            (long.as_str(), false),
            ("a b", false),
            ("caf\u{e9}", false),
            ("a/b", false),
        ];
        for (name, ok) in cases {
            assert_eq!(check_store_name(name).is_ok(), ok, "{name:?}");
        }
        assert_eq!(store_name("E1"), "shipfront-E1");
    }

    /// The atomic function's first line names the version that wrote it, as every function
    /// shipfront writes does: a rollback reads it to tell a changed record from an old one.
    #[test]
    fn the_atomic_function_names_its_version_first() {
        let inputs = RoutingInputs::of(
            ["index.html", "assets/app-BbXQDiXP.js"],
            &crate::core::routing::RoutingConfig {
                mode: crate::core::routing::Mode::Pages,
                trailing_slash: crate::core::routing::TrailingSlash::AsBuilt,
                redirects: Vec::new(),
                hidden: None,
                preview_domain: None,
            },
            ".shipfront/",
            Some(""),
        );
        let code = function(&inputs, RELEASES_URL).expect("small");
        assert_eq!(
            crate::core::routing::generator_version(&code),
            Some(env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(code.lines().nth(1), Some("import cf from 'cloudfront';"));
    }

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

#[cfg(test)]
mod plan_tests {
    use super::*;
    use crate::core::object_headers::HeaderPolicy;
    use crate::core::release::ReleasedObject;
    use md5::{Digest, Md5};

    /// A file of the build at `rel` (its key too) holding `body`.
    fn local_file(rel: &str, body: &str) -> LocalFile {
        LocalFile {
            rel: rel.to_owned(),
            key: rel.to_owned(),
            path: rel.into(),
            size: body.len() as u64,
            md5: Md5::digest(body.as_bytes()).into(),
            multipart: None,
        }
    }

    fn tree(files: &[(&str, &str)]) -> LocalTree {
        LocalTree {
            files: files
                .iter()
                .map(|(rel, body)| std::sync::Arc::new(local_file(rel, body)))
                .collect(),
            warnings: Vec::new(),
            notes: Vec::new(),
        }
    }

    const DIR: &str = "_releases/";

    fn config() -> PlanConfig {
        PlanConfig {
            bucket: "b".into(),
            prefix: String::new(),
            state_prefix: ".shipfront/".into(),
            delete: true,
            headers: HeaderPolicy::default(),
            keep_assets: 1,
        }
    }

    /// A build: two pages, a plain image, and a pool folder of three bundles.
    fn build(home: &str, app: &str) -> LocalTree {
        tree(&[
            ("index.html", home),
            ("about/index.html", "about"),
            ("logo.png", "logo"),
            ("assets/app-BbXQDiXP.js", app),
            ("assets/vendor-Cwq-3PKq.js", "vendor"),
            ("assets/style-DkQx9_2a.css", "style"),
        ])
    }

    /// The record of release `id` after `planned` ran: every key it wrote, with a version, and
    /// the pool files it left alone as `remote` lists them.
    fn record_of(
        id: &str,
        planned: &AtomicPlan,
        local: &LocalTree,
    ) -> crate::core::release::Release {
        let mut record = crate::core::release::Release {
            id: id.to_owned(),
            ..crate::core::release::Release::default()
        };
        for file in &local.files {
            let headers = config()
                .headers
                .headers_for(&file.rel, &planned.plan.evidence);
            let key = if planned.placement.pool.contains(&file.rel) {
                file.key.clone()
            } else {
                format!("{DIR}{id}/{}", file.rel)
            };
            record.objects.insert(
                key.clone(),
                ReleasedObject {
                    version_id: Some(format!("v-{key}")),
                    size: file.size,
                    content_md5: hex(&file.md5),
                    etag: hex(&file.md5),
                    content_type: headers.content_type.as_str().into(),
                    cache_control: headers.cache_control.as_str().into(),
                },
            );
        }
        record
    }

    /// The bucket after `record`: its keys, with the ETags it recorded.
    fn listing_of(record: &crate::core::release::Release) -> RemoteListing {
        RemoteListing {
            objects: record
                .objects
                .iter()
                .map(|(key, o)| RemoteObject {
                    key: key.clone(),
                    etag: o.etag.clone(),
                    size: o.size,
                    headers: None,
                })
                .collect(),
            pages: 1,
            chain: 1,
        }
    }

    fn ops(planned: &AtomicPlan) -> Vec<(String, &'static str)> {
        planned
            .plan
            .actions
            .iter()
            .map(|a| (a.key.clone(), a.op.name()))
            .collect()
    }

    fn owned(pairs: &[(&str, &'static str)]) -> Vec<(String, &'static str)> {
        pairs.iter().map(|(k, op)| ((*k).to_owned(), *op)).collect()
    }

    #[test]
    fn the_first_release_uploads_the_pool_and_its_own_prefix() {
        let local = build("home 1", "app 1");
        let r1 = Release {
            id: "r1",
            releases_dir: DIR,
        };
        let planned = plan(&local, &RemoteListing::default(), None, &config(), &r1);
        assert_eq!(
            ops(&planned),
            owned(&[
                ("_releases/r1/about/index.html", "upload"),
                ("_releases/r1/index.html", "upload"),
                ("_releases/r1/logo.png", "upload"),
                ("assets/app-BbXQDiXP.js", "upload"),
                ("assets/style-DkQx9_2a.css", "upload"),
                ("assets/vendor-Cwq-3PKq.js", "upload"),
            ])
        );
        assert_eq!(planned.pointer.value(), r#"{"r":"r1","p":["/assets/"]}"#);
        assert!(planned.exception_keys().is_empty());
    }

    /// The next release: pool files already there are left alone, a new bundle is uploaded,
    /// unchanged plain files are copied from the previous release, changed ones uploaded.
    #[test]
    fn the_next_release_copies_what_did_not_change_and_uploads_the_rest() {
        let v1 = build("home 1", "app 1");
        let r1 = Release {
            id: "r1",
            releases_dir: DIR,
        };
        let first = plan(&v1, &RemoteListing::default(), None, &config(), &r1);
        let record = record_of("r1", &first, &v1);
        let mut v2 = build("home 2", "app 1");
        v2.files.push(std::sync::Arc::new(local_file(
            "assets/new-EkQx9_3b.js",
            "new",
        )));
        v2.files.sort_by(|a, b| a.key.cmp(&b.key));
        let r2 = Release {
            id: "r2",
            releases_dir: DIR,
        };
        let second = plan(&v2, &listing_of(&record), Some(&record), &config(), &r2);
        assert_eq!(
            ops(&second),
            owned(&[
                ("_releases/r2/about/index.html", "copy"),
                ("_releases/r2/index.html", "upload"),
                ("_releases/r2/logo.png", "copy"),
                ("assets/new-EkQx9_3b.js", "upload"),
            ])
        );
        assert_eq!(
            second.plan.unchanged, 3,
            "the three bundles already in the pool"
        );
        let copy = &second.plan.actions[0].op;
        assert_eq!(
            copy,
            &Op::Copy {
                from: "_releases/r1/about/index.html".into(),
                version_id: Some("v-_releases/r1/about/index.html".into()),
            }
        );
    }

    /// A bundle whose name the pool holds with other bytes: the name is no fingerprint, so the
    /// file goes to the release, and the function learns it from an exception key.
    #[test]
    fn a_pool_name_with_other_bytes_goes_to_the_release_as_an_exception() {
        let v1 = build("home", "app 1");
        let r1 = Release {
            id: "r1",
            releases_dir: DIR,
        };
        let first = plan(&v1, &RemoteListing::default(), None, &config(), &r1);
        let record = record_of("r1", &first, &v1);
        let v2 = build("home", "app 2, same name");
        let r2 = Release {
            id: "r2",
            releases_dir: DIR,
        };
        let second = plan(&v2, &listing_of(&record), Some(&record), &config(), &r2);
        assert!(second.placement.release.contains("assets/app-BbXQDiXP.js"));
        assert!(
            ops(&second).contains(&("_releases/r2/assets/app-BbXQDiXP.js".to_owned(), "upload")),
            "{:?}",
            ops(&second)
        );
        assert_eq!(second.exception_keys(), ["x/r2/assets/app-BbXQDiXP.js"]);
        // Never written over in the pool.
        assert!(
            ops(&second)
                .iter()
                .all(|(k, _)| k != "assets/app-BbXQDiXP.js")
        );
    }
}

/// What retention removes from an atomic site: the prefixes of releases no longer kept, the
/// pool files only they used, and their exception keys in the KeyValueStore.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Objects under the prefixes of releases no longer kept.
    pub release_keys: Vec<String>,
    /// Pool files no kept release, nor one in its grace for open tabs, uses.
    pub pool_keys: Vec<String>,
    /// The exception keys of the releases no longer kept.
    pub kvs_keys: Vec<String>,
    /// The ids of the releases no longer kept, whose folders go (their keys are in
    /// `release_keys` as far as the listing given had them).
    pub release_ids: Vec<String>,
}

impl Pruned {
    /// How many objects it deletes.
    #[must_use]
    pub fn objects(&self) -> usize {
        self.release_keys.len() + self.pool_keys.len()
    }

    /// The deletions, as plan actions (sizes as `listing` has them).
    #[must_use]
    pub fn actions(&self, listing: &RemoteListing) -> Vec<crate::core::plan::Action> {
        use crate::core::plan::{Action, Op, Phase, Reason};
        let sizes: BTreeMap<&str, u64> = listing
            .objects
            .iter()
            .map(|o| (o.key.as_str(), o.size))
            .collect();
        let mut keys: Vec<&String> = self.release_keys.iter().chain(&self.pool_keys).collect();
        keys.sort();
        keys.into_iter()
            .map(|key| Action {
                key: key.clone(),
                op: Op::Delete,
                reason: Reason::Pruned,
                phase: Phase::Deletes,
                size: sizes.get(key.as_str()).copied().unwrap_or(0),
            })
            .collect()
    }
}

/// What to prune, given the atomic releases recorded (`newest_first`), the ones always kept
/// (`pinned`: the live one and those previews show, even when older than the ones kept by
/// count), `keep_releases` (how many of the
/// newest are kept) and `keep_assets` (how many releases after those keep their pool files for
/// tabs still open on them), and the site's objects now (`listing`). Pool files are deleted
/// only when a pruned release used them: a key no record names is left alone.
#[must_use]
pub fn prune(
    newest_first: &[&crate::core::release::Release],
    pinned: &[&str],
    (keep_releases, keep_assets): (usize, usize),
    listing: &RemoteListing,
    (prefix, releases_dir): (&str, &str),
) -> Pruned {
    let kept: Vec<&crate::core::release::Release> = newest_first
        .iter()
        .enumerate()
        .filter(|(i, r)| *i < keep_releases || pinned.contains(&r.id.as_str()))
        .map(|(_, r)| *r)
        .collect();
    let kept_ids: BTreeSet<&str> = kept.iter().map(|r| r.id.as_str()).collect();
    // Pool files still needed: by the kept releases, and by those in their grace.
    let graced = newest_first
        .iter()
        .filter(|r| !kept_ids.contains(r.id.as_str()))
        .take(keep_assets);
    let needed: BTreeSet<&str> = kept
        .iter()
        .copied()
        .chain(graced.copied())
        .flat_map(|r| r.objects.keys().map(String::as_str))
        .collect();
    let pruned: Vec<&crate::core::release::Release> = newest_first
        .iter()
        .filter(|r| !kept_ids.contains(r.id.as_str()))
        .copied()
        .collect();
    let used_by_pruned: BTreeSet<&str> = pruned
        .iter()
        .flat_map(|r| r.objects.keys().map(String::as_str))
        .collect();
    let releases_root = format!("{prefix}{releases_dir}");
    let mut out = Pruned::default();
    for object in &listing.objects {
        let key = object.key.as_str();
        match key.strip_prefix(&releases_root) {
            Some(rest) => {
                let id = rest.split('/').next().unwrap_or_default();
                if pruned.iter().any(|r| r.id == id) {
                    out.release_keys.push(key.to_owned());
                }
            }
            None if used_by_pruned.contains(key) && !needed.contains(key) => {
                out.pool_keys.push(key.to_owned());
            }
            None => {}
        }
    }
    out.kvs_keys = pruned
        .iter()
        .filter_map(|r| r.atomic.as_ref())
        .flat_map(|a| a.exception_keys.iter().cloned())
        .collect();
    out.release_ids = pruned.iter().map(|r| r.id.clone()).collect();
    out
}

#[cfg(test)]
mod prune_tests {
    use super::*;
    use crate::core::release::{AtomicRecord, Release, ReleasedObject};

    /// Release `n` (`r1`..): its page under its prefix, and the pool bundle `app-<bundle>.js`.
    fn release(n: u32, bundle: &str) -> Release {
        let object = ReleasedObject {
            version_id: None,
            size: 1,
            content_md5: String::new(),
            etag: String::new(),
            content_type: "text/html".into(),
            cache_control: "no-cache".into(),
        };
        let mut r = Release {
            id: format!("r{n}"),
            atomic: Some(AtomicRecord {
                pointer: String::new(),
                exception_keys: vec![format!("x/r{n}/assets/data.json")],
            }),
            ..Release::default()
        };
        r.objects
            .insert(format!("_releases/r{n}/index.html"), object.clone());
        r.objects.insert(format!("assets/app-{bundle}.js"), object);
        r
    }

    fn listing(keys: &[String]) -> RemoteListing {
        RemoteListing {
            objects: keys
                .iter()
                .map(|key| RemoteObject {
                    key: key.clone(),
                    etag: String::new(),
                    size: 1,
                    headers: None,
                })
                .collect(),
            pages: 1,
            chain: 1,
        }
    }

    /// Five releases, newest first; r2 and r3 share a bundle. Plus a key no record names.
    fn site() -> (Vec<Release>, RemoteListing) {
        let releases = vec![
            release(5, "E"),
            release(4, "D"),
            release(3, "C"),
            release(2, "C"),
            release(1, "A"),
        ];
        let mut keys: Vec<String> = releases
            .iter()
            .flat_map(|r| r.objects.keys().cloned())
            .collect();
        keys.push("robots.txt".into());
        keys.sort();
        keys.dedup();
        (releases, listing(&keys))
    }

    #[test]
    fn retention_keeps_the_newest_the_live_one_and_the_grace_for_open_tabs() {
        let (releases, listed) = site();
        let refs: Vec<&Release> = releases.iter().collect();
        type Case = (
            (usize, usize),
            &'static str,
            &'static [&'static str],
            &'static [&'static str],
        );
        let cases: [Case; 4] = [
            // Keep 2, no grace: r3..r1 go, with the bundles only they used (C, A).
            (
                (2, 0),
                "r5",
                &["r3", "r2", "r1"],
                &["assets/app-A.js", "assets/app-C.js"],
            ),
            // A grace of one release: r3's bundle C stays for open tabs.
            ((2, 1), "r5", &["r3", "r2", "r1"], &["assets/app-A.js"]),
            // Rolled back to r1: the live release stays, with its bundle.
            ((2, 0), "r1", &["r3", "r2"], &["assets/app-C.js"]),
            // Keep all.
            ((10, 0), "r5", &[], &[]),
        ];
        for ((keep, grace), live, gone, pool) in cases {
            let pruned = prune(&refs, &[live], (keep, grace), &listed, ("", "_releases/"));
            let want: Vec<String> = gone
                .iter()
                .map(|id| format!("_releases/{id}/index.html"))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            assert_eq!(
                pruned.release_keys, want,
                "keep {keep} grace {grace} live {live}"
            );
            assert_eq!(
                pruned.pool_keys,
                pool.to_vec(),
                "keep {keep} grace {grace} live {live}"
            );
            assert_eq!(pruned.kvs_keys.len(), gone.len());
            assert!(
                !pruned.pool_keys.contains(&"robots.txt".to_owned()),
                "unknown keys stay"
            );
        }
        // A preview shows r2: kept past the count, with its files; r3 and r1 go.
        let pruned = prune(&refs, &["r5", "r2"], (2, 0), &listed, ("", "_releases/"));
        assert_eq!(
            pruned.release_keys,
            ["_releases/r1/index.html", "_releases/r3/index.html"]
        );
    }
}
