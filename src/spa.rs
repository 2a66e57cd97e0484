//! The single-page-app guard: an SPA's deep links work only while the distribution answers
//! 403 and 404 with `/index.html` (status 200) and serves `index.html` at the root. This module
//! says, as pure data, what a distribution lacks and what the repaired settings are; the
//! CloudFront adapter reads and writes them.

use std::fmt;

/// The page every SPA route falls back to.
pub const INDEX: &str = "index.html";

/// One custom error response, in our own terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorResponse {
    pub error_code: i32,
    /// e.g. `/index.html`; None when CloudFront serves its own error page.
    pub page: Option<String>,
    /// The status CloudFront answers with, e.g. `200`.
    pub response_code: Option<String>,
}

/// The distribution settings the guard looks at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpaSettings {
    pub default_root_object: String,
    pub error_responses: Vec<ErrorResponse>,
}

/// Something an SPA needs that the distribution lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpaGap {
    /// `DefaultRootObject` is not `index.html` (it holds this value).
    DefaultRootObject(String),
    /// No `CODE -> /index.html (200)` custom error response.
    Fallback(i32),
}

impl fmt::Display for SpaGap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpaGap::DefaultRootObject(v) if v.is_empty() => {
                write!(f, "DefaultRootObject is not set (needs `{INDEX}`)")
            }
            SpaGap::DefaultRootObject(v) => {
                write!(f, "DefaultRootObject is `{v}` (needs `{INDEX}`)")
            }
            SpaGap::Fallback(code) => write!(f, "no {code} -> /{INDEX} (200) error response"),
        }
    }
}

/// The codes whose errors must fall back to the app: S3 behind OAC answers 403 for a missing
/// key, other origins 404.
const FALLBACK_CODES: [i32; 2] = [403, 404];

fn falls_back(r: &ErrorResponse) -> bool {
    r.page.as_deref() == Some("/index.html") && r.response_code.as_deref() == Some("200")
}

/// What `settings` lack for an SPA, in a fixed order.
#[must_use]
pub fn gaps(settings: &SpaSettings) -> Vec<SpaGap> {
    let mut out = Vec::new();
    if settings.default_root_object != INDEX {
        out.push(SpaGap::DefaultRootObject(
            settings.default_root_object.clone(),
        ));
    }
    for code in FALLBACK_CODES {
        let ok = settings
            .error_responses
            .iter()
            .any(|r| r.error_code == code && falls_back(r));
        if !ok {
            out.push(SpaGap::Fallback(code));
        }
    }
    out
}

/// `settings` with the gaps filled: an existing 403/404 entry is redirected to the app, a
/// missing one added; every other entry is kept as it is.
#[must_use]
pub fn repaired(settings: &SpaSettings) -> SpaSettings {
    let mut fixed = settings.clone();
    fixed.default_root_object = INDEX.to_owned();
    for code in FALLBACK_CODES {
        let target = ErrorResponse {
            error_code: code,
            page: Some(format!("/{INDEX}")),
            response_code: Some("200".to_owned()),
        };
        match fixed
            .error_responses
            .iter_mut()
            .find(|r| r.error_code == code)
        {
            Some(existing) => *existing = target,
            None => fixed.error_responses.push(target),
        }
    }
    fixed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(code: i32, page: &str, status: &str) -> ErrorResponse {
        ErrorResponse {
            error_code: code,
            page: Some(page.into()),
            response_code: Some(status.into()),
        }
    }

    fn settings(root: &str, responses: Vec<ErrorResponse>) -> SpaSettings {
        SpaSettings {
            default_root_object: root.into(),
            error_responses: responses,
        }
    }

    #[test]
    fn gaps_table() {
        let ok403 = response(403, "/index.html", "200");
        let ok404 = response(404, "/index.html", "200");
        let cases = [
            (
                settings("index.html", vec![ok403.clone(), ok404.clone()]),
                vec![],
            ),
            (
                settings("", vec![]),
                vec![
                    SpaGap::DefaultRootObject(String::new()),
                    SpaGap::Fallback(403),
                    SpaGap::Fallback(404),
                ],
            ),
            (
                settings(
                    "index.html",
                    vec![ok403.clone(), response(404, "/404.html", "404")],
                ),
                vec![SpaGap::Fallback(404)],
            ),
            (
                settings(
                    "home.html",
                    vec![response(403, "/index.html", "403"), ok404.clone()],
                ),
                vec![
                    SpaGap::DefaultRootObject("home.html".into()),
                    SpaGap::Fallback(403),
                ],
            ),
        ];
        for (s, want) in cases {
            assert_eq!(gaps(&s), want, "{s:?}");
        }
    }

    #[test]
    fn repair_fills_gaps_and_keeps_other_responses() {
        let before = settings(
            "",
            vec![
                response(500, "/500.html", "500"),
                response(404, "/404.html", "404"),
            ],
        );
        let after = repaired(&before);
        assert!(gaps(&after).is_empty());
        assert_eq!(
            after.error_responses,
            [
                response(500, "/500.html", "500"),
                response(404, "/index.html", "200"),
                response(403, "/index.html", "200"),
            ]
        );
        assert_eq!(repaired(&after), after, "repair is idempotent");
    }

    #[test]
    fn gaps_read_as_instructions() {
        assert_eq!(
            SpaGap::Fallback(403).to_string(),
            "no 403 -> /index.html (200) error response"
        );
        assert_eq!(
            SpaGap::DefaultRootObject(String::new()).to_string(),
            "DefaultRootObject is not set (needs `index.html`)"
        );
    }
}
