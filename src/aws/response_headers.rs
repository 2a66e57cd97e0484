//! `ResponseHeaders` to and from CloudFront's response headers policy config: the security
//! headers into their structured settings, the rest as custom headers, each overriding what
//! the origin sends.

use aws_sdk_cloudfront::types::{
    FrameOptionsList, ReferrerPolicyList, ResponseHeadersPolicyConfig,
    ResponseHeadersPolicyContentSecurityPolicy, ResponseHeadersPolicyContentTypeOptions,
    ResponseHeadersPolicyCustomHeader, ResponseHeadersPolicyCustomHeadersConfig,
    ResponseHeadersPolicyFrameOptions, ResponseHeadersPolicyReferrerPolicy,
    ResponseHeadersPolicySecurityHeadersConfig, ResponseHeadersPolicyStrictTransportSecurity,
    ResponseHeadersPolicyXssProtection,
};

use crate::core::response_headers::{Hsts, ResponseHeaders, XssProtection};
use crate::store::RemoteFailure;

fn build_error(e: impl std::fmt::Display) -> RemoteFailure {
    RemoteFailure::Other {
        message: e.to_string(),
        retryable: false,
    }
}

/// The policy config named `name` that adds exactly `headers`.
pub(super) fn config_of(
    name: &str,
    headers: &ResponseHeaders,
) -> Result<ResponseHeadersPolicyConfig, RemoteFailure> {
    let custom: Vec<ResponseHeadersPolicyCustomHeader> = headers
        .custom
        .iter()
        .map(|(header, value)| {
            ResponseHeadersPolicyCustomHeader::builder()
                .header(header)
                .value(value)
                .r#override(true)
                .build()
        })
        .collect::<Result<_, _>>()
        .map_err(build_error)?;
    let mut config = ResponseHeadersPolicyConfig::builder()
        .name(name)
        .comment("Written by shipfront from [headers] in shipfront.toml")
        .security_headers_config(security_config(headers)?);
    if !custom.is_empty() {
        config = config.custom_headers_config(
            ResponseHeadersPolicyCustomHeadersConfig::builder()
                .quantity(i32::try_from(custom.len()).unwrap_or(i32::MAX))
                .set_items(Some(custom))
                .build()
                .map_err(build_error)?,
        );
    }
    config.build().map_err(build_error)
}

fn security_config(
    h: &ResponseHeaders,
) -> Result<ResponseHeadersPolicySecurityHeadersConfig, RemoteFailure> {
    let mut s = ResponseHeadersPolicySecurityHeadersConfig::builder();
    if let Some(hsts) = &h.strict_transport_security {
        s = s.strict_transport_security(
            ResponseHeadersPolicyStrictTransportSecurity::builder()
                .r#override(true)
                .access_control_max_age_sec(hsts.max_age)
                .include_subdomains(hsts.include_subdomains)
                .preload(hsts.preload)
                .build()
                .map_err(build_error)?,
        );
    }
    if let Some(csp) = &h.content_security_policy {
        s = s.content_security_policy(
            ResponseHeadersPolicyContentSecurityPolicy::builder()
                .r#override(true)
                .content_security_policy(csp)
                .build()
                .map_err(build_error)?,
        );
    }
    if h.content_type_options {
        s = s.content_type_options(
            ResponseHeadersPolicyContentTypeOptions::builder()
                .r#override(true)
                .build()
                .map_err(build_error)?,
        );
    }
    if let Some(frame) = &h.frame_options {
        s = s.frame_options(
            ResponseHeadersPolicyFrameOptions::builder()
                .r#override(true)
                .frame_option(FrameOptionsList::from(frame.as_str()))
                .build()
                .map_err(build_error)?,
        );
    }
    if let Some(referrer) = &h.referrer_policy {
        s = s.referrer_policy(
            ResponseHeadersPolicyReferrerPolicy::builder()
                .r#override(true)
                .referrer_policy(ReferrerPolicyList::from(referrer.as_str()))
                .build()
                .map_err(build_error)?,
        );
    }
    if let Some(x) = &h.xss_protection {
        s = s.xss_protection(
            ResponseHeadersPolicyXssProtection::builder()
                .r#override(true)
                .protection(x.protection)
                .set_mode_block(x.protection.then_some(x.mode_block))
                .set_report_uri(x.report_uri.clone())
                .build()
                .map_err(build_error)?,
        );
    }
    Ok(s.build())
}

