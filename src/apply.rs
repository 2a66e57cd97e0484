//! What deploy and rollback share once they have a plan: which URLs to invalidate and sending
//! that invalidation, the time a release is recorded with and writing its record. Both commands
//! finish through these, so they cannot drift apart.

use std::time::SystemTime;

use crate::applied::ExecReport;
use crate::config::{Invalidate, Site};
use crate::error::{Error, Result};
use crate::invalidate::{self, Invalidation};
use crate::plan::Plan;
use crate::release::{self, Release};
use crate::store::{Cdn, ObjectStore};
use crate::{aws, report};

/// The invalidation `how` asks for, given the keys a CDN may have cached: their URLs
/// (collapsed above `max_paths`), `/*`, or none; None when there is nothing to send.
#[must_use]
pub fn invalidation_for(
    how: Invalidate,
    keys: Vec<&str>,
    origin_path: &str,
    max_paths: usize,
) -> Option<Invalidation> {
    match how {
        Invalidate::Nothing => None,
        Invalidate::All => Some(Invalidation {
            paths: vec!["/*".to_owned()],
            urls: keys.len(),
            collapsed: true,
        }),
        Invalidate::Changed => Some(invalidate::invalidation(keys, origin_path, max_paths))
            .filter(|inv| !inv.paths.is_empty()),
    }
}

/// Prints a dry run's one document (the plan and the invalidation it would send: JSON, or
/// the text with `heading` above it) and publishes it to GitHub Actions as `command`'s.
pub fn print_dry_run(
    command: &str,
    heading: Option<&str>,
    plan: &Plan,
    planned: Option<&Invalidation>,
    json: bool,
) -> Result<()> {
    use std::io::Write;
    let out = report::DeployOutput {
        dry_run: true,
        plan,
        result: None,
        invalidation: planned.map(report::InvalidationReport::planned),
        release: None,
    };
    let mut stdout = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut stdout, &out).map_err(std::io::Error::from)?;
        writeln!(stdout)?;
    } else {
        if let Some(heading) = heading {
            writeln!(stdout, "{heading}")?;
        }
        writeln!(stdout, "{plan}")?;
        if let Some(inv) = planned {
            writeln!(stdout, "{}", report::invalidation_plan(inv))?;
        }
        writeln!(stdout, "dry run: nothing was written")?;
    }
    drop(stdout);
    crate::github::publish(command, &out);
    Ok(())
}

/// The keys a plan would write or delete that a CDN may have cached, for a dry run's
/// invalidation.
#[must_use]
pub fn planned_cached_keys(plan: &Plan) -> Vec<&str> {
    plan.actions
        .iter()
        .filter(|a| a.overwrites_existing())
        .map(|a| a.key.as_str())
        .collect()
}

/// The keys an execution wrote or deleted that a CDN may have cached
/// (`Action::overwrites_existing`): not new keys, not fingerprinted files whose grace ended.
#[must_use]
pub fn cached_keys<'a>(plan: &'a Plan, result: &'a ExecReport) -> Vec<&'a str> {
    let cached: std::collections::BTreeSet<&str> = plan
        .actions
        .iter()
        .filter(|a| a.overwrites_existing())
        .map(|a| a.key.as_str())
        .collect();
    result
        .writes
        .iter()
        .map(|w| w.key.as_str())
        .chain(result.deleted_keys.iter().map(String::as_str))
        .filter(|k| cached.contains(k))
        .collect()
}

/// A release's time as recorded: RFC 3339 UTC to the millisecond, the precision of its id.
#[must_use]
pub fn record_time(now: SystemTime) -> String {
    humantime::format_rfc3339_millis(now).to_string()
}

/// Writes a release record under the site's state prefix, last of a deploy's or rollback's
/// writes.
pub async fn write_record<S: ObjectStore>(store: &S, site: &Site, record: &Release) -> Result<()> {
    let key = format!(
        "{}{}.json",
        release::releases_prefix(&site.state_prefix),
        record.id
    );
    let body = serde_json::to_vec_pretty(record).map_err(std::io::Error::from)?;
    store
        .put_bytes(&key, body, "application/json", None)
        .await
        .map_err(|e| e.into_error("PutObject", &site.bucket, Some(&key)))?;
    Ok(())
}

/// An invalidation's `CallerReference`: the release's id; without a release (`--invalidate
/// all` with nothing changed), the deploy's start time and a digest of the paths.
pub fn caller_reference(
    release_id: Option<&str>,
    started: std::time::Instant,
    inv: &invalidate::Invalidation,
) -> String {
    if let Some(id) = release_id {
        return format!("shipfront-{id}");
    }
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .saturating_sub(started.elapsed());
    let digest = {
        use md5::{Digest, Md5};
        crate::etag::hex(&Md5::digest(inv.paths.join("\n").as_bytes())[..6])
    };
    format!("shipfront-{}-{digest}", since_epoch.as_millis())
}

/// Creates the invalidation (and with `wait`, waits for it).
pub async fn send_invalidation(
    cdn: &aws::CloudFrontCdn,
    distribution: &str,
    inv: invalidate::Invalidation,
    caller_reference: &str,
    wait: bool,
    show_progress: bool,
) -> Result<report::InvalidationReport> {
    let id = cdn
        .invalidate(distribution, &inv.paths, caller_reference)
        .await
        .map_err(|e| {
            let hint = format!(
                "the files were written, only the invalidation failed: run `aws cloudfront \
                 create-invalidation --distribution-id {distribution} --paths {}`",
                inv.paths.join(" ")
            );
            match e.into_cdn_error("CreateInvalidation", distribution) {
                Error::Cdn {
                    operation,
                    distribution,
                    message,
                } => Error::Cdn {
                    operation,
                    distribution,
                    message: format!("{message}; {hint}"),
                },
                other => other,
            }
        })?;
    let mut completed = false;
    if wait {
        let spinner = show_progress.then(|| {
            let s = indicatif::ProgressBar::new_spinner();
            s.set_message(format!("waiting for invalidation {id}"));
            s.enable_steady_tick(std::time::Duration::from_millis(120));
            s
        });
        loop {
            let status = cdn
                .invalidation_status(distribution, &id)
                .await
                .map_err(|e| e.into_cdn_error("GetInvalidation", distribution))?;
            // CloudFront says `Completed`; some emulators `COMPLETED`.
            if status.eq_ignore_ascii_case("completed") {
                completed = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        }
        if let Some(s) = spinner {
            s.finish_and_clear();
        }
    }
    Ok(report::InvalidationReport {
        id: Some(id),
        paths: inv.paths,
        urls: inv.urls,
        collapsed: inv.collapsed,
        completed,
    })
}
