//! The deploy lock: one deploy or rollback at a time per site, so two CI jobs can never leave a
//! mix of their trees. It is a lease, `<state prefix>lock`, created with a conditional write
//! (`If-None-Match: *`) and renewed while its holder works (`If-Match`). A holder that cannot
//! renew before anyone could call its lease stale stops writing and fails (fencing), so two
//! writers never overlap; a cancelled CI job's lease goes stale and is taken over.
//!
//! Every holder writes its own random token, so a write whose answer was lost is resolved by
//! reading the lock back: the token says whether the write landed. A lock whose time cannot be
//! trusted (unreadable, or dated in the future by a clock running ahead) is judged by watching
//! it: unchanged for a whole lease, it is stale.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::config::MAX_LOCK_LEASE;
use crate::core::error::{Error, Result};
use crate::run::lease::{Clocks, Fence, Lost, Reading, refresh_for};
use crate::store::{Condition, ObjectStore, RemoteError};

/// How long a run that lost its lock may go on settling what it wrote (it writes nothing more).
const LOST_GRACE: Duration = Duration::from_secs(30);

/// How often a lock whose time cannot be trusted is read while it is watched.
const WATCH_POLL: Duration = Duration::from_secs(5);

/// What the lock object says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LockRecord {
    /// Who holds it: a CI run, or user@host and pid.
    pub(crate) holder: String,
    /// `deploy` or `rollback`.
    pub(crate) command: String,
    /// When it was taken (RFC 3339).
    pub(crate) started: String,
    /// When it was last refreshed (seconds since the epoch, by the holder's clock).
    pub(crate) refreshed: u64,
    /// The holder's random token: whose write a lock is (absent in locks of older versions).
    #[serde(default)]
    pub(crate) token: String,
    /// The holder's lease in seconds: it stops writing when it cannot renew within it, so a
    /// taker watches at least this long (0 in locks of older versions).
    #[serde(default)]
    pub(crate) lease_secs: u64,
    /// How many times the holder renewed it: every renewal changes the object, even when the
    /// holder's wall clock stands still, so a watcher never takes a live lock for a dead one.
    #[serde(default)]
    pub(crate) renewals: u64,
}

impl LockRecord {
    /// The lease its holder keeps, bounded: a record claiming more than any holder may keep
    /// (tampered, or garbled) is watched for the longest lease, not for decades.
    fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_secs).min(MAX_LOCK_LEASE)
    }
}

/// A token no other holder has: the standard library's per-process random hash keys, mixed
/// with the time and the process id.
#[must_use]
pub(crate) fn new_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let half = |salt: u64| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(salt);
        h.write_u128(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos(),
        );
        h.write_u32(std::process::id());
        h.finish()
    };
    format!("{:016x}{:016x}", half(1), half(2))
}

/// The verdict on a lock found in place: whether it may be taken, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Found {
    /// Fresh and held by someone else.
    Held { age: u64 },
    /// Not refreshed within the lease.
    Stale { age: u64 },
    /// Its time cannot be trusted (why): only watching it tells whether its holder lives.
    Untrusted { why: String },
}

/// Pure: what to make of the lock found `record` (None: unreadable) at `now`, under `lease`.
/// A time more than a refresh interval in the future comes from a clock running ahead.
#[must_use]
pub(crate) fn judge(record: Option<&LockRecord>, now: u64, lease: Duration) -> Found {
    match record {
        Some(r) if r.refreshed > now.saturating_add(refresh_for(lease).as_secs()) => {
            Found::Untrusted {
                why: format!(
                    "dated {}s in the future (its holder's clock runs ahead)",
                    r.refreshed - now
                ),
            }
        }
        Some(r) => {
            let age = now.saturating_sub(r.refreshed);
            if age > lease.as_secs() {
                Found::Stale { age }
            } else {
                Found::Held { age }
            }
        }
        None => Found::Untrusted {
            why: "unreadable".to_owned(),
        },
    }
}

/// A held lock; `release` it when done. A refresh task renews it meanwhile and reports through
/// `lost` when it no longer can.
pub(crate) struct Lock<S: ObjectStore> {
    store: Arc<S>,
    key: String,
    token: String,
    refresher: tokio::task::JoinHandle<()>,
    /// Turns true when the refresher gave up (the fence says why).
    lost: watch::Receiver<bool>,
    fence: Fence,
}

/// Whether a failed conditional write may have been applied after all (an answer lost, a
/// retried request that found its own first attempt): only reading the lock back tells.
fn ambiguous(e: &RemoteError) -> bool {
    e.is_precondition_failed() || e.is_retryable()
}

/// Takes the lock of `site` (`<state prefix>lock`) for `command`, or fails naming its holder.
/// A lock not refreshed for `policy.stale_after` is stale and taken over with a warning (at
/// once with `policy.force`); one whose time cannot be trusted is watched that long first; one
/// refreshed within its lease only with `policy.force_live`. The lease is timed by `clocks`.
pub(crate) async fn acquire<S: ObjectStore>(
    store: Arc<S>,
    site: &crate::config::Site,
    command: &str,
    policy: crate::config::LockPolicy,
    token: &str,
    clocks: Arc<dyn Clocks>,
) -> Result<Lock<S>> {
    let key = lock_key(site);
    let mut record = LockRecord {
        holder: crate::environment::holder(),
        command: command.to_owned(),
        started: String::new(),
        refreshed: 0,
        token: token.to_owned(),
        lease_secs: policy.stale_after.as_secs(),
        renewals: 0,
    };
    // Dated when written (a takeover may come after watching for a lease).
    let body = |record: &mut LockRecord, sent: &Reading| {
        record.started = humantime::format_rfc3339_seconds(sent.wall).to_string();
        record.refreshed = sent.wall_secs();
        serde_json::to_vec(&*record).unwrap_or_default()
    };
    let started = |etag, record, sent| {
        let fence = Fence::of_lease(&key, policy.stale_after, Arc::clone(&clocks), sent);
        start(Arc::clone(&store), key.clone(), etag, record, policy, fence)
    };
    let mut last_error = None;
    // A write whose answer was lost may be any of this call's: the lease counts from the first.
    let mut first_sent = None;
    // Rounds: a lock released or taken between our write and our read is simply tried again.
    for _ in 0..3 {
        // The lease counts from before the write: it may land any time after.
        let sent = clocks.now();
        let first = *first_sent.get_or_insert(sent);
        let created = write(
            &*store,
            &key,
            body(&mut record, &sent),
            Condition::Absent,
            &mut last_error,
        );
        if let Some(etag) = created.await? {
            return Ok(started(etag, record, sent));
        }
        let Some((bytes, etag)) = store.get_with_etag(&key).await? else {
            continue;
        };
        let found: Option<LockRecord> = serde_json::from_slice(&bytes).ok();
        if found.as_ref().is_some_and(|f| f.token == record.token) {
            // One of our writes landed; only its answer was lost.
            return Ok(started(etag, record, first));
        }
        let now = clocks.now().wall_secs();
        if !may_take(&*store, &key, &etag, found.as_ref(), site, policy, now).await? {
            continue;
        }
        // Take it only if it is still the lock we judged: two takers cannot both win.
        let sent = clocks.now();
        let taken = Condition::Matches(etag);
        let written = write(
            &*store,
            &key,
            body(&mut record, &sent),
            taken,
            &mut last_error,
        );
        if let Some(etag) = written.await? {
            return Ok(started(etag, record, sent));
        }
    }
    Err(match last_error {
        Some(e) if !e.is_precondition_failed() => e.into(),
        _ => Error::Locked {
            target: site.target(),
            holder: "another deploy that just took it".to_owned(),
            command: String::new(),
            age: 0,
        },
    })
}

