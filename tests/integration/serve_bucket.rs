//! `shipfront serve --bucket` (issue 23): a deployed release served from the emulator as the
//! distribution serves it: the live one, or a recorded one (by version id in place, by its
//! prefix and pointer when atomic), with the routing function and `[headers]` it was deployed
//! with, and the distribution's own error responses when it is named.

use crate::serve::{ask, start_server};

/// A build of two pages, a 404 page and a script, `n` in every body.
fn build(site: &crate::harness::Site, n: u32) {
    site.file("index.html", format!("<h1>home {n}</h1>"))
        .file("about/index.html", format!("<h1>about {n}</h1>"))
        .file("404.html", format!("<h1>lost {n}</h1>"));
}

/// The release ids, newest first.
fn release_ids(world: &crate::harness::World) -> Vec<String> {
    world
        .releases()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

/// What `serve` answers for each target: status and body as text.
fn served(invocation: crate::harness::Invocation<'_>, targets: &[&str]) -> Vec<(u16, String)> {
    let (mut server, port) = start_server(invocation.args(&["--port", "0"]).command());
    let answers = targets
        .iter()
        .map(|target| {
            let answer = ask(port, "GET", target, &[]);
            (
                answer.status,
                String::from_utf8_lossy(&answer.body).into_owned(),
            )
        })
        .collect();
    server.kill().unwrap();
    server.wait().unwrap();
    answers
}

fn answer(status: u16, body: &str) -> (u16, String) {
    (status, body.to_owned())
}

/// Two releases deployed in place with `--routing` and `[headers]`: `old/` only in the first.
/// Their ids, newest first.
fn two_routed_releases(
    world: &crate::harness::World,
    distribution: &str,
    cloudfront: &crate::harness::Proxy,
) -> Vec<String> {
    world.config("[headers]\nX-Frame-Options = \"DENY\"\n");
    let site = crate::harness::Site::new();
    build(&site, 1);
    site.file("old/index.html", "<h1>old page</h1>");
    let deploy = || {
        world
            .shipfront("deploy")
            .site(&site)
            .distribution(distribution)
            .args(&["--routing", "--no-progress"])
            .cloudfront_via(cloudfront)
            .ok();
    };
    deploy();
    build(&site, 2);
    site.remove("old/index.html");
    deploy();
    let ids = release_ids(world);
    assert_eq!(ids.len(), 2);
    ids
}

/// In place, with the routing function: the live release is the bucket's current objects
/// through the function the newest record published; `--release` the recorded versions, a page
/// the next release deleted included; a missing key (S3's 403 behind Origin Access Control)
/// gets the 404 page as doctor advises, or the distribution's own error responses when it is
/// named: none here, so S3's 403 itself.
#[test]
fn serve_bucket_serves_the_live_release_or_a_recorded_one_by_version() {
    let world = crate::harness::World::new("serve-bucket");
    let distribution = world.distribution("");
    let cloudfront = crate::harness::Proxy::start_cloudfront(&["--functions"]);
    let ids = two_routed_releases(&world, &distribution, &cloudfront);
    let targets = [
        "/",
        "/about",
        "/about/",
        "/old/",
        "/no/such.js",
        "/.shipfront/",
    ];
    let live = served(world.shipfront("serve"), &targets);
    assert_eq!(
        live,
        [
            answer(200, "<h1>home 2</h1>"),
            answer(301, ""),
            answer(200, "<h1>about 2</h1>"),
            answer(404, "<h1>lost 2</h1>"),
            answer(404, "<h1>lost 2</h1>"),
            answer(404, ""),
        ]
    );
    let first = served(
        world.shipfront("serve").args(&["--release", &ids[1]]),
        &targets,
    );
    assert_eq!(
        first,
        [
            answer(200, "<h1>home 1</h1>"),
            answer(301, ""),
            answer(200, "<h1>about 1</h1>"),
            answer(200, "<h1>old page</h1>"),
            answer(404, "<h1>lost 1</h1>"),
            answer(404, ""),
        ]
    );
    // The distribution named: its error responses (none), so S3's own 403.
    let strict = world
        .shipfront("serve")
        .distribution(&distribution)
        .cloudfront_via(&cloudfront);
    assert_eq!(served(strict, &["/no/such.js"])[0].0, 403);
    // The release's [headers] and the stored headers come with the objects.
    let (mut server, port) =
        start_server(world.shipfront("serve").args(&["--port", "0"]).command());
    let page = ask(port, "GET", "/about/", &[]);
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(
        page.header("cache-control"),
        Some("public, max-age=0, must-revalidate")
    );
    server.kill().unwrap();
    let log = server.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&log.stderr);
    assert!(
        log.contains("GET /about/ rewrote to /about/index.html: 200"),
        "{log}"
    );
}

