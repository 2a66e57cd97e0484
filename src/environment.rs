//! What the run's environment says, read in one place: whether this is a GitHub Actions run,
//! the commit being deployed and its subject, and who this process is. Everything else gets
//! these as values.

/// Who this process is, for the lock and messages.
#[must_use]
pub fn holder() -> String {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let (Some(run), Some(repo)) = (var("GITHUB_RUN_ID"), var("GITHUB_REPOSITORY")) {
        return format!("GitHub Actions run {run} of {repo}");
    }
    let user = var("USER")
        .or_else(|| var("USERNAME"))
        .unwrap_or_else(|| "someone".into());
    let host = var("HOSTNAME")
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .unwrap_or_else(|| "a machine".into());
    format!("{user}@{host} (pid {})", std::process::id())
}

/// The message of a release: `--message`, else the commit GitHub Actions is building.
#[must_use]
pub fn default_message(flag: Option<String>) -> Option<String> {
    if flag.is_some() {
        return flag;
    }
    let sha = std::env::var("GITHUB_SHA")
        .ok()
        .filter(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_hexdigit()))?;
    Some(match commit_subject(&sha) {
        Some(subject) => format!("commit {sha}: {subject}"),
        None => format!("commit {sha}"),
    })
}

/// The first line of a commit's message: from the checkout (`git log`), else from the event
/// that started the workflow (`GITHUB_EVENT_PATH`, a push's `head_commit`).
fn commit_subject(sha: &str) -> Option<String> {
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
        let event = std::fs::read(std::env::var_os("GITHUB_EVENT_PATH")?).ok()?;
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
