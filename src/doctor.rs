//! `shipfront doctor`: checks the bucket and distribution a deploy relies on, and says how to
//! fix each problem. The facts are gathered by `aws`; turning them into verdicts is pure and
//! table-tested here.

use std::fmt;

use serde::Serialize;

use crate::spa::{self, SpaSettings};

/// What the adapter found out about the bucket.
#[derive(Debug, Clone)]
pub struct BucketFacts {
    /// Err: why the bucket cannot be listed (missing, denied, unreachable).
    pub reachable: Result<(), String>,
    /// `Enabled`, `Suspended`, or None when versioning was never turned on.
    pub versioning: Option<String>,
    /// The default encryption algorithm (`AES256`, `aws:kms`), None when none is set.
    pub encryption: Option<String>,
    /// Whether all four public-access-block settings are on; None when none is configured.
    pub public_access_blocked: Option<bool>,
    /// The bucket policy (JSON), None when there is none or it cannot be read.
    pub policy: Option<String>,
}

/// One origin of the distribution.
#[derive(Debug, Clone, Default)]
pub struct OriginFacts {
    pub domain_name: String,
    pub origin_path: String,
    /// Origin Access Control in use.
    pub oac: bool,
}

/// What the adapter found out about the distribution.
#[derive(Debug, Clone, Default)]
pub struct DistributionFacts {
    pub origins: Vec<OriginFacts>,
    /// `allow-all`, `redirect-to-https` or `https-only` of the default cache behavior.
    pub viewer_protocol_policy: String,
    pub spa: SpaSettings,
    pub aliases: Vec<String>,
    /// An ACM or IAM certificate is configured (needed for aliases).
    pub custom_certificate: bool,
}

/// A verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        })
    }
}

/// One line of the doctor's table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub detail: String,
    /// What to do, when not passing.
    pub fix: Option<String>,
}

fn check(
    name: &'static str,
    status: Status,
    detail: impl Into<String>,
    fix: Option<String>,
) -> Check {
    Check {
        name,
        status,
        detail: detail.into(),
        fix,
    }
}

/// Whether visitors can read the release records and the lock through CloudFront: they can when
/// the origin serves the state prefix and no bucket policy statement denies it.
fn records_check(
    bucket: &str,
    state_prefix: &str,
    served: &str,
    origin_path: &str,
    policy: Option<&str>,
) -> Check {
    const NAME: &str = "records private";
    if !served.is_empty() && !state_prefix.starts_with(&format!("{served}/")) {
        return check(
            NAME,
            Status::Pass,
            format!("`{state_prefix}` is outside OriginPath `{origin_path}`"),
            None,
        );
    }
    if policy.is_some_and(|p| policy_denies_cloudfront(p, bucket, state_prefix)) {
        return check(
            NAME,
            Status::Pass,
            format!("the bucket policy denies CloudFront `{state_prefix}`"),
            None,
        );
    }
    let url_path = state_prefix
        .strip_prefix(served)
        .unwrap_or(state_prefix)
        .trim_start_matches('/');
    check(
        NAME,
        Status::Warn,
        format!("CloudFront serves `{state_prefix}` (release records and lock) at /{url_path}..."),
        Some(format!(
            "add to the bucket policy {{\"Sid\":\"KeepShipfrontRecordsPrivate\",\"Effect\":\"Deny\",\
             \"Principal\":{{\"Service\":\"cloudfront.amazonaws.com\"}},\"Action\":\"s3:GetObject\",\
             \"Resource\":\"arn:aws:s3:::{bucket}/{state_prefix}*\"}}, or move --state-prefix outside \
             the OriginPath"
        )),
    )
}

