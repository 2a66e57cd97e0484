//! The single-page-app guard: an SPA's deep links work only while the distribution answers
//! 403 and 404 with the app's fallback page (`/index.html`, or SvelteKit's `/200.html`; status
//! 200) and serves a page at the root. This module says, as pure data, what a distribution lacks
//! and what the repaired settings are; the CloudFront adapter reads and writes them.

use std::fmt;

/// The root page, and the default page every SPA route falls back to.
pub const INDEX: &str = "index.html";

/// The other name SPA builds give their fallback page, for the hint when `index.html` is
/// missing (SvelteKit's adapter-static documents `200.html`; Nuxt writes it too).
pub const OTHER_FALLBACK: &str = "200.html";

/// A fallback page name from `--spa-fallback` / `spa_fallback`: a page of the build folder,
/// given relative to it (`200.html`, `app/index.html`); a leading `/` is accepted.
pub fn fallback_page(raw: &str) -> Result<String, String> {
    let page = raw.trim().trim_start_matches('/');
    let valid = crate::core::fingerprint::is_html(page)
        && page
            .split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
        && !page.chars().any(char::is_control);
    if valid {
        Ok(page.to_owned())
    } else {
        Err(format!(
            "invalid SPA fallback page `{raw}`: name an HTML file of the build folder, e.g. \
             `index.html` or `200.html`"
        ))
    }
}

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
    /// `DefaultRootObject` is neither `index.html` nor the fallback page.
    DefaultRootObject { value: String, fallback: String },
    /// No `CODE -> /PAGE (200)` custom error response.
    Fallback { code: i32, page: String },
}

impl fmt::Display for SpaGap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpaGap::DefaultRootObject { value, fallback } => {
                if value.is_empty() {
                    f.write_str("DefaultRootObject is not set")?;
                } else {
                    write!(f, "DefaultRootObject is `{value}`")?;
                }
                if fallback == INDEX {
                    write!(f, " (needs `{INDEX}`)")
                } else {
                    write!(f, " (needs `{INDEX}` or `{fallback}`)")
                }
            }
            SpaGap::Fallback { code, page } => {
                write!(f, "no {code} -> /{page} (200) error response")
            }
        }
    }
}

/// The codes whose errors must fall back to the app: S3 behind OAC answers 403 for a missing
/// key, other origins 404.
const FALLBACK_CODES: [i32; 2] = [403, 404];

fn falls_back(r: &ErrorResponse, fallback: &str) -> bool {
    r.page.as_deref().and_then(|p| p.strip_prefix('/')) == Some(fallback)
        && r.response_code.as_deref() == Some("200")
}

/// Whether `DefaultRootObject` serves the app at `/`: `index.html`, or the fallback page itself
/// (a SvelteKit SPA build has only `200.html`).
fn root_serves_app(settings: &SpaSettings, fallback: &str) -> bool {
    settings.default_root_object == INDEX || settings.default_root_object == fallback
}

/// What `settings` lack for an SPA whose routes fall back to `fallback` (a page relative to the
/// site, e.g. `index.html`), in a fixed order.
#[must_use]
pub fn gaps(settings: &SpaSettings, fallback: &str) -> Vec<SpaGap> {
    let mut out = Vec::new();
    if !root_serves_app(settings, fallback) {
        out.push(SpaGap::DefaultRootObject {
            value: settings.default_root_object.clone(),
            fallback: fallback.to_owned(),
        });
    }
    for code in FALLBACK_CODES {
        let ok = settings
            .error_responses
            .iter()
            .any(|r| r.error_code == code && falls_back(r, fallback));
        if !ok {
            out.push(SpaGap::Fallback {
                code,
                page: fallback.to_owned(),
            });
        }
    }
    out
}

