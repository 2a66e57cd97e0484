//! Atomic releases through the ports: a deploy writes its release beside the live one (the
//! pool's new files, the release's own prefix) and only then switches the KeyValueStore
//! pointer; a rollback switches it back. Until the switch, nothing a visitor sees changed, so a
//! deploy killed at any moment leaves the live release as it was.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use crate::config::{DeployConfig, Site};
use crate::core::atomic::{self, AtomicPlan, LIVE_KEY, Pointer};
use crate::core::error::{Error, Result};
use crate::core::exec_report::ExecReport;
use crate::core::objects::{LocalTree, RemoteListing};
use crate::core::plan::PlanConfig;
use crate::core::release::{self, AtomicRecord, Release, ReleasedObject};
use crate::run::{apply, execute, progress, survey, switch};
use crate::store::{KeyValueStore, ObjectStore};

/// The folder of an atomic site's releases, under its prefix.
pub(crate) const RELEASES_DIR: &str = "_releases/";

/// What an atomic deploy or rollback did.
#[derive(Debug)]
pub(crate) struct AtomicOutcome {
    /// The release now live (the new one, or the rollback's target).
    pub(crate) release: String,
    /// The plan of the writes (empty for a rollback).
    pub(crate) plan: crate::core::plan::Plan,
    /// What the writes did; None in a dry run.
    pub(crate) result: Option<ExecReport>,
    /// The switch; None in a dry run.
    pub(crate) switched: Option<switch::Switched>,
}

/// What the KeyValueStore says is live: the pointer's value as stored (None: nothing yet) and
/// the pointer it holds.
async fn live_pointer<K: KeyValueStore>(kvs: &K) -> Result<Option<(String, Pointer)>> {
    let (value, _) = kvs.get(LIVE_KEY).await?;
    let Some(value) = value else {
        return Ok(None);
    };
    match serde_json::from_str::<Pointer>(&value) {
        Ok(pointer) => Ok(Some((value, pointer))),
        Err(e) => Err(Error::Usage(format!(
            "the `{LIVE_KEY}` key of KeyValueStore `{}` holds `{value}`, which is no release \
             pointer shipfront wrote ({e}); fix or delete it",
            kvs.name()
        ))),
    }
}

/// The id of the release a deploy of `tree` makes after `previous`: its time, salted with the
/// build's files and their bytes, known before any write (its keys carry it).
fn release_id(now: SystemTime, previous: Option<&str>, tree: &LocalTree) -> String {
    let salt: Vec<String> = tree
        .files
        .iter()
        .map(|f| format!("{} {}", f.rel, crate::core::etag::hex(&f.md5)))
        .collect();
    release::new_id(now, previous, &salt.join("\n"))
}

/// Deploys `tree` as a new atomic release of `config.site`, then switches `live` to it.
///
/// # Errors
/// A failed write (nothing switched: the live release is untouched), a switch that raced
/// another (`SwitchRaced`), the lock held by another run.
pub(crate) async fn deploy<S: ObjectStore, K: KeyValueStore>(
    store: &Arc<S>,
    kvs: &K,
    config: &DeployConfig,
    tree: &LocalTree,
    now: SystemTime,
) -> Result<AtomicOutcome> {
    let site = &config.site;
    let live = live_pointer(kvs).await?;
    let previous = match &live {
        Some((_, pointer)) => read(store, site, &pointer.release).await?,
        None => None,
    };
    let listing = store.list(&site.prefix).await?;
    let id = release_id(now, live.as_ref().map(|(_, p)| p.release.as_str()), tree);
    let plan_config = PlanConfig {
        bucket: site.bucket.clone(),
        prefix: site.prefix.clone(),
        state_prefix: site.state_prefix.clone(),
        delete: false,
        headers: config.headers.clone(),
        keep_assets: config.keep_assets,
    };
    let releases = atomic::Release {
        id: &id,
        releases_dir: RELEASES_DIR,
    };
    let planned = atomic::plan(tree, &listing, previous.as_ref(), &plan_config, &releases);
    if config.publish.dry_run {
        return Ok(AtomicOutcome {
            release: id,
            plan: planned.plan,
            result: None,
            switched: None,
        });
    }
    let expected = live.map(|(value, _)| value);
    let policy = Some(config.publish.lock);
    apply::under_lock(store, site, "deploy", policy, async |fence| {
        let run = execute::Run {
            command: "deploy",
            concurrency: execute::within_open_files(config.publish.concurrency),
            progress: progress::for_stderr(config.publish.progress && !planned.plan.is_empty()),
            fence: fence.clone(),
        };
        let writes =
            execute::execute_around_deletes(Arc::clone(store), &planned.plan, run, async {
                Ok(())
            });
        let result = writes.await.map_err(|stopped| stopped.error)?;
        fence.check()?;
        let exceptions = planned.exception_keys();
        let switched =
            switch::switch(kvs, &planned.pointer, &exceptions, expected.as_deref()).await?;
        let record = record_of(&planned, &result, &listing, (&id, now), config);
        fence.check()?;
        apply::write_record(&**store, &site.state_prefix, &record).await?;
        Ok(AtomicOutcome {
            release: id.clone(),
            plan: planned.plan.clone(),
            result: Some(result),
            switched: Some(switched),
        })
    })
    .await
}

