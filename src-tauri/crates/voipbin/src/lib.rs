//! Async client for the VoIPbin conversation API (`https://api.voipbin.net/v1.0/`), plus pure
//! parsing of its WebSocket frames.
//!
//! Transport only: no storage, no UI. Credentials are an access key (sent only as `?accesskey=`) or
//! a username and password (exchanged at `/auth/login` for a JWT sent as `Authorization: Bearer`,
//! renewed before expiry and once on a 401). Both the legacy and today's object shapes are read;
//! requests are paced under the documented ~16.7 req/s by a shared request budget; secrets never reach logs, errors or `Debug`.
//!
//! ```no_run
//! use futures::StreamExt;
//! use parley_voipbin::{Credentials, VoipbinClient};
//!
//! # async fn demo() -> Result<(), parley_voipbin::Error> {
//! let client = VoipbinClient::builder(Credentials::access_key("vb_key")).build()?;
//! let pages = client.conversation_pages(100);
//! futures::pin_mut!(pages);
//! while let Some(page) = pages.next().await {
//!     for conversation in page?.items {
//!         println!("{} {} {}", conversation.id(), conversation.channel().as_str(), conversation.title());
//!     }
//! }
//! # Ok(())
//! # }
//! ```

mod agents;
mod client;
#[doc(hidden)]
pub mod decode;
mod error;
pub mod events;
mod jwt;
mod live;
mod models;
mod paging;
mod secret;
pub mod timestamp;
mod transport;

pub use agents::Agent;
pub use client::{VoipbinClient, VoipbinClientBuilder, DEFAULT_ROOT_URL};
pub use error::{Error, ServerMessage, CONVERSATION_ROLE_HINT};
pub use jwt::unsigned_token;
pub use live::{Customer, EventSocket, DEFAULT_IDLE_DEADLINE};
pub use models::{Address, Channel, Conversation, Direction, Message, Page, NIL_UUID};
pub use paging::MAX_PAGE_SIZE;
pub use secret::{Credentials, Secret};
pub use transport::MAX_REQUESTS_PER_SECOND;
