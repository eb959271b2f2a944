//! Attachments by link (`file_url`, Pact p1 and p2): the sandbox downloads the URL as Pact does
//! (http or https only, within a timeout and the upload size cap) and keeps the real bytes, the
//! name from the URL's last path segment and the type from the answer's `Content-Type`. A link that
//! cannot be fetched is a 422 and nothing is stored.
//!
//! Handlers call [`fetch`] before they lock the world: no lock is ever held across the download.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE};

use crate::error::ApiError;

/// A downloaded file.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The URL path's last segment, percent-decoded (`file` when there is none).
    pub file_name: String,
    /// The answer's `Content-Type` (without parameters), else guessed from the name.
    pub mime_type: String,
    /// The body, exactly as served.
    pub bytes: Bytes,
}

/// The client the downloads go through: no proxy (links to 127.0.0.1 must reach 127.0.0.1),
/// rustls, the whole download within `timeout`.
pub fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("parley-sandbox/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

/// Checks `raw` is an http(s) URL with a host (422 otherwise), without fetching it.
pub fn parse(raw: &str) -> Result<url::Url, ApiError> {
    url::Url::parse(raw.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| ApiError::unprocessable("file_url must be an http or https URL"))
}

/// Downloads `raw`: at most `limit` bytes, within the client's timeout (`timeout`, for the
/// message). Every failure is a 422 whose detail names the problem.
pub async fn fetch(
    client: &reqwest::Client,
    raw: &str,
    limit: usize,
    timeout: Duration,
) -> Result<Fetched, ApiError> {
    let url = parse(raw)?;
    let failed = |error: reqwest::Error| ApiError::unprocessable(describe(&error, timeout));
    let response = client.get(url.clone()).send().await.map_err(failed)?;
    let status = response.status();
    if !status.is_success() {
        return Err(ApiError::unprocessable(format!(
            "file_url could not be downloaded: the server answered HTTP {}",
            status.as_u16()
        )));
    }
    let too_large = || {
        ApiError::unprocessable(format!(
            "file_url is too large: the file is over the {} MB limit",
            limit / (1024 * 1024)
        ))
    };
    let declared = response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large());
    }
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(essence);
    let mut body = BytesMut::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(failed)?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    if body.is_empty() {
        return Err(ApiError::unprocessable(
            "file_url could not be attached: the server sent an empty file",
        ));
    }
    let file_name = file_name(&url);
    let mime_type = content_type.unwrap_or_else(|| guess_mime(&file_name));
    Ok(Fetched {
        file_name,
        mime_type,
        bytes: body.freeze(),
    })
}

/// What went wrong, in words (never the URL: it may carry a signature).
fn describe(error: &reqwest::Error, timeout: Duration) -> String {
    let why = if error.is_timeout() {
        format!(
            "no complete answer within {} s (timeout)",
            timeout.as_secs_f64()
        )
    } else if error.is_connect() {
        "could not connect to the host (connection refused or unreachable)".to_owned()
    } else if error.is_redirect() {
        "too many redirects".to_owned()
    } else if error.is_body() || error.is_decode() {
        "the connection broke off while reading the file".to_owned()
    } else {
        "the request failed".to_owned()
    };
    format!("file_url could not be downloaded: {why}")
}

/// `image/png` out of `image/png; charset=binary`; `None` when blank.
fn essence(content_type: &str) -> Option<String> {
    let essence = content_type.split(';').next()?.trim();
    (!essence.is_empty()).then(|| essence.to_ascii_lowercase())
}

/// The URL path's last segment, percent-decoded; `file` when it is empty.
pub fn file_name(url: &url::Url) -> String {
    url.path_segments()
        .and_then(|mut segments| segments.next_back())
        .map(percent_decode)
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| "file".to_owned())
}

/// `%XX` escapes decoded (a `+` stays a `+` in a path); invalid UTF-8 replaced.
fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = |at: usize| {
            bytes
                .get(at)
                .and_then(|&b| char::from(b).to_digit(16))
                .map(|d| d as u8)
        };
        match (bytes[index], hex(index + 1), hex(index + 2)) {
            (b'%', Some(high), Some(low)) => {
                out.push(high << 4 | low);
                index += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The type a file name suggests, `application/octet-stream` when it suggests none.
pub fn guess_mime(file_name: &str) -> String {
    mime_guess::from_path(file_name)
        .first_raw()
        .unwrap_or("application/octet-stream")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_last_segment_decoded() {
        let name = |raw: &str| file_name(&url::Url::parse(raw).unwrap());
        assert_eq!(name("https://x.test/media/Katun.jpg?sig=1"), "Katun.jpg");
        assert_eq!(
            name("http://x.test/a/%D1%84%D0%BE%D1%82%D0%BE%201+2.png"),
            "фото 1+2.png"
        );
        assert_eq!(name("http://x.test/a/"), "file");
        assert_eq!(name("http://x.test"), "file");
        assert_eq!(name("http://x.test/100%25%zz"), "100%%zz");
    }

    #[test]
    fn content_types_lose_their_parameters() {
        assert_eq!(
            essence("Text/Plain; charset=utf-8").as_deref(),
            Some("text/plain")
        );
        assert_eq!(essence("  ;x"), None);
        assert_eq!(guess_mime("a.pdf"), "application/pdf");
        assert_eq!(guess_mime("noext"), "application/octet-stream");
    }

    #[test]
    fn only_http_and_https_are_accepted() {
        assert!(parse("https://x.test/a").is_ok());
        assert!(parse(" http://127.0.0.1:9/a ").is_ok());
        for bad in [
            "ftp://x.test/a",
            "file:///etc/passwd",
            "not a url",
            "http://",
        ] {
            assert_eq!(parse(bad).unwrap_err().status, 422, "{bad}");
        }
    }
}
