//! What deploy and rollback share once they have a plan: the lock, running the plan in phases,
//! invalidating what changed, recording the release, and the one `Outcome` both return. Both
//! commands go through `apply`, generic over the ports, so they cannot drift apart and an
//! in-memory store tests them in milliseconds.

use std::future::Future;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use crate::config::{LockPolicy, Publish, Site};
use crate::core::error::{Error, Result};
use crate::core::exec_report::ExecReport;
use crate::core::invalidate::{self, Invalidate, Invalidation, cached_keys, planned_cached_keys};
use crate::core::plan::Plan;
use crate::core::release::{self, Release};
use crate::core::report::{Command, InvalidationReport, Outcome};
use crate::run::edge::{Edge, EdgeWork};
use crate::store::{Cdn, ObjectStore};
use crate::{run::execute, run::github, run::lock, run::progress};

/// How a command applies its plan: the publish settings deploy and rollback share, and what
/// is the command's own.
#[derive(Debug, Clone)]
pub struct Settings<'a> {
    pub command: Command,
    /// When the command started: the outcome's time is the whole command's.
    pub started: Instant,
    pub publish: &'a Publish,
    /// Where release records go.
    pub state_prefix: &'a str,
    /// What the run keeps live at the edge besides the objects.
    pub edge: EdgeWork,
}

/// How a command records the release it made.
pub trait Recorder {
    /// The new release's id, known before the invalidation (whose `CallerReference` it is);
    /// None when there is nothing to record.
    fn release_id(&self, now: SystemTime, plan: &Plan, result: &ExecReport) -> Option<String>;

    /// The live release's record, when there is one (and it can be read).
    fn live(&self) -> Option<&Release>;

    /// The record of the bucket after the writes.
    fn record(
        &self,
        id: String,
        time: String,
        plan: &Plan,
        result: &ExecReport,
    ) -> impl Future<Output = Result<Release>>;
}

/// Runs `work` holding the site's lock when `policy` is given (a dry run, or a plan with
/// nothing to do, needs none); `work` learns whether it holds it. The lock is released whatever
/// happens, Ctrl-C included.
pub async fn under_lock<S: ObjectStore, T>(
    store: &Arc<S>,
    site: &Site,
    command: &str,
    policy: Option<LockPolicy>,
    work: impl AsyncFnOnce(bool) -> Result<T>,
) -> Result<T> {
    let mut interrupts = lock::Interrupts::listen();
    let token = lock::new_token();
    let lock = match policy {
        Some(policy) => {
            let taking = lock::acquire(Arc::clone(store), site, command, policy, &token);
            tokio::select! {
                lock = taking => Some(lock?),
                // Stopped while taking it: whether its write landed, only the token tells.
                () = interrupts.recv() => {
                    lock::release_if_ours(&**store, site, &token).await;
                    return Err(Error::Interrupted);
                }
            }
        }
        None => None,
    };
    let locked = lock.is_some();
    lock::run_holding(lock, interrupts, work(locked)).await
}

/// Applies `plan`: in a dry run, only says what it would do; otherwise runs it in phases,
/// invalidates the URLs it overwrote or deleted (and those a failed invalidation left pending),
/// and records the release, last of all.
pub async fn apply<S: ObjectStore, C: Cdn>(
    store: &Arc<S>,
    edge: Option<&Edge<C>>,
    plan: Plan,
    settings: &Settings<'_>,
    recorder: &impl Recorder,
) -> Result<Outcome> {
    // What a failed invalidation left pending is sent with this one.
    let pending = recorder
        .live()
        .map(|live| live.pending_invalidation.as_slice())
        .unwrap_or_default();
    let invalidation_for = |keys: Vec<&str>, edge: &Edge<C>| {
        let own = invalidate::invalidation_for(
            settings.publish.invalidate,
            keys,
            &edge.origin_path,
            settings.publish.max_invalidation_paths,
        );
        match settings.publish.invalidate {
            Invalidate::Nothing => None,
            _ => invalidate::with_pending(own, pending, settings.publish.max_invalidation_paths),
        }
    };
    check_deletes(&plan, settings)?;
    let mut plan = plan;
    if let Some(edge) = edge {
        plan.notes.extend(settings.edge.notes(&edge.distribution));
    }
    if settings.publish.dry_run {
        let invalidation = edge
            .and_then(|edge| invalidation_for(planned_cached_keys(&plan), edge))
            .map(|inv| InvalidationReport::planned(&inv));
        let (command, release, result) = (settings.command.clone(), None, None);
        return Ok(Outcome {
            command,
            dry_run: true,
            plan,
            result,
            invalidation,
            release,
        });
    }

    let progress = progress::for_stderr(settings.publish.progress && !plan.is_empty());
    let concurrency = execute::within_open_files(settings.publish.concurrency);
    let publish = async {
        match edge {
            Some(edge) => settings.edge.publish(edge).await,
            None => Ok(()),
        }
    };
    let mut result =
        execute::execute_around_deletes(Arc::clone(store), &plan, concurrency, progress, publish)
            .await?;
    let now = SystemTime::now();
    let release_id = recorder.release_id(now, &plan, &result);
    let inv = edge.and_then(|edge| invalidation_for(cached_keys(&plan, &result), edge));
    let (invalidation, still_pending) =
        send_owed(edge, inv, release_id.as_deref(), settings, pending).await;
    let record = match &release_id {
        Some(id) => Some(new_record(recorder, id, now, &plan, &result, settings).await?),
        None => None,
    };
    let recorded = record_release(&**store, settings, record, recorder.live(), still_pending).await;
    let invalidation = settle(invalidation, recorded)?;
    warn_if_unversioned(store.bucket(), &result);
    result.elapsed = settings.started.elapsed();
    Ok(Outcome {
        command: settings.command.clone(),
        dry_run: false,
        plan,
        result: Some(result),
        invalidation,
        release: release_id,
    })
}

