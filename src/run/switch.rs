//! Switching an atomic site's live release: the new release's exception keys, then the
//! pointer, written to the KeyValueStore. Every write is conditional on the ETag the last one
//! left, and the pointer must still be the one the plan was made against: a concurrent switch
//! (another deploy, a rollback) is detected and never overwritten; another writer's unrelated
//! keys (a preview) only cost a retry.

use crate::core::atomic::{LIVE_KEY, Pointer};
use crate::core::error::{Error, Result};
use crate::store::{KVS_BATCH, KeyValueStore, RemoteError};

/// How many times a write that met another writer's unrelated change is tried again.
const RETRIES: usize = 3;

/// What a switch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Switched {
    /// The store's ETag after the switch.
    pub etag: String,
    /// `UpdateKeys` calls made, the pointer's included.
    pub writes: usize,
}

/// Points `live` at `pointer`, after writing `exception_keys`, provided `live` still holds
/// `expected` (the value the plan was made against; None: no release is live yet).
///
/// # Errors
/// `SwitchRaced` when `live` changed meanwhile; the store's errors otherwise.
pub async fn switch<K: KeyValueStore>(
    kvs: &K,
    pointer: &Pointer,
    exception_keys: &[String],
    expected: Option<&str>,
) -> Result<Switched> {
    let guard = Guard::Live(expected);
    put_pointer(kvs, LIVE_KEY, pointer, exception_keys, guard).await
}

/// Points preview `name`'s key at `pointer`, after writing `exception_keys`, whatever `live`
/// holds: `live` is not written.
///
/// # Errors
/// The store's, once the retries are spent.
pub async fn point_preview<K: KeyValueStore>(
    kvs: &K,
    name: &str,
    pointer: &Pointer,
    exception_keys: &[String],
) -> Result<Switched> {
    let key = crate::core::preview::key(name);
    put_pointer(kvs, &key, pointer, exception_keys, Guard::Any).await
}

/// What a write must still find when the store changed under it.
#[derive(Debug, Clone, Copy)]
enum Guard<'a> {
    /// `live` holding this value (None: absent): a switch of `live`.
    Live(Option<&'a str>),
    /// Anything: a preview's key, which no other writer's change invalidates.
    Any,
}

/// Writes `exception_keys`, then `key` = `pointer`, each write conditional on the ETag the last
/// one left and tried again as `guard` allows.
async fn put_pointer<K: KeyValueStore>(
    kvs: &K,
    key: &str,
    pointer: &Pointer,
    exception_keys: &[String],
    guard: Guard<'_>,
) -> Result<Switched> {
    let mut etag = current(kvs, guard).await?;
    let mut writes = 0;
    for batch in exception_keys.chunks(KVS_BATCH) {
        let puts: Vec<(String, String)> = batch
            .iter()
            .map(|key| (key.clone(), "1".to_owned()))
            .collect();
        etag = write(kvs, puts, etag, guard, &mut writes).await?;
    }
    let puts = vec![(key.to_owned(), pointer.value())];
    etag = write(kvs, puts, etag, guard, &mut writes).await?;
    Ok(Switched { etag, writes })
}

/// Deletes `keys` (a pruned release's exception keys) in batches, each conditional on the
/// store's ETag and tried again when another writer came first. `live` is never among them.
///
/// # Errors
/// The store's, once the retries are spent.
pub async fn delete_keys<K: KeyValueStore>(kvs: &K, keys: &[String]) -> Result<usize> {
    let mut writes = 0;
    for batch in keys.chunks(KVS_BATCH) {
        let batch: Vec<String> = batch.iter().filter(|k| *k != LIVE_KEY).cloned().collect();
        let mut last = None;
        for _ in 0..=RETRIES {
            let (_, etag) = kvs.get(LIVE_KEY).await?;
            writes += 1;
            match kvs.update(Vec::new(), batch.clone(), &etag).await {
                Ok(_) => {
                    last = None;
                    break;
                }
                Err(e) if e.is_precondition_failed() => last = Some(e),
                Err(e) => return Err(e.into()),
            }
        }
        if let Some(e) = last {
            return Err(e.into());
        }
    }
    Ok(writes)
}

/// The store's ETag, once `guard` holds: `live` is seen to hold what it expects.
async fn current<K: KeyValueStore>(kvs: &K, guard: Guard<'_>) -> Result<String> {
    let (live, etag) = kvs.get(LIVE_KEY).await?;
    match guard {
        Guard::Any => Ok(etag),
        Guard::Live(expected) if live.as_deref() == expected => Ok(etag),
        Guard::Live(_) => Err(Error::SwitchRaced {
            store: kvs.name().to_owned(),
            now: live.unwrap_or_else(|| "nothing".to_owned()),
        }),
    }
}

