//! The `deploy` command: scan, list, plan, check the distribution, execute, invalidate, report,
//! in that order, with every refusal before the first write.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use crate::config::DeployConfig;
use crate::core::error::{Error, Result};
use crate::core::exec_report::ExecReport;
use crate::core::objects::LocalTree;
use crate::core::objects::RemoteListing;
use crate::core::plan::Plan;
use crate::core::release::Release;
use crate::core::report::{Command, Outcome};
use crate::run::apply::{self, Recorder};
use crate::run::atomic;
use crate::run::edge::{self, Edge, EdgeWork};
use crate::store::{Cdn, KeyValueStore, ObjectStore};
use crate::{core::new_release, core::plan, core::spa, run::github, run::scan, run::survey};

/// Runs `shipfront deploy`: scans the folder, then deploys it to S3 (and CloudFront).
pub(crate) async fn run(config: DeployConfig) -> Result<()> {
    let started = Instant::now();
    let tree = scan_folder(&config).await?;
    // One connection for the deploy and, with --verify, what follows it.
    let aws = crate::aws::Connection::open(&config.site.bucket, &config.site.aws).await?;
    let cdn = config.publish.distribution_id.as_ref().map(|_| aws.cdn());
    let mut outcome = if config.site.atomic {
        let open = |arn: &str| aws.kvs(arn);
        Box::pin(deploy_atomic(
            aws.store(),
            cdn,
            open,
            &config,
            &tree,
            started,
        ))
        .await?
    } else {
        deploy(aws.store(), cdn, &config, &tree, started).await?
    };
    Box::pin(super::verify::after_deploy(
        &aws,
        &config,
        &mut outcome,
        started,
    ))
    .await?;
    apply::print(&outcome, config.publish.json)?;
    super::verify::failure(outcome.verify.as_ref())
}

/// Deploys `tree` as an atomic release (`--atomic`): the KeyValueStore found (or created), the
/// routing function that reads it checked before any write, then the release written beside
/// the live one and switched to.
pub(crate) async fn deploy_atomic<S: ObjectStore, C: Cdn, K: KeyValueStore>(
    store: Arc<S>,
    cdn: Option<C>,
    open: impl FnOnce(&str) -> K,
    config: &DeployConfig,
    tree: &LocalTree,
    started: Instant,
) -> Result<Outcome> {
    let publish = &config.publish;
    let edge = Edge::reach(cdn, publish.distribution_id.as_ref(), &config.site.bucket).await?;
    let Some(edge) = edge else {
        return Err(Error::Usage(
            "--atomic switches releases at CloudFront: pass --distribution-id ID too".to_owned(),
        ));
    };
    if publish.wait || publish.invalidate == crate::core::invalidate::Invalidate::All {
        github::warn(
            "an atomic deploy invalidates nothing (each release has its own cache keys): \
             --invalidate and --wait have no effect",
        );
    }
    // The bucket is read before the store may be created: a wrong bucket creates nothing.
    let releases = format!("{}{}", config.site.prefix, crate::core::plan::RELEASES_DIR);
    store.list_folders(&releases).await?;
    let name = config.site.key_value_store_name(&edge.distribution);
    let arn = atomic::key_value_store(&edge.cdn, &name, publish.dry_run).await?;
    let mut work = EdgeWork::of_deploy(config, tree, Some(&edge.origin_path))?;
    if let Some(routing) = work.routing.as_mut() {
        routing.key_value_store.clone_from(&arn);
    }
    let work = work.check(Some(&edge)).await?;
    if let Some(name) = &config.preview {
        previews_served(&edge, name, config).await?;
    }
    let kvs = arn.as_deref().map(open);
    let ports = atomic::Ports {
        store: &store,
        edge: Some(&edge),
        kvs: kvs.as_ref(),
        kvs_name: &name,
    };
    atomic::deploy(&ports, &work, config, tree, started).await
}

