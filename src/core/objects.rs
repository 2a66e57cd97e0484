//! What is on each side of a deploy: the files of the build folder as the scan found them, and
//! the objects of the bucket as a listing found them. Plain data: the scan and the adapter fill
//! it, the planner and the record builder read it, so the core needs neither.

use std::path::PathBuf;

use crate::core::etag::{MultipartDigest, hex};

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
    /// Shared with the plan's uploads, so a large tree is held once.
    pub files: Vec<std::sync::Arc<LocalFile>>,
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

/// An object read whole, with what a viewer is sent beside it (`shipfront serve --bucket`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub body: Vec<u8>,
    pub headers: StoredHeaders,
    /// The ETag S3 reports, without quotes.
    pub etag: String,
}

/// Everything under the deploy's prefix, the state prefix left out.
#[derive(Debug, Clone, Default)]
pub struct RemoteListing {
    /// Sorted by key.
    pub objects: Vec<RemoteObject>,
    /// How many `ListObjectsV2` pages it took.
    pub pages: usize,
    /// The longest run of pages that each had to wait for the one before (its continuation
    /// token): the listing's critical path in round trips. `pages` when listed in one range.
    pub chain: usize,
}

impl RemoteListing {
    /// Each listed key's ETag.
    #[must_use]
    pub fn etags(&self) -> std::collections::BTreeMap<&str, &str> {
        self.objects
            .iter()
            .map(|o| (o.key.as_str(), o.etag.as_str()))
            .collect()
    }
}

/// Keys one `ListObjectsV2` page holds at most.
pub const LIST_PAGE: usize = 1000;
/// Ranges of a listing asked for at once, at most.
pub const MAX_LIST_RANGES: usize = 16;

/// Where to split the listing of a prefix into ranges listed at once: every Nth of the local
/// keys, which the bucket mostly mirrors, so the ranges come out about even, each within one
/// page while there are few enough of them. A range runs from
/// one split key (excluded) to the next (included); the first from the prefix's start, the last
/// to its end, so keys the local tree lacks are listed too. None for two pages or fewer: one
/// listing is as fast. At most `max_ranges` ranges (`MAX_LIST_RANGES` unless a benchmark asks
/// for fewer; 1 lists in one range).
#[must_use]
pub fn split_points<'a>(
    local_keys: impl IntoIterator<Item = &'a str>,
    max_ranges: usize,
) -> Vec<String> {
    let mut keys: Vec<&str> = local_keys.into_iter().collect();
    if keys.len() <= 2 * LIST_PAGE || max_ranges < 2 {
        return Vec::new();
    }
    keys.sort_unstable();
    keys.dedup();
    // A tenth of a page to spare for keys the bucket holds and the tree does not (records,
    // stale files): a range that fits one page costs one request, with no page past it.
    let ranges = keys.len().div_ceil(LIST_PAGE * 9 / 10).min(max_ranges);
    let per_range = keys.len().div_ceil(ranges);
    keys.iter()
        .skip(per_range - 1)
        .step_by(per_range)
        .take(ranges - 1)
        .map(|k| (*k).to_owned())
        .collect()
}

/// The listings of consecutive ranges as one: objects in key order, pages summed, the chain the
/// longest range's (they were listed at the same time).
#[must_use]
pub fn merged(ranges: Vec<RemoteListing>) -> RemoteListing {
    let mut out = RemoteListing::default();
    out.objects
        .reserve_exact(ranges.iter().map(|r| r.objects.len()).sum());
    for range in ranges {
        out.pages += range.pages;
        out.chain = out.chain.max(range.chain);
        out.objects.extend(range.objects);
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("site/{i:06}.html")).collect()
    }

    #[test]
    fn listings_split_only_past_two_pages_into_even_ranges() {
        let cases = [
            // (local keys, ranges)
            (0, 1),
            (1_000, 1),
            (2_000, 1),
            (2_001, 3),
            (10_000, 12),
            (100_000, MAX_LIST_RANGES),
            (1_000_000, MAX_LIST_RANGES),
        ];
        for (n, ranges) in cases {
            let local = keys(n);
            let splits = split_points(local.iter().map(String::as_str), MAX_LIST_RANGES);
            assert_eq!(splits.len() + 1, ranges, "{n} keys");
            assert!(splits.windows(2).all(|w| w[0] < w[1]), "{n}: sorted");
            // Each range holds about as many of the local keys: the longest at most one page
            // of keys more than the shortest.
            let mut bounds: Vec<usize> = splits
                .iter()
                .map(|s| local.partition_point(|k| k <= s))
                .collect();
            bounds.insert(0, 0);
            bounds.push(n);
            let sizes: Vec<usize> = bounds.windows(2).map(|w| w[1] - w[0]).collect();
            let (min, max) = (sizes.iter().min(), sizes.iter().max());
            assert!(max.unwrap() - min.unwrap() <= LIST_PAGE, "{n}: {sizes:?}");
        }
        // Unsorted input with duplicates splits as sorted.
        let mut shuffled = keys(3_000);
        shuffled.reverse();
        shuffled.push(shuffled[0].clone());
        assert_eq!(
            split_points(shuffled.iter().map(String::as_str), MAX_LIST_RANGES),
            split_points(keys(3_000).iter().map(String::as_str), MAX_LIST_RANGES)
        );
        // Fewer ranges when asked (a benchmark comparing with one listing).
        let local = keys(100_000);
        let at_most = |max| split_points(local.iter().map(String::as_str), max).len() + 1;
        assert_eq!((at_most(0), at_most(1), at_most(4)), (1, 1, 4));
    }

    #[test]
    fn merged_ranges_keep_order_and_count_the_longest_chain() {
        let range = |names: &[&str], pages| {
            let objects: Vec<(&str, &str)> = names.iter().map(|k| (*k, "")).collect();
            RemoteListing {
                pages,
                chain: pages,
                ..crate::run::fixtures::listing(&objects)
            }
        };
        let all = merged(vec![range(&["a", "b"], 2), range(&[], 1), range(&["c"], 5)]);
        let names: Vec<&str> = all.objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!((all.pages, all.chain), (8, 5));
    }
}
