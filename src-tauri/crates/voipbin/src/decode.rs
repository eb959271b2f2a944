//! The response decoders, reachable for the never-panic property tests (`tests/never_panic.rs`),
//! which feed them thousands of mutated bodies without a server. Hidden from the docs: not part of
//! the supported API, and it may change with the client. (WebSocket frames and timestamps have
//! public readers already: [`crate::events`], [`crate::timestamp`].)

use std::time::{Duration, SystemTime};

use parley_http::{ErrorReply, ExchangeError};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{error, jwt, paging, Error, Page, ServerMessage};

/// A list body, already read as JSON, as the list calls read it (`result`, `next_page_token`,
/// unreadable items skipped and counted).
pub fn page<T: DeserializeOwned>(body: Value) -> Result<Page<T>, Error> {
    paging::parse_page(body).map(|raw| raw.page)
}

/// When a login token stops working, read from its (unverified) `exp` claim, else `issued_at` plus
/// the default lifetime.
pub fn token_expiry(token: &str, issued_at: SystemTime) -> SystemTime {
    jwt::expiry(token, issued_at)
}

/// The error a call returns for a non-success answer, with the call's `secrets` (credentials,
/// token) scrubbed from its texts.
pub fn error(status: u16, retry_after: Option<Duration>, body: &[u8], secrets: &[&str]) -> Error {
    let reply = ErrorReply {
        status,
        retry_after,
        content_type: None,
        body: body.to_vec(),
    };
    Error::from_exchange(ExchangeError::Status(reply), secrets)
}

/// What an error body says (the `{"error": {...}}` envelope, or a bare `message`).
pub fn server_message(body: &[u8]) -> ServerMessage {
    error::server_message(body)
}
