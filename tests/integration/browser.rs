//! A real browser (issue 23): Debian's headless Chromium, driven by `tests/browser/drive.mjs`
//! (puppeteer-core), loads pages through `shipfront serve` as a visitor would: an SPA deep link,
//! a clean URL, a redirect and a 404 page, with `[headers]` on them; and version skew end to
//! end: a tab opened on release 1 of a real Vite build keeps working after release 2 is
//! deployed (its lazy chunk still loads), and a reload shows release 2. `scripts/test` installs
//! Chromium and puppeteer-core.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::harness::repo_root;
use crate::serve::start_server;

/// The Vite app of testdata: `v1` and `v2` builds of a page whose button lazily imports a chunk.
fn lazy_app(version: &str) -> PathBuf {
    repo_root().join("testdata/apps/lazy").join(version)
}

/// `node tests/browser/drive.mjs ARGS`, its stdin and stdout piped.
fn driver(args: &[&str]) -> std::process::Child {
    let browser = repo_root().join("tests/browser");
    assert!(
        browser.join("node_modules/puppeteer-core").is_dir(),
        "puppeteer-core is not installed: run scripts/test (it installs it and Chromium)"
    );
    Command::new("node")
        .arg(browser.join("drive.mjs"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start node")
}

/// Reads the driver's next JSON line.
fn next_step(lines: &mut impl Iterator<Item = std::io::Result<String>>) -> Value {
    let line = lines.next().expect("a line from the driver").unwrap();
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

/// The steps of a driver run to its end, with `done`'s list of failed requests checked empty.
fn steps_to_end(mut child: std::process::Child) -> Vec<Value> {
    let out = std::io::BufReader::new(child.stdout.take().unwrap());
    let steps: Vec<Value> = out
        .lines()
        .map(|line| serde_json::from_str(&line.unwrap()).unwrap())
        .collect();
    assert!(
        child.wait().unwrap().success(),
        "the driver failed: {steps:?}"
    );
    let done = steps.last().expect("a done step");
    assert_eq!(done["step"], "done", "{steps:?}");
    assert_eq!(done["failures"], serde_json::json!([]), "{steps:?}");
    steps
}

fn shows<'v>(step: &'v Value, what: &str) -> &'v str {
    step["shows"][what].as_str().unwrap_or_default()
}

const CSP: &str = "default-src 'self'";

/// An SPA deep link (the real Vite build, its module script run under the CSP), a clean URL of
/// a multi-page build, a redirect of shipfront.toml and a missing page: each as the browser
/// shows it, with the `[headers]` response header on it.
#[test]
fn a_browser_gets_deep_links_clean_urls_redirects_and_404s_through_serve() {
    let world = crate::harness::World::without_bucket("browser-pages");
    world.config(&format!(
        "[headers]\nContent-Security-Policy = \"{CSP}\"\n\n[[redirects]]\nfrom = \"/old\"\nto = \"/about/\"\n"
    ));
    let spa = lazy_app("v1");
    let spa = world.shipfront_without_bucket("serve").args(&[
        spa.to_str().unwrap(),
        "--spa",
        "--port",
        "0",
    ]);
    let (mut spa_server, spa_port) = start_server(spa.command());
    let pages = crate::harness::Site::new();
    pages
        .file(
            "index.html",
            "<!doctype html><title>home</title><h1>Home</h1>",
        )
        .file(
            "about/index.html",
            "<!doctype html><title>about</title><h1>About us</h1>",
        )
        .file(
            "404.html",
            "<!doctype html><title>lost</title><h1>Not found</h1>",
        );
    let invocation = world.shipfront_without_bucket("serve").site(&pages);
    let (mut pages_server, pages_port) = start_server(invocation.args(&["--port", "0"]).command());
    let urls = [
        format!("http://127.0.0.1:{spa_port}/settings/profile"),
        format!("http://127.0.0.1:{pages_port}/about"),
        format!("http://127.0.0.1:{pages_port}/old"),
        format!("http://127.0.0.1:{pages_port}/no/such/page"),
    ];
    let mut args = vec!["visit"];
    args.extend(urls.iter().map(String::as_str));
    let steps = steps_to_end(driver(&args));
    for step in &steps[..4] {
        assert_eq!(step["headers"]["content-security-policy"], CSP, "{step}");
    }
    let deep = &steps[0];
    assert_eq!(deep["status"], 200, "{deep}");
    assert_eq!(shows(deep, "h1"), "app v1", "the app's script ran: {deep}");
    assert_eq!(shows(deep, "where"), "at /settings/profile", "{deep}");
    let about = &steps[1];
    assert_eq!(
        about["final"],
        format!("http://127.0.0.1:{pages_port}/about/")
    );
    assert_eq!(about["redirects"], serde_json::json!([301]), "{about}");
    assert_eq!(shows(about, "h1"), "About us");
    let old = &steps[2];
    assert_eq!(
        old["final"],
        format!("http://127.0.0.1:{pages_port}/about/")
    );
    assert_eq!(shows(old, "h1"), "About us");
    // A missing page: the function adds the slash a page URL has here, then the 404 page.
    let missing = &steps[3];
    assert_eq!(missing["redirects"], serde_json::json!([301]), "{missing}");
    assert_eq!(
        (missing["status"].as_u64(), shows(missing, "h1")),
        (Some(404), "Not found")
    );
    for server in [&mut spa_server, &mut pages_server] {
        server.kill().unwrap();
        server.wait().unwrap();
    }
}

/// Version skew end to end: release 1 of the Vite app deployed to the emulator and opened in
/// the browser through `serve --bucket`; release 2 deployed (every chunk renamed); the open tab
/// then imports its lazy chunk, release 1's, which the deploy kept: it loads and the page works.
/// A reload shows release 2.
#[test]
fn an_open_tab_keeps_working_across_a_deploy() {
    let world = crate::harness::World::new("browser-skew");
    let deploy = |version: &str| {
        let dir = lazy_app(version);
        world
            .shipfront("deploy")
            .args(&[dir.to_str().unwrap(), "--no-progress"])
            .ok();
    };
    deploy("v1");
    let (mut server, port) =
        start_server(world.shipfront("serve").args(&["--port", "0"]).command());
    let url = format!("http://127.0.0.1:{port}/");
    let mut child = driver(&["skew", &url]);
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let loaded = next_step(&mut lines);
    assert_eq!(
        (loaded["step"].as_str(), shows(&loaded, "h1")),
        (Some("loaded"), "app v1")
    );

    deploy("v2");
    let objects = world.objects();
    assert!(
        objects.contains_key("assets/more-CRtd0OAv.js"),
        "{objects:?}"
    );
    assert!(
        objects.contains_key("assets/more-DoNQgMv1.js"),
        "kept: {objects:?}"
    );
    writeln!(stdin, "go").unwrap();
    drop(stdin);
    let clicked = next_step(&mut lines);
    assert_eq!(shows(&clicked, "lazy"), "more of v1", "{clicked}");
    assert_eq!(shows(&clicked, "h1"), "app v1", "{clicked}");
    let reloaded = next_step(&mut lines);
    assert_eq!(shows(&reloaded, "h1"), "app v2", "{reloaded}");
    let done = next_step(&mut lines);
    assert_eq!(done["failures"], serde_json::json!([]), "{done}");
    assert!(child.wait().unwrap().success());
    server.kill().unwrap();
    let log = server.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&log.stderr);
    assert!(
        log.contains("GET /assets/more-DoNQgMv1.js passed: 200"),
        "{log}"
    );
}
