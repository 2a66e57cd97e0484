//! The command line as clap sees it: syntax only. Everything that needs the config file, the
//! environment's meaning or IO is resolved later, once, in `config`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Deploy a static site's build folder to a versioned S3 bucket behind CloudFront.
#[derive(Debug, Parser)]
#[command(name = "shipfront", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Whether stdout carries one JSON document (`--json`).
    #[must_use]
    pub fn json_output(&self) -> bool {
        match &self.command {
            Command::Deploy(a) => a.publish.json,
            Command::Doctor(a) => a.json,
            Command::Releases(a) => a.json,
            Command::Rollback(a) => a.publish.json,
            Command::Promote(a) => a.publish.json,
            Command::Previews(a) => a.json,
            Command::Verify(a) => a.json,
            Command::Init(_)
            | Command::Routing(_)
            | Command::Serve(_)
            | Command::Completions(_) => false,
        }
    }

    /// The subcommand's name, for messages.
    #[must_use]
    pub fn command_name(&self) -> &'static str {
        match self.command {
            Command::Deploy(_) => "deploy",
            Command::Doctor(_) => "doctor",
            Command::Releases(_) => "releases",
            Command::Rollback(_) => "rollback",
            Command::Promote(_) => "promote",
            Command::Previews(_) => "previews",
            Command::Verify(_) => "verify",
            Command::Init(_) => "init",
            Command::Routing(_) => "routing",
            Command::Serve(_) => "serve",
            Command::Completions(_) => "completions",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Upload what changed in DIR, delete what is gone, in an order that keeps the site working.
    Deploy(DeployArgs),
    /// Check the bucket and distribution a deploy relies on, and say how to fix what is wrong.
    Doctor(DoctorArgs),
    /// List the recorded releases, newest first, the live one marked.
    Releases(ReleasesArgs),
    /// Put back the object versions of an earlier release (default: the one before the live one).
    Rollback(RollbackArgs),
    /// Make what preview NAME shows live: `live` switched to its release, one pointer write,
    /// no upload (atomic sites).
    Promote(PromoteArgs),
    /// List an atomic site's previews; `previews remove NAME`, `previews prune --older-than 14d`.
    Previews(PreviewsArgs),
    /// Ask the site as visitors do (root page, SPA fallback, a sample of files) and compare with
    /// what the live (or a recorded) release wrote.
    Verify(VerifyArgs),
    /// Write a commented shipfront.toml (and with --github, deploy and rollback workflows).
    Init(InitArgs),
    /// Print the CloudFront Function that routes DIR's URLs at the edge: SPA deep links, clean
    /// URLs, trailing slashes and redirects, from a private S3 origin.
    Routing(RoutingArgs),
    /// Serve DIR (or, with --bucket, a deployed release) on 127.0.0.1 the way the distribution
    /// does: the routing function run on every request, then the object it names as CloudFront
    /// delivers it
    Serve(ServeArgs),
    /// Print the shell completion script for SHELL (README: Shell completions says where it goes).
    Completions(CompletionsArgs),
}

/// Flags of `shipfront completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in
    pub shell: clap_complete::Shell,
}

/// Flags of `shipfront routing`.
#[derive(Debug, Args)]
pub struct RoutingArgs {
    /// The build output folder
    pub dir: PathBuf,

    #[command(flatten)]
    pub serving: ServingArgs,

    /// The function of an atomic site, which reads the live release from the KeyValueStore
    #[arg(long)]
    pub atomic: bool,

    /// Config file [default: ./shipfront.toml when it exists]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Flags of `shipfront serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The build output folder; without it, the bucket's live release (--bucket)
    pub dir: Option<PathBuf>,

    #[command(flatten)]
    pub serving: ServingArgs,

    #[command(flatten)]
    pub site: SiteArgs,

    /// Serve this recorded release of the bucket instead of the live one (`shipfront releases`
    /// lists them)
    #[arg(long, value_name = "ID")]
    pub release: Option<String>,

    /// With --bucket: answer errors with this distribution's custom error responses and `/` with
    /// its default root object [default: as doctor advises]
    #[arg(long, env = "SHIPFRONT_DISTRIBUTION_ID", value_name = "ID")]
    pub distribution_id: Option<String>,

    /// Port on 127.0.0.1 (0: any free one)
    #[arg(long, default_value_t = 8787)]
    pub port: u16,
}

