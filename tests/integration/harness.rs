//! Test harness: starts the S3 emulator (moto server) once per test binary on a free loopback
//! port, gives each test its own versioned bucket, builds sites in temp folders, runs the real
//! `shipfront` binary against them, and inspects the bucket through the real AWS SDK.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use md5::{Digest, Md5};

pub(crate) fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

pub(crate) fn block_on<F: std::future::Future>(f: F) -> F::Output {
    runtime().block_on(f)
}

/// A helper process that lives as long as the test binary: its stdin is our pipe, and the
/// wrapper kills it when that pipe closes (when this process exits, however it exits).
struct Daemon {
    _child: Child,
    _stdin: ChildStdin,
}

/// Starts `program args...` under such a wrapper and returns once it prints `marker` followed by
/// its port on stderr. Its stderr keeps being drained so it never blocks on a full pipe.
fn start_daemon(program: &Path, args: &[&str], marker: &str) -> (Daemon, u16) {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(r#"prog="$1"; shift; "$prog" "$@" </dev/null & pid=$!; cat >/dev/null; kill $pid 2>/dev/null; wait $pid 2>/dev/null"#)
        .arg("sh")
        .arg(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    let stdin = child.stdin.take().expect("stdin");
    let stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let (tx, rx) = std::sync::mpsc::channel::<Result<u16, String>>();
    let marker = marker.to_owned();
    std::thread::spawn(move || {
        let mut seen = String::new();
        let mut lines = stderr.lines();
        for line in lines.by_ref() {
            let Ok(line) = line else { break };
            if let Some(rest) = line.split(&marker).nth(1) {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                let _ = tx.send(digits.parse().map_err(|_| line.clone()));
                break;
            }
            seen.push_str(&line);
            seen.push('\n');
        }
        let _ = tx.send(Err(seen));
        for _ in lines {}
    });
    let port = rx.recv().expect("daemon output").unwrap_or_else(|seen| {
        panic!(
            "{} did not start; `scripts/test` installs it into .venv/:\n{seen}",
            program.display()
        )
    });
    (
        Daemon {
            _child: child,
            _stdin: stdin,
        },
        port,
    )
}

struct Moto {
    endpoint: String,
    _daemon: Daemon,
}

/// Starts the moto server of `.venv/moto-NAME` (or the one `env_var` names) on a free port.
fn start_moto(name: &str, env_var: &str) -> Moto {
    let bin = std::env::var(env_var).map_or_else(
        |_| repo_root().join(format!(".venv/moto-{name}/bin/moto_server")),
        PathBuf::from,
    );
    assert!(
        bin.exists(),
        "moto server ({name}) not found at {}: run `scripts/test` (it installs moto[server] \
         into .venv/) or set {env_var}",
        bin.display()
    );
    let (daemon, port) = start_daemon(
        &bin,
        &["-H", "127.0.0.1", "-p", "0"],
        "Running on http://127.0.0.1:",
    );
    Moto {
        endpoint: format!("http://127.0.0.1:{port}"),
        _daemon: daemon,
    }
}

/// The S3 emulator (moto 5.1.22, see scripts/lib/moto.sh).
fn moto() -> &'static str {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    &MOTO
        .get_or_init(|| start_moto("s3", "SHIPFRONT_MOTO_S3"))
        .endpoint
}

/// The CloudFront emulator (moto 5.2.5).
pub(crate) fn moto_cloudfront() -> &'static str {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    &MOTO
        .get_or_init(|| start_moto("cloudfront", "SHIPFRONT_MOTO_CLOUDFRONT"))
        .endpoint
}

fn cloudfront_client() -> aws_sdk_cloudfront::Client {
    cloudfront_client_at(moto_cloudfront())
}

/// A CloudFront client of the emulator reached at `endpoint` (the emulator, or a proxy to it).
pub(crate) fn cloudfront_client_at(endpoint: &str) -> aws_sdk_cloudfront::Client {
    let config = aws_sdk_cloudfront::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .build();
    aws_sdk_cloudfront::Client::from_conf(config)
}

