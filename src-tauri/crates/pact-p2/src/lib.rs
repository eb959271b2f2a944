//! Async HTTP client for the Pact.im API v2 (`https://api.pact.im/api/p2/`), built on the shared
//! `parley-http` foundation.
//!
//! Transport only: no storage, no UI. Each endpoint is one typed call that
//!
//! - takes its turn from the endpoint's documented rate limit ([`limits`]) in a
//!   [`RequestBudget`](parley_http::RequestBudget) shared by every clone of the client, and honours
//!   a 429's wait (`Retry-After`, or "Please wait for N seconds" in the error detail);
//! - repeats transient failures only where that is safe: reads, the conversation update and
//!   message deletion on any transient failure; sends, first messages and uploads only after a
//!   429 or a connection that was never made ([`Error::outcome_unknown`] tells the rest);
//! - tolerates drifting payloads (ids and booleans as strings, epoch or ISO times, nulls, unknown
//!   fields), yet refuses a broken envelope as [`Error::InvalidResponse`] instead of guessing;
//! - sends the API token in the `X-Private-Api-Token` header only, never in a URL, a body, a log
//!   line or an error message (echoes from the server are scrubbed).
//!
//! ```no_run
//! use parley_pact_p2::{ApiToken, OutgoingMessage, PactP2Client, MAX_MESSAGES_PER_PAGE};
//!
//! # async fn demo() -> Result<(), parley_pact_p2::Error> {
//! let client = PactP2Client::builder(ApiToken::new("secret")).build()?;
//! let company_id = 52204;
//! let mut page_number = 1;
//! loop {
//!     let page = client.conversations(company_id, page_number, 50, None).await?;
//!     for conversation in &page.items {
//!         let messages = client
//!             .messages(company_id, conversation.id, 1, MAX_MESSAGES_PER_PAGE)
//!             .await?;
//!         println!("{:?}: {} messages", conversation.sender_name, messages.items.len());
//!     }
//!     if page.is_last {
//!         break;
//!     }
//!     page_number += 1;
//! }
//! let reply = OutgoingMessage {
//!     text: Some("Hello!".into()),
//!     ..OutgoingMessage::default()
//! };
//! let sent = client.send_message(company_id, 18642847, &reply).await?;
//! println!("sent message {} ({:?})", sent.id, sent.status);
//! # Ok(())
//! # }
//! ```

mod client;
#[doc(hidden)]
pub mod decode;
mod endpoints;
mod envelope;
mod error;
pub mod limits;
mod models;
mod requests;

pub use client::{PactP2Client, PactP2ClientBuilder, DEFAULT_BASE_URL};
pub use endpoints::{MAX_CONVERSATIONS_PER_PAGE, MAX_MESSAGES_PER_PAGE};
pub use error::{Error, ErrorItem};
pub use models::{Attachment, Conversation, Message, Page, WabaTemplate};
pub use parley_http::ApiToken;
pub use requests::{
    AttachmentSource, ConversationUpdate, FirstMessage, OperationalState, OutgoingMessage,
    RepliedState,
};
