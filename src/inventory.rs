//! What is on each side of a deploy: the files of the build folder as the scan found them, and
//! the objects of the bucket as a listing found them. Plain data: the scan and the adapter fill
//! it, the planner and the record builder read it, so the core needs neither.

use std::path::PathBuf;

use crate::etag::{MultipartDigest, hex};

/// One file to deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalFile {
    /// Path relative to the folder, `/`-separated: what `[[rules]]` globs match.
    pub rel: String,
    /// The S3 key: prefix + `rel`.
    pub key: String,
    /// Where to read it from.
    pub path: PathBuf,
    pub size: u64,
    /// MD5 of the whole file: the ETag of a single-part upload, and its `Content-MD5`.
    pub md5: [u8; 16],
    /// For files of at least `part_size`: the MD5 of each part and the resulting multipart ETag.
    pub multipart: Option<MultipartDigest>,
}

impl LocalFile {
    /// The ETag S3 reports when this file was uploaded as shipfront uploads it.
    #[must_use]
    pub fn expected_etag(&self) -> String {
        match &self.multipart {
            Some(m) => m.etag(),
            None => hex(&self.md5),
        }
    }
}

/// The scanned folder, sorted by key.
#[derive(Debug, Clone, Default)]
pub struct LocalTree {
    pub files: Vec<LocalFile>,
    /// Things skipped that the user may want to know about (symlinked folders).
    pub warnings: Vec<String>,
    /// One line per kind of file left out as build-folder noise (see `LeftOut`).
    pub notes: Vec<String>,
}

impl LocalTree {
    #[must_use]
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

/// An object as `ListObjectsV2` reports it: a deploy needs no per-object HEAD, except once,
/// on a bucket no release record describes (`headers`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteObject {
    pub key: String,
    /// Without quotes, as S3 computes it (an MD5 for single-part uploads without SSE-KMS).
    pub etag: String,
    pub size: u64,
    /// The headers it was stored with, read with a HEAD when no release record says them (a
    /// bucket deployed by another tool until now); None otherwise.
    pub headers: Option<StoredHeaders>,
}

/// The headers an object was stored with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredHeaders {
    pub content_type: String,
    pub cache_control: String,
}

/// Everything under the deploy's prefix, the state prefix left out.
#[derive(Debug, Clone, Default)]
pub struct RemoteListing {
    /// Sorted by key.
    pub objects: Vec<RemoteObject>,
    /// How many `ListObjectsV2` pages it took.
    pub pages: usize,
}

/// Key -> the current version id, of every versioned key in `versions` (none when the bucket is
/// unversioned).
#[must_use]
pub fn current_of(
    versions: &std::collections::BTreeMap<String, Versions>,
) -> std::collections::BTreeMap<String, String> {
    versions
        .iter()
        .filter_map(|(key, v)| Some((key.clone(), v.current.clone()?)))
        .collect()
}

/// The versions S3 keeps of one key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Versions {
    pub all: std::collections::BTreeSet<String>,
    pub current: Option<String>,
}
