//! The deploy lock: one deploy or rollback at a time per site, so two CI jobs can never leave a
//! mix of their trees. It is a lease, `<state prefix>lock`, created with a conditional write
//! (`If-None-Match: *`), refreshed while its holder works, and stale once not refreshed for
//! its lease (`config::LOCK_LEASE` by default): a cancelled CI job must not block deploys for ever.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::store::{Condition, ObjectStore};

use crate::config::LOCK_REFRESH as REFRESH;

/// What the lock object says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockRecord {
    /// Who holds it: a CI run, or user@host and pid.
    pub holder: String,
    /// `deploy` or `rollback`.
    pub command: String,
    /// When it was taken (RFC 3339).
    pub started: String,
    /// When it was last refreshed (seconds since the epoch).
    pub refreshed: u64,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// The verdict on a lock found in place: whether it may be taken, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// Fresh and held by someone else.
    Held { age: u64 },
    /// Not refreshed within the lease.
    Stale { age: u64 },
}

/// Pure: is the lock found `record` (None: unreadable) stale at `now`, under `lease`?
#[must_use]
pub fn judge(record: Option<&LockRecord>, now: u64, lease: Duration) -> Found {
    match record {
        Some(r) => {
            let age = now.saturating_sub(r.refreshed);
            if age > lease.as_secs() {
                Found::Stale { age }
            } else {
                Found::Held { age }
            }
        }
        // An unreadable lock is nobody's: only a stale one is taken silently, so treat it as
        // held and let --force-unlock decide.
        None => Found::Held { age: 0 },
    }
}

/// A held lock; `release` it when done (a refresh task keeps it fresh meanwhile).
pub struct Lock<S: ObjectStore> {
    store: Arc<S>,
    key: String,
    etag: Arc<Mutex<String>>,
    refresher: tokio::task::JoinHandle<()>,
}

