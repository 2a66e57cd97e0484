//! `shipfront doctor`: reads the bucket, the distribution and (given a folder) the build, and
//! prints the verdicts of `core::verdicts` as a table or JSON; fails when a check fails.

use crate::aws;
use crate::config::{self, DoctorConfig};
use crate::core::error::{Error, Result};
use crate::core::{release, routing, verdicts};
use crate::run::{output, scan};
use crate::store::{Cdn, KeyValueStore, ObjectStore};

/// The files of the build folder doctor checks the edge against, as a deploy scans them.
fn build_files(build: &config::DoctorBuild) -> Result<Vec<String>> {
    let options = scan::ScanOptions::as_deployed(build.excludes.clone());
    let tree = scan::scan(&build.dir, &options)?;
    Ok(tree.files.iter().map(|f| f.rel.clone()).collect())
}

/// What doctor knows of the build: its files and the routing function they imply, hiding the
/// state prefix where the origin (serving `origin_path`) would serve it, as a deploy does.
fn build_facts(
    build: &config::DoctorBuild,
    files: Vec<String>,
    site: &config::Site,
    origin_path: &str,
) -> verdicts::BuildFacts {
    let routing_code = build.routing.clone().and_then(|routing| {
        let rels = files.iter().map(String::as_str);
        let inputs =
            routing::RoutingInputs::of(rels, &routing, &site.state_prefix, Some(origin_path));
        // An atomic site's function reads the live release from the KeyValueStore.
        let code = if site.atomic {
            crate::core::atomic::function(&inputs, crate::core::atomic::RELEASES_URL)
        } else {
            inputs.function()
        };
        code.map_err(|e| e.to_string())
    });
    verdicts::BuildFacts {
        dir: build.dir.display().to_string(),
        files,
        routing_code,
    }
}

/// How old each recorded release is, in days, newest first; none when they cannot be listed
/// (the bucket checks say why).
async fn release_ages(store: &aws::S3Store, state_prefix: &str) -> Vec<u64> {
    let Ok(listing) = store.list(&release::releases_prefix(state_prefix)).await else {
        return Vec::new();
    };
    let keys = release::record_keys(&listing, state_prefix);
    let ids: Vec<&str> = keys
        .iter()
        .filter_map(|key| release::record_id(state_prefix, key))
        .collect();
    release::ages_in_days(&ids, std::time::SystemTime::now())
}

/// Runs every check and prints the table (or JSON); fails when any check fails.
/// What an atomic site's KeyValueStore and pointer are (each read's failure kept as its
/// message): the store, the function's association, the release `live` names and whether a
/// record of it exists.
async fn atomic_facts<C: Cdn, K: KeyValueStore, S: ObjectStore>(
    (cdn, open): (&C, impl FnOnce(&str) -> K),
    store: &S,
    site: &crate::config::Site,
    distribution: &str,
) -> verdicts::AtomicFacts {
    let name = site.key_value_store_name(distribution);
    let said = |e: crate::store::RemoteError| Error::from(e).to_string();
    let found = cdn.key_value_store(&name).await.map_err(said);
    let function = crate::core::routing::function_name(distribution);
    let associated = cdn.function_key_value_store(&function).await.map_err(said);
    let live = match &found {
        Ok(Some(facts)) => {
            let kvs = open(&facts.arn);
            crate::run::atomic::pointer_and_etag(&kvs)
                .await
                .map(|(live, _)| live.map(|(_, pointer)| pointer.release))
                .map_err(|e| e.to_string())
        }
        _ => Ok(None),
    };
    let recorded = match &live {
        Ok(Some(id)) => {
            let key = crate::core::release::record_key(&site.state_prefix, id);
            store.head(&key).await.is_ok_and(|found| found.is_some())
        }
        _ => false,
    };
    verdicts::AtomicFacts {
        store: name,
        found: found.map(|f| f.map(|f| (f.arn, f.status))),
        associated,
        live,
        recorded,
        preview_domain: site.preview_domain.clone(),
    }
}

pub(crate) async fn run(config: DoctorConfig) -> Result<()> {
    let files = config.build.as_ref().map(build_files).transpose()?;
    let (sdk, store) = aws::connect(&config.site.bucket, &config.site.aws).await?;
    let mut bucket = store.bucket_facts().await;
    if bucket.reachable.is_ok() {
        bucket.release_ages_days = release_ages(&store, &config.site.state_prefix).await;
    }
    let distribution = match &config.distribution_id {
        Some(id) => Some((
            id.as_str(),
            aws::CloudFrontCdn::new(&sdk)
                .distribution_facts(id)
                .await
                .map_err(|e| Error::from(e).to_string()),
        )),
        None => None,
    };
    let origin_path = distribution
        .as_ref()
        .and_then(|(_, facts)| facts.as_ref().ok())
        .and_then(|d| d.origin_for(&config.site.bucket))
        .map_or("", |o| o.origin_path.as_str());
    let build = config
        .build
        .as_ref()
        .zip(files)
        .map(|(build, files)| build_facts(build, files, &config.site, origin_path));
    let atomic = match config
        .distribution_id
        .as_deref()
        .filter(|_| config.site.atomic)
    {
        Some(id) => {
            let cdn = aws::CloudFrontCdn::new(&sdk);
            let open = |arn: &str| aws::KvsStore::new(&sdk, arn);
            Some(atomic_facts((&cdn, open), &store, &config.site, id).await)
        }
        None => None,
    };
    let checks = verdicts::checks(
        &config.site.bucket,
        &config.site.prefix,
        &config.site.state_prefix,
        &bucket,
        distribution
            .as_ref()
            .map(|(id, facts)| (*id, facts.as_ref().map_err(String::as_str))),
        config.spa_fallback.as_deref(),
        verdicts::EdgeExpect {
            routing: config.routing,
            headers: config.headers.as_ref(),
            build: build.as_ref(),
            atomic: atomic.as_ref(),
        },
    );
    output::to_stdout(|stdout| {
        if config.json {
            serde_json::to_writer_pretty(&mut *stdout, &verdicts::Output::of(&checks))?;
            writeln!(stdout)
        } else {
            writeln!(stdout, "{}", verdicts::table(&checks))
        }
    })?;
    let failed = checks
        .iter()
        .filter(|c| c.status == verdicts::Status::Fail)
        .count();
    if failed > 0 {
        return Err(Error::DoctorFailed(failed));
    }
    Ok(())
}
