//! `ObjectStore` on Amazon S3 (or any S3-compatible endpoint) through the AWS SDK.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::{RetryPartition, TokenBucket};
use aws_sdk_s3::config::{RequestChecksumCalculation, ResponseChecksumValidation};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{
    CompletedMultipartUpload, CompletedPart, Delete, EncodingType, MetadataDirective,
    ObjectIdentifier, ServerSideEncryption,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use md5::Digest;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use tokio::task::JoinSet;

use crate::core::etag::{MultipartDigest, hex};
use crate::core::object_headers::Headers;
use crate::core::objects::{RemoteListing, RemoteObject, StoredHeaders, StoredObject, Versions};
use crate::core::verdicts::BucketFacts;
use crate::store::{Condition, ObjectStore, PutFile, RemoteError, RemoteFailure, WriteOutcome};

/// Parts of one multipart upload in flight at once (on top of the executor's file concurrency).
const PARTS_IN_FLIGHT: usize = 4;
/// The most a read of a small object (a release record) sets aside before its bytes arrive,
/// whatever length the answer announces.
const MAX_PREALLOCATED: usize = 256 << 20;

/// Reads a small object's body (a release record, the lock) chunk by chunk into one buffer of
/// the announced length: a large record is held once, not as chunks and then a copy of them.
async fn read_whole(
    mut body: aws_sdk_s3::primitives::ByteStream,
    announced: Option<i64>,
    key: &str,
) -> Result<Vec<u8>, RemoteFailure> {
    let announced = announced.and_then(|n| usize::try_from(n).ok());
    let mut bytes = Vec::with_capacity(announced.unwrap_or(0).min(MAX_PREALLOCATED));
    loop {
        match body.try_next().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(None) => return Ok(bytes),
            Err(e) => {
                return Err(RemoteFailure::Other {
                    message: format!("reading `{key}`: {e}"),
                    retryable: true,
                });
            }
        }
    }
}

/// Characters left as they are in a `CopySource`: RFC 3986 unreserved, plus `/` between segments.
const COPY_SOURCE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// One bucket on S3.
#[derive(Clone, Debug)]
pub struct S3Store {
    client: Client,
    bucket: String,
    /// Multipart uploads started and not yet completed or aborted: upload id -> key.
    open_uploads: Arc<std::sync::Mutex<BTreeMap<String, String>>>,
}

impl S3Store {
    /// A `ListObjectsV2` of `prefix` in the bucket, keys URL-encoded so any key lists back,
    /// control characters too (XML cannot carry them as they are).
    fn list_request(
        &self,
        prefix: &str,
    ) -> aws_sdk_s3::operation::list_objects_v2::builders::ListObjectsV2FluentBuilder {
        self.client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .encoding_type(EncodingType::Url)
    }

    /// A store for `bucket`. Integrity comes from the `Content-MD5` of the scan (which S3
    /// checks), so the SDK's own streaming checksums are turned off: they are computed while
    /// sending and would bless a file that changed after the scan. For the same reason
    /// uploads skip SigV4 payload signing (`UNSIGNED-PAYLOAD`): a SHA-256 of every body costs a
    /// second read of the file and more CPU than the upload itself, and adds nothing that
    /// `Content-MD5` over TLS does not already give.
    #[must_use]
    pub fn new(sdk: &aws_config::SdkConfig, bucket: &str, path_style: bool) -> Self {
        let config = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(path_style)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            // Every retry is bounded by MAX_ATTEMPTS and by the executor's concurrency; the
            // default quota would give up on a flaky link long before either.
            .retry_partition(
                RetryPartition::custom("shipfront")
                    .token_bucket(TokenBucket::unlimited())
                    .build(),
            )
            .build();
        S3Store {
            client: Client::from_conf(config),
            bucket: bucket.to_owned(),
            open_uploads: Arc::new(std::sync::Mutex::new(BTreeMap::new())),
        }
    }
}

/// A key (or prefix) as a listing returned it: decoded when the answer says it is URL-encoded
/// (`encoded`), as asked; an S3-compatible store may ignore the encoding asked for.
fn listed_key(encoded: bool, raw: &str) -> String {
    if encoded {
        decode_key(raw)
    } else {
        raw.to_owned()
    }
}

/// A key as a listing with `encoding-type=url` returns it: form-encoded (S3 writes a space as
/// `+` and a plus as `%2B`).
fn decode_key(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .map_or_else(|_| raw.to_owned(), std::borrow::Cow::into_owned)
}