/// The record of release `id` after `planned` ran (`result`): every key of the release, in
/// the pool or its prefix, with the version it has (written now, else as listed), and what
/// makes it live.
fn record_of(
    planned: &AtomicPlan,
    result: &ExecReport,
    listing: &RemoteListing,
    (id, now): (&str, SystemTime),
    config: &DeployConfig,
) -> Release {
    let written: BTreeMap<&str, &crate::core::exec_report::WriteRecord> =
        result.writes.iter().map(|w| (w.key.as_str(), w)).collect();
    let listed: BTreeMap<&str, &crate::core::objects::RemoteObject> = listing
        .objects
        .iter()
        .map(|o| (o.key.as_str(), o))
        .collect();
    let mut objects = BTreeMap::new();
    let releases = atomic::Release {
        id,
        releases_dir: RELEASES_DIR,
    };
    for action in &planned.plan.actions {
        let Some(w) = written.get(action.key.as_str()) else {
            continue;
        };
        let rel = key_rel(&action.key, &config.site.prefix, &releases);
        let headers = config.headers.headers_for(rel, &planned.plan.evidence);
        objects.insert(
            action.key.clone(),
            released(w.version_id.clone(), w.etag.clone(), action.size, &headers),
        );
    }
    // Pool files left alone: as listed (their versions do not matter: they never change).
    for rel in &planned.placement.pool {
        let key = format!("{}{rel}", config.site.prefix);
        if let (false, Some(o)) = (objects.contains_key(&key), listed.get(key.as_str())) {
            let headers = config.headers.headers_for(rel, &planned.plan.evidence);
            let entry = released(None, Some(o.etag.clone()), o.size, &headers);
            objects.insert(key, entry);
        }
    }
    Release {
        id: id.to_owned(),
        time: apply::record_time(now),
        message: config.message.clone(),
        shipfront: env!("CARGO_PKG_VERSION").to_owned(),
        changed: result.writes.len(),
        bytes: result.uploaded_bytes,
        objects,
        atomic: Some(AtomicRecord {
            pointer: planned.pointer.value(),
            exception_keys: planned.exception_keys(),
        }),
        ..Release::default()
    }
}

/// The file of the build a key of the release holds.
fn key_rel<'k>(key: &'k str, prefix: &str, releases: &atomic::Release<'_>) -> &'k str {
    let rel = key.strip_prefix(prefix).unwrap_or(key);
    rel.strip_prefix(releases.releases_dir)
        .and_then(|r| r.strip_prefix(releases.id))
        .and_then(|r| r.strip_prefix('/'))
        .unwrap_or(rel)
}

/// A recorded object: its version and ETag, size, and the headers it was written with.
fn released(
    version_id: Option<String>,
    etag: Option<String>,
    size: u64,
    headers: &crate::core::object_headers::Headers,
) -> ReleasedObject {
    let etag = etag.unwrap_or_default();
    ReleasedObject {
        version_id,
        size,
        content_md5: etag.clone(),
        etag,
        content_type: headers.content_type.as_str().into(),
        cache_control: headers.cache_control.as_str().into(),
    }
}

/// The record of release `id`, when there is one that reads.
async fn read<S: ObjectStore>(store: &Arc<S>, site: &Site, id: &str) -> Result<Option<Release>> {
    let key = release::record_key(&site.state_prefix, id);
    let found = store.get_with_etag(&key).await?;
    Ok(found.and_then(|(bytes, _)| survey::parse_record(&key, &bytes)))
}

/// Switches `live` back to release `to` (default: the one before the live one), after
/// checking that every object it needs is still there: one pointer write, no object write.
///
/// # Errors
/// No such release, or one whose objects are gone (exit 2, before any write); a switch that
/// raced another.
pub(crate) async fn rollback<S: ObjectStore, K: KeyValueStore>(
    store: &Arc<S>,
    kvs: &K,
    site: &Site,
    to: Option<&str>,
    lock: crate::config::LockPolicy,
) -> Result<AtomicOutcome> {
    let Some((live_value, live)) = live_pointer(kvs).await? else {
        return Err(Error::Usage(format!(
            "nothing is live in KeyValueStore `{}` yet: deploy first",
            kvs.name()
        )));
    };
    let target = choose(store, site, to, &live.release).await?;
    let Some(atomic) = target.atomic.clone() else {
        return Err(Error::Usage(format!(
            "release `{}` was not an atomic release: it has no pointer to switch back to",
            target.id
        )));
    };
    check_objects_kept(store, site, &target).await?;
    let pointer: Pointer = serde_json::from_str(&atomic.pointer).map_err(|e| {
        Error::Usage(format!(
            "release `{}` records no pointer shipfront wrote ({e})",
            target.id
        ))
    })?;
    apply::under_lock(store, site, "rollback", Some(lock), async |fence| {
        fence.check()?;
        let switched = switch::switch(kvs, &pointer, &[], Some(&live_value)).await?;
        Ok(AtomicOutcome {
            release: target.id.clone(),
            plan: crate::core::atomic::empty_plan(&site.bucket, &site.prefix),
            result: None,
            switched: Some(switched),
        })
    })
    .await
}

