//! The lease of a lock holder, judged by clocks that count the time a machine spent
//! suspended, and the fence every write of the holder passes first: a holder past its lease
//! writes nothing more, even when its process slept through the refreshes.
//!
//! The monotonic clock stands still while a laptop sleeps (and, on macOS, the process's
//! `Instant` too), so a holder timed by it alone would wake believing no time passed. The boot
//! clock (Linux's `CLOCK_BOOTTIME`) counts the sleep; the wall clock does too, on every system,
//! but may be stepped. A lease is judged by whichever of the three says the most time passed:
//! a clock stepped back or frozen never extends it, one that counts the sleep ends it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use crate::core::error::{Error, Result};

/// The shortest refresh interval, for the shortest leases.
const MIN_REFRESH: Duration = Duration::from_secs(1);

/// How often a holder under `lease` renews it: four times per lease, so a lease of a minute
/// leaves 45 seconds to get one renewal through, and the default two minutes 30 seconds.
#[must_use]
pub(crate) fn refresh_for(lease: Duration) -> Duration {
    (lease / 4).max(MIN_REFRESH)
}

/// How long after a renewal was sent its holder may still write: the lease less a refresh
/// interval of margin, for a write sent at the last moment to land before anyone may call the
/// lease stale.
#[must_use]
pub(crate) fn writes_allowed_for(lease: Duration) -> Duration {
    lease.saturating_sub(refresh_for(lease))
}

/// The three clocks, read at one moment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reading {
    /// The process's monotonic clock (tokio's, so tests can pause it).
    pub(crate) monotonic: Instant,
    /// Time since boot, suspension included, where the system has such a clock.
    pub(crate) boot: Option<Duration>,
    /// The wall clock.
    pub(crate) wall: SystemTime,
}

impl Reading {
    /// The time from `self` to `later`, by the clock that says the most.
    #[must_use]
    pub(crate) fn elapsed_until(&self, later: &Reading) -> Duration {
        let monotonic = later.monotonic.saturating_duration_since(self.monotonic);
        let boot = match (self.boot, later.boot) {
            (Some(then), Some(now)) => now.saturating_sub(then),
            _ => Duration::ZERO,
        };
        let wall = later.wall.duration_since(self.wall).unwrap_or_default();
        monotonic.max(boot).max(wall)
    }

    /// The wall clock in whole seconds since the epoch, as lock records carry it.
    #[must_use]
    pub(crate) fn wall_secs(&self) -> u64 {
        self.wall
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs()
    }
}

/// Where a lease reads the time: the system's clocks, or a test's.
pub(crate) trait Clocks: Send + Sync {
    /// All three clocks, now.
    fn now(&self) -> Reading;
}

/// The system's clocks.
pub(crate) struct SystemClocks;

impl Clocks for SystemClocks {
    fn now(&self) -> Reading {
        Reading {
            monotonic: Instant::now(),
            boot: boot_clock(),
            wall: SystemTime::now(),
        }
    }
}

/// `CLOCK_BOOTTIME`: the monotonic clock plus the time the system was suspended.
#[cfg(target_os = "linux")]
fn boot_clock() -> Option<Duration> {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
    let secs = u64::try_from(now.tv_sec).ok()?;
    let nanos = u32::try_from(now.tv_nsec).ok()?;
    Some(Duration::new(secs, nanos))
}

/// No boot clock here: the wall clock counts a suspension instead.
#[cfg(not(target_os = "linux"))]
fn boot_clock() -> Option<Duration> {
    None
}

/// Stands between a lock holder and its writes. A run without a lock (a dry run, a plan with
/// nothing to write) gets an open fence; a holder's fence closes for good when its lease runs
/// out by any clock, or when the lock is lost.
#[derive(Clone, Default)]
pub(crate) struct Fence {
    lease: Option<Arc<Lease>>,
    /// The release record is being written: an interrupt waits for that write, which decides
    /// whether the release happened.
    recording: Arc<std::sync::atomic::AtomicBool>,
}

/// What a holder's fence knows of its lease.
struct Lease {
    key: String,
    clocks: Arc<dyn Clocks>,
    /// How long after a renewal writes may go on.
    writes_allowed_for: Duration,
    state: Mutex<LeaseState>,
}

/// Why a holder lost its lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lost {
    pub(crate) why: String,
    /// Another run took it while this one held it, so both may have written.
    pub(crate) taken_over: bool,
}

