//! Bad input is refused before any write, with one line that names the thing and the fix, and
//! the documented exit code (2 usage/config/input, 1 remote).

use crate::harness::{Proxy, Site, World};

#[test]
fn missing_folder_file_and_empty_folder_are_refused() {
    let world = World::new("bad-folder");
    world.put("keep.html", "live");
    let dir = world.workdir.path().join("dist");
    let d = dir.to_str().unwrap();
    let deploy = || world.shipfront("deploy").args(&[d]).run();
    deploy().fails(2, "does not exist");
    std::fs::write(&dir, "not a folder").unwrap();
    deploy().fails(2, "is a file, not a folder");
    std::fs::remove_file(&dir).unwrap();
    std::fs::create_dir(&dir).unwrap();
    deploy().fails(
        2,
        &format!("would delete every object in s3://{}/", world.bucket),
    );
    assert_eq!(world.objects().len(), 1, "nothing deleted");
}

#[test]
fn no_credentials_is_a_clear_error() {
    let world = World::new("no-creds");
    let site = Site::new();
    site.file("index.html", "x");
    world
        .shipfront("deploy")
        .site(&site)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .run()
        .fails(2, "no AWS credentials found");
    assert!(world.objects().is_empty());
}

#[test]
fn missing_bucket_is_named() {
    let world = World::without_bucket("missing-bucket");
    let site = Site::new();
    site.file("index.html", "x");
    world
        .shipfront("deploy")
        .site(&site)
        .run()
        .fails(1, &format!("bucket `{}` does not exist", world.bucket));
}

#[test]
fn access_denied_names_operation_and_bucket() {
    let world = World::new("denied");
    let site = Site::new();
    site.file("index.html", "x");
    let proxy = Proxy::start(&["--deny"]);
    world
        .shipfront("deploy")
        .site(&site)
        .via(&proxy)
        .run()
        .fails(
            1,
            &format!("access denied: ListObjectsV2 on bucket `{}`", world.bucket),
        );
}

#[test]
fn unreadable_file_is_named_before_any_write() {
    let world = World::new("unreadable");
    let site = Site::new();
    site.file("index.html", "x").file("a.css", "a");
    // A dangling link stands for a file that cannot be read (tests may run as root, which
    // reads any file whatever its mode).
    std::os::unix::fs::symlink(site.path().join("gone.js"), site.path().join("broken.js")).unwrap();
    world
        .shipfront("deploy")
        .site(&site)
        .run()
        .fails(2, "broken.js");
    assert!(world.objects().is_empty(), "nothing written");
}

#[test]
fn bad_config_file_gives_file_line_and_column() {
    let world = World::new("bad-config");
    world.config("bucket = \"x\"\n[deploy]\nmax_delets = 3\n");
    let site = Site::new();
    site.file("index.html", "x");
    world
        .shipfront("deploy")
        .site(&site)
        .run()
        .fails(2, "shipfront.toml:3:1: unknown field `max_delets`");
}

#[test]
fn mistyped_flag_and_bad_values_exit_2() {
    let world = World::new("usage");
    let site = Site::new();
    site.file("index.html", "x");
    world
        .shipfront("deploy")
        .site(&site)
        .args(&["--dryrun"])
        .run()
        .fails(2, "--dry-run");
    world
        .shipfront("deploy")
        .site(&site)
        .args(&["--concurrency", "many"])
        .run()
        .fails(2, "invalid value 'many'");
    world
        .shipfront("deploy")
        .bucket("s3://b/x")
        .site(&site)
        .run()
        .fails(2, "invalid bucket `s3://b/x`");
    world
        .shipfront_without_bucket("deploy")
        .site(&site)
        .run()
        .fails(2, "no bucket given");
}

#[test]
fn symlink_out_of_the_folder_is_refused() {
    let world = World::new("symlink-escape");
    let site = Site::new();
    site.file("index.html", "x");
    std::os::unix::fs::symlink("/etc/hostname", site.path().join("leak.txt")).unwrap();
    world
        .shipfront("deploy")
        .site(&site)
        .run()
        .fails(2, "points outside the build folder");
    assert!(world.objects().is_empty());
}

#[test]
fn missing_region_is_refused_before_any_request() {
    let world = World::new("no-region");
    let site = Site::new();
    site.file("index.html", "x");
    // Real AWS (no custom endpoint) needs a region.
    world
        .shipfront("deploy")
        .site(&site)
        .env_remove("AWS_ENDPOINT_URL_S3")
        .env_remove("AWS_REGION")
        .run()
        .fails(2, "no AWS region: pass --region");
}

#[test]
fn files_that_would_land_on_the_state_prefix_are_refused() {
    let world = World::new("state-collision");
    let site = Site::new();
    site.file("index.html", "x").file("ops/lock", "mine");
    world
        .shipfront("deploy")
        .site(&site)
        .args(&["--state-prefix", "ops"])
        .run()
        .fails(2, "1 file(s) of");
    world
        .shipfront("deploy")
        .site(&site)
        .args(&["--state-prefix", "ops"])
        .run()
        .fails(
            2,
            "(first: `ops/lock`) would land under shipfront's state prefix `ops/`",
        );
    assert!(world.all_objects().is_empty(), "nothing written");
    world
        .shipfront("deploy")
        .site(&site)
        .args(&["--state-prefix", "deploys"])
        .ok();
}

