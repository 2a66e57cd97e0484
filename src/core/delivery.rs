//! What CloudFront does to an origin's answer on its way to the viewer, decided without IO so
//! `shipfront serve` answers as the distribution does: the custom error responses, conditional
//! requests, byte ranges, and compression (which types, which sizes, Brotli over gzip).

use crate::core::spa::ErrorResponse;

/// A compression CloudFront applies for a viewer that accepts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Brotli,
    Gzip,
}

impl Encoding {
    /// The `Content-Encoding` value.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Brotli => "br",
            Encoding::Gzip => "gzip",
        }
    }
}

/// The content types CloudFront compresses (its developer guide's list), compared without
/// parameters (`text/html; charset=utf-8` is `text/html`).
const COMPRESSED_TYPES: [&str; 48] = [
    "application/dash+xml",
    "application/eot",
    "application/font",
    "application/font-sfnt",
    "application/javascript",
    "application/json",
    "application/opentype",
    "application/otf",
    "application/pdf",
    "application/pkcs7-mime",
    "application/protobuf",
    "application/rss+xml",
    "application/truetype",
    "application/ttf",
    "application/vnd.apple.mpegurl",
    "application/vnd.mapbox-vector-tile",
    "application/vnd.ms-fontobject",
    "application/wasm",
    "application/xhtml+xml",
    "application/xml",
    "application/x-font-opentype",
    "application/x-font-truetype",
    "application/x-font-ttf",
    "application/x-httpd-cgi",
    "application/x-javascript",
    "application/x-mpegurl",
    "application/x-opentype",
    "application/x-otf",
    "application/x-perl",
    "application/x-ttf",
    "font/eot",
    "font/opentype",
    "font/otf",
    "font/ttf",
    "image/svg+xml",
    "text/css",
    "text/csv",
    "text/html",
    "text/javascript",
    "text/js",
    "text/plain",
    "text/richtext",
    "text/tab-separated-values",
    "text/xml",
    "text/x-component",
    "text/x-java-source",
    "text/x-script",
    "vnd.apple.mpegurl",
];

/// The smallest and largest bodies CloudFront compresses, in bytes.
const COMPRESSED_SIZES: std::ops::RangeInclusive<u64> = 1_000..=10_000_000;

/// The encoding CloudFront answers with for a viewer sending `accept_encoding`: Brotli when
/// accepted, else gzip, else none. A coding with `q=0` is refused; `*` accepts both.
#[must_use]
pub fn encoding_for(accept_encoding: Option<&str>) -> Option<Encoding> {
    let accepted = |wanted: &str| {
        accept_encoding.is_some_and(|header| {
            header.split(',').any(|item| {
                let mut parts = item.split(';').map(str::trim);
                let coding = parts.next().unwrap_or_default();
                let refused = parts.any(|p| {
                    p.strip_prefix("q=")
                        .and_then(|q| q.trim().parse::<f32>().ok())
                        .is_some_and(|q| q <= 0.0)
                });
                (coding.eq_ignore_ascii_case(wanted) || coding == "*") && !refused
            })
        })
    };
    if accepted("br") {
        Some(Encoding::Brotli)
    } else if accepted("gzip") {
        Some(Encoding::Gzip)
    } else {
        None
    }
}

/// Whether CloudFront compresses an answer of `status` with `content_type` and `size` bytes:
/// a listed type, 1,000 to 10,000,000 bytes, status 200, 403 or 404.
#[must_use]
pub fn compressible(status: u16, content_type: &str, size: u64) -> bool {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    matches!(status, 200 | 403 | 404)
        && COMPRESSED_SIZES.contains(&size)
        && COMPRESSED_TYPES.contains(&media.as_str())
}

/// `body` compressed with `encoding`.
#[must_use]
pub fn compress(body: &[u8], encoding: Encoding) -> Vec<u8> {
    use std::io::Write;
    match encoding {
        Encoding::Gzip => {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            // Writing to memory cannot fail.
            let _ = encoder.write_all(body);
            encoder.finish().unwrap_or_default()
        }
        Encoding::Brotli => {
            let mut out = Vec::new();
            {
                let mut encoder = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                let _ = encoder.write_all(body);
            }
            out
        }
    }
}

/// The ETag of a compressed answer: CloudFront makes a strong ETag weak when it compresses.
#[must_use]
pub fn weakened(etag: &str) -> String {
    if etag.starts_with("W/") {
        etag.to_owned()
    } else {
        format!("W/{etag}")
    }
}

