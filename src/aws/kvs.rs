//! The KeyValueStore port through the SDK: the data plane of a CloudFront KeyValueStore
//! (`DescribeKeyValueStore`, `GetKey`, `UpdateKeys`), which AWS signs with SigV4A. An atomic
//! site's live pointer lives there.

use aws_sdk_cloudfrontkeyvaluestore::Client;
use aws_sdk_cloudfrontkeyvaluestore::error::ProvideErrorMetadata;
use aws_sdk_cloudfrontkeyvaluestore::types::{DeleteKeyRequestListItem, PutKeyRequestListItem};

use crate::store::{KeyValueStore, RemoteError, RemoteFailure};

/// The KeyValueStore whose ARN is `arn`.
pub struct KvsStore {
    client: Client,
    arn: String,
}

impl KvsStore {
    /// The store `arn` through `sdk`'s settings. With a custom endpoint (`--endpoint-url`,
    /// `AWS_ENDPOINT_URL_CLOUDFRONT_KEYVALUESTORE`: an emulator, a test stand-in) requests go to
    /// it as given: the service's rules would put the account id in front of its host name
    /// (`123456789012.cloudfront-kvs.global.api.aws`).
    #[must_use]
    pub fn new(sdk: &aws_config::SdkConfig, arn: &str) -> Self {
        let config = aws_sdk_cloudfrontkeyvaluestore::config::Builder::from(sdk)
            .endpoint_resolver(AsGiven::default())
            .build();
        KvsStore {
            client: Client::from_conf(config),
            arn: arn.to_owned(),
        }
    }

    fn failed(&self, failure: RemoteFailure, operation: &'static str) -> RemoteError {
        RemoteError::on_key_value_store(failure, operation, &self.arn)
    }
}

/// Resolves a request with a custom endpoint to that endpoint as given, signed with SigV4A as
/// the service's own rules sign (every region, name `cloudfront-keyvaluestore`); any other by
/// the service's rules.
#[derive(Debug, Default)]
struct AsGiven(aws_sdk_cloudfrontkeyvaluestore::config::endpoint::DefaultResolver);

impl aws_sdk_cloudfrontkeyvaluestore::config::endpoint::ResolveEndpoint for AsGiven {
    fn resolve_endpoint<'a>(
        &'a self,
        params: &'a aws_sdk_cloudfrontkeyvaluestore::config::endpoint::Params,
    ) -> aws_sdk_cloudfrontkeyvaluestore::config::endpoint::EndpointFuture<'a> {
        use aws_smithy_types::Document;
        use aws_smithy_types::endpoint::{Endpoint, EndpointAuthScheme};
        let Some(url) = params.endpoint() else {
            return self.0.resolve_endpoint(params);
        };
        let scheme = EndpointAuthScheme::with_capacity("sigv4a", 2)
            .put("signingName", "cloudfront-keyvaluestore")
            .put("signingRegionSet", vec![Document::from("*")]);
        let endpoint = Endpoint::builder()
            .url(url.to_owned())
            .auth_scheme(scheme)
            .build();
        aws_sdk_cloudfrontkeyvaluestore::config::endpoint::EndpointFuture::ready(Ok(endpoint))
    }
}

/// A request item the SDK refused to build (a required field missing): named as such.
fn unbuildable(e: &impl std::fmt::Display) -> RemoteFailure {
    RemoteFailure::Other {
        message: format!("the request could not be built: {e}"),
        retryable: false,
    }
}

impl KeyValueStore for KvsStore {
    fn name(&self) -> &str {
        &self.arn
    }

    async fn get(&self, key: &str) -> Result<(Option<String>, String), RemoteError> {
        let described = super::send!(self.client.describe_key_value_store().kvs_arn(&self.arn))
            .map_err(|f| self.failed(f, "DescribeKeyValueStore"))?;
        let etag = described.e_tag().to_owned();
        let got = self
            .client
            .get_key()
            .kvs_arn(&self.arn)
            .key(key)
            .send()
            .await;
        let value = match got {
            Ok(out) => Some(out.value().to_owned()),
            Err(e) if e.code() == Some("ResourceNotFoundException") => None,
            Err(e) => return Err(self.failed(super::classify(&e), "GetKey")),
        };
        Ok((value, etag))
    }

    async fn update(
        &self,
        puts: Vec<(String, String)>,
        deletes: Vec<String>,
        if_match: &str,
    ) -> Result<String, RemoteError> {
        let puts = puts
            .into_iter()
            .map(|(key, value)| {
                PutKeyRequestListItem::builder()
                    .key(key)
                    .value(value)
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.failed(unbuildable(&e), "UpdateKeys"))?;
        let deletes = deletes
            .into_iter()
            .map(|key| DeleteKeyRequestListItem::builder().key(key).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.failed(unbuildable(&e), "UpdateKeys"))?;
        let request = self
            .client
            .update_keys()
            .kvs_arn(&self.arn)
            .if_match(if_match)
            .set_puts((!puts.is_empty()).then_some(puts))
            .set_deletes((!deletes.is_empty()).then_some(deletes));
        match request.send().await {
            Ok(out) => Ok(out.e_tag().to_owned()),
            // The store's ETag is no longer `if_match`: another writer came first.
            Err(e) if e.code() == Some("ConflictException") => {
                Err(self.failed(RemoteFailure::PreconditionFailed, "UpdateKeys"))
            }
            Err(e) => Err(self.failed(super::classify(&e), "UpdateKeys")),
        }
    }
}
