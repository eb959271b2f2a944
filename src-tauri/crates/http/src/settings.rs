//! The settings every client builder shares (user agent, timeouts, retries, request budget), the
//! setters that configure them ([`builder_settings!`](crate::builder_settings)), and the checks
//! and `reqwest` client built from them.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::redirect::Policy;
use reqwest::Url;

use crate::{LocalBudget, RequestBudget, RetryPolicy};

/// The longest chain of same-origin redirects followed.
const MAX_REDIRECTS: usize = 5;

/// A client builder's shared settings. Every message a check returns is safe to show: none echoes
/// a URL or a header value.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// The `User-Agent` header.
    pub user_agent: String,
    /// Whole-request timeout (default 30 s).
    pub timeout: Duration,
    /// Connection timeout (default 10 s).
    pub connect_timeout: Duration,
    /// How many times a failed request may be repeated where that is safe (default 3).
    pub max_retries: u32,
    /// Where request starts are counted and a 429's pause is remembered; `None` gives the client
    /// a [`LocalBudget`] of its own.
    pub budget: Option<Arc<dyn RequestBudget>>,
}

impl ClientSettings {
    /// The defaults, with `user_agent`.
    pub fn new(user_agent: impl Into<String>) -> Self {
        Self {
            user_agent: user_agent.into(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_retries: 3,
            budget: None,
        }
    }

    /// The retry policy for [`max_retries`](Self::max_retries).
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy::with_max_retries(self.max_retries)
    }

    /// The budget given, else a fresh [`LocalBudget`].
    pub fn budget_or_local(&self) -> Arc<dyn RequestBudget> {
        self.budget
            .clone()
            .unwrap_or_else(|| Arc::new(LocalBudget::new()) as Arc<dyn RequestBudget>)
    }

    /// Checks the settings and builds the HTTP client with `headers` sent on every request and
    /// `redirects` as its redirect policy.
    pub fn http_client(
        &self,
        headers: HeaderMap,
        redirects: Policy,
    ) -> Result<reqwest::Client, &'static str> {
        if self.timeout.is_zero() || self.connect_timeout.is_zero() {
            return Err("timeouts must be greater than zero");
        }
        let user_agent = HeaderValue::from_str(&self.user_agent)
            .map_err(|_| "the user agent is not a valid header value")?;
        reqwest::Client::builder()
            .user_agent(user_agent)
            .default_headers(headers)
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .redirect(redirects)
            .build()
            .map_err(|_| "could not initialise the HTTP client")
    }
}

/// The setters of [`ClientSettings`] as inherent methods of a builder whose settings sit in the
/// field named: `user_agent`, `timeout`, `connect_timeout`, `max_retries` and `budget`. Write it
/// inside the builder's `impl` block.
#[macro_export]
macro_rules! builder_settings {
    ($field:ident) => {
        /// Sets the `User-Agent`.
        pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
            self.$field.user_agent = user_agent.into();
            self
        }

        /// Whole-request timeout (default 30 s; uploads get more for their size).
        pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
            self.$field.timeout = timeout;
            self
        }

        /// Connection timeout (default 10 s).
        pub fn connect_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.$field.connect_timeout = timeout;
            self
        }

        /// How many times a failed call may be repeated where that is safe (default 3).
        pub fn max_retries(mut self, retries: u32) -> Self {
            self.$field.max_retries = retries;
            self
        }

        /// Where request starts are counted and a 429's pause is remembered (default: a
        /// [`LocalBudget`](parley_http::LocalBudget) of this client's own). Share one budget
        /// between every client of the same credentials: the limits are theirs.
        pub fn budget(mut self, budget: std::sync::Arc<dyn $crate::RequestBudget>) -> Self {
            self.$field.budget = Some(budget);
            self
        }
    };
}

/// Follows redirects only within the same origin, so a credential header never reaches another
/// host.
pub fn same_origin_redirects() -> Policy {
    Policy::custom(|attempt| {
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

/// A secret as a header value marked sensitive (kept out of `Debug` and HTTP/2 tables), or `None`
/// when it holds characters a header cannot carry.
pub fn secret_header(secret: &str) -> Option<HeaderValue> {
    let mut value = HeaderValue::from_str(secret).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// Checks a base URL (http/https with a host, no credentials, query or fragment) and ensures a
/// trailing `/`. Messages never echo the URL: a pasted URL may carry a token.
pub fn parse_base_url(raw: &str) -> Result<Url, &'static str> {
    let mut url = Url::parse(raw.trim()).map_err(|_| "the base URL is not a valid URL")?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() || url.host().is_none() {
        return Err("the base URL must be an http(s) URL with a host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the base URL must not contain credentials");
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("the base URL must not have a query or fragment");
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
        for (raw, parsed) in [
            ("http://127.0.0.1:8080/p1", "http://127.0.0.1:8080/p1/"),
            ("https://api.pact.im/api/p2/", "https://api.pact.im/api/p2/"),
            (" https://example.com ", "https://example.com/"),
        ] {
            assert_eq!(parse_base_url(raw).unwrap().as_str(), parsed);
        }
    }

    #[test]
    fn bad_base_urls_are_rejected_without_echo() {
        for bad in [
            "not a url",
            "ftp://example.com/p1/",
            "file:///SECRET",
            "https://example.com/p1/?private_api_token=SECRET",
            "https://example.com/p1/#SECRET",
            "https://user:SECRET@example.com/p1/",
            "mailto:SECRET@example.com",
        ] {
            let message = parse_base_url(bad).unwrap_err();
            assert!(!message.contains("SECRET"), "{bad}");
        }
    }

    #[test]
    fn settings_are_checked() {
        let settings = ClientSettings::new("parley/test");
        let redirects = || Policy::none();
        assert!(settings.http_client(HeaderMap::new(), redirects()).is_ok());
        let zero = ClientSettings {
            timeout: Duration::ZERO,
            ..settings.clone()
        };
        assert!(zero.http_client(HeaderMap::new(), redirects()).is_err());
        let bad_agent = ClientSettings::new("bad\nagent");
        assert!(bad_agent
            .http_client(HeaderMap::new(), redirects())
            .is_err());
        assert_eq!(settings.retry_policy().max_retries, 3);
        assert!(secret_header("a\nb").is_none());
        assert!(secret_header("tok").unwrap().is_sensitive());
    }
}
