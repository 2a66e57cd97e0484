//! The headers every response carries, from `[headers]` in shipfront.toml, decided purely: a
//! private S3 origin cannot send HSTS or a Content-Security-Policy, so CloudFront adds them
//! through a response headers policy shipfront writes. The names CloudFront knows as security
//! headers become its structured settings (checked here, at load, as CloudFront would refuse
//! them later); every other header is a custom one.

use std::collections::BTreeMap;

/// The name of the response headers policy shipfront writes for `distribution`.
#[must_use]
pub fn policy_name(distribution: &str) -> String {
    format!("shipfront-{distribution}")
}

/// CloudFront's (default) limit on a Content-Security-Policy value, in characters.
pub const MAX_CSP_CHARS: usize = 1783;
/// CloudFront's (default) limit on custom headers in one response headers policy.
pub const MAX_CUSTOM_HEADERS: usize = 10;

/// `Strict-Transport-Security`, as CloudFront's settings hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hsts {
    pub max_age: i32,
    pub include_subdomains: bool,
    pub preload: bool,
}

/// `X-XSS-Protection`, as CloudFront's settings hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XssProtection {
    pub protection: bool,
    pub mode_block: bool,
    pub report_uri: Option<String>,
}

/// The headers a response headers policy adds to every response, each overriding what the
/// origin sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseHeaders {
    pub strict_transport_security: Option<Hsts>,
    pub content_security_policy: Option<String>,
    /// `X-Content-Type-Options: nosniff`.
    pub content_type_options: bool,
    /// `X-Frame-Options`: `DENY` or `SAMEORIGIN`.
    pub frame_options: Option<String>,
    /// `Referrer-Policy`, one of the eight values CloudFront accepts.
    pub referrer_policy: Option<String>,
    pub xss_protection: Option<XssProtection>,
    /// Every other header, by the name as written.
    pub custom: BTreeMap<String, String>,
}

/// A response headers policy as a distribution has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadersPolicy {
    pub id: String,
    pub name: String,
    /// The headers it adds (those shipfront can write; CORS and removals are not read).
    pub headers: ResponseHeaders,
    /// It also has settings shipfront never writes (CORS, Server-Timing, removed headers, a
    /// header that does not override the origin's): edited by hand.
    pub hand_edited: bool,
}

const REFERRER_POLICIES: [&str; 8] = [
    "no-referrer",
    "no-referrer-when-downgrade",
    "origin",
    "origin-when-cross-origin",
    "same-origin",
    "strict-origin",
    "strict-origin-when-cross-origin",
    "unsafe-url",
];

/// Headers `[headers]` may not set, and why.
fn refused(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "cache-control"
        | "content-type"
        | "content-encoding"
        | "content-disposition"
        | "content-language"
        | "expires" => Some(
            "shipfront sets it per file (see [[rules]]); one value for every response would \
             override that",
        ),
        "content-length" | "transfer-encoding" | "connection" | "keep-alive" | "upgrade"
        | "trailer" | "te" | "date" | "server" | "via" | "set-cookie" => {
            Some("CloudFront owns this header")
        }
        _ if lower.starts_with("access-control-") => {
            Some("CORS headers need a CORS configuration, which [headers] does not write")
        }
        _ if lower.starts_with("x-amz-") || lower.starts_with("x-edge-") => {
            Some("AWS reserves this prefix")
        }
        _ => None,
    }
}

