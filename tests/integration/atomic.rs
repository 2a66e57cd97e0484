//! Atomic releases (issue 22), first part: the routing function of an atomic site, run in Node
//! with a stand-in for CloudFront's `cloudfront` module and its KeyValueStore, sends every file
//! of every real framework fixture build to the key the placement gave it: the pool at its own
//! name, or the live release's prefix. The function and the placement decide alike.

use std::collections::BTreeMap;

use shipfront::core::atomic::{self, LIVE_KEY};
use shipfront::core::fingerprint::Evidence;
use shipfront::core::routing::{Mode, RoutingConfig, RoutingInputs, TrailingSlash};

use crate::harness::repo_root;
use crate::routing::{fixture_version, run_in_node_with_kvs};

const ID: &str = "20261206T031228.031Z-97afb3";
const RELEASES: &str = "/_releases/";

/// A path as CloudFront hands it to the function: percent-encoded as a browser sends it.
fn url(rel: &str) -> String {
    format!("/{}", shipfront::core::routing::encode_path(rel))
}

#[test]
fn every_file_of_every_fixture_reaches_the_key_it_was_placed_at() {
    let frameworks = std::fs::read_dir(repo_root().join("testdata/frameworks")).unwrap();
    let (mut checked, mut pooled) = (0, 0);
    for entry in frameworks {
        let path = entry.unwrap().path();
        if !path.is_dir() {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for version in 1..=3 {
            let rels = fixture_version(&name, version);
            if rels.is_empty() {
                continue;
            }
            let (files, pool) = check_build(&name, version, &rels);
            checked += files;
            pooled += pool;
        }
    }
    assert!(checked > 1000, "only {checked} files checked");
    // Both sides are exercised: the pool and the releases.
    assert!(
        pooled > 200 && checked - pooled > 200,
        "{pooled} of {checked} pooled"
    );
}

/// The atomic routing function of a multi-page build of `rels` with `redirects`, its state
/// prefix at the bucket's root, served by the origin.
fn atomic_source(rels: &[String], redirects: Vec<shipfront::core::routing::Redirect>) -> String {
    let config = RoutingConfig {
        mode: Mode::Pages,
        trailing_slash: TrailingSlash::AsBuilt,
        redirects,
        hidden: None,
        preview_domain: None,
    };
    let rels = rels.iter().map(String::as_str);
    let inputs = RoutingInputs::of(rels, &config, ".shipfront/", Some(""));
    atomic::function(&inputs, RELEASES).unwrap()
}

/// Runs the atomic function of the build `rels` on the URL of each of its files; returns how
/// many were checked, and how many of them are in the pool.
fn check_build(name: &str, version: u32, rels: &[String]) -> (usize, usize) {
    let evidence = Evidence::new(rels.iter().map(String::as_str));
    let placement = atomic::place(rels.iter().map(String::as_str), &evidence, ID);
    let mut kvs = BTreeMap::from([(LIVE_KEY.to_owned(), placement.pointer(ID).value())]);
    for uri in &placement.exceptions {
        kvs.insert(atomic::exception_key(ID, uri), "1".to_owned());
    }
    let source = atomic_source(rels, Vec::new());
    let requests: Vec<String> = rels.iter().map(|rel| url(rel)).collect();
    let requests: Vec<&str> = requests.iter().map(String::as_str).collect();
    let got = run_in_node_with_kvs(&source, &requests, &kvs);
    for ((rel, request), got) in rels.iter().zip(&requests).zip(&got) {
        let want = if placement.pool.contains(rel) {
            "pass".to_owned()
        } else {
            assert!(placement.release.contains(rel), "{rel} placed nowhere");
            format!("rewrite {RELEASES}{ID}{request}")
        };
        assert_eq!(got, &want, "{name} v{version}: {rel}");
    }
    (rels.len(), placement.pool.len())
}

/// Pages reached by their clean URLs land in the live release too, redirects and the
/// state prefix's 404 are answered before the pointer is read, and a pointer switched to
/// another release moves every page with it.
#[test]
fn clean_urls_follow_the_pointer_and_answers_come_first() {
    let rels: Vec<String> = [
        "index.html",
        "about/index.html",
        "assets/app-BbXQDiXP.js",
        "assets/b-Cwq-3PKq.css",
    ]
    .map(str::to_owned)
    .to_vec();
    let evidence = Evidence::new(rels.iter().map(String::as_str));
    let placement = atomic::place(rels.iter().map(String::as_str), &evidence, ID);
    let redirect = shipfront::core::routing::Redirect::new("/old", "/about/", 301).unwrap();
    let source = atomic_source(&rels, vec![redirect]);
    let requests = [
        "/",
        "/about/",
        "/about",
        "/old",
        "/.shipfront/lock",
        "/assets/app-BbXQDiXP.js",
    ];
    for id in [ID, "20261207T000000.000Z-000000"] {
        let kvs = BTreeMap::from([(LIVE_KEY.to_owned(), placement.pointer(id).value())]);
        let got = run_in_node_with_kvs(&source, &requests, &kvs);
        let want = [
            format!("rewrite {RELEASES}{id}/index.html"),
            format!("rewrite {RELEASES}{id}/about/index.html"),
            "301 /about/".to_owned(),
            "301 /about/".to_owned(),
            "404".to_owned(),
            "pass".to_owned(),
        ];
        assert_eq!(got, want, "pointer at {id}");
    }
}

/// The S3 adapter's `copy_version` against the emulator: an atomic release copies the files it
/// shares with the previous one from that release's keys, a given version or the current one,
/// bytes and headers with them, whatever the name holds (a space, a plus).
#[test]
fn copy_version_copies_a_given_or_the_current_version_server_side() {
    use shipfront::store::ObjectStore;
    let world = crate::harness::World::new("atomic-copy");
    let put = |key: &str, body: &'static str| {
        crate::harness::block_on(async {
            world
                .client
                .put_object()
                .bucket(&world.bucket)
                .key(key)
                .body(body.as_bytes().to_vec().into())
                .content_type("text/html; charset=utf-8")
                .cache_control("no-cache")
                .send()
                .await
                .unwrap()
                .version_id()
                .unwrap()
                .to_owned()
        })
    };
    let source = "_releases/r1/docs/a b+c.html";
    let first = put(source, "v1");
    put(source, "v2");
    let store =
        shipfront::aws::S3Store::new(&crate::integrity::sdk(&world.endpoint), &world.bucket, true);
    crate::harness::block_on(async {
        store
            .copy_version("_releases/r2/docs/a b+c.html", source, Some(&first))
            .await
            .unwrap();
        store
            .copy_version("_releases/r3/docs/a b+c.html", source, None)
            .await
            .unwrap();
    });
    assert_eq!(world.get("_releases/r2/docs/a b+c.html"), b"v1");
    assert_eq!(world.get("_releases/r3/docs/a b+c.html"), b"v2");
    assert_eq!(
        world.headers("_releases/r2/docs/a b+c.html"),
        ("text/html; charset=utf-8".to_owned(), "no-cache".to_owned())
    );
}

