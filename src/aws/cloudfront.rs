//! `Cdn` on Amazon CloudFront through the AWS SDK.

use std::time::Duration;

use aws_sdk_cloudfront::Client;
use aws_sdk_cloudfront::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudfront::types::{
    CustomErrorResponse, CustomErrorResponses, DistributionConfig, InvalidationBatch, Paths,
};

use crate::spa::{self, ErrorResponse, SpaSettings};
use crate::store::{Cdn, DistributionFacts, OriginFacts, RemoteError, RemoteFailure};

/// How long CloudFront caches an error answer when shipfront adds the SPA fallback.
const FALLBACK_ERROR_TTL: i64 = 10;

fn spa_settings_of(config: &DistributionConfig) -> SpaSettings {
    SpaSettings {
        default_root_object: config.default_root_object().unwrap_or_default().to_owned(),
        error_responses: config
            .custom_error_responses()
            .map(CustomErrorResponses::items)
            .unwrap_or_default()
            .iter()
            .map(|r| ErrorResponse {
                error_code: r.error_code(),
                page: r.response_page_path().map(str::to_owned),
                response_code: r.response_code().map(str::to_owned),
            })
            .collect(),
    }
}

fn build_error(e: impl std::fmt::Display) -> RemoteFailure {
    RemoteFailure::Other {
        message: e.to_string(),
        retryable: false,
    }
}

/// `config` with the SPA settings of `fixed`; entries that did not change keep every field
/// (their caching TTL included), new ones cache errors for `FALLBACK_ERROR_TTL` seconds.
fn with_spa_settings(
    config: &DistributionConfig,
    fixed: &SpaSettings,
) -> Result<DistributionConfig, RemoteFailure> {
    let existing = config
        .custom_error_responses()
        .map(CustomErrorResponses::items)
        .unwrap_or_default();
    let mut items = Vec::with_capacity(fixed.error_responses.len());
    for r in &fixed.error_responses {
        let old = existing.iter().find(|e| e.error_code() == r.error_code);
        let unchanged = old.is_some_and(|e| {
            e.response_page_path() == r.page.as_deref()
                && e.response_code() == r.response_code.as_deref()
        });
        let item = match old {
            Some(e) if unchanged => e.clone(),
            _ => CustomErrorResponse::builder()
                .error_code(r.error_code)
                .set_response_page_path(r.page.clone())
                .set_response_code(r.response_code.clone())
                .error_caching_min_ttl(
                    old.and_then(CustomErrorResponse::error_caching_min_ttl)
                        .unwrap_or(FALLBACK_ERROR_TTL),
                )
                .build()
                .map_err(build_error)?,
        };
        items.push(item);
    }
    let responses = CustomErrorResponses::builder()
        .quantity(i32::try_from(items.len()).unwrap_or(i32::MAX))
        .set_items(Some(items))
        .build()
        .map_err(build_error)?;
    let mut updated = config.clone();
    updated.default_root_object = Some(fixed.default_root_object.clone());
    updated.custom_error_responses = Some(responses);
    Ok(updated)
}

/// Attempts at an invalidation while CloudFront answers TooManyInvalidationsInProgress (15
/// wildcards or 3000 paths already in progress on the distribution); the waits double from
/// 2 s, about four minutes in all.
const BUSY_ATTEMPTS: u32 = 8;

/// One CloudFront account.
#[derive(Clone, Debug)]
pub struct CloudFrontCdn {
    client: Client,
}

/// Runs one call of the port, naming its operation and the distribution when it fails.
async fn context<T>(
    operation: &'static str,
    distribution_id: &str,
    call: impl std::future::Future<Output = Result<T, RemoteFailure>>,
) -> Result<T, RemoteError> {
    call.await
        .map_err(|failure| RemoteError::on_distribution(failure, operation, distribution_id))
}

impl CloudFrontCdn {
    #[must_use]
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        CloudFrontCdn {
            client: Client::new(sdk),
        }
    }
}

fn classify<E>(err: &SdkError<E, aws_sdk_cloudfront::config::http::HttpResponse>) -> RemoteFailure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match err {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = service.err().code().unwrap_or_default();
            match code {
                "NoSuchDistribution" => RemoteFailure::DistributionMissing,
                "AccessDenied" => RemoteFailure::AccessDenied,
                _ => RemoteFailure::Other {
                    message: crate::store::answer_text(
                        code,
                        status,
                        service.err().message().unwrap_or_default(),
                    ),
                    retryable: code == "TooManyInvalidationsInProgress" || status >= 500,
                },
            }
        }
        other => RemoteFailure::Other {
            message: super::describe(other),
            retryable: true,
        },
    }
}

