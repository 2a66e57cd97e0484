//! The `Content-Type` and `Cache-Control` each object gets. Browsers and CDNs act on these headers
//! (a wrong type breaks a module script, a long cache on HTML pins a stale site), so the defaults
//! are chosen per kind of file and `[[rules]]` in `shipfront.toml` override them.

use globset::{GlobBuilder, GlobMatcher};
use serde::Serialize;

use crate::error::{Error, Result};

/// HTML, service workers and manifests must be revalidated on every visit so a deploy shows up.
pub const REVALIDATE: &str = "public, max-age=0, must-revalidate";
/// Fingerprinted names change when their content does, so they may be cached for a year.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Everything else: an hour, a compromise between freshness and origin load.
pub const DEFAULT_CACHE: &str = "public, max-age=3600";

/// The two headers shipfront manages on every object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Headers {
    pub content_type: String,
    pub cache_control: String,
}

/// One `[[rules]]` entry: files matching `pattern` get these headers instead of the defaults.
#[derive(Debug, Clone)]
pub struct Rule {
    pub pattern: String,
    matcher: GlobMatcher,
    pub cache_control: Option<String>,
    pub content_type: Option<String>,
}

impl Rule {
    /// Compiles a rule; `*` does not cross `/`, `**` does (as in .gitignore).
    pub fn new(
        pattern: &str,
        cache_control: Option<String>,
        content_type: Option<String>,
    ) -> Result<Self> {
        let glob = GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .map_err(|e| Error::Usage(format!("invalid glob `{pattern}` in [[rules]]: {e}")))?;
        Ok(Rule {
            pattern: pattern.to_owned(),
            matcher: glob.compile_matcher(),
            cache_control,
            content_type,
        })
    }
}

/// Decides the headers of a file from its path relative to the build folder.
#[derive(Debug, Clone, Default)]
pub struct HeaderPolicy {
    rules: Vec<Rule>,
}

impl HeaderPolicy {
    #[must_use]
    pub fn new(rules: Vec<Rule>) -> Self {
        HeaderPolicy { rules }
    }

    /// Headers for `rel` (a `/`-separated path relative to the build folder). For each header
    /// the first rule that matches and sets it wins; otherwise the default applies.
    #[must_use]
    pub fn headers_for(&self, rel: &str) -> Headers {
        let matching = || self.rules.iter().filter(|r| r.matcher.is_match(rel));
        let cache_control = matching()
            .find_map(|r| r.cache_control.clone())
            .unwrap_or_else(|| default_cache_control(rel).to_owned());
        let content_type = matching()
            .find_map(|r| r.content_type.clone())
            .unwrap_or_else(|| content_type(rel));
        Headers {
            content_type,
            cache_control,
        }
    }
}

/// Whether `rel` is an HTML page (deployed after the assets it references).
#[must_use]
pub fn is_html(rel: &str) -> bool {
    let lower = rel.to_ascii_lowercase();
    lower.ends_with(".html") || lower.ends_with(".htm")
}

fn file_name(rel: &str) -> &str {
    rel.rsplit('/').next().unwrap_or(rel)
}

/// Default Cache-Control for a path relative to the build folder.
#[must_use]
pub fn default_cache_control(rel: &str) -> &'static str {
    let name = file_name(rel);
    if is_html(rel)
        || matches!(name, "sw.js" | "service-worker.js" | "manifest.json")
        || name.ends_with(".webmanifest")
    {
        REVALIDATE
    } else if is_fingerprinted(rel) {
        IMMUTABLE
    } else {
        DEFAULT_CACHE
    }
}

/// Whether a file's name carries a content hash, so its bytes never change under that name.
///
/// Frameworks that fingerprint whole folders are recognised by folder; otherwise the name must
/// have a hash segment after a base name: `main.3f2a1b9c.js` (hex) or `index-BkQx9_2a.js`
/// (base64url). A segment counts as a hash when it is 8+ characters and mixes digits and
/// letters; all-letter words (`overview`) and all-digit dates (`20240101`) do not. Being
/// conservative matters: a false positive caches a mutable file for a year, a miss only for an
/// hour (and a `[[rules]]` entry fixes it).
#[must_use]
pub fn is_fingerprinted(rel: &str) -> bool {
    if rel.starts_with("_next/static/")
        || rel.contains("/_next/static/")
        || rel.starts_with("_app/immutable/")
        || rel.contains("/_app/immutable/")
    {
        return true;
    }
    let name = file_name(rel);
    // Drop the extension; what is left is `base[.hash...]` or `base-hash`.
    let Some((stem, _ext)) = name.rsplit_once('.') else {
        return false;
    };
    let mut segments = stem.split('.');
    let first = segments.next().unwrap_or_default();
    // `name-HASH` inside the first segment, or any later `.HASH` segment.
    let dashed = first.rsplit_once('-').map(|(_, tail)| tail);
    dashed.into_iter().chain(segments).any(looks_like_hash)
}

fn looks_like_hash(segment: &str) -> bool {
    segment.len() >= 8
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && segment.bytes().any(|b| b.is_ascii_digit())
        && segment.bytes().any(|b| b.is_ascii_alphabetic())
}

