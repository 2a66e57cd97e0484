//! Verifying what visitors get: `deploy --verify [URL]` right after the release went live, and
//! `shipfront verify [URL] [--release ID]` at any time. The root page, an SPA's fallback and
//! the changed files are asked through the CDN and compared with what the release wrote; after
//! a failed deploy an atomic site is switched back to the release before. The outcome goes into
//! the release's record.

use std::time::Instant;

use crate::aws;
use crate::config::{DeployConfig, RollbackConfig, Site, VerifyConfig};
use crate::core::error::{Error, Result};
use crate::core::plan::Op;
use crate::core::release::Release;
use crate::core::report::Outcome;
use crate::core::verify::{self, Verification};
use crate::run::{apply, survey};
use crate::store::ObjectStore;

/// After a deploy with `--verify`: verifies the release it recorded, switches an atomic site
/// back on a failure, and records the outcome in the release's record and `outcome`.
///
/// # Errors
/// The bucket or the distribution cannot be read, or the switch back failed.
pub(crate) async fn after_deploy(
    aws: &aws::Connection,
    config: &DeployConfig,
    outcome: &mut Outcome,
    started: Instant,
) -> Result<()> {
    let (Some(settings), Some(id), false) = (
        &config.verify,
        outcome.release.clone(),
        config.publish.dry_run,
    ) else {
        return Ok(());
    };
    let (site, store) = (&config.site, aws.store());
    let base = match (&settings.base, &config.preview, &site.preview_domain) {
        (Some(base), _, _) => base.clone(),
        (None, Some(name), Some(domain)) => crate::core::preview::url(name, domain),
        (None, ..) => {
            let distribution = config
                .publish
                .distribution_id
                .as_deref()
                .unwrap_or_default();
            aws.cdn().viewer_address(distribution).await?
        }
    };
    let mut record = recorded(&*store, site, &id).await?;
    let changed: Vec<String> = outcome
        .plan
        .actions
        .iter()
        .filter(|a| !matches!(a.op, Op::Delete))
        .map(|a| a.key.clone())
        .collect();
    let targets = verify::targets(&record, &site.prefix, &changed);
    let mut verification = ask(&base, &targets, settings.patience).await?;
    if !verification.passed() {
        verification.action = Some(respond(aws, config, outcome, started).await?);
    }
    record.verification = Some(verification.clone());
    apply::write_record(&*store, &site.state_prefix, &record).await?;
    outcome.verify = Some(verification);
    Ok(())
}

/// The `--json` document of `shipfront verify`.
#[derive(Debug, serde::Serialize)]
struct VerifyOutput<'a> {
    schema: u32,
    release: &'a str,
    verify: &'a Verification,
}

/// Runs `shipfront verify`: the live release (or `--release`) asked for at the address.
pub(crate) async fn run(config: VerifyConfig) -> Result<()> {
    let site = &config.site;
    let (sdk, store) = aws::connect(&site.bucket, &site.aws).await?;
    let record = match &config.release {
        Some(id) => recorded(&store, site, id).await?,
        None => survey::live_record(&store, &site.state_prefix)
            .await?
            .ok_or_else(|| {
                Error::Usage(format!(
                    "bucket `{}` has no release recorded under `{}`: deploy first",
                    site.bucket, site.state_prefix
                ))
            })?,
    };
    let base = match &config.settings.base {
        Some(base) => base.clone(),
        None => {
            let distribution = config.distribution_id.as_deref().unwrap_or_default();
            aws::CloudFrontCdn::new(&sdk)
                .viewer_address(distribution)
                .await?
        }
    };
    let keys: Vec<String> = record.objects.keys().cloned().collect();
    let targets = verify::targets(&record, &site.prefix, &keys);
    let verification = ask(&base, &targets, config.settings.patience).await?;
    crate::run::output::to_stdout(|stdout| {
        if config.json {
            let document = VerifyOutput {
                schema: crate::core::report::JSON_SCHEMA,
                release: &record.id,
                verify: &verification,
            };
            serde_json::to_writer_pretty(&mut *stdout, &document)?;
            writeln!(stdout)
        } else {
            writeln!(stdout, "release {}: {verification}", record.id)
        }
    })?;
    failure(Some(&verification))
}

/// The failure a verification that did not pass makes of a command: exit 1, naming it.
pub(crate) fn failure(verification: Option<&Verification>) -> Result<()> {
    let Some(v) = verification.filter(|v| !v.passed()) else {
        return Ok(());
    };
    let first: Vec<String> = v
        .mismatches
        .iter()
        .take(5)
        .map(|m| format!("{}: {}", m.path, m.differences.join(", ")))
        .collect();
    let more = match v.mismatches.len().saturating_sub(first.len()) {
        0 => String::new(),
        n => format!("; {n} more"),
    };
    let action = v
        .action
        .as_deref()
        .map_or_else(String::new, |a| format!("; {a}"));
    Err(Error::VerifyFailed(format!(
        "{} of {} URL(s) at {} differ from what the release wrote ({}{more}){action}",
        v.mismatches.len(),
        v.checked,
        v.base,
        first.join("; "),
    )))
}

/// The record of release `id`.
async fn recorded<S: ObjectStore>(store: &S, site: &Site, id: &str) -> Result<Release> {
    let found = survey::record_by_id(store, &site.state_prefix, id).await?;
    found.ok_or_else(|| {
        Error::Usage(format!(
            "bucket `{}` has no readable record of release `{id}`: `shipfront releases` \
                 lists them",
            site.bucket
        ))
    })
}

/// Asks every target at `base` over HTTP(S), with `patience`.
async fn ask(
    base: &str,
    targets: &[verify::Target],
    patience: verify::Patience,
) -> Result<Verification> {
    let visitor = crate::web::HttpVisitor::new().map_err(Error::Internal)?;
    Ok(crate::run::verify::verify(&visitor, base, targets, patience).await)
}

/// What is done about a failed verification of the deploy `outcome`: an atomic site's `live`
/// switched back to the release before (a rollback of its own, recorded); else what to run.
async fn respond(
    aws: &aws::Connection,
    config: &DeployConfig,
    outcome: &Outcome,
    started: Instant,
) -> Result<String> {
    let from = outcome.switch.as_ref().map(|s| s.from.as_deref());
    let decided = verify::OnFailure::of(from, config.preview.is_some());
    if let verify::OnFailure::SwitchBack(previous) = &decided {
        let rollback = RollbackConfig {
            site: config.site.clone(),
            to: Some(previous.clone()),
            promote: None,
            publish: config.publish.clone(),
        };
        let open = |arn: &str| aws.kvs(arn);
        let back = super::rollback::rollback_atomic(
            aws.store(),
            Some(aws.cdn()),
            open,
            &rollback,
            started,
        );
        Box::pin(back).await?;
    }
    Ok(decided.said())
}
