//! The `deploy` command: scan, list, plan, check the distribution, execute, invalidate, report,
//! in that order, with every refusal before the first write.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use crate::config::DeployConfig;
use crate::core::error::{Error, Result};
use crate::core::exec_report::ExecReport;
use crate::core::plan::Plan;
use crate::core::release::Release;
use crate::core::report::{Command, Outcome};
use crate::run::apply::{self, Recorder};
use crate::run::edge::{self, Edge};
use crate::run::scan::LocalTree;
use crate::store::{Cdn, ObjectStore, RemoteListing};
use crate::{core::new_release, core::plan, core::spa, run::github, run::scan, run::survey};

/// Runs `shipfront deploy`: scans the folder, then deploys it to S3 (and CloudFront).
pub async fn run(config: DeployConfig) -> Result<()> {
    let started = Instant::now();
    let tree = scan_folder(&config).await?;
    let (store, cdn) = super::connect(&config.site, &config.publish).await?;
    let outcome = deploy(store, cdn, &config, &tree, started).await?;
    apply::print(&outcome, config.publish.json)
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
pub async fn deploy<S: ObjectStore, C: Cdn>(
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
    let work = edge_work(config, tree, origin_path)?
        .check(edge.as_ref())
        .await?;
    // A plan with nothing to do needs no lock (and so no write at all). Otherwise the lock is
    // taken and the bucket surveyed again, so the plan that runs is made on a bucket nobody
    // else is changing.
    let first = survey::survey(&store, config, tree, None).await?;
    let changes = !first.plan.is_empty() || work.changes();
    let policy = apply::lock_for(publish, first.live.as_ref(), changes);
    apply::under_lock(&store, &config.site, "deploy", policy, async |locked| {
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
            previous: live.as_ref(),
            edge_changes: work.changes(),
        };
        let settings = apply::Settings {
            command: Command::Deploy,
            started,
            publish,
            state_prefix: &config.site.state_prefix,
            edge: work,
        };
        apply::apply(&store, edge.as_ref(), plan, &settings, &recorder).await
    })
    .await
}

/// What the deploy keeps live at the edge: the routing function of the build (`--routing`),
/// hiding the state prefix where the origin (serving `origin_path`) would serve it, refused
/// before any write when it would be larger than CloudFront allows; and the response headers
/// of `[headers]`.
fn edge_work(
    config: &DeployConfig,
    tree: &LocalTree,
    origin_path: Option<&str>,
) -> Result<edge::EdgeWork> {
    let routing = match &config.routing {
        Some(routing) => Some(edge::Routing {
            code: crate::core::routing::function_for(
                tree.files.iter().map(|f| f.rel.as_str()),
                routing,
                &config.site.state_prefix,
                origin_path,
            )
            .map_err(|e| Error::Usage(e.to_string()))?,
            force: config.publish.force_routing,
        }),
        None => None,
    };
    let headers = match &config.response_headers {
        Some(table) => Some(edge::Headers::from_table(
            table,
            config.publish.force_headers,
            "[headers] in shipfront.toml",
        )?),
        None => None,
    };
    Ok(edge::EdgeWork::new(routing, headers))
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
        let listed: BTreeMap<&str, &str> = self
            .listing
            .objects
            .iter()
            .map(|o| (o.key.as_str(), o.etag.as_str()))
            .collect();
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
fn spa_no_fallback(config: &DeployConfig, tree: &scan::LocalTree) -> Error {
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