/// Takes the lock of `site` (`<state prefix>lock`) for `command`, or fails naming its holder.
/// `policy.force` takes any lock at once; one not refreshed for `policy.stale_after` is stale
/// and taken over with a warning.
pub async fn acquire<S: ObjectStore>(
    store: Arc<S>,
    site: &crate::config::Site,
    command: &str,
    policy: crate::config::LockPolicy,
) -> Result<Lock<S>> {
    let (force, lease) = (policy.force, policy.stale_after);
    let key = format!("{}lock", site.state_prefix);
    let record = LockRecord {
        holder: crate::environment::holder(),
        command: command.to_owned(),
        started: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        refreshed: now_secs(),
    };
    let body = || serde_json::to_vec(&record).unwrap_or_default();
    // Two rounds: a lock released between our failed create and our read is simply retried.
    for _ in 0..2 {
        match store
            .put_bytes(&key, body(), "application/json", Some(Condition::Absent))
            .await
        {
            Ok(out) => return Ok(start(store, key, out.etag.unwrap_or_default(), record)),
            Err(e) if e.is_precondition_failed() => {}
            Err(e) => return Err(e.into()),
        }
        let Some((bytes, etag)) = store.get_with_etag(&key).await? else {
            continue;
        };
        let found: Option<LockRecord> = serde_json::from_slice(&bytes).ok();
        let who = found
            .as_ref()
            .map_or_else(|| "an unknown holder".to_owned(), |f| f.holder.clone());
        match (judge(found.as_ref(), now_secs(), lease), force) {
            (Found::Held { age }, false) => {
                return Err(Error::Locked {
                    target: site.target(),
                    holder: who,
                    command: found.map(|f| f.command).unwrap_or_default(),
                    age,
                });
            }
            (Found::Held { age }, true) => {
                crate::github::warn(&format!(
                    "--force-unlock: taking the lock from {who} (refreshed {age}s ago)"
                ));
            }
            (Found::Stale { age }, _) => {
                crate::github::warn(&format!(
                    "taking over a stale lock of {who}, not refreshed for {age}s (its \
                     job probably died)"
                ));
            }
        }
        // Take it only if it is still the lock we judged: two takers cannot both win.
        match store
            .put_bytes(
                &key,
                body(),
                "application/json",
                Some(Condition::Matches(etag)),
            )
            .await
        {
            Ok(out) => return Ok(start(store, key, out.etag.unwrap_or_default(), record)),
            Err(e) if e.is_precondition_failed() => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Locked {
        target: site.target(),
        holder: "another deploy that just took it".to_owned(),
        command: String::new(),
        age: 0,
    })
}

fn start<S: ObjectStore>(store: Arc<S>, key: String, etag: String, record: LockRecord) -> Lock<S> {
    let etag = Arc::new(Mutex::new(etag));
    let refresher = {
        let (store, key, etag) = (Arc::clone(&store), key.clone(), Arc::clone(&etag));
        tokio::spawn(async move {
            let mut record = record;
            loop {
                tokio::time::sleep(REFRESH).await;
                record.refreshed = now_secs();
                let current = etag.lock().map(|e| e.clone()).unwrap_or_default();
                let body = serde_json::to_vec(&record).unwrap_or_default();
                match store
                    .put_bytes(
                        &key,
                        body,
                        "application/json",
                        Some(Condition::Matches(current)),
                    )
                    .await
                {
                    Ok(out) => {
                        if let (Ok(mut e), Some(new)) = (etag.lock(), out.etag) {
                            *e = new;
                        }
                    }
                    Err(e) => {
                        crate::github::warn(&format!("could not refresh the deploy lock: {e}"));
                        return;
                    }
                }
            }
        })
    };
    Lock {
        store,
        key,
        etag,
        refresher,
    }
}

impl<S: ObjectStore> Lock<S> {
    /// Stops refreshing and deletes the lock, if it is still ours.
    pub async fn release(self) {
        self.refresher.abort();
        let ours = self.etag.lock().map(|e| e.clone()).unwrap_or_default();
        match self.store.get_with_etag(&self.key).await {
            Ok(Some((_, etag))) if etag == ours => {
                if let Err(e) = self.store.delete_key(&self.key).await {
                    crate::github::warn(&format!(
                        "could not release the deploy lock `{}`: {e}",
                        self.key
                    ));
                }
            }
            Ok(_) => {}
            Err(e) => crate::github::warn(&format!(
                "could not release the deploy lock `{}`: {e}",
                self.key
            )),
        }
    }
}

/// Runs `work` holding `lock` (when there is one) and releases it whatever happens: success,
/// failure, or Ctrl-C (which stops `work` where it is; the phases keep the site consistent).
pub async fn run_holding<S: ObjectStore, T>(
    lock: Option<Lock<S>>,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let result = tokio::select! {
        result = work => result,
        _ = tokio::signal::ctrl_c() => Err(Error::Interrupted),
    };
    if let Some(lock) = lock {
        lock.release().await;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LOCK_LEASE as LEASE;

    #[test]
    fn leases_expire() {
        let rec = |refreshed| LockRecord {
            holder: "h".into(),
            command: "deploy".into(),
            started: String::new(),
            refreshed,
        };
        let now = 10_000;
        let minute = Duration::from_secs(60);
        let cases = [
            (Some(rec(now)), LEASE, Found::Held { age: 0 }),
            (Some(rec(now - 120)), LEASE, Found::Held { age: 120 }),
            (Some(rec(now - 121)), LEASE, Found::Stale { age: 121 }),
            (Some(rec(now - 90)), minute, Found::Stale { age: 90 }),
            (Some(rec(now + 5)), LEASE, Found::Held { age: 0 }),
            (None, minute, Found::Held { age: 0 }),
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
        })
        .unwrap()
    }

    fn take(store: &Arc<crate::memory::MemoryStore>, force: bool) -> Result<()> {
        let policy = crate::config::LockPolicy {
            force,
            stale_after: LEASE,
        };
        crate::memory::block_on(async {
            let lock = acquire(Arc::clone(store), &crate::memory::site(), "deploy", policy).await?;
            lock.release().await;
            Ok(())
        })
    }

    const KEY: &str = ".shipfront/lock";

    #[test]
    fn a_stale_lock_is_taken_over_and_a_fresh_one_only_by_force() {
        use crate::memory::MemoryStore;
        let store = Arc::new(MemoryStore::new("b"));
        store.with_objects(|o| o.put(KEY, &record_at("ci-1", now_secs())));
        assert!(matches!(take(&store, false), Err(Error::Locked { .. })));
        take(&store, true).expect("--force-unlock takes it");
        store.with_objects(|o| o.put(KEY, &record_at("ci-2", now_secs() - 121)));
        take(&store, false).expect("a stale lock is taken over");
        assert!(store.with_objects(|o| o.current(KEY).is_none()), "released");
    }

    #[test]
    fn of_two_takers_of_a_stale_lock_only_one_wins() {
        use crate::memory::MemoryStore;
        let store = Arc::new(MemoryStore::new("b"));
        store.with_objects(|o| o.put(KEY, &record_at("dead", now_secs() - 500)));
        // Another deploy takes the stale lock between our read and our conditional write.
        store.before_nth("PutObject", 2, |o| {
            o.put(KEY, &record_at("the other", now_secs()));
        });
        let err = take(&store, false).unwrap_err();
        assert!(
            matches!(&err, Error::Locked { holder, .. } if holder == "the other"),
            "{err}"
        );
    }

    #[test]
    fn a_lock_released_between_our_create_and_our_read_is_retried() {
        use crate::memory::MemoryStore;
        let store = Arc::new(MemoryStore::new("b"));
        store.with_objects(|o| o.put(KEY, &record_at("leaving", now_secs())));
        store.before_nth("GetObject", 1, |o| o.delete(KEY));
        take(&store, false).expect("taken on the second round");
        let creates = store
            .calls()
            .iter()
            .filter(|c| *c == "PutObject .shipfront/lock")
            .count();
        assert_eq!(creates, 2);
    }
}