/// Sends the invalidation `inv` (what the run overwrote, with what was pending): its report,
/// or its error and the paths it leaves pending; with none to send, what was pending stays.
async fn send_owed<C: Cdn>(
    edge: Option<&Edge<C>>,
    inv: Option<Invalidation>,
    release_id: Option<&str>,
    settings: &Settings<'_>,
    pending: &[String],
) -> (Result<Option<InvalidationReport>>, Vec<String>) {
    match edge.zip(inv) {
        Some((edge, inv)) => {
            let reference = caller_reference(release_id, settings.started, &inv);
            let paths = inv.paths.clone();
            match send_invalidation(edge, inv, &reference, settings).await {
                Ok(sent) => (Ok(Some(sent)), Vec::new()),
                Err(e) => (Err(e), paths),
            }
        }
        None => (Ok(None), pending.to_vec()),
    }
}

/// The new release's record, with the routing function and response headers this run keeps
/// live.
async fn new_record(
    recorder: &impl Recorder,
    id: &str,
    now: SystemTime,
    plan: &Plan,
    result: &ExecReport,
    settings: &Settings<'_>,
) -> Result<Release> {
    let record = recorder
        .record(id.to_owned(), record_time(now), plan, result)
        .await?;
    let work = &settings.edge;
    Ok(Release {
        routing: work
            .routing
            .as_ref()
            .map(|r| r.code.clone())
            .or(record.routing),
        headers: work
            .headers
            .as_ref()
            .map(|h| h.table.clone())
            .or(record.headers),
        ..record
    })
}

/// Says that versioning is off when a write got no version id: no rollback can restore it.
fn warn_if_unversioned(bucket: &str, result: &ExecReport) {
    if result.writes.iter().any(|w| w.version_id.is_none()) {
        github::warn(&format!(
            "bucket `{bucket}` has versioning off: earlier versions are not kept, so a rollback \
             will be impossible; `shipfront doctor` shows how to turn it on"
        ));
    }
}

/// One result of an invalidation and the record written after it: a failed invalidation says
/// whether the record remembers it (pending) or nothing does.
fn settle(
    invalidation: Result<Option<InvalidationReport>>,
    recorded: Result<()>,
) -> Result<Option<InvalidationReport>> {
    match (invalidation, recorded) {
        (Ok(sent), Ok(())) => Ok(sent),
        (Ok(_), Err(e)) => Err(e),
        (Err(failed), Ok(())) => Err(with_hint(
            failed,
            "the release was recorded with this invalidation pending: the next deploy or \
             rollback sends it",
        )),
        (Err(failed), Err(unrecorded)) => Err(with_hint(
            failed,
            &format!(
                "and the release record could not be written ({unrecorded}), so nothing \
                 remembers it: send it by hand"
            ),
        )),
    }
}

/// `error` with `hint` added to its message (a CDN error; others are returned as they are).
fn with_hint(error: Error, hint: &str) -> Error {
    match error {
        Error::Cdn {
            operation,
            distribution,
            message,
        } => Error::Cdn {
            message: format!("{message}; {hint}"),
            operation,
            distribution,
        },
        other => other,
    }
}

/// Refuses a plan deleting more than `--max-deletes` objects (a dry run only warns).
fn check_deletes(plan: &Plan, settings: &Settings) -> Result<()> {
    let Some(max) = Some(settings.publish.max_deletes).filter(|max| plan.deletes() > *max) else {
        return Ok(());
    };
    if settings.publish.dry_run {
        github::warn(&format!(
            "this plan deletes {} objects, more than --max-deletes {max}: a real {} would refuse \
             it",
            plan.deletes(),
            settings.command.name()
        ));
        return Ok(());
    }
    let (check, keep) = match settings.command {
        Command::Deploy => ("Check the folder", ", or --no-delete to keep them"),
        Command::Rollback { .. } => ("Check the release (`shipfront releases`)", ""),
    };
    Err(Error::TooManyDeletes {
        count: plan.deletes(),
        max,
        target: plan.target(),
        check,
        keep,
    })
}

/// Writes the new release's record (`record`), whatever became of the invalidation, so it
/// never claims less or more than the bucket holds: a failed invalidation is marked pending in
/// it. Without a new release, the live record is rewritten when what is pending changed.
async fn record_release<S: ObjectStore>(
    store: &S,
    settings: &Settings<'_>,
    record: Option<Release>,
    live: Option<&Release>,
    still_pending: Vec<String>,
) -> Result<()> {
    let record = match record {
        Some(record) => Some(Release {
            pending_invalidation: still_pending,
            ..record
        }),
        None => live
            .filter(|live| live.pending_invalidation != still_pending)
            .map(|live| Release {
                pending_invalidation: still_pending,
                ..live.clone()
            }),
    };
    match record {
        Some(record) => write_record(store, settings.state_prefix, &record).await,
        None => Ok(()),
    }
}

/// The lock a run takes, decided once for deploy and rollback (`under_lock`): none for a dry
/// run, nor for a run that writes nothing. A run writes when its plan or the edge changes
/// something (`changes`), when it must send the invalidation `live` left pending, and with
/// `--invalidate all`, which sends `/*` even when nothing changed.
#[must_use]
pub fn lock_for(publish: &Publish, live: Option<&Release>, changes: bool) -> Option<LockPolicy> {
    let invalidates =
        publish.distribution_id.is_some() && publish.invalidate != Invalidate::Nothing;
    let sends_pending = live.is_some_and(|live| !live.pending_invalidation.is_empty());
    let sends_all = publish.invalidate == Invalidate::All;
    let writes = changes || (invalidates && (sends_pending || sends_all));
    (!publish.dry_run && writes).then_some(publish.lock)
}