/// Bad input names what to fix: a release the bucket has not, a folder with `--release`,
/// `--trailing-slash` with a bucket, a bucket with no release, a bucket that does not exist.
/// A release deployed without the routing function is served as the distribution's settings
/// doctor advises serve it: `/` its default root object, a missing key the 404 page, or with
/// `--spa` the app's fallback page.
#[test]
fn serve_bucket_refuses_what_it_cannot_serve() {
    let world = crate::harness::World::new("serve-bucket-bad");
    world.shipfront_without_bucket("serve").run().fails(
        2,
        "give the build folder (shipfront serve dist), or --bucket NAME",
    );
    world
        .shipfront("serve")
        .run()
        .fails(2, "has no readable release record");
    let site = crate::harness::Site::new();
    build(&site, 1);
    world
        .shipfront("deploy")
        .site(&site)
        .args(&["--no-progress"])
        .ok();
    world
        .shipfront("serve")
        .args(&["--release", "20200101T000000.000Z-000000"])
        .run()
        .fails(2, "has no release `20200101T000000.000Z-000000`");
    world
        .shipfront("serve")
        .site(&site)
        .args(&["--release", "x"])
        .run()
        .fails(2, "drop the folder");
    world
        .shipfront("serve")
        .args(&["--trailing-slash", "always"])
        .run()
        .fails(2, "served with the routing it was deployed with");
    world
        .shipfront("serve")
        .bucket("no-such-bucket-here")
        .run()
        .fails(1, "no-such-bucket-here");
    // Without a function, `/` is the default root object and keys are served as they are.
    let answers = served(
        world.shipfront("serve"),
        &["/", "/about/index.html", "/about/"],
    );
    assert_eq!(
        answers,
        [
            answer(200, "<h1>home 1</h1>"),
            answer(200, "<h1>about 1</h1>"),
            answer(404, "<h1>lost 1</h1>"),
        ]
    );
    // An SPA routed by the distribution's error responses: a deep link gets the app.
    let spa = served(
        world.shipfront("serve").args(&["--spa"]),
        &["/settings/profile"],
    );
    assert_eq!(spa, [answer(200, "<h1>home 1</h1>")]);
}

/// An atomic site: the live release through the function and the pointer its record holds;
/// `--release` an earlier one by its prefix, after the bucket's current pages moved on.
#[test]
fn serve_bucket_serves_an_atomic_release_through_its_pointer() {
    let world = crate::harness::World::new("serve-bucket-atomic");
    let distribution = world.distribution("");
    let cloudfront = crate::harness::Proxy::start_cloudfront(&["--functions", "--kvs"]);
    let site = crate::harness::Site::new();
    build(&site, 1);
    site.file("assets/app-BbXQDiXP.js", "app 1");
    let deploy = || {
        world
            .shipfront("deploy")
            .site(&site)
            .distribution(&distribution)
            .args(&["--atomic", "--no-progress"])
            .cloudfront_via(&cloudfront)
            .ok();
    };
    deploy();
    build(&site, 2);
    site.remove("assets/app-BbXQDiXP.js")
        .file("assets/app-Cwq3PKq9.js", "app 2");
    deploy();
    let ids = release_ids(&world);
    let targets = [
        "/",
        "/about/",
        "/assets/app-BbXQDiXP.js",
        "/assets/app-Cwq3PKq9.js",
    ];
    assert_eq!(
        served(world.shipfront("serve"), &targets),
        [
            answer(200, "<h1>home 2</h1>"),
            answer(200, "<h1>about 2</h1>"),
            answer(200, "app 1"),
            answer(200, "app 2"),
        ]
    );
    let first = world.shipfront("serve").args(&["--release", &ids[1]]);
    assert_eq!(
        served(first, &targets[..3]),
        [
            answer(200, "<h1>home 1</h1>"),
            answer(200, "<h1>about 1</h1>"),
            answer(200, "app 1"),
        ]
    );
}
