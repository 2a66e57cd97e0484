//! The `--json` documents match docs/json.md: every key a command prints is documented there
//! with its type, and every documented key (not marked optional by a `null` example) shows up.
//! The documents come from real runs: a dry run, a deploy, a rollback, `releases`, `doctor`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::harness::{Run, Site, World, repo_root};

/// `(path, type)` of every value in `value`: objects by key, array elements as `[]`. Where
/// `like` (the documented example at the same place) is a map written `{"*": ...}`, every key
/// of `value` there is `*`.
fn flatten(
    value: &Value,
    like: Option<&Value>,
    path: &str,
    out: &mut BTreeSet<(String, &'static str)>,
) {
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(items) => {
            let element = like.and_then(|l| l.get(0));
            for item in items {
                flatten(item, element, &format!("{path}[]"), out);
            }
            "array"
        }
        Value::Object(fields) => {
            let map = like.and_then(|l| l.get("*"));
            for (key, field) in fields {
                let (key, child) = match map {
                    Some(each) => ("*", Some(each)),
                    None => (key.as_str(), like.and_then(|l| l.get(key))),
                };
                flatten(field, child, &format!("{path}.{key}"), out);
            }
            "object"
        }
    };
    out.insert((path.to_owned(), kind));
}

/// A documented document: its example, and the paths that may be missing or null.
struct Shape {
    example: Value,
    optional: BTreeSet<String>,
}

/// The example documents of docs/json.md, by the name in their
/// `<!-- shape: NAME; optional: PATH ... -->` line.
fn documented() -> BTreeMap<String, Shape> {
    let text = std::fs::read_to_string(repo_root().join("docs/json.md")).unwrap();
    let mut shapes = BTreeMap::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("<!-- shape: ") {
        let after = &rest[at + "<!-- shape: ".len()..];
        let head = &after[..after.find(" -->").unwrap()];
        let (name, optional) = head.split_once("; optional: ").unwrap_or((head, ""));
        let block = &after[after.find("```json\n").unwrap() + "```json\n".len()..];
        let end = block.find("\n```").unwrap();
        let example: Value = serde_json::from_str(&block[..end])
            .unwrap_or_else(|e| panic!("docs/json.md `{name}`: {e}"));
        let optional = optional.split_whitespace().map(str::to_owned).collect();
        shapes.insert(name.to_owned(), Shape { example, optional });
        rest = &block[end..];
    }
    shapes
}

/// Compares what the runs printed with the documented shape: every printed path documented,
/// with a documented type (null only where optional); every required path printed non-null.
fn check(name: &str, shape: &Shape, printed: &[Value]) -> Vec<String> {
    let mut doc = BTreeSet::new();
    flatten(&shape.example, None, "", &mut doc);
    let mut doc_types: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (path, kind) in &doc {
        let types = doc_types.entry(path.as_str()).or_default();
        if *kind != "null" {
            types.insert(*kind);
        }
    }
    let mut seen = BTreeSet::new();
    for document in printed {
        flatten(document, Some(&shape.example), "", &mut seen);
    }
    let mut errors = Vec::new();
    for (path, kind) in &seen {
        let optional = shape.optional.contains(path);
        match doc_types.get(path.as_str()) {
            None => errors.push(format!(
                "{name}: `{path}` ({kind}) is printed but not documented"
            )),
            Some(_) if *kind == "null" && !optional => {
                errors.push(format!(
                    "{name}: `{path}` is printed null but not marked optional"
                ));
            }
            Some(types) if *kind != "null" && !types.contains(kind) => {
                errors.push(format!(
                    "{name}: `{path}` is {kind}, documented as {types:?}"
                ));
            }
            Some(_) => {}
        }
    }
    for (path, types) in &doc_types {
        if types.is_empty() {
            errors.push(format!("{name}: `{path}` has no typed example"));
        }
        let printed_typed = seen.iter().any(|(p, k)| p == path && *k != "null");
        if !shape.optional.contains(*path) && !printed_typed {
            errors.push(format!(
                "{name}: `{path}` is documented as always there but no run printed it"
            ));
        }
    }
    for path in &shape.optional {
        if !doc_types.contains_key(path.as_str()) {
            errors.push(format!("{name}: optional `{path}` is not in the example"));
        }
    }
    errors
}