/// Whether a bucket policy has a Deny of `s3:GetObject` for CloudFront (or everyone) on every
/// key under `state_prefix`. Conditions are not evaluated: a conditional Deny counts.
fn policy_denies_cloudfront(policy: &str, bucket: &str, state_prefix: &str) -> bool {
    let Ok(policy) = serde_json::from_str::<serde_json::Value>(policy) else {
        return false;
    };
    let list = |v: Option<&serde_json::Value>| -> Vec<String> {
        match v {
            Some(serde_json::Value::String(s)) => vec![s.clone()],
            Some(serde_json::Value::Array(a)) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect(),
            _ => vec![],
        }
    };
    let statements = match policy.get("Statement") {
        Some(serde_json::Value::Array(a)) => a.clone(),
        Some(one) => vec![one.clone()],
        None => vec![],
    };
    let object_arn = format!("arn:aws:s3:::{bucket}/");
    statements.iter().any(|st| {
        let deny = st.get("Effect").and_then(|e| e.as_str()) == Some("Deny");
        let principal = st.get("Principal");
        let for_cloudfront = principal.and_then(|p| p.as_str()) == Some("*")
            || principal.is_some_and(|p| {
                list(p.get("Service"))
                    .iter()
                    .any(|s| s == "cloudfront.amazonaws.com")
                    || list(p.get("AWS")).iter().any(|s| s == "*")
            });
        let gets = list(st.get("Action"))
            .iter()
            .any(|a| matches!(a.as_str(), "s3:GetObject" | "s3:Get*" | "s3:*" | "*"));
        let covers = list(st.get("Resource")).iter().any(|r| {
            r == "*"
                || r.strip_prefix(&object_arn)
                    .and_then(|key| key.strip_suffix('*'))
                    .is_some_and(|key_prefix| state_prefix.starts_with(key_prefix))
        });
        deny && for_cloudfront && gets && covers
    })
}

/// The checks for `bucket` (and the distribution, when one was given).
#[must_use]
pub fn checks(
    bucket: &str,
    prefix: &str,
    state_prefix: &str,
    facts: &BucketFacts,
    distribution: Option<(&str, Result<&DistributionFacts, &str>)>,
    spa_fallback: Option<&str>,
) -> Vec<Check> {
    let mut out = bucket_checks(bucket, facts);
    if facts.reachable.is_err() {
        return out;
    }
    let Some((id, distribution)) = distribution else {
        return out;
    };
    let d = match distribution {
        Ok(d) => {
            out.push(check("distribution", Status::Pass, id, None));
            d
        }
        Err(why) => {
            out.push(check(
                "distribution",
                Status::Fail,
                why,
                Some("check --distribution-id".into()),
            ));
            return out;
        }
    };
    out.extend(origin_checks(bucket, prefix, state_prefix, facts, d));
    out.push(match d.viewer_protocol_policy.as_str() {
        "redirect-to-https" | "https-only" => check(
            "https",
            Status::Pass,
            d.viewer_protocol_policy.clone(),
            None,
        ),
        other => check(
            "https",
            Status::Warn,
            format!("viewer protocol policy `{other}` serves plain HTTP"),
            Some(
                "set the default cache behavior's ViewerProtocolPolicy to redirect-to-https".into(),
            ),
        ),
    });
    out.extend(spa_checks(d, spa_fallback));
    out.push(match (d.aliases.is_empty(), d.custom_certificate) {
        (true, _) => check(
            "alias certificate",
            Status::Warn,
            "no alias: the site is served on the cloudfront.net name only",
            Some(
                "add your domain as an alternate domain name, with an ACM certificate in us-east-1"
                    .into(),
            ),
        ),
        (false, true) => check(
            "alias certificate",
            Status::Pass,
            d.aliases.join(", "),
            None,
        ),
        (false, false) => check(
            "alias certificate",
            Status::Fail,
            format!(
                "aliases {} without a custom certificate",
                d.aliases.join(", ")
            ),
            Some("attach an ACM certificate (us-east-1) covering the aliases".into()),
        ),
    });
    out
}

/// The bucket's own settings: reachable, versioned, encrypted, not public.
fn bucket_checks(bucket: &str, facts: &BucketFacts) -> Vec<Check> {
    let mut out = Vec::new();
    match &facts.reachable {
        Ok(()) => out.push(check(
            "bucket reachable",
            Status::Pass,
            format!("s3://{bucket}"),
            None,
        )),
        Err(why) => {
            out.push(check(
                "bucket reachable",
                Status::Fail,
                why.clone(),
                Some("check --bucket, --region and the credentials' s3:ListBucket".into()),
            ));
            return out;
        }
    }
    out.push(match facts.versioning.as_deref() {
        Some("Enabled") => check("versioning", Status::Pass, "enabled", None),
        other => check(
            "versioning",
            Status::Fail,
            format!("{}: rollback needs object versions", other.unwrap_or("never enabled")),
            Some(format!(
                "aws s3api put-bucket-versioning --bucket {bucket} --versioning-configuration Status=Enabled"
            )),
        ),
    });
    out.push(match facts.encryption.as_deref() {
        Some(alg) => check("default encryption", Status::Pass, alg, None),
        None => check(
            "default encryption",
            Status::Warn,
            "none configured",
            Some(format!(
                "aws s3api put-bucket-encryption --bucket {bucket} --server-side-encryption-configuration \
                 '{{\"Rules\":[{{\"ApplyServerSideEncryptionByDefault\":{{\"SSEAlgorithm\":\"AES256\"}}}}]}}'"
            )),
        ),
    });
    out.push(match facts.public_access_blocked {
        Some(true) => check("public access block", Status::Pass, "all four settings on", None),
        other => check(
            "public access block",
            Status::Warn,
            if other.is_some() { "partly off" } else { "not configured" },
            Some(format!(
                "aws s3api put-public-access-block --bucket {bucket} --public-access-block-configuration \
                 BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true"
            )),
        ),
    });
    out
}

