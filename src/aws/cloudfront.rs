//! `Cdn` on Amazon CloudFront through the AWS SDK.

use std::time::Duration;

use aws_sdk_cloudfront::Client;
use aws_sdk_cloudfront::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudfront::primitives::Blob;
use aws_sdk_cloudfront::types::{
    CustomErrorResponse, CustomErrorResponses, DistributionConfig, EventType, FunctionAssociation,
    FunctionAssociations, FunctionConfig, FunctionRuntime, FunctionStage, InvalidationBatch,
    KeyValueStoreAssociation, KeyValueStoreAssociations, Paths, ResponseHeadersPolicyType,
};

use super::response_headers;
use crate::core::response_headers::HeadersPolicy;
use crate::core::response_headers::ResponseHeaders;
use crate::core::spa::{self, ErrorResponse, SpaSettings};
use crate::core::verdicts::{DistributionFacts, OriginFacts};
use crate::store::{Cdn, KvsFacts, RemoteError, RemoteFailure};

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

/// A shipfront function's config: `cloudfront-js-2.0`, associated with `key_value_store` when
/// there is one (an atomic site's pointer).
fn function_config(key_value_store: Option<&str>) -> Result<FunctionConfig, RemoteFailure> {
    let associations = match key_value_store {
        Some(arn) => Some(
            KeyValueStoreAssociations::builder()
                .quantity(1)
                .items(
                    KeyValueStoreAssociation::builder()
                        .key_value_store_arn(arn)
                        .build()
                        .map_err(build_error)?,
                )
                .build()
                .map_err(build_error)?,
        ),
        None => None,
    };
    FunctionConfig::builder()
        .comment("Edge routing written by shipfront")
        .runtime(FunctionRuntime::CloudfrontJs20)
        .set_key_value_store_associations(associations)
        .build()
        .map_err(build_error)
}

fn build_error(e: impl std::fmt::Display) -> RemoteFailure {
    RemoteFailure::Other {
        message: e.to_string(),
        retryable: false,
    }
}

/// The viewer-request function of the default cache behavior.
fn viewer_request_arn(config: &DistributionConfig) -> Option<String> {
    config
        .default_cache_behavior()?
        .function_associations()?
        .items()
        .iter()
        .find(|a| a.event_type() == &EventType::ViewerRequest)
        .map(|a| a.function_arn().to_owned())
}

/// `config` with `arn` as the default cache behavior's viewer-request function; its other
/// function associations (viewer response) and every other setting kept.
fn with_viewer_request(
    mut config: DistributionConfig,
    arn: &str,
) -> Result<DistributionConfig, RemoteFailure> {
    let Some(mut behavior) = config.default_cache_behavior.take() else {
        return Err(build_error(
            "the distribution has no default cache behavior",
        ));
    };
    let mut items: Vec<FunctionAssociation> = behavior
        .function_associations()
        .map(|f| f.items().to_vec())
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a.event_type() != &EventType::ViewerRequest)
        .collect();
    items.push(
        FunctionAssociation::builder()
            .function_arn(arn)
            .event_type(EventType::ViewerRequest)
            .build()
            .map_err(build_error)?,
    );
    behavior.function_associations = Some(
        FunctionAssociations::builder()
            .quantity(i32::try_from(items.len()).unwrap_or(i32::MAX))
            .set_items(Some(items))
            .build()
            .map_err(build_error)?,
    );
    config.default_cache_behavior = Some(behavior);
    Ok(config)
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