/// Whether `If-None-Match` names `etag` (a weak comparison, as for GET), or is `*`.
#[must_use]
pub fn none_match(if_none_match: Option<&str>, etag: &str) -> bool {
    let opaque = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    if_none_match.is_some_and(|header| {
        header
            .split(',')
            .any(|tag| tag.trim() == "*" || opaque(tag) == opaque(etag))
    })
}

/// The part of a body a `Range` header asks for, as S3 answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// No range, or one S3 ignores (several ranges, another unit, bad syntax): all of it, 200.
    Whole,
    /// Bytes `first..=last`: 206 with `Content-Range`.
    Bytes { first: u64, last: u64 },
    /// A range that starts past the end: 416 with `Content-Range: bytes */len`.
    Unsatisfiable,
}

/// The part of a `len`-byte body `range` asks for: `bytes=A-B`, `bytes=A-` or `bytes=-N`.
#[must_use]
pub fn part(range: Option<&str>, len: u64) -> Part {
    let Some(spec) = range.and_then(|r| r.trim().strip_prefix("bytes=")) else {
        return Part::Whole;
    };
    if spec.contains(',') {
        return Part::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Part::Whole;
    };
    let number = |s: &str| s.trim().parse::<u64>().ok();
    match (first.trim().is_empty(), number(first), number(last)) {
        (true, _, Some(0)) => Part::Unsatisfiable,
        (true, _, Some(suffix)) if len > 0 => Part::Bytes {
            first: len.saturating_sub(suffix),
            last: len - 1,
        },
        (true, _, Some(_)) => Part::Unsatisfiable,
        (false, Some(first), _) if first >= len => Part::Unsatisfiable,
        (false, Some(first), None) if last.trim().is_empty() => Part::Bytes {
            first,
            last: len - 1,
        },
        (false, Some(first), Some(last)) if last >= first => Part::Bytes {
            first,
            last: last.min(len - 1),
        },
        _ => Part::Whole,
    }
}

/// What the distribution answers when the origin answers `code` for a request: the page of the
/// custom error response for that code and the status it is served with (its own when the
/// response names none); None when no custom error response covers the code.
#[must_use]
pub fn error_page(responses: &[ErrorResponse], code: u16) -> Option<(String, u16)> {
    let response = responses.iter().find(|r| r.error_code == i32::from(code))?;
    let page = response.page.as_deref()?.trim_start_matches('/').to_owned();
    let status = response
        .response_code
        .as_deref()
        .and_then(|s| s.parse().ok())
        .unwrap_or(code);
    Some((page, status))
}

