//! `shipfront serve`: the edge on localhost. Every request goes through the very routing
//! function a deploy publishes, run in the embedded engine; what it lets through is answered
//! with the object it names (from a build folder, with the headers a deploy would store, or
//! from the bucket, as a release recorded it), then as CloudFront delivers it: custom error
//! responses, `[headers]`, ETag and 304, ranges, compression. One access-log line per request.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};

use crate::config::{RoutingSettings, ServeSettings, ServeSource, Site};
use crate::core::delivery::{self, Part};
use crate::core::error::{Error, Result};
use crate::core::fingerprint::Evidence;
use crate::core::object_headers::HeaderPolicy;
use crate::core::objects::{LocalFile, StoredHeaders, StoredObject};
use crate::core::release::{self, Release};
use crate::core::response_headers::ResponseHeaders;
use crate::core::spa::{ErrorResponse, SpaSettings};
use crate::core::viewer::{ViewerAnswer, ViewerRequest};
use crate::run::{output, survey};
use crate::store::{Cdn, ObjectStore, ViewerFunction};

/// The release id an atomic site's function is pointed at when a build folder is served.
const LOCAL_RELEASE: &str = "local";

/// An object the origin answered with; None when it has none at that path.
type Fetching = Pin<Box<dyn Future<Output = Result<Option<StoredObject>>> + Send>>;

/// How the origin is asked for the object at a path (percent-decoded, no leading `/`).
type Fetch = Box<dyn Fn(String) -> Fetching + Send + Sync>;

/// What every request is answered from, as the site is now.
struct Snapshot {
    /// The routing function; None when the release served was deployed without one.
    function: Option<crate::js::QuickJs>,
    fetch: Fetch,
    /// What the origin answers for a path it has no object at: 404 for a folder; 403 for S3
    /// behind Origin Access Control, which may not list the bucket.
    missing: u16,
    /// The distribution's custom error responses (or those `doctor` advises).
    error_responses: Vec<ErrorResponse>,
    /// The distribution's default root object, for `/` when no function rewrites it.
    root_object: Option<String>,
    /// `[headers]`, added to every response as the response headers policy adds them
    /// (overriding what the origin sent).
    added: Vec<(String, String)>,
}

/// The site served: its snapshot, and for a bucket's live release, how to see that it changed
/// and take a new one (a deploy, a rollback or a promote while serving: as the edge does, the
/// next request sees it).
struct Served {
    snapshot: std::sync::RwLock<Arc<Snapshot>>,
    watch: Option<Watch>,
}

/// A future of `T`, boxed.
type Boxed<T> = Pin<Box<dyn Future<Output = Result<T>> + Send>>;

/// How a bucket's live release is watched: a cheap look at its state (the newest record, the
/// previews), and a new snapshot when that changed.
struct Watch {
    seen: tokio::sync::Mutex<String>,
    state: Box<dyn Fn() -> Boxed<String> + Send + Sync>,
    rebuild: Box<dyn Fn() -> Boxed<Snapshot> + Send + Sync>,
}

impl Served {
    fn fixed(snapshot: Snapshot) -> Self {
        Served {
            snapshot: std::sync::RwLock::new(Arc::new(snapshot)),
            watch: None,
        }
    }

