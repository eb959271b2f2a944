//! The response decoders, reachable for the never-panic property tests (`tests/never_panic.rs`),
//! which feed them thousands of mutated bodies without a server. Hidden from the docs: not part of
//! the supported API, and it may change with the client.

use std::time::Duration;

use parley_http::{ErrorReply, ExchangeError};
use serde::de::DeserializeOwned;

use crate::endpoints::{entity_from_data, page_from_data};
use crate::transport::{acknowledgement_of, data_of};
use crate::{Error, Page};

/// A list body as the list endpoints read it: the envelope's `data`, then `data.<key>[]` and
/// `data.next_page`.
pub fn page<T: DeserializeOwned>(body: &[u8], key: &str) -> Result<Page<T>, Error> {
    page_from_data(data_of(body)?, key)
}

/// A one-object body as the other endpoints read it: the envelope's `data`, unwrapped from the
/// first of `wrapper_keys` that holds an object.
pub fn entity<T: DeserializeOwned>(body: &[u8], wrapper_keys: &[&str]) -> Result<T, Error> {
    entity_from_data(data_of(body)?, wrapper_keys)
}

/// A data-less acknowledgement (`{"status":"updated"}`, or an empty body).
pub fn acknowledgement(body: &[u8]) -> Result<(), Error> {
    acknowledgement_of(body)
}

/// The error a call returns for a non-success answer, with `secret` (the token) scrubbed.
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
