//! The in-memory world the command tests run in: a versioned bucket and a distribution in
//! memory, two releases of a small site, and the calls that deploy and roll back through the
//! ports, so each test of `deploy`, `rollback` and `apply` says only what it checks.

use std::sync::Arc;

use crate::commands::deploy::deploy;
use crate::commands::rollback::rollback;
use crate::config::{DeployConfig, RollbackConfig};
use crate::core::error::Result;
use crate::core::objects::LocalTree;
use crate::core::release::Release;
use crate::core::report::Outcome;
use crate::core::response_headers::HeadersPolicy;
use crate::run::fixtures::{block_on, deploy_config, now, tree};
use crate::store::memory::{MemoryCdn, MemoryStore};

/// The lock of a site at the bucket's root.
pub(crate) const LOCK: &str = ".shipfront/lock";

/// An empty versioned bucket `b` and a distribution `E1` in memory.
pub(crate) fn fresh() -> (Arc<MemoryStore>, Arc<MemoryCdn>) {
    (
        Arc::new(MemoryStore::new("b")),
        Arc::new(MemoryCdn::default()),
    )
}

/// The first release of a small site: a root page, a page, a script and a style sheet.
pub(crate) fn v1() -> LocalTree {
    tree(&[
        ("index.html", "home 1"),
        ("about.html", "about 1"),
        ("app.js", "app 1"),
        ("old.css", "old"),
    ])
}

/// The second: the root page and the script changed, one style sheet replaced by another.
pub(crate) fn v2() -> LocalTree {
    tree(&[
        ("index.html", "home 2"),
        ("about.html", "about 1"),
        ("app.js", "app 2"),
        ("new.css", "new"),
    ])
}

/// An in-memory bucket and distribution (`fresh`) after a deploy of `site`.
pub(crate) fn deployed(site: &LocalTree) -> (Arc<MemoryStore>, Arc<MemoryCdn>) {
    let (store, cdn) = fresh();
    run_deploy(&store, &cdn, site);
    (store, cdn)
}

/// Deploys `site` with the default settings; panics if it fails.
pub(crate) fn run_deploy(
    store: &Arc<MemoryStore>,
    cdn: &Arc<MemoryCdn>,
    site: &LocalTree,
) -> Outcome {
    deploy_with(store, cdn, &deploy_config(), site).expect("deploy")
}

/// Every site key's current ETag, the state prefix left out.
pub(crate) fn current_etags(store: &MemoryStore) -> Vec<(String, String)> {
    store.with_objects(|o| {
        o.keys
            .keys()
            .filter(|k| !k.starts_with(".shipfront/"))
            .filter_map(|k| Some((k.clone(), o.current(k)?.etag.clone())))
            .collect()
    })
}

/// The calls of a log that write (neither a listing nor a read).
pub(crate) fn writes(calls: &[String]) -> Vec<&String> {
    calls
        .iter()
        .filter(|c| !c.starts_with("ListObject") && !c.starts_with("GetObject"))
        .collect()
}

/// Rolls back with `config`.
pub(crate) fn run_rollback(
    store: &Arc<MemoryStore>,
    cdn: &Arc<MemoryCdn>,
    config: &RollbackConfig,
) -> Result<Outcome> {
    let cdn = Some(Arc::clone(cdn));
    block_on(rollback(Arc::clone(store), cdn, config, now()))
}

/// The live release record, as the bucket holds it.
pub(crate) fn live_record(store: &MemoryStore) -> Release {
    store.with_objects(|o| {
        let key = o
            .keys
            .keys()
            .rfind(|k| k.starts_with(".shipfront/releases/") && o.current(k).is_some())
            .cloned()
            .expect("a record");
        serde_json::from_slice(&o.current(&key).unwrap().body).unwrap()
    })
}

/// `config` with `--routing` for a multi-page site.
pub(crate) fn routed(mut config: DeployConfig) -> DeployConfig {
    config.routing = Some(crate::core::routing::RoutingConfig {
        mode: crate::core::routing::Mode::Pages,
        trailing_slash: crate::core::routing::TrailingSlash::AsBuilt,
        redirects: Vec::new(),
        hidden: None,
        preview_domain: None,
    });
    config
}

/// Deploys `site` with `config`.
pub(crate) fn deploy_with(
    store: &Arc<MemoryStore>,
    cdn: &Arc<MemoryCdn>,
    config: &DeployConfig,
    site: &LocalTree,
) -> Result<Outcome> {
    let cdn = Some(Arc::clone(cdn));
    block_on(deploy(Arc::clone(store), cdn, config, site, now()))
}

/// The routing function shipfront writes for distribution `E1`.
pub(crate) const FUNCTION: &str = "shipfront-E1";

/// `config` with `[headers]` set to `entries`.
pub(crate) fn with_headers(mut config: DeployConfig, entries: &[(&str, &str)]) -> DeployConfig {
    config.response_headers = Some(
        entries
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    );
    config
}

/// The response headers policy attached to the distribution, if any.
pub(crate) fn attached(cdn: &MemoryCdn) -> Option<HeadersPolicy> {
    let id = crate::store::memory::lock(&cdn.attached_policy).clone()?;
    crate::store::memory::lock(&cdn.headers_policies)
        .get(&id)
        .cloned()
}
