//! What the in-memory tests start from: a build folder without disk, the settings the flags'
//! defaults make, and runtimes (time paused for leases), so each test says only what differs.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use md5::{Digest, Md5};

use crate::config::{DeployConfig, LockPolicy, Publish, RollbackConfig, Site};
use crate::core::invalidate::Invalidate;
use crate::core::object_headers::HeaderPolicy;
use crate::core::objects::{LocalFile, LocalTree, RemoteListing, RemoteObject};
use crate::core::release::{Release, ReleasedObject};

/// A file of the build at `rel` (its key too) holding `body`, hashed as the scan would (no file
/// on disk).
#[must_use]
pub(crate) fn local_file(rel: &str, body: &str) -> LocalFile {
    LocalFile {
        rel: rel.to_owned(),
        key: rel.to_owned(),
        path: PathBuf::from(rel),
        size: body.len() as u64,
        md5: Md5::digest(body.as_bytes()).into(),
        multipart: None,
    }
}

/// A local tree of `(path, body)` files (`local_file`).
#[must_use]
pub(crate) fn tree(files: &[(&str, &str)]) -> LocalTree {
    LocalTree {
        files: files
            .iter()
            .map(|(rel, body)| Arc::new(local_file(rel, body)))
            .collect(),
        warnings: Vec::new(),
        notes: Vec::new(),
    }
}

/// The site of bucket `b` at the bucket's root.
#[must_use]
pub(crate) fn site() -> Site {
    Site {
        bucket: "b".to_owned(),
        prefix: String::new(),
        state_prefix: crate::core::plan::STATE_DIR.to_owned(),
        aws: crate::store::AwsSettings::default(),
        atomic: false,
        key_value_store: None,
        preview_domain: None,
    }
}

/// A deploy's settings as the flags' defaults make them, with distribution `E1`.
#[must_use]
pub(crate) fn deploy_config() -> DeployConfig {
    DeployConfig {
        dir: PathBuf::from("dist"),
        site: site(),
        publish: publish(),
        delete: true,
        excludes: Vec::new(),
        part_size: 8 << 20,
        upload_precompressed: false,
        headers: HeaderPolicy::default(),
        spa: false,
        spa_fallback: "index.html".to_owned(),
        fix_spa: false,
        message: None,
        keep_assets: 0,
        keep_releases: crate::config::DEFAULT_KEEP_RELEASES,
        routing: None,
        response_headers: None,
        preview: None,
        verify: None,
    }
}

/// A rollback's settings as the flags' defaults make them, with distribution `E1`.
#[must_use]
pub(crate) fn rollback_config() -> RollbackConfig {
    RollbackConfig {
        site: site(),
        to: None,
        promote: None,
        publish: publish(),
    }
}

/// How deploy and rollback publish by the flags' defaults, with distribution `E1`, at most
/// 1,000 deletions and 15 invalidation paths, 4 writes at once and no progress.
#[must_use]
pub(crate) fn publish() -> Publish {
    Publish {
        distribution_id: Some("E1".to_owned()),
        dry_run: false,
        max_deletes: 1000,
        concurrency: 4,
        invalidate: Invalidate::Changed,
        max_invalidation_paths: 15,
        wait: false,
        lock: lock_policy(),
        force_routing: false,
        force_headers: false,
        json: false,
        progress: false,
    }
}

fn lock_policy() -> LockPolicy {
    LockPolicy {
        force: false,
        force_live: false,
        stale_after: Duration::from_secs(120),
    }
}

/// Runs a future to completion on a fresh single-threaded runtime, as `shipfront::run` does.
pub(crate) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(future)
}

/// Like `block_on`, with time paused: sleeps end at once, in order, as soon as nothing else
/// can run, so leases of minutes are tested in milliseconds.
pub(crate) fn block_on_paused<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a runtime")
        .block_on(future)
}

/// When a test's command started.
#[must_use]
pub(crate) fn now() -> Instant {
    Instant::now()
}

/// A recorded object of one byte, an HTML page with `etag` (as its MD5 too), `version` and
/// Cache-Control `cache`.
pub(crate) fn released(etag: &str, version: Option<&str>, cache: &str) -> ReleasedObject {
    ReleasedObject {
        version_id: version.map(str::to_owned),
        size: 1,
        content_md5: etag.into(),
        etag: etag.into(),
        content_type: "text/html; charset=utf-8".into(),
        cache_control: cache.into(),
    }
}

/// The record of release `id` holding `objects`.
pub(crate) fn release(id: &str, objects: &[(&str, ReleasedObject)]) -> Release {
    Release {
        id: id.into(),
        objects: objects
            .iter()
            .map(|(k, o)| ((*k).to_owned(), o.clone()))
            .collect(),
        ..Release::default()
    }
}

/// A listing of `objects`, `(key, ETag)` each of one byte, in one page.
pub(crate) fn listing(objects: &[(&str, &str)]) -> RemoteListing {
    RemoteListing {
        objects: objects
            .iter()
            .map(|(key, etag)| RemoteObject {
                key: (*key).into(),
                etag: (*etag).into(),
                size: 1,
                headers: None,
            })
            .collect(),
        pages: 1,
        chain: 1,
    }
}
