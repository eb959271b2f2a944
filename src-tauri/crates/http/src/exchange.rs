//! One HTTP exchange: send the request, read a success body up to a cap, keep a non-success status
//! with the start of its body, and describe transport failures without the URL (which may carry a
//! credential in its query); or stream the body into a writer under the same cap ([`exchange_into`],
//! for downloads). Also the pieces uploads share: a body that counts the bytes the
//! connection takes, and a timeout that grows with the file.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use reqwest::{RequestBuilder, Response};

use crate::retry::{parse_retry_after, FailureKind};

/// Longest text kept from a transport failure (characters).
const MAX_MESSAGE_CHARS: usize = 300;

/// How much of a response is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimits {
    /// A success body larger than this is refused ([`ExchangeError::BodyTooLarge`]).
    pub success: usize,
    /// An error body is cut at this many bytes (its start holds the server's message).
    pub error: usize,
}

impl Default for BodyLimits {
    fn default() -> Self {
        Self {
            success: 32 * 1024 * 1024,
            error: 64 * 1024,
        }
    }
}

/// A non-success answer: status, what the headers said, and the start of the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorReply {
    /// The HTTP status.
    pub status: u16,
    /// `Retry-After`, when sent and readable.
    pub retry_after: Option<Duration>,
    /// `Content-Type`, when sent.
    pub content_type: Option<String>,
    /// The body, at most [`BodyLimits::error`] bytes of it.
    pub body: Vec<u8>,
}

/// The connection failed, broke or timed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportFailure {
    /// What went wrong, without the URL.
    pub message: String,
    /// True when it was a timeout.
    pub timed_out: bool,
    /// `false` only when the connection was never established (the request certainly did not go out).
    pub maybe_sent: bool,
}

impl TransportFailure {
    /// Describes a reqwest failure. `response_started` is true once a status line was received.
    pub fn from_reqwest(error: &reqwest::Error, response_started: bool) -> Self {
        Self {
            message: describe(error),
            timed_out: error.is_timeout(),
            maybe_sent: response_started || !error.is_connect(),
        }
    }

    /// The retry policy's view: never sent, or maybe sent.
    pub fn failure_kind(&self) -> FailureKind {
        FailureKind::transport(self.maybe_sent)
    }
}

/// Why an exchange produced no success body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExchangeError {
    /// No (complete) answer arrived.
    Transport(TransportFailure),
    /// The server answered with a non-success status.
    Status(ErrorReply),
    /// The success body was larger than allowed.
    BodyTooLarge,
}

/// Sends the request and returns the success body, or what went wrong.
pub async fn exchange(request: RequestBuilder, limits: BodyLimits) -> Result<Bytes, ExchangeError> {
    let response = request
        .send()
        .await
        .map_err(|error| ExchangeError::Transport(TransportFailure::from_reqwest(&error, false)))?;
    if response.status().is_success() {
        read_capped(response, limits.success).await
    } else {
        Err(ExchangeError::Status(
            error_reply(response, limits.error).await,
        ))
    }
}

/// Why a streamed exchange ([`exchange_into`]) stopped short.
#[derive(Debug)]
pub enum StreamError {
    /// The exchange failed as [`exchange`] would have (no answer, a non-success status, too large).
    Exchange(ExchangeError),
    /// The sink refused a piece of the body (a full disk, say).
    Sink(std::io::Error),
}

/// Sends the request and writes a success body into `sink` as it arrives, so a large body is never
/// held in memory; returns how many bytes were written. A body larger than [`BodyLimits::success`]
/// (by its `Content-Length`, or once that many bytes came) stops with
/// [`ExchangeError::BodyTooLarge`]; what was written by then is the caller's to discard.
pub async fn exchange_into<W>(
    request: RequestBuilder,
    limits: BodyLimits,
    sink: &mut W,
) -> Result<u64, StreamError>
where
    W: tokio::io::AsyncWrite + Unpin,
{
    let response = request.send().await.map_err(|error| {
        StreamError::Exchange(ExchangeError::Transport(TransportFailure::from_reqwest(
            &error, false,
        )))
    })?;
    if !response.status().is_success() {
        let reply = error_reply(response, limits.error).await;
        return Err(StreamError::Exchange(ExchangeError::Status(reply)));
    }
    if response
        .content_length()
        .is_some_and(|length| length > limits.success as u64)
    {
        return Err(StreamError::Exchange(ExchangeError::BodyTooLarge));
    }
    write_capped(response, limits.success as u64, sink).await
}

