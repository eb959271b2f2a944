//! The client handle and its builder (base URL, user agent, timeouts, retries, request budget),
//! and the one place a call is sent: a turn from the budget, the exchange through `parley-http`,
//! the body decoded, the error scrubbed of the token, repeated as the retry policy allows.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parley_http::settings::{parse_base_url, same_origin_redirects, secret_header};
use parley_http::{
    exchange, send_with_retries, BodyLimits, Bucket, ClientSettings, Idempotency, RequestBudget,
    RetryPolicy,
};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT};
use reqwest::{Method, RequestBuilder};
use url::Url;

use crate::{ApiToken, Error};

/// The production p2 base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.pact.im/api/p2/";

/// The header that carries the token (the only place it travels).
pub(crate) const TOKEN_HEADER: &str = "x-private-api-token";

/// A Pact p2 API client. Cheap to clone (the state sits behind an `Arc`); clones share the
/// connection pool and the request budget.
#[derive(Clone)]
pub struct PactP2Client {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    http: reqwest::Client,
    base_url: Url,
    token: ApiToken,
    policy: RetryPolicy,
    budget: Arc<dyn RequestBudget>,
    timeout: Duration,
    limits: BodyLimits,
}

impl PactP2Client {
    /// Starts configuring a client for `token`.
    pub fn builder(token: ApiToken) -> PactP2ClientBuilder {
        PactP2ClientBuilder {
            token,
            base_url: DEFAULT_BASE_URL.to_string(),
            settings: ClientSettings::new(format!("parley/{}", env!("CARGO_PKG_VERSION"))),
        }
    }

    /// The base URL every path is joined to (always ends with `/`).
    pub fn base_url(&self) -> &str {
        self.inner.base_url.as_str()
    }

    /// The request budget every call takes its turn from (and reports 429s to).
    pub fn budget(&self) -> &Arc<dyn RequestBudget> {
        &self.inner.budget
    }

    pub(crate) fn secret(&self) -> &str {
        self.inner.token.expose()
    }

    /// The timeout of a plain call (uploads get more, see [`parley_http::exchange::upload_timeout`]).
    pub(crate) fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// A request to `path` (relative to the base URL) with the token header.
    pub(crate) fn request(&self, method: Method, path: &str) -> Result<RequestBuilder, Error> {
        let url = self
            .inner
            .base_url
            .join(path)
            .map_err(|_| Error::invalid_config("could not build the request URL"))?;
        Ok(self.inner.http.request(method, url))
    }

    /// Sends a call: `build` makes the request afresh for every attempt, `decode` reads the
    /// success body. Both run inside the attempt, so a 2xx body that is a 429 error list is
    /// waited out like a real 429, and every error is scrubbed before the retry loop logs it.
    pub(crate) async fn call<T, B, D>(
        &self,
        bucket: &Bucket,
        idempotency: Idempotency,
        path: &str,
        build: B,
        decode: D,
    ) -> Result<T, Error>
    where
        B: Fn() -> Result<RequestBuilder, Error> + Send + Sync,
        D: Fn(&[u8]) -> Result<T, Error> + Send + Sync,
        T: Send,
    {
        let inner = &self.inner;
        let secret = inner.token.expose();
        send_with_retries(
            &inner.policy,
            inner.budget.as_ref(),
            bucket,
            idempotency,
            || self.attempt(bucket, path, &build, &decode, secret),
        )
        .await
    }

    async fn attempt<T, B, D>(
        &self,
        bucket: &Bucket,
        path: &str,
        build: &B,
        decode: &D,
        secret: &str,
    ) -> Result<T, Error>
    where
        B: Fn() -> Result<RequestBuilder, Error> + Send + Sync,
        D: Fn(&[u8]) -> Result<T, Error> + Send + Sync,
        T: Send,
    {
        let request = build()?;
        tracing::debug!(bucket = %bucket.name, path, "pact-p2 request");
        let body: Bytes = exchange(request, self.inner.limits)
            .await
            .map_err(|error| Error::from_exchange(error, &[secret]))?;
        decode(&body).map_err(|error| error.redacted(&[secret]))
    }
}

impl fmt::Debug for PactP2Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PactP2Client")
            .field("base_url", &self.inner.base_url.as_str())
            .field("max_retries", &self.inner.policy.max_retries)
            .field("budget", &self.inner.budget)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// Configures a [`PactP2Client`]; every setting is checked in [`PactP2ClientBuilder::build`].
#[derive(Clone)]
pub struct PactP2ClientBuilder {
    token: ApiToken,
    base_url: String,
    settings: ClientSettings,
}

impl fmt::Debug for PactP2ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PactP2ClientBuilder")
            .field("base_url", &"<set>")
            .field("settings", &self.settings)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl PactP2ClientBuilder {
    parley_http::builder_settings!(settings);

    /// Overrides the base URL (e.g. `http://127.0.0.1:PORT/api/p2/`); a missing trailing `/` is
    /// added. Only http(s) URLs without credentials, query or fragment are accepted.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// Validates the settings and builds the client.
    pub fn build(self) -> Result<PactP2Client, Error> {
        let secret = self.token.expose();
        if secret.trim().is_empty() {
            return Err(Error::invalid_config("the API token is empty"));
        }
        let token_header = secret_header(secret).ok_or_else(|| {
            Error::invalid_config("the API token contains characters a header cannot carry")
        })?;
        let base_url = parse_base_url(&self.base_url).map_err(Error::invalid_config)?;
        let mut headers = HeaderMap::new();
        headers.insert(TOKEN_HEADER, token_header);
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let http = self
            .settings
            .http_client(headers, same_origin_redirects())
            .map_err(Error::invalid_config)?;
        Ok(PactP2Client {
            inner: Arc::new(Inner {
                http,
                base_url,
                token: self.token,
                policy: self.settings.retry_policy(),
                budget: self.settings.budget_or_local(),
                timeout: self.settings.timeout,
                limits: BodyLimits::default(),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_validates_and_debug_redacts() {
        let token = ApiToken::new("tok-SECRET-1");
        let client = PactP2Client::builder(token.clone()).build().unwrap();
        assert_eq!(client.base_url(), DEFAULT_BASE_URL);
        assert_eq!(client.budget().refusals(), 0);
        let debug = format!("{client:?} {:?}", PactP2Client::builder(token.clone()));
        assert!(!debug.contains("tok-SECRET-1"), "{debug}");
        for bad in ["", "  ", "a\nb"] {
            assert!(matches!(
                PactP2Client::builder(ApiToken::new(bad)).build(),
                Err(Error::InvalidConfig { .. })
            ));
        }
        assert!(matches!(
            PactP2Client::builder(token.clone())
                .timeout(Duration::ZERO)
                .build(),
            Err(Error::InvalidConfig { .. })
        ));
        assert!(matches!(
            PactP2Client::builder(token)
                .user_agent("bad\nagent")
                .build(),
            Err(Error::InvalidConfig { .. })
        ));
    }
}
