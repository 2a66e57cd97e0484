//! `shipfront rollback`: puts back the object versions an earlier release recorded, in the
//! deploy's phases (assets, pages, the root page, deletions), so the site is consistent at every
//! moment, then invalidates what changed and records the rollback as a release of its own
//! (rolling forward is another rollback).

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use crate::config::{Publish, RollbackConfig};
use crate::core::error::{Error, Result};
use crate::core::exec_report::ExecReport;
use crate::core::plan::{Op, Plan};
use crate::core::release::{self, Release};
use crate::core::report::{Command, Outcome};
use crate::core::{new_release, plan};
use crate::run::apply::{self, Recorder};
use crate::run::edge::{self, Edge};
use crate::run::survey;
use crate::store::{Cdn, ObjectStore};

/// Runs `shipfront rollback`.
pub async fn run(config: RollbackConfig) -> Result<()> {
    let started = Instant::now();
    let (store, cdn) = super::connect(&config.site, &config.publish).await?;
    let outcome = rollback(store, cdn, &config, started).await?;
    apply::print(&outcome, config.publish.json)
}

/// Rolls the site back through the ports: reads the releases and plans; when there is something
/// to do, takes the lock and does so again under it; checks that every version to restore is
/// still kept and that the distribution answers, then applies the plan. A rollback to what the
/// bucket already holds takes no lock and writes nothing.
pub async fn rollback<S: ObjectStore, C: Cdn>(
    store: Arc<S>,
    cdn: Option<C>,
    config: &RollbackConfig,
    started: Instant,
) -> Result<Outcome> {
    let publish = &config.publish;
    let edge = Edge::reach(cdn, publish.distribution_id.as_ref(), &config.site.bucket).await?;
    let first = survey(&store, config).await?;
    // The routing function and response headers the target release had are published again.
    let work = edge_work(&first.0.target, publish)?
        .check(edge.as_ref())
        .await?;
    let changes = !first.1.is_empty() || work.changes();
    let policy = apply::lock_for(publish, first.0.live.as_ref(), changes);
    apply::under_lock(&store, &config.site, "rollback", policy, async |locked| {
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
            edge_work(&chosen.target, publish)?
                .check(edge.as_ref())
                .await?
        } else {
            work
        };
        plan.notes.extend(edge_kept(&chosen));
        chosen.edge_changes = work.changes();
        let target_id = chosen.target.id.clone();
        check_versions_kept(&plan, &chosen.versions, &target_id)?;
        let settings = apply::Settings {
            command: Command::Rollback { to: target_id },
            started,
            publish,
            state_prefix: &config.site.state_prefix,
            edge: work,
        };
        apply::apply(&store, edge.as_ref(), plan, &settings, &chosen).await
    })
    .await
}

/// What the target release had live at the edge, published again.
fn edge_work(target: &Release, publish: &Publish) -> Result<edge::EdgeWork> {
    let headers = match &target.headers {
        Some(table) => Some(edge::Headers::from_table(
            table,
            publish.force_headers,
            &format!("[headers] recorded by release `{}`", target.id),
        )?),
        None => None,
    };
    Ok(edge::EdgeWork::new(
        target.routing.clone().map(|code| edge::Routing {
            code,
            force: publish.force_routing,
        }),
        headers,
    ))
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
    let chosen = choose(&**store, found, config).await?;
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
    versions: std::collections::BTreeMap<String, crate::store::Versions>,
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
    versions: std::collections::BTreeMap<String, crate::store::Versions>,
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
    kept: &std::collections::BTreeMap<String, crate::store::Versions>,
    target_id: &str,
) -> Result<()> {
    let missing: Vec<String> = plan
        .actions
        .iter()
        .filter_map(|a| match &a.op {
            Op::Restore { version_id }
                if !kept.get(&a.key).is_some_and(|v| v.all.contains(version_id)) =>
            {
                Some(format!("{} (version {version_id})", a.key))
            }
            _ => None,
        })
        .collect();
    if let Some(first) = missing.first() {
        return Err(Error::Usage(format!(
            "release `{target_id}` needs {} object version(s) the bucket no longer keeps \
             (first: {first}), probably expired by a lifecycle rule; nothing was written. \
             Roll back to a newer release (`shipfront releases`)",
            missing.len(),
        )));
    }
    Ok(())
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