/// `settings` with the gaps filled: an existing 403/404 entry is redirected to the fallback
/// page, a missing one added; every other entry is kept as it is.
#[must_use]
pub fn repaired(settings: &SpaSettings, fallback: &str) -> SpaSettings {
    let mut fixed = settings.clone();
    if !root_serves_app(settings, fallback) {
        fixed.default_root_object = INDEX.to_owned();
    }
    for code in FALLBACK_CODES {
        let target = ErrorResponse {
            error_code: code,
            page: Some(format!("/{fallback}")),
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
            (settings("", vec![]), vec![root_gap(""), gap(403), gap(404)]),
            (
                settings(
                    "index.html",
                    vec![ok403.clone(), response(404, "/404.html", "404")],
                ),
                vec![gap(404)],
            ),
            (
                settings(
                    "home.html",
                    vec![response(403, "/index.html", "403"), ok404.clone()],
                ),
                vec![root_gap("home.html"), gap(403)],
            ),
        ];
        for (s, want) in cases {
            assert_eq!(gaps(&s, INDEX), want, "{s:?}");
        }
    }

    fn gap(code: i32) -> SpaGap {
        SpaGap::Fallback {
            code,
            page: INDEX.into(),
        }
    }

    #[test]
    fn a_200_html_fallback_is_its_own_target_and_may_be_the_root_object() {
        let ok = |code| response(code, "/200.html", "200");
        let cases = [
            (settings("200.html", vec![ok(403), ok(404)]), vec![]),
            (settings("index.html", vec![ok(403), ok(404)]), vec![]),
            (
                settings(
                    "index.html",
                    vec![
                        response(403, "/index.html", "200"),
                        response(404, "/index.html", "200"),
                    ],
                ),
                vec![
                    SpaGap::Fallback {
                        code: 403,
                        page: "200.html".into(),
                    },
                    SpaGap::Fallback {
                        code: 404,
                        page: "200.html".into(),
                    },
                ],
            ),
        ];
        for (s, want) in cases {
            assert_eq!(gaps(&s, "200.html"), want, "{s:?}");
        }
        let fixed = repaired(&settings("", vec![]), "200.html");
        assert!(gaps(&fixed, "200.html").is_empty(), "{fixed:?}");
        assert_eq!(fixed.error_responses[0].page.as_deref(), Some("/200.html"));
        assert_eq!(
            gap(403).to_string().replace("index", "200"),
            SpaGap::Fallback {
                code: 403,
                page: "200.html".into()
            }
            .to_string()
        );
    }

    #[test]
    fn fallback_page_names() {
        for (raw, want) in [
            ("200.html", Ok("200.html")),
            ("/200.html", Ok("200.html")),
            ("app/index.html", Ok("app/index.html")),
            ("", Err(())),
            ("/", Err(())),
            ("../x.html", Err(())),
            ("a//b.html", Err(())),
            ("app.js", Err(())),
        ] {
            assert_eq!(fallback_page(raw).as_deref().map_err(|_| ()), want, "{raw}");
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
        let after = repaired(&before, INDEX);
        assert!(gaps(&after, INDEX).is_empty());
        assert_eq!(
            after.error_responses,
            [
                response(500, "/500.html", "500"),
                response(404, "/index.html", "200"),
                response(403, "/index.html", "200"),
            ]
        );
        assert_eq!(repaired(&after, INDEX), after, "repair is idempotent");
    }

    #[test]
    fn gaps_read_as_instructions() {
        assert_eq!(
            gap(403).to_string(),
            "no 403 -> /index.html (200) error response"
        );
        assert_eq!(
            root_gap("").to_string(),
            "DefaultRootObject is not set (needs `index.html`)"
        );
        assert_eq!(
            gaps(&settings("home.html", vec![]), "200.html")[0].to_string(),
            "DefaultRootObject is `home.html` (needs `index.html` or `200.html`)"
        );
    }

    fn root_gap(value: &str) -> SpaGap {
        SpaGap::DefaultRootObject {
            value: value.into(),
            fallback: INDEX.into(),
        }
    }
}
