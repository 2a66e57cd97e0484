//! The GitHub Action: its files match GitHub's schema, and its script, run as the runner would
//! (INPUT_* variables, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY), deploys and rolls back with outputs,
//! a job summary and annotations.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{Run, Site, World, repo_root};

/// The schema validator `scripts/test` installs (`@action-validator/cli`).
fn validator() -> PathBuf {
    let bin = std::env::var("SHIPFRONT_ACTION_VALIDATOR").map_or_else(
        |_| {
            let version = "0.6.0";
            repo_root().join(format!(
                ".tools/action-validator-{version}/node_modules/.bin/action-validator"
            ))
        },
        PathBuf::from,
    );
    assert!(
        bin.exists(),
        "action-validator not found at {}: run `scripts/test` (it installs it into .tools/) or \
         set SHIPFRONT_ACTION_VALIDATOR",
        bin.display()
    );
    bin
}

fn validate(file: &Path) -> std::process::Output {
    Command::new(validator())
        .arg(file)
        .output()
        .expect("run action-validator")
}

#[test]
fn action_yml_and_the_workflows_init_writes_match_githubs_schema() {
    let world = World::new("action-schema");
    world
        .shipfront("init")
        .bucket("my-site")
        .args(&["--github", "--atomic"])
        .distribution("E123")
        .ok();
    let workflows = world.workdir.path().join(".github/workflows");
    // The validator's newest schema (0.6.0) predates the `attestations` permission GitHub added
    // for artifact attestations: release.yml is checked with that one line left out.
    let release =
        std::fs::read_to_string(repo_root().join(".github/workflows/release.yml")).unwrap();
    let attestations = "      attestations: write\n";
    assert!(
        release.contains(attestations),
        "release.yml writes attestations"
    );
    let release_checked = world.workdir.path().join("release.yml");
    std::fs::write(&release_checked, release.replace(attestations, "")).unwrap();
    for file in [
        repo_root().join("action.yml"),
        workflows.join("deploy.yml"),
        workflows.join("rollback.yml"),
        workflows.join("preview.yml"),
        release_checked,
        repo_root().join(".github/workflows/ci.yml"),
    ] {
        let out = validate(&file);
        assert!(
            out.status.success(),
            "{} fails the schema:\n{}{}",
            file.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // The validator does reject what GitHub would: a control with a typo in `runs.using`.
    let broken = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo_root().join("action.yml")).unwrap();
    std::fs::write(
        broken.path().join("action.yml"),
        text.replace("using: composite", "using: compost"),
    )
    .unwrap();
    assert!(!validate(&broken.path().join("action.yml")).status.success());
}

/// The `name=value` lines a step wrote to its `$GITHUB_OUTPUT` file (none when it is missing).
fn read_outputs(file: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// `INPUT_*` variables, by name without the prefix.
type Inputs<'a> = &'a [(&'a str, &'a str)];

/// One run of `action/run.sh` with `inputs`, as the runner starts it.
struct ActionRun {
    run: Run,
    outputs: BTreeMap<String, String>,
    summary: String,
}

fn run_action(world: &World, inputs: &[(&str, &str)]) -> ActionRun {
    let files = tempfile::tempdir().unwrap();
    let output = files.path().join("output");
    let summary = files.path().join("summary.md");
    let mut cmd = world.script("action/run.sh");
    cmd.env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", &summary);
    for (name, value) in inputs {
        cmd.env(format!("INPUT_{name}"), value);
    }
    let run = Run::of(cmd);
    let outputs = read_outputs(&output);
    ActionRun {
        run,
        outputs,
        summary: std::fs::read_to_string(&summary).unwrap_or_default(),
    }
}

#[test]
fn the_action_deploys_then_rolls_back_with_outputs_and_a_summary() {
    let world = World::new("action");
    let distribution = world.distribution("");
    let site = Site::new();
    site.file("index.html", "<h1>v1</h1>")
        .file("app.css", "body{}")
        .file("old.txt", "old");
    let dir = site.path().to_str().unwrap().to_owned();
    let inputs = [
        ("DIR", dir.as_str()),
        ("BUCKET", world.bucket.as_str()),
        ("DISTRIBUTION_ID", distribution.as_str()),
        ("COMMAND", "deploy"),
        ("DRY_RUN", "false"),
        ("SPA", "false"),
        ("WAIT", "false"),
    ];
    // A commit message can span lines; none may reach the log as a workflow command.
    let message = "Fix the footer\n::error::not a real error";
    let mut first_inputs = inputs.to_vec();
    first_inputs.push(("MESSAGE", message));
    let first = run_action(&world, &first_inputs);
    let first_run = first.run.ok();
    assert!(
        !first_run.stdout.lines().any(|l| l.starts_with("::")),
        "{}",
        first_run.stdout
    );
    let o = &first.outputs;
    assert_eq!(o["uploaded"], "3", "{o:?}");
    assert_eq!(o["changed"], "3");
    assert_eq!(o["deleted"], "0");
    assert_eq!(o["bytes"], (11 + 6 + 3).to_string());
    assert_eq!(o["invalidation-id"], "", "new keys were never cached");
    let v1 = o["release-id"].clone();
    assert!(!v1.is_empty());
    assert!(
        first.summary.contains(&format!("| release | `{v1}` |")),
        "{}",
        first.summary
    );

    site.file("index.html", "<h1>v2</h1>").remove("old.txt");
    let second = run_action(&world, &inputs);
    assert_second_deploy(&second);

    let rollback = run_action(
        &world,
        &[
            ("COMMAND", "rollback"),
            ("TO", v1.as_str()),
            ("BUCKET", world.bucket.as_str()),
            ("DISTRIBUTION_ID", distribution.as_str()),
        ],
    );
    assert_rolled_back(&rollback, &v1);
    site.file("index.html", "<h1>v1</h1>")
        .file("old.txt", "old");
    assert_eq!(world.objects(), site.md5s(""), "the bucket is v1 again");
}

/// The second deploy of the action test: one page changed, one file gone.
fn assert_second_deploy(second: &ActionRun) {
    assert_eq!(second.run.code, 0, "{}", second.run.stderr);
    let o = &second.outputs;
    assert_eq!(
        (
            o["uploaded"].as_str(),
            o["deleted"].as_str(),
            o["unchanged"].as_str()
        ),
        ("1", "1", "1"),
        "{o:?}"
    );
    assert_eq!(o["changed"], "2");
    assert!(!o["invalidation-id"].is_empty(), "{o:?}");
    for want in [
        "| uploaded | 1 (11 B) |",
        "| deleted | 1 |",
        "| unchanged | 1 |",
        "| invalidation | `",
        "<code>/index.html</code>",
        "| delete | stale | <code>old.txt</code> |",
    ] {
        assert!(
            second.summary.contains(want),
            "{want:?} in:\n{}",
            second.summary
        );
    }
}

/// The rollback of the action test, to `v1`.
fn assert_rolled_back(rollback: &ActionRun, v1: &str) {
    assert_eq!(rollback.run.code, 0, "{}", rollback.run.stderr);
    let o = &rollback.outputs;
    assert_eq!(o["restored"], "2", "{o:?}");
    assert_eq!(o["changed"], "2");
    assert!(!o["release-id"].is_empty() && o["release-id"] != v1);
    assert!(!o["invalidation-id"].is_empty());
    assert!(
        rollback.summary.contains("### shipfront rollback: `s3://")
            && rollback.summary.contains("| restored | 2 |"),
        "{}",
        rollback.summary
    );
}

#[test]
fn bad_inputs_fail_with_an_annotation_that_says_what_to_fix() {
    let world = World::new("action-bad");
    let site = Site::new();
    site.file("index.html", "x");
    let dir = site.path().to_str().unwrap().to_owned();
    let bucket = world.bucket.as_str();
    let cases: [(Inputs, i32, &str); 8] = [
        (
            &[("DIR", &dir), ("BUCKET", bucket), ("ATOMIC", "true")],
            2,
            "--atomic (atomic = true) switches releases in shipfront's routing function at \
             CloudFront: pass --distribution-id ID too",
        ),
        (
            &[("DIR", &dir)],
            2,
            "::error title=shipfront action%3A invalid input::no bucket: set the action's `bucket` input",
        ),
        (
            &[("DIR", &dir), ("BUCKET", bucket), ("COMMAND", "deploi")],
            2,
            "input `command` must be `deploy`, `rollback`, `promote` or `remove-preview`, not \
             `deploi`",
        ),
        (
            &[("BUCKET", bucket), ("COMMAND", "promote")],
            2,
            "input `preview` names the preview to promote",
        ),
        (
            &[
                ("BUCKET", bucket),
                ("COMMAND", "rollback"),
                ("PREVIEW", "pr-1"),
            ],
            2,
            "input `preview` is for `command: deploy`, `promote` or `remove-preview`",
        ),
        (
            &[("DIR", &dir), ("BUCKET", bucket), ("DRY_RUN", "maybe")],
            2,
            "input `dry-run` must be true or false, not `maybe`",
        ),
        (
            &[
                ("DIR", &dir),
                ("BUCKET", bucket),
                ("ARGS", "--max-delets 5"),
            ],
            2,
            "::error title=shipfront%3A invalid command line::unexpected argument '--max-delets'",
        ),
        (
            &[("DIR", &dir), ("BUCKET", "no-such-bucket-here")],
            1,
            "::error title=shipfront deploy failed::bucket `no-such-bucket-here`",
        ),
    ];
    for (inputs, code, want) in cases {
        let got = run_action(&world, inputs);
        assert_eq!(
            got.run.code, code,
            "{inputs:?}: {}{}",
            got.run.stdout, got.run.stderr
        );
        assert!(
            got.run.stdout.contains(want),
            "{inputs:?}: stdout lacks {want:?}:\n{}\nstderr:\n{}",
            got.run.stdout,
            got.run.stderr
        );
        assert!(got.outputs.is_empty(), "{inputs:?}: no outputs on failure");
    }
    let failed = run_action(&world, &[("DIR", &dir), ("BUCKET", "no-such-bucket-here")]);
    assert!(
        failed.summary.contains("### shipfront deploy failed"),
        "{}",
        failed.summary
    );
    assert!(world.objects().is_empty(), "nothing written");
}

#[test]
fn init_writes_a_config_that_deploys_and_never_overwrites_by_surprise() {
    let world = World::new("init");
    let run = world.shipfront("init").ok();
    assert!(
        run.stdout.contains("wrote shipfront.toml"),
        "{}",
        run.stdout
    );
    let site = Site::new();
    site.file("index.html", "x");
    // The bucket comes from the written file.
    world.shipfront_without_bucket("deploy").site(&site).ok();
    assert_eq!(world.objects(), site.md5s(""));

    let before = std::fs::read_to_string(world.workdir.path().join("shipfront.toml")).unwrap();
    world
        .shipfront_without_bucket("init")
        .args(&["--github"])
        .run()
        .fails(2, "shipfront.toml already exists");
    assert!(
        !world.workdir.path().join(".github").exists(),
        "nothing written when one file exists"
    );
    world
        .shipfront_without_bucket("init")
        .args(&["--github", "--force"])
        .ok();
    let after = std::fs::read_to_string(world.workdir.path().join("shipfront.toml")).unwrap();
    assert_ne!(before, after, "--force overwrote it (no bucket now)");
    assert!(after.contains("# bucket = \"www-example-com\""), "{after}");
    world
        .shipfront("init")
        .bucket("a b")
        .run()
        .fails(2, "invalid --bucket `a b`");
}

#[test]
fn the_installer_uses_a_cached_build_and_refuses_unsupported_runners() {
    let files = tempfile::tempdir().unwrap();
    let output = files.path().join("output");
    let path_file = files.path().join("path");
    let installer = repo_root().join("action/install.sh");
    let step = |args: &str, env: &[(&str, &std::ffi::OsStr)]| {
        let mut cmd = Command::new("bash");
        cmd.arg(&installer)
            .arg(args)
            .env("GITHUB_OUTPUT", &output)
            .env("GITHUB_PATH", &path_file)
            .env("GITHUB_ACTION_PATH", repo_root())
            .env("RUNNER_TOOL_CACHE", files.path())
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64");
        for (k, v) in env {
            cmd.env(k, v);
        }
        Run::of(cmd)
    };
    let outputs = || read_outputs(&output);

    step("plan", &[("INPUT_VERSION", "source".as_ref())]).ok();
    let plan = outputs();
    assert_eq!(plan["mode"], "source");
    let key_start = format!(
        "shipfront-source-{}-x86_64-unknown-linux-gnu-",
        env!("CARGO_PKG_VERSION")
    );
    assert!(plan["key"].starts_with(&key_start), "{plan:?}");
    let root = PathBuf::from(&plan["root"]);
    assert_eq!(root, files.path().join("shipfront").join(&plan["key"]));

    // What actions/cache restored: the binary is used as is, no build.
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_shipfront"), root.join("bin/shipfront")).unwrap();
    std::fs::remove_file(&output).unwrap();
    let run = step(
        "install",
        &[
            ("INSTALL_MODE", "source".as_ref()),
            ("INSTALL_ROOT", root.as_os_str()),
            ("PATH", "/usr/bin:/bin".as_ref()),
        ],
    )
    .ok();
    assert!(run.stdout.contains("(cached)"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains(&format!("shipfront {}", env!("CARGO_PKG_VERSION"))),
        "{}",
        run.stdout
    );
    assert_eq!(
        outputs()["bin"],
        root.join("bin/shipfront").display().to_string()
    );
    assert_eq!(
        std::fs::read_to_string(&path_file).unwrap().trim(),
        root.join("bin").display().to_string()
    );

    let run = step(
        "plan",
        &[
            ("INPUT_VERSION", "source".as_ref()),
            ("RUNNER_OS", "Windows".as_ref()),
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "::error title=shipfront action%3A install::no shipfront for a Windows/X64 runner"
        ),
        "{}",
        run.stdout
    );
}

/// The action's source as a branch checkout holds it: enough for the installer to build it.
fn checkout_source(dir: &Path) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    for file in ["Cargo.toml", "Cargo.lock", "src/main.rs"] {
        std::fs::copy(repo_root().join(file), dir.join(file)).unwrap();
    }
}

/// Runs `script` with `sh` in `dir`, and checks it succeeded.
fn sh_in(dir: &Path, script: &str) {
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{script}: {out:?}");
}

/// A published release of this build under `root/releases/vVERSION`, as
/// .github/workflows/release.yml packages it: the archive and its `.sha256`.
fn publish_release(root: &Path, version: &str, archive: &str) -> std::path::PathBuf {
    let release = root.join(format!("releases/v{version}"));
    std::fs::create_dir_all(&release).unwrap();
    let staging = root.join("staging");
    std::fs::create_dir_all(&staging).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_shipfront"), staging.join("shipfront")).unwrap();
    sh_in(
        &release,
        &format!("tar -czf {archive} -C {} shipfront", staging.display()),
    );
    sh_in(&release, &format!("sha256sum {archive} > {archive}.sha256"));
    release
}

#[test]
fn the_installer_downloads_the_release_of_the_actions_own_tag() {
    let tmp = tempfile::tempdir().unwrap();
    let version = env!("CARGO_PKG_VERSION");
    let archive = "shipfront-x86_64-unknown-linux-gnu.tar.gz".to_owned();
    // The runner checks the action out at _actions/OWNER/REPO/REF.
    let action = tmp
        .path()
        .join(format!("_actions/acme/shipfront/v{version}"));
    std::fs::create_dir_all(&action).unwrap();
    std::fs::copy(repo_root().join("Cargo.toml"), action.join("Cargo.toml")).unwrap();
    let release = publish_release(tmp.path(), version, &archive);
    let output = tmp.path().join("output");
    let step = |args: &str, action_path: &Path, env: &[(&str, &std::ffi::OsStr)]| {
        let mut cmd = Command::new("bash");
        cmd.arg(repo_root().join("action/install.sh"))
            .arg(args)
            .env("GITHUB_OUTPUT", &output)
            .env("GITHUB_PATH", tmp.path().join("path"))
            .env("GITHUB_ACTION_PATH", action_path)
            .env_remove("GITHUB_ACTION_REF")
            .env_remove("GITHUB_ACTION_REPOSITORY")
            .env(
                "SHIPFRONT_DOWNLOAD_BASE",
                format!("file://{}", tmp.path().join("releases").display()),
            )
            .env("RUNNER_TOOL_CACHE", tmp.path().join("cache"))
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env("INPUT_VERSION", "")
            // No GitHub CLI here: the SHA-256 alone (the provenance test stubs one).
            .env("SHIPFRONT_GH", "");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let run = Run::of(cmd);
        let outputs = read_outputs(&output);
        let _ = std::fs::remove_file(&output);
        (run, outputs)
    };

    let (run, plan) = step("plan", &action, &[]);
    let run = run.ok();
    assert_eq!(plan["mode"], "release", "{plan:?} {}", run.stderr);
    assert_eq!(plan["repository"], "acme/shipfront");
    assert!(
        plan["url"].ends_with(&format!("/v{version}/{archive}")),
        "{plan:?}"
    );
    let (run, installed) = step(
        "install",
        &action,
        &[
            ("INSTALL_MODE", "release".as_ref()),
            ("INSTALL_ROOT", plan["root"].as_ref()),
            ("INSTALL_URL", plan["url"].as_ref()),
        ],
    );
    let run = run.ok();
    assert!(
        run.stdout.contains(&format!("shipfront {version}")),
        "{}",
        run.stdout
    );
    assert!(Path::new(&installed["bin"]).is_file());

    // A tampered archive is refused.
    sh_in(&release, &format!("echo 0000 > {archive}.sha256"));
    let root = tmp.path().join("fresh");
    let (run, _) = step(
        "install",
        &action,
        &[
            ("INSTALL_MODE", "release".as_ref()),
            ("INSTALL_ROOT", root.as_os_str()),
            ("INSTALL_URL", plan["url"].as_ref()),
        ],
    );
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("checksum mismatch"), "{}", run.stdout);

    // A branch reference builds the action's own source (cached).
    let branch = tmp.path().join("_actions/acme/shipfront/main");
    checkout_source(&branch);
    let (run, plan) = step("plan", &branch, &[]);
    run.ok();
    assert_eq!(plan["mode"], "source", "{plan:?}");
}

/// A published release and `install.sh install` run against it, with stubs standing in for
/// the GitHub CLI (real `gh` cannot reach GitHub here): each answers as gh does and records its
/// arguments.
struct ProvenanceCheck {
    tmp: tempfile::TempDir,
    release: PathBuf,
    calls: PathBuf,
}

const ARCHIVE: &str = "shipfront-x86_64-unknown-linux-gnu.tar.gz";

impl ProvenanceCheck {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let release = publish_release(tmp.path(), "9.9.9", ARCHIVE);
        let calls = tmp.path().join("gh-calls");
        ProvenanceCheck {
            tmp,
            release,
            calls,
        }
    }

    /// A `gh` that knows `attestation verify --help`, and answers a verification with `says`
    /// and exit status `status`.
    fn stub(&self, name: &str, status: u8, says: &str) -> PathBuf {
        let path = self.tmp.path().join(name);
        let script = format!(
            "#!/bin/sh\n[ \"$3\" = --help ] && exit 0\necho \"$@\" >> '{}'\necho '{says}'\nexit {status}\n",
            self.calls.display()
        );
        std::fs::write(&path, script).unwrap();
        sh_in(self.tmp.path(), &format!("chmod +x {name}"));
        path
    }

    /// Installs into `root` with `gh` (empty: none) and `verify-provenance: mode`.
    fn install(&self, gh: &Path, mode: &str, root: &str) -> Run {
        let mut cmd = Command::new("bash");
        cmd.arg(repo_root().join("action/install.sh"))
            .arg("install")
            .env("GITHUB_OUTPUT", self.tmp.path().join("output"))
            .env("GITHUB_PATH", self.tmp.path().join("path"))
            .env("GITHUB_ACTION_REPOSITORY", "acme/shipfront")
            .env("INSTALL_MODE", "release")
            .env("INSTALL_ROOT", self.tmp.path().join(root))
            .env(
                "INSTALL_URL",
                format!("file://{}/{ARCHIVE}", self.release.display()),
            )
            .env("INPUT_VERIFY_PROVENANCE", mode)
            .env("SHIPFRONT_GH", gh);
        Run::of(cmd)
    }
}

