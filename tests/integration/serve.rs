//! `shipfront serve` (issue 23), first part: the generated viewer-request function runs in the
//! embedded engine (QuickJS) exactly as it runs in Node with CloudFront's module stood in for:
//! for every file of every real framework fixture, its clean URLs, redirects, the hidden state
//! prefix and odd requests, in both modes and atomic, the two give the same answer.

use std::collections::BTreeMap;

use shipfront::core::atomic::{self, LIVE_KEY};
use shipfront::core::fingerprint::Evidence;
use shipfront::core::routing::{Mode, Redirect, RoutingConfig, RoutingInputs, TrailingSlash};
use shipfront::core::viewer::ViewerRequest;
use shipfront::store::ViewerFunction;

use crate::harness::repo_root;
use crate::routing::{fixture_version, run_in_node_with_kvs};

/// What a visitor may ask of a build of `rels`: every file, and the clean URLs of its pages,
/// with a query string here and there, and requests no build has.
fn requests(rels: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, rel) in rels.iter().enumerate() {
        let url = format!("/{}", shipfront::core::routing::encode_path(rel));
        if let Some(folder) = url.strip_suffix("index.html") {
            out.push(folder.to_owned());
            out.push(folder.trim_end_matches('/').to_owned());
        } else if let Some(page) = url.strip_suffix(".html") {
            out.push(page.to_owned());
        }
        out.push(if i % 7 == 0 {
            format!("{url}?v=1&v=2")
        } else {
            url
        });
    }
    out.extend(
        [
            "/",
            "/old",
            "/old/deep/x?q=1",
            "/.shipfront/lock",
            "/no/such/page",
            "/a%20b",
            "/x.js",
        ]
        .map(str::to_owned),
    );
    out.retain(|r| !r.is_empty());
    out
}

/// The answers of `source` (reading `kvs`) to `requests`, in the engine.
fn in_engine(source: &str, kvs: &BTreeMap<String, String>, requests: &[&str]) -> Vec<String> {
    let function = shipfront::js::QuickJs::load(source, kvs).expect("loads");
    requests
        .iter()
        .map(|target| {
            let request = ViewerRequest::of("GET", target, None);
            match function.run(&request) {
                Ok(answer) => answer.summary(&request),
                Err(e) => format!("error: {e}"),
            }
        })
        .collect()
}

#[test]
fn the_engine_answers_as_node_does_for_every_fixture() {
    let frameworks = std::fs::read_dir(repo_root().join("testdata/frameworks")).unwrap();
    let mut compared = 0;
    for entry in frameworks {
        let path = entry.unwrap().path();
        if !path.is_dir() {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let rels = fixture_version(&name, 1);
        if rels.is_empty() {
            continue;
        }
        let targets = requests(&rels);
        let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
        let redirects = vec![
            Redirect::new("/old", "/", 301).unwrap(),
            Redirect::new("/old/*", "/new/:splat", 302).unwrap(),
        ];
        let spa = rels.iter().any(|r| r == "index.html");
        for mode in [
            Mode::Pages,
            Mode::Spa {
                fallback: "index.html".to_owned(),
            },
        ] {
            if matches!(mode, Mode::Spa { .. }) && !spa {
                continue;
            }
            let config = RoutingConfig {
                mode,
                trailing_slash: TrailingSlash::AsBuilt,
                redirects: redirects.clone(),
                hidden: Some("/.shipfront/".to_owned()),
            };
            let inputs = RoutingInputs::of(
                rels.iter().map(String::as_str),
                &config,
                ".shipfront/",
                Some(""),
            );
            let plain = inputs.function().unwrap();
            let none = BTreeMap::new();
            let node = run_in_node_with_kvs(&plain, &targets, &none);
            assert_eq!(
                in_engine(&plain, &none, &targets),
                node,
                "{name} {:?}",
                config.mode
            );
            // The atomic function, reading its pointer from the KeyValueStore.
            let id = "20261206T000000.000Z-abcdef";
            let evidence = Evidence::new(rels.iter().map(String::as_str));
            let placement = atomic::place(rels.iter().map(String::as_str), &evidence, id);
            let mut kvs = BTreeMap::from([(LIVE_KEY.to_owned(), placement.pointer(id).value())]);
            for uri in &placement.exceptions {
                kvs.insert(atomic::exception_key(id, uri), "1".to_owned());
            }
            let source = atomic::function(&inputs, atomic::RELEASES_URL).unwrap();
            let node = run_in_node_with_kvs(&source, &targets, &kvs);
            assert_eq!(in_engine(&source, &kvs, &targets), node, "{name} atomic");
            compared += 2 * targets.len();
        }
    }
    assert!(compared > 2000, "only {compared} answers compared");
}

/// A function that throws, or one without `handler`, is an error naming why, as CloudFront
/// answers 502 for the first; an atomic function without its `live` key throws.
#[test]
fn a_function_that_throws_or_does_not_load_says_why() {
    let none = BTreeMap::new();
    let throws = "function handler(event) { throw new Error('boom'); }";
    let function = shipfront::js::QuickJs::load(throws, &none).expect("loads");
    let err = function
        .run(&ViewerRequest::of("GET", "/", None))
        .unwrap_err();
    assert!(err.0.contains("boom"), "{err}");
    let broken = shipfront::js::QuickJs::load("function handler(event) {", &none).err();
    assert!(broken.is_some_and(|e| e.0.contains("does not load")));
    let nothing = shipfront::js::QuickJs::load("var x = 1;", &none).err();
    assert!(nothing.is_some(), "no handler");
    let rels = ["index.html".to_owned()];
    let config = RoutingConfig {
        mode: Mode::Pages,
        trailing_slash: TrailingSlash::AsBuilt,
        redirects: Vec::new(),
        hidden: None,
    };
    let inputs = RoutingInputs::of(
        rels.iter().map(String::as_str),
        &config,
        ".shipfront/",
        Some(""),
    );
    let source = atomic::function(&inputs, atomic::RELEASES_URL).unwrap();
    let unpointed = shipfront::js::QuickJs::load(&source, &none).expect("loads");
    let err = unpointed
        .run(&ViewerRequest::of("GET", "/", None))
        .unwrap_err();
    assert!(err.0.contains("KeyNotFound: live"), "{err}");
}