fn lock_key(site: &crate::config::Site) -> String {
    format!("{}lock", site.state_prefix)
}

/// Deletes the site's lock if it holds `token`: for a run stopped while it was taking the lock,
/// which cannot know whether its write landed.
pub(crate) async fn release_if_ours<S: ObjectStore>(
    store: &S,
    site: &crate::config::Site,
    token: &str,
) {
    let key = lock_key(site);
    if let Ok(Some((bytes, _))) = store.get_with_etag(&key).await
        && serde_json::from_slice::<LockRecord>(&bytes).is_ok_and(|f| f.token == token)
        && let Err(e) = store.delete_key(&key).await
    {
        crate::run::github::warn(&format!("could not release the deploy lock `{key}`: {e}"));
    }
}

/// One conditional write of our lock record: its ETag when it landed; None when its outcome is
/// unknown or the condition failed (reading the lock back tells), the error kept in `last`.
async fn write<S: ObjectStore>(
    store: &S,
    key: &str,
    body: Vec<u8>,
    condition: Condition,
    last: &mut Option<RemoteError>,
) -> Result<Option<String>> {
    match store
        .put_bytes(key, body, "application/json", Some(condition))
        .await
    {
        Ok(out) => Ok(Some(out.etag.unwrap_or_default())),
        Err(e) if ambiguous(&e) => {
            *last = Some(e);
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Whether the lock found (its ETag `etag`) may be taken over: stale, forced, or watched
/// unchanged for a lease. False when it went away meanwhile (try again); an error naming its
/// holder when it is held.
async fn may_take<S: ObjectStore>(
    store: &S,
    key: &str,
    etag: &str,
    found: Option<&LockRecord>,
    site: &crate::config::Site,
    policy: crate::config::LockPolicy,
    now: u64,
) -> Result<bool> {
    let who = found.map_or_else(|| "an unknown holder".to_owned(), |f| f.holder.clone());
    let locked = |age| Error::Locked {
        target: site.target(),
        holder: who.clone(),
        command: found.map(|f| f.command.clone()).unwrap_or_default(),
        age,
    };
    // The holder fences itself within its own lease, which may be longer than ours: it is
    // judged, and watched, by the longer of the two.
    let watch_for = found
        .map(LockRecord::lease)
        .map_or(policy.stale_after, |theirs| theirs.max(policy.stale_after));
    match (judge(found, now, watch_for), policy.force) {
        (Found::Held { age }, _) if policy.force_live => {
            crate::run::github::warn(&format!(
                "--force-unlock-live: taking the lock from {who} (refreshed {age}s ago): if it \
                 still runs, it stops at its next refresh, and the site may mix files of both \
                 runs until one completes"
            ));
            Ok(true)
        }
        (Found::Held { age }, false) => Err(locked(age)),
        (Found::Held { age }, true) => Err(Error::LockLive {
            target: site.target(),
            holder: who.clone(),
            age,
            lease: watch_for.as_secs(),
        }),
        (Found::Untrusted { why }, true) if policy.force_live => {
            crate::run::github::warn(&format!(
                "--force-unlock-live: taking the lock of {who} ({why})"
            ));
            Ok(true)
        }
        (Found::Stale { age }, true) => {
            crate::run::github::warn(&format!(
                "--force-unlock: taking the lock from {who} (refreshed {age}s ago)"
            ));
            Ok(true)
        }
        // Its own clock says stale, but that clock may run behind: only watching it unchanged
        // for a whole lease (by this machine's clock) proves its holder stopped, for a holder
        // that cannot renew stops writing within its lease.
        (Found::Stale { age }, false) => {
            let why = format!("not refreshed for {age}s by its own clock");
            watch_then_take(store, key, etag, &who, &why, watch_for, || locked(0)).await
        }
        // Its holder may well be alive (a clock running ahead still refreshes): without
        // --force-unlock-live, even --force-unlock watches it first.
        (Found::Untrusted { why }, _) => {
            watch_then_take(store, key, etag, &who, &why, watch_for, || locked(0)).await
        }
    }
}

/// Watches the lock for a lease: unchanged, it is taken over (true); gone, the caller tries
/// again (false); renewed, its holder lives (the `locked` error).
async fn watch_then_take<S: ObjectStore>(
    store: &S,
    key: &str,
    etag: &str,
    who: &str,
    why: &str,
    lease: Duration,
    locked: impl FnOnce() -> Error,
) -> Result<bool> {
    crate::run::github::warn(&format!(
        "the lock of {who} is {why}: watching it for {}s, and taking it over if it does not \
         change (pass --force-unlock to take it now)",
        lease.as_secs()
    ));
    match watch_unchanged(store, key, etag, lease).await? {
        Watched::Unchanged => {
            crate::run::github::warn(&format!(
                "taking over the stale lock of {who}: unchanged for {}s (its job probably died)",
                lease.as_secs()
            ));
            Ok(true)
        }
        Watched::Gone => Ok(false),
        Watched::Changed => Err(locked()),
    }
}

/// What watching a lock showed.
enum Watched {
    /// The same object for the whole lease: its holder is gone.
    Unchanged,
    /// Deleted meanwhile.
    Gone,
    /// Renewed: its holder lives.
    Changed,
}

/// Reads the lock every `WATCH_POLL` for `lease`, by this process's own clock.
async fn watch_unchanged<S: ObjectStore>(
    store: &S,
    key: &str,
    etag: &str,
    lease: Duration,
) -> Result<Watched> {
    let until = Instant::now() + lease;
    while Instant::now() < until {
        tokio::time::sleep(WATCH_POLL.min(until - Instant::now())).await;
        match store.get_with_etag(key).await? {
            None => return Ok(Watched::Gone),
            Some((_, now)) if now != etag => return Ok(Watched::Changed),
            Some(_) => {}
        }
    }
    Ok(Watched::Unchanged)
}

/// Starts holding the lock `key` (its ETag `etag`, its record `record`) under `policy`'s
/// lease, whose writes pass `fence`: a task renews it every refresh interval and, when it
/// cannot in time, closes the fence and reports through `lost`.
fn start<S: ObjectStore>(
    store: Arc<S>,
    key: String,
    etag: String,
    record: LockRecord,
    policy: crate::config::LockPolicy,
    fence: Fence,
) -> Lock<S> {
    let token = record.token.clone();
    let etag = Arc::new(Mutex::new(etag));
    let (lost_tx, lost) = watch::channel(false);
    let refresher = {
        let (store, key, etag) = (Arc::clone(&store), key.clone(), Arc::clone(&etag));
        let fence = fence.clone();
        let refresh = refresh_for(policy.stale_after);
        tokio::spawn(async move {
            let mut record = record;
            while let Some(deadline) = fence.writes_end() {
                tokio::time::sleep(refresh).await;
                // A call that hangs is given up at the deadline too.
                let renewal = renew(&*store, &key, &etag, &mut record, deadline, &fence);
                let outcome = tokio::time::timeout_at(deadline, renewal)
                    .await
                    .unwrap_or_else(|_| {
                        Err(Lost::alone(
                            "it could not be renewed in time: a call did not answer",
                        ))
                    });
                match outcome {
                    Ok(sent) => fence.renewed(sent),
                    Err(lost) => {
                        fence.lose(lost);
                        let _ = lost_tx.send(true);
                        return;
                    }
                }
            }
        })
    };
    Lock {
        store,
        key,
        token,
        refresher,
        lost,
        fence,
    }
}

/// Why a lock is lost, from the error its fence gave.
fn lost_reason(e: &Error) -> Lost {
    match e {
        Error::LockLost {
            why, taken_over, ..
        } => Lost {
            why: why.clone(),
            taken_over: *taken_over,
        },
        other => Lost::alone(other.to_string()),
    }
}

/// The lock was overwritten or deleted (`why`) while this run held it: another may write.
fn overwritten(why: &str) -> Lost {
    Lost {
        why: why.to_owned(),
        taken_over: true,
    }
}

/// The holder `holder` took the lock over from a run still holding it.
fn taken_over(holder: &str) -> Lost {
    Lost {
        why: format!("{holder} took it over"),
        taken_over: true,
    }
}

/// Renews the lock, retrying until `deadline`: when the write that renewed it was sent (the new
/// lease counts from then), or why it could not.
async fn renew<S: ObjectStore>(
    store: &S,
    key: &str,
    etag: &Mutex<String>,
    record: &mut LockRecord,
    deadline: Instant,
    fence: &Fence,
) -> std::result::Result<Reading, Lost> {
    let mut wait = Duration::from_secs(1);
    // A write whose answer was lost may be any attempt: the lease counts from the first.
    let mut first_sent = None;
    loop {
        // A lease already run out (the machine slept) is not renewed: it is lost.
        fence.check().map_err(|e| lost_reason(&e))?;
        let Some(sent) = fence.now() else {
            return Err(Lost::alone("it is not held"));
        };
        let first_sent = *first_sent.get_or_insert(sent);
        record.refreshed = sent.wall_secs();
        record.renewals += 1;
        let body = serde_json::to_vec(&record).unwrap_or_default();
        let current = etag.lock().map(|e| e.clone()).unwrap_or_default();
        let failure = match store
            .put_bytes(
                key,
                body,
                "application/json",
                Some(Condition::Matches(current.clone())),
            )
            .await
        {
            Ok(out) => {
                if let (Ok(mut e), Some(new)) = (etag.lock(), out.etag) {
                    *e = new;
                }
                return Ok(sent);
            }
            Err(e) => e,
        };
        // Whose is the lock now? Ours (an earlier answer was lost), someone else's, or gone.
        match store.get_with_etag(key).await {
            Ok(Some((bytes, now))) => {
                let found: Option<LockRecord> = serde_json::from_slice(&bytes).ok();
                match found {
                    // Ours, and changed since the write we conditioned on: only we write our
                    // token, so that write landed and only its answer was lost.
                    Some(f) if f.token == record.token && now != current => {
                        if let Ok(mut e) = etag.lock() {
                            *e = now;
                        }
                        return Ok(first_sent);
                    }
                    Some(f) if f.token == record.token => {}
                    Some(f) => return Err(taken_over(&f.holder)),
                    None => return Err(overwritten("it was overwritten")),
                }
            }
            Ok(None) => return Err(overwritten("it was deleted")),
            Err(_) => {}
        }
        if Instant::now() + wait > deadline {
            return Err(Lost::alone(format!(
                "it could not be renewed in time: {failure}"
            )));
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(8));
    }
}

impl<S: ObjectStore> Lock<S> {
    /// What every write of the holder passes first.
    #[must_use]
    pub(crate) fn fence(&self) -> Fence {
        self.fence.clone()
    }

    /// Stops refreshing and deletes the lock, if it is still ours (its token says so: a
    /// renewal that landed at the last moment changed its ETag, not its owner).
    pub(crate) async fn release(self) {
        self.refresher.abort();
        let _ = self.refresher.await;
        match self.store.get_with_etag(&self.key).await {
            Ok(Some((bytes, _)))
                if serde_json::from_slice::<LockRecord>(&bytes)
                    .is_ok_and(|f| f.token == self.token) =>
            {
                if let Err(e) = self.store.delete_key(&self.key).await {
                    crate::run::github::warn(&format!(
                        "could not release the deploy lock `{}`: {e}",
                        self.key
                    ));
                }
            }
            Ok(_) => {}
            Err(e) => crate::run::github::warn(&format!(
                "could not release the deploy lock `{}`: {e}",
                self.key
            )),
        }
    }
}

/// Runs `work` holding `lock` (when there is one) and releases it whatever happens: success,
/// failure, Ctrl-C or SIGTERM (`interrupts`: they stop `work` where it is, the phases keep the
/// site consistent, and multipart uploads left open are aborted), or the lock lost (which stops
/// `work` before another holder may write).
pub(crate) async fn run_holding<S: ObjectStore, T>(
    lock: Option<Lock<S>>,
    mut interrupts: Interrupts,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let mut lost = lock.as_ref().map(|l| (l.lost.clone(), l.fence.clone()));
    let lock_lost = async {
        match &mut lost {
            Some((lost, fence)) => {
                if lost.wait_for(|lost| *lost).await.is_err() {
                    std::future::pending::<()>().await;
                }
                match fence.check() {
                    Err(e) => e,
                    Ok(()) => Error::Internal("the lock's refresher stopped".to_owned()),
                }
            }
            None => std::future::pending().await,
        }
    };
    let fence = lock.as_ref().map(Lock::fence);
    let mut work = std::pin::pin!(work);
    let result = tokio::select! {
        result = &mut work => result,
        () = interrupts.recv() => {
            if fence.as_ref().is_some_and(Fence::recording) {
                // Stopped now, nobody would know whether the release was recorded.
                crate::run::github::warn(
                    "interrupted while the release record was being written: finishing that \
                     write first",
                );
                work.await
            } else {
                Err(Error::Interrupted)
            }
        }
        e = lock_lost => {
            // The fence is closed, so the work writes nothing more: its next write fails, and
            // on its way out it invalidates what it had overwritten. It is given a while for
            // that.
            match tokio::time::timeout(LOST_GRACE, &mut work).await {
                Ok(Ok(done)) => Ok(done),
                Ok(Err(own)) => Err(own),
                Err(_) => Err(e),
            }
        }
    };
    if let Some(lock) = lock {
        if result.is_err() {
            lock.store.abort_open_uploads().await;
        }
        lock.release().await;
    }
    result
}

/// Completes when `signal` arrives; never when it could not be listened for.
#[cfg(unix)]
async fn wait_for(signal: Option<&mut tokio::signal::unix::Signal>) {
    match signal {
        Some(signal) => {
            signal.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}

/// Ctrl-C and (on Unix) SIGTERM, as CI runners send when a job is cancelled. Listening starts
/// when this is made, before the lock is taken, so a signal at any moment from then on is seen:
/// while the lock is being taken, and while the work runs.
pub(crate) struct Interrupts {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
    /// A test's stand-in for a signal.
    #[cfg(test)]
    sent: Option<tokio::sync::oneshot::Receiver<()>>,
}

impl Interrupts {
    /// Starts listening.
    #[must_use]
    pub(crate) fn listen() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Interrupts {
                interrupt: signal(SignalKind::interrupt()).ok(),
                terminate: signal(SignalKind::terminate()).ok(),
                #[cfg(test)]
                sent: None,
            }
        }
        #[cfg(not(unix))]
        {
            Interrupts {
                #[cfg(test)]
                sent: None,
            }
        }
    }

    /// Interrupts that a test sends (through the returned sender), not signals.
    #[cfg(test)]
    pub(crate) fn sent_by_test() -> (tokio::sync::oneshot::Sender<()>, Self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let mut interrupts = Interrupts::listen();
        interrupts.sent = Some(rx);
        (tx, interrupts)
    }

    /// Completes at the first signal.
    pub(crate) async fn recv(&mut self) {
        #[cfg(test)]
        if let Some(sent) = self.sent.as_mut() {
            let _ = sent.await;
            return;
        }
        #[cfg(unix)]
        {
            tokio::select! {
                () = wait_for(self.interrupt.as_mut()) => {}
                () = wait_for(self.terminate.as_mut()) => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LOCK_LEASE as LEASE;
    use crate::run::lease::{SystemClocks, TestClocks};

    /// The default lease's refresh interval.
    const REFRESH: Duration = Duration::from_secs(30);

    fn now_secs() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs()
    }

    #[test]
    fn leases_expire() {
        let rec = |refreshed| LockRecord {
            holder: "h".into(),
            command: "deploy".into(),
            started: String::new(),
            refreshed,
            token: String::new(),
            lease_secs: 0,
            renewals: 0,
        };
        let now = 10_000;
        let minute = Duration::from_secs(60);
        let cases = [
            (Some(rec(now)), LEASE, Found::Held { age: 0 }),
            (Some(rec(now - 120)), LEASE, Found::Held { age: 120 }),
            (Some(rec(now - 121)), LEASE, Found::Stale { age: 121 }),
            (Some(rec(now - 90)), minute, Found::Stale { age: 90 }),
            (Some(rec(now + 5)), LEASE, Found::Held { age: 0 }),
            (
                Some(rec(now + 31)),
                LEASE,
                Found::Untrusted {
                    why: "dated 31s in the future (its holder's clock runs ahead)".into(),
                },
            ),
            (
                None,
                minute,
                Found::Untrusted {
                    why: "unreadable".into(),
                },
            ),
        ];
        for (record, lease, want) in cases {
            assert_eq!(judge(record.as_ref(), now, lease), want, "{record:?}");
        }
    }

    fn record_at(holder: &str, refreshed: u64) -> Vec<u8> {
        serde_json::to_vec(&LockRecord {
            holder: holder.into(),
            command: "deploy".into(),
            started: String::new(),
            refreshed,
            token: format!("token of {holder}"),
            lease_secs: 0,
            renewals: 0,
        })
        .unwrap()
    }

    /// How a test takes the lock: waiting, `--force-unlock`, or `--force-unlock-live`.
    #[derive(Clone, Copy)]
    enum Taking {
        Waiting,
        Forced,
        ForcedLive,
    }

    /// Takes the lock of site `b` under the lease `LEASE` as a deploy, timed by `clocks`.
    async fn acquire_lease(
        store: &Arc<crate::store::memory::MemoryStore>,
        taking: Taking,
        clocks: Arc<dyn Clocks>,
    ) -> Result<Lock<crate::store::memory::MemoryStore>> {
        let policy = crate::config::LockPolicy {
            force: !matches!(taking, Taking::Waiting),
            force_live: matches!(taking, Taking::ForcedLive),
            stale_after: LEASE,
        };
        let site = crate::run::fixtures::site();
        acquire(
            Arc::clone(store),
            &site,
            "deploy",
            policy,
            &new_token(),
            clocks,
        )
        .await
    }

    fn take(store: &Arc<crate::store::memory::MemoryStore>, taking: Taking) -> Result<()> {
        crate::run::fixtures::block_on_paused(async {
            acquire_lease(store, taking, Arc::new(SystemClocks))
                .await?
                .release()
                .await;
            Ok(())
        })
    }

    const KEY: &str = ".shipfront/lock";

    #[test]
    fn a_stale_lock_is_taken_over_and_a_fresh_one_only_by_force() {
        use crate::store::memory::MemoryStore;
        let store = Arc::new(MemoryStore::new("b"));
        store.with_objects(|o| o.put(KEY, &record_at("ci-1", now_secs())));
        assert!(matches!(
            take(&store, Taking::Waiting),
            Err(Error::Locked { .. })
        ));
        // A lock refreshed within its lease may have a live holder: --force-unlock is not
        // enough.
        let err = take(&store, Taking::Forced).unwrap_err();
        assert!(
            matches!(&err, Error::LockLive { holder, .. } if holder == "ci-1"),
            "{err}"
        );
        assert!(err.to_string().contains("--force-unlock-live"), "{err}");
        take(&store, Taking::ForcedLive).expect("--force-unlock-live takes it");
        store.with_objects(|o| o.put(KEY, &record_at("ci-2", now_secs() - 121)));
        take(&store, Taking::Forced).expect("--force-unlock takes a stale lock at once");
        store.with_objects(|o| o.put(KEY, &record_at("ci-2", now_secs() - 121)));
        take(&store, Taking::Waiting).expect("a stale lock is taken over");
        assert!(store.with_objects(|o| o.current(KEY).is_none()), "released");
    }

    #[test]
    fn of_two_takers_of_a_stale_lock_only_one_wins() {
        use crate::store::memory::MemoryStore;
        let store = Arc::new(MemoryStore::new("b"));
        store.with_objects(|o| o.put(KEY, &record_at("dead", now_secs() - 500)));
        // Another deploy takes the stale lock between our read and our conditional write.
        store.before_nth("PutObject", 2, |o| {
            o.put(KEY, &record_at("the other", now_secs()));
        });
        let err = take(&store, Taking::Waiting).unwrap_err();
        assert!(
            matches!(&err, Error::Locked { holder, .. } if holder == "the other"),
            "{err}"
        );
    }

    #[test]
    fn a_lock_released_between_our_create_and_our_read_is_retried() {
        use crate::store::memory::MemoryStore;
        let store = Arc::new(MemoryStore::new("b"));
        store.with_objects(|o| o.put(KEY, &record_at("leaving", now_secs())));
        store.before_nth("GetObject", 1, |o| o.delete(KEY));
        take(&store, Taking::Waiting).expect("taken on the second round");
        let creates = store.count_calls("PutObject .shipfront/lock");
        assert_eq!(creates, 2);
    }

    /// Takes the lock and holds it while working for `work`, with time paused: a write
    /// every second, each through the fence, as the executor's are; how long until it stopped.
    fn hold(
        store: &Arc<crate::store::memory::MemoryStore>,
        work: Duration,
    ) -> (Result<()>, Duration) {
        crate::run::fixtures::block_on_paused(async {
            let started = Instant::now();
            let lock = acquire_lease(store, Taking::Waiting, Arc::new(SystemClocks)).await;
            let result = match lock {
                Ok(lock) => {
                    let fence = lock.fence();
                    run_holding(Some(lock), Interrupts::listen(), async move {
                        let until = Instant::now() + work;
                        while Instant::now() < until {
                            fence.check()?;
                            tokio::time::sleep(Duration::from_secs(1).min(work)).await;
                        }
                        Ok(())
                    })
                    .await
                }
                Err(e) => Err(e),
            };
            (result, started.elapsed())
        })
    }

    fn unavailable() -> crate::store::RemoteFailure {
        crate::store::RemoteFailure::Other {
            message: "SlowDown (HTTP 503)".into(),
            retryable: true,
        }
    }

    #[test]
    fn a_lost_answer_to_the_first_lock_write_is_resolved_by_reading_the_lock_back() {
        let store = Arc::new(crate::store::memory::MemoryStore::new("b"));
        store.lose_answer_nth(1);
        let (result, _) = hold(&store, Duration::from_secs(1));
        result.expect("the lock is ours: its token says so");
        assert!(store.with_objects(|o| o.current(KEY).is_none()), "released");
    }

    #[test]
    fn failed_refreshes_are_retried_and_the_work_goes_on() {
        let store = Arc::new(crate::store::memory::MemoryStore::new("b"));
        // The first refresh fails twice, then gets through.
        store.fail_nth("PutObject", 2, unavailable());
        store.fail_nth("PutObject", 3, unavailable());
        store.lose_answer_nth(5);
        let (result, elapsed) = hold(&store, Duration::from_secs(200));
        result.expect("the lease was kept");
        assert!(elapsed >= Duration::from_secs(200));
    }

    #[test]
    fn a_lease_that_cannot_be_renewed_stops_the_work_before_anyone_may_call_it_stale() {
        let store = Arc::new(crate::store::memory::MemoryStore::new("b"));
        for nth in 2..200 {
            store.fail_nth("PutObject", nth, unavailable());
        }
        let (result, elapsed) = hold(&store, Duration::from_secs(3600));
        let err = result.unwrap_err();
        assert!(
            matches!(&err, Error::LockLost { why, .. } if why.contains("could not be renewed")),
            "{err}"
        );
        assert_eq!(err.exit_code(), 1);
        assert!(
            elapsed <= LEASE - REFRESH,
            "stopped after {elapsed:?}, a refresh interval before the lease could be stale"
        );
    }

    #[test]
    fn a_lock_taken_over_by_another_stops_the_work_at_the_next_refresh() {
        let store = Arc::new(crate::store::memory::MemoryStore::new("b"));
        store.before_nth("PutObject", 2, |o| {
            o.put(KEY, &record_at("the other", now_secs()));
        });
        let (result, elapsed) = hold(&store, Duration::from_secs(3600));
        let err = result.unwrap_err();
        assert!(err.to_string().contains("the other took it over"), "{err}");
        // Both wrote until then: the message does not claim the site is consistent.
        assert!(
            matches!(
                &err,
                Error::LockLost {
                    taken_over: true,
                    ..
                }
            ) && err.to_string().contains("may mix files of both runs"),
            "{err}"
        );
        assert!(elapsed <= REFRESH + Duration::from_secs(1), "{elapsed:?}");
        assert!(
            store.with_objects(|o| o.current(KEY).is_some()),
            "the other's lock is left alone"
        );
    }

    #[test]
    fn a_lock_dated_in_the_future_is_watched_for_a_lease_then_taken() {
        let store = Arc::new(crate::store::memory::MemoryStore::new("b"));
        store.with_objects(|o| o.put(KEY, &record_at("fast clock", now_secs() + 86_400)));
        let (result, elapsed) = hold(&store, Duration::from_secs(1));
        result.expect("taken after watching it unchanged");
        assert!(elapsed >= LEASE, "{elapsed:?}");

        // Renewed while watched: its holder lives.
        let store = Arc::new(crate::store::memory::MemoryStore::new("b"));
        store.with_objects(|o| o.put(KEY, b"not json"));
        store.before_nth("GetObject", 3, |o| {
            o.put(KEY, b"renewed, still not json");
        });
        let (result, _) = hold(&store, Duration::from_secs(1));
        assert!(matches!(result, Err(Error::Locked { .. })), "{result:?}");
    }

    #[test]
    fn a_holder_with_a_longer_lease_is_judged_and_watched_by_its_lease() {
        let with_lease = |refreshed_ago: u64| {
            let store = Arc::new(crate::store::memory::MemoryStore::new("b"));
            let record = record_at("slow", now_secs() - refreshed_ago);
            let mut long = serde_json::from_slice::<LockRecord>(&record).unwrap();
            long.lease_secs = 600;
            store.with_objects(|o| o.put(KEY, &serde_json::to_vec(&long).unwrap()));
            store
        };
        // Refreshed 500s ago, within its own lease of 600s (though past ours): held, even for
        // --force-unlock.
        let store = with_lease(500);
        let (result, _) = hold(&store, Duration::from_secs(1));
        assert!(matches!(result, Err(Error::Locked { .. })), "{result:?}");
        let err = take(&store, Taking::Forced).unwrap_err();
        assert!(
            err.to_string().contains("within its lease of 600s"),
            "{err}"
        );
        // Past its lease: watched for it, then taken.
        let store = with_lease(700);
        let (result, elapsed) = hold(&store, Duration::from_secs(1));
        result.expect("taken after its lease");
        assert!(elapsed >= Duration::from_secs(600), "{elapsed:?}");
    }

    /// A lock whose time cannot be trusted may have a live holder: --force-unlock watches it
    /// too; only --force-unlock-live takes it at once.
    #[test]
    fn a_lock_whose_time_cannot_be_trusted_is_taken_at_once_only_by_force_live() {
        let future = || {
            let store = Arc::new(crate::store::memory::MemoryStore::new("b"));
            store.with_objects(|o| o.put(KEY, &record_at("ahead", now_secs() + 3600)));
            store
        };
        let elapsed = |taking| {
            crate::run::fixtures::block_on_paused(async {
                let started = Instant::now();
                let store = future();
                let lock = acquire_lease(&store, taking, Arc::new(SystemClocks)).await;
                lock.expect("taken").release().await;
                started.elapsed()
            })
        };
        assert!(elapsed(Taking::Forced) >= LEASE, "watched first");
        assert!(
            elapsed(Taking::ForcedLive) < Duration::from_secs(1),
            "at once"
        );
    }

    #[test]
    fn a_renewal_that_hangs_is_given_up_at_the_deadline() {
        let store = Arc::new(crate::store::memory::MemoryStore::new("b"));
        // The first renewal's write never answers, as on a dead connection.
        store.hang_nth("PutObject", 2);
        let (result, elapsed) = hold(&store, Duration::from_secs(3600));
        assert!(matches!(result, Err(Error::LockLost { .. })), "{result:?}");
        // The work checks the fence every second: it stops within one of the lease's end.
        assert!(
            elapsed <= LEASE - REFRESH + Duration::from_secs(1),
            "{elapsed:?}"
        );
    }

    /// Takes the lock timed by `clocks` and holds it while `work` runs, with time paused;
    /// the lock object after every write to it.
    fn hold_with(
        store: &Arc<crate::store::memory::MemoryStore>,
        clocks: Arc<dyn Clocks>,
        lease: Duration,
        work: impl AsyncFnOnce(Fence) -> Result<()>,
    ) -> Result<()> {
        let policy = crate::config::LockPolicy {
            force: false,
            force_live: false,
            stale_after: lease,
        };
        crate::run::fixtures::block_on_paused(async {
            let site = crate::run::fixtures::site();
            let lock = acquire(Arc::clone(store), &site, "deploy", policy, "t", clocks).await?;
            let fence = lock.fence();
            run_holding(Some(lock), Interrupts::listen(), work(fence)).await
        })
    }

    /// The laptop sleeps through its refreshes while it holds the lock (another deploy may take
    /// it meanwhile). Renewed twice before, it is not renewed after waking (the refresher finds
    /// the lease run out first), and the holder writes nothing more: it stops at its next
    /// write, naming the lease.
    #[test]
    fn a_holder_woken_after_its_lease_writes_nothing_more() {
        let store = Arc::new(crate::store::memory::MemoryStore::new("b"));
        let clocks = TestClocks::new();
        let sleeper = Arc::clone(&clocks);
        let result = hold_with(&store, clocks.clone(), LEASE, async |fence| {
            // A page every 25s: at 0, 25 and 50s; renewals at 30 and 60s.
            for page in 0..100 {
                if page == 3 {
                    // At 75s the machine sleeps half an hour; it wakes, and works 20s more
                    // (past the refresher's turn at 90s) before its next write.
                    sleeper.suspend(Duration::from_secs(30 * 60));
                    tokio::time::sleep(Duration::from_secs(20)).await;
                }
                fence.check()?;
                let key = format!("page-{page}.html");
                store.put_bytes(&key, vec![1], "text/html", None).await?;
                tokio::time::sleep(Duration::from_secs(25)).await;
            }
            Ok(())
        });
        let err = result.unwrap_err();
        assert!(
            matches!(&err, Error::LockLost { why, taken_over: false, .. } if why.contains("lease ran out")),
            "{err}"
        );
        let pages = store.count_calls("PutObject page-");
        assert_eq!(pages, 3, "only the pages written before the sleep");
        assert_eq!(
            store.count_calls("PutObject .shipfront/lock"),
            3,
            "taken, renewed at 30s and 60s, never after the sleep"
        );
    }

    /// A holder that finds its lock taken over stops writing, but its work goes on long enough
    /// to settle what it wrote (the invalidation of what it overwrote), as the executor's does.
    #[test]
    fn a_lost_lock_lets_the_work_settle_what_it_wrote() {
        let store = Arc::new(crate::store::memory::MemoryStore::new("b"));
        store.before_nth("PutObject", 2, |o| {
            o.put(KEY, &record_at("the other", now_secs()));
        });
        let result = hold_with(&store, Arc::new(SystemClocks), LEASE, async |fence| {
            loop {
                if let Err(e) = fence.check() {
                    // What the executor does on its way out: nothing the fence guards.
                    store
                        .put_bytes("settled", vec![1], "text/plain", None)
                        .await?;
                    return Err(e);
                }
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        });
        let err = result.unwrap_err();
        assert!(err.to_string().contains("the other took it over"), "{err}");
        assert!(
            store.with_objects(|o| o.current("settled").is_some()),
            "settled"
        );
    }

    /// Every refresh changes the lock object, even when the holder's wall clock stands still, so
    /// a watcher never sees a live lock "unchanged".
    #[test]
    fn every_refresh_changes_the_lock_even_with_a_frozen_wall_clock() {
        let store = Arc::new(crate::store::memory::MemoryStore::new("b"));
        let clocks = TestClocks::new();
        clocks.freeze_wall();
        let seen = Arc::new(Mutex::new(Vec::new()));
        for nth in 1..=5 {
            let seen = Arc::clone(&seen);
            // Before the next write: the lock as the one before left it.
            store.before_nth("PutObject", nth + 1, move |o| {
                let etag = o.current(KEY).map(|v| v.etag.clone());
                seen.lock().unwrap().push(etag);
            });
        }
        hold_with(&store, clocks, LEASE, async |_| {
            tokio::time::sleep(REFRESH * 5 + Duration::from_secs(1)).await;
            Ok(())
        })
        .expect("held throughout");
        let seen = seen.lock().unwrap().clone();
        let distinct: std::collections::BTreeSet<_> = seen.iter().collect();
        assert_eq!(seen.len(), 5, "{seen:?}");
        assert_eq!(distinct.len(), 5, "every refresh a new object: {seen:?}");
    }

    /// The shortest lease the config allows holds a deploy of any length, with no fault.
    #[test]
    fn the_shortest_lease_holds_a_long_deploy() {
        let store = Arc::new(crate::store::memory::MemoryStore::new("b"));
        let result = hold_with(&store, Arc::new(SystemClocks), MINUTE, async |fence| {
            for _ in 0..30 {
                tokio::time::sleep(Duration::from_secs(10)).await;
                fence.check()?;
            }
            Ok(())
        });
        result.expect("five minutes under a lease of one");
        let refreshes = store.count_calls("PutObject .shipfront/lock") - 1;
        // Every 15s for 300s (the last one may race the end of the work).
        assert!((19..=20).contains(&refreshes), "{refreshes} refreshes");
    }

    /// A lock claiming a lease of centuries is watched for the longest lease allowed, not for
    /// its claim (which used to overflow the clock and panic).
    #[test]
    fn a_lock_claiming_a_huge_lease_is_watched_for_the_longest_allowed() {
        let store = Arc::new(crate::store::memory::MemoryStore::new("b"));
        let mut huge =
            serde_json::from_slice::<LockRecord>(&record_at("odd", now_secs() - 4000)).unwrap();
        huge.lease_secs = u64::MAX;
        store.with_objects(|o| o.put(KEY, &serde_json::to_vec(&huge).unwrap()));
        let (result, elapsed) = hold(&store, Duration::from_secs(1));
        result.expect("taken after the longest lease");
        assert!(
            elapsed >= MAX_LOCK_LEASE && elapsed < MAX_LOCK_LEASE + WATCH_POLL * 2,
            "{elapsed:?}"
        );
    }

    /// Runs `work` holding the lock while the test interrupts it at once, as SIGTERM would;
    /// `recording`: the release record's write is in flight then.
    fn interrupted(store: &Arc<crate::store::memory::MemoryStore>, recording: bool) -> Result<()> {
        crate::run::fixtures::block_on_paused(async {
            let clocks = Arc::new(SystemClocks);
            let lock = acquire_lease(store, Taking::Waiting, clocks).await?;
            let fence = lock.fence();
            let (interrupt, interrupts) = Interrupts::sent_by_test();
            let store = Arc::clone(store);
            run_holding(Some(lock), interrupts, async move {
                let _recording = recording.then(|| fence.start_recording());
                let _ = interrupt.send(());
                // The record's write, in flight.
                tokio::time::sleep(Duration::from_secs(2)).await;
                store
                    .put_bytes("record.json", vec![1], "application/json", None)
                    .await?;
                Ok(())
            })
            .await
        })
    }

    /// SIGTERM while the record is written: that write decides whether the release happened,
    /// so it completes, and the run says it completed instead of "run the command again".
    #[test]
    fn an_interrupt_while_the_record_is_written_waits_for_that_write() {
        let store = Arc::new(crate::store::memory::MemoryStore::new("b"));
        interrupted(&store, true).expect("recorded: the run completed");
        assert!(store.with_objects(|o| o.current("record.json").is_some()));
        assert!(store.with_objects(|o| o.current(KEY).is_none()), "released");

        // Anywhere else, the interrupt stops the work where it is.
        let store = Arc::new(crate::store::memory::MemoryStore::new("b"));
        let err = interrupted(&store, false).unwrap_err();
        assert!(matches!(err, Error::Interrupted), "{err}");
        assert!(store.with_objects(|o| o.current("record.json").is_none()));
    }

    /// A lease of a minute, as `lock_stale_after = "1m"` sets.
    const MINUTE: Duration = Duration::from_secs(60);

    /// Takes the lock with token `token` as a deploy under a lease of `lease` does, with time
    /// paused, and releases it: the outcome, how long taking it took, and the lock object as
    /// it was right after.
    fn take_under(
        store: &Arc<crate::store::memory::MemoryStore>,
        lease: Duration,
        token: &str,
    ) -> (Result<()>, Duration, Option<LockRecord>) {
        let policy = crate::config::LockPolicy {
            force: false,
            force_live: false,
            stale_after: lease,
        };
        crate::run::fixtures::block_on_paused(async {
            let started = Instant::now();
            let site = crate::run::fixtures::site();
            let clocks = Arc::new(SystemClocks);
            let lock = acquire(Arc::clone(store), &site, "deploy", policy, token, clocks).await;
            let elapsed = started.elapsed();
            let after = store.with_objects(|o| {
                o.current(KEY)
                    .and_then(|v| serde_json::from_slice(&v.body).ok())
            });
            match lock {
                Ok(lock) => {
                    lock.release().await;
                    (Ok(()), elapsed, after)
                }
                Err(e) => (Err(e), elapsed, after),
            }
        })
    }

    /// Names the test that a child process of this test binary runs (`stderr_of`).
    const CHILD: &str = "SHIPFRONT_LOCK_TEST_CHILD";

    /// What the test `name` of this module writes to stderr while it runs `work`. Warnings
    /// (`run::github::warn`) go straight to the process's stderr, which the test harness does
    /// not capture, so the test runs again alone in a child process of this test binary, which
    /// runs `work` (None there), and the parent reads the child's stderr.
    fn stderr_of(name: &str, work: impl FnOnce()) -> Option<String> {
        if std::env::var_os(CHILD).is_some_and(|child| child == name) {
            work();
            return None;
        }
        let module = module_path!()
            .split_once("::")
            .map_or(module_path!(), |(_, path)| path);
        let out = std::process::Command::new(std::env::current_exe().expect("the test binary"))
            .args([format!("{module}::{name}").as_str(), "--exact"])
            .env(CHILD, name)
            // Warnings as a terminal shows them, not as workflow commands.
            .env_remove("GITHUB_ACTIONS")
            .output()
            .expect("run the test binary");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "{stdout}{stderr}"
        );
        Some(stderr)
    }

    /// A lock stale by its own clock (a holder of an older version, so no lease in it), under a
    /// lease of a minute: that clock may run behind, so the lock is watched for the minute by
    /// ours and, unchanged, taken over, each step announced naming its holder and the time.
    #[test]
    fn a_stale_lock_is_watched_for_the_lease_then_taken_over_naming_its_holder() {
        let name = "a_stale_lock_is_watched_for_the_lease_then_taken_over_naming_its_holder";
        let Some(stderr) = stderr_of(name, || {
            let store = Arc::new(crate::store::memory::MemoryStore::new("b"));
            store.with_objects(|o| o.put(KEY, &record_at("slow-job", now_secs() - 90)));
            let token = new_token();
            let (result, elapsed, taken) = take_under(&store, MINUTE, &token);
            result.expect("taken over after watching it unchanged");
            assert!(
                elapsed >= MINUTE && elapsed < MINUTE + WATCH_POLL,
                "watched for {elapsed:?}, not the minute"
            );
            let taken = taken.expect("the lock, ours");
            assert_eq!(
                (taken.token.as_str(), taken.lease_secs),
                (token.as_str(), 60),
                "{taken:?}"
            );
            assert!(store.with_objects(|o| o.current(KEY).is_none()), "released");
        }) else {
            return;
        };
        let watching = stderr.find("by its own clock: watching it for 60s");
        let taking = stderr.find("taking over the stale lock of slow-job: unchanged for 60s");
        assert!(
            stderr.contains("the lock of slow-job is not refreshed for") && watching.is_some(),
            "{stderr}"
        );
        assert!(taking.is_some() && watching < taking, "{stderr}");
    }

    /// The same lock renewed while it is watched, by a holder whose clock runs behind (so it
    /// still looks stale): its holder lives, so it is not taken over but named, and left alone.
    #[test]
    fn a_stale_lock_refreshed_while_it_is_watched_is_not_taken_over() {
        let store = Arc::new(crate::store::memory::MemoryStore::new("b"));
        store.with_objects(|o| o.put(KEY, &record_at("slow-job", now_secs() - 90)));
        // Read once when found, then every WATCH_POLL: renewed before the sixth look, 30s in.
        let renewed = record_at("slow-job", now_secs() - 60);
        let written = renewed.clone();
        store.before_nth("GetObject", 7, move |o| {
            o.put(KEY, &written);
        });
        let (result, elapsed, _) = take_under(&store, MINUTE, &new_token());
        let err = result.unwrap_err();
        assert!(
            matches!(&err, Error::Locked { holder, .. } if holder == "slow-job"),
            "{err}"
        );
        assert!(
            elapsed < MINUTE,
            "given up once renewed, not at {elapsed:?}"
        );
        assert_eq!(
            store.with_objects(|o| o.current(KEY).map(|v| v.body.clone())),
            Some(renewed),
            "left as its holder renewed it"
        );
        let writes = store.count_calls("PutObject");
        assert_eq!(writes, 1, "none but the create that found it");
    }
}