/// Refuses preview `name` before any write when the distribution does not answer
/// `*.<preview_domain>`, or its live routing function does not serve previews (a preview
/// deploy leaves the edge as it is).
async fn previews_served<C: Cdn>(edge: &Edge<C>, name: &str, config: &DeployConfig) -> Result<()> {
    let domain = config.site.preview_domain.as_deref().unwrap_or_default();
    let wildcard = format!("*.{domain}");
    let aliases = edge.cdn.aliases(&edge.distribution).await?;
    if !aliases.iter().any(|a| a.eq_ignore_ascii_case(&wildcard)) {
        return Err(Error::Usage(format!(
            "--preview {name}: distribution `{}` does not answer `{wildcard}`: add that \
             alternate name with a certificate covering it (shipfront doctor --atomic checks \
             it), and a DNS record sending it to the distribution",
            edge.distribution
        )));
    }
    let function = crate::core::routing::function_name(&edge.distribution);
    let live = edge.cdn.function_code(&function, true).await?;
    if live.is_some_and(|(code, _)| crate::core::atomic::serves_previews(&code, domain)) {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "--preview {name}: the routing function live on distribution `{}` does not serve \
         previews at *.{domain} yet; deploy the live site once with preview_domain set \
         (shipfront deploy DIR), then its previews",
        edge.distribution
    )))
}

/// Scans the build folder and refuses a folder that cannot deploy as it is.
async fn scan_folder(config: &DeployConfig) -> Result<LocalTree> {
    let scan_options = scan::ScanOptions {
        prefix: config.site.prefix.clone(),
        excludes: config.excludes.clone(),
        part_size: config.part_size,
        upload_precompressed: config.upload_precompressed,
    };
    let dir = config.dir.clone();
    let tree = tokio::task::spawn_blocking(move || scan::scan(&dir, &scan_options))
        .await
        .map_err(|e| Error::Internal(format!("scan task failed: {e}")))??;
    for warning in &tree.warnings {
        github::warn(warning);
    }
    let shadowed: Vec<&str> = tree
        .files
        .iter()
        .filter(|f| plan::is_state(&f.key, &config.site.prefix, &config.site.state_prefix))
        .map(|f| f.rel.as_str())
        .collect();
    // Such a file could never be deployed, nor its remote copy updated or deleted: refused.
    if let Some(first) = shadowed.first() {
        return Err(Error::Usage(format!(
            "{} file(s) of {} (first: `{first}`) would land under shipfront's state prefix \
             `{}`, where deploys keep their records and lock; rename or --exclude them, or pass \
             another --state-prefix",
            shadowed.len(),
            config.dir.display(),
            config.site.state_prefix
        )));
    }
    let reserved: Vec<&str> = tree
        .files
        .iter()
        .filter(|f| f.rel.starts_with(plan::RELEASES_DIR))
        .map(|f| f.rel.as_str())
        .collect();
    if let Some(first) = reserved.first() {
        return Err(Error::Usage(format!(
            "{} file(s) of {} (first: `{first}`) are under `{}`, the folder where atomic sites \
             keep their releases; rename or --exclude them",
            reserved.len(),
            config.dir.display(),
            plan::RELEASES_DIR
        )));
    }
    if tree.files.is_empty() {
        return Err(Error::EmptyFolder {
            dir: config.dir.clone(),
            target: config.site.target(),
        });
    }
    // Under --spa the fallback page must deploy, so no plan can delete it.
    if config.spa && !tree.files.iter().any(|f| f.rel == config.spa_fallback) {
        return Err(spa_no_fallback(config, &tree));
    }
    Ok(tree)
}

