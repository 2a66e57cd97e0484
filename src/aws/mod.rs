//! The only place that knows the AWS SDK: loading credentials, region and endpoints the standard
//! way, and adapting S3 and CloudFront to the traits in `store`.

/// Sends one SDK request, a failure read by `classify`:
/// `send!(self.client.get_object().bucket(bucket).key(key))`. A macro, not an async function:
/// wrapping each request's future in another future doubled what a debug build keeps on the
/// main thread's stack, and a deploy with `[headers]` overflowed it.
macro_rules! send {
    ($request:expr) => {
        $request.send().await.map_err(|e| $crate::aws::classify(&e))
    };
}
pub(crate) use send;

mod cloudfront;
mod kvs;
mod response_headers;
mod s3;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_s3::config::{ProvideCredentials, Region};

pub use cloudfront::CloudFrontCdn;
pub use kvs::KvsStore;
pub use s3::S3Store;

use crate::core::error::{Error, Result};
use crate::store::{AwsSettings, RemoteFailure, answer_text};

/// Attempts per request, the first included. A link that fails one write in five still
/// succeeds with overwhelming odds (0.2^8 per request); S3's SlowDown is waited out with
/// exponential backoff.
const MAX_ATTEMPTS: u32 = 8;

/// Loads the shared AWS configuration: flags first, then the standard chain (environment,
/// profile, SSO, web identity for GitHub OIDC, instance metadata).
pub async fn load(args: &AwsSettings) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).retry_config(
        RetryConfig::standard()
            .with_max_attempts(MAX_ATTEMPTS)
            .with_initial_backoff(Duration::from_millis(100))
            .with_max_backoff(Duration::from_secs(10)),
    );
    if let Some(region) = &args.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(profile) = &args.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(url) = &args.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// The SDK configuration and the store of `bucket`, after the checks every command makes
/// before its first request (a region, credentials).
pub async fn connect(
    bucket: &str,
    settings: &AwsSettings,
) -> Result<(aws_config::SdkConfig, S3Store)> {
    let sdk = load(settings).await;
    check_region(&sdk, settings)?;
    check_credentials(&sdk, settings).await?;
    let store = S3Store::new(&sdk, bucket, custom_s3_endpoint(settings));
    Ok((sdk, store))
}

/// One connection to AWS: the SDK's settings loaded and the credentials checked once (with
/// OIDC, one web-identity exchange), and every client a command needs made from them.
#[derive(Clone, Debug)]
pub struct Connection {
    sdk: aws_config::SdkConfig,
    store: std::sync::Arc<S3Store>,
}

impl Connection {
    /// Connects to `bucket` (`connect`).
    ///
    /// # Errors
    /// No region, no credentials.
    pub async fn open(bucket: &str, settings: &AwsSettings) -> Result<Self> {
        let (sdk, store) = connect(bucket, settings).await?;
        Ok(Connection {
            sdk,
            store: std::sync::Arc::new(store),
        })
    }

    /// The bucket.
    #[must_use]
    pub fn store(&self) -> std::sync::Arc<S3Store> {
        std::sync::Arc::clone(&self.store)
    }

    /// CloudFront.
    #[must_use]
    pub fn cdn(&self) -> CloudFrontCdn {
        CloudFrontCdn::new(&self.sdk)
    }

    /// The KeyValueStore `arn` (its data plane).
    #[must_use]
    pub fn kvs(&self, arn: &str) -> KvsStore {
        KvsStore::new(&self.sdk, arn)
    }
}

/// Fails before any request when the credential chain finds nothing, with a message that says
/// how to provide credentials (the SDK's own error surfaces only at the first call).
pub async fn check_credentials(sdk: &aws_config::SdkConfig, args: &AwsSettings) -> Result<()> {
    let profile = args
        .profile
        .clone()
        .or_else(|| std::env::var("AWS_PROFILE").ok())
        .map(|p| format!("profile `{p}`, which may not exist in ~/.aws/config; "))
        .unwrap_or_default();
    let Some(provider) = sdk.credentials_provider() else {
        return Err(Error::NoCredentials {
            detail: "no credential provider is configured".to_owned(),
        });
    };
    provider
        .provide_credentials()
        .await
        .map(|_| ())
        .map_err(|e| Error::NoCredentials {
            detail: format!(
                "{profile}{}",
                describe(&e)
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .trim_end_matches(". Attempted:")
            ),
        })
}

/// Refuses to start without a region when talking to AWS itself (custom endpoints such as
/// emulators work without one): the SDK's own message comes only at the first request.
pub fn check_region(sdk: &aws_config::SdkConfig, args: &AwsSettings) -> Result<()> {
    if sdk.region().is_none() && !custom_s3_endpoint(args) {
        return Err(Error::Usage(
            "no AWS region: pass --region, set AWS_REGION, or set `region` in your AWS profile"
                .to_owned(),
        ));
    }
    Ok(())
}

