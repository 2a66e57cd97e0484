//! Flags, `SHIPFRONT_*` variables, `shipfront.toml` and defaults, merged once into the one
//! `DeployConfig` the rest of the program reads (flags win, then the environment, then the file,
//! then defaults). Invalid input is refused here, with the file, line and column.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::cli::{DeployArgs, PublishArgs, SiteArgs};
use crate::core::error::{Error, Result};
use crate::core::invalidate::Invalidate;
use crate::core::object_headers::{HeaderPolicy, Rule};
use crate::store::AwsSettings;

/// The config file looked for in the working directory when `--config` is not given.
pub(crate) const DEFAULT_CONFIG_FILE: &str = "shipfront.toml";

/// Default for `--max-deletes`: a deploy that removes more is probably a mistake.
pub(crate) const DEFAULT_MAX_DELETES: usize = 256;
/// Default for `--concurrency`: enough to fill a fast link, well under S3's per-prefix limits.
pub(crate) const DEFAULT_CONCURRENCY: usize = 32;
/// Default for `--max-invalidation-paths`: CloudFront bills per path past 1000 a month, and a
/// wildcard counts as one.
pub(crate) const DEFAULT_MAX_INVALIDATION_PATHS: usize = 100;
/// By default, a deploy lock not refreshed for this long is stale and may be taken over.
pub(crate) const LOCK_LEASE: std::time::Duration = std::time::Duration::from_secs(120);
/// The shortest lease allowed: a holder refreshes four times per lease, so a minute leaves it
/// 45 seconds to get a refresh through.
pub(crate) const MIN_LOCK_LEASE: std::time::Duration = std::time::Duration::from_secs(60);
/// The longest lease allowed, and the longest a lock found is watched before it is taken over,
/// whatever lease it claims.
pub(crate) const MAX_LOCK_LEASE: std::time::Duration = std::time::Duration::from_secs(3600);
/// Atomic sites: the newest releases kept by default.
pub(crate) const DEFAULT_KEEP_RELEASES: u32 = 10;
/// Default multipart threshold and part size, in MiB.
pub(crate) const DEFAULT_PART_SIZE_MIB: u64 = 16;

/// `shipfront.toml`, as written by users. Unknown keys are errors so typos do not pass silently.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileConfig {
    pub(crate) bucket: Option<String>,
    pub(crate) prefix: Option<String>,
    /// Where release records and the lock live (default: `<prefix>.shipfront/`).
    pub(crate) state_prefix: Option<String>,
    pub(crate) distribution_id: Option<String>,
    /// Single-page app: check the fallback page and the distribution's fallback before writing.
    pub(crate) spa: Option<bool>,
    /// The page SPA routes fall back to (default `index.html`; SvelteKit: `200.html`).
    pub(crate) spa_fallback: Option<String>,
    /// Page URLs of a multi-page build: `always`, `never` or `as-built` (the default).
    pub(crate) trailing_slash: Option<String>,
    /// Publish the edge-routing function with every deploy.
    pub(crate) routing: Option<bool>,
    /// Atomic releases: each release in its own prefix, the live one chosen by a CloudFront
    /// KeyValueStore pointer (implies `routing`).
    pub(crate) atomic: Option<bool>,
    /// The KeyValueStore holding an atomic site's pointer (default `shipfront-<distribution>`).
    pub(crate) key_value_store: Option<String>,
    /// An atomic site's preview domain: `deploy --preview NAME` is served at
    /// `NAME.<preview_domain>`.
    pub(crate) preview_domain: Option<String>,
    /// Headers every response carries (HSTS, Content-Security-Policy...), added by a CloudFront
    /// response headers policy.
    pub(crate) headers: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub(crate) deploy: DeploySection,
    #[serde(default)]
    pub(crate) rules: Vec<RuleSection>,
    #[serde(default)]
    pub(crate) redirects: Vec<RedirectSection>,
}

/// One `[[redirects]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RedirectSection {
    pub(crate) from: String,
    pub(crate) to: String,
    /// 301 (the default), 302, 307 or 308.
    pub(crate) status: Option<u16>,
}

/// `[deploy]` in `shipfront.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeploySection {
    pub(crate) delete: Option<bool>,
    pub(crate) max_deletes: Option<usize>,
    pub(crate) concurrency: Option<usize>,
    /// Globs left out of every deploy, added to `--exclude`.
    #[serde(default)]
    pub(crate) exclude: Vec<String>,
    /// Files at or above this size (MiB) upload in parts of this size; 5 at least (S3's minimum).
    pub(crate) part_size_mib: Option<u64>,
    /// Above this many changed URLs, invalidations collapse into folder wildcards.
    pub(crate) max_invalidation_paths: Option<usize>,
    /// Releases a stale fingerprinted asset is kept after it left the tree.
    pub(crate) keep_assets: Option<u32>,
    /// Atomic sites: how many of the newest releases are kept (older ones are pruned).
    pub(crate) keep_releases: Option<u32>,
    /// Deploy precompressed `X.br` / `X.gz` copies beside `X` (left out by default).
    pub(crate) upload_precompressed: Option<bool>,
    /// A lock not refreshed for this long is stale, e.g. "5m".
    pub(crate) lock_stale_after: Option<String>,
}

/// One `[[rules]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleSection {
    #[serde(rename = "match")]
    pub(crate) pattern: String,
    pub(crate) cache_control: Option<String>,
    pub(crate) content_type: Option<String>,
}

/// Which site a command works on, resolved the same way for every command.
#[derive(Debug, Clone)]
pub(crate) struct Site {
    pub(crate) bucket: String,
    /// Key prefix: empty, or ending in `/` without a leading `/`.
    pub(crate) prefix: String,
    /// Full key prefix of shipfront's own records (releases, lock), ending in `/`; by default
    /// `<prefix>.shipfront/`. Never part of the site, never deleted by a deploy.
    pub(crate) state_prefix: String,
    /// Where and as whom to reach AWS.
    pub(crate) aws: AwsSettings,
    /// Atomic releases (`--atomic`, `atomic = true`): the live one is chosen by a pointer.
    pub(crate) atomic: bool,
    /// The KeyValueStore named in the config (`key_value_store`), checked; None: the default.
    pub(crate) key_value_store: Option<String>,
    /// `preview_domain` of the config, checked: previews are served at `NAME.<domain>`.
    pub(crate) preview_domain: Option<String>,
}

impl Site {
    /// Reads the config file the flags name (or `./shipfront.toml`) and resolves the site from
    /// flags over the file; the file is returned for the command's own settings.
    pub(crate) fn resolve(args: SiteArgs) -> Result<(Site, FileConfig)> {
        let (file, file_path) = find_file(args.config.as_deref())?;
        let site = Site::merge(args, &file, file_path.as_deref())?;
        Ok((site, file))
    }

