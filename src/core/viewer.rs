//! What a viewer-request CloudFront Function is given and answers, in CloudFront's event shape
//! (`cloudfront-js-2.0`): the request built from a request target, and the answer read back,
//! so any engine that runs the generated function (`shipfront serve`) is judged alike.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// A viewer request as CloudFront hands it to the function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewerRequest {
    pub method: String,
    /// The path, percent-encoded as the viewer sent it.
    pub uri: String,
    /// The query string as sent (without `?`), empty when none.
    pub query: String,
    /// The `Host` header, when known.
    pub host: Option<String>,
}

impl ViewerRequest {
    /// A `method` request for `target` (`/path?query`).
    #[must_use]
    pub fn of(method: &str, target: &str, host: Option<&str>) -> Self {
        let (uri, query) = target.split_once('?').unwrap_or((target, ""));
        ViewerRequest {
            method: method.to_owned(),
            uri: uri.to_owned(),
            query: query.to_owned(),
            host: host.map(str::to_owned),
        }
    }

    /// The event CloudFront passes to a viewer-request function: the query string parsed into
    /// names with a `value` (and `multiValue` when repeated), the `host` header, no cookies.
    #[must_use]
    pub fn event(&self) -> Value {
        let mut querystring = serde_json::Map::new();
        for pair in self.query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let entry = json!({ "value": value });
            match querystring.get_mut(name) {
                None => {
                    querystring.insert(name.to_owned(), entry);
                }
                Some(seen) => {
                    let first = json!({ "value": seen["value"].clone() });
                    let values = match seen.get("multiValue").and_then(Value::as_array) {
                        Some(values) => values.clone(),
                        None => vec![first],
                    };
                    let mut values = values;
                    values.push(entry);
                    seen["multiValue"] = Value::Array(values);
                }
            }
        }
        let mut headers = serde_json::Map::new();
        if let Some(host) = &self.host {
            headers.insert("host".to_owned(), json!({ "value": host }));
        }
        json!({
            "version": "1.0",
            "context": { "eventType": "viewer-request" },
            "viewer": { "ip": "127.0.0.1" },
            "request": {
                "method": self.method,
                "uri": self.uri,
                "querystring": querystring,
                "headers": headers,
                "cookies": {},
            },
        })
    }
}

/// What the function answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViewerAnswer {
    /// The request goes on to the origin, for this URI.
    Request { uri: String },
    /// The function answered itself (a redirect, a 404).
    Response {
        status: u16,
        /// Header names (lowercase) and values.
        headers: BTreeMap<String, String>,
    },
}

impl ViewerAnswer {
    /// The answer in the value the function returned: a request (it has a `uri`) or a response
    /// (it has a `statusCode`).
    ///
    /// # Errors
    /// A value that is neither, as CloudFront would refuse it (a 502 there).
    pub fn of(value: &Value) -> Result<Self, String> {
        if let Some(status) = value.get("statusCode") {
            let status = status
                .as_u64()
                .and_then(|s| u16::try_from(s).ok())
                .filter(|s| (100..600).contains(s))
                .ok_or_else(|| format!("the function answered statusCode {status}"))?;
            let headers = value
                .get("headers")
                .and_then(Value::as_object)
                .map(|headers| {
                    headers
                        .iter()
                        .filter_map(|(name, h)| {
                            let v = h.get("value")?.as_str()?;
                            Some((name.to_ascii_lowercase(), v.to_owned()))
                        })
                        .collect()
                })
                .unwrap_or_default();
            return Ok(ViewerAnswer::Response { status, headers });
        }
        match value.get("uri").and_then(Value::as_str) {
            Some(uri) => Ok(ViewerAnswer::Request {
                uri: uri.to_owned(),
            }),
            None => Err(format!(
                "the function returned neither a request nor a response: {value}"
            )),
        }
    }

    /// As the test helpers print an answer to `request`: `pass` (untouched), `rewrite URI`,
    /// `STATUS LOCATION` or `STATUS`.
    #[must_use]
    pub fn summary(&self, request: &ViewerRequest) -> String {
        match self {
            ViewerAnswer::Request { uri } if *uri == request.uri => "pass".to_owned(),
            ViewerAnswer::Request { uri } => format!("rewrite {uri}"),
            ViewerAnswer::Response { status, headers } => match headers.get("location") {
                Some(location) => format!("{status} {location}"),
                None => status.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_become_cloudfront_events() {
        let event = ViewerRequest::of("GET", "/a%20b/?x=1&y&x=2", Some("example.com")).event();
        let request = &event["request"];
        assert_eq!(request["uri"], "/a%20b/");
        assert_eq!(request["querystring"]["y"]["value"], "");
        assert_eq!(request["querystring"]["x"]["value"], "1");
        assert_eq!(
            request["querystring"]["x"]["multiValue"],
            json!([{ "value": "1" }, { "value": "2" }])
        );
        assert_eq!(request["headers"]["host"]["value"], "example.com");
        assert_eq!(event["context"]["eventType"], "viewer-request");
    }

    #[test]
    fn answers_are_read_back_as_the_function_gave_them() {
        let request = ViewerRequest::of("GET", "/about", None);
        let cases = [
            (json!({ "uri": "/about" }), Ok("pass")),
            (
                json!({ "uri": "/about/index.html" }),
                Ok("rewrite /about/index.html"),
            ),
            (
                json!({ "statusCode": 301, "headers": { "Location": { "value": "/about/" } } }),
                Ok("301 /about/"),
            ),
            (
                json!({ "statusCode": 404, "statusDescription": "Not Found" }),
                Ok("404"),
            ),
            (json!({ "statusCode": 99 }), Err(())),
            (json!({ "hello": 1 }), Err(())),
        ];
        for (value, want) in cases {
            let got = ViewerAnswer::of(&value).map(|a| a.summary(&request));
            match want {
                Ok(summary) => assert_eq!(got.as_deref(), Ok(summary), "{value}"),
                Err(()) => assert!(got.is_err(), "{value}: {got:?}"),
            }
        }
    }
}
