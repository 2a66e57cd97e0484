//! `shipfront serve`: the edge on localhost. Every request goes through the very routing
//! function a deploy publishes, run in the embedded engine; what it lets through is answered
//! with the file of the build it names, with the Content-Type and Cache-Control a deploy would
//! store, an ETag and 304s. One access-log line per request on stderr.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};

use crate::config::ServeSettings;
use crate::core::error::{Error, Result};
use crate::core::fingerprint::Evidence;
use crate::core::object_headers::HeaderPolicy;
use crate::core::objects::LocalFile;
use crate::core::viewer::{ViewerAnswer, ViewerRequest};
use crate::run::output;
use crate::store::ViewerFunction;

/// The release id an atomic site's function is pointed at locally.
const LOCAL_RELEASE: &str = "local";

/// What every request is answered from.
struct Served {
    function: crate::js::QuickJs,
    /// The build's files by their path.
    files: BTreeMap<String, Arc<LocalFile>>,
    headers: HeaderPolicy,
    evidence: Evidence,
    /// An atomic site's release folder as the function rewrites to it (`_releases/local/`).
    release_folder: Option<String>,
    /// `[headers]`, added to every response as the response headers policy adds them
    /// (overriding what the origin sent).
    added: Vec<(String, String)>,
    /// The build's 404 page, which the distribution answers a missing key with when its error
    /// responses are set as `doctor` advises (403 and 404 -> the page, status 404).
    not_found_page: Option<String>,
}

/// Runs `shipfront serve` until Ctrl-C.
pub(crate) async fn run(settings: ServeSettings) -> Result<()> {
    let routing = settings.routing.clone();
    let (tree, source) =
        tokio::task::spawn_blocking(move || super::routing::scan_and_generate(&routing))
            .await
            .map_err(|e| Error::Internal(format!("scan task failed: {e}")))??;
    let rels: Vec<&str> = tree.files.iter().map(|f| f.rel.as_str()).collect();
    let evidence = Evidence::new(rels.iter().copied());
    let mut kvs = BTreeMap::new();
    if settings.routing.atomic {
        // The pointer a deploy of this build would write, at a local release.
        let placement = crate::core::atomic::place(rels.iter().copied(), &evidence, LOCAL_RELEASE);
        kvs.insert(
            crate::core::atomic::LIVE_KEY.to_owned(),
            placement.pointer(LOCAL_RELEASE).value(),
        );
        for uri in &placement.exceptions {
            kvs.insert(
                crate::core::atomic::exception_key(LOCAL_RELEASE, uri),
                "1".to_owned(),
            );
        }
    }
    let function = crate::js::QuickJs::load(&source, &kvs)
        .map_err(|e| Error::Usage(format!("the routing function does not run: {e}")))?;
    let served = Arc::new(Served {
        function,
        files: tree
            .files
            .iter()
            .map(|f| (f.rel.clone(), Arc::clone(f)))
            .collect(),
        headers: settings.headers.clone(),
        evidence,
        added: settings
            .response_headers
            .as_ref()
            .map(crate::core::response_headers::ResponseHeaders::lines)
            .unwrap_or_default(),
        not_found_page: ["404.html", "404/index.html"]
            .into_iter()
            .find(|page| tree.files.iter().any(|f| f.rel == *page))
            .map(str::to_owned),
        release_folder: settings
            .routing
            .atomic
            .then(|| format!("{}{LOCAL_RELEASE}/", crate::core::plan::RELEASES_DIR)),
    });
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
        "serving {} at http://{address}/ as the distribution would (Ctrl-C stops)",
        settings.routing.dir.display()
    ));
    accept(&listener, &served).await;
    Ok(())
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

/// The answer to one request: the function's own, or the file it names; logged.
async fn answer(served: &Arc<Served>, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    let target = request
        .uri()
        .path_and_query()
        .map_or("/", hyper::http::uri::PathAndQuery::as_str);
    let host = request
        .headers()
        .get(hyper::header::HOST)
        .and_then(|h| h.to_str().ok());
    let viewer = ViewerRequest::of(request.method().as_str(), target, host);
    let ran = {
        let served = Arc::clone(served);
        let viewer = viewer.clone();
        tokio::task::spawn_blocking(move || served.function.run(&viewer)).await
    };
    let (did, response) = match ran {
        Ok(Ok(ViewerAnswer::Response { status, headers })) => {
            let mut response = Response::builder().status(status);
            for (name, value) in &headers {
                response = response.header(name, value);
            }
            let did = ViewerAnswer::Response { status, headers }.summary(&viewer);
            (format!("answered {did}"), response.body(Full::default()))
        }
        Ok(Ok(ViewerAnswer::Request { uri })) => {
            let did = if uri == viewer.uri {
                "passed".to_owned()
            } else {
                format!("rewrote to {uri}")
            };
            (did, file_response(served, &uri, request).await)
        }
        Ok(Err(e)) => (format!("failed: {e}"), error(StatusCode::BAD_GATEWAY)),
        Err(e) => (
            format!("failed: {e}"),
            error(StatusCode::INTERNAL_SERVER_ERROR),
        ),
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

/// The file the function's `uri` names (an atomic site's release folder stands for the build),
/// with the headers a deploy stores; 304 when `If-None-Match` names its ETag. A file the build
/// does not have is answered with its 404 page (status 404), as the distribution's error
/// responses do when set as `doctor` advises; without one, a plain 404.
async fn file_response(
    served: &Served,
    uri: &str,
    request: &Request<Incoming>,
) -> hyper::http::Result<Response<Full<Bytes>>> {
    let path = percent_encoding::percent_decode_str(uri.trim_start_matches('/'))
        .decode_utf8_lossy()
        .into_owned();
    let rel = match &served.release_folder {
        Some(folder) => path
            .strip_prefix(folder.as_str())
            .unwrap_or(&path)
            .to_owned(),
        None => path,
    };
    let (rel, status) = match (served.files.contains_key(&rel), &served.not_found_page) {
        (true, _) => (rel, StatusCode::OK),
        (false, Some(page)) => (page.clone(), StatusCode::NOT_FOUND),
        (false, None) => return error(StatusCode::NOT_FOUND),
    };
    let Some(file) = served.files.get(&rel) else {
        return error(StatusCode::NOT_FOUND);
    };
    let headers = served.headers.headers_for(&rel, &served.evidence);
    let etag = format!("\"{}\"", crate::core::etag::hex(&file.md5));
    let response = Response::builder()
        .status(status)
        .header(hyper::header::CONTENT_TYPE, headers.content_type.as_str())
        .header(hyper::header::CACHE_CONTROL, headers.cache_control.as_str())
        .header(hyper::header::ETAG, &etag);
    let unchanged = request
        .headers()
        .get(hyper::header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        });
    if unchanged && status == StatusCode::OK {
        return response
            .status(StatusCode::NOT_MODIFIED)
            .body(Full::default());
    }
    match tokio::fs::read(&file.path).await {
        Ok(body) if request.method() == hyper::Method::HEAD => response
            .header(hyper::header::CONTENT_LENGTH, body.len())
            .body(Full::default()),
        Ok(body) => response.body(Full::new(Bytes::from(body))),
        Err(_) => error(StatusCode::NOT_FOUND),
    }
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
