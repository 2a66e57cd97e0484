//! What applying a plan did: every write with the version and ETag the store returned, every
//! delete, the counts and the time. Plain data: the executor fills it, the release record is
//! built from it, the report prints it.

use std::time::Duration;

use serde::Serialize;

use crate::core::plan::Reason;

/// One write that happened: the seam releases and invalidation build on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WriteRecord {
    pub key: String,
    pub reason: Reason,
    /// The object version this write created (None on unversioned buckets and for deletes on
    /// them).
    pub version_id: Option<String>,
    pub etag: Option<String>,
}

/// What a finished (or stopped) execution did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExecReport {
    pub uploaded: usize,
    pub uploaded_bytes: u64,
    pub headers_updated: usize,
    /// Recorded versions copied back (rollback).
    pub restored: usize,
    /// Files an atomic release copied from the one before, server-side.
    pub copied: usize,
    pub deleted: usize,
    /// Every upload and header update, in the order they completed within their phase.
    pub writes: Vec<WriteRecord>,
    /// Every key deleted.
    pub deleted_keys: Vec<String>,
    #[serde(serialize_with = "seconds")]
    pub elapsed: Duration,
}

fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}
