//! Edge routing (issue 12): the function `shipfront routing` prints runs in Node, a real
//! JavaScript engine, against tables of request URIs, for builds laid out as the real framework
//! fixtures (`testdata/frameworks`) are.

use std::path::Path;

use crate::harness::{Run, Site, World, repo_root};

/// The file paths of a framework fixture's first build.
fn fixture_paths(framework: &str) -> Vec<String> {
    fixture_version(framework, 1)
}

/// The file paths of a framework fixture's build `version` (1 to 3).
pub(crate) fn fixture_version(framework: &str, version: u32) -> Vec<String> {
    let list = repo_root().join(format!("testdata/frameworks/{framework}/v{version}.tsv"));
    std::fs::read_to_string(list)
        .unwrap()
        .lines()
        .map(|line| line.split('\t').next().unwrap().to_owned())
        .collect()
}

/// The fixture's build as a folder of tiny files.
fn fixture_site(framework: &str) -> Site {
    let site = Site::new();
    for path in fixture_paths(framework) {
        site.file(&path, "x");
    }
    site
}

/// `shipfront routing DIR ARGS`, run where `world` keeps its shipfront.toml.
fn routing(world: &World, site: &Site, args: &[&str]) -> Run {
    world
        .shipfront_without_bucket("routing")
        .site(site)
        .args(args)
        .run()
}

/// Runs the function `source` on each request (`/path?query`) in Node: `rewrite URI`, `pass`
/// (untouched), or `STATUS LOCATION` for a redirect.
fn run_in_node(source: &str, requests: &[&str]) -> Vec<String> {
    run_in_node_with_kvs(source, requests, &std::collections::BTreeMap::new())
}

