//! What is in the bucket before a deploy writes: the listing of the site, the release records
//! and the live one, and the plan made from them. The deploy surveys once to decide whether it
//! needs the lock, and once more under it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tokio::task::JoinSet;

use crate::config::{DeployConfig, Site};
use crate::core::error::{Error, Result};
use crate::core::objects::LocalTree;
use crate::core::objects::{RemoteListing, StoredHeaders};
use crate::store::ObjectStore;
use crate::{core::plan, core::release, run::github};

/// The release record keys of a site, oldest first. The listing of the site's prefix already
/// holds them when the state prefix lies under it (the default); otherwise the releases folder
/// is listed on its own.
pub(crate) async fn list_record_keys<S: ObjectStore>(
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

/// Where to split a listing, at most as many ranges as this run allows: every Nth of `keys`
/// (`objects::split_points`).
pub(crate) fn splits_at<'a>(keys: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    crate::core::objects::split_points(keys, crate::environment::current().list_ranges())
}

/// The release records of a site, from their own folder: their keys (oldest first), the newest
/// record (None when there is none or it cannot be read) and where its keys, which the bucket
/// mostly holds, split a listing of the site or of its versions.
pub(crate) struct Records {
    pub(crate) keys: Vec<String>,
    pub(crate) newest: Option<release::Release>,
    pub(crate) splits: Vec<String>,
}

/// Lists the records' folder and reads the newest record (`Records`).
pub(crate) async fn records<S: ObjectStore>(store: &S, state_prefix: &str) -> Result<Records> {
    let listing = store.list(&release::releases_prefix(state_prefix)).await?;
    let keys = release::record_keys(&listing, state_prefix);
    let newest = match keys.last() {
        Some(key) => read_record(store, key).await?,
        None => None,
    };
    let splits = splits_at(
        newest
            .iter()
            .flat_map(|r| r.objects.keys().map(String::as_str)),
    );
    Ok(Records {
        keys,
        newest,
        splits,
    })
}

/// The newest record that is not a preview's (previews leave `live` alone; a rollback and a
/// promote record a release of their own).
pub(crate) async fn live_record<S: ObjectStore>(
    store: &S,
    state_prefix: &str,
) -> Result<Option<release::Release>> {
    let records = records(store, state_prefix).await?;
    if records.newest.as_ref().is_some_and(|r| r.preview.is_none()) {
        return Ok(records.newest);
    }
    for key in records.keys.iter().rev().skip(1) {
        if let Some(record) = read_record(store, key).await?
            && record.preview.is_none()
        {
            return Ok(Some(record));
        }
    }
    Ok(None)
}

/// Lists `prefix` in the ranges `splits` divides it into (`objects::split_points`), all at
/// the same time, merged in key order: the same listing as one `list`, with the longest range's
/// pages as its critical path instead of all of them. One listing when there are no splits.
pub(crate) async fn list_split<S: ObjectStore>(
    store: &Arc<S>,
    prefix: &str,
    splits: &[String],
) -> Result<RemoteListing> {
    let listed = in_ranges(store, prefix, splits, |store, range| async move {
        store
            .list_range(&range.prefix, range.after(), range.through())
            .await
    });
    Ok(crate::core::objects::merged(listed.await?))
}

/// Lists the versions of the keys under `prefix` as `list_split` lists the keys: in the
/// ranges `splits` divides it into, all at the same time. The ranges hold disjoint keys, every
/// version of a key in one of them.
pub(crate) async fn versions_split<S: ObjectStore>(
    store: &Arc<S>,
    prefix: &str,
    splits: &[String],
) -> Result<BTreeMap<String, crate::core::objects::Versions>> {
    let ranges = in_ranges(store, prefix, splits, |store, range| async move {
        let versions = store.versions_range(&range.prefix, range.after(), range.through());
        versions.await
    });
    Ok(ranges.await?.into_iter().flatten().collect())
}

/// One range of a listing: the keys under `prefix` after `after` (from the prefix's start when
/// None) up to `through` (to its end when None).
struct KeyRange {
    prefix: String,
    after: Option<String>,
    through: Option<String>,
}

impl KeyRange {
    fn after(&self) -> Option<&str> {
        self.after.as_deref()
    }

    fn through(&self) -> Option<&str> {
        self.through.as_deref()
    }
}

