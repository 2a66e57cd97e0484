//! The release record: what a deploy left in the bucket, key by key. The plan reads the last one
//! to recognise content it cannot tell from an ETag (SSE-KMS, foreign part sizes) and headers that
//! drifted; writing records, the lock and rollback build on this type.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A deploy's record, stored as `.shipfront/releases/<id>.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub id: String,
    /// Site objects by full key.
    pub objects: BTreeMap<String, ReleasedObject>,
}

/// One object as the release left it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleasedObject {
    pub version_id: Option<String>,
    pub size: u64,
    /// Hex MD5 of the whole content.
    pub content_md5: String,
    /// The ETag S3 reported after the write, without quotes.
    pub etag: String,
    pub content_type: String,
    pub cache_control: String,
}