    /// The snapshot to answer from: taken again first when the watched state changed.
    async fn current(&self) -> Arc<Snapshot> {
        if let Some(watch) = &self.watch {
            let mut seen = watch.seen.lock().await;
            match (watch.state)().await {
                Ok(state) if state != *seen => match (watch.rebuild)().await {
                    Ok(fresh) => {
                        if let Ok(mut snapshot) = self.snapshot.write() {
                            *snapshot = Arc::new(fresh);
                        }
                        output::err_line("the live release changed: serving it now");
                        *seen = state;
                    }
                    Err(e) => output::err_line(&format!("cannot serve the new release: {e}")),
                },
                Ok(_) => {}
                Err(e) => output::err_line(&format!("cannot read the bucket's releases: {e}")),
            }
        }
        match self.snapshot.read() {
            Ok(snapshot) => Arc::clone(&snapshot),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }
}

/// Runs `shipfront serve` until Ctrl-C.
pub(crate) async fn run(settings: ServeSettings) -> Result<()> {
    let (served, what) = match settings.source {
        ServeSource::Folder {
            routing,
            headers,
            response_headers,
        } => {
            let what = routing.dir.display().to_string();
            let snapshot = from_folder(routing, headers, response_headers.as_ref()).await?;
            (Served::fixed(snapshot), what)
        }
        ServeSource::Bucket {
            site,
            release,
            distribution_id,
            spa_fallback,
        } => {
            let (sdk, store) = crate::aws::connect(&site.bucket, &site.aws).await?;
            let cdn = distribution_id.map(|id| (crate::aws::CloudFrontCdn::new(&sdk), id));
            let source = BucketSource {
                store: Arc::new(store),
                cdn,
                site,
                release,
                spa_fallback,
            };
            Arc::new(source).served().await?
        }
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", settings.port))
        .await
        .map_err(|e| {
            Error::Usage(format!(
                "cannot listen on 127.0.0.1:{} ({e}): pass another --port (0: any free one)",
                settings.port
            ))
        })?;
    let address = listener.local_addr().map_err(Error::Output)?;
    output::line(&format!(
        "serving {what} at http://{address}/ as the distribution would (Ctrl-C stops)"
    ));
    accept(&listener, &Arc::new(served)).await;
    Ok(())
}

/// A build folder as a deploy would leave it: its routing function (an atomic site's pointed
/// at a local release), each file with the headers a deploy stores, the 404 page as `doctor`
/// advises the error responses.
async fn from_folder(
    settings: RoutingSettings,
    headers: HeaderPolicy,
    response_headers: Option<&ResponseHeaders>,
) -> Result<Snapshot> {
    let atomic = settings.atomic;
    let (tree, source) =
        tokio::task::spawn_blocking(move || super::routing::scan_and_generate(&settings))
            .await
            .map_err(|e| Error::Internal(format!("scan task failed: {e}")))??;
    let rels: Vec<&str> = tree.files.iter().map(|f| f.rel.as_str()).collect();
    let evidence = Evidence::new(rels.iter().copied());
    let mut kvs = BTreeMap::new();
    if atomic {
        // The pointer a deploy of this build would write, at a local release.
        let placement = crate::core::atomic::place(rels.iter().copied(), &evidence, LOCAL_RELEASE);
        let exceptions = placement.exception_keys(LOCAL_RELEASE);
        kvs = local_store(&placement.pointer(LOCAL_RELEASE).value(), &exceptions);
    }
    let not_found_page = ["404.html", "404/index.html"]
        .into_iter()
        .find(|page| rels.contains(page));
    let files: BTreeMap<String, Arc<LocalFile>> = tree
        .files
        .iter()
        .map(|f| (f.rel.clone(), Arc::clone(f)))
        .collect();
    let release_folder =
        atomic.then(|| format!("{}{LOCAL_RELEASE}/", crate::core::plan::RELEASES_DIR));
    let folder = Arc::new((files, headers, evidence, release_folder));
    let fetch: Fetch = Box::new(move |path| {
        let folder = Arc::clone(&folder);
        Box::pin(async move {
            let (files, headers, evidence, release_folder) = &*folder;
            let rel = match release_folder {
                Some(prefix) => path.strip_prefix(prefix.as_str()).unwrap_or(&path),
                None => &path,
            };
            let Some(file) = files.get(rel) else {
                return Ok(None);
            };
            let chosen = headers.headers_for(rel, evidence);
            let body = tokio::fs::read(&file.path)
                .await
                .map_err(|e| Error::Unreadable {
                    path: file.path.clone(),
                    source: e,
                })?;
            Ok(Some(StoredObject {
                body,
                headers: StoredHeaders {
                    content_type: chosen.content_type.as_str().to_owned(),
                    cache_control: chosen.cache_control.as_str().to_owned(),
                },
                etag: crate::core::etag::hex(&file.md5),
            }))
        })
    });
    Ok(Snapshot {
        function: Some(load(&source, &kvs)?),
        fetch,
        missing: 404,
        error_responses: delivery::advised_error_responses(not_found_page),
        root_object: None,
        added: response_headers
            .map(ResponseHeaders::lines)
            .unwrap_or_default(),
    })
}

/// A release of the bucket as its record has it: the routing function it published (an
/// atomic one pointed at it), its `[headers]`, and its objects: for a recorded in-place
/// release each key at its recorded version, else each key's current one. The error responses
/// and root object are the distribution's when `cdn` names it, else as `doctor` advises.
async fn from_bucket<S: ObjectStore, C: Cdn>(
    store: Arc<S>,
    cdn: Option<(C, &str)>,
    site: &Site,
    wanted: Wanted<'_>,
) -> Result<(Snapshot, String)> {
    let release_id = wanted.release;
    let record = recorded_release(&*store, site, release_id).await?;
    let what = format!(
        "release {} of bucket `{}`{}",
        record.id,
        site.bucket,
        if release_id.is_some() { "" } else { " (live)" }
    );
    let function = match &record.routing {
        Some(code) => {
            let kvs = match &record.atomic {
                Some(atomic) => recorded_store(&*store, site, atomic).await?,
                None => BTreeMap::new(),
            };
            Some(load(code, &kvs)?)
        }
        None => None,
    };
    let not_found_page = ["404.html", "404/index.html"].into_iter().find(|page| {
        record
            .objects
            .contains_key(&format!("{}{page}", site.prefix))
    });
    let (error_responses, root_object) = match cdn {
        Some((cdn, distribution)) => {
            let settings = cdn.spa_settings(distribution).await?;
            let root = Some(settings.default_root_object).filter(|r| !r.is_empty());
            (settings.error_responses, root)
        }
        // An SPA routed by the distribution's error responses (no function): its fallback.
        None => match wanted.spa_fallback.filter(|_| function.is_none()) {
            Some(fallback) => {
                let advised = crate::core::spa::repaired(&SpaSettings::default(), fallback);
                (advised.error_responses, Some(advised.default_root_object))
            }
            None => (
                delivery::advised_error_responses(not_found_page),
                Some(crate::core::spa::INDEX.to_owned()),
            ),
        },
    };
    let added = match &record.headers {
        Some(table) => crate::core::response_headers::parse(table)
            .map(|h| h.lines())
            .map_err(|errors| Error::Usage(errors.join("; ")))?,
        None => Vec::new(),
    };
    // A recorded in-place release is read by version id: what it left, whatever came after.
    let versions = (release_id.is_some() && record.atomic.is_none()).then(|| {
        record
            .objects
            .iter()
            .map(|(key, object)| (key.clone(), object.version_id.clone()))
            .collect::<BTreeMap<_, _>>()
    });
    let fetch = bucket_fetch(store, site, versions);
    let served = Snapshot {
        function,
        fetch,
        missing: 403,
        error_responses,
        root_object,
        added,
    };
    Ok((served, what))
}

/// Which release of the bucket to serve (None: the live one), and the SPA fallback page of a
/// site routed by the distribution's error responses.
#[derive(Debug, Clone, Copy)]
struct Wanted<'a> {
    release: Option<&'a str>,
    spa_fallback: Option<&'a str>,
}

/// A bucket's release to serve, and how to reach it again.
struct BucketSource<S, C> {
    store: Arc<S>,
    cdn: Option<(C, String)>,
    site: Site,
    /// None: the live release, watched.
    release: Option<String>,
    spa_fallback: Option<String>,
}

impl<S: ObjectStore, C: Cdn + Clone + 'static> BucketSource<S, C> {
    /// A snapshot of the release as it is now, and what it is.
    async fn snapshot(&self) -> Result<(Snapshot, String)> {
        let wanted = Wanted {
            release: self.release.as_deref(),
            spa_fallback: self.spa_fallback.as_deref(),
        };
        let cdn = self.cdn.as_ref().map(|(c, id)| (c.clone(), id.as_str()));
        from_bucket(Arc::clone(&self.store), cdn, &self.site, wanted).await
    }

