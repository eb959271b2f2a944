//! One p1 call: builds the request (token in a header only), sends it through the shared
//! [`parley_http`] machinery (request budget, retries, capped bodies), maps failures to [`Error`],
//! and unwraps the `{"status":..,"data":..}` envelope.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parley_http::exchange::{counted_body, upload_timeout};
use parley_http::{BodyLimits, Bucket, Idempotency, RequestBudget, RetryPolicy};
use reqwest::header::{HeaderValue, ACCEPT};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, RequestBuilder};
use serde_json::Value;
use url::Url;

use crate::requests::{AttachmentSource, UploadCounter};
use crate::{ApiToken, Error};

/// Header carrying the token. p1 also accepts a query parameter; this client never uses it.
pub(crate) const TOKEN_HEADER: &str = "X-Private-Api-Token";

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

/// The client's pace: starts at least `interval` apart, or no limit when it is zero (p1 documents
/// none). One bucket for every p1 request of the client.
pub(crate) fn bucket_for(interval: Duration) -> Bucket {
    let limits = if interval.is_zero() {
        Vec::new()
    } else {
        vec![parley_http::Limit::spacing(interval)]
    };
    Bucket::dynamic("pact-p1", limits)
}

/// The shared state behind a [`crate::PactClient`].
pub(crate) struct Transport {
    http: reqwest::Client,
    base_url: Url,
    token: ApiToken,
    token_header: HeaderValue,
    policy: RetryPolicy,
    budget: Arc<dyn RequestBudget>,
    bucket: Bucket,
    /// The client's whole-request timeout, which an upload stretches by its size.
    timeout: Duration,
}

/// How long one request may take: the client's timeout, stretched for an upload's file.
fn request_timeout(timeout: Duration, payload: &Payload) -> Duration {
    match payload {
        Payload::Upload {
            source: AttachmentSource::File { bytes, .. },
            ..
        } => upload_timeout(timeout, bytes.len()),
        _ => timeout,
    }
}

/// Where a [`Transport`]'s requests go and how they are paced and repeated.
pub(crate) struct Settings {
    pub base_url: Url,
    pub token: ApiToken,
    pub token_header: HeaderValue,
    pub policy: RetryPolicy,
    pub budget: Arc<dyn RequestBudget>,
    pub min_request_interval: Duration,
    pub timeout: Duration,
}

impl Transport {
    pub(crate) fn new(http: reqwest::Client, settings: Settings) -> Self {
        Self {
            http,
            base_url: settings.base_url,
            token: settings.token,
            token_header: settings.token_header,
            policy: settings.policy,
            budget: settings.budget,
            bucket: bucket_for(settings.min_request_interval),
            timeout: settings.timeout,
        }
    }

    pub(crate) fn base_url(&self) -> &Url {
        &self.base_url
    }

    pub(crate) fn max_retries(&self) -> u32 {
        self.policy.max_retries
    }

    /// Sends the call, retrying where the policy allows, and returns the success body.
    pub(crate) async fn send(&self, call: &Call) -> Result<Bytes, Error> {
        parley_http::send_with_retries(
            &self.policy,
            self.budget.as_ref(),
            &self.bucket,
            call.idempotency(),
            || async {
                self.attempt(call)
                    .await
                    .map_err(|error| error.redacted(&[self.token.expose()]))
            },
        )
        .await
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
            .map_err(|_| Error::invalid_config("could not build the request URL"))?;
        tracing::debug!(method = %call.method, path = %call.path, "pact request");
        let request = self
            .http
            .request(call.method.clone(), url)
            .header(TOKEN_HEADER, self.token_header.clone())
            .header(ACCEPT, "application/json")
            .timeout(request_timeout(self.timeout, &call.payload));
        let request = with_payload(with_query(request, &call.query), &call.payload)?;
        parley_http::exchange(request, BodyLimits::default())
            .await
            .map_err(|error| Error::from_exchange(error, &[self.token.expose()]))
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
        Some(counter) => counted_body(bytes.clone(), counter.shared()),
    };
    Part::stream_with_length(body, bytes.len() as u64)
        .file_name(file_name.to_string())
        .mime_str(mime.as_ref())
        .map_err(|_| Error::InvalidConfig {
            message: "invalid attachment MIME type".into(),
        })
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
        let message = parley_http::failure::json_message(&json, 200);
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