    fn merge(args: SiteArgs, file: &FileConfig, file_path: Option<&Path>) -> Result<Site> {
        let bucket = resolve_bucket(args.bucket, file.bucket.clone(), file_path)?;
        let prefix = normalize_prefix(
            args.prefix
                .or_else(|| file.prefix.clone())
                .as_deref()
                .unwrap_or(""),
        )?;
        let state_prefix = match args.state_prefix.or_else(|| file.state_prefix.clone()) {
            None => format!("{prefix}{}", crate::core::plan::STATE_DIR),
            Some(raw) => {
                let state = normalize_prefix(&raw).map_err(|_| {
                    Error::Usage(format!(
                        "invalid --state-prefix `{raw}`: use a path like `deploys/www/` without \
                         empty, `.` or `..` segments"
                    ))
                })?;
                if state.is_empty() || prefix.starts_with(&state) {
                    return Err(Error::Usage(format!(
                        "invalid --state-prefix `{raw}`: it would hold the whole site \
                         (s3://{bucket}/{prefix}); pick a folder of its own, e.g. \
                         `{prefix}{}`",
                        crate::core::plan::STATE_DIR
                    )));
                }
                state
            }
        };
        let key_value_store = match &file.key_value_store {
            Some(name) => Some(crate::core::atomic::check_store_name(name).map_err(|why| {
                Error::Usage(format!(
                    "key_value_store = \"{name}\" in shipfront.toml: {why}"
                ))
            })?),
            None => None,
        };
        let preview_domain = checked_preview_domain(file)?;
        Ok(Site {
            bucket,
            prefix,
            state_prefix,
            atomic: args.atomic || file.atomic.unwrap_or(false),
            key_value_store,
            preview_domain,
            aws: AwsSettings {
                region: args.aws.region,
                profile: args.aws.profile,
                endpoint_url: args.aws.endpoint_url,
            },
        })
    }

    /// The KeyValueStore of an atomic site in front of `distribution`: the one the config
    /// names, else `shipfront-<distribution>`.
    #[must_use]
    pub(crate) fn key_value_store_name(&self, distribution: &str) -> String {
        self.key_value_store
            .clone()
            .unwrap_or_else(|| crate::core::atomic::store_name(distribution))
    }

    /// Refuses an atomic site without a distribution: what the command `does` at CloudFront
    /// needs one.
    fn needs_distribution(&self, distribution: Option<&String>, does: &str) -> Result<()> {
        if self.atomic && distribution.is_none() {
            return Err(Error::Usage(format!(
                "--atomic (atomic = true) {does}: pass --distribution-id ID too"
            )));
        }
        Ok(())
    }

    /// `s3://bucket/prefix`, for messages.
    #[must_use]
    pub(crate) fn target(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }
}

/// `preview_domain` of the config file, checked.
fn checked_preview_domain(file: &FileConfig) -> Result<Option<String>> {
    match &file.preview_domain {
        Some(domain) => crate::core::preview::check_domain(domain.trim())
            .map(|d| Some(d.to_owned()))
            .map_err(|why| Error::Usage(format!("{why} (in shipfront.toml)"))),
        None => Ok(None),
    }
}

/// `--preview NAME` of an atomic site with a preview domain, checked before anything is read.
fn checked_preview(name: Option<String>, site: &Site) -> Result<Option<String>> {
    let Some(name) = name else {
        return Ok(None);
    };
    if !site.atomic {
        return Err(Error::Usage(format!(
            "--preview {name}: previews are releases of an atomic site that `live` does not \
             point at; set atomic = true (or pass --atomic)"
        )));
    }
    let Some(domain) = &site.preview_domain else {
        return Err(Error::Usage(format!(
            "--preview {name}: set preview_domain = \"preview.example.com\" in shipfront.toml \
             (the distribution serves *.preview.example.com) to say where previews are served"
        )));
    };
    let name = crate::core::preview::check_name(&name)
        .map_err(|why| Error::Usage(format!("--preview: {why}")))?;
    crate::core::preview::check_host(name, domain)
        .map_err(|why| Error::Usage(format!("--preview: {why}")))?;
    Ok(Some(name.to_owned()))
}

/// Everything `deploy` needs, resolved and validated.
#[derive(Debug, Clone)]
pub(crate) struct DeployConfig {
    /// The build folder.
    pub(crate) dir: PathBuf,
    pub(crate) site: Site,
    /// How the deploy publishes (the flags it shares with rollback).
    pub(crate) publish: Publish,
    /// Delete stale keys.
    pub(crate) delete: bool,
    /// Exclusion globs from flags and the file.
    pub(crate) excludes: Vec<String>,
    /// Multipart threshold and part size, bytes.
    pub(crate) part_size: u64,
    /// Deploy precompressed `X.br` / `X.gz` copies beside `X`.
    pub(crate) upload_precompressed: bool,
    /// Header defaults and `[[rules]]`.
    pub(crate) headers: HeaderPolicy,
    /// Single-page app guard.
    pub(crate) spa: bool,
    /// The page SPA routes fall back to, relative to the build folder (`index.html`).
    pub(crate) spa_fallback: String,
    /// Repair the distribution's SPA settings instead of refusing.
    pub(crate) fix_spa: bool,
    /// Message of the release record.
    pub(crate) message: Option<String>,
    /// Releases a stale fingerprinted asset is kept after it left the tree.
    pub(crate) keep_assets: u32,
    /// Atomic sites: how many of the newest releases are kept.
    pub(crate) keep_releases: u32,
    /// The edge routing to publish (`--routing`), if any.
    pub(crate) routing: Option<crate::core::routing::RoutingConfig>,
    /// `[headers]` as written (checked), kept live by a response headers policy.
    pub(crate) response_headers: Option<BTreeMap<String, String>>,
    /// `--preview NAME`: the release is a preview, `live` stays.
    pub(crate) preview: Option<String>,
    /// `--verify [URL]`: what visitors get is checked after the deploy.
    pub(crate) verify: Option<VerifySettings>,
}

/// Where and how patiently `--verify` checks a release.
#[derive(Debug, Clone)]
pub(crate) struct VerifySettings {
    /// The address to ask (`https://www.example.com`); None: the distribution's.
    pub(crate) base: Option<String>,
    pub(crate) patience: crate::core::verify::Patience,
}

/// How a command's flags for verification are named in its messages.
struct VerifyTerms {
    /// What asks (`--verify`, `verify`).
    asks: &'static str,
    /// What stands before a bad address (`--verify `, nothing).
    address: &'static str,
    /// The timeout flag.
    timeout: &'static str,
    /// How an address is given.
    example: &'static str,
}

/// `deploy --verify [URL] --verify-timeout`.
const DEPLOY_VERIFY: VerifyTerms = VerifyTerms {
    asks: "--verify",
    address: "--verify ",
    timeout: "--verify-timeout",
    example: "--verify https://www.example.com",
};

/// `shipfront verify [URL] --timeout`.
const VERIFY_COMMAND: VerifyTerms = VerifyTerms {
    asks: "verify",
    address: "",
    timeout: "--timeout",
    example: "shipfront verify https://www.example.com",
};

impl VerifySettings {
    /// `--verify [URL]` and `--verify-timeout` of a deploy: None without `--verify`.
    fn of_deploy(
        url: Option<String>,
        timeout: Option<String>,
        distribution: Option<&String>,
    ) -> Result<Option<Self>> {
        match url {
            Some(url) => Self::of(&url, timeout.as_deref(), distribution, &DEPLOY_VERIFY).map(Some),
            None if timeout.is_some() => Err(Error::Usage(
                "--verify-timeout says how long --verify waits: pass --verify too".to_owned(),
            )),
            None => Ok(None),
        }
    }

    /// An address (empty: the distribution's) and a timeout, checked: a URL or a distribution
    /// to ask; errors said in `terms`.
    fn of(
        url: &str,
        timeout: Option<&str>,
        distribution: Option<&String>,
        terms: &VerifyTerms,
    ) -> Result<Self> {
        let url = url.trim();
        let base = if url.is_empty() {
            if distribution.is_none() {
                return Err(Error::Usage(format!(
                    "{} asks the distribution: pass --distribution-id ID, or the address to ask \
                     ({})",
                    terms.asks, terms.example
                )));
            }
            None
        } else if url.starts_with("https://") || url.starts_with("http://") {
            Some(url.trim_end_matches('/').to_owned())
        } else {
            return Err(Error::Usage(format!(
                "{}`{url}`: give an address starting with https:// (or http://)",
                terms.address
            )));
        };
        let mut patience = crate::core::verify::Patience::default();
        if let Some(raw) = timeout {
            patience.timeout = humantime::parse_duration(raw.trim()).map_err(|e| {
                Error::Usage(format!(
                    "invalid {} `{raw}` ({e}): use a duration like `3m` or `30s`",
                    terms.timeout
                ))
            })?;
            patience.first_wait = patience.first_wait.min(patience.timeout / 4);
        }
        Ok(VerifySettings { base, patience })
    }
}

