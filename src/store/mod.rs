//! The narrow boundary between shipfront and the services it drives, in our own types. The
//! executor only knows these traits, so unit tests drive it with an in-memory store that fails on
//! demand, and only `src/aws/` knows the SDK.

#[cfg(test)]
pub mod memory;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;

use crate::core::error::Error;
use crate::core::object_headers::Headers;
use crate::core::objects::{RemoteListing, StoredHeaders, StoredObject, Versions};
use crate::core::response_headers::HeadersPolicy;
use crate::core::response_headers::ResponseHeaders;
use crate::core::spa::SpaSettings;

/// Where and as whom to reach AWS: our own copy of the `--region`, `--profile` and
/// `--endpoint-url` flags, so the adapter needs nothing from the command line's types.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsSettings {
    pub region: Option<String>,
    pub profile: Option<String>,
    /// An S3-compatible endpoint (MinIO, R2, an emulator).
    pub endpoint_url: Option<String>,
}

/// A file upload: its bytes are streamed from `path` and checked by S3 against `md5` (and
/// `part_md5s` for multipart), so a file changed after the scan is rejected, not stored wrong.
#[derive(Debug, Clone)]
pub struct PutFile {
    pub key: String,
    pub path: PathBuf,
    pub size: u64,
    pub md5: [u8; 16],
    /// Set for multipart uploads: the part size and each part's MD5.
    pub parts: Option<(u64, Vec<[u8; 16]>)>,
    pub headers: Headers,
}

/// What S3 said about a write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteOutcome {
    /// The new object version (None when the bucket is not versioned).
    pub version_id: Option<String>,
    pub etag: Option<String>,
}

/// A conditional write (S3 answers 412 PreconditionFailed when it does not hold).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// `If-None-Match: *`: only if the key does not exist.
    Absent,
    /// `If-Match: ETAG`: only if the key still holds this ETag.
    Matches(String),
}

/// What went wrong in a call to S3 or CloudFront, classified so callers can tell the user what
/// to do (the adapter's half of a `RemoteError`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteFailure {
    BucketMissing,
    /// The CloudFront distribution does not exist.
    DistributionMissing,
    /// A conditional write's condition did not hold.
    PreconditionFailed,
    AccessDenied,
    NoCredentials(String),
    /// Anything else; `retryable` when another attempt may succeed (throttling, 5xx, network).
    Other {
        message: String,
        retryable: bool,
    },
}

impl std::fmt::Display for RemoteFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RemoteFailure::BucketMissing => f.write_str("the bucket does not exist"),
            RemoteFailure::DistributionMissing => f.write_str("the distribution does not exist"),
            RemoteFailure::PreconditionFailed => f.write_str("the object changed meanwhile"),
            RemoteFailure::AccessDenied => f.write_str("access denied"),
            RemoteFailure::NoCredentials(m) => write!(f, "no credentials: {m}"),
            RemoteFailure::Other { message, .. } => f.write_str(message),
        }
    }
}

/// The text of a service's error answer: its code, status and message, saying so when the
/// answer carried none (an emulator or a proxy may answer a bare status).
#[must_use]
pub fn answer_text(code: &str, status: u16, message: &str) -> String {
    match (code.trim(), message.trim()) {
        ("", "") => format!("HTTP {status}, an answer with no error code or message"),
        (code, "") => format!("{code} (HTTP {status}), no message"),
        ("", message) => format!("HTTP {status}: {message}"),
        (code, message) => format!("{code} (HTTP {status}): {message}"),
    }
}

/// The operation `Cdn::put_function` is: CloudFront's CreateFunction, or, given the ETag of the
/// function it replaces, UpdateFunction. Both adapters name it so.
#[must_use]
pub fn put_function_operation(etag: Option<&str>) -> &'static str {
    if etag.is_some() {
        "UpdateFunction"
    } else {
        "CreateFunction"
    }
}

/// What a failed call was made on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// An S3 bucket, and the key when the call named one.
    Bucket { bucket: String, key: Option<String> },
    /// A CloudFront distribution.
    Distribution(String),
    /// A CloudFront Function.
    Function(String),
    /// A CloudFront response headers policy, by name.
    HeadersPolicy(String),
    /// A CloudFront KeyValueStore, by name or ARN.
    KeyValueStore(String),
}