/// The same, for a function that reads a KeyValueStore holding `kvs`.
pub(crate) fn run_in_node_with_kvs(
    source: &str,
    requests: &[&str],
    kvs: &std::collections::BTreeMap<String, String>,
) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let function = dir.path().join("function.js");
    std::fs::write(&function, source).unwrap();
    let cases = dir.path().join("cases.json");
    std::fs::write(&cases, serde_json::to_string(requests).unwrap()).unwrap();
    let store = dir.path().join("kvs.json");
    std::fs::write(&store, serde_json::to_string(kvs).unwrap()).unwrap();
    let out = std::process::Command::new("node")
        .arg(repo_root().join("tests/support/run_function.js"))
        .arg(&function)
        .arg(&cases)
        .arg(&store)
        .output()
        .expect("node: install Node.js (scripts/test installs Debian's nodejs when it can)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Checks each `(request, expected)` through the function of `site`'s routing.
#[track_caller]
fn expect(world: &World, site: &Site, args: &[&str], table: &[(&str, &str)]) {
    let source = routing(world, site, args).ok().stdout;
    let requests: Vec<&str> = table.iter().map(|(r, _)| *r).collect();
    let got = run_in_node(&source, &requests);
    for ((request, want), got) in table.iter().zip(&got) {
        assert_eq!(got, want, "{request} with {args:?}");
    }
}

#[test]
fn single_page_apps_send_routes_to_their_fallback_and_leave_files_alone() {
    let world = World::without_bucket("routing-spa");
    let react = fixture_site("vite-react");
    let asset = fixture_paths("vite-react")
        .into_iter()
        .find(|p| p.ends_with(".js"))
        .unwrap();
    let asset_url = format!("/{asset}");
    expect(
        &world,
        &react,
        &["--spa"],
        &[
            ("/", "rewrite /index.html"),
            ("/settings/profile", "rewrite /index.html"),
            ("/settings/profile?tab=2", "rewrite /index.html"),
            (&asset_url, "pass"),
            ("/assets/index-gone1234.js", "pass"),
            // shipfront's records and lock: never served, however the path is encoded.
            (
                "/.shipfront/releases/20261128T000000.000Z-abcdef.json",
                "404",
            ),
            ("/%2Eshipfront/lock", "404"),
            ("/.shipfront-notes", "pass"),
        ],
    );
    expect(
        &world,
        &fixture_site("sveltekit-spa"),
        &["--spa-fallback", "200.html"],
        &[("/a/b", "rewrite /200.html"), ("/favicon.png", "pass")],
    );
    // A site under a prefix keeps its state under it.
    world.config("prefix = \"site\"\n");
    expect(
        &world,
        &react,
        &["--spa"],
        &[
            ("/site/.shipfront/lock", "404"),
            ("/.shipfront/lock", "rewrite /index.html"),
        ],
    );
}

#[test]
fn folder_style_builds_get_their_index_pages_and_a_slash() {
    let world = World::without_bucket("routing-folders");
    let table = [
        ("/", "rewrite /index.html"),
        ("/about/", "rewrite /about/index.html"),
        ("/about", "301 /about/"),
        ("/blog/first-post?ref=x&a=", "301 /blog/first-post/?ref=x&a"),
        ("/favicon.svg", "pass"),
    ];
    expect(&world, &fixture_site("astro"), &[], &table);
    expect(
        &world,
        &fixture_site("hugo"),
        &[],
        &[
            ("/posts/first-post/", "rewrite /posts/first-post/index.html"),
            ("/posts", "301 /posts/"),
        ],
    );
    expect(
        &world,
        &fixture_site("astro"),
        &["--trailing-slash", "never"],
        &[
            ("/about/", "301 /about"),
            ("/about", "rewrite /about/index.html"),
            ("/", "rewrite /index.html"),
        ],
    );
}

#[test]
fn file_style_builds_get_their_html_files_without_the_extension() {
    let world = World::without_bucket("routing-files");
    expect(
        &world,
        &fixture_site("next"),
        &[],
        &[
            ("/about", "rewrite /about.html"),
            ("/about/", "301 /about"),
            ("/", "rewrite /index.html"),
        ],
    );
    expect(
        &world,
        &fixture_site("vitepress"),
        &[],
        &[("/api-examples", "rewrite /api-examples.html")],
    );
    expect(
        &world,
        &fixture_site("next"),
        &["--trailing-slash", "always"],
        &[
            ("/about", "301 /about/"),
            ("/about/", "rewrite /about.html"),
        ],
    );
}

/// Page names with a dot (a version number) are pages, not files, when the build has them;
/// other dotted names still pass as files.
#[test]
fn pages_whose_names_have_a_dot_are_reached_by_their_clean_urls() {
    let world = World::without_bucket("routing-dotted");
    let folders = fixture_site("astro");
    folders
        .file("release-1.2/index.html", "r")
        .file("docs/v1.2/index.html", "d")
        .file("notes-2.0.html", "n");
    expect(
        &world,
        &folders,
        &[],
        &[
            ("/release-1.2/", "rewrite /release-1.2/index.html"),
            ("/release-1.2", "301 /release-1.2/"),
            ("/docs/v1.2", "301 /docs/v1.2/"),
            ("/docs/v1.2/", "rewrite /docs/v1.2/index.html"),
            ("/notes-2.0", "rewrite /notes-2.0.html"),
            ("/release-1.3", "pass"),
            ("/favicon.svg", "pass"),
        ],
    );
    let files = fixture_site("next");
    files.file("v2.5.html", "v");
    expect(
        &world,
        &files,
        &[],
        &[("/v2.5", "rewrite /v2.5.html"), ("/v2.6", "pass")],
    );
}

#[test]
fn redirects_match_exactly_or_by_prefix_keep_the_query_and_encode() {
    let world = World::without_bucket("routing-redirects");
    world.config(
        "[[redirects]]\nfrom = \"/old\"\nto = \"/new/\"\n\n\
         [[redirects]]\nfrom = \"/café\"\nto = \"/coffee/\"\nstatus = 308\n\n\
         [[redirects]]\nfrom = \"/c++\"\nto = \"/cpp/\"\n",
    );
    let site = fixture_site("astro");
    site.file(
        "_redirects",
        "# moved sections\n/blog/* /news/:splat 302\n/blog/special/* /special/:splat\n\
         /go https://example.com/landing#top 307\n/out/* /:splat\n/q /search?x=1\n",
    );
    expect(
        &world,
        &site,
        &[],
        &[
            ("/old", "301 /new/"),
            ("/old?utm=1&utm=2", "301 /new/?utm=1&utm=2"),
            ("/Old", "301 /Old/"),
            ("/caf%C3%A9", "308 /coffee/"),
            ("/blog/2020/x", "302 /news/2020/x"),
            ("/blog/special/y?z=1", "301 /special/y?z=1"),
            ("/go", "307 https://example.com/landing#top"),
            ("/about/", "rewrite /about/index.html"),
            ("/c++", "301 /cpp/"),
            ("/blog/$&x", "302 /news/$&x"),
            ("/out//evil.example", "301 /evil.example"),
            ("/q?y=2", "301 /search?x=1&y=2"),
        ],
    );
}

#[test]
fn bad_redirects_and_a_function_too_large_are_refused_naming_the_cause() {
    let world = World::without_bucket("routing-refused");
    let site = fixture_site("astro");
    site.file("_redirects", "/ok /fine\n/x /y 200\n/a/:id /b\n");
    let run = routing(&world, &site, &[]).fails(2, "_redirects:2: status 200 is not a redirect");
    assert!(
        run.stderr.contains("_redirects:3: the placeholder `:id`"),
        "{}",
        run.stderr
    );

    let many: String = (0..500).map(|i| format!("/old/{i} /new/{i}\n")).collect();
    site.file("_redirects", many);
    routing(&world, &site, &[]).fails(2, "over CloudFront's limit of 10240");
    assert!(!Path::new(&world.workdir.path().join("shipfront.toml")).exists());
}

#[test]
fn redirects_that_loop_or_leave_the_site_are_refused_naming_the_rules() {
    let world = World::without_bucket("routing-loops");
    let site = fixture_site("astro");
    site.file("_redirects", "/* /index.html\n");
    routing(&world, &site, &[]).fails(2, "round in a circle: /* -> /index.html;");
    site.file("_redirects", "/blog* https://blog.example.com:splat\n");
    routing(&world, &site, &[]).fails(2, "puts `:splat` in the URL's host");
    // A circle through both sources names both.
    world.config("[[redirects]]\nfrom = \"/a\"\nto = \"/b\"\n");
    site.file("_redirects", "/old/* /new/:splat\n/b /a\n");
    let run = routing(&world, &site, &[]).fails(2, "/a -> /b, then /b -> /a");
    assert!(
        run.stderr.contains("[[redirects]] and `") && run.stderr.contains("_redirects`:"),
        "{}",
        run.stderr
    );
}

/// The adapter's function calls that the emulator serves (CreateFunction, GetFunction at both
/// stages, and reading the viewer-request association), through the real SDK. moto 5.2.5 has
/// no UpdateFunction or PublishFunction and does not keep function associations: those are
/// checked against the in-memory CloudFront only (`apply::tests`).
#[test]
fn the_routing_function_is_created_and_read_back_through_the_sdk() {
    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
    use shipfront::store::Cdn;
    let world = World::new("routing-sdk");
    let distribution = world.distribution("");
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(crate::harness::moto_cloudfront())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing", "testing", None, None, "tests",
        )))
        .build();
    let cdn = shipfront::aws::CloudFrontCdn::new(&sdk);
    let name = shipfront::core::routing::function_name(&distribution);
    let code = "function handler(event) { return event.request; }\n";
    crate::harness::block_on(async {
        assert_eq!(cdn.function_code(&name, false).await.unwrap(), None);
        let etag = cdn.put_function(&name, code, None, None).await.unwrap();
        assert!(!etag.is_empty());
        let (read, _) = cdn.function_code(&name, false).await.unwrap().unwrap();
        assert_eq!(read, code);
        assert_eq!(
            cdn.viewer_request_function(&distribution).await.unwrap(),
            None
        );
    });
}

