//! Release records: every deploy that changes something records which version of every key is
//! live, and the next deploy plans with it.

use crate::harness::{Site, World};

fn release(world: &World, key: &str) -> serde_json::Value {
    serde_json::from_slice(&world.get(key)).unwrap()
}

#[test]
fn each_changing_deploy_records_every_key_with_its_version() {
    let world = World::new("releases");
    let site = Site::new();
    site.file("index.html", "<h1>v1</h1>")
        .file("a.css", "a{}")
        .file("b.js", "b()");
    let run = world
        .shipfront("deploy")
        .site(&site)
        .args(&["--message", "first"])
        .ok();
    assert!(run.stdout.contains("release "), "{}", run.stdout);
    let first = world.state_keys();
    assert_eq!(first.len(), 1, "{first:?}");
    let r1 = release(&world, &first[0]);
    assert_eq!(r1["message"], "first");
    assert_eq!(r1["changed"], 3);
    let objects = r1["objects"].as_object().unwrap();
    assert_eq!(objects.len(), 3);
    for (key, o) in objects {
        assert!(
            o["version_id"].as_str().is_some_and(|v| !v.is_empty()),
            "{key}: {o}"
        );
        assert_eq!(o["etag"], world.objects()[key], "{key}");
    }

    // Nothing changed: no new record.
    world.shipfront("deploy").site(&site).ok();
    assert_eq!(world.state_keys().len(), 1);

    // One change: a new record; unchanged keys keep their recorded versions.
    site.file("a.css", "a{color:red}");
    world.shipfront("deploy").site(&site).ok();
    let keys = world.state_keys();
    assert_eq!(keys.len(), 2);
    let r2 = release(&world, &keys[1]);
    assert!(keys[0] < keys[1], "ids sort by time");
    assert_eq!(r2["changed"], 1);
    assert_eq!(
        r2["objects"]["b.js"]["version_id"],
        r1["objects"]["b.js"]["version_id"]
    );
    assert_ne!(
        r2["objects"]["a.css"]["version_id"],
        r1["objects"]["a.css"]["version_id"]
    );
}

#[test]
fn a_rule_change_updates_headers_in_place_without_re_uploading() {
    let world = World::new("header-drift");
    let site = Site::new();
    site.file("index.html", "<h1>x</h1>")
        .file("assets/app.js", "x()");
    world.shipfront("deploy").site(&site).ok();
    assert_eq!(world.headers("assets/app.js").1, "public, max-age=3600");

    world.config("[[rules]]\nmatch = \"assets/**\"\ncache_control = \"public, max-age=31536000, immutable\"\n");
    let proxy = crate::harness::Proxy::start(&[]);
    let run = world
        .shipfront("deploy")
        .site(&site)
        .dry_run()
        .via(&proxy)
        .ok();
    assert!(
        run.stdout
            .contains("headers  headers changed  assets/app.js"),
        "{}",
        run.stdout
    );
    let run = world.shipfront("deploy").site(&site).via(&proxy).ok();
    assert!(run.stdout.contains("headers updated 1"), "{}", run.stdout);
    assert_eq!(
        world.headers("assets/app.js"),
        (
            "text/javascript; charset=utf-8".to_owned(),
            "public, max-age=31536000, immutable".to_owned()
        )
    );
    let stats = proxy.stats();
    // One server-side copy: no bytes of the file were sent again.
    assert_eq!(stats.get("site_writes"), Some(&1), "{stats:?}");
    assert!(
        stats.get("bytes_sent").copied().unwrap_or(0) < 2000,
        "{stats:?}"
    );
}

#[test]
fn an_unversioned_bucket_gets_a_warning_that_rollback_is_impossible() {
    let world = World::unversioned("unversioned");
    let site = Site::new();
    site.file("index.html", "x");
    let run = world.shipfront("deploy").site(&site).ok();
    assert!(run.stderr.contains("versioning off"), "{}", run.stderr);
}

