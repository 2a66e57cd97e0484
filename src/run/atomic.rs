//! Atomic releases through the ports: a deploy writes its release beside the live one (the
//! pool's new files, the release's own prefix) and only then switches the KeyValueStore
//! pointer; a rollback switches it back. Until the switch, nothing a visitor sees changed, so a
//! deploy killed at any moment leaves the live release as it was.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use crate::config::{DeployConfig, Site};
use crate::core::atomic::{self, AtomicPlan, LIVE_KEY, Pointer};
use crate::core::error::{Error, Result};
use crate::core::exec_report::ExecReport;
use crate::core::objects::{LocalTree, RemoteListing};
use crate::core::plan::RELEASES_DIR;
use crate::core::plan::{Plan, PlanConfig};
use crate::core::preview;
use crate::core::release::{self, AtomicRecord, Release, ReleasedObject};
use crate::core::report::{Command, Outcome, SwitchReport};
use crate::run::edge::{Edge, EdgeWork};
use crate::run::lease::Fence;
use crate::run::{apply, execute, progress, survey, switch};
use crate::store::{Cdn, KeyValueStore, ObjectStore};

/// Where an atomic run works: the bucket, the distribution (None only where a unit test
/// leaves the edge out) and the KeyValueStore (None in a dry run before the store exists).
pub(crate) struct Ports<'a, S, C, K> {
    pub(crate) store: &'a Arc<S>,
    pub(crate) edge: Option<&'a Edge<C>>,
    pub(crate) kvs: Option<&'a K>,
    /// The KeyValueStore's name, for what the run prints.
    pub(crate) kvs_name: &'a str,
}

