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
                preview_domain: None,
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
        preview_domain: None,
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

/// One HTTP/1.1 answer: its status, its headers (names in lower case) and its body.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: BTreeMap<String, String>,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// One HTTP/1.1 request to `port` with `headers` (`Host: localhost` unless they name one).
pub(crate) fn ask(port: u16, method: &str, target: &str, headers: &[(&str, &str)]) -> Answer {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let host = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("host"))
        .map_or("localhost", |(_, value)| *value);
    let extra: String = headers
        .iter()
        .filter(|(name, _)| !name.eq_ignore_ascii_case("host"))
        .map(|(name, value)| format!("{name}: {value}\r\n"))
        .collect();
    write!(
        stream,
        "{method} {target} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            Some((name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        })
        .collect();
    Answer {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

/// One HTTP/1.1 request to `port`: the status, the `location` header and the body.
fn get(port: u16, method: &str, target: &str) -> (u16, Option<String>, Vec<u8>) {
    let answer = ask(port, method, target, &[]);
    let location = answer.header("location").map(str::to_owned);
    (answer.status, location, answer.body)
}

/// `shipfront serve DIR --port 0` started where `world` works, once it said where it listens:
/// the process (its access log on stderr) and the port.
fn start(world: &crate::harness::World, dir: &str) -> (std::process::Child, u16) {
    let invocation = world.shipfront_without_bucket("serve");
    start_server(invocation.args(&[dir, "--port", "0"]).command())
}

/// Starts `serve` as `command` says (with `--port 0`), once it said where it listens.
pub(crate) fn start_server(mut command: std::process::Command) -> (std::process::Child, u16) {
    let mut server = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut out = std::io::BufReader::new(server.stdout.take().unwrap());
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    let port = line
        .split("127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|p| p.parse().ok());
    let Some(port) = port else {
        let _ = server.kill();
        let output = server.wait_with_output().unwrap();
        panic!(
            "no address in {line:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    };
    (server, port)
}

/// `shipfront serve` over HTTP, for every real framework build of testdata: every request of the routing tables
/// gets what the function (run in Node, as `shipfront routing` prints it) says, and the file it
/// names, whose body is that file's; the access log has a line per request.
#[test]
fn serve_answers_every_fixture_url_as_the_function_says() {
    let frameworks = std::fs::read_dir(repo_root().join("testdata/frameworks")).unwrap();
    let mut served = 0;
    for entry in frameworks {
        let path = entry.unwrap().path();
        let framework = path.file_name().unwrap().to_string_lossy().into_owned();
        if !path.is_dir() {
            continue;
        }
        let rels = fixture_version(&framework, 1);
        if rels.is_empty() {
            continue;
        }
        served += 1;
        let world = crate::harness::World::without_bucket("serve");
        let site = crate::harness::Site::new();
        for rel in &rels {
            site.file(rel, rel);
        }
        let dir = site.path().to_str().unwrap().to_owned();
        // What a deploy ships (it leaves `.nojekyll` and precompressed twins out).
        let options = shipfront::run::scan::ScanOptions::as_deployed(Vec::new());
        let shipped: Vec<String> = shipfront::run::scan::scan(site.path(), &options)
            .unwrap()
            .files
            .iter()
            .map(|f| f.rel.clone())
            .collect();
        let source = world
            .shipfront_without_bucket("routing")
            .args(&[&dir])
            .ok()
            .stdout;
        let targets = requests(&rels);
        let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
        let expected = run_in_node_with_kvs(&source, &targets, &BTreeMap::new());
        let (mut server, port) = start(&world, &dir);
        let deployed = Deployed::of(&shipped);
        for (target, want) in targets.iter().zip(&expected) {
            deployed.check(port, target, want, &framework);
        }
        server.kill().unwrap();
        let output = server.wait_with_output().unwrap();
        let log = String::from_utf8_lossy(&output.stderr);
        assert_eq!(log.lines().count(), targets.len(), "{log}");
    }
    assert!(served >= 8, "only {served} framework builds served");
}

/// The files a deploy ships and the headers it stores them with.
struct Deployed {
    files: Vec<String>,
    policy: shipfront::core::object_headers::HeaderPolicy,
    evidence: Evidence,
}

impl Deployed {
    fn of(files: &[String]) -> Deployed {
        Deployed {
            files: files.to_vec(),
            policy: shipfront::core::object_headers::HeaderPolicy::new(Vec::new()),
            evidence: Evidence::new(files.iter().map(String::as_str)),
        }
    }

    /// What `serve` on `port` answers `target`, checked against the function's answer `want`
    /// (from Node): the file it names with its body and the headers a deploy stores, a 404 for
    /// one the deploy does not ship, or the function's own status and `Location`.
    fn check(&self, port: u16, target: &str, want: &str, framework: &str) {
        let answer = ask(port, "GET", target, &[]);
        let path = target.split('?').next().unwrap_or(target);
        let named = match want {
            "pass" => Some(path),
            w => w.strip_prefix("rewrite "),
        };
        let Some(uri) = named else {
            let (code, to) = want.split_once(' ').unwrap_or((want, ""));
            assert_eq!(answer.status.to_string(), code, "{framework} {target}");
            let location = answer.header("location").unwrap_or_default();
            assert_eq!(location, to, "{framework} {target}");
            return;
        };
        let rel = percent_encoding::percent_decode_str(uri.trim_start_matches('/'))
            .decode_utf8_lossy()
            .into_owned();
        if !self.files.contains(&rel) {
            assert_eq!(answer.status, 404, "{framework} {target} -> {want}");
            return;
        }
        assert_eq!(answer.status, 200, "{framework} {target}");
        assert_eq!(answer.body, rel.as_bytes(), "{framework} {target}");
        let headers = self.policy.headers_for(&rel, &self.evidence);
        let stored = (
            headers.content_type.as_str(),
            headers.cache_control.as_str(),
        );
        let served = (
            answer.header("content-type").unwrap_or_default(),
            answer.header("cache-control").unwrap_or_default(),
        );
        assert_eq!(served, stored, "{framework} {target}");
    }
}

/// Bad input stops `serve` before it listens, naming what to fix: a port in use, a folder that
/// does not exist, a mistyped flag.
#[test]
fn serve_refuses_a_port_in_use_and_a_missing_folder() {
    let world = crate::harness::World::without_bucket("serve-bad");
    let site = crate::harness::Site::new();
    site.file("index.html", "home");
    let dir = site.path().to_str().unwrap().to_owned();
    let taken = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    world
        .shipfront_without_bucket("serve")
        .args(&[&dir, "--port", &port])
        .run()
        .fails(2, &format!("cannot listen on 127.0.0.1:{port}"));
    world
        .shipfront_without_bucket("serve")
        .args(&["no-such-folder"])
        .run()
        .fails(2, "no-such-folder");
    world
        .shipfront_without_bucket("serve")
        .args(&[&dir, "--prot", "1"])
        .run()
        .fails(2, "--port");
}

/// A key the build does not have is answered with the build's 404 page and status 404, as the
/// distribution's error responses do when set as doctor advises; the page itself is a 200.
#[test]
fn a_missing_file_gets_the_builds_404_page() {
    let site = crate::harness::Site::new();
    site.file("index.html", "home").file("404.html", "not here");
    let dir = site.path().to_str().unwrap().to_owned();
    let world = crate::harness::World::without_bucket("serve-404");
    let (mut server, port) = start(&world, &dir);
    let (status, _, body) = get(port, "GET", "/missing.js");
    assert_eq!((status, body), (404, b"not here".to_vec()));
    let (status, _, body) = get(port, "GET", "/404.html");
    assert_eq!((status, body), (200, b"not here".to_vec()));
    server.kill().unwrap();
    server.wait().unwrap();
}

/// `[headers]` of shipfront.toml are added to every response, files, redirects and 404s alike,
/// as the response headers policy adds them at the edge.
#[test]
fn the_response_headers_of_the_config_are_on_every_answer() {
    use std::io::{Read, Write};
    let world = crate::harness::World::without_bucket("serve-headers");
    std::fs::write(
        world.workdir.path().join("shipfront.toml"),
        "[headers]\nContent-Security-Policy = \"default-src 'self'\"\nX-Content-Type-Options = \"nosniff\"\n",
    )
    .unwrap();
    let site = crate::harness::Site::new();
    site.file("index.html", "home")
        .file("about/index.html", "about");
    let dir = site.path().to_str().unwrap().to_owned();
    let (mut server, port) = start(&world, &dir);
    for target in ["/", "/about", "/missing.js"] {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            stream,
            "HEAD {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut head = String::new();
        stream.read_to_string(&mut head).unwrap();
        let head = head.to_ascii_lowercase();
        assert!(
            head.contains("content-security-policy: default-src 'self'"),
            "{target}: {head}"
        );
        assert!(
            head.contains("x-content-type-options: nosniff"),
            "{target}: {head}"
        );
    }
    server.kill().unwrap();
    server.wait().unwrap();
}

/// `serve` on a build of a 5 KiB script, a 3 KB image, a tiny stylesheet and a page; the
/// folder and the world live as long as it.
struct Delivery {
    script: String,
    server: std::process::Child,
    port: u16,
    _site: crate::harness::Site,
    _world: crate::harness::World,
}

impl Delivery {
    fn start(name: &str) -> Delivery {
        let script: String = (0..200)
            .map(|i| format!("export const f{i} = () => {i};\n"))
            .collect();
        assert!(script.len() > 5_000);
        let site = crate::harness::Site::new();
        site.file("index.html", "home")
            .file("assets/app-BbXQDiXP.js", &script)
            .file("logo.png", vec![7u8; 3_000])
            .file("small.css", "body{}");
        let dir = site.path().to_str().unwrap().to_owned();
        let world = crate::harness::World::without_bucket(name);
        let (server, port) = start(&world, &dir);
        Delivery {
            script,
            server,
            port,
            _site: site,
            _world: world,
        }
    }
}

/// CloudFront's delivery of what the origin answered, over HTTP: compression (Brotli over
/// gzip, only listed types of 1,000 bytes or more, the ETag made weak, `Vary`), a weak
/// `If-None-Match` answered 304, a `Range` answered 206 uncompressed or 416, HEAD the length of
/// what GET sends.
#[test]
fn serve_compresses_ranges_and_revalidates_as_cloudfront_does() {
    use md5::Digest;
    use std::io::Read;
    // Bound by name, the folder and the world live to the test's end.
    let Delivery {
        script,
        mut server,
        port,
        _site,
        _world,
    } = Delivery::start("serve-delivery");
    let js = "/assets/app-BbXQDiXP.js";
    let md5 = format!(
        "\"{}\"",
        crate::harness::hex(&md5::Md5::digest(script.as_bytes()))
    );

    let plain = ask(port, "GET", js, &[]);
    assert_eq!(
        (plain.status, plain.header("etag")),
        (200, Some(md5.as_str()))
    );
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(plain.body, script.as_bytes());
    assert_eq!(
        plain.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );

    let br = ask(port, "GET", js, &[("Accept-Encoding", "gzip, deflate, br")]);
    assert_eq!(br.header("content-encoding"), Some("br"));
    assert_eq!(br.header("vary"), Some("Accept-Encoding"));
    let weak = format!("W/{md5}");
    assert_eq!(br.header("etag"), Some(weak.as_str()));
    let mut decoded = Vec::new();
    brotli::Decompressor::new(br.body.as_slice(), 4096)
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded, script.as_bytes());
    assert!(br.body.len() < script.len() / 2);

    let gzip = ask(port, "GET", js, &[("Accept-Encoding", "gzip")]);
    assert_eq!(gzip.header("content-encoding"), Some("gzip"));
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(gzip.body.as_slice())
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded, script.as_bytes());

    let head = ask(port, "HEAD", js, &[("Accept-Encoding", "br")]);
    assert_eq!(
        head.header("content-length"),
        Some(br.body.len().to_string().as_str())
    );
    assert!(head.body.is_empty());

    server.kill().unwrap();
    server.wait().unwrap();
}

/// A weak `If-None-Match` answered 304, a `Range` answered 206 uncompressed or 416, and types
/// CloudFront does not compress (or bodies under 1,000 bytes) sent as they are.
#[test]
fn serve_answers_ranges_and_revalidations_as_cloudfront_does() {
    // Bound by name, the folder and the world live to the test's end.
    let Delivery {
        script,
        mut server,
        port,
        _site,
        _world,
    } = Delivery::start("serve-ranges");
    let js = "/assets/app-BbXQDiXP.js";
    let weak = ask(port, "GET", js, &[("Accept-Encoding", "br")])
        .header("etag")
        .unwrap()
        .to_owned();
    assert!(weak.starts_with("W/\""), "{weak}");
    // A revalidation with the weak ETag a compressed answer carried.
    let again = ask(
        port,
        "GET",
        js,
        &[("Accept-Encoding", "br"), ("If-None-Match", &weak)],
    );
    assert_eq!((again.status, again.body.len()), (304, 0));
    let changed = ask(port, "GET", js, &[("If-None-Match", "\"0000\"")]);
    assert_eq!(changed.status, 200);

    // Ranges: the bytes asked for, never compressed; past the end, 416.
    let range = [("Range", "bytes=0-9"), ("Accept-Encoding", "br")];
    let part = ask(port, "GET", js, &range);
    assert_eq!(part.status, 206);
    assert_eq!(part.body, &script.as_bytes()[..10]);
    let total = format!("bytes 0-9/{}", script.len());
    assert_eq!(part.header("content-range"), Some(total.as_str()));
    assert_eq!(part.header("content-encoding"), None);
    let past = ask(port, "GET", js, &[("Range", "bytes=999999-")]);
    assert_eq!(past.status, 416);
    let none = format!("bytes */{}", script.len());
    assert_eq!(past.header("content-range"), Some(none.as_str()));

    for target in ["/logo.png", "/small.css", "/"] {
        let answer = ask(port, "GET", target, &[("Accept-Encoding", "gzip, br")]);
        assert_eq!(answer.status, 200, "{target}");
        assert_eq!(answer.header("content-encoding"), None, "{target}");
    }
    server.kill().unwrap();
    server.wait().unwrap();
}
