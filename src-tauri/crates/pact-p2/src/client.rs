//! The client handle and its builder (base URL, user agent, timeouts, retries, request budget),
//! and the one place a call is sent: a turn from the budget, the exchange through `parley-http`,
//! the body decoded, the error scrubbed of the token, repeated as the retry policy allows.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parley_http::{
    exchange, send_with_retries, BodyLimits, Bucket, Idempotency, LocalBudget, RequestBudget,
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

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_MAX_RETRIES: u32 = 3;
const MAX_REDIRECTS: usize = 5;

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
            user_agent: format!("parley/{}", env!("CARGO_PKG_VERSION")),
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_retries: DEFAULT_MAX_RETRIES,
            budget: None,
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
            .map_err(|error| Error::from_exchange(error, secret))?;
        decode(&body).map_err(|error| error.redacted(secret))
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
    user_agent: String,
    timeout: Duration,
    connect_timeout: Duration,
    max_retries: u32,
    budget: Option<Arc<dyn RequestBudget>>,
}

impl fmt::Debug for PactP2ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PactP2ClientBuilder")
            .field("base_url", &"<set>")
            .field("user_agent", &self.user_agent)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_retries", &self.max_retries)
            .field("budget", &self.budget)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl PactP2ClientBuilder {
    /// Overrides the base URL (e.g. `http://127.0.0.1:PORT/api/p2/`); a missing trailing `/` is
    /// added. Only http(s) URLs without credentials, query or fragment are accepted.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// Sets the `User-Agent` (default `parley/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Whole-request timeout (default 30 s; uploads get more for their size).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connection timeout (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How many times a failed call may be repeated where that is safe (default 3).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// The request budget to take turns from (default: a fresh [`LocalBudget`] at real time).
    /// Share one budget between every client of the same token: the limits are per token.
    pub fn budget(mut self, budget: Arc<dyn RequestBudget>) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Validates the settings and builds the client.
    pub fn build(self) -> Result<PactP2Client, Error> {
        let secret = self.token.expose();
        if secret.trim().is_empty() {
            return Err(Error::invalid_config("the API token is empty"));
        }
        let mut token_header = HeaderValue::from_str(secret).map_err(|_| {
            Error::invalid_config("the API token contains characters a header cannot carry")
        })?;
        token_header.set_sensitive(true);
        if self.timeout.is_zero() || self.connect_timeout.is_zero() {
            return Err(Error::invalid_config("timeouts must be greater than zero"));
        }
        let base_url = parse_base_url(&self.base_url)?;
        let mut headers = HeaderMap::new();
        headers.insert(TOKEN_HEADER, token_header);
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let user_agent = HeaderValue::from_str(&self.user_agent)
            .map_err(|_| Error::invalid_config("the user agent is not a valid header value"))?;
        let http = reqwest::Client::builder()
            .user_agent(user_agent)
            .default_headers(headers)
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .redirect(same_origin_redirects())
            .build()
            .map_err(|_| Error::invalid_config("could not initialise the HTTP client"))?;
        let budget = self
            .budget
            .unwrap_or_else(|| Arc::new(LocalBudget::new()) as Arc<dyn RequestBudget>);
        Ok(PactP2Client {
            inner: Arc::new(Inner {
                http,
                base_url,
                token: self.token,
                policy: RetryPolicy::with_max_retries(self.max_retries),
                budget,
                timeout: self.timeout,
                limits: BodyLimits::default(),
            }),
        })
    }
}

/// Follows redirects only within the same origin, so the token header never reaches another host.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same_origin = attempt
            .previous()
            .first()
            .is_some_and(|first| first.origin() == attempt.url().origin());
        if attempt.previous().len() > MAX_REDIRECTS || !same_origin {
            attempt.stop()
        } else {
            attempt.follow()
        }
    })
}

/// Checks the base URL (http/https with a host, no credentials, query or fragment) and ensures a
/// trailing `/`. Messages never echo the URL: a pasted URL may carry a token.
fn parse_base_url(raw: &str) -> Result<Url, Error> {
    let mut url = Url::parse(raw.trim())
        .map_err(|_| Error::invalid_config("the base URL is not a valid URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() || url.host().is_none() {
        return Err(Error::invalid_config(
            "the base URL must be an http(s) URL with a host",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid_config(
            "the base URL must not contain credentials",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::invalid_config(
            "the base URL must not have a query or fragment",
        ));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_gets_a_trailing_slash() {
        assert_eq!(
            parse_base_url("http://127.0.0.1:8080/api/p2")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:8080/api/p2/"
        );
        assert_eq!(
            parse_base_url(DEFAULT_BASE_URL).unwrap().as_str(),
            DEFAULT_BASE_URL
        );
        assert_eq!(
            parse_base_url(" https://example.com ").unwrap().as_str(),
            "https://example.com/"
        );
    }

    #[test]
    fn bad_base_urls_are_rejected_without_echo() {
        for bad in [
            "not a url",
            "ftp://example.com/api/p2/",
            "file:///SECRET",
            "https://example.com/api/p2/?private_api_token=SECRET",
            "https://example.com/api/p2/#SECRET",
            "https://user:SECRET@example.com/api/p2/",
            "mailto:SECRET@example.com",
        ] {
            let error = parse_base_url(bad).unwrap_err();
            assert!(matches!(error, Error::InvalidConfig { .. }), "{bad}");
            assert!(!format!("{error:?} {error}").contains("SECRET"));
        }
    }

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
