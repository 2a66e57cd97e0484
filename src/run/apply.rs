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
use crate::run::lease::{Fence, SystemClocks};
use crate::store::{Cdn, ObjectStore};
use crate::{run::execute, run::github, run::lock, run::progress};

/// How a command applies its plan: the publish settings deploy and rollback share, and what
/// is the command's own.
#[derive(Debug, Clone)]
pub(crate) struct Settings<'a> {
    pub(crate) command: Command,
    /// When the command started: the outcome's time is the whole command's.
    pub(crate) started: Instant,
    pub(crate) publish: &'a Publish,
    /// Where release records go.
    pub(crate) state_prefix: &'a str,
    /// What the run keeps live at the edge besides the objects.
    pub(crate) edge: EdgeWork,
    /// What every write passes first: the lock's lease (open without a lock).
    pub(crate) fence: Fence,
}

impl<'a> Settings<'a> {
    /// How a `command` started at `started` applies its plan to `site`, publishing as `publish`
    /// says and keeping `edge` live.
    #[must_use]
    pub(crate) fn new(
        command: Command,
        started: Instant,
        publish: &'a Publish,
        site: &'a Site,
        edge: EdgeWork,
    ) -> Self {
        Settings {
            command,
            started,
            publish,
            state_prefix: &site.state_prefix,
            edge,
            fence: Fence::open(),
        }
    }

    /// The same, with writes passing `fence` first.
    #[must_use]
    pub(crate) fn fenced(self, fence: Fence) -> Self {
        Settings { fence, ..self }
    }
}