/// What a failed call was made on, named by `RemoteError::on_distribution`, `on_function` or
/// `on_headers_policy`.
type Naming = fn(RemoteFailure, &'static str, &str) -> RemoteError;

/// Runs one call of the port; a failure names its operation and what it was made on (`name`,
/// told by `naming`).
async fn context<T>(
    operation: &'static str,
    (naming, name): (Naming, &str),
    call: impl std::future::Future<Output = Result<T, RemoteFailure>>,
) -> Result<T, RemoteError> {
    call.await
        .map_err(|failure| naming(failure, operation, name))
}

/// The id of the default cache behavior's response headers policy.
fn policy_id(config: &DistributionConfig) -> Option<&str> {
    config
        .default_cache_behavior()?
        .response_headers_policy_id()
        .filter(|id| !id.is_empty())
}

impl CloudFrontCdn {
    /// The response headers policy `id`: its name and the headers it adds.
    async fn policy_by_id(&self, id: &str) -> Result<HeadersPolicy, RemoteError> {
        context(
            "GetResponseHeadersPolicy",
            (RemoteError::on_headers_policy, id),
            async {
                let out = super::send!(self.client.get_response_headers_policy().id(id))?;
                let config = out
                    .response_headers_policy()
                    .and_then(|p| p.response_headers_policy_config())
                    .ok_or_else(|| build_error("GetResponseHeadersPolicy returned no config"))?;
                Ok(HeadersPolicy {
                    id: id.to_owned(),
                    name: config.name().to_owned(),
                    headers: response_headers::headers_of(config),
                    hand_edited: response_headers::hand_edited(config),
                })
            },
        )
        .await
    }

    /// The id of the account's custom response headers policy `name`, if there is one.
    async fn custom_policy_id(&self, name: &str) -> Result<Option<String>, RemoteFailure> {
        let mut marker: Option<String> = None;
        loop {
            let out = super::send!(
                self.client
                    .list_response_headers_policies()
                    .r#type(ResponseHeadersPolicyType::Custom)
                    .set_marker(marker.take())
            )?;
            let Some(list) = out.response_headers_policy_list() else {
                return Ok(None);
            };
            let found = list.items().iter().find_map(|s| {
                let policy = s.response_headers_policy()?;
                (policy.response_headers_policy_config()?.name() == name)
                    .then(|| policy.id().to_owned())
            });
            if found.is_some() {
                return Ok(found);
            }
            match list.next_marker().filter(|m| !m.is_empty()) {
                Some(next) => marker = Some(next.to_owned()),
                None => return Ok(None),
            }
        }
    }

    #[must_use]
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        CloudFrontCdn {
            client: Client::new(sdk),
        }
    }
}

impl CloudFrontCdn {
    /// The distribution's config, as a call of the port reads it (a failure names
    /// GetDistributionConfig and the distribution).
    async fn read_config(&self, distribution_id: &str) -> Result<DistributionConfig, RemoteError> {
        let read = async {
            let (config, _etag) = self.distribution_config(distribution_id).await?;
            Ok(config)
        };
        let on = (RemoteError::on_distribution as Naming, distribution_id);
        context("GetDistributionConfig", on, read).await
    }
}

impl CloudFrontCdn {
    /// The distribution's config and its ETag (for `If-Match` on an update).
    async fn distribution_config(
        &self,
        distribution_id: &str,
    ) -> Result<(DistributionConfig, String), RemoteFailure> {
        let out = super::send!(self.client.get_distribution_config().id(distribution_id))?;
        let etag = out.e_tag().unwrap_or_default().to_owned();
        let config = out
            .distribution_config
            .ok_or_else(|| build_error("GetDistributionConfig returned no DistributionConfig"))?;
        Ok((config, etag))
    }

    /// A read-modify-write of the distribution's config; If-Match makes CloudFront refuse the
    /// write if someone changed the config meanwhile.
    async fn update_config(
        &self,
        distribution_id: &str,
        change: impl FnOnce(DistributionConfig) -> Result<DistributionConfig, RemoteFailure>,
    ) -> Result<(), RemoteError> {
        context(
            "UpdateDistribution",
            (RemoteError::on_distribution, distribution_id),
            async {
                let (config, etag) = self.distribution_config(distribution_id).await?;
                super::send!(
                    self.client
                        .update_distribution()
                        .id(distribution_id)
                        .if_match(etag)
                        .distribution_config(change(config)?)
                )?;
                Ok(())
            },
        )
        .await
    }

    /// What `shipfront doctor` checks about the distribution: its config, the published code
    /// of its viewer-request function and its response headers policy.
    pub async fn distribution_facts(
        &self,
        distribution_id: &str,
    ) -> Result<DistributionFacts, RemoteError> {
        let config = self.read_config(distribution_id).await?;
        let mut facts = facts_of(&config);
        // Only shipfront's own function is read (the IAM policy may allow no other); a call
        // that fails is the edge check's warning, not the whole distribution's failure.
        let ours = crate::core::routing::function_name(distribution_id);
        if facts
            .viewer_request_function
            .as_deref()
            .is_some_and(|arn| crate::core::routing::is_ours(arn, distribution_id))
        {
            facts.viewer_request_code = self
                .function_code(&ours, true)
                .await
                .map(|code| code.map(|(c, _)| c))
                .map_err(|e| crate::core::error::Error::from(e).to_string());
        }
        if let Some(id) = policy_id(&config) {
            facts.headers_policy = self
                .policy_by_id(id)
                .await
                .map(Some)
                .map_err(|e| crate::core::error::Error::from(e).to_string());
        }
        Ok(facts)
    }

