//! `shipfront doctor` against the emulators: a table of checks with the fix for each, exit 1
//! when any fails.

use crate::harness::{Run, World};

/// `shipfront doctor --bucket B --distribution-id D EXTRA...`.
fn doctor(world: &World, distribution: &str, extra: &[&str]) -> Run {
    world
        .shipfront("doctor")
        .distribution(distribution)
        .args(extra)
        .run()
}

#[test]
fn doctor_checks_bucket_and_distribution() {
    let world = World::new("doctor");
    let dist = world.distribution("");
    let run = doctor(&world, &dist, &[]).ok();
    for line in [
        "bucket reachable       pass",
        "versioning             pass  enabled",
        "distribution           pass",
        "origin is the bucket   pass",
        "origin path            pass",
        "origin access control  warn  the origin has no Origin Access Control",
        "https                  pass  redirect-to-https",
        "default root object    pass  index.html",
        "alias certificate      warn",
    ] {
        assert!(
            run.stdout.contains(line),
            "missing {line:?} in\n{}",
            run.stdout
        );
    }
    assert!(!run.stdout.contains("spa fallback"), "{}", run.stdout);

    // As an SPA, the missing fallback fails the doctor.
    let run = doctor(&world, &dist, &["--spa"]).fails(1, "1 check(s) failed");
    assert!(
        run.stdout.contains("spa fallback           FAIL  no 403"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("fix: deploy once with --fix-spa"),
        "{}",
        run.stdout
    );

    // A prefix the origin does not serve.
    let site_dist = world.distribution("/site");
    let run = doctor(&world, &site_dist, &[]).fails(1, "check(s) failed");
    assert!(
        run.stdout.contains("origin path            FAIL"),
        "{}",
        run.stdout
    );
}

#[test]
fn doctor_fails_an_unversioned_or_missing_bucket_with_the_fix() {
    let world = World::unversioned("doctor-unversioned");
    let run = world.shipfront("doctor").run().fails(1, "check(s) failed");
    assert!(
        run.stdout
            .contains("versioning           FAIL  never enabled"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!(
            "fix: aws s3api put-bucket-versioning --bucket {}",
            world.bucket
        )),
        "{}",
        run.stdout
    );

    let missing = World::without_bucket("doctor-missing");
    let run = missing
        .shipfront("doctor")
        .json()
        .run()
        .fails(1, "1 check(s) failed");
    let json = run.json();
    assert_eq!(
        (json["schema"].as_u64(), json["failed"].as_u64()),
        (Some(1), Some(1))
    );
    let json = &json["checks"];
    assert_eq!(json[0]["name"], "bucket reachable");
    assert_eq!(json[0]["status"], "fail");
    assert!(
        json[0]["detail"]
            .as_str()
            .unwrap()
            .contains("does not exist"),
        "{json}"
    );
}

#[test]
fn doctor_says_whether_cloudfront_serves_the_release_records() {
    let world = World::new("doctor-records");
    let dist = world.distribution("");
    let out = doctor(&world, &dist, &[]).ok().stdout;
    assert!(
        out.contains("records private        warn  CloudFront serves `.shipfront/`"),
        "{out}"
    );
    assert!(
        out.contains("KeepShipfrontRecordsPrivate"),
        "the fix: {out}"
    );

    // The README's statement, next to an allow for everything else.
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[
            {{"Effect":"Allow","Principal":{{"Service":"cloudfront.amazonaws.com"}},
              "Action":"s3:GetObject","Resource":"arn:aws:s3:::{b}/*"}},
            {{"Sid":"KeepShipfrontRecordsPrivate","Effect":"Deny",
              "Principal":{{"Service":"cloudfront.amazonaws.com"}},
              "Action":"s3:GetObject","Resource":"arn:aws:s3:::{b}/.shipfront/*"}}]}}"#,
        b = world.bucket
    );
    crate::harness::block_on(async {
        world
            .client
            .put_bucket_policy()
            .bucket(&world.bucket)
            .policy(policy)
            .send()
            .await
            .unwrap();
    });
    let out = doctor(&world, &dist, &[]).ok().stdout;
    assert!(
        out.contains(
            "records private        pass  the bucket policy denies CloudFront `.shipfront/`"
        ),
        "{out}"
    );

    // A state prefix the origin does not serve needs no policy.
    let site_dist = world.distribution("/www");
    let out = doctor(
        &world,
        &site_dist,
        &["--prefix", "www/", "--state-prefix", "deploys/www/"],
    )
    .ok()
    .stdout;
    assert!(
        out.contains("records private        pass  `deploys/www/` is outside OriginPath `/www`"),
        "{out}"
    );
}

#[test]
fn in_a_workflow_doctor_json_stays_json_and_the_error_is_an_annotation() {
    let missing = World::without_bucket("doctor-json-actions");
    let run = missing
        .shipfront("doctor")
        .json()
        .env("GITHUB_ACTIONS", "true")
        .run();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.json()["checks"][0]["status"],
        "fail",
        "stdout is one JSON document"
    );
    assert!(
        run.stderr
            .contains("::error title=shipfront doctor failed::1 check(s) failed"),
        "{}",
        run.stderr
    );
}