/// A failed call to a port, with the operation and the bucket, key or distribution it was made
/// on: the adapter fills them in, so callers only use `?` (`From<RemoteError> for Error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteError {
    pub failure: RemoteFailure,
    /// The service's name for the call (`PutObject`, `CreateInvalidation`).
    pub operation: &'static str,
    pub on: Resource,
}

impl RemoteError {
    /// A failed call on `bucket` (and `key`).
    #[must_use]
    pub fn on_bucket(
        failure: RemoteFailure,
        operation: &'static str,
        bucket: &str,
        key: Option<&str>,
    ) -> Self {
        RemoteError {
            failure,
            operation,
            on: Resource::Bucket {
                bucket: bucket.to_owned(),
                key: key.map(str::to_owned),
            },
        }
    }

    /// A failed call on the distribution `id`.
    #[must_use]
    pub fn on_distribution(failure: RemoteFailure, operation: &'static str, id: &str) -> Self {
        RemoteError {
            failure,
            operation,
            on: Resource::Distribution(id.to_owned()),
        }
    }

    /// The key the call was made on, if any.
    #[must_use]
    pub fn key(&self) -> Option<&str> {
        match &self.on {
            Resource::Bucket { key, .. } => key.as_deref(),
            Resource::Distribution(_)
            | Resource::Function(_)
            | Resource::HeadersPolicy(_)
            | Resource::KeyValueStore(_) => None,
        }
    }

    /// A failed call on the CloudFront Function `name`.
    #[must_use]
    pub fn on_function(failure: RemoteFailure, operation: &'static str, name: &str) -> Self {
        RemoteError {
            failure,
            operation,
            on: Resource::Function(name.to_owned()),
        }
    }

    /// A failed call on the KeyValueStore `name`.
    #[must_use]
    pub fn on_key_value_store(failure: RemoteFailure, operation: &'static str, name: &str) -> Self {
        RemoteError {
            failure,
            operation,
            on: Resource::KeyValueStore(name.to_owned()),
        }
    }

    /// A failed call on the response headers policy `name`.
    #[must_use]
    pub fn on_headers_policy(failure: RemoteFailure, operation: &'static str, name: &str) -> Self {
        RemoteError {
            failure,
            operation,
            on: Resource::HeadersPolicy(name.to_owned()),
        }
    }

    /// Whether a conditional write found its condition false.
    #[must_use]
    pub fn is_precondition_failed(&self) -> bool {
        self.failure == RemoteFailure::PreconditionFailed
    }

    /// Whether another attempt may succeed.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.failure,
            RemoteFailure::Other {
                retryable: true,
                ..
            }
        )
    }
}

impl std::fmt::Display for RemoteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.failure.fmt(f)
    }
}

impl From<RemoteError> for Error {
    fn from(e: RemoteError) -> Self {
        let RemoteError {
            failure,
            operation,
            on,
        } = e;
        match (failure, on) {
            (RemoteFailure::NoCredentials(detail), _) => Error::NoCredentials { detail },
            (RemoteFailure::BucketMissing, Resource::Bucket { bucket, .. }) => {
                Error::BucketMissing { bucket }
            }
            (RemoteFailure::AccessDenied, Resource::Bucket { bucket, key }) => {
                Error::AccessDenied {
                    operation,
                    bucket,
                    key,
                }
            }
            (failure, Resource::Bucket { bucket, key }) => Error::Remote {
                operation,
                bucket,
                key: key.unwrap_or_default(),
                message: failure.to_string(),
            },
            (RemoteFailure::DistributionMissing, Resource::Distribution(distribution)) => {
                Error::DistributionMissing { distribution }
            }
            (failure, Resource::Distribution(distribution)) => Error::Cdn {
                operation,
                distribution,
                message: failure.to_string(),
            },
            (failure, Resource::Function(name)) => Error::CdnResource {
                operation,
                kind: "CloudFront Function",
                name,
                message: failure.to_string(),
            },
            (failure, Resource::HeadersPolicy(name)) => Error::CdnResource {
                operation,
                kind: "response headers policy",
                name,
                message: failure.to_string(),
            },
            (failure, Resource::KeyValueStore(name)) => Error::CdnResource {
                operation,
                kind: "KeyValueStore",
                name,
                message: failure.to_string(),
            },
        }
    }
}