/// Whether `name` is an HTTP header name (RFC 9110 token).
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Reads `[headers]`: each name once (in any case), each value what CloudFront accepts for it.
///
/// # Errors
/// Every bad entry, each naming its header and what to write instead.
pub fn parse(table: &BTreeMap<String, String>) -> Result<ResponseHeaders, Vec<String>> {
    let mut out = ResponseHeaders::default();
    let mut errors = Vec::new();
    let mut seen = BTreeMap::new();
    for (name, value) in table {
        let entry = |why: String| format!("[headers] `{name}`: {why}");
        if let Some(first) = seen.insert(name.to_ascii_lowercase(), name) {
            errors.push(entry(format!("set twice (also as `{first}`)")));
            continue;
        }
        if !is_token(name) {
            errors.push(entry("not a header name".into()));
            continue;
        }
        if let Some(why) = refused(name) {
            errors.push(entry(why.into()));
            continue;
        }
        let value = value.trim();
        if value.is_empty() || value.chars().any(char::is_control) {
            errors.push(entry(
                "the value must be non-empty, on one line, without control characters".into(),
            ));
            continue;
        }
        if let Err(why) = set(&mut out, name, value) {
            errors.push(entry(why));
        }
    }
    if out.custom.len() > MAX_CUSTOM_HEADERS {
        errors.push(format!(
            "[headers]: {} custom headers; CloudFront allows {MAX_CUSTOM_HEADERS} in a response \
             headers policy",
            out.custom.len()
        ));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Sets one header on `out`: a security header into its setting, any other as custom.
fn set(out: &mut ResponseHeaders, name: &str, value: &str) -> Result<(), String> {
    match name.to_ascii_lowercase().as_str() {
        "strict-transport-security" => out.strict_transport_security = Some(hsts(value)?),
        "content-security-policy" => {
            let chars = value.chars().count();
            if chars > MAX_CSP_CHARS {
                return Err(format!(
                    "{chars} characters; CloudFront allows {MAX_CSP_CHARS}"
                ));
            }
            out.content_security_policy = Some(value.to_owned());
        }
        "x-content-type-options" => {
            if !value.eq_ignore_ascii_case("nosniff") {
                return Err("the only value is `nosniff`".into());
            }
            out.content_type_options = true;
        }
        "x-frame-options" => {
            let upper = value.to_ascii_uppercase();
            if upper != "DENY" && upper != "SAMEORIGIN" {
                return Err("`DENY` or `SAMEORIGIN`".into());
            }
            out.frame_options = Some(upper);
        }
        "referrer-policy" => {
            let lower = value.to_ascii_lowercase();
            if !REFERRER_POLICIES.contains(&lower.as_str()) {
                return Err(format!("one of {}", REFERRER_POLICIES.join(", ")));
            }
            out.referrer_policy = Some(lower);
        }
        "x-xss-protection" => out.xss_protection = Some(xss(value)?),
        _ => {
            out.custom.insert(name.to_owned(), value.to_owned());
        }
    }
    Ok(())
}

/// `max-age=N[; includeSubDomains][; preload]`.
fn hsts(value: &str) -> Result<Hsts, String> {
    let mut max_age = None;
    let (mut include_subdomains, mut preload) = (false, false);
    for directive in value.split(';').map(str::trim).filter(|d| !d.is_empty()) {
        let lower = directive.to_ascii_lowercase();
        if let Some(seconds) = lower.strip_prefix("max-age=") {
            max_age = Some(
                seconds
                    .trim_matches('"')
                    .parse::<i32>()
                    .ok()
                    .filter(|s| *s >= 0)
                    .ok_or_else(|| {
                        format!("max-age `{seconds}` is not a whole number of seconds")
                    })?,
            );
        } else if lower == "includesubdomains" {
            include_subdomains = true;
        } else if lower == "preload" {
            preload = true;
        } else {
            return Err(format!(
                "unknown directive `{directive}` (max-age=N, includeSubDomains, preload)"
            ));
        }
    }
    let max_age = max_age.ok_or("max-age=N is required, e.g. max-age=63072000")?;
    Ok(Hsts {
        max_age,
        include_subdomains,
        preload,
    })
}

/// `0`, `1`, `1; mode=block` or `1; report=<uri>`.
fn xss(value: &str) -> Result<XssProtection, String> {
    const FORMS: &str = "`0`, `1`, `1; mode=block` or `1; report=<uri>`";
    let mut parts = value.split(';').map(str::trim);
    let protection = match parts.next() {
        Some("0") => false,
        Some("1") => true,
        _ => return Err(FORMS.into()),
    };
    let mut out = XssProtection {
        protection,
        mode_block: false,
        report_uri: None,
    };
    for part in parts.filter(|p| !p.is_empty()) {
        if !protection {
            return Err(FORMS.into());
        }
        if part.eq_ignore_ascii_case("mode=block") {
            out.mode_block = true;
        } else if let Some(uri) = part.strip_prefix("report=").filter(|u| !u.is_empty()) {
            out.report_uri = Some(uri.to_owned());
        } else {
            return Err(FORMS.into());
        }
    }
    if out.mode_block && out.report_uri.is_some() {
        return Err(format!("{FORMS}, not both"));
    }
    Ok(out)
}

impl ResponseHeaders {
    /// The headers as a response carries them, for the plan and `doctor`.
    #[must_use]
    pub fn lines(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(h) = &self.strict_transport_security {
            let mut v = format!("max-age={}", h.max_age);
            if h.include_subdomains {
                v.push_str("; includeSubDomains");
            }
            if h.preload {
                v.push_str("; preload");
            }
            out.push(("Strict-Transport-Security".to_owned(), v));
        }
        if let Some(csp) = &self.content_security_policy {
            out.push(("Content-Security-Policy".to_owned(), csp.clone()));
        }
        if self.content_type_options {
            out.push(("X-Content-Type-Options".to_owned(), "nosniff".to_owned()));
        }
        if let Some(f) = &self.frame_options {
            out.push(("X-Frame-Options".to_owned(), f.clone()));
        }
        if let Some(r) = &self.referrer_policy {
            out.push(("Referrer-Policy".to_owned(), r.clone()));
        }
        if let Some(x) = &self.xss_protection {
            let v = match (x.protection, x.mode_block, &x.report_uri) {
                (false, _, _) => "0".to_owned(),
                (true, true, _) => "1; mode=block".to_owned(),
                (true, false, Some(uri)) => format!("1; report={uri}"),
                (true, false, None) => "1".to_owned(),
            };
            out.push(("X-XSS-Protection".to_owned(), v));
        }
        out.extend(self.custom.iter().map(|(k, v)| (k.clone(), v.clone())));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
        entries
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn security_headers_become_cloudfronts_settings_and_the_rest_custom() {
        let parsed = parse(&table(&[
            (
                "Strict-Transport-Security",
                "max-age=63072000; includeSubDomains; preload",
            ),
            ("content-security-policy", "default-src 'self'"),
            ("X-Content-Type-Options", "NOSNIFF"),
            ("X-Frame-Options", "sameorigin"),
            ("Referrer-Policy", "Strict-Origin-When-Cross-Origin"),
            ("X-XSS-Protection", "1; mode=block"),
            ("Permissions-Policy", "camera=(), geolocation=()"),
            ("Cross-Origin-Opener-Policy", "same-origin"),
        ]))
        .expect("valid");
        assert_eq!(
            parsed.strict_transport_security,
            Some(Hsts {
                max_age: 63_072_000,
                include_subdomains: true,
                preload: true
            })
        );
        assert_eq!(
            parsed.content_security_policy.as_deref(),
            Some("default-src 'self'")
        );
        assert!(parsed.content_type_options);
        assert_eq!(parsed.frame_options.as_deref(), Some("SAMEORIGIN"));
        assert_eq!(
            parsed.referrer_policy.as_deref(),
            Some("strict-origin-when-cross-origin")
        );
        assert_eq!(
            parsed.custom.keys().collect::<Vec<_>>(),
            ["Cross-Origin-Opener-Policy", "Permissions-Policy"]
        );
        let lines = parsed.lines();
        assert_eq!(lines.len(), 8, "{lines:?}");
        assert_eq!(
            lines[0].1, "max-age=63072000; includeSubDomains; preload",
            "{lines:?}"
        );
        assert!(parse(&BTreeMap::new()).expect("empty").lines().is_empty());
    }

    #[test]
    fn bad_entries_are_refused_naming_the_header() {
        let cases = [
            // (name, value, what the error says)
            (
                "Strict-Transport-Security",
                "includeSubDomains",
                "max-age=N is required",
            ),
            (
                "Strict-Transport-Security",
                "max-age=abc",
                "not a whole number",
            ),
            (
                "Strict-Transport-Security",
                "max-age=-1",
                "not a whole number",
            ),
            (
                "Strict-Transport-Security",
                "max-age=1; always",
                "unknown directive `always`",
            ),
            ("X-Content-Type-Options", "sniff", "`nosniff`"),
            ("X-Frame-Options", "ALLOW-FROM x", "`DENY` or `SAMEORIGIN`"),
            ("Referrer-Policy", "never", "one of no-referrer"),
            ("X-XSS-Protection", "2", "`0`, `1`"),
            ("X-XSS-Protection", "0; mode=block", "`0`, `1`"),
            ("X-XSS-Protection", "1; mode=block; report=/r", "not both"),
            ("Cache-Control", "no-cache", "per file"),
            ("content-type", "text/html", "per file"),
            ("Access-Control-Allow-Origin", "*", "CORS"),
            ("Content-Length", "1", "CloudFront owns"),
            ("X-Amz-Meta-A", "1", "AWS reserves"),
            ("Bad Name", "1", "not a header name"),
            ("X-Empty", "  ", "non-empty"),
            ("X-Line", "a\nb", "control characters"),
        ];
        for (name, value, says) in cases {
            let errors = parse(&table(&[(name, value)])).expect_err(name);
            assert_eq!(errors.len(), 1, "{name}: {errors:?}");
            assert!(
                errors[0].contains(&format!("`{name}`")) && errors[0].contains(says),
                "{name}={value}: {errors:?}"
            );
        }
    }

    #[test]
    fn limits_and_duplicates_are_refused_saying_the_limit() {
        let long_csp = "a".repeat(MAX_CSP_CHARS + 1);
        let errors = parse(&table(&[("Content-Security-Policy", &long_csp)])).expect_err("long");
        assert!(
            errors[0].contains("1784 characters; CloudFront allows 1783"),
            "{errors:?}"
        );
        assert!(parse(&table(&[("Content-Security-Policy", &long_csp[1..])])).is_ok());

        let many: Vec<(String, String)> = (0..=MAX_CUSTOM_HEADERS)
            .map(|i| (format!("X-Custom-{i:02}"), "1".to_owned()))
            .collect();
        let errors = parse(&many.iter().cloned().collect()).expect_err("too many");
        assert!(
            errors[0].contains("11 custom headers; CloudFront allows 10"),
            "{errors:?}"
        );

        let errors = parse(&table(&[
            ("X-Frame-Options", "DENY"),
            ("x-frame-options", "DENY"),
        ]))
        .expect_err("twice");
        assert!(errors[0].contains("set twice"), "{errors:?}");
    }

    #[test]
    fn lines_read_back_as_the_same_policy() {
        let original = table(&[
            ("Strict-Transport-Security", "max-age=300"),
            ("X-XSS-Protection", "1; report=https://r.example/x"),
            ("X-Frame-Options", "DENY"),
            ("X-Robots-Tag", "noindex"),
        ]);
        let parsed = parse(&original).expect("valid");
        let again = parse(&parsed.lines().into_iter().collect()).expect("lines parse");
        assert_eq!(parsed, again);
    }
}
