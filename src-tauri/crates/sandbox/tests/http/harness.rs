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

/// What a [`FileServer`] answers on one path.
#[derive(Debug, Clone)]
pub struct Served {
    pub status: u16,
    pub content_type: Option<&'static str>,
    pub body: ServedBody,
    /// Waits this long before answering (to run into the sandbox's timeout).
    pub delay: Duration,
}

/// The body of a [`Served`] answer.
#[derive(Debug, Clone)]
pub enum ServedBody {
    /// These bytes, with their length.
    Bytes(Vec<u8>),
    /// `mebibytes` MiB streamed, with the length declared up front or not (chunked).
    Stream { mebibytes: usize, declared: bool },
}

impl Served {
    /// 200 with these bytes and this `Content-Type` (none for `None`).
    pub fn file(content_type: Option<&'static str>, bytes: &[u8]) -> Served {
        Served {
            status: 200,
            content_type,
            body: ServedBody::Bytes(bytes.to_vec()),
            delay: Duration::ZERO,
        }
    }
}

/// A small HTTP server on 127.0.0.1 that `file_url` points at, serving fixed answers by path
/// (the raw, still percent-encoded path); anything else is 404.
pub struct FileServer {
    pub addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl FileServer {
    pub async fn start(files: Vec<(&str, Served)>) -> FileServer {
        use axum::body::Body;
        use axum::http::{header, StatusCode};
        use axum::response::{IntoResponse, Response};

        let files: std::collections::HashMap<String, Served> = files
            .into_iter()
            .map(|(path, served)| (path.to_owned(), served))
            .collect();
        let files = std::sync::Arc::new(files);
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
            let files = std::sync::Arc::clone(&files);
            async move {
                let Some(served) = files.get(uri.path()).cloned() else {
                    return (StatusCode::NOT_FOUND, "no such file").into_response();
                };
                tokio::time::sleep(served.delay).await;
                let mut response = match served.body {
                    ServedBody::Bytes(bytes) => Response::new(Body::from(bytes)),
                    ServedBody::Stream {
                        mebibytes,
                        declared,
                    } => {
                        let chunk = bytes::Bytes::from(vec![7u8; 1024 * 1024]);
                        let chunks = futures::stream::iter(
                            (0..mebibytes).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
                        );
                        let mut response = Response::new(Body::from_stream(chunks));
                        if declared {
                            response
                                .headers_mut()
                                .insert(header::CONTENT_LENGTH, (mebibytes * 1024 * 1024).into());
                        }
                        response
                    }
                };
                *response.status_mut() = StatusCode::from_u16(served.status).unwrap();
                if let Some(content_type) = served.content_type {
                    response.headers_mut().insert(
                        header::CONTENT_TYPE,
                        header::HeaderValue::from_static(content_type),
                    );
                }
                response
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FileServer { addr, task }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An http URL on 127.0.0.1 where nothing listens (connection refused).
pub async fn refused_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/gone.png")
}