/// The object store a deploy writes to: one bucket, keys already prefixed.
pub trait ObjectStore: Send + Sync + 'static {
    /// The bucket's name, for messages.
    fn bucket(&self) -> &str;

    /// Every object under `prefix` (one `ListObjectsV2` call per 1000 keys).
    fn list(
        &self,
        prefix: &str,
    ) -> impl Future<Output = Result<RemoteListing, RemoteError>> + Send {
        self.list_range(prefix, None, None)
    }

    /// The objects under `prefix` whose keys sort after `after` and up to `through` (both
    /// bounds open when None), one page after another: a range of a listing asked for at the
    /// same time as the others (`objects::split_points`).
    fn list_range(
        &self,
        prefix: &str,
        after: Option<&str>,
        through: Option<&str>,
    ) -> impl Future<Output = Result<RemoteListing, RemoteError>> + Send;

    /// The folders directly under `prefix` (each a key prefix ending in `/`, `prefix`
    /// included): `ListObjectsV2` with the delimiter `/`, its common prefixes only.
    fn list_folders(
        &self,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<String>, RemoteError>> + Send;

    /// Uploads a file, in parts when `parts` is set, with its integrity checksum.
    fn put_file(
        &self,
        put: PutFile,
    ) -> impl Future<Output = Result<WriteOutcome, RemoteError>> + Send;

    /// Rewrites an object's headers in place (server-side copy onto itself), without re-upload.
    fn update_headers(
        &self,
        key: &str,
        headers: &Headers,
    ) -> impl Future<Output = Result<WriteOutcome, RemoteError>> + Send;

    /// Copies version `version_id` of `key` back over `key`, its headers included (rollback).
    fn restore_version(
        &self,
        key: &str,
        version_id: &str,
    ) -> impl Future<Output = Result<WriteOutcome, RemoteError>> + Send;

    /// Copies `source` (its version `version_id`, else its current one) onto `key`, its
    /// headers included: how an atomic release gets the files it shares with the one before.
    fn copy_version(
        &self,
        key: &str,
        source: &str,
        version_id: Option<&str>,
    ) -> impl Future<Output = Result<WriteOutcome, RemoteError>> + Send;

    /// The headers `key` is stored with; None when it does not exist (`HeadObject`).
    fn head(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<StoredHeaders>, RemoteError>> + Send;

    /// The bytes of a small object (a release record).
    fn get_bytes(&self, key: &str) -> impl Future<Output = Result<Vec<u8>, RemoteError>> + Send;

    /// `key` read whole with its headers and ETag: its version `version_id`, else its current
    /// one; None when it (or that version) does not exist.
    fn get_object(
        &self,
        key: &str,
        version_id: Option<&str>,
    ) -> impl Future<Output = Result<Option<StoredObject>, RemoteError>> + Send;

    /// Writes a small object (a release record) from memory.
    fn put_bytes(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
        condition: Option<Condition>,
    ) -> impl Future<Output = Result<WriteOutcome, RemoteError>> + Send;

    /// The bytes and ETag of a small object; None when it does not exist.
    fn get_with_etag(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<(Vec<u8>, String)>, RemoteError>> + Send;

    /// Deletes one key.
    fn delete_key(&self, key: &str) -> impl Future<Output = Result<(), RemoteError>> + Send;

    /// Every version of every key under `prefix` (`ListObjectVersions`, 1000 a page):
    /// key -> (version ids, the current one). Unversioned buckets give none.
    fn versions(
        &self,
        prefix: &str,
    ) -> impl Future<Output = Result<BTreeMap<String, Versions>, RemoteError>> + Send {
        self.versions_range(prefix, None, None)
    }

    /// The versions of the keys under `prefix` that sort after `after` and up to `through`
    /// (both open when None), one page after another: a range asked for at the same time as
    /// the others, as `list_range` is.
    fn versions_range(
        &self,
        prefix: &str,
        after: Option<&str>,
        through: Option<&str>,
    ) -> impl Future<Output = Result<BTreeMap<String, Versions>, RemoteError>> + Send;

    /// Aborts the multipart uploads this store started and did not finish (a run interrupted
    /// mid-upload), so no parts are left to pay for.
    fn abort_open_uploads(&self) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// Deletes up to 1000 keys in one call (the `DeleteObjects` limit). Returns an error for
    /// each key that failed, naming it.
    fn delete_batch(
        &self,
        keys: Vec<String>,
    ) -> impl Future<Output = Result<Vec<RemoteError>, RemoteError>> + Send;
}

/// What visitors get: a GET through the CDN, redirects followed, the body uncompressed.
pub trait Visitor: Send + Sync {
    /// What `url` answers; Err: why nothing answered (no connection, a timeout).
    fn visit(
        &self,
        url: &str,
    ) -> impl Future<Output = Result<crate::core::verify::Answer, String>> + Send;
}

/// A viewer-request function that did not run: it threw, or answered what CloudFront would
/// refuse (a 502 there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionFailed(pub String);

impl std::fmt::Display for FunctionFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The viewer-request function as CloudFront runs it, in an engine: what `shipfront serve`
/// puts in front of every request.
pub trait ViewerFunction: Send + Sync + 'static {
    /// The function's answer to `request`.
    ///
    /// # Errors
    /// The function threw, or answered neither a request nor a response.
    fn run(
        &self,
        request: &crate::core::viewer::ViewerRequest,
    ) -> Result<crate::core::viewer::ViewerAnswer, FunctionFailed>;
}

/// A KeyValueStore as the control plane describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvsFacts {
    pub arn: String,
    /// `READY` once it can be written and associated; `PROVISIONING` before.
    pub status: String,
}