#[test]
fn releases_lists_newest_first_with_the_live_one_marked() {
    let world = World::new("releases-list");
    let run = world.shipfront("releases").ok();
    assert!(
        run.stdout.contains("no releases recorded"),
        "{}",
        run.stdout
    );

    let site = Site::new();
    site.file("index.html", "v1");
    world
        .shipfront("deploy")
        .site(&site)
        .args(&["--message", "first"])
        .ok();
    site.file("index.html", "v2");
    world
        .shipfront("deploy")
        .site(&site)
        .args(&["--message", "second"])
        .ok();

    let run = world.shipfront("releases").ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[1].starts_with("* ") && lines[1].ends_with("second"),
        "{}",
        run.stdout
    );
    assert!(
        lines[2].starts_with("  ") && lines[2].ends_with("first"),
        "{}",
        run.stdout
    );

    let run = world.shipfront("releases").json().ok();
    let json = &run.json()["releases"];
    assert_eq!(json[0]["message"], "second");
    assert_eq!(json[0]["live"], true);
    assert_eq!(json[1]["live"], false);
    assert_eq!(json[1]["files"], 1);
}

#[test]
fn old_bundles_stay_one_release_for_visitors_of_older_pages() {
    let world = World::new("keep-assets");
    let site = Site::new();
    let bundle = |n: u32| format!("assets/app.{:08x}.js", 0xabcd_0000u32 + n);
    for n in 1..=3 {
        if n > 1 {
            site.remove(&bundle(n - 1));
        }
        site.file(
            "index.html",
            format!("<script src=\"/{}\"></script>", bundle(n)),
        );
        site.file(&bundle(n), format!("v{n}()"));
        if n == 1 {
            site.file("old.html", "goes at once");
        } else if n == 2 {
            site.remove("old.html");
        }
        let run = world.shipfront("deploy").site(&site).ok();
        if n == 2 {
            assert!(
                run.stdout.contains("deleted 1"),
                "old.html goes at once: {}",
                run.stdout
            );
        }
    }
    let keys: Vec<String> = world.objects().into_keys().collect();
    // v1's bundle left in release 2 and went in release 3; v2's is kept for one release.
    assert_eq!(keys, [bundle(2), bundle(3), "index.html".to_owned()]);

    site.file("index.html", "no script");
    site.remove(&bundle(3));
    world
        .shipfront("deploy")
        .site(&site)
        .args(&["--keep-assets", "0"])
        .ok();
    let keys: Vec<String> = world.objects().into_keys().collect();
    assert_eq!(keys, ["index.html"], "with --keep-assets 0 nothing is kept");
}

#[test]
fn a_state_prefix_moves_records_and_lock_out_of_the_site() {
    let world = World::new("state-prefix");
    let site = Site::new();
    site.file("index.html", "<h1>v1</h1>").file("a.css", "a{}");
    let flags = ["--prefix", "www/", "--state-prefix", "deploys/www/"];
    world.shipfront("deploy").site(&site).args(&flags).ok();
    site.file("a.css", "a{color:red}");
    world.shipfront("deploy").site(&site).args(&flags).ok();

    let all = world.all_objects();
    let records: Vec<&String> = all
        .keys()
        .filter(|k| k.starts_with("deploys/www/releases/"))
        .collect();
    assert_eq!(records.len(), 2, "{all:?}");
    assert!(!all.keys().any(|k| k.contains(".shipfront/")), "{all:?}");
    assert!(!all.contains_key("deploys/www/lock"), "lock released");
    // Nothing under the state prefix counts as site: a redeploy deletes nothing.
    let run = world.shipfront("deploy").site(&site).args(&flags).ok();
    assert!(
        run.stdout
            .contains("uploaded 0 (0 B), deleted 0, unchanged 2"),
        "{}",
        run.stdout
    );

    let bucket = world.bucket.as_str();
    let run = world
        .shipfront("releases")
        .args(&["--state-prefix", "deploys/www/"])
        .json()
        .ok();
    assert_eq!(run.json()["releases"].as_array().map(Vec::len), Some(2));
    let run = world.shipfront("releases").args(&["--prefix", "www/"]).ok();
    assert!(
        run.stdout.contains("no releases recorded in"),
        "{}",
        run.stdout
    );

    // The same setting from the config file, for rollback.
    world.config(&format!(
        "bucket = \"{bucket}\"\nprefix = \"www\"\nstate_prefix = \"deploys/www\"\n"
    ));
    world.shipfront_without_bucket("rollback").ok();
    assert_eq!(world.get("www/a.css"), b"a{}");
    let records = world
        .all_objects()
        .into_keys()
        .filter(|k| k.starts_with("deploys/www/releases/"))
        .count();
    assert_eq!(records, 3, "the rollback is recorded beside the deploys");
}