/// The KeyValueStore adapter through the SDK (SigV4A-signed) against the fault proxy's
/// stand-in for the data plane, which the emulator lacks: the switch writes the exception
/// keys and the pointer, a stale ETag is a conflict, and a switch planned against a pointer
/// no longer live is refused.
#[test]
fn the_kvs_adapter_switches_the_pointer_and_detects_a_race() {
    use shipfront::core::atomic::Pointer;
    use shipfront::store::KeyValueStore;
    const ARN: &str =
        "arn:aws:cloudfront::123456789012:key-value-store/9a1b2c3d-0000-4000-8000-000000000001";
    let proxy = crate::harness::Proxy::start(&["--kvs"]);
    let kvs = shipfront::aws::KvsStore::new(&crate::integrity::sdk(&proxy.endpoint), ARN);
    let pointer = |id: &str| Pointer {
        release: id.to_owned(),
        pool_folders: vec!["/assets/".to_owned()],
    };
    crate::harness::block_on(async {
        let (live, first_etag) = kvs.get(LIVE_KEY).await.unwrap();
        assert_eq!(live, None);
        let exceptions = ["x/r1/assets/data.json".to_owned()];
        let switched = shipfront::run::switch::switch(&kvs, &pointer("r1"), &exceptions, None)
            .await
            .unwrap();
        assert_eq!(switched.writes, 2);
        let (live, _) = kvs.get(LIVE_KEY).await.unwrap();
        assert_eq!(live, Some(pointer("r1").value()));
        let (marked, _) = kvs.get("x/r1/assets/data.json").await.unwrap();
        assert_eq!(marked.as_deref(), Some("1"));
        // A write on a stale ETag is a conflict, read as a failed precondition.
        let stale = kvs
            .update(vec![("k".into(), "v".into())], vec![], &first_etag)
            .await
            .unwrap_err();
        assert!(stale.is_precondition_failed(), "{stale:?}");
        // Planned against r0, but r1 is live: refused, r1 stays.
        let err = shipfront::run::switch::switch(&kvs, &pointer("r2"), &[], Some("r0"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, shipfront::core::error::Error::SwitchRaced { .. }),
            "{err}"
        );
    });
    let stats = proxy.stats();
    assert_eq!(stats.get("kvs_post"), Some(&3), "{stats:?}");
    assert_eq!(stats.get("kvs_conflicts"), Some(&1), "{stats:?}");
}

