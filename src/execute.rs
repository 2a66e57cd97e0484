//! Runs a `Plan` against an `ObjectStore`: phase by phase (assets, pages, the root page, then
//! deletions), each finished before the next begins, with bounded concurrency. Stopping between
//! phases on the first failure is what keeps a half-done deploy harmless: no page goes live
//! before everything it references, and nothing is deleted while a live page may need it.

use std::sync::Arc;
use std::time::Instant;

use tokio::task::JoinSet;

use crate::applied::{ExecReport, WriteRecord};
use crate::error::{Error, Result};
use crate::plan::{Action, Op, Phase, Plan};
use crate::store::{ObjectStore, PutFile, StoreError, WriteOutcome};

/// `DeleteObjects` takes at most 1000 keys per call.
pub const DELETE_BATCH: usize = 1000;

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

fn store_error(bucket: &str, operation: &'static str, key: &str, e: StoreError) -> Error {
    e.into_error(operation, bucket, Some(key))
}

async fn run_write<S: ObjectStore>(store: &S, action: &Action) -> Result<WriteOutcome, StoreError> {
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
        Op::Delete => unreachable!("deletes run in batches"),
    }
}

/// Errors about the whole bucket (missing, denied, no credentials) are reported as such; the
/// rest as a failed phase listing every key that failed.
fn phase_error(phase: Phase, mut failures: Vec<(String, Error)>) -> Error {
    if matches!(
        failures[0].1,
        Error::BucketMissing { .. } | Error::AccessDenied { .. } | Error::NoCredentials { .. }
    ) {
        return failures.swap_remove(0).1;
    }
    Error::DeployFailed {
        phase: phase.name(),
        failures: failures
            .into_iter()
            .map(|(key, e)| (key, e.to_string()))
            .collect(),
    }
}

