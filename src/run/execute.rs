//! Runs a `Plan` against an `ObjectStore`: phase by phase (assets, pages, the root page, then
//! deletions), each finished before the next begins, with bounded concurrency. Stopping between
//! phases on the first failure is what keeps a half-done deploy harmless: no page goes live
//! before everything it references, and nothing is deleted while a live page may need it.

use std::sync::Arc;
use std::time::Instant;

use tokio::task::JoinSet;

use crate::core::error::{Error, Result};
use crate::core::exec_report::{ExecReport, WriteRecord};
use crate::core::plan::{Action, Op, Phase, Plan};
use crate::run::lease::Fence;
use crate::store::{ObjectStore, PutFile, RemoteError, WriteOutcome};

/// `DeleteObjects` takes at most 1000 keys per call.
pub const DELETE_BATCH: usize = 1000;

/// Open files kept free of writes in flight: the runtime, the SDK's connection pool, stdio.
const RESERVED_FILES: u64 = 64;

/// The writes in flight that fit in `open_files` open files: each holds a connection and,
/// for an upload, its file. None when `wanted` fits.
#[must_use]
pub fn fit_open_files(wanted: usize, open_files: u64) -> Option<usize> {
    let fits = usize::try_from(open_files.saturating_sub(RESERVED_FILES) / 2)
        .unwrap_or(usize::MAX)
        .max(1);
    (wanted > fits).then_some(fits)
}

/// `concurrency`, or fewer writes in flight when the open-file limit cannot hold that many:
/// the soft limit is raised to the hard one first; a cap is said in a warning, not met as
/// "Too many open files" halfway through a deploy.
#[must_use]
pub fn within_open_files(concurrency: usize) -> usize {
    let Ok(limit) = rlimit::increase_nofile_limit(u64::MAX) else {
        return concurrency;
    };
    match fit_open_files(concurrency, limit) {
        Some(fits) => {
            crate::run::github::warn(&format!(
                "--concurrency {concurrency} needs more open files than this process may have \
                 ({limit}): using {fits}; raise the limit (`ulimit -n`) for more"
            ));
            fits
        }
        None => concurrency,
    }
}

/// What the executor tells the user interface as it goes.
pub trait Progress: Send + Sync {
    /// A phase with `actions` actions moving `bytes` bytes starts.
    fn phase_started(&self, phase: Phase, actions: usize, bytes: u64);
    /// One action (or a batch of deletions) finished.
    fn action_done(&self, action: &Action);
    /// The phase ended.
    fn phase_finished(&self, phase: Phase);
}

/// A progress sink that shows nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn phase_started(&self, _: Phase, _: usize, _: u64) {}
    fn action_done(&self, _: &Action) {}
    fn phase_finished(&self, _: Phase) {}
}

async fn run_write<S: ObjectStore>(
    store: &S,
    action: &Action,
) -> Result<WriteOutcome, RemoteError> {
    match &action.op {
        Op::Upload { headers, file } => {
            store
                .put_file(PutFile {
                    key: action.key.clone(),
                    path: file.path.clone(),
                    size: file.size,
                    md5: file.md5,
                    parts: file
                        .multipart
                        .as_ref()
                        .map(|m| (m.part_size, m.part_md5s.clone())),
                    headers: headers.clone(),
                })
                .await
        }
        Op::UpdateHeaders { headers } => store.update_headers(&action.key, headers).await,
        Op::Restore { version_id } => store.restore_version(&action.key, version_id).await,
        Op::Copy { from, version_id } => {
            let version_id = version_id.as_deref();
            store.copy_version(&action.key, from, version_id).await
        }
        Op::Delete => unreachable!("deletes run in batches"),
    }
}

/// Errors about the whole bucket (missing, denied, no credentials) are reported as such; the
/// rest as a failed phase listing every key that failed.
fn phase_error(command: &'static str, phase: Phase, mut failures: Vec<(String, Error)>) -> Error {
    if matches!(
        failures[0].1,
        Error::BucketMissing { .. }
            | Error::AccessDenied { .. }
            | Error::NoCredentials { .. }
            | Error::LockLost { .. }
    ) {
        return failures.swap_remove(0).1;
    }
    Error::DeployFailed {
        command,
        phase: phase.name(),
        failures: failures
            .into_iter()
            .map(|(key, e)| (key, e.to_string()))
            .collect(),
    }
}