async fn write_capped<W>(
    mut response: Response,
    limit: u64,
    sink: &mut W,
) -> Result<u64, StreamError>
where
    W: tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::AsyncWriteExt;
    let mut written = 0u64;
    while let Some(chunk) = response.chunk().await.map_err(|error| {
        StreamError::Exchange(ExchangeError::Transport(TransportFailure::from_reqwest(
            &error, true,
        )))
    })? {
        written += chunk.len() as u64;
        if written > limit {
            return Err(StreamError::Exchange(ExchangeError::BodyTooLarge));
        }
        sink.write_all(&chunk).await.map_err(StreamError::Sink)?;
    }
    sink.flush().await.map_err(StreamError::Sink)?;
    Ok(written)
}

async fn read_capped(mut response: Response, limit: usize) -> Result<Bytes, ExchangeError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| ExchangeError::Transport(TransportFailure::from_reqwest(&error, true)))?
    {
        if body.len() + chunk.len() > limit {
            return Err(ExchangeError::BodyTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(body))
}

async fn error_reply(mut response: Response, limit: usize) -> ErrorReply {
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|value: &reqwest::header::HeaderValue| value.to_str().ok())
            .map(str::to_string)
    };
    let retry_after = header(RETRY_AFTER).as_deref().and_then(parse_retry_after);
    let content_type = header(CONTENT_TYPE);
    let status = response.status().as_u16();
    let mut body = Vec::new();
    // A broken error body still leaves the status, which is what matters.
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = limit.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= limit {
            break;
        }
    }
    ErrorReply {
        status,
        retry_after,
        content_type,
        body,
    }
}

/// The failure and its causes on one line, without the URL, e.g.
/// `could not connect: tcp connect error: Connection refused (os error 111)`.
fn describe(error: &reqwest::Error) -> String {
    use std::error::Error as _;
    let head = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_body() || error.is_decode() {
        "connection broke while reading the response"
    } else if error.is_request() {
        "request failed"
    } else {
        "transport failure"
    };
    let mut text = head.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause = cause.to_string();
        if !text.ends_with(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
        source = cause_source(source);
    }
    sanitize(&text)
}

fn cause_source<'a>(
    current: Option<&'a (dyn std::error::Error + 'static)>,
) -> Option<&'a (dyn std::error::Error + 'static)> {
    current.and_then(|cause| cause.source())
}

/// One line of printable text, at most [`MAX_MESSAGE_CHARS`] characters.
pub fn sanitize(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = flat.split_whitespace().collect::<Vec<_>>().join(" ");
    if trimmed.chars().count() <= MAX_MESSAGE_CHARS {
        trimmed
    } else {
        let cut: String = trimmed.chars().take(MAX_MESSAGE_CHARS - 1).collect();
        format!("{cut}…")
    }
}

/// The slowest uplink an upload is given time for: a file gets the usual timeout plus its size at
/// this speed, so a large video on a slow connection is not cut off, yet a stalled one still ends.
pub const SLOWEST_UPLOAD_BYTES_PER_SECOND: u64 = 32 * 1024;

/// How long an upload of `size` bytes may take: `timeout` plus the size at the slowest uplink.
pub fn upload_timeout(timeout: Duration, size: usize) -> Duration {
    timeout + Duration::from_secs(size as u64 / SLOWEST_UPLOAD_BYTES_PER_SECOND)
}

/// Size of the pieces a counted upload is handed to the connection in.
const UPLOAD_CHUNK: usize = 64 * 1024;

/// The file as a request body of [`UPLOAD_CHUNK`] pieces; `sent` is reset to 0, then grows by each
/// piece as the connection takes it (for a progress display).
pub fn counted_body(bytes: Bytes, sent: Arc<AtomicU64>) -> reqwest::Body {
    use futures::StreamExt;
    sent.store(0, Ordering::Relaxed);
    let pieces = (0..bytes.len())
        .step_by(UPLOAD_CHUNK)
        .map(move |start| bytes.slice(start..(start + UPLOAD_CHUNK).min(bytes.len())));
    let counted = futures::stream::iter(pieces).map(move |piece| {
        sent.fetch_add(piece.len() as u64, Ordering::Relaxed);
        Ok::<Bytes, std::io::Error>(piece)
    });
    reqwest::Body::wrap_stream(counted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_flattens_and_cuts() {
        assert_eq!(sanitize("a\nb\t c"), "a b c");
        let long = "x".repeat(1000);
        assert_eq!(sanitize(&long).chars().count(), MAX_MESSAGE_CHARS);
    }

    #[test]
    fn uploads_get_time_for_their_size() {
        let base = Duration::from_secs(30);
        assert_eq!(upload_timeout(base, 0), base);
        assert_eq!(
            upload_timeout(base, 32 * 1024 * 100),
            base + Duration::from_secs(100)
        );
    }
}