    /// The address visitors reach the distribution at: `https://` and its first alternate
    /// name that is no wildcard, else its CloudFront domain name.
    ///
    /// # Errors
    /// The distribution cannot be read.
    pub async fn viewer_address(&self, distribution_id: &str) -> Result<String, RemoteError> {
        let read = async {
            let out = super::send!(self.client.get_distribution().id(distribution_id))?;
            let distribution = out
                .distribution
                .ok_or_else(|| build_error("GetDistribution returned no Distribution"))?;
            let alias = distribution
                .distribution_config()
                .and_then(|c| c.aliases())
                .map(aws_sdk_cloudfront::types::Aliases::items)
                .unwrap_or_default()
                .iter()
                .find(|a| !a.starts_with('*'))
                .cloned();
            Ok(format!(
                "https://{}",
                alias.unwrap_or_else(|| distribution.domain_name().to_owned())
            ))
        };
        let on = (RemoteError::on_distribution as Naming, distribution_id);
        context("GetDistribution", on, read).await
    }
}

/// What the distribution's config says, for `shipfront doctor`.
fn facts_of(config: &DistributionConfig) -> DistributionFacts {
    let certificate = config.viewer_certificate();
    DistributionFacts {
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
        spa: spa_settings_of(config),
        aliases: config
            .aliases()
            .map(|a| a.items().to_vec())
            .unwrap_or_default(),
        custom_certificate: certificate.is_some_and(|c| {
            c.acm_certificate_arn().is_some_and(|a| !a.is_empty())
                || c.iam_certificate_id().is_some_and(|a| !a.is_empty())
        }),
        viewer_request_function: viewer_request_arn(config),
        viewer_request_code: Ok(None),
        headers_policy: Ok(None),
        behaviors: behaviors_of(config),
    }
}

/// The cache behaviors besides the default one, each with its origin's domain name.
fn behaviors_of(config: &DistributionConfig) -> Vec<crate::core::verdicts::BehaviorFacts> {
    let origins = config
        .origins()
        .map(aws_sdk_cloudfront::types::Origins::items)
        .unwrap_or_default();
    let behaviors = config
        .cache_behaviors()
        .map(aws_sdk_cloudfront::types::CacheBehaviors::items)
        .unwrap_or_default();
    behaviors
        .iter()
        .map(|b| crate::core::verdicts::BehaviorFacts {
            path_pattern: b.path_pattern().to_owned(),
            origin_domain: origins
                .iter()
                .find(|o| o.id() == b.target_origin_id())
                .map(|o| o.domain_name().to_owned())
                .unwrap_or_default(),
            viewer_request_function: b.function_associations().and_then(|f| {
                f.items()
                    .iter()
                    .find(|a| a.event_type() == &EventType::ViewerRequest)
                    .map(|a| a.function_arn().to_owned())
            }),
        })
        .collect()
}

impl Cdn for CloudFrontCdn {
    async fn origin_path(
        &self,
        distribution_id: &str,
        bucket: &str,
    ) -> Result<String, RemoteError> {
        let config = self.read_config(distribution_id).await?;
        let origins = config
            .origins()
            .map(aws_sdk_cloudfront::types::Origins::items)
            .unwrap_or_default();
        Ok(origins
            .iter()
            .find(|o| crate::core::verdicts::serves_bucket(o.domain_name(), bucket))
            .and_then(|o| o.origin_path())
            .unwrap_or_default()
            .to_owned())
    }

