//! The public client: a builder for its settings and one method per VoIPbin call Parley uses.

use std::sync::Arc;

use futures::Stream;
use parley_http::{ClientSettings, Idempotency};
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use url::Url;

use crate::models::{Conversation, Message, Page};
use crate::paging::{self, parse_page};
use crate::transport::{Call, Transport, MAX_REQUESTS_PER_SECOND};
use crate::{Credentials, Error};

/// The production root; REST lives under `/v1.0/`, login under `/auth/`.
pub const DEFAULT_ROOT_URL: &str = "https://api.voipbin.net";

/// Settings for a [`VoipbinClient`].
#[derive(Debug, Clone)]
pub struct VoipbinClientBuilder {
    credentials: Credentials,
    root_url: String,
    settings: ClientSettings,
    requests_per_second: f64,
}

impl VoipbinClientBuilder {
    parley_http::builder_settings!(settings);

    /// Replaces the root URL (default [`DEFAULT_ROOT_URL`]), e.g. a sandbox `http://127.0.0.1:8080`.
    pub fn root_url(mut self, url: impl Into<String>) -> Self {
        self.root_url = url.into();
        self
    }

    /// Client-side request rate limit; values above the documented ~16.7 req/s are lowered to it.
    /// It is kept in the request budget (see [`budget`](Self::budget)) under the bucket `voipbin`.
    pub fn requests_per_second(mut self, rate: f64) -> Self {
        self.requests_per_second = rate;
        self
    }

    /// Checks the settings and builds the client.
    pub fn build(self) -> Result<VoipbinClient, Error> {
        check_credentials(&self.credentials)?;
        let root = parse_root(&self.root_url)?;
        let http = self
            .settings
            .http_client(HeaderMap::new(), reqwest::redirect::Policy::none())
            .map_err(Error::invalid_config)?;
        let transport = Transport::new(
            http,
            root,
            self.credentials,
            self.settings.max_retries,
            self.settings.budget_or_local(),
            self.requests_per_second,
        );
        Ok(VoipbinClient {
            transport: Arc::new(transport),
        })
    }
}

fn check_credentials(credentials: &Credentials) -> Result<(), Error> {
    match credentials {
        Credentials::AccessKey(key) if key.is_blank() => {
            Err(Error::invalid_config("the access key is empty"))
        }
        Credentials::Password { username, password }
            if username.trim().is_empty() || password.is_blank() =>
        {
            Err(Error::invalid_config("the username or password is empty"))
        }
        _ => Ok(()),
    }
}

fn parse_root(raw: &str) -> Result<Url, Error> {
    let url = Url::parse(raw.trim()).map_err(|_| Error::invalid_config("invalid root URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(Error::invalid_config("the root URL must be http or https"));
    }
    if url.query().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid_config(
            "the root URL must not carry a query or credentials",
        ));
    }
    Ok(url)
}

/// An async VoIPbin API client. Cheap to clone; clones share the login session and request budget.
#[derive(Clone)]
pub struct VoipbinClient {
    transport: Arc<Transport>,
}

impl std::fmt::Debug for VoipbinClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoipbinClient")
            .field("root", &self.transport.root().as_str())
            .finish_non_exhaustive()
    }
}

impl VoipbinClient {
    /// Starts a builder with the given credentials and default settings.
    pub fn builder(credentials: Credentials) -> VoipbinClientBuilder {
        VoipbinClientBuilder {
            credentials,
            root_url: DEFAULT_ROOT_URL.to_string(),
            settings: ClientSettings::new(concat!("parley-voipbin/", env!("CARGO_PKG_VERSION"))),
            requests_per_second: MAX_REQUESTS_PER_SECOND,
        }
    }

    /// The root URL in use.
    pub fn root_url(&self) -> &Url {
        self.transport.root()
    }

    pub(crate) fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Checks the credentials with one small request (`GET /v1.0/conversations?page_size=1`).
    pub async fn verify(&self) -> Result<(), Error> {
        self.conversations_page(1, None).await.map(|_| ())
    }

    /// One page of conversations, newest first (`GET /v1.0/conversations`).
    pub async fn conversations_page(
        &self,
        page_size: u32,
        page_token: Option<&str>,
    ) -> Result<Page<Conversation>, Error> {
        let call = paging::with_page(conversations_call(), page_size, page_token);
        let body = self.transport.send_json(&call).await?;
        Ok(parse_page(body)?.page)
    }