/// `deploy --routing` end to end through the real SDK: CloudFront Functions and the
/// viewer-request association come from the test proxy's stand-in (`--functions`), since the
/// emulator lacks UpdateFunction, PublishFunction and associations; the rest is the emulator.
#[test]
fn deploy_publishes_the_routing_function_once_and_rollback_restores_it() {
    let world = World::new("routing-deploy");
    let distribution = world.distribution("");
    let proxy = crate::harness::Proxy::start_cloudfront(&["--functions"]);
    let site = fixture_site("astro");
    let run = |args: &[&str]| {
        world
            .shipfront("deploy")
            .site(&site)
            .distribution(&distribution)
            .args(&["--routing"])
            .args(args)
            .cloudfront_via(&proxy)
            .run()
    };
    let name = format!("shipfront-{distribution}");
    let first = run(&["--no-progress"]).ok();
    assert!(
        first
            .stderr
            .contains(&format!("published the routing function `{name}`")),
        "{}",
        first.stderr
    );
    let dry = run(&["--dry-run"]).ok();
    assert!(
        dry.stdout
            .contains(&format!("routing function `{name}`: unchanged")),
        "read back live and associated: {}",
        dry.stdout
    );

    // A file-style page changes the layout's exceptions: a new function.
    site.file("contact.html", "x");
    let dry = run(&["--dry-run"]).ok();
    assert!(
        dry.stdout.contains("published, and run on viewer requests"),
        "{}",
        dry.stdout
    );
    let second = run(&["--no-progress"]).ok();
    assert!(
        second.stderr.contains("published the routing function"),
        "{}",
        second.stderr
    );
    let stats = proxy.stats();
    assert_eq!(
        stats.get("functions_post").copied(),
        Some(3),
        "create, publish, publish: {stats:?}"
    );
    assert_eq!(
        stats.get("functions_put").copied(),
        Some(1),
        "one update: {stats:?}"
    );

    // Rolling back to the first release publishes its function again.
    let back = world
        .shipfront("rollback")
        .distribution(&distribution)
        .cloudfront_via(&proxy)
        .ok();
    assert!(
        back.stderr.contains("published the routing function"),
        "{}",
        back.stderr
    );
    site.remove("contact.html");
    let dry = run(&["--dry-run"]).ok();
    assert!(
        dry.stdout
            .contains(&format!("routing function `{name}`: unchanged")),
        "the first build's function is live again: {}",
        dry.stdout
    );
}
