//! The deploy lock: one deploy or rollback at a time; a dead holder's lock goes stale.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::harness::{Proxy, Site, World};

fn lock_json(holder: &str, age_secs: u64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    format!(
        r#"{{"holder":"{holder}","command":"deploy","started":"2026-01-01T00:00:00Z","refreshed":{}}}"#,
        now - age_secs
    )
}

#[test]
fn a_held_lock_stops_a_second_deploy_before_any_write() {
    let world = World::new("lock-held");
    world.put(".shipfront/lock", &lock_json("ci-job-42", 5));
    let site = Site::new();
    site.file("index.html", "x");
    let run = world
        .deploy(&site, &[])
        .fails(1, "is locked by ci-job-42 (deploy), refreshed");
    assert!(run.stderr.contains("--force-unlock"), "{}", run.stderr);
    assert!(world.objects().is_empty(), "nothing written");

    let run = world.deploy(&site, &["--force-unlock"]).ok();
    assert!(
        run.stderr.contains("taking the lock from ci-job-42"),
        "{}",
        run.stderr
    );
    assert_eq!(world.objects(), site.md5s(""));
    assert!(
        !world.state_keys().contains(&".shipfront/lock".to_owned()),
        "released at the end"
    );
}

#[test]
fn two_deploys_at_once_never_mix_their_trees() {
    let world = World::new("lock-race");
    let a = Site::new();
    a.file("index.html", "A").file("a.css", "a{}");
    let b = Site::new();
    b.file("index.html", "B").file("b.css", "b{}");

    // Deploy A takes the lock (first write), then hangs on its next write.
    let mut proxy = Proxy::start(&["--hold-after", "1"]);
    let dir = a.path().to_str().unwrap().to_owned();
    let mut first = world
        .cmd_via(
            &proxy.endpoint,
            &["deploy", &dir, "--bucket", &world.bucket, "--no-progress"],
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    proxy.wait_until_held();

    // Deploy B fails fast, naming A's holder, and writes nothing.
    world.deploy(&b, &[]).fails(1, "is locked by");
    assert!(world.objects().is_empty(), "B wrote nothing");

    // A dies holding the lock; B, told it is dead, completes alone.
    first.kill().unwrap();
    first.wait().unwrap();
    world.deploy(&b, &["--force-unlock"]).ok();
    assert_eq!(
        world.objects(),
        b.md5s(""),
        "the bucket is B's tree, never a mix"
    );
}

#[test]
fn a_stale_lock_is_watched_for_its_lease_then_taken_over() {
    let world = World::new("lock-lease");
    world.put(".shipfront/lock", &lock_json("slow-job", 90));
    let site = Site::new();
    site.file("index.html", "x");
    world.deploy(&site, &[]).fails(1, "is locked by slow-job");
    world
        .deploy(&site, &["--lock-stale-after", "10s"])
        .fails(2, "--lock-stale-after");
    assert!(world.objects().is_empty(), "nothing written");

    // Stale by its own clock under a 1-minute lease; that clock is not trusted: the lock is
    // watched for the lease and, unchanged, taken over.
    world.config("[deploy]\nlock_stale_after = \"1m\"\n");
    let started = std::time::Instant::now();
    let run = world.deploy(&site, &[]).ok();
    assert!(
        run.stderr
            .contains("the lock of slow-job is not refreshed for")
            && run.stderr.contains("by its own clock: watching it for 60s"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("taking over the stale lock of slow-job: unchanged for 60s"),
        "{}",
        run.stderr
    );
    assert!(started.elapsed() >= std::time::Duration::from_secs(60));
    assert_eq!(world.objects(), site.md5s(""));
}

/// Issue 11: the first lock write lands but its answer is lost; the SDK's retry then finds the
/// lock in place. The deploy reads it back, knows its own token, and goes on as the holder.
#[test]
fn a_lost_answer_to_the_lock_write_is_resolved_by_the_holders_token() {
    let world = World::new("lock-lost-answer");
    let site = Site::new();
    site.file("index.html", "x").file("a.css", "a{}");
    let proxy = Proxy::start(&["--drop-first", "1", "--drop-match", "/.shipfront/lock"]);
    let run = world
        .shipfront("deploy")
        .site(&site)
        .args(&["--no-progress"])
        .via(&proxy)
        .ok();
    assert!(!run.stderr.contains("is locked by"), "{}", run.stderr);
    assert_eq!(
        proxy.stats()["dropped_by_match"],
        1,
        "the answer was dropped"
    );
    assert_eq!(world.objects(), site.md5s(""));
    assert!(
        !world.state_keys().contains(&".shipfront/lock".to_owned()),
        "released at the end"
    );
}
