//! One VoIPbin call with credentials and re-login: builds the URL under `/v1.0/`, attaches the
//! access key (query) or JWT (header), sends it through the shared [`parley_http`] machinery
//! (request budget, retries, capped bodies) and maps failures to [`Error`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use parley_http::{
    BodyLimits, Bucket, Classify, FailureKind, Idempotency, Limit, RequestBudget, RetryPolicy,
};
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION};
use reqwest::{Method, RequestBuilder};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Mutex;
use url::Url;

use crate::error::ServerMessage;
use crate::{jwt, Credentials, Error, Secret};

/// A token this close to expiry is renewed before use (at most half its lifetime).
const RENEW_MARGIN: Duration = Duration::from_secs(10 * 60);

/// The documented per-customer limit, in requests per second.
pub const MAX_REQUESTS_PER_SECOND: f64 = 16.7;

/// The client's pace: request starts spaced for `per_second` (clamped to the documented limit).
/// One bucket for every VoIPbin request of the client, the login included.
pub(crate) fn bucket_for(per_second: f64) -> Bucket {
    Bucket::dynamic("voipbin", vec![Limit::spacing(interval_for(per_second))])
}

/// The spacing for a rate, never below the spacing of the documented limit.
fn interval_for(per_second: f64) -> Duration {
    let rate = if per_second.is_finite() && per_second > 0.0 {
        per_second.min(MAX_REQUESTS_PER_SECOND)
    } else {
        MAX_REQUESTS_PER_SECOND
    };
    // Round up to whole microseconds so rounding can never push the rate over the limit.
    Duration::from_micros((1_000_000.0 / rate).ceil() as u64)
}

/// One logical API call under `/v1.0/`, re-sent as is on retry.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub method: Method,
    /// Path segments below `/v1.0/` (each one percent-encoded when sent).
    pub segments: Vec<String>,
    pub query: Vec<(&'static str, String)>,
    pub body: Option<Value>,
    pub idempotency: Idempotency,
}

impl Call {
    /// A call with the default idempotency for its method (only POST is non-idempotent).
    pub(crate) fn new(method: Method, segments: &[&str]) -> Self {
        let idempotency = if method == Method::POST {
            Idempotency::NonIdempotent
        } else {
            Idempotency::Idempotent
        };
        Self {
            method,
            segments: segments.iter().map(|s| s.to_string()).collect(),
            query: Vec::new(),
            body: None,
            idempotency,
        }
    }
}

/// A JWT from `/auth/login` and when it stops working.
struct Session {
    token: Secret,
    /// When to log in again: a little before the token expires.
    renew_at: SystemTime,
}

/// The shared state behind a [`crate::VoipbinClient`].
pub(crate) struct Transport {
    http: reqwest::Client,
    root: Url,
    credentials: Credentials,
    session: Mutex<Option<Session>>,
    policy: RetryPolicy,
    budget: Arc<dyn RequestBudget>,
    bucket: Bucket,
}

/// What authenticated one attempt.
enum UsedAuth {
    AccessKey,
    Bearer(Secret),
}

/// A failed attempt and the credential it used (to scrub, and to know whether a re-login helps);
/// no credential when authorizing (a login) failed.
type Failed = (Error, Option<UsedAuth>);

/// An attempt's failure as the retry loop sees it. A login that failed inside the attempt was
/// already retried by the login's own rules, so the call is not repeated for it (which would send
/// the login again).
#[derive(Debug)]
struct AttemptFailure {
    error: Error,
    login_failed: bool,
}

impl Classify for AttemptFailure {
    fn failure_kind(&self) -> FailureKind {
        if self.login_failed {
            FailureKind::Final
        } else {
            self.error.failure_kind()
        }
    }
}

impl std::fmt::Display for AttemptFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.error, f)
    }
}

impl Transport {
    pub(crate) fn new(
        http: reqwest::Client,
        root: Url,
        credentials: Credentials,
        max_retries: u32,
        budget: Arc<dyn RequestBudget>,
        requests_per_second: f64,
    ) -> Self {
        Self {
            http,
            root,
            credentials,
            session: Mutex::new(None),
            policy: RetryPolicy::with_max_retries(max_retries),
            budget,
            bucket: bucket_for(requests_per_second),
        }
    }

    pub(crate) fn root(&self) -> &Url {
        &self.root
    }

