//! A file that changes between the scan and its upload is rejected, never stored wrong: every
//! write carries the scan's Content-MD5.

use std::sync::Arc;

use aws_config::SdkConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use shipfront::core::object_headers::HeaderPolicy;
use shipfront::core::objects::RemoteListing;
use shipfront::core::plan::{PlanConfig, plan};
use shipfront::run::execute::{NoProgress, execute};
use shipfront::run::scan::{ScanOptions, scan};

use crate::harness::{Proxy, Site, World, block_on};

/// The SDK's settings for the emulator at `endpoint`, as the tests that drive the adapters use.
pub(crate) fn sdk(endpoint: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing", "testing", None, None, "tests",
        )))
        .build()
}

/// Scans `site`, lets `change` edit it, then executes the plan made from the scan.
fn deploy_with_change_after_scan(
    world: &World,
    endpoint: &str,
    site: &Site,
) -> shipfront::core::error::Error {
    let tree = scan(
        site.path(),
        &ScanOptions {
            prefix: String::new(),
            excludes: vec![],
            part_size: 16 << 20,
            upload_precompressed: false,
        },
    )
    .unwrap();
    let p = plan(
        &tree,
        &RemoteListing::default(),
        None,
        &PlanConfig {
            bucket: world.bucket.clone(),
            prefix: String::new(),
            state_prefix: shipfront::core::plan::STATE_DIR.into(),
            delete: true,
            headers: HeaderPolicy::default(),
            keep_assets: 1,
        },
    );
    // Same size, other bytes: only a checksum can tell.
    site.file("app.js", "console.log('TWO')");
    let store = Arc::new(shipfront::aws::S3Store::new(
        &sdk(endpoint),
        &world.bucket,
        true,
    ));
    block_on(execute(store, &p, 4, Arc::new(NoProgress))).unwrap_err()
}

#[test]
fn file_changed_after_scan_is_rejected_by_its_content_md5() {
    let world = World::new("changed-file");
    let site = Site::new();
    site.file("index.html", "<h1>x</h1>")
        .file("app.js", "console.log('one')");
    // The proxy checks Content-MD5 against the body as S3 does (the emulator does not).
    let proxy = Proxy::start(&[]);
    let err = deploy_with_change_after_scan(&world, &proxy.endpoint, &site);
    let msg = err.to_string();
    assert!(
        msg.contains("assets phase") && msg.contains("`app.js`"),
        "{msg}"
    );
    assert!(msg.contains("BadDigest"), "{msg}");
    assert_eq!(proxy.stats().get("bad_digest"), Some(&1));
    assert!(
        world.objects().is_empty(),
        "neither the file nor the page that needs it is stored"
    );
}

#[test]
fn file_changed_after_scan_fails_the_deploy_even_where_content_md5_is_ignored() {
    // The emulator ignores Content-MD5; the ETag check behind it still fails the deploy, and
    // the page that references the file is never published.
    let world = World::new("changed-file-etag");
    let site = Site::new();
    site.file("index.html", "<h1>x</h1>")
        .file("app.js", "console.log('one')");
    let err = deploy_with_change_after_scan(&world, &world.endpoint.clone(), &site);
    assert!(
        err.to_string().contains("the file changed while uploading"),
        "{err}"
    );
    assert!(!world.objects().contains_key("index.html"));
}
