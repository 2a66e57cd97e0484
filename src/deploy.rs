//! The `deploy` command: scan, list, plan, check the distribution, execute, invalidate, report,
//! in that order, with every refusal before the first write.

use std::io::Write;
use std::sync::Arc;

use crate::config::{DeployConfig, Invalidate};
use crate::error::{Error, Result};
use crate::store::{Cdn, ObjectStore};
use crate::{apply, aws, execute, github, lock, plan, progress, record, report, scan, spa, survey};

/// Scans, lists, plans and (unless `--dry-run`) executes one deploy.
pub async fn run(config: DeployConfig) -> Result<()> {
    let started = std::time::Instant::now();
    let target = config.site.target();
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
            target,
        });
    }
    // Under --spa the fallback page must deploy, so no plan can delete it.
    if config.spa && !tree.files.iter().any(|f| f.rel == config.spa_fallback) {
        return Err(spa_no_fallback(&config, &tree));
    }

    let (sdk, store) = aws::connect(&config.site.bucket, &config.site.aws).await?;
    let store = Arc::new(store);
    // A plan with nothing to do needs no lock (and so no write at all). Otherwise the lock is
    // taken and the bucket surveyed again, so the plan that runs is made on a bucket nobody
    // else is changing.
    let first = survey::survey(&*store, &config, &tree).await?;
    let lock = if config.dry_run || first.2.is_empty() {
        None
    } else {
        Some(lock::acquire(Arc::clone(&store), &config.site, "deploy", config.lock).await?)
    };
    let locked = lock.is_some();
    let work = async {
        let (listing, previous, plan) = if locked {
            survey::survey(&*store, &config, &tree).await?
        } else {
            first
        };

        // The distribution is read before any write: a wrong id, or a distribution that would
        // break an SPA, stops the deploy here.
        let cdn = match &config.distribution_id {
            Some(id) => {
                let cdn = aws::CloudFrontCdn::new(&sdk);
                let origin_path = cdn
                    .origin_path(id, &config.site.bucket)
                    .await
                    .map_err(|e| e.into_cdn_error("GetDistributionConfig", id))?;
                if config.spa {
                    check_spa(
                        &cdn,
                        id,
                        &config.spa_fallback,
                        config.fix_spa,
                        config.dry_run,
                    )
                    .await?;
                }
                (config.invalidate != Invalidate::Nothing).then(|| (cdn, id.clone(), origin_path))
            }
            None => None,
        };
        let invalidation_for = |keys: Vec<&str>, origin_path: &str| {
            apply::invalidation_for(
                config.invalidate,
                keys,
                origin_path,
                config.max_invalidation_paths,
            )
        };

        for warning in &plan.warnings {
            github::warn(warning);
        }
        if config.dry_run {
            let planned = cdn.as_ref().and_then(|(_, _, origin_path)| {
                invalidation_for(apply::planned_cached_keys(&plan), origin_path)
            });
            apply::print_dry_run("deploy", None, &plan, planned.as_ref(), config.json)?;
            if plan.deletes() > config.max_deletes {
                github::warn(&format!(
                    "this plan deletes {} objects, more than --max-deletes {}: a real deploy \
                     would refuse it",
                    plan.deletes(),
                    config.max_deletes
                ));
            }
            return Ok(());
        }
        if plan.deletes() > config.max_deletes {
            return Err(Error::TooManyDeletes {
                count: plan.deletes(),
                max: config.max_deletes,
                target,
            });
        }

        let progress = progress::for_stderr(config.progress && !plan.is_empty());
        let mut result =
            execute::execute(Arc::clone(&store), &plan, config.concurrency, progress).await?;

        // The release id is known before the invalidation, whose CallerReference it becomes:
        // a retried call can never create a second invalidation.
        let release_id = (!plan.is_empty())
            .then(|| record::id_for(std::time::SystemTime::now(), previous.as_ref(), &result));
        let mut invalidation_report = None;
        if let Some((cdn, id, origin_path)) = &cdn {
            let changed = apply::cached_keys(&plan, &result);
            if let Some(inv) = invalidation_for(changed, origin_path) {
                let reference = apply::caller_reference(release_id.as_deref(), started, &inv);
                invalidation_report = Some(
                    apply::send_invalidation(
                        cdn,
                        id,
                        inv,
                        &reference,
                        config.wait,
                        config.progress,
                    )
                    .await?,
                );
            }
        }
        if let Some(id) = &release_id {
            record_release(
                &*store,
                &config,
                id,
                &record::Outcome {
                    tree: &tree,
                    listing: &listing,
                    report: &result,
                    previous: previous.as_ref(),
                    headers: &config.headers,
                    evidence: &plan.evidence,
                    versions: &std::collections::BTreeMap::new(),
                    kept: &plan.kept_assets,
                },
            )
            .await?;
        }
        if result.writes.iter().any(|w| w.version_id.is_none()) {
            github::warn(&format!(
                "bucket `{}` has versioning off: earlier versions are not kept, so a \
                 rollback will be impossible; `shipfront doctor` shows how to turn it on",
                config.site.bucket
            ));
        }
        // The summary's time is the whole deploy's: scan, list, plan and invalidation included.
        result.elapsed = started.elapsed();

        let mut stdout = std::io::stdout().lock();
        let out = report::DeployOutput {
            dry_run: false,
            plan: &plan,
            result: Some(&result),
            invalidation: invalidation_report,
            release: release_id,
        };
        if config.json {
            serde_json::to_writer_pretty(&mut stdout, &out).map_err(std::io::Error::from)?;
            writeln!(stdout)?;
        } else {
            writeln!(
                stdout,
                "{}",
                report::summary(&plan, &result, out.invalidation.as_ref())
            )?;
            if let Some(id) = &out.release {
                writeln!(stdout, "release {id}")?;
            }
        }
        github::publish("deploy", &out);
        Ok(())
    };
    lock::run_holding(lock, work).await
}

