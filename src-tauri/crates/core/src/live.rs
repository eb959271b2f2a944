//! Live updates for one VoIPbin account: keeps the event WebSocket open, writes every new or
//! changed message and conversation into the cache (the same upserts as sync, so the search queue
//! and unread state stay right), and reports each change.
//!
//! Order on every (re)connect: open and subscribe first, then catch up over REST (an incremental
//! sync), then read the events that queued up meanwhile. So nothing sent while the connection was
//! down is missed, and duplicates (a frame sent twice, a frame for something the catch-up already
//! cached) are dropped by the event key (id + `tm_update`) and by the cache's own upserts.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use chrono::{DateTime, Utc};
use parley_voipbin::events::{Deduplicator, Event};
use serde::Serialize;

use crate::error::{CoreError, ErrorCode, ProviderError, Result};
use crate::model::{now_millis, Account, MessageView};
use crate::provider::voipbin::{map_conversation, map_error, map_message, VoipbinProvider};
use crate::provider::{RemoteConversation, RemoteMessage};
use crate::store::{MessageWrite, Store};

/// How a lost connection is retried.
#[derive(Debug, Clone)]
pub struct LivePolicy {
    /// The wait before the first reconnect; doubled after every failure.
    pub first_retry: Duration,
    /// The longest wait between two reconnects.
    pub max_retry: Duration,
    /// How long the connection may stay silent before it counts as lost and is reopened (a ping
    /// goes out after half of it), so a half-open connection does not stop live updates unseen.
    pub idle_deadline: Duration,
}

impl Default for LivePolicy {
    fn default() -> Self {
        Self {
            first_retry: Duration::from_millis(500),
            max_retry: Duration::from_secs(30),
            idle_deadline: parley_voipbin::DEFAULT_IDLE_DEADLINE,
        }
    }
}

/// One change the watcher saw, for the shells to show (`kind` in JSON).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LiveChange {
    /// The WebSocket is open and subscribed.
    Connected {
        /// The account's name.
        account: String,
    },
    /// The catch-up after a (re)connect finished.
    CaughtUp {
        /// The account's name.
        account: String,
        /// Messages the catch-up added to the cache.
        new_messages: i64,
    },
    /// The connection was lost or could not be opened; the next try is after `retry_in_ms`.
    Disconnected {
        /// The account's name.
        account: String,
        /// Why, in one line.
        reason: String,
        /// The wait before the next try.
        retry_in_ms: u64,
    },
    /// A message new to the cache (from an event or from a catch-up).
    Message {
        /// `ACCOUNT/ID` of its conversation.
        conversation: String,
        /// The message.
        message: MessageView,
    },
    /// A conversation was created or changed (new activity, assignment).
    Conversation {
        /// `ACCOUNT/ID`.
        conversation: String,
        /// Its title.
        title: Option<String>,
        /// Its newest activity.
        last_activity_at: Option<DateTime<Utc>>,
        /// The assigned agent, `None` when unassigned.
        assignee_id: Option<String>,
    },
}

/// How far back a catch-up after a lost connection looks for messages to report.
const CATCH_UP_SLACK_MS: i64 = 60_000;
/// How many reported message ids are remembered to report each message once.
const REPORTED_CAPACITY: usize = 4096;

/// What the watcher keeps across connections.
struct Watcher<'a> {
    store: &'a Store,
    provider: &'a VoipbinProvider,
    account: &'a Account,
    dedup: Deduplicator,
    reported: Reported,
    /// Catch-ups report cached messages written since then.
    report_since: i64,
    /// The synthetic company's local id.
    company_id: Option<i64>,
}

