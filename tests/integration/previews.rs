//! Preview deploys (issue 24): the atomic routing function with a preview domain serves the
//! host `NAME.<domain>` from the release the KVS key `p/NAME` points at, every other host from
//! `live`, and answers 404 for a preview that does not exist. Run in Node and in the engine
//! `serve` uses, with the same answers.

use std::collections::BTreeMap;

use shipfront::core::atomic::{self, LIVE_KEY};
use shipfront::core::fingerprint::Evidence;
use shipfront::core::routing::{Mode, RoutingConfig, RoutingInputs, TrailingSlash};
use shipfront::core::viewer::ViewerRequest;
use shipfront::store::ViewerFunction;

use crate::routing::run_in_node_with_kvs;

/// The atomic function of a small multi-page build, previews served under `preview.example.com`.
fn function_with_previews(rels: &[&str]) -> String {
    let config = RoutingConfig {
        mode: Mode::Pages,
        trailing_slash: TrailingSlash::AsBuilt,
        redirects: Vec::new(),
        hidden: Some("/.shipfront/".to_owned()),
        preview_domain: Some("preview.example.com".to_owned()),
    };
    let inputs = RoutingInputs::of(rels.iter().copied(), &config, ".shipfront/", Some(""));
    atomic::function(&inputs, atomic::RELEASES_URL).unwrap()
}

#[test]
fn a_preview_host_is_served_from_its_own_release() {
    let rels = ["index.html", "about/index.html", "assets/app-BbXQDiXP.js"];
    let source = function_with_previews(&rels);
    let evidence = Evidence::new(rels.iter().copied());
    let placement = atomic::place(rels.iter().copied(), &evidence, "r1");
    let kvs = BTreeMap::from([
        (LIVE_KEY.to_owned(), placement.pointer("r1").value()),
        ("p/pr-7".to_owned(), placement.pointer("r2").value()),
    ]);
    let cases = [
        ("/about/", "rewrite /_releases/r1/about/index.html"),
        (
            "//www.example.com/about/",
            "rewrite /_releases/r1/about/index.html",
        ),
        (
            "//pr-7.preview.example.com/about/",
            "rewrite /_releases/r2/about/index.html",
        ),
        (
            "//PR-7.Preview.Example.com:443/",
            "rewrite /_releases/r2/index.html",
        ),
        ("//pr-7.preview.example.com/assets/app-BbXQDiXP.js", "pass"),
        ("//pr-7.preview.example.com/about", "301 /about/"),
        ("//pr-8.preview.example.com/", "404"),
        ("//a.pr-7.preview.example.com/", "404"),
        ("//preview.example.com/", "rewrite /_releases/r1/index.html"),
        ("//pr-7.preview.example.com/.shipfront/lock", "404"),
    ];
    let targets: Vec<&str> = cases.iter().map(|(t, _)| *t).collect();
    let node = run_in_node_with_kvs(&source, &targets, &kvs);
    let engine = shipfront::js::QuickJs::load(&source, &kvs).unwrap();
    for ((target, want), node) in cases.iter().zip(&node) {
        assert_eq!(node, want, "node: {target}");
        let (host, path) = match target.strip_prefix("//") {
            Some(rest) => {
                let slash = rest.find('/').unwrap();
                (Some(&rest[..slash]), &rest[slash..])
            }
            None => (None, *target),
        };
        let request = ViewerRequest::of("GET", path, host);
        let answer = engine.run(&request).unwrap().summary(&request);
        assert_eq!(&answer, want, "engine: {target}");
    }
    // Without a preview domain, the function is the one it always was: no host is looked at.
    let plain = {
        let config = RoutingConfig {
            mode: Mode::Pages,
            trailing_slash: TrailingSlash::AsBuilt,
            redirects: Vec::new(),
            hidden: Some("/.shipfront/".to_owned()),
            preview_domain: None,
        };
        let inputs = RoutingInputs::of(rels.iter().copied(), &config, ".shipfront/", Some(""));
        atomic::function(&inputs, atomic::RELEASES_URL).unwrap()
    };
    assert!(!plain.contains("PREVIEWS"), "{plain}");
    let node = run_in_node_with_kvs(&plain, &["//pr-7.preview.example.com/about/"], &kvs);
    assert_eq!(node, ["rewrite /_releases/r1/about/index.html"]);
}

/// A page through `serve` on `port` as host `host` would get it: status and body.
fn page(port: u16, host: &str, path: &str) -> (u16, String) {
    let answer = crate::serve::ask(port, "GET", path, &[("Host", host)]);
    (
        answer.status,
        String::from_utf8_lossy(&answer.body).into_owned(),
    )
}

/// `serve --bucket` of `world`, standing in for CloudFront: the port and the process.
fn edge(world: &crate::harness::World) -> (std::process::Child, u16) {
    let serve = world.shipfront("serve").args(&["--port", "0"]);
    crate::serve::start_server(serve.command())
}

