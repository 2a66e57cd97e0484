//! The shape of the house, kept by a test: the modules of `src/` import each other without a
//! circle (DESIGN.md section 7: imports only go down). It reads the `crate::` paths of each
//! module's code (its test module left out: tests may reach anywhere) and fails naming the
//! circle, file by file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::harness::repo_root;

/// Module name -> the modules its code names through `crate::`.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = repo_root().join("src");
    let mut graph = BTreeMap::new();
    for path in rust_files(&src) {
        let rel = path
            .strip_prefix(&src)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        // src/aws/s3.rs belongs to `aws`; src/plan.rs is `plan`.
        let module = rel.split(['/', '.']).next().unwrap().to_owned();
        if matches!(module.as_str(), "main" | "lib") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        // Code only: not the test module, not comments (docs may name any module).
        let code: String = text
            .split("#[cfg(test)]")
            .next()
            .unwrap()
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let names: &mut BTreeSet<String> = graph.entry(module.clone()).or_default();
        names.extend(crate_paths(&code).into_iter().filter(|m| *m != module));
    }
    graph
}

fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// The first segment of every `crate::` path in `code`, `crate::{a, b::c}` groups included.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let end = group
                .char_indices()
                .find(|(_, c)| {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => return true,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    false
                })
                .map_or(group.len(), |(j, _)| j);
            let mut depth = 0;
            let mut start = 0;
            let body = &group[..end];
            for (j, c) in body.char_indices().chain([(body.len(), ',')]) {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.insert(first_segment(&body[start..j]));
                        start = j + 1;
                    }
                    _ => {}
                }
            }
        } else {
            out.insert(first_segment(rest));
        }
    }
    out.retain(|m| !m.is_empty() && m != "self");
    out
}

fn first_segment(path: &str) -> String {
    path.trim()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// A circle of imports, if there is one: the modules in order, the first repeated at the end.
fn find_circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut circle = path[at..].to_vec();
            circle.push(node.to_owned());
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(circle) = visit(next, graph, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|start| visit(start, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_modules_of_src_import_each_other_without_a_circle() {
    let graph = imports();
    assert!(graph.len() > 20, "read only {:?}", graph.keys());
    assert!(
        graph["deploy"].contains("plan") && graph["plan"].contains("release"),
        "the import reader misses `use crate::` paths: {graph:?}"
    );
    if let Some(circle) = find_circle(&graph) {
        panic!(
            "the modules import each other in a circle: {}; imports must only go down \
             (DESIGN.md section 7)",
            circle.join(" -> ")
        );
    }
}

#[test]
fn the_circle_finder_finds_circles() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(
        find_circle(&graph).unwrap().join(" -> "),
        "a -> b -> c -> a"
    );
    assert_eq!(
        crate_paths("use crate::{aws, plan::{Op, Plan}, scan};\nlet x = crate::spa::INDEX;"),
        ["aws", "plan", "scan", "spa"]
            .into_iter()
            .map(str::to_owned)
            .collect()
    );
}

/// The pure core (DESIGN.md section 7): ETag rules, headers, fingerprints, the plans, the
/// invalidation paths, the SPA and doctor verdicts, release records and how results read. No
/// IO, no configuration, no output: it is handed what it needs.
const CORE: &[&str] = &[
    "applied",
    "doctor",
    "error",
    "etag",
    "fingerprint",
    "headers",
    "invalidate",
    "inventory",
    "plan",
    "record",
    "release",
    "report",
    "restore",
    "response_headers",
    "routing",
    "spa",
];

/// The ports: the traits the commands drive and the adapters implement, in our own types.
const PORTS: &[&str] = &["store"];

/// What in a module's code does IO or reads the outside world, which the core never does.
const IO: &[&str] = &[
    "std::fs",
    "std::env",
    "std::process",
    "std::net",
    "stdout()",
    "stderr()",
    "println!",
    "eprintln!",
    "print!(",
    "tokio::",
    "SystemTime::now",
    "Instant::now",
    "github::",
];

/// The modules that are one file directly in `src/` (not `src/aws/`).
fn top_modules() -> Vec<String> {
    std::fs::read_dir(repo_root().join("src"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .filter_map(|path| Some(path.file_stem()?.to_str()?.to_owned()))
        .collect()
}

/// The code of a module of `src/` (its test module and comments left out).
fn code_of(module: &str) -> String {
    let text = std::fs::read_to_string(repo_root().join(format!("src/{module}.rs"))).unwrap();
    text.split("#[cfg(test)]")
        .next()
        .unwrap()
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_core_imports_only_the_core_and_does_no_io() {
    let graph = imports();
    for module in CORE {
        let above: Vec<&String> = graph[*module]
            .iter()
            .filter(|m| !CORE.contains(&m.as_str()))
            .collect();
        assert!(
            above.is_empty(),
            "the core module `{module}` imports {above:?}: the core imports only the core \
             (DESIGN.md section 7); hand it the data instead"
        );
        let code = code_of(module);
        let io: Vec<&&str> = IO.iter().filter(|t| code.contains(**t)).collect();
        assert!(
            io.is_empty(),
            "the core module `{module}` does IO ({io:?}): the core is pure; move it to a command"
        );
    }
}

#[test]
fn the_ports_import_only_the_core() {
    let graph = imports();
    for port in PORTS {
        let above: Vec<&String> = graph[*port]
            .iter()
            .filter(|m| !CORE.contains(&m.as_str()))
            .collect();
        assert!(above.is_empty(), "the port `{port}` imports {above:?}");
    }
}

/// `src/aws/` adapts the SDK to the ports: it may use the ports and the pure core, never the
/// command line, the configuration or a command.
#[test]
fn the_aws_adapter_imports_only_the_ports_and_the_core() {
    let graph = imports();
    let outside: Vec<&String> = graph["aws"]
        .iter()
        .filter(|m| !CORE.contains(&m.as_str()) && !PORTS.contains(&m.as_str()))
        .collect();
    assert!(
        outside.is_empty(),
        "src/aws/ imports {outside:?}: it may only use the ports (`store`) and the pure core"
    );
}

/// Only the adapters name the SDK or an AWS operation: `src/aws/`, and the in-memory store
/// that stands in for it in unit tests. Everything else gets errors that already name them.
#[test]
fn only_the_adapters_name_the_sdk_or_an_aws_operation() {
    let operations = [
        "\"ListObjectsV2",
        "\"ListObjectVersions",
        "\"PutObject",
        "\"CopyObject",
        "\"GetObject",
        "\"HeadObject",
        "\"DeleteObject",
        "\"CreateMultipartUpload",
        "\"CreateInvalidation",
        "\"GetInvalidation",
        "\"GetDistributionConfig",
        "\"UpdateDistribution",
    ];
    for module in top_modules().iter().filter(|m| *m != "memory") {
        let code = code_of(module);
        for name in ["aws_sdk_", "aws_config", "aws_smithy"]
            .iter()
            .chain(&operations)
        {
            assert!(
                !code.contains(name),
                "src/{module}.rs names `{}`: only src/aws/ may; let the adapter's RemoteError \
                 name the operation",
                name.trim_start_matches('"')
            );
        }
    }
}

/// What the run's environment provides (GitHub Actions or not, the commit, who runs) is read
/// in one module, once; the AWS variables are the adapter's, as the SDK's own chain reads them.
#[test]
fn the_environment_is_read_in_one_module() {
    for module in top_modules().iter().filter(|m| *m != "environment") {
        let code = code_of(module);
        assert!(
            !code.contains("std::env::var") && !code.contains("env::var_os"),
            "src/{module}.rs reads environment variables: ask `environment::current()`"
        );
    }
}
