//! The verdicts of `shipfront doctor`: what the bucket, the distribution and the build a deploy
//! relies on must be, and how to fix each problem. The facts they judge are gathered by `aws`
//! (`commands::doctor` asks); judging them is pure and table-tested here.

use std::fmt;

use serde::Serialize;

use crate::core::response_headers::{HeadersPolicy, ResponseHeaders};
use crate::core::spa::{self, SpaSettings};

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
    /// The lifecycle rules (empty: none configured; Err: why they could not be read).
    pub lifecycle: Result<Vec<LifecycleRule>, String>,
    /// How old each recorded release is, in whole days, newest first.
    pub release_ages_days: Vec<u64>,
}

/// One lifecycle rule of the bucket, as far as a deploy cares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LifecycleRule {
    pub id: String,
    pub enabled: bool,
    /// The key prefix it applies to (empty: every key).
    pub prefix: String,
    /// Noncurrent versions expire this many days after they became noncurrent.
    pub noncurrent_days: Option<i32>,
    /// ... except the newest this many, which are kept.
    pub newer_noncurrent_versions: Option<i32>,
    /// Current versions expire this many days after they were written.
    pub expiration_days: Option<i32>,
    /// Multipart uploads not completed are aborted this many days after they started.
    pub abort_incomplete_days: Option<i32>,
}

impl LifecycleRule {
    /// It applies to some of the site's objects (under `prefix`, not under `state_prefix`,
    /// where shipfront's records and lock live).
    fn touches(&self, prefix: &str, state_prefix: &str) -> bool {
        let state_only = !self.prefix.is_empty() && self.prefix.starts_with(state_prefix);
        self.enabled
            && !state_only
            && (prefix.starts_with(&self.prefix) || self.prefix.starts_with(prefix))
    }

    /// It applies to every key of the site.
    fn covers(&self, prefix: &str) -> bool {
        self.enabled && prefix.starts_with(&self.prefix)
    }
}

/// What the lifecycle rules do to a site under `prefix` whose releases are `ages` days old
/// (newest first): how deep a rollback can go, whether the live files expire, whether a killed
/// deploy's parts are ever cleaned up.
fn lifecycle_checks(
    bucket: &str,
    (prefix, state_prefix): (&str, &str),
    facts: &BucketFacts,
) -> Vec<Check> {
    let rules = match &facts.lifecycle {
        Ok(rules) => rules,
        Err(why) => {
            return vec![check(
                "lifecycle",
                Status::Warn,
                format!("the lifecycle rules could not be read: {why}"),
                Some("allow s3:GetLifecycleConfiguration to check rollback depth".into()),
            )];
        }
    };
    let site = (prefix, state_prefix);
    let mut out = vec![rollback_depth_check(rules, site, &facts.release_ages_days)];
    if let Some(rule) = rules
        .iter()
        .find(|r| r.touches(prefix, state_prefix) && r.expiration_days.is_some())
    {
        out.push(check(
            "live files kept",
            Status::Fail,
            format!(
                "rule `{}` expires current objects after {} day(s): it deletes the live site's \
                 files",
                rule.id,
                rule.expiration_days.unwrap_or_default()
            ),
            Some(format!(
                "limit rule `{}` to noncurrent versions (NoncurrentVersionExpiration), or to keys \
                 outside `{prefix}`",
                rule.id
            )),
        ));
    }
    out.push(match rules.iter().find(|r| r.covers(prefix) && r.abort_incomplete_days.is_some()) {
        Some(rule) => check(
            "incomplete uploads",
            Status::Pass,
            format!(
                "aborted after {} day(s) (rule `{}`)",
                rule.abort_incomplete_days.unwrap_or_default(),
                rule.id
            ),
            None,
        ),
        None => check(
            "incomplete uploads",
            Status::Warn,
            "never aborted: the parts of a killed deploy's large uploads are stored, and billed, \
             until aborted",
            Some(format!(
                "add a rule {{\"ID\":\"abort-incomplete-uploads\",\"Status\":\"Enabled\",\
                 \"Filter\":{{}},\"AbortIncompleteMultipartUpload\":{{\"DaysAfterInitiation\":7}}}} \
                 to the lifecycle configuration of {bucket} (put-bucket-lifecycle-configuration \
                 replaces the whole configuration: keep the rules it has)"
            )),
        ),
    });
    out
}

/// How long noncurrent versions (what a rollback restores) are kept, against the age of the
/// recorded releases.
fn rollback_depth_check(
    rules: &[LifecycleRule],
    (prefix, state_prefix): (&str, &str),
    ages: &[u64],
) -> Check {
    const NAME: &str = "rollback depth";
    let expiring = rules
        .iter()
        .filter(|r| r.touches(prefix, state_prefix))
        .filter_map(|r| r.noncurrent_days.map(|days| (days, r)))
        .min_by_key(|(days, _)| *days);
    let Some((days, rule)) = expiring else {
        return check(
            NAME,
            Status::Pass,
            "noncurrent versions are kept: every recorded release stays restorable",
            None,
        );
    };
    let days_u64 = u64::try_from(days).unwrap_or(0);
    // The newest releases past the first keep their versions whatever their age.
    let kept_newest = rule
        .newer_noncurrent_versions
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0);
    // A release's versions became noncurrent when the release after it was deployed: the
    // release at `k` (newest first) has been noncurrent as long as the one at `k - 1` is old.
    let older = ages
        .iter()
        .skip(kept_newest)
        .take(ages.len().saturating_sub(1 + kept_newest))
        .filter(|age| **age > days_u64)
        .count();
    if older == 0 {
        return check(
            NAME,
            Status::Pass,
            format!(
                "noncurrent versions expire after {days} day(s) (rule `{}`); every recorded \
                 release is younger",
                rule.id
            ),
            None,
        );
    }
    check(
        NAME,
        Status::Warn,
        format!(
            "noncurrent versions expire after {days} day(s) (rule `{}`), sooner than the releases \
             kept: {older} of {} recorded release(s) were replaced longer ago than that, so their \
             versions may be gone (`shipfront releases` marks those whose versions are)",
            rule.id,
            ages.len()
        ),
        Some(format!(
            "keep noncurrent versions as long as you want to roll back: raise NoncurrentDays of \
             rule `{}`, or keep the newest ones with NewerNoncurrentVersions",
            rule.id
        )),
    )
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
#[derive(Debug, Clone)]
pub struct DistributionFacts {
    pub origins: Vec<OriginFacts>,
    /// `allow-all`, `redirect-to-https` or `https-only` of the default cache behavior.
    pub viewer_protocol_policy: String,
    pub spa: SpaSettings,
    pub aliases: Vec<String>,
    /// An ACM or IAM certificate is configured (needed for aliases).
    pub custom_certificate: bool,
    /// The ARN of the function the default cache behavior runs on viewer requests.
    pub viewer_request_function: Option<String>,
    /// The published code of shipfront's function, when it runs on viewer requests and has
    /// some (Err: why it could not be read).
    pub viewer_request_code: Result<Option<String>, String>,
    /// The default cache behavior's response headers policy (Err: why it could not be read).
    pub headers_policy: Result<Option<HeadersPolicy>, String>,
    /// The cache behaviors besides the default one.
    pub behaviors: Vec<BehaviorFacts>,
}

/// A cache behavior besides the default one: requests whose path matches its pattern go to its
/// origin, through its own functions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BehaviorFacts {
    /// CloudFront's path pattern (`*.json`, `/api/*`): `*` any characters, `?` one.
    pub path_pattern: String,
    /// The domain name of the origin it sends requests to.
    pub origin_domain: String,
    /// The ARN of the function it runs on viewer requests.
    pub viewer_request_function: Option<String>,
}

