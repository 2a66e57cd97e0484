//! `shipfront rollback`: puts back the object versions an earlier release recorded, in the
//! deploy's phases (assets, pages, the root page, deletions), so the site is consistent at every
//! moment, then invalidates what changed and records the rollback as a release of its own
//! (rolling forward is another rollback).

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use crate::config::RollbackConfig;
use crate::core::error::{Error, Result};
use crate::core::exec_report::ExecReport;
use crate::core::plan::{Op, Plan};
use crate::core::release::{self, Release};
use crate::core::report::{Command, Outcome};
use crate::core::{new_release, plan};
use crate::run::apply::{self, Recorder};
use crate::run::edge::{Edge, EdgeWork};
use crate::run::{atomic, survey};
use crate::store::{Cdn, KeyValueStore, ObjectStore};

/// Runs `shipfront rollback`.
pub(crate) async fn run(config: RollbackConfig) -> Result<()> {
    let started = Instant::now();
    let outcome = if config.site.atomic {
        let (store, cdn, open) = super::connect_atomic(&config.site, &config.publish).await?;
        Box::pin(rollback_atomic(store, cdn, open, &config, started)).await?
    } else {
        let (store, cdn) = super::connect(&config.site, &config.publish).await?;
        rollback(store, cdn, &config, started).await?
    };
    apply::print(&outcome, config.publish.json)
}

/// Rolls an atomic site back (`--atomic`): one switch of its KeyValueStore pointer to a release
/// whose objects are all still there, then its routing function and headers where they differ.
pub(crate) async fn rollback_atomic<S: ObjectStore, C: Cdn, K: KeyValueStore>(
    store: Arc<S>,
    cdn: Option<C>,
    open: impl FnOnce(&str) -> K,
    config: &RollbackConfig,
    started: Instant,
) -> Result<Outcome> {
    let (site, publish) = (&config.site, &config.publish);
    let edge = Edge::reach(cdn, publish.distribution_id.as_ref(), &site.bucket).await?;
    let Some(edge) = edge else {
        return Err(Error::Usage(
            "--atomic switches releases at CloudFront: pass --distribution-id ID too".to_owned(),
        ));
    };
    let name = site.key_value_store_name(&edge.distribution);
    let facts = atomic::existing_store(&edge.cdn, &name).await?;
    let kvs = open(&facts.arn);
    let to = match &config.promote {
        Some(name) => Some(atomic::preview_release(&kvs, name).await?),
        None => config.to.clone(),
    };
    let mut target = atomic::rollback_target(&store, &kvs, site, to.as_deref()).await?;
    target.promoted.clone_from(&config.promote);
    let hidden_now = crate::core::routing::hidden_path(&site.state_prefix, &edge.origin_path);
    let mut work = EdgeWork::of_release(&target.release, publish, Some(hidden_now))?;
    if let Some(routing) = work.routing.as_mut() {
        routing.key_value_store = Some(facts.arn.clone());
    }
    let work = work.check(Some(&edge)).await?;
    let ports = atomic::Ports {
        store: &store,
        edge: Some(&edge),
        kvs: Some(&kvs),
        kvs_name: &name,
    };
    atomic::rollback(&ports, &target, &work, (site, publish), started).await
}

/// Rolls the site back through the ports: reads the releases and plans; when there is something
/// to do, takes the lock and does so again under it; checks that every version to restore is
/// still kept and that the distribution answers, then applies the plan. A rollback to what the
/// bucket already holds takes no lock and writes nothing.
pub(crate) async fn rollback<S: ObjectStore, C: Cdn>(
    store: Arc<S>,
    cdn: Option<C>,
    config: &RollbackConfig,
    started: Instant,
) -> Result<Outcome> {
    let publish = &config.publish;
    let edge = Edge::reach(cdn, publish.distribution_id.as_ref(), &config.site.bucket).await?;
    let first = survey(&store, config).await?;
    atomic::refuse_atomic_site(first.0.live.as_ref(), &config.site, false)?;
    if first.0.target.atomic.is_some() {
        return Err(Error::Usage(format!(
            "release `{}` is an atomic release: its files live under `{}{}`, switched by a \
             KeyValueStore pointer, so an in-place rollback cannot restore it; nothing was \
             written. Deploy its build again, or roll back to an in-place release",
            first.0.target.id,
            config.site.prefix,
            plan::RELEASES_DIR
        )));
    }
    // Where the origin serves the state prefix now: the function hides it there.
    let hidden_now = edge
        .as_ref()
        .map(|e| crate::core::routing::hidden_path(&config.site.state_prefix, &e.origin_path));
    // The routing function and response headers the target release had are published again.
    let work = EdgeWork::of_release(&first.0.target, publish, hidden_now.clone())?
        .check(edge.as_ref())
        .await?;
    let changes = !first.1.is_empty() || work.changes();
    let policy = apply::lock_for(publish, first.0.live.as_ref(), changes);
    apply::under_lock(&store, &config.site, "rollback", policy, async |fence| {
        let locked = fence.holds_lock();
        let (mut chosen, mut plan) = if locked {
            // The first survey's records, versions and plan are let go before the second.
            drop(first);
            survey(&store, config).await?
        } else {
            first
        };
        // Under the lock, read again: another deploy before it may have changed the edge, or
        // which release is the one before.
        let work = if locked {
            EdgeWork::of_release(&chosen.target, publish, hidden_now.clone())?
                .check(edge.as_ref())
                .await?
        } else {
            work
        };
        plan.notes.extend(edge_kept(&chosen));
        chosen.edge_changes = work.changes();
        let target_id = chosen.target.id.clone();
        check_versions_kept(&plan, &chosen.versions, &target_id)?;
        let settings = apply::Settings::new(
            Command::Rollback { to: target_id },
            started,
            publish,
            &config.site,
            work,
        )
        .fenced(fence);
        apply::apply(&store, edge.as_ref(), plan, &settings, &chosen).await
    })
    .await
}