/// Flags of `shipfront init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Also write .github/workflows/deploy.yml and rollback.yml (GitHub Actions, OIDC role)
    #[arg(long)]
    pub github: bool,

    /// Atomic releases: write `atomic = true` (the first deploy creates the KeyValueStore)
    #[arg(long)]
    pub atomic: bool,

    /// Bucket to write into the files (else an example, commented out)
    #[arg(long)]
    pub bucket: Option<String>,

    /// CloudFront distribution to write into the files
    #[arg(long, value_name = "ID")]
    pub distribution_id: Option<String>,

    /// The build output folder the workflow deploys
    #[arg(long, default_value = "dist")]
    pub dir: String,

    /// AWS region for the workflows' credentials step
    #[arg(long)]
    pub region: Option<String>,

    /// IAM role the workflows assume through GitHub's OIDC provider
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<String>,

    /// Overwrite files that already exist
    #[arg(long)]
    pub force: bool,
}

/// Flags of `shipfront rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub site: SiteArgs,

    /// Release to restore (an id from `shipfront releases`) [default: the one before the live one]
    #[arg(long, value_name = "RELEASE_ID")]
    pub to: Option<String>,

    #[command(flatten)]
    pub publish: PublishArgs,
}

/// Flags of `shipfront promote`.
#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// The preview whose release goes live (`shipfront previews` lists them)
    pub name: String,

    #[command(flatten)]
    pub site: SiteArgs,

    #[command(flatten)]
    pub publish: PublishArgs,
}

/// Flags of `shipfront verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The address to ask, e.g. https://www.example.com [default: the distribution's]
    pub url: Option<String>,

    /// Verify this recorded release instead of the live one (`shipfront releases` lists them)
    #[arg(long, value_name = "ID")]
    pub release: Option<String>,

    #[command(flatten)]
    pub site: SiteArgs,

    /// CloudFront distribution whose address is asked (and, atomic, whose pointer says what is
    /// live)
    #[arg(long, env = "SHIPFRONT_DISTRIBUTION_ID", value_name = "ID")]
    pub distribution_id: Option<String>,

    /// How long to wait for the release to reach the edge [default: 3m]
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,

    /// Print the outcome as JSON
    #[arg(long)]
    pub json: bool,
}

/// What `shipfront previews` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PreviewsAction {
    /// Each preview: its name, the release it shows, its age, its URL
    List,
    /// Delete preview NAME: its pointer, then its entry
    Remove,
    /// Remove the previews not changed for --older-than
    Prune,
}

/// Flags of `shipfront previews`.
#[derive(Debug, Args)]
pub struct PreviewsArgs {
    /// `list` (the default), `remove NAME`, or `prune --older-than AGE`
    #[arg(value_enum, default_value = "list")]
    pub action: PreviewsAction,

    /// The preview to remove
    pub name: Option<String>,

    /// With prune: the previews not changed for this long go, e.g. `14d`
    #[arg(long, value_name = "AGE")]
    pub older_than: Option<String>,

    #[command(flatten)]
    pub site: SiteArgs,

    /// CloudFront distribution whose KeyValueStore holds the previews' pointers
    #[arg(long, env = "SHIPFRONT_DISTRIBUTION_ID", value_name = "ID")]
    pub distribution_id: Option<String>,

    /// Say what would go, and change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Print the previews (or what went) as JSON
    #[arg(long)]
    pub json: bool,
}

/// Flags of `shipfront releases`.
#[derive(Debug, Args)]
pub struct ReleasesArgs {
    #[command(flatten)]
    pub site: SiteArgs,

    /// Print the releases as JSON
    #[arg(long)]
    pub json: bool,

    /// CloudFront distribution whose KeyValueStore says which release of an atomic site is
    /// live (`--atomic`)
    #[arg(long, env = "SHIPFRONT_DISTRIBUTION_ID", value_name = "ID")]
    pub distribution_id: Option<String>,
}

/// Flags of `shipfront doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The build output folder, e.g. ./dist: also checks the routing function against it,
    /// pages unreachable by their clean URL, and an unused 404.html
    pub dir: Option<PathBuf>,

    #[command(flatten)]
    pub site: SiteArgs,

    /// The site is routed by shipfront's CloudFront Function (as `deploy --routing`)
    #[arg(long)]
    pub routing: bool,

    /// With DIR: leave matching files out, as the deploy did (repeatable)
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,

    /// CloudFront distribution in front of the bucket
    #[arg(long, env = "SHIPFRONT_DISTRIBUTION_ID", value_name = "ID")]
    pub distribution_id: Option<String>,

    #[command(flatten)]
    pub serving: ServingArgs,

    /// Print the checks as JSON
    #[arg(long)]
    pub json: bool,
}