/// The KeyValueStore's control plane through the SDK against the CloudFront emulator: absent,
/// created, then found by name with the same ARN.
#[test]
fn the_key_value_store_is_created_and_found_through_the_sdk() {
    use shipfront::store::Cdn;
    let world = crate::harness::World::without_bucket("atomic-kvs-control");
    let name = format!("shipfront-{}", world.bucket);
    let cdn = shipfront::aws::CloudFrontCdn::new(&crate::integrity::sdk(
        crate::harness::moto_cloudfront(),
    ));
    crate::harness::block_on(async {
        assert_eq!(cdn.key_value_store(&name).await.unwrap(), None);
        let arn = cdn.create_key_value_store(&name).await.unwrap();
        assert!(
            arn.starts_with("arn:aws:cloudfront::") && arn.contains(":key-value-store/"),
            "{arn}"
        );
        let found = cdn.key_value_store(&name).await.unwrap().expect("created");
        assert_eq!((found.ready(), found.arn), (true, arn));
        let again = cdn.create_key_value_store(&name).await.unwrap_err();
        assert_eq!(again.operation, "CreateKeyValueStore");
    });
}

/// The routing function live at the edge, read back from CloudFront (the proxy's stand-in),
/// and, when it is associated with a KeyValueStore (the site's), the values of `keys` there.
fn live_edge(
    proxy: &crate::harness::Proxy,
    distribution: &str,
    keys: &[String],
) -> (String, BTreeMap<String, String>) {
    use shipfront::store::{Cdn, KeyValueStore};
    let sdk = crate::integrity::sdk(&proxy.endpoint);
    let cdn = shipfront::aws::CloudFrontCdn::new(&sdk);
    let name = format!("shipfront-{distribution}");
    crate::harness::block_on(async {
        let (code, _) = cdn.function_code(&name, true).await.unwrap().expect("live");
        let mut items = BTreeMap::new();
        let Some(arn) = cdn.function_key_value_store(&name).await.unwrap() else {
            return (code, items);
        };
        let facts = cdn
            .key_value_store(&name)
            .await
            .unwrap()
            .expect("the store");
        assert_eq!(arn, facts.arn, "associated with the site's store");
        let kvs = shipfront::aws::KvsStore::new(&sdk, &arn);
        for key in keys {
            if let (Some(value), _) = kvs.get(key).await.unwrap() {
                items.insert(key.clone(), value);
            }
        }
        (code, items)
    })
}

/// What the edge would do for each of `requests` now: the live routing function run in Node
/// against the KeyValueStore as it is.
fn edge_answers(
    proxy: &crate::harness::Proxy,
    distribution: &str,
    keys: &[String],
    requests: &[&str],
) -> Vec<String> {
    let (code, items) = live_edge(proxy, distribution, keys);
    run_in_node_with_kvs(&code, requests, &items)
}

/// Checks that every one of `requests` the function `code` (reading `items`) answers with an
/// object reaches one the bucket holds.
#[track_caller]
fn all_served(
    world: &crate::harness::World,
    (code, items): &(String, BTreeMap<String, String>),
    requests: &[&str],
) {
    let objects = world.all_objects();
    let answers = run_in_node_with_kvs(code, requests, items);
    for (request, answer) in requests.iter().zip(&answers) {
        if answer.starts_with("30") {
            continue;
        }
        let key = reached(answer, request);
        assert!(
            objects.contains_key(&key),
            "{request} -> {answer}: `{key}` absent"
        );
    }
}

