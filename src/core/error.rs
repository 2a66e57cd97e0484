//! One error type for the library, so every failure names the thing that failed and the way out,
//! and `main` can map it to the documented exit code (1 a deploy failed, 2 bad usage, config or
//! input).

use std::path::PathBuf;

/// Everything that can stop a shipfront command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A flag or flag combination that makes no sense.
    #[error("{0}")]
    Usage(String),

    /// `shipfront.toml` (or `--config`) could not be read or is invalid.
    #[error("{path}:{line}:{column}: {message}")]
    ConfigSyntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },

    /// The config file named by `--config` cannot be read.
    #[error("cannot read config file `{path}`: {source}")]
    ConfigRead {
        path: PathBuf,
        source: std::io::Error,
    },

    /// The build folder does not exist.
    #[error(
        "folder `{0}` does not exist; pass the folder your build wrote, e.g. `shipfront deploy ./dist`"
    )]
    FolderMissing(PathBuf),

    /// The path given as the build folder is a file.
    #[error("`{0}` is a file, not a folder; pass the folder that holds the built site")]
    NotAFolder(PathBuf),

    /// The build folder holds nothing to deploy.
    #[error(
        "folder `{dir}` has no files to deploy: that would delete every object in {target}; \
         check that the build ran and wrote to this folder"
    )]
    EmptyFolder { dir: PathBuf, target: String },

    /// A file or folder name that S3 keys cannot represent faithfully.
    #[error("file name `{0}` is not valid UTF-8; rename it (S3 keys are UTF-8)")]
    NonUtf8Name(PathBuf),

    /// A file name that would make a key S3 cannot store or list back faithfully.
    #[error("file name `{name}` {why}; rename the file, or leave it out with --exclude")]
    BadName { name: String, why: String },

    /// A symlink whose target lies outside the build folder.
    #[error(
        "symlink `{link}` points outside the build folder (to `{target}`); \
         shipfront deploys only what is inside the folder: copy the file in, or exclude the link"
    )]
    SymlinkEscapes { link: PathBuf, target: PathBuf },

    /// A local file or folder that cannot be read.
    #[error("cannot read `{path}`: {source}; fix its permissions or exclude it with --exclude")]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },

    /// A local file `init` could not write.
    #[error("cannot write `{path}`: {source}")]
    WriteFailed {
        path: PathBuf,
        source: std::io::Error,
    },

    /// The plan would delete more objects than `--max-deletes` allows.
    #[error(
        "the plan deletes {count} objects from {target}, more than --max-deletes {max}; nothing was \
         written. {check}, then pass --max-deletes {count} to allow it{keep}"
    )]
    TooManyDeletes {
        count: usize,
        max: usize,
        target: String,
        /// What to check first (the folder, the release).
        check: &'static str,
        /// How else to go on, when there is a way (`, or --no-delete to keep them`).
        keep: &'static str,
    },

    /// The AWS credential chain found nothing.
    #[error(
        "no AWS credentials found ({detail}); set AWS_PROFILE or --profile, run `aws sso login`, \
         or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    )]
    NoCredentials { detail: String },

    /// The bucket does not exist.
    #[error("bucket `{bucket}` does not exist; check --bucket (and --region or --endpoint-url)")]
    BucketMissing { bucket: String },

    /// The credentials may not read or write the bucket.
    #[error(
        "access denied: {operation} on bucket `{bucket}`{key_part}; the credentials in use need \
         the IAM actions listed in the README (s3:ListBucket, s3:PutObject, s3:DeleteObject, ...)",
        key_part = key.as_deref().map(|k| format!(" key `{k}`")).unwrap_or_default()
    )]
    AccessDenied {
        operation: &'static str,
        bucket: String,
        key: Option<String>,
    },

    /// Any other failed call to the object store.
    #[error("{operation} failed for s3://{bucket}/{key}: {message}")]
    Remote {
        operation: &'static str,
        bucket: String,
        key: String,
        message: String,
    },

    /// `--spa` and the folder lacks the page SPA routes fall back to.
    #[error(
        "folder `{}` has no `{page}`, the page a single-page app (--spa) falls back to{hint}",
        dir.display()
    )]
    SpaNoFallback {
        dir: PathBuf,
        page: String,
        /// What to do: another fallback page the folder has, or to check the folder.
        hint: String,
    },

    /// `--spa` and the distribution would break deep links.
    #[error(
        "CloudFront distribution `{distribution}` is not ready for a single-page app: {gaps}; \
         nothing was written. Run again with --fix-spa to add what is missing"
    )]
    SpaNotReady { distribution: String, gaps: String },

    /// The CloudFront distribution does not exist.
    #[error(
        "CloudFront distribution `{distribution}` does not exist; check --distribution-id (the \
         id looks like E2EXAMPLE1ABCD, from the CloudFront console or `aws cloudfront \
         list-distributions`)"
    )]
    DistributionMissing { distribution: String },

    /// A failed call on a CloudFront Function or response headers policy.
    #[error("{operation} failed for {kind} `{name}`: {message}")]
    CdnResource {
        operation: &'static str,
        /// `CloudFront Function` or `response headers policy`.
        kind: &'static str,
        name: String,
        message: String,
    },

    /// A failed CloudFront call.
    #[error("{operation} failed for CloudFront distribution `{distribution}`: {message}")]
    Cdn {
        operation: &'static str,
        distribution: String,
        message: String,
    },

    /// Some writes of a deploy or rollback failed; earlier phases completed, later ones did not
    /// start.
    #[error(
        "{command} stopped in the {phase} phase: {} of its writes failed (first: `{}`: {}); the \
         live site still references only objects that exist. Fix the cause and run the {command} \
         again",
        failures.len(),
        failures.first().map_or("", |f| f.0.as_str()),
        failures.first().map_or("", |f| f.1.as_str())
    )]
    DeployFailed {
        /// `deploy` or `rollback`.
        command: &'static str,
        phase: &'static str,
        failures: Vec<(String, String)>,
    },

    /// `shipfront doctor` found problems (the table says which).
    #[error("{0} check(s) failed; fix them as the table says and run `shipfront doctor` again")]
    DoctorFailed(usize),

    /// Another deploy or rollback holds the site's lock.
    #[error(
        "{target} is locked by {holder}{}, refreshed {age}s ago; wait for it to finish (a lock its \
         holder stops refreshing goes stale and is taken over), or pass --force-unlock-live if \
         you know it stopped",
        if command.is_empty() { String::new() } else { format!(" ({command})") }
    )]
    Locked {
        target: String,
        holder: String,
        command: String,
        age: u64,
    },

    /// `--force-unlock` met a lock refreshed within its lease: its holder may still write.
    #[error(
        "{target} is locked by {holder}, refreshed {age}s ago, within its lease of {lease}s: it \
         may still be writing, so --force-unlock does not take it. Wait for it to finish, or \
         pass --force-unlock-live if you know it stopped (a cancelled job)"
    )]
    LockLive {
        target: String,
        holder: String,
        age: u64,
        lease: u64,
    },

    /// A release record that cannot be trusted: what it says would be published.
    #[error(
        "release `{id}`'s record is refused: {why}. Nothing was written. The records live under \
         the state prefix: check who can write there, then roll back to another release \
         (`shipfront releases`) or deploy again"
    )]
    RecordRefused { id: String, why: String },

    /// An atomic switch found the live release changed since its plan was made.
    #[error(
        "the live release in KeyValueStore `{store}` changed while this run was working (it is \
         now {now}): another deploy or rollback switched it, and its switch stands. Nothing was \
         switched; run the command again"
    )]
    SwitchRaced { store: String, now: String },

    /// `deploy --verify` found visitors getting something else than the release wrote.
    #[error("verification failed: {0}")]
    VerifyFailed(String),

    /// Ctrl-C during a deploy or rollback.
    #[error(
        "interrupted: the writes stopped where they were; the live site is consistent (every \
         phase finishes before the next), run the command again to complete it"
    )]
    Interrupted,

    /// The deploy could no longer hold its lock, and stopped writing.
    #[error(
        "lost the lock `{key}`: {why}; {}",
        if *taken_over {
            "this run stopped writing, but until then both wrote, so the site may mix files of \
             both runs: run the command again once the other has finished"
        } else {
            "the writes stopped there, so no other deploy writes at the same time. The live \
             site is consistent (every phase finishes before the next): run the command again"
        }
    )]
    LockLost {
        key: String,
        why: String,
        /// Someone took the lock while this run still held it (`--force-unlock-live`).
        taken_over: bool,
    },

    /// A bug: a task panicked or was cancelled.
    #[error("internal error: {0}; please report it with the command you ran")]
    Internal(String),

    /// Writing the output (JSON, summary) failed.
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
}

