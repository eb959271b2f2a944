//! The client handle and its builder (base URL, timeouts, retries, pacing and its request budget,
//! user agent).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use parley_http::settings::{parse_base_url, same_origin_redirects, secret_header};
use parley_http::ClientSettings;
use reqwest::header::HeaderMap;

use crate::transport::{Settings, Transport};
use crate::{ApiToken, Error};

/// The production p1 base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.pact.im/p1/";

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
            settings: ClientSettings::new(format!("parley/{}", env!("CARGO_PKG_VERSION"))),
            min_request_interval: Duration::ZERO,
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
    settings: ClientSettings,
    min_request_interval: Duration,
}

impl fmt::Debug for PactClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PactClientBuilder")
            .field("base_url", &"<set>")
            .field("settings", &self.settings)
            .field("min_request_interval", &self.min_request_interval)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl PactClientBuilder {
    parley_http::builder_settings!(settings);

    /// Overrides the base URL (e.g. `http://127.0.0.1:PORT/p1/`); a missing trailing `/` is added.
    pub fn base_url(mut self, base_url: &str) -> Self {
        self.base_url = base_url.to_string();
        self
    }

    /// Minimum time between request starts (default zero: p1 documents no limit). It is kept in
    /// the request budget (see [`budget`](Self::budget)) under the bucket `pact-p1`.
    pub fn min_request_interval(mut self, interval: Duration) -> Self {
        self.min_request_interval = interval;
        self
    }

    /// Validates the settings and builds the client.
    pub fn build(self) -> Result<PactClient, Error> {
        let secret = self.token.expose().trim();
        if secret.is_empty() {
            return Err(Error::invalid_config("the API token is empty"));
        }
        let token_header = secret_header(secret).ok_or_else(|| {
            Error::invalid_config("the API token contains characters not allowed in an HTTP header")
        })?;
        let base_url = parse_base_url(&self.base_url).map_err(Error::invalid_config)?;
        let http = self
            .settings
            .http_client(HeaderMap::new(), same_origin_redirects())
            .map_err(Error::invalid_config)?;
        let transport = Transport::new(
            http,
            Settings {
                base_url,
                token: self.token,
                token_header,
                policy: self.settings.retry_policy(),
                budget: self.settings.budget_or_local(),
                min_request_interval: self.min_request_interval,
                timeout: self.settings.timeout,
            },
        );
        Ok(PactClient {
            transport: Arc::new(transport),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