/// Flags of `shipfront deploy`. Options left unset fall back to `SHIPFRONT_*` variables, then
/// `shipfront.toml`, then defaults.
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// The build output folder, e.g. ./dist
    pub dir: PathBuf,

    #[command(flatten)]
    pub site: SiteArgs,

    /// Delete objects that are no longer in the folder (the default)
    #[arg(long, overrides_with = "no_delete")]
    pub delete: bool,

    /// Keep objects that are no longer in the folder
    #[arg(long, overrides_with = "delete")]
    pub no_delete: bool,

    /// Leave out files matching this glob (relative to DIR; repeatable)
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,

    /// Also deploy precompressed copies (X.br, X.gz beside X), left out by default
    #[arg(long)]
    pub upload_precompressed: bool,

    /// Keep stale fingerprinted assets for N releases after they leave the tree [default: 1]
    #[arg(long, env = "SHIPFRONT_KEEP_ASSETS", value_name = "N")]
    pub keep_assets: Option<u32>,

    /// Message of the release record (default in GitHub Actions: the commit and its subject)
    #[arg(long, value_name = "TEXT")]
    pub message: Option<String>,

    #[command(flatten)]
    pub serving: ServingArgs,

    /// Like --spa, and add what the distribution lacks (DefaultRootObject, 403/404 fallback)
    #[arg(long)]
    pub fix_spa: bool,

    /// Publish the edge-routing function (`shipfront routing` prints it) and run it on the
    /// distribution's viewer requests
    #[arg(long)]
    pub routing: bool,

    /// After the deploy, ask URL (default: the distribution's address) for the root page, the
    /// SPA fallback and the changed files, and compare them with what the release wrote; on a
    /// mismatch an atomic site switches back, and the deploy exits 1
    #[arg(long, value_name = "URL", num_args = 0..=1, default_missing_value = "")]
    pub verify: Option<String>,

    /// How long --verify waits for the change to reach the edge [default: 3m]
    #[arg(long, value_name = "DURATION")]
    pub verify_timeout: Option<String>,

    /// An atomic site's preview: the release is uploaded and served at
    /// https://NAME.<preview_domain>/ only; `live` stays where it is (`shipfront promote NAME`
    /// switches it)
    #[arg(long, env = "SHIPFRONT_PREVIEW", value_name = "NAME")]
    pub preview: Option<String>,

    #[command(flatten)]
    pub publish: PublishArgs,
}

/// How `deploy` and `rollback` publish: the distribution, the guards, invalidation, the lock
/// and the output, the same flags for both.
#[derive(Debug, Args, Default)]
pub struct PublishArgs {
    /// CloudFront distribution in front of the bucket: invalidate what changed
    #[arg(long, env = "SHIPFRONT_DISTRIBUTION_ID", value_name = "ID")]
    pub distribution_id: Option<String>,

    /// Print the plan with the reason for every action, and write nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Refuse, before any write, a plan that deletes more objects than this [default: 256]
    #[arg(long, env = "SHIPFRONT_MAX_DELETES", value_name = "N")]
    pub max_deletes: Option<usize>,

    /// Writes in flight at once [default: 32]
    #[arg(long, env = "SHIPFRONT_CONCURRENCY", value_name = "N")]
    pub concurrency: Option<usize>,

    /// Replace a viewer-request function shipfront did not write (the routing of --routing, or
    /// of the release a rollback restores)
    #[arg(long)]
    pub force_routing: bool,

    /// Replace a response headers policy shipfront did not write (with [headers] in
    /// shipfront.toml, or recorded by the release a rollback restores)
    #[arg(long)]
    pub force_headers: bool,

    #[command(flatten)]
    pub invalidation: InvalidateArgs,

    /// Above this many changed URLs, collapse them into folder wildcards [default: 100]
    #[arg(long, value_name = "N")]
    pub max_invalidation_paths: Option<usize>,

    /// Wait until CloudFront reports the invalidation completed
    #[arg(long)]
    pub wait: bool,

    #[command(flatten)]
    pub lock: LockArgs,