/// The origin serving the bucket: the right bucket, the right path, records private, OAC.
fn origin_checks(
    bucket: &str,
    prefix: &str,
    state_prefix: &str,
    facts: &BucketFacts,
    d: &DistributionFacts,
) -> Vec<Check> {
    let mut out = Vec::new();
    let bucket_host = format!("{bucket}.s3");
    let origin = d
        .origins
        .iter()
        .find(|o| o.domain_name.starts_with(&bucket_host));
    match origin {
        None => out.push(check(
            "origin is the bucket",
            Status::Fail,
            format!(
                "no origin points at {bucket} (origins: {})",
                d.origins
                    .iter()
                    .map(|o| o.domain_name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Some("deploy to the bucket the distribution serves, or add it as an origin".into()),
        )),
        Some(o) => {
            out.push(check(
                "origin is the bucket",
                Status::Pass,
                o.domain_name.clone(),
                None,
            ));
            let served = o.origin_path.trim_matches('/');
            let deployed = prefix.trim_end_matches('/');
            out.push(if served == deployed || deployed.starts_with(&format!("{served}/")) && !served.is_empty() {
                check(
                    "origin path",
                    Status::Pass,
                    format!("OriginPath `{}`, --prefix `{prefix}`", o.origin_path),
                    None,
                )
            } else {
                check(
                    "origin path",
                    Status::Fail,
                    format!(
                        "OriginPath `{}` does not serve --prefix `{prefix}`: visitors would not see the deploy",
                        o.origin_path
                    ),
                    Some(format!("deploy with --prefix {served}/ or change the origin's OriginPath")),
                )
            });
            out.push(records_check(
                bucket,
                state_prefix,
                served,
                &o.origin_path,
                facts.policy.as_deref(),
            ));
            out.push(if o.oac {
                check("origin access control", Status::Pass, "in use", None)
            } else {
                check(
                    "origin access control",
                    Status::Warn,
                    "the origin has no Origin Access Control",
                    Some("create an OAC and attach it to the origin, then allow it in the bucket policy".into()),
                )
            });
        }
    }
    out
}

/// The root object and, for an SPA (or when it passes), the fallback to its page.
fn spa_checks(d: &DistributionFacts, spa_fallback: Option<&str>) -> Vec<Check> {
    let mut out = Vec::new();
    let fallback = spa_fallback.unwrap_or(spa::INDEX);
    let gaps = spa::gaps(&d.spa, fallback);
    out.push(
        match gaps
            .iter()
            .find(|g| matches!(g, spa::SpaGap::DefaultRootObject { .. }))
        {
            None => check(
                "default root object",
                Status::Pass,
                d.spa.default_root_object.clone(),
                None,
            ),
            Some(gap) => check(
                "default root object",
                Status::Fail,
                gap.to_string(),
                Some("deploy once with --fix-spa, or set DefaultRootObject".into()),
            ),
        },
    );
    let fallback_gaps: Vec<String> = gaps
        .iter()
        .filter(|g| matches!(g, spa::SpaGap::Fallback { .. }))
        .map(ToString::to_string)
        .collect();
    if spa_fallback.is_some() || fallback_gaps.is_empty() {
        out.push(if fallback_gaps.is_empty() {
            check(
                "spa fallback",
                Status::Pass,
                format!("403 and 404 -> /{fallback} (200)"),
                None,
            )
        } else {
            check(
                "spa fallback",
                Status::Fail,
                fallback_gaps.join(", "),
                Some("deploy once with --fix-spa".into()),
            )
        });
    }
    out
}

/// The doctor's table, one check a line.
#[must_use]
pub fn table(checks: &[Check]) -> String {
    let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let mut s = String::new();
    for c in checks {
        s.push_str(&format!(
            "{:<width$}  {:<4}  {}\n",
            c.name,
            c.status.to_string(),
            c.detail
        ));
        if let Some(fix) = &c.fix {
            s.push_str(&format!("{:<width$}        fix: {fix}\n", ""));
        }
    }
    let failed = checks.iter().filter(|c| c.status == Status::Fail).count();
    let warned = checks.iter().filter(|c| c.status == Status::Warn).count();
    s.push_str(&format!(
        "{failed} failed, {warned} warnings, {} passed",
        checks.len() - failed - warned
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spa::{ErrorResponse, SpaSettings};

    fn good_bucket() -> BucketFacts {
        BucketFacts {
            reachable: Ok(()),
            versioning: Some("Enabled".into()),
            encryption: Some("AES256".into()),
            public_access_blocked: Some(true),
            policy: Some(
                r#"{"Statement": [{"Effect": "Deny", "Principal": {"Service": "cloudfront.amazonaws.com"},
                    "Action": "s3:GetObject", "Resource": ["arn:aws:s3:::www/.shipfront/*",
                    "arn:aws:s3:::www/site/.shipfront/*"]}]}"#
                    .into(),
            ),
        }
    }

    #[test]
    fn records_are_private_outside_the_origin_path_or_behind_a_deny() {
        let deny = |principal: &str, action: &str, resource: &str| {
            format!(
                r#"{{"Statement": [{{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::www/*"}}, {{"Effect": "Deny", "Principal": {principal},
                "Action": {action}, "Resource": {resource}}}]}}"#
            )
        };
        let cf = r#"{"Service": "cloudfront.amazonaws.com"}"#;
        let get = r#""s3:GetObject""#;
        let cases = [
            // (state prefix, OriginPath, policy, status)
            (".shipfront/", "", None, Status::Warn),
            (
                ".shipfront/",
                "",
                Some(deny(cf, get, r#""arn:aws:s3:::www/.shipfront/*""#)),
                Status::Pass,
            ),
            (
                ".shipfront/",
                "",
                Some(deny(cf, r#"["s3:*"]"#, r#"["arn:aws:s3:::www/.ship*"]"#)),
                Status::Pass,
            ),
            (
                ".shipfront/",
                "",
                Some(deny(r#""*""#, get, r#""arn:aws:s3:::www/.shipfront/*""#)),
                Status::Pass,
            ),
            // Another principal, another bucket, another action, one object only: not private.
            (
                ".shipfront/",
                "",
                Some(deny(
                    r#"{"AWS": "arn:aws:iam::1:user/x"}"#,
                    get,
                    r#""arn:aws:s3:::www/.shipfront/*""#,
                )),
                Status::Warn,
            ),
            (
                ".shipfront/",
                "",
                Some(deny(cf, get, r#""arn:aws:s3:::other/.shipfront/*""#)),
                Status::Warn,
            ),
            (
                ".shipfront/",
                "",
                Some(deny(
                    cf,
                    r#""s3:PutObject""#,
                    r#""arn:aws:s3:::www/.shipfront/*""#,
                )),
                Status::Warn,
            ),
            (
                ".shipfront/",
                "",
                Some(deny(cf, get, r#""arn:aws:s3:::www/.shipfront/lock""#)),
                Status::Warn,
            ),
            ("site/.shipfront/", "/site", None, Status::Warn),
            ("deploys/site/", "/site", None, Status::Pass),
            (".shipfront/", "", Some("not json".to_owned()), Status::Warn),
        ];
        for (state, origin_path, policy, want) in cases {
            let served = origin_path.trim_matches('/');
            let c = records_check("www", state, served, origin_path, policy.as_deref());
            assert_eq!(c.status, want, "{state} {origin_path} {policy:?}: {c:?}");
        }
    }

    fn good_distribution() -> DistributionFacts {
        let fallback = |code| ErrorResponse {
            error_code: code,
            page: Some("/index.html".into()),
            response_code: Some("200".into()),
        };
        DistributionFacts {
            origins: vec![OriginFacts {
                domain_name: "www.s3.us-east-1.amazonaws.com".into(),
                origin_path: String::new(),
                oac: true,
            }],
            viewer_protocol_policy: "redirect-to-https".into(),
            spa: SpaSettings {
                default_root_object: "index.html".into(),
                error_responses: vec![fallback(403), fallback(404)],
            },
            aliases: vec!["www.example.com".into()],
            custom_certificate: true,
        }
    }

    /// The checks of site `www` at the bucket root (state prefix `.shipfront/`).
    fn root_checks(
        b: &BucketFacts,
        d: Option<Result<&DistributionFacts, &str>>,
        spa_app: bool,
    ) -> Vec<Check> {
        let fallback = spa_app.then_some(spa::INDEX);
        checks("www", "", ".shipfront/", b, d.map(|d| ("E1", d)), fallback)
    }

    fn statuses(checks: &[Check]) -> Vec<(&'static str, Status)> {
        checks.iter().map(|c| (c.name, c.status)).collect()
    }

    #[test]
    fn a_well_set_up_site_passes_everything() {
        let d = good_distribution();
        let c = root_checks(&good_bucket(), Some(Ok(&d)), true);
        assert!(c.iter().all(|c| c.status == Status::Pass), "{c:#?}");
        assert_eq!(c.len(), 13);
    }

    #[test]
    fn each_problem_names_itself_and_its_fix() {
        use Status::*;
        type Case = (
            fn(&mut BucketFacts, &mut DistributionFacts),
            &'static str,
            Status,
        );
        let cases: Vec<Case> = vec![
            (
                |b, _| b.versioning = Some("Suspended".into()),
                "versioning",
                Fail,
            ),
            (|b, _| b.versioning = None, "versioning", Fail),
            (|b, _| b.encryption = None, "default encryption", Warn),
            (
                |b, _| b.public_access_blocked = None,
                "public access block",
                Warn,
            ),
            (
                |_, d| d.origins[0].domain_name = "other.s3.amazonaws.com".into(),
                "origin is the bucket",
                Fail,
            ),
            (
                |_, d| d.origins[0].origin_path = "/site".into(),
                "origin path",
                Fail,
            ),
            (
                |_, d| d.origins[0].oac = false,
                "origin access control",
                Warn,
            ),
            (
                |_, d| d.viewer_protocol_policy = "allow-all".into(),
                "https",
                Warn,
            ),
            (
                |_, d| d.spa.default_root_object = String::new(),
                "default root object",
                Fail,
            ),
            (|_, d| d.spa.error_responses.clear(), "spa fallback", Fail),
            (
                |_, d| d.custom_certificate = false,
                "alias certificate",
                Fail,
            ),
            (|_, d| d.aliases.clear(), "alias certificate", Warn),
        ];
        for (break_it, name, want) in cases {
            let (mut b, mut d) = (good_bucket(), good_distribution());
            break_it(&mut b, &mut d);
            let c = root_checks(&b, Some(Ok(&d)), true);
            let bad: Vec<_> = c.iter().filter(|c| c.status != Status::Pass).collect();
            assert_eq!(bad.len(), 1, "{name}: {bad:#?}");
            assert_eq!((bad[0].name, bad[0].status), (name, want));
            assert!(bad[0].fix.is_some(), "{name} has a fix");
        }
    }

    #[test]
    fn prefix_under_origin_path_passes() {
        let mut d = good_distribution();
        d.origins[0].origin_path = "/site".into();
        let c = checks(
            "www",
            "site/",
            "site/.shipfront/",
            &good_bucket(),
            Some(("E1", Ok(&d))),
            Some(spa::INDEX),
        );
        assert!(c.iter().all(|c| c.status == Status::Pass), "{c:#?}");
    }

    #[test]
    fn unreachable_bucket_and_missing_distribution_stop_the_list() {
        let b = BucketFacts {
            reachable: Err("bucket `www` does not exist".into()),
            ..good_bucket()
        };
        assert_eq!(
            statuses(&root_checks(&b, None, false)),
            [("bucket reachable", Status::Fail)]
        );
        let c = root_checks(&good_bucket(), Some(Err("does not exist")), false);
        assert_eq!(
            c.last().map(|c| (c.name, c.status)),
            Some(("distribution", Status::Fail))
        );
    }

    #[test]
    fn spa_fallback_is_only_required_for_spas() {
        let mut d = good_distribution();
        d.spa.error_responses.clear();
        let c = root_checks(&good_bucket(), Some(Ok(&d)), false);
        assert!(c.iter().all(|c| c.name != "spa fallback"), "{c:#?}");
    }

    #[test]
    fn table_lists_fixes_and_counts() {
        let mut b = good_bucket();
        b.versioning = None;
        let t = table(&root_checks(&b, None, false));
        assert!(
            t.contains("versioning           FAIL  never enabled"),
            "{t}"
        );
        assert!(
            t.contains("fix: aws s3api put-bucket-versioning --bucket www"),
            "{t}"
        );
        assert!(t.ends_with("1 failed, 0 warnings, 3 passed"), "{t}");
    }
}