/// Runs `list` on each range of `prefix` between the keys `splits` (the first from the
/// prefix's start, the last to its end) at the same time; the answers in key order.
async fn in_ranges<S, T, Listed>(
    store: &Arc<S>,
    prefix: &str,
    splits: &[String],
    list: impl Fn(Arc<S>, KeyRange) -> Listed,
) -> Result<Vec<T>>
where
    S: ObjectStore,
    T: Send + 'static,
    Listed: Future<Output = std::result::Result<T, crate::store::RemoteError>> + Send + 'static,
{
    let mut tasks = JoinSet::new();
    for i in 0..=splits.len() {
        let range = KeyRange {
            prefix: prefix.to_owned(),
            after: i.checked_sub(1).map(|j| splits[j].clone()),
            through: splits.get(i).cloned(),
        };
        let listed = list(Arc::clone(store), range);
        tasks.spawn(async move { (i, listed.await) });
    }
    let mut ranges: Vec<Option<T>> = (0..=splits.len()).map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        let (i, range) =
            joined.map_err(|e| Error::Internal(format!("a listing task failed: {e}")))?;
        ranges[i] = Some(range?);
    }
    Ok(ranges.into_iter().flatten().collect())
}

/// Reads the release record at `key`, the one way every command reads one. A record that
/// cannot be parsed (written by hand, cut short, tampered with) is left out with a warning
/// naming it: None, as if it were not there; a failed read is an error.
pub(crate) async fn read_record<S: ObjectStore>(
    store: &S,
    key: &str,
) -> Result<Option<release::Release>> {
    let bytes = store.get_bytes(key).await?;
    Ok(parse_record(key, &bytes))
}

/// The record of release `id`; None when there is none, or (with a warning) when it cannot
/// be read.
pub(crate) async fn record_by_id<S: ObjectStore>(
    store: &S,
    state_prefix: &str,
    id: &str,
) -> Result<Option<release::Release>> {
    let key = release::record_key(state_prefix, id);
    let found = store.get_with_etag(&key).await?;
    Ok(found.and_then(|(bytes, _)| parse_record(&key, &bytes)))
}

/// The record `key` holds (`bytes`); None, with a warning, when it cannot be read.
pub(crate) fn parse_record(key: &str, bytes: &[u8]) -> Option<release::Release> {
    match serde_json::from_slice::<release::Release>(bytes) {
        Ok(record) => Some(record),
        Err(e) => {
            github::warn(&format!(
                "ignoring release record `{key}`, which cannot be read: {e}"
            ));
            None
        }
    }
}

/// What a deploy found in the bucket: the listing of the site, the live release's record and
/// the plan made from them.
pub(crate) struct Survey {
    pub(crate) listing: RemoteListing,
    /// None when no release is recorded (or its record cannot be read).
    pub(crate) live: Option<release::Release>,
    pub(crate) plan: plan::Plan,
}

/// Lists the bucket, reads the live release record and plans. `known`: an earlier survey's
/// listing, whose stored headers are not read again for objects still the same.
pub(crate) async fn survey<S: ObjectStore>(
    store: &Arc<S>,
    config: &DeployConfig,
    tree: &LocalTree,
    known: Option<&RemoteListing>,
) -> Result<Survey> {
    let splits = splits_at(tree.files.iter().map(|f| f.key.as_str()));
    let listing = list_split(store, &config.site.prefix, &splits).await?;
    // The live release record, when there is one, makes change detection exact.
    let records = list_record_keys(&**store, &listing, &config.site).await?;
    let previous = match records.last() {
        Some(key) => read_record(&**store, key).await?,
        None => None,
    };
    let plan_config = plan::PlanConfig {
        bucket: config.site.bucket.clone(),
        prefix: config.site.prefix.clone(),
        state_prefix: config.site.state_prefix.clone(),
        delete: config.delete,
        headers: config.headers.clone(),
        keep_assets: config.keep_assets,
    };
    let mut listing = listing;
    let mut plan = plan::plan(tree, &listing, previous.as_ref(), &plan_config);
    // No record says how the unchanged objects are stored (another tool deployed them): read
    // their headers once, so the ones that differ from the rules are fixed in place.
    if previous.is_none() && plan.unchanged > 0 {
        learn_headers(store, &mut listing, &plan, tree, known).await?;
        plan = plan::plan(tree, &listing, None, &plan_config);
    }
    Ok(Survey {
        listing,
        live: previous,
        plan,
    })
}

/// HEADs at once at most this many objects.
const HEADS_IN_FLIGHT: usize = 32;