/// Writes the release record, last of all. Version ids of objects that neither this deploy
/// wrote nor the previous record covers come from one `ListObjectVersions` pass.
async fn record_release<S: ObjectStore>(
    store: &S,
    config: &DeployConfig,
    id: &str,
    outcome: &record::Outcome<'_>,
) -> Result<()> {
    let written: std::collections::BTreeSet<&str> = outcome
        .report
        .writes
        .iter()
        .map(|w| w.key.as_str())
        .collect();
    let listed: std::collections::BTreeMap<&str, &str> = outcome
        .listing
        .objects
        .iter()
        .map(|o| (o.key.as_str(), o.etag.as_str()))
        .collect();
    let needs_versions = outcome.tree.files.iter().any(|f| {
        !written.contains(f.key.as_str())
            && outcome
                .previous
                .and_then(|p| p.objects.get(&f.key))
                .is_none_or(|r| Some(r.etag.as_str()) != listed.get(f.key.as_str()).copied())
    });
    let versions = if needs_versions {
        store
            .versions(&config.site.prefix)
            .await
            .map_err(|e| e.into_error("ListObjectVersions", &config.site.bucket, None))?
            .into_iter()
            .filter_map(|(key, v)| Some((key, v.current?)))
            .collect()
    } else {
        std::collections::BTreeMap::new()
    };
    let record = record::record(
        id.to_owned(),
        apply::record_time(std::time::SystemTime::now()),
        config.message.clone(),
        &record::Outcome {
            versions: &versions,
            ..*outcome
        },
    );
    apply::write_record(store, &config.site, &record).await
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

/// Refuses (or with `fix`, repairs) a distribution that lacks what an SPA needs.
async fn check_spa(
    cdn: &aws::CloudFrontCdn,
    distribution: &str,
    fallback: &str,
    fix: bool,
    dry_run: bool,
) -> Result<()> {
    let settings = cdn
        .spa_settings(distribution)
        .await
        .map_err(|e| e.into_cdn_error("GetDistributionConfig", distribution))?;
    let gaps = spa::gaps(&settings, fallback);
    if gaps.is_empty() {
        return Ok(());
    }
    let listed = gaps
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if !fix {
        return Err(Error::SpaNotReady {
            distribution: distribution.to_owned(),
            gaps: listed,
        });
    }
    if dry_run {
        eprintln!("--fix-spa would repair distribution `{distribution}`: {listed}");
        return Ok(());
    }
    cdn.fix_spa(distribution, fallback)
        .await
        .map_err(|e| e.into_cdn_error("UpdateDistribution", distribution))?;
    eprintln!("repaired distribution `{distribution}` for a single-page app: {listed}");
    Ok(())
}