/// Executes `plan` with at most `concurrency` writes in flight.
pub async fn execute<S: ObjectStore>(
    store: Arc<S>,
    plan: &Plan,
    concurrency: usize,
    progress: Arc<dyn Progress>,
) -> Result<ExecReport> {
    let started = Instant::now();
    let mut report = ExecReport::default();
    for phase in Phase::ALL {
        let actions: Vec<Action> = plan.in_phase(phase).cloned().collect();
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
            run_deletes(&store, actions, concurrency, &*progress, &mut report).await
        } else {
            run_writes(&store, actions, concurrency, &progress, &mut report).await
        };
        progress.phase_finished(phase);
        if !failures.is_empty() {
            return Err(phase_error(phase, failures));
        }
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

async fn run_writes<S: ObjectStore>(
    store: &Arc<S>,
    actions: Vec<Action>,
    concurrency: usize,
    progress: &Arc<dyn Progress>,
    report: &mut ExecReport,
) -> Vec<(String, Error)> {
    let mut tasks = JoinSet::new();
    let mut failures = Vec::new();
    let mut pending = actions.into_iter();
    loop {
        // Start tasks while there are permits; stop starting new ones after a failure.
        while failures.is_empty() && tasks.len() < concurrency {
            let Some(action) = pending.next() else { break };
            let store = Arc::clone(store);
            let progress = Arc::clone(progress);
            tasks.spawn(async move {
                let outcome = run_write(&*store, &action).await;
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
        let operation = match action.op {
            Op::Upload { .. } => "PutObject",
            Op::Restore { .. } => "CopyObject (restore)",
            _ => "CopyObject",
        };
        match outcome {
            Ok(out) => {
                match action.op {
                    Op::Upload { .. } => {
                        report.uploaded += 1;
                        report.uploaded_bytes += action.size;
                    }
                    Op::Restore { .. } => report.restored += 1,
                    _ => report.headers_updated += 1,
                }
                report.writes.push(WriteRecord {
                    key: action.key,
                    reason: action.reason,
                    version_id: out.version_id,
                    etag: out.etag,
                });
            }
            Err(e) => {
                let err = store_error(store.bucket(), operation, &action.key, e);
                failures.push((action.key, err));
            }
        }
    }
    failures
}

async fn run_deletes<S: ObjectStore>(
    store: &Arc<S>,
    actions: Vec<Action>,
    concurrency: usize,
    progress: &dyn Progress,
    report: &mut ExecReport,
) -> Vec<(String, Error)> {
    let mut failures = Vec::new();
    let batches: Vec<Vec<Action>> = actions
        .chunks(DELETE_BATCH)
        .map(<[Action]>::to_vec)
        .collect();
    let mut tasks = JoinSet::new();
    let mut pending = batches.into_iter();
    let limit = concurrency.clamp(1, 4);
    loop {
        while failures.is_empty() && tasks.len() < limit {
            let Some(batch) = pending.next() else { break };
            let store = Arc::clone(store);
            tasks.spawn(async move {
                let keys = batch.iter().map(|a| a.key.clone()).collect();
                let outcome = store.delete_batch(keys).await;
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
                    if let Some((_, why)) = key_errors.iter().find(|(k, _)| *k == action.key) {
                        failures.push((
                            action.key.clone(),
                            store_error(
                                store.bucket(),
                                "DeleteObjects",
                                &action.key,
                                StoreError::Other {
                                    message: why.clone(),
                                    retryable: false,
                                },
                            ),
                        ));
                    } else {
                        report.deleted += 1;
                        report.deleted_keys.push(action.key.clone());
                        progress.action_done(action);
                    }
                }
            }
            Err(e) => {
                let first = batch.first().map(|a| a.key.clone()).unwrap_or_default();
                failures.push((
                    first.clone(),
                    store_error(store.bucket(), "DeleteObjects", &first, e),
                ));
            }
        }
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headers::HeaderPolicy;
    use crate::plan::{PlanConfig, plan};
    use crate::scan::{LocalFile, LocalTree};
    use crate::store::{RemoteListing, RemoteObject};
    use std::sync::Mutex;

    /// An in-memory store that records the order of calls and fails on demand.
    #[derive(Default)]
    struct MemStore {
        log: Mutex<Vec<String>>,
        fail_key: Option<String>,
        missing_bucket: bool,
    }

    impl MemStore {
        fn write(&self, op: &str, key: &str) -> Result<WriteOutcome, StoreError> {
            if self.missing_bucket {
                return Err(StoreError::BucketMissing);
            }
            if self.fail_key.as_deref() == Some(key) {
                return Err(StoreError::Other {
                    message: "boom".into(),
                    retryable: false,
                });
            }
            self.log.lock().unwrap().push(format!("{op} {key}"));
            Ok(WriteOutcome {
                version_id: Some(format!("v-{key}")),
                etag: None,
            })
        }
    }

    impl ObjectStore for MemStore {
        fn bucket(&self) -> &str {
            "mem"
        }
        async fn list(&self, _: &str) -> Result<RemoteListing, StoreError> {
            Ok(RemoteListing::default())
        }
        async fn put_file(&self, put: PutFile) -> Result<WriteOutcome, StoreError> {
            // Yield so that concurrent tasks interleave as they would on a network.
            tokio::task::yield_now().await;
            self.write("put", &put.key)
        }
        async fn update_headers(
            &self,
            key: &str,
            _: &crate::headers::Headers,
        ) -> Result<WriteOutcome, StoreError> {
            self.write("copy", key)
        }
        async fn restore_version(&self, key: &str, _: &str) -> Result<WriteOutcome, StoreError> {
            self.write("restore", key)
        }
        async fn get_bytes(&self, key: &str) -> Result<Vec<u8>, StoreError> {
            Err(StoreError::Other {
                message: format!("no {key}"),
                retryable: false,
            })
        }
        async fn put_bytes(
            &self,
            key: &str,
            _: Vec<u8>,
            _: &str,
            _: Option<crate::store::Condition>,
        ) -> Result<WriteOutcome, StoreError> {
            self.write("put", key)
        }
        async fn get_with_etag(&self, _: &str) -> Result<Option<(Vec<u8>, String)>, StoreError> {
            Ok(None)
        }
        async fn delete_key(&self, _: &str) -> Result<(), StoreError> {
            Ok(())
        }
        async fn versions(
            &self,
            _: &str,
        ) -> Result<std::collections::BTreeMap<String, crate::store::Versions>, StoreError>
        {
            Ok(std::collections::BTreeMap::new())
        }
        async fn delete_batch(
            &self,
            keys: Vec<String>,
        ) -> Result<Vec<(String, String)>, StoreError> {
            self.log
                .lock()
                .unwrap()
                .push(format!("delete {} keys from {}", keys.len(), keys[0]));
            Ok(vec![])
        }
    }

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
                })
                .collect(),
            pages: 1,
        }
    }

    fn test_plan(local_keys: &[&str], stale: usize) -> Plan {
        let cfg = PlanConfig {
            bucket: "mem".into(),
            prefix: String::new(),
            state_prefix: crate::plan::STATE_DIR.into(),
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

    fn run(store: MemStore, plan: &Plan) -> (Result<ExecReport>, Vec<String>) {
        let store = Arc::new(store);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let result = rt.block_on(execute(Arc::clone(&store), plan, 3, Arc::new(NoProgress)));
        let log = store.log.lock().unwrap().clone();
        (result, log)
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
        let (result, log) = run(MemStore::default(), &p);
        let report = result.unwrap();
        let position = |entry: &str| log.iter().position(|l| l == entry).unwrap();
        let last_asset = [
            "put a.js",
            "put b.css",
            "put c.png",
            "put d.woff2",
            "put e.svg",
        ]
        .iter()
        .map(|e| position(e))
        .max()
        .unwrap();
        let first_page = position("put docs/index.html").min(position("put docs/x.html"));
        let last_page = position("put docs/index.html").max(position("put docs/x.html"));
        let root = position("put index.html");
        assert!(last_asset < first_page, "{log:?}");
        assert!(last_page < root, "{log:?}");
        // Batches run concurrently: their order among themselves is free.
        let mut deletes: Vec<&String> = log[root + 1..].iter().collect();
        deletes.sort();
        assert_eq!(
            deletes,
            [
                "delete 1000 keys from stale/00000",
                "delete 1000 keys from stale/01000",
                "delete 500 keys from stale/02000"
            ]
        );
        assert_eq!((report.uploaded, report.deleted), (8, 2500));
        assert_eq!(report.writes.len(), 8);
        assert!(report.writes.iter().all(|w| w.version_id.is_some()));
    }

    #[test]
    fn a_failed_asset_stops_before_any_page_or_delete() {
        let p = test_plan(SITE, 3);
        let store = MemStore {
            fail_key: Some("c.png".into()),
            ..MemStore::default()
        };
        let (result, log) = run(store, &p);
        let err = result.unwrap_err();
        assert!(
            matches!(&err, Error::DeployFailed { phase: "assets", failures } if failures[0].0 == "c.png"),
            "{err}"
        );
        assert!(err.to_string().contains("`c.png`"), "{err}");
        assert!(
            log.iter()
                .all(|l| !l.ends_with(".html") && !l.starts_with("delete")),
            "{log:?}"
        );
    }

    #[test]
    fn a_failed_page_stops_before_the_root_page() {
        let p = test_plan(SITE, 1);
        let store = MemStore {
            fail_key: Some("docs/x.html".into()),
            ..MemStore::default()
        };
        let (result, log) = run(store, &p);
        assert!(matches!(
            result,
            Err(Error::DeployFailed { phase: "pages", .. })
        ));
        assert!(!log.contains(&"put index.html".to_owned()), "{log:?}");
        assert!(log.iter().all(|l| !l.starts_with("delete")), "{log:?}");
    }

    #[test]
    fn bucket_level_errors_are_reported_as_such() {
        let p = test_plan(SITE, 0);
        let store = MemStore {
            missing_bucket: true,
            ..MemStore::default()
        };
        let (result, _) = run(store, &p);
        assert!(matches!(result, Err(Error::BucketMissing { .. })));
    }
}