/// Deploys `tree` through the ports: surveys the bucket, takes the lock when there is
/// something to do and surveys again under it, checks the distribution before any write, and
/// applies the plan.
pub(crate) async fn deploy<S: ObjectStore, C: Cdn>(
    store: Arc<S>,
    cdn: Option<C>,
    config: &DeployConfig,
    tree: &LocalTree,
    started: Instant,
) -> Result<Outcome> {
    // The distribution is read before any write: a wrong id, or a viewer-request function or
    // response headers policy shipfront did not write, stops the deploy here.
    let publish = &config.publish;
    let edge = Edge::reach(cdn, publish.distribution_id.as_ref(), &config.site.bucket).await?;
    let origin_path = edge.as_ref().map(|e| e.origin_path.as_str());
    let work = EdgeWork::of_deploy(config, tree, origin_path)?
        .check(edge.as_ref())
        .await?;
    // A plan with nothing to do needs no lock (and so no write at all). Otherwise the lock is
    // taken and the bucket surveyed again, so the plan that runs is made on a bucket nobody
    // else is changing.
    let first = survey::survey(&store, config, tree, None).await?;
    atomic::refuse_atomic_site(first.live.as_ref(), &config.site, config.routing.is_some())?;
    let changes = !first.plan.is_empty() || work.changes();
    let policy = apply::lock_for(publish, first.live.as_ref(), changes);
    apply::under_lock(&store, &config.site, "deploy", policy, async |fence| {
        let locked = fence.holds_lock();
        let survey::Survey {
            listing,
            live,
            plan,
        } = if locked {
            // The first survey's plan and record are dropped before the second is made: only
            // its listing (the headers it read) serves again.
            let known = first.listing;
            drop((first.live, first.plan));
            survey::survey(&store, config, tree, Some(&known)).await?
        } else {
            first
        };
        // Under the lock, the edge is read again: another deploy may have changed it meanwhile.
        let work = if locked {
            work.check(edge.as_ref()).await?
        } else {
            work
        };
        // With routing, the function serves the SPA; the error-response fallback is not needed.
        if let Some(edge) = &edge
            && config.spa
            && work.routing.is_none()
        {
            // --fix-spa writes the distribution: only within the lease.
            fence.check()?;
            edge::check_spa(edge, &config.spa_fallback, config.fix_spa, publish.dry_run).await?;
        }
        for warning in &plan.warnings {
            github::warn(warning);
        }
        let recorder = DeployRecorder {
            store: &*store,
            config,
            tree,
            listing: &listing,
            // An atomic release's objects are not this site's keys: the versions are listed.
            previous: live.as_ref().filter(|r| r.atomic.is_none()),
            edge_changes: work.changes(),
        };
        let settings = apply::Settings::new(Command::Deploy, started, publish, &config.site, work)
            .fenced(fence);
        apply::apply(&store, edge.as_ref(), plan, &settings, &recorder).await
    })
    .await
}

/// Records a deploy: the live record's objects updated with what this deploy wrote.
struct DeployRecorder<'a, S> {
    store: &'a S,
    config: &'a DeployConfig,
    tree: &'a LocalTree,
    listing: &'a RemoteListing,
    previous: Option<&'a Release>,
    /// The routing function or the response headers change: a release even when no object
    /// does.
    edge_changes: bool,
}

impl<S: ObjectStore> Recorder for DeployRecorder<'_, S> {
    fn live(&self) -> Option<&Release> {
        self.previous
    }

    fn release_id(&self, now: SystemTime, plan: &Plan, result: &ExecReport) -> Option<String> {
        // A deploy that changed nothing records nothing.
        (!plan.is_empty() || self.edge_changes)
            .then(|| new_release::id_for(now, self.previous, result))
    }

    /// Version ids of objects that neither this deploy wrote nor the previous record covers
    /// come from one `ListObjectVersions` pass.
    async fn record(
        &self,
        id: String,
        time: String,
        plan: &Plan,
        result: &ExecReport,
    ) -> Result<Release> {
        let written: BTreeSet<&str> = result.writes.iter().map(|w| w.key.as_str()).collect();
        let listed = self.listing.etags();
        let needs_versions = self.tree.files.iter().any(|f| {
            !written.contains(f.key.as_str())
                && self
                    .previous
                    .and_then(|p| p.objects.get(&f.key))
                    .is_none_or(|r| Some(r.etag.as_str()) != listed.get(f.key.as_str()).copied())
        });
        let versions = if needs_versions {
            crate::core::objects::current_of(&self.store.versions(&self.config.site.prefix).await?)
        } else {
            BTreeMap::new()
        };
        Ok(new_release::of_deploy(
            id,
            time,
            self.config.message.clone(),
            &new_release::Deployed {
                tree: self.tree,
                listing: self.listing,
                report: result,
                previous: self.previous,
                headers: &self.config.headers,
                evidence: &plan.evidence,
                versions: &versions,
                kept: &plan.kept_assets,
            },
        ))
    }
}

