//! The HTTP adapter: what visitors get, asked over HTTP(S) as a browser would (the system's
//! root certificates, redirects followed), behind the port `store::Visitor`, for `verify`.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use md5::{Digest, Md5};

use crate::core::verify::Answer;
use crate::store::Visitor;

/// Redirects followed before giving up.
const MAX_REDIRECTS: usize = 5;

/// How long one request may take.
const TIMEOUT: Duration = Duration::from_secs(20);

/// A visitor over HTTP and HTTPS.
pub struct HttpVisitor {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>,
}

impl HttpVisitor {
    /// A client trusting the system's root certificates.
    ///
    /// # Errors
    /// When the system's certificates cannot be read.
    pub fn new() -> Result<Self, String> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| format!("cannot read the system's root certificates: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector);
        Ok(HttpVisitor { client })
    }

    /// One GET of `url`, uncompressed: its status, headers and body.
    async fn get(&self, url: &str) -> Result<hyper::Response<Bytes>, String> {
        let uri: hyper::Uri = url.parse().map_err(|e| format!("`{url}`: {e}"))?;
        let request = hyper::Request::get(uri)
            .header(hyper::header::ACCEPT_ENCODING, "identity")
            .header(
                hyper::header::USER_AGENT,
                concat!("shipfront/", env!("CARGO_PKG_VERSION")),
            )
            .body(Empty::new())
            .map_err(|e| e.to_string())?;
        let response = tokio::time::timeout(TIMEOUT, self.client.request(request))
            .await
            .map_err(|_| format!("{url}: no answer within {}s", TIMEOUT.as_secs()))?
            .map_err(|e| format!("{url}: {e}"))?;
        let (parts, body) = response.into_parts();
        let body = tokio::time::timeout(TIMEOUT, body.collect())
            .await
            .map_err(|_| {
                format!(
                    "{url}: the body did not arrive within {}s",
                    TIMEOUT.as_secs()
                )
            })?
            .map_err(|e| format!("{url}: {e}"))?
            .to_bytes();
        Ok(hyper::Response::from_parts(parts, body))
    }
}

impl Visitor for HttpVisitor {
    async fn visit(&self, url: &str) -> Result<Answer, String> {
        let mut url = url.to_owned();
        for _ in 0..=MAX_REDIRECTS {
            let response = self.get(&url).await?;
            let header = |name| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v: &hyper::header::HeaderValue| v.to_str().ok())
                    .map(str::to_owned)
            };
            if response.status().is_redirection()
                && let Some(location) = header(hyper::header::LOCATION)
            {
                url = resolve(&url, &location);
                continue;
            }
            let md5: [u8; 16] = Md5::digest(response.body()).into();
            return Ok(Answer {
                status: response.status().as_u16(),
                content_type: header(hyper::header::CONTENT_TYPE),
                cache_control: header(hyper::header::CACHE_CONTROL),
                md5: crate::core::etag::hex(&md5),
            });
        }
        Err(format!("{url}: more than {MAX_REDIRECTS} redirects"))
    }
}

/// `location` (absolute, or a path) as an absolute URL, against `base`.
fn resolve(base: &str, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        return location.to_owned();
    }
    let origin_end = base
        .find("://")
        .and_then(|at| base[at + 3..].find('/').map(|slash| at + 3 + slash))
        .unwrap_or(base.len());
    format!("{}{location}", &base[..origin_end])
}

#[cfg(test)]
mod tests {
    use super::resolve;

    #[test]
    fn redirects_resolve_against_the_origin() {
        let cases = [
            ("http://127.0.0.1:8/a/b", "/c/", "http://127.0.0.1:8/c/"),
            ("https://x.com", "/about/", "https://x.com/about/"),
            ("https://x.com/a", "https://y.com/b", "https://y.com/b"),
        ];
        for (base, location, want) in cases {
            assert_eq!(resolve(base, location), want, "{base} {location}");
        }
    }
}