/// How long a new KeyValueStore is waited for to become ready, at most.
const PROVISIONING_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// The ARN of the KeyValueStore `name`, created when there is none (in a dry run: None, and
/// said), and waited for while it is provisioned.
///
/// # Errors
/// CloudFront's; a store still not ready after `PROVISIONING_WAIT`.
pub(crate) async fn key_value_store<C: Cdn>(
    cdn: &C,
    name: &str,
    dry_run: bool,
) -> Result<Option<String>> {
    let mut facts = cdn.key_value_store(name).await?;
    if facts.is_none() {
        if dry_run {
            crate::run::output::err_line(&format!(
                "KeyValueStore `{name}` does not exist: a deploy creates it"
            ));
            return Ok(None);
        }
        let arn = cdn.create_key_value_store(name).await?;
        crate::run::output::err_line(&format!(
            "created KeyValueStore `{name}` for the live release pointer"
        ));
        facts = Some(crate::store::KvsFacts {
            arn,
            status: "PROVISIONING".to_owned(),
        });
    }
    let mut delay = std::time::Duration::from_millis(500);
    let waited = Instant::now();
    loop {
        match facts {
            Some(f) if f.ready() => return Ok(Some(f.arn)),
            Some(f) if waited.elapsed() >= PROVISIONING_WAIT => {
                return Err(Error::Usage(format!(
                    "KeyValueStore `{name}` is still {} after {}s; run the deploy again in a \
                     minute",
                    f.status,
                    PROVISIONING_WAIT.as_secs()
                )));
            }
            _ => {}
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(std::time::Duration::from_secs(10));
        facts = cdn.key_value_store(name).await?;
        if facts.is_none() {
            return Err(Error::Usage(format!(
                "KeyValueStore `{name}` was deleted while shipfront waited for it"
            )));
        }
    }
}

/// What the KeyValueStore says is live: the pointer's value as stored (None: nothing yet) and
/// the pointer it holds.
async fn live_pointer<K: KeyValueStore>(kvs: &K) -> Result<Option<(String, Pointer)>> {
    Ok(pointer_and_etag(kvs).await?.0)
}

/// The `live` key of `kvs` (its value as stored, and the pointer it holds; None: nothing is
/// live yet) and the store's ETag.
///
/// # Errors
/// The store's; a value that is no pointer shipfront wrote.
pub(crate) async fn pointer_and_etag<K: KeyValueStore>(
    kvs: &K,
) -> Result<(Option<(String, Pointer)>, String)> {
    let (value, etag) = kvs.get(LIVE_KEY).await?;
    let Some(value) = value else {
        return Ok((None, etag));
    };
    match serde_json::from_str::<Pointer>(&value) {
        Ok(pointer) => Ok((Some((value, pointer)), etag)),
        Err(e) => Err(Error::Usage(format!(
            "the `{LIVE_KEY}` key of KeyValueStore `{}` holds `{value}`, which is no release \
             pointer shipfront wrote ({e}); fix or delete it",
            kvs.name()
        ))),
    }
}

/// The KeyValueStore `name`, which must exist: an atomic site's rollback and `releases` read
/// it.
///
/// # Errors
/// None by that name (exit 2); CloudFront's.
pub(crate) async fn existing_store<C: Cdn>(cdn: &C, name: &str) -> Result<crate::store::KvsFacts> {
    cdn.key_value_store(name).await?.ok_or_else(|| {
        Error::Usage(format!(
            "KeyValueStore `{name}` does not exist, so no atomic release is live: deploy with \
             --atomic first (or name the store with key_value_store in shipfront.toml)"
        ))
    })
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

/// Deploys `tree` as a new atomic release of `config.site`, then switches `live` to it, then
/// records it and publishes the edge `work` (the routing function reads `live`, so it goes
/// live after the pointer exists).
///
/// # Errors
/// A failed write (nothing switched: the live release is untouched), a switch that raced
/// another (`SwitchRaced`), the lock held by another run.
pub(crate) async fn deploy<S: ObjectStore, C: Cdn, K: KeyValueStore>(
    ports: &Ports<'_, S, C, K>,
    work: &EdgeWork,
    config: &DeployConfig,
    tree: &LocalTree,
    started: Instant,
) -> Result<Outcome> {
    let (site, store) = (&config.site, ports.store);
    let Prepared {
        expected,
        listing,
        id,
        now,
        planned,
        pruned,
        deletes,
        page_copies,
        mut switch,
        repeats,
    } = prepare(ports, work, config, tree).await?;
    if repeats {
        // The live release already is this build, and the edge is as it should be.
        return Ok(unchanged(config, tree, planned.plan.notes, started));
    }
    let (Some(kvs), false) = (ports.kvs, config.publish.dry_run) else {
        let mut plan = planned.plan;
        plan.actions.extend(page_copies.actions);
        plan.actions.extend(deletes.actions);
        return Ok(outcome(Command::Deploy, plan, None, None, switch));
    };
    let policy = Some(config.publish.lock);
    let (mut result, switched) = apply::under_lock(store, site, "deploy", policy, async |fence| {
        let mut result = write_release(store, &planned.plan, &config.publish, &fence).await?;
        fence.check()?;
        let exceptions = planned.exception_keys();
        let switched = match &config.preview {
            None => switch::switch(kvs, &planned.pointer, &exceptions, expected.as_deref()).await?,
            Some(name) => {
                let entry = preview_entry(name, &id, now, site);
                super::previews::write_entry(&**store, &site.state_prefix, &entry).await?;
                fence.check()?;
                switch::point_preview(kvs, name, &planned.pointer, &exceptions).await?
            }
        };
        let elapsed = started.elapsed();
        let record = record_of(
            &planned,
            (&result, tree),
            &listing,
            (&id, now),
            config,
            work,
        );
        fence.check()?;
        apply::write_record(&**store, &site.state_prefix, &record).await?;
        // A preview leaves the edge as it is: its function and error pages are live's.
        if config.preview.is_none() {
            copy_error_pages(store, &page_copies, &config.publish, &fence, &mut result).await?;
            if let Some(edge) = ports.edge {
                fence.check()?;
                work.publish(edge).await?;
            }
        }
        // Retention, once the new release is live: the pruned objects, then their keys.
        if !deletes.is_empty() {
            let pruned_objects = write_release(store, &deletes, &config.publish, &fence).await?;
            result.deleted = pruned_objects.deleted;
            result.deleted_keys = pruned_objects.deleted_keys;
        }
        fence.check()?;
        switch::delete_keys(kvs, &pruned.kvs_keys).await?;
        Ok((result, (switched, elapsed)))
    })
    .await?;
    let (switched, elapsed) = switched;
    switch.done(switched.etag, switched.writes, elapsed);
    result.elapsed = started.elapsed();
    let mut plan = planned.plan;
    plan.actions.extend(page_copies.actions);
    plan.actions.extend(deletes.actions);
    Ok(outcome(
        Command::Deploy,
        plan,
        Some(result),
        Some(id),
        switch,
    ))
}

/// The outcome of a deploy of the live release's build again: nothing written, no release.
fn unchanged(
    config: &DeployConfig,
    tree: &LocalTree,
    notes: Vec<String>,
    started: Instant,
) -> Outcome {
    let site = &config.site;
    let mut plan = atomic::empty_plan(&site.bucket, &site.prefix);
    plan.unchanged = tree.files.len();
    plan.unchanged_bytes = tree.files.iter().map(|f| f.size).sum();
    plan.notes = notes;
    let result = (!config.publish.dry_run).then(|| ExecReport {
        elapsed: started.elapsed(),
        ..ExecReport::default()
    });
    Outcome {
        command: Command::Deploy,
        dry_run: result.is_none(),
        plan,
        result,
        invalidation: None,
        release: None,
        switch: None,
        verify: None,
    }
}

/// An atomic deploy as planned before any write.
struct Prepared {
    /// `live` as stored when planned: the switch is conditional on it.
    expected: Option<String>,
    listing: RemoteListing,
    id: String,
    now: SystemTime,
    planned: AtomicPlan,
    pruned: atomic::Pruned,
    /// Retention's deletions, run once the new release is live.
    deletes: Plan,
    /// The error pages copied to their own keys once the new release is live.
    page_copies: Plan,
    switch: SwitchReport,
    /// The build is the live release again, and the edge needs no change: nothing to do.
    repeats: bool,
}

/// Reads what is live and plans the release of `tree` after it, with retention's deletions
/// (refused over `--max-deletes`) and the switch.
async fn prepare<S: ObjectStore, C: Cdn, K: KeyValueStore>(
    ports: &Ports<'_, S, C, K>,
    work: &EdgeWork,
    config: &DeployConfig,
    tree: &LocalTree,
) -> Result<Prepared> {
    let (site, store) = (&config.site, ports.store);
    let live = match ports.kvs {
        Some(kvs) => live_pointer(kvs).await?,
        None => None,
    };
    let previous = match &live {
        Some((_, pointer)) => read(store, site, &pointer.release).await?,
        None => None,
    };
    let (listing, release_ids) = survey_site(store, site).await?;
    let now = SystemTime::now();
    let from = live.as_ref().map(|(_, p)| p.release.clone());
    let id = release_id(now, from.as_deref(), tree);
    let releases = atomic::Release {
        id: &id,
        releases_dir: RELEASES_DIR,
    };
    let plan_config = plan_config(config);
    let mut planned = atomic::plan(tree, &listing, previous.as_ref(), &plan_config, &releases);
    if let Some(edge) = ports.edge {
        planned.plan.notes.extend(work.notes(&edge.distribution));
    }
    let repeats = !work.changes()
        && config.preview.is_none()
        && previous
            .as_ref()
            .zip(live.as_ref())
            .is_some_and(|(p, (_, l))| {
                p.id == l.release && planned.repeats(p, &site.prefix, RELEASES_DIR)
            });
    let pages = error_pages(ports.edge).await?;
    let local: BTreeMap<&str, &crate::core::objects::LocalFile> =
        tree.files.iter().map(|f| (f.rel.as_str(), &**f)).collect();
    let source = |rel: &str| -> Option<PageSource> {
        let file = local
            .get(rel)
            .filter(|_| planned.placement.release.contains(rel))?;
        let key = releases.key_in(&site.prefix, &id, rel);
        Some((key, None, crate::core::etag::hex(&file.md5)))
    };
    let page_copies = Plan {
        actions: error_page_copies(store, site, &pages, source).await?,
        ..atomic::empty_plan(&site.bucket, &site.prefix)
    };
    let previews = super::previews::entries(&**store, &site.state_prefix).await?;
    let kept = Kept {
        listing: &listing,
        release_ids: &release_ids,
        planned: &planned,
        previews: &previews,
    };
    let (pruned, gone) = retention(store, config, &kept, (&id, from.as_deref())).await?;
    let deletes = Plan {
        actions: pruned.actions(&gone),
        ..atomic::empty_plan(&site.bucket, &site.prefix)
    };
    check_prune(&deletes, config)?;
    let exceptions = planned.placement.exceptions.len();
    let switch = switch_report((ports.kvs_name, &id, exceptions), from, config, &previews);
    Ok(Prepared {
        expected: live.map(|(value, _)| value),
        listing,
        id,
        now,
        planned,
        pruned,
        deletes,
        page_copies,
        switch,
        repeats,
    })
}

/// The switch a deploy plans: `live` of KeyValueStore `store` to release `id` (with
/// `exceptions` keys) from `from`; for a preview, its key instead, from what it showed.
fn switch_report(
    (store, id, exceptions): (&str, &str, usize),
    from: Option<String>,
    config: &DeployConfig,
    previews: &[preview::Entry],
) -> SwitchReport {
    let mut switch = SwitchReport::planned(store, id, from, exceptions);
    if let (Some(name), Some(domain)) = (&config.preview, &config.site.preview_domain) {
        let shown = previews.iter().find(|p| &p.name == name);
        let url = preview::url(name, domain);
        switch.preview(name, &url, shown.map(|p| p.release.clone()));
    }
    switch
}

/// The pages the distribution's custom error responses name (`/404.html`), as files under the
/// site: CloudFront fetches an error page without running the viewer-request function, so an
/// atomic site keeps each at its own key, copied from the live release after every switch.
async fn error_pages<C: Cdn>(edge: Option<&Edge<C>>) -> Result<Vec<String>> {
    let Some(edge) = edge else {
        return Ok(Vec::new());
    };
    let settings = edge.cdn.spa_settings(&edge.distribution).await?;
    let mut pages: Vec<String> = settings
        .error_responses
        .iter()
        .filter_map(|r| r.page.as_deref())
        .map(|page| page.trim_start_matches('/').to_owned())
        .filter(|page| !page.is_empty())
        .collect();
    pages.sort();
    pages.dedup();
    Ok(pages)
}

/// Where a release holds an error page: its key there, the version to copy (None: the
/// current one) and its ETag.
type PageSource = (String, Option<String>, String);

/// The copies that put each of the error `pages` the release holds (`source`) at its own key,
/// where that key holds other bytes (one `ListObjectsV2` of the key each).
async fn error_page_copies<S: ObjectStore>(
    store: &Arc<S>,
    site: &Site,
    pages: &[String],
    source: impl Fn(&str) -> Option<PageSource>,
) -> Result<Vec<crate::core::plan::Action>> {
    use crate::core::plan::{Action, Op, Phase, Reason};
    let mut copies = Vec::new();
    for rel in pages {
        let Some((from, version_id, etag)) = source(rel) else {
            continue;
        };
        let key = format!("{}{rel}", site.prefix);
        let listed = store.list(&key).await?;
        let now = listed.objects.iter().find(|o| o.key == key);
        if now.is_some_and(|o| o.etag == etag) {
            continue;
        }
        copies.push(Action {
            op: Op::Copy { from, version_id },
            reason: if now.is_some() {
                Reason::ContentChanged
            } else {
                Reason::New
            },
            phase: Phase::Pages,
            size: now.map_or(0, |o| o.size),
            key,
        });
    }
    Ok(copies)
}

/// Runs the error page copies after a switch, adding them to `result`.
async fn copy_error_pages<S: ObjectStore>(
    store: &Arc<S>,
    copies: &Plan,
    publish: &crate::config::Publish,
    fence: &Fence,
    result: &mut ExecReport,
) -> Result<()> {
    if copies.is_empty() {
        return Ok(());
    }
    let done = write_release(store, copies, publish, fence).await?;
    result.copied += done.copied;
    result.writes.extend(done.writes);
    Ok(())
}

/// The plan settings of an atomic deploy: nothing is deleted (retention prunes).
fn plan_config(config: &DeployConfig) -> PlanConfig {
    let site = &config.site;
    PlanConfig {
        bucket: site.bucket.clone(),
        prefix: site.prefix.clone(),
        state_prefix: site.state_prefix.clone(),
        delete: false,
        headers: config.headers.clone(),
        keep_assets: config.keep_assets,
    }
}

/// Runs `plan` (the release's uploads and copies, the error pages, or retention's deletions)
/// within the lock's lease.
async fn write_release<S: ObjectStore>(
    store: &Arc<S>,
    plan: &Plan,
    publish: &crate::config::Publish,
    fence: &Fence,
) -> Result<ExecReport> {
    let run = execute::Run {
        command: "deploy",
        concurrency: execute::within_open_files(publish.concurrency),
        progress: progress::for_stderr(publish.progress && !plan.is_empty()),
        fence: fence.clone(),
    };
    let writes = execute::execute_around_deletes(Arc::clone(store), plan, run, async { Ok(()) });
    writes.await.map_err(|stopped| stopped.error)
}

/// What retention prunes once release `id` (planned as `planned`) is live in place of `live`:
/// the releases whose prefixes `listing` shows, beyond the newest `keep_releases`, and the pool
/// files only they used after `--keep-assets` releases of grace; and the folders of deploys
/// that stopped before their switch (no record). Only the records of releases still holding
/// objects are read.
async fn retention<S: ObjectStore>(
    store: &Arc<S>,
    config: &DeployConfig,
    kept: &Kept<'_>,
    (id, live): (&str, Option<&str>),
) -> Result<(atomic::Pruned, RemoteListing)> {
    // Always kept: the new release, the live one while a preview is made, what previews show.
    let mut pinned: Vec<&str> = vec![id];
    pinned.extend(live.filter(|_| config.preview.is_some()));
    pinned.extend(kept.previews.iter().map(|p| p.release.as_str()));
    let (site, planned) = (&config.site, kept.planned);
    let root = format!("{}{RELEASES_DIR}", site.prefix);
    let (mut records, mut orphans) = (Vec::new(), Vec::new());
    for other in kept.release_ids.iter().filter(|other| *other != id) {
        let key = release::record_key(&site.state_prefix, other);
        match store.get_with_etag(&key).await? {
            // A release whose record cannot be read is left alone, with its pool files.
            Some((bytes, _)) => records.extend(survey::parse_record(&key, &bytes)),
            // A folder without a record, older than this release and not the live one: a
            // deploy that stopped before its switch (the lock is held: no other runs now).
            None if other.as_str() < id && Some(other.as_str()) != live => {
                orphans.push(other.clone());
            }
            None => {}
        }
    }
    let objects = planned
        .plan
        .actions
        .iter()
        .map(|a| a.key.clone())
        .chain(
            planned
                .placement
                .pool
                .iter()
                .map(|rel| format!("{}{rel}", site.prefix)),
        )
        .map(|key| {
            let placeholder = ReleasedObject {
                version_id: None,
                size: 0,
                content_md5: String::new(),
                etag: String::new(),
                content_type: "".into(),
                cache_control: "".into(),
            };
            (key, placeholder)
        })
        .collect();
    records.push(Release {
        id: id.to_owned(),
        objects,
        ..Release::default()
    });
    let mut newest_first: Vec<&Release> = records.iter().collect();
    newest_first.sort_by(|a, b| b.id.cmp(&a.id));
    let keep = (config.keep_releases as usize, config.keep_assets as usize);
    let paths = (site.prefix.as_str(), RELEASES_DIR);
    let mut pruned = atomic::prune(&newest_first, &pinned, keep, kept.listing, paths);
    // The folders that go are listed now, and only they.
    let mut gone = RemoteListing::default();
    for folder in pruned.release_ids.iter().chain(&orphans) {
        let listed = store.list(&format!("{root}{folder}/")).await?;
        gone.objects.extend(listed.objects);
    }
    pruned.release_keys = gone.objects.iter().map(|o| o.key.clone()).collect();
    gone.objects.extend(kept.listing.objects.iter().cloned());
    Ok((pruned, gone))
}

/// What retention works from: the site's objects outside the releases' folder, the release
/// folders there are, and the new release.
struct Kept<'a> {
    listing: &'a RemoteListing,
    release_ids: &'a [String],
    planned: &'a AtomicPlan,
    /// The previews, whose releases are kept.
    previews: &'a [preview::Entry],
}

/// An atomic site's objects outside its releases' folder (two ranges of one listing, before
/// and after `_releases/`), and the ids of the release folders (one listing of its folders):
/// the kept releases' files are never listed.
async fn survey_site<S: ObjectStore>(
    store: &Arc<S>,
    site: &Site,
) -> Result<(RemoteListing, Vec<String>)> {
    let root = format!("{}{RELEASES_DIR}", site.prefix);
    // Every key under `root` sorts after `root` itself and before this one.
    let past = format!("{root}\u{10FFFF}");
    let (mut listing, after, folders) = tokio::try_join!(
        store.list_range(&site.prefix, None, Some(&root)),
        store.list_range(&site.prefix, Some(&past), None),
        store.list_folders(&root),
    )?;
    listing.objects.extend(after.objects);
    listing.pages += after.pages;
    listing.chain = listing.chain.max(after.chain);
    let ids = folders
        .iter()
        .filter_map(|f| f.strip_prefix(&root)?.strip_suffix('/'))
        .map(str::to_owned)
        .collect();
    Ok((listing, ids))
}

/// Refuses (in a dry run: warns of) retention that deletes more than `--max-deletes`, before
/// any write.
fn check_prune(deletes: &Plan, config: &DeployConfig) -> Result<()> {
    let (count, max) = (deletes.deletes(), config.publish.max_deletes);
    if count <= max {
        return Ok(());
    }
    if config.publish.dry_run {
        crate::run::github::warn(&format!(
            "retention deletes {count} objects, more than --max-deletes {max}: a real deploy \
             would refuse it"
        ));
        return Ok(());
    }
    Err(Error::TooManyDeletes {
        count,
        max,
        target: deletes.target(),
        check: "Check keep_releases in [deploy] (releases older than the newest ones kept are \
                pruned)",
        keep: "",
    })
}

/// The outcome of an atomic run: no invalidation ever (every switch changes the cache keys).
fn outcome(
    command: Command,
    plan: Plan,
    result: Option<ExecReport>,
    release: Option<String>,
    switch: SwitchReport,
) -> Outcome {
    Outcome {
        command,
        dry_run: result.is_none(),
        plan,
        result,
        invalidation: None,
        release,
        switch: Some(switch),
        verify: None,
    }
}

/// The record of release `id` after `planned` ran (`result`): every key of the release, in
/// the pool or its prefix, with the version it has (written now, else as listed), and what
/// makes it live.
fn record_of(
    planned: &AtomicPlan,
    (result, tree): (&ExecReport, &LocalTree),
    listing: &RemoteListing,
    (id, now): (&str, SystemTime),
    config: &DeployConfig,
    work: &EdgeWork,
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
    // The MD5 of the whole content, whatever the ETag (a multipart upload's is not one).
    let md5_of: BTreeMap<&str, String> = tree
        .files
        .iter()
        .map(|f| (f.rel.as_str(), crate::core::etag::hex(&f.md5)))
        .collect();
    let md5 = |rel: &str| md5_of.get(rel).cloned().unwrap_or_default();
    for action in &planned.plan.actions {
        let Some(w) = written.get(action.key.as_str()) else {
            continue;
        };
        let rel = key_rel(&action.key, &config.site.prefix, &releases);
        let headers = config.headers.headers_for(rel, &planned.plan.evidence);
        let entry = released(
            (w.version_id.clone(), w.etag.clone()),
            md5(rel),
            action.size,
            &headers,
        );
        objects.insert(action.key.clone(), entry);
    }
    // Pool files left alone: as listed (their versions do not matter: they never change).
    for rel in &planned.placement.pool {
        let key = format!("{}{rel}", config.site.prefix);
        if let (false, Some(o)) = (objects.contains_key(&key), listed.get(key.as_str())) {
            let headers = config.headers.headers_for(rel, &planned.plan.evidence);
            let entry = released((None, Some(o.etag.clone())), md5(rel), o.size, &headers);
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
        routing: work.routing.as_ref().map(|r| r.code.clone()),
        routing_inputs: work.routing.as_ref().map(|r| r.inputs.clone()),
        headers: work.headers.as_ref().map(|h| h.table.clone()),
        preview: config.preview.clone(),
        ..Release::default()
    }
}

/// The entry of preview `name`, showing release `id` from `now`.
fn preview_entry(name: &str, id: &str, now: SystemTime, site: &Site) -> preview::Entry {
    preview::Entry {
        name: name.to_owned(),
        release: id.to_owned(),
        time: apply::record_time(now),
        url: site
            .preview_domain
            .as_deref()
            .map(|domain| preview::url(name, domain))
            .unwrap_or_default(),
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

/// A recorded object: its version and ETag, the MD5 of its content, size, and the headers it
/// was written with.
fn released(
    (version_id, etag): (Option<String>, Option<String>),
    content_md5: String,
    size: u64,
    headers: &crate::core::object_headers::Headers,
) -> ReleasedObject {
    ReleasedObject {
        version_id,
        size,
        content_md5,
        etag: etag.unwrap_or_default(),
        content_type: headers.content_type.as_str().into(),
        cache_control: headers.cache_control.as_str().into(),
    }
}

/// The record of release `id`, when there is one that reads.
async fn read<S: ObjectStore>(store: &Arc<S>, site: &Site, id: &str) -> Result<Option<Release>> {
    survey::record_by_id(&**store, &site.state_prefix, id).await
}

/// Refuses an in-place run on a site whose newest release is atomic, unless it moves the site
/// back with the plain routing function (`routing`): the atomic function reads the release from
/// the KeyValueStore, so in-place writes would not be served until it is replaced. (An in-place
/// plan never touches `_releases/`, so the atomic function keeps serving until then.)
pub(crate) fn refuse_atomic_site(
    newest: Option<&Release>,
    site: &crate::config::Site,
    routing: bool,
) -> Result<()> {
    match newest {
        Some(release) if release.atomic.is_some() && !routing => Err(Error::Usage(format!(
            "the newest release of {} (`{}`) is an atomic release, switched by a KeyValueStore \
             pointer; nothing was written. Pass --atomic (or set atomic = true in \
             shipfront.toml), or deploy with --routing to move the site back to in-place \
             deploys",
            site.target(),
            release.id
        ))),
        _ => Ok(()),
    }
}

/// What an atomic rollback switches from and to, checked before any write.
#[derive(Debug)]
pub(crate) struct RollbackTarget {
    /// `live` as stored now: the switch is conditional on it.
    live_value: String,
    live: Pointer,
    /// The release switched to, as recorded.
    pub(crate) release: Release,
    pointer: Pointer,
    /// The newest record's id, which the rollback's own record sorts after.
    newest: String,
    /// The preview whose release this is, when `promote` switches to it.
    pub(crate) promoted: Option<String>,
}

/// The release preview `name` shows, as its KeyValueStore key says.
///
/// # Errors
/// No such preview (exit 2), or one whose pointer shipfront did not write.
pub(crate) async fn preview_release<K: KeyValueStore>(kvs: &K, name: &str) -> Result<String> {
    let (value, _) = kvs.get(&preview::key(name)).await?;
    let Some(value) = value else {
        return Err(Error::Usage(format!(
            "KeyValueStore `{}` has no preview `{name}`: `shipfront previews` lists them",
            kvs.name()
        )));
    };
    let pointer: Pointer = serde_json::from_str(&value).map_err(|e| {
        Error::Usage(format!(
            "preview `{name}` holds no pointer shipfront wrote ({e}): deploy it again"
        ))
    })?;
    Ok(pointer.release)
}

/// The release a rollback of an atomic site switches `live` to: `to` (default: the one before
/// the live one), checked to be an atomic release whose objects are all still there.
///
/// # Errors
/// Nothing live, no such release, or one whose objects are gone (exit 2, before any write).
pub(crate) async fn rollback_target<S: ObjectStore, K: KeyValueStore>(
    store: &Arc<S>,
    kvs: &K,
    site: &Site,
    to: Option<&str>,
) -> Result<RollbackTarget> {
    let Some((live_value, live)) = live_pointer(kvs).await? else {
        return Err(Error::Usage(format!(
            "nothing is live in KeyValueStore `{}` yet: deploy first",
            kvs.name()
        )));
    };
    let (target, newest) = choose(store, site, to, &live.release).await?;
    let Some(atomic) = target.atomic.clone() else {
        return Err(Error::Usage(format!(
            "release `{}` was not an atomic release: it has no pointer to switch back to \
             (an in-place release is restored by a rollback without --atomic)",
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
    Ok(RollbackTarget {
        live_value,
        live,
        release: target,
        pointer,
        newest,
        promoted: None,
    })
}

/// Switches `live` to `target`: one pointer write, no object write, no invalidation; then
/// publishes the edge `work` (the target's routing function and headers, where they differ).
///
/// # Errors
/// A switch that raced another; the lock held by another run.
pub(crate) async fn rollback<S: ObjectStore, C: Cdn, K: KeyValueStore>(
    ports: &Ports<'_, S, C, K>,
    target: &RollbackTarget,
    work: &EdgeWork,
    (site, publish): (&Site, &crate::config::Publish),
    started: Instant,
) -> Result<Outcome> {
    let id = target.release.id.clone();
    let command = match &target.promoted {
        Some(name) => Command::Promote {
            name: name.clone(),
            to: id.clone(),
        },
        None => Command::Rollback { to: id.clone() },
    };
    let plan = atomic::empty_plan(&site.bucket, &site.prefix);
    if target.live.release == id {
        return Ok(Outcome {
            command,
            dry_run: publish.dry_run,
            plan,
            result: (!publish.dry_run).then(ExecReport::default),
            invalidation: None,
            release: None,
            switch: None,
            verify: None,
        });
    }
    let from = Some(target.live.release.clone());
    let mut switch = SwitchReport::planned(ports.kvs_name, &id, from, 0);
    let pages = error_pages(ports.edge).await?;
    let own = format!("{}{RELEASES_DIR}{id}/", site.prefix);
    let source = |rel: &str| -> Option<PageSource> {
        let key = format!("{own}{rel}");
        let recorded = target.release.objects.get(&key)?;
        Some((key, recorded.version_id.clone(), recorded.etag.clone()))
    };
    let copies = error_page_copies(ports.store, site, &pages, source).await?;
    let mut plan = plan;
    plan.actions = copies;
    let (Some(kvs), false) = (ports.kvs, publish.dry_run) else {
        return Ok(outcome(command, plan, None, None, switch));
    };
    let policy = Some(publish.lock);
    let (switched, elapsed, (mut result, recorded)) =
        apply::under_lock(ports.store, site, "rollback", policy, async |fence| {
            fence.check()?;
            let expected = Some(target.live_value.as_str());
            let switched = switch::switch(kvs, &target.pointer, &[], expected).await?;
            let elapsed = started.elapsed();
            let mut result = ExecReport::default();
            copy_error_pages(ports.store, &plan, publish, &fence, &mut result).await?;
            let record = rollback_record(target, &result);
            fence.check()?;
            apply::write_record(&**ports.store, &site.state_prefix, &record).await?;
            if let Some(edge) = ports.edge {
                fence.check()?;
                work.publish(edge).await?;
            }
            Ok((switched, elapsed, (result, record.id)))
        })
        .await?;
    switch.done(switched.etag, switched.writes, elapsed);
    result.elapsed = started.elapsed();
    Ok(outcome(command, plan, Some(result), Some(recorded), switch))
}

/// The record of a rollback to `target`: a release of its own, newer than every record, whose
/// objects and pointer are the target's (`releases` lists it as "rollback to ..."; `live`
/// still names the target's folder).
fn rollback_record(target: &RollbackTarget, result: &ExecReport) -> Release {
    let now = SystemTime::now();
    let id = crate::core::new_release::rollback_id(now, &target.release.id, &target.newest);
    let current = BTreeMap::new();
    let time = apply::record_time(now);
    let mut record =
        crate::core::new_release::of_rollback(&target.release, None, &current, result, id, time);
    if let Some(name) = &target.promoted {
        record.message = Some(format!("promote {name} ({})", target.release.id));
    }
    record
}

/// The release a rollback switches to: `to`, else the newest recorded one older than `live`;
/// and the newest record's id.
async fn choose<S: ObjectStore>(
    store: &Arc<S>,
    site: &Site,
    to: Option<&str>,
    live: &str,
) -> Result<(Release, String)> {
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
    let newest = ids
        .last()
        .map_or_else(|| id.to_owned(), |newest| (*newest).to_owned());
    let target = read(store, site, id)
        .await?
        .ok_or_else(|| Error::Usage(format!("the record of release `{id}` cannot be read")))?;
    Ok((target, newest))
}

/// Refuses a target whose objects are not all in the bucket any more (pruned, deleted). Only
/// the folders that hold them are listed (its own folder, the pool folders it uses), not every
/// kept release.
async fn check_objects_kept<S: ObjectStore>(
    store: &Arc<S>,
    site: &Site,
    target: &Release,
) -> Result<()> {
    let mut present = std::collections::BTreeSet::new();
    for folder in folders_of(target.objects.keys().map(String::as_str), &site.prefix) {
        let listing = store.list(&folder).await?;
        present.extend(listing.objects.into_iter().map(|o| o.key));
    }
    let missing: Vec<&String> = target
        .objects
        .keys()
        .filter(|key| !present.contains(*key))
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

/// The fewest key prefixes (folders, each ending in `/`, or the site `prefix`) that cover
/// `keys`: no prefix listed twice, none inside another.
fn folders_of<'k>(keys: impl Iterator<Item = &'k str>, prefix: &str) -> Vec<String> {
    let mut folders: Vec<String> = keys
        .map(|key| match key.rfind('/') {
            Some(end) if end + 1 > prefix.len() => key[..=end].to_owned(),
            _ => prefix.to_owned(),
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    // Sorted, a folder comes right after any folder that holds it.
    let mut kept: Vec<String> = Vec::new();
    for folder in folders.drain(..) {
        if !kept.last().is_some_and(|k| folder.starts_with(k.as_str())) {
            kept.push(folder);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::fixtures::{block_on, deploy_config, tree};

    #[test]
    fn the_folders_listed_cover_every_key_once() {
        let keys = [
            "site/_releases/r1/index.html",
            "site/_releases/r1/about/index.html",
            "site/assets/app-1.js",
            "site/assets/fonts/a-1.woff2",
            "site/_next/static/chunks/x-1.js",
        ];
        assert_eq!(
            folders_of(keys.into_iter(), "site/"),
            [
                "site/_next/static/chunks/",
                "site/_releases/r1/",
                "site/assets/"
            ]
        );
        assert_eq!(folders_of(["top.html"].into_iter(), ""), [""]);
    }
    use crate::store::memory::{MemoryCdn, MemoryKvs, MemoryStore};
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

    fn deployed(store: &Arc<MemoryStore>, kvs: &MemoryKvs, build: &LocalTree) -> Result<Outcome> {
        deployed_with(store, kvs, build, &deploy_config())
    }

    fn deployed_with(
        store: &Arc<MemoryStore>,
        kvs: &MemoryKvs,
        build: &LocalTree,
        config: &DeployConfig,
    ) -> Result<Outcome> {
        let ports = Ports {
            store,
            edge: None::<&Edge<Arc<MemoryCdn>>>,
            kvs: Some(kvs),
            kvs_name: "kvs",
        };
        let work = EdgeWork::default();
        block_on(deploy(&ports, &work, config, build, Instant::now()))
    }

    /// Release `n` of a site whose page and chunk change every time, with a data file that
    /// is rewritten under its own name in a pool folder (an exception key per release).
    fn release_build(n: u32) -> LocalTree {
        let chunk = format!("assets/app-{:08x}.js", 0x1a2b_3c00 + n);
        tree(&[
            ("index.html", format!("home {n}").as_str()),
            (chunk.as_str(), format!("app {n}").as_str()),
            ("assets/vendor-Cwq-3PKq.js", "vendor"),
            ("assets/b-DkQx9_2a.css", "css"),
            ("assets/data.json", format!("data {n}").as_str()),
        ])
    }

    /// Retention after the switch: with `keep_releases = 2` and no grace, the third deploy
    /// deletes the first release's prefix, the pool chunk only it used and its exception key;
    /// the shared pool files and the kept releases stay. Over `--max-deletes`, refused first.
    #[test]
    fn retention_prunes_the_oldest_release_once_the_new_one_is_live() {
        let (store, kvs) = (Arc::new(MemoryStore::new("b")), MemoryKvs::default());
        let mut config = deploy_config();
        config.keep_releases = 2;
        let first = deployed_with(&store, &kvs, &release_build(1), &config).expect("1");
        let first = made_live(&first);
        let keys = |store: &MemoryStore| -> Vec<String> {
            store.with_objects(|o| {
                let present = o.keys.keys().filter(|k| o.current(k).is_some());
                present
                    .filter(|k| !k.starts_with(".shipfront/"))
                    .cloned()
                    .collect()
            })
        };
        let exception = atomic::exception_key(&first, "/assets/data.json");
        let has_key =
            |kvs: &MemoryKvs, key: &str| crate::store::memory::lock(&kvs.keys).contains_key(key);
        deployed_with(&store, &kvs, &release_build(2), &config).expect("2");
        let before = keys(&store);
        assert!(has_key(&kvs, &exception), "{exception}");
        let mut strict = config.clone();
        strict.publish.max_deletes = 1;
        let err = deployed_with(&store, &kvs, &release_build(3), &strict).unwrap_err();
        assert!(matches!(err, Error::TooManyDeletes { .. }), "{err}");
        assert_eq!(keys(&store), before, "refused before any write");
        let third = deployed_with(&store, &kvs, &release_build(3), &config).expect("3");
        let result = third.result.expect("ran");
        let gone: Vec<&String> = before
            .iter()
            .filter(|k| !keys(&store).contains(k))
            .collect();
        assert_eq!(result.deleted, gone.len());
        assert!(
            gone.iter()
                .all(|k| k.starts_with(&format!("_releases/{first}/"))
                    || k.as_str() == "assets/app-1a2b3c01.js"),
            "{gone:?}"
        );
        assert!(
            gone.contains(&&"assets/app-1a2b3c01.js".to_owned()),
            "{gone:?}"
        );
        assert!(
            gone.contains(&&format!("_releases/{first}/index.html")),
            "{gone:?}"
        );
        let now = keys(&store);
        for kept in ["assets/vendor-Cwq-3PKq.js", "assets/app-1a2b3c02.js"] {
            assert!(now.contains(&kept.to_owned()), "{kept}");
        }
        assert!(
            !has_key(&kvs, &exception),
            "the pruned release's exception key"
        );
    }

    /// The id of the release `outcome` made live.
    /// A preview deploy uploads its release and points `p/NAME` at it, writes its entry and a
    /// record naming it, and leaves `live` where it was. The next deploy's retention keeps the
    /// preview's release however old it grows; the live site's next deploy copies from `live`,
    /// not from the preview.
    #[test]
    fn a_preview_leaves_live_alone_and_keeps_its_release() {
        let (store, kvs) = (Arc::new(MemoryStore::new("b")), MemoryKvs::default());
        let mut config = deploy_config();
        config.keep_releases = 1;
        config.site.atomic = true;
        config.site.preview_domain = Some("preview.example.com".to_owned());
        let first = deployed_with(&store, &kvs, &release_build(1), &config).expect("1");
        let live_id = made_live(&first);
        let mut preview = config.clone();
        preview.preview = Some("pr-7".to_owned());
        let shown = deployed_with(&store, &kvs, &release_build(2), &preview).expect("preview");
        let switch = shown.switch.as_ref().expect("a switch");
        assert_eq!(switch.key, "p/pr-7");
        let url = switch.preview.as_ref().map(|p| p.url.as_str());
        assert_eq!(url, Some("https://pr-7.preview.example.com/"));
        let preview_id = switch.release.clone();
        assert_eq!(live(&kvs).release, live_id, "live unchanged");
        let pointed = crate::store::memory::lock(&kvs.keys).get("p/pr-7").cloned();
        let pointed: Pointer = serde_json::from_str(&pointed.expect("p/pr-7")).expect("pointer");
        assert_eq!(pointed.release, preview_id);
        let entries = block_on(super::super::previews::entries(&*store, ".shipfront/"));
        let entries = entries.expect("entries");
        assert_eq!(entries.len(), 1);
        assert_eq!(
            (entries[0].name.as_str(), entries[0].release.as_str()),
            ("pr-7", preview_id.as_str())
        );
        let record = block_on(read(&store, &config.site, &preview_id)).expect("read");
        assert_eq!(record.and_then(|r| r.preview), Some("pr-7".to_owned()));
        // Two live deploys later, with one release kept, the preview's release is still whole.
        for n in [3, 4] {
            deployed_with(&store, &kvs, &release_build(n), &config).expect("live deploy");
        }
        let page = format!("_releases/{preview_id}/index.html");
        assert!(
            store.with_objects(|o| o.current(&page).is_some()),
            "{page} kept"
        );
        let first_page = format!("_releases/{live_id}/index.html");
        assert!(
            store.with_objects(|o| o.current(&first_page).is_none()),
            "{first_page} pruned"
        );
        // Removed (its key, then its entry), the preview keeps nothing: the next deploy prunes
        // its release.
        block_on(switch::delete_keys(&kvs, &["p/pr-7".to_owned()])).expect("key");
        block_on(super::super::previews::delete_entry(
            &*store,
            ".shipfront/",
            "pr-7",
        ))
        .expect("entry");
        deployed_with(&store, &kvs, &release_build(5), &config).expect("after removal");
        assert!(
            store.with_objects(|o| o.current(&page).is_none()),
            "{page} pruned"
        );
    }

    fn made_live(outcome: &Outcome) -> String {
        outcome.switch.as_ref().expect("a switch").release.clone()
    }

    fn live(kvs: &MemoryKvs) -> Pointer {
        let value = crate::store::memory::lock(&kvs.keys).get(LIVE_KEY).cloned();
        serde_json::from_str(&value.expect("a live pointer")).expect("a pointer")
    }

    #[test]
    fn a_deploy_writes_its_release_then_switches_the_pointer_to_it() {
        let (store, kvs) = (Arc::new(MemoryStore::new("b")), MemoryKvs::default());
        let first = deployed(&store, &kvs, &v1()).expect("v1");
        let id = made_live(&first);
        assert_eq!(first.release.as_ref(), Some(&id), "recorded");
        assert_eq!(live(&kvs).release, id);
        assert_eq!(live(&kvs).pool_folders, ["/assets/"]);
        assert_eq!(first.plan.actions.len(), 5);
        assert_eq!(first.result.as_ref().map(|r| r.uploaded), Some(5));
        assert_eq!(
            first.switch.as_ref().map(|s| s.writes),
            Some(1),
            "the pointer"
        );
        let in_release = |rel: &str| format!("_releases/{id}/{rel}");
        for key in [in_release("index.html"), in_release("logo.png")] {
            assert!(store.with_objects(|o| o.current(&key).is_some()), "{key}");
        }
        assert!(store.with_objects(|o| o.current("assets/app-BbXQDiXP.js").is_some()));
        let in_place = store.with_objects(|o| o.current("index.html").is_some());
        assert!(!in_place, "nothing in place");
        let record = block_on(read(&store, &deploy_config().site, &id))
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
        let id = &made_live(&second);
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
        let old = format!("_releases/{}/index.html", made_live(&first));
        let md5 = store.with_objects(|o| o.current(&old).map(|v| v.content_md5.clone()));
        let home_1 = crate::core::etag::hex(&md5::Md5::digest(b"home 1"));
        assert_eq!(md5, Some(home_1), "the release before is kept");
    }

    /// The live release's build deployed again (a CI rerun, or after a rollback to it) makes
    /// no release: no write, no switch, so retention keeps the history it had.
    #[test]
    fn deploying_the_live_build_again_makes_no_release() {
        let (store, kvs) = (Arc::new(MemoryStore::new("b")), MemoryKvs::default());
        let first = made_live(&deployed(&store, &kvs, &v1()).expect("v1"));
        let (objects, switches) = (store.calls().len(), kvs.calls().len());
        let again = deployed(&store, &kvs, &v1()).expect("again");
        assert!(
            again.switch.is_none() && again.release.is_none(),
            "{again:?}"
        );
        assert_eq!(again.plan.unchanged, 5);
        let writes = |calls: &[String]| {
            calls
                .iter()
                .filter(|c| {
                    !c.starts_with("List") && !c.starts_with("Get") && !c.starts_with("Head")
                })
                .count()
        };
        assert_eq!(writes(&store.calls()[objects..]), 0, "{:?}", store.calls());
        let updates = kvs.calls()[switches..]
            .iter()
            .filter(|c| c.starts_with("UpdateKeys"))
            .count();
        assert_eq!(updates, 0);
        assert_eq!(live(&kvs).release, first);
        // A changed build is a release again.
        let second = deployed(&store, &kvs, &v2()).expect("v2");
        assert!(second.switch.is_some());
    }

    /// The error page the distribution names is fetched without the function, so it is kept
    /// at its own key, as the live release has it: after each deploy's switch, and after a
    /// rollback's (the only object a rollback writes); left alone when it is already right.
    #[test]
    fn the_error_page_follows_the_live_release_at_its_own_key() {
        use crate::core::spa::ErrorResponse;
        let (store, kvs) = (Arc::new(MemoryStore::new("b")), MemoryKvs::default());
        let cdn = Arc::new(MemoryCdn::default());
        crate::store::memory::lock(&cdn.spa).error_responses = vec![ErrorResponse {
            error_code: 404,
            page: Some("/404.html".into()),
            response_code: Some("404".into()),
        }];
        let edge = Edge {
            cdn,
            distribution: "E1".into(),
            origin_path: String::new(),
        };
        let ports = Ports {
            store: &store,
            edge: Some(&edge),
            kvs: Some(&kvs),
            kvs_name: "kvs",
        };
        let build = |n: &str, page: &str| {
            tree(&[
                ("index.html", n),
                ("404.html", page),
                ("assets/app-BbXQDiXP.js", "a"),
            ])
        };
        let config = deploy_config();
        let deploy_build = |b: &LocalTree| {
            block_on(deploy(
                &ports,
                &EdgeWork::default(),
                &config,
                b,
                Instant::now(),
            ))
        };
        let page = || store.with_objects(|o| o.current("404.html").map(|v| v.content_md5.clone()));
        let md5 = |body: &str| Some(crate::core::etag::hex(&md5::Md5::digest(body.as_bytes())));
        let first = deploy_build(&build("1", "not found 1")).expect("1");
        assert_eq!(first.result.as_ref().map(|r| r.copied), Some(1), "the page");
        assert_eq!(page(), md5("not found 1"));
        // Same page, other home: the page is left alone.
        let second = deploy_build(&build("2", "not found 1")).expect("2");
        let copied_page = |o: &Outcome| o.plan.actions.iter().any(|a| a.key == "404.html");
        assert!(!copied_page(&second), "{:?}", second.plan.actions);
        deploy_build(&build("3", "not found 3")).expect("3");
        assert_eq!(page(), md5("not found 3"));
        let rollback_config = crate::run::fixtures::rollback_config();
        let back = block_on(async {
            let to = Some(made_live(&first));
            let target = rollback_target(&store, &kvs, &config.site, to.as_deref()).await?;
            let site = (&rollback_config.site, &rollback_config.publish);
            rollback(&ports, &target, &EdgeWork::default(), site, Instant::now()).await
        })
        .expect("rolled back");
        assert_eq!(back.result.map(|r| r.copied), Some(1));
        assert_eq!(page(), md5("not found 1"));
    }

    /// A file uploaded in parts (its ETag is no MD5) is carried to the next release by a copy,
    /// as any other: the record keeps the MD5 of its content beside the ETag.
    #[test]
    fn a_multipart_file_is_copied_to_the_next_release_not_uploaded() {
        let (store, kvs) = (Arc::new(MemoryStore::new("b")), MemoryKvs::default());
        let with_video = |home: &str| {
            let mut build = tree(&[("index.html", home)]);
            let mut video = crate::run::fixtures::local_file("media/intro.mp4", "frames");
            video.multipart = Some(crate::core::etag::MultipartDigest {
                part_size: 3,
                part_md5s: vec![
                    md5::Md5::digest(b"fra").into(),
                    md5::Md5::digest(b"mes").into(),
                ],
            });
            build.files.push(Arc::new(video));
            build
        };
        deployed(&store, &kvs, &with_video("1")).expect("1");
        let second = deployed(&store, &kvs, &with_video("2")).expect("2");
        let video = second
            .plan
            .actions
            .iter()
            .find(|a| a.key.ends_with("media/intro.mp4"))
            .expect("in the release");
        assert!(
            matches!(video.op, crate::core::plan::Op::Copy { .. }),
            "{video:?}"
        );
    }

    /// Promote is one pointer write: `live` switched to the release the preview shows, no
    /// object written, recorded as "promote NAME (ID)"; a preview that is not there is refused.
    #[test]
    fn promote_is_one_pointer_write_to_the_previews_release() {
        let (store, kvs) = (Arc::new(MemoryStore::new("b")), MemoryKvs::default());
        let mut config = deploy_config();
        config.site.atomic = true;
        config.site.preview_domain = Some("preview.example.com".to_owned());
        deployed_with(&store, &kvs, &release_build(1), &config).expect("live");
        let mut preview = config.clone();
        preview.preview = Some("pr-7".to_owned());
        let shown = deployed_with(&store, &kvs, &release_build(2), &preview).expect("preview");
        let shown = made_live(&shown);
        let (objects, switches) = (store.calls().len(), kvs.calls().len());
        let rollback_config = crate::run::fixtures::rollback_config();
        let promoted = block_on(async {
            let to = preview_release(&kvs, "pr-7").await?;
            let mut target = rollback_target(&store, &kvs, &config.site, Some(&to)).await?;
            target.promoted = Some("pr-7".to_owned());
            let ports = Ports {
                store: &store,
                edge: None::<&Edge<Arc<MemoryCdn>>>,
                kvs: Some(&kvs),
                kvs_name: "kvs",
            };
            let site = (&rollback_config.site, &rollback_config.publish);
            rollback(&ports, &target, &EdgeWork::default(), site, Instant::now()).await
        })
        .expect("promoted");
        assert_eq!(live(&kvs).release, shown);
        let kvs_calls = kvs.calls();
        let updates = kvs_calls[switches..]
            .iter()
            .filter(|c| c.starts_with("UpdateKeys"))
            .count();
        assert_eq!(updates, 1, "{kvs_calls:?}");
        let calls = store.calls();
        let written = calls[objects..]
            .iter()
            .filter(|c| c.starts_with("PutObject") || c.starts_with("CopyObject"))
            .filter(|c| !c.contains(".shipfront/"))
            .count();
        assert_eq!(written, 0, "{calls:?}");
        let id = promoted.release.expect("recorded");
        let record = block_on(read(&store, &config.site, &id)).unwrap().unwrap();
        assert_eq!(record.message, Some(format!("promote pr-7 ({shown})")));
        let none = block_on(preview_release(&kvs, "pr-8")).unwrap_err();
        assert!(none.to_string().contains("no preview `pr-8`"), "{none}");
    }

    /// A rollback is one pointer write: no object is written.
    #[test]
    fn a_rollback_switches_the_pointer_back_and_writes_no_object() {
        let (store, kvs) = (Arc::new(MemoryStore::new("b")), MemoryKvs::default());
        let first = deployed(&store, &kvs, &v1()).expect("v1");
        deployed(&store, &kvs, &v2()).expect("v2");
        let (objects, switches) = (store.calls().len(), kvs.calls().len());
        let config = crate::run::fixtures::rollback_config();
        let back = block_on(async {
            let target = rollback_target(&store, &kvs, &config.site, None).await?;
            let ports = Ports {
                store: &store,
                edge: None::<&Edge<Arc<MemoryCdn>>>,
                kvs: Some(&kvs),
                kvs_name: "kvs",
            };
            let work = EdgeWork::default();
            let site = (&config.site, &config.publish);
            rollback(&ports, &target, &work, site, Instant::now()).await
        })
        .expect("rolled back");
        let first = made_live(&first);
        assert_eq!(made_live(&back), first);
        assert!(back.plan.actions.is_empty());
        assert_eq!(live(&kvs).release, first);
        let calls = store.calls();
        let written: Vec<&String> = calls[objects..]
            .iter()
            .filter(|c| c.starts_with("PutObject") || c.starts_with("CopyObject"))
            .filter(|c| !c.contains(".shipfront/"))
            .collect();
        assert!(written.is_empty(), "{written:?}");
        // The rollback's own record: newer than every other, the target's objects and pointer.
        let id = back.release.expect("recorded");
        let record = block_on(read(&store, &config.site, &id))
            .expect("read")
            .expect("written");
        assert_eq!(record.message, Some(format!("rollback to {first}")));
        let target = block_on(read(&store, &config.site, &first))
            .unwrap()
            .unwrap();
        assert_eq!(
            (record.objects, record.atomic),
            (target.objects, target.atomic)
        );
        // The default target of the next rollback is still the one before the live release.
        let again = block_on(rollback_target(&store, &kvs, &config.site, None)).unwrap_err();
        assert!(
            again.to_string().contains("no release is recorded before"),
            "{again}"
        );
        let updates = kvs.calls()[switches..]
            .iter()
            .filter(|c| c.starts_with("UpdateKeys"))
            .count();
        assert_eq!(updates, 1, "{:?}", kvs.calls());
    }

    /// A target whose objects are gone (pruned, deleted by hand) is refused before any write,
    /// naming the first missing object; `live` stays.
    #[test]
    fn a_rollback_to_a_release_missing_objects_is_refused() {
        let (store, kvs) = (Arc::new(MemoryStore::new("b")), MemoryKvs::default());
        let first = made_live(&deployed(&store, &kvs, &v1()).expect("v1"));
        let second = made_live(&deployed(&store, &kvs, &v2()).expect("v2"));
        let gone = format!("_releases/{first}/logo.png");
        store.with_objects(|o| o.delete(&gone));
        let config = crate::run::fixtures::rollback_config();
        let err = block_on(rollback_target(&store, &kvs, &config.site, None)).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(
            err.to_string().contains(&format!("(first: `{gone}`)")),
            "{err}"
        );
        assert_eq!(live(&kvs).release, second);
    }

    /// Killed (a write failed) before the switch: the live release is untouched.
    #[test]
    fn a_deploy_that_fails_before_the_switch_leaves_the_live_release() {
        let (store, kvs) = (Arc::new(MemoryStore::new("b")), MemoryKvs::default());
        let first = deployed(&store, &kvs, &v1()).expect("v1");
        store.fail_key("PutObject", "assets/app-DkQx9_2a.js");
        let updates = kvs.calls().len();
        deployed(&store, &kvs, &v2()).unwrap_err();
        assert_eq!(live(&kvs).release, made_live(&first));
        assert_eq!(
            kvs.calls().len(),
            updates + 1,
            "read, never written: {:?}",
            kvs.calls()
        );
    }

    /// The folder a deploy left when it stopped before its switch (no record) is pruned by the
    /// next deploy that goes live; the live release and the kept ones stay.
    #[test]
    fn an_abandoned_release_folder_is_pruned_by_the_next_deploy() {
        let (store, kvs) = (Arc::new(MemoryStore::new("b")), MemoryKvs::default());
        let first = made_live(&deployed(&store, &kvs, &v1()).expect("v1"));
        store.fail_key("PutObject", "assets/app-DkQx9_2a.js");
        deployed(&store, &kvs, &v2()).unwrap_err();
        let folders = || -> std::collections::BTreeSet<String> {
            store.with_objects(|o| {
                let present = o.keys.keys().filter(|k| o.current(k).is_some());
                present
                    .filter_map(|k| k.strip_prefix("_releases/")?.split('/').next())
                    .map(str::to_owned)
                    .collect()
            })
        };
        assert_eq!(
            folders().len(),
            2,
            "the stopped deploy's copies: {:?}",
            folders()
        );
        store.clear_faults();
        let third = made_live(&deployed(&store, &kvs, &v2()).expect("v2 again"));
        assert_eq!(folders(), [first, third].into_iter().collect());
    }

    /// Hostile state: a `live` key shipfront did not write stops a deploy and a rollback before
    /// any write, naming the key and the store; a record whose pointer was changed by hand
    /// cannot be rolled back to.
    #[test]
    fn a_tampered_pointer_or_record_is_refused_before_any_write() {
        let (store, kvs) = (Arc::new(MemoryStore::new("b")), MemoryKvs::default());
        let first = made_live(&deployed(&store, &kvs, &v1()).expect("v1"));
        made_live(&deployed(&store, &kvs, &v2()).expect("v2"));
        let config = crate::run::fixtures::rollback_config();
        // The record of the first release, its pointer replaced.
        let key = release::record_key(&config.site.state_prefix, &first);
        let mut record = block_on(read(&store, &config.site, &first))
            .unwrap()
            .unwrap();
        if let Some(atomic) = record.atomic.as_mut() {
            atomic.pointer = "not json".to_owned();
        }
        let body = serde_json::to_vec(&record).unwrap();
        block_on(store.put_bytes(&key, body, "application/json", None)).unwrap();
        let err = block_on(rollback_target(&store, &kvs, &config.site, None)).unwrap_err();
        assert_eq!(err.exit_code(), 2, "{err}");
        assert!(
            err.to_string()
                .contains("records no pointer shipfront wrote"),
            "{err}"
        );
        // `live` replaced by something else.
        kvs.put_now(LIVE_KEY, "{\"release\": 1}");
        let calls = store.calls().len();
        for err in [
            deployed(&store, &kvs, &v1()).unwrap_err(),
            block_on(rollback_target(&store, &kvs, &config.site, None)).unwrap_err(),
        ] {
            assert_eq!(err.exit_code(), 2, "{err}");
            assert!(
                err.to_string().contains("the `live` key of KeyValueStore"),
                "{err}"
            );
        }
        let writes = store.calls()[calls..]
            .iter()
            .filter(|c| c.starts_with("Put") || c.starts_with("Copy") || c.starts_with("Delete"))
            .count();
        assert_eq!(writes, 0, "{:?}", store.calls());
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
