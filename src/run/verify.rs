//! Verifying a release as visitors get it: every target URL asked through the CDN, those that
//! differ asked again with a growing wait while the change propagates, until all answer as
//! the release wrote them or the patience is spent.

use tokio::time::Instant;

use crate::core::verify::{MAX_WAIT, Mismatch, Patience, Target, Verification, differences};
use crate::store::Visitor;

/// Asks `visitor` for each target under `base` until every one answers as it must, or
/// `patience` is spent; the targets that still differ then, with what differed.
pub async fn verify<V: Visitor>(
    visitor: &V,
    base: &str,
    targets: &[Target],
    patience: Patience,
) -> Verification {
    let started = Instant::now();
    let base = base.trim_end_matches('/');
    let mut pending: Vec<&Target> = targets.iter().collect();
    let mut wait = patience.first_wait;
    let mut attempts = 0;
    let mut mismatches = Vec::new();
    loop {
        attempts += 1;
        mismatches.clear();
        let mut still = Vec::new();
        for target in pending {
            let found = match visitor.visit(&format!("{base}{}", target.path)).await {
                Ok(answer) => differences(target, &answer),
                Err(why) => vec![format!("no answer: {why}")],
            };
            if !found.is_empty() {
                mismatches.push(Mismatch {
                    path: target.path.clone(),
                    differences: found,
                });
                still.push(target);
            }
        }
        pending = still;
        if pending.is_empty() || started.elapsed() + wait > patience.timeout {
            break;
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(MAX_WAIT);
    }
    Verification {
        base: base.to_owned(),
        checked: targets.len(),
        attempts,
        mismatches,
        action: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::verify::Answer;
    use std::sync::Mutex;

    /// A visitor whose answers for a path come from a list, the last one repeated.
    struct Scripted {
        answers: Mutex<std::collections::BTreeMap<String, Vec<Answer>>>,
    }

    impl Visitor for Scripted {
        async fn visit(&self, url: &str) -> Result<Answer, String> {
            let path = url.trim_start_matches("https://x.com").to_owned();
            let mut answers = self.answers.lock().map_err(|e| e.to_string())?;
            let list = answers.get_mut(&path).ok_or("no such path")?;
            Ok(if list.len() > 1 {
                list.remove(0)
            } else {
                list[0].clone()
            })
        }
    }

    fn target(path: &str) -> Target {
        Target {
            path: path.to_owned(),
            key: path.trim_start_matches('/').to_owned(),
            content_type: "text/html".into(),
            cache_control: "no-cache".into(),
            md5: "aa".into(),
        }
    }

    fn good() -> Answer {
        Answer {
            status: 200,
            content_type: Some("text/html".into()),
            cache_control: Some("no-cache".into()),
            md5: "aa".into(),
        }
    }

    fn stale() -> Answer {
        Answer {
            md5: "old".into(),
            ..good()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_change_that_propagates_passes_and_one_that_never_does_fails() {
        let visitor = Scripted {
            answers: Mutex::new(
                [
                    ("/".to_owned(), vec![stale(), stale(), good()]),
                    ("/a.js".to_owned(), vec![good()]),
                ]
                .into(),
            ),
        };
        let patience = Patience::default();
        let targets = [target("/"), target("/a.js")];
        let passed = verify(&visitor, "https://x.com/", &targets, patience).await;
        assert!(passed.passed(), "{passed}");
        assert_eq!((passed.attempts, passed.checked), (3, 2));

        let visitor = Scripted {
            answers: Mutex::new(
                [
                    ("/".to_owned(), vec![stale()]),
                    (
                        "/a.js".to_owned(),
                        vec![Answer {
                            status: 503,
                            ..good()
                        }],
                    ),
                ]
                .into(),
            ),
        };
        let failed = verify(&visitor, "https://x.com", &targets, patience).await;
        assert!(!failed.passed());
        assert_eq!(failed.mismatches.len(), 2, "{failed}");
        assert!(failed.attempts > 3, "retried: {failed}");
        let text = failed.to_string();
        assert!(text.contains("/a.js: status 503"), "{text}");
        assert!(text.contains("MD5 old, not aa"), "{text}");
    }
}