fn stop(mut server: std::process::Child) {
    server.kill().unwrap();
    server.wait().unwrap();
}

const LIVE_HOST: &str = "www.example.com";
const PREVIEW_HOST: &str = "pr-7.preview.example.com";

/// End to end through the binary, `serve --bucket` standing in for CloudFront: a live release,
/// then a preview of the next build, served on its own host while `live` is unchanged; listed
/// by `previews`; promoted (one pointer write, no upload: the preview's release is what goes
/// live); removed (its host answers 404).
#[test]
fn a_preview_is_served_on_its_host_promoted_and_removed() {
    let world = crate::harness::World::new("previews-e2e");
    let distribution = world.preview_distribution();
    let cloudfront = crate::harness::Proxy::start_cloudfront(&["--functions", "--kvs"]);
    world.config("atomic = true\npreview_domain = \"preview.example.com\"\n");
    let site = crate::harness::Site::new();
    site.file("index.html", "<h1>home 1</h1>")
        .file("about/index.html", "<h1>about 1</h1>");
    let run = |command: &str| {
        world
            .shipfront(command)
            .distribution(&distribution)
            .cloudfront_via(&cloudfront)
    };
    run("deploy").site(&site).args(&["--no-progress"]).ok();
    site.file("index.html", "<h1>home 2</h1>");
    let preview = run("deploy")
        .site(&site)
        .args(&["--no-progress", "--preview", "pr-7"])
        .ok();
    assert!(
        preview
            .stdout
            .contains("preview `pr-7`: https://pr-7.preview.example.com/"),
        "{}",
        preview.stdout
    );
    let answers = pages(
        &world,
        &[
            (LIVE_HOST, "/"),
            (PREVIEW_HOST, "/"),
            (PREVIEW_HOST, "/about/"),
            ("pr-8.preview.example.com", "/"),
        ],
    );
    let home = |n: u32| (200, format!("<h1>home {n}</h1>"));
    assert_eq!(answers[..2], [home(1), home(2)]);
    assert_eq!((answers[2].0, answers[3].0), (200, 404));

    let listed = run("previews").json().ok().json();
    let previews = listed["previews"].as_array().unwrap();
    assert_eq!(previews.len(), 1, "{listed}");
    assert_eq!(previews[0]["name"], "pr-7");
    assert_eq!(previews[0]["url"], "https://pr-7.preview.example.com/");
    let shown = previews[0]["release"].as_str().unwrap().to_owned();

    let before = world.all_objects();
    let promoted = run("promote").args(&["pr-7"]).json().ok().json();
    assert_eq!(promoted["command"], "promote", "{promoted}");
    assert_eq!(promoted["switch"]["release"], shown.as_str());
    assert_eq!(promoted["result"]["uploaded"], 0);
    let after = world.all_objects();
    let written: Vec<&String> = after
        .keys()
        .filter(|k| before.get(*k) != after.get(*k) && !k.starts_with(".shipfront/"))
        .collect();
    assert!(written.is_empty(), "no site object written: {written:?}");
    assert_eq!(pages(&world, &[(LIVE_HOST, "/")]), [home(2)]);

    // Prune: a preview younger than the age stays; a dry run removes nothing.
    let kept = run("previews").args(&["prune", "--older-than", "30d"]).ok();
    assert!(
        kept.stdout.contains("no preview to remove"),
        "{}",
        kept.stdout
    );
    let dry = run("previews")
        .args(&["prune", "--older-than", "0s", "--dry-run"])
        .ok();
    assert!(
        dry.stdout.contains("would remove preview(s): pr-7"),
        "{}",
        dry.stdout
    );
    run("previews").args(&["remove", "pr-7"]).ok();
    let listed = run("previews").json().ok().json();
    assert_eq!(listed["previews"], serde_json::json!([]));
    let answers = pages(&world, &[(PREVIEW_HOST, "/"), (LIVE_HOST, "/")]);
    assert_eq!((answers[0].0, &answers[1]), (404, &home(2)));
}

/// What `serve --bucket` of `world` answers each `(host, path)`.
fn pages(world: &crate::harness::World, asked: &[(&str, &str)]) -> Vec<(u16, String)> {
    let (server, port) = edge(world);
    let answers = asked
        .iter()
        .map(|(host, path)| page(port, host, path))
        .collect();
    stop(server);
    answers
}

