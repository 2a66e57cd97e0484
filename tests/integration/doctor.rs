//! `shipfront doctor` against the emulators: a table of checks with the fix for each, exit 1
//! when any fails.

use crate::harness::{Run, World};

#[test]
fn doctor_checks_bucket_and_distribution() {
    let world = World::new("doctor");
    let dist = world.distribution("");
    let run = Run::of(world.cmd(&[
        "doctor",
        "--bucket",
        &world.bucket,
        "--distribution-id",
        &dist,
    ]))
    .ok();
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
    let run = Run::of(world.cmd(&[
        "doctor",
        "--bucket",
        &world.bucket,
        "--distribution-id",
        &dist,
        "--spa",
    ]))
    .fails(1, "1 check(s) failed");
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
    let run = Run::of(world.cmd(&[
        "doctor",
        "--bucket",
        &world.bucket,
        "--distribution-id",
        &site_dist,
    ]))
    .fails(1, "check(s) failed");
    assert!(
        run.stdout.contains("origin path            FAIL"),
        "{}",
        run.stdout
    );
}

#[test]
fn doctor_fails_an_unversioned_or_missing_bucket_with_the_fix() {
    let world = World::without_bucket("doctor-unversioned");
    crate::harness::block_on(async {
        world
            .client
            .create_bucket()
            .bucket(&world.bucket)
            .send()
            .await
            .unwrap();
    });
    let run =
        Run::of(world.cmd(&["doctor", "--bucket", &world.bucket])).fails(1, "check(s) failed");
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
    let run = Run::of(missing.cmd(&["doctor", "--bucket", &missing.bucket, "--json"]))
        .fails(1, "1 check(s) failed");
    let json = run.json();
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
