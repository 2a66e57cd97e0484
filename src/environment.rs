//! What the run's environment says, read in one place: whether this is a GitHub Actions run,
//! the commit being deployed and its subject, and who this process is. Everything else gets
//! these as values.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::OnceLock;

/// What the environment of this run provides, read once (`current`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Environment {
    /// A GitHub Actions job (`GITHUB_ACTIONS=true`).
    pub(crate) github_actions: bool,
    /// Where a step writes its outputs (`GITHUB_OUTPUT`).
    pub(crate) github_output: Option<PathBuf>,
    /// Where a step writes the job summary (`GITHUB_STEP_SUMMARY`).
    pub(crate) step_summary: Option<PathBuf>,
    /// The workflow run and its repository (`GITHUB_RUN_ID`, `GITHUB_REPOSITORY`).
    pub(crate) run: Option<(String, String)>,
    /// The commit being built (`GITHUB_SHA`), when it is a hex id.
    pub(crate) sha: Option<String>,
    /// The event that started the workflow (`GITHUB_EVENT_PATH`).
    pub(crate) event_path: Option<PathBuf>,
    /// The user (`USER`, `USERNAME`) and the host name (`HOSTNAME`, `/etc/hostname`).
    pub(crate) user: Option<String>,
    pub(crate) host: Option<String>,
    /// At most this many key ranges listed at once (`SHIPFRONT_LIST_RANGES`, a benchmark's knob
    /// to compare with one listing: 1); `objects::MAX_LIST_RANGES` when unset or not a number,
    /// and never more (`list_ranges` caps it).
    pub(crate) list_ranges: Option<usize>,
}

/// This run's environment, read the first time it is asked for.
pub(crate) fn current() -> &'static Environment {
    static ENVIRONMENT: OnceLock<Environment> = OnceLock::new();
    ENVIRONMENT.get_or_init(Environment::read)
}

impl Environment {
    fn read() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let path = |name: &str| {
            std::env::var_os(name)
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
        };
        Environment {
            github_actions: var("GITHUB_ACTIONS").is_some_and(|v| v == "true"),
            github_output: path("GITHUB_OUTPUT"),
            step_summary: path("GITHUB_STEP_SUMMARY"),
            run: var("GITHUB_RUN_ID").zip(var("GITHUB_REPOSITORY")),
            sha: var("GITHUB_SHA").filter(|s| s.chars().all(|c| c.is_ascii_hexdigit())),
            event_path: path("GITHUB_EVENT_PATH"),
            user: var("USER").or_else(|| var("USERNAME")),
            list_ranges: var("SHIPFRONT_LIST_RANGES").and_then(|v| v.parse().ok()),
            host: var("HOSTNAME").or_else(|| {
                std::fs::read_to_string("/etc/hostname")
                    .ok()
                    .map(|h| h.trim().to_owned())
                    .filter(|h| !h.is_empty())
            }),
        }
    }

    /// How many key ranges a listing may be split into.
    #[must_use]
    pub(crate) fn list_ranges(&self) -> usize {
        self.list_ranges
            .unwrap_or(crate::core::objects::MAX_LIST_RANGES)
            .min(crate::core::objects::MAX_LIST_RANGES)
    }

    /// Who this process is, for the lock and messages.
    #[must_use]
    pub(crate) fn holder(&self) -> String {
        if let Some((run, repo)) = &self.run {
            return format!("GitHub Actions run {run} of {repo}");
        }
        format!(
            "{}@{} (pid {})",
            self.user.as_deref().unwrap_or("someone"),
            self.host.as_deref().unwrap_or("a machine"),
            std::process::id()
        )
    }

    /// The message of a release: `--message`, else the commit GitHub Actions is building.
    #[must_use]
    pub(crate) fn default_message(&self, flag: Option<String>) -> Option<String> {
        if flag.is_some() {
            return flag;
        }
        let sha = self.sha.as_deref()?;
        Some(
            match commit_subject(sha, self.event_path.clone().map(OsString::from)) {
                Some(subject) => format!("commit {sha}: {subject}"),
                None => format!("commit {sha}"),
            },
        )
    }
}

/// Who this process is, for the lock and messages.
#[must_use]
pub(crate) fn holder() -> String {
    current().holder()
}

/// The message of a release: `--message`, else the commit GitHub Actions is building.
#[must_use]
pub(crate) fn default_message(flag: Option<String>) -> Option<String> {
    current().default_message(flag)
}

/// The first line of a commit's message: from the checkout (`git log`), else from the event
/// that started the workflow (`GITHUB_EVENT_PATH`, a push's `head_commit`).
fn commit_subject(sha: &str, event_path: Option<OsString>) -> Option<String> {
    let from_git = std::process::Command::new("git")
        .args(["log", "-1", "--format=%s", sha, "--"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    from_git.or_else(|| {
        let event = std::fs::read(event_path?).ok()?;
        subject_from_event(&event, sha)
    })
}

/// The subject of `head_commit` in a GitHub event payload, when it is the commit `sha`.
fn subject_from_event(event: &[u8], sha: &str) -> Option<String> {
    let event: serde_json::Value = serde_json::from_slice(event).ok()?;
    let head = event.get("head_commit")?;
    if head.get("id")?.as_str()? != sha {
        return None;
    }
    let subject = head.get("message")?.as_str()?.lines().next()?.trim();
    (!subject.is_empty()).then(|| subject.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_subject_from_a_push_event() {
        let event =
            br#"{"head_commit": {"id": "abc123", "message": "Fix the footer\n\nLonger text"}}"#;
        let cases: [(&[u8], &str, Option<&str>); 4] = [
            (event, "abc123", Some("Fix the footer")),
            (event, "def456", None),
            (br#"{"pull_request": {}}"#, "abc123", None),
            (b"not json", "abc123", None),
        ];
        for (event, sha, want) in cases {
            assert_eq!(subject_from_event(event, sha).as_deref(), want, "{sha}");
        }
    }
}