/// The refusal of an SPA folder without its fallback page, naming the SPA fallback page the
/// folder does have (a SvelteKit SPA build has `200.html` and no `index.html`).
fn spa_no_fallback(config: &DeployConfig, tree: &LocalTree) -> Error {
    let page = &config.spa_fallback;
    let other = [spa::INDEX, spa::OTHER_FALLBACK]
        .into_iter()
        .filter(|p| p != page)
        .find(|p| tree.files.iter().any(|f| f.rel == *p));
    let hint = match other {
        Some(found) => format!(
            "; it has `{found}`{}: pass --spa-fallback {found}, or set spa_fallback = \
             \"{found}\" in shipfront.toml",
            if found == spa::OTHER_FALLBACK {
                " (the fallback page SvelteKit's adapter-static writes)"
            } else {
                ""
            }
        ),
        None => ": check the build output folder, or name the page with --spa-fallback".into(),
    };
    Error::SpaNoFallback {
        dir: config.dir.clone(),
        page: page.clone(),
        hint,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::commands::in_memory::*;
    use crate::core::error::Error;
    use crate::core::plan::Reason;
    use crate::run::fixtures::{block_on, deploy_config, now, tree};
    use crate::store::RemoteFailure;
    use crate::store::memory::{MemoryCdn, MemoryStore};

    #[test]
    fn an_unchanged_site_takes_no_lock_and_writes_nothing() {
        let (store, cdn) = deployed(&v1());
        let before = store.calls().len();
        let again = run_deploy(&store, &cdn, &v1());
        assert_eq!(again.release, None);
        assert_eq!(writes(&store.calls()[before..]), Vec::<&String>::new());
        assert!(cdn.sent().is_empty());
    }

    #[test]
    fn a_lock_held_elsewhere_refuses_before_any_write() {
        let (store, cdn) = fresh();
        let holder = format!(
            r#"{{"holder":"ci-runner-7","command":"deploy","started":"","refreshed":{}}}"#,
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
        );
        store.with_objects(|o| o.put(LOCK, holder.as_bytes()));
        let err = deploy_with(&store, &cdn, &deploy_config(), &v1()).unwrap_err();
        assert!(
            matches!(&err, Error::Locked { holder, .. } if holder == "ci-runner-7"),
            "{err}"
        );
        assert_eq!(
            writes(&store.calls()),
            ["PutObject .shipfront/lock"],
            "only the lock's conditional create was tried"
        );
    }

    #[test]
    fn the_plan_that_runs_is_made_under_the_lock() {
        let (store, cdn) = fresh();
        // Another deploy adds a page between our first look and our lock.
        store.before_nth("PutObject", 1, |o| {
            o.put("late.html", b"late");
        });
        let outcome = run_deploy(&store, &cdn, &v1());
        let calls = store.calls();
        let lock_at = calls.iter().position(|c| c == "PutObject .shipfront/lock");
        let relisted = calls.iter().rposition(|c| c == "ListObjectsV2");
        assert!(lock_at < relisted, "{calls:?}");
        assert!(
            outcome.plan.actions.iter().any(|a| a.key == "late.html"),
            "the page the other deploy wrote is seen (and deleted as stale)"
        );
        assert!(store.with_objects(|o| o.current("late.html").is_none()));
    }

    #[test]
    fn a_failed_invalidation_is_an_error_naming_the_way_out_and_frees_the_lock() {
        let (store, cdn) = deployed(&v1());
        cdn.fail_nth("CreateInvalidation", 1);
        let err = deploy_with(&store, &cdn, &deploy_config(), &v2()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("CreateInvalidation"), "{text}");
        assert!(
            text.contains("create-invalidation --distribution-id E1"),
            "{text}"
        );
        assert!(store.with_objects(|o| o.current(LOCK).is_none()));
    }

    /// The root page's write fails after the script was overwritten: the script's URL is
    /// invalidated all the same (a rerun finds it unchanged and would not).
    #[test]
    fn a_deploy_stopped_midway_invalidates_what_it_overwrote() {
        let (store, cdn) = deployed(&v1());
        store.fail_key("PutObject", "index.html");
        let err = deploy_with(&store, &cdn, &deploy_config(), &v2()).unwrap_err();
        assert!(matches!(&err, Error::DeployFailed { .. }), "{err}");
        let sent = cdn.sent();
        let last = sent.last().expect("an invalidation");
        assert_eq!(last.paths, ["/app.js"]);
        assert!(
            store.with_objects(|o| o.current(LOCK).is_none()),
            "released"
        );
    }

    /// And when that invalidation fails too, the live release records it pending: the rerun,
    /// which finds the script unchanged, sends it with its own.
    #[test]
    fn a_stopped_deploy_whose_invalidation_fails_leaves_it_pending_for_the_rerun() {
        let (store, cdn) = deployed(&v1());
        store.fail_key("PutObject", "index.html");
        let sent_before = cdn.sent().len();
        cdn.fail_nth("CreateInvalidation", 1);
        deploy_with(&store, &cdn, &deploy_config(), &v2()).unwrap_err();
        assert_eq!(cdn.sent().len(), sent_before, "the invalidation failed");
        assert_eq!(live_record(&store).pending_invalidation, ["/app.js"]);

        store.clear_faults();
        deploy_with(&store, &cdn, &deploy_config(), &v2()).expect("the rerun");
        let sent = cdn.sent();
        let last = sent.last().expect("the rerun's invalidation");
        assert!(
            last.paths.contains(&"/app.js".to_owned()) && last.paths.contains(&"/".to_owned()),
            "{:?}",
            last.paths
        );
        assert!(live_record(&store).pending_invalidation.is_empty());
    }

    #[test]
    fn a_failed_call_names_its_operation_bucket_and_key() {
        let (store, cdn) = fresh();
        store.fail_key("PutObject", "app.js");
        let err = deploy_with(&store, &cdn, &deploy_config(), &v1()).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("`app.js`") && text.contains("assets"),
            "{text}"
        );
        let store = Arc::new(MemoryStore::new("b"));
        store.fail_nth("ListObjectsV2", 1, RemoteFailure::AccessDenied);
        let err = block_on(deploy(
            Arc::clone(&store),
            None::<Arc<MemoryCdn>>,
            &deploy_config(),
            &v1(),
            now(),
        ))
        .unwrap_err();
        assert!(
            matches!(&err, Error::AccessDenied { operation: "ListObjectsV2", bucket, .. } if bucket == "b"),
            "{err}"
        );
    }

    #[test]
    fn the_first_deploy_onto_a_bucket_without_records_fixes_the_headers_it_finds() {
        let (store, cdn) = fresh();
        // What `aws s3 sync` left: the same bytes, no Cache-Control, a generic type.
        store.with_objects(|o| {
            for (key, body) in [
                ("index.html", "home 1"),
                ("about.html", "about 1"),
                ("app.js", "app 1"),
                ("old.css", "old"),
            ] {
                o.put(key, body.as_bytes());
            }
        });
        let outcome = run_deploy(&store, &cdn, &v1());
        let reasons: Vec<(&str, Reason)> = outcome
            .plan
            .actions
            .iter()
            .map(|a| (a.key.as_str(), a.reason))
            .collect();
        assert_eq!(
            reasons,
            [
                ("app.js", Reason::HeadersChanged),
                ("old.css", Reason::HeadersChanged),
                ("about.html", Reason::HeadersChanged),
                ("index.html", Reason::HeadersChanged),
            ]
        );
        let heads = store.count_calls("HeadObject");
        assert_eq!(heads, 4, "each object read once, not again under the lock");
        let html = store.with_objects(|o| o.current("index.html").cloned().unwrap());
        assert_eq!(html.content_type, "text/html; charset=utf-8");
        assert_eq!(html.cache_control, "public, max-age=0, must-revalidate");

        // Once: the record now says how everything is stored.
        let before = store.calls().len();
        run_deploy(&store, &cdn, &v1());
        let calls = store.calls();
        assert!(
            calls[before..].iter().all(|c| !c.starts_with("HeadObject")),
            "{calls:?}"
        );
        assert_eq!(writes(&calls[before..]), Vec::<&String>::new());
    }

    #[test]
    fn a_viewer_request_function_shipfront_did_not_write_is_replaced_only_by_force() {
        let (store, cdn) = fresh();
        *crate::store::memory::lock(&cdn.viewer_request) =
            Some("arn:aws:cloudfront::1:function/hand-made".to_owned());
        let mut config = routed(deploy_config());
        let err = deploy_with(&store, &cdn, &config, &v1()).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("--force-routing"), "{err}");
        assert!(store.calls().iter().all(|c| !c.starts_with("PutObject")));
        config.publish.force_routing = true;
        deploy_with(&store, &cdn, &config, &v1()).expect("forced");
        assert!(
            crate::store::memory::lock(&cdn.viewer_request)
                .as_deref()
                .is_some_and(|arn| arn.ends_with("shipfront-E1"))
        );
    }

    #[test]
    fn the_routing_switches_after_the_pages_are_written_and_before_anything_is_deleted() {
        let (store, cdn) = fresh();
        let config = routed(deploy_config());
        deploy_with(&store, &cdn, &config, &v1()).expect("first deploy");
        let at_publish = Arc::new(std::sync::Mutex::new(None));
        {
            let (store, at_publish) = (Arc::clone(&store), Arc::clone(&at_publish));
            *crate::store::memory::lock(&cdn.on_publish) = Some(Box::new(move || {
                *crate::store::memory::lock(&at_publish) = Some(store.calls().len());
            }));
        }
        // v2 of another layout: the function changes, pages change, old.css is deleted.
        let v2 = tree(&[
            ("index.html", "home 2"),
            ("about/index.html", "about 2"),
            ("app.js", "app 2"),
        ]);
        deploy_with(&store, &cdn, &config, &v2).expect("second deploy");
        let calls = store.calls();
        let published = crate::store::memory::lock(&at_publish).expect("published");
        let root = calls
            .iter()
            .rposition(|c| c == "PutObject index.html")
            .unwrap();
        let deleted = calls
            .iter()
            .position(|c| c.starts_with("DeleteObjects"))
            .unwrap();
        assert!(
            root < published && published <= deleted,
            "{calls:?} at {published}"
        );
    }

    #[test]
    fn a_response_headers_policy_shipfront_did_not_write_is_replaced_only_by_force() {
        let (store, cdn) = fresh();
        let managed = crate::core::response_headers::HeadersPolicy {
            id: "67f7725c".to_owned(),
            name: "Managed-SecurityHeadersPolicy".to_owned(),
            headers: crate::core::response_headers::ResponseHeaders::default(),
            hand_edited: false,
        };
        crate::store::memory::lock(&cdn.headers_policies)
            .insert(managed.id.clone(), managed.clone());
        *crate::store::memory::lock(&cdn.attached_policy) = Some(managed.id.clone());
        let mut config = with_headers(deploy_config(), &[("X-Content-Type-Options", "nosniff")]);
        let err = deploy_with(&store, &cdn, &config, &v1()).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let says = err.to_string();
        assert!(
            says.contains("Managed-SecurityHeadersPolicy") && says.contains("--force-headers"),
            "{says}"
        );
        assert!(store.calls().iter().all(|c| !c.starts_with("PutObject")));
        assert_eq!(attached(&cdn), Some(managed));
        config.publish.force_headers = true;
        deploy_with(&store, &cdn, &config, &v1()).expect("forced");
        let ours = attached(&cdn).expect("attached");
        assert_eq!(ours.name, "shipfront-E1");
        assert!(ours.headers.content_type_options);
    }

    #[test]
    fn the_edge_is_read_again_under_the_lock() {
        let (store, cdn) = fresh();
        let config = with_headers(deploy_config(), &[("X-Frame-Options", "DENY")]);
        deploy_with(&store, &cdn, &config, &v1()).expect("first deploy");
        // Another deploy changes the policy between our first look and our lock.
        let lock_write = store.count_calls("PutObject") + 1;
        let other = Arc::clone(&cdn);
        store.before_nth("PutObject", lock_write, move |_| {
            let id = crate::store::memory::lock(&other.attached_policy)
                .clone()
                .unwrap();
            let mut policies = crate::store::memory::lock(&other.headers_policies);
            policies.get_mut(&id).unwrap().headers.frame_options = Some("SAMEORIGIN".into());
        });
        let outcome = deploy_with(&store, &cdn, &config, &v2()).expect("second deploy");
        assert!(
            outcome
                .plan
                .notes
                .iter()
                .any(|n| n.contains("written and attached")),
            "{:?}",
            outcome.plan.notes
        );
        let live = attached(&cdn).expect("attached");
        assert_eq!(live.headers.frame_options.as_deref(), Some("DENY"));
    }
}
