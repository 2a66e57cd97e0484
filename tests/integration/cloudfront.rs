//! CloudFront invalidation after a deploy, against the CloudFront emulator: only what was
//! cached before and changed, encoded, mapped through the prefix and the origin's OriginPath.

use crate::harness::{Site, World};

fn site() -> Site {
    let site = Site::new();
    site.file("index.html", "<h1>home</h1>")
        .file("dir/index.html", "<h1>dir</h1>")
        .file("docs/getting started.html", "<p>start</p>")
        .file("assets/app.3f2a1b9c.js", "console.log(1)");
    site
}

#[test]
fn an_edit_of_two_pages_invalidates_exactly_their_urls() {
    let world = World::new("cf-two-pages");
    let dist = world.distribution("");
    let site = site();
    let run = world
        .shipfront("deploy")
        .site(&site)
        .distribution(&dist)
        .ok();
    assert!(!run.stdout.contains("invalidated"), "{}", run.stdout);
    assert!(
        world.invalidations(&dist).is_empty(),
        "new keys were never cached"
    );

    site.file("dir/index.html", "<h1>dir v2</h1>")
        .file("docs/getting started.html", "<p>start v2</p>")
        .file("new.html", "<p>new</p>");
    let run = world
        .shipfront("deploy")
        .site(&site)
        .distribution(&dist)
        .ok();
    assert!(run.stdout.contains("invalidated 3 paths"), "{}", run.stdout);
    assert_eq!(
        world.invalidations(&dist),
        [["/dir/", "/dir/index.html", "/docs/getting%20started.html"]]
    );
    // Its CallerReference is the release's id, so a retried call cannot create a second one.
    let release = run
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("release "))
        .unwrap();
    assert_eq!(
        world.invalidation_references(&dist),
        [format!("shipfront-{release}")]
    );

    // Nothing changed: no invalidation at all.
    let run = world
        .shipfront("deploy")
        .site(&site)
        .distribution(&dist)
        .ok();
    assert!(!run.stdout.contains("invalidated"), "{}", run.stdout);
    assert_eq!(world.invalidations(&dist).len(), 1);
}

#[test]
fn deletes_and_the_root_page_map_through_prefix_and_origin_path() {
    let world = World::new("cf-origin-path");
    let dist = world.distribution("/site");
    let site = site();
    site.file("old.html", "old");
    world
        .shipfront("deploy")
        .site(&site)
        .distribution(&dist)
        .args(&["--prefix", "site"])
        .ok();
    site.remove("old.html")
        .file("index.html", "<h1>home v2</h1>");
    world
        .shipfront("deploy")
        .site(&site)
        .distribution(&dist)
        .args(&["--prefix", "site"])
        .ok();
    assert_eq!(
        world.invalidations(&dist),
        [["/", "/index.html", "/old.html"]]
    );
}

#[test]
fn long_lists_collapse_into_folder_wildcards() {
    let world = World::new("cf-collapse");
    let dist = world.distribution("");
    let site = Site::new();
    site.file("index.html", "home");
    for i in 0..30 {
        site.file(&format!("blog/post{i}.html"), "v1");
    }
    world
        .shipfront("deploy")
        .site(&site)
        .distribution(&dist)
        .ok();
    for i in 0..30 {
        site.file(&format!("blog/post{i}.html"), "v2");
    }
    let args = [
        "--distribution-id",
        dist.as_str(),
        "--max-invalidation-paths",
        "10",
    ];
    let run = world.shipfront("deploy").site(&site).args(&args).ok();
    assert!(
        run.stdout
            .contains("invalidated 1 path (collapsed from 30 URLs)"),
        "{}",
        run.stdout
    );
    assert_eq!(world.invalidations(&dist), [["/blog/*"]]);
}

#[test]
fn dry_run_shows_paths_and_flags_choose_what_to_invalidate() {
    let world = World::new("cf-flags");
    let dist = world.distribution("");
    let site = site();
    world
        .shipfront("deploy")
        .site(&site)
        .distribution(&dist)
        .ok();
    site.file("index.html", "<h1>home v2</h1>");

    let run = world
        .shipfront("deploy")
        .site(&site)
        .distribution(&dist)
        .dry_run()
        .ok();
    assert!(
        run.stdout
            .contains("invalidate 2 paths:\n  /\n  /index.html"),
        "{}",
        run.stdout
    );
    assert!(
        world.invalidations(&dist).is_empty(),
        "a dry run sends nothing"
    );

    world
        .shipfront("deploy")
        .site(&site)
        .distribution(&dist)
        .args(&["--no-invalidate"])
        .ok();
    assert!(world.invalidations(&dist).is_empty());

    site.file("index.html", "<h1>home v3</h1>");
    let run = world
        .shipfront("deploy")
        .site(&site)
        .distribution(&dist)
        .args(&["--invalidate", "all", "--wait"])
        .ok();
    assert!(run.stdout.contains("invalidated 1 path"), "{}", run.stdout);
    assert!(run.stdout.contains("completed"), "{}", run.stdout);
    assert_eq!(world.invalidations(&dist), [["/*"]]);
}

