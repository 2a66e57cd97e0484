//! Edge routing, decided purely: the CloudFront Function (viewer request, `cloudfront-js-2.0`)
//! that makes a private S3 origin answer like a web server. With Origin Access Control the
//! origin is S3's REST API, which knows keys, not folders: `/docs/intro/`, `/about` or an SPA's
//! `/settings/profile` answer 403 without it. The function is generated from the build's layout
//! and the redirects, and stays small enough for CloudFront's size limit.
//!
//! Rules, in order: redirects (exact, then `*` splats, the query string kept); a path whose last
//! segment has an extension is a file and passes untouched, so a missing asset stays a real
//! 403/404, unless the build has a page there (`/release-1.2/index.html`); an SPA sends every other path to its fallback page; a multi-page build maps
//! `/dir/` to `/dir/index.html` and `/dir` to a 301 to `/dir/` (a folder-style page) or to
//! `/dir.html` (a file-style page), as built or as `trailing_slash` says.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde::{Deserialize, Serialize};

/// What browsers percent-encode in a URL's path, and so how CloudFront hands a path to the
/// function (WHATWG URL's path set, with `?` left to the query): controls, space, `"`, `<`,
/// `>`, backtick, braces, and everything beyond ASCII. `+`, `(`, `=`, `@` and the like arrive
/// as they are.
const BROWSER_PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// A path (or a redirect target) as a browser sends it.
#[must_use]
pub fn encode_path(path: &str) -> String {
    utf8_percent_encode(path, BROWSER_PATH).to_string()
}

/// The file in the build folder that lists redirects, one `from to [status]` a line (the
/// format Netlify and Cloudflare Pages read).
pub const REDIRECTS_FILE: &str = "_redirects";

/// CloudFront's limit on a function's code, in bytes.
pub const MAX_FUNCTION_BYTES: usize = 10_240;

/// The name of the function shipfront writes for `distribution`: one per distribution, so
/// sites behind different distributions never share one.
#[must_use]
pub fn function_name(distribution: &str) -> String {
    format!("shipfront-{distribution}")
}

/// Whether `arn` is the ARN of shipfront's routing function for `distribution`.
#[must_use]
pub fn is_ours(arn: &str, distribution: &str) -> bool {
    arn.ends_with(&format!(":function/{}", function_name(distribution)))
}

/// The runtime the generated code is written for.
pub const RUNTIME: &str = "cloudfront-js-2.0";

/// How paths without an extension reach their page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// A single-page app: every such path gets the fallback page (`/index.html`).
    Spa { fallback: String },
    /// A multi-page build: folders and `.html` files, as the build laid them out.
    Pages,
}

/// What a multi-page build does with the trailing slash of a page's URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TrailingSlash {
    /// Each page at the URL its layout implies: `/dir/` for `dir/index.html`, `/name` for
    /// `name.html`.
    #[default]
    AsBuilt,
    /// Every page URL ends with `/`; the others are redirected there.
    Always,
    /// No page URL ends with `/` (but the root); the others are redirected there.
    Never,
}

impl TrailingSlash {
    /// Parses `always`, `never` or `as-built`.
    ///
    /// # Errors
    /// Anything else, saying what is allowed.
    pub fn parse(value: &str) -> Result<Self, String> {
        match value {
            "as-built" => Ok(TrailingSlash::AsBuilt),
            "always" => Ok(TrailingSlash::Always),
            "never" => Ok(TrailingSlash::Never),
            other => Err(format!(
                "trailing_slash `{other}` is not one of `always`, `never`, `as-built`"
            )),
        }
    }

    fn name(self) -> &'static str {
        match self {
            TrailingSlash::AsBuilt => "as-built",
            TrailingSlash::Always => "always",
            TrailingSlash::Never => "never",
        }
    }
}

/// One redirect: `from` (a path, ending in `*` for every path under it) to `to` (a path or a
/// URL; `:splat` takes what `*` matched).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redirect {
    pub from: String,
    pub to: String,
    pub status: u16,
}

/// The redirect statuses a function can answer with.
const STATUSES: [u16; 4] = [301, 302, 307, 308];