/// The release a rollback switches to: `to`, else the newest recorded one older than `live`.
async fn choose<S: ObjectStore>(
    store: &Arc<S>,
    site: &Site,
    to: Option<&str>,
    live: &str,
) -> Result<Release> {
    let records = survey::records(&**store, &site.state_prefix).await?;
    let ids: Vec<&str> = records
        .keys
        .iter()
        .filter_map(|key| release::record_id(&site.state_prefix, key))
        .collect();
    let id = match to {
        Some(to) => ids.iter().find(|id| **id == to).copied(),
        None => ids.iter().rev().find(|id| **id < live).copied(),
    };
    let Some(id) = id else {
        return Err(Error::Usage(match to {
            Some(to) => format!("no release `{to}` is recorded (`shipfront releases` lists them)"),
            None => format!("no release is recorded before the live one (`{live}`)"),
        }));
    };
    read(store, site, id)
        .await?
        .ok_or_else(|| Error::Usage(format!("the record of release `{id}` cannot be read")))
}

/// Refuses a target whose objects are not all in the bucket any more (pruned, deleted).
async fn check_objects_kept<S: ObjectStore>(
    store: &Arc<S>,
    site: &Site,
    target: &Release,
) -> Result<()> {
    let listing = store.list(&site.prefix).await?;
    let present: std::collections::BTreeSet<&str> =
        listing.objects.iter().map(|o| o.key.as_str()).collect();
    let missing: Vec<&String> = target
        .objects
        .keys()
        .filter(|key| !present.contains(key.as_str()))
        .collect();
    match missing.first() {
        None => Ok(()),
        Some(first) => Err(Error::Usage(format!(
            "release `{}` needs {} object(s) the bucket no longer holds (first: `{first}`); \
             nothing was switched. Roll back to a newer release (`shipfront releases`)",
            target.id,
            missing.len()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::fixtures::{block_on, deploy_config, tree};
    use crate::store::memory::{MemoryKvs, MemoryStore};
    use md5::Digest;

    fn v1() -> LocalTree {
        tree(&[
            ("index.html", "home 1"),
            ("about/index.html", "about"),
            ("logo.png", "logo"),
            ("assets/app-BbXQDiXP.js", "app 1"),
            ("assets/vendor-Cwq-3PKq.js", "vendor"),
        ])
    }

    fn v2() -> LocalTree {
        tree(&[
            ("index.html", "home 2"),
            ("about/index.html", "about"),
            ("logo.png", "logo"),
            ("assets/app-DkQx9_2a.js", "app 2"),
            ("assets/vendor-Cwq-3PKq.js", "vendor"),
        ])
    }

    fn deployed(
        store: &Arc<MemoryStore>,
        kvs: &MemoryKvs,
        build: &LocalTree,
    ) -> Result<AtomicOutcome> {
        block_on(deploy(
            store,
            kvs,
            &deploy_config(),
            build,
            SystemTime::now(),
        ))
    }

    fn live(kvs: &MemoryKvs) -> Pointer {
        let value = crate::store::memory::lock(&kvs.keys).get(LIVE_KEY).cloned();
        serde_json::from_str(&value.expect("a live pointer")).expect("a pointer")
    }

    #[test]
    fn a_deploy_writes_its_release_then_switches_the_pointer_to_it() {
        let (store, kvs) = (Arc::new(MemoryStore::new("b")), MemoryKvs::default());
        let first = deployed(&store, &kvs, &v1()).expect("v1");
        assert_eq!(live(&kvs).release, first.release);
        assert_eq!(live(&kvs).pool_folders, ["/assets/"]);
        assert_eq!(first.plan.actions.len(), 5);
        assert_eq!(first.result.as_ref().map(|r| r.uploaded), Some(5));
        assert_eq!(
            first.switched.as_ref().map(|s| s.writes),
            Some(1),
            "the pointer"
        );
        let in_release = |rel: &str| format!("_releases/{}/{rel}", first.release);
        for key in [in_release("index.html"), in_release("logo.png")] {
            assert!(store.with_objects(|o| o.current(&key).is_some()), "{key}");
        }
        assert!(store.with_objects(|o| o.current("assets/app-BbXQDiXP.js").is_some()));
        let in_place = store.with_objects(|o| o.current("index.html").is_some());
        assert!(!in_place, "nothing in place");
        let record = block_on(read(&store, &deploy_config().site, &first.release))
            .expect("read")
            .expect("recorded");
        assert_eq!(record.objects.len(), 5);
        assert_eq!(record.atomic.map(|a| a.pointer), Some(live(&kvs).value()));
    }

    #[test]
    fn the_next_release_copies_what_did_not_change_and_keeps_the_one_before() {
        let (store, kvs) = (Arc::new(MemoryStore::new("b")), MemoryKvs::default());
        let first = deployed(&store, &kvs, &v1()).expect("v1");
        let before = store.calls().len();
        let second = deployed(&store, &kvs, &v2()).expect("v2");
        let writes: Vec<String> = store.calls()[before..]
            .iter()
            .filter(|c| {
                !c.contains(".shipfront/")
                    && (c.starts_with("PutObject") || c.starts_with("CopyObject"))
            })
            .cloned()
            .collect();
        let id = &second.release;
        assert_eq!(
            writes,
            [
                format!("CopyObject _releases/{id}/about/index.html"),
                format!("CopyObject _releases/{id}/logo.png"),
                "PutObject assets/app-DkQx9_2a.js".to_owned(),
                format!("PutObject _releases/{id}/index.html"),
            ]
        );
        assert_eq!(live(&kvs).release, *id);
        let old = format!("_releases/{}/index.html", first.release);
        let md5 = store.with_objects(|o| o.current(&old).map(|v| v.content_md5.clone()));
        let home_1 = crate::core::etag::hex(&md5::Md5::digest(b"home 1"));
        assert_eq!(md5, Some(home_1), "the release before is kept");
    }

    /// A rollback is one pointer write: no object is written.
    #[test]
    fn a_rollback_switches_the_pointer_back_and_writes_no_object() {
        let (store, kvs) = (Arc::new(MemoryStore::new("b")), MemoryKvs::default());
        let first = deployed(&store, &kvs, &v1()).expect("v1");
        deployed(&store, &kvs, &v2()).expect("v2");
        let (objects, switches) = (store.calls().len(), kvs.calls().len());
        let config = deploy_config();
        let back = block_on(rollback(
            &store,
            &kvs,
            &config.site,
            None,
            config.publish.lock,
        ))
        .expect("rolled back");
        assert_eq!(back.release, first.release);
        assert!(back.plan.actions.is_empty() && back.result.is_none());
        assert_eq!(live(&kvs).release, first.release);
        let calls = store.calls();
        let written: Vec<&String> = calls[objects..]
            .iter()
            .filter(|c| c.starts_with("PutObject") || c.starts_with("CopyObject"))
            .filter(|c| !c.ends_with(".shipfront/lock"))
            .collect();
        assert!(written.is_empty(), "{written:?}");
        let updates = kvs.calls()[switches..]
            .iter()
            .filter(|c| c.starts_with("UpdateKeys"))
            .count();
        assert_eq!(updates, 1, "{:?}", kvs.calls());
    }

    /// Killed (a write failed) before the switch: the live release is untouched.
    #[test]
    fn a_deploy_that_fails_before_the_switch_leaves_the_live_release() {
        let (store, kvs) = (Arc::new(MemoryStore::new("b")), MemoryKvs::default());
        let first = deployed(&store, &kvs, &v1()).expect("v1");
        store.fail_key("PutObject", "assets/app-DkQx9_2a.js");
        let updates = kvs.calls().len();
        deployed(&store, &kvs, &v2()).unwrap_err();
        assert_eq!(live(&kvs).release, first.release);
        assert_eq!(
            kvs.calls().len(),
            updates + 1,
            "read, never written: {:?}",
            kvs.calls()
        );
    }

    /// Another deploy switched meanwhile: this one's switch is refused, theirs stands.
    #[test]
    fn a_concurrent_switch_is_detected_by_the_deploy() {
        let (store, kvs) = (Arc::new(MemoryStore::new("b")), MemoryKvs::default());
        deployed(&store, &kvs, &v1()).expect("v1");
        let theirs = Pointer {
            release: "20991231T000000.000Z-ffffff".into(),
            pool_folders: Vec::new(),
        };
        let value = theirs.value();
        kvs.before_update(2, move |kvs| kvs.put_now(LIVE_KEY, &value));
        let err = deployed(&store, &kvs, &v2()).unwrap_err();
        assert!(matches!(err, Error::SwitchRaced { .. }), "{err}");
        assert_eq!(live(&kvs), theirs);
    }
}