    /// The site served: a recorded release fixed; the live one watched, so a deploy, a
    /// rollback or a promote while serving is seen by the next request.
    async fn served(self: Arc<Self>) -> Result<(Served, String)> {
        let state = live_state(&*self.store, &self.site.state_prefix).await?;
        let (snapshot, what) = self.snapshot().await?;
        let mut served = Served::fixed(snapshot);
        if self.release.is_none() {
            let (looked, taken) = (Arc::clone(&self), Arc::clone(&self));
            served.watch = Some(Watch {
                seen: tokio::sync::Mutex::new(state),
                state: Box::new(move || {
                    let source = Arc::clone(&looked);
                    Box::pin(
                        async move { live_state(&*source.store, &source.site.state_prefix).await },
                    )
                }),
                rebuild: Box::new(move || {
                    let source = Arc::clone(&taken);
                    Box::pin(async move { source.snapshot().await.map(|(s, _)| s) })
                }),
            });
        }
        Ok((served, what))
    }
}

/// What says which release is live and which previews there are: the keys and ETags of the
/// release records and of the preview entries, from one listing of the state prefix (the lock,
/// which comes and goes during a deploy, left out).
async fn live_state<S: ObjectStore>(store: &S, state_prefix: &str) -> Result<String> {
    let listed = store.list(state_prefix).await?;
    let records = release::releases_prefix(state_prefix);
    let previews = format!("{state_prefix}{}", crate::core::preview::ENTRIES_DIR);
    Ok(listed
        .objects
        .iter()
        .filter(|o| o.key.starts_with(&records) || o.key.starts_with(&previews))
        .map(|o| format!("{} {}\n", o.key, o.etag))
        .collect())
}

