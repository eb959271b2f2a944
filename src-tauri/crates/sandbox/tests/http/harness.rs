//! Helpers shared by the sandbox's HTTP tests: a started sandbox and a small p1 client.

use std::time::Duration;

use parley_sandbox::{Sandbox, SandboxConfig};
use serde_json::Value;

/// A sandbox with a reqwest client pointed at it.
pub struct Harness {
    pub sandbox: Sandbox,
    pub http: reqwest::Client,
}

impl Harness {
    pub async fn start(config: SandboxConfig) -> Harness {
        let sandbox = Sandbox::start(config).await.expect("sandbox starts");
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        Harness { sandbox, http }
    }

    pub async fn default() -> Harness {
        Harness::start(SandboxConfig::default()).await
    }

    /// Absolute URL of a p1 path such as `companies/1/conversations`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.sandbox.pact_p1_base_url(), path)
    }

    /// Absolute URL of an admin path such as `/_sandbox/stats`.
    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{}", self.sandbox.addr(), path)
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(self.url(path))
            .header("X-Private-Api-Token", self.sandbox.token())
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(self.url(path))
            .header("X-Private-Api-Token", self.sandbox.token())
    }

    pub fn put(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .put(self.url(path))
            .header("X-Private-Api-Token", self.sandbox.token())
    }

    /// GET that must answer 200 with JSON.
    pub async fn get_json(&self, path: &str) -> Value {
        let response = self.get(path).send().await.unwrap();
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.unwrap()
    }

    /// Every item of a paged list, following `next_page` to the end.
    pub async fn collect_pages(&self, path: &str, list: &str, query: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut from: Option<String> = None;
        let mut seen_tokens = std::collections::HashSet::new();
        loop {
            let mut url = format!("{path}?{query}");
            if let Some(token) = &from {
                url.push_str(&format!("&from={token}"));
            }
            let body = self.get_json(&url).await;
            items.extend(body["data"][list].as_array().unwrap().iter().cloned());
            match body["data"]["next_page"].as_str() {
                Some(token) if !token.is_empty() => {
                    assert!(seen_tokens.insert(token.to_owned()), "token repeated");
                    from = Some(token.to_owned());
                }
                _ => return items,
            }
        }
    }
}

/// `external_id`s of a list of objects.
pub fn ids(items: &[Value]) -> Vec<i64> {
    items
        .iter()
        .map(|item| item["external_id"].as_i64().unwrap())
        .collect()
}
