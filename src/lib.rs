//! shipfront deploys a static site's build folder to a versioned S3 bucket behind CloudFront,
//! sending only what changed, with the right headers, in an order that never breaks the live
//! site.
//!
//! The pipeline reads in the module names: `cli` -> `config` -> `scan` / list (`store`) ->
//! `plan` -> `execute` -> `report`. Only `aws` talks to AWS.

pub mod aws;
pub mod cli;
pub mod config;
pub mod error;
pub mod execute;
pub mod headers;
pub mod invalidate;
pub mod plan;
pub mod progress;
pub mod release;
pub mod report;
pub mod scan;
pub mod store;

use std::io::Write;
use std::sync::Arc;

pub use cli::Cli;
pub use error::{Error, Result};

use config::DeployConfig;
use store::{ObjectStore, StoreError};

/// Runs one command to completion on a fresh runtime.
///
/// One thread drives all requests: a deploy waits on the network, not the CPU, and a
/// single-threaded runtime avoids the cross-thread wake-ups that made a fifth of the client's
/// CPU time (measured in docs/benchmarks.md). Hashing runs on its own thread pool, file reads
/// on tokio's blocking pool.
pub fn run(cli: Cli) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Output)?;
    runtime.block_on(async {
        match cli.command {
            cli::Command::Deploy(args) => deploy(DeployConfig::resolve(args)?).await,
        }
    })
}

fn listing_error(bucket: &str, e: StoreError) -> Error {
    match e {
        StoreError::BucketMissing => Error::BucketMissing {
            bucket: bucket.to_owned(),
        },
        StoreError::AccessDenied => Error::AccessDenied {
            operation: "ListObjectsV2",
            bucket: bucket.to_owned(),
            key: None,
        },
        StoreError::NoCredentials(detail) => Error::NoCredentials { detail },
        StoreError::Other { message, .. } => Error::Remote {
            operation: "ListObjectsV2",
            bucket: bucket.to_owned(),
            key: String::new(),
            message,
        },
    }
}

/// Scans, lists, plans and (unless `--dry-run`) executes one deploy.
pub async fn deploy(config: DeployConfig) -> Result<()> {
    let started = std::time::Instant::now();
    let target = format!("s3://{}/{}", config.bucket, config.prefix);
    let scan_options = scan::ScanOptions {
        prefix: config.prefix.clone(),
        excludes: config.excludes.clone(),
        part_size: config.part_size,
    };
    let dir = config.dir.clone();
    let tree = tokio::task::spawn_blocking(move || scan::scan(&dir, &scan_options))
        .await
        .map_err(|e| Error::Internal(format!("scan task failed: {e}")))??;
    for warning in &tree.warnings {
        eprintln!("warning: {warning}");
    }
    if tree.files.is_empty() {
        return Err(Error::EmptyFolder {
            dir: config.dir.clone(),
            target,
        });
    }

    let sdk = aws::load(&config.aws).await;
    aws::check_region(&sdk, &config.aws)?;
    aws::check_credentials(&sdk, &config.aws).await?;
    let store = Arc::new(aws::S3Store::new(
        &sdk,
        &config.bucket,
        aws::custom_s3_endpoint(&config.aws),
    ));
    let listing = store
        .list(&config.prefix)
        .await
        .map_err(|e| listing_error(store.bucket(), e))?;

    let plan = plan::plan(
        &tree,
        &listing,
        None,
        &plan::PlanConfig {
            bucket: config.bucket.clone(),
            prefix: config.prefix.clone(),
            delete: config.delete,
            headers: config.headers.clone(),
        },
    );

    let mut stdout = std::io::stdout().lock();
    if config.dry_run {
        if config.json {
            let out = report::DeployOutput {
                dry_run: true,
                plan: &plan,
                result: None,
            };
            serde_json::to_writer_pretty(&mut stdout, &out).map_err(std::io::Error::from)?;
            writeln!(stdout)?;
        } else {
            writeln!(stdout, "{plan}")?;
            writeln!(stdout, "dry run: nothing was written")?;
        }
        if plan.deletes() > config.max_deletes {
            eprintln!(
                "warning: this plan deletes {} objects, more than --max-deletes {}: a real deploy \
                 would refuse it",
                plan.deletes(),
                config.max_deletes
            );
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
    drop(stdout);

    let progress = progress::for_stderr(config.progress && !plan.is_empty());
    let mut result =
        execute::execute(Arc::clone(&store), &plan, config.concurrency, progress).await?;
    // The summary's time is the whole deploy's: scan, list and plan included.
    result.elapsed = started.elapsed();

    let mut stdout = std::io::stdout().lock();
    if config.json {
        let out = report::DeployOutput {
            dry_run: false,
            plan: &plan,
            result: Some(&result),
        };
        serde_json::to_writer_pretty(&mut stdout, &out).map_err(std::io::Error::from)?;
        writeln!(stdout)?;
    } else {
        writeln!(stdout, "{}", report::summary(&plan, &result))?;
    }
    Ok(())
}