/// The headers a policy config adds (CORS, Server-Timing and removals are not read).
pub(super) fn headers_of(config: &ResponseHeadersPolicyConfig) -> ResponseHeaders {
    let s = config.security_headers_config();
    ResponseHeaders {
        strict_transport_security: s.and_then(|s| s.strict_transport_security()).map(|h| Hsts {
            max_age: h.access_control_max_age_sec(),
            include_subdomains: h.include_subdomains().unwrap_or(false),
            preload: h.preload().unwrap_or(false),
        }),
        content_security_policy: s
            .and_then(|s| s.content_security_policy())
            .map(|c| c.content_security_policy().to_owned()),
        content_type_options: s.and_then(|s| s.content_type_options()).is_some(),
        frame_options: s
            .and_then(|s| s.frame_options())
            .map(|f| f.frame_option().as_str().to_owned()),
        referrer_policy: s
            .and_then(|s| s.referrer_policy())
            .map(|r| r.referrer_policy().as_str().to_owned()),
        xss_protection: s.and_then(|s| s.xss_protection()).map(|x| XssProtection {
            protection: x.protection(),
            mode_block: x.mode_block().unwrap_or(false),
            report_uri: x.report_uri().map(str::to_owned),
        }),
        custom: config
            .custom_headers_config()
            .map(ResponseHeadersPolicyCustomHeadersConfig::items)
            .unwrap_or_default()
            .iter()
            .map(|c| (c.header().to_owned(), c.value().to_owned()))
            .collect(),
    }
}

/// Whether the policy has settings shipfront never writes: CORS, Server-Timing, removed
/// headers, or a header that does not override the origin's.
pub(super) fn hand_edited(config: &ResponseHeadersPolicyConfig) -> bool {
    let s = config.security_headers_config();
    let overrides = [
        s.and_then(|s| s.strict_transport_security())
            .map(ResponseHeadersPolicyStrictTransportSecurity::r#override),
        s.and_then(|s| s.content_security_policy())
            .map(ResponseHeadersPolicyContentSecurityPolicy::r#override),
        s.and_then(|s| s.content_type_options())
            .map(ResponseHeadersPolicyContentTypeOptions::r#override),
        s.and_then(|s| s.frame_options())
            .map(ResponseHeadersPolicyFrameOptions::r#override),
        s.and_then(|s| s.referrer_policy())
            .map(ResponseHeadersPolicyReferrerPolicy::r#override),
        s.and_then(|s| s.xss_protection())
            .map(ResponseHeadersPolicyXssProtection::r#override),
    ];
    let custom = config
        .custom_headers_config()
        .map(ResponseHeadersPolicyCustomHeadersConfig::items)
        .unwrap_or_default();
    config.cors_config().is_some()
        || config
            .server_timing_headers_config()
            .is_some_and(|t| t.enabled())
        || config
            .remove_headers_config()
            .is_some_and(|r| !r.items().is_empty())
        || overrides.iter().flatten().any(|o| !o)
        || custom.iter().any(|c| !c.r#override())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_reads_back_as_the_headers_it_was_made_of() {
        let table = [
            (
                "Strict-Transport-Security",
                "max-age=63072000; includeSubDomains",
            ),
            ("Content-Security-Policy", "default-src 'self'"),
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "no-referrer"),
            ("X-XSS-Protection", "1; report=https://r.example/x"),
            ("Permissions-Policy", "camera=()"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let headers = crate::core::response_headers::parse(&table).expect("valid");
        let config = config_of("shipfront-E1", &headers).expect("builds");
        assert_eq!(config.name(), "shipfront-E1");
        assert_eq!(headers_of(&config), headers);
        assert!(
            !hand_edited(&config),
            "what shipfront writes is not a hand edit"
        );
        let empty = config_of("p", &ResponseHeaders::default()).expect("builds");
        assert!(headers_of(&empty).lines().is_empty());
    }

    #[test]
    fn settings_shipfront_never_writes_are_a_hand_edit() {
        let base = || {
            ResponseHeadersPolicyConfig::builder()
                .name("p")
                .security_headers_config(
                    ResponseHeadersPolicySecurityHeadersConfig::builder().build(),
                )
        };
        let not_overriding = ResponseHeadersPolicyCustomHeadersConfig::builder()
            .quantity(1)
            .items(
                ResponseHeadersPolicyCustomHeader::builder()
                    .header("X-A")
                    .value("1")
                    .r#override(false)
                    .build()
                    .expect("builds"),
            )
            .build()
            .expect("builds");
        let edited = base()
            .custom_headers_config(not_overriding)
            .build()
            .expect("builds");
        assert!(hand_edited(&edited));
        let timing =
            aws_sdk_cloudfront::types::ResponseHeadersPolicyServerTimingHeadersConfig::builder()
                .enabled(true)
                .build()
                .expect("builds");
        let edited = base()
            .server_timing_headers_config(timing)
            .build()
            .expect("builds");
        assert!(hand_edited(&edited));
        assert!(!hand_edited(&base().build().expect("builds")));
    }
}