    async fn invalidate(
        &self,
        distribution_id: &str,
        paths: &[String],
        caller_reference: &str,
    ) -> Result<String, RemoteError> {
        context(
            "CreateInvalidation",
            (RemoteError::on_distribution, distribution_id),
            async {
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
                        Err(e) => return Err(super::classify(&e)),
                    }
                }
                unreachable!("the last attempt returns")
            },
        )
        .await
    }

    async fn aliases(&self, distribution_id: &str) -> Result<Vec<String>, RemoteError> {
        let config = self.read_config(distribution_id).await?;
        Ok(config
            .aliases()
            .map(aws_sdk_cloudfront::types::Aliases::items)
            .unwrap_or_default()
            .to_vec())
    }

    async fn spa_settings(&self, distribution_id: &str) -> Result<SpaSettings, RemoteError> {
        Ok(spa_settings_of(&self.read_config(distribution_id).await?))
    }

    async fn fix_spa(&self, distribution_id: &str, fallback: &str) -> Result<(), RemoteError> {
        self.update_config(distribution_id, |config| {
            let fixed = spa::repaired(&spa_settings_of(&config), fallback);
            with_spa_settings(&config, &fixed)
        })
        .await
    }

    async fn function_code(
        &self,
        name: &str,
        live: bool,
    ) -> Result<Option<(String, String)>, RemoteError> {
        context("GetFunction", (RemoteError::on_function, name), async {
            let stage = if live {
                FunctionStage::Live
            } else {
                FunctionStage::Development
            };
            match self
                .client
                .get_function()
                .name(name)
                .stage(stage)
                .send()
                .await
            {
                Ok(out) => Ok(Some((
                    String::from_utf8_lossy(
                        out.function_code().map(Blob::as_ref).unwrap_or_default(),
                    )
                    .into_owned(),
                    out.e_tag().unwrap_or_default().to_owned(),
                ))),
                Err(SdkError::ServiceError(e))
                    if e.err().code() == Some("NoSuchFunctionExists") =>
                {
                    Ok(None)
                }
                Err(e) => Err(super::classify(&e)),
            }
        })
        .await
    }

    async fn put_function(
        &self,
        name: &str,
        code: &str,
        etag: Option<&str>,
        key_value_store: Option<&str>,
    ) -> Result<String, RemoteError> {
        let operation = crate::store::put_function_operation(etag);
        context(operation, (RemoteError::on_function, name), async {
            let config = function_config(key_value_store)?;
            let code = Blob::new(code.as_bytes().to_vec());
            let etag = match etag {
                Some(etag) => super::send!(
                    self.client
                        .update_function()
                        .name(name)
                        .if_match(etag)
                        .function_config(config)
                        .function_code(code)
                )?
                .e_tag()
                .map(str::to_owned),
                None => super::send!(
                    self.client
                        .create_function()
                        .name(name)
                        .function_config(config)
                        .function_code(code)
                )?
                .e_tag()
                .map(str::to_owned),
            };
            Ok(etag.unwrap_or_default())
        })
        .await
    }

    async fn function_key_value_store(&self, name: &str) -> Result<Option<String>, RemoteError> {
        context(
            "DescribeFunction",
            (RemoteError::on_function, name),
            async {
                let described = self
                    .client
                    .describe_function()
                    .name(name)
                    .stage(FunctionStage::Live)
                    .send()
                    .await;
                match described {
                    Ok(out) => Ok(out
                        .function_summary()
                        .and_then(|s| s.function_config())
                        .and_then(|c| c.key_value_store_associations())
                        .and_then(|a| a.items().first())
                        .map(|a| a.key_value_store_arn().to_owned())),
                    Err(SdkError::ServiceError(e))
                        if e.err().code() == Some("NoSuchFunctionExists") =>
                    {
                        Ok(None)
                    }
                    Err(e) => Err(super::classify(&e)),
                }
            },
        )
        .await
    }

    async fn publish_function(&self, name: &str, etag: &str) -> Result<String, RemoteError> {
        context("PublishFunction", (RemoteError::on_function, name), async {
            let out = super::send!(self.client.publish_function().name(name).if_match(etag))?;
            Ok(out
                .function_summary()
                .and_then(|s| s.function_metadata())
                .map(|m| m.function_arn().to_owned())
                .unwrap_or_default())
        })
        .await
    }

    async fn viewer_request_function(
        &self,
        distribution_id: &str,
    ) -> Result<Option<String>, RemoteError> {
        Ok(viewer_request_arn(
            &self.read_config(distribution_id).await?,
        ))
    }

    async fn set_viewer_request_function(
        &self,
        distribution_id: &str,
        arn: &str,
    ) -> Result<(), RemoteError> {
        self.update_config(distribution_id, |config| with_viewer_request(config, arn))
            .await
    }

    async fn response_headers_policy(
        &self,
        distribution_id: &str,
    ) -> Result<Option<HeadersPolicy>, RemoteError> {
        let config = self.read_config(distribution_id).await?;
        match policy_id(&config) {
            Some(id) => self.policy_by_id(id).await.map(Some),
            None => Ok(None),
        }
    }

    async fn put_response_headers_policy(
        &self,
        name: &str,
        headers: &ResponseHeaders,
    ) -> Result<String, RemoteError> {
        let config = context(
            "CreateResponseHeadersPolicy",
            (RemoteError::on_headers_policy, name),
            async { response_headers::config_of(name, headers) },
        )
        .await?;
        let existing = context(
            "ListResponseHeadersPolicies",
            (RemoteError::on_headers_policy, name),
            async { self.custom_policy_id(name).await },
        )
        .await?;
        let Some(id) = existing else {
            return context(
                "CreateResponseHeadersPolicy",
                (RemoteError::on_headers_policy, name),
                async {
                    let out = super::send!(
                        self.client
                            .create_response_headers_policy()
                            .response_headers_policy_config(config)
                    )?;
                    out.response_headers_policy()
                        .map(|p| p.id().to_owned())
                        .ok_or_else(|| {
                            build_error("CreateResponseHeadersPolicy returned no policy id")
                        })
                },
            )
            .await;
        };
        context(
            "UpdateResponseHeadersPolicy",
            (RemoteError::on_headers_policy, name),
            async {
                let current = super::send!(self.client.get_response_headers_policy().id(&id))?;
                super::send!(
                    self.client
                        .update_response_headers_policy()
                        .id(&id)
                        .if_match(current.e_tag().unwrap_or_default())
                        .response_headers_policy_config(config)
                )?;
                Ok(id.clone())
            },
        )
        .await
    }

    async fn set_response_headers_policy(
        &self,
        distribution_id: &str,
        id: &str,
    ) -> Result<(), RemoteError> {
        self.update_config(distribution_id, |mut config| {
            let Some(mut behavior) = config.default_cache_behavior.take() else {
                return Err(build_error(
                    "the distribution has no default cache behavior",
                ));
            };
            behavior.response_headers_policy_id = Some(id.to_owned());
            config.default_cache_behavior = Some(behavior);
            Ok(config)
        })
        .await
    }

    async fn key_value_store(&self, name: &str) -> Result<Option<KvsFacts>, RemoteError> {
        let found = self
            .client
            .describe_key_value_store()
            .name(name)
            .send()
            .await;
        match found {
            Ok(out) => Ok(out.key_value_store().map(|k| KvsFacts {
                arn: k.arn().to_owned(),
                status: k.status().unwrap_or_default().to_owned(),
            })),
            Err(e) if e.code() == Some("EntityNotFound") => Ok(None),
            Err(e) => Err(RemoteError::on_key_value_store(
                super::classify(&e),
                "DescribeKeyValueStore",
                name,
            )),
        }
    }

    async fn create_key_value_store(&self, name: &str) -> Result<String, RemoteError> {
        let created = super::send!(
            self.client
                .create_key_value_store()
                .name(name)
                .comment("The live release of an atomic site, written by shipfront")
        )
        .map_err(|f| RemoteError::on_key_value_store(f, "CreateKeyValueStore", name))?;
        Ok(created
            .key_value_store()
            .map(|k| k.arn().to_owned())
            .unwrap_or_default())
    }

    async fn invalidation_status(
        &self,
        distribution_id: &str,
        invalidation_id: &str,
    ) -> Result<String, RemoteError> {
        context(
            "GetInvalidation",
            (RemoteError::on_distribution, distribution_id),
            async {
                let out = super::send!(
                    self.client
                        .get_invalidation()
                        .distribution_id(distribution_id)
                        .id(invalidation_id)
                )?;
                Ok(out
                    .invalidation()
                    .map(|i| i.status().to_owned())
                    .unwrap_or_default())
            },
        )
        .await
    }
}
