//! The response decoders, reachable for the never-panic property tests (`tests/never_panic.rs`),
//! which feed them thousands of mutated bodies without a server. Hidden from the docs: not part of
//! the supported API, and it may change with the client. Each function returns what a call returns
//! for that body: errors scrubbed of `secret` (the token).

use std::time::Duration;

use chrono::{DateTime, Utc};
use parley_http::{ErrorReply, ExchangeError};
use serde::de::DeserializeOwned;

use crate::{envelope, Error, Page};

/// A one-entity success body, `{"<key>": {...}}`.
pub fn entity<T: DeserializeOwned>(body: &[u8], key: &str, secret: &str) -> Result<T, Error> {
    envelope::entity(body, key, secret).map_err(|error| error.redacted(&[secret]))
}

/// A list success body, `{"<key>": [...], "meta": {...}}`, asked for as page `page` of `per_page`.
pub fn page<T: DeserializeOwned>(
    body: &[u8],
    key: &str,
    page: u32,
    per_page: u32,
    secret: &str,
) -> Result<Page<T>, Error> {
    envelope::page(body, key, page, per_page, secret).map_err(|error| error.redacted(&[secret]))
}

/// A success body whose content is not needed (DELETE): fine unless it is an error list.
pub fn acknowledgement(body: &[u8], secret: &str) -> Result<(), Error> {
    envelope::acknowledgement(body, secret).map_err(|error| error.redacted(&[secret]))
}

/// The error a call returns for a non-success answer.
pub fn error(
    status: u16,
    content_type: Option<&str>,
    retry_after: Option<Duration>,
    body: &[u8],
    secret: &str,
) -> Error {
    let reply = ErrorReply {
        status,
        retry_after,
        content_type: content_type.map(str::to_string),
        body: body.to_vec(),
    };
    Error::from_exchange(ExchangeError::Status(reply), &[secret])
}

/// A time field's text, as the models read it (ISO 8601 in several forms, or an epoch).
pub fn time(text: &str) -> Option<DateTime<Utc>> {
    parley_http::timestamp::parse_str(text)
}