/// Issue 11: names S3 cannot list back, header values HTTP cannot carry and impossible bucket
/// names are refused before any write (exit 2, naming the culprit); a named pipe is skipped,
/// never read, so even a dry run cannot hang on it.
#[test]
fn hostile_names_values_and_pipes_are_refused_or_skipped_before_any_write() {
    let world = World::new("hostile-input");
    world.put("live.html", "live");
    let site = Site::new();
    site.file("index.html", "x").file("a\u{1}b.html", "y");
    world.shipfront("deploy").site(&site).run().fails(
        2,
        "file name `a\\u{1}b.html` contains the control character U+0001",
    );
    site.remove("a\u{1}b.html");

    let made = std::process::Command::new("mkfifo")
        .arg(site.path().join("pipe"))
        .status()
        .unwrap();
    assert!(made.success());
    let run = world.shipfront("deploy").site(&site).dry_run().ok();
    assert!(
        run.stderr.contains("skipped `pipe`: not a regular file"),
        "{}",
        run.stderr
    );

    world.config("[[rules]]\nmatch = \"*.html\"\ncache_control = \"no-cache\\nX-Evil: 1\"\n");
    world
        .shipfront("deploy")
        .site(&site)
        .dry_run()
        .run()
        .fails(2, "cache_control `no-cache\\nX-Evil: 1` contains \\n");
    std::fs::remove_file(world.workdir.path().join("shipfront.toml")).unwrap();

    world
        .shipfront("deploy")
        .bucket("my bucket")
        .site(&site)
        .run()
        .fails(2, "invalid bucket `my bucket`");
    assert_eq!(
        world.objects().keys().collect::<Vec<_>>(),
        ["live.html"],
        "nothing was written"
    );
}

/// Issue 11: a reader that went away (`| head`, a closed CI log) ends the output, not the
/// command: no panic (exit 101), the deploy done and its exit code honest.
#[test]
fn closed_output_pipes_end_the_output_not_the_command() {
    let closed = || {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        writer
    };
    let world = World::new("closed-pipes");
    let site = Site::new();
    site.file("index.html", "x").file("a.css", "a{}");
    let status = world
        .shipfront("deploy")
        .site(&site)
        .command()
        .stdout(closed())
        .stderr(closed())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(world.objects(), site.md5s(""), "the deploy was done");

    let missing = World::without_bucket("closed-pipes-missing");
    let status = missing
        .shipfront("deploy")
        .site(&site)
        .command()
        .stdout(closed())
        .stderr(closed())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1), "a failure keeps its exit code");
}

/// Issue 11: more writes in flight than the open-file limit allows are capped with a warning,
/// never met as "Too many open files" halfway through a deploy.
#[test]
fn concurrency_is_capped_by_the_open_file_limit() {
    let world = World::new("open-files");
    let site = Site::new();
    for i in 0..300 {
        site.file(&format!("p/{i}.html"), format!("page {i}"));
    }
    site.file("index.html", "home");
    let run = world
        .shipfront("deploy")
        .site(&site)
        .args(&["--concurrency", "5000", "--no-progress"])
        .open_files_limit(128)
        .ok();
    assert!(
        run.stderr
            .contains("--concurrency 5000 needs more open files"),
        "{}",
        run.stderr
    );
    assert_eq!(world.objects(), site.md5s(""));
}

/// Issue 11: a key S3 listings cannot carry as XML text (a control character), left in the
/// bucket by another tool, no longer breaks every listing: keys are listed URL-encoded, and such
/// a key is deleted on its own (`DeleteObjects` takes XML too).
#[test]
fn a_key_with_a_control_character_left_by_another_tool_is_listed_and_deleted() {
    let world = World::new("ctrl-key");
    world.put("a\u{1}b.html", "left by another tool");
    world.put("a b+c.html", "spaces and plus");
    let site = Site::new();
    site.file("index.html", "x")
        .file("a b+c.html", "spaces and plus");
    let run = world
        .shipfront("deploy")
        .site(&site)
        .args(&["--no-progress"])
        .ok();
    assert!(
        run.stdout.contains("uploaded 1 ")
            && run.stdout.contains("deleted 1")
            && run.stdout.contains("headers updated 1"),
        "a space and a plus decode back to the same key (its bytes kept, its headers fixed): {}",
        run.stdout
    );
    assert_eq!(world.objects(), site.md5s(""));
}

/// The same key in a versioned bucket: deleted by the deploy, its versions stay, and the
/// versions listing of `releases` and `rollback` must carry it. They ask for URL-encoded keys
/// (`encoding-type=url`); the emulator ignores that for ListObjectVersions, so the fault proxy
/// answers as S3 does.
#[test]
fn a_control_character_key_in_the_versions_breaks_neither_releases_nor_rollback() {
    let world = World::new("ctrl-versions");
    world.put("a\u{1}b.html", "left by another tool");
    let site = Site::new();
    site.file("index.html", "v1");
    let proxy = Proxy::start(&[]);
    world.shipfront("deploy").site(&site).via(&proxy).ok();
    site.file("index.html", "v2");
    world.shipfront("deploy").site(&site).via(&proxy).ok();
    let run = world.shipfront("releases").via(&proxy).ok();
    let releases = run.stdout.lines().filter(|l| l.contains("Z-")).count();
    assert_eq!(releases, 2, "{}", run.stdout);
    world.shipfront("rollback").via(&proxy).ok();
    assert_eq!(world.get("index.html"), b"v1");
    assert!(
        proxy
            .stats()
            .get("versions_url_encoded")
            .is_some_and(|n| *n > 0),
        "{:?}",
        proxy.stats()
    );
}