impl KvsFacts {
    /// Whether the store can be written and associated yet.
    #[must_use]
    pub fn ready(&self) -> bool {
        self.status == "READY"
    }
}

/// The most keys one `UpdateKeys` call writes or deletes.
pub const KVS_BATCH: usize = 50;

/// A CloudFront KeyValueStore's data plane: what an atomic site's pointer lives in. Every
/// write is conditional on the store's ETag, so two writers never overwrite each other
/// unseen.
pub trait KeyValueStore: Send + Sync + 'static {
    /// The store's name, for messages.
    fn name(&self) -> &str;

    /// The value of `key` (None: absent) and the store's ETag (`DescribeKeyValueStore`,
    /// `GetKey`).
    fn get(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<(Option<String>, String), RemoteError>> + Send;

    /// Puts `puts` and deletes `deletes` (at most `KVS_BATCH` in all) in one call, if the
    /// store's ETag is still `if_match` (else `PreconditionFailed`): its new ETag
    /// (`UpdateKeys`).
    fn update(
        &self,
        puts: Vec<(String, String)>,
        deletes: Vec<String>,
        if_match: &str,
    ) -> impl Future<Output = Result<String, RemoteError>> + Send;
}

/// The CDN in front of the bucket: what a deploy needs from CloudFront.
pub trait Cdn: Send + Sync + 'static {
    /// The `OriginPath` of the distribution's origin for `bucket` (`""` when it has none, or
    /// when no origin names the bucket).
    fn origin_path(
        &self,
        distribution_id: &str,
        bucket: &str,
    ) -> impl Future<Output = Result<String, RemoteError>> + Send;

    /// Creates one invalidation; returns its id. `caller_reference` makes a retried call
    /// idempotent on CloudFront.
    fn invalidate(
        &self,
        distribution_id: &str,
        paths: &[String],
        caller_reference: &str,
    ) -> impl Future<Output = Result<String, RemoteError>> + Send;

    /// The distribution's alternate names (`www.example.com`, `*.preview.example.com`).
    fn aliases(
        &self,
        distribution_id: &str,
    ) -> impl Future<Output = Result<Vec<String>, RemoteError>> + Send {
        let _ = distribution_id;
        async { Ok(Vec::new()) }
    }

    /// The settings the SPA guard checks.
    fn spa_settings(
        &self,
        distribution_id: &str,
    ) -> impl Future<Output = Result<SpaSettings, RemoteError>> + Send;

    /// Fills the SPA gaps (`spa::repaired`) with a read-modify-write of the distribution's
    /// config guarded by its ETag, every other setting preserved.
    fn fix_spa(
        &self,
        distribution_id: &str,
        fallback: &str,
    ) -> impl Future<Output = Result<(), RemoteError>> + Send;

    /// A CloudFront Function's code at its development stage (or, with `live`, its published
    /// one) and the ETag a change must quote; None when there is no such function.
    fn function_code(
        &self,
        name: &str,
        live: bool,
    ) -> impl Future<Output = Result<Option<(String, String)>, RemoteError>> + Send;

    /// Creates the function (`etag` None) or updates its development code (`If-Match: etag`),
    /// as a `cloudfront-js-2.0` function associated with the KeyValueStore `key_value_store`
    /// (an ARN; None: with none); returns the new ETag.
    fn put_function(
        &self,
        name: &str,
        code: &str,
        etag: Option<&str>,
        key_value_store: Option<&str>,
    ) -> impl Future<Output = Result<String, RemoteError>> + Send;

    /// The ARN of the KeyValueStore the function's live stage is associated with; None when
    /// none, or no such function (`DescribeFunction`).
    fn function_key_value_store(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<String>, RemoteError>> + Send;

    /// Publishes the development code live; returns the function's ARN.
    fn publish_function(
        &self,
        name: &str,
        etag: &str,
    ) -> impl Future<Output = Result<String, RemoteError>> + Send;

    /// The ARN of the function the default cache behavior runs on viewer requests, if any.
    fn viewer_request_function(
        &self,
        distribution_id: &str,
    ) -> impl Future<Output = Result<Option<String>, RemoteError>> + Send;

    /// Makes `arn` the default cache behavior's viewer-request function: a read-modify-write of
    /// the distribution's config guarded by its ETag, every other setting kept.
    fn set_viewer_request_function(
        &self,
        distribution_id: &str,
        arn: &str,
    ) -> impl Future<Output = Result<(), RemoteError>> + Send;

    /// The response headers policy the default cache behavior has, if any.
    fn response_headers_policy(
        &self,
        distribution_id: &str,
    ) -> impl Future<Output = Result<Option<HeadersPolicy>, RemoteError>> + Send;

    /// Creates the response headers policy `name`, or updates it (found by name, under its
    /// ETag) to add exactly `headers`, each overriding the origin's; returns its id.
    fn put_response_headers_policy(
        &self,
        name: &str,
        headers: &ResponseHeaders,
    ) -> impl Future<Output = Result<String, RemoteError>> + Send;

    /// Makes policy `id` the default cache behavior's response headers policy: a
    /// read-modify-write of the distribution's config guarded by its ETag, every other setting
    /// kept.
    fn set_response_headers_policy(
        &self,
        distribution_id: &str,
        id: &str,
    ) -> impl Future<Output = Result<(), RemoteError>> + Send;

    /// The status CloudFront reports for an invalidation (`InProgress`, `Completed`).
    fn invalidation_status(
        &self,
        distribution_id: &str,
        invalidation_id: &str,
    ) -> impl Future<Output = Result<String, RemoteError>> + Send;

    /// The KeyValueStore `name`: its ARN and status; None when there is none
    /// (`DescribeKeyValueStore`).
    fn key_value_store(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<KvsFacts>, RemoteError>> + Send;

    /// Creates the KeyValueStore `name`; its ARN (`CreateKeyValueStore`).
    fn create_key_value_store(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<String, RemoteError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_answer_reads_whole_even_without_a_body() {
        let cases = [
            (
                "SlowDown",
                503,
                "Reduce your request rate.",
                "SlowDown (HTTP 503): Reduce your request rate.",
            ),
            (
                "",
                200,
                "",
                "HTTP 200, an answer with no error code or message",
            ),
            (
                "",
                503,
                " ",
                "HTTP 503, an answer with no error code or message",
            ),
            (
                "InternalError",
                500,
                "",
                "InternalError (HTTP 500), no message",
            ),
            ("", 400, "bad", "HTTP 400: bad"),
        ];
        for (code, status, message, want) in cases {
            assert_eq!(answer_text(code, status, message), want);
        }
    }
}