/// Bad input stops before any write: a name that is not a DNS label, a preview of an in-place
/// site, no preview_domain, and a live function that does not serve previews yet.
#[test]
fn bad_previews_are_refused_before_any_write() {
    let world = crate::harness::World::new("previews-bad");
    let plain = world.distribution("");
    let distribution = world.preview_distribution();
    let cloudfront = crate::harness::Proxy::start_cloudfront(&["--functions", "--kvs"]);
    let site = crate::harness::Site::new();
    site.file("index.html", "home");
    let deploy_to = |distribution: &str, args: &[&str]| {
        world
            .shipfront("deploy")
            .site(&site)
            .distribution(distribution)
            .cloudfront_via(&cloudfront)
            .args(args)
            .run()
    };
    let deploy = |args: &[&str]| deploy_to(&distribution, args);
    deploy(&["--preview", "pr-7"]).fails(2, "previews are releases of an atomic site");
    deploy(&["--atomic", "--preview", "pr-7"]).fails(2, "set preview_domain");
    world.config("preview_domain = \"preview.example.com\"\n");
    deploy(&["--atomic", "--preview", "PR_7"]).fails(2, "is not a DNS label");
    // A distribution that does not answer *.preview.example.com.
    deploy_to(&plain, &["--atomic", "--no-progress"]).ok();
    let before = world.all_objects();
    deploy_to(&plain, &["--atomic", "--preview", "pr-7"])
        .fails(2, "does not answer `*.preview.example.com`");
    assert_eq!(world.all_objects(), before, "nothing written");
    // The live function was published before preview_domain was set: it serves no previews.
    world.config("");
    deploy(&["--atomic", "--no-progress"]).ok();
    world.config("preview_domain = \"preview.example.com\"\n");
    let before = world.all_objects();
    deploy(&["--atomic", "--preview", "pr-7"])
        .fails(2, "does not serve previews at *.preview.example.com");
    assert_eq!(world.all_objects(), before, "nothing written");
    world
        .shipfront("promote")
        .args(&["pr-7", "--atomic"])
        .distribution(&distribution)
        .cloudfront_via(&cloudfront)
        .run()
        .fails(2, "has no preview `pr-7`");
}

/// The GitHub Action, as a pull request workflow runs it: `command: deploy` with `preview`
/// gives the `preview-url` output and a summary link; `promote` and `remove-preview` act on it.
#[test]
fn the_action_deploys_promotes_and_removes_a_preview() {
    let world = crate::harness::World::new("previews-action");
    let distribution = world.preview_distribution();
    let cloudfront = crate::harness::Proxy::start_cloudfront(&["--functions", "--kvs"]);
    world.config("atomic = true\npreview_domain = \"preview.example.com\"\n");
    let site = crate::harness::Site::new();
    site.file("index.html", "<h1>home 1</h1>");
    let dir = site.path().to_str().unwrap().to_owned();
    let action = |inputs: &[(&str, &str)]| {
        let files = tempfile::tempdir().unwrap();
        let (output, summary) = (files.path().join("output"), files.path().join("summary"));
        let mut cmd = world.script("action/run.sh");
        cmd.env("GITHUB_ACTIONS", "true")
            .env("GITHUB_OUTPUT", &output)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("AWS_ENDPOINT_URL_CLOUDFRONT", &cloudfront.endpoint)
            .env(
                "AWS_ENDPOINT_URL_CLOUDFRONT_KEYVALUESTORE",
                &cloudfront.endpoint,
            )
            .env("INPUT_BUCKET", &world.bucket)
            .env("INPUT_DISTRIBUTION_ID", &distribution)
            .env("INPUT_DIR", &dir);
        for (name, value) in inputs {
            cmd.env(format!("INPUT_{name}"), value);
        }
        let run = crate::harness::Run::of(cmd);
        assert_eq!(run.code, 0, "{inputs:?}: {}{}", run.stdout, run.stderr);
        let outputs = std::fs::read_to_string(&output).unwrap_or_default();
        (
            outputs,
            std::fs::read_to_string(&summary).unwrap_or_default(),
        )
    };
    action(&[]);
    site.file("index.html", "<h1>home 2</h1>");
    let (outputs, summary) = action(&[("PREVIEW", "pr-12")]);
    let url = "https://pr-12.preview.example.com/";
    assert!(
        outputs.contains(&format!("preview-url={url}\n")),
        "{outputs}"
    );
    assert!(summary.contains(&format!("[{url}]({url})")), "{summary}");
    let (outputs, _) = action(&[("COMMAND", "promote"), ("PREVIEW", "pr-12")]);
    assert!(
        !outputs.contains("release-id=\n"),
        "a release recorded: {outputs}"
    );
    let listed = world
        .shipfront("releases")
        .distribution(&distribution)
        .cloudfront_via(&cloudfront)
        .json()
        .ok()
        .json();
    let newest = listed["releases"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(newest.starts_with("promote pr-12 ("), "{newest}");
    let kvs_live = run_previews(&world, &distribution, &cloudfront);
    assert_eq!(kvs_live, 1);
    action(&[("COMMAND", "remove-preview"), ("PREVIEW", "pr-12")]);
    assert_eq!(run_previews(&world, &distribution, &cloudfront), 0);
}

/// How many previews `shipfront previews` lists.
fn run_previews(
    world: &crate::harness::World,
    distribution: &str,
    cloudfront: &crate::harness::Proxy,
) -> usize {
    let listed = world
        .shipfront("previews")
        .distribution(distribution)
        .cloudfront_via(cloudfront)
        .json()
        .ok()
        .json();
    listed["previews"].as_array().map_or(0, Vec::len)
}