/// The object a rewritten request reaches (`rewrite /k` -> `k`; `pass /k` -> `k`).
fn reached(answer: &str, request: &str) -> String {
    let uri = answer.strip_prefix("rewrite ").unwrap_or(request);
    uri.trim_start_matches('/').to_owned()
}

/// What an atomic deploy lists, through the S3 adapter against the emulator: the release
/// folders by their common prefixes (one page, names with a space or a plus decoded), and the
/// site around `_releases/` in two key ranges that leave every release file out and keep the
/// names that sort next to it.
#[test]
fn the_release_folders_and_the_rest_of_the_site_are_listed_apart() {
    use shipfront::store::ObjectStore;
    let world = crate::harness::World::new("atomic-list");
    for key in [
        "_releases/r1/index.html",
        "_releases/r2/docs/a.html",
        "_releases/r 3+x/index.html",
        "_releases/loose.txt",
        "_releases",
        "_releases-old.html",
        "_releasesZ.html",
        "assets/app-1.js",
        "index.html",
    ] {
        world.put(key, "x");
    }
    let store =
        shipfront::aws::S3Store::new(&crate::integrity::sdk(&world.endpoint), &world.bucket, true);
    crate::harness::block_on(async {
        let folders = store.list_folders("_releases/").await.unwrap();
        assert_eq!(
            folders,
            ["_releases/r 3+x/", "_releases/r1/", "_releases/r2/"]
        );
        let before = store
            .list_range("", None, Some("_releases/"))
            .await
            .unwrap();
        let after = store
            .list_range("", Some("_releases/\u{10FFFF}"), None)
            .await
            .unwrap();
        let keys: Vec<String> = before
            .objects
            .into_iter()
            .chain(after.objects)
            .map(|o| o.key)
            .collect();
        assert_eq!(
            keys,
            [
                "_releases",
                "_releases-old.html",
                "_releasesZ.html",
                "assets/app-1.js",
                "index.html"
            ]
        );
    });
}

/// Before any write: `--atomic` without a distribution is refused, and a dry run shows the
/// writes and the switch, writing nothing (not even the KeyValueStore).
#[test]
fn an_atomic_dry_run_shows_the_switch_and_writes_nothing() {
    let world = crate::harness::World::new("atomic-dry");
    let distribution = world.distribution("");
    let cloudfront = crate::harness::Proxy::start_cloudfront(&["--functions", "--kvs"]);
    let site = crate::harness::Site::new();
    site.file("index.html", "home")
        .file("assets/app-BbXQDiXP.js", "app");
    world
        .shipfront("deploy")
        .site(&site)
        .args(&["--atomic"])
        .run()
        .fails(2, "pass --distribution-id ID too");
    for command in ["rollback", "releases"] {
        let run = world.shipfront(command).args(&["--atomic"]).run();
        run.fails(2, "pass --distribution-id ID too");
    }
    // A bucket that does not exist stops the deploy before the store is created.
    world
        .shipfront_without_bucket("deploy")
        .site(&site)
        .distribution(&distribution)
        .args(&["--atomic", "--bucket", "no-such-bucket-here"])
        .cloudfront_via(&cloudfront)
        .run()
        .fails(1, "no-such-bucket-here");
    let stats = cloudfront.stats();
    assert_eq!(stats.get("post"), None, "nothing created: {stats:?}");
    let dry = world
        .shipfront("deploy")
        .site(&site)
        .distribution(&distribution)
        .args(&["--atomic", "--dry-run"])
        .cloudfront_via(&cloudfront)
        .ok();
    assert!(
        dry.stdout.contains("switch: point `live`") && dry.stdout.contains("nothing was written"),
        "{}",
        dry.stdout
    );
    assert!(dry.stderr.contains("a deploy creates it"), "{}", dry.stderr);
    assert!(
        dry.stdout
            .contains("run on viewer requests, after the switch"),
        "{}",
        dry.stdout
    );
    assert!(world.all_objects().is_empty());
    let stats = cloudfront.stats();
    assert_eq!(stats.get("kvs_post"), None, "{stats:?}");
}