/// How `deploy` and `rollback` publish, resolved once from the flags they share
/// (`cli::PublishArgs`) and the file's `[deploy]` table.
#[derive(Debug, Clone)]
pub(crate) struct Publish {
    /// CloudFront distribution in front of the bucket, if any.
    pub(crate) distribution_id: Option<String>,
    /// Print the plan and write nothing.
    pub(crate) dry_run: bool,
    /// Refuse plans that delete more than this.
    pub(crate) max_deletes: usize,
    /// Writes in flight at once.
    pub(crate) concurrency: usize,
    /// What to invalidate after the writes.
    pub(crate) invalidate: Invalidate,
    /// Collapse invalidations above this many URLs.
    pub(crate) max_invalidation_paths: usize,
    /// Wait for the invalidation to complete.
    pub(crate) wait: bool,
    /// How a lock held by someone else is treated.
    pub(crate) lock: LockPolicy,
    /// Replace a viewer-request function shipfront did not write.
    pub(crate) force_routing: bool,
    /// Replace a response headers policy shipfront did not write.
    pub(crate) force_headers: bool,
    /// One JSON document on stdout.
    pub(crate) json: bool,
    /// Show progress (bars on a terminal, lines otherwise).
    pub(crate) progress: bool,
}

impl Publish {
    /// Flags (with their `SHIPFRONT_*` variables) over `[deploy]` over defaults; the flags that
    /// need a distribution refused without one.
    fn resolve(args: PublishArgs, file: &FileConfig) -> Result<Publish> {
        let distribution_id = args
            .distribution_id
            .or_else(|| file.distribution_id.clone())
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty());
        let invalidate = Invalidate::resolve(&args.invalidation, distribution_id.as_ref())?;
        if args.wait && distribution_id.is_none() {
            return Err(Error::Usage(
                "--wait waits for a CloudFront invalidation: pass --distribution-id ID too"
                    .to_owned(),
            ));
        }
        let at_least_one = |value: usize, flag: &str| {
            if value == 0 {
                let key = flag.replace('-', "_");
                Err(Error::Usage(format!(
                    "--{flag} (or `{key}` in [deploy]) must be at least 1"
                )))
            } else {
                Ok(value)
            }
        };
        let deploy = &file.deploy;
        Ok(Publish {
            distribution_id,
            invalidate,
            dry_run: args.dry_run,
            max_deletes: args
                .max_deletes
                .or(deploy.max_deletes)
                .unwrap_or(DEFAULT_MAX_DELETES),
            concurrency: at_least_one(
                args.concurrency
                    .or(deploy.concurrency)
                    .unwrap_or(DEFAULT_CONCURRENCY),
                "concurrency",
            )?,
            max_invalidation_paths: at_least_one(
                args.max_invalidation_paths
                    .or(deploy.max_invalidation_paths)
                    .unwrap_or(DEFAULT_MAX_INVALIDATION_PATHS),
                "max-invalidation-paths",
            )?,
            wait: args.wait,
            lock: LockPolicy::resolve(args.lock, deploy.lock_stale_after.clone())?,
            force_routing: args.force_routing,
            force_headers: args.force_headers,
            json: args.json,
            progress: !args.no_progress,
        })
    }
}

impl Invalidate {
    /// `--no-invalidate` or `--invalidate WHAT` (default: what changed); naming what to
    /// invalidate without a distribution is a usage error.
    fn resolve(
        args: &crate::cli::InvalidateArgs,
        distribution_id: Option<&String>,
    ) -> Result<Invalidate> {
        if args.invalidate.is_some() && distribution_id.is_none() {
            return Err(Error::Usage(
                "--invalidate needs a distribution: pass --distribution-id ID or set \
                 `distribution_id` in shipfront.toml"
                    .to_owned(),
            ));
        }
        Ok(match (args.no_invalidate, args.invalidate) {
            (true, _) => Invalidate::Nothing,
            (false, Some(crate::cli::InvalidateArg::All)) => Invalidate::All,
            (false, _) => Invalidate::Changed,
        })
    }
}

/// Reads and parses a config file; errors carry `path:line:column`.
pub(crate) fn load_file(path: &Path) -> Result<FileConfig> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::ConfigRead {
        path: path.to_owned(),
        source,
    })?;
    parse_file(path, &text)
}

pub(crate) fn parse_file(path: &Path, text: &str) -> Result<FileConfig> {
    toml::from_str(text).map_err(|e| {
        let (line, column) = e
            .span()
            .map_or((1, 1), |span| line_column(text, span.start));
        Error::ConfigSyntax {
            path: path.to_owned(),
            line,
            column,
            message: e.message().to_owned(),
        }
    })
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

/// Normalises a key prefix: no leading `/`, one trailing `/`, no empty or `..` segments.
pub(crate) fn normalize_prefix(raw: &str) -> Result<String> {
    let trimmed = raw.trim().trim_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    if trimmed
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(Error::Usage(format!(
            "invalid --prefix `{raw}`: use a path like `site/` without empty, `.` or `..` segments"
        )));
    }
    Ok(format!("{trimmed}/"))
}

/// The bucket from the flag (or its variable), else the file; refused when missing or when it
/// looks like a URL or a path.
fn resolve_bucket(
    flag: Option<String>,
    from_file: Option<String>,
    file_path: Option<&Path>,
) -> Result<String> {
    let bucket = flag.or(from_file).ok_or_else(|| {
        Error::Usage(format!(
            "no bucket given: pass --bucket NAME, set SHIPFRONT_BUCKET{}",
            file_path.map_or_else(
                || format!(" or write `bucket = \"NAME\"` in {DEFAULT_CONFIG_FILE}"),
                |p| format!(" or `bucket` in {}", p.display())
            )
        ))
    })?;
    let bucket = bucket.trim().to_owned();
    if bucket.is_empty() || bucket.contains('/') || bucket.starts_with("s3:") {
        return Err(Error::Usage(format!(
            "invalid bucket `{bucket}`: give the bucket name only (no s3:// and no path; \
             use --prefix for a folder inside the bucket)"
        )));
    }
    if !valid_bucket_name(&bucket) {
        return Err(Error::Usage(format!(
            "invalid bucket `{}`: S3 bucket names are 3 to 63 lowercase letters, digits, dots \
             and hyphens, beginning and ending with a letter or digit",
            bucket.escape_debug()
        )));
    }
    Ok(bucket)
}

/// Whether S3 could have a bucket of this name. Strict rules for new buckets, with the room
/// old us-east-1 buckets were given (up to 255 characters, capitals and underscores), so no
/// existing bucket is refused; anything else would only fail at the first request.
fn valid_bucket_name(name: &str) -> bool {
    let edges_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    (3..=255).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        && edges_ok(name.chars().next())
        && edges_ok(name.chars().last())
        && !name.contains("..")
}

/// How `deploy` and `rollback` treat a lock someone else holds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LockPolicy {
    /// `--force-unlock`: take a stale lock, or one whose time cannot be trusted, at once.
    pub(crate) force: bool,
    /// `--force-unlock-live`: take even a lock refreshed within its lease.
    pub(crate) force_live: bool,
    /// A lock not refreshed for this long is stale and taken over with a warning.
    pub(crate) stale_after: std::time::Duration,
}

