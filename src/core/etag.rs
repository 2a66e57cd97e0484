//! S3's ETag arithmetic: lower-case hex digests, and the ETag of an object uploaded in parts.
//! Pure, shared by the scan that computes it, the plan that compares it and the S3 adapter
//! that checks what it sent.

use md5::{Digest, Md5};

/// Lower-case hex of a digest.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The hashes of a file uploaded in parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartDigest {
    pub part_size: u64,
    pub part_md5s: Vec<[u8; 16]>,
}

impl MultipartDigest {
    /// S3's ETag for an object uploaded in these parts: `md5(md5(p1)..md5(pN))-N`.
    #[must_use]
    pub fn etag(&self) -> String {
        let mut h = Md5::new();
        for part in &self.part_md5s {
            h.update(part);
        }
        format!("{}-{}", hex(&h.finalize()), self.part_md5s.len())
    }
}