/// Whether CloudFront's path pattern `pattern` matches the URL path `path` (`*` any
/// characters, `/` too; `?` one; the leading `/` optional).
#[must_use]
pub fn path_pattern_matches(pattern: &str, path: &str) -> bool {
    let pattern = pattern.strip_prefix('/').unwrap_or(pattern);
    let path = path.strip_prefix('/').unwrap_or(path);
    // Every character literal but CloudFront's two wildcards.
    let glob = globset::escape(pattern)
        .replace("[*]", "*")
        .replace("[?]", "?");
    globset::GlobBuilder::new(&glob)
        .literal_separator(false)
        .backslash_escape(true)
        .build()
        .is_ok_and(|g| g.compile_matcher().is_match(path))
}

/// The cache behaviors (by path pattern) that reach `bucket` without the default behavior's
/// viewer-request function and match a URL under `state_url` (`/.shipfront/`): through them,
/// CloudFront serves the records whatever that function hides.
fn unrouted_behaviors(d: &DistributionFacts, bucket: &str, state_url: &str) -> Vec<String> {
    let samples = [
        format!("{state_url}lock"),
        format!("{state_url}releases/20261206T000000.000Z-000000.json"),
    ];
    behaviors_without_routing(d, bucket, &samples)
}

/// The cache behaviors (by path pattern) that reach `bucket` without the default behavior's
/// viewer-request function and match one of the URL paths `samples`.
fn behaviors_without_routing(
    d: &DistributionFacts,
    bucket: &str,
    samples: &[String],
) -> Vec<String> {
    d.behaviors
        .iter()
        .filter(|b| serves_bucket(&b.origin_domain, bucket))
        .filter(|b| {
            d.viewer_request_function.is_none()
                || b.viewer_request_function != d.viewer_request_function
        })
        .filter(|b| {
            samples
                .iter()
                .any(|url| path_pattern_matches(&b.path_pattern, url))
        })
        .map(|b| b.path_pattern.clone())
        .collect()
}

impl DistributionFacts {
    /// The origin that serves `bucket`.
    #[must_use]
    pub fn origin_for(&self, bucket: &str) -> Option<&OriginFacts> {
        self.origins
            .iter()
            .find(|o| serves_bucket(&o.domain_name, bucket))
    }
}

/// Whether an origin of domain `domain_name` is `bucket` (S3 REST and website endpoints both
/// start with `<bucket>.s3`).
#[must_use]
pub fn serves_bucket(domain_name: &str, bucket: &str) -> bool {
    domain_name.starts_with(&format!("{bucket}.s3"))
}

/// What doctor knows of the build folder, when it is given.
#[derive(Debug, Clone)]
pub struct BuildFacts {
    /// The folder, as given, for messages.
    pub dir: String,
    /// Its files, relative to it.
    pub files: Vec<String>,
    /// The routing function the build implies (Err: why it cannot be made).
    pub routing_code: Result<String, String>,
}

/// What shipfront.toml and the flags say the edge should do.
#[derive(Debug, Clone, Copy, Default)]
pub struct EdgeExpect<'a> {
    /// Routing by shipfront's function is on (`routing = true`, `--routing`).
    pub routing: bool,
    /// `[headers]`, when set.
    pub headers: Option<&'a ResponseHeaders>,
    pub build: Option<&'a BuildFacts>,
    /// An atomic site's store and pointer (`--atomic`, `atomic = true`).
    pub atomic: Option<&'a AtomicFacts>,
}

/// What doctor found of an atomic site's (`--atomic`) KeyValueStore and pointer; each Err
/// says why it could not be read.
#[derive(Debug, Clone)]
pub struct AtomicFacts {
    /// The KeyValueStore's name.
    pub store: String,
    /// Its ARN and status (`READY`); None when there is none.
    pub found: Result<Option<(String, String)>, String>,
    /// The KeyValueStore shipfront's function is associated with at its live stage.
    pub associated: Result<Option<String>, String>,
    /// The release the `live` key names; None when there is no `live` key.
    pub live: Result<Option<String>, String>,
    /// A record of that release is under the state prefix.
    pub recorded: bool,
    /// `preview_domain` of the config: previews are served at `NAME.<domain>`.
    pub preview_domain: Option<String>,
}

/// A verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    /// Worth knowing; nothing is wrong.
    Hint,
    Warn,
    Fail,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Pass => "pass",
            Status::Hint => "hint",
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

/// The URL path at which an origin serving `served` of the bucket serves `state_prefix`.
fn state_url(state_prefix: &str, served: &str) -> String {
    let url_path = state_prefix
        .strip_prefix(served)
        .unwrap_or(state_prefix)
        .trim_start_matches('/');
    format!("/{url_path}")
}

/// Whether visitors can read the release records and the lock through CloudFront: they can when
/// the origin serves the state prefix and no bucket policy statement denies it, unless the
/// routing function hides it on every cache behavior that reaches the bucket (`unrouted`: the
/// path patterns of those that run without it).
fn records_check(
    (bucket, distribution): (&str, &str),
    state_prefix: &str,
    served: &str,
    origin_path: &str,
    policy: Option<&str>,
    routing_code: Option<&str>,
    unrouted: &[String],
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
    if policy.is_some_and(|p| policy_denies_cloudfront(p, (bucket, distribution), state_prefix)) {
        return check(
            NAME,
            Status::Pass,
            format!("the bucket policy denies CloudFront `{state_prefix}`"),
            None,
        );
    }
    let url = state_url(state_prefix, served);
    // shipfront's routing function answers 404 there, on the behaviors that run it.
    let hidden = routing_code
        .is_some_and(|code| crate::core::routing::hides(code, state_prefix, origin_path));
    if hidden && unrouted.is_empty() {
        return check(
            NAME,
            Status::Pass,
            format!("the routing function answers 404 at {url}..."),
            None,
        );
    }
    let deny = format!(
        "add to the bucket policy {{\"Sid\":\"KeepShipfrontRecordsPrivate\",\"Effect\":\"Deny\",\
         \"Principal\":{{\"Service\":\"cloudfront.amazonaws.com\"}},\"Action\":\"s3:GetObject\",\
         \"Resource\":\"arn:aws:s3:::{bucket}/{state_prefix}*\"}}"
    );
    if hidden {
        let patterns = unrouted
            .iter()
            .map(|p| format!("`{p}`"))
            .collect::<Vec<_>>();
        return check(
            NAME,
            Status::Warn,
            format!(
                "the routing function answers 404 at {url}..., but the cache behavior(s) {} reach \
                 the bucket without it: CloudFront serves `{state_prefix}` (release records and \
                 lock) through them",
                patterns.join(", ")
            ),
            Some(format!(
                "{deny}, or run the routing function on those behaviors' viewer requests too"
            )),
        );
    }
    check(
        NAME,
        Status::Warn,
        format!("CloudFront serves `{state_prefix}` (release records and lock) at {url}..."),
        Some(format!(
            "{deny}, or move --state-prefix outside the OriginPath"
        )),
    )
}

/// Whether a bucket policy has a Deny of `s3:GetObject` for CloudFront (or everyone) on every
/// key under `state_prefix`, whatever the request: a Deny with a condition covers only the
/// requests the condition matches (AWS's TLS-only statement denies plain HTTP, which CloudFront
/// does not use), so it counts only when its condition just names the caller (the
/// distribution's ARN, the account).
fn policy_denies_cloudfront(
    policy: &str,
    (bucket, distribution): (&str, &str),
    state_prefix: &str,
) -> bool {
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
        deny && for_cloudfront
            && gets
            && covers
            && names_only_the_caller(st.get("Condition"), distribution)
    })
}