impl LockPolicy {
    /// `--lock-stale-after`, else `[deploy] lock_stale_after`, else the default lease; at least
    /// twice the refresh interval, so a live holder's lock is never taken for a stale one.
    fn resolve(args: crate::cli::LockArgs, from_file: Option<String>) -> Result<LockPolicy> {
        let stale_after = match args.lock_stale_after.or(from_file) {
            None => LOCK_LEASE,
            Some(raw) => parse_lease(&raw)?,
        };
        Ok(LockPolicy {
            force: args.force_unlock || args.force_unlock_live,
            force_live: args.force_unlock_live,
            stale_after,
        })
    }
}

fn parse_lease(raw: &str) -> Result<std::time::Duration> {
    let (min, max) = (MIN_LOCK_LEASE, MAX_LOCK_LEASE);
    match humantime::parse_duration(raw.trim()) {
        Ok(d) if d >= min && d <= max => Ok(d),
        Ok(d) if d < min => Err(Error::Usage(format!(
            "--lock-stale-after `{raw}` is too short: a running deploy refreshes its lock four \
             times per lease and must get one refresh through, so use at least {}",
            humantime::format_duration(min)
        ))),
        Ok(_) => Err(Error::Usage(format!(
            "--lock-stale-after `{raw}` is too long: a dead deploy's lock would block the site \
             that long, so use at most {}",
            humantime::format_duration(max)
        ))),
        Err(e) => Err(Error::Usage(format!(
            "invalid --lock-stale-after `{raw}` ({e}): use a duration like `5m` or `90s`"
        ))),
    }
}

/// The config file named by `--config`, else `./shipfront.toml` when it exists.
fn find_file(explicit: Option<&Path>) -> Result<(FileConfig, Option<PathBuf>)> {
    match explicit {
        Some(path) => Ok((load_file(path)?, Some(path.to_owned()))),
        None if Path::new(DEFAULT_CONFIG_FILE).is_file() => Ok((
            load_file(Path::new(DEFAULT_CONFIG_FILE))?,
            Some(PathBuf::from(DEFAULT_CONFIG_FILE)),
        )),
        None => Ok((FileConfig::default(), None)),
    }
}

/// What `shipfront routing` generates from, resolved from flags, the config file and the
/// build folder's `_redirects`.
#[derive(Debug, Clone)]
pub(crate) struct RoutingSettings {
    pub(crate) dir: PathBuf,
    /// `[deploy] exclude` of the config file, as a deploy leaves them out.
    pub(crate) excludes: Vec<String>,
    pub(crate) routing: crate::core::routing::RoutingConfig,
    /// The atomic variant (`--atomic`, `atomic = true`): the live release read from the
    /// KeyValueStore.
    pub(crate) atomic: bool,
}

impl RoutingSettings {
    /// Resolves the flags of `shipfront routing`.
    ///
    /// # Errors
    /// A bad flag, config value or `_redirects` line, naming it.
    pub(crate) fn resolve(args: crate::cli::RoutingArgs) -> Result<Self> {
        let (file, _) = find_file(args.config.as_deref())?;
        let (spa, fallback) = spa_setting(args.serving.spa, args.serving.spa_fallback, &file)?;
        let trailing_slash = args.serving.trailing_slash;
        let mut routing = routing_config(&args.dir, spa, fallback, trailing_slash, &file)?;
        // As a deploy to an origin without OriginPath hides it.
        routing.hidden = crate::core::routing::hidden_path(&file_state_prefix(&file)?, "");
        let atomic = args.atomic || file.atomic.unwrap_or(false);
        if atomic {
            routing.preview_domain = checked_preview_domain(&file)?;
        }
        Ok(RoutingSettings {
            dir: args.dir,
            excludes: file.deploy.exclude.clone(),
            routing,
            atomic,
        })
    }
}

/// What `shipfront serve` serves and how, and on which port.
#[derive(Debug, Clone)]
pub(crate) struct ServeSettings {
    pub(crate) source: ServeSource,
    pub(crate) port: u16,
}

/// Where `shipfront serve` takes the site from.
#[derive(Debug, Clone)]
pub(crate) enum ServeSource {
    /// A build folder, routed as `shipfront routing` resolves it, with the headers a deploy
    /// would store and `[headers]`, the response headers policy's.
    Folder {
        routing: RoutingSettings,
        headers: HeaderPolicy,
        response_headers: Option<crate::core::response_headers::ResponseHeaders>,
    },
    /// A bucket's release as recorded: the live one, or `release`; the distribution's error
    /// responses when `distribution_id` is known, else those `doctor` advises: for an SPA
    /// deployed without the routing function (`spa_fallback`), its fallback page.
    Bucket {
        site: Site,
        release: Option<String>,
        distribution_id: Option<String>,
        spa_fallback: Option<String>,
    },
}

impl ServeSettings {
    /// Resolves the flags of `shipfront serve`: a folder when DIR is given, else the bucket.
    ///
    /// # Errors
    /// A bad flag, config value or `_redirects` line, naming it; routing flags or `--release`
    /// with the other source.
    pub(crate) fn resolve(args: crate::cli::ServeArgs) -> Result<Self> {
        let port = args.port;
        let Some(dir) = args.dir else {
            if args.serving.trailing_slash.is_some() {
                return Err(Error::Usage(
                    "--trailing-slash routes a build folder: a bucket's release is served with \
                     the routing it was deployed with"
                        .to_owned(),
                ));
            }
            if args.site.bucket.is_none()
                && find_file(args.site.config.as_deref())?.0.bucket.is_none()
            {
                return Err(Error::Usage(
                    "serve what? give the build folder (shipfront serve dist), or --bucket NAME \
                     to serve what is deployed there"
                        .to_owned(),
                ));
            }
            let (site, file) = Site::resolve(args.site)?;
            let (spa, fallback) = spa_setting(args.serving.spa, args.serving.spa_fallback, &file)?;
            let distribution_id = distribution_of(args.distribution_id, file.distribution_id);
            let release = args.release.map(|r| r.trim().to_owned());
            return Ok(ServeSettings {
                source: ServeSource::Bucket {
                    site,
                    release,
                    distribution_id,
                    spa_fallback: spa.then_some(fallback),
                },
                port,
            });
        };
        if let Some(release) = args.release {
            return Err(Error::Usage(format!(
                "--release {release} serves a release from the bucket: drop the folder `{}` \
                 and pass --bucket",
                dir.display()
            )));
        }
        let (file, _) = find_file(args.site.config.as_deref())?;
        let response_headers = match &file.headers {
            Some(table) => Some(
                crate::core::response_headers::parse(table)
                    .map_err(|errors| Error::Usage(errors.join("; ")))?,
            ),
            None => None,
        };
        let headers = header_policy(file.rules)?;
        let routing = RoutingSettings::resolve(crate::cli::RoutingArgs {
            dir,
            serving: args.serving,
            atomic: args.site.atomic,
            config: args.site.config,
        })?;
        Ok(ServeSettings {
            source: ServeSource::Folder {
                routing,
                headers,
                response_headers,
            },
            port,
        })
    }
}

/// The state prefix the config file implies, as `Site` resolves it, for a command that needs
/// no bucket.
fn file_state_prefix(file: &FileConfig) -> Result<String> {
    let prefix = normalize_prefix(file.prefix.as_deref().unwrap_or(""))?;
    match &file.state_prefix {
        Some(raw) => normalize_prefix(raw),
        None => Ok(format!("{prefix}{}", crate::core::plan::STATE_DIR)),
    }
}