/// Executes `plan` with at most `concurrency` writes in flight, holding no lock.
pub async fn execute<S: ObjectStore>(
    store: Arc<S>,
    plan: &Plan,
    concurrency: usize,
    progress: Arc<dyn Progress>,
) -> Result<ExecReport> {
    let run = Run {
        command: "deploy",
        concurrency,
        progress,
        fence: Fence::open(),
    };
    execute_around_deletes(store, plan, run, async { Ok(()) })
        .await
        .map_err(|stopped| stopped.error)
}

/// A run stopped by `error`, with what it had written by then (`report`): what it overwrote is
/// still owed an invalidation.
#[derive(Debug)]
pub(crate) struct Stopped {
    pub(crate) error: Error,
    pub(crate) report: ExecReport,
}

/// How a plan runs: how many writes in flight, who is told, and the fence each write passes.
pub(crate) struct Run {
    /// `deploy` or `rollback`, as errors name it.
    pub(crate) command: &'static str,
    pub(crate) concurrency: usize,
    pub(crate) progress: Arc<dyn Progress>,
    /// The lock's lease: a holder past it sends no more writes.
    pub(crate) fence: Fence,
}

/// Executes `plan`, running `before_deletes` once every page is live and before anything is
/// deleted (where edge routing switches: no route points at a file not yet written, none at
/// one already gone).
pub(crate) async fn execute_around_deletes<S: ObjectStore>(
    store: Arc<S>,
    plan: &Plan,
    run: Run,
    before_deletes: impl std::future::Future<Output = Result<()>>,
) -> Result<ExecReport, Box<Stopped>> {
    let Run {
        command,
        concurrency,
        progress,
        fence,
    } = run;
    let started = Instant::now();
    let mut report = ExecReport::default();
    let mut before_deletes = Some(before_deletes);
    for phase in Phase::ALL {
        if phase == Phase::Deletes
            && let Some(step) = before_deletes.take()
            && let Err(error) = step.await
        {
            return Err(Box::new(Stopped { error, report }));
        }
        // Borrowed: an action is copied only when its task starts, so no second copy of a
        // large plan is held.
        let actions: Vec<&Action> = plan.in_phase(phase).collect();
        if actions.is_empty() {
            continue;
        }
        let bytes = actions
            .iter()
            .filter(|a| matches!(a.op, Op::Upload { .. }))
            .map(|a| a.size)
            .sum();
        progress.phase_started(phase, actions.len(), bytes);
        let failures = if phase == Phase::Deletes {
            run_deletes(
                &store,
                actions,
                concurrency,
                &*progress,
                &fence,
                &mut report,
            )
            .await
        } else {
            run_writes(&store, actions, concurrency, &progress, &fence, &mut report).await
        };
        progress.phase_finished(phase);
        if !failures.is_empty() {
            let error = phase_error(command, phase, failures);
            return Err(Box::new(Stopped { error, report }));
        }
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

async fn run_writes<S: ObjectStore>(
    store: &Arc<S>,
    actions: Vec<&Action>,
    concurrency: usize,
    progress: &Arc<dyn Progress>,
    fence: &Fence,
    report: &mut ExecReport,
) -> Vec<(String, Error)> {
    let mut tasks = JoinSet::new();
    let mut failures = Vec::new();
    report.writes.reserve_exact(actions.len());
    let mut pending = actions.into_iter();
    loop {
        // Start tasks while there are permits; stop starting new ones after a failure.
        while failures.is_empty() && tasks.len() < concurrency {
            let Some(action) = pending.next().cloned() else {
                break;
            };
            let store = Arc::clone(store);
            let progress = Arc::clone(progress);
            let fence = fence.clone();
            tasks.spawn(async move {
                // Checked as the write is sent, and while it is in flight: a holder past its
                // lease sends nothing more, and gives up what it is sending.
                let outcome = match fence.check() {
                    Ok(()) => tokio::select! {
                        out = run_write(&*store, &action) => out.map_err(Error::from),
                        e = fence.closed() => Err(e),
                    },
                    Err(e) => Err(e),
                };
                if outcome.is_ok() {
                    progress.action_done(&action);
                }
                (action, outcome)
            });
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        let (action, outcome) = match joined {
            Ok(done) => done,
            Err(e) => {
                failures.push((
                    String::new(),
                    Error::Internal(format!("upload task failed: {e}")),
                ));
                continue;
            }
        };
        match outcome {
            Ok(out) => {
                match action.op {
                    Op::Upload { .. } => {
                        report.uploaded += 1;
                        report.uploaded_bytes += action.size;
                    }
                    Op::Restore { .. } => report.restored += 1,
                    Op::Copy { .. } => report.copied += 1,
                    _ => report.headers_updated += 1,
                }
                report.writes.push(WriteRecord {
                    key: action.key,
                    reason: action.reason,
                    version_id: out.version_id,
                    etag: out.etag,
                });
            }
            Err(e) => failures.push((action.key, e)),
        }
    }
    failures
}

async fn run_deletes<S: ObjectStore>(
    store: &Arc<S>,
    actions: Vec<&Action>,
    concurrency: usize,
    progress: &dyn Progress,
    fence: &Fence,
    report: &mut ExecReport,
) -> Vec<(String, Error)> {
    let mut failures = Vec::new();
    let mut tasks = JoinSet::new();
    let mut pending = actions
        .chunks(DELETE_BATCH)
        .map(|batch| batch.iter().map(|a| (*a).clone()).collect::<Vec<Action>>());
    let limit = concurrency.clamp(1, 4);
    loop {
        while failures.is_empty() && tasks.len() < limit {
            let Some(batch) = pending.next() else { break };
            let store = Arc::clone(store);
            let fence = fence.clone();
            tasks.spawn(async move {
                let keys = batch.iter().map(|a| a.key.clone()).collect();
                let outcome = match fence.check() {
                    Ok(()) => store.delete_batch(keys).await.map_err(Error::from),
                    Err(e) => Err(e),
                };
                (batch, outcome)
            });
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        let Ok((batch, outcome)) = joined else {
            failures.push((String::new(), Error::Internal("delete task failed".into())));
            continue;
        };
        match outcome {
            Ok(key_errors) => {
                for action in &batch {
                    if let Some(e) = key_errors.iter().find(|e| e.key() == Some(&action.key)) {
                        failures.push((action.key.clone(), e.clone().into()));
                    } else {
                        report.deleted += 1;
                        report.deleted_keys.push(action.key.clone());
                        progress.action_done(action);
                    }
                }
            }
            Err(e) => {
                let first = batch.first().map(|a| a.key.clone()).unwrap_or_default();
                failures.push((first, e));
            }
        }
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_in_flight_fit_in_the_open_file_limit() {
        let cases = [
            (32, 1024, None),
            (480, 1024, None),
            (5000, 1024, Some(480)),
            (5000, 256, Some(96)),
            (8, 10, Some(1)),
            (4, u64::MAX, None),
        ];
        for (wanted, limit, want) in cases {
            assert_eq!(fit_open_files(wanted, limit), want, "{wanted} in {limit}");
        }
    }
    use crate::core::object_headers::HeaderPolicy;
    use crate::core::objects::{LocalFile, LocalTree};
    use crate::core::objects::{RemoteListing, RemoteObject};
    use crate::core::plan::{PlanConfig, plan};
    use crate::store::memory::MemoryStore;

    fn local(keys: &[&str]) -> LocalTree {
        LocalTree {
            files: keys
                .iter()
                .map(|k| LocalFile {
                    rel: (*k).into(),
                    key: (*k).into(),
                    path: (*k).into(),
                    size: 1,
                    md5: [0; 16],
                    multipart: None,
                })
                .map(Arc::new)
                .collect(),
            warnings: vec![],
            notes: vec![],
        }
    }

    fn remote(keys: impl IntoIterator<Item = String>) -> RemoteListing {
        RemoteListing {
            objects: keys
                .into_iter()
                .map(|key| RemoteObject {
                    key,
                    etag: "x".into(),
                    size: 1,
                    headers: None,
                })
                .collect(),
            pages: 1,
            chain: 1,
        }
    }

    fn test_plan(local_keys: &[&str], stale: usize) -> Plan {
        let cfg = PlanConfig {
            bucket: "mem".into(),
            prefix: String::new(),
            state_prefix: crate::core::plan::STATE_DIR.into(),
            delete: true,
            headers: HeaderPolicy::default(),
            keep_assets: 0,
        };
        plan(
            &local(local_keys),
            &remote((0..stale).map(|i| format!("stale/{i:05}"))),
            None,
            &cfg,
        )
    }

    fn run(store: MemoryStore, plan: &Plan) -> (Result<ExecReport>, Vec<String>) {
        let store = Arc::new(store);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let result = rt.block_on(execute(Arc::clone(&store), plan, 3, Arc::new(NoProgress)));
        let log = store.calls();
        (result, log)
    }

    /// A holder whose machine slept past its lease while it wrote: the write in flight lands,
    /// nothing after it is sent, not even the deletions, and the error says the lease ran out.
    #[test]
    fn a_holder_past_its_lease_sends_no_more_writes() {
        use crate::run::lease::{Clocks, TestClocks};
        let p = test_plan(SITE, 5);
        let store = Arc::new(MemoryStore::new("mem"));
        let (result, puts) = crate::run::fixtures::block_on_paused(async {
            let clocks = TestClocks::new();
            let lease = std::time::Duration::from_secs(120);
            let fence = Fence::of_lease("lock", lease, clocks.clone(), clocks.now());
            let sleeper = Arc::clone(&clocks);
            // The laptop sleeps for ten minutes as the third upload is sent.
            store.before_nth("PutObject", 3, move |_| {
                sleeper.suspend(std::time::Duration::from_secs(600));
            });
            let run = Run {
                command: "deploy",
                concurrency: 1,
                progress: Arc::new(NoProgress),
                fence,
            };
            let result = execute_around_deletes(Arc::clone(&store), &p, run, async { Ok(()) });
            (result.await, store.count_calls("PutObject"))
        });
        let stopped = result.unwrap_err();
        assert_eq!(stopped.report.uploaded, 3, "what it wrote is reported");
        let err = stopped.error;
        assert!(
            matches!(&err, Error::LockLost { why, .. } if why.contains("lease ran out")),
            "{err}"
        );
        assert_eq!(puts, 3, "nothing sent after the sleep");
        assert_eq!(store.count_calls("DeleteObjects"), 0);
    }

    const SITE: &[&str] = &[
        "index.html",
        "a.js",
        "b.css",
        "c.png",
        "d.woff2",
        "docs/index.html",
        "docs/x.html",
        "e.svg",
    ];

    #[test]
    fn phases_run_in_order_and_deletes_go_in_batches_of_1000() {
        let p = test_plan(SITE, 2500);
        let (result, log) = run(MemoryStore::new("mem"), &p);
        let report = result.unwrap();
        let position = |entry: &str| log.iter().position(|l| l == entry).unwrap();
        let last_asset = [
            "PutObject a.js",
            "PutObject b.css",
            "PutObject c.png",
            "PutObject d.woff2",
            "PutObject e.svg",
        ]
        .iter()
        .map(|e| position(e))
        .max()
        .unwrap();
        let first_page =
            position("PutObject docs/index.html").min(position("PutObject docs/x.html"));
        let last_page =
            position("PutObject docs/index.html").max(position("PutObject docs/x.html"));
        let root = position("PutObject index.html");
        assert!(last_asset < first_page, "{log:?}");
        assert!(last_page < root, "{log:?}");
        // Batches run concurrently: their order among themselves is free.
        let mut deletes: Vec<&String> = log[root + 1..].iter().collect();
        deletes.sort();
        assert_eq!(
            deletes,
            [
                "DeleteObjects stale/00000 (1000 keys)",
                "DeleteObjects stale/01000 (1000 keys)",
                "DeleteObjects stale/02000 (500 keys)"
            ]
        );
        assert_eq!((report.uploaded, report.deleted), (8, 2500));
        assert_eq!(report.writes.len(), 8);
        assert!(report.writes.iter().all(|w| w.version_id.is_some()));
    }

    #[test]
    fn a_failed_write_stops_before_the_phases_after_its_own() {
        // (the key whose upload fails, its phase, what must not have been written after it)
        type WrittenAfter = fn(&str) -> bool;
        let cases: [(&str, &str, WrittenAfter); 2] = [
            ("c.png", "assets", |l| l.ends_with(".html")),
            ("docs/x.html", "pages", |l| l == "PutObject index.html"),
        ];
        for (key, failed_phase, written_after) in cases {
            let p = test_plan(SITE, 3);
            let store = MemoryStore::new("mem");
            store.fail_key("PutObject", key);
            let (result, log) = run(store, &p);
            let err = result.unwrap_err();
            assert!(
                matches!(&err, Error::DeployFailed { phase, failures, .. } if *phase == failed_phase && failures[0].0 == key),
                "{key}: {err}"
            );
            assert!(err.to_string().contains(&format!("`{key}`")), "{err}");
            assert!(
                log.iter()
                    .all(|l| !written_after(l) && !l.starts_with("DeleteObjects")),
                "{key}: {log:?}"
            );
        }
    }

    #[test]
    fn bucket_level_errors_are_reported_as_such() {
        let p = test_plan(SITE, 0);
        let store = MemoryStore::new("mem");
        store.fail_nth("PutObject", 1, crate::store::RemoteFailure::BucketMissing);
        let (result, _) = run(store, &p);
        assert!(matches!(result, Err(Error::BucketMissing { .. })));
    }
}