/// Whether a statement's `Condition` (None: there is none) only narrows it to a caller that
/// includes `distribution`: a source ARN naming it (or a pattern), or an account.
fn names_only_the_caller(condition: Option<&serde_json::Value>, distribution: &str) -> bool {
    let Some(condition) = condition else {
        return true;
    };
    let Some(operators) = condition.as_object() else {
        return false;
    };
    operators.iter().all(|(operator, keys)| {
        let equals = matches!(
            operator.as_str(),
            "StringEquals" | "ArnEquals" | "StringLike" | "ArnLike"
        );
        equals
            && keys.as_object().is_some_and(|keys| {
                keys.iter()
                    .all(|(key, values)| match key.to_ascii_lowercase().as_str() {
                        "aws:sourcearn" => names_distribution(values, distribution),
                        "aws:sourceaccount" => true,
                        _ => false,
                    })
            })
    })
}

/// Whether a condition's values (one string or a list) name the distribution `id`'s ARN, or
/// hold a pattern that may.
fn names_distribution(values: &serde_json::Value, id: &str) -> bool {
    let ours = format!(":distribution/{id}");
    let one = |v: &serde_json::Value| {
        v.as_str()
            .is_some_and(|v| v.ends_with(&ours) || v.contains('*'))
    };
    match values {
        serde_json::Value::Array(list) => list.iter().any(one),
        value => one(value),
    }
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
    edge: EdgeExpect<'_>,
) -> Vec<Check> {
    let mut out = bucket_checks(bucket, facts);
    if facts.reachable.is_err() {
        return out;
    }
    out.extend(lifecycle_checks(bucket, (prefix, state_prefix), facts));
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
    out.extend(origin_checks((bucket, id), prefix, state_prefix, facts, d));
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
    let routed = runs_routing(id, d);
    out.extend(spa_checks(d, spa_fallback, routed));
    out.extend(edge_checks(id, d, spa_fallback.is_some(), edge));
    if let Some(atomic) = edge.atomic {
        out.extend(atomic_checks((bucket, id), d, atomic));
    }
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
    (bucket, id): (&str, &str),
    prefix: &str,
    state_prefix: &str,
    facts: &BucketFacts,
    d: &DistributionFacts,
) -> Vec<Check> {
    let mut out = Vec::new();
    match d.origin_for(bucket) {
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
            let unrouted = unrouted_behaviors(d, bucket, &state_url(state_prefix, served));
            out.push(records_check(
                (bucket, id),
                state_prefix,
                served,
                &o.origin_path,
                facts.policy.as_deref(),
                d.viewer_request_code
                    .as_ref()
                    .ok()
                    .and_then(Option::as_deref),
                &unrouted,
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
fn spa_checks(d: &DistributionFacts, spa_fallback: Option<&str>, routed: bool) -> Vec<Check> {
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
    // With the routing function, the function serves the app's routes: edge_checks says
    // whether a fallback beside it does harm.
    if !routed && (spa_fallback.is_some() || fallback_gaps.is_empty()) {
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

/// Whether shipfront's routing function runs on the distribution's viewer requests.
fn runs_routing(id: &str, d: &DistributionFacts) -> bool {
    d.viewer_request_function
        .as_deref()
        .is_some_and(|arn| crate::core::routing::is_ours(arn, id))
}

/// The edge: the routing function, an error-response fallback beside it, pages a private
/// origin cannot reach by their clean URL, an unused 404 page, the response headers.
fn edge_checks(id: &str, d: &DistributionFacts, spa: bool, edge: EdgeExpect<'_>) -> Vec<Check> {
    let mut out = Vec::new();
    let routed = runs_routing(id, d);
    out.extend(routing_check(id, d, edge));
    if routed && let Some(beside) = fallback_beside_routing(d) {
        out.push(beside);
    }
    let website = d
        .origins
        .iter()
        .any(|o| o.domain_name.contains(".s3-website"));
    if let Some(build) = edge.build {
        // Any viewer-request function may route (the AWS sample appends index.html).
        let unrouted = d.viewer_request_function.is_none() && !edge.routing;
        if unrouted && !spa && !website {
            out.push(clean_urls_check(build));
        }
        let serves_404 = d
            .spa
            .error_responses
            .iter()
            .any(|r| matches!(r.page.as_deref(), Some("/404.html" | "/404/index.html")));
        let page_404 = build
            .files
            .iter()
            .find(|f| matches!(f.as_str(), "404.html" | "404/index.html"));
        if let Some(page) = page_404.filter(|_| !serves_404 && (routed || !spa)) {
            out.push(check(
                "404 page",
                Status::Hint,
                format!(
                    "{}/{page} is in the build, but no error response serves it",
                    build.dir
                ),
                Some(format!(
                    "add custom error responses 403 and 404 -> /{page} with response code 404"
                )),
            ));
        }
    }
    out.push(headers_check(id, d, edge.headers));
    out
}

/// An atomic site's checks: its KeyValueStore exists and is ready, shipfront's function is
/// associated with it, its `live` key names a recorded release, and no cache behavior reaches
/// the releases' folder without the function (which sends every URL into the live release).
fn atomic_checks(
    (bucket, id): (&str, &str),
    d: &DistributionFacts,
    facts: &AtomicFacts,
) -> Vec<Check> {
    let (found, arn) = store_check(facts);
    let mut out = vec![found];
    let Some(arn) = arn else {
        return out;
    };
    out.push(association_check(id, arn, facts));
    out.push(live_check(facts));
    let sample = format!(
        "{}20261206T000000.000Z-000000/index.html",
        crate::core::atomic::RELEASES_URL
    );
    let unrouted = behaviors_without_routing(d, bucket, &[sample]);
    out.push(if unrouted.is_empty() {
        check(
            "releases private",
            Status::Pass,
            format!(
                "the function sends every URL into the live release: no URL reaches {}... as such",
                crate::core::atomic::RELEASES_URL
            ),
            None,
        )
    } else {
        check(
            "releases private",
            Status::Warn,
            format!(
                "the cache behavior(s) {} reach the bucket without the routing function: \
                 CloudFront serves every kept release (and shipfront's records) through them",
                unrouted.join(", ")
            ),
            Some("run the routing function on those behaviors' viewer requests too".into()),
        )
    });
    if let Some(domain) = &facts.preview_domain {
        out.extend(preview_checks(id, domain, d));
    }
    out
}

/// Previews at `*.domain`: the distribution's alternate name (CloudFront accepts none its
/// certificate does not cover, so the alias proves the certificate), and a live function that
/// serves them.
fn preview_checks(id: &str, domain: &str, d: &DistributionFacts) -> Vec<Check> {
    let wildcard = format!("*.{domain}");
    let alias = if d.aliases.iter().any(|a| a.eq_ignore_ascii_case(&wildcard)) {
        check(
            "preview domain",
            Status::Pass,
            format!(
                "distribution `{id}` answers `{wildcard}` (CloudFront accepts no alternate name \
                 its certificate does not cover)"
            ),
            None,
        )
    } else {
        check(
            "preview domain",
            Status::Fail,
            format!("previews at {wildcard} need distribution `{id}` to answer that name"),
            Some(format!(
                "add the alternate name `{wildcard}` with a certificate (us-east-1) covering it, \
                 and a DNS record sending `{wildcard}` to the distribution"
            )),
        )
    };
    let serves = matches!(&d.viewer_request_code, Ok(Some(code))
        if crate::core::atomic::serves_previews(code, domain));
    let function = if serves {
        check(
            "preview routing",
            Status::Pass,
            format!("the live routing function serves NAME.{domain} from preview NAME"),
            None,
        )
    } else {
        check(
            "preview routing",
            Status::Warn,
            format!("the live routing function does not serve previews at {wildcard} yet"),
            Some("deploy the live site once with preview_domain set".into()),
        )
    };
    vec![alias, function]
}

/// What a deploy with `--atomic` sets up: the fix of most atomic checks.
fn deploy_atomic() -> Option<String> {
    Some(
        "deploy with --atomic: it creates the store, points `live` at the release and publishes \
         the function associated with it"
            .to_owned(),
    )
}

/// Whether the KeyValueStore exists and is ready; its ARN when it exists.
fn store_check(facts: &AtomicFacts) -> (Check, Option<&String>) {
    const NAME: &str = "key value store";
    let store = &facts.store;
    match &facts.found {
        Ok(Some((arn, status))) if status == "READY" => (
            check(NAME, Status::Pass, format!("`{store}`"), None),
            Some(arn),
        ),
        Ok(Some((arn, status))) => (
            check(
                NAME,
                Status::Warn,
                format!("`{store}` is {status}"),
                Some("wait a minute and run doctor again".into()),
            ),
            Some(arn),
        ),
        Ok(None) => (
            check(
                NAME,
                Status::Fail,
                format!(
                    "no KeyValueStore `{store}`: nothing tells the function which release is live"
                ),
                deploy_atomic(),
            ),
            None,
        ),
        Err(why) => (
            check(
                NAME,
                Status::Fail,
                why.clone(),
                Some("check the credentials can call cloudfront:DescribeKeyValueStore".into()),
            ),
            None,
        ),
    }
}

/// Whether shipfront's function of distribution `id` reads the store `arn`.
fn association_check(id: &str, arn: &str, facts: &AtomicFacts) -> Check {
    const NAME: &str = "store associated";
    let (function, store) = (crate::core::routing::function_name(id), &facts.store);
    match &facts.associated {
        Ok(Some(associated)) if associated == arn => check(
            NAME,
            Status::Pass,
            format!("`{function}` reads `{store}`"),
            None,
        ),
        Ok(Some(other)) => check(
            NAME,
            Status::Fail,
            format!("`{function}` is associated with {other}, not `{store}`"),
            deploy_atomic(),
        ),
        Ok(None) => check(
            NAME,
            Status::Fail,
            format!("`{function}` is associated with no KeyValueStore"),
            deploy_atomic(),
        ),
        Err(why) => check(
            NAME,
            Status::Fail,
            why.clone(),
            Some("check the credentials can call cloudfront:DescribeFunction".into()),
        ),
    }
}

/// Whether `live` names a release a record describes.
fn live_check(facts: &AtomicFacts) -> Check {
    const NAME: &str = "live release";
    match (&facts.live, facts.recorded) {
        (Ok(Some(release)), true) => check(NAME, Status::Pass, format!("release {release}"), None),
        (Ok(Some(release)), false) => check(
            NAME,
            Status::Fail,
            format!("`live` points at release {release}, which no record names"),
            Some("roll back with --atomic --to one of `shipfront releases`".into()),
        ),
        (Ok(None), _) => check(
            NAME,
            Status::Fail,
            format!(
                "`{}` has no `live` key: the function answers errors",
                facts.store
            ),
            deploy_atomic(),
        ),
        (Err(why), _) => check(
            NAME,
            Status::Fail,
            why.clone(),
            Some("check the credentials can call cloudfront-keyvaluestore:GetKey (SigV4A)".into()),
        ),
    }
}

/// Whether shipfront's routing function runs on viewer requests, as the build implies.
fn routing_check(id: &str, d: &DistributionFacts, edge: EdgeExpect<'_>) -> Option<Check> {
    const NAME: &str = "edge routing";
    let name = crate::core::routing::function_name(id);
    let Some(arn) = &d.viewer_request_function else {
        return edge.routing.then(|| {
            check(
                NAME,
                Status::Fail,
                "routing is on, but no function runs on the distribution's viewer requests",
                Some("deploy with --routing".into()),
            )
        });
    };
    if !runs_routing(id, d) {
        return Some(if edge.routing {
            check(
                NAME,
                Status::Warn,
                format!("`{arn}` runs on viewer requests, not shipfront's routing"),
                Some("deploy with --routing --force-routing to replace it".into()),
            )
        } else {
            check(
                NAME,
                Status::Pass,
                format!("`{arn}` runs on viewer requests"),
                None,
            )
        });
    }
    let implied = edge.build.map(|b| (&b.dir, &b.routing_code));
    Some(match (&d.viewer_request_code, implied) {
        (Err(why), _) => check(
            NAME,
            Status::Warn,
            format!("`{name}` runs on viewer requests, but its code cannot be read: {why}"),
            Some("allow cloudfront:GetFunction on it".into()),
        ),
        (Ok(None), _) => check(
            NAME,
            Status::Fail,
            format!("`{name}` runs on viewer requests but was never published"),
            Some("deploy with --routing".into()),
        ),
        (Ok(Some(live)), Some((dir, Ok(code)))) if live == code => check(
            NAME,
            Status::Pass,
            format!("`{name}` runs on viewer requests, as {dir} implies"),
            None,
        ),
        (Ok(Some(_)), Some((dir, Ok(_)))) => check(
            NAME,
            Status::Warn,
            format!("`{name}` differs from what {dir} implies (its pages or redirects changed)"),
            Some(format!(
                "try it locally first (`shipfront serve {dir}` runs the function it implies), \
                 then deploy {dir} with --routing"
            )),
        ),
        (Ok(Some(_)), Some((_, Err(why)))) => check(NAME, Status::Fail, why.clone(), None),
        (Ok(Some(_)), None) => check(
            NAME,
            Status::Pass,
            format!("`{name}` runs on viewer requests (give the build folder to compare it)"),
            None,
        ),
    })
}

/// A 403/404 -> HTML (200) error response beside the routing function: a missing asset then
/// answers the app's HTML with 200, which a browser runs as a script and fails on.
fn fallback_beside_routing(d: &DistributionFacts) -> Option<Check> {
    let html_200: Vec<String> = d
        .spa
        .error_responses
        .iter()
        .filter(|r| {
            matches!(r.error_code, 403 | 404)
                && r.response_code.as_deref() == Some("200")
                && r.page.as_deref().is_some_and(|p| p.ends_with(".html"))
        })
        .map(|r| {
            format!(
                "{} -> {} (200)",
                r.error_code,
                r.page.as_deref().unwrap_or_default()
            )
        })
        .collect();
    (!html_200.is_empty()).then(|| {
        check(
            "fallback beside routing",
            Status::Warn,
            format!(
                "{} beside the routing function turns a missing asset into HTML",
                html_200.join(", ")
            ),
            Some(
                "remove those custom error responses: the function already serves the app's \
                 routes, and a missing file then answers a real 403/404"
                    .into(),
            ),
        )
    })
}

/// Pages a private S3 origin cannot serve at their clean URL: `dir/index.html` at `/dir/`
/// (folder-style builds always link that), `page.html` at `/page` (a hint: some builds link
/// `/page.html` itself). Error pages and the root page are left out.
fn clean_urls_check(build: &BuildFacts) -> Check {
    const NAME: &str = "clean urls";
    const ERROR_PAGES: [&str; 3] = ["404", "500", "200"];
    let mut folders = Vec::new();
    let mut files = Vec::new();
    for f in &build.files {
        if let Some(dir) = f.strip_suffix("/index.html") {
            if !ERROR_PAGES.contains(&dir) {
                folders.push(format!("/{dir}/ ({f})"));
            }
        } else if let Some(page) = f.strip_suffix(".html") {
            let last = page.rsplit('/').next().unwrap_or(page);
            if last != "index" && !ERROR_PAGES.contains(&last) {
                files.push(format!("/{page} ({f})"));
            }
        }
    }
    let (status, pages) = match (folders.is_empty(), files.is_empty()) {
        (true, true) => return check(NAME, Status::Pass, "no page needs a clean URL", None),
        (false, _) => (Status::Warn, [folders, files].concat()),
        (true, false) => (Status::Hint, files),
    };
    let shown: Vec<&str> = pages.iter().take(5).map(String::as_str).collect();
    let more = pages.len().saturating_sub(shown.len());
    check(
        NAME,
        status,
        format!(
            "{} page(s) answer 403 at their clean URL from a private S3 origin: {}{}",
            pages.len(),
            shown.join(", "),
            if more > 0 {
                format!(", and {more} more")
            } else {
                String::new()
            }
        ),
        Some("deploy with --routing (or routing = true in shipfront.toml)".into()),
    )
}

/// Whether the response headers policy is the one `[headers]` describes.
fn headers_check(id: &str, d: &DistributionFacts, wanted: Option<&ResponseHeaders>) -> Check {
    const NAME: &str = "response headers";
    let name = crate::core::response_headers::policy_name(id);
    let attached = match &d.headers_policy {
        Ok(attached) => attached,
        Err(why) => {
            return check(
                NAME,
                Status::Warn,
                format!("the response headers policy cannot be read: {why}"),
                Some("allow cloudfront:GetResponseHeadersPolicy".into()),
            );
        }
    };
    match (wanted, attached) {
        (Some(h), Some(p)) if p.name == name && p.headers == *h && !p.hand_edited => check(
            NAME,
            Status::Pass,
            format!("`{name}` adds what [headers] says"),
            None,
        ),
        (Some(_), Some(p)) if p.name == name => check(
            NAME,
            Status::Warn,
            format!("`{name}` differs from [headers]"),
            Some("deploy to write it".into()),
        ),
        (Some(_), Some(p)) => check(
            NAME,
            Status::Warn,
            format!(
                "`{}` is attached, not the policy [headers] describes",
                p.name
            ),
            Some("deploy with --force-headers to replace it".into()),
        ),
        (Some(_), None) => check(
            NAME,
            Status::Warn,
            "[headers] are not on the distribution yet",
            Some("deploy to write them".into()),
        ),
        (None, Some(p)) => check(
            NAME,
            Status::Pass,
            format!("`{}` is attached", p.name),
            None,
        ),
        (None, None) => check(
            NAME,
            Status::Hint,
            "no response headers policy: responses carry no HSTS or Content-Security-Policy",
            Some("add [headers] to shipfront.toml (README: Security headers)".into()),
        ),
    }
}

/// The `doctor --json` document.
#[derive(Debug, Serialize)]
pub struct Output<'a> {
    /// `report::JSON_SCHEMA`.
    pub schema: u32,
    pub failed: usize,
    pub warnings: usize,
    pub checks: &'a [Check],
}

impl<'a> Output<'a> {
    #[must_use]
    pub fn of(checks: &'a [Check]) -> Self {
        let count = |status| checks.iter().filter(|c| c.status == status).count();
        Output {
            schema: crate::core::report::JSON_SCHEMA,
            failed: count(Status::Fail),
            warnings: count(Status::Warn),
            checks,
        }
    }
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
    let count = |status| checks.iter().filter(|c| c.status == status).count();
    let (failed, warned, hints) = (
        count(Status::Fail),
        count(Status::Warn),
        count(Status::Hint),
    );
    let hinted = if hints > 0 {
        format!(", {hints} hint{}", if hints == 1 { "" } else { "s" })
    } else {
        String::new()
    };
    s.push_str(&format!(
        "{failed} failed, {warned} warnings{hinted}, {} passed",
        count(Status::Pass)
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::spa::{ErrorResponse, SpaSettings};

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
            lifecycle: Ok(vec![LifecycleRule {
                id: "tidy".into(),
                enabled: true,
                prefix: String::new(),
                noncurrent_days: Some(30),
                newer_noncurrent_versions: None,
                expiration_days: None,
                abort_incomplete_days: Some(7),
            }]),
            release_ages_days: vec![0, 10, 40],
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
        // shipfront's routing function hides the prefix where the origin serves it.
        let routed = |hidden: &str| format!("var MODE = \"pages\";\nvar HIDDEN = \"{hidden}\";");
        for (state, origin_path, code, want) in [
            (".shipfront/", "", routed("/.shipfront/"), Status::Pass),
            (
                "site/.shipfront/",
                "/site",
                routed("/.shipfront/"),
                Status::Pass,
            ),
            ("site/.shipfront/", "/site", routed(""), Status::Warn),
        ] {
            let served = origin_path.trim_matches('/');
            let c = records_check(
                ("www", "E1"),
                state,
                served,
                origin_path,
                None,
                Some(&code),
                &[],
            );
            assert_eq!(c.status, want, "{state} {origin_path} {code}: {c:?}");
        }
        for (state, origin_path, policy, want) in cases {
            let served = origin_path.trim_matches('/');
            let c = records_check(
                ("www", "E1"),
                state,
                served,
                origin_path,
                policy.as_deref(),
                None,
                &[],
            );
            assert_eq!(c.status, want, "{state} {origin_path} {policy:?}: {c:?}");
        }
    }

    /// A Deny that holds only under a condition covers only the requests it matches: AWS's
    /// TLS-only statement does not hide the records from CloudFront; a condition naming the
    /// distribution does.
    #[test]
    fn a_conditional_deny_hides_the_records_only_when_it_just_names_the_caller() {
        let policy = |condition: &str| {
            format!(
                r#"{{"Statement": [{{"Sid": "X", "Effect": "Deny", "Principal": "*",
                "Action": "s3:*", "Resource": ["arn:aws:s3:::www", "arn:aws:s3:::www/*"],
                "Condition": {condition}}}]}}"#
            )
        };
        let cases = [
            (
                r#"{"Bool": {"aws:SecureTransport": "false"}}"#,
                Status::Warn,
            ),
            (
                r#"{"NumericLessThan": {"s3:TlsVersion": "1.2"}}"#,
                Status::Warn,
            ),
            (
                r#"{"StringEquals": {"AWS:SourceArn": "arn:aws:cloudfront::1:distribution/E1"}}"#,
                Status::Pass,
            ),
            // Another distribution's requests only: ours still read the records.
            (
                r#"{"StringEquals": {"AWS:SourceArn": "arn:aws:cloudfront::1:distribution/E9"}}"#,
                Status::Warn,
            ),
            (
                r#"{"ArnLike": {"aws:SourceArn": ["arn:aws:cloudfront::1:distribution/*"]}}"#,
                Status::Pass,
            ),
            (
                r#"{"StringEquals": {"aws:SourceAccount": "1"}, "Bool": {"aws:SecureTransport": "false"}}"#,
                Status::Warn,
            ),
        ];
        for (condition, want) in cases {
            let policy = policy(condition);
            let c = records_check(
                ("www", "E1"),
                ".shipfront/",
                "",
                "",
                Some(&policy),
                None,
                &[],
            );
            assert_eq!(c.status, want, "{condition}: {c:?}");
        }
    }

    #[test]
    fn cloudfront_path_patterns_match_as_cloudfront_does() {
        let cases = [
            ("*.json", "/.shipfront/releases/x.json", true),
            ("/.shipfront/*", "/.shipfront/lock", true),
            (".shipfront/*", "/.shipfront/lock", true),
            ("*", "/.shipfront/lock", true),
            ("/api/*", "/.shipfront/lock", false),
            ("*.js", "/.shipfront/releases/x.json", false),
            ("/.shipfront/lo?k", "/.shipfront/lock", true),
            ("/[a]*", "/a", false),
            ("/[a]*", "/[a]b", true),
        ];
        for (pattern, path, want) in cases {
            assert_eq!(
                path_pattern_matches(pattern, path),
                want,
                "{pattern} {path}"
            );
        }
    }

    /// A second cache behavior on the bucket's origin without the routing function serves the
    /// records, whatever the default behavior's function hides.
    #[test]
    fn every_cache_behavior_reaching_the_bucket_must_hide_the_records() {
        let ours = "arn:aws:cloudfront::1:function/shipfront-E1";
        let code = "var MODE = \"pages\";\nvar HIDDEN = \"/.shipfront/\";";
        let behavior = |pattern: &str, origin: &str, function: Option<&str>| BehaviorFacts {
            path_pattern: pattern.into(),
            origin_domain: origin.into(),
            viewer_request_function: function.map(str::to_owned),
        };
        let bucket = "www.s3.us-east-1.amazonaws.com";
        let cases = [
            (behavior("*.json", bucket, None), Status::Warn),
            (behavior("*.json", bucket, Some("arn:other")), Status::Warn),
            (behavior("*.json", bucket, Some(ours)), Status::Pass),
            (behavior("*.json", "api.example.com", None), Status::Pass),
            (behavior("/api/*", bucket, None), Status::Pass),
        ];
        for (b, want) in cases {
            let mut d = good_distribution();
            d.viewer_request_function = Some(ours.to_owned());
            d.viewer_request_code = Ok(Some(code.to_owned()));
            d.behaviors = vec![b.clone()];
            let facts = BucketFacts {
                policy: None,
                ..good_bucket()
            };
            let found = origin_checks(("www", "E1"), "", ".shipfront/", &facts, &d);
            let c = found
                .iter()
                .find(|c| c.name == "records private")
                .expect("the check");
            assert_eq!(c.status, want, "{b:?}: {c:?}");
            if want == Status::Warn {
                assert!(c.detail.contains(&format!("`{}`", b.path_pattern)), "{c:?}");
            }
        }
    }

    /// An atomic site's checks, one fact wrong at a time: each names itself and its fix.
    #[test]
    fn an_atomic_site_needs_its_store_the_association_and_a_recorded_live_release() {
        const ARN: &str = "arn:aws:cloudfront::1:key-value-store/k1";
        let good = AtomicFacts {
            store: "shipfront-E1".into(),
            found: Ok(Some((ARN.into(), "READY".into()))),
            associated: Ok(Some(ARN.into())),
            live: Ok(Some("20261206T000000.000Z-abcdef".into())),
            recorded: true,
            preview_domain: None,
        };
        let bucket = "www.s3.us-east-1.amazonaws.com";
        let unrouted = BehaviorFacts {
            path_pattern: "/_releases/*".into(),
            origin_domain: bucket.into(),
            viewer_request_function: None,
        };
        type Change = fn(&mut AtomicFacts, &mut DistributionFacts);
        let cases: [(Change, &str, Status); 8] = [
            (|_, _| {}, "", Status::Pass),
            (|a, _| a.found = Ok(None), "key value store", Status::Fail),
            (
                |a, _| a.found = Ok(Some((ARN.into(), "PROVISIONING".into()))),
                "key value store",
                Status::Warn,
            ),
            (
                |a, _| a.associated = Ok(None),
                "store associated",
                Status::Fail,
            ),
            (
                |a, _| a.associated = Ok(Some("arn:other".into())),
                "store associated",
                Status::Fail,
            ),
            (|a, _| a.recorded = false, "live release", Status::Fail),
            (|a, _| a.live = Ok(None), "live release", Status::Fail),
            (|_, _| {}, "releases private", Status::Pass),
        ];
        for (change, name, want) in cases {
            let (mut facts, mut d) = (good.clone(), good_distribution());
            change(&mut facts, &mut d);
            let found = atomic_checks(("www", "E1"), &d, &facts);
            if name.is_empty() {
                assert!(found.iter().all(|c| c.status == Status::Pass), "{found:#?}");
                assert_eq!(found.len(), 4);
                continue;
            }
            let c = found.iter().find(|c| c.name == name).expect(name);
            assert_eq!(c.status, want, "{c:?}");
            if want != Status::Pass {
                assert!(c.fix.is_some(), "{c:?}");
            }
        }
        // Previews: the wildcard alias, and the live function serving them.
        let previews = AtomicFacts {
            preview_domain: Some("preview.example.com".into()),
            ..good.clone()
        };
        let status = |d: &DistributionFacts, name: &str| {
            let found = atomic_checks(("www", "E1"), d, &previews);
            found.iter().find(|c| c.name == name).map(|c| c.status)
        };
        let mut d = good_distribution();
        assert_eq!(status(&d, "preview domain"), Some(Status::Fail));
        assert_eq!(status(&d, "preview routing"), Some(Status::Warn));
        d.aliases.push("*.preview.example.com".into());
        d.viewer_request_code = Ok(Some("var PREVIEWS = \".preview.example.com\";".into()));
        assert_eq!(status(&d, "preview domain"), Some(Status::Pass));
        assert_eq!(status(&d, "preview routing"), Some(Status::Pass));
        let mut d = good_distribution();
        d.behaviors = vec![unrouted];
        let found = atomic_checks(("www", "E1"), &d, &good);
        let c = found
            .iter()
            .find(|c| c.name == "releases private")
            .expect("the check");
        assert_eq!(c.status, Status::Warn, "{c:?}");
        assert!(
            c.detail.contains("`/_releases/*`") || c.detail.contains("/_releases/*"),
            "{c:?}"
        );
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
            viewer_request_function: None,
            viewer_request_code: Ok(None),
            headers_policy: Ok(Some(HeadersPolicy {
                id: "67f7725c".into(),
                name: "Managed-SecurityHeadersPolicy".into(),
                headers: ResponseHeaders::default(),
                hand_edited: false,
            })),
            behaviors: Vec::new(),
        }
    }

    /// The checks of site `www` at the bucket root (state prefix `.shipfront/`).
    fn root_checks(
        b: &BucketFacts,
        d: Option<Result<&DistributionFacts, &str>>,
        spa_app: bool,
    ) -> Vec<Check> {
        let fallback = spa_app.then_some(spa::INDEX);
        checks(
            "www",
            "",
            ".shipfront/",
            b,
            d.map(|d| ("E1", d)),
            fallback,
            EdgeExpect::default(),
        )
    }

    fn statuses(checks: &[Check]) -> Vec<(&'static str, Status)> {
        checks.iter().map(|c| (c.name, c.status)).collect()
    }

    #[test]
    fn a_well_set_up_site_passes_everything() {
        let d = good_distribution();
        let c = root_checks(&good_bucket(), Some(Ok(&d)), true);
        assert!(c.iter().all(|c| c.status == Status::Pass), "{c:#?}");
        assert_eq!(c.len(), 16, "with the response headers and the lifecycle");
    }

    fn build(files: &[&str], code: &str) -> BuildFacts {
        BuildFacts {
            dir: "dist".into(),
            files: files.iter().map(|f| (*f).to_owned()).collect(),
            routing_code: Ok(code.to_owned()),
        }
    }

    /// The edge checks of `d` (an SPA when `spa`), as `(name, status, detail)`.
    /// What doctor expects of the edge given the build `facts` alone.
    fn of_build(facts: &BuildFacts) -> EdgeExpect<'_> {
        EdgeExpect {
            build: Some(facts),
            ..EdgeExpect::default()
        }
    }

    /// The check called `name` of `checks`.
    fn named<'c>(
        checks: &'c [(&'static str, Status, String)],
        name: &str,
    ) -> &'c (&'static str, Status, String) {
        checks
            .iter()
            .find(|c| c.0 == name)
            .unwrap_or_else(|| panic!("no `{name}` check in {checks:?}"))
    }

    fn edge_of(
        d: &DistributionFacts,
        spa: bool,
        edge: EdgeExpect<'_>,
    ) -> Vec<(&'static str, Status, String)> {
        let fallback = spa.then_some(spa::INDEX);
        let all = checks(
            "www",
            "",
            ".x/",
            &good_bucket(),
            Some(("E1", Ok(d))),
            fallback,
            edge,
        );
        all.into_iter()
            .filter(|c| {
                matches!(
                    c.name,
                    "edge routing"
                        | "fallback beside routing"
                        | "clean urls"
                        | "404 page"
                        | "spa fallback"
                )
            })
            .map(|c| (c.name, c.status, c.detail))
            .collect()
    }

    #[test]
    fn the_routing_function_is_checked_against_the_build() {
        let ours = "arn:aws:cloudfront::1:function/shipfront-E1";
        let routed = |code: Option<&str>, fallback: bool| {
            let mut d = good_distribution();
            d.viewer_request_function = Some(ours.into());
            d.viewer_request_code = Ok(code.map(str::to_owned));
            if !fallback {
                d.spa.error_responses.clear();
            }
            d
        };
        let spa_build = build(&["index.html", "assets/app-1a2b3c4d.js"], "CODE");
        let on = EdgeExpect {
            routing: true,
            build: Some(&spa_build),
            ..EdgeExpect::default()
        };
        type Case<'a> = (DistributionFacts, EdgeExpect<'a>, Vec<(&'a str, Status)>);
        let cases: Vec<Case<'_>> = vec![
            // Live and as the build implies; no error-response fallback beside it.
            (
                routed(Some("CODE"), false),
                on,
                vec![("edge routing", Status::Pass)],
            ),
            // The build changed since.
            (
                routed(Some("OLD"), false),
                on,
                vec![("edge routing", Status::Warn)],
            ),
            // Associated, never published.
            (
                routed(None, false),
                on,
                vec![("edge routing", Status::Fail)],
            ),
            // Without the build folder: it runs, nothing to compare with.
            (
                routed(Some("CODE"), false),
                EdgeExpect::default(),
                vec![("edge routing", Status::Pass)],
            ),
            // The 403/404 -> /index.html (200) fallback beside it: a warning, and the SPA
            // fallback check no longer asks for it.
            (
                routed(Some("CODE"), true),
                on,
                vec![
                    ("edge routing", Status::Pass),
                    ("fallback beside routing", Status::Warn),
                ],
            ),
            // Routing on, no function at all (the error-response fallback still serves).
            (
                good_distribution(),
                on,
                vec![
                    ("spa fallback", Status::Pass),
                    ("edge routing", Status::Fail),
                ],
            ),
        ];
        for (i, (d, edge, want)) in cases.into_iter().enumerate() {
            let got = edge_of(&d, true, edge);
            let names: Vec<(&str, Status)> = got.iter().map(|(n, s, _)| (*n, *s)).collect();
            assert_eq!(names, want, "case {i}: {got:#?}");
        }

        // A function shipfront did not write: a warning only when routing is on.
        let mut d = good_distribution();
        d.viewer_request_function = Some("arn:aws:cloudfront::1:function/hand-made".into());
        let routing_of = |edge| {
            edge_of(&d, true, edge)
                .into_iter()
                .find(|c| c.0 == "edge routing")
                .expect("checked")
        };
        let got = routing_of(on);
        assert_eq!(got.1, Status::Warn, "{got:?}");
        assert!(got.2.contains("hand-made"), "{got:?}");
        assert_eq!(routing_of(EdgeExpect::default()).1, Status::Pass);
    }

    #[test]
    fn multi_page_builds_without_routing_name_the_pages_a_private_origin_cannot_reach() {
        let mut d = good_distribution();
        d.spa.error_responses.clear();
        let pages = build(
            &[
                "index.html",
                "404.html",
                "about/index.html",
                "docs/intro/index.html",
                "contact.html",
                "blog/first.html",
                "blog/second.html",
                "blog/third.html",
                "assets/site.css",
            ],
            "CODE",
        );
        let edge = of_build(&pages);
        let got = edge_of(&d, false, edge);
        let clean = named(&got, "clean urls");
        assert_eq!(clean.1, Status::Warn);
        assert!(
            clean.2.starts_with(
                "6 page(s) answer 403 at their clean URL from a private S3 origin: \
                 /about/ (about/index.html), /docs/intro/ (docs/intro/index.html)"
            ) && clean.2.ends_with(", and 1 more"),
            "{clean:?}"
        );
        assert!(!clean.2.contains("404"), "{clean:?}");
        // The unused 404 page is a hint.
        let hint = named(&got, "404 page");
        assert_eq!(hint.1, Status::Hint);

        // Served by an error response: no hint. Routed: no clean-URL warning.
        d.spa.error_responses.push(ErrorResponse {
            error_code: 404,
            page: Some("/404.html".into()),
            response_code: Some("404".into()),
        });
        d.viewer_request_function = Some("arn:aws:cloudfront::1:function/shipfront-E1".into());
        d.viewer_request_code = Ok(Some("CODE".into()));
        let got = edge_of(&d, false, edge);
        let names: Vec<&str> = got.iter().map(|c| c.0).collect();
        assert_eq!(names, ["edge routing"], "{got:?}");

        // File-style pages only: a hint (some builds link `/page.html` itself); error pages
        // in either style are not pages to reach. A function of the user's own may route.
        let mut plain = good_distribution();
        plain.spa.error_responses.clear();
        let files = build(
            &["index.html", "about.html", "404/index.html", "500.html"],
            "C",
        );
        let only_files = of_build(&files);
        let got = edge_of(&plain, false, only_files);
        let clean = named(&got, "clean urls");
        assert_eq!(clean.1, Status::Hint, "{clean:?}");
        assert!(clean.2.starts_with("1 page(s)"), "{clean:?}");
        let hint = named(&got, "404 page");
        assert!(hint.2.contains("404/index.html"), "{hint:?}");
        plain.viewer_request_function = Some("arn:aws:cloudfront::1:function/index-rewrite".into());
        let got = edge_of(&plain, false, only_files);
        assert!(got.iter().all(|c| c.0 != "clean urls"), "{got:?}");

        // An S3 website endpoint serves index documents itself.
        let mut website = good_distribution();
        website.origins[0].domain_name = "www.s3-website-us-east-1.amazonaws.com".into();
        let got = edge_of(&website, false, edge);
        assert!(got.iter().all(|c| c.0 != "clean urls"), "{got:?}");
    }

    #[test]
    fn the_response_headers_are_checked_against_the_config() {
        let mine = crate::core::response_headers::parse(
            &[("X-Frame-Options".to_owned(), "DENY".to_owned())]
                .into_iter()
                .collect(),
        )
        .unwrap();
        let policy = |name: &str, headers: &ResponseHeaders| {
            Some(HeadersPolicy {
                id: "p1".into(),
                name: name.into(),
                headers: headers.clone(),
                hand_edited: false,
            })
        };
        let other = ResponseHeaders::default();
        let cases = [
            // (attached, [headers], status)
            (policy("shipfront-E1", &mine), Some(&mine), Status::Pass),
            (policy("shipfront-E1", &other), Some(&mine), Status::Warn),
            (
                policy("Managed-SecurityHeadersPolicy", &other),
                Some(&mine),
                Status::Warn,
            ),
            (None, Some(&mine), Status::Warn),
            (
                policy("Managed-SecurityHeadersPolicy", &other),
                None,
                Status::Pass,
            ),
            (None, None, Status::Hint),
        ];
        for (attached, wanted, status) in cases {
            let mut d = good_distribution();
            d.headers_policy = Ok(attached.clone());
            let c = headers_check("E1", &d, wanted);
            assert_eq!(c.status, status, "{attached:?} {wanted:?}: {c:?}");
            assert_eq!(c.fix.is_some(), status != Status::Pass, "{c:?}");
        }

        // A policy that cannot be read (the role may not allow it) is this check's warning,
        // not the distribution's failure; likewise the routing function's code.
        let mut d = good_distribution();
        d.headers_policy = Err("AccessDenied".into());
        d.viewer_request_function = Some("arn:aws:cloudfront::1:function/shipfront-E1".into());
        d.viewer_request_code = Err("AccessDenied".into());
        let all = root_checks(&good_bucket(), Some(Ok(&d)), false);
        let of = |name: &str| all.iter().find(|c| c.name == name).expect(name).clone();
        assert_eq!(of("distribution").status, Status::Pass);
        let headers = of("response headers");
        assert_eq!(headers.status, Status::Warn);
        assert!(headers.fix.unwrap().contains("GetResponseHeadersPolicy"));
        let routing = of("edge routing");
        assert_eq!(routing.status, Status::Warn);
        assert!(routing.fix.unwrap().contains("GetFunction"));
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
            EdgeExpect::default(),
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
        assert!(t.ends_with("1 failed, 0 warnings, 5 passed"), "{t}");
    }

    /// A lifecycle rule `r` on keys under `prefix`, as `change` sets it.
    fn lifecycle_rule(prefix: &str, change: fn(&mut LifecycleRule)) -> LifecycleRule {
        let mut rule = LifecycleRule {
            id: "r".into(),
            enabled: true,
            prefix: prefix.into(),
            ..LifecycleRule::default()
        };
        change(&mut rule);
        rule
    }

    type LifecycleCase = (LifecycleRule, Status, Status, Option<&'static str>);

    /// (rule, rollback depth, incomplete uploads, what a check says) for a site at `site/`
    /// whose releases are 0, 10 and 40 days old: the oldest one's versions have been
    /// noncurrent for 10 days, the next one's since today.
    fn lifecycle_cases() -> Vec<LifecycleCase> {
        use Status::{Pass, Warn};
        let rule = lifecycle_rule;
        vec![
            // Noncurrent versions expire after 7 days: the oldest release's may be gone.
            (
                rule("", |r| r.noncurrent_days = Some(7)),
                Warn,
                Warn,
                Some("1 of 3 recorded release(s) were replaced longer ago"),
            ),
            // ... unless the newest noncurrent versions are kept.
            (
                rule("", |r| {
                    r.noncurrent_days = Some(7);
                    r.newer_noncurrent_versions = Some(5);
                }),
                Pass,
                Warn,
                None,
            ),
            (rule("", |r| r.noncurrent_days = Some(30)), Pass, Warn, None),
            // A rule on other keys, or disabled, does nothing to the site.
            (
                rule("logs/", |r| r.noncurrent_days = Some(1)),
                Pass,
                Warn,
                None,
            ),
            (
                rule("", |r| {
                    r.noncurrent_days = Some(1);
                    r.enabled = false;
                }),
                Pass,
                Warn,
                None,
            ),
            // Aborting uploads under part of the site is not all of it.
            (
                rule("site/assets/", |r| r.abort_incomplete_days = Some(7)),
                Pass,
                Warn,
                None,
            ),
            (
                rule("site", |r| r.abort_incomplete_days = Some(7)),
                Pass,
                Pass,
                Some("aborted after 7 day(s)"),
            ),
        ]
    }

    #[test]
    fn lifecycle_rules_are_judged_against_the_releases_kept() {
        let judged = |rules: Vec<LifecycleRule>| {
            let facts = BucketFacts {
                lifecycle: Ok(rules),
                ..good_bucket()
            };
            lifecycle_checks("www", ("site/", "site/.shipfront/"), &facts)
        };
        // None at all: versions kept forever, uploads never aborted.
        let none = judged(vec![]);
        let both = |depth, uploads| [("rollback depth", depth), ("incomplete uploads", uploads)];
        assert_eq!(statuses(&none), both(Status::Pass, Status::Warn));
        for (rule, depth, uploads, says) in lifecycle_cases() {
            let c = judged(vec![rule.clone()]);
            assert_eq!(statuses(&c), both(depth, uploads), "{rule:?}");
            if let Some(says) = says {
                assert!(c.iter().any(|c| c.detail.contains(says)), "{c:#?}");
            }
        }
    }

    #[test]
    fn a_rule_expiring_the_live_files_fails_and_unreadable_rules_warn() {
        // One that prunes old records only is no danger to the site.
        let records_only = lifecycle_rule("site/.shipfront/releases/", |r| {
            r.expiration_days = Some(90);
        });
        let facts = BucketFacts {
            lifecycle: Ok(vec![records_only]),
            ..good_bucket()
        };
        let c = lifecycle_checks("www", ("site/", "site/.shipfront/"), &facts);
        assert!(c.iter().all(|c| c.name != "live files kept"), "{c:#?}");
        let facts = BucketFacts {
            lifecycle: Ok(vec![lifecycle_rule("", |r| r.expiration_days = Some(90))]),
            ..good_bucket()
        };
        let c = lifecycle_checks("www", ("site/", "site/.shipfront/"), &facts);
        assert!(
            c.iter()
                .any(|c| c.name == "live files kept" && c.status == Status::Fail),
            "{c:#?}"
        );
        let facts = BucketFacts {
            lifecycle: Err("AccessDenied".into()),
            ..good_bucket()
        };
        let c = lifecycle_checks("www", ("site/", "site/.shipfront/"), &facts);
        assert_eq!(statuses(&c), [("lifecycle", Status::Warn)]);
    }

    #[test]
    fn release_ages_are_counted_in_days_from_their_ids() {
        let now = humantime::parse_rfc3339("2026-12-06T12:00:00Z").expect("a time");
        let ids = [
            "20261206T110000.000Z-aaaaaa",
            "20261120T120000.000Z-bbbbbb",
            "not-a-release",
            "20261205T110000.000Z-rollback-cc",
        ];
        assert_eq!(crate::core::release::ages_in_days(&ids, now), [0, 1, 16]);
    }
}
