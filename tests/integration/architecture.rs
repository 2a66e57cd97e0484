//! The shape of the house, kept by a test (DESIGN.md section 7): the layers are the folders of
//! `src/`, imports only go down, and no two modules import each other in a circle. It reads the
//! `crate::` paths of every file's code (its `mod tests` block and comments left out: tests may
//! reach anywhere), so a file added to a folder is checked the day it is added, by its folder.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::harness::repo_root;

/// The layers, each with the layers its files may import (their own included). A folder is a
/// layer; the three files beside the folders are layers of their own.
const LAYERS: &[(&str, &[&str])] = &[
    // Pure: what shipfront decides. No IO, no configuration, no output, no SDK.
    ("core", &["core"]),
    // The ports in our own types, and the in-memory adapter.
    ("store", &["core", "store"]),
    // The SDK adapter: the ports and the pure core, never the command line or a command.
    ("aws", &["core", "store", "aws"]),
    // The JavaScript engine adapter (the viewer-request function), likewise.
    ("js", &["core", "store", "js"]),
    // The HTTP adapter (what visitors get, for `verify`), likewise.
    ("web", &["core", "store", "web"]),
    // Syntax only.
    ("cli", &[]),
    // What the run's surroundings say, read once.
    ("environment", &["core"]),
    // The flags, the environment and shipfront.toml resolved into settings.
    ("config", &["core", "store", "cli", "environment"]),
    // What commands share that does IO through the ports; never the SDK.
    ("run", &["core", "store", "environment", "config", "run"]),
    // One file per subcommand.
    (
        "commands",
        &[
            "core",
            "store",
            "aws",
            "js",
            "web",
            "cli",
            "environment",
            "config",
            "run",
            "commands",
        ],
    ),
];

/// The files of `src/` that are no layer: the binary and the crate root, which may use any.
const ROOTS: &[&str] = &["main", "lib"];

/// What only the unit tests build (`#[cfg(test)]` modules): the in-memory store, which stands in
/// for S3 and CloudFront and logs their operations by name, and what tests start from.
const TEST_SUPPORT: &[&str] = &["store::memory", "run::fixtures", "commands::in_memory"];

/// What in a module's code does IO or reads the outside world, which the core never does.
const IO: &[&str] = &[
    "std::fs",
    "std::env",
    "std::process",
    "std::net",
    "std::io::stdout",
    "std::io::stderr",
    "stdout()",
    "stderr()",
    "println!",
    "eprintln!",
    "print!(",
    "tokio::",
    "SystemTime::now",
    "Instant::now",
];

/// One source file: its module path (`core::plan`, `config`), its layer and its code.
struct Source {
    file: String,
    module: String,
    layer: String,
    code: String,
}

