//! Large sites (issue 14): the listing of a site past two pages is split into key ranges,
//! seeded by the local tree, listed at once through the real SDK against the emulator, and
//! gives the same plan as one listing would.

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
    // Keys the build does not have: before its first key, between two of its keys, after
    // its last, and one cut off inside a range whose page ran past it.
    for key in [
        "a-before.html",
        "p00700-between.html",
        "p01500~between.html",
        "zz-after.html",
    ] {
        world.put(key, "stale");
    }

    let proxy = Proxy::start(&[]);
    let plan = world
        .shipfront("deploy")
        .site(&site)
        .via(&proxy)
        .dry_run()
        .json()
        .ok()
        .json();
    let deletes: Vec<&str> = plan["plan"]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "delete")
        .map(|a| a["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        deletes,
        [
            "a-before.html",
            "p00700-between.html",
            "p01500~between.html",
            "zz-after.html"
        ],
        "{plan}"
    );
    assert_eq!(plan["plan"]["unchanged"], 2_100);
    assert_eq!(plan["plan"]["actions"].as_array().unwrap().len(), 4);
    // 2,100 local keys: three ranges, one page each, asked for at once (one listing would
    // have been three pages, one after another).
    assert_eq!(
        proxy.stats().get("list").copied(),
        Some(3),
        "{:?}",
        proxy.stats()
    );
}
