//! One HTTP exchange with credentials, pacing, retries and re-login: builds the URL under `/v1.0/`,
//! attaches the access key (query) or JWT (header), and maps failures to [`Error`].

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, RETRY_AFTER};
use reqwest::{Method, RequestBuilder, Response};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Mutex;
use url::Url;

use crate::error::ServerMessage;
use crate::pacer::Pacer;
use crate::retry::{self, Idempotency};
use crate::{jwt, Credentials, Error, Secret};

/// Largest success body accepted.
const MAX_SUCCESS_BODY: usize = 32 * 1024 * 1024;
/// How much of an error body is read.
const MAX_ERROR_BODY: usize = 64 * 1024;
/// A token this close to expiry is renewed before use (at most half its lifetime).
const RENEW_MARGIN: Duration = Duration::from_secs(10 * 60);

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
    max_retries: u32,
    pacer: Pacer,
}

/// What authenticated one attempt.
enum UsedAuth {
    AccessKey,
    Bearer(Secret),
}

impl Transport {
    pub(crate) fn new(
        http: reqwest::Client,
        root: Url,
        credentials: Credentials,
        max_retries: u32,
        requests_per_second: f64,
    ) -> Self {
        Self {
            http,
            root,
            credentials,
            session: Mutex::new(None),
            max_retries,
            pacer: Pacer::new(requests_per_second),
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

    async fn send(&self, call: &Call) -> Result<Vec<u8>, Error> {
        let mut retries = 0;
        let mut logged_in_again = false;
        loop {
            let error = match self.attempt(call).await {
                Ok(body) => return Ok(body),
                Err((error, used)) => (self.scrub(error, used.as_ref()), used),
            };
            if let (Error::Unauthorized(_), Some(UsedAuth::Bearer(token))) = (&error.0, &error.1) {
                if !logged_in_again {
                    logged_in_again = true;
                    self.forget_session(token).await;
                    tracing::debug!(path = %log_path(call), "voipbin token rejected; logging in again");
                    continue;
                }
            }
            let error = error.0;
            let Some(wait) =
                retry::delay_before_retry(&error, call.idempotency, retries, self.max_retries)
            else {
                return Err(error);
            };
            retries += 1;
            tracing::debug!(
                method = %call.method,
                path = %log_path(call),
                retry = retries,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                error = %error,
                "voipbin request failed; retrying"
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// Removes the credentials and the JWT in use from the error's texts.
    fn scrub(&self, error: Error, used: Option<&UsedAuth>) -> Error {
        let mut secrets = self.credentials.secrets();
        if let Some(UsedAuth::Bearer(token)) = used {
            secrets.push(token.expose());
        }
        error.scrubbed(&secrets)
    }

    async fn attempt(&self, call: &Call) -> Result<Vec<u8>, (Error, Option<UsedAuth>)> {
        let url = self.api_url(&call.segments).map_err(|e| (e, None))?;
        let (request, used) = self
            .authorize(self.http.request(call.method.clone(), url))
            .await
            .map_err(|e| (e, None))?;
        let request = with_query(request, &call.query);
        let request = match &call.body {
            Some(body) => request.json(body),
            None => request,
        };
        self.pacer.wait_turn().await;
        tracing::debug!(method = %call.method, path = %log_path(call), "voipbin request");
        exchange(request).await.map_err(|e| (e, Some(used)))
    }

    /// Adds the credential: the access key as the only query credential, or the JWT header.
    async fn authorize(
        &self,
        request: RequestBuilder,
    ) -> Result<(RequestBuilder, UsedAuth), Error> {
        match &self.credentials {
            Credentials::AccessKey(key) => Ok((
                request.query(&[("accesskey", key.expose())]),
                UsedAuth::AccessKey,
            )),
            Credentials::Password { .. } => {
                let token = self.current_token().await?;
                let mut header = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
                    .map_err(|_| {
                        Error::invalid_response("the login token is not a valid header")
                    })?;
                header.set_sensitive(true);
                Ok((
                    request.header(AUTHORIZATION, header),
                    UsedAuth::Bearer(token),
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
        let mut session = self.session.lock().await;
        if let Some(current) = session.as_ref() {
            if SystemTime::now() < current.renew_at {
                return Ok(current.token.clone());
            }
        }
        let fresh = self.log_in().await?;
        let token = fresh.token.clone();
        *session = Some(fresh);
        Ok(token)
    }

    /// Drops the session if it still holds the rejected token (another task may have renewed it).
    async fn forget_session(&self, rejected: &Secret) {
        let mut session = self.session.lock().await;
        if session.as_ref().is_some_and(|s| &s.token == rejected) {
            *session = None;
        }
    }

    /// `POST /auth/login`, retried only on connect errors and 429.
    async fn log_in(&self) -> Result<Session, Error> {
        let Credentials::Password { username, password } = &self.credentials else {
            return Err(Error::invalid_config(
                "no username and password to log in with",
            ));
        };
        let url = self.auth_url("login")?;
        let body = serde_json::json!({ "username": username, "password": password.expose() });
        let mut retries = 0;
        loop {
            self.pacer.wait_turn().await;
            tracing::debug!(path = url.path(), "voipbin login");
            let request = self.http.post(url.clone()).json(&body);
            let error = match exchange(request).await {
                Ok(bytes) => return session_from_login(&bytes),
                Err(error) => login_error(error).scrubbed(&self.credentials.secrets()),
            };
            let Some(wait) = retry::delay_before_retry(
                &error,
                Idempotency::NonIdempotent,
                retries,
                self.max_retries,
            ) else {
                return Err(error);
            };
            retries += 1;
            tokio::time::sleep(wait).await;
        }
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

/// Sends and reads the body; a non-success status becomes the matching error.
async fn exchange(request: RequestBuilder) -> Result<Vec<u8>, Error> {
    let response = request
        .header(ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| Error::from_reqwest(e, false))?;
    if response.status().is_success() {
        read_body(response, MAX_SUCCESS_BODY, true).await
    } else {
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(retry::parse_retry_after);
        // A broken error body still leaves the status, which is what matters.
        let body = read_body(response, MAX_ERROR_BODY, false)
            .await
            .unwrap_or_default();
        Err(Error::from_status(status, &body, retry_after))
    }
}

/// Reads at most `limit` bytes; beyond it, a success body is an error and an error body is cut.
async fn read_body(mut response: Response, limit: usize, strict: bool) -> Result<Vec<u8>, Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| Error::from_reqwest(e, true))?
    {
        if body.len() + chunk.len() > limit {
            if strict {
                return Err(Error::invalid_response("response body is too large"));
            }
            body.extend_from_slice(&chunk[..limit - body.len()]);
            break;
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
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