/// The custom error responses `doctor` advises for a site with a `404` page: 403 and 404 ->
/// the page, status 404 (S3 behind Origin Access Control answers 403 for a missing key).
#[must_use]
pub fn advised_error_responses(not_found_page: Option<&str>) -> Vec<ErrorResponse> {
    not_found_page
        .map(|page| {
            [403, 404]
                .into_iter()
                .map(|code| ErrorResponse {
                    error_code: code,
                    page: Some(format!("/{page}")),
                    response_code: Some("404".to_owned()),
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brotli_is_preferred_and_a_refused_coding_is_not_used() {
        let cases = [
            (None, None),
            (Some(""), None),
            (Some("identity"), None),
            (Some("gzip"), Some(Encoding::Gzip)),
            (Some("gzip, deflate, br"), Some(Encoding::Brotli)),
            (Some("br;q=0, gzip"), Some(Encoding::Gzip)),
            (Some("br;q=0.0, gzip;q=0"), None),
            (Some("GZIP"), Some(Encoding::Gzip)),
            (Some("*"), Some(Encoding::Brotli)),
            (Some("deflate"), None),
            (Some("gzip;q=0.5"), Some(Encoding::Gzip)),
        ];
        for (header, expected) in cases {
            assert_eq!(encoding_for(header), expected, "{header:?}");
        }
    }

    #[test]
    fn only_listed_types_of_compressible_sizes_and_statuses_are_compressed() {
        let cases = [
            (200, "text/html; charset=utf-8", 5_000, true),
            (200, "application/javascript", 1_000, true),
            (200, "text/javascript", 10_000_000, true),
            (200, "text/css", 999, false),
            (200, "text/css", 10_000_001, false),
            (200, "image/png", 50_000, false),
            (200, "image/svg+xml", 50_000, true),
            (200, "application/octet-stream", 50_000, false),
            (404, "text/html", 5_000, true),
            (403, "text/html", 5_000, true),
            (206, "text/html", 5_000, false),
            (304, "text/html", 5_000, false),
            (200, "TEXT/HTML", 5_000, true),
            (200, "application/wasm", 5_000, true),
            (200, "font/woff2", 5_000, false),
        ];
        for (status, content_type, size, expected) in cases {
            assert_eq!(
                compressible(status, content_type, size),
                expected,
                "{status} {content_type} {size}"
            );
        }
    }

    #[test]
    fn compressed_bodies_decode_to_the_original() {
        use std::io::Read;
        let body = "<p>shipfront</p>\n".repeat(200).into_bytes();
        let gzip = compress(&body, Encoding::Gzip);
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(gzip.as_slice())
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, body);
        assert!(gzip.len() < body.len() / 4);
        let br = compress(&body, Encoding::Brotli);
        let mut out = Vec::new();
        brotli::Decompressor::new(br.as_slice(), 4096)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, body);
        assert!(br.len() < body.len() / 4);
    }

    #[test]
    fn ranges_are_answered_as_s3_answers_them() {
        let whole = Part::Whole;
        let bytes = |first, last| Part::Bytes { first, last };
        let cases = [
            (None, 100, whole),
            (Some("bytes=0-9"), 100, bytes(0, 9)),
            (Some("bytes=90-"), 100, bytes(90, 99)),
            (Some("bytes=-10"), 100, bytes(90, 99)),
            (Some("bytes=-500"), 100, bytes(0, 99)),
            (Some("bytes=50-500"), 100, bytes(50, 99)),
            (Some("bytes=100-"), 100, Part::Unsatisfiable),
            (Some("bytes=100-200"), 100, Part::Unsatisfiable),
            (Some("bytes=-0"), 100, Part::Unsatisfiable),
            (Some("bytes=0-"), 0, Part::Unsatisfiable),
            (Some("bytes=9-0"), 100, whole),
            (Some("bytes=0-1,5-6"), 100, whole),
            (Some("items=0-9"), 100, whole),
            (Some("bytes=a-b"), 100, whole),
            (Some("bytes=5"), 100, whole),
        ];
        for (header, len, expected) in cases {
            assert_eq!(part(header, len), expected, "{header:?} of {len}");
        }
    }

    #[test]
    fn if_none_match_compares_weakly() {
        let cases = [
            (None, "\"a\"", false),
            (Some("\"a\""), "\"a\"", true),
            (Some("W/\"a\""), "\"a\"", true),
            (Some("\"a\""), "W/\"a\"", true),
            (Some("\"b\", \"a\""), "\"a\"", true),
            (Some("\"b\""), "\"a\"", false),
            (Some("*"), "\"a\"", true),
        ];
        for (header, etag, expected) in cases {
            assert_eq!(none_match(header, etag), expected, "{header:?} {etag}");
        }
        assert_eq!(weakened("\"a\""), "W/\"a\"");
        assert_eq!(weakened("W/\"a\""), "W/\"a\"");
    }

    #[test]
    fn error_responses_name_a_page_and_a_status() {
        let responses = advised_error_responses(Some("404.html"));
        assert_eq!(
            error_page(&responses, 403),
            Some(("404.html".to_owned(), 404))
        );
        assert_eq!(
            error_page(&responses, 404),
            Some(("404.html".to_owned(), 404))
        );
        assert_eq!(error_page(&responses, 500), None);
        assert!(advised_error_responses(None).is_empty());
        let spa = [ErrorResponse {
            error_code: 403,
            page: Some("/index.html".to_owned()),
            response_code: Some("200".to_owned()),
        }];
        assert_eq!(error_page(&spa, 403), Some(("index.html".to_owned(), 200)));
        let own_code = [ErrorResponse {
            error_code: 404,
            page: Some("/missing.html".to_owned()),
            response_code: None,
        }];
        assert_eq!(
            error_page(&own_code, 404),
            Some(("missing.html".to_owned(), 404))
        );
        let no_page = [ErrorResponse {
            error_code: 404,
            page: None,
            response_code: Some("404".to_owned()),
        }];
        assert_eq!(error_page(&no_page, 404), None);
    }
}