    /// Sends the call (retrying and re-logging in where allowed) and returns the parsed JSON body.
    pub(crate) async fn send_json(&self, call: &Call) -> Result<Value, Error> {
        let body = self.send(call).await?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&body)
            .map_err(|e| Error::invalid_response(format!("response is not valid JSON ({e})")))
    }

    /// Sends the call through the budget and the retry policy. A 401 to a bearer token logs in
    /// again and re-sends once, which does not count as a retry.
    async fn send(&self, call: &Call) -> Result<Bytes, Error> {
        if matches!(self.credentials, Credentials::Password { .. }) {
            // Log in (when needed) before the call takes its turn, so the login's start comes first.
            self.current_token().await?;
        }
        let logged_in_again = AtomicBool::new(false);
        parley_http::send_with_retries(
            &self.policy,
            self.budget.as_ref(),
            &self.bucket,
            call.idempotency,
            || async {
                let result = match self.attempt(call, false).await {
                    Err((Error::Unauthorized(_), Some(UsedAuth::Bearer(token))))
                        if !logged_in_again.swap(true, Ordering::Relaxed) =>
                    {
                        self.forget_session(&token).await;
                        tracing::debug!(path = %log_path(call), "voipbin token rejected; logging in again");
                        self.attempt(call, true).await
                    }
                    other => other,
                };
                // No credential in the failure: building the URL or logging in failed.
                result.map_err(|(error, used)| AttemptFailure {
                    login_failed: used.is_none(),
                    error: self.scrub(error, used.as_ref()),
                })
            },
        )
        .await
        .map_err(|failure| failure.error)
    }

    /// Removes the credentials and the JWT in use from the error's texts.
    fn scrub(&self, error: Error, used: Option<&UsedAuth>) -> Error {
        let mut secrets = self.credentials.secrets();
        if let Some(UsedAuth::Bearer(token)) = used {
            secrets.push(token.expose());
        }
        error.redacted(&secrets)
    }

    /// One exchange. The retry loop took a turn from the budget for it, except when `resend` (the
    /// re-send after a re-login) or when a login happened on the way: then it takes one here.
    async fn attempt(&self, call: &Call, resend: bool) -> Result<Bytes, Failed> {
        let url = self.api_url(&call.segments).map_err(|e| (e, None))?;
        let (request, used, logged_in) = self
            .authorize(self.http.request(call.method.clone(), url))
            .await
            .map_err(|e| (e, None))?;
        let request = with_query(request, &call.query);
        let request = match &call.body {
            Some(body) => request.json(body),
            None => request,
        };
        if resend || logged_in {
            self.budget.acquire(&self.bucket).await;
        }
        tracing::debug!(method = %call.method, path = %log_path(call), "voipbin request");
        exchange(request).await.map_err(|e| (e, Some(used)))
    }

    /// Adds the credential: the access key as the only query credential, or the JWT header. Also
    /// says whether it had to log in for it.
    async fn authorize(
        &self,
        request: RequestBuilder,
    ) -> Result<(RequestBuilder, UsedAuth, bool), Error> {
        match &self.credentials {
            Credentials::AccessKey(key) => Ok((
                request.query(&[("accesskey", key.expose())]),
                UsedAuth::AccessKey,
                false,
            )),
            Credentials::Password { .. } => {
                let (token, logged_in) = self.token_logging_in_if_needed().await?;
                let mut header = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
                    .map_err(|_| {
                        Error::invalid_response("the login token is not a valid header")
                    })?;
                header.set_sensitive(true);
                Ok((
                    request.header(AUTHORIZATION, header),
                    UsedAuth::Bearer(token),
                    logged_in,
                ))
            }
        }
    }

    /// The WebSocket address (`ws(s)://{root}/v1.0/ws`), with the access key as its query when the
    /// credentials are a key (then the URL holds a secret: never log it), and the login token to send
    /// as `Authorization: Bearer` when they are a username and password.
    pub(crate) async fn websocket_url(&self) -> Result<(Url, Option<Secret>), Error> {
        let mut url = self.api_url(&["ws".to_string()])?;
        let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
        url.set_scheme(scheme).map_err(|_| {
            Error::invalid_config("the root URL cannot be turned into a WebSocket address")
        })?;
        match &self.credentials {
            Credentials::AccessKey(key) => {
                url.query_pairs_mut().append_pair("accesskey", key.expose());
                Ok((url, None))
            }
            Credentials::Password { .. } => {
                let token = self.current_token().await?;
                Ok((url, Some(token)))
            }
        }
    }

    /// Forgets a login token the server refused outside a REST call (the WebSocket handshake).
    pub(crate) async fn token_rejected(&self, rejected: &Secret) {
        self.forget_session(rejected).await;
    }

    /// The secrets to remove from any text shown: the credentials and the token, if given.
    pub(crate) fn secrets_with<'a>(&'a self, token: Option<&'a Secret>) -> Vec<&'a str> {
        let mut secrets = self.credentials.secrets();
        if let Some(token) = token {
            secrets.push(token.expose());
        }
        secrets
    }

    /// The JWT to use, logging in first when there is none or it is about to expire.
    async fn current_token(&self) -> Result<Secret, Error> {
        self.token_logging_in_if_needed()
            .await
            .map(|(token, _)| token)
    }

    /// The JWT to use, and whether getting it took a login.
    async fn token_logging_in_if_needed(&self) -> Result<(Secret, bool), Error> {
        let mut session = self.session.lock().await;
        if let Some(current) = session.as_ref() {
            if SystemTime::now() < current.renew_at {
                return Ok((current.token.clone(), false));
            }
        }
        let fresh = self.log_in().await?;
        let token = fresh.token.clone();
        *session = Some(fresh);
        Ok((token, true))
    }

    /// Drops the session if it still holds the rejected token (another task may have renewed it).
    async fn forget_session(&self, rejected: &Secret) {
        let mut session = self.session.lock().await;
        if session.as_ref().is_some_and(|s| &s.token == rejected) {
            *session = None;
        }
    }

    /// `POST /auth/login`, through the same budget; as a non-idempotent call it is retried only
    /// when the server cannot have acted (connection never made, 429).
    async fn log_in(&self) -> Result<Session, Error> {
        let Credentials::Password { username, password } = &self.credentials else {
            return Err(Error::invalid_config(
                "no username and password to log in with",
            ));
        };
        let url = self.auth_url("login")?;
        let body = serde_json::json!({ "username": username, "password": password.expose() });
        parley_http::send_with_retries(
            &self.policy,
            self.budget.as_ref(),
            &self.bucket,
            Idempotency::NonIdempotent,
            || async {
                tracing::debug!(path = url.path(), "voipbin login");
                let request = self.http.post(url.clone()).json(&body);
                let bytes = exchange(request)
                    .await
                    .map_err(|error| login_error(error).redacted(&self.credentials.secrets()))?;
                session_from_login(&bytes)
            },
        )
        .await
    }

    /// `{root}/v1.0/{segments...}`.
    fn api_url(&self, segments: &[String]) -> Result<Url, Error> {
        let mut url = self.root.clone();
        url.path_segments_mut()
            .map_err(|_| Error::invalid_config("the base URL cannot hold a path"))?
            .pop_if_empty()
            .push("v1.0")
            .extend(segments);
        Ok(url)
    }

    /// `{root}/auth/{name}` (not under `/v1.0`).
    fn auth_url(&self, name: &str) -> Result<Url, Error> {
        let mut url = self.root.clone();
        url.path_segments_mut()
            .map_err(|_| Error::invalid_config("the base URL cannot hold a path"))?
            .pop_if_empty()
            .push("auth")
            .push(name);
        Ok(url)
    }
}