/// Fills in the stored headers of the objects `plan` leaves unchanged, one HEAD each.
async fn learn_headers<S: ObjectStore>(
    store: &Arc<S>,
    listing: &mut RemoteListing,
    plan: &plan::Plan,
    tree: &LocalTree,
    known: Option<&RemoteListing>,
) -> Result<()> {
    let acted: BTreeSet<&str> = plan.actions.iter().map(|a| a.key.as_str()).collect();
    let local: BTreeSet<&str> = tree.files.iter().map(|f| f.key.as_str()).collect();
    // Read before (the survey before the lock), with the same bytes since: not read again.
    let mut learned: BTreeMap<String, StoredHeaders> = known
        .into_iter()
        .flat_map(|k| &k.objects)
        .filter_map(|o| Some((o, o.headers.clone()?)))
        .filter(|(o, _)| {
            listing
                .objects
                .binary_search_by(|now| now.key.cmp(&o.key))
                .is_ok_and(|i| listing.objects[i].etag == o.etag)
        })
        .map(|(o, headers)| (o.key.clone(), headers))
        .collect();
    let already: BTreeSet<String> = learned.keys().cloned().collect();
    let mut keys = listing
        .objects
        .iter()
        .map(|o| o.key.clone())
        .filter(|k| local.contains(k.as_str()) && !acted.contains(k.as_str()))
        .filter(|k| !already.contains(k));
    let mut heads = JoinSet::new();
    loop {
        while heads.len() < HEADS_IN_FLIGHT {
            let Some(key) = keys.next() else { break };
            let store = Arc::clone(store);
            heads.spawn(async move {
                let headers = store.head(&key).await;
                (key, headers)
            });
        }
        let Some(done) = heads.join_next().await else {
            break;
        };
        let (key, headers) =
            done.map_err(|e| Error::Internal(format!("a HEAD task failed: {e}")))?;
        if let Some(headers) = headers? {
            learned.insert(key, headers);
        }
    }
    for object in &mut listing.objects {
        object.headers = learned.remove(&object.key);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::fixtures::block_on;
    use crate::store::memory::MemoryStore;

    /// 100,000 local keys; the bucket lacks some of them and holds keys the tree does not,
    /// before the first local key, between local keys and after the last.
    #[test]
    fn a_split_listing_is_the_sequential_one_with_a_short_critical_path() {
        let local: Vec<String> = (0..100_000).map(|i| format!("site/p{i:06}.html")).collect();
        let store = Arc::new(MemoryStore::new("b"));
        store.with_objects(|o| {
            for (i, key) in local.iter().enumerate() {
                if i % 97 != 0 {
                    o.put(key, b"x");
                }
            }
            for key in [
                "site/.shipfront/releases/1.json",
                "site/a-before-all.html",
                "site/p000500.5-between.html",
                "site/p050000~between.html",
                "site/zz-after-all.html",
                "elsewhere/outside-the-prefix.html",
            ] {
                o.put(key, b"y");
            }
        });
        let splits = crate::core::objects::split_points(
            local.iter().map(String::as_str),
            crate::core::objects::MAX_LIST_RANGES,
        );
        let split = block_on(list_split(&store, "site/", &splits)).expect("split listing");
        let whole = block_on(store.list("site/")).expect("one listing");
        let keys = |l: &RemoteListing| l.objects.iter().map(|o| o.key.clone()).collect::<Vec<_>>();
        assert_eq!(keys(&split), keys(&whole));
        assert!(keys(&split).contains(&"site/zz-after-all.html".to_owned()));
        assert!(!keys(&split).iter().any(|k| k.starts_with("elsewhere/")));
        assert_eq!(
            whole.chain, 99,
            "one range: each of its 99 pages waits for the one before"
        );
        assert!(split.chain <= 15, "critical path {} pages", split.chain);
        assert_eq!(
            store.count_calls("ListObjectsV2"),
            crate::core::objects::MAX_LIST_RANGES + 1,
            "16 ranges at once, then the one sequential listing"
        );
    }

    #[test]
    fn small_sites_list_in_one_range() {
        let store = Arc::new(MemoryStore::new("b"));
        store.with_objects(|o| {
            o.put("a.html", b"x");
        });
        let listing = block_on(list_split(&store, "", &[])).expect("listing");
        assert_eq!(
            (listing.objects.len(), listing.pages, listing.chain),
            (1, 1, 1)
        );
    }
}
