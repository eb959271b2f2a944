//! VoIPbin REST: login, agents, conversations, messages, the legacy `setup` (404 unless switched
//! on), the guard in front of `/v1.0` (latency, rate limit, faults, auth, the agent role) and the
//! `/_sandbox/voipbin/` admin.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Rejection;
use super::model::{parse_time, VbConversation};
use super::VoipbinState;
use crate::config::FaultKind;
use crate::guard::{abort_connection, html_502};
use crate::server::ConnectionKill;
use crate::state::{lock, Shared};

/// Largest page served.
const MAX_PAGE_SIZE: usize = 100;
/// Page size when none is asked for.
const DEFAULT_PAGE_SIZE: usize = 10;

/// An error in VoIPbin's envelope: `{"error":{status, reason, message, request_id}}`.
#[derive(Debug)]
pub struct VbError {
    http: StatusCode,
    status: &'static str,
    reason: &'static str,
    message: String,
}

impl VbError {
    fn new(http: StatusCode, status: &'static str, reason: &'static str, message: &str) -> Self {
        VbError {
            http,
            status,
            reason,
            message: message.to_owned(),
        }
    }

    /// 401 for a missing or rejected credential.
    pub fn unauthenticated(rejection: Rejection) -> Self {
        match rejection {
            Rejection::Missing => Self::new(
                StatusCode::UNAUTHORIZED,
                "UNAUTHENTICATED",
                "AUTHENTICATION_REQUIRED",
                "No token or access key was supplied.",
            ),
            Rejection::Invalid => Self::new(
                StatusCode::UNAUTHORIZED,
                "UNAUTHENTICATED",
                "INVALID_CREDENTIALS",
                "The supplied token or access key is invalid or expired.",
            ),
        }
    }

    fn conversation_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "CONVERSATION_NOT_FOUND",
            "Conversation ID does not exist or belongs to another customer.",
        )
    }

    fn route_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "ROUTE_NOT_FOUND",
            "The requested HTTP endpoint does not exist.",
        )
    }

    fn invalid_argument(message: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "INVALID_ARGUMENT",
            message,
        )
    }

    fn permission_denied() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            "PERMISSION_DENIED",
            "The authenticated user does not have permission for this resource.",
        )
    }
}

impl IntoResponse for VbError {
    fn into_response(self) -> Response {
        let request_id = format!("req_sandbox_{:08x}", rand::random::<u32>());
        let body = json!({ "error": {
            "status": self.status,
            "reason": self.reason,
            "message": self.message,
            "request_id": request_id,
        }});
        (self.http, Json(body)).into_response()
    }
}

/// REST routes, with the guard in front of everything under `/v1.0`.
pub fn router(shared: Arc<Shared>) -> Router<Arc<Shared>> {
    let api = Router::new()
        .route("/v1.0/customer", get(get_customer))
        .route("/v1.0/agents", get(list_agents))
        .route("/v1.0/conversations", get(list_conversations))
        .route("/v1.0/conversations/setup", post(setup_conversation))
        .route(
            "/v1.0/conversations/{id}",
            get(get_conversation).put(update_conversation),
        )
        .route("/v1.0/conversations/{id}/unassign", post(unassign))
        .route(
            "/v1.0/conversations/{id}/messages",
            get(list_messages).post(send_message),
        )
        .route_layer(middleware::from_fn_with_state(shared, voipbin_guard));
    Router::new()
        .route("/auth/login", post(login))
        .route("/_sandbox/voipbin/incoming", post(admin_incoming))
        .route("/_sandbox/voipbin/cut_websockets", post(admin_cut))
        .route("/_sandbox/voipbin/agent_role", post(admin_agent_role))
        .route("/_sandbox/voipbin/expire_tokens", post(admin_expire_tokens))
        .route("/_sandbox/voipbin/websocket", post(admin_websocket))
        .route("/_sandbox/voipbin/conversations", get(admin_conversations))
        .route("/_sandbox/voipbin/agents", get(admin_agents))
        .route("/_sandbox/voipbin/sent", get(admin_sent))
        .route(
            "/_sandbox/voipbin/conversations/{id}/messages",
            get(admin_messages),
        )
        .merge(api)
}

