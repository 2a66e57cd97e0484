//! The narrow boundary between shipfront and the services it drives, in our own types. The
//! executor only knows these traits, so unit tests drive it with an in-memory store that fails on
//! demand, and only `src/aws/` knows the SDK.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;

use crate::error::Error;
use crate::headers::Headers;
use crate::spa::SpaSettings;

/// Where and as whom to reach AWS: our own copy of the `--region`, `--profile` and
/// `--endpoint-url` flags, so the adapter needs nothing from the command line's types.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsSettings {
    pub region: Option<String>,
    pub profile: Option<String>,
    /// An S3-compatible endpoint (MinIO, R2, an emulator).
    pub endpoint_url: Option<String>,
}

// The facts `shipfront doctor` reads, gathered by the adapter.

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
#[derive(Debug, Clone, Default)]
pub struct DistributionFacts {
    pub origins: Vec<OriginFacts>,
    /// `allow-all`, `redirect-to-https` or `https-only` of the default cache behavior.
    pub viewer_protocol_policy: String,
    pub spa: SpaSettings,
    pub aliases: Vec<String>,
    /// An ACM or IAM certificate is configured (needed for aliases).
    pub custom_certificate: bool,
}

/// An object as `ListObjectsV2` reports it: no per-object HEAD is ever needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteObject {
    pub key: String,
    /// Without quotes, as S3 computes it (an MD5 for single-part uploads without SSE-KMS).
    pub etag: String,
    pub size: u64,
}

/// Everything under the deploy's prefix, the state prefix left out.
#[derive(Debug, Clone, Default)]
pub struct RemoteListing {
    /// Sorted by key.
    pub objects: Vec<RemoteObject>,
    /// How many `ListObjectsV2` pages it took.
    pub pages: usize,
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

/// The versions S3 keeps of one key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Versions {
    pub all: std::collections::BTreeSet<String>,
    pub current: Option<String>,
}

/// A conditional write (S3 answers 412 PreconditionFailed when it does not hold).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// `If-None-Match: *`: only if the key does not exist.
    Absent,
    /// `If-Match: ETAG`: only if the key still holds this ETag.
    Matches(String),
}

/// A failed store call, classified so callers can tell the user what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
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

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::BucketMissing => f.write_str("the bucket does not exist"),
            StoreError::DistributionMissing => f.write_str("the distribution does not exist"),
            StoreError::PreconditionFailed => f.write_str("the object changed meanwhile"),
            StoreError::AccessDenied => f.write_str("access denied"),
            StoreError::NoCredentials(m) => write!(f, "no credentials: {m}"),
            StoreError::Other { message, .. } => f.write_str(message),
        }
    }
}

impl StoreError {
    /// The user-facing error for a failed S3 call: `operation` on `bucket` (and `key`).
    #[must_use]
    pub fn into_error(self, operation: &'static str, bucket: &str, key: Option<&str>) -> Error {
        match self {
            StoreError::BucketMissing => Error::BucketMissing {
                bucket: bucket.to_owned(),
            },
            StoreError::DistributionMissing
            | StoreError::PreconditionFailed
            | StoreError::Other { .. } => Error::Remote {
                operation,
                bucket: bucket.to_owned(),
                key: key.unwrap_or_default().to_owned(),
                message: self.to_string(),
            },
            StoreError::AccessDenied => Error::AccessDenied {
                operation,
                bucket: bucket.to_owned(),
                key: key.map(str::to_owned),
            },
            StoreError::NoCredentials(detail) => Error::NoCredentials { detail },
        }
    }

    /// The user-facing error for a failed CloudFront call on `distribution`.
    #[must_use]
    pub fn into_cdn_error(self, operation: &'static str, distribution: &str) -> Error {
        match self {
            StoreError::DistributionMissing => Error::DistributionMissing {
                distribution: distribution.to_owned(),
            },
            StoreError::NoCredentials(detail) => Error::NoCredentials { detail },
            other => Error::Cdn {
                operation,
                distribution: distribution.to_owned(),
                message: other.to_string(),
            },
        }
    }
}

/// The object store a deploy writes to: one bucket, keys already prefixed.
pub trait ObjectStore: Send + Sync + 'static {
    /// The bucket's name, for messages.
    fn bucket(&self) -> &str;

    /// Every object under `prefix` (one `ListObjectsV2` call per 1000 keys).
    fn list(&self, prefix: &str) -> impl Future<Output = Result<RemoteListing, StoreError>> + Send;

    /// Uploads a file, in parts when `parts` is set, with its integrity checksum.
    fn put_file(
        &self,
        put: PutFile,
    ) -> impl Future<Output = Result<WriteOutcome, StoreError>> + Send;

    /// Rewrites an object's headers in place (server-side copy onto itself), without re-upload.
    fn update_headers(
        &self,
        key: &str,
        headers: &Headers,
    ) -> impl Future<Output = Result<WriteOutcome, StoreError>> + Send;

    /// Copies version `version_id` of `key` back over `key`, its headers included (rollback).
    fn restore_version(
        &self,
        key: &str,
        version_id: &str,
    ) -> impl Future<Output = Result<WriteOutcome, StoreError>> + Send;

    /// The bytes of a small object (a release record).
    fn get_bytes(&self, key: &str) -> impl Future<Output = Result<Vec<u8>, StoreError>> + Send;

    /// Writes a small object (a release record) from memory.
    fn put_bytes(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
        condition: Option<Condition>,
    ) -> impl Future<Output = Result<WriteOutcome, StoreError>> + Send;

    /// The bytes and ETag of a small object; None when it does not exist.
    fn get_with_etag(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<(Vec<u8>, String)>, StoreError>> + Send;

    /// Deletes one key.
    fn delete_key(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every version of every key under `prefix` (`ListObjectVersions`, 1000 a page):
    /// key -> (version ids, the current one). Unversioned buckets give none.
    fn versions(
        &self,
        prefix: &str,
    ) -> impl Future<Output = Result<BTreeMap<String, Versions>, StoreError>> + Send;

    /// Deletes up to 1000 keys in one call (the `DeleteObjects` limit). Returns the keys that
    /// failed, with why.
    fn delete_batch(
        &self,
        keys: Vec<String>,
    ) -> impl Future<Output = Result<Vec<(String, String)>, StoreError>> + Send;
}

/// The CDN in front of the bucket: what a deploy needs from CloudFront.
pub trait Cdn: Send + Sync + 'static {
    /// The `OriginPath` of the distribution's origin for `bucket` (`""` when it has none, or
    /// when no origin names the bucket).
    fn origin_path(
        &self,
        distribution_id: &str,
        bucket: &str,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;

    /// Creates one invalidation; returns its id. `caller_reference` makes a retried call
    /// idempotent on CloudFront.
    fn invalidate(
        &self,
        distribution_id: &str,
        paths: &[String],
        caller_reference: &str,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;

    /// The settings the SPA guard checks.
    fn spa_settings(
        &self,
        distribution_id: &str,
    ) -> impl Future<Output = Result<SpaSettings, StoreError>> + Send;

    /// Fills the SPA gaps (`spa::repaired`) with a read-modify-write of the distribution's
    /// config guarded by its ETag, every other setting preserved.
    fn fix_spa(
        &self,
        distribution_id: &str,
        fallback: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The status CloudFront reports for an invalidation (`InProgress`, `Completed`).
    fn invalidation_status(
        &self,
        distribution_id: &str,
        invalidation_id: &str,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;
}