/// The fault-injecting, request-counting proxy of tests/support/fault_proxy.py.
pub(crate) struct Proxy {
    pub(crate) endpoint: String,
    stdout: Option<BufReader<ChildStdout>>,
    child: Child,
    _stdin: ChildStdin,
}

impl Proxy {
    pub(crate) fn start(args: &[&str]) -> Proxy {
        Proxy::start_for(moto(), args)
    }

    /// A proxy in front of the CloudFront emulator.
    pub(crate) fn start_cloudfront(args: &[&str]) -> Proxy {
        Proxy::start_for(moto_cloudfront(), args)
    }

    fn start_for(target: &str, args: &[&str]) -> Proxy {
        let target = target.to_owned();
        let mut cmd = Command::new("python3");
        cmd.arg(repo_root().join("tests/support/fault_proxy.py"))
            .arg("--target")
            .arg(&target)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("start fault_proxy.py");
        let stdin = child.stdin.take().expect("stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("proxy output");
        let port: u16 = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("fault proxy did not start: {line:?}"));
        Proxy {
            endpoint: format!("http://127.0.0.1:{port}"),
            stdout: Some(stdout),
            child,
            _stdin: stdin,
        }
    }

    /// Blocks until the proxy prints `held` (with --hold-after).
    pub(crate) fn wait_until_held(&mut self) {
        let stdout = self.stdout.as_mut().expect("stdout");
        let mut line = String::new();
        stdout.read_line(&mut line).expect("proxy output");
        assert_eq!(line.trim(), "held", "unexpected proxy output");
    }