/// The routing of the build in `dir`: its mode, trailing slashes, and the redirects of the
/// config file followed by those of `dir/_redirects` (the first match wins).
fn routing_config(
    dir: &Path,
    spa: bool,
    fallback: String,
    trailing_slash: Option<String>,
    file: &FileConfig,
) -> Result<crate::core::routing::RoutingConfig> {
    use crate::core::routing::{Mode, Redirect, TrailingSlash, parse_redirects};
    let trailing_slash = match trailing_slash.or_else(|| file.trailing_slash.clone()) {
        Some(value) => TrailingSlash::parse(&value).map_err(Error::Usage)?,
        None => TrailingSlash::default(),
    };
    let mut redirects = Vec::new();
    for (i, r) in file.redirects.iter().enumerate() {
        let redirect = Redirect::new(&r.from, &r.to, r.status.unwrap_or(301))
            .map_err(|e| Error::Usage(format!("[[redirects]] entry {}: {e}", i + 1)))?;
        redirects.push(redirect);
    }
    let listed = dir.join(crate::core::routing::REDIRECTS_FILE);
    if listed.is_file() {
        let text = std::fs::read_to_string(&listed).map_err(|source| Error::Unreadable {
            path: listed.clone(),
            source,
        })?;
        let name = listed.display().to_string();
        redirects.extend(
            parse_redirects(&name, &text).map_err(|errors| Error::Usage(errors.join("; ")))?,
        );
    }
    let circles = crate::core::routing::redirect_loops(&redirects);
    if !circles.is_empty() {
        let from_file = (!file.redirects.is_empty()).then(|| "[[redirects]]".to_owned());
        let listed = listed.is_file().then(|| format!("`{}`", listed.display()));
        let sources: Vec<String> = from_file.into_iter().chain(listed).collect();
        return Err(Error::Usage(format!(
            "{}: {}",
            sources.join(" and "),
            circles.join("; ")
        )));
    }
    Ok(crate::core::routing::RoutingConfig {
        mode: if spa {
            Mode::Spa { fallback }
        } else {
            Mode::Pages
        },
        trailing_slash,
        redirects,
        hidden: None,
        preview_domain: None,
    })
}

/// What `shipfront doctor` checks, resolved like a deploy's settings.
#[derive(Debug, Clone)]
pub(crate) struct DoctorConfig {
    pub(crate) site: Site,
    pub(crate) distribution_id: Option<String>,
    /// The SPA fallback page when the site is a single-page app.
    pub(crate) spa_fallback: Option<String>,
    /// Routing by shipfront's function is on (`--routing`, `routing = true`).
    pub(crate) routing: bool,
    /// `[headers]`, checked.
    pub(crate) headers: Option<crate::core::response_headers::ResponseHeaders>,
    /// The build folder to check the edge against, when given.
    pub(crate) build: Option<DoctorBuild>,
    pub(crate) json: bool,
}

/// The build folder `doctor DIR` checks the edge against.
#[derive(Debug, Clone)]
pub(crate) struct DoctorBuild {
    pub(crate) dir: PathBuf,
    /// `--exclude` and `[deploy] exclude`, as a deploy leaves them out.
    pub(crate) excludes: Vec<String>,
    /// The routing the build implies (Err: why there is none, e.g. a bad `_redirects` line;
    /// reported only where the routing function matters).
    pub(crate) routing: std::result::Result<crate::core::routing::RoutingConfig, String>,
}

impl DoctorConfig {
    pub(crate) fn resolve(args: crate::cli::DoctorArgs) -> Result<Self> {
        let (site, file) = Site::resolve(args.site)?;
        let atomic = site.atomic;
        let (spa, fallback) = spa_setting(args.serving.spa, args.serving.spa_fallback, &file)?;
        let headers = match &file.headers {
            Some(table) => Some(
                crate::core::response_headers::parse(table)
                    .map_err(|errors| Error::Usage(errors.join("; ")))?,
            ),
            None => None,
        };
        let build = match args.dir {
            Some(dir) => {
                let routing = routing_config(
                    &dir,
                    spa,
                    fallback.clone(),
                    args.serving.trailing_slash,
                    &file,
                )
                .map_err(|e| e.to_string());
                let mut excludes = args.exclude;
                excludes.extend(file.deploy.exclude.iter().cloned());
                Some(DoctorBuild {
                    dir,
                    excludes,
                    routing,
                })
            }
            None => None,
        };
        Ok(DoctorConfig {
            site,
            distribution_id: args
                .distribution_id
                .or(file.distribution_id)
                .filter(|d| !d.trim().is_empty()),
            spa_fallback: spa.then_some(fallback),
            routing: args.routing || file.routing.unwrap_or(false) || atomic,
            headers,
            build,
            json: args.json,
        })
    }
}

/// `--spa`, `--spa-fallback PAGE` and the file's `spa` / `spa_fallback`: whether the site is a
/// single-page app, and the page its routes fall back to. Naming a fallback page makes the site
/// an SPA unless the file says `spa = false`.
fn spa_setting(
    flag: bool,
    fallback_flag: Option<String>,
    file: &FileConfig,
) -> Result<(bool, String)> {
    let spa = flag || fallback_flag.is_some() || file.spa.unwrap_or(file.spa_fallback.is_some());
    let page = match fallback_flag.or_else(|| file.spa_fallback.clone()) {
        Some(raw) => crate::core::spa::fallback_page(&raw).map_err(Error::Usage)?,
        None => crate::core::spa::INDEX.to_owned(),
    };
    Ok((spa, page))
}

/// Where `shipfront releases` looks.
#[derive(Debug, Clone)]
pub(crate) struct ReleasesConfig {
    pub(crate) site: Site,
    pub(crate) json: bool,
    /// The distribution whose KeyValueStore an atomic site's pointer is in.
    pub(crate) distribution_id: Option<String>,
}

impl ReleasesConfig {
    pub(crate) fn resolve(args: crate::cli::ReleasesArgs) -> Result<Self> {
        let (site, file) = Site::resolve(args.site)?;
        let distribution_id = distribution_of(args.distribution_id, file.distribution_id);
        site.needs_distribution(
            distribution_id.as_ref(),
            "reads the live release from the KeyValueStore at CloudFront",
        )?;
        Ok(ReleasesConfig {
            site,
            json: args.json,
            distribution_id,
        })
    }
}

/// The distribution a flag (or its variable) names, else the config file's; blank is none.
fn distribution_of(flag: Option<String>, file: Option<String>) -> Option<String> {
    flag.or(file)
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty())
}

/// What `shipfront verify` asks, where, about which release.
#[derive(Debug, Clone)]
pub(crate) struct VerifyConfig {
    pub(crate) site: Site,
    pub(crate) settings: VerifySettings,
    /// None: the live release.
    pub(crate) release: Option<String>,
    pub(crate) distribution_id: Option<String>,
    pub(crate) json: bool,
}

impl VerifyConfig {
    pub(crate) fn resolve(args: crate::cli::VerifyArgs) -> Result<Self> {
        let (site, file) = Site::resolve(args.site)?;
        let distribution_id = distribution_of(args.distribution_id, file.distribution_id);
        let url = args.url.unwrap_or_default();
        let timeout = args.timeout.as_deref();
        let settings =
            VerifySettings::of(&url, timeout, distribution_id.as_ref(), &VERIFY_COMMAND)?;
        Ok(VerifyConfig {
            site,
            settings,
            release: args.release.map(|r| r.trim().to_owned()),
            distribution_id,
            json: args.json,
        })
    }
}