/// Runs until dropped, or until a failure that retrying cannot fix.
pub(crate) async fn watch(
    store: &Store,
    provider: &VoipbinProvider,
    account: &Account,
    policy: &LivePolicy,
    on_change: &mut (dyn FnMut(LiveChange) + Send),
) -> Result<()> {
    let mut watcher = Watcher {
        store,
        provider,
        account,
        dedup: Deduplicator::default(),
        reported: Reported::default(),
        report_since: now_millis(),
        company_id: None,
    };
    let mut failures = 0u32;
    loop {
        let reason = match watcher
            .session(policy.idle_deadline, &mut failures, on_change)
            .await
        {
            Ok(()) => "the server closed the connection".to_string(),
            Err(error) if !error.retryable() && error.code() != ErrorCode::NotFound => {
                return Err(error)
            }
            Err(error) => error.to_string(),
        };
        watcher.report_since = now_millis() - CATCH_UP_SLACK_MS;
        let wait = backoff(failures, policy);
        failures = failures.saturating_add(1);
        tracing::info!(account = %account.name, reason = %crate::logging::redact(&reason), wait_ms = wait.as_millis() as u64, "live connection lost");
        on_change(LiveChange::Disconnected {
            account: account.name.clone(),
            reason,
            retry_in_ms: wait.as_millis() as u64,
        });
        tokio::time::sleep(wait).await;
    }
}

impl Watcher<'_> {
    /// One connection: connect, catch up, then apply events until it ends (or stays silent for
    /// `idle_deadline`).
    async fn session(
        &mut self,
        idle_deadline: Duration,
        failures: &mut u32,
        on_change: &mut (dyn FnMut(LiveChange) + Send),
    ) -> Result<()> {
        let customer = self.provider.customer().await.map_err(|e| self.fail(e))?;
        let topics = vec![format!("customer_id:{}:conversation", customer.id)];
        let mut socket = self
            .provider
            .client()
            .connect_events(&topics)
            .await
            .map_err(|e| self.fail(map_error(e)))?;
        socket.set_idle_deadline(idle_deadline);
        on_change(LiveChange::Connected {
            account: self.account.name.clone(),
        });
        self.catch_up(on_change).await?;
        *failures = 0;
        while let Some(event) = socket.next_event().await {
            let event = event.map_err(|e| self.fail(map_error(e)))?;
            if self.dedup.is_new(&event) {
                self.apply(event, on_change).await?;
            }
        }
        Ok(())
    }

    fn fail(&self, error: ProviderError) -> CoreError {
        CoreError::provider(&self.account.name, error)
    }

    /// An incremental sync, then a report of every message it (or anyone) cached since the
    /// connection was lost that was not reported yet.
    async fn catch_up(&mut self, on_change: &mut (dyn FnMut(LiveChange) + Send)) -> Result<()> {
        let report =
            crate::sync::sync_account(self.store, self.provider, self.account, &mut |_| {}).await?;
        for (conversation, message) in self
            .store
            .messages_since(self.account.id, self.report_since)
            .await?
        {
            self.report_message(&conversation, message, on_change);
        }
        on_change(LiveChange::CaughtUp {
            account: self.account.name.clone(),
            new_messages: report.new_messages,
        });
        Ok(())
    }

    async fn apply(
        &mut self,
        event: Event,
        on_change: &mut (dyn FnMut(LiveChange) + Send),
    ) -> Result<()> {
        match event {
            Event::Message { message, .. } => {
                let Some(conversation_id) = message.conversation_id.clone() else {
                    return Ok(());
                };
                match map_message(&message) {
                    Ok(remote) => self.save_message(&conversation_id, remote, on_change).await,
                    // The catch-up after the next reconnect reads it over REST, or reports why not.
                    Err(error) => {
                        tracing::warn!(code = %error.code, error = %crate::logging::redact(&error.message), "unreadable live message skipped");
                        Ok(())
                    }
                }
            }
            Event::Conversation { conversation, .. } => {
                let remote = map_conversation(&conversation);
                self.save_conversation(&remote).await?;
                on_change(LiveChange::Conversation {
                    conversation: self.reference(&remote.id),
                    title: remote.title,
                    last_activity_at: remote.last_activity_at,
                    assignee_id: remote.assignee_id.filter(|id| !id.is_empty()),
                });
                Ok(())
            }
            Event::Other { .. } => Ok(()),
        }
    }

    async fn save_message(
        &mut self,
        conversation_id: &str,
        message: RemoteMessage,
        on_change: &mut (dyn FnMut(LiveChange) + Send),
    ) -> Result<()> {
        let local_conversation = match self
            .store
            .conversation(&self.account.name, conversation_id)
            .await
        {
            Ok(cached) => cached.id,
            Err(error) if error.code() == ErrorCode::NotFound => {
                self.fetch_conversation(conversation_id).await?
            }
            Err(error) => return Err(error),
        };
        let outcome = self
            .store
            .save_message_page(
                self.account.id,
                local_conversation,
                std::slice::from_ref(&message),
                MessageWrite::TopUp,
            )
            .await?;
        self.store.index_pending_messages().await?;
        if outcome.inserted > 0 {
            let view = MessageView {
                id: Some(message.id.clone()),
                direction: if message.incoming { "in" } else { "out" },
                text: message.text.clone(),
                created_at: message.created_at,
                status: if message.incoming { "received" } else { "sent" }.to_string(),
                attachments: Vec::new(),
                outbox_id: None,
                error: None,
                error_code: None,
                reply_to: None,
                deleted: false,
            };
            self.report_message(conversation_id, view, on_change);
        }
        Ok(())
    }

    /// A conversation the cache does not know yet: read it and store it; returns its local id.
    async fn fetch_conversation(&mut self, conversation_id: &str) -> Result<i64> {
        let conversation = self
            .provider
            .client()
            .conversation(conversation_id)
            .await
            .map_err(|e| self.fail(map_error(e)))?;
        let states = self
            .save_conversation(&map_conversation(&conversation))
            .await?;
        states.first().map(|state| state.id).ok_or_else(|| {
            CoreError::NotFound(format!("conversation {conversation_id} was not stored"))
        })
    }

    async fn save_conversation(
        &mut self,
        conversation: &RemoteConversation,
    ) -> Result<Vec<crate::store::CachedThreadState>> {
        let company_id = self.company_id().await?;
        self.store
            .upsert_conversations(
                self.account.id,
                company_id,
                std::slice::from_ref(conversation),
            )
            .await
    }

    async fn company_id(&mut self) -> Result<i64> {
        if let Some(id) = self.company_id {
            return Ok(id);
        }
        let customer = self.provider.customer().await.map_err(|e| self.fail(e))?;
        let ids = self
            .store
            .upsert_companies(self.account.id, &[customer])
            .await?;
        let id = ids.first().map(|(id, _)| *id).ok_or_else(|| {
            CoreError::NotFound("the account's company was not stored".to_string())
        })?;
        self.company_id = Some(id);
        Ok(id)
    }

    fn report_message(
        &mut self,
        conversation_id: &str,
        message: MessageView,
        on_change: &mut (dyn FnMut(LiveChange) + Send),
    ) {
        let Some(id) = message.id.clone() else {
            return;
        };
        if self.reported.insert(id) {
            on_change(LiveChange::Message {
                conversation: self.reference(conversation_id),
                message,
            });
        }
    }

    fn reference(&self, conversation_id: &str) -> String {
        format!("{}/{conversation_id}", self.account.name)
    }
}

