//! `shipfront rollback`: puts back the object versions an earlier release recorded, in the
//! deploy's phases (assets, pages, the root page, deletions), so the site is consistent at every
//! moment, then invalidates what changed and records the rollback as a release of its own
//! (rolling forward is another rollback).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use crate::applied::ExecReport;
use crate::apply::{self, Edge, Recorder};
use crate::config::{RollbackConfig, Site};
use crate::error::{Error, Result};
use crate::plan::{Action, Op, Phase, Plan, Reason, is_state, write_phase};
use crate::release::{self, Release};
use crate::report::{Command, Outcome};
use crate::store::{Cdn, ObjectStore, RemoteListing};
use crate::{aws, survey};

/// The plan that makes `site` equal to `target`. Pure.
///
/// A key is unchanged when the bucket holds the recorded ETag and the live release records the
/// same headers; otherwise its recorded version is copied back (headers included). Site keys the
/// target did not have are deleted. Errors with the keys whose version was not recorded
/// (deployed while versioning was off).
pub fn plan_rollback(
    target: &Release,
    live: Option<&Release>,
    listing: &RemoteListing,
    site: &Site,
) -> std::result::Result<Plan, Vec<String>> {
    let prefix = site.prefix.as_str();
    let now: BTreeMap<&str, &crate::store::RemoteObject> = listing
        .objects
        .iter()
        .filter(|o| o.key.starts_with(prefix) && !is_state(&o.key, prefix, &site.state_prefix))
        .map(|o| (o.key.as_str(), o))
        .collect();
    let mut actions = Vec::new();
    let mut unchanged = 0;
    let mut unchanged_bytes = 0;
    let mut unversioned = Vec::new();
    for (key, rec) in &target.objects {
        let same_headers = live.and_then(|l| l.objects.get(key)).is_none_or(|l| {
            l.content_type == rec.content_type && l.cache_control == rec.cache_control
        });
        let reason = match now.get(key.as_str()) {
            Some(o) if o.etag == rec.etag && same_headers => {
                unchanged += 1;
                unchanged_bytes += rec.size;
                continue;
            }
            Some(o) if o.etag == rec.etag => Reason::HeadersChanged,
            Some(_) => Reason::ContentChanged,
            None => Reason::New,
        };
        let Some(version_id) = rec.version_id.clone() else {
            unversioned.push(key.clone());
            continue;
        };
        actions.push(Action {
            key: key.clone(),
            op: Op::Restore { version_id },
            reason,
            phase: write_phase(key, prefix),
            size: rec.size,
        });
    }
    if !unversioned.is_empty() {
        return Err(unversioned);
    }
    for (key, o) in &now {
        if !target.objects.contains_key(*key) {
            actions.push(Action {
                key: (*key).to_owned(),
                op: Op::Delete,
                reason: Reason::Stale,
                phase: Phase::Deletes,
                size: o.size,
            });
        }
    }
    actions.sort_by(|a, b| (a.phase, &a.key).cmp(&(b.phase, &b.key)));
    Ok(Plan {
        bucket: site.bucket.clone(),
        prefix: prefix.to_owned(),
        actions,
        unchanged,
        unchanged_bytes,
        kept_stale: 0,
        kept_assets: BTreeMap::new(),
        keep_assets: 0,
        notes: Vec::new(),
        warnings: Vec::new(),
        evidence: crate::fingerprint::Evidence::default(),
    })
}

/// The record of the bucket after rolling back to `target`: the target's objects, with the new
/// versions the copies created. Names known to have changed bytes stay known (`live`'s too).
#[must_use]
pub fn record_after(
    target: &Release,
    live: Option<&Release>,
    report: &ExecReport,
    id: String,
    time: String,
) -> Release {
    let mut objects = target.objects.clone();
    for w in &report.writes {
        if let Some(o) = objects.get_mut(&w.key) {
            o.version_id.clone_from(&w.version_id);
            if let Some(etag) = &w.etag {
                o.etag.clone_from(etag);
            }
        }
    }
    Release {
        id,
        time,
        message: Some(format!("rollback to {}", target.id)),
        shipfront: env!("CARGO_PKG_VERSION").to_owned(),
        changed: report.writes.len() + report.deleted,
        bytes: 0,
        objects,
        kept: BTreeMap::new(),
        rewritten: live.map_or_else(
            || target.rewritten.clone(),
            |live| target.rewritten.union(&live.rewritten).cloned().collect(),
        ),
    }
}