/// What stays live at the edge because the target release recorded none of it: a rollback
/// never removes a routing function or a response headers policy.
fn edge_kept(chosen: &Chosen) -> Vec<String> {
    let Some(live) = &chosen.live else {
        return Vec::new();
    };
    let target = &chosen.target;
    let mut notes = Vec::new();
    if target.routing.is_none() && live.routing.is_some() {
        notes.push(format!(
            "release `{}` recorded no routing function: the live one stays",
            target.id
        ));
    }
    if target.headers.is_none() && live.headers.is_some() {
        notes.push(format!(
            "release `{}` recorded no [headers]: the live response headers policy stays",
            target.id
        ));
    }
    notes
}

/// Lists the site, picks the releases and plans the rollback. The records come first, from
/// their own folder: the newest one's keys, which the bucket mostly holds, split the listings
/// of the site and of its versions into key ranges, all asked for at once.
async fn survey<S: ObjectStore>(store: &Arc<S>, config: &RollbackConfig) -> Result<(Chosen, Plan)> {
    let site = &config.site;
    let records = survey::records(&**store, &site.state_prefix).await?;
    let (listing, versions) = tokio::try_join!(
        survey::list_split(store, &site.prefix, &records.splits),
        survey::versions_split(store, &site.prefix, &records.splits),
    )?;
    let found = Found {
        record_keys: records.keys,
        newest: records.newest,
        versions,
    };
    let mut chosen = choose(&**store, found, config).await?;
    let plan = plan::rollback(
        &chosen.target,
        chosen.live.as_ref(),
        &listing,
        (&site.bucket, &site.prefix, &site.state_prefix),
    )
    .map_err(|keys| {
        Error::Usage(format!(
            "release `{}` has no recorded version for {} key(s) (first: `{}`): it was deployed \
             while bucket versioning was off, so it cannot be restored",
            chosen.target.id,
            keys.len(),
            keys[0]
        ))
    })?;
    // What the plan left alone (not a site object) is not recorded as one either.
    chosen.target.objects.retain(|key, _| {
        key.starts_with(&site.prefix) && !plan::is_state(key, &site.prefix, &site.state_prefix)
    });
    Ok((chosen, plan))
}

/// The release a rollback restores and the live one it replaces.
struct Chosen {
    /// The newest record's id, which the new release's id must sort after.
    newest_id: String,
    /// None when the live record cannot be read (it is then only named).
    live: Option<Release>,
    target: Release,
    /// Every version the bucket keeps, when the releases were chosen.
    versions: std::collections::BTreeMap<String, crate::core::objects::Versions>,
    /// The target's routing function or response headers are published again: a release even
    /// when no object changes.
    edge_changes: bool,
}

/// How many records, newest first, are read to find the live one before settling for the
/// newest readable one (a bucket left halfway by a stopped deploy matches none).
const LIVE_SEARCH: usize = 20;

/// What the survey found before choosing: the release records' keys (oldest first), the
/// newest record (None when it cannot be read) and every version the bucket keeps.
struct Found {
    record_keys: Vec<String>,
    newest: Option<Release>,
    versions: std::collections::BTreeMap<String, crate::core::objects::Versions>,
}

