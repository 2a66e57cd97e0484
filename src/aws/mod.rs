//! The only place that knows the AWS SDK: loading credentials, region and endpoints the standard
//! way, and adapting S3 (and later CloudFront) to the traits in `store`.

mod s3;

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_s3::config::{ProvideCredentials, Region};

pub use s3::S3Store;

use crate::cli::AwsArgs;
use crate::error::{Error, Result};

/// Attempts per request, the first included. A link that fails one write in five still
/// succeeds with overwhelming odds (0.2^8 per request); S3's SlowDown is waited out with
/// exponential backoff.
const MAX_ATTEMPTS: u32 = 8;

/// Loads the shared AWS configuration: flags first, then the standard chain (environment,
/// profile, SSO, web identity for GitHub OIDC, instance metadata).
pub async fn load(args: &AwsArgs) -> aws_config::SdkConfig {
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

/// Fails before any request when the credential chain finds nothing, with a message that says
/// how to provide credentials (the SDK's own error surfaces only at the first call).
pub async fn check_credentials(sdk: &aws_config::SdkConfig) -> Result<()> {
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
            detail: aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
        })
}

/// Whether S3 is reached through a custom endpoint (flag or environment): MinIO, R2 and
/// emulators want path-style addressing, since `bucket.host` names do not resolve for them.
#[must_use]
pub fn custom_s3_endpoint(args: &AwsArgs) -> bool {
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
    args.endpoint_url.is_some() || set("AWS_ENDPOINT_URL_S3") || set("AWS_ENDPOINT_URL")
}
