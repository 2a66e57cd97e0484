//! Deploys through a hostile link: throttling and dropped connections must be retried to a
//! bucket exactly equal to the folder, and a deploy killed at any moment must leave a site whose
//! live pages reference only objects that exist.

use std::collections::BTreeMap;

use crate::harness::{Proxy, Site, World};

pub(crate) fn versioned_site(site: &Site, version: u32, pages: u32) {
    let js = format!("assets/app.{:08x}.js", 0xa0a0_0000u32 + version);
    let css = format!("assets/style.{:08x}.css", 0xc0c0_0000u32 + version);
    site.file(&js, format!("console.log({version})"));
    site.file(&css, format!("body{{--v:{version}}}"));
    let page = |title: &str| {
        format!(
            "<html><head><link rel=\"stylesheet\" href=\"/{css}\"></head>\
             <body><h1>{title} v{version}</h1><script src=\"/{js}\"></script></body></html>"
        )
    };
    site.file("index.html", page("home"));
    for i in 0..pages {
        site.file(&format!("docs/page{i}.html"), page(&format!("page {i}")));
        site.file(
            &format!("img/pic{i}.{version}.txt"),
            format!("pic {i} {version}"),
        );
    }
}

pub(crate) fn clear_previous(site: &Site, version: u32, pages: u32) {
    site.remove(&format!("assets/app.{:08x}.js", 0xa0a0_0000u32 + version));
    site.remove(&format!(
        "assets/style.{:08x}.css",
        0xc0c0_0000u32 + version
    ));
    for i in 0..pages {
        site.remove(&format!("img/pic{i}.{version}.txt"));
    }
}

/// Every `src="/x"` and `href="/x"` of every live HTML page names an object that exists.
pub(crate) fn assert_pages_reference_only_existing_objects(world: &World) {
    let objects = world.objects();
    for key in objects.keys().filter(|k| k.ends_with(".html")) {
        let body = String::from_utf8(world.get(key)).unwrap();
        for attr in ["src=\"/", "href=\"/"] {
            for part in body.split(attr).skip(1) {
                let target = part.split('"').next().unwrap();
                assert!(
                    objects.contains_key(target),
                    "live page {key} references {target}, which does not exist; objects: {:?}",
                    objects.keys().collect::<Vec<_>>()
                );
            }
        }
    }
}

#[test]
fn deploy_through_throttling_and_dropped_connections_ends_equal_to_folder() {
    let world = World::new("faults");
    world.config("[deploy]\npart_size_mib = 5\n");
    let site = Site::new();
    versioned_site(&site, 1, 40);
    let big: Vec<u8> = (0..11u32 << 20).map(|i| (i % 241) as u8).collect();
    site.file("media/big.bin", &big);
    world.put("stale-1.html", "old");
    world.put("stale-2.txt", "old");

    let proxy = Proxy::start(&["--fail-rate", "0.15", "--drop-rate", "0.05", "--seed", "7"]);
    world
        .shipfront("deploy")
        .site(&site)
        .args(&["--no-progress"])
        .via(&proxy)
        .ok();
    let stats = proxy.stats();
    assert!(
        stats.get("injected_503").copied().unwrap_or(0) > 5,
        "{stats:?}"
    );
    assert!(
        stats.get("injected_drop").copied().unwrap_or(0) > 0,
        "{stats:?}"
    );

    let objects: BTreeMap<String, String> = world.objects();
    let mut want = site.md5s("");
    // The multipart object's ETag is not its MD5: compare its bytes instead.
    want.remove("media/big.bin");
    let mut got = objects.clone();
    got.remove("media/big.bin");
    assert_eq!(got, want, "bucket equals folder");
    assert_eq!(world.get("media/big.bin"), big);
}

#[test]
fn deploy_killed_at_any_moment_leaves_a_working_site() {
    let world = World::new("killed");
    let site = Site::new();
    let pages = 12;
    versioned_site(&site, 1, pages);
    world
        .shipfront("deploy")
        .site(&site)
        .args(&["--no-progress"])
        .ok();

    // Version 2 replaces every asset, every page, and deletes version 1's assets.
    let mut version = 1;
    // Writes: the lock, 14 assets, 12 pages, the root page, one delete batch, the record.
    for hold_after in [0, 1, 4, 10, 15, 21, 27, 28, 29] {
        clear_previous(&site, version, pages);
        version += 1;
        versioned_site(&site, version, pages);

        world
            .shipfront("deploy")
            .site(&site)
            .args(&["--no-progress", "--concurrency", "4"])
            // The killed deploy before this one left its lock behind.
            .force_unlock_live()
            // Old bundles go at once, so the end state is exactly the folder.
            .args(&["--keep-assets", "0"])
            .kill_after_writes(hold_after);
        assert_pages_reference_only_existing_objects(&world);
    }
    // A deploy after the kills completes the site (taking the killed one's lock).
    let run = world
        .shipfront("deploy")
        .site(&site)
        .args(&["--no-progress", "--keep-assets", "0"])
        .force_unlock_live()
        .ok();
    assert!(
        run.stderr
            .contains("--force-unlock-live: taking the lock from"),
        "{}",
        run.stderr
    );
    assert_eq!(world.objects(), site.md5s(""));
    assert_pages_reference_only_existing_objects(&world);
}