/// What `shipfront previews` does, on which site.
#[derive(Debug, Clone)]
pub(crate) struct PreviewsConfig {
    pub(crate) site: Site,
    pub(crate) action: PreviewsAction,
    /// The distribution whose KeyValueStore holds the pointers (remove and prune).
    pub(crate) distribution_id: Option<String>,
    pub(crate) dry_run: bool,
    pub(crate) json: bool,
}

/// One of `shipfront previews`' actions, its arguments checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PreviewsAction {
    List,
    Remove(String),
    /// The previews unchanged for longer than this go.
    Prune(std::time::Duration),
}

impl PreviewsConfig {
    pub(crate) fn resolve(args: crate::cli::PreviewsArgs) -> Result<Self> {
        use crate::cli::PreviewsAction as Asked;
        let action = match (args.action, args.name, args.older_than) {
            (Asked::List, None, None) => PreviewsAction::List,
            (Asked::Remove, Some(name), None) => PreviewsAction::Remove(
                crate::core::preview::check_name(&name)
                    .map_err(|why| Error::Usage(format!("previews remove: {why}")))?
                    .to_owned(),
            ),
            (Asked::Remove, None, _) => {
                return Err(Error::Usage(
                    "previews remove NAME: name the preview (`shipfront previews` lists them)"
                        .to_owned(),
                ));
            }
            (Asked::Prune, None, Some(age)) => match humantime::parse_duration(age.trim()) {
                Ok(age) => PreviewsAction::Prune(age),
                Err(e) => {
                    return Err(Error::Usage(format!(
                        "invalid --older-than `{age}` ({e}): use an age like `14d` or `36h`"
                    )));
                }
            },
            (Asked::Prune, None, None) => {
                return Err(Error::Usage(
                    "previews prune --older-than AGE: say how old a preview must be to go, e.g. \
                     `--older-than 14d`"
                        .to_owned(),
                ));
            }
            (action, name, older_than) => {
                return Err(Error::Usage(format!(
                    "previews {}: takes {}",
                    format!("{action:?}").to_lowercase(),
                    match (name, older_than) {
                        (Some(name), _) => format!("no name (got `{name}`)"),
                        _ => "no --older-than".to_owned(),
                    }
                )));
            }
        };
        let (site, file) = Site::resolve(args.site)?;
        let distribution_id = distribution_of(args.distribution_id, file.distribution_id);
        if !site.atomic {
            return Err(Error::Usage(
                "previews are releases of an atomic site: set atomic = true (or pass --atomic)"
                    .to_owned(),
            ));
        }
        if action != PreviewsAction::List {
            site.needs_distribution(
                distribution_id.as_ref(),
                "removes a preview's pointer from the KeyValueStore at CloudFront",
            )?;
        }
        Ok(PreviewsConfig {
            site,
            action,
            distribution_id,
            dry_run: args.dry_run,
            json: args.json,
        })
    }
}

/// What `shipfront rollback` does, resolved like a deploy's settings.
#[derive(Debug, Clone)]
pub(crate) struct RollbackConfig {
    pub(crate) site: Site,
    /// Release id to restore; None: the one before the live one.
    pub(crate) to: Option<String>,
    /// `promote NAME`: the release preview NAME shows is the one switched to.
    pub(crate) promote: Option<String>,
    /// How the rollback publishes (the flags it shares with deploy).
    pub(crate) publish: Publish,
}

impl RollbackConfig {
    pub(crate) fn resolve(args: crate::cli::RollbackArgs) -> Result<Self> {
        let (site, file) = Site::resolve(args.site)?;
        let publish = Publish::resolve(args.publish, &file)?;
        site.needs_distribution(
            publish.distribution_id.as_ref(),
            "rolls back by switching the KeyValueStore pointer at CloudFront",
        )?;
        Ok(RollbackConfig {
            publish,
            site,
            to: args.to,
            promote: None,
        })
    }

    /// Resolves the flags of `shipfront promote`: an atomic site with a distribution, and a
    /// name that can be a preview's.
    pub(crate) fn resolve_promote(args: crate::cli::PromoteArgs) -> Result<Self> {
        let (site, file) = Site::resolve(args.site)?;
        let publish = Publish::resolve(args.publish, &file)?;
        if !site.atomic {
            return Err(Error::Usage(format!(
                "promote {}: previews are releases of an atomic site; set atomic = true (or \
                 pass --atomic)",
                args.name
            )));
        }
        site.needs_distribution(
            publish.distribution_id.as_ref(),
            "promotes a preview by switching the KeyValueStore pointer at CloudFront",
        )?;
        let name = crate::core::preview::check_name(&args.name)
            .map_err(|why| Error::Usage(format!("promote: {why}")))?
            .to_owned();
        Ok(RollbackConfig {
            publish,
            site,
            to: None,
            promote: Some(name),
        })
    }
}

impl DeployConfig {
    /// Merges flags (with their `SHIPFRONT_*` variables, which clap already applied) over the
    /// config file over defaults.
    pub(crate) fn resolve(mut args: DeployArgs) -> Result<Self> {
        let (site, file) = Site::resolve(std::mem::take(&mut args.site))?;
        Self::merge(args, site, file)
    }

    fn merge(mut args: DeployArgs, site: Site, file: FileConfig) -> Result<Self> {
        let serving = &args.serving;
        let (spa, spa_fallback) = spa_setting(serving.spa, serving.spa_fallback.clone(), &file)?;
        let publish = Publish::resolve(std::mem::take(&mut args.publish), &file)?;
        let distribution = publish.distribution_id.as_ref();
        if args.fix_spa && distribution.is_none() {
            return Err(Error::Usage(
                "--fix-spa repairs a CloudFront distribution: pass --distribution-id ID too"
                    .to_owned(),
            ));
        }
        let preview = checked_preview(args.preview.take(), &site)?;
        let verify = VerifySettings::of_deploy(
            args.verify.take(),
            args.verify_timeout.take(),
            distribution,
        )?;
        let response_headers = response_headers_of(&file, distribution)?;
        let routing = deploy_routing(&args, &site, distribution, (spa, &spa_fallback), &file)?;
        let keep_releases = file.deploy.keep_releases.unwrap_or(DEFAULT_KEEP_RELEASES);
        if keep_releases == 0 {
            return Err(Error::Usage(
                "keep_releases in [deploy] must be at least 1: the live release is always kept"
                    .to_owned(),
            ));
        }
        let delete = if args.no_delete {
            false
        } else if args.delete {
            true
        } else {
            file.deploy.delete.unwrap_or(true)
        };
        let part_size_mib = file.deploy.part_size_mib.unwrap_or(DEFAULT_PART_SIZE_MIB);
        if !(5..=5120).contains(&part_size_mib) {
            return Err(Error::Usage(format!(
                "part_size_mib = {part_size_mib} in [deploy]: S3 parts must be 5 to 5120 MiB"
            )));
        }
        let headers = header_policy(file.rules)?;
        let mut excludes = args.exclude;
        excludes.extend(file.deploy.exclude);
        Ok(DeployConfig {
            dir: args.dir,
            site,
            publish,
            delete,
            excludes,
            part_size: part_size_mib << 20,
            upload_precompressed: args.upload_precompressed
                || file.deploy.upload_precompressed.unwrap_or(false),
            headers,
            spa: spa || args.fix_spa,
            spa_fallback,
            fix_spa: args.fix_spa,
            message: crate::environment::default_message(args.message),
            keep_assets: args.keep_assets.or(file.deploy.keep_assets).unwrap_or(1),
            keep_releases,
            routing,
            response_headers,
            preview,
            verify,
        })
    }
}

