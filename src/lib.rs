//! shipfront deploys a static site's build folder to a versioned S3 bucket behind CloudFront,
//! sending only what changed, with the right headers, in an order that never breaks the live
//! site.
//!
//! The layers are the folders, and imports only go down (DESIGN.md section 7):
//! - `commands/`: one file per subcommand, each a thin script;
//! - `run/`: what the commands share that does IO through the ports (apply, execute, lock,
//!   survey, edge, scan, progress, output, GitHub reporting);
//! - `aws/`: the only user of the AWS SDK, adapting S3 and CloudFront to the ports;
//! - `js/`: the JavaScript engine the routing function runs in (`serve`); `web/`: HTTP as a
//!   visitor asks (`verify`);
//! - `store/`: the ports (`ObjectStore`, `Cdn`) in our own types, and the in-memory adapter;
//! - `core/`: the pure decisions (plan, headers, invalidation paths, routing, records, verdicts).
//!
//! Beside them: `cli` (syntax), `config` (its meaning, resolved once) and `environment` (what
//! the run's surroundings say, read once).

pub mod aws;
pub mod cli;
pub mod commands;
pub(crate) mod config;
pub mod core;
pub(crate) mod environment;
pub mod js;
pub mod run;
pub mod store;
pub mod web;

use crate::cli::{Cli, Command};
use crate::config::{
    DeployConfig, DoctorConfig, PreviewsConfig, ReleasesConfig, RollbackConfig, RoutingSettings,
    ServeSettings, VerifyConfig,
};
use crate::core::error::{Error, Result};

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
    crate::run::github::stdout_is_json(cli.json_output());
    runtime.block_on(async {
        match cli.command {
            Command::Deploy(args) => commands::deploy::run(DeployConfig::resolve(args)?).await,
            Command::Doctor(args) => commands::doctor::run(DoctorConfig::resolve(args)?).await,
            Command::Releases(args) => {
                commands::releases::run(ReleasesConfig::resolve(args)?).await
            }
            Command::Rollback(args) => {
                commands::rollback::run(RollbackConfig::resolve(args)?).await
            }
            Command::Promote(args) => {
                commands::promote::run(RollbackConfig::resolve_promote(args)?).await
            }
            Command::Previews(args) => {
                commands::previews::run(PreviewsConfig::resolve(args)?).await
            }
            Command::Verify(args) => commands::verify::run(VerifyConfig::resolve(args)?).await,
            Command::Init(args) => commands::init::run(args),
            Command::Routing(args) => commands::routing::run(&RoutingSettings::resolve(args)?),
            Command::Serve(args) => commands::serve::run(ServeSettings::resolve(args)?).await,
            Command::Completions(args) => commands::completions::run(args.shell),
        }
    })
}
