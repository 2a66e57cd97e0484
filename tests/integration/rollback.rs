//! Rollback from recorded object versions: exact, in the deploy's phases, invalidated, recorded.

use std::collections::BTreeMap;

use crate::harness::{Site, World};

fn version(site: &Site, n: u32) {
    site.file("index.html", format!("<h1>home v{n}</h1>"));
    site.file(
        &format!("assets/app.{:08x}.js", 0xabc0_0000u32 + n),
        format!("v{n}()"),
    );
    if n == 2 {
        site.file("only-in-v2.html", "v2 page");
    }
}

fn snapshot(site: &Site) -> BTreeMap<String, String> {
    site.md5s("")
}

#[test]
fn rollback_restores_the_previous_release_exactly_and_invalidates_what_changed() {
    let world = World::new("rollback");
    let dist = world.distribution("");
    let site = Site::new();
    let mut trees = Vec::new();
    for n in 1..=3 {
        if n > 1 {
            site.remove(&format!("assets/app.{:08x}.js", 0xabc0_0000u32 + n - 1));
        }
        if n == 3 {
            site.remove("only-in-v2.html");
        }
        version(&site, n);
        let message = format!("v{n}");
        world
            .shipfront("deploy")
            .site(&site)
            .distribution(&dist)
            .args(&["--message", &message, "--keep-assets", "0"])
            .ok();
        trees.push(snapshot(&site));
    }
    let invalidations_before = world.invalidations(&dist).len();

    // A dry run shows the plan and writes nothing.
    let run = world.shipfront("rollback").dry_run().ok();
    assert!(
        run.stdout.contains("restore  content changed  index.html"),
        "{}",
        run.stdout
    );
    assert_eq!(world.objects(), trees[2]);

    let run = world.shipfront("rollback").distribution(&dist).ok();
    assert!(run.stdout.contains("rolled back"), "{}", run.stdout);
    assert_eq!(
        world.objects(),
        trees[1],
        "the bucket is v2 again, byte for byte"
    );
    assert_eq!(
        world.headers("index.html").1,
        "public, max-age=0, must-revalidate",
        "headers come back with the version"
    );
    let invalidations = world.invalidations(&dist);
    assert_eq!(invalidations.len(), invalidations_before + 1);
    // Overwritten: the root page; deleted: v3's bundle. New keys (v2's page and bundle) were
    // never cached and are not invalidated.
    assert_eq!(
        invalidations.last().unwrap(),
        &["/", "/assets/app.abc00003.js", "/index.html"]
    );

    // Rolling back further, to v1 by id.
    let releases = world.releases();
    let v1 = releases.iter().find(|r| r["message"] == "v1").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Newest first: the rollback itself, then v3, v2 (its target), v1.
    assert_eq!(releases[1]["message"], "v3");
    assert_eq!(
        releases[0]["message"],
        format!("rollback to {}", releases[2]["id"].as_str().unwrap())
    );
    assert_eq!(releases[0]["live"], true);
    world.shipfront("rollback").to(&v1).ok();
    assert_eq!(world.objects(), trees[0], "the bucket is v1");

    // And a deploy after a rollback plans against it.
    let run = world
        .shipfront("deploy")
        .site(&site)
        .args(&["--keep-assets", "0"])
        .ok();
    assert!(run.stdout.contains("uploaded 2 "), "{}", run.stdout);
    assert_eq!(world.objects(), trees[2]);
}

#[test]
fn rollback_refuses_without_an_earlier_release_or_with_an_unknown_id() {
    let world = World::new("rollback-refuse");
    world
        .shipfront("rollback")
        .run()
        .fails(2, "no releases recorded");
    let site = Site::new();
    site.file("index.html", "v1");
    world.shipfront("deploy").site(&site).ok();
    world
        .shipfront("rollback")
        .run()
        .fails(2, "there is no earlier one to roll back to");
    world
        .shipfront("rollback")
        .to("nope")
        .run()
        .fails(2, "no release `nope`");
}

#[test]
fn rollback_refuses_before_any_write_when_a_version_has_expired() {
    let world = World::new("rollback-expired");
    let site = Site::new();
    site.file("index.html", "v1").file("a.css", "a1");
    world.shipfront("deploy").site(&site).ok();
    let v1_version = crate::harness::block_on(async {
        world
            .client
            .head_object()
            .bucket(&world.bucket)
            .key("a.css")
            .send()
            .await
            .unwrap()
            .version_id()
            .unwrap()
            .to_owned()
    });
    site.file("index.html", "v2").file("a.css", "a2");
    world.shipfront("deploy").site(&site).ok();
    // A lifecycle rule expires v1's version of a.css.
    crate::harness::block_on(async {
        world
            .client
            .delete_object()
            .bucket(&world.bucket)
            .key("a.css")
            .version_id(&v1_version)
            .send()
            .await
            .unwrap();
    });
    let before = world.objects();
    world.shipfront("rollback").run().fails(
        2,
        "needs 1 object version(s) the bucket no longer keeps (first: a.css",
    );
    assert_eq!(world.objects(), before, "nothing was written");

    // `releases` says so before anyone tries.
    let run = world.shipfront("releases").ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[2].ends_with("(not restorable: 1 version(s) gone)")
            && !lines[1].contains("not restorable"),
        "{}",
        run.stdout
    );
    let json = world.shipfront("releases").json().ok().json();
    let releases = &json["releases"];
    assert_eq!(
        (&releases[0]["restorable"], &releases[1]["restorable"]),
        (&serde_json::json!(true), &serde_json::json!(false))
    );
    assert_eq!(releases[1]["missing_versions"], 1);
}