impl Error {
    /// The process exit code the README documents for this error.
    #[must_use]
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_)
            | Error::ConfigSyntax { .. }
            | Error::ConfigRead { .. }
            | Error::FolderMissing(_)
            | Error::NotAFolder(_)
            | Error::EmptyFolder { .. }
            | Error::NonUtf8Name(_)
            | Error::BadName { .. }
            | Error::SymlinkEscapes { .. }
            | Error::Unreadable { .. }
            | Error::TooManyDeletes { .. }
            | Error::SpaNoFallback { .. }
            | Error::SpaNotReady { .. }
            | Error::RecordRefused { .. }
            | Error::NoCredentials { .. } => 2,
            Error::BucketMissing { .. }
            | Error::AccessDenied { .. }
            | Error::Remote { .. }
            | Error::DeployFailed { .. }
            | Error::DistributionMissing { .. }
            | Error::Cdn { .. }
            | Error::CdnResource { .. }
            | Error::DoctorFailed(_)
            | Error::Locked { .. }
            | Error::LockLive { .. }
            | Error::Interrupted
            | Error::LockLost { .. }
            | Error::SwitchRaced { .. }
            | Error::VerifyFailed(_)
            | Error::Internal(_)
            | Error::WriteFailed { .. }
            | Error::Output(_) => 1,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