#[track_caller]
fn says(run: &Run, text: &str) {
    assert!(run.stdout.contains(text), "{text:?} in {}", run.stdout);
}

/// With the GitHub CLI on the runner, the installer checks the archive's build provenance
/// (`gh attestation verify ARCHIVE --repo OWNER/REPO --signer-workflow ...`) besides its SHA-256,
/// and refuses an archive that does not verify, whatever the mode.
#[test]
fn the_installer_checks_the_build_provenance_with_gh_when_it_is_there() {
    let check = ProvenanceCheck::new();
    says(
        &check.install(Path::new(""), "auto", "a").ok(),
        "checked: SHA-256 (with the GitHub CLI",
    );
    let verified = check.install(
        &check.stub("gh-ok", 0, "✓ Verification succeeded!"),
        "auto",
        "b",
    );
    says(
        &verified.ok(),
        "checked: SHA-256 and build provenance (gh attestation verify --signer-workflow \
         acme/shipfront/.github/workflows/release.yml)",
    );
    let called = std::fs::read_to_string(&check.calls).unwrap();
    assert!(
        called.starts_with("attestation verify ")
            && called.trim_end().ends_with(
                "--repo acme/shipfront --signer-workflow acme/shipfront/.github/workflows/release.yml"
            ),
        "{called}"
    );

    let tampered = check.stub("gh-no", 1, "✗ Verification failed");
    for mode in ["auto", "true"] {
        let refused = check.install(&tampered, mode, mode);
        assert_eq!(refused.code, 1, "{}", refused.stdout);
        says(&refused, "does not verify");
        assert!(!check.tmp.path().join(mode).join("bin/shipfront").exists());
    }
}