/// Picks the live release (the newest whose versions the bucket holds: the bucket decides, not
/// the clocks that named the records) and the target: `--to`, or the readable release before
/// the live one. Unreadable records are skipped with a warning; they block nothing.
async fn choose<S: ObjectStore>(
    store: &S,
    found: Found,
    config: &RollbackConfig,
) -> Result<Chosen> {
    let state_prefix = &config.site.state_prefix;
    let Found {
        record_keys: keys,
        newest,
        versions,
    } = found;
    let ids: Vec<&str> = keys
        .iter()
        .filter_map(|k| release::record_id(state_prefix, k))
        .collect();
    let newest_id = newest_and_target_known(&ids, config)?;
    let read =
        async |id: &str| survey::read_record(store, &release::record_key(state_prefix, id)).await;
    // One pass over the versions: which release is live, and later which versions are kept.
    let current = crate::core::objects::current_of(&versions);
    let mut walked: Vec<(&str, Option<Release>)> = Vec::new();
    let mut live_at = None;
    // The walk starts at the newest record, read already.
    let mut newest = Some(newest);
    for id in ids.iter().rev().take(LIVE_SEARCH) {
        let record = match newest.take() {
            Some(record) => record,
            None => read(id).await?,
        };
        let live = record
            .as_ref()
            .is_some_and(|r| release::matches_bucket(r, &current));
        walked.push((id, record));
        if live {
            live_at = Some(walked.len() - 1);
            break;
        }
    }
    let live_at = live_at.or_else(|| walked.iter().position(|(_, r)| r.is_some()));
    let live = live_at.and_then(|i| walked[i].1.clone());
    let target = match &config.to {
        Some(id) => match walked.iter().find(|(w, _)| w == id) {
            Some((_, record)) => record.clone(),
            None => read(id).await?,
        },
        None => {
            // The readable release before the live one.
            let mut found = None;
            for id in ids.iter().rev().skip(live_at.map_or(ids.len(), |i| i + 1)) {
                found = read(id).await?;
                if found.is_some() {
                    break;
                }
            }
            Some(found.ok_or_else(|| {
                Error::Usage(format!(
                    "only one release (`{newest_id}`) is recorded: there is no earlier one to \
                     roll back to"
                ))
            })?)
        }
    };
    Ok(Chosen {
        newest_id: newest_id.to_owned(),
        live,
        target: target.ok_or_else(|| unreadable_target(config))?,
        versions,
        edge_changes: false,
    })
}

/// The newest release id of `ids`, refusing a site with none, and a `--to` that names none.
fn newest_and_target_known<'i>(ids: &[&'i str], config: &RollbackConfig) -> Result<&'i str> {
    let bucket = &config.site.bucket;
    let dir = release::releases_prefix(&config.site.state_prefix);
    let Some(newest_id) = ids.last().copied() else {
        return Err(Error::Usage(format!(
            "no releases recorded in s3://{bucket}/{dir}: nothing to roll back to"
        )));
    };
    if let Some(id) = config.to.as_ref().filter(|id| !ids.contains(&id.as_str())) {
        return Err(Error::Usage(format!(
            "no release `{id}` in s3://{bucket}/{dir}; `shipfront releases` lists them"
        )));
    }
    Ok(newest_id)
}

/// The refusal of a `--to` release whose record cannot be read.
fn unreadable_target(config: &RollbackConfig) -> Error {
    let id = config.to.as_deref().unwrap_or_default();
    Error::Usage(format!(
        "release record `{}` cannot be read, so release `{id}` cannot be restored; `shipfront \
         releases` lists the others",
        release::record_key(&config.site.state_prefix, id)
    ))
}

/// Every version to copy back must still exist (a lifecycle rule may have expired it):
/// checked before any write, so a rollback never stops halfway for that.
fn check_versions_kept(
    plan: &Plan,
    kept: &std::collections::BTreeMap<String, crate::core::objects::Versions>,
    target_id: &str,
) -> Result<()> {
    let missing: Vec<(&str, &str)> = plan
        .actions
        .iter()
        .filter_map(|a| match &a.op {
            Op::Restore { version_id }
                if !kept.get(&a.key).is_some_and(|v| v.all.contains(version_id)) =>
            {
                Some((a.key.as_str(), version_id.as_str()))
            }
            _ => None,
        })
        .collect();
    let Some(&(key, version)) = missing.first() else {
        return Ok(());
    };
    // A version the bucket keeps, but of another key: not expired, but a record that lies.
    // (`null`, the version of an object written before versioning, is every such key's.)
    let owner = kept
        .iter()
        .filter(|_| version != "null")
        .find(|(other, v)| other.as_str() != key && v.all.contains(version));
    Err(match owner {
        Some((other, _)) => Error::RecordRefused {
            id: target_id.to_owned(),
            why: format!(
                "it names version {version} for `{key}`, but the bucket keeps that version \
                 for `{other}`, so the record was changed or is corrupt"
            ),
        },
        None => Error::Usage(format!(
            "release `{target_id}` needs {} object version(s) the bucket no longer keeps \
             (first: {key} (version {version})), probably expired by a lifecycle rule; nothing \
             was written. Roll back to a newer release (`shipfront releases`)",
            missing.len(),
        )),
    })
}

impl Recorder for Chosen {
    fn live(&self) -> Option<&Release> {
        self.live.as_ref()
    }