/// Statistics, latency, rate limit, faults, credentials and the agent role, in that order.
async fn voipbin_guard(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| request.uri().path(), MatchedPath::as_str);
    let route = format!("{} {route}", request.method());
    shared.count_request(&route);
    let latency = lock(&shared.switches).latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if let Some(wait) = lock(&shared.switches).check_rate_limit(Instant::now()) {
        shared.with_stats(|s| s.rate_limited += 1);
        return too_many_requests(wait);
    }
    let fault = lock(&shared.switches).draw_fault(&route);
    if let Some(kind) = fault {
        shared.count_fault(&route, kind);
    }
    let kill = request.extensions().get::<ConnectionKill>().cloned();
    match fault {
        Some(FaultKind::Status500) => return internal_error(),
        Some(FaultKind::Html502) => return html_502(),
        Some(FaultKind::InvalidJson) => return truncated_json(),
        Some(FaultKind::ConnectionReset) => return abort_connection(kill).await,
        Some(FaultKind::ResetAfterProcessing) | None => {}
    }
    let response = admitted(&shared.voipbin, request, next).await;
    if fault == Some(FaultKind::ResetAfterProcessing) {
        return abort_connection(kill).await;
    }
    response
}

async fn admitted(voipbin: &VoipbinState, request: Request, next: Next) -> Response {
    if let Err(rejection) = voipbin.authenticate(request.uri().query(), request.headers()) {
        return VbError::unauthenticated(rejection).into_response();
    }
    if voipbin.agent_role.load(Ordering::Relaxed) {
        return VbError::permission_denied().into_response();
    }
    next.run(request).await
}

fn too_many_requests(wait_seconds: u64) -> Response {
    let body = json!({ "error": {
        "status": "RESOURCE_EXHAUSTED",
        "reason": "RATE_LIMIT_EXCEEDED",
        "message": format!("Rate limit exceeded. Retry after {wait_seconds} seconds."),
        "request_id": "req_sandbox_rate_limit",
        "details": [{ "limited_by": "customer" }],
    }});
    let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(wait_seconds));
    response
}

fn internal_error() -> Response {
    VbError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "INTERNAL",
        "INTERNAL",
        "Unexpected server error (sandbox fault).",
    )
    .into_response()
}

fn truncated_json() -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        "{\"result\":[{\"id\":\"a7bc12b7-f95c-43e6",
    )
        .into_response()
}

#[derive(Deserialize)]
struct LoginBody {
    username: String,
    password: String,
}

