//! shipfront deploys a static site's build folder to a versioned S3 bucket behind CloudFront,
//! sending only what changed, with the right headers, in an order that never breaks the live
//! site.
//!
//! The pipeline reads in the module names: `cli` -> `config` -> `scan` / list (`store`) ->
//! `plan` -> `execute` -> `invalidate` -> `report`; `deploy` wires them together, `doctor`
//! and `spa` check the infrastructure. `release`, `rollback` and `lock` keep the history and
//! one writer at a time; `github` reports to workflows, `init` starts a project. Only `aws`
//! talks to AWS.

pub mod applied;
pub mod apply;
pub mod aws;
pub mod cli;
pub mod config;
pub mod deploy;
pub mod doctor;
pub mod edge;
pub mod environment;
pub mod error;
pub mod etag;
pub mod execute;
pub mod fingerprint;
pub mod github;
pub mod headers;
pub mod init;
pub mod invalidate;
pub mod inventory;
pub mod lock;
#[cfg(test)]
pub mod memory;
pub mod output;
pub mod plan;
pub mod progress;
pub mod record;
pub mod release;
pub mod report;
pub mod response_headers;
pub mod restore;
pub mod rollback;
pub mod routing;
pub mod scan;
pub mod spa;
pub mod store;
pub mod survey;

pub use cli::Cli;
pub use error::{Error, Result};

use config::DeployConfig;

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
    github::stdout_is_json(cli.json_output());
    runtime.block_on(async {
        match cli.command {
            cli::Command::Deploy(args) => deploy::run(DeployConfig::resolve(args)?).await,
            cli::Command::Doctor(args) => doctor(config::DoctorConfig::resolve(args)?).await,
            cli::Command::Releases(args) => releases(config::ReleasesConfig::resolve(args)?).await,
            cli::Command::Rollback(args) => {
                rollback::run(config::RollbackConfig::resolve(args)?).await
            }
            cli::Command::Init(args) => init::run(args),
            cli::Command::Routing(args) => routing(&config::RoutingSettings::resolve(args)?),
            cli::Command::Completions(args) => completions(args.shell),
        }
    })
}

/// Prints a failed command's error: a workflow annotation in GitHub Actions (with the job
/// summary told too), `error: ...` elsewhere.
pub fn report_error(command: &str, err: &Error) {
    let message = err.to_string();
    if github::in_actions() {
        github::print_annotation(&github::annotation(
            "error",
            &format!("shipfront {command} failed"),
            &message,
        ));
    } else {
        output::err_line(&format!("error: {}", plan::shown(&message)));
    }
    github::publish_failure(command, &message);
}

/// In GitHub Actions, repeats a command-line error clap is about to print as an annotation.
pub fn usage_error(e: &clap::Error) {
    if e.use_stderr() && github::in_actions() {
        let text = e.render().to_string();
        let message = text.trim().trim_start_matches("error: ");
        output::line(&github::annotation(
            "error",
            "shipfront: invalid command line",
            message,
        ));
    }
}

/// Prints the routing function of the build folder (for review, and for tests that run it).
pub fn routing(settings: &config::RoutingSettings) -> Result<()> {
    let options = scan::ScanOptions {
        prefix: String::new(),
        excludes: settings.excludes.clone(),
        part_size: config::DEFAULT_PART_SIZE_MIB << 20,
        upload_precompressed: false,
    };
    let tree = scan::scan(&settings.dir, &options)?;
    if let routing::Mode::Spa { fallback } = &settings.routing.mode
        && !tree.files.iter().any(|f| &f.rel == fallback)
    {
        return Err(Error::Usage(format!(
            "`{}` has no `{fallback}`, the SPA's fallback page: check the folder or \
             --spa-fallback",
            settings.dir.display()
        )));
    }
    let source =
        routing::function_source(tree.files.iter().map(|f| f.rel.as_str()), &settings.routing)
            .map_err(|e| Error::Usage(e.to_string()))?;
    output::to_stdout(|out| out.write_all(source.as_bytes()))
}

/// Prints the completion script of `shell` for every command and flag.
pub fn completions(shell: clap_complete::Shell) -> Result<()> {
    use clap::CommandFactory;
    // Generated into memory first: the generators panic on a failed write (a closed pipe).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "shipfront", &mut script);
    output::to_stdout(|out| out.write_all(&script))
}