    fn release_id(&self, now: SystemTime, plan: &Plan, _: &ExecReport) -> Option<String> {
        // A rollback that changed nothing records nothing.
        if plan.is_empty() && !self.edge_changes {
            return None;
        }
        Some(new_release::rollback_id(
            now,
            &self.target.id,
            &self.newest_id,
        ))
    }

    async fn record(
        &self,
        id: String,
        time: String,
        _: &Plan,
        result: &ExecReport,
    ) -> Result<Release> {
        Ok(new_release::of_rollback(
            &self.target,
            self.live.as_ref(),
            &crate::core::objects::current_of(&self.versions),
            result,
            id,
            time,
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::commands::in_memory::*;
    use crate::run::fixtures::{block_on, deploy_config, now, rollback_config, tree};
    use crate::store::memory::{MemoryCdn, MemoryStore};

    #[test]
    fn deploy_then_rollback_restores_the_bytes_and_invalidates_what_changed() {
        let (store, cdn) = deployed(&v1());
        let first = current_etags(&store);
        let second = run_deploy(&store, &cdn, &v2());
        let restored = run_rollback(&store, &cdn, &rollback_config()).expect("rollback");

        assert_eq!(current_etags(&store), first);
        let sent = cdn.sent();
        let paths: Vec<&[String]> = sent.iter().map(|s| s.paths.as_slice()).collect();
        // The first deploy overwrote nothing a CDN could hold; the second overwrote the root
        // page and app.js and deleted old.css; the rollback puts them back and deletes new.css.
        assert_eq!(
            paths,
            [
                ["/", "/app.js", "/index.html", "/old.css"]
                    .map(String::from)
                    .as_slice(),
                ["/", "/app.js", "/index.html", "/new.css"]
                    .map(String::from)
                    .as_slice(),
            ]
        );
        for (outcome, invalidation) in [(&second, &sent[0]), (&restored, &sent[1])] {
            let id = outcome.release.as_deref().expect("a release");
            assert_eq!(invalidation.caller_reference, format!("shipfront-{id}"));
        }
        let live = store.calls().last().cloned().unwrap_or_default();
        assert_eq!(
            live, "DeleteObject .shipfront/lock",
            "the lock is released last"
        );
        assert!(store.with_objects(|o| o.current(LOCK).is_none()));
    }

    #[test]
    fn rollback_refuses_expired_versions_before_any_write() {
        let (store, cdn) = deployed(&v1());
        run_deploy(&store, &cdn, &v2());
        // A lifecycle rule expired app.js's first version.
        store.with_objects(|o| {
            if let Some(versions) = o.keys.get_mut("app.js") {
                versions.remove(0);
            }
        });
        let before = store.calls().len();
        let err = block_on(rollback(
            Arc::clone(&store),
            Some(cdn),
            &rollback_config(),
            now(),
        ))
        .unwrap_err();
        assert!(err.to_string().contains("no longer keeps"), "{err}");
        assert!(err.to_string().contains("app.js"), "{err}");
        assert_eq!(
            writes(&store.calls()[before..]),
            ["PutObject .shipfront/lock", "DeleteObject .shipfront/lock"]
        );
    }

    #[test]
    fn a_rollback_to_what_the_bucket_holds_takes_no_lock_and_records_nothing() {
        let (store, cdn) = fresh();
        let v1 = run_deploy(&store, &cdn, &v1()).release.unwrap();
        run_deploy(&store, &cdn, &v2());
        let mut config = rollback_config();
        config.to = Some(v1.clone());
        run_rollback(&store, &cdn, &config).expect("rollback");
        let before = store.calls().len();
        let again = run_rollback(&store, &cdn, &config).expect("the same rollback again");
        assert_eq!(again.release, None);
        assert_eq!(writes(&store.calls()[before..]), Vec::<&String>::new());
        assert_eq!(
            again.to_string(),
            format!("s3://b/ already holds release {v1}: nothing to restore")
        );
    }

    #[test]
    fn a_rollback_of_a_large_site_lists_its_keys_and_versions_in_ranges() {
        let (store, cdn) = fresh();
        let pages = |body: &'static str| -> Vec<(String, &'static str)> {
            (0..3_000)
                .map(|i| (format!("p{i:05}.html"), body))
                .collect()
        };
        let build = |files: &[(String, &'static str)]| {
            tree(
                &files
                    .iter()
                    .map(|(k, v)| (k.as_str(), *v))
                    .collect::<Vec<_>>(),
            )
        };
        let v1 = run_deploy(&store, &cdn, &build(&pages("one")))
            .release
            .unwrap();
        let as_v1 = current_etags(&store);
        let mut v2 = pages("one");
        v2[1_500].1 = "two";
        v2.push(("zz-new.html".to_owned(), "new"));
        run_deploy(&store, &cdn, &build(&v2));
        let before = store.calls().len();
        let mut config = rollback_config();
        config.to = Some(v1);
        run_rollback(&store, &cdn, &config).expect("rollback");
        let calls = store.calls()[before..].to_vec();
        // The newest record holds 3,001 keys: four ranges each for the site and its versions,
        // split at every 751st of them, the first from the prefix's start (twice: the survey
        // is made again under the lock); plus one listing of the records' folder each time.
        let ranges = |op: &str| -> Vec<&str> {
            calls
                .iter()
                .filter_map(|c| c.strip_prefix(op))
                .map(str::trim)
                .collect()
        };
        let versions = ranges("ListObjectVersions");
        assert_eq!(versions.len(), 8, "{calls:?}");
        assert_eq!(
            versions[..4],
            ["", "p00750.html", "p01501.html", "p02252.html"]
        );
        assert_eq!(ranges("ListObjectsV2").len(), 2 * (4 + 1), "{calls:?}");
        // And the rollback is right: the changed page back, the new one gone.
        assert!(
            current_etags(&store) == as_v1,
            "the bucket is not as release 1 left it"
        );
    }

    #[test]
    fn rollback_honours_max_deletes_before_any_write() {
        let (store, cdn) = deployed(&tree(&[("index.html", "1")]));
        let many: Vec<(String, &str)> = (0..5).map(|i| (format!("p{i}.html"), "x")).collect();
        let many: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        run_deploy(
            &store,
            &cdn,
            &tree(&[[("index.html", "2")].as_slice(), &many].concat()),
        );
        let mut config = rollback_config();
        config.publish.max_deletes = 4;
        let before = store.calls().len();
        let err = run_rollback(&store, &cdn, &config).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("deletes 5 objects") && text.contains("--max-deletes 4"),
            "{text}"
        );
        assert!(
            !text.contains("--no-delete"),
            "rollback has no --no-delete: {text}"
        );
        assert_eq!(err.exit_code(), 2);
        assert_eq!(
            writes(&store.calls()[before..]),
            ["PutObject .shipfront/lock", "DeleteObject .shipfront/lock"]
        );
        config.publish.max_deletes = 5;
        run_rollback(&store, &cdn, &config).expect("allowed");
    }

    #[test]
    fn routing_is_published_with_the_deploy_recorded_and_restored_by_rollback() {
        let (store, cdn) = fresh();
        let config = routed(deploy_config());
        deploy_with(&store, &cdn, &config, &v1()).expect("first deploy");
        let live = |cdn: &MemoryCdn| {
            crate::store::memory::lock(&cdn.functions)
                .get(FUNCTION)
                .and_then(|f| f.live.clone())
                .unwrap_or_default()
        };
        let first = live(&cdn);
        assert!(first.contains("function handler"), "published");
        assert!(
            crate::store::memory::lock(&cdn.viewer_request)
                .as_deref()
                .is_some_and(|arn| arn.ends_with(":function/shipfront-E1")),
            "run on viewer requests"
        );
        assert_eq!(live_record(&store).routing.as_deref(), Some(first.as_str()));

        // The same build again: nothing at all.
        let before = store.calls().len();
        let again = deploy_with(&store, &cdn, &config, &v1()).expect("again");
        assert_eq!(again.release, None);
        assert_eq!(writes(&store.calls()[before..]), Vec::<&String>::new());

        // A build whose layout changes the function: published again, with the release.
        let mut files = tree(&[("index.html", "home 2"), ("about/index.html", "a")]);
        files.notes.clear();
        deploy_with(&store, &cdn, &config, &files).expect("second deploy");
        assert_ne!(live(&cdn), first, "a new function for a new layout");

        // Rolling back publishes the function the target release had.
        run_rollback(&store, &cdn, &rollback_config()).expect("rollback");
        assert_eq!(live(&cdn), first);
    }

    /// Routed v1, then routed v2 with another layout: the store, the CDN, the first release's
    /// record key, and the function live now.
    fn two_routed_releases() -> (Arc<MemoryStore>, Arc<MemoryCdn>, String, String) {
        let (store, cdn) = fresh();
        let config = routed(deploy_config());
        deploy_with(&store, &cdn, &config, &v1()).expect("first deploy");
        let first = live_record(&store).id;
        let mut files = tree(&[("index.html", "home 2"), ("about/index.html", "a")]);
        files.notes.clear();
        deploy_with(&store, &cdn, &config, &files).expect("second deploy");
        let key = crate::core::release::record_key(".shipfront/", &first);
        let live = live_function(&cdn);
        (store, cdn, key, live)
    }

    fn live_function(cdn: &MemoryCdn) -> String {
        crate::store::memory::lock(&cdn.functions)
            .get(FUNCTION)
            .and_then(|f| f.live.clone())
            .unwrap_or_default()
    }

    /// Rewrites the record at `key` as `tamper` says, as someone who can write the state prefix
    /// could.
    fn tamper_record(store: &MemoryStore, key: &str, tamper: impl FnOnce(&mut Release)) {
        store.with_objects(|o| {
            let body = o.current(key).expect("the record").body.clone();
            let mut record: Release = serde_json::from_slice(&body).expect("a record");
            tamper(&mut record);
            o.put(key, &serde_json::to_vec(&record).expect("json"));
        });
    }

    /// Nothing written after `before` calls, not even the lock: the record is judged first.
    fn nothing_written(store: &MemoryStore, before: usize) {
        assert_eq!(writes(&store.calls()[before..]), Vec::<&String>::new());
    }

    /// Whether the CDN published a function after its first `before` calls.
    fn published_since(cdn: &MemoryCdn, before: usize) -> bool {
        cdn.calls()[before..].contains(&"PublishFunction")
    }

    /// Someone who can write the state prefix puts their own code in a release record: the
    /// rollback to it is refused, naming it, and nothing is published or restored.
    #[test]
    fn a_record_whose_routing_code_was_changed_is_refused_before_any_write() {
        let (store, cdn, key, live) = two_routed_releases();
        tamper_record(&store, &key, |r| {
            r.routing = Some("function handler(e) { return steal(e); }".to_owned());
        });
        let (before, published) = (store.calls().len(), cdn.calls().len());
        let err = run_rollback(&store, &cdn, &rollback_config()).unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(&err, Error::RecordRefused { .. })
                && text.contains("not what its recorded inputs generate"),
            "{text}"
        );
        assert_eq!(err.exit_code(), 2);
        nothing_written(&store, before);
        assert_eq!(live_function(&cdn), live, "the live function is untouched");
        assert!(!published_since(&cdn, published));
    }

    /// The inputs changed instead, to something the config would refuse (a redirect loop, a
    /// splat in a host): refused the same way.
    #[test]
    fn a_record_whose_routing_inputs_were_changed_is_refused_before_any_write() {
        type Tamper = fn(&mut crate::core::routing::RoutingInputs);
        let cases: [(Tamper, &str); 3] = [
            (
                |i| {
                    i.config
                        .redirects
                        .push(redirect("/blog*", "https://x.test:splat"))
                },
                "host",
            ),
            (
                |i| i.config.redirects.push(redirect("/*", "/index.html")),
                "circle",
            ),
            (
                |i| {
                    i.layout.exceptions.insert("x';steal();'".to_owned());
                },
                "is not a path",
            ),
        ];
        for (tamper, says) in cases {
            let (store, cdn, key, live) = two_routed_releases();
            tamper_record(&store, &key, |r| {
                tamper(r.routing_inputs.as_mut().expect("inputs"))
            });
            let before = store.calls().len();
            let err = run_rollback(&store, &cdn, &rollback_config()).unwrap_err();
            assert!(
                matches!(&err, Error::RecordRefused { .. }) && err.to_string().contains(says),
                "{err}"
            );
            nothing_written(&store, before);
            assert_eq!(live_function(&cdn), live);
        }
    }

    fn redirect(from: &str, to: &str) -> crate::core::routing::Redirect {
        crate::core::routing::Redirect {
            from: from.to_owned(),
            to: to.to_owned(),
            status: 301,
        }
    }

    /// A record that lists the lock (or anything under the state prefix, or outside the site's
    /// prefix): the rollback never restores it, and says so.
    #[test]
    fn a_record_listing_state_keys_never_restores_them() {
        let (store, cdn, key, _) = two_routed_releases();
        tamper_record(&store, &key, |r| {
            let page = r.objects["index.html"].clone();
            r.objects.insert(".shipfront/lock".to_owned(), page.clone());
            r.objects
                .insert(".shipfront/releases/x.json".to_owned(), page);
        });
        let outcome = run_rollback(&store, &cdn, &rollback_config()).expect("rolled back");
        assert!(
            store
                .calls()
                .iter()
                .all(|c| !c.starts_with("CopyObject (restore) .shipfront/")),
            "{:?}",
            store.calls()
        );
        let recorded = live_record(&store);
        assert!(
            recorded
                .objects
                .keys()
                .all(|k| !k.starts_with(".shipfront/")),
            "not recorded either"
        );
        let warned = &outcome.plan.warnings;
        assert!(
            warned.iter().any(|w| w.contains("`.shipfront/lock`")) && warned.len() == 2,
            "{warned:?}"
        );
    }

    /// A rollback whose write fails says so as a rollback, not a deploy.
    #[test]
    fn a_failed_rollback_names_itself() {
        let (store, cdn, _, _) = two_routed_releases();
        store.fail_key("CopyObject (restore)", "about.html");
        let err = run_rollback(&store, &cdn, &rollback_config()).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("rollback stopped in the pages phase")
                && text.contains("run the rollback again")
                && !text.contains("deploy"),
            "{text}"
        );
    }