/// The record of release `id`, or of the newest release (the live one: a rollback records a
/// release too), naming what to do when there is none.
async fn recorded_release<S: ObjectStore>(
    store: &S,
    site: &Site,
    id: Option<&str>,
) -> Result<Release> {
    let bucket = &site.bucket;
    let record = match id {
        Some(id) => match survey::record_by_id(store, &site.state_prefix, id).await? {
            Some(record) => Some(record),
            None => {
                return Err(Error::Usage(format!(
                    "bucket `{bucket}` has no release `{id}`: `shipfront releases` \
                     lists them"
                )));
            }
        },
        None => survey::live_record(store, &site.state_prefix).await?,
    };
    record.ok_or_else(|| {
        Error::Usage(format!(
            "bucket `{bucket}` has no readable release record under `{}`: deploy first, or \
             serve a build folder (shipfront serve DIR)",
            site.state_prefix
        ))
    })
}

/// The KeyValueStore an atomic site's function reads, as the bucket's records make it: the
/// live release's pointer and exception keys, and each preview's (from its entry's release).
async fn recorded_store<S: ObjectStore>(
    store: &S,
    site: &Site,
    live: &crate::core::release::AtomicRecord,
) -> Result<BTreeMap<String, String>> {
    let mut kvs = local_store(&live.pointer, &live.exception_keys);
    for entry in crate::run::previews::entries(store, &site.state_prefix).await? {
        let Some(record) = survey::record_by_id(store, &site.state_prefix, &entry.release).await?
        else {
            continue;
        };
        if let Some(atomic) = record.atomic {
            kvs.insert(crate::core::preview::key(&entry.name), atomic.pointer);
            kvs.extend(
                atomic
                    .exception_keys
                    .into_iter()
                    .map(|k| (k, "1".to_owned())),
            );
        }
    }
    Ok(kvs)
}

/// Fetches from the bucket under the site's prefix: at the version `versions` names, else the
/// current one (a key `versions` lacks was not part of the release). shipfront's own state is
/// never served.
fn bucket_fetch<S: ObjectStore>(
    store: Arc<S>,
    site: &Site,
    versions: Option<BTreeMap<String, Option<String>>>,
) -> Fetch {
    let (prefix, state_prefix) = (site.prefix.clone(), site.state_prefix.clone());
    let versions = Arc::new(versions);
    Box::new(move |path| {
        let (store, versions) = (Arc::clone(&store), Arc::clone(&versions));
        let key = format!("{prefix}{path}");
        let hidden = key.starts_with(&state_prefix);
        Box::pin(async move {
            let version = match &*versions {
                None => None,
                Some(versions) => match versions.get(&key) {
                    Some(version) => version.clone(),
                    None => return Ok(None),
                },
            };
            if hidden {
                return Ok(None);
            }
            Ok(store.get_object(&key, version.as_deref()).await?)
        })
    })
}