/// `shipfront COMMAND --atomic` on `distribution`, reaching CloudFront through `cloudfront`.
fn atomic_run<'w>(
    world: &'w crate::harness::World,
    command: &str,
    distribution: &str,
    cloudfront: &crate::harness::Proxy,
) -> crate::harness::Invocation<'w> {
    world
        .shipfront(command)
        .distribution(distribution)
        .args(&["--atomic"])
        .cloudfront_via(cloudfront)
}

/// `deploy --atomic` and `rollback --atomic` end to end through the binary: S3 is the
/// emulator (through a counting proxy), CloudFront the emulator with the proxy's stand-ins for
/// functions and the KeyValueStore data plane. The first deploy creates the store, writes the
/// release, switches `live` and publishes the function associated with the store; every URL
/// then reaches an object the bucket holds. The second copies what did not change; the
/// rollback is one pointer write, no object write and no invalidation.
#[test]
fn atomic_deploys_switch_the_pointer_and_roll_back_with_one_write() {
    let world = crate::harness::World::new("atomic-e2e");
    let distribution = world.distribution("");
    let cloudfront = crate::harness::Proxy::start_cloudfront(&["--functions", "--kvs"]);
    let s3 = crate::harness::Proxy::start(&[]);
    let site = crate::harness::Site::new();
    site.file("index.html", "<h1>home 1</h1>")
        .file("about/index.html", "<h1>about</h1>")
        .file("logo.png", "png")
        .file("assets/app-BbXQDiXP.js", "app 1")
        .file("assets/vendor-Cwq-3PKq.js", "vendor");
    let deploy = || {
        let run = atomic_run(&world, "deploy", &distribution, &cloudfront);
        run.site(&site).args(&["--no-progress"]).via(&s3).ok()
    };
    let name = format!("shipfront-{distribution}");
    let first = deploy();
    let created = format!("created KeyValueStore `{name}`");
    assert!(first.stderr.contains(&created), "{}", first.stderr);
    assert!(first.stdout.contains("switched `live`"), "{}", first.stdout);
    let live = |keys: &[String], requests: &[&str]| {
        edge_answers(&cloudfront, &distribution, keys, requests)
    };
    let requests = [
        "/",
        "/about/",
        "/about",
        "/logo.png",
        "/assets/app-BbXQDiXP.js",
    ];
    all_served(
        &world,
        &live_edge(&cloudfront, &distribution, &[LIVE_KEY.to_owned()]),
        &requests,
    );
    let answers = live(&[LIVE_KEY.to_owned()], &requests);
    let objects = world.all_objects();
    assert!(answers[0].starts_with("rewrite /_releases/"), "{answers:?}");
    assert_eq!(answers[4], "pass", "the pool at its own name");
    assert!(!objects.contains_key("index.html"), "nothing in place");

    // The second release: a new page and chunk; the rest copied, not uploaded.
    site.file("index.html", "<h1>home 2</h1>")
        .file("assets/app-DkQx9_2a.js", "app 2");
    site.remove("assets/app-BbXQDiXP.js");
    let before = s3.stats();
    let second = deploy();
    let after = s3.stats();
    assert!(second.stdout.contains("copied 2"), "{}", second.stdout);
    let puts = after.get("put").copied().unwrap_or(0) - before.get("put").copied().unwrap_or(0);
    // Two copies, index.html, the new chunk, the record, the lock (refreshed at most once).
    assert!((6..=7).contains(&puts), "{puts} PUTs (copies included)");
    let pointer = |answers: &[String]| answers[0].split('/').nth(2).map(str::to_owned);
    let first_id = pointer(&answers);
    assert_ne!(pointer(&live(&[LIVE_KEY.to_owned()], &["/"])), first_id);

    // Rollback: one pointer write, no object write but the lock, no invalidation.
    let before = (s3.stats(), cloudfront.stats());
    let back = atomic_run(&world, "rollback", &distribution, &cloudfront)
        .via(&s3)
        .ok();
    let after = (s3.stats(), cloudfront.stats());
    assert!(back.stdout.contains("no object written"), "{}", back.stdout);
    let count = |stats: &BTreeMap<String, u64>, kind: &str| stats.get(kind).copied().unwrap_or(0);
    let kvs_posts = count(&after.1, "kvs_post") - count(&before.1, "kvs_post");
    let object_puts = count(&after.0, "put") - count(&before.0, "put");
    assert_eq!(kvs_posts, 1);
    assert!(
        object_puts <= 3,
        "{object_puts} PUTs: the lock and the record"
    );
    let invalidations = world.invalidations(&distribution);
    assert!(invalidations.is_empty(), "{invalidations:?}");
    let now = live(&[LIVE_KEY.to_owned()], &["/"]);
    assert_eq!(pointer(&now), first_id, "{now:?}");
    // `releases` says the pointer's release is live, though it is not the newest.
    let listed = atomic_run(&world, "releases", &distribution, &cloudfront).ok();
    let first_id = first_id.unwrap();
    assert!(
        listed
            .stdout
            .contains(&format!("live: release {first_id}, by `live`")),
        "{}",
        listed.stdout
    );
}