/// How a command records the release it made.
pub(crate) trait Recorder {
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
/// nothing to do, needs none); `work` gets the fence its writes pass (open without a lock). The
/// lock is released whatever happens, Ctrl-C included.
pub(crate) async fn under_lock<S: ObjectStore, T>(
    store: &Arc<S>,
    site: &Site,
    command: &str,
    policy: Option<LockPolicy>,
    work: impl AsyncFnOnce(Fence) -> Result<T>,
) -> Result<T> {
    let mut interrupts = lock::Interrupts::listen();
    let token = lock::new_token();
    let lock = match policy {
        Some(policy) => {
            let clocks = Arc::new(SystemClocks);
            let taking = lock::acquire(Arc::clone(store), site, command, policy, &token, clocks);
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
    let fence = lock.as_ref().map_or_else(Fence::open, lock::Lock::fence);
    lock::run_holding(lock, interrupts, work(fence)).await
}

/// Applies `plan`: in a dry run, only says what it would do; otherwise runs it in phases,
/// invalidates the URLs it overwrote or deleted (and those a failed invalidation left pending),
/// and records the release, last of all.
pub(crate) async fn apply<S: ObjectStore, C: Cdn>(
    store: &Arc<S>,
    edge: Option<&Edge<C>>,
    plan: Plan,
    settings: &Settings<'_>,
    recorder: &impl Recorder,
) -> Result<Outcome> {
    check_deletes(&plan, settings)?;
    let mut plan = plan;
    if let Some(edge) = edge {
        plan.notes.extend(settings.edge.notes(&edge.distribution));
    }
    let result = if settings.publish.dry_run {
        None
    } else {
        match execute_plan(store, edge, &plan, settings).await {
            Ok(result) => Some(result),
            Err(stopped) => {
                let live = recorder.live();
                return Err(settle_stopped(store, edge, &plan, settings, live, *stopped).await);
            }
        }
    };
    // What the run overwrote (a dry run: would overwrite), with what a failed invalidation
    // left pending.
    let pending = pending_of(recorder.live());
    let keys = match &result {
        Some(result) => cached_keys(&plan, result),
        None => planned_cached_keys(&plan),
    };
    let inv = edge.and_then(|edge| owed(edge, keys, settings, pending));
    let Some(mut result) = result else {
        return Ok(Outcome {
            command: settings.command.clone(),
            dry_run: true,
            plan,
            result: None,
            invalidation: inv.map(|inv| InvalidationReport::planned(&inv)),
            release: None,
            switch: None,
            verify: None,
        });
    };
    let now = SystemTime::now();
    let release_id = recorder.release_id(now, &plan, &result);
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
        switch: None,
        verify: None,
    })
}

/// The paths a failed invalidation left pending in the live release `live`.
fn pending_of(live: Option<&Release>) -> &[String] {
    live.map(|live| live.pending_invalidation.as_slice())
        .unwrap_or_default()
}

/// The invalidation a run owes for the cached `keys` it overwrote or deleted, with what was
/// `pending`, as `--invalidate` and `--max-invalidation-paths` say; None when nothing is owed.
fn owed<C: Cdn>(
    edge: &Edge<C>,
    keys: Vec<&str>,
    settings: &Settings<'_>,
    pending: &[String],
) -> Option<Invalidation> {
    let publish = settings.publish;
    invalidate::of_run(
        publish.invalidate,
        keys,
        &edge.origin_path,
        publish.max_invalidation_paths,
        pending,
    )
}

/// What a run that stopped midway still owes: the URLs of what it overwrote before it stopped
/// are invalidated with what was pending or, when that fails, recorded pending in the live
/// release for the next run (a rerun finds those objects unchanged and would not). The error
/// that stopped it is returned.
async fn settle_stopped<S: ObjectStore, C: Cdn>(
    store: &Arc<S>,
    edge: Option<&Edge<C>>,
    plan: &Plan,
    settings: &Settings<'_>,
    live: Option<&Release>,
    stopped: execute::Stopped,
) -> Error {
    let execute::Stopped { error, report } = stopped;
    let keys = cached_keys(plan, &report);
    let Some(edge) = edge.filter(|_| !keys.is_empty()) else {
        return error;
    };
    let overwritten = keys.len();
    let pending = pending_of(live);
    let inv = owed(edge, keys, settings, pending);
    let (sent, still_pending) = send_owed(Some(edge), inv, None, settings, pending).await;
    match sent {
        Ok(Some(sent)) => github::warn(&format!(
            "the run stopped after overwriting {overwritten} cached object(s): invalidated their \
             URLs ({})",
            sent.id.as_deref().unwrap_or("sent")
        )),
        Ok(None) => {}
        Err(e) => github::warn(&format!(
            "the run stopped after overwriting {overwritten} cached object(s), and their \
             invalidation failed too ({e})"
        )),
    }
    if still_pending.as_slice() != pending {
        // Owed now (the invalidation failed), or no longer (it was sent with what was owed).
        let owed = !still_pending.is_empty();
        let remembered = record_release(&**store, settings, None, live, still_pending).await;
        match remembered {
            Ok(()) if !owed => {}
            Ok(()) if live.is_some() => github::warn(
                "the invalidation is recorded as pending in the live release: the next deploy or \
                 rollback sends it",
            ),
            Ok(()) => github::warn(
                "no release is recorded yet to remember the invalidation: send it by hand",
            ),
            Err(_) if !owed => {}
            Err(e) => github::warn(&format!(
                "the pending invalidation could not be recorded ({e}): send it by hand"
            )),
        }
    }
    error
}

/// Runs `plan` in phases, publishing the edge work between the pages and the deletions.
async fn execute_plan<S: ObjectStore, C: Cdn>(
    store: &Arc<S>,
    edge: Option<&Edge<C>>,
    plan: &Plan,
    settings: &Settings<'_>,
) -> Result<ExecReport, Box<execute::Stopped>> {
    let progress = progress::for_stderr(settings.publish.progress && !plan.is_empty());
    let concurrency = execute::within_open_files(settings.publish.concurrency);
    // Boxed: the SDK's futures are large, and a debug build's main stack is not.
    let publish = Box::pin(async {
        match edge {
            Some(edge) => {
                settings.fence.check()?;
                settings.edge.publish(edge).await
            }
            None => Ok(()),
        }
    });
    let run = execute::Run {
        command: settings.command.name(),
        concurrency,
        progress,
        fence: settings.fence.clone(),
    };
    execute::execute_around_deletes(Arc::clone(store), plan, run, publish).await
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
    let (routing, routing_inputs) = match &work.routing {
        Some(r) => (Some(r.code.clone()), Some(r.inputs.clone())),
        None => (record.routing, record.routing_inputs),
    };
    Ok(Release {
        routing,
        routing_inputs,
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
        Command::Rollback { .. } | Command::Promote { .. } => {
            ("Check the release (`shipfront releases`)", "")
        }
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
        Some(record) => {
            settings.fence.check()?;
            // An interrupt now waits for this write: it decides whether the release happened.
            let _recording = settings.fence.start_recording();
            write_record(store, settings.state_prefix, &record).await
        }
        None => Ok(()),
    }
}

/// The lock a run takes, decided once for deploy and rollback (`under_lock`): none for a dry
/// run, nor for a run that writes nothing. A run writes when its plan or the edge changes
/// something (`changes`), when it must send the invalidation `live` left pending, and with
/// `--invalidate all`, which sends `/*` even when nothing changed.
#[must_use]
pub(crate) fn lock_for(
    publish: &Publish,
    live: Option<&Release>,
    changes: bool,
) -> Option<LockPolicy> {
    let invalidates =
        publish.distribution_id.is_some() && publish.invalidate != Invalidate::Nothing;
    let sends_pending = live.is_some_and(|live| !live.pending_invalidation.is_empty());
    let sends_all = publish.invalidate == Invalidate::All;
    let writes = changes || (invalidates && (sends_pending || sends_all));
    (!publish.dry_run && writes).then_some(publish.lock)
}

/// Prints an outcome on stdout (JSON or text) and publishes it to GitHub Actions.
pub(crate) fn print(outcome: &Outcome, json: bool) -> Result<()> {
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
pub(crate) fn record_time(now: SystemTime) -> String {
    humantime::format_rfc3339_millis(now).to_string()
}

/// Writes a release record under the state prefix, last of a deploy's or rollback's writes.
pub(crate) async fn write_record<S: ObjectStore>(
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
pub(crate) fn caller_reference(
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
    use crate::commands::in_memory::*;
    use crate::run::fixtures::{deploy_config, rollback_config};

    #[test]
    fn a_run_takes_the_lock_only_when_it_writes() {
        use crate::core::invalidate::Invalidate::{All, Changed, Nothing};
        let owing = crate::core::release::Release {
            pending_invalidation: vec!["/a.html".to_owned()],
            ..Default::default()
        };
        // (dry run, a distribution, --invalidate, the live release owes an invalidation,
        // the plan or the edge changes something, the lock is taken)
        let cases = [
            (false, true, Changed, false, true, true),
            (false, true, Changed, false, false, false),
            (true, true, Changed, false, true, false),
            (false, true, Changed, true, false, true),
            (true, true, Changed, true, false, false),
            (false, false, Changed, true, false, false),
            (false, true, Nothing, true, false, false),
            (false, true, All, false, false, true),
            (false, false, Nothing, false, true, true),
        ];
        for case in cases {
            let (dry_run, distribution, invalidate, owes, changes, locks) = case;
            let mut publish = crate::run::fixtures::publish();
            publish.dry_run = dry_run;
            publish.distribution_id = distribution.then(|| "E1".to_owned());
            publish.invalidate = invalidate;
            let live = owes.then_some(&owing);
            assert_eq!(
                super::lock_for(&publish, live, changes).is_some(),
                locks,
                "{case:?}"
            );
        }
    }

    #[test]
    fn deploy_and_rollback_share_the_dry_run_the_record_and_the_invalidate_flag() {
        let (store, cdn) = deployed(&v1());
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
        config.publish.invalidate = crate::core::invalidate::Invalidate::Nothing;
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

    #[test]
    fn a_failed_invalidation_is_recorded_pending_and_sent_by_the_next_run() {
        let (store, cdn) = deployed(&v1());
        cdn.fail_nth("CreateInvalidation", 1);
        let config = deploy_config();
        let deploy_v2 = || deploy_with(&store, &cdn, &config, &v2());
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
}