#[test]
fn in_a_workflow_the_record_names_the_commit_and_its_subject() {
    let world = World::new("commit-message");
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(world.workdir.path())
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .expect("git");
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    git(&["init", "-q"]);
    git(&[
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "Fix the footer links\n\nDetails.",
    ]);
    let sha = git(&["rev-parse", "HEAD"]);

    let site = Site::new();
    site.file("index.html", "x");
    world
        .shipfront("deploy")
        .site(&site)
        .env("GITHUB_SHA", &sha)
        .ok();
    let key = world.state_keys().pop().unwrap();
    assert_eq!(
        release(&world, &key)["message"],
        format!("commit {sha}: Fix the footer links")
    );
}

#[test]
fn moving_the_state_prefix_keeps_the_old_records() {
    let world = World::new("state-move");
    let site = Site::new();
    site.file("index.html", "v1");
    world
        .shipfront("deploy")
        .site(&site)
        .args(&["--state-prefix", "_deploys"])
        .ok();
    let old: Vec<String> = world
        .all_objects()
        .into_keys()
        .filter(|k| k.starts_with("_deploys/releases/"))
        .collect();
    assert_eq!(old.len(), 1);

    // Back to the default state prefix: `_deploys/` is now inside the site, yet not stale.
    site.file("index.html", "v2");
    let run = world.shipfront("deploy").site(&site).ok();
    assert!(run.stdout.contains("deleted 0"), "{}", run.stdout);
    assert!(world.all_objects().contains_key(&old[0]), "history kept");
}

/// A name that looked fingerprinted but whose bytes changed under it is an hour from then on,
/// in that deploy and every later one: the release record carries the name.
#[test]
fn a_fingerprint_like_name_whose_bytes_changed_is_never_immutable_again() {
    let world = World::new("rewritten");
    let site = Site::new();
    site.file("index.html", "<img src=/logo.3f2a1b9c.svg>")
        .file("logo.3f2a1b9c.svg", "<svg>v1</svg>");
    world.shipfront("deploy").site(&site).ok();
    let immutable = "public, max-age=31536000, immutable";
    assert_eq!(world.headers("logo.3f2a1b9c.svg").1, immutable);

    site.file("logo.3f2a1b9c.svg", "<svg>v2</svg>");
    let run = world.shipfront("deploy").site(&site).dry_run().ok();
    assert!(
        run.stdout.contains("bytes changed under this name"),
        "{}",
        run.stdout
    );
    world.shipfront("deploy").site(&site).ok();
    assert_eq!(world.headers("logo.3f2a1b9c.svg").1, "public, max-age=3600");
    let keys = world.state_keys();
    let record = release(&world, keys.last().unwrap());
    assert_eq!(
        record["rewritten"],
        serde_json::json!(["logo.3f2a1b9c.svg"])
    );

    // Later deploys read it from the record: still the hour, nothing to change.
    site.file("index.html", "<img src=/logo.3f2a1b9c.svg> v3");
    world.shipfront("deploy").site(&site).ok();
    assert_eq!(world.headers("logo.3f2a1b9c.svg").1, "public, max-age=3600");
    let keys = world.state_keys();
    let record = release(&world, keys.last().unwrap());
    assert_eq!(
        record["rewritten"],
        serde_json::json!(["logo.3f2a1b9c.svg"])
    );
}