/// Message ids already reported, the oldest forgotten first.
#[derive(Default)]
struct Reported {
    order: VecDeque<String>,
    seen: HashSet<String>,
}

impl Reported {
    /// `true` the first time an id is offered.
    fn insert(&mut self, id: String) -> bool {
        if !self.seen.insert(id.clone()) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > REPORTED_CAPACITY {
            if let Some(oldest) = self.order.pop_front() {
                self.seen.remove(&oldest);
            }
        }
        true
    }
}

/// The shared backoff: `first_retry`, doubled per failure, capped at `max_retry`, half of it random.
fn backoff(failures: u32, policy: &LivePolicy) -> Duration {
    parley_http::retry::backoff(policy.first_retry, policy.max_retry, failures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let policy = LivePolicy::default();
        let first = backoff(0, &policy);
        assert!(first >= Duration::from_millis(250) && first <= Duration::from_millis(500));
        let fourth = backoff(3, &policy);
        assert!(fourth >= Duration::from_secs(2) && fourth <= Duration::from_secs(4));
        for failures in [10, 20, 1000] {
            assert!(backoff(failures, &policy) <= policy.max_retry);
        }
    }

    #[test]
    fn each_message_is_reported_once() {
        let mut reported = Reported::default();
        assert!(reported.insert("m1".into()));
        assert!(!reported.insert("m1".into()));
        assert!(reported.insert("m2".into()));
    }
}