/// What a failed S3 or CloudFront call means, from the service's answer (its error code and
/// HTTP status) or the SDK's own failure: the one reading of both services' errors, so a
/// missing bucket or distribution, a denied call and a condition that did not hold are told
/// apart the same way for each, and only what may pass on a second try is retried.
pub(crate) fn classify<E>(err: &SdkError<E, HttpResponse>) -> RemoteFailure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let SdkError::ServiceError(service) = err else {
        let message = describe(err);
        if message.contains("credentials") && message.contains("load") {
            return RemoteFailure::NoCredentials(message);
        }
        return RemoteFailure::Other {
            message,
            retryable: true,
        };
    };
    let status = service.raw().status().as_u16();
    let code = service.err().code().unwrap_or_default();
    match (code, status) {
        ("NoSuchBucket", _) => RemoteFailure::BucketMissing,
        ("NoSuchDistribution", _) => RemoteFailure::DistributionMissing,
        ("AccessDenied", _) | (_, 403) => RemoteFailure::AccessDenied,
        ("PreconditionFailed", _) | (_, 412) => RemoteFailure::PreconditionFailed,
        _ => RemoteFailure::Other {
            message: unanswered_text(code, status, service.err()),
            // S3 asks to slow down; CloudFront limits the invalidations in progress.
            retryable: status >= 500
                || matches!(
                    code,
                    "SlowDown" | "RequestTimeout" | "TooManyInvalidationsInProgress"
                ),
        },
    }
}

/// The text of a service's error answer; one with neither code nor message is named by what
/// the SDK made of it (an answer it could not read, say), so the cause is never lost.
fn unanswered_text<E>(code: &str, status: u16, err: &E) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let message = err.message().unwrap_or_default();
    if !code.trim().is_empty() || !message.trim().is_empty() {
        return answer_text(code, status, message);
    }
    let cause = describe(err);
    match (status, cause.trim()) {
        (_, "") => answer_text(code, status, message),
        (200..=299, cause) => format!("HTTP {status}, but the answer could not be read: {cause}"),
        (_, cause) => format!("HTTP {status}, an answer with no error code or message ({cause})"),
    }
}

/// An error and its sources as one line of Display texts (the SDK's Debug dumps are for
/// developers, not users), without the repeats that nested errors often carry.
pub(crate) fn describe(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

/// Whether S3 is reached through a custom endpoint (flag or environment): MinIO, R2 and
/// emulators want path-style addressing, since `bucket.host` names do not resolve for them.
#[must_use]
pub fn custom_s3_endpoint(args: &AwsSettings) -> bool {
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
    args.endpoint_url.is_some() || set("AWS_ENDPOINT_URL_S3") || set("AWS_ENDPOINT_URL")
}

#[cfg(test)]
mod tests {
    use aws_sdk_s3::error::ErrorMetadata;
    use aws_sdk_s3::operation::head_object::HeadObjectError;
    use aws_sdk_s3::primitives::ByteStream;

    use super::*;

    /// A service's answer: `code` (empty: none) with HTTP `status`.
    fn answer(code: &str, status: u16) -> SdkError<HeadObjectError, HttpResponse> {
        let mut meta = ErrorMetadata::builder().message("told");
        if !code.is_empty() {
            meta = meta.code(code);
        }
        let status = status.try_into().expect("a status");
        let raw = HttpResponse::new(status, ByteStream::from_static(b"").into_inner());
        SdkError::service_error(HeadObjectError::generic(meta.build()), raw)
    }

    #[test]
    fn one_reading_of_both_services_answers() {
        let other = |retryable| RemoteFailure::Other {
            message: String::new(),
            retryable,
        };
        // (error code, HTTP status, what it means)
        let cases = [
            ("NoSuchBucket", 404, RemoteFailure::BucketMissing),
            (
                "NoSuchDistribution",
                404,
                RemoteFailure::DistributionMissing,
            ),
            ("AccessDenied", 403, RemoteFailure::AccessDenied),
            ("", 403, RemoteFailure::AccessDenied),
            ("PreconditionFailed", 412, RemoteFailure::PreconditionFailed),
            ("", 412, RemoteFailure::PreconditionFailed),
            ("SlowDown", 503, other(true)),
            ("InternalError", 500, other(true)),
            ("RequestTimeout", 400, other(true)),
            ("TooManyInvalidationsInProgress", 400, other(true)),
            ("InvalidArgument", 400, other(false)),
            ("", 404, other(false)),
        ];
        for (code, status, expected) in cases {
            let got = match classify(&answer(code, status)) {
                RemoteFailure::Other { retryable, .. } => other(retryable),
                failure => failure,
            };
            assert_eq!(got, expected, "{code} {status}");
        }
        let RemoteFailure::Other { message, .. } = classify(&answer("InvalidArgument", 400)) else {
            panic!("not Other");
        };
        assert_eq!(message, "InvalidArgument (HTTP 400): told");
    }

    /// An answer the SDK could not read (a listing whose XML breaks) has no code or message:
    /// the SDK's own words name the cause.
    #[test]
    fn an_answer_that_could_not_be_read_names_why() {
        let raw = HttpResponse::new(
            200.try_into().expect("a status"),
            ByteStream::from_static(b"").into_inner(),
        );
        let cause = std::io::Error::other("invalid XML: unexpected character U+0001 at 412");
        let err: SdkError<HeadObjectError, HttpResponse> =
            SdkError::service_error(HeadObjectError::unhandled(cause), raw);
        let RemoteFailure::Other { message, .. } = classify(&err) else {
            panic!("not Other");
        };
        assert!(
            message.starts_with("HTTP 200, but the answer could not be read:")
                && message.contains("unexpected character U+0001"),
            "{message}"
        );
    }
}