/// One conditional `UpdateKeys` of `puts` on `etag`: the new ETag. When the ETag changed
/// meanwhile, the store is read again: while `guard` holds, the write is tried again on the new
/// ETag; else the switch raced another.
async fn write<K: KeyValueStore>(
    kvs: &K,
    puts: Vec<(String, String)>,
    mut etag: String,
    guard: Guard<'_>,
    writes: &mut usize,
) -> Result<String> {
    let mut last: Option<RemoteError> = None;
    for _ in 0..=RETRIES {
        *writes += 1;
        match kvs.update(puts.clone(), Vec::new(), &etag).await {
            Ok(next) => return Ok(next),
            Err(e) if e.is_precondition_failed() => {
                etag = current(kvs, guard).await?;
                last = Some(e);
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(last.map_or_else(
        || Error::Internal("a KeyValueStore write was never tried".to_owned()),
        Error::from,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryKvs;

    fn pointer(id: &str) -> Pointer {
        Pointer {
            release: id.to_owned(),
            pool_folders: vec!["/assets/".to_owned()],
        }
    }

    fn run<T>(f: impl std::future::Future<Output = T>) -> T {
        crate::run::fixtures::block_on(f)
    }

    #[test]
    fn the_exception_keys_go_first_then_the_pointer() {
        let kvs = MemoryKvs::default();
        let exceptions: Vec<String> = (0..120).map(|i| format!("x/r1/assets/{i}.json")).collect();
        let switched = run(switch(&kvs, &pointer("r1"), &exceptions, None)).expect("switched");
        assert_eq!(
            switched.writes, 4,
            "three batches of at most 50, then the pointer"
        );
        assert_eq!(
            kvs.calls(),
            [
                "GetKey live",
                "UpdateKeys 50",
                "UpdateKeys 50",
                "UpdateKeys 20",
                "UpdateKeys 1"
            ]
        );
        let keys = crate::store::memory::lock(&kvs.keys).clone();
        assert_eq!(keys.get(LIVE_KEY), Some(&pointer("r1").value()));
        assert_eq!(keys.len(), 121);
    }

    /// A rollback: the target's keys are there already, so one pointer write.
    #[test]
    fn a_switch_back_is_one_pointer_write() {
        let kvs = MemoryKvs::default();
        kvs.put_now(LIVE_KEY, &pointer("r2").value());
        let now = pointer("r2").value();
        let switched = run(switch(&kvs, &pointer("r1"), &[], Some(&now))).expect("switched");
        assert_eq!(switched.writes, 1);
        assert_eq!(kvs.calls(), ["GetKey live", "UpdateKeys 1"]);
    }

    /// Another deploy switched `live` between our read and our write: detected, and its
    /// switch stands.
    #[test]
    fn a_concurrent_switch_is_detected_and_never_overwritten() {
        let kvs = MemoryKvs::default();
        kvs.put_now(LIVE_KEY, &pointer("r1").value());
        kvs.before_update(1, |kvs| kvs.put_now(LIVE_KEY, &pointer("theirs").value()));
        let expected = pointer("r1").value();
        let err = run(switch(&kvs, &pointer("ours"), &[], Some(&expected))).unwrap_err();
        assert!(
            matches!(&err, Error::SwitchRaced { now, .. } if now.contains("theirs")),
            "{err}"
        );
        let live = crate::store::memory::lock(&kvs.keys).get(LIVE_KEY).cloned();
        assert_eq!(live, Some(pointer("theirs").value()));
        // Planned against a pointer that is no longer live: refused before any write.
        let err = run(switch(&kvs, &pointer("ours"), &[], Some(&expected))).unwrap_err();
        assert!(matches!(err, Error::SwitchRaced { .. }), "{err}");
    }

    /// Another writer's unrelated key (a preview's pointer) changes the ETag: the write is
    /// tried again, and the switch goes through.
    #[test]
    fn an_unrelated_write_costs_a_retry() {
        let kvs = MemoryKvs::default();
        kvs.before_update(1, |kvs| kvs.put_now("p/pr-7", "{}"));
        let switched = run(switch(&kvs, &pointer("r1"), &[], None)).expect("switched");
        assert_eq!(switched.writes, 2);
        let keys = crate::store::memory::lock(&kvs.keys).clone();
        assert_eq!(keys.get(LIVE_KEY), Some(&pointer("r1").value()));
        assert!(keys.contains_key("p/pr-7"));
    }

    /// A preview's pointer is written whatever `live` holds, even when a deploy switches
    /// `live` meanwhile; `live` itself is never written.
    #[test]
    fn a_preview_points_its_own_key_and_leaves_live_alone() {
        let kvs = MemoryKvs::default();
        kvs.put_now(LIVE_KEY, &pointer("r1").value());
        kvs.before_update(1, |kvs| kvs.put_now(LIVE_KEY, &pointer("r2").value()));
        let exceptions = ["x/r3/assets/data.json".to_owned()];
        let pointed = run(point_preview(&kvs, "pr-7", &pointer("r3"), &exceptions));
        assert_eq!(pointed.expect("pointed").writes, 3);
        let keys = crate::store::memory::lock(&kvs.keys).clone();
        assert_eq!(keys.get("p/pr-7"), Some(&pointer("r3").value()));
        assert_eq!(keys.get(LIVE_KEY), Some(&pointer("r2").value()));
        assert!(keys.contains_key("x/r3/assets/data.json"));
    }
}