    /// Request counts by kind (`list`, `put`, `writes`, `injected_503`, ...).
    pub(crate) fn stats(&self) -> BTreeMap<String, u64> {
        let url = format!("{}/__stats", self.endpoint);
        let addr = url
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap()
            .to_owned();
        let mut stream = std::net::TcpStream::connect(&addr).expect("connect proxy");
        use std::io::Write;
        write!(
            stream,
            "GET /__stats HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let body = response.split("\r\n\r\n").nth(1).unwrap_or("{}");
        serde_json::from_str(body).expect("stats json")
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A site in a temp folder.
pub(crate) struct Site {
    pub(crate) dir: tempfile::TempDir,
}

impl Site {
    pub(crate) fn new() -> Site {
        Site {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn file(&self, rel: &str, body: impl AsRef<[u8]>) -> &Site {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
        self
    }

    pub(crate) fn remove(&self, rel: &str) -> &Site {
        std::fs::remove_file(self.dir.path().join(rel)).unwrap();
        self
    }

    /// key -> hex MD5 of every file, for comparing with the bucket.
    pub(crate) fn md5s(&self, prefix: &str) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for entry in walk(self.dir.path()) {
            let rel = entry
                .strip_prefix(self.dir.path())
                .unwrap()
                .to_str()
                .unwrap()
                .replace('\\', "/");
            let body = std::fs::read(&entry).unwrap();
            out.insert(format!("{prefix}{rel}"), hex(&Md5::digest(&body)));
        }
        out
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One test's world: a fresh versioned bucket on the shared emulator.
pub(crate) struct World {
    pub(crate) bucket: String,
    pub(crate) client: Client,
    pub(crate) endpoint: String,
    /// Where `shipfront` runs (an empty folder, so no stray shipfront.toml is picked up).
    pub(crate) workdir: tempfile::TempDir,
}

impl World {
    /// Creates a CloudFront distribution whose origin is this world's bucket, behind
    /// `origin_path` (`""` or like `/site`); returns its id.
    pub(crate) fn distribution(&self, origin_path: &str) -> String {
        self.create_distribution(origin_path, |c| c.default_root_object("index.html"))
    }

    /// A distribution as a user may have set it up by hand: an alias, a comment, a 500 error
    /// page, and (when `ready`) the SPA fallback; otherwise no DefaultRootObject and no
    /// fallback.
    /// A distribution that answers `*.preview.example.com` (previews) besides its own name.
    pub(crate) fn preview_distribution(&self) -> String {
        use aws_sdk_cloudfront::types::Aliases;
        self.create_distribution("", |c| {
            c.default_root_object("index.html").aliases(
                Aliases::builder()
                    .quantity(1)
                    .items("*.preview.example.com")
                    .build()
                    .unwrap(),
            )
        })
    }

    pub(crate) fn spa_distribution(&self, ready: bool) -> String {
        use aws_sdk_cloudfront::types::{Aliases, CustomErrorResponse, CustomErrorResponses};
        let error = |code: i32, page: &str, status: &str| {
            CustomErrorResponse::builder()
                .error_code(code)
                .response_page_path(page)
                .response_code(status)
                .error_caching_min_ttl(30)
                .build()
                .unwrap()
        };
        let mut errors = vec![error(500, "/500.html", "500")];
        if ready {
            errors.push(error(403, "/index.html", "200"));
            errors.push(error(404, "/index.html", "200"));
        }
        self.create_distribution("", move |c| {
            c.comment("hand-made, keep me")
                .default_root_object(if ready { "index.html" } else { "" })
                .aliases(
                    Aliases::builder()
                        .quantity(1)
                        .items("www.example.com")
                        .build()
                        .unwrap(),
                )
                .custom_error_responses(
                    CustomErrorResponses::builder()
                        .quantity(i32::try_from(errors.len()).unwrap())
                        .set_items(Some(errors))
                        .build()
                        .unwrap(),
                )
        })
    }

    fn create_distribution(
        &self,
        origin_path: &str,
        customize: impl FnOnce(
            aws_sdk_cloudfront::types::builders::DistributionConfigBuilder,
        )
            -> aws_sdk_cloudfront::types::builders::DistributionConfigBuilder,
    ) -> String {
        use aws_sdk_cloudfront::types::{
            DefaultCacheBehavior, DistributionConfig, Origin, Origins, S3OriginConfig,
            ViewerProtocolPolicy,
        };
        let origin = Origin::builder()
            .id("site")
            .domain_name(format!("{}.s3.us-east-1.amazonaws.com", self.bucket))
            .origin_path(origin_path)
            .s3_origin_config(S3OriginConfig::builder().origin_access_identity("").build())
            .build()
            .unwrap();
        let config = customize(
            DistributionConfig::builder()
                .caller_reference(format!(
                    "{}-{}",
                    self.bucket,
                    BUCKETS.fetch_add(1, Ordering::SeqCst)
                ))
                .comment("")
                .enabled(true)
                .origins(
                    Origins::builder()
                        .quantity(1)
                        .items(origin)
                        .build()
                        .unwrap(),
                )
                .default_cache_behavior(
                    DefaultCacheBehavior::builder()
                        .target_origin_id("site")
                        .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
                        .cache_policy_id("658327ea-f89d-4fab-a63d-7e88639e58f6")
                        .build()
                        .unwrap(),
                ),
        )
        .build()
        .unwrap();
        block_on(async {
            cloudfront_client()
                .create_distribution()
                .distribution_config(config)
                .send()
                .await
                .expect("create distribution")
                .distribution()
                .unwrap()
                .id()
                .to_owned()
        })
    }

    /// The distribution's current config.
    pub(crate) fn distribution_config(
        &self,
        distribution: &str,
    ) -> aws_sdk_cloudfront::types::DistributionConfig {
        block_on(async {
            cloudfront_client()
                .get_distribution_config()
                .id(distribution)
                .send()
                .await
                .expect("get distribution config")
                .distribution_config()
                .unwrap()
                .clone()
        })
    }

    /// Every invalidation batch of `distribution`, as CloudFront (the emulator) lists them.
    fn invalidation_batches(
        &self,
        distribution: &str,
    ) -> Vec<aws_sdk_cloudfront::types::InvalidationBatch> {
        block_on(async {
            let client = cloudfront_client();
            let list = client
                .list_invalidations()
                .distribution_id(distribution)
                .send()
                .await
                .expect("list invalidations");
            let ids: Vec<String> = list
                .invalidation_list()
                .map(|l| l.items().iter().map(|i| i.id().to_owned()).collect())
                .unwrap_or_default();
            let mut out = Vec::new();
            for id in ids {
                let inv = client
                    .get_invalidation()
                    .distribution_id(distribution)
                    .id(&id)
                    .send()
                    .await
                    .expect("get invalidation");
                if let Some(batch) = inv.invalidation().and_then(|i| i.invalidation_batch()) {
                    out.push(batch.clone());
                }
            }
            out
        })
    }

    /// The `CallerReference` of every invalidation of `distribution`.
    pub(crate) fn invalidation_references(&self, distribution: &str) -> Vec<String> {
        self.invalidation_batches(distribution)
            .iter()
            .map(|b| b.caller_reference().to_owned())
            .collect()
    }

    /// The path lists of every invalidation of `distribution`, oldest first, each sorted.
    pub(crate) fn invalidations(&self, distribution: &str) -> Vec<Vec<String>> {
        self.invalidation_batches(distribution)
            .iter()
            .map(|b| {
                let mut paths = b.paths().map(|p| p.items().to_vec()).unwrap_or_default();
                paths.sort();
                paths
            })
            .collect()
    }
}

static BUCKETS: AtomicUsize = AtomicUsize::new(0);

pub(crate) fn s3_client(endpoint: &str) -> Client {
    let config = aws_sdk_s3::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .force_path_style(true)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .build();
    Client::from_conf(config)
}

impl World {
    /// A world whose bucket has versioning on, like the users' buckets.
    pub(crate) fn new(name: &str) -> World {
        let world = World::without_bucket(name);
        world.create_bucket();
        world
    }

    /// A world whose bucket name is reserved but not created.
    pub(crate) fn without_bucket(name: &str) -> World {
        let n = BUCKETS.fetch_add(1, Ordering::SeqCst);
        let slug: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        let bucket = format!("t{}-{n}-{slug}", std::process::id())
            .chars()
            .take(63)
            .collect::<String>()
            .trim_end_matches('-')
            .to_owned();
        let endpoint = moto().to_owned();
        World {
            client: s3_client(&endpoint),
            bucket,
            endpoint,
            workdir: tempfile::tempdir().unwrap(),
        }
    }

    pub(crate) fn create_bucket(&self) {
        block_on(async {
            self.client
                .create_bucket()
                .bucket(&self.bucket)
                .send()
                .await
                .expect("create bucket");
            self.client
                .put_bucket_versioning()
                .bucket(&self.bucket)
                .versioning_configuration(
                    VersioningConfiguration::builder()
                        .status(BucketVersioningStatus::Enabled)
                        .build(),
                )
                .send()
                .await
                .expect("enable versioning");
        });
    }

    /// `shipfront ARGS` reaching S3 through `endpoint` (the emulator, or a proxy to it): what
    /// `Invocation` runs.
    fn cmd_via(&self, endpoint: &str, args: &[String]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_shipfront"));
        cmd.args(args);
        self.setup(cmd, endpoint)
    }

    /// `bash SCRIPT` (a script of the repository) with the environment shipfront gets, and
    /// `SHIPFRONT_BIN` naming the binary under test.
    pub(crate) fn script(&self, script: &str) -> Command {
        let mut cmd = Command::new("bash");
        cmd.arg(repo_root().join(script));
        let mut cmd = self.setup(cmd, &self.endpoint);
        cmd.env("SHIPFRONT_BIN", env!("CARGO_BIN_EXE_shipfront"));
        cmd
    }

    /// Runs in the world's working directory, with its emulators and test credentials only.
    fn setup(&self, mut cmd: Command, endpoint: &str) -> Command {
        cmd.current_dir(self.workdir.path());
        isolate_env(&mut cmd, self.workdir.path());
        cmd.env("AWS_ENDPOINT_URL_S3", endpoint)
            .env("AWS_ENDPOINT_URL_CLOUDFRONT", moto_cloudfront())
            .env(
                "AWS_ENDPOINT_URL_CLOUDFRONT_KEYVALUESTORE",
                moto_cloudfront(),
            )
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1");
        cmd
    }

    /// key -> ETag of every site object in the bucket (current versions), shipfront's own
    /// `.shipfront/` records left out.
    pub(crate) fn objects(&self) -> BTreeMap<String, String> {
        let mut all = self.all_objects();
        all.retain(|k, _| !k.contains(".shipfront/"));
        all
    }

    /// How many object versions and delete markers the bucket holds, every key counted.
    pub(crate) fn version_count(&self) -> usize {
        block_on(async {
            let mut count = 0;
            let mut key_marker: Option<String> = None;
            let mut version_marker: Option<String> = None;
            loop {
                let page = self
                    .client
                    .list_object_versions()
                    .bucket(&self.bucket)
                    .set_key_marker(key_marker.take())
                    .set_version_id_marker(version_marker.take())
                    .send()
                    .await
                    .expect("list versions");
                count += page.versions().len() + page.delete_markers().len();
                if !page.is_truncated().unwrap_or(false) {
                    return count;
                }
                key_marker = page.next_key_marker().map(str::to_owned);
                version_marker = page.next_version_id_marker().map(str::to_owned);
            }
        })
    }

    /// The keys of shipfront's own records (`.shipfront/`).
    pub(crate) fn state_keys(&self) -> Vec<String> {
        self.all_objects()
            .into_keys()
            .filter(|k| k.contains(".shipfront/"))
            .collect()
    }

    /// key -> ETag of every object in the bucket (current versions).
    pub(crate) fn all_objects(&self) -> BTreeMap<String, String> {
        block_on(async {
            let mut out = BTreeMap::new();
            let mut pages = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                for o in page.expect("list").contents() {
                    out.insert(
                        o.key().unwrap().to_owned(),
                        o.e_tag().unwrap().trim_matches('"').to_owned(),
                    );
                }
            }
            out
        })
    }

    /// The keys of the multipart uploads open in the bucket.
    pub(crate) fn open_uploads(&self) -> Vec<String> {
        block_on(async {
            let out = self
                .client
                .list_multipart_uploads()
                .bucket(&self.bucket)
                .send()
                .await
                .expect("list multipart uploads");
            out.uploads()
                .iter()
                .filter_map(|u| u.key().map(str::to_owned))
                .collect()
        })
    }

    pub(crate) fn put(&self, key: &str, body: &str) {
        block_on(async {
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .body(body.as_bytes().to_vec().into())
                .send()
                .await
                .expect("put");
        });
    }

    pub(crate) fn get(&self, key: &str) -> Vec<u8> {
        block_on(async {
            let out = self
                .client
                .get_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
                .unwrap_or_else(|e| panic!("get {key}: {e:?}"));
            out.body.collect().await.unwrap().to_vec()
        })
    }

    /// (Content-Type, Cache-Control) of an object.
    pub(crate) fn headers(&self, key: &str) -> (String, String) {
        block_on(async {
            let out = self
                .client
                .head_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
                .unwrap_or_else(|e| panic!("head {key}: {e:?}"));
            (
                out.content_type().unwrap_or_default().to_owned(),
                out.cache_control().unwrap_or_default().to_owned(),
            )
        })
    }
}

/// Keeps the user's AWS and shipfront settings, and a CI runner's GitHub variables, out of a
/// test run.
fn isolate_env(cmd: &mut Command, home: &Path) {
    for (key, _) in std::env::vars() {
        if key.starts_with("AWS_") && key != "AWS_CA_BUNDLE"
            || key.starts_with("SHIPFRONT_")
            || key.starts_with("GITHUB_")
        {
            cmd.env_remove(key);
        }
    }
    cmd.env("AWS_CONFIG_FILE", home.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.join("no-aws-credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("HOME", home);
}

/// The outcome of one run of the binary.
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    pub(crate) fn of(mut cmd: Command) -> Run {
        let Output {
            status,
            stdout,
            stderr,
        } = cmd.output().expect("run shipfront");
        Run {
            code: status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }

    #[track_caller]
    pub(crate) fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "shipfront failed:\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub(crate) fn fails(self, code: i32, message: &str) -> Run {
        assert_eq!(
            self.code, code,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        assert!(
            self.stderr.contains(message),
            "stderr lacks {message:?}:\n{}",
            self.stderr
        );
        self
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// A command line against a world, built step by step:
/// `world.shipfront("rollback").to(&v1).force_unlock().run()`. The one way the tests run
/// shipfront.
pub(crate) struct Invocation<'w> {
    world: &'w World,
    command: String,
    /// `--bucket`, right after the command; None: not passed.
    bucket: Option<String>,
    args: Vec<String>,
    endpoint: Option<String>,
    cloudfront: Option<String>,
    /// Variables set (Some) or removed (None) after the world's own.
    env: Vec<(String, Option<String>)>,
    under: Under,
}

/// What the binary runs under.
#[derive(Clone, Copy)]
enum Under {
    /// Nothing: started directly.
    Nothing,
    /// A shell that lowers the open-file limit first.
    OpenFiles(u32),
    /// `script`, which gives it a pseudo-terminal.
    Terminal,
}

impl World {
    /// The release records, newest first, as `releases --json` lists them.
    #[track_caller]
    pub(crate) fn releases(&self) -> Vec<serde_json::Value> {
        let listed = self.shipfront("releases").json().ok().json();
        listed["releases"].as_array().cloned().unwrap_or_default()
    }

    /// A world whose bucket has versioning off (never turned on).
    pub(crate) fn unversioned(name: &str) -> World {
        let world = World::without_bucket(name);
        block_on(async {
            world
                .client
                .create_bucket()
                .bucket(&world.bucket)
                .send()
                .await
                .expect("create bucket");
        });
        world
    }

    /// Writes `shipfront.toml` where shipfront runs.
    pub(crate) fn config(&self, text: &str) {
        std::fs::write(self.workdir.path().join("shipfront.toml"), text).unwrap();
    }

    /// `shipfront COMMAND --bucket BUCKET`, the bucket this world's.
    pub(crate) fn shipfront(&self, command: &str) -> Invocation<'_> {
        let mut invocation = self.shipfront_without_bucket(command);
        invocation.bucket = Some(self.bucket.clone());
        invocation
    }

    /// `shipfront COMMAND` with no `--bucket`: a command that takes none (`completions`,
    /// `routing`, `init`), one whose bucket comes from shipfront.toml, or one run without a
    /// bucket on purpose.
    pub(crate) fn shipfront_without_bucket(&self, command: &str) -> Invocation<'_> {
        Invocation {
            world: self,
            command: command.to_owned(),
            bucket: None,
            args: Vec::new(),
            endpoint: None,
            cloudfront: None,
            env: Vec::new(),
            under: Under::Nothing,
        }
    }
}

impl Invocation<'_> {
    /// Appends arguments as given.
    pub(crate) fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| (*a).to_owned()));
        self
    }

    /// The build folder of a deploy (or `routing`).
    pub(crate) fn site(self, site: &Site) -> Self {
        let dir = site.path().to_str().unwrap().to_owned();
        self.args(&[&dir])
    }

    /// `--bucket BUCKET` instead of the world's bucket (or of none): another name, a bad one.
    pub(crate) fn bucket(mut self, bucket: &str) -> Self {
        self.bucket = Some(bucket.to_owned());
        self
    }

    pub(crate) fn distribution(self, id: &str) -> Self {
        self.args(&["--distribution-id", id])
    }

    /// `--to RELEASE` of a rollback.
    pub(crate) fn to(self, release: &str) -> Self {
        self.args(&["--to", release])
    }

    pub(crate) fn dry_run(self) -> Self {
        self.args(&["--dry-run"])
    }

    pub(crate) fn json(self) -> Self {
        self.args(&["--json"])
    }

    pub(crate) fn force_unlock(self) -> Self {
        self.args(&["--force-unlock"])
    }

    /// Takes even a lock refreshed within its lease: a killed run's, in these tests.
    pub(crate) fn force_unlock_live(self) -> Self {
        self.args(&["--force-unlock-live"])
    }

    /// Sets an environment variable (after the world's own, so it may override them).
    pub(crate) fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), Some(value.to_owned())));
        self
    }

    /// Removes an environment variable the world sets (credentials, region, endpoint).
    pub(crate) fn env_remove(mut self, key: &str) -> Self {
        self.env.push((key.to_owned(), None));
        self
    }

    /// Reaches S3 through `proxy` instead of the emulator itself.
    pub(crate) fn via(mut self, proxy: &Proxy) -> Self {
        self.endpoint = Some(proxy.endpoint.clone());
        self
    }

    /// Reaches CloudFront through `proxy` (e.g. its `--functions` stand-in).
    pub(crate) fn cloudfront_via(mut self, proxy: &Proxy) -> Self {
        self.cloudfront = Some(proxy.endpoint.clone());
        self
    }

    /// Runs it under a shell that first lowers the open-file limit to `limit`.
    pub(crate) fn open_files_limit(mut self, limit: u32) -> Self {
        self.under = Under::OpenFiles(limit);
        self
    }

    /// Runs it on a pseudo-terminal (through `script`, with `TERM=xterm`), as a developer's
    /// shell would.
    pub(crate) fn on_terminal(mut self) -> Self {
        self.under = Under::Terminal;
        self.env("TERM", "xterm")
    }

    /// The process, to run or to start.
    pub(crate) fn command(&self) -> Command {
        self.command_at(self.endpoint.as_deref().unwrap_or(&self.world.endpoint))
    }

    /// The process, reaching S3 at `endpoint`.
    fn command_at(&self, endpoint: &str) -> Command {
        let mut args = vec![self.command.clone()];
        if let Some(bucket) = &self.bucket {
            args.extend(["--bucket".to_owned(), bucket.clone()]);
        }
        args.extend(self.args.iter().cloned());
        let mut cmd = self.world.cmd_via(endpoint, &args);
        if let Some(cloudfront) = &self.cloudfront {
            cmd.env("AWS_ENDPOINT_URL_CLOUDFRONT", cloudfront)
                .env("AWS_ENDPOINT_URL_CLOUDFRONT_KEYVALUESTORE", cloudfront);
        }
        for (key, value) in &self.env {
            match value {
                Some(value) => cmd.env(key, value),
                None => cmd.env_remove(key),
            };
        }
        match self.under {
            Under::Nothing => cmd,
            Under::OpenFiles(limit) => {
                let script = format!("ulimit -n {limit} && exec \"$0\" \"$@\"");
                let mut shell: Vec<std::ffi::OsString> = vec!["-c".into(), script.into()];
                shell.push(cmd.get_program().to_owned());
                shell.extend(cmd.get_args().map(std::ffi::OsStr::to_owned));
                under("sh", shell, &cmd)
            }
            Under::Terminal => {
                let line = std::iter::once(cmd.get_program())
                    .chain(cmd.get_args())
                    .map(|a| shell_quote(a.to_str().unwrap()))
                    .collect::<Vec<_>>()
                    .join(" ");
                under(
                    "script",
                    vec!["-qefc".into(), line.into(), "/dev/null".into()],
                    &cmd,
                )
            }
        }
    }

    /// Starts it, its stdout discarded and its stderr piped, to read while it runs.
    pub(crate) fn spawn(&self) -> Child {
        self.command()
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start shipfront")
    }

    /// Starts it through a proxy that stops answering after `hold_after` writes, and kills it
    /// (SIGKILL) once the proxy holds a request: a process dying at that exact moment.
    pub(crate) fn kill_after_writes(&self, hold_after: usize) {
        let mut proxy = Proxy::start(&["--hold-after", &hold_after.to_string()]);
        let mut child = self
            .command_at(&proxy.endpoint)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        proxy.wait_until_held();
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// Runs it to completion.
    pub(crate) fn run(&self) -> Run {
        Run::of(self.command())
    }

    /// Runs it and checks it succeeded.
    #[track_caller]
    pub(crate) fn ok(&self) -> Run {
        self.run().ok()
    }
}

/// `program args...` in the place and with the environment of `inner`, which `args` run.
fn under(program: &str, args: Vec<std::ffi::OsString>, inner: &Command) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(args);
    for (key, value) in inner.get_envs() {
        match value {
            Some(v) => cmd.env(key, v),
            None => cmd.env_remove(key),
        };
    }
    if let Some(dir) = inner.get_current_dir() {
        cmd.current_dir(dir);
    }
    cmd
}

/// `text` as one word of a shell command line.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}