fn sources() -> Vec<Source> {
    let src = repo_root().join("src");
    let mut out = Vec::new();
    for path in rust_files(&src) {
        let rel = path.strip_prefix(&src).unwrap().to_str().unwrap();
        let rel = rel.replace('\\', "/");
        let stem = rel.trim_end_matches(".rs").trim_end_matches("/mod");
        let module = stem.replace('/', "::");
        let layer = module.split("::").next().unwrap().to_owned();
        out.push(Source {
            file: format!("src/{rel}"),
            code: code_of(&std::fs::read_to_string(&path).unwrap()),
            module,
            layer,
        });
    }
    out
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// A file's code: without its `#[cfg(test)] mod tests { .. }` block, wherever it stands, and
/// without comment lines (docs may name any module).
fn code_of(text: &str) -> String {
    let without_tests = match text.find("#[cfg(test)]\nmod tests {") {
        Some(start) => {
            let open = start + text[start..].find('{').unwrap();
            let end = block_end(text, open);
            format!("{}{}", &text[..start], &text[end..])
        }
        None => text.to_owned(),
    };
    without_tests
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Where the block opened at `open` (a `{`) ends, just past its `}`: braces inside string and
/// character literals and line comments do not count.
fn block_end(text: &str, open: usize) -> usize {
    let bytes = text.as_bytes();
    let (mut depth, mut i) = (0usize, open);
    while i < bytes.len() {
        match bytes[i] {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i += text[i..].find('\n').unwrap_or(text.len() - i);
            }
            b'r' if raw_string_at(bytes, i) => {
                let hashes = text[i + 1..].bytes().take_while(|b| *b == b'#').count();
                let close = format!("\"{}", "#".repeat(hashes));
                let body = i + 2 + hashes;
                i = body + text[body..].find(&close).unwrap() + close.len() - 1;
            }
            b'"' => {
                i += 1;
                while bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'\'' if bytes.get(i + 2) == Some(&b'\'') => i += 2,
            b'\'' if bytes.get(i + 1) == Some(&b'\\') => {
                i += 2 + text[i + 2..].find('\'').unwrap();
            }
            _ => {}
        }
        i += 1;
    }
    panic!("a block that does not end");
}

/// Whether a raw string literal (`r"..."`, `r#"..."#`) starts at `i`, not a raw identifier.
fn raw_string_at(bytes: &[u8], i: usize) -> bool {
    let hashes = bytes[i + 1..].iter().take_while(|b| **b == b'#').count();
    bytes.get(i + 1 + hashes) == Some(&b'"') && (i == 0 || !ident(bytes[i - 1]))
}

fn ident(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// Every module a `crate::` path in `code` names (`core::plan` from `crate::core::plan::Plan`),
/// `crate::{a, b::{c, d}}` groups included.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let before = i.checked_sub(1).map(|j| code.as_bytes()[j]);
        if before.is_some_and(|b| ident(b) || b == b'$') {
            continue;
        }
        out.extend(paths_at(&code[i + "crate::".len()..]));
    }
    out.retain(|m| !m.is_empty() && m != "self");
    out
}

/// The modules named by the path that starts at `rest`: its first segment, and its second where
/// the first is a folder of `src/`.
fn paths_at(rest: &str) -> Vec<String> {
    if let Some(group) = rest.strip_prefix('{') {
        return group_items(group)
            .iter()
            .flat_map(|item| paths_at(item.trim()))
            .collect();
    }
    let first = name_at(rest);
    let after = rest[first.len()..].strip_prefix("::");
    let Some(next) = after.filter(|_| repo_root().join("src").join(&first).is_dir()) else {
        return vec![first];
    };
    let inner = |item: &str| {
        let second = name_at(item.trim());
        if second.is_empty() || second == "self" || second.starts_with(char::is_uppercase) {
            first.clone()
        } else {
            format!("{first}::{second}")
        }
    };
    match next.strip_prefix('{') {
        Some(group) => group_items(group).iter().map(|item| inner(item)).collect(),
        None => vec![inner(next)],
    }
}

fn name_at(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// The top-level items of a `{a, b::{c, d}}` group (the opening brace already passed).
fn group_items(group: &str) -> Vec<String> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (j, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                items.push(group[start..j].to_owned());
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(group[start..j].to_owned());
                start = j + 1;
            }
            _ => {}
        }
    }
    items
}

/// Module -> the modules its code names through `crate::`.
fn imports(sources: &[Source]) -> BTreeMap<String, BTreeSet<String>> {
    sources
        .iter()
        .map(|s| {
            let mut names = crate_paths(&s.code);
            names.remove(&s.module);
            (s.module.clone(), names)
        })
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

fn allowed(layer: &str) -> Option<&'static [&'static str]> {
    LAYERS.iter().find(|(l, _)| *l == layer).map(|(_, a)| *a)
}

#[test]
fn every_file_of_src_is_in_a_layer() {
    let sources = sources();
    assert!(sources.len() > 30, "read only {} files", sources.len());
    for s in &sources {
        assert!(
            allowed(&s.layer).is_some() || ROOTS.contains(&s.module.as_str()),
            "{} is in no layer: put it in src/core/ (pure), src/store/ (ports), src/aws/ (the \
             SDK), src/run/ (what commands share) or src/commands/ (one per subcommand)",
            s.file
        );
    }
}

#[test]
fn imports_only_go_down_the_layers() {
    let sources = sources();
    let graph = imports(&sources);
    assert!(
        graph["commands::deploy"].contains("core::plan")
            && graph["core::plan"].contains("core::release")
            && graph["commands"].contains("aws"),
        "the import reader misses `use crate::` paths: {graph:?}"
    );
    for s in sources
        .iter()
        .filter(|s| !ROOTS.contains(&s.module.as_str()))
    {
        let may = allowed(&s.layer).unwrap_or_default();
        let up: Vec<&String> = graph[&s.module]
            .iter()
            .filter(|m| !may.contains(&m.split("::").next().unwrap_or_default()))
            .collect();
        assert!(
            up.is_empty(),
            "{} imports {up:?}: the `{}` layer may import only {may:?} (DESIGN.md section 7); \
             hand it the data instead",
            s.file,
            s.layer
        );
    }
}

