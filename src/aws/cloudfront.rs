//! `Cdn` on Amazon CloudFront through the AWS SDK.

use std::time::Duration;

use aws_sdk_cloudfront::Client;
use aws_sdk_cloudfront::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudfront::types::{InvalidationBatch, Paths};

use crate::store::{Cdn, StoreError};

/// Attempts at an invalidation while CloudFront answers TooManyInvalidationsInProgress (15
/// wildcards or 3000 paths already in progress on the distribution); the waits double from
/// 2 s, about four minutes in all.
const BUSY_ATTEMPTS: u32 = 8;

/// One CloudFront account.
#[derive(Clone, Debug)]
pub struct CloudFrontCdn {
    client: Client,
}

impl CloudFrontCdn {
    #[must_use]
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        CloudFrontCdn {
            client: Client::new(sdk),
        }
    }
}

fn classify<E>(err: &SdkError<E, aws_sdk_cloudfront::config::http::HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match err {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = service.err().code().unwrap_or_default();
            match code {
                "NoSuchDistribution" => StoreError::DistributionMissing,
                "AccessDenied" => StoreError::AccessDenied,
                _ => StoreError::Other {
                    message: format!(
                        "{code} (HTTP {status}): {}",
                        service.err().message().unwrap_or_default()
                    ),
                    retryable: code == "TooManyInvalidationsInProgress" || status >= 500,
                },
            }
        }
        other => StoreError::Other {
            message: super::describe(other),
            retryable: true,
        },
    }
}

impl Cdn for CloudFrontCdn {
    async fn origin_path(&self, distribution_id: &str, bucket: &str) -> Result<String, StoreError> {
        let out = self
            .client
            .get_distribution_config()
            .id(distribution_id)
            .send()
            .await
            .map_err(|e| classify(&e))?;
        let origins = out
            .distribution_config()
            .and_then(|c| c.origins())
            .map(aws_sdk_cloudfront::types::Origins::items)
            .unwrap_or_default();
        // S3 REST and website endpoints both start with `<bucket>.s3`.
        let bucket_host = format!("{bucket}.s3");
        Ok(origins
            .iter()
            .find(|o| o.domain_name().starts_with(&bucket_host))
            .and_then(|o| o.origin_path())
            .unwrap_or_default()
            .to_owned())
    }

    async fn invalidate(
        &self,
        distribution_id: &str,
        paths: &[String],
        caller_reference: &str,
    ) -> Result<String, StoreError> {
        let batch = InvalidationBatch::builder()
            .paths(
                Paths::builder()
                    .quantity(i32::try_from(paths.len()).unwrap_or(i32::MAX))
                    .set_items(Some(paths.to_vec()))
                    .build()
                    .map_err(|e| StoreError::Other {
                        message: e.to_string(),
                        retryable: false,
                    })?,
            )
            .caller_reference(caller_reference)
            .build()
            .map_err(|e| StoreError::Other {
                message: e.to_string(),
                retryable: false,
            })?;
        let mut wait = Duration::from_secs(2);
        for attempt in 1..=BUSY_ATTEMPTS {
            match self
                .client
                .create_invalidation()
                .distribution_id(distribution_id)
                .invalidation_batch(batch.clone())
                .send()
                .await
            {
                Ok(out) => {
                    return Ok(out
                        .invalidation()
                        .map(|i| i.id().to_owned())
                        .unwrap_or_default());
                }
                Err(SdkError::ServiceError(e))
                    if e.err().code() == Some("TooManyInvalidationsInProgress")
                        && attempt < BUSY_ATTEMPTS =>
                {
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
                Err(e) => return Err(classify(&e)),
            }
        }
        unreachable!("the last attempt returns")
    }

    async fn invalidation_status(
        &self,
        distribution_id: &str,
        invalidation_id: &str,
    ) -> Result<String, StoreError> {
        let out = self
            .client
            .get_invalidation()
            .distribution_id(distribution_id)
            .id(invalidation_id)
            .send()
            .await
            .map_err(|e| classify(&e))?;
        Ok(out
            .invalidation()
            .map(|i| i.status().to_owned())
            .unwrap_or_default())
    }
}