#[test]
fn a_missing_distribution_is_refused_before_any_write() {
    let world = World::new("cf-missing");
    let site = site();
    world
        .shipfront("deploy")
        .site(&site)
        .distribution("E0000NOTTHERE")
        .run()
        .fails(1, "CloudFront distribution `E0000NOTTHERE` does not exist");
    assert!(world.objects().is_empty());
}

#[test]
fn invalidation_flags_without_a_distribution_are_usage_errors() {
    let world = World::new("cf-usage");
    let site = site();
    world
        .shipfront("deploy")
        .site(&site)
        .args(&["--wait"])
        .run()
        .fails(2, "--wait waits for a CloudFront invalidation");
    world
        .shipfront("deploy")
        .site(&site)
        .args(&["--invalidate", "all"])
        .run()
        .fails(2, "--invalidate needs a distribution");
}

#[test]
fn spa_refuses_a_distribution_without_the_fallback_before_any_write() {
    let world = World::new("spa-refuse");
    let dist = world.spa_distribution(false);
    let site = site();
    let run = world
        .shipfront("deploy")
        .site(&site)
        .distribution(&dist)
        .args(&["--spa"])
        .run()
        .fails(2, "is not ready for a single-page app");
    for gap in [
        "DefaultRootObject is not set",
        "no 403 -> /index.html (200)",
        "no 404 -> /index.html (200)",
        "--fix-spa",
    ] {
        assert!(run.stderr.contains(gap), "{gap}: {}", run.stderr);
    }
    assert!(world.objects().is_empty(), "nothing written");

    // `spa = true` in the config file arms the same guard.
    world.config("spa = true\n");
    world
        .shipfront("deploy")
        .site(&site)
        .distribution(&dist)
        .run()
        .fails(2, "is not ready for a single-page app");

    // A distribution that has it passes.
    let ready = world.spa_distribution(true);
    world
        .shipfront("deploy")
        .site(&site)
        .distribution(&ready)
        .args(&["--spa"])
        .ok();
}

#[test]
fn fix_spa_adds_the_fallback_and_keeps_every_other_setting() {
    let world = World::new("spa-fix");
    let dist = world.spa_distribution(false);
    let before = world.distribution_config(&dist);
    let site = site();
    let run = world
        .shipfront("deploy")
        .site(&site)
        .distribution(&dist)
        .args(&["--fix-spa"])
        .ok();
    assert!(
        run.stderr.contains("repaired distribution"),
        "{}",
        run.stderr
    );

    let after = world.distribution_config(&dist);
    assert_eq!(after.default_root_object(), Some("index.html"));
    let responses: Vec<(i32, Option<&str>, Option<&str>)> = after
        .custom_error_responses()
        .unwrap()
        .items()
        .iter()
        .map(|r| (r.error_code(), r.response_page_path(), r.response_code()))
        .collect();
    assert_eq!(
        responses,
        [
            (500, Some("/500.html"), Some("500")),
            (403, Some("/index.html"), Some("200")),
            (404, Some("/index.html"), Some("200")),
        ]
    );
    // Everything else is as it was.
    let mut unchanged = after.clone();
    unchanged.default_root_object = before.default_root_object.clone();
    unchanged.custom_error_responses = before.custom_error_responses.clone();
    assert_eq!(unchanged, before);
    assert_eq!(world.objects(), site.md5s(""));

    // Now the plain guard passes.
    world
        .shipfront("deploy")
        .site(&site)
        .distribution(&dist)
        .args(&["--spa"])
        .ok();
}

#[test]
fn spa_refuses_a_folder_without_a_root_index_html() {
    let world = World::new("spa-no-index");
    let site = Site::new();
    site.file("app/index.html", "nested only");
    world
        .shipfront("deploy")
        .site(&site)
        .args(&["--spa"])
        .run()
        .fails(2, "has no `index.html`");
    assert!(world.objects().is_empty());
}

