//! The `Content-Type` and `Cache-Control` each object gets. Browsers and CDNs act on these headers
//! (a wrong type breaks a module script, a long cache on HTML pins a stale site), so the defaults
//! are chosen per kind of file from the build's evidence (`fingerprint`) and `[[rules]]` in
//! `shipfront.toml` override them.

use globset::{GlobBuilder, GlobMatcher};
use serde::Serialize;

use crate::core::error::{Error, Result};
use crate::core::fingerprint::{CacheClass, Evidence};

/// HTML, service workers and manifests must be revalidated on every visit so a deploy shows up.
pub const REVALIDATE: &str = "public, max-age=0, must-revalidate";
/// Fingerprinted names change when their content does, so they may be cached for a year.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Everything else: an hour, a compromise between freshness and origin load.
pub const DEFAULT_CACHE: &str = "public, max-age=3600";

/// The two headers shipfront manages on every object, and why the Cache-Control was chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Headers {
    pub content_type: String,
    pub cache_control: String,
    /// Not sent: the evidence or rule behind `cache_control`, e.g. `immutable: Astro _astro/`.
    #[serde(rename = "cache_reason")]
    pub reason: String,
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
        for (name, value) in [
            ("cache_control", &cache_control),
            ("content_type", &content_type),
        ] {
            if let Some(value) = value {
                check_header_value(pattern, name, value)?;
            }
        }
        Ok(Rule {
            pattern: pattern.to_owned(),
            matcher: glob.compile_matcher(),
            cache_control,
            content_type,
        })
    }
}

/// Refuses a header value HTTP cannot carry: empty, or with a line break or another character
/// that is not visible ASCII, a space or a tab (RFC 9110 field values). S3 would refuse the
/// upload half-way through a deploy; the config check refuses it before any write.
fn check_header_value(pattern: &str, name: &str, value: &str) -> Result<()> {
    let bad = value
        .chars()
        .find(|c| !(c.is_ascii_graphic() || *c == ' ' || *c == '\t'));
    let why = match bad {
        Some(c) => format!("contains {}", c.escape_debug()),
        None if value.trim().is_empty() => "is empty".to_owned(),
        None => return Ok(()),
    };
    Err(Error::Usage(format!(
        "[[rules]] entry `{pattern}`: {name} `{}` {why}, which an HTTP header cannot carry; \
         write it on one line of visible ASCII",
        value.escape_debug()
    )))
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

    /// Headers for `rel` (a `/`-separated path relative to the build folder), given what the
    /// whole build says about its files. For each header the first rule that matches and sets
    /// it wins; otherwise the default applies.
    #[must_use]
    pub fn headers_for(&self, rel: &str, evidence: &Evidence) -> Headers {
        let matching = || self.rules.iter().filter(|r| r.matcher.is_match(rel));
        let (cache_control, reason) = match matching().find(|r| r.cache_control.is_some()) {
            Some(rule) => (
                rule.cache_control.clone().unwrap_or_default(),
                format!("rule `{}`", rule.pattern),
            ),
            None => {
                let verdict = evidence.verdict(rel);
                (cache_control_of(verdict.class).to_owned(), verdict.why)
            }
        };
        let content_type = matching()
            .find_map(|r| r.content_type.clone())
            .unwrap_or_else(|| content_type(rel));
        Headers {
            content_type,
            cache_control,
            reason,
        }
    }
}

/// The Cache-Control of a class.
#[must_use]
pub fn cache_control_of(class: CacheClass) -> &'static str {
    match class {
        CacheClass::Revalidate => REVALIDATE,
        CacheClass::Immutable => IMMUTABLE,
        CacheClass::Hour => DEFAULT_CACHE,
    }
}

fn file_name(rel: &str) -> &str {
    rel.rsplit('/').next().unwrap_or(rel)
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
        // RFC 8081 font types, and RFC 9512 YAML: mime_guess still has the old ones.
        "woff" => "font/woff".into(),
        "otf" => "font/otf".into(),
        "ttf" => "font/ttf".into(),
        "yaml" | "yml" => "application/yaml".into(),
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
            "application/json"
                | "application/javascript"
                | "application/xml"
                | "application/yaml"
                | "image/svg+xml"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_http_cannot_carry_are_refused() {
        let cases = [
            ("public, max-age=60", true),
            ("text/html; charset=utf-8", true),
            ("no-cache\nX-Injected: 1", false),
            ("max-age=60\r", false),
            ("caf\u{e9}", false),
            ("   ", false),
            ("a\u{7f}", false),
        ];
        for (value, ok) in cases {
            let got = Rule::new("**/*.css", Some(value.to_owned()), None);
            assert_eq!(got.is_ok(), ok, "{value:?}");
            if let Err(e) = got {
                let text = e.to_string();
                assert!(
                    text.contains("**/*.css") && text.contains("cache_control"),
                    "{text}"
                );
                assert!(!text.contains('\n') && !text.contains('\r'), "{text}");
            }
        }
        assert!(Rule::new("*", None, Some("text/plain\n".to_owned())).is_err());
    }

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
            ("font.woff", "font/woff"),
            ("font.otf", "font/otf"),
            ("font.ttf", "font/ttf"),
            ("openapi.yaml", "application/yaml; charset=utf-8"),
            ("config.YML", "application/yaml; charset=utf-8"),
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
            let h = policy.headers_for(rel, &Evidence::default());
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