#[test]
fn a_rollback_killed_at_any_moment_leaves_a_working_site_and_a_rerun_completes_it() {
    use crate::faults::{
        assert_pages_reference_only_existing_objects, clear_previous, versioned_site,
    };
    let world = World::new("rollback-killed");
    let site = Site::new();
    let pages = 6;
    let keep0 = ["--keep-assets", "0", "--no-progress", "--force-unlock"];
    versioned_site(&site, 1, pages);
    world.shipfront("deploy").site(&site).args(&keep0).ok();
    let v1 = site.md5s("");
    let v1_id = world.releases()[0]["id"].as_str().unwrap().to_owned();
    clear_previous(&site, 1, pages);
    versioned_site(&site, 2, pages);

    // Writes of each rollback: the lock, 8 assets back, 6 pages, the root page, one delete
    // batch, the record, the lock's removal.
    for hold_after in [1, 4, 10, 15, 16, 17] {
        // Back to v2 (the killed rollback before left a mix, and its lock).
        world
            .shipfront("deploy")
            .site(&site)
            .args(&keep0)
            .force_unlock_live()
            .ok();
        world
            .shipfront("rollback")
            .to(&v1_id)
            .force_unlock_live()
            .args(&["--no-progress"])
            .kill_after_writes(hold_after);
        assert_pages_reference_only_existing_objects(&world);
    }
    // A rerun completes it.
    world
        .shipfront("rollback")
        .to(&v1_id)
        .force_unlock_live()
        .ok();
    assert_eq!(world.objects(), v1);
    assert_pages_reference_only_existing_objects(&world);
}

/// Deploy and rollback share one way to finish (issue 10's drifts): the same `--dry-run --json`
/// document, release times of the same precision, and `--invalidate` / `--no-invalidate`.
#[test]
fn rollback_and_deploy_print_record_and_invalidate_alike() {
    let world = World::new("rollback-alike");
    let dist = world.distribution("");
    let site = Site::new();
    version(&site, 1);
    world
        .shipfront("deploy")
        .site(&site)
        .distribution(&dist)
        .ok();
    version(&site, 2);
    let deploy_dry = world
        .shipfront("deploy")
        .site(&site)
        .distribution(&dist)
        .dry_run()
        .json()
        .ok()
        .json();
    world
        .shipfront("deploy")
        .site(&site)
        .distribution(&dist)
        .ok();

    let rollback = || world.shipfront("rollback").distribution(&dist);
    let rollback_dry = rollback().dry_run().json().ok().json();
    let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&rollback_dry), keys(&deploy_dry), "{rollback_dry}");
    assert_eq!(rollback_dry["dry_run"], true);
    assert_eq!(rollback_dry["plan"]["actions"][0]["action"], "restore");

    // `--no-invalidate`: nothing sent; `--invalidate all`: `/*`.
    let before = world.invalidations(&dist).len();
    rollback().args(&["--no-invalidate"]).ok();
    assert_eq!(world.invalidations(&dist).len(), before);
    rollback().args(&["--invalidate", "all"]).ok();
    assert_eq!(world.invalidations(&dist).last().unwrap(), &["/*"]);

    // Every record's time has the precision of its id: milliseconds.
    for key in world.state_keys() {
        let record: serde_json::Value = serde_json::from_slice(&world.get(&key)).unwrap();
        let time = record["time"].as_str().unwrap();
        assert!(
            time.len() == "2026-11-28T09:30:00.000Z".len() && time.ends_with('Z'),
            "{key}: {time}"
        );
    }
}

/// Issue 11: one unreadable newest record (written by hand, cut short) blocks nothing:
/// `releases` lists it as unreadable and marks live the release the bucket holds; the default
/// rollback goes to the release before that one, and `--to` another release works.
#[test]
fn an_unreadable_record_is_listed_as_such_and_blocks_no_rollback() {
    let world = World::new("unreadable-record");
    let site = Site::new();
    site.file("index.html", "v1");
    world
        .shipfront("deploy")
        .site(&site)
        .args(&["--message", "v1"])
        .ok();
    site.file("index.html", "v2");
    world
        .shipfront("deploy")
        .site(&site)
        .args(&["--message", "v2"])
        .ok();
    world.put(
        ".shipfront/releases/29990101T000000.000Z-ffffff.json",
        "{ cut sh",
    );

    let listed = world.releases();
    assert_eq!(listed[0]["unreadable"], true, "{listed:?}");
    assert_eq!(listed[0]["live"], false);
    assert_eq!(listed[1]["message"], "v2");
    assert_eq!(listed[1]["live"], true, "the bucket holds v2: {listed:?}");
    let table = world.shipfront("releases").ok();
    assert!(
        table
            .stdout
            .contains("(the record cannot be read: skipped)"),
        "{}",
        table.stdout
    );

    // The default target is the release before the live one, as the bucket says: v1.
    let run = world.shipfront("rollback").ok();
    assert!(run.stdout.contains("restored 1"), "{}", run.stdout);
    assert_eq!(world.get("index.html"), b"v1");
    // And `--to` any readable release works.
    let v2 = listed[1]["id"].as_str().unwrap().to_owned();
    world.shipfront("rollback").to(&v2).ok();
    assert_eq!(world.get("index.html"), b"v2");
}