/// `POST /auth/login`: `{"username","token"}`, or a bare 400 for bad input or credentials.
async fn login(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let Ok(LoginBody { username, password }) = serde_json::from_slice(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    match shared.voipbin.login(&username, &password) {
        Some(token) => Json(json!({ "username": username, "token": token })).into_response(),
        None => StatusCode::BAD_REQUEST.into_response(),
    }
}

#[derive(Deserialize)]
struct PageQuery {
    page_size: Option<String>,
    page_token: Option<String>,
}

/// Page size (default 10, at most 100) and the creation time to list before.
fn page_params(
    query: &PageQuery,
) -> Result<(usize, Option<chrono::DateTime<chrono::Utc>>), VbError> {
    let size = match query.page_size.as_deref().filter(|s| !s.is_empty()) {
        None => DEFAULT_PAGE_SIZE,
        Some(raw) => raw
            .parse::<usize>()
            .map_err(|_| VbError::invalid_argument("page_size must be a number"))?
            .clamp(1, MAX_PAGE_SIZE),
    };
    let before = match query.page_token.as_deref().filter(|t| !t.is_empty()) {
        None => None,
        Some(raw) => Some(
            parse_time(raw)
                .ok_or_else(|| VbError::invalid_argument("page_token is not a timestamp"))?,
        ),
    };
    Ok((size, before))
}

/// `{"result": [...], "next_page_token": ...}`: the token is the last item's `tm_create`.
fn page_body(items: Vec<Value>) -> Json<Value> {
    let token = items
        .last()
        .and_then(|item| item.get("tm_create"))
        .cloned()
        .unwrap_or(Value::String(String::new()));
    Json(json!({ "result": items, "next_page_token": token }))
}

async fn list_conversations(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<PageQuery>,
) -> Result<Json<Value>, VbError> {
    let (size, before) = page_params(&query)?;
    let world = lock(&shared.voipbin.world);
    let mut list: Vec<&VbConversation> = world
        .conversations
        .iter()
        .filter(|c| before.is_none_or(|before| c.created < before))
        .collect();
    list.sort_by_key(|c| std::cmp::Reverse(c.created));
    let items = list
        .into_iter()
        .take(size)
        .map(|c| c.to_json(&world.customer_id))
        .collect();
    Ok(page_body(items))
}

/// `GET /v1.0/agents`: the customer's agents, paged like conversations (newest `tm_create` first).
async fn list_agents(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<PageQuery>,
) -> Result<Json<Value>, VbError> {
    let (size, before) = page_params(&query)?;
    let agent_role = shared.voipbin.agent_role.load(Ordering::Relaxed);
    let world = lock(&shared.voipbin.world);
    let mut list: Vec<_> = world
        .agents
        .iter()
        .filter(|a| before.is_none_or(|before| a.created < before))
        .collect();
    list.sort_by_key(|a| std::cmp::Reverse(a.created));
    let items = list
        .into_iter()
        .take(size)
        .map(|a| a.to_json(&world.customer_id, agent_role))
        .collect();
    Ok(page_body(items))
}

#[derive(Deserialize)]
struct SetupBody {
    reference_type: Option<String>,
}

/// The legacy `POST /v1.0/conversations/setup` `{"reference_type": "line"}`: while
/// `voipbin_legacy_setup` is on, creates a LINE conversation and answers it (legacy shape with the
/// current fields beside); another reference type is 400. Off (today's API), 404.
async fn setup_conversation(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
) -> Result<Json<Value>, VbError> {
    if !shared.voipbin.legacy_setup {
        return Err(VbError::route_not_found());
    }
    let setup: SetupBody = serde_json::from_slice(&body)
        .map_err(|_| VbError::invalid_argument("The request body is not valid JSON."))?;
    match setup.reference_type.as_deref().map(str::trim) {
        Some("line") => Ok(Json(shared.voipbin.setup_line())),
        Some("") | None => Err(VbError::invalid_argument("reference_type is required.")),
        Some(other) => Err(VbError::invalid_argument(&format!(
            "reference_type {other:?} cannot be set up: only \"line\" is supported."
        ))),
    }
}

async fn get_conversation(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, VbError> {
    let world = lock(&shared.voipbin.world);
    let conversation = world
        .conversation(&id)
        .ok_or_else(VbError::conversation_not_found)?;
    Ok(Json(conversation.to_json(&world.customer_id)))
}

#[derive(Deserialize)]
struct UpdateBody {
    owner_id: Option<String>,
}

/// `PUT /v1.0/conversations/{id}` with `owner_id` (the nil UUID unassigns).
async fn update_conversation(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, VbError> {
    let update: UpdateBody = serde_json::from_slice(&body)
        .map_err(|_| VbError::invalid_argument("The request body is not valid JSON."))?;
    let owner = update.owner_id.unwrap_or_default();
    if !owner.is_empty() && !looks_like_uuid(&owner) {
        return Err(VbError::invalid_argument("owner_id is not a valid UUID."));
    }
    shared
        .voipbin
        .set_owner(&id, Some(owner))
        .map(Json)
        .ok_or_else(VbError::conversation_not_found)
}

/// `POST /v1.0/conversations/{id}/unassign` (no body).
async fn unassign(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, VbError> {
    shared
        .voipbin
        .set_owner(&id, None)
        .map(Json)
        .ok_or_else(VbError::conversation_not_found)
}

fn looks_like_uuid(value: &str) -> bool {
    value.len() == 36
        && value.chars().enumerate().all(|(i, c)| {
            matches!(i, 8 | 13 | 18 | 23) == (c == '-') && (c == '-' || c.is_ascii_hexdigit())
        })
}

async fn list_messages(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Json<Value>, VbError> {
    let (size, before) = page_params(&query)?;
    let world = lock(&shared.voipbin.world);
    let conversation = world
        .conversation(&id)
        .ok_or_else(VbError::conversation_not_found)?;
    let items = conversation
        .messages
        .iter()
        .rev()
        .filter(|m| before.is_none_or(|before| m.created < before))
        .take(size)
        .map(|m| conversation.message_json(m, &world.customer_id))
        .collect();
    Ok(page_body(items))
}

#[derive(Deserialize)]
struct SendBody {
    text: Option<String>,
}

/// `POST .../messages` with `{"text": ...}`; `medias` are accepted and dropped.
async fn send_message(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, VbError> {
    let send: SendBody = serde_json::from_slice(&body)
        .map_err(|_| VbError::invalid_argument("The request body is not valid JSON."))?;
    let text = send.text.unwrap_or_default();
    if text.trim().is_empty() {
        return Err(VbError::invalid_argument("text must not be empty."));
    }
    shared
        .voipbin
        .add_message(&id, &text, false)
        .map(Json)
        .ok_or_else(VbError::conversation_not_found)
}

#[derive(Deserialize)]
struct IncomingBody {
    conversation_id: String,
    text: String,
}

/// `POST /_sandbox/voipbin/incoming` `{"conversation_id","text"}` -> `{"message_id"}`.
async fn admin_incoming(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let Ok(incoming) = serde_json::from_slice::<IncomingBody>(&body) else {
        return (StatusCode::BAD_REQUEST, "invalid JSON body").into_response();
    };
    match shared
        .voipbin
        .add_message(&incoming.conversation_id, &incoming.text, true)
    {
        Some(message) => {
            Json(json!({ "status": "ok", "message_id": message["id"] })).into_response()
        }
        None => VbError::conversation_not_found().into_response(),
    }
}

/// `POST /_sandbox/voipbin/cut_websockets`.
async fn admin_cut(State(shared): State<Arc<Shared>>) -> Json<Value> {
    shared.voipbin.cut_websockets();
    Json(json!({ "status": "ok" }))
}

/// `POST /_sandbox/voipbin/expire_tokens`: every JWT handed out so far stops working.
async fn admin_expire_tokens(State(shared): State<Arc<Shared>>) -> Json<Value> {
    shared.voipbin.expire_tokens();
    Json(json!({ "status": "ok" }))
}

#[derive(Deserialize)]
struct WebsocketBody {
    down: bool,
}

/// `POST /_sandbox/voipbin/websocket` `{"down": true}`: cuts every WebSocket and refuses new ones
/// (503) until `{"down": false}`.
async fn admin_websocket(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let Ok(WebsocketBody { down }) = serde_json::from_slice(&body) else {
        return (StatusCode::BAD_REQUEST, "invalid JSON body").into_response();
    };
    shared.voipbin.set_websocket_down(down);
    Json(json!({ "status": "ok" })).into_response()
}

/// `GET /v1.0/customer`: the customer the credentials belong to.
async fn get_customer(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({
        "id": shared.voipbin.customer_id(),
        "name": "Sandbox customer",
        "username": shared.voipbin.username,
    }))
}

#[derive(Deserialize)]
struct AgentRoleBody {
    agent: bool,
}

/// `POST /_sandbox/voipbin/agent_role` `{"agent": true}`: conversation endpoints answer 403.
async fn admin_agent_role(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let Ok(AgentRoleBody { agent }) = serde_json::from_slice(&body) else {
        return (StatusCode::BAD_REQUEST, "invalid JSON body").into_response();
    };
    shared.voipbin.agent_role.store(agent, Ordering::Relaxed);
    Json(json!({ "status": "ok" })).into_response()
}

async fn admin_conversations(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(serde_json::to_value(shared.voipbin.conversations()).unwrap_or(Value::Null))
}

async fn admin_agents(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(serde_json::to_value(shared.voipbin.agents()).unwrap_or(Value::Null))
}

async fn admin_messages(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Json<Value> {
    Json(serde_json::to_value(shared.voipbin.messages(&id)).unwrap_or(Value::Null))
}

async fn admin_sent(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(serde_json::to_value(shared.voipbin.sent_messages()).unwrap_or(Value::Null))
}