/// Runs `shipfront rollback`.
pub async fn run(config: RollbackConfig) -> Result<()> {
    let started = Instant::now();
    let (sdk, store) = aws::connect(&config.site.bucket, &config.site.aws).await?;
    let cdn = config
        .distribution_id
        .as_ref()
        .map(|_| aws::CloudFrontCdn::new(&sdk));
    let outcome = rollback(Arc::new(store), cdn, &config, started).await?;
    apply::print(&outcome, config.json)
}

/// Rolls the site back through the ports: under the lock, reads the releases, plans, checks
/// that every version to restore is still kept and that the distribution answers, then applies
/// the plan.
pub async fn rollback<S: ObjectStore, C: Cdn>(
    store: Arc<S>,
    cdn: Option<C>,
    config: &RollbackConfig,
    started: Instant,
) -> Result<Outcome> {
    let policy = (!config.dry_run).then_some(config.lock);
    apply::under_lock(&store, &config.site, "rollback", policy, async |_| {
        let listing = store.list(&config.site.prefix).await?;
        let chosen = choose(&*store, &listing, config).await?;
        let target_id = chosen.target.id.clone();
        let plan = plan_rollback(&chosen.target, chosen.live.as_ref(), &listing, &config.site)
            .map_err(|keys| {
                Error::Usage(format!(
                    "release `{target_id}` has no recorded version for {} key(s) (first: `{}`): \
                     it was deployed while bucket versioning was off, so it cannot be restored",
                    keys.len(),
                    keys[0]
                ))
            })?;
        check_versions_kept(&*store, &plan, &config.site, &target_id).await?;
        let edge = match (cdn, &config.distribution_id) {
            (Some(cdn), Some(id)) => Some(Edge::reach(cdn, id, &config.site.bucket).await?),
            _ => None,
        };
        let settings = apply::Settings {
            command: Command::Rollback { to: target_id },
            dry_run: config.dry_run,
            started,
            concurrency: config.concurrency,
            progress: config.progress,
            invalidate: config.invalidate,
            max_invalidation_paths: config.max_invalidation_paths,
            wait: config.wait,
            max_deletes: None,
            state_prefix: config.site.state_prefix.clone(),
        };
        apply::apply(&store, edge.as_ref(), plan, &settings, &chosen).await
    })
    .await
}

/// The release a rollback restores and the live one it replaces.
struct Chosen {
    live_id: String,
    /// None when the live record cannot be read (it is then only named).
    live: Option<Release>,
    target: Release,
}

/// Picks the target (`--to`, or the release before the live one) and reads both records.
async fn choose<S: ObjectStore>(
    store: &S,
    listing: &RemoteListing,
    config: &RollbackConfig,
) -> Result<Chosen> {
    let dir = release::releases_prefix(&config.site.state_prefix);
    let keys = survey::list_record_keys(store, listing, &config.site).await?;
    let ids: Vec<&str> = keys
        .iter()
        .filter_map(|k| k.strip_prefix(&dir)?.strip_suffix(".json"))
        .collect();
    let bucket = &config.site.bucket;
    let Some(live_id) = ids.last().copied() else {
        return Err(Error::Usage(format!(
            "no releases recorded in s3://{bucket}/{dir}: nothing to roll back to"
        )));
    };
    let target_id = match &config.to {
        Some(id) if ids.contains(&id.as_str()) => id.clone(),
        Some(id) => {
            return Err(Error::Usage(format!(
                "no release `{id}` in s3://{bucket}/{dir}; `shipfront releases` lists them"
            )));
        }
        None if ids.len() >= 2 => ids[ids.len() - 2].to_owned(),
        None => {
            return Err(Error::Usage(format!(
                "only one release (`{live_id}`) is recorded: there is no earlier one to roll back to"
            )));
        }
    };
    let live = survey::read_record(store, &format!("{dir}{live_id}.json")).await?;
    let target_key = format!("{dir}{target_id}.json");
    let Some(target) = survey::read_record(store, &target_key).await? else {
        return Err(Error::Usage(format!(
            "release record `{target_key}` cannot be read, so release `{target_id}` cannot be \
             restored; `shipfront releases` lists the others"
        )));
    };
    Ok(Chosen {
        live_id: live_id.to_owned(),
        live,
        target,
    })
}

