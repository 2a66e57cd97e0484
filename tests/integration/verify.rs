//! Verify after deploy (issue 24), end to end: `shipfront serve --bucket` stands in for
//! CloudFront, a fault proxy between it and the bucket spoils what visitors get (a wrong
//! Content-Type, a 503 that never heals, a missing object). A good deploy verifies; a spoiled
//! one fails, names each URL and what differed, exits 1, and an atomic site's `live` is back on
//! the release before (an in-place one is told the rollback command).

use crate::harness::{Invocation, Proxy, Site, World};
use crate::serve::start_server;

/// `serve --bucket` of `world` reaching S3 through `s3` (a fault proxy, or none): its address.
fn edge(world: &World, s3: Option<&Proxy>) -> (std::process::Child, String) {
    let mut serve = world.shipfront("serve").args(&["--port", "0"]);
    if let Some(proxy) = s3 {
        serve = serve.via(proxy);
    }
    let (server, port) = start_server(serve.command());
    (server, format!("http://127.0.0.1:{port}"))
}

fn stop(mut server: std::process::Child) {
    server.kill().unwrap();
    server.wait().unwrap();
}

/// The release `live` points at, as `releases --atomic` reads it.
fn live(world: &World, distribution: &str, cloudfront: &Proxy) -> String {
    let listed = world
        .shipfront("releases")
        .distribution(distribution)
        .cloudfront_via(cloudfront)
        .args(&["--atomic"])
        .json()
        .ok()
        .json();
    listed["pointer"]["release"].as_str().unwrap().to_owned()
}

fn build(site: &Site, n: u32) {
    site.file("index.html", format!("<h1>home {n}</h1>"))
        .file("about/index.html", format!("<h1>about {n}</h1>"))
        .file(&format!("assets/app-{n:08x}.js"), format!("app {n}"));
}

#[test]
fn an_atomic_deploy_verifies_or_switches_back() {
    let world = World::new("verify-atomic");
    let distribution = world.distribution("");
    let cloudfront = Proxy::start_cloudfront(&["--functions", "--kvs"]);
    world.config("atomic = true\n");
    let site = Site::new();
    let deploy = |verify: &str| -> Invocation<'_> {
        world
            .shipfront("deploy")
            .site(&site)
            .distribution(&distribution)
            .cloudfront_via(&cloudfront)
            .args(&[
                "--no-progress",
                "--verify",
                verify,
                "--verify-timeout",
                "1s",
            ])
            .json()
    };
    build(&site, 1);
    world
        .shipfront("deploy")
        .site(&site)
        .distribution(&distribution)
        .cloudfront_via(&cloudfront)
        .args(&["--no-progress"])
        .ok();
    let (clean, clean_url) = edge(&world, None);

    build(&site, 2);
    let good = deploy(&clean_url).ok().json();
    let verified = &good["verify"];
    assert_eq!(verified["mismatches"], serde_json::json!([]), "{good}");
    assert!(verified["checked"].as_u64().unwrap() >= 3, "{good}");
    let second = good["release"].as_str().unwrap().to_owned();
    assert_eq!(live(&world, &distribution, &cloudfront), second);

    for (fault, match_, said) in [
        ("content-type", "index.html", "Content-Type `text/plain`"),
        ("503", "/about/", "status 502, not 200"),
        ("missing", "assets/app-", "status 403, not 200"),
    ] {
        let spoiler = Proxy::start(&["--read-fault", fault, "--read-match", match_]);
        let (spoiled, spoiled_url) = edge(&world, Some(&spoiler));
        site.file("index.html", format!("<h1>home {fault}</h1>"));
        let run = deploy(&spoiled_url).run();
        let failed = run.fails(1, "verification failed");
        assert!(failed.stderr.contains(said), "{fault}: {}", failed.stderr);
        assert!(
            failed
                .stderr
                .contains(&format!("switched `live` back to release {second}")),
            "{fault}: {}",
            failed.stderr
        );
        let document: serde_json::Value = serde_json::from_str(&failed.stdout).unwrap();
        let mismatches = document["verify"]["mismatches"].as_array().unwrap();
        assert!(!mismatches.is_empty(), "{document}");
        assert_eq!(live(&world, &distribution, &cloudfront), second, "{fault}");
        stop(spoiled);
    }
    stop(clean);
}

/// In place, a failed verification cannot switch back: it exits 1 with the command that puts
/// the release before back, and the record keeps what was found.
#[test]
fn an_in_place_deploy_that_fails_verification_says_how_to_roll_back() {
    let world = World::new("verify-in-place");
    let site = Site::new();
    build(&site, 1);
    world
        .shipfront("deploy")
        .site(&site)
        .args(&["--no-progress"])
        .ok();
    let spoiler = Proxy::start(&["--read-fault", "content-type", "--read-match", "index.html"]);
    let (spoiled, url) = edge(&world, Some(&spoiler));
    build(&site, 2);
    let failed = world
        .shipfront("deploy")
        .site(&site)
        .args(&["--no-progress", "--verify", &url, "--verify-timeout", "1s"])
        .run()
        .fails(1, "verification failed");
    assert!(
        failed.stderr.contains("`shipfront rollback`"),
        "{}",
        failed.stderr
    );
    assert!(
        failed.stdout.contains("/: Content-Type `text/plain`"),
        "{}",
        failed.stdout
    );
    // `shipfront verify` at any time: the live release passes through a sound edge, fails
    // through the spoiled one; the first release, no longer live, differs.
    let (clean, clean_url) = edge(&world, None);
    let verify = |url: &str, more: &[&str]| {
        world
            .shipfront("verify")
            .args(&[url, "--timeout", "1s"])
            .args(more)
            .run()
    };
    let passed = verify(&clean_url, &[]).ok();
    assert!(
        passed
            .stdout
            .contains("each answers as the release wrote it"),
        "{}",
        passed.stdout
    );
    verify(&url, &[]).fails(1, "Content-Type `text/plain`");
    let first = world.releases().last().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    verify(&clean_url, &["--release", &first]).fails(1, "/: a body of MD5");
    stop(clean);
    stop(spoiled);
    // Bad input: no address to ask, a malformed one.
    world
        .shipfront("deploy")
        .site(&site)
        .args(&["--verify"])
        .run()
        .fails(2, "pass --distribution-id ID, or the address");
    world
        .shipfront("deploy")
        .site(&site)
        .args(&["--verify", "www.example.com"])
        .run()
        .fails(2, "give an address starting with https://");
}