/// Lists the release records, newest first; the newest is the live one.
pub async fn releases(config: config::ReleasesConfig) -> Result<()> {
    let (_, store) = aws::connect(&config.site.bucket, &config.site.aws).await?;
    let store = std::sync::Arc::new(store);
    let dir = release::releases_prefix(&config.site.state_prefix);
    let survey::Records {
        keys,
        newest,
        splits,
    } = survey::records(&*store, &config.site.state_prefix).await?;
    // The bucket says which release is live: the one whose versions are current. Its versions
    // are listed in ranges split at the newest record's keys, as a rollback lists them.
    let current = if keys.is_empty() {
        std::collections::BTreeMap::new()
    } else {
        inventory::current_of(&survey::versions_split(&store, &config.site.prefix, &splits).await?)
    };
    // One record at a time: compared, counted, then its objects let go. The walk starts at the
    // newest, read already.
    let mut newest = Some(newest);
    let (mut records, mut compared) = (Vec::new(), Vec::new());
    for key in keys.iter().rev() {
        let record = match newest.take() {
            Some(record) => record,
            None => survey::read_record(&*store, key).await?,
        };
        compared.push(
            record
                .as_ref()
                .map(|r| release::Compared::with(r, &current)),
        );
        records.push(match record {
            Some(record) => report::Listed::read(record),
            None => report::Listed::Unreadable {
                id: key
                    .strip_prefix(&dir)
                    .and_then(|k| k.strip_suffix(".json"))
                    .unwrap_or(key)
                    .to_owned(),
            },
        });
    }
    let live = release::live_of(&compared, !current.is_empty());
    output::to_stdout(|stdout| {
        if config.json {
            let document = report::ReleasesOutput {
                schema: report::JSON_SCHEMA,
                releases: records
                    .iter()
                    .enumerate()
                    .map(|(i, r)| report::ReleaseSummary::of(r, live == Some(i)))
                    .collect(),
            };
            serde_json::to_writer_pretty(&mut *stdout, &document)?;
            writeln!(stdout)
        } else if records.is_empty() {
            writeln!(
                stdout,
                "no releases recorded in s3://{}/{dir}: a deploy that changes something records \
                 one",
                config.site.bucket
            )
        } else {
            writeln!(stdout, "{}", report::releases_table(&records, live))
        }
    })
}

/// The files of the build folder doctor checks the edge against, as a deploy scans them.
fn build_files(build: &config::DoctorBuild) -> Result<Vec<String>> {
    let options = scan::ScanOptions {
        prefix: String::new(),
        excludes: build.excludes.clone(),
        part_size: config::DEFAULT_PART_SIZE_MIB << 20,
        upload_precompressed: false,
    };
    let tree = scan::scan(&build.dir, &options)?;
    Ok(tree.files.iter().map(|f| f.rel.clone()).collect())
}

/// What doctor knows of the build: its files and the routing function they imply, hiding the
/// state prefix where the origin (serving `origin_path`) would serve it, as a deploy does.
fn build_facts(
    build: &config::DoctorBuild,
    files: Vec<String>,
    state_prefix: &str,
    origin_path: &str,
) -> doctor::BuildFacts {
    let routing_code = build.routing.clone().and_then(|routing| {
        routing::function_for(
            files.iter().map(String::as_str),
            &routing,
            state_prefix,
            Some(origin_path),
        )
        .map_err(|e| e.to_string())
    });
    doctor::BuildFacts {
        dir: build.dir.display().to_string(),
        files,
        routing_code,
    }
}

/// Runs every check and prints the table (or JSON); fails when any check fails.
pub async fn doctor(config: config::DoctorConfig) -> Result<()> {
    let files = config.build.as_ref().map(build_files).transpose()?;
    let (sdk, store) = aws::connect(&config.site.bucket, &config.site.aws).await?;
    let bucket = store.bucket_facts().await;
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
    let build =
        config.build.as_ref().zip(files).map(|(build, files)| {
            build_facts(build, files, &config.site.state_prefix, origin_path)
        });
    let checks = doctor::checks(
        &config.site.bucket,
        &config.site.prefix,
        &config.site.state_prefix,
        &bucket,
        distribution
            .as_ref()
            .map(|(id, facts)| (*id, facts.as_ref().map_err(String::as_str))),
        config.spa_fallback.as_deref(),
        doctor::EdgeExpect {
            routing: config.routing,
            headers: config.headers.as_ref(),
            build: build.as_ref(),
        },
    );
    output::to_stdout(|stdout| {
        if config.json {
            serde_json::to_writer_pretty(&mut *stdout, &doctor::Output::of(&checks))?;
            writeln!(stdout)
        } else {
            writeln!(stdout, "{}", doctor::table(&checks))
        }
    })?;
    let failed = checks
        .iter()
        .filter(|c| c.status == doctor::Status::Fail)
        .count();
    if failed > 0 {
        return Err(Error::DoctorFailed(failed));
    }
    Ok(())
}
