//! What is in the bucket before a deploy writes: the listing of the site, the release records
//! and the live one, and the plan made from them. The deploy surveys once to decide whether it
//! needs the lock, and once more under it.

use crate::config::{DeployConfig, Site};
use crate::error::Result;
use crate::store::{ObjectStore, RemoteListing};
use crate::{github, plan, release, scan};

/// The release record keys of a site, oldest first. The listing of the site's prefix already
/// holds them when the state prefix lies under it (the default); otherwise the releases folder
/// is listed on its own.
pub async fn list_record_keys<S: ObjectStore>(
    store: &S,
    site_listing: &RemoteListing,
    site: &Site,
) -> Result<Vec<String>> {
    if site.state_prefix.starts_with(&site.prefix) {
        return Ok(release::record_keys(site_listing, &site.state_prefix));
    }
    let listing = store
        .list(&release::releases_prefix(&site.state_prefix))
        .await?;
    Ok(release::record_keys(&listing, &site.state_prefix))
}

/// Reads the release record at `key`, the one way every command reads one. A record that
/// cannot be parsed (written by hand, cut short, tampered with) is left out with a warning
/// naming it: None, as if it were not there; a failed read is an error.
pub async fn read_record<S: ObjectStore>(store: &S, key: &str) -> Result<Option<release::Release>> {
    let bytes = store.get_bytes(key).await?;
    match serde_json::from_slice::<release::Release>(&bytes) {
        Ok(record) => Ok(Some(record)),
        Err(e) => {
            github::warn(&format!(
                "ignoring release record `{key}`, which cannot be read: {e}"
            ));
            Ok(None)
        }
    }
}

/// Lists the bucket, reads the live release record and plans.
pub(crate) async fn survey<S: ObjectStore>(
    store: &S,
    config: &DeployConfig,
    tree: &scan::LocalTree,
) -> Result<(
    crate::store::RemoteListing,
    Option<release::Release>,
    plan::Plan,
)> {
    let listing = store.list(&config.site.prefix).await?;
    // The live release record, when there is one, makes change detection exact.
    let records = list_record_keys(store, &listing, &config.site).await?;
    let previous = match records.last() {
        Some(key) => read_record(store, key).await?,
        None => None,
    };
    let plan = plan::plan(
        tree,
        &listing,
        previous.as_ref(),
        &plan::PlanConfig {
            bucket: config.site.bucket.clone(),
            prefix: config.site.prefix.clone(),
            state_prefix: config.site.state_prefix.clone(),
            delete: config.delete,
            headers: config.headers.clone(),
            keep_assets: config.keep_assets,
        },
    );
    Ok((listing, previous, plan))
}
