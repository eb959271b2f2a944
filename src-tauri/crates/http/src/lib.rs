//! The HTTP machinery every Parley API client builds on, so the Pact p1, Pact p2 and VoIPbin clients
//! keep only their own URLs, authentication, envelopes and models:
//!
//! - [`budget`]: request budgets that know an API's documented rate limits (sliding windows per
//!   endpoint), shared by every task of an account; [`budget::RequestBudget`] lets a caller keep the
//!   budget somewhere several processes see it.
//! - [`retry`]: which failures are repeated for which requests, the backoff between attempts, and
//!   the server's own word on how long to wait (`Retry-After`, "Please wait for N seconds").
//! - [`exchange`]: one request sent and its body read with a size cap, a non-success status kept
//!   with its (capped) body, and transport failures described without the URL.
//! - [`failure`]: the HTTP-failure core of the clients' error enums ([`api_error!`]): status
//!   classes, error bodies read, secrets scrubbed, and the code core maps a failure to.
//! - [`lenient`] and [`timestamp`]: tolerant serde helpers for drifting JSON types, and the one
//!   timestamp parser (ISO 8601 in its many forms, epochs in seconds or milliseconds).
//! - [`drive`]: the loop that ties them together for one logical call.
//! - [`settings`]: the settings every client builder shares (user agent, timeouts, retries,
//!   budget), their setters ([`builder_settings!`]), the base-URL check and redirect policy.
//! - [`share`]: the share of a token's limits a client takes when other clients use the same token,
//!   inferred from the server's 429s (AIMD), which a budget applies to every limit.
//! - [`token`]: the redacted API token type the clients take.

pub mod budget;
pub mod drive;
pub mod exchange;
pub mod failure;
pub mod lenient;
pub mod retry;
pub mod settings;
pub mod share;
pub mod timestamp;
pub mod token;

pub use budget::{Bucket, Limit, LocalBudget, RequestBudget};
pub use drive::send_with_retries;
pub use exchange::{
    exchange, exchange_into, BodyLimits, ErrorReply, ExchangeError, StreamError, TransportFailure,
};
pub use failure::{ApiError, FailureCode, StatusClass};
pub use retry::{Classify, FailureKind, Idempotency, RetryPolicy};
pub use settings::ClientSettings;
pub use share::{shared_limit, LimitShare, ShareTuning};
pub use token::ApiToken;