/// SvelteKit's SPA mode (adapter-static `fallback: '200.html'`) writes `200.html` and no
/// `index.html`: the guard names it, and with `--spa-fallback 200.html` (or `spa_fallback` in
/// shipfront.toml) the guard, `--fix-spa` and doctor all use it.
#[test]
fn spa_with_a_200_html_fallback_like_sveltekit() {
    let world = World::new("spa-200");
    let site = Site::new();
    site.file("200.html", "<div id=app></div>")
        .file("_app/version.json", "{\"version\":\"1\"}")
        .file("_app/immutable/entry/start.DIhp_3vZ.js", "start()");
    let run = world
        .shipfront("deploy")
        .site(&site)
        .args(&["--spa"])
        .run()
        .fails(2, "has no `index.html`");
    for hint in ["it has `200.html`", "SvelteKit", "--spa-fallback 200.html"] {
        assert!(run.stderr.contains(hint), "{hint}: {}", run.stderr);
    }
    assert!(world.objects().is_empty(), "nothing written");

    let dist = world.spa_distribution(false);
    let run = world
        .shipfront("deploy")
        .site(&site)
        .distribution(&dist)
        .args(&["--spa-fallback", "200.html"])
        .run()
        .fails(2, "is not ready for a single-page app");
    assert!(
        run.stderr.contains("no 403 -> /200.html (200)"),
        "{}",
        run.stderr
    );
    assert!(world.objects().is_empty(), "nothing written");

    world
        .shipfront("deploy")
        .site(&site)
        .distribution(&dist)
        .args(&["--spa-fallback", "/200.html", "--fix-spa"])
        .ok();
    let after = world.distribution_config(&dist);
    let responses: Vec<(i32, Option<&str>)> = after
        .custom_error_responses()
        .unwrap()
        .items()
        .iter()
        .map(|r| (r.error_code(), r.response_page_path()))
        .collect();
    assert_eq!(
        responses,
        [
            (500, Some("/500.html")),
            (403, Some("/200.html")),
            (404, Some("/200.html"))
        ]
    );
    assert_eq!(world.objects(), site.md5s(""));

    // The file's `spa_fallback` arms the same guard, which now passes; doctor checks the page.
    world.config("spa_fallback = \"200.html\"\n");
    world
        .shipfront("deploy")
        .site(&site)
        .distribution(&dist)
        .ok();
    let doctor = world.shipfront("doctor").distribution(&dist).run();
    assert!(
        doctor.stdout.contains("403 and 404 -> /200.html (200)"),
        "{}",
        doctor.stdout
    );
    // A bad page name is refused before anything else.
    world
        .shipfront("deploy")
        .site(&site)
        .args(&["--spa-fallback", "../200.html"])
        .run()
        .fails(2, "invalid SPA fallback page `../200.html`");
}

#[test]
fn too_many_invalidations_in_progress_is_waited_out() {
    let world = World::new("cf-busy");
    let dist = world.distribution("");
    let site = site();
    world
        .shipfront("deploy")
        .site(&site)
        .distribution(&dist)
        .ok();
    site.file("index.html", "<h1>home v2</h1>");
    // CloudFront refuses the first attempt: 15 wildcards or 3000 paths already in progress.
    let proxy = crate::harness::Proxy::start_cloudfront(&[
        "--reject-first",
        "1",
        "--reject-match",
        "/invalidation",
    ]);
    let run = world
        .shipfront("deploy")
        .site(&site)
        .distribution(&dist)
        .cloudfront_via(&proxy)
        .ok();
    assert!(run.stdout.contains("invalidated 2 paths"), "{}", run.stdout);
    assert_eq!(proxy.stats().get("rejected"), Some(&1));
    assert_eq!(world.invalidations(&dist), [["/", "/index.html"]]);
}