fn strip_quotes(etag: &str) -> String {
    etag.trim_matches('"').to_owned()
}

/// One lifecycle rule as doctor judges it: which keys, and what it expires or aborts.
fn lifecycle_rule(rule: &aws_sdk_s3::types::LifecycleRule) -> crate::core::verdicts::LifecycleRule {
    let filter = rule.filter();
    // The filter's prefix, its `And`'s, or the older top-level one; a filter by tag or size
    // alone may match any key.
    let prefix = filter
        .and_then(|f| f.prefix().or_else(|| f.and().and_then(|a| a.prefix())))
        .or_else(|| {
            #[allow(deprecated)]
            rule.prefix()
        })
        .unwrap_or_default();
    let noncurrent = rule.noncurrent_version_expiration();
    crate::core::verdicts::LifecycleRule {
        id: rule.id().unwrap_or("(no id)").to_owned(),
        enabled: rule.status() == &aws_sdk_s3::types::ExpirationStatus::Enabled,
        prefix: prefix.to_owned(),
        noncurrent_days: noncurrent.and_then(|n| n.noncurrent_days()),
        newer_noncurrent_versions: noncurrent.and_then(|n| n.newer_noncurrent_versions()),
        expiration_days: rule.expiration().and_then(|e| e.days()),
        abort_incomplete_days: rule
            .abort_incomplete_multipart_upload()
            .and_then(|a| a.days_after_initiation()),
    }
}

/// What a write returned: the new version id and the ETag, unquoted.
fn outcome(version_id: Option<&str>, etag: Option<&str>) -> WriteOutcome {
    WriteOutcome {
        version_id: version_id.map(str::to_owned),
        etag: etag.map(strip_quotes),
    }
}

fn content_md5(md5: &[u8; 16]) -> String {
    BASE64.encode(md5)
}