    /// Every page of conversations, newest first, ending at an empty or short page.
    pub fn conversation_pages(
        &self,
        page_size: u32,
    ) -> impl Stream<Item = Result<Page<Conversation>, Error>> + Send + 'static {
        paging::pages(self.clone(), conversations_call(), page_size)
    }

    /// One conversation (`GET /v1.0/conversations/{id}`).
    pub async fn conversation(&self, id: &str) -> Result<Conversation, Error> {
        let call = Call::new(Method::GET, &["conversations", id]);
        self.object(&call).await
    }

    /// Assigns the conversation to an agent (`PUT /v1.0/conversations/{id}` with `owner_id`).
    /// Needs an admin or manager login.
    pub async fn assign_conversation(
        &self,
        id: &str,
        agent_id: &str,
    ) -> Result<Conversation, Error> {
        let mut call = Call::new(Method::PUT, &["conversations", id]);
        call.body = Some(json!({ "owner_id": agent_id }));
        self.object(&call).await
    }

    /// Clears the assignment (`POST /v1.0/conversations/{id}/unassign`, allowed for the owning agent
    /// too). Setting "no owner" twice is harmless, so this call is retried like a PUT.
    pub async fn unassign_conversation(&self, id: &str) -> Result<Conversation, Error> {
        let mut call = Call::new(Method::POST, &["conversations", id, "unassign"]);
        call.idempotency = Idempotency::Idempotent;
        self.object(&call).await
    }

    /// The legacy `POST /v1.0/conversations/setup` (`{"reference_type": ...}`), offered where a server
    /// still answers it. A 404 becomes [`Error::Unsupported`]. Returns the conversation if the server
    /// sent one back.
    pub async fn setup_conversation(
        &self,
        reference_type: &str,
    ) -> Result<Option<Conversation>, Error> {
        let mut call = Call::new(Method::POST, &["conversations", "setup"]);
        call.body = Some(json!({ "reference_type": reference_type }));
        match self.transport.send_json(&call).await {
            Ok(body) => Ok(optional_conversation(body)),
            Err(Error::NotFound(_)) => Err(Error::Unsupported {
                message:
                    "this VoIPbin server has no conversation setup (POST /conversations/setup)"
                        .into(),
            }),
            Err(error) => Err(error),
        }
    }

    /// One page of a conversation's messages, newest first.
    pub async fn messages_page(
        &self,
        conversation_id: &str,
        page_size: u32,
        page_token: Option<&str>,
    ) -> Result<Page<Message>, Error> {
        let call = paging::with_page(messages_call(conversation_id), page_size, page_token);
        let body = self.transport.send_json(&call).await?;
        Ok(parse_page(body)?.page)
    }

    /// Every page of a conversation's messages, newest first.
    pub fn message_pages(
        &self,
        conversation_id: &str,
        page_size: u32,
    ) -> impl Stream<Item = Result<Page<Message>, Error>> + Send + 'static {
        paging::pages(self.clone(), messages_call(conversation_id), page_size)
    }

    /// The pages of a conversation's messages, newest first, starting at `page_token` (a page's
    /// `resume_token`) or at the newest message.
    pub fn message_pages_from(
        &self,
        conversation_id: &str,
        page_size: u32,
        page_token: Option<String>,
    ) -> impl Stream<Item = Result<Page<Message>, Error>> + Send + 'static {
        paging::pages_from(
            self.clone(),
            messages_call(conversation_id),
            page_size,
            page_token,
        )
    }

    /// Sends a text message (`POST /v1.0/conversations/{id}/messages`). Not retried once it may
    /// have reached the server.
    pub async fn send_text(&self, conversation_id: &str, text: &str) -> Result<Message, Error> {
        let mut call = Call::new(
            Method::POST,
            &["conversations", conversation_id, "messages"],
        );
        call.body = Some(json!({ "text": text }));
        self.object(&call).await
    }

    async fn object<T: DeserializeOwned>(&self, call: &Call) -> Result<T, Error> {
        let body = self.transport.send_json(call).await?;
        let has_id = body
            .get("id")
            .and_then(Value::as_str)
            .is_some_and(|id| !id.is_empty());
        if !has_id {
            return Err(Error::invalid_response("the response object has no id"));
        }
        serde_json::from_value(body)
            .map_err(|e| Error::invalid_response(format!("unexpected object shape ({e})")))
    }
}

fn conversations_call() -> Call {
    Call::new(Method::GET, &["conversations"])
}

fn messages_call(conversation_id: &str) -> Call {
    Call::new(Method::GET, &["conversations", conversation_id, "messages"])
}

fn optional_conversation(body: Value) -> Option<Conversation> {
    body.get("id")?;
    serde_json::from_value(body).ok()
}