/// `doctor DIR` reads the routing function and the response headers policy through the test
/// proxy's stand-in (`--functions`), which the emulator lacks, and compares them with the build.
#[test]
fn doctor_checks_the_edge_against_the_build_folder() {
    let world = World::new("doctor-edge");
    let dist = world.distribution("");
    let proxy = crate::harness::Proxy::start_cloudfront(&["--functions"]);
    let site = crate::harness::Site::new();
    site.file("index.html", "home")
        .file("about/index.html", "about")
        .file("404.html", "not found");
    let dir = site.path().to_str().unwrap().to_owned();
    let doctor_dir = || {
        world
            .shipfront("doctor")
            .site(&site)
            .distribution(&dist)
            .cloudfront_via(&proxy)
            .run()
    };

    let before = doctor_dir().ok();
    for line in [
        "clean urls",
        "warn  1 page(s) answer 403 at their clean URL from a private S3 origin: /about/ (about/index.html)",
        "fix: deploy with --routing",
        "hint  ",
        "/404.html is in the build, but no error response serves it",
        "response headers",
        "no response headers policy",
    ] {
        assert!(
            before.stdout.contains(line),
            "missing {line:?} in\n{}",
            before.stdout
        );
    }

    world
        .shipfront("deploy")
        .site(&site)
        .distribution(&dist)
        .cloudfront_via(&proxy)
        .args(&["--routing", "--no-progress"])
        .ok();
    let routed = doctor_dir().ok();
    assert!(
        routed.stdout.contains(&format!(
            "pass  `shipfront-{dist}` runs on viewer requests, as {dir} implies"
        )),
        "{}",
        routed.stdout
    );
    assert!(!routed.stdout.contains("clean urls"), "{}", routed.stdout);

    // A new page the live function does not know yet.
    site.file("contact.html", "contact");
    let stale = doctor_dir().ok();
    assert!(
        stale.stdout.contains(&format!(
            "warn  `shipfront-{dist}` differs from what {dir} implies"
        )),
        "{}",
        stale.stdout
    );
    // It points at serve, where the new function can be tried before a deploy.
    assert!(
        stale.stdout.contains(&format!("`shipfront serve {dir}`")),
        "{}",
        stale.stdout
    );
}

/// The bucket's lifecycle rules, read through the SDK from the emulator: noncurrent versions
/// that expire sooner than the releases kept, and incomplete uploads never aborted, are named.
#[test]
fn doctor_reads_the_lifecycle_rules_against_the_releases_kept() {
    use aws_sdk_s3::types::{
        AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, ExpirationStatus,
        LifecycleRule, LifecycleRuleFilter, NoncurrentVersionExpiration,
    };
    let world = World::new("doctor-lifecycle");
    let site = crate::harness::Site::new();
    site.file("index.html", "x");
    world.shipfront("deploy").site(&site).ok();
    // Two releases recorded long ago, beside today's: the older one's versions have been
    // noncurrent since the newer one, years ago; the newer one's only since today.
    world.put(".shipfront/releases/20190101T000000.000Z-0a0a0a.json", "{}");
    world.put(".shipfront/releases/20200101T000000.000Z-0b0b0b.json", "{}");

    // The check named `name`'s line says `says`.
    let check = |run: &crate::harness::Run, name: &str, says: &str| {
        let line = run.stdout.lines().find(|l| l.starts_with(name));
        assert!(
            line.is_some_and(|l| l[name.len()..].trim_start().starts_with(says)),
            "{name}: {says}\n{}",
            run.stdout
        );
    };
    let run = world.shipfront("doctor").run().ok();
    check(&run, "rollback depth", "pass  noncurrent versions are kept");
    check(&run, "incomplete uploads", "warn  never aborted");

    let rule = |abort: bool| {
        let mut rule = LifecycleRule::builder()
            .id("tidy")
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix("").build())
            .noncurrent_version_expiration(
                NoncurrentVersionExpiration::builder()
                    .noncurrent_days(30)
                    .build(),
            );
        if abort {
            rule = rule.abort_incomplete_multipart_upload(
                AbortIncompleteMultipartUpload::builder()
                    .days_after_initiation(7)
                    .build(),
            );
        }
        rule.build().expect("a rule")
    };
    for abort in [false, true] {
        crate::harness::block_on(async {
            world
                .client
                .put_bucket_lifecycle_configuration()
                .bucket(&world.bucket)
                .lifecycle_configuration(
                    BucketLifecycleConfiguration::builder()
                        .rules(rule(abort))
                        .build()
                        .expect("a configuration"),
                )
                .send()
                .await
                .expect("the rules set");
        });
        let run = world.shipfront("doctor").run().ok();
        check(
            &run,
            "rollback depth",
            "warn  noncurrent versions expire after 30 day(s) (rule `tidy`), sooner than the \
             releases kept: 1 of 3 recorded release(s) were replaced longer ago than that",
        );
        let uploads = if abort {
            "pass  aborted after 7 day(s) (rule `tidy`)"
        } else {
            "warn  never aborted"
        };
        check(&run, "incomplete uploads", uploads);
    }
}