#[test]
fn the_modules_of_src_import_each_other_without_a_circle() {
    if let Some(circle) = find_circle(&imports(&sources())) {
        panic!(
            "the modules import each other in a circle: {}; imports must only go down \
             (DESIGN.md section 7)",
            circle.join(" -> ")
        );
    }
}

#[test]
fn the_core_does_no_io() {
    for s in sources().iter().filter(|s| s.layer == "core") {
        let io: Vec<&&str> = IO.iter().filter(|t| s.code.contains(**t)).collect();
        assert!(
            io.is_empty(),
            "{} does IO ({io:?}): the core is pure; do it in src/run/ and hand the core the data",
            s.file
        );
    }
}

/// Only the adapters name the SDK or an AWS operation: `src/aws/`, and the in-memory store
/// that stands in for it in unit tests (and the tests' support that reads its log). Everything
/// else gets errors that already name them.
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
    let sources = sources();
    let others = sources
        .iter()
        .filter(|s| s.layer != "aws" && !TEST_SUPPORT.contains(&s.module.as_str()));
    for s in others {
        for name in ["aws_sdk_", "aws_config", "aws_smithy"]
            .iter()
            .chain(&operations)
        {
            assert!(
                !s.code.contains(name),
                "{} names `{}`: only src/aws/ may; let the adapter's RemoteError name the \
                 operation",
                s.file,
                name.trim_start_matches('"')
            );
        }
    }
}

/// What the run's environment provides (GitHub Actions or not, the commit, who runs) is read
/// in one module, once; the AWS variables are the adapter's, as the SDK's own chain reads them.
#[test]
fn the_environment_is_read_in_one_module() {
    let sources = sources();
    let others = sources
        .iter()
        .filter(|s| s.module != "environment" && s.layer != "aws");
    for s in others {
        assert!(
            !s.code.contains("std::env::var") && !s.code.contains("env::var_os"),
            "{} reads environment variables: ask `environment::current()`",
            s.file
        );
    }
}

#[test]
fn the_reader_finds_circles_paths_and_code_after_tests() {
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
        crate_paths(
            "use crate::{aws, core::plan::{Op, Plan}, run::scan};\nlet x = crate::core::spa::INDEX;\
             \nlet y = crate::config::Site;\nuse crate::core::{objects, release::Release};"
        ),
        [
            "aws",
            "config",
            "core::objects",
            "core::plan",
            "core::release",
            "core::spa",
            "run::scan"
        ]
        .into_iter()
        .map(str::to_owned)
        .collect()
    );
    let file = "use crate::core::plan;\n#[cfg(test)]\nmod tests {\n    let s = \"}\";\n    \
                let c = '}';\n    let r = r#\"}\"#;\n    // }\n    use crate::run::apply;\n}\n\
                fn after() { crate::run::scan::scan(); }\n";
    assert_eq!(
        crate_paths(&code_of(file)),
        ["core::plan", "run::scan"]
            .into_iter()
            .map(str::to_owned)
            .collect()
    );
}

#[test]
fn the_test_support_is_built_only_for_tests() {
    for module in TEST_SUPPORT {
        let (folder, name) = module.split_once("::").unwrap();
        let parent =
            std::fs::read_to_string(repo_root().join(format!("src/{folder}/mod.rs"))).unwrap();
        let declared = parent.lines().collect::<Vec<_>>();
        let at = declared
            .iter()
            .position(|l| l.trim_end().ends_with(&format!("mod {name};")))
            .unwrap_or_else(|| panic!("src/{folder}/mod.rs does not declare `{name}`"));
        assert!(
            at > 0 && declared[at - 1].trim() == "#[cfg(test)]",
            "src/{folder}/mod.rs declares `{name}` without #[cfg(test)]: it names AWS \
             operations only because only tests build it"
        );
    }
}