/// The routing `deploy --routing` (or `routing = true`) publishes; refused without a
/// distribution.
fn deploy_routing(
    args: &DeployArgs,
    site: &Site,
    distribution: Option<&String>,
    (spa, spa_fallback): (bool, &str),
    file: &FileConfig,
) -> Result<Option<crate::core::routing::RoutingConfig>> {
    site.needs_distribution(
        distribution,
        "switches releases in shipfront's routing function at CloudFront",
    )?;
    if !args.routing && !file.routing.unwrap_or(false) && !site.atomic {
        return Ok(None);
    }
    if distribution.is_none() {
        return Err(Error::Usage(
            "--routing publishes a CloudFront Function: pass --distribution-id ID too".to_owned(),
        ));
    }
    let mut routing = routing_config(
        &args.dir,
        spa,
        spa_fallback.to_owned(),
        args.serving.trailing_slash.clone(),
        file,
    )?;
    // An atomic site's function serves its previews too.
    if site.atomic {
        routing.preview_domain.clone_from(&site.preview_domain);
    }
    Ok(Some(routing))
}

/// `[headers]` of the config file, checked; refused without a distribution to serve them.
fn response_headers_of(
    file: &FileConfig,
    distribution: Option<&String>,
) -> Result<Option<BTreeMap<String, String>>> {
    let Some(table) = &file.headers else {
        return Ok(None);
    };
    if table.is_empty() {
        return Err(Error::Usage(
            "[headers] is empty: list the headers every response gets, or remove the table \
             (shipfront then leaves the distribution's response headers policy alone)"
                .to_owned(),
        ));
    }
    crate::core::response_headers::parse(table)
        .map_err(|errors| Error::Usage(errors.join("; ")))?;
    if distribution.is_none() {
        return Err(Error::Usage(
            "[headers] in shipfront.toml are added by a CloudFront response headers policy: \
             pass --distribution-id ID (or set distribution_id)"
                .to_owned(),
        ));
    }
    Ok(Some(table.clone()))
}