/// The documents of an atomic site (`--atomic`): a dry run, two deploys (the second with a
/// pointer to switch from), a rollback and the releases, through the proxy's stand-ins for CloudFront
/// Functions and the KeyValueStore.
fn atomic_documents() -> (Vec<Value>, Value, Vec<Value>) {
    let world = World::new("json-shape-atomic");
    let distribution = world.preview_distribution();
    world.config("preview_domain = \"preview.example.com\"\n");
    let proxy = crate::harness::Proxy::start_cloudfront(&["--functions", "--kvs"]);
    let site = Site::new();
    site.file("index.html", "v1")
        .file("assets/app-1a2b3c4d.js", "v1");
    let run = |command: &str| {
        world
            .shipfront(command)
            .site(&site)
            .distribution(&distribution)
            .args(&["--atomic"])
            .cloudfront_via(&proxy)
            .json()
    };
    let mut documents = vec![
        run("deploy").dry_run().ok().json(),
        run("deploy").ok().json(),
    ];
    site.file("index.html", "v2");
    documents.push(run("deploy").ok().json());
    // A preview, listed, promoted and removed.
    site.file("index.html", "v3");
    documents.push(run("deploy").args(&["--preview", "pr-1"]).ok().json());
    let previews = |args: &[&str]| {
        world
            .shipfront("previews")
            .distribution(&distribution)
            .args(&["--atomic"])
            .args(args)
            .cloudfront_via(&proxy)
            .json()
            .ok()
            .json()
    };
    let mut listed = vec![previews(&[])];
    let promote = world
        .shipfront("promote")
        .args(&["pr-1", "--atomic"])
        .distribution(&distribution)
        .cloudfront_via(&proxy)
        .json();
    documents.push(promote.ok().json());
    listed.push(previews(&["remove", "pr-1"]));
    let rollback = world
        .shipfront("rollback")
        .distribution(&distribution)
        .args(&["--atomic"])
        .cloudfront_via(&proxy)
        .json();
    documents.push(rollback.ok().json());
    let releases = world
        .shipfront("releases")
        .distribution(&distribution)
        .args(&["--atomic"])
        .cloudfront_via(&proxy)
        .json();
    (documents, releases.ok().json(), listed)
}

#[test]
fn every_json_document_matches_docs_json_md() {
    let world = World::new("json-shape");
    let distribution = world.distribution("");
    let site = Site::new();
    // A note (`.nojekyll` is not deployed), a warning (two variants of one stylesheet), and a
    // page the second deploy deletes.
    site.file("index.html", "<h1>v1</h1>")
        .file("assets/app-1a2b3c4d.js", "v1")
        .file(".nojekyll", "")
        .file(
            "css/main.min.9ccb028ece9975a4adef99aebc196ca0818144c775eaf7c4ce60329dc4fd7ff1.css",
            "a",
        )
        .file(
            "css/main.min.ef504efc940c5541e8a8586345363ead7ea607ff21cdc1e807ca82491d0e7592.css",
            "b",
        )
        .file("old.html", "x");
    let json = |run: Run| run.json();
    let mut printed: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    let deploy = || {
        world
            .shipfront("deploy")
            .site(&site)
            .distribution(&distribution)
            .json()
    };
    printed
        .entry("deploy")
        .or_default()
        .extend([json(deploy().dry_run().ok()), json(deploy().ok())]);
    // v2: a new bundle (the old one is kept for open pages), the page gone.
    site.file("index.html", "<h1>v2</h1>")
        .remove("old.html")
        .remove("assets/app-1a2b3c4d.js")
        .file("assets/app-5e6f7a8b.js", "v2");
    printed
        .entry("deploy")
        .or_default()
        .push(json(deploy().ok()));
    let rollback = || {
        world
            .shipfront("rollback")
            .distribution(&distribution)
            .json()
    };
    printed
        .entry("deploy")
        .or_default()
        .extend([json(rollback().dry_run().ok()), json(rollback().ok())]);
    let (atomic_deploys, atomic_releases, previews) = atomic_documents();
    printed.entry("deploy").or_default().extend(atomic_deploys);
    printed.entry("previews").or_default().extend(previews);
    printed.entry("releases").or_default().extend([
        json(world.shipfront("releases").json().ok()),
        atomic_releases,
    ]);
    printed.entry("doctor").or_default().push(json(
        world
            .shipfront("doctor")
            .distribution(&distribution)
            .json()
            .ok(),
    ));

    let shapes = documented();
    assert_eq!(
        shapes.keys().map(String::as_str).collect::<Vec<_>>(),
        ["deploy", "doctor", "previews", "releases"],
        "docs/json.md documents each document once"
    );
    let mut errors = Vec::new();
    for (name, documents) in &printed {
        for document in documents {
            assert_eq!(document["schema"], 1, "{name}: {document}");
        }
        errors.extend(check(name, &shapes[*name], documents));
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}
