//! The client handle and its builder (base URL, timeouts, retries, pacing and its request budget,
//! user agent).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use parley_http::{LocalBudget, RequestBudget};
use url::Url;

use crate::transport::{Settings, Transport};
use crate::{ApiToken, Error};

/// The production p1 base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.pact.im/p1/";

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_MAX_RETRIES: u32 = 3;
const MAX_REDIRECTS: usize = 5;

/// A Pact p1 API client. Cheap to clone (the state sits behind an `Arc`).
#[derive(Clone)]
pub struct PactClient {
    pub(crate) transport: Arc<Transport>,
}

impl PactClient {
    /// Starts configuring a client for `token`.
    pub fn builder(token: ApiToken) -> PactClientBuilder {
        PactClientBuilder {
            token,
            base_url: DEFAULT_BASE_URL.to_string(),
            user_agent: format!("parley/{}", env!("CARGO_PKG_VERSION")),
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_retries: DEFAULT_MAX_RETRIES,
            min_request_interval: Duration::ZERO,
            budget: None,
        }
    }

    /// The base URL every path is joined to (always ends with `/`).
    pub fn base_url(&self) -> &str {
        self.transport.base_url().as_str()
    }
}

impl fmt::Debug for PactClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PactClient")
            .field("base_url", &self.transport.base_url().as_str())
            .field("max_retries", &self.transport.max_retries())
            .field("token", &"<redacted>")
            .finish()
    }
}

/// Configures a [`PactClient`]; every setting is checked in [`PactClientBuilder::build`].
#[derive(Clone)]
pub struct PactClientBuilder {
    token: ApiToken,
    base_url: String,
    user_agent: String,
    timeout: Duration,
    connect_timeout: Duration,
    max_retries: u32,
    min_request_interval: Duration,
    budget: Option<Arc<dyn RequestBudget>>,
}

impl fmt::Debug for PactClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PactClientBuilder")
            .field("base_url", &"<set>")
            .field("user_agent", &self.user_agent)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_retries", &self.max_retries)
            .field("min_request_interval", &self.min_request_interval)
            .field("budget", &self.budget)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl PactClientBuilder {
    /// Overrides the base URL (e.g. `http://127.0.0.1:PORT/p1/`); a missing trailing `/` is added.
    pub fn base_url(mut self, base_url: &str) -> Self {
        self.base_url = base_url.to_string();
        self
    }

    /// Sets the `User-Agent` (default `parley/<version>`).
    pub fn user_agent(mut self, user_agent: &str) -> Self {
        self.user_agent = user_agent.to_string();
        self
    }

    /// Whole-request timeout (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connection timeout (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How many times a failed request may be repeated (default 3).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// Minimum time between request starts (default zero: p1 documents no limit). It is kept in
    /// the request budget (see [`budget`](Self::budget)) under the bucket `pact-p1`.
    pub fn min_request_interval(mut self, interval: Duration) -> Self {
        self.min_request_interval = interval;
        self
    }

    /// Where request starts are counted and a 429's pause is remembered (default: a
    /// [`LocalBudget`] of this client's own). Clients given the same budget keep their pace together.
    pub fn budget(mut self, budget: Arc<dyn RequestBudget>) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Validates the settings and builds the client.
    pub fn build(self) -> Result<PactClient, Error> {
        if self.token.expose().trim().is_empty() {
            return Err(invalid_config("the API token is empty"));
        }
        if self.timeout.is_zero() || self.connect_timeout.is_zero() {
            return Err(invalid_config("timeouts must be greater than zero"));
        }
        let base_url = parse_base_url(&self.base_url)?;
        let http = reqwest::Client::builder()
            .user_agent(self.user_agent.as_str())
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .redirect(same_origin_redirects())
            .build()
            .map_err(|_| {
                invalid_config("could not initialise the HTTP client (check the user agent)")
            })?;
        let budget = self
            .budget
            .unwrap_or_else(|| Arc::new(LocalBudget::new()) as Arc<dyn RequestBudget>);
        let transport = Transport::new(
            http,
            Settings {
                base_url,
                token: self.token,
                max_retries: self.max_retries,
                budget,
                min_request_interval: self.min_request_interval,
                timeout: self.timeout,
            },
        )?;
        Ok(PactClient {
            transport: Arc::new(transport),
        })
    }
}

/// Follows redirects only within the same origin, so the token header never travels to another host.
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

/// Checks the base URL (http/https, no credentials, query or fragment) and ensures a trailing `/`.
/// Error messages never echo the URL: a pasted URL may carry a token.
fn parse_base_url(raw: &str) -> Result<Url, Error> {
    let mut url =
        Url::parse(raw.trim()).map_err(|_| invalid_config("the base URL is not a valid URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() || url.host().is_none() {
        return Err(invalid_config(
            "the base URL must be an http(s) URL with a host",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid_config("the base URL must not contain credentials"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid_config(
            "the base URL must not have a query or fragment",
        ));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

fn invalid_config(message: &str) -> Error {
    Error::InvalidConfig {
        message: message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_gets_a_trailing_slash() {
        assert_eq!(
            parse_base_url("http://127.0.0.1:8080/p1").unwrap().as_str(),
            "http://127.0.0.1:8080/p1/"
        );
        assert_eq!(
            parse_base_url(DEFAULT_BASE_URL).unwrap().as_str(),
            DEFAULT_BASE_URL
        );
        assert_eq!(
            parse_base_url("https://example.com").unwrap().as_str(),
            "https://example.com/"
        );
    }

    #[test]
    fn bad_base_urls_are_rejected_without_echo() {
        for bad in [
            "not a url",
            "ftp://example.com/p1/",
            "https://example.com/p1/?private_api_token=SECRET",
            "https://user:SECRET@example.com/p1/",
            "mailto:SECRET@example.com",
        ] {
            let error = parse_base_url(bad).unwrap_err();
            assert!(matches!(error, Error::InvalidConfig { .. }), "{bad}");
            assert!(!format!("{error:?}").contains("SECRET"));
        }
    }

    #[test]
    fn build_validates_and_debug_redacts() {
        let token = ApiToken::new("tok-SECRET-1");
        let client = PactClient::builder(token.clone()).build().unwrap();
        assert_eq!(client.base_url(), DEFAULT_BASE_URL);
        let debug = format!("{client:?} {:?}", PactClient::builder(token));
        assert!(!debug.contains("tok-SECRET-1"), "{debug}");
        assert!(matches!(
            PactClient::builder(ApiToken::new("  ")).build(),
            Err(Error::InvalidConfig { .. })
        ));
        assert!(matches!(
            PactClient::builder(ApiToken::new("a\nb")).build(),
            Err(Error::InvalidConfig { .. })
        ));
    }
}