/// Prints an outcome on stdout (JSON or text) and publishes it to GitHub Actions.
pub fn print(outcome: &Outcome, json: bool) -> Result<()> {
    crate::run::output::to_stdout(|stdout| {
        if json {
            serde_json::to_writer_pretty(&mut *stdout, &outcome.view())?;
        } else {
            write!(stdout, "{outcome}")?;
        }
        writeln!(stdout)
    })?;
    github::publish(outcome.command.name(), &outcome.view());
    Ok(())
}

/// A release's time as recorded: RFC 3339 UTC to the millisecond, the precision of its id.
#[must_use]
pub fn record_time(now: SystemTime) -> String {
    humantime::format_rfc3339_millis(now).to_string()
}

/// Writes a release record under the state prefix, last of a deploy's or rollback's writes.
async fn write_record<S: ObjectStore>(
    store: &S,
    state_prefix: &str,
    record: &Release,
) -> Result<()> {
    let key = release::record_key(state_prefix, &record.id);
    let body = record_body(record)?;
    store
        .put_bytes(&key, body, "application/json", None)
        .await?;
    Ok(())
}

/// A record as compact JSON, in a buffer of exactly its size: the record of a large site is
/// held once, without the spare room and copies of a growing buffer (its size is counted
/// first, by writing it nowhere).
fn record_body(record: &Release) -> std::io::Result<Vec<u8>> {
    struct Counted(usize);
    impl std::io::Write for Counted {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut size = Counted(0);
    serde_json::to_writer(&mut size, record)?;
    let mut body = Vec::with_capacity(size.0);
    serde_json::to_writer(&mut body, record)?;
    Ok(body)
}

/// An invalidation's `CallerReference`: the release's id; without a release (`--invalidate
/// all` with nothing changed), the deploy's start time and a digest of the paths.
pub fn caller_reference(
    release_id: Option<&str>,
    started: std::time::Instant,
    inv: &invalidate::Invalidation,
) -> String {
    if let Some(id) = release_id {
        return format!("shipfront-{id}");
    }
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .saturating_sub(started.elapsed());
    let digest = {
        use md5::{Digest, Md5};
        crate::core::etag::hex(&Md5::digest(inv.paths.join("\n").as_bytes())[..6])
    };
    format!("shipfront-{}-{digest}", since_epoch.as_millis())
}

/// Creates the invalidation (and with `--wait`, waits for it).
async fn send_invalidation<C: Cdn>(
    edge: &Edge<C>,
    inv: Invalidation,
    caller_reference: &str,
    settings: &Settings<'_>,
) -> Result<InvalidationReport> {
    let distribution = edge.distribution.as_str();
    let id = edge
        .cdn
        .invalidate(distribution, &inv.paths, caller_reference)
        .await
        .map_err(|e| match Error::from(e) {
            Error::Cdn {
                operation,
                distribution,
                message,
            } => Error::Cdn {
                message: format!(
                    "{message}; the files were written, only the invalidation failed (by hand: \
                     `aws cloudfront create-invalidation --distribution-id {distribution} \
                     --paths {}`)",
                    inv.paths.join(" ")
                ),
                operation,
                distribution,
            },
            other => other,
        })?;
    let completed = settings.publish.wait && wait_for(edge, &id, settings.publish.progress).await?;
    Ok(InvalidationReport {
        id: Some(id),
        paths: inv.paths,
        urls: inv.urls,
        collapsed: inv.collapsed,
        completed,
    })
}

/// Waits until CloudFront reports the invalidation `id` completed.
async fn wait_for<C: Cdn>(edge: &Edge<C>, id: &str, show_progress: bool) -> Result<bool> {
    let spinner = show_progress.then(|| {
        let s = indicatif::ProgressBar::new_spinner();
        s.set_message(format!("waiting for invalidation {id}"));
        s.enable_steady_tick(std::time::Duration::from_millis(120));
        s
    });
    loop {
        let status = edge.cdn.invalidation_status(&edge.distribution, id).await?;
        // CloudFront says `Completed`; some emulators `COMPLETED`.
        if status.eq_ignore_ascii_case("completed") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    }
    if let Some(s) = spinner {
        s.finish_and_clear();
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    //! Deploy and rollback through `apply`, on the in-memory bucket and CDN.

    use std::sync::Arc;

    use crate::commands::deploy::deploy;
    use crate::commands::rollback::rollback;
    use crate::core::error::Error;
    use crate::core::objects::LocalTree;
    use crate::core::plan::Reason;
    use crate::core::report::Outcome;
    use crate::run::fixtures::{block_on, deploy_config, now, rollback_config, tree};
    use crate::store::RemoteFailure;
    use crate::store::memory::{MemoryCdn, MemoryStore};

    const LOCK: &str = ".shipfront/lock";

    /// An empty versioned bucket `b` and a distribution `E1` in memory.
    fn fresh() -> (Arc<MemoryStore>, Arc<MemoryCdn>) {
        (
            Arc::new(MemoryStore::new("b")),
            Arc::new(MemoryCdn::default()),
        )
    }

    fn v1() -> LocalTree {
        tree(&[
            ("index.html", "home 1"),
            ("about.html", "about 1"),
            ("app.js", "app 1"),
            ("old.css", "old"),
        ])
    }

    fn v2() -> LocalTree {
        tree(&[
            ("index.html", "home 2"),
            ("about.html", "about 1"),
            ("app.js", "app 2"),
            ("new.css", "new"),
        ])
    }

    fn run_deploy(store: &Arc<MemoryStore>, cdn: &Arc<MemoryCdn>, site: &LocalTree) -> Outcome {
        block_on(deploy(
            Arc::clone(store),
            Some(Arc::clone(cdn)),
            &deploy_config(),
            site,
            now(),
        ))
        .expect("deploy")
    }

    fn current_etags(store: &MemoryStore) -> Vec<(String, String)> {
        store.with_objects(|o| {
            o.keys
                .keys()
                .filter(|k| !k.starts_with(".shipfront/"))
                .filter_map(|k| Some((k.clone(), o.current(k)?.etag.clone())))
                .collect()
        })
    }

    fn writes(calls: &[String]) -> Vec<&String> {
        calls
            .iter()
            .filter(|c| !c.starts_with("ListObject") && !c.starts_with("GetObject"))
            .collect()
    }

    #[test]
    fn deploy_then_rollback_restores_the_bytes_and_invalidates_what_changed() {
        let (store, cdn) = fresh();
        run_deploy(&store, &cdn, &v1());
        let first = current_etags(&store);
        let second = run_deploy(&store, &cdn, &v2());
        let restored = run_rollback(&store, &cdn, &rollback_config()).expect("rollback");

        assert_eq!(current_etags(&store), first);
        let sent = cdn.sent();
        let paths: Vec<&[String]> = sent.iter().map(|s| s.paths.as_slice()).collect();
        // The first deploy overwrote nothing a CDN could hold; the second overwrote the root
        // page and app.js and deleted old.css; the rollback puts them back and deletes new.css.
        assert_eq!(
            paths,
            [
                ["/", "/app.js", "/index.html", "/old.css"]
                    .map(String::from)
                    .as_slice(),
                ["/", "/app.js", "/index.html", "/new.css"]
                    .map(String::from)
                    .as_slice(),
            ]
        );
        for (outcome, invalidation) in [(&second, &sent[0]), (&restored, &sent[1])] {
            let id = outcome.release.as_deref().expect("a release");
            assert_eq!(invalidation.caller_reference, format!("shipfront-{id}"));
        }
        let live = store.calls().last().cloned().unwrap_or_default();
        assert_eq!(
            live, "DeleteObject .shipfront/lock",
            "the lock is released last"
        );
        assert!(store.with_objects(|o| o.current(LOCK).is_none()));
    }

    #[test]
    fn an_unchanged_site_takes_no_lock_and_writes_nothing() {
        let (store, cdn) = fresh();
        run_deploy(&store, &cdn, &v1());
        let before = store.calls().len();
        let again = run_deploy(&store, &cdn, &v1());
        assert_eq!(again.release, None);
        assert_eq!(writes(&store.calls()[before..]), Vec::<&String>::new());
        assert!(cdn.sent().is_empty());
    }

    #[test]
    fn a_lock_held_elsewhere_refuses_before_any_write() {
        let (store, cdn) = fresh();
        let holder = format!(
            r#"{{"holder":"ci-runner-7","command":"deploy","started":"","refreshed":{}}}"#,
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
        );
        store.with_objects(|o| o.put(LOCK, holder.as_bytes()));
        let err = block_on(deploy(
            Arc::clone(&store),
            Some(cdn),
            &deploy_config(),
            &v1(),
            now(),
        ))
        .unwrap_err();
        assert!(
            matches!(&err, Error::Locked { holder, .. } if holder == "ci-runner-7"),
            "{err}"
        );
        assert_eq!(
            writes(&store.calls()),
            ["PutObject .shipfront/lock"],
            "only the lock's conditional create was tried"
        );
    }

    #[test]
    fn the_plan_that_runs_is_made_under_the_lock() {
        let (store, cdn) = fresh();
        // Another deploy adds a page between our first look and our lock.
        store.before_nth("PutObject", 1, |o| {
            o.put("late.html", b"late");
        });
        let outcome = run_deploy(&store, &cdn, &v1());
        let calls = store.calls();
        let lock_at = calls.iter().position(|c| c == "PutObject .shipfront/lock");
        let relisted = calls.iter().rposition(|c| c == "ListObjectsV2");
        assert!(lock_at < relisted, "{calls:?}");
        assert!(
            outcome.plan.actions.iter().any(|a| a.key == "late.html"),
            "the page the other deploy wrote is seen (and deleted as stale)"
        );
        assert!(store.with_objects(|o| o.current("late.html").is_none()));
    }

    #[test]
    fn rollback_refuses_expired_versions_before_any_write() {
        let (store, cdn) = fresh();
        run_deploy(&store, &cdn, &v1());
        run_deploy(&store, &cdn, &v2());
        // A lifecycle rule expired app.js's first version.
        store.with_objects(|o| {
            if let Some(versions) = o.keys.get_mut("app.js") {
                versions.remove(0);
            }
        });
        let before = store.calls().len();
        let err = block_on(rollback(
            Arc::clone(&store),
            Some(cdn),
            &rollback_config(),
            now(),
        ))
        .unwrap_err();
        assert!(err.to_string().contains("no longer keeps"), "{err}");
        assert!(err.to_string().contains("app.js"), "{err}");
        assert_eq!(
            writes(&store.calls()[before..]),
            ["PutObject .shipfront/lock", "DeleteObject .shipfront/lock"]
        );
    }

    #[test]
    fn a_failed_invalidation_is_an_error_naming_the_way_out_and_frees_the_lock() {
        let (store, cdn) = fresh();
        run_deploy(&store, &cdn, &v1());
        cdn.fail_nth("CreateInvalidation", 1);
        let err = block_on(deploy(
            Arc::clone(&store),
            Some(Arc::clone(&cdn)),
            &deploy_config(),
            &v2(),
            now(),
        ))
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("CreateInvalidation"), "{text}");
        assert!(
            text.contains("create-invalidation --distribution-id E1"),
            "{text}"
        );
        assert!(store.with_objects(|o| o.current(LOCK).is_none()));
    }

    #[test]
    fn a_failed_call_names_its_operation_bucket_and_key() {
        let (store, cdn) = fresh();
        store.fail_key("PutObject", "app.js");
        let err = block_on(deploy(
            Arc::clone(&store),
            Some(cdn),
            &deploy_config(),
            &v1(),
            now(),
        ))
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("`app.js`") && text.contains("assets"),
            "{text}"
        );
        let store = Arc::new(MemoryStore::new("b"));
        store.fail_nth("ListObjectsV2", 1, RemoteFailure::AccessDenied);
        let err = block_on(deploy(
            Arc::clone(&store),
            None::<Arc<MemoryCdn>>,
            &deploy_config(),
            &v1(),
            now(),
        ))
        .unwrap_err();
        assert!(
            matches!(&err, Error::AccessDenied { operation: "ListObjectsV2", bucket, .. } if bucket == "b"),
            "{err}"
        );
    }

    #[test]
    fn deploy_and_rollback_share_the_dry_run_the_record_and_the_invalidate_flag() {
        let (store, cdn) = fresh();
        run_deploy(&store, &cdn, &v1());
        run_deploy(&store, &cdn, &v2());
        let dry = {
            let mut config = rollback_config();
            config.publish.dry_run = true;
            run_rollback(&store, &cdn, &config).expect("dry run")
        };
        // The same document as a deploy's dry run: plan and planned invalidation.
        let json = serde_json::to_value(dry.view()).unwrap();
        assert_eq!(json["dry_run"], true);
        assert_eq!(json["invalidation"]["paths"][0], "/");
        assert!(json["plan"]["actions"].is_array());

        let mut config = rollback_config();
        config.publish.invalidate = crate::config::Invalidate::Nothing;
        let sent_before = cdn.sent().len();
        let done = run_rollback(&store, &cdn, &config).expect("rollback");
        assert_eq!(
            cdn.sent().len(),
            sent_before,
            "--no-invalidate sends nothing"
        );
        assert!(done.invalidation.is_none());

        // Every record's time is RFC 3339 to the millisecond, deploy's and rollback's alike.
        let times: Vec<String> = store.with_objects(|o| {
            o.keys
                .keys()
                .filter(|k| k.starts_with(".shipfront/releases/"))
                .filter_map(|k| {
                    let body = &o.current(k)?.body;
                    let record: crate::core::release::Release =
                        serde_json::from_slice(body).ok()?;
                    Some(record.time)
                })
                .collect()
        });
        assert_eq!(times.len(), 3);
        for time in times {
            assert!(
                time.len() == 24 && time.ends_with('Z') && time.as_bytes()[19] == b'.',
                "{time}"
            );
        }
    }

    fn run_rollback(
        store: &Arc<MemoryStore>,
        cdn: &Arc<MemoryCdn>,
        config: &crate::config::RollbackConfig,
    ) -> crate::core::error::Result<Outcome> {
        block_on(rollback(
            Arc::clone(store),
            Some(Arc::clone(cdn)),
            config,
            now(),
        ))
    }

    #[test]
    fn a_rollback_to_what_the_bucket_holds_takes_no_lock_and_records_nothing() {
        let (store, cdn) = fresh();
        let v1 = run_deploy(&store, &cdn, &v1()).release.unwrap();
        run_deploy(&store, &cdn, &v2());
        let mut config = rollback_config();
        config.to = Some(v1.clone());
        run_rollback(&store, &cdn, &config).expect("rollback");
        let before = store.calls().len();
        let again = run_rollback(&store, &cdn, &config).expect("the same rollback again");
        assert_eq!(again.release, None);
        assert_eq!(writes(&store.calls()[before..]), Vec::<&String>::new());
        assert_eq!(
            again.to_string(),
            format!("s3://b/ already holds release {v1}: nothing to restore")
        );
    }

    #[test]
    fn a_rollback_of_a_large_site_lists_its_keys_and_versions_in_ranges() {
        let (store, cdn) = fresh();
        let pages = |body: &'static str| -> Vec<(String, &'static str)> {
            (0..3_000)
                .map(|i| (format!("p{i:05}.html"), body))
                .collect()
        };
        let build = |files: &[(String, &'static str)]| {
            tree(
                &files
                    .iter()
                    .map(|(k, v)| (k.as_str(), *v))
                    .collect::<Vec<_>>(),
            )
        };
        let v1 = run_deploy(&store, &cdn, &build(&pages("one")))
            .release
            .unwrap();
        let as_v1 = current_etags(&store);
        let mut v2 = pages("one");
        v2[1_500].1 = "two";
        v2.push(("zz-new.html".to_owned(), "new"));
        run_deploy(&store, &cdn, &build(&v2));
        let before = store.calls().len();
        let mut config = rollback_config();
        config.to = Some(v1);
        run_rollback(&store, &cdn, &config).expect("rollback");
        let calls = store.calls()[before..].to_vec();
        // The newest record holds 3,001 keys: four ranges each for the site and its versions,
        // split at every 751st of them, the first from the prefix's start (twice: the survey
        // is made again under the lock); plus one listing of the records' folder each time.
        let ranges = |op: &str| -> Vec<&str> {
            calls
                .iter()
                .filter_map(|c| c.strip_prefix(op))
                .map(str::trim)
                .collect()
        };
        let versions = ranges("ListObjectVersions");
        assert_eq!(versions.len(), 8, "{calls:?}");
        assert_eq!(
            versions[..4],
            ["", "p00750.html", "p01501.html", "p02252.html"]
        );
        assert_eq!(ranges("ListObjectsV2").len(), 2 * (4 + 1), "{calls:?}");
        // And the rollback is right: the changed page back, the new one gone.
        assert!(
            current_etags(&store) == as_v1,
            "the bucket is not as release 1 left it"
        );
    }

    #[test]
    fn rollback_honours_max_deletes_before_any_write() {
        let (store, cdn) = fresh();
        run_deploy(&store, &cdn, &tree(&[("index.html", "1")]));
        let many: Vec<(String, &str)> = (0..5).map(|i| (format!("p{i}.html"), "x")).collect();
        let many: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        run_deploy(
            &store,
            &cdn,
            &tree(&[[("index.html", "2")].as_slice(), &many].concat()),
        );
        let mut config = rollback_config();
        config.publish.max_deletes = 4;
        let before = store.calls().len();
        let err = run_rollback(&store, &cdn, &config).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("deletes 5 objects") && text.contains("--max-deletes 4"),
            "{text}"
        );
        assert!(
            !text.contains("--no-delete"),
            "rollback has no --no-delete: {text}"
        );
        assert_eq!(err.exit_code(), 2);
        assert_eq!(
            writes(&store.calls()[before..]),
            ["PutObject .shipfront/lock", "DeleteObject .shipfront/lock"]
        );
        config.publish.max_deletes = 5;
        run_rollback(&store, &cdn, &config).expect("allowed");
    }

    /// The live release record, as the bucket holds it.
    fn live_record(store: &MemoryStore) -> crate::core::release::Release {
        store.with_objects(|o| {
            let key = o
                .keys
                .keys()
                .rfind(|k| k.starts_with(".shipfront/releases/") && o.current(k).is_some())
                .cloned()
                .expect("a record");
            serde_json::from_slice(&o.current(&key).unwrap().body).unwrap()
        })
    }

    #[test]
    fn a_failed_invalidation_is_recorded_pending_and_sent_by_the_next_run() {
        let (store, cdn) = fresh();
        run_deploy(&store, &cdn, &v1());
        cdn.fail_nth("CreateInvalidation", 1);
        let config = deploy_config();
        let deploy_v2 = || {
            block_on(deploy(
                Arc::clone(&store),
                Some(Arc::clone(&cdn)),
                &config,
                &v2(),
                now(),
            ))
        };
        deploy_v2().unwrap_err();
        let want: Vec<String> = ["/", "/app.js", "/index.html", "/old.css"]
            .map(String::from)
            .to_vec();
        let recorded = live_record(&store);
        assert_eq!(
            recorded.pending_invalidation, want,
            "the record says what is owed"
        );
        assert!(
            recorded.objects.contains_key("new.css"),
            "and what the bucket holds"
        );

        // Nothing changed since, yet the owed invalidation goes out, and the mark is cleared.
        let again = deploy_v2().expect("the rerun");
        assert_eq!(again.release, None, "no new release: nothing changed");
        assert_eq!(cdn.sent().last().unwrap().paths, want);
        assert!(live_record(&store).pending_invalidation.is_empty());
        assert_eq!(
            live_record(&store).id,
            recorded.id,
            "the same record, the mark cleared"
        );

        // Then a rerun is a no-op again: no lock, no write.
        let before = store.calls().len();
        deploy_v2().expect("the third run");
        assert_eq!(writes(&store.calls()[before..]), Vec::<&String>::new());
    }

    #[test]
    fn the_first_deploy_onto_a_bucket_without_records_fixes_the_headers_it_finds() {
        let (store, cdn) = fresh();
        // What `aws s3 sync` left: the same bytes, no Cache-Control, a generic type.
        store.with_objects(|o| {
            for (key, body) in [
                ("index.html", "home 1"),
                ("about.html", "about 1"),
                ("app.js", "app 1"),
                ("old.css", "old"),
            ] {
                o.put(key, body.as_bytes());
            }
        });
        let outcome = run_deploy(&store, &cdn, &v1());
        let reasons: Vec<(&str, Reason)> = outcome
            .plan
            .actions
            .iter()
            .map(|a| (a.key.as_str(), a.reason))
            .collect();
        assert_eq!(
            reasons,
            [
                ("app.js", Reason::HeadersChanged),
                ("old.css", Reason::HeadersChanged),
                ("about.html", Reason::HeadersChanged),
                ("index.html", Reason::HeadersChanged),
            ]
        );
        let heads = store
            .calls()
            .iter()
            .filter(|c| c.starts_with("HeadObject"))
            .count();
        assert_eq!(heads, 4, "each object read once, not again under the lock");
        let html = store.with_objects(|o| o.current("index.html").cloned().unwrap());
        assert_eq!(html.content_type, "text/html; charset=utf-8");
        assert_eq!(html.cache_control, "public, max-age=0, must-revalidate");

        // Once: the record now says how everything is stored.
        let before = store.calls().len();
        run_deploy(&store, &cdn, &v1());
        let calls = store.calls();
        assert!(
            calls[before..].iter().all(|c| !c.starts_with("HeadObject")),
            "{calls:?}"
        );
        assert_eq!(writes(&calls[before..]), Vec::<&String>::new());
    }

    fn routed(mut config: crate::config::DeployConfig) -> crate::config::DeployConfig {
        config.routing = Some(crate::core::routing::RoutingConfig {
            mode: crate::core::routing::Mode::Pages,
            trailing_slash: crate::core::routing::TrailingSlash::AsBuilt,
            redirects: Vec::new(),
            hidden: None,
        });
        config
    }

    fn deploy_with(
        store: &Arc<MemoryStore>,
        cdn: &Arc<MemoryCdn>,
        config: &crate::config::DeployConfig,
        site: &LocalTree,
    ) -> crate::core::error::Result<Outcome> {
        block_on(deploy(
            Arc::clone(store),
            Some(Arc::clone(cdn)),
            config,
            site,
            now(),
        ))
    }

    const FUNCTION: &str = "shipfront-E1";

    #[test]
    fn routing_is_published_with_the_deploy_recorded_and_restored_by_rollback() {
        let (store, cdn) = fresh();
        let config = routed(deploy_config());
        deploy_with(&store, &cdn, &config, &v1()).expect("first deploy");
        let live = |cdn: &MemoryCdn| {
            crate::store::memory::lock(&cdn.functions)
                .get(FUNCTION)
                .and_then(|f| f.live.clone())
                .unwrap_or_default()
        };
        let first = live(&cdn);
        assert!(first.contains("function handler"), "published");
        assert!(
            crate::store::memory::lock(&cdn.viewer_request)
                .as_deref()
                .is_some_and(|arn| arn.ends_with(":function/shipfront-E1")),
            "run on viewer requests"
        );
        assert_eq!(live_record(&store).routing.as_deref(), Some(first.as_str()));

        // The same build again: nothing at all.
        let before = store.calls().len();
        let again = deploy_with(&store, &cdn, &config, &v1()).expect("again");
        assert_eq!(again.release, None);
        assert_eq!(writes(&store.calls()[before..]), Vec::<&String>::new());

        // A build whose layout changes the function: published again, with the release.
        let mut files = tree(&[("index.html", "home 2"), ("about/index.html", "a")]);
        files.notes.clear();
        deploy_with(&store, &cdn, &config, &files).expect("second deploy");
        assert_ne!(live(&cdn), first, "a new function for a new layout");

        // Rolling back publishes the function the target release had.
        run_rollback(&store, &cdn, &rollback_config()).expect("rollback");
        assert_eq!(live(&cdn), first);
    }

    #[test]
    fn a_viewer_request_function_shipfront_did_not_write_is_replaced_only_by_force() {
        let (store, cdn) = fresh();
        *crate::store::memory::lock(&cdn.viewer_request) =
            Some("arn:aws:cloudfront::1:function/hand-made".to_owned());
        let mut config = routed(deploy_config());
        let err = deploy_with(&store, &cdn, &config, &v1()).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("--force-routing"), "{err}");
        assert!(store.calls().iter().all(|c| !c.starts_with("PutObject")));
        config.publish.force_routing = true;
        deploy_with(&store, &cdn, &config, &v1()).expect("forced");
        assert!(
            crate::store::memory::lock(&cdn.viewer_request)
                .as_deref()
                .is_some_and(|arn| arn.ends_with("shipfront-E1"))
        );
    }

    #[test]
    fn the_routing_switches_after_the_pages_are_written_and_before_anything_is_deleted() {
        let (store, cdn) = fresh();
        let config = routed(deploy_config());
        deploy_with(&store, &cdn, &config, &v1()).expect("first deploy");
        let at_publish = Arc::new(std::sync::Mutex::new(None));
        {
            let (store, at_publish) = (Arc::clone(&store), Arc::clone(&at_publish));
            *crate::store::memory::lock(&cdn.on_publish) = Some(Box::new(move || {
                *crate::store::memory::lock(&at_publish) = Some(store.calls().len());
            }));
        }
        // v2 of another layout: the function changes, pages change, old.css is deleted.
        let v2 = tree(&[
            ("index.html", "home 2"),
            ("about/index.html", "about 2"),
            ("app.js", "app 2"),
        ]);
        deploy_with(&store, &cdn, &config, &v2).expect("second deploy");
        let calls = store.calls();
        let published = crate::store::memory::lock(&at_publish).expect("published");
        let root = calls
            .iter()
            .rposition(|c| c == "PutObject index.html")
            .unwrap();
        let deleted = calls
            .iter()
            .position(|c| c.starts_with("DeleteObjects"))
            .unwrap();
        assert!(
            root < published && published <= deleted,
            "{calls:?} at {published}"
        );
    }

    fn with_headers(
        mut config: crate::config::DeployConfig,
        entries: &[(&str, &str)],
    ) -> crate::config::DeployConfig {
        config.response_headers = Some(
            entries
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        );
        config
    }

    fn attached(cdn: &MemoryCdn) -> Option<crate::store::HeadersPolicy> {
        let id = crate::store::memory::lock(&cdn.attached_policy).clone()?;
        crate::store::memory::lock(&cdn.headers_policies)
            .get(&id)
            .cloned()
    }

    #[test]
    fn response_headers_are_written_with_the_deploy_recorded_and_restored_by_rollback() {
        let (store, cdn) = fresh();
        let hsts = ("Strict-Transport-Security", "max-age=31536000");
        let config = with_headers(deploy_config(), &[hsts, ("X-Frame-Options", "DENY")]);

        let mut dry = config.clone();
        dry.publish.dry_run = true;
        let planned = deploy_with(&store, &cdn, &dry, &v1()).expect("dry run");
        assert!(
            planned.plan.notes.iter().any(|n| n.contains(
                "response headers policy `shipfront-E1` (Strict-Transport-Security, \
                 X-Frame-Options): written and attached"
            )),
            "{:?}",
            planned.plan.notes
        );
        assert!(attached(&cdn).is_none(), "a dry run writes nothing");

        deploy_with(&store, &cdn, &config, &v1()).expect("first deploy");
        let first = attached(&cdn).expect("attached");
        assert_eq!(first.name, "shipfront-E1");
        assert_eq!(first.headers.frame_options.as_deref(), Some("DENY"));
        let recorded = live_record(&store).headers.expect("recorded");
        assert_eq!(
            recorded.get("X-Frame-Options").map(String::as_str),
            Some("DENY")
        );

        // The same build and headers again: nothing at all.
        let before = (store.calls().len(), cdn.calls().len());
        let again = deploy_with(&store, &cdn, &config, &v1()).expect("again");
        assert_eq!(again.release, None);
        assert_eq!(writes(&store.calls()[before.0..]), Vec::<&String>::new());
        assert!(
            cdn.calls()[before.1..]
                .iter()
                .all(|c| !c.starts_with("Update") && !c.starts_with("Create")),
            "{:?}",
            cdn.calls()
        );

        // Only the headers change: the same policy updated, and a release of its own.
        let changed = with_headers(deploy_config(), &[hsts, ("X-Frame-Options", "SAMEORIGIN")]);
        let outcome = deploy_with(&store, &cdn, &changed, &v1()).expect("headers only");
        assert!(outcome.release.is_some(), "a release for the headers");
        let second = attached(&cdn).expect("attached");
        assert_eq!(
            (second.id.as_str(), second.headers.frame_options.as_deref()),
            (first.id.as_str(), Some("SAMEORIGIN"))
        );

        // Rolling back writes the headers the target release had.
        run_rollback(&store, &cdn, &rollback_config()).expect("rollback");
        assert_eq!(attached(&cdn).expect("attached").headers, first.headers);
    }

    #[test]
    fn a_response_headers_policy_shipfront_did_not_write_is_replaced_only_by_force() {
        let (store, cdn) = fresh();
        let managed = crate::store::HeadersPolicy {
            id: "67f7725c".to_owned(),
            name: "Managed-SecurityHeadersPolicy".to_owned(),
            headers: crate::core::response_headers::ResponseHeaders::default(),
            hand_edited: false,
        };
        crate::store::memory::lock(&cdn.headers_policies)
            .insert(managed.id.clone(), managed.clone());
        *crate::store::memory::lock(&cdn.attached_policy) = Some(managed.id.clone());
        let mut config = with_headers(deploy_config(), &[("X-Content-Type-Options", "nosniff")]);
        let err = deploy_with(&store, &cdn, &config, &v1()).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let says = err.to_string();
        assert!(
            says.contains("Managed-SecurityHeadersPolicy") && says.contains("--force-headers"),
            "{says}"
        );
        assert!(store.calls().iter().all(|c| !c.starts_with("PutObject")));
        assert_eq!(attached(&cdn), Some(managed));
        config.publish.force_headers = true;
        deploy_with(&store, &cdn, &config, &v1()).expect("forced");
        let ours = attached(&cdn).expect("attached");
        assert_eq!(ours.name, "shipfront-E1");
        assert!(ours.headers.content_type_options);
    }

    #[test]
    fn the_edge_is_read_again_under_the_lock() {
        let (store, cdn) = fresh();
        let config = with_headers(deploy_config(), &[("X-Frame-Options", "DENY")]);
        deploy_with(&store, &cdn, &config, &v1()).expect("first deploy");
        // Another deploy changes the policy between our first look and our lock.
        let lock_write = store
            .calls()
            .iter()
            .filter(|c| c.starts_with("PutObject"))
            .count()
            + 1;
        let other = Arc::clone(&cdn);
        store.before_nth("PutObject", lock_write, move |_| {
            let id = crate::store::memory::lock(&other.attached_policy)
                .clone()
                .unwrap();
            let mut policies = crate::store::memory::lock(&other.headers_policies);
            policies.get_mut(&id).unwrap().headers.frame_options = Some("SAMEORIGIN".into());
        });
        let outcome = deploy_with(&store, &cdn, &config, &v2()).expect("second deploy");
        assert!(
            outcome
                .plan
                .notes
                .iter()
                .any(|n| n.contains("written and attached")),
            "{:?}",
            outcome.plan.notes
        );
        let live = attached(&cdn).expect("attached");
        assert_eq!(live.headers.frame_options.as_deref(), Some("DENY"));
    }

    #[test]
    fn a_rollback_to_a_release_without_headers_keeps_the_live_policy_and_says_so() {
        let (store, cdn) = fresh();
        deploy_with(&store, &cdn, &deploy_config(), &v1()).expect("without headers");
        let config = with_headers(deploy_config(), &[("X-Frame-Options", "DENY")]);
        deploy_with(&store, &cdn, &config, &v2()).expect("with headers");
        let outcome = run_rollback(&store, &cdn, &rollback_config()).expect("rollback");
        assert!(
            outcome.plan.notes.iter().any(
                |n| n.contains("recorded no [headers]: the live response headers policy stays")
            ),
            "{:?}",
            outcome.plan.notes
        );
        assert_eq!(
            attached(&cdn)
                .expect("kept")
                .headers
                .frame_options
                .as_deref(),
            Some("DENY")
        );
        // The rollback's record says what is live: the headers it kept.
        let recorded = live_record(&store).headers.expect("recorded");
        assert_eq!(
            recorded.get("X-Frame-Options").map(String::as_str),
            Some("DENY")
        );
    }
}