/// Content-Type for a path: `mime_guess`, corrected where its guess is wrong or dated, with
/// `; charset=utf-8` on text types so browsers never guess the encoding.
#[must_use]
pub fn content_type(rel: &str) -> String {
    let name = file_name(rel);
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let essence: String = match ext.as_str() {
        // RFC 9239: text/javascript is the one correct type for scripts and modules.
        "js" | "mjs" | "cjs" => "text/javascript".into(),
        "wasm" => "application/wasm".into(),
        "webmanifest" => "application/manifest+json".into(),
        "map" => "application/json".into(),
        "" if name == "apple-app-site-association" => "application/json".into(),
        _ => mime_guess::from_ext(&ext)
            .first_raw()
            .unwrap_or("application/octet-stream")
            .to_owned(),
    };
    if is_text(&essence) {
        format!("{essence}; charset=utf-8")
    } else {
        essence
    }
}

fn is_text(essence: &str) -> bool {
    essence.starts_with("text/")
        || essence.ends_with("+json")
        || essence.ends_with("+xml")
        || matches!(
            essence,
            "application/json" | "application/javascript" | "application/xml" | "image/svg+xml"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        let cases = [
            ("index.html", "text/html; charset=utf-8"),
            ("docs/page.HTM", "text/html; charset=utf-8"),
            ("assets/app.js", "text/javascript; charset=utf-8"),
            ("assets/app.mjs", "text/javascript; charset=utf-8"),
            ("assets/app.css", "text/css; charset=utf-8"),
            ("assets/app.js.map", "application/json; charset=utf-8"),
            ("data.json", "application/json; charset=utf-8"),
            (
                "site.webmanifest",
                "application/manifest+json; charset=utf-8",
            ),
            ("logo.svg", "image/svg+xml; charset=utf-8"),
            ("feed.xml", "text/xml; charset=utf-8"),
            ("robots.txt", "text/plain; charset=utf-8"),
            ("photo.JPG", "image/jpeg"),
            ("img.png", "image/png"),
            ("img.webp", "image/webp"),
            ("font.woff2", "font/woff2"),
            ("app.wasm", "application/wasm"),
            ("file.pdf", "application/pdf"),
            ("LICENSE", "application/octet-stream"),
            ("blob.unknownext", "application/octet-stream"),
            (
                ".well-known/apple-app-site-association",
                "application/json; charset=utf-8",
            ),
        ];
        for (rel, want) in cases {
            assert_eq!(content_type(rel), want, "content type of {rel}");
        }
    }

    #[test]
    fn fingerprinted_names() {
        let cases = [
            ("assets/main.3f2a1b9c.js", true),
            ("assets/index-BkQx9_2a.js", true),
            ("static/js/main.3f2a1b9c.chunk.js", true),
            ("assets/vendor-a1b2c3d4e5f6.css", true),
            ("_next/static/chunks/pages/index.js", true),
            ("app/_next/static/css/x.css", true),
            ("_app/immutable/start.js", true),
            ("assets/settings-overview.js", false),
            ("MyComponent.js", false),
            ("report.20240101.pdf", false),
            ("abc12345", false),
            ("img/logo.png", false),
            ("jquery-3.6.0.min.js", false),
            ("deadbeef.js", false),
        ];
        for (rel, want) in cases {
            assert_eq!(is_fingerprinted(rel), want, "is_fingerprinted({rel})");
        }
    }

    #[test]
    fn default_cache_controls() {
        let cases = [
            ("index.html", REVALIDATE),
            ("blog/post/index.html", REVALIDATE),
            ("sw.js", REVALIDATE),
            ("service-worker.js", REVALIDATE),
            ("manifest.json", REVALIDATE),
            ("site.webmanifest", REVALIDATE),
            ("assets/index-BkQx9_2a.js", IMMUTABLE),
            ("favicon.ico", DEFAULT_CACHE),
            ("robots.txt", DEFAULT_CACHE),
        ];
        for (rel, want) in cases {
            assert_eq!(default_cache_control(rel), want, "cache control of {rel}");
        }
    }

    #[test]
    fn first_matching_rule_wins_per_header() {
        let policy = HeaderPolicy::new(vec![
            Rule::new("**/*.html", Some("no-cache".into()), None).unwrap(),
            Rule::new("assets/*", Some("public, max-age=60".into()), None).unwrap(),
            Rule::new("assets/**", Some("never used".into()), Some("x/y".into())).unwrap(),
        ]);
        let cases = [
            ("index.html", "no-cache", "text/html; charset=utf-8"),
            ("docs/a.html", "no-cache", "text/html; charset=utf-8"),
            ("assets/a.js", "public, max-age=60", "x/y"),
            ("assets/deep/b.js", "never used", "x/y"),
            ("robots.txt", DEFAULT_CACHE, "text/plain; charset=utf-8"),
        ];
        for (rel, cache, ctype) in cases {
            let h = policy.headers_for(rel);
            assert_eq!(h.cache_control, cache, "cache control of {rel}");
            assert_eq!(h.content_type, ctype, "content type of {rel}");
        }
    }

    #[test]
    fn invalid_rule_glob_names_the_pattern() {
        let err = Rule::new("assets/[", None, None).unwrap_err();
        assert!(err.to_string().contains("`assets/[`"), "{err}");
    }
}
