//! Async HTTP client for the Pact.im private API v1 (`https://api.pact.im/p1/`).
//!
//! The crate is transport only: no storage, no UI. It turns the p1 endpoints into typed calls,
//! tolerates every documented response shape, retries where repeating is safe, and never lets
//! the API token reach a URL, a log line, an error message or a `Debug` dump.
//!
//! ```no_run
//! use futures::StreamExt;
//! use parley_pact_p1::{ApiToken, PactClient, SortDirection};
//!
//! # async fn demo() -> Result<(), parley_pact_p1::Error> {
//! let client = PactClient::builder(ApiToken::new("secret")).build()?;
//! let pages = client.companies_pages(50, SortDirection::Asc, None);
//! futures::pin_mut!(pages);
//! while let Some(page) = pages.next().await {
//!     for company in page?.items {
//!         println!("{} {:?}", company.external_id, company.name);
//!     }
//! }
//! # Ok(())
//! # }
//! ```

mod client;
#[doc(hidden)]
pub mod decode;
mod endpoints;
mod error;
mod models;
mod paging;
mod requests;
mod transport;

pub use client::{PactClient, PactClientBuilder, DEFAULT_BASE_URL};
pub use error::Error;
pub use models::{
    Attachment, Company, Conversation, ConversationRef, DeliveryJob, JobChannel, JobOutcome,
    Message, UploadedAttachment,
};
/// The timestamp parser the models read every time field with (shared with the other clients).
pub use parley_http::timestamp;
pub use parley_http::ApiToken;
pub use requests::{
    AttachmentSource, NewConversation, OutgoingMessage, Page, PageRequest, SortDirection,
    UploadCounter,
};
