//! What a deploy does to a bucket: keys, bytes, headers, deletions, and what it sends.

use crate::harness::{Proxy, Site, World};

fn basic_site() -> Site {
    let site = Site::new();
    site.file(
        "index.html",
        "<html><script src=\"/assets/app.3f2a1b9c.js\"></script></html>",
    )
    .file("about/index.html", "<h1>about</h1>")
    .file("assets/app.3f2a1b9c.js", "console.log(1)")
    .file("style.css", "body{}")
    .file(".well-known/security.txt", "Contact: mailto:x@example.com")
    .file(".DS_Store", "junk")
    .file("docs/getting started.html", "<p>start</p>")
    .file("a+b.txt", "plus")
    .file("c#d.txt", "hash")
    .file("café/ü.txt", "unicode")
    .file("sw.js", "self.addEventListener('fetch', () => {})");
    site
}

#[test]
fn first_deploy_makes_bucket_equal_folder_with_exact_keys_and_headers() {
    let world = World::new("first-deploy");
    let site = basic_site();
    let run = world.shipfront("deploy").site(&site).ok();
    assert!(run.stdout.contains("uploaded 10"), "{}", run.stdout);

    let mut want = site.md5s("");
    want.remove(".DS_Store");
    assert_eq!(world.objects(), want);
    for key in [
        "a+b.txt",
        "c#d.txt",
        "café/ü.txt",
        "docs/getting started.html",
    ] {
        assert_eq!(
            world.get(key),
            std::fs::read(site.path().join(key)).unwrap(),
            "{key}"
        );
    }
    let cases = [
        (
            "index.html",
            "text/html; charset=utf-8",
            "public, max-age=0, must-revalidate",
        ),
        (
            "assets/app.3f2a1b9c.js",
            "text/javascript; charset=utf-8",
            "public, max-age=31536000, immutable",
        ),
        (
            "style.css",
            "text/css; charset=utf-8",
            "public, max-age=3600",
        ),
        (
            "sw.js",
            "text/javascript; charset=utf-8",
            "public, max-age=0, must-revalidate",
        ),
        (
            ".well-known/security.txt",
            "text/plain; charset=utf-8",
            "public, max-age=3600",
        ),
    ];
    for (key, ctype, cache) in cases {
        assert_eq!(
            world.headers(key),
            (ctype.to_owned(), cache.to_owned()),
            "{key}"
        );
    }
}

#[test]
fn redeploy_with_fresh_mtimes_sends_only_the_changed_file() {
    let world = World::new("redeploy");
    let site = basic_site();
    world.shipfront("deploy").site(&site).ok();
    // A new CI build: every file rewritten (fresh mtimes), one changed.
    for (key, _) in site.md5s("") {
        let body = std::fs::read(site.path().join(&key)).unwrap();
        site.file(&key, body);
    }
    site.file("style.css", "body{color:red}");

    let proxy = Proxy::start(&[]);
    let run = world.shipfront("deploy").site(&site).via(&proxy).ok();
    assert!(run.stdout.contains("uploaded 1 "), "{}", run.stdout);
    assert!(run.stdout.contains("unchanged 9"), "{}", run.stdout);
    let stats = proxy.stats();
    // One site write; shipfront's own: the lock, the release record, the lock's removal.
    assert_eq!(stats.get("site_writes"), Some(&1), "{stats:?}");
    assert_eq!(stats.get("state_writes"), Some(&3), "{stats:?}");
    // Listed once to plan, once more under the lock.
    assert_eq!(stats.get("list"), Some(&2), "{stats:?}");
    assert_eq!(stats.get("head"), None, "no HEAD per object: {stats:?}");
    assert_eq!(
        stats.get("writes_setting_acl"),
        None,
        "never an ACL: {stats:?}"
    );
    assert_eq!(
        stats.get("writes_setting_encryption"),
        None,
        "the bucket's default encryption applies: {stats:?}"
    );
    assert_eq!(stats.get("writes_without_checksum"), None, "{stats:?}");
    assert_eq!(world.objects()["style.css"], site.md5s("")["style.css"]);
}

