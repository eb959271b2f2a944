//! Thin commands over the core, named `<domain>_<verb>`, one file per domain. Each one calls the core and
//! maps its error; no logic lives here.

pub mod accounts;
pub mod attachments;
pub mod cache;
pub mod conversations;
pub mod diagnostics;
pub mod drafts;
pub mod files;
pub mod messages;
pub mod outbox;
pub mod replies;
pub mod search;
pub mod settings;
pub mod sync;
pub mod teammates;

use parley_core::{ConversationRef, Parley};

/// What every command can reach: the core, opened once at start-up.
pub struct AppState {
    /// The core over the shared data folder.
    pub parley: Parley,
    /// Held while a sync runs, so the timer and "Sync now" never sync at once.
    pub sync_lock: tokio::sync::Mutex<()>,
}

/// A conversation named by the UI.
fn conversation(account: String, id: String) -> ConversationRef {
    ConversationRef { account, id }
}