impl Redirect {
    /// Checks one redirect: `from` a path, `to` a path or an http(s) URL, a redirect status,
    /// `*` only at the end of `from`, `:splat` only with it and never in a URL's host.
    ///
    /// # Errors
    /// What is wrong, naming the value.
    pub fn new(from: &str, to: &str, status: u16) -> Result<Self, String> {
        if !from.starts_with('/') {
            return Err(format!("`{from}` must be a path starting with `/`"));
        }
        if from.trim_end_matches('*').contains('*') {
            return Err(format!("`{from}` may have `*` only at its end"));
        }
        if from.contains(['?', '#', ' ']) || to.contains(' ') {
            return Err(format!(
                "`{from} {to}`: paths with a query, a fragment or a space are not supported"
            ));
        }
        if let Some(placeholder) = [from, to]
            .iter()
            .flat_map(|p| p.split('/'))
            .find(|s| s.starts_with(':') && *s != ":splat")
        {
            return Err(format!(
                "the placeholder `{placeholder}` is not supported: use `*` in from and `:splat` \
                 in to"
            ));
        }
        if to.contains(":splat") && !from.ends_with('*') {
            return Err(format!("`{to}` uses `:splat`, but `{from}` has no `*`"));
        }
        if !(to.starts_with('/') || to.starts_with("https://") || to.starts_with("http://")) {
            return Err(format!("`{to}` must be a path or an http(s) URL"));
        }
        // What `*` matched (`/blog@evil.test`) must not choose the host a visitor is sent to.
        let host = to
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split('/').next());
        if host.is_some_and(|host| host.contains(":splat")) {
            return Err(format!(
                "`{to}` puts `:splat` in the URL's host, so a request could send visitors to \
                 any site: put it in the path, after the host (`https://host/:splat`)"
            ));
        }
        if !STATUSES.contains(&status) {
            return Err(format!(
                "status {status} is not a redirect: use 301, 302, 307 or 308 (rewrites with 200 \
                 and custom 404s are not supported)"
            ));
        }
        Ok(Redirect {
            from: from.to_owned(),
            to: to.to_owned(),
            status,
        })
    }
}

/// The redirects that send a visitor round in a circle (`/* /index.html`, or `/a /b` with
/// `/b /a`), each circle named once by its rules: followed as the function picks them, an exact
/// `from` first, then the longest `*` prefix; a target URL ends the walk.
#[must_use]
pub fn redirect_loops(rules: &[Redirect]) -> Vec<String> {
    let mut circles: Vec<Vec<usize>> = Vec::new();
    for start in rules {
        let mut path = match start.from.strip_suffix('*') {
            Some(prefix) => format!("{prefix}x"),
            None => start.from.clone(),
        };
        let mut walked: Vec<usize> = Vec::new();
        while let Some(i) = redirect_of(rules, &path) {
            if let Some(at) = walked.iter().position(|w| *w == i) {
                let mut circle = walked.split_off(at);
                let first = (0..circle.len()).min_by_key(|k| circle[*k]).unwrap_or(0);
                circle.rotate_left(first);
                if !circles.contains(&circle) {
                    circles.push(circle);
                }
                break;
            }
            walked.push(i);
            let Some(next) = destination(&rules[i], &path) else {
                break;
            };
            path = next;
        }
    }
    circles
        .iter()
        .map(|circle| {
            let named: Vec<String> = circle
                .iter()
                .map(|i| format!("{} -> {}", rules[*i].from, rules[*i].to))
                .collect();
            format!(
                "these redirects send visitors round in a circle: {}; change a target or remove \
                 a rule",
                named.join(", then ")
            )
        })
        .collect()
}

/// The rule the function answers `path` with: the first with `path` as its `from`, else the
/// one with the longest `*` prefix of it.
fn redirect_of(rules: &[Redirect], path: &str) -> Option<usize> {
    rules.iter().position(|r| r.from == path).or_else(|| {
        rules
            .iter()
            .enumerate()
            .filter_map(|(i, r)| Some((i, r.from.strip_suffix('*')?)))
            .filter(|(_, prefix)| path.starts_with(prefix))
            .max_by_key(|(i, prefix)| (prefix.len(), std::cmp::Reverse(*i)))
            .map(|(i, _)| i)
    })
}