impl CloudFrontCdn {
    /// The distribution's config and its ETag (for `If-Match` on an update).
    async fn distribution_config(
        &self,
        distribution_id: &str,
    ) -> Result<(DistributionConfig, String), RemoteFailure> {
        let out = self
            .client
            .get_distribution_config()
            .id(distribution_id)
            .send()
            .await
            .map_err(|e| classify(&e))?;
        let etag = out.e_tag().unwrap_or_default().to_owned();
        let config = out
            .distribution_config
            .ok_or_else(|| build_error("GetDistributionConfig returned no DistributionConfig"))?;
        Ok((config, etag))
    }

    /// What `shipfront doctor` checks about the distribution.
    pub async fn distribution_facts(
        &self,
        distribution_id: &str,
    ) -> Result<DistributionFacts, RemoteError> {
        context("GetDistributionConfig", distribution_id, async {
            let (config, _etag) = self.distribution_config(distribution_id).await?;
            let certificate = config.viewer_certificate();
            Ok(DistributionFacts {
                origins: config
                    .origins()
                    .map(aws_sdk_cloudfront::types::Origins::items)
                    .unwrap_or_default()
                    .iter()
                    .map(|o| OriginFacts {
                        domain_name: o.domain_name().to_owned(),
                        origin_path: o.origin_path().unwrap_or_default().to_owned(),
                        oac: o
                            .origin_access_control_id()
                            .is_some_and(|id| !id.is_empty()),
                    })
                    .collect(),
                viewer_protocol_policy: config
                    .default_cache_behavior()
                    .map(|b| b.viewer_protocol_policy().as_str().to_owned())
                    .unwrap_or_default(),
                spa: spa_settings_of(&config),
                aliases: config
                    .aliases()
                    .map(|a| a.items().to_vec())
                    .unwrap_or_default(),
                custom_certificate: certificate.is_some_and(|c| {
                    c.acm_certificate_arn().is_some_and(|a| !a.is_empty())
                        || c.iam_certificate_id().is_some_and(|a| !a.is_empty())
                }),
            })
        })
        .await
    }
}

impl Cdn for CloudFrontCdn {
    async fn origin_path(
        &self,
        distribution_id: &str,
        bucket: &str,
    ) -> Result<String, RemoteError> {
        context("GetDistributionConfig", distribution_id, async {
            let (config, _) = self.distribution_config(distribution_id).await?;
            let origins = config
                .origins()
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
        })
        .await
    }

    async fn invalidate(
        &self,
        distribution_id: &str,
        paths: &[String],
        caller_reference: &str,
    ) -> Result<String, RemoteError> {
        context("CreateInvalidation", distribution_id, async {
            let batch = InvalidationBatch::builder()
                .paths(
                    Paths::builder()
                        .quantity(i32::try_from(paths.len()).unwrap_or(i32::MAX))
                        .set_items(Some(paths.to_vec()))
                        .build()
                        .map_err(|e| RemoteFailure::Other {
                            message: e.to_string(),
                            retryable: false,
                        })?,
                )
                .caller_reference(caller_reference)
                .build()
                .map_err(|e| RemoteFailure::Other {
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
        })
        .await
    }

    async fn spa_settings(&self, distribution_id: &str) -> Result<SpaSettings, RemoteError> {
        context("GetDistributionConfig", distribution_id, async {
            let (config, _etag) = self.distribution_config(distribution_id).await?;
            Ok(spa_settings_of(&config))
        })
        .await
    }

    async fn fix_spa(&self, distribution_id: &str, fallback: &str) -> Result<(), RemoteError> {
        context("UpdateDistribution", distribution_id, async {
            let (config, etag) = self.distribution_config(distribution_id).await?;
            let fixed = spa::repaired(&spa_settings_of(&config), fallback);
            // If-Match makes CloudFront refuse the write if someone changed the config meanwhile.
            self.client
                .update_distribution()
                .id(distribution_id)
                .if_match(etag)
                .distribution_config(with_spa_settings(&config, &fixed)?)
                .send()
                .await
                .map_err(|e| classify(&e))?;
            Ok(())
        })
        .await
    }

    async fn invalidation_status(
        &self,
        distribution_id: &str,
        invalidation_id: &str,
    ) -> Result<String, RemoteError> {
        context("GetInvalidation", distribution_id, async {
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
        })
        .await
    }
}
