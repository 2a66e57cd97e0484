//! Large sites (issue 14): the listing of a site past two pages is split into key ranges,
//! seeded by the local tree (a rollback: by the newest record), listed at once through the real
//! SDK against the emulator, and gives the same plan as one listing would; the test proxy
//! follows the continuation tokens to count the pages that waited for one another.

use crate::harness::{Proxy, Site, World};

#[test]
fn a_large_site_is_listed_in_ranges_and_planned_as_one_listing_would() {
    let world = World::new("split-listing");
    let site = Site::new();
    for i in 0..2_100 {
        site.file(&format!("p{i:05}.html"), "x");
    }
    world
        .shipfront("deploy")
        .site(&site)
        .args(&["--no-progress"])
        .ok();
    for key in STALE {
        world.put(key, "stale");
    }

    // 2,100 local keys: three ranges, one page each, asked for at once: no page waited for
    // another (the proxy follows the continuation tokens the emulator answered).
    let stats = plans_as_one_listing_would(&world, &site, None);
    assert_eq!(
        (stats.get("list"), stats.get("list_start_after")),
        (Some(&3), Some(&2)),
        "{stats:?}"
    );
    assert_eq!(stats.get("list_chain"), Some(&1), "{stats:?}");

    // The same listing in one range: the same plan, three pages one after another.
    let stats = plans_as_one_listing_would(&world, &site, Some("1"));
    assert_eq!(
        (stats.get("list"), stats.get("list_chain")),
        (Some(&3), Some(&3)),
        "{stats:?}"
    );
}

/// Dry-runs a deploy of `site` through a counting proxy (listing in at most `ranges` ranges),
/// checks its plan deletes the stale keys and leaves the site unchanged, and returns the
/// proxy's counts.
fn plans_as_one_listing_would(
    world: &World,
    site: &Site,
    ranges: Option<&str>,
) -> std::collections::BTreeMap<String, u64> {
    let proxy = Proxy::start(&[]);
    let mut deploy = world
        .shipfront("deploy")
        .site(site)
        .via(&proxy)
        .dry_run()
        .json();
    if let Some(ranges) = ranges {
        deploy = deploy.env("SHIPFRONT_LIST_RANGES", ranges);
    }
    let plan = deploy.ok().json();
    let deletes: Vec<&str> = plan["plan"]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "delete")
        .map(|a| a["key"].as_str().unwrap())
        .collect();
    assert_eq!(deletes, STALE, "{plan}");
    assert_eq!(plan["plan"]["unchanged"], 2_100, "{plan}");
    assert_eq!(plan["plan"]["actions"].as_array().unwrap().len(), 4);
    proxy.stats()
}

#[test]
fn a_large_site_is_rolled_back_with_its_keys_and_versions_listed_in_ranges() {
    let world = World::new("split-rollback");
    let site = Site::new();
    for i in 0..2_100 {
        site.file(&format!("p{i:05}.html"), "one");
    }
    world.shipfront("deploy").site(&site).ok();
    let release_one = world.objects();
    site.file("p01000.html", "two").file("zz-new.html", "new");
    world.shipfront("deploy").site(&site).ok();

    let proxy = Proxy::start(&[]);
    world.shipfront("rollback").via(&proxy).ok();
    assert!(
        world.objects() == release_one,
        "the bucket is not as release one left it"
    );
    // The newest record's 2,101 keys split both listings into three ranges, asked for at
    // once, twice (again under the lock): no page waited for another.
    let stats = proxy.stats();
    assert_eq!(
        (stats.get("list_versions"), stats.get("list_versions_after")),
        (Some(&6), Some(&4)),
        "{stats:?}"
    );
    assert_eq!(stats.get("list_start_after"), Some(&4), "{stats:?}");
    assert_eq!(stats.get("list_chain"), Some(&1), "{stats:?}");
}

/// Keys the build does not have: before its first key, between two of its keys, after its
/// last, and one cut off inside a range whose page ran past it.
const STALE: [&str; 4] = [
    "a-before.html",
    "p00700-between.html",
    "p01500~between.html",
    "zz-after.html",
];