/// Where `rule` sends `path`: its target path with `:splat` filled in; None for a URL.
fn destination(rule: &Redirect, path: &str) -> Option<String> {
    if !rule.to.starts_with('/') {
        return None;
    }
    let prefix = rule.from.strip_suffix('*');
    let splat = prefix
        .and_then(|p| path.strip_prefix(p))
        .unwrap_or_default();
    Some(rule.to.replace(":splat", splat))
}

/// Parses a `_redirects` file: one `from to [status]` a line, `#` comments, blank lines; the
/// status may end with `!` (forced, as every redirect here is).
///
/// # Errors
/// Every bad line, as `NAME:LINE: what is wrong`.
pub fn parse_redirects(name: &str, text: &str) -> Result<Vec<Redirect>, Vec<String>> {
    let mut redirects = Vec::new();
    let mut errors = Vec::new();
    for (n, line) in text.lines().enumerate() {
        // `#` starts a comment at the start of a field (a line's, or after the rule): URLs
        // may hold one inside.
        let fields: Vec<&str> = line
            .split_whitespace()
            .take_while(|field| !field.starts_with('#'))
            .collect();
        if fields.is_empty() {
            continue;
        }
        let parsed = match fields.as_slice() {
            [from, to] => Redirect::new(from, to, 301),
            [from, to, status] => match status.trim_end_matches('!').parse::<u16>() {
                Ok(status) => Redirect::new(from, to, status),
                Err(_) => Err(format!("`{status}` is not a status")),
            },
            [..] => Err(format!(
                "expected `from to [status]`, found {} fields (conditions such as `Country=` \
                 are not supported)",
                fields.len()
            )),
        };
        match parsed {
            Ok(r) => redirects.push(r),
            Err(e) => errors.push(format!("{name}:{}: {e}", n + 1)),
        }
    }
    if errors.is_empty() {
        Ok(redirects)
    } else {
        Err(errors)
    }
}

/// Everything the function is generated from, but the build's layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingConfig {
    pub mode: Mode,
    pub trailing_slash: TrailingSlash,
    pub redirects: Vec<Redirect>,
    /// The URL path of shipfront's state prefix (`/.shipfront/`), answered 404 so visitors
    /// never read the release records or the lock (`hidden_path`); None when the origin does
    /// not serve it.
    pub hidden: Option<String>,
    /// An atomic site's preview domain (`preview.example.com`): the function serves the host
    /// `NAME.<domain>` from the release the KVS key `p/NAME` points at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview_domain: Option<String>,
}

/// The URL path at which an origin serving `origin_path` of the bucket would serve
/// `state_prefix`; None when it lies outside.
#[must_use]
pub fn hidden_path(state_prefix: &str, origin_path: &str) -> Option<String> {
    let served = origin_path.trim_matches('/');
    if served.is_empty() {
        return Some(format!("/{state_prefix}"));
    }
    state_prefix
        .strip_prefix(&format!("{served}/"))
        .map(|rest| format!("/{rest}"))
}

/// How a multi-page build lays its pages out, from its `.html` files.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    /// Most pages are `dir/index.html` (else `name.html`).
    pub folder_style: bool,
    /// The pages laid out the other way, as URL paths without a trailing slash: `/name` for
    /// `name.html` in a folder-style build, `/dir` for `dir/index.html` in a file-style one.
    pub exceptions: BTreeSet<String>,
    /// The pages whose URL's last segment has a dot (`/release-1.2`, `/docs/v1.2`): a page,
    /// not a file, although it looks like one.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub dotted: BTreeSet<String>,
}

impl Layout {
    /// The layout of the build whose files are `rels` (relative paths, `/`-separated).
    #[must_use]
    pub fn of<'a>(rels: impl IntoIterator<Item = &'a str>) -> Self {
        let mut folders = BTreeSet::new();
        let mut files = BTreeSet::new();
        for rel in rels {
            // Error and fallback pages are no routes of their own.
            if matches!(rel, "404.html" | "200.html") {
                continue;
            }
            if let Some(dir) = rel.strip_suffix("/index.html") {
                folders.insert(format!("/{dir}"));
            } else if let Some(name) = rel.strip_suffix(".html")
                && name != "index"
                && !name.ends_with("/index")
            {
                files.insert(format!("/{name}"));
            }
        }
        // A page built both ways is served as a folder.
        let files: BTreeSet<String> = files.difference(&folders).cloned().collect();
        let folder_style = folders.len() >= files.len();
        let dotted = folders
            .iter()
            .chain(&files)
            .filter(|page| {
                page.rsplit('/')
                    .next()
                    .is_some_and(|last| last.contains('.'))
            })
            .cloned()
            .collect();
        Layout {
            folder_style,
            exceptions: if folder_style { files } else { folders },
            dotted,
        }
    }
}