    /// Print one JSON document (the plan, or the result) on stdout; logs go to stderr
    #[arg(long)]
    pub json: bool,

    /// No progress bars or progress lines
    #[arg(long)]
    pub no_progress: bool,
}

/// How the build is served: a single-page app and its fallback page, and the page URLs of a
/// multi-page build; the same flags for `deploy`, `routing` and `doctor`.
#[derive(Debug, Args, Clone, Default)]
pub struct ServingArgs {
    /// A single-page app: deep links get the fallback page (from the routing function, else
    /// from the distribution's 403/404 fallback, which deploy requires before any write and
    /// doctor checks)
    #[arg(long)]
    pub spa: bool,

    /// The page SPA routes fall back to, relative to the folder, e.g. 200.html (implies --spa)
    /// [default: index.html]
    #[arg(long, env = "SHIPFRONT_SPA_FALLBACK", value_name = "PAGE")]
    pub spa_fallback: Option<String>,

    /// With routing, page URLs of a multi-page build: `always` end in /, `never` do, or
    /// `as-built` (doctor: as the deploy had them)
    #[arg(long, value_name = "always|never|as-built")]
    pub trailing_slash: Option<String>,
}

/// Which site a command works on, and how to reach it: the same flags for every command.
#[derive(Debug, Args, Clone, Default)]
pub struct SiteArgs {
    /// Bucket the site is deployed to
    #[arg(long, env = "SHIPFRONT_BUCKET")]
    pub bucket: Option<String>,

    /// Key prefix inside the bucket, e.g. `site/` (default: the bucket root)
    #[arg(long, env = "SHIPFRONT_PREFIX")]
    pub prefix: Option<String>,

    /// Where shipfront keeps its release records and lock [default: <prefix>.shipfront/]
    #[arg(long, env = "SHIPFRONT_STATE_PREFIX", value_name = "PREFIX")]
    pub state_prefix: Option<String>,

    /// Config file (default: ./shipfront.toml when it exists)
    #[arg(long, env = "SHIPFRONT_CONFIG")]
    pub config: Option<PathBuf>,

    /// Atomic releases: each release in its own prefix, the live one chosen by a CloudFront
    /// KeyValueStore pointer, switched and rolled back in one write (`atomic = true`)
    #[arg(long)]
    pub atomic: bool,

    #[command(flatten)]
    pub aws: AwsArgs,
}

/// How `deploy` and `rollback` treat a deploy lock someone else holds.
#[derive(Debug, Args, Clone, Default)]
pub struct LockArgs {
    /// Take a stale deploy lock at once, without watching it for a lease first
    #[arg(long)]
    pub force_unlock: bool,

    /// Take the deploy lock even from a holder that refreshed it within its lease, when you know
    /// it stopped (a cancelled job); if it still runs, both write until its next refresh
    #[arg(long)]
    pub force_unlock_live: bool,

    /// A lock not refreshed for this long is stale (its holder died) and is taken over, e.g.
    /// `5m`; at least 1m, at most 1h [default: 2m]
    #[arg(long, env = "SHIPFRONT_LOCK_STALE_AFTER", value_name = "DURATION")]
    pub lock_stale_after: Option<String>,
}

/// Where and as whom to reach AWS; unset values come from the standard AWS chain.
#[derive(Debug, Args, Clone, Default)]
pub struct AwsArgs {
    /// AWS region (default: from the AWS profile or AWS_REGION)
    #[arg(long)]
    pub region: Option<String>,

    /// AWS profile from ~/.aws/config
    #[arg(long)]
    pub profile: Option<String>,

    /// S3-compatible endpoint (MinIO, R2, an emulator); implies path-style addressing
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

/// What deploy and rollback invalidate: the same flags for both.
#[derive(Debug, Default, Args)]
pub struct InvalidateArgs {
    /// What to invalidate: `changed` (the URLs of overwritten and deleted objects) or `all` (/*)
    #[arg(
        long,
        value_enum,
        value_name = "WHAT",
        conflicts_with = "no_invalidate"
    )]
    pub invalidate: Option<InvalidateArg>,

    /// Do not invalidate anything, even with a distribution
    #[arg(long)]
    pub no_invalidate: bool,
}

/// Values of `--invalidate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InvalidateArg {
    /// The URLs of objects the deploy overwrote or deleted
    Changed,
    /// Everything (`/*`)
    All,
}