#[test]
fn identical_redeploy_makes_no_writes_and_one_list_per_thousand_keys() {
    let world = World::new("identical");
    let site = Site::new();
    site.file("index.html", "<h1>home</h1>");
    for i in 0..1200 {
        site.file(&format!("p/{i:04}.txt"), format!("file {i}"));
    }
    world
        .shipfront("deploy")
        .site(&site)
        .args(&["--no-progress"])
        .ok();

    let proxy = Proxy::start(&[]);
    let run = world.shipfront("deploy").site(&site).via(&proxy).ok();
    assert!(run.stdout.contains("uploaded 0 "), "{}", run.stdout);
    assert!(run.stdout.contains("unchanged 1201"), "{}", run.stdout);
    let stats = proxy.stats();
    assert_eq!(stats.get("writes"), None, "{stats:?}");
    assert_eq!(
        stats.get("list"),
        Some(&2),
        "1201 keys = 2 pages: {stats:?}"
    );
}

#[test]
fn stale_keys_are_deleted_but_state_prefix_and_no_delete_are_respected() {
    let world = World::new("stale");
    world.put(".shipfront/keep.txt", "shipfront's own");
    world.put("old.html", "old");
    world.put("assets/old.js", "old");
    let site = Site::new();
    site.file("index.html", "new");

    world
        .shipfront("deploy")
        .site(&site)
        .args(&["--no-delete"])
        .ok();
    let keys: Vec<String> = world.objects().into_keys().collect();
    assert_eq!(keys, ["assets/old.js", "index.html", "old.html"]);

    let run = world.shipfront("deploy").site(&site).ok();
    assert!(run.stdout.contains("deleted 2"), "{}", run.stdout);
    let keys: Vec<String> = world.objects().into_keys().collect();
    assert_eq!(keys, ["index.html"]);
    // shipfront's own keys are never deleted: the foreign one stays beside two release records.
    let state = world.state_keys();
    assert_eq!(state.len(), 3, "{state:?}");
    assert_eq!(state[0], ".shipfront/keep.txt");
    assert!(
        state[1..]
            .iter()
            .all(|k| k.starts_with(".shipfront/releases/")),
        "{state:?}"
    );
}

#[test]
fn max_deletes_refuses_before_any_write() {
    let world = World::new("max-deletes");
    for k in ["a.html", "b.html", "c.html"] {
        world.put(k, "stale");
    }
    let site = Site::new();
    site.file("index.html", "new");
    let before = world.objects();
    world
        .shipfront("deploy")
        .site(&site)
        .args(&["--max-deletes", "2"])
        .run()
        .fails(2, "deletes 3 objects")
        .fails(2, "--max-deletes 3");
    assert_eq!(world.objects(), before, "nothing may be written");
    world
        .shipfront("deploy")
        .site(&site)
        .args(&["--max-deletes", "3"])
        .ok();
    assert_eq!(world.objects().len(), 1);
}