fn i64_len(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

async fn body(path: &std::path::Path, offset: u64, len: u64) -> Result<ByteStream, RemoteFailure> {
    ByteStream::read_from()
        .path(path)
        .offset(offset)
        .length(Length::Exact(len))
        // The default 4 KiB reads cost a system call per page; 256 KiB halves the client's CPU.
        .buffer_size(256 << 10)
        .build()
        .await
        .map_err(|e| RemoteFailure::Other {
            message: format!("cannot read `{}`: {e}", path.display()),
            retryable: false,
        })
}

/// Files up to this size are read in one go: one hop to the blocking pool instead of one per
/// chunk, which is most of the client's CPU on a site of many small files. Larger files stream.
const READ_WHOLE_UP_TO: u64 = 1 << 20;

async fn whole_body(path: &std::path::Path, size: u64) -> Result<ByteStream, RemoteFailure> {
    if size > READ_WHOLE_UP_TO {
        return body(path, 0, size).await;
    }
    let data = tokio::fs::read(path)
        .await
        .map_err(|e| RemoteFailure::Other {
            message: format!("cannot read `{}`: {e}", path.display()),
            retryable: false,
        })?;
    if data.len() as u64 != size {
        return Err(RemoteFailure::Other {
            message: format!(
                "`{}` changed since the scan ({size} bytes then, {} now); run the deploy again",
                path.display(),
                data.len()
            ),
            retryable: false,
        });
    }
    Ok(ByteStream::from(data))
}

/// A second line of defence behind `Content-MD5`: for plain single-part writes S3's ETag is
/// the MD5 of what it stored, so a mismatch means the object is not what the scan hashed.
/// (SSE-KMS ETags are not MD5s and are not checked.)
fn check_etag(
    key: &str,
    expected: &str,
    etag: Option<&str>,
    sse: Option<&ServerSideEncryption>,
) -> Result<(), RemoteFailure> {
    let kms = matches!(
        sse,
        Some(ServerSideEncryption::AwsKms | ServerSideEncryption::AwsKmsDsse)
    );
    match etag.map(strip_quotes) {
        Some(got) if !kms && got != expected => Err(RemoteFailure::Other {
            message: format!(
                "`{key}` was stored with ETag {got}, expected {expected}: the file changed \
                 while uploading"
            ),
            retryable: false,
        }),
        _ => Ok(()),
    }
}

impl S3Store {
    async fn put_single(&self, put: PutFile) -> Result<WriteOutcome, RemoteFailure> {
        let out = super::send!(
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(&put.key)
                .body(whole_body(&put.path, put.size).await?)
                .content_length(i64_len(put.size))
                .content_md5(content_md5(&put.md5))
                .content_type(&put.headers.content_type)
                .cache_control(&put.headers.cache_control)
                .customize()
                .disable_payload_signing()
        )?;
        check_etag(
            &put.key,
            &hex(&put.md5),
            out.e_tag(),
            out.server_side_encryption(),
        )?;
        Ok(outcome(out.version_id(), out.e_tag()))
    }

    async fn put_multipart(
        &self,
        put: PutFile,
        part_size: u64,
        part_md5s: Vec<[u8; 16]>,
    ) -> Result<WriteOutcome, RemoteFailure> {
        let created = super::send!(
            self.client
                .create_multipart_upload()
                .bucket(&self.bucket)
                .key(&put.key)
                .content_type(&put.headers.content_type)
                .cache_control(&put.headers.cache_control)
        )?;
        let upload_id = created
            .upload_id()
            .ok_or_else(|| RemoteFailure::Other {
                message: format!(
                    "CreateMultipartUpload for `{}` returned no upload id",
                    put.key
                ),
                retryable: true,
            })?
            .to_owned();
        self.track_upload(&upload_id, Some(&put.key));
        let result = self
            .upload_parts(&put, &upload_id, part_size, &part_md5s)
            .await;
        let parts = match result {
            Ok(parts) => parts,
            Err(e) => {
                self.abort_upload(&put.key, &upload_id).await;
                return Err(e);
            }
        };
        let completed = self
            .client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&put.key)
            .upload_id(&upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await;
        self.track_upload(&upload_id, None);
        match completed {
            Ok(out) => Ok(outcome(out.version_id(), out.e_tag())),
            // The answer to an earlier attempt was lost: the upload may be complete.
            Err(SdkError::ServiceError(e)) if e.err().code() == Some("NoSuchUpload") => {
                self.already_completed(&put.key, part_size, part_md5s).await
            }
            Err(e) => {
                // Not completed: its parts would be left to pay for.
                self.abort_upload(&put.key, &upload_id).await;
                Err(super::classify(&e))
            }
        }
    }

    /// Notes an upload as open (`Some(key)`) or finished (None).
    fn track_upload(&self, upload_id: &str, key: Option<&str>) {
        if let Ok(mut open) = self.open_uploads.lock() {
            match key {
                Some(key) => open.insert(upload_id.to_owned(), key.to_owned()),
                None => open.remove(upload_id),
            };
        }
    }

    /// Best effort: an upload left open only costs storage until a lifecycle rule (documented
    /// in the README) removes it.
    async fn abort_upload(&self, key: &str, upload_id: &str) {
        let _ = self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .send()
            .await;
        self.track_upload(upload_id, None);
    }

    /// A retry of a Complete whose answer was lost finds the upload already completed: the
    /// object is there when it carries exactly our multipart ETag.
    async fn already_completed(
        &self,
        key: &str,
        part_size: u64,
        part_md5s: Vec<[u8; 16]>,
    ) -> Result<WriteOutcome, RemoteFailure> {
        let expected = MultipartDigest {
            part_size,
            part_md5s,
        }
        .etag();
        let head = super::send!(self.client.head_object().bucket(&self.bucket).key(key))?;
        if head.e_tag().map(strip_quotes).as_deref() == Some(expected.as_str()) {
            Ok(WriteOutcome {
                version_id: head.version_id().map(str::to_owned),
                etag: Some(expected),
            })
        } else {
            Err(RemoteFailure::Other {
                message: format!("multipart upload of `{key}` vanished before it completed"),
                retryable: true,
            })
        }
    }

    async fn upload_parts(
        &self,
        put: &PutFile,
        upload_id: &str,
        part_size: u64,
        part_md5s: &[[u8; 16]],
    ) -> Result<Vec<CompletedPart>, RemoteFailure> {
        let semaphore = Arc::new(tokio::sync::Semaphore::new(PARTS_IN_FLIGHT));
        let mut tasks = JoinSet::new();
        for (index, md5) in part_md5s.iter().enumerate() {
            let offset = part_size * index as u64;
            let len = part_size.min(put.size.saturating_sub(offset));
            let number = i32::try_from(index + 1).unwrap_or(i32::MAX);
            let client = self.client.clone();
            let bucket = self.bucket.clone();
            let key = put.key.clone();
            let path = put.path.clone();
            let upload_id = upload_id.to_owned();
            let md5 = *md5;
            let semaphore = Arc::clone(&semaphore);
            tasks.spawn(async move {
                let _permit = semaphore.acquire_owned().await;
                let out = super::send!(
                    client
                        .upload_part()
                        .bucket(&bucket)
                        .key(&key)
                        .upload_id(&upload_id)
                        .part_number(number)
                        .body(body(&path, offset, len).await?)
                        .content_length(i64_len(len))
                        .content_md5(content_md5(&md5))
                        .customize()
                        .disable_payload_signing()
                )?;
                check_etag(&key, &hex(&md5), out.e_tag(), out.server_side_encryption())?;
                Ok::<_, RemoteFailure>(
                    CompletedPart::builder()
                        .part_number(number)
                        .set_e_tag(out.e_tag().map(str::to_owned))
                        .build(),
                )
            });
        }
        let mut parts = Vec::with_capacity(part_md5s.len());
        while let Some(joined) = tasks.join_next().await {
            let part = joined.map_err(|e| RemoteFailure::Other {
                message: format!("upload task failed: {e}"),
                retryable: false,
            })??;
            parts.push(part);
        }
        parts.sort_by_key(|p| p.part_number());
        Ok(parts)
    }
}

impl S3Store {
    /// Whether all four of the bucket's public access blocks are on (None: unknown).
    async fn public_access_blocked(&self) -> Option<bool> {
        let request = self.client.get_public_access_block().bucket(&self.bucket);
        let out = request.send().await.ok()?;
        let c = out.public_access_block_configuration()?;
        Some(
            [
                c.block_public_acls(),
                c.ignore_public_acls(),
                c.block_public_policy(),
                c.restrict_public_buckets(),
            ]
            .iter()
            .all(|v| *v == Some(true)),
        )
    }

    /// What `shipfront doctor` checks about the bucket. A call that fails counts as "not
    /// configured", except the first, which decides whether the bucket is reachable at all.
    pub async fn bucket_facts(&self) -> BucketFacts {
        let bucket = &self.bucket;
        if let Err(failure) = super::send!(self.client.list_objects_v2().bucket(bucket).max_keys(1))
        {
            let error = RemoteError::on_bucket(failure, "ListObjectsV2", bucket, None);
            return BucketFacts {
                reachable: Err(crate::core::error::Error::from(error).to_string()),
                versioning: None,
                encryption: None,
                public_access_blocked: None,
                policy: None,
                lifecycle: Ok(Vec::new()),
                release_ages_days: Vec::new(),
            };
        }
        let versioning = super::send!(self.client.get_bucket_versioning().bucket(bucket)).ok();
        let encryption = super::send!(self.client.get_bucket_encryption().bucket(bucket)).ok();
        let policy = super::send!(self.client.get_bucket_policy().bucket(bucket)).ok();
        BucketFacts {
            reachable: Ok(()),
            versioning: versioning.and_then(|v| v.status().map(|s| s.as_str().to_owned())),
            encryption: encryption.and_then(|out| {
                out.server_side_encryption_configuration()?
                    .rules()
                    .iter()
                    .find_map(|r| r.apply_server_side_encryption_by_default())
                    .map(|d| d.sse_algorithm().as_str().to_owned())
            }),
            public_access_blocked: self.public_access_blocked().await,
            policy: policy.and_then(|out| out.policy().map(str::to_owned)),
            lifecycle: self.lifecycle_rules().await,
            // The caller, which knows where the records are, counts them.
            release_ages_days: Vec::new(),
        }
    }

    /// The bucket's lifecycle rules; none when it has no lifecycle configuration.
    async fn lifecycle_rules(&self) -> Result<Vec<crate::core::verdicts::LifecycleRule>, String> {
        let answer = self
            .client
            .get_bucket_lifecycle_configuration()
            .bucket(&self.bucket)
            .send()
            .await;
        let out = match answer {
            Ok(out) => out,
            Err(e) if e.code() == Some("NoSuchLifecycleConfiguration") => return Ok(Vec::new()),
            Err(e) => {
                let failure = super::classify(&e);
                let error = RemoteError::on_bucket(
                    failure,
                    "GetBucketLifecycleConfiguration",
                    &self.bucket,
                    None,
                );
                return Err(crate::core::error::Error::from(error).to_string());
            }
        };
        Ok(out.rules().iter().map(lifecycle_rule).collect())
    }
}

impl S3Store {
    /// CopyObject's `x-amz-copy-source` for `key` of this bucket (at `version_id`, when given),
    /// percent-encoded.
    fn copy_source(&self, key: &str, version_id: Option<&str>) -> String {
        let key = utf8_percent_encode(key, COPY_SOURCE);
        match version_id {
            Some(v) => format!(
                "{}/{key}?versionId={}",
                self.bucket,
                utf8_percent_encode(v, COPY_SOURCE)
            ),
            None => format!("{}/{key}", self.bucket),
        }
    }

    /// Copies `source` (the key itself, or one of its versions) onto `key`: with `headers`, the
    /// object's metadata replaced by them; without, the source's kept.
    async fn copy_onto(
        &self,
        key: &str,
        source: String,
        headers: Option<&Headers>,
    ) -> Result<WriteOutcome, RemoteFailure> {
        let request = self
            .client
            .copy_object()
            .bucket(&self.bucket)
            .key(key)
            .copy_source(source);
        let request = match headers {
            Some(headers) => request
                .metadata_directive(MetadataDirective::Replace)
                .content_type(&headers.content_type)
                .cache_control(&headers.cache_control),
            None => request.metadata_directive(MetadataDirective::Copy),
        };
        let out = super::send!(request)?;
        let etag = out.copy_object_result().and_then(|r| r.e_tag());
        Ok(outcome(out.version_id(), etag))
    }

    /// Runs one call of the port, naming its operation, the bucket and the key when it fails.
    async fn context<T>(
        &self,
        operation: &'static str,
        key: Option<&str>,
        call: impl std::future::Future<Output = Result<T, RemoteFailure>>,
    ) -> Result<T, RemoteError> {
        call.await
            .map_err(|failure| RemoteError::on_bucket(failure, operation, &self.bucket, key))
    }
}

impl ObjectStore for S3Store {
    fn bucket(&self) -> &str {
        &self.bucket
    }

    async fn list_folders(&self, prefix: &str) -> Result<Vec<String>, RemoteError> {
        self.context("ListObjectsV2", None, async {
            let mut folders = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let page = super::send!(
                    self.list_request(prefix)
                        .delimiter("/")
                        .set_continuation_token(token.take())
                )?;
                let encoded = page.encoding_type() == Some(&EncodingType::Url);
                let listed = page.common_prefixes().iter().filter_map(|p| p.prefix());
                folders.extend(listed.map(|folder| listed_key(encoded, folder)));
                match (page.is_truncated(), page.next_continuation_token()) {
                    (Some(true), Some(next)) => token = Some(next.to_owned()),
                    _ => break,
                }
            }
            folders.sort();
            Ok(folders)
        })
        .await
    }

    async fn list_range(
        &self,
        prefix: &str,
        after: Option<&str>,
        through: Option<&str>,
    ) -> Result<RemoteListing, RemoteError> {
        self.context("ListObjectsV2", None, async {
            let mut listing = RemoteListing::default();
            let mut token: Option<String> = None;
            loop {
                let page = super::send!(
                    self.list_request(prefix)
                        // Only the first page: later ones continue from their token.
                        .set_start_after(after.filter(|_| token.is_none()).map(str::to_owned))
                        .set_continuation_token(token.take())
                )?;
                listing.pages += 1;
                // An S3-compatible store may ignore the encoding asked for: it says so.
                let encoded = page.encoding_type() == Some(&EncodingType::Url);
                let mut past_range = false;
                for obj in page.contents() {
                    let Some(key) = obj.key() else { continue };
                    let key = listed_key(encoded, key);
                    if through.is_some_and(|t| key.as_str() > t) {
                        past_range = true;
                        break;
                    }
                    listing.objects.push(RemoteObject {
                        key,
                        etag: obj.e_tag().map(strip_quotes).unwrap_or_default(),
                        size: obj.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
                        headers: None,
                    });
                }
                match (page.is_truncated(), page.next_continuation_token()) {
                    (Some(true), Some(next)) if !past_range => token = Some(next.to_owned()),
                    _ => break,
                }
            }
            listing.objects.sort_by(|a, b| a.key.cmp(&b.key));
            listing.chain = listing.pages;
            Ok(listing)
        })
        .await
    }

    async fn put_file(&self, mut put: PutFile) -> Result<WriteOutcome, RemoteError> {
        let key = put.key.clone();
        self.context("PutObject", Some(&key), async {
            match put.parts.take() {
                Some((part_size, md5s)) => self.put_multipart(put, part_size, md5s).await,
                None => self.put_single(put).await,
            }
        })
        .await
    }

    async fn update_headers(
        &self,
        key: &str,
        headers: &Headers,
    ) -> Result<WriteOutcome, RemoteError> {
        let copied = self.copy_onto(key, self.copy_source(key, None), Some(headers));
        self.context("CopyObject", Some(key), copied).await
    }

    async fn restore_version(
        &self,
        key: &str,
        version_id: &str,
    ) -> Result<WriteOutcome, RemoteError> {
        let copied = self.copy_onto(key, self.copy_source(key, Some(version_id)), None);
        self.context("CopyObject (restore)", Some(key), copied)
            .await
    }

    async fn copy_version(
        &self,
        key: &str,
        source: &str,
        version_id: Option<&str>,
    ) -> Result<WriteOutcome, RemoteError> {
        let copied = self.copy_onto(key, self.copy_source(source, version_id), None);
        self.context("CopyObject", Some(key), copied).await
    }

    async fn abort_open_uploads(&self) {
        let open: Vec<(String, String)> = self
            .open_uploads
            .lock()
            .map(|open| {
                open.iter()
                    .map(|(id, key)| (id.clone(), key.clone()))
                    .collect()
            })
            .unwrap_or_default();
        for (upload_id, key) in open {
            self.abort_upload(&key, &upload_id).await;
        }
    }

    async fn head(&self, key: &str) -> Result<Option<StoredHeaders>, RemoteError> {
        self.context("HeadObject", Some(key), async {
            match self
                .client
                .head_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
            {
                Ok(out) => Ok(Some(StoredHeaders {
                    content_type: out.content_type().unwrap_or_default().to_owned(),
                    cache_control: out.cache_control().unwrap_or_default().to_owned(),
                })),
                Err(SdkError::ServiceError(e)) if e.err().is_not_found() => Ok(None),
                Err(e) => Err(super::classify(&e)),
            }
        })
        .await
    }

    async fn get_bytes(&self, key: &str) -> Result<Vec<u8>, RemoteError> {
        self.context("GetObject", Some(key), async {
            let out = super::send!(self.client.get_object().bucket(&self.bucket).key(key))?;
            read_whole(out.body, out.content_length, key).await
        })
        .await
    }

    async fn get_object(
        &self,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<Option<StoredObject>, RemoteError> {
        self.context("GetObject", Some(key), async {
            let request = self
                .client
                .get_object()
                .bucket(&self.bucket)
                .key(key)
                .set_version_id(version_id.map(str::to_owned));
            let out = match request.send().await {
                Ok(out) => out,
                Err(SdkError::ServiceError(e)) if e.err().is_no_such_key() => return Ok(None),
                Err(SdkError::ServiceError(e)) if e.err().code() == Some("NoSuchVersion") => {
                    return Ok(None);
                }
                Err(e) => return Err(super::classify(&e)),
            };
            let headers = StoredHeaders {
                content_type: out.content_type().unwrap_or_default().to_owned(),
                cache_control: out.cache_control().unwrap_or_default().to_owned(),
            };
            let etag = out.e_tag().map(strip_quotes).unwrap_or_default();
            let body = read_whole(out.body, out.content_length, key).await?;
            Ok(Some(StoredObject {
                body,
                headers,
                etag,
            }))
        })
        .await
    }

    async fn put_bytes(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
        condition: Option<Condition>,
    ) -> Result<WriteOutcome, RemoteError> {
        self.context("PutObject", Some(key), async {
            let md5: [u8; 16] = md5::Md5::digest(&body).into();
            let request = self
                .client
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .content_length(i64_len(body.len() as u64))
                .content_md5(content_md5(&md5))
                .content_type(content_type)
                .cache_control("no-store")
                .body(ByteStream::from(body));
            let request = match condition {
                None => request,
                Some(Condition::Absent) => request.if_none_match("*"),
                Some(Condition::Matches(etag)) => request.if_match(format!("\"{etag}\"")),
            };
            let out = super::send!(request)?;
            Ok(outcome(out.version_id(), out.e_tag()))
        })
        .await
    }

    async fn get_with_etag(&self, key: &str) -> Result<Option<(Vec<u8>, String)>, RemoteError> {
        self.context("GetObject", Some(key), async {
            let out = match self
                .client
                .get_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
            {
                Ok(out) => out,
                Err(SdkError::ServiceError(e)) if e.err().is_no_such_key() => return Ok(None),
                Err(e) => return Err(super::classify(&e)),
            };
            let etag = out.e_tag().map(strip_quotes).unwrap_or_default();
            let bytes = read_whole(out.body, out.content_length, key).await?;
            Ok(Some((bytes, etag)))
        })
        .await
    }

    async fn delete_key(&self, key: &str) -> Result<(), RemoteError> {
        self.context("DeleteObject", Some(key), async {
            super::send!(self.client.delete_object().bucket(&self.bucket).key(key)).map(|_| ())
        })
        .await
    }

    async fn versions_range(
        &self,
        prefix: &str,
        after: Option<&str>,
        through: Option<&str>,
    ) -> Result<BTreeMap<String, Versions>, RemoteError> {
        self.context("ListObjectVersions", None, async {
            let mut versions = BTreeMap::new();
            // A key marker without a version marker starts after every version of that key.
            let (mut key_marker, mut version_marker) = (after.map(str::to_owned), None::<String>);
            loop {
                let page = super::send!(
                    self.client
                        .list_object_versions()
                        .bucket(&self.bucket)
                        .prefix(prefix)
                        // As for ListObjectsV2: a key with a control character lists back.
                        .encoding_type(EncodingType::Url)
                        .set_key_marker(key_marker.take())
                        .set_version_id_marker(version_marker.take())
                )?;
                // An S3-compatible store may ignore the encoding asked for: it says so.
                let encoded = page.encoding_type() == Some(&EncodingType::Url);
                let key_of = |raw: &str| {
                    if encoded {
                        decode_key(raw)
                    } else {
                        raw.to_owned()
                    }
                };
                let mut past_range = false;
                for v in page.versions() {
                    if let (Some(key), Some(id)) = (v.key().map(key_of), v.version_id()) {
                        // Keys come in order: past the range's upper key, the range is done.
                        if through.is_some_and(|t| key.as_str() > t) {
                            past_range = true;
                            break;
                        }
                        let entry: &mut Versions = versions.entry(key).or_default();
                        entry.all.insert(id.to_owned());
                        if v.is_latest() == Some(true) {
                            entry.current = Some(id.to_owned());
                        }
                    }
                }
                if past_range || page.is_truncated() != Some(true) {
                    break;
                }
                key_marker = page.next_key_marker().map(key_of);
                version_marker = page.next_version_id_marker().map(str::to_owned);
                if key_marker.is_none() {
                    break;
                }
            }
            Ok(versions)
        })
        .await
    }

    async fn delete_batch(&self, keys: Vec<String>) -> Result<Vec<RemoteError>, RemoteError> {
        // `DeleteObjects` takes its keys in an XML body, which cannot carry control
        // characters: such keys (left by another tool) are deleted one by one.
        let (keys, unsafe_keys): (Vec<String>, Vec<String>) = keys.into_iter().partition(|k| {
            !k.chars()
                .any(|c| c.is_control() || matches!(c, '\u{fffe}' | '\u{ffff}'))
        });
        let mut failed = Vec::new();
        for key in &unsafe_keys {
            if let Err(e) = self.delete_key(key).await {
                failed.push(e);
            }
        }
        if keys.is_empty() {
            return Ok(failed);
        }
        let first = keys.first().cloned();
        self.context("DeleteObjects", first.as_deref(), async {
            let objects = keys
                .iter()
                .map(|k| ObjectIdentifier::builder().key(k).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| RemoteFailure::Other {
                    message: e.to_string(),
                    retryable: false,
                })?;
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|e| RemoteFailure::Other {
                    message: e.to_string(),
                    retryable: false,
                })?;
            let out = super::send!(
                self.client
                    .delete_objects()
                    .bucket(&self.bucket)
                    .delete(delete)
            )?;
            Ok(out
                .errors()
                .iter()
                .map(|e| {
                    RemoteError::on_bucket(
                        RemoteFailure::Other {
                            message: format!(
                                "{}: {}",
                                e.code().unwrap_or_default(),
                                e.message().unwrap_or_default()
                            ),
                            retryable: false,
                        },
                        "DeleteObjects",
                        &self.bucket,
                        e.key(),
                    )
                })
                .chain(failed)
                .collect())
        })
        .await
    }
}