/// Issue 11: Ctrl-C or SIGTERM (a cancelled CI job) in the middle of a multipart upload stops
/// the deploy, aborts the upload (no parts left to pay for) and frees the lock.
#[test]
fn an_interrupted_deploy_aborts_its_open_uploads_and_frees_the_lock() {
    for signal in ["INT", "TERM"] {
        let world = World::new(&format!("interrupted-{signal}"));
        world.config("[deploy]\npart_size_mib = 5\n");
        let site = Site::new();
        site.file("index.html", "x")
            .file("media/big.bin", vec![7u8; 11 << 20]);
        // Every part upload hangs: the deploy is caught mid-upload.
        let mut proxy = Proxy::start(&["--hold-after", "0", "--hold-match", "partNumber="]);
        let child = world
            .shipfront("deploy")
            .site(&site)
            .args(&["--no-progress"])
            .via(&proxy)
            .spawn();
        proxy.wait_until_held();
        assert_eq!(world.open_uploads(), ["media/big.bin"], "caught mid-upload");
        let sent = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(sent.success());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "SIG{signal}: {stderr}");
        assert!(stderr.contains("interrupted"), "{stderr}");
        assert!(world.open_uploads().is_empty(), "SIG{signal}: aborted");
        assert!(
            !world.state_keys().contains(&".shipfront/lock".to_owned()),
            "SIG{signal}: the lock is freed"
        );
    }
}

/// One finished run of the soak test.
struct Finished {
    tree: usize,
    code: Option<i32>,
    stdout: String,
    stderr: String,
    at: std::time::Instant,
}

/// Issue 11's soak: 20 deploys of two alternating trees, two at a time, through 30% 503s and
/// 10% dropped answers. Every exit code is honest (0 with its release recorded, 1 with the
/// reason), the bucket ends equal to the last successful deploy's tree, whose release is the
/// live one, and no lock is left behind.
#[test]
fn twenty_deploys_two_at_a_time_through_faults_end_exact_and_honest() {
    let world = World::new("soak");
    let trees = [Site::new(), Site::new()];
    for (t, site) in trees.iter().enumerate() {
        site.file("index.html", format!("tree {t}"));
        for i in 0..12 {
            site.file(&format!("assets/t{t}-{i}.js"), format!("t{t} {i}"));
            site.file(&format!("pages/{i}.html"), format!("page {i} of {t}"));
        }
    }
    let proxy = Proxy::start(&["--fail-rate", "0.3", "--drop-rate", "0.1", "--seed", "11"]);
    let finished: Vec<Finished> = (0..10)
        .flat_map(|_| deploy_both_at_once(&world, &trees, &proxy))
        .collect();
    let stats = proxy.stats();
    assert!(
        stats.get("injected_drop").copied().unwrap_or(0) > 5,
        "{stats:?}"
    );

    let released: Vec<String> = world
        .releases()
        .iter()
        .filter_map(|r| r["id"].as_str().map(str::to_owned))
        .collect();
    let succeeded: Vec<&Finished> = finished
        .iter()
        .filter(|run| exit_is_honest(run, &released))
        .collect();
    let last = succeeded
        .iter()
        .max_by_key(|r| r.at)
        .expect("some deploys succeed");
    assert_eq!(
        world.objects(),
        trees[last.tree].md5s(""),
        "the last success's tree"
    );
    assert!(
        !world.state_keys().contains(&".shipfront/lock".to_owned()),
        "no lock left behind"
    );
    let live = world.releases();
    let live = live
        .iter()
        .find(|r| r["live"] == true)
        .expect("a live release");
    let last_release: serde_json::Value = serde_json::from_str(&last.stdout).unwrap();
    if let Some(id) = last_release["release"].as_str() {
        assert_eq!(live["id"], id, "the live release is the last success's");
    }
}

/// Deploys each tree at the same moment, through `proxy`.
fn deploy_both_at_once(world: &World, trees: &[Site; 2], proxy: &Proxy) -> Vec<Finished> {
    let runs: Vec<std::thread::JoinHandle<Finished>> = trees
        .iter()
        .enumerate()
        .map(|(tree, site)| {
            let mut cmd = world
                .shipfront("deploy")
                .site(site)
                .args(&["--no-progress", "--json", "--keep-assets", "0"])
                .via(proxy)
                .command();
            std::thread::spawn(move || {
                let out = cmd.output().unwrap();
                Finished {
                    tree,
                    code: out.status.code(),
                    stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                    stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                    at: std::time::Instant::now(),
                }
            })
        })
        .collect();
    runs.into_iter().map(|r| r.join().unwrap()).collect()
}

/// Checks a run's exit code says the truth; true when it succeeded.
fn exit_is_honest(run: &Finished, released: &[String]) -> bool {
    match run.code {
        Some(0) => {
            let out: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
            // A deploy that changed nothing (its twin wrote the same tree just before) records
            // nothing; any other success is recorded.
            if let Some(id) = out["release"].as_str() {
                assert!(
                    released.iter().any(|r| r == id),
                    "exit 0 but release {id} not recorded"
                );
            }
            true
        }
        Some(1) => {
            assert!(
                run.stderr.contains("is locked by") || run.stderr.contains("failed"),
                "exit 1 must say why: {}",
                run.stderr
            );
            false
        }
        other => panic!("exit {other:?}: {}", run.stderr),
    }
}