/// The KeyValueStore an atomic function reads: the pointer and the exception keys.
fn local_store(pointer: &str, exception_keys: &[String]) -> BTreeMap<String, String> {
    let mut kvs = BTreeMap::from([(crate::core::atomic::LIVE_KEY.to_owned(), pointer.to_owned())]);
    for key in exception_keys {
        kvs.insert(key.clone(), "1".to_owned());
    }
    kvs
}

/// The function loaded in the engine, or why it does not run.
fn load(source: &str, kvs: &BTreeMap<String, String>) -> Result<crate::js::QuickJs> {
    crate::js::QuickJs::load(source, kvs)
        .map_err(|e| Error::Usage(format!("the routing function does not run: {e}")))
}

/// Accepts connections until Ctrl-C, each served on a task of its own.
async fn accept(listener: &tokio::net::TcpListener, served: &Arc<Served>) {
    loop {
        let connection = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = tokio::signal::ctrl_c() => return,
        };
        let Ok((stream, _)) = connection else {
            continue;
        };
        let served = Arc::clone(served);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let served = Arc::clone(&served);
                async move { Ok::<_, Infallible>(answer(&served, &request).await) }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await;
        });
    }
}

/// The answer to one request: the function's own, or the object it names; logged.
async fn answer(served: &Served, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    let served = &served.current().await;
    let target = request
        .uri()
        .path_and_query()
        .map_or("/", hyper::http::uri::PathAndQuery::as_str);
    let host = request
        .headers()
        .get(hyper::header::HOST)
        .and_then(|h| h.to_str().ok());
    let viewer = ViewerRequest::of(request.method().as_str(), target, host);
    let (did, response) = match run_function(served, &viewer).await {
        Ok(ViewerAnswer::Response { status, headers }) => {
            let mut response = Response::builder().status(status);
            for (name, value) in &headers {
                response = response.header(name, value);
            }
            let did = ViewerAnswer::Response { status, headers }.summary(&viewer);
            (format!("answered {did}"), response.body(Full::default()))
        }
        Ok(ViewerAnswer::Request { uri }) => {
            let did = if uri == viewer.uri {
                "passed".to_owned()
            } else {
                format!("rewrote to {uri}")
            };
            (did, Ok(from_origin(served, &uri, request).await))
        }
        Err((status, why)) => (format!("failed: {why}"), error(status)),
    };
    let mut response =
        response.unwrap_or_else(|_| error(StatusCode::INTERNAL_SERVER_ERROR).unwrap_or_default());
    for (name, value) in &served.added {
        if let (Ok(name), Ok(value)) = (
            hyper::header::HeaderName::try_from(name.as_str()),
            hyper::header::HeaderValue::try_from(value.as_str()),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    let bytes = hyper::body::Body::size_hint(response.body())
        .exact()
        .unwrap_or(0);
    output::err_line(&format!(
        "{} {target} {did}: {} {bytes} B",
        request.method(),
        response.status().as_u16()
    ));
    response
}

/// What the routing function makes of `viewer` (the request as sent when there is none, `/` as
/// the default root object); a failure as the status CloudFront answers it with.
async fn run_function(
    served: &Arc<Snapshot>,
    viewer: &ViewerRequest,
) -> std::result::Result<ViewerAnswer, (StatusCode, String)> {
    if served.function.is_none() {
        let uri = match (&served.root_object, viewer.uri.as_str()) {
            (Some(root), "/") => format!("/{root}"),
            _ => viewer.uri.clone(),
        };
        return Ok(ViewerAnswer::Request { uri });
    }
    let ran = {
        let served = Arc::clone(served);
        let viewer = viewer.clone();
        tokio::task::spawn_blocking(move || served.function.as_ref().map(|f| f.run(&viewer))).await
    };
    match ran {
        Ok(Some(Ok(answer))) => Ok(answer),
        Ok(Some(Err(e))) => Err((StatusCode::BAD_GATEWAY, e.to_string())),
        Ok(None) => Err((StatusCode::INTERNAL_SERVER_ERROR, "no function".to_owned())),
        Err(e) => Err((StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
    }
}

/// The origin's answer for `uri`, as the distribution delivers it: the object; for one the
/// origin does not have, the page of the custom error response for the origin's code, with that
/// response's status (or the code itself when no response covers it).
async fn from_origin(
    served: &Snapshot,
    uri: &str,
    request: &Request<Incoming>,
) -> Response<Full<Bytes>> {
    let path = percent_encoding::percent_decode_str(uri.trim_start_matches('/'))
        .decode_utf8_lossy()
        .into_owned();
    let fetched = match (served.fetch)(path).await {
        Ok(Some(object)) => Some((object, 200)),
        Ok(None) => match delivery::error_page(&served.error_responses, served.missing) {
            Some((page, status)) => match (served.fetch)(page).await {
                Ok(Some(object)) => Some((object, status)),
                Ok(None) => None,
                Err(e) => return origin_failed(&e),
            },
            None => None,
        },
        Err(e) => return origin_failed(&e),
    };
    let delivered = match fetched {
        Some((object, status)) => deliver(object, status, request),
        None => error(StatusCode::from_u16(served.missing).unwrap_or(StatusCode::NOT_FOUND)),
    };
    delivered.unwrap_or_else(|_| error(StatusCode::INTERNAL_SERVER_ERROR).unwrap_or_default())
}

/// The origin failed (the bucket did not answer): 502, as CloudFront answers, and why on stderr.
fn origin_failed(e: &Error) -> Response<Full<Bytes>> {
    output::err_line(&format!("the origin failed: {e}"));
    error(StatusCode::BAD_GATEWAY).unwrap_or_default()
}

/// `object` answered with `status` as CloudFront delivers it: 304 when `If-None-Match` names
/// its ETag, the part a `Range` asks for (206, or 416), else compressed when the viewer accepts
/// it and CloudFront compresses the type and size (ETag made weak); HEAD without the body.
fn deliver(
    object: StoredObject,
    status: u16,
    request: &Request<Incoming>,
) -> hyper::http::Result<Response<Full<Bytes>>> {
    let header = |name| {
        request
            .headers()
            .get(name)
            .and_then(|v: &hyper::header::HeaderValue| v.to_str().ok())
    };
    let mut etag = format!("\"{}\"", object.etag);
    let response = Response::builder()
        .header(hyper::header::CONTENT_TYPE, &object.headers.content_type)
        .header(hyper::header::CACHE_CONTROL, &object.headers.cache_control)
        .header(hyper::header::ACCEPT_RANGES, "bytes");
    let len = object.body.len() as u64;
    let (status, mut response, body) =
        match (status, delivery::part(header(hyper::header::RANGE), len)) {
            (200, Part::Bytes { first, last }) => {
                let range = format!("bytes {first}-{last}/{len}");
                let body = object.body[first as usize..=last as usize].to_vec();
                (
                    206,
                    response.header(hyper::header::CONTENT_RANGE, range),
                    body,
                )
            }
            (200, Part::Unsatisfiable) => {
                let range = format!("bytes */{len}");
                (
                    416,
                    response.header(hyper::header::CONTENT_RANGE, range),
                    Vec::new(),
                )
            }
            _ => (status, response, object.body),
        };
    let encoding = delivery::encoding_for(header(hyper::header::ACCEPT_ENCODING))
        .filter(|_| delivery::compressible(status, &object.headers.content_type, len));
    let body = match encoding {
        Some(encoding) => {
            etag = delivery::weakened(&etag);
            response = response
                .header(hyper::header::CONTENT_ENCODING, encoding.name())
                .header(hyper::header::VARY, "Accept-Encoding");
            delivery::compress(&body, encoding)
        }
        None => body,
    };
    let response = response.header(hyper::header::ETAG, &etag);
    if status == 200 && delivery::none_match(header(hyper::header::IF_NONE_MATCH), &etag) {
        return response
            .status(StatusCode::NOT_MODIFIED)
            .body(Full::default());
    }
    let response = response.status(status);
    if request.method() == hyper::Method::HEAD {
        return response
            .header(hyper::header::CONTENT_LENGTH, body.len())
            .body(Full::default());
    }
    response.body(Full::new(Bytes::from(body)))
}

/// An answer of `status` with its reason as the body.
fn error(status: StatusCode) -> hyper::http::Result<Response<Full<Bytes>>> {
    Response::builder()
        .status(status)
        .header(hyper::header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Full::new(Bytes::from(
            status.canonical_reason().unwrap_or("error").to_owned(),
        )))
}