/// Every version to copy back must still exist (a lifecycle rule may have expired it):
/// checked before any write, so a rollback never stops halfway for that.
async fn check_versions_kept<S: ObjectStore>(
    store: &S,
    plan: &Plan,
    site: &Site,
    target_id: &str,
) -> Result<()> {
    if !plan
        .actions
        .iter()
        .any(|a| matches!(a.op, Op::Restore { .. }))
    {
        return Ok(());
    }
    let kept = store.versions(&site.prefix).await?;
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
    fn release_id(&self, now: SystemTime, _: &Plan, _: &ExecReport) -> Option<String> {
        let salt = format!("rollback {} from {}", self.target.id, self.live_id);
        Some(release::new_id(now, Some(&self.live_id), &salt))
    }

    async fn record(
        &self,
        id: String,
        time: String,
        _: &Plan,
        result: &ExecReport,
    ) -> Result<Release> {
        Ok(record_after(
            &self.target,
            self.live.as_ref(),
            result,
            id,
            time,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::ReleasedObject;
    use crate::store::RemoteObject;

    fn site() -> Site {
        Site {
            bucket: "b".into(),
            prefix: String::new(),
            state_prefix: crate::plan::STATE_DIR.into(),
            aws: crate::store::AwsSettings::default(),
        }
    }

    fn obj(etag: &str, version: Option<&str>, cache: &str) -> ReleasedObject {
        ReleasedObject {
            version_id: version.map(str::to_owned),
            size: 1,
            content_md5: etag.into(),
            etag: etag.into(),
            content_type: "text/html; charset=utf-8".into(),
            cache_control: cache.into(),
        }
    }

    fn release(id: &str, objects: &[(&str, ReleasedObject)]) -> Release {
        Release {
            id: id.into(),
            objects: objects
                .iter()
                .map(|(k, o)| ((*k).to_owned(), o.clone()))
                .collect(),
            ..Release::default()
        }
    }

    fn listing(objects: &[(&str, &str)]) -> RemoteListing {
        RemoteListing {
            objects: objects
                .iter()
                .map(|(k, e)| RemoteObject {
                    key: (*k).into(),
                    etag: (*e).into(),
                    size: 1,
                })
                .collect(),
            pages: 1,
        }
    }

    #[test]
    fn restores_changed_and_missing_keys_deletes_new_ones_in_phases() {
        let target = release(
            "v2",
            &[
                ("index.html", obj("i2", Some("vi2"), "c")),
                ("app.js", obj("a2", Some("va2"), "c")),
                ("gone.html", obj("g2", Some("vg2"), "c")),
                ("same.css", obj("s", Some("vs"), "c")),
            ],
        );
        let live = release(
            "v3",
            &[
                ("index.html", obj("i3", Some("vi3"), "c")),
                ("app.js", obj("a3", Some("va3"), "c")),
                ("new.html", obj("n3", Some("vn3"), "c")),
                ("same.css", obj("s", Some("vs"), "c")),
            ],
        );
        let now = listing(&[
            (".shipfront/releases/v3.json", "x"),
            ("app.js", "a3"),
            ("index.html", "i3"),
            ("new.html", "n3"),
            ("same.css", "s"),
        ]);
        let plan = plan_rollback(&target, Some(&live), &now, &site()).unwrap();
        let got: Vec<(&str, &Op, Reason, Phase)> = plan
            .actions
            .iter()
            .map(|a| (a.key.as_str(), &a.op, a.reason, a.phase))
            .collect();
        let restore = |v: &str| Op::Restore {
            version_id: v.into(),
        };
        assert_eq!(
            got,
            [
                (
                    "app.js",
                    &restore("va2"),
                    Reason::ContentChanged,
                    Phase::Assets
                ),
                ("gone.html", &restore("vg2"), Reason::New, Phase::Pages),
                (
                    "index.html",
                    &restore("vi2"),
                    Reason::ContentChanged,
                    Phase::RootPage
                ),
                ("new.html", &Op::Delete, Reason::Stale, Phase::Deletes),
            ]
        );
        assert_eq!(plan.unchanged, 1);
    }

    #[test]
    fn same_bytes_other_headers_are_restored_too() {
        let target = release("v1", &[("a.css", obj("s", Some("v1"), "max-age=60"))]);
        let live = release("v2", &[("a.css", obj("s", Some("v2"), "max-age=3600"))]);
        let plan =
            plan_rollback(&target, Some(&live), &listing(&[("a.css", "s")]), &site()).unwrap();
        assert_eq!(plan.actions[0].reason, Reason::HeadersChanged);
    }

    #[test]
    fn unversioned_records_are_refused_with_their_keys() {
        let target = release("v1", &[("a.css", obj("s", None, "c"))]);
        let err = plan_rollback(&target, None, &listing(&[]), &site()).unwrap_err();
        assert_eq!(err, ["a.css"]);
    }
}