#[test]
fn dry_run_prints_reasons_and_writes_nothing() {
    let world = World::new("dry-run");
    world.put("gone.txt", "x");
    // A script may still be fetched by a page open before the deploy: kept a release.
    world.put("gone.js", "x");
    world.put("style.css", "old");
    let site = Site::new();
    site.file("index.html", "<h1>x</h1>")
        .file("style.css", "new");

    let proxy = Proxy::start(&[]);
    let run = world
        .shipfront("deploy")
        .site(&site)
        .dry_run()
        .via(&proxy)
        .ok();
    for want in [
        "upload   content changed  style.css",
        "upload   new              index.html",
        "delete   stale            gone.txt",
        "keep     old asset        gone.js",
        "(1 hour: not fingerprinted)",
        "nothing was written",
    ] {
        assert!(
            run.stdout.contains(want),
            "missing {want:?} in\n{}",
            run.stdout
        );
    }
    let run = world
        .shipfront("deploy")
        .site(&site)
        .dry_run()
        .json()
        .via(&proxy)
        .ok();
    let json = run.json();
    assert_eq!(json["dry_run"], true);
    let actions = json["plan"]["actions"].as_array().unwrap();
    let summary: Vec<(String, String, String)> = actions
        .iter()
        .map(|a| {
            (
                a["key"].as_str().unwrap().to_owned(),
                a["action"].as_str().unwrap().to_owned(),
                a["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "style.css".into(),
                "upload".into(),
                "content_changed".into()
            ),
            ("index.html".into(), "upload".into(), "new".into()),
            ("gone.txt".into(), "delete".into(), "stale".into()),
        ]
    );
    assert_eq!(actions[0]["cache_reason"], "1 hour: not fingerprinted");
    assert_eq!(json["plan"]["kept_assets"]["gone.js"], 1);
    assert_eq!(
        proxy.stats().get("writes"),
        None,
        "a dry run sends no write"
    );
    assert_eq!(world.get("style.css"), b"old");
}

#[test]
fn json_result_reports_every_write_with_its_version() {
    let world = World::new("json");
    let site = Site::new();
    site.file("index.html", "<h1>x</h1>").file("a.css", "a{}");
    let run = world.shipfront("deploy").site(&site).json().ok();
    let json = run.json();
    assert_eq!(json["dry_run"], false);
    assert_eq!(json["result"]["uploaded"], 2);
    let writes = json["result"]["writes"].as_array().unwrap();
    let keys: Vec<&str> = writes.iter().map(|w| w["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["a.css", "index.html"], "assets before the root page");
    for w in writes {
        assert!(
            w["version_id"].as_str().is_some_and(|v| !v.is_empty()),
            "{w}"
        );
    }
    // Logs stay off stdout, so it parses as one document.
    assert!(run.stderr.contains("uploaded index.html"), "{}", run.stderr);
}

#[test]
fn prefix_scopes_listing_writes_and_deletes() {
    let world = World::new("prefix");
    world.put("other/keep.html", "not ours");
    world.put("site/stale.html", "ours");
    let site = Site::new();
    site.file("index.html", "home");
    world
        .shipfront("deploy")
        .site(&site)
        .args(&["--prefix", "/site"])
        .ok();
    let keys: Vec<String> = world.objects().into_keys().collect();
    assert_eq!(keys, ["other/keep.html", "site/index.html"]);
}

#[test]
fn config_file_env_and_flags_layer() {
    let world = World::new("config");
    world.config(&format!(
            "bucket = \"{}\"\nprefix = \"from-file\"\n\n[[rules]]\nmatch = \"**/*.css\"\ncache_control = \"no-cache\"\n",
            world.bucket
        ));
    let site = Site::new();
    site.file("index.html", "home").file("css/a.css", "a{}");
    let deploy = || {
        world
            .shipfront_without_bucket("deploy")
            .site(&site)
            .env("SHIPFRONT_PREFIX", "from-env")
    };
    // The file gives bucket, prefix and rules; the environment overrides the prefix...
    deploy().ok();
    assert_eq!(world.headers("from-env/css/a.css").1, "no-cache");
    // ...and a flag overrides the environment.
    deploy().args(&["--prefix", "from-flag"]).ok();
    let keys: Vec<String> = world.objects().into_keys().collect();
    assert_eq!(
        keys,
        [
            "from-env/css/a.css",
            "from-env/index.html",
            "from-flag/css/a.css",
            "from-flag/index.html"
        ]
    );
}

#[test]
fn large_files_upload_in_parts_and_match_their_multipart_etag() {
    let world = World::new("multipart");
    world.config("[deploy]\npart_size_mib = 5\n");
    let site = Site::new();
    let big: Vec<u8> = (0..11u32 << 20).map(|i| (i % 253) as u8).collect();
    site.file("index.html", "home").file("video.bin", &big);
    let proxy = Proxy::start(&[]);
    world.shipfront("deploy").site(&site).via(&proxy).ok();
    let stats = proxy.stats();
    assert_eq!(stats.get("upload_part"), Some(&3), "{stats:?}");
    assert_eq!(stats.get("writes_without_checksum"), None, "{stats:?}");
    assert!(world.objects()["video.bin"].ends_with("-3"));
    assert_eq!(world.get("video.bin"), big);
    // Unchanged on the next deploy: the local multipart ETag matches.
    let run = world.shipfront("deploy").site(&site).ok();
    assert!(run.stdout.contains("uploaded 0 "), "{}", run.stdout);
}

#[test]
fn progress_lines_in_ci_and_none_with_no_progress() {
    let world = World::new("progress");
    let site = Site::new();
    site.file("index.html", "home").file("a.css", "a{}");
    let run = world.shipfront("deploy").site(&site).ok();
    assert!(run.stderr.contains("assets: 1 write,"), "{}", run.stderr);
    assert!(
        run.stderr.contains("uploaded a.css (new, 3 B)"),
        "{}",
        run.stderr
    );
    site.file("a.css", "b{}");
    let run = world
        .shipfront("deploy")
        .site(&site)
        .args(&["--no-progress"])
        .ok();
    assert_eq!(run.stderr, "", "no progress output");
    assert!(
        run.stdout.starts_with("deployed to s3://"),
        "{}",
        run.stdout
    );
}

#[test]
fn endpoint_url_flag_reaches_an_s3_compatible_store_path_style() {
    let world = World::new("endpoint-flag");
    let site = Site::new();
    site.file("index.html", "home");
    world
        .shipfront("deploy")
        .site(&site)
        .args(&[
            "--endpoint-url",
            &world.endpoint,
            "--region",
            "eu-central-1",
        ])
        .env_remove("AWS_ENDPOINT_URL_S3")
        .env_remove("AWS_REGION")
        .ok();
    assert_eq!(world.objects(), site.md5s(""));
}

#[test]
fn profile_flag_reads_credentials_from_the_aws_files() {
    let world = World::new("profile");
    let home = world.workdir.path();
    std::fs::write(
        home.join("no-aws-credentials"),
        "[deploy-role]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    )
    .unwrap();
    std::fs::write(
        home.join("no-aws-config"),
        "[profile deploy-role]\nregion = us-east-1\n",
    )
    .unwrap();
    let site = Site::new();
    site.file("index.html", "home");
    world
        .shipfront("deploy")
        .site(&site)
        .args(&["--profile", "deploy-role"])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_REGION")
        .ok();
    assert_eq!(world.objects(), site.md5s(""));
}

#[test]
fn progress_bars_on_a_terminal() {
    // `script` gives the deploy a pseudo-terminal, as a developer's shell would.
    let world = World::new("tty");
    let site = Site::new();
    site.file("index.html", "home").file("a.css", "a{}");
    let run = world.shipfront("deploy").site(&site).on_terminal().ok();
    // Bars draw with a prefix per phase and a files counter; the plain CI lines do not appear.
    assert!(run.stdout.contains("root page"), "{}", run.stdout);
    assert!(run.stdout.contains("1/1 files"), "{}", run.stdout);
    assert!(
        !run.stdout.contains("uploaded a.css (new"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("deployed to s3://"), "{}", run.stdout);
}

/// Issue 11: moving from `aws s3 sync`, whose objects have the same bytes but other headers.
/// The first deploy reads their headers (once; no record says them yet) and fixes the ones that
/// differ in place, so the record it writes is true.
#[test]
fn the_first_deploy_fixes_the_headers_another_tool_left() {
    let world = World::new("adopt-headers");
    let site = Site::new();
    site.file("index.html", "<h1>hi</h1>")
        .file("app.css", "a{}");
    for (key, body) in [("index.html", "<h1>hi</h1>"), ("app.css", "a{}")] {
        world.put(key, body);
    }
    let run = world
        .shipfront("deploy")
        .site(&site)
        .args(&["--no-progress"])
        .ok();
    assert!(run.stdout.contains("headers updated 2"), "{}", run.stdout);
    assert_eq!(
        world.headers("index.html"),
        (
            "text/html; charset=utf-8".to_owned(),
            "public, max-age=0, must-revalidate".to_owned()
        )
    );
    let again = world
        .shipfront("deploy")
        .site(&site)
        .args(&["--no-progress"])
        .ok();
    assert!(again.stdout.contains("unchanged 2"), "{}", again.stdout);
}