/// Moving an in-place site to atomic releases and back, through the binary: at every step
/// every URL reaches an object through the function live at that step, and through the one
/// before it (edge locations that have not yet received a publish). An in-place run that
/// would leave the atomic function reading releases it cannot see is refused before any write.
#[test]
fn a_site_moves_to_atomic_releases_and_back_servable_throughout() {
    let world = crate::harness::World::new("atomic-migrate");
    let distribution = world.distribution("");
    let cloudfront = crate::harness::Proxy::start_cloudfront(&["--functions", "--kvs"]);
    let site = crate::harness::Site::new();
    site.file("index.html", "<h1>home 1</h1>")
        .file("about/index.html", "<h1>about</h1>")
        .file("assets/app-BbXQDiXP.js", "app 1")
        .file("assets/vendor-Cwq-3PKq.js", "vendor");
    let deploy = |args: &[&str]| {
        world
            .shipfront("deploy")
            .site(&site)
            .distribution(&distribution)
            .args(&["--no-progress"])
            .args(args)
            .cloudfront_via(&cloudfront)
            .run()
    };
    let requests = ["/", "/about/", "/about", "/assets/app-BbXQDiXP.js"];
    let live_keys = [LIVE_KEY.to_owned()];
    deploy(&["--routing"]).ok();
    let in_place = live_edge(&cloudfront, &distribution, &live_keys);
    all_served(&world, &in_place, &requests);

    // To atomic: the release beside the in-place pages, which stay until the function moves.
    site.file("index.html", "<h1>home 2</h1>");
    deploy(&["--atomic"]).ok();
    let atomic = live_edge(&cloudfront, &distribution, &live_keys);
    assert!(atomic.0.contains("cf.kvs()") && atomic.1.contains_key(LIVE_KEY));
    all_served(&world, &atomic, &requests);
    all_served(&world, &in_place, &requests);

    // In place again without the plain function, or an in-place rollback: refused.
    let before = world.all_objects();
    deploy(&[]).fails(2, "deploy with --routing to move the site back");
    world
        .shipfront("rollback")
        .distribution(&distribution)
        .cloudfront_via(&cloudfront)
        .run()
        .fails(2, "is an atomic release");
    assert_eq!(world.all_objects(), before, "nothing written");

    // Back in place with the plain function: the releases stay for edges still on the atomic one.
    site.file("index.html", "<h1>home 3</h1>");
    deploy(&["--routing"]).ok();
    let back = live_edge(&cloudfront, &distribution, &live_keys);
    assert!(!back.0.contains("cf.kvs()"), "the plain function");
    all_served(&world, &back, &requests);
    all_served(&world, &atomic, &requests);
    assert_eq!(
        String::from_utf8(world.get("index.html")).unwrap(),
        "<h1>home 3</h1>"
    );
    // A build with a folder where atomic releases live is refused.
    site.file("_releases/x.html", "x");
    deploy(&["--routing"]).fails(2, "the folder where atomic sites keep their releases");
}