impl Lost {
    /// Lost without anyone else writing meanwhile.
    pub(crate) fn alone(why: impl Into<String>) -> Self {
        Lost {
            why: why.into(),
            taken_over: false,
        }
    }
}

struct LeaseState {
    /// When the write that last renewed the lease (or took it) was sent.
    renewed: Reading,
    /// Why the lock is lost, once it is.
    lost: Option<Lost>,
}

impl Fence {
    /// The fence of a run that holds no lock: every write passes.
    #[must_use]
    pub(crate) fn open() -> Self {
        Fence::default()
    }

    /// The fence of the holder of the lock `key`, taken or renewed by a write sent at `taken`,
    /// under `lease`, timed by `clocks`.
    #[must_use]
    pub(crate) fn of_lease(
        key: &str,
        lease: Duration,
        clocks: Arc<dyn Clocks>,
        taken: Reading,
    ) -> Self {
        Fence {
            recording: Arc::default(),
            lease: Some(Arc::new(Lease {
                key: key.to_owned(),
                clocks,
                writes_allowed_for: writes_allowed_for(lease),
                state: Mutex::new(LeaseState {
                    renewed: taken,
                    lost: None,
                }),
            })),
        }
    }

    /// Whether the release record is being written now.
    #[must_use]
    pub(crate) fn recording(&self) -> bool {
        self.recording.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Marks the release record as being written until the returned guard is dropped.
    #[must_use]
    pub(crate) fn start_recording(&self) -> Recording {
        self.recording
            .store(true, std::sync::atomic::Ordering::SeqCst);
        Recording(Arc::clone(&self.recording))
    }

    /// Whether the run holds a lock.
    #[must_use]
    pub(crate) fn holds_lock(&self) -> bool {
        self.lease.is_some()
    }

    /// Ok when the holder may write now; the lock lost, and why, when it may not (a lease run
    /// out stays run out: a renewal after it changes nothing).
    pub(crate) fn check(&self) -> Result<()> {
        let Some(lease) = &self.lease else {
            return Ok(());
        };
        let now = lease.clocks.now();
        let mut state = locked(&lease.state);
        if state.lost.is_none() {
            let elapsed = state.renewed.elapsed_until(&now);
            if elapsed > lease.writes_allowed_for {
                state.lost = Some(Lost::alone(format!(
                    "its lease ran out: {}s since it was last renewed (was this machine \
                     asleep?), so another deploy may have taken it",
                    elapsed.as_secs()
                )));
            }
        }
        match &state.lost {
            None => Ok(()),
            Some(lost) => Err(Error::LockLost {
                key: lease.key.clone(),
                why: lost.why.clone(),
                taken_over: lost.taken_over,
            }),
        }
    }

    /// When, on the monotonic clock, writes must stop unless the lease is renewed first
    /// (None: no lock). Suspension is not counted here: `check` counts it.
    #[must_use]
    pub(crate) fn writes_end(&self) -> Option<Instant> {
        self.lease
            .as_ref()
            .map(|l| locked(&l.state).renewed.monotonic + l.writes_allowed_for)
    }

    /// Completes, with the error `check` gives, once the fence closes: checked every second,
    /// so a write in flight (a large upload's parts) is given up within a second of the lease
    /// running out. Never completes for a run without a lock.
    pub(crate) async fn closed(&self) -> Error {
        if self.lease.is_none() {
            return std::future::pending().await;
        }
        loop {
            if let Err(e) = self.check() {
                return e;
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }

    /// The clocks, read now (None: no lock).
    #[must_use]
    pub(crate) fn now(&self) -> Option<Reading> {
        self.lease.as_ref().map(|l| l.clocks.now())
    }

    /// A renewal sent at `sent` landed: writes may go on for another lease from then.
    pub(crate) fn renewed(&self, sent: Reading) {
        if let Some(lease) = &self.lease {
            let mut state = locked(&lease.state);
            if state.lost.is_none() {
                state.renewed = sent;
            }
        }
    }

    /// The lock is lost: no write passes from now on.
    pub(crate) fn lose(&self, lost: Lost) {
        if let Some(lease) = &self.lease {
            locked(&lease.state).lost.get_or_insert(lost);
        }
    }
}

/// While alive, the release record is being written (`Fence::start_recording`).
pub(crate) struct Recording(Arc<std::sync::atomic::AtomicBool>);

impl Drop for Recording {
    fn drop(&mut self) {
        self.0.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

impl std::fmt::Debug for Fence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.lease {
            None => f.write_str("Fence(open)"),
            Some(lease) => write!(f, "Fence({})", lease.key),
        }
    }
}

/// The lease's state, even after a panic elsewhere poisoned its lock.
fn locked(state: &Mutex<LeaseState>) -> std::sync::MutexGuard<'_, LeaseState> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Clocks a test sets: the monotonic clock is tokio's (paused in tests); the boot and wall
/// clocks follow it, plus what `suspend` added, or stand still once `freeze_wall` is called.
#[cfg(test)]
pub(crate) struct TestClocks {
    start: Instant,
    state: Mutex<(Duration, Option<SystemTime>)>,
}

#[cfg(test)]
impl TestClocks {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(TestClocks {
            start: Instant::now(),
            state: Mutex::new((Duration::ZERO, None)),
        })
    }

    /// The machine sleeps for `slept`: the boot and wall clocks jump, the monotonic one does
    /// not.
    pub(crate) fn suspend(&self, slept: Duration) {
        self.state.lock().expect("clocks").0 += slept;
    }

    /// The wall clock stops where it is.
    pub(crate) fn freeze_wall(&self) {
        let now = self.now().wall;
        self.state.lock().expect("clocks").1 = Some(now);
    }
}

#[cfg(test)]
impl Clocks for TestClocks {
    fn now(&self) -> Reading {
        let (slept, frozen) = *self.state.lock().expect("clocks");
        let monotonic = Instant::now();
        let since_boot = monotonic - self.start + slept + Duration::from_secs(1000);
        Reading {
            monotonic,
            boot: Some(since_boot),
            wall: frozen.unwrap_or(UNIX_EPOCH + Duration::from_secs(1_700_000_000) + since_boot),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refresh_interval_follows_the_lease() {
        let secs = Duration::from_secs;
        let cases = [
            // (lease, refresh, writes allowed for)
            (secs(60), secs(15), secs(45)),
            (secs(120), secs(30), secs(90)),
            (secs(3600), secs(900), secs(2700)),
            (secs(2), secs(1), secs(1)),
        ];
        for (lease, refresh, allowed) in cases {
            assert_eq!(refresh_for(lease), refresh, "{lease:?}");
            assert_eq!(writes_allowed_for(lease), allowed, "{lease:?}");
        }
    }

    #[test]
    fn elapsed_time_is_what_the_clock_that_says_most_says() {
        let base = Reading {
            monotonic: Instant::now(),
            boot: Some(Duration::from_secs(100)),
            wall: UNIX_EPOCH + Duration::from_secs(1_000),
        };
        let later = |mono: u64, boot: Option<u64>, wall: u64| Reading {
            monotonic: base.monotonic + Duration::from_secs(mono),
            boot: boot.map(Duration::from_secs),
            wall: UNIX_EPOCH + Duration::from_secs(wall),
        };
        let cases = [
            // Nothing odd: all three agree.
            (later(10, Some(110), 1_010), 10),
            // Suspended for ten minutes: the boot and wall clocks count it.
            (later(10, Some(710), 1_610), 610),
            // Suspended, no boot clock: the wall clock counts it.
            (later(10, None, 1_610), 610),
            // The wall clock stepped back or frozen: the others still count.
            (later(10, Some(110), 900), 10),
            (later(10, Some(110), 1_000), 10),
            // The wall clock stepped forward: judged conservatively.
            (later(10, Some(110), 5_000), 4_000),
        ];
        for (now, want) in cases {
            let got = base.elapsed_until(&now).as_secs();
            assert_eq!(got, want, "{now:?}");
        }
    }

    #[test]
    fn a_fence_closes_for_good_once_its_lease_runs_out_by_any_clock() {
        crate::run::fixtures::block_on_paused(async {
            let clocks = TestClocks::new();
            let lease = Duration::from_secs(120);
            let fence = Fence::of_lease("lock", lease, clocks.clone(), clocks.now());
            assert!(Fence::open().check().is_ok() && !Fence::open().holds_lock());
            tokio::time::sleep(Duration::from_secs(89)).await;
            fence.check().expect("within the lease");
            fence.renewed(clocks.now());
            clocks.suspend(Duration::from_secs(600));
            let err = fence.check().unwrap_err();
            assert!(
                matches!(&err, Error::LockLost { why, .. } if why.contains("600s since")),
                "{err}"
            );
            // A renewal landing after that does not reopen it.
            fence.renewed(clocks.now());
            assert!(fence.check().is_err());
        });
    }
}