/// The path for logs: never the query (which may hold the access key).
fn log_path(call: &Call) -> String {
    format!("/v1.0/{}", call.segments.join("/"))
}

fn with_query(request: RequestBuilder, query: &[(&'static str, String)]) -> RequestBuilder {
    if query.is_empty() {
        request
    } else {
        request.query(query)
    }
}

/// Sends (asking for JSON) and reads the body; a non-success status becomes the matching error.
async fn exchange(request: RequestBuilder) -> Result<Bytes, Error> {
    parley_http::exchange(
        request.header(ACCEPT, "application/json"),
        BodyLimits::default(),
    )
    .await
    .map_err(|error| Error::from_exchange(error, &[]))
}

/// Login failures are a bare 400 (wrong credentials look like a bad request): say so plainly.
fn login_error(error: Error) -> Error {
    match error {
        Error::Validation { server, .. } | Error::Unauthorized(server) => {
            Error::Unauthorized(ServerMessage {
                message: "login rejected: wrong username or password".into(),
                ..server
            })
        }
        other => other,
    }
}

#[derive(Deserialize)]
struct LoginResponse {
    token: Option<String>,
}

fn session_from_login(body: &[u8]) -> Result<Session, Error> {
    let login: LoginResponse = serde_json::from_slice(body)
        .map_err(|_| Error::invalid_response("login response is not the expected JSON"))?;
    let token = login
        .token
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| Error::invalid_response("login response has no token"))?;
    let now = SystemTime::now();
    let expires_at = jwt::expiry(&token, now);
    let lifetime = expires_at.duration_since(now).unwrap_or(Duration::ZERO);
    // Renew ten minutes early, or halfway through a shorter lifetime.
    let renew_at = expires_at - RENEW_MARGIN.min(lifetime / 2);
    Ok(Session {
        token: Secret::new(token),
        renew_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_is_clamped_to_the_documented_limit() {
        assert_eq!(interval_for(1000.0), interval_for(MAX_REQUESTS_PER_SECOND));
        assert_eq!(interval_for(-1.0), interval_for(MAX_REQUESTS_PER_SECOND));
        assert_eq!(
            interval_for(f64::NAN),
            interval_for(MAX_REQUESTS_PER_SECOND)
        );
        assert!(interval_for(MAX_REQUESTS_PER_SECOND) >= Duration::from_micros(59_880));
        assert_eq!(interval_for(2.0), Duration::from_millis(500));
    }

    #[tokio::test(start_paused = true)]
    async fn starts_are_spaced() {
        let budget = parley_http::LocalBudget::new();
        let bucket = bucket_for(MAX_REQUESTS_PER_SECOND);
        let begin = tokio::time::Instant::now();
        for _ in 0..18 {
            budget.acquire(&bucket).await;
        }
        // 18 starts need at least 17 intervals: more than one second for 16.7/s.
        assert!(begin.elapsed() >= Duration::from_secs(1));
    }
}