/// Why no function could be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooLarge {
    pub bytes: usize,
    pub redirects: usize,
    pub exceptions: usize,
}

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the routing function would be {} bytes, over CloudFront's limit of {MAX_FUNCTION_BYTES} \
             ({} redirects, {} pages laid out unlike the rest); use `*` redirects for whole \
             folders, or set trailing_slash so fewer pages need listing",
            self.bytes, self.redirects, self.exceptions
        )
    }
}

/// The line of the function's code naming the path it answers 404 under.
fn hidden_line(hidden: &str) -> String {
    format!("var HIDDEN = {};", js_string(hidden))
}

/// Whether the routing function `code` answers 404 under `state_prefix` where the origin
/// (serving `origin_path`) serves it.
#[must_use]
pub fn hides(code: &str, state_prefix: &str, origin_path: &str) -> bool {
    hidden_path(state_prefix, origin_path).is_some_and(|path| code.contains(&hidden_line(&path)))
}

/// The routing function a deploy publishes for the files `rels`: `config`'s, hiding
/// `state_prefix` where the origin (serving `origin_path`; None when unknown) would serve it.
/// Doctor compares the live function with this one, byte for byte.
///
/// # Errors
/// When it would be larger than CloudFront allows, saying how large and why.
pub fn function_for<'a>(
    rels: impl IntoIterator<Item = &'a str>,
    config: &RoutingConfig,
    state_prefix: &str,
    origin_path: Option<&str>,
) -> Result<String, TooLarge> {
    RoutingInputs::of(rels, config, state_prefix, origin_path).function()
}

/// Everything a routing function is generated from: the settings and redirects, with the
/// hidden path resolved, and the build's layout. A release records these, never trusting code
/// from the bucket: a rollback generates its function again from them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingInputs {
    pub config: RoutingConfig,
    pub layout: Layout,
}

impl RoutingInputs {
    /// The inputs of the function a deploy publishes (`function_for`).
    #[must_use]
    pub fn of<'a>(
        rels: impl IntoIterator<Item = &'a str>,
        config: &RoutingConfig,
        state_prefix: &str,
        origin_path: Option<&str>,
    ) -> Self {
        RoutingInputs {
            config: RoutingConfig {
                hidden: origin_path.and_then(|o| hidden_path(state_prefix, o)),
                ..config.clone()
            },
            layout: Layout::of(rels),
        }
    }

    /// The function's source.
    ///
    /// # Errors
    /// When it would be larger than CloudFront allows.
    pub fn function(&self) -> Result<String, TooLarge> {
        generate(&self.config, &self.layout)
    }

    /// Checks inputs read back from a record as the config's are checked at load: each
    /// redirect as `Redirect::new` does, no redirect loops, paths that are paths.
    ///
    /// # Errors
    /// What is wrong, naming it.
    pub fn check(&self) -> Result<(), String> {
        for r in &self.config.redirects {
            Redirect::new(&r.from, &r.to, r.status)?;
        }
        let circles = redirect_loops(&self.config.redirects);
        if !circles.is_empty() {
            return Err(circles.join("; "));
        }
        let layout = &self.layout;
        let paths = layout.exceptions.iter().chain(&layout.dotted);
        let hidden = self.config.hidden.iter();
        match paths.chain(hidden).find(|p| !p.starts_with('/')) {
            Some(path) => Err(format!("`{path}` is not a path")),
            None => Ok(()),
        }
    }
}

/// The shipfront version that generated `code`, as its first line says.
#[must_use]
pub fn generator_version(code: &str) -> Option<&str> {
    code.lines()
        .next()?
        .strip_prefix("// Written by shipfront ")?
        .split_once(':')
        .map(|(version, _)| version)
}