/// `[[rules]]` compiled; an entry that sets no header is a mistake, refused.
fn header_policy(entries: Vec<RuleSection>) -> Result<HeaderPolicy> {
    let mut rules = Vec::with_capacity(entries.len());
    for r in entries {
        if r.cache_control.is_none() && r.content_type.is_none() {
            return Err(Error::Usage(format!(
                "[[rules]] entry `{}` sets neither cache_control nor content_type",
                r.pattern
            )));
        }
        rules.push(Rule::new(&r.pattern, r.cache_control, r.content_type)?);
    }
    Ok(HeaderPolicy::new(rules))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_s3_cannot_have_are_refused_before_any_request() {
        let cases = [
            ("my-site", true),
            ("www.example.com", true),
            ("t123-4-bucket", true),
            ("Legacy_Bucket", true),
            ("ab", false),
            ("a b", false),
            ("-leading", false),
            ("trailing.", false),
            ("dots..twice", false),
            ("caf\u{e9}", false),
            ("tab\there", false),
        ];
        for (name, ok) in cases {
            let got = resolve_bucket(Some(name.to_owned()), None, None);
            assert_eq!(got.is_ok(), ok, "{name:?}: {got:?}");
            if let Err(e) = got {
                assert_eq!(e.exit_code(), 2);
                assert!(e.to_string().contains("invalid bucket"), "{e}");
            }
        }
    }
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn args(argv: &[&str]) -> DeployArgs {
        let mut full = vec!["shipfront", "deploy"];
        full.extend_from_slice(argv);
        match Cli::try_parse_from(full).unwrap().command {
            Command::Deploy(a) => a,
            _ => unreachable!(),
        }
    }

    fn file(text: &str) -> FileConfig {
        parse_file(Path::new("shipfront.toml"), text).unwrap()
    }

    /// What `DeployConfig::resolve` does, with the file given.
    fn merge(mut a: DeployArgs, f: FileConfig) -> Result<DeployConfig> {
        let site = Site::merge(std::mem::take(&mut a.site), &f, None)?;
        DeployConfig::merge(a, site, f)
    }

    /// `--atomic` or `atomic = true` needs a distribution, implies the routing function, and
    /// reads the store's name and `keep_releases` from the file, each checked.
    #[test]
    fn atomic_sites_resolve_with_their_store_and_retention() {
        type Want = std::result::Result<(&'static str, u32), &'static str>;
        let cases: [(&[&str], &str, Want); 6] = [
            (&["--atomic"], "", Err("pass --distribution-id ID too")),
            (&[], "atomic = true\n", Err("pass --distribution-id ID too")),
            (
                &["--atomic", "--distribution-id", "E1"],
                "",
                Ok(("shipfront-E1", 10)),
            ),
            (
                &["--distribution-id", "E1"],
                "atomic = true\nkey_value_store = \"site_live\"\n[deploy]\nkeep_releases = 3\n",
                Ok(("site_live", 3)),
            ),
            (
                &["--atomic", "--distribution-id", "E1"],
                "key_value_store = \"a b\"\n",
                Err("key_value_store = \"a b\""),
            ),
            (
                &["--atomic", "--distribution-id", "E1"],
                "[deploy]\nkeep_releases = 0\n",
                Err("keep_releases in [deploy] must be at least 1"),
            ),
        ];
        for (flags, text, want) in cases {
            let mut argv = vec!["dist", "--bucket", "site-bucket"];
            argv.extend_from_slice(flags);
            let got = merge(args(&argv), file(text));
            match (got, want) {
                (Ok(c), Ok((store, keep))) => {
                    assert!(c.site.atomic && c.routing.is_some(), "{flags:?} {text}");
                    assert_eq!(c.site.key_value_store_name("E1"), store);
                    assert_eq!(c.keep_releases, keep);
                }
                (Err(e), Err(message)) => {
                    assert_eq!(e.exit_code(), 2);
                    assert!(e.to_string().contains(message), "{e}");
                }
                (got, want) => panic!("{flags:?} {text}: {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn flags_win_over_file_over_defaults() {
        let f = file(
            "bucket = \"from-file\"\nprefix = \"site\"\n[deploy]\nmax_deletes = 10\nconcurrency = 4\ndelete = false\n",
        );
        let c = merge(
            args(&["dist", "--bucket", "from-flag", "--concurrency", "8"]),
            f,
        )
        .unwrap();
        assert_eq!(c.site.bucket, "from-flag");
        assert_eq!(c.site.prefix, "site/");
        assert_eq!(c.site.state_prefix, "site/.shipfront/");
        assert_eq!(c.publish.concurrency, 8);
        assert_eq!(c.publish.max_deletes, 10);
        assert!(!c.delete);

        let c = merge(args(&["dist", "--bucket", "bkt"]), FileConfig::default()).unwrap();
        assert_eq!(
            (
                c.site.prefix.as_str(),
                c.delete,
                c.publish.max_deletes,
                c.publish.concurrency,
                c.part_size
            ),
            ("", true, 256, 32, 16 << 20)
        );
    }

    /// Deploy and rollback read the flags they share (`PublishArgs`) into one `Publish`, the
    /// same way: flags over `[deploy]` over defaults, the same refusals.
    #[test]
    fn deploy_and_rollback_publish_alike() {
        let file_text = "[deploy]\nconcurrency = 4\nmax_invalidation_paths = 7\nmax_deletes = 9\n";
        let publish_of = |command: &str, extra: &[&str]| {
            let mut argv = vec!["shipfront", command];
            if command == "deploy" {
                argv.push("dist");
            }
            argv.extend_from_slice(&["--distribution-id", "E1"]);
            argv.extend_from_slice(extra);
            match Cli::try_parse_from(argv).unwrap().command {
                Command::Deploy(a) => Publish::resolve(a.publish, &file(file_text)),
                Command::Rollback(a) => Publish::resolve(a.publish, &file(file_text)),
                _ => unreachable!(),
            }
        };
        for command in ["deploy", "rollback"] {
            let flags = [
                "--concurrency",
                "8",
                "--max-invalidation-paths",
                "3",
                "--wait",
            ];
            let p = publish_of(command, &flags).unwrap();
            assert_eq!(
                (
                    p.concurrency,
                    p.max_invalidation_paths,
                    p.max_deletes,
                    p.wait
                ),
                (8, 3, 9, true),
                "{command}"
            );
            let p = publish_of(command, &[]).unwrap();
            assert_eq!(
                (p.concurrency, p.max_invalidation_paths),
                (4, 7),
                "{command}"
            );
            for (flag, value) in [("--concurrency", "0"), ("--max-invalidation-paths", "0")] {
                let err = publish_of(command, &[flag, value]).unwrap_err();
                assert!(err.to_string().contains(flag), "{command}: {err}");
            }
        }
    }

    #[test]
    fn headers_are_checked_at_load_and_need_a_distribution() {
        let text = "distribution_id = \"E1\"\n[headers]\nStrict-Transport-Security = \"max-age=300\"\nX-Robots-Tag = \"noindex\"\n";
        let c = merge(args(&["d", "--bucket", "bkt"]), file(text)).unwrap();
        let table = c.response_headers.expect("kept");
        assert_eq!(table.len(), 2);
        assert!(!c.publish.force_headers);
        let c = merge(
            args(&["d", "--bucket", "bkt", "--force-headers"]),
            file(text),
        )
        .unwrap();
        assert!(c.publish.force_headers);

        let bad = "distribution_id = \"E1\"\n[headers]\nX-Frame-Options = \"ALLOWALL\"\n";
        let err = merge(args(&["d", "--bucket", "bkt"]), file(bad)).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(
            err.to_string().contains("[headers] `X-Frame-Options`"),
            "{err}"
        );

        let empty = "distribution_id = \"E1\"\n[headers]\n";
        let err = merge(args(&["d", "--bucket", "bkt"]), file(empty)).unwrap_err();
        assert!(err.to_string().contains("[headers] is empty"), "{err}");

        let alone = "[headers]\nX-Robots-Tag = \"noindex\"\n";
        let err = merge(args(&["d", "--bucket", "bkt"]), file(alone)).unwrap_err();
        assert!(err.to_string().contains("--distribution-id"), "{err}");
        assert!(
            merge(
                args(&["d", "--bucket", "bkt", "--distribution-id", "E1"]),
                file(alone)
            )
            .is_ok()
        );

        // Not a string: the file's own error, naming the file.
        let err = parse_file(Path::new("shipfront.toml"), "[headers]\nX-A = 1\n").unwrap_err();
        assert!(err.to_string().contains("shipfront.toml"), "{err}");
    }

    #[test]
    fn delete_flags() {
        let f = || file("[deploy]\ndelete = false\n");
        let cases: [(&[&str], bool); 4] = [
            (&["d", "--bucket", "bkt"], false),
            (&["d", "--bucket", "bkt", "--delete"], true),
            (&["d", "--bucket", "bkt", "--no-delete"], false),
            (&["d", "--bucket", "bkt", "--no-delete", "--delete"], true),
        ];
        for (argv, want) in cases {
            assert_eq!(merge(args(argv), f()).unwrap().delete, want, "{argv:?}");
        }
    }

    #[test]
    fn prefixes() {
        let cases = [
            ("", Some("")),
            ("/", Some("")),
            ("site", Some("site/")),
            ("/site/", Some("site/")),
            ("a/b", Some("a/b/")),
            ("a//b", None),
            ("../x", None),
        ];
        for (raw, want) in cases {
            assert_eq!(
                normalize_prefix(raw).ok().as_deref(),
                want,
                "prefix {raw:?}"
            );
        }
    }

    #[test]
    fn state_prefix_defaults_under_the_site_and_never_holds_it() {
        let cases: [(&[&str], &str, Option<&str>); 7] = [
            (&[], "", Some(".shipfront/")),
            (&["--prefix", "www"], "", Some("www/.shipfront/")),
            (
                &["--state-prefix", "/deploys/www"],
                "",
                Some("deploys/www/"),
            ),
            (&[], "state_prefix = \"ops/state\"\n", Some("ops/state/")),
            (
                &["--state-prefix", "a"],
                "state_prefix = \"b\"\n",
                Some("a/"),
            ),
            (&["--state-prefix", "/"], "", None),
            (&["--prefix", "www/app", "--state-prefix", "www"], "", None),
        ];
        for (argv, text, want) in cases {
            let mut full = vec!["d", "--bucket", "bkt"];
            full.extend_from_slice(argv);
            let got = merge(args(&full), file(text));
            match want {
                Some(want) => assert_eq!(got.unwrap().site.state_prefix, want, "{argv:?}"),
                None => {
                    let err = got.unwrap_err();
                    assert!(
                        err.to_string().contains("--state-prefix"),
                        "{argv:?}: {err}"
                    );
                    assert_eq!(err.exit_code(), 2);
                }
            }
        }
    }

    #[test]
    fn bad_files_name_line_and_column() {
        let cases = [
            (
                "bucket = \"bkt\"\nbukcet = \"x\"\n",
                2,
                1,
                "unknown field `bukcet`",
            ),
            ("[deploy]\nmax_deletes = \"lots\"\n", 2, 15, "invalid type"),
            ("bucket = \n", 1, 10, ""),
        ];
        for (text, line, column, msg) in cases {
            let err = parse_file(Path::new("cfg/shipfront.toml"), text).unwrap_err();
            let s = err.to_string();
            assert!(
                s.starts_with(&format!("cfg/shipfront.toml:{line}:{column}: ")),
                "{text:?} -> {s}"
            );
            assert!(s.contains(msg), "{text:?} -> {s}");
            assert_eq!(err.exit_code(), 2);
        }
    }

    #[test]
    fn invalid_values_are_usage_errors() {
        let cases: [(&[&str], &str, &str); 5] = [
            (&["d"], "", "no bucket given"),
            (
                &["d", "--bucket", "s3://b/x"],
                "",
                "invalid bucket `s3://b/x`",
            ),
            (
                &["d", "--bucket", "bkt", "--concurrency", "0"],
                "",
                "--concurrency",
            ),
            (
                &["d", "--bucket", "bkt"],
                "[deploy]\npart_size_mib = 1\n",
                "part_size_mib",
            ),
            (
                &["d", "--bucket", "bkt"],
                "[[rules]]\nmatch = \"*.js\"\n",
                "sets neither",
            ),
        ];
        for (argv, text, want) in cases {
            let err = merge(args(argv), file(text)).unwrap_err();
            assert!(err.to_string().contains(want), "{argv:?} -> {err}");
            assert_eq!(err.exit_code(), 2);
        }
    }

    #[test]
    fn rules_from_file_apply() {
        let f = file(
            "[[rules]]\nmatch = \"assets/**\"\ncache_control = \"public, max-age=31536000, immutable\"\n",
        );
        let c = merge(args(&["d", "--bucket", "bkt"]), f).unwrap();
        assert_eq!(
            c.headers
                .headers_for(
                    "assets/app.js",
                    &crate::core::fingerprint::Evidence::default()
                )
                .cache_control,
            "public, max-age=31536000, immutable"
        );
    }
}
