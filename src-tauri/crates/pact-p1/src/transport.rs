//! One HTTP exchange with retries: builds the request (token in a header only), paces it, sends it,
//! maps failures to [`Error`], and unwraps the `{"status":..,"data":..}` envelope.

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use reqwest::header::{HeaderValue, ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;
use tokio::sync::Mutex;
use tokio::time::Instant;
use url::Url;

use crate::requests::{AttachmentSource, UploadCounter};
use crate::retry::{self, Idempotency};
use crate::{ApiToken, Error};

/// Header carrying the token. p1 also accepts a query parameter; this client never uses it.
pub(crate) const TOKEN_HEADER: &str = "X-Private-Api-Token";
/// Largest success body accepted (a page of 100 messages is far smaller).
const MAX_SUCCESS_BODY: usize = 32 * 1024 * 1024;
/// How much of an error body is read to find the server's message.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// What goes in the request body.
#[derive(Debug)]
pub(crate) enum Payload {
    /// No body.
    Empty,
    /// `application/x-www-form-urlencoded` pairs (repeated keys allowed).
    Form(Vec<(&'static str, String)>),
    /// An attachment upload: multipart `file`, or a `file_url` form; `counter` follows the file's bytes.
    Upload {
        source: AttachmentSource,
        counter: Option<UploadCounter>,
    },
}

/// One logical API call, re-sent as is on retry.
#[derive(Debug)]
pub(crate) struct Call {
    pub method: Method,
    /// Path relative to the base URL, e.g. `companies/1/conversations`.
    pub path: String,
    pub query: Vec<(&'static str, String)>,
    pub payload: Payload,
}

impl Call {
    /// A call with no query and no body.
    pub(crate) fn new(method: Method, path: String) -> Self {
        Self {
            method,
            path,
            query: Vec::new(),
            payload: Payload::Empty,
        }
    }

    /// GET and PUT are idempotent for every p1 endpoint; POST is not.
    fn idempotency(&self) -> Idempotency {
        if self.method == Method::POST {
            Idempotency::NonIdempotent
        } else {
            Idempotency::Idempotent
        }
    }
}

/// Serialises request starts so that they are at least `interval` apart.
#[derive(Debug)]
struct Pacer {
    interval: Duration,
    last_start: Mutex<Option<Instant>>,
}

impl Pacer {
    async fn wait_turn(&self) {
        if self.interval.is_zero() {
            return;
        }
        let mut last_start = self.last_start.lock().await;
        if let Some(previous) = *last_start {
            tokio::time::sleep_until(previous + self.interval).await;
        }
        *last_start = Some(Instant::now());
    }
}

/// The shared state behind a [`crate::PactClient`].
pub(crate) struct Transport {
    http: reqwest::Client,
    base_url: Url,
    token: ApiToken,
    token_header: HeaderValue,
    max_retries: u32,
    pacer: Pacer,
    /// The client's whole-request timeout, which an upload stretches by its size.
    timeout: Duration,
}

/// The slowest uplink an upload is given time for: a file gets the usual timeout plus its size at this
/// speed, so a large video on a slow connection is not cut off, yet a stalled one still ends.
const SLOWEST_UPLOAD_BYTES_PER_SECOND: u64 = 32 * 1024;

/// How long one request may take: the client's timeout, stretched for an upload's file.
fn request_timeout(timeout: Duration, payload: &Payload) -> Duration {
    match payload {
        Payload::Upload {
            source: AttachmentSource::File { bytes, .. },
            ..
        } => timeout + Duration::from_secs(bytes.len() as u64 / SLOWEST_UPLOAD_BYTES_PER_SECOND),
        _ => timeout,
    }
}

impl Transport {
    pub(crate) fn new(
        http: reqwest::Client,
        base_url: Url,
        token: ApiToken,
        max_retries: u32,
        min_request_interval: Duration,
        timeout: Duration,
    ) -> Result<Self, Error> {
        let mut token_header =
            HeaderValue::from_str(token.expose().trim()).map_err(|_| Error::InvalidConfig {
                message: "the API token contains characters not allowed in an HTTP header".into(),
            })?;
        token_header.set_sensitive(true);
        Ok(Self {
            http,
            base_url,
            token,
            token_header,
            max_retries,
            pacer: Pacer {
                interval: min_request_interval,
                last_start: Mutex::new(None),
            },
            timeout,
        })
    }

    pub(crate) fn base_url(&self) -> &Url {
        &self.base_url
    }

    pub(crate) fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// Sends the call, retrying where the policy allows, and returns the success body.
    pub(crate) async fn send(&self, call: &Call) -> Result<Bytes, Error> {
        let mut retries = 0;
        loop {
            let error = match self.attempt(call).await {
                Ok(body) => return Ok(body),
                Err(error) => error.redacted(self.token.expose()),
            };
            let Some(wait) =
                retry::delay_before_retry(&error, call.idempotency(), retries, self.max_retries)
            else {
                return Err(error);
            };
            retries += 1;
            tracing::debug!(
                method = %call.method,
                path = %call.path,
                retry = retries,
                wait_ms = wait.as_millis() as u64,
                error = %error,
                "pact request failed; retrying"
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// Sends the call and returns the envelope's `data`.
    pub(crate) async fn send_for_data(&self, call: &Call) -> Result<Value, Error> {
        let body = self.send(call).await?;
        data_of(&body)
    }

    async fn attempt(&self, call: &Call) -> Result<Bytes, Error> {
        let url = self
            .base_url
            .join(&call.path)
            .map_err(|_| Error::InvalidConfig {
                message: "could not build the request URL".into(),
            })?;
        self.pacer.wait_turn().await;
        tracing::debug!(method = %call.method, path = %call.path, "pact request");
        let request = self
            .http
            .request(call.method.clone(), url)
            .header(TOKEN_HEADER, self.token_header.clone())
            .header(ACCEPT, "application/json")
            .timeout(request_timeout(self.timeout, &call.payload));
        let request = with_payload(with_query(request, &call.query), &call.payload)?;
        let response = request
            .send()
            .await
            .map_err(|e| Error::from_reqwest(&e, false))?;
        if response.status().is_success() {
            read_success_body(response).await
        } else {
            Err(error_from_response(response).await)
        }
    }
}

fn with_query(request: RequestBuilder, query: &[(&'static str, String)]) -> RequestBuilder {
    if query.is_empty() {
        request
    } else {
        request.query(query)
    }
}

fn with_payload(request: RequestBuilder, payload: &Payload) -> Result<RequestBuilder, Error> {
    Ok(match payload {
        Payload::Empty => request,
        Payload::Form(pairs) => request.form(pairs),
        Payload::Upload {
            source: AttachmentSource::Url(url),
            ..
        } => request.form(&[("file_url", url.as_str())]),
        Payload::Upload {
            source:
                AttachmentSource::File {
                    file_name,
                    mime_type,
                    bytes,
                },
            counter,
        } => request.multipart(Form::new().part(
            "file",
            file_part(file_name, mime_type.as_deref(), bytes, counter.as_ref())?,
        )),
    })
}

/// Size of the pieces a counted upload is handed to the connection in.
const UPLOAD_CHUNK: usize = 64 * 1024;

fn file_part(
    file_name: &str,
    mime_type: Option<&str>,
    bytes: &Bytes,
    counter: Option<&UploadCounter>,
) -> Result<Part, Error> {
    let declared = mime_type.and_then(|m| m.parse::<mime_guess::mime::Mime>().ok());
    let mime = declared.unwrap_or_else(|| mime_guess::from_path(file_name).first_or_octet_stream());
    let body = match counter {
        None => reqwest::Body::from(bytes.clone()),
        Some(counter) => counted_body(bytes.clone(), counter.clone()),
    };
    Part::stream_with_length(body, bytes.len() as u64)
        .file_name(file_name.to_string())
        .mime_str(mime.as_ref())
        .map_err(|_| Error::InvalidConfig {
            message: "invalid attachment MIME type".into(),
        })
}

/// The file as a stream of [`UPLOAD_CHUNK`] pieces, each counted when the connection takes it.
fn counted_body(bytes: Bytes, counter: UploadCounter) -> reqwest::Body {
    counter.restart();
    let pieces = (0..bytes.len())
        .step_by(UPLOAD_CHUNK)
        .map(move |start| bytes.slice(start..(start + UPLOAD_CHUNK).min(bytes.len())));
    let counted = futures::stream::iter(pieces).map(move |piece| {
        counter.add(piece.len());
        Ok::<Bytes, std::io::Error>(piece)
    });
    reqwest::Body::wrap_stream(counted)
}

async fn read_success_body(mut response: Response) -> Result<Bytes, Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| Error::from_reqwest(&e, true))?
    {
        if body.len() + chunk.len() > MAX_SUCCESS_BODY {
            return Err(Error::invalid_response("response body is too large"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(body))
}

async fn error_from_response(mut response: Response) -> Error {
    let status = response.status().as_u16();
    let header_text = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let retry_after = header_text(RETRY_AFTER).and_then(retry::parse_retry_after);
    let content_type = header_text(CONTENT_TYPE).map(str::to_string);
    let mut body = Vec::new();
    // A broken error body still leaves the status, which is what matters.
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = MAX_ERROR_BODY.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_ERROR_BODY {
            break;
        }
    }
    Error::from_status(status, content_type.as_deref(), &body, retry_after)
}

/// Parses the envelope and returns `data`; invalid JSON or a missing/null `data` is an error.
pub(crate) fn data_of(body: &[u8]) -> Result<Value, Error> {
    match parse_envelope(body)? {
        Value::Object(mut envelope) => match envelope.remove("data") {
            Some(Value::Null) | None => Err(Error::invalid_response("response has no `data`")),
            Some(data) => Ok(data),
        },
        _ => Err(Error::invalid_response("response is not a JSON object")),
    }
}

/// Checks a data-less acknowledgement such as `{"status":"updated"}` (an empty body is accepted too).
pub(crate) fn acknowledgement_of(body: &[u8]) -> Result<(), Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    parse_envelope(body).map(|_| ())
}

/// Parses the body as JSON and turns a `{"status":"error"}` sent with a 2xx status into an error.
fn parse_envelope(body: &[u8]) -> Result<Value, Error> {
    let json: Value = serde_json::from_slice(body)
        .map_err(|e| Error::invalid_response(format!("response is not valid JSON ({e})")))?;
    let status = json
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if status.eq_ignore_ascii_case("error") || status.eq_ignore_ascii_case("failed") {
        let message = crate::error::server_message_from_body(200, None, body);
        return Err(Error::invalid_response(format!(
            "server reported an error: {message}"
        )));
    }
    Ok(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_rules() {
        assert!(data_of(br#"{"status":"ok","data":{"a":1}}"#).is_ok());
        assert!(matches!(
            data_of(br#"{"status":"ok"}"#),
            Err(Error::InvalidResponse { .. })
        ));
        assert!(matches!(
            data_of(br#"{"status":"ok","data":null}"#),
            Err(Error::InvalidResponse { .. })
        ));
        assert!(matches!(
            data_of(b"<html>"),
            Err(Error::InvalidResponse { .. })
        ));
        assert!(matches!(
            data_of(b"[1]"),
            Err(Error::InvalidResponse { .. })
        ));
        assert!(matches!(
            data_of(br#"{"status":"error","message":"nope"}"#),
            Err(Error::InvalidResponse { .. })
        ));
        assert!(acknowledgement_of(br#"{"status":"updated"}"#).is_ok());
        assert!(acknowledgement_of(b"").is_ok());
        assert!(acknowledgement_of(b"nope").is_err());
    }
}
