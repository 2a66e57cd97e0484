//! The only place that knows the AWS SDK: loading credentials, region and endpoints the standard
//! way, and adapting S3 and CloudFront to the traits in `store`.

mod cloudfront;
mod response_headers;
mod s3;

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_s3::config::{ProvideCredentials, Region};

pub use cloudfront::CloudFrontCdn;
pub use s3::S3Store;

use crate::core::error::{Error, Result};
use crate::store::AwsSettings;

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