/// A bundle kept for open pages is deleted when its grace ends, without an invalidation: it is
/// fingerprinted, so no visitor gets a stale copy of it, and evicting it only hurts old tabs.
#[test]
fn files_whose_grace_ended_are_deleted_without_an_invalidation() {
    let world = World::new("cf-grace");
    let dist = world.distribution("");
    let site = Site::new();
    site.file("index.html", "<script src=/assets/app-BbXQDiXP.js>")
        .file("assets/app-BbXQDiXP.js", "v1()");
    world
        .shipfront("deploy")
        .site(&site)
        .distribution(&dist)
        .ok();

    // v2: a new bundle; the v1 bundle stays for pages opened before.
    site.remove("assets/app-BbXQDiXP.js")
        .file("assets/app-CN1xVJS-.js", "v2()")
        .file("index.html", "<script src=/assets/app-CN1xVJS-.js>");
    world
        .shipfront("deploy")
        .site(&site)
        .distribution(&dist)
        .ok();
    assert!(world.objects().contains_key("assets/app-BbXQDiXP.js"));
    assert_eq!(world.invalidations(&dist), [["/", "/index.html"]]);

    // v3: the v1 bundle's grace ends; only the overwritten page is invalidated.
    site.file("index.html", "<script src=/assets/app-CN1xVJS-.js> v3");
    let run = world
        .shipfront("deploy")
        .site(&site)
        .distribution(&dist)
        .ok();
    assert!(
        !world.objects().contains_key("assets/app-BbXQDiXP.js"),
        "{}",
        run.stdout
    );
    assert_eq!(
        world.invalidations(&dist),
        [["/", "/index.html"], ["/", "/index.html"]]
    );
}

/// Issue 11: the writes succeeded, the invalidation failed. The release is recorded (with the
/// invalidation marked pending), the deploy fails with the way out, and the rerun, though it
/// changes nothing, sends the invalidation.
#[test]
fn a_failed_invalidation_is_recorded_pending_and_sent_by_the_rerun() {
    let world = World::new("cf-pending");
    let dist = world.distribution("");
    let site = Site::new();
    site.file("index.html", "<h1>v1</h1>").file("a.css", "a{}");
    world
        .shipfront("deploy")
        .site(&site)
        .distribution(&dist)
        .ok();
    site.file("index.html", "<h1>v2</h1>");
    let proxy = crate::harness::Proxy::start_cloudfront(&[
        "--reject-first",
        "1",
        "--reject-match",
        "/invalidation",
        "--reject-code",
        "InvalidArgument",
    ]);
    let run = world
        .shipfront("deploy")
        .site(&site)
        .distribution(&dist)
        .cloudfront_via(&proxy)
        .run()
        .fails(1, "invalidation pending");
    assert!(run.stderr.contains("create-invalidation"), "{}", run.stderr);
    assert_eq!(world.objects(), site.md5s(""), "the files were written");
    let releases = world.releases();
    assert_eq!(releases.len(), 2, "the release was recorded");
    assert!(world.invalidations(&dist).is_empty());

    let run = world
        .shipfront("deploy")
        .site(&site)
        .distribution(&dist)
        .ok();
    assert!(run.stdout.contains("invalidated 2 paths"), "{}", run.stdout);
    assert_eq!(world.invalidations(&dist), [["/", "/index.html"]]);
    assert_eq!(
        world.releases().len(),
        2,
        "no release for a run that changed nothing"
    );
}

/// A deploy that fails midway (S3 refuses the pages) has already overwritten a style sheet in
/// the assets phase: that URL is invalidated all the same, since the rerun finds the sheet
/// unchanged and would never invalidate it.
#[test]
fn a_deploy_that_fails_midway_invalidates_what_it_had_overwritten() {
    let world = World::new("cf-partial");
    let dist = world.distribution("");
    let site = site();
    site.file("style.css", "a{}");
    world
        .shipfront("deploy")
        .site(&site)
        .distribution(&dist)
        .ok();
    site.file("style.css", "a{color:red}")
        .file("dir/index.html", "<h1>dir v2</h1>");
    let proxy = crate::harness::Proxy::start(&[
        "--reject-first",
        "100",
        "--reject-match",
        "/dir/index.html",
        "--reject-code",
        "InternalError",
    ]);
    let run = world
        .shipfront("deploy")
        .site(&site)
        .distribution(&dist)
        .via(&proxy)
        .run()
        .fails(1, "dir/index.html");
    assert!(
        run.stderr
            .contains("stopped after overwriting 1 cached object(s): invalidated"),
        "{}",
        run.stderr
    );
    assert_eq!(world.invalidations(&dist), [["/style.css"]]);

    // The rerun writes the page and invalidates it; the sheet is unchanged now.
    world
        .shipfront("deploy")
        .site(&site)
        .distribution(&dist)
        .ok();
    assert_eq!(
        world.invalidations(&dist),
        [vec!["/style.css"], vec!["/dir/", "/dir/index.html"]]
    );
}
