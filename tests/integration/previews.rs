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