    /// A record naming a version the bucket keeps for another key: the record lies, and the
    /// rollback says so instead of blaming a lifecycle rule.
    #[test]
    fn a_version_of_another_key_is_called_a_changed_record_not_an_expiry() {
        let (store, cdn, key, _) = two_routed_releases();
        let live = live_record(&store);
        let other = live.objects["index.html"].version_id.clone();
        tamper_record(&store, &key, |r| {
            if let Some(o) = r.objects.get_mut("about.html") {
                o.version_id.clone_from(&other);
            }
        });
        let err = run_rollback(&store, &cdn, &rollback_config()).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("for `index.html`, so the record was changed")
                && !text.contains("lifecycle"),
            "{text}"
        );
        assert_eq!(err.exit_code(), 2);
    }

    /// A record of an older version keeps the code but not its inputs: the objects are rolled
    /// back and the live function stays, since shipfront publishes only what it generates.
    #[test]
    fn a_record_without_routing_inputs_rolls_back_the_objects_and_keeps_the_live_function() {
        let (store, cdn, key, live) = two_routed_releases();
        tamper_record(&store, &key, |r| {
            r.routing_inputs = None;
            r.shipfront = "0.9.0".to_owned();
        });
        let published = cdn.calls().len();
        run_rollback(&store, &cdn, &rollback_config()).expect("rolled back");
        assert_eq!(live_function(&cdn), live, "the live function stays");
        assert!(!published_since(&cdn, published));
        let restored = live_record(&store);
        assert!(restored.objects.contains_key("about.html"), "v1's objects");
    }

    /// Code another version generated is generated again by this one: what is published is
    /// always this version's code for the recorded inputs. The version is the code's own (a
    /// release recorded by this version may carry the code an older one published, when its
    /// deploy left routing alone).
    #[test]
    fn code_of_another_version_is_published_as_this_version_generates_it() {
        for recorded_by in ["0.9.0", env!("CARGO_PKG_VERSION")] {
            let (store, cdn, key, _) = two_routed_releases();
            let mut inputs = None;
            tamper_record(&store, &key, |r| {
                r.shipfront = recorded_by.to_owned();
                r.routing = Some("// Written by shipfront 0.9.0: old code".to_owned());
                inputs = r.routing_inputs.clone();
            });
            run_rollback(&store, &cdn, &rollback_config()).expect("rolled back");
            let want = inputs.expect("inputs").function().expect("code");
            assert_eq!(live_function(&cdn), want, "recorded by {recorded_by}");
        }
    }

    /// A build whose `big.bin` (`body`) was uploaded in parts, as large files are.
    fn with_multipart(body: &str) -> crate::core::objects::LocalTree {
        use md5::{Digest, Md5};
        let mut files = v1();
        let mut big = crate::run::fixtures::local_file("big.bin", body);
        big.multipart = Some(crate::core::etag::MultipartDigest {
            part_size: 4,
            part_md5s: body
                .as_bytes()
                .chunks(4)
                .map(|part| Md5::digest(part).into())
                .collect(),
        });
        files.files.push(Arc::new(big));
        files
    }

    /// S3 stores a copy whole, so a multipart object restored by CopyObject has the plain MD5
    /// as ETag: a second rollback to the release the bucket already holds is a no-op all the
    /// same (no copy, no lock, no record), since the record knows that MD5.
    #[test]
    fn a_rollback_to_the_release_the_bucket_holds_is_a_no_op_after_a_multipart_copy() {
        let (store, cdn) = fresh();
        deploy_with(
            &store,
            &cdn,
            &deploy_config(),
            &with_multipart("big file 1"),
        )
        .expect("v1");
        let first = live_record(&store);
        assert!(
            first.objects["big.bin"].etag.ends_with("-3"),
            "uploaded in parts"
        );
        deploy_with(
            &store,
            &cdn,
            &deploy_config(),
            &with_multipart("big file 2"),
        )
        .expect("v2");
        let mut config = rollback_config();
        config.to = Some(first.id.clone());
        run_rollback(&store, &cdn, &config).expect("back to v1");
        let copied = store.with_objects(|o| o.current("big.bin").map(|v| v.etag.clone()));
        assert_eq!(
            copied.as_deref(),
            Some(first.objects["big.bin"].content_md5.as_str())
        );

        let before = store.calls().len();
        let again = run_rollback(&store, &cdn, &config).expect("again");
        assert_eq!(again.release, None, "nothing recorded");
        nothing_written(&store, before);
    }

    /// A deploy that only fixes a multipart object's headers copies it onto itself, which
    /// leaves the plain MD5 as its ETag: the next deploy of the same build is a no-op, and so is
    /// a rollback to the release it recorded.
    #[test]
    fn a_header_fix_on_a_multipart_object_leaves_the_next_runs_no_ops() {
        let (store, cdn) = fresh();
        let build = with_multipart("big file 1");
        deploy_with(&store, &cdn, &deploy_config(), &build).expect("v1");
        let mut fixed = deploy_config();
        let rule = crate::core::object_headers::Rule::new(
            "*.bin",
            Some("public, max-age=60".to_owned()),
            None,
        )
        .expect("a rule");
        fixed.headers = crate::core::object_headers::HeaderPolicy::new(vec![rule]);
        deploy_with(&store, &cdn, &fixed, &build).expect("headers fixed");
        let etag = store.with_objects(|o| o.current("big.bin").map(|v| v.etag.clone()));
        assert!(etag.is_some_and(|e| !e.contains('-')), "copied whole");
        let fix = live_record(&store);

        let before = store.calls().len();
        let again = deploy_with(&store, &cdn, &fixed, &build).expect("again");
        assert_eq!(again.release, None);
        nothing_written(&store, before);
        let mut config = rollback_config();
        config.to = Some(fix.id);
        let back = run_rollback(&store, &cdn, &config).expect("to the bucket's own release");
        assert_eq!(back.release, None);
        nothing_written(&store, before);
    }

    #[test]
    fn response_headers_are_written_with_the_deploy_recorded_and_restored_by_rollback() {
        let (store, cdn) = fresh();
        let hsts = ("Strict-Transport-Security", "max-age=31536000");
        let config = with_headers(deploy_config(), &[hsts, ("X-Frame-Options", "DENY")]);

        let mut dry = config.clone();
        dry.publish.dry_run = true;
        let planned = deploy_with(&store, &cdn, &dry, &v1()).expect("dry run");
        assert!(
            planned.plan.notes.iter().any(|n| n.contains(
                "response headers policy `shipfront-E1` (Strict-Transport-Security, \
                 X-Frame-Options): written and attached"
            )),
            "{:?}",
            planned.plan.notes
        );
        assert!(attached(&cdn).is_none(), "a dry run writes nothing");

        deploy_with(&store, &cdn, &config, &v1()).expect("first deploy");
        let first = attached(&cdn).expect("attached");
        assert_eq!(first.name, "shipfront-E1");
        assert_eq!(first.headers.frame_options.as_deref(), Some("DENY"));
        let recorded = live_record(&store).headers.expect("recorded");
        assert_eq!(
            recorded.get("X-Frame-Options").map(String::as_str),
            Some("DENY")
        );

        // The same build and headers again: nothing at all.
        let before = (store.calls().len(), cdn.calls().len());
        let again = deploy_with(&store, &cdn, &config, &v1()).expect("again");
        assert_eq!(again.release, None);
        assert_eq!(writes(&store.calls()[before.0..]), Vec::<&String>::new());
        assert!(
            cdn.calls()[before.1..]
                .iter()
                .all(|c| !c.starts_with("Update") && !c.starts_with("Create")),
            "{:?}",
            cdn.calls()
        );

        // Only the headers change: the same policy updated, and a release of its own.
        let changed = with_headers(deploy_config(), &[hsts, ("X-Frame-Options", "SAMEORIGIN")]);
        let outcome = deploy_with(&store, &cdn, &changed, &v1()).expect("headers only");
        assert!(outcome.release.is_some(), "a release for the headers");
        let second = attached(&cdn).expect("attached");
        assert_eq!(
            (second.id.as_str(), second.headers.frame_options.as_deref()),
            (first.id.as_str(), Some("SAMEORIGIN"))
        );

        // Rolling back writes the headers the target release had.
        run_rollback(&store, &cdn, &rollback_config()).expect("rollback");
        assert_eq!(attached(&cdn).expect("attached").headers, first.headers);
    }

    #[test]
    fn a_rollback_to_a_release_without_headers_keeps_the_live_policy_and_says_so() {
        let (store, cdn) = fresh();
        deploy_with(&store, &cdn, &deploy_config(), &v1()).expect("without headers");
        let config = with_headers(deploy_config(), &[("X-Frame-Options", "DENY")]);
        deploy_with(&store, &cdn, &config, &v2()).expect("with headers");
        let outcome = run_rollback(&store, &cdn, &rollback_config()).expect("rollback");
        assert!(
            outcome.plan.notes.iter().any(
                |n| n.contains("recorded no [headers]: the live response headers policy stays")
            ),
            "{:?}",
            outcome.plan.notes
        );
        assert_eq!(
            attached(&cdn)
                .expect("kept")
                .headers
                .frame_options
                .as_deref(),
            Some("DENY")
        );
        // The rollback's record says what is live: the headers it kept.
        let recorded = live_record(&store).headers.expect("recorded");
        assert_eq!(
            recorded.get("X-Frame-Options").map(String::as_str),
            Some("DENY")
        );
    }
}