/// The function's source for a build whose files are `rels`.
///
/// # Errors
/// When it would be larger than CloudFront allows, saying how large and why.
pub fn function_source<'a>(
    rels: impl IntoIterator<Item = &'a str>,
    config: &RoutingConfig,
) -> Result<String, TooLarge> {
    generate(config, &Layout::of(rels))
}

/// The function's source for `config` and `layout`.
fn generate(config: &RoutingConfig, layout: &Layout) -> Result<String, TooLarge> {
    let mut exact = BTreeMap::new();
    let mut splats = Vec::new();
    for r in &config.redirects {
        let to = encode_target(&r.to);
        match r.from.strip_suffix('*') {
            Some(prefix) => splats.push((encode_path(prefix), to, r.status)),
            None => {
                exact.entry(encode_path(&r.from)).or_insert((to, r.status));
            }
        }
    }
    // The longest prefix wins.
    splats.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
    let (mode, fallback) = match &config.mode {
        Mode::Spa { fallback } => ("spa", format!("/{}", encode_path(fallback))),
        Mode::Pages => ("pages", String::new()),
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "// Written by shipfront {}: `shipfront routing DIR` prints it. Do not edit here.",
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(s, "var MODE = {};", js_string(mode));
    let _ = writeln!(
        s,
        "{}",
        hidden_line(config.hidden.as_deref().unwrap_or_default())
    );
    let _ = writeln!(s, "var FALLBACK = {};", js_string(&fallback));
    let _ = writeln!(
        s,
        "var SLASH = {};",
        js_string(config.trailing_slash.name())
    );
    let _ = writeln!(s, "var FOLDERS = {};", layout.folder_style);
    let _ = writeln!(s, "var EXCEPT = {};", js_set(&layout.exceptions));
    let _ = writeln!(s, "var DOTTED = {};", js_set(&layout.dotted));
    let _ = writeln!(s, "var EXACT = {};", js_exact(&exact));
    let _ = writeln!(s, "var SPLATS = {};", js_splats(&splats));
    s.push_str(HANDLER);
    if s.len() > MAX_FUNCTION_BYTES {
        return Err(TooLarge {
            bytes: s.len(),
            redirects: config.redirects.len(),
            exceptions: layout.exceptions.len(),
        });
    }
    Ok(s)
}

/// A redirect target, percent-encoded as a browser would (a `Location` header is ASCII).
fn encode_target(to: &str) -> String {
    encode_path(to)
}

/// A JavaScript string literal (JSON's escaping is valid JavaScript).
fn js_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// The paths as CloudFront hands them to the function: percent-encoded.
fn js_set(paths: &BTreeSet<String>) -> String {
    let items: Vec<String> = paths
        .iter()
        .map(|p| format!("{}:1", js_string(&encode_path(p))))
        .collect();
    format!("{{{}}}", items.join(","))
}

fn js_exact(exact: &BTreeMap<String, (String, u16)>) -> String {
    let items: Vec<String> = exact
        .iter()
        .map(|(from, (to, status))| format!("{}:[{},{status}]", js_string(from), js_string(to)))
        .collect();
    format!("{{{}}}", items.join(","))
}

fn js_splats(splats: &[(String, String, u16)]) -> String {
    let items: Vec<String> = splats
        .iter()
        .map(|(prefix, to, status)| format!("[{},{},{status}]", js_string(prefix), js_string(to)))
        .collect();
    format!("[{}]", items.join(","))
}

/// The handler, the same for every build: the tables above it carry what differs.
const HANDLER: &str = r#"function query(request) {
  var qs = request.querystring || {};
  var parts = [];
  for (var name in qs) {
    var v = qs[name];
    var values = v.multiValue ? v.multiValue : [v];
    for (var i = 0; i < values.length; i++) {
      parts.push(values[i].value === '' ? name : name + '=' + values[i].value);
    }
  }
  return parts.join('&');
}
function redirect(request, to, status) {
  var text = {301: 'Moved Permanently', 302: 'Found', 307: 'Temporary Redirect', 308: 'Permanent Redirect'};
  var qs = query(request);
  if (qs) to += (to.indexOf('?') === -1 ? '?' : '&') + qs;
  // A path target never leaves the site (`//host` would).
  if (to.charAt(0) === '/') to = '/' + to.replace(/^\/+/, '');
  return {statusCode: status, statusDescription: text[status], headers: {location: {value: to}}};
}
// shipfront's records and lock, however the path is encoded (S3 decodes it).
function hidden(uri) {
  var plain = uri;
  try { plain = decodeURIComponent(uri); } catch (e) {}
  return HIDDEN !== '' && plain.indexOf(HIDDEN) === 0;
}
function handler(event) {
  var request = event.request;
  var uri = request.uri;
  if (hidden(uri)) return {statusCode: 404, statusDescription: 'Not Found'};
  var exact = EXACT[uri];
  if (exact) return redirect(request, exact[0], exact[1]);
  for (var i = 0; i < SPLATS.length; i++) {
    var s = SPLATS[i];
    if (uri.indexOf(s[0]) === 0) return redirect(request, s[1].split(':splat').join(uri.slice(s[0].length)), s[2]);
  }
  var slash = uri.charAt(uri.length - 1) === '/';
  var path = slash ? uri.slice(0, -1) : uri;
  if (uri.slice(uri.lastIndexOf('/') + 1).indexOf('.') !== -1 && !DOTTED[path]) return request;
  if (MODE === 'spa') { request.uri = FALLBACK; return request; }
  if (path === '') { request.uri = '/index.html'; return request; }
  var folder = FOLDERS ? !EXCEPT[path] : !!EXCEPT[path];
  if (SLASH === 'always' && !slash) return redirect(request, path + '/', 301);
  if (SLASH === 'never' && slash) return redirect(request, path, 301);
  if (SLASH === 'as-built' && folder && !slash) return redirect(request, path + '/', 301);
  if (SLASH === 'as-built' && !folder && slash) return redirect(request, path, 301);
  request.uri = folder ? path + '/index.html' : path + '.html';
  return request;
}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_are_read_from_the_pages() {
        let folders = Layout::of([
            "index.html",
            "about/index.html",
            "blog/a/index.html",
            "x.html",
        ]);
        assert!(folders.folder_style);
        assert_eq!(folders.exceptions, BTreeSet::from(["/x".to_owned()]));
        let files = Layout::of(["index.html", "about.html", "blog/a.html", "docs/index.html"]);
        assert!(!files.folder_style);
        assert_eq!(files.exceptions, BTreeSet::from(["/docs".to_owned()]));
        let both = Layout::of(["a.html", "a/index.html"]);
        assert!(both.folder_style && both.exceptions.is_empty(), "{both:?}");
        let dotted = Layout::of([
            "release-1.2/index.html",
            "docs/v1.2/index.html",
            "v2.0.html",
            "a.b/c/index.html",
            "app.js",
        ]);
        let want = ["/docs/v1.2", "/release-1.2", "/v2.0"].map(str::to_owned);
        assert_eq!(dotted.dotted, BTreeSet::from(want), "{dotted:?}");
    }

    #[test]
    fn redirects_files_are_checked_with_line_numbers() {
        let text = "# moved\n/old /new\n/blog/* /news/:splat 302\n\n/x /y 200\n/a/:slug /b\n\
                    /c /d 301 Country=fr\n/e https://example.com/e 308!\n/f /g :splat\n";
        let errors = parse_redirects("_redirects", text).unwrap_err();
        assert_eq!(errors.len(), 4, "{errors:#?}");
        assert!(errors[0].starts_with("_redirects:5: status 200 is not a redirect"));
        assert!(errors[1].starts_with("_redirects:6: the placeholder `:slug`"));
        assert!(errors[2].starts_with("_redirects:7: expected `from to [status]`"));
        assert!(errors[3].starts_with("_redirects:9: `:splat` is not a status"));
        let text = "/old /new # moved in 2024\n/blog/* /news/:splat 302 #news\n  # indented\n\
                    /faq /help#top\n";
        let good = parse_redirects("_redirects", text).unwrap();
        assert_eq!(
            good,
            [
                Redirect::new("/old", "/new", 301).unwrap(),
                Redirect::new("/blog/*", "/news/:splat", 302).unwrap(),
                Redirect::new("/faq", "/help#top", 301).unwrap(),
            ],
            "a trailing comment is a comment; a `#` inside a URL is not"
        );
    }

    #[test]
    fn a_splat_never_stands_in_a_targets_host() {
        // (from, to, refused): what `*` matched must not choose where the visitor goes, as
        // `/blog@evil.test` would through `https://blog.example.com:splat`.
        let cases = [
            ("/blog*", "https://blog.example.com:splat", true),
            ("/blog/*", "https://:splat", true),
            ("/x/*", "http://a.example.com:splat/y", true),
            ("/blog/*", "https://blog.example.com/:splat", false),
            ("/blog/*", "https://blog.example.com/posts/:splat", false),
            ("/blog/*", "/news/:splat", false),
        ];
        for (from, to, refused) in cases {
            let checked = Redirect::new(from, to, 301);
            assert_eq!(checked.is_err(), refused, "{from} {to}: {checked:?}");
            if let Err(message) = checked {
                assert!(
                    message.contains(to) && message.contains("host"),
                    "{message}"
                );
            }
        }
    }

    #[test]
    fn redirects_that_loop_are_named() {
        let rules = |list: &[(&str, &str)]| -> Vec<Redirect> {
            list.iter()
                .map(|(from, to)| Redirect::new(from, to, 301).unwrap())
                .collect()
        };
        // (the rules, the loop found: each rule as `from -> to`, None when there is none)
        type Case<'a> = (&'a [(&'a str, &'a str)], Option<&'a str>);
        let cases: [Case<'_>; 7] = [
            (&[("/*", "/index.html")], Some("/* -> /index.html")),
            (
                &[("/a", "/b"), ("/b", "/a")],
                Some("/a -> /b, then /b -> /a"),
            ),
            (
                &[("/blog/*", "/blog/:splat")],
                Some("/blog/* -> /blog/:splat"),
            ),
            (
                &[("/a", "/b"), ("/b", "/c"), ("/c", "/a")],
                Some("/a -> /b, then /b -> /c, then /c -> /a"),
            ),
            (&[("/old/*", "/new/:splat"), ("/a", "/b")], None),
            // An exact rule is matched before a splat: `/index.html` is not redirected again.
            (&[("/index.html", "/"), ("/x/*", "/index.html")], None),
            (&[("/a", "https://example.com/a")], None),
        ];
        for (list, expected) in cases {
            let found = redirect_loops(&rules(list));
            match expected {
                Some(chain) => {
                    assert_eq!(found.len(), 1, "{list:?}: {found:?}");
                    assert!(found[0].contains(chain), "{list:?}: {found:?}");
                }
                None => assert!(found.is_empty(), "{list:?}: {found:?}"),
            }
        }
    }

    #[test]
    fn the_state_prefix_is_hidden_where_the_origin_serves_it() {
        let cases = [
            // (state prefix, OriginPath, hidden URL path)
            (".shipfront/", "", Some("/.shipfront/")),
            ("site/.shipfront/", "", Some("/site/.shipfront/")),
            ("site/.shipfront/", "/site", Some("/.shipfront/")),
            ("site/.shipfront/", "/site/", Some("/.shipfront/")),
            ("deploys/www/", "/site", None),
            ("sitex/.shipfront/", "/site", None),
        ];
        for (state, origin, want) in cases {
            assert_eq!(
                hidden_path(state, origin).as_deref(),
                want,
                "{state} {origin}"
            );
        }
    }

    #[test]
    fn a_function_over_cloudfronts_limit_is_refused_saying_how_large() {
        let redirects: Vec<Redirect> = (0..400)
            .map(|i| Redirect::new(&format!("/old/page-{i}"), &format!("/new/{i}"), 301).unwrap())
            .collect();
        let config = RoutingConfig {
            mode: Mode::Pages,
            trailing_slash: TrailingSlash::AsBuilt,
            redirects,
            hidden: None,
            preview_domain: None,
        };
        let err = function_source(["index.html"], &config).unwrap_err();
        assert!(err.bytes > MAX_FUNCTION_BYTES);
        assert!(
            err.to_string().contains("over CloudFront's limit of 10240"),
            "{err}"
        );
    }
}