/// `doctor --atomic` reads the store, the function's association and the pointer through the
/// SDK (the proxy's stand-ins): all pass after a deploy; a `live` key pointing at a release
/// nobody recorded fails, naming the fix.
#[test]
fn doctor_checks_the_store_the_association_and_the_live_release() {
    use shipfront::store::{Cdn, KeyValueStore};
    let world = crate::harness::World::new("atomic-doctor");
    let distribution = world.distribution("");
    let cloudfront = crate::harness::Proxy::start_cloudfront(&["--functions", "--kvs"]);
    let site = crate::harness::Site::new();
    site.file("index.html", "home")
        .file("assets/app-BbXQDiXP.js", "app");
    let deploy = atomic_run(&world, "deploy", &distribution, &cloudfront);
    deploy.site(&site).ok();
    let statuses = || {
        let run = atomic_run(&world, "doctor", &distribution, &cloudfront)
            .json()
            .run();
        let checks = run.json()["checks"].as_array().cloned().unwrap_or_default();
        let of = |name: &str| {
            let c = checks.iter().find(|c| c["name"] == name);
            c.map(|c| c["status"].as_str().unwrap_or_default().to_owned())
        };
        [
            "key value store",
            "store associated",
            "live release",
            "releases private",
        ]
        .map(of)
    };
    let pass = Some("pass".to_owned());
    assert_eq!(
        statuses(),
        [pass.clone(), pass.clone(), pass.clone(), pass.clone()]
    );
    let sdk = crate::integrity::sdk(&cloudfront.endpoint);
    crate::harness::block_on(async {
        let cdn = shipfront::aws::CloudFrontCdn::new(&sdk);
        let name = format!("shipfront-{distribution}");
        let arn = cdn
            .key_value_store(&name)
            .await
            .unwrap()
            .expect("created")
            .arn;
        let kvs = shipfront::aws::KvsStore::new(&sdk, &arn);
        let (_, etag) = kvs.get(LIVE_KEY).await.unwrap();
        let stranger = r#"{"r":"20200101T000000.000Z-000000","p":[]}"#;
        kvs.update(vec![(LIVE_KEY.into(), stranger.into())], vec![], &etag)
            .await
            .unwrap();
    });
    assert_eq!(statuses()[2].as_deref(), Some("fail"));
}

/// Retention against the emulator, with `keep_releases = 1` and no grace (shipfront.toml):
/// each deploy prunes the release before it, so the third leaves one release folder, the live
/// one, and the pool chunks only pruned releases used are gone; the plan says so, as `pruned`
/// deletions.
#[test]
fn retention_leaves_the_kept_releases_and_the_pool_they_use() {
    let world = crate::harness::World::new("atomic-retention");
    let distribution = world.distribution("");
    let cloudfront = crate::harness::Proxy::start_cloudfront(&["--functions", "--kvs"]);
    std::fs::write(
        world.workdir.path().join("shipfront.toml"),
        "atomic = true\n[deploy]\nkeep_releases = 1\nkeep_assets = 0\n",
    )
    .unwrap();
    let site = crate::harness::Site::new();
    let chunks = [
        "assets/app-BbXQDiXP.js",
        "assets/app-DkQx9_2a.js",
        "assets/app-Tq7Zp1Lm.js",
    ];
    let deploy = |n: usize| {
        site.file("index.html", format!("home {n}"))
            .file("assets/vendor-Cwq-3PKq.js", "vendor")
            .file("assets/style-C8vLw2Qa.css", "css");
        if n > 0 {
            site.remove(chunks[n - 1]);
        }
        site.file(chunks[n], format!("app {n}"));
        let run = world
            .shipfront("deploy")
            .site(&site)
            .distribution(&distribution);
        run.cloudfront_via(&cloudfront).json().ok().json()
    };
    deploy(0);
    let second = deploy(1);
    let third = deploy(2);
    let pruned: Vec<&str> = third["plan"]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["reason"] == "pruned")
        .filter_map(|a| a["key"].as_str())
        .collect();
    let before = second["switch"]["release"].as_str().unwrap();
    let page = format!("_releases/{before}/index.html");
    assert!(
        pruned.contains(&page.as_str()) && pruned.contains(&chunks[1]),
        "{pruned:?}"
    );
    let objects = world.all_objects();
    let folders: std::collections::BTreeSet<&str> = objects
        .keys()
        .filter_map(|k| k.strip_prefix("_releases/")?.split('/').next())
        .collect();
    let live = third["switch"]["release"].as_str().unwrap();
    assert_eq!(folders.into_iter().collect::<Vec<_>>(), [live]);
    for key in ["assets/vendor-Cwq-3PKq.js", chunks[2]] {
        assert!(objects.contains_key(key), "{key}");
    }
    assert!(!objects.contains_key(chunks[0]) && !objects.contains_key(chunks[1]));
}