/// When gh cannot check (offline, not logged in): `auto` warns and installs on the SHA-256,
/// `true` fails; `false` does not ask gh at all; any other value is refused.
#[test]
fn when_gh_cannot_check_the_provenance_the_input_says_what_happens() {
    let check = ProvenanceCheck::new();
    let offline = check.stub(
        "gh-offline",
        1,
        "✗ Loading attestations from GitHub API failed",
    );
    let warned = check.install(&offline, "auto", "a").ok();
    says(
        &warned,
        "::warning title=shipfront action%3A install::gh could not check",
    );
    says(
        &warned,
        "checked: SHA-256 (gh could not check the build provenance)",
    );
    let strict = check.install(&offline, "true", "b");
    assert_eq!(strict.code, 1, "{}", strict.stdout);
    says(&strict, "gh could not check the build provenance");
    let tampered = check.stub("gh-no", 1, "✗ Verification failed");
    says(
        &check.install(&tampered, "false", "c").ok(),
        "checked: SHA-256 (verify-provenance: false)",
    );
    let bad = check.install(&tampered, "maybe", "d");
    assert_eq!(bad.code, 1);
    says(&bad, "verify-provenance must be auto, true or false");
}

/// The first major of each JavaScript action we use that runs on Node 24, read from that
/// action's own action.yml (`runs.using`). GitHub removed Node 20 from its runners on
/// 2026-09-16: every earlier major is refused. The next deprecation is a change of numbers here.
const NODE24_FROM: &[(&str, u32)] = &[
    ("actions/checkout", 5),
    ("actions/cache", 5),
    ("actions/upload-artifact", 6),
    ("actions/download-artifact", 7),
    ("aws-actions/configure-aws-credentials", 6),
    // Composite; the actions/attest it runs is on node24 from v3.
    ("actions/attest-build-provenance", 3),
];

/// Actions that run no JavaScript of their own (composite), and this repository's own.
const NOT_JAVASCRIPT: &[&str] = &["dtolnay/rust-toolchain", "shipfront/shipfront"];

/// Every `uses: owner/name@ref` in the files users copy or run: the Action, the workflows init
/// writes, the README and docs, and this repository's workflows.
fn action_references() -> Vec<(String, String)> {
    let root = repo_root();
    let mut files = vec![root.join("action.yml"), root.join("README.md")];
    for dir in [".github/workflows", "src/commands/templates", "docs"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                files.push(path);
            }
        }
    }
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for line in text.lines() {
            // `- uses: x`, `uses:\tx`, quoted; a commented-out line is not a reference.
            let code = line.split(" #").next().unwrap_or_default();
            let Some((before, used)) = code.split_once("uses:") else {
                continue;
            };
            if before.trim_start().starts_with('#') {
                continue;
            }
            let used = used.trim().trim_matches(|c| c == '\'' || c == '"');
            if used.contains('@') && !used.starts_with("./") && !used.starts_with("docker://") {
                found.push((file.display().to_string(), used.to_owned()));
            }
        }
    }
    found
}

#[test]
fn every_action_reference_runs_on_node_24() {
    let references = action_references();
    assert!(references.len() >= 10, "{references:?}");
    for (file, used) in references {
        let (action, reference) = used.split_once('@').unwrap();
        if NOT_JAVASCRIPT.contains(&action) {
            continue;
        }
        let Some((_, first)) = NODE24_FROM.iter().find(|(a, _)| *a == action) else {
            panic!(
                "{file}: `{used}` is not in NODE24_FROM: read its action.yml (`runs.using`) \
                 and add the first major on node24"
            );
        };
        let major: u32 = reference
            .strip_prefix('v')
            .and_then(|v| v.split('.').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{file}: `{used}` is not a major version tag"));
        assert!(
            major >= *first,
            "{file}: `{used}` runs on Node 20 or older; use {action}@v{first} or later"
        );
    }
}

/// `cargo binstall` finds the archives the release workflow publishes: the same name per
/// target, the binary at the archive's root.
#[test]
fn binstall_metadata_names_the_published_archives() {
    let cargo = std::fs::read_to_string(repo_root().join("Cargo.toml")).unwrap();
    let release =
        std::fs::read_to_string(repo_root().join(".github/workflows/release.yml")).unwrap();
    let setting = |name: &str| {
        cargo
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} = \"")))
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or_else(|| panic!("{name} missing from Cargo.toml"))
            .to_owned()
    };
    let published = "shipfront-${{ matrix.target }}.tar.gz";
    assert!(release.contains(&format!("name={published}")), "{release}");
    assert!(
        release.contains("--profile dist")
            && release.contains("-C target/${{ matrix.target }}/dist shipfront"),
        "the binary at the archive's root"
    );
    assert_eq!(
        setting("pkg-url"),
        "{ repo }/releases/download/v{ version }/shipfront-{ target }.tar.gz"
    );
    assert_eq!(setting("bin-dir"), "shipfront{ binary-ext }");
    assert_eq!(setting("pkg-fmt"), "tgz");
    assert!(
        release.contains(r#"tags: ["v*.*.*"]"#),
        "tags are v{{ version }}"
    );
}
