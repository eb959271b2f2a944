//! Parley's core: accounts, the local cache, sync, the outbox, search and the token store, with no UI
//! dependency. The desktop app and `parley-cli` are thin shells over [`Parley`].

mod budget;
pub mod diagnostics;
mod download;
pub mod error;
mod links;
mod live;
pub mod logging;
pub mod model;
pub mod notifications;
mod outbox;
mod paced_sync;
mod pasted;
pub mod paths;
pub mod provider;
mod replies;
pub mod secrets;
mod start;
pub mod store;
mod sync;
mod teammates;
pub mod ui_state;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use budget::token_fingerprint;
pub use error::{CoreError, ErrorCode, ProviderError, Result};
pub use live::{LiveChange, LivePolicy};
pub use model::*;
pub use notifications::NotificationPreferences;
pub use outbox::OutboxPolicy;
pub use paced_sync::Focus;
pub use secrets::{KeyringStore, MemorySecretStore, Secret, SecretStore};
pub use start::{ChannelChoice, CompanyChoice, NewConversation, StartOption, StartedConversation};
pub use store::{CacheProblem, CacheRecovery};
pub use ui_state::{
    CompanySummary, ConversationSummary, InboxFilter, InboxPage, InboxQuery, UploadProgress,
};
pub use {replies::SavedReply, teammates::Teammate};

use model::now_millis;
use provider::pact::PactProvider;
use provider::pact_p1::PactP1Provider;
use provider::voipbin::VoipbinProvider;
use provider::Provider;
use store::{NewOutboxEntry, NewOutboxFile, Store};

/// A message to queue: its text, files, links and the message it answers.
#[derive(Debug, Clone, Default)]
pub struct Outgoing {
    /// The text, if any.
    pub text: Option<String>,
    /// Files on disk to attach (copied into the data folder when queued).
    pub files: Vec<PathBuf>,
    /// http(s) links the server fetches and attaches itself (`file_url`).
    pub links: Vec<String>,
    /// The provider id of the message this one answers.
    pub reply_to: Option<String>,
}

/// The largest file the outbox accepts, so a mistaken pick of a huge file fails at once.
pub const MAX_ATTACHMENT_BYTES: u64 = 100 * 1024 * 1024;

/// The environment variable that lowers the attachment download cap below
/// [`MAX_ATTACHMENT_BYTES`] to its value in bytes (it never raises it), so a test can show an
/// over-the-cap attachment with a small file: `PARLEY_DOWNLOAD_CAP_BYTES=1048576`.
pub const DOWNLOAD_CAP_ENV: &str = "PARLEY_DOWNLOAD_CAP_BYTES";

/// The core, opened once per process over one data folder.
pub struct Parley {
    data_dir: PathBuf,
    store: Store,
    secrets: Arc<dyn SecretStore>,
    policy: OutboxPolicy,
    providers: Mutex<HashMap<i64, Arc<dyn Provider>>>,
    uploads: outbox::UploadsInFlight,
    focus: Focus,
    recovery: Mutex<Option<CacheRecovery>>,
}

impl Parley {
    /// Opens the data folder (creating it, private to the user) and the cache inside it. A cache
    /// that cannot be used (damaged, truncated, not a database, written by a newer Parley) is moved
    /// aside and a fresh one opened, keeping the accounts where they can still be read: see
    /// [`Parley::recovery`]. A full disk or a read-only data folder is an error that says so.
    pub async fn open(data_dir: &Path, secrets: Arc<dyn SecretStore>) -> Result<Self> {
        create_private_dir(data_dir)?;
        let (store, recovery) =
            Store::open_or_recover(&data_dir.join(store::DATABASE_FILE)).await?;
        Ok(Self {
            data_dir: data_dir.to_path_buf(),
            store,
            secrets,
            policy: OutboxPolicy::default(),
            providers: Mutex::new(HashMap::new()),
            uploads: outbox::UploadsInFlight::default(),
            focus: Focus::default(),
            recovery: Mutex::new(recovery),
        })
    }

    /// The cache this open (`just_now`) or an earlier one moved aside, until a window acknowledged
    /// it ([`Parley::acknowledge_recovery`]): what to tell the user, once.
    pub fn recovery(&self) -> Option<CacheRecovery> {
        self.recovery
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Records that the user has seen the recovery message; [`Parley::recovery`] is `None` from now on,
    /// in this process and the next.
    pub async fn acknowledge_recovery(&self) -> Result<()> {
        self.store.acknowledge_recovery().await?;
        *self
            .recovery
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
        Ok(())
    }

    /// Replaces the outbox timing (tests, benchmarks).
    pub fn with_outbox_policy(mut self, policy: OutboxPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The data folder.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The cache.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Checks the token against the server, stores it in the keyring and records the account.
    pub async fn add_account(&self, new: NewAccount, token: Secret) -> Result<Account> {
        self.add_account_with_username(new, None, token).await
    }

    /// Like [`Parley::add_account`], for providers that sign in with a username and password
    /// (VoIPbin): with `username` the secret is the password, else it is the token or access key.
    pub async fn add_account_with_username(
        &self,
        new: NewAccount,
        username: Option<String>,
        token: Secret,
    ) -> Result<Account> {
        validate_account_name(&new.name)?;
        let username = username.map(|name| name.trim().to_string());
        if token.is_empty() {
            let what = if username.is_some() {
                "password"
            } else {
                "token"
            };
            return Err(CoreError::InvalidInput(format!("the {what} is empty")));
        }
        if username.as_deref() == Some("") {
            return Err(CoreError::InvalidInput("the username is empty".to_string()));
        }
        if username.is_some() && new.provider != ProviderKind::Voipbin {
            return Err(CoreError::InvalidInput(format!(
                "{} accounts sign in with a token, not a username",
                new.provider.as_str()
            )));
        }
        if self.store.account(&new.name).await.is_ok() {
            return Err(CoreError::Conflict(format!(
                "an account named \"{}\" already exists",
                new.name
            )));
        }
        let provider = build_provider(
            &self.store,
            None,
            new.provider,
            username.as_deref(),
            &token,
            new.base_url.as_deref(),
        )
        .map_err(|error| CoreError::provider(&new.name, error))?;
        let companies = provider
            .companies()
            .await
            .map_err(|error| CoreError::provider(&new.name, error))?;
        if let Some(missing) = new
            .company_ids
            .iter()
            .find(|id| !companies.iter().any(|c| &c.id == *id))
        {
            return Err(CoreError::NotFound(format!(
                "company {missing} is not visible to this token (visible: {})",
                companies
                    .iter()
                    .map(|c| c.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let secret_ref = format!("account-{:016x}", rand::random::<u64>());
        self.run_secrets({
            let (key, token) = (secret_ref.clone(), token.clone());
            move |secrets| secrets.set(&key, &token)
        })
        .await?;
        let account = match self
            .store
            .insert_account_with_username(&new, username.as_deref(), &secret_ref)
            .await
        {
            Ok(account) => account,
            Err(error) => {
                let key = secret_ref.clone();
                let _ = self.run_secrets(move |secrets| secrets.delete(&key)).await;
                return Err(error);
            }
        };
        let chosen: Vec<_> = companies
            .into_iter()
            .filter(|company| new.company_ids.is_empty() || new.company_ids.contains(&company.id))
            .collect();
        self.store.upsert_companies(account.id, &chosen).await?;
        Ok(account)
    }

    /// Every account.
    pub async fn accounts(&self) -> Result<Vec<Account>> {
        self.store.accounts().await
    }

    /// Removes the account: its keyring entry, its cached rows and its files.
    pub async fn remove_account(&self, name: &str) -> Result<()> {
        let account = self.store.account(name).await?;
        let key = account.secret_ref.clone();
        self.run_secrets(move |secrets| secrets.delete(&key))
            .await?;
        self.store.delete_account(account.id).await?;
        self.lock_providers().remove(&account.id);
        let files = paths::attachments_dir(&self.data_dir).join(account.id.to_string());
        if files.exists() {
            std::fs::remove_dir_all(&files).map_err(|error| {
                CoreError::io("cannot delete the account's downloaded files", error)
            })?;
        }
        Ok(())
    }

    /// Syncs one account, then works the outbox. `progress` sees the thread count move.
    pub async fn sync(
        &self,
        account: &str,
        progress: &mut (dyn FnMut(SyncProgress) + Send),
    ) -> Result<SyncReport> {
        // A full disk or a read-only data folder is said as such, naming the folder.
        let result = self
            .sync_now(account, progress)
            .await
            .map_err(|error| self.store.explain(error));
        diagnostics::note_sync(&self.data_dir, account, &result);
        result
    }

    async fn sync_now(
        &self,
        account: &str,
        progress: &mut (dyn FnMut(SyncProgress) + Send),
    ) -> Result<SyncReport> {
        let account = self.store.account(account).await?;
        let provider = self.provider(&account).await?;
        let report = match provider.paced() {
            Some(paced) => {
                paced_sync::sync_paced_account(
                    &self.store,
                    provider.as_ref(),
                    paced,
                    &account,
                    &self.focus,
                    progress,
                )
                .await?
            }
            None => sync::sync_account(&self.store, provider.as_ref(), &account, progress).await?,
        };
        self.process_outbox(None).await?;
        self.prune_sent_files().await?;
        Ok(report)
    }

    /// Conversations, most recent activity first.
    pub async fn conversations(
        &self,
        account: Option<&str>,
        limit: Option<i64>,
    ) -> Result<Vec<ConversationView>> {
        if let Some(name) = account {
            self.store.account(name).await?;
        }
        self.store.list_conversations(account, limit).await
    }

    /// The newest `limit` messages of a thread, oldest first, with unsent outbox entries at their place.
    pub async fn messages(
        &self,
        conversation: &ConversationRef,
        limit: Option<i64>,
    ) -> Result<Vec<MessageView>> {
        let cached = self
            .store
            .conversation(&conversation.account, &conversation.id)
            .await?;
        let thread: Vec<MessageView> = self
            .store
            .cached_messages(cached.id, limit)
            .await?
            .into_iter()
            .map(|(_, view)| view)
            .collect();
        let unsent = self.store.unsynced_outbox_messages(cached.id).await?;
        let mut messages = merge_unsent(thread, unsent);
        if let Some(limit) = limit.and_then(|limit| usize::try_from(limit).ok()) {
            let excess = messages.len().saturating_sub(limit);
            messages.drain(..excess);
        }
        Ok(messages)
    }

    /// Writes a message into the outbox (files copied into the data folder first); returns the entry id.
    /// Nothing goes over the network here: see [`Parley::process_outbox`].
    pub async fn queue_message(
        &self,
        conversation: &ConversationRef,
        text: Option<String>,
        files: &[PathBuf],
    ) -> Result<i64> {
        self.queue_reply(conversation, None, text, files).await
    }

    /// Like [`Parley::queue_message`], answering the cached message `reply_to` (its provider id),
    /// which the customer sees quoted.
    pub async fn queue_reply(
        &self,
        conversation: &ConversationRef,
        reply_to: Option<String>,
        text: Option<String>,
        files: &[PathBuf],
    ) -> Result<i64> {
        let message = Outgoing {
            text,
            files: files.to_vec(),
            links: Vec::new(),
            reply_to,
        };
        self.queue_send(conversation, message).await
    }

    /// Writes a message into the outbox: its text, files (copied into the data folder first),
    /// links the server fetches itself, and the message it answers. Returns the entry id. Nothing
    /// goes over the network here: see [`Parley::process_outbox`].
    pub async fn queue_send(
        &self,
        conversation: &ConversationRef,
        message: Outgoing,
    ) -> Result<i64> {
        let text = message.text.filter(|text| !text.trim().is_empty());
        if text.is_none() && message.files.is_empty() && message.links.is_empty() {
            return Err(CoreError::InvalidInput(
                "nothing to send: give a text, a file or a link".to_string(),
            ));
        }
        let cached = self
            .store
            .conversation(&conversation.account, &conversation.id)
            .await?;
        let account = self.store.account_by_id(cached.account_id).await?;
        if let Some(message_id) = &message.reply_to {
            require_feature(&account, &account.features.reply)?;
            self.store
                .message_external_id(cached.id, message_id)
                .await?;
        }
        if !message.files.is_empty() {
            require_feature(&account, &account.features.attachments)?;
        }
        if !message.links.is_empty() {
            require_feature(&account, &account.features.attach_url)?;
        }
        let mut staged = links::stage_links(&message.links)?;
        staged.splice(
            0..0,
            stage_files(&paths::outbox_dir(&self.data_dir), &message.files)
                .map_err(|error| self.store.explain(error))?,
        );
        let entry = NewOutboxEntry {
            account_id: cached.account_id,
            conversation_id: cached.id,
            text,
            files: staged,
            reply_to: message.reply_to,
            start: None,
        };
        match self.store.insert_outbox_entry(&entry).await {
            Ok(id) => Ok(id),
            Err(error) => {
                // Not queued: its staged copies go, what was queued before stays as it was.
                remove_staged(&entry.files);
                Err(self.store.explain(error))
            }
        }
    }

    /// Like [`process_outbox`](Self::process_outbox), and every `every` meanwhile hands `on_uploads`
    /// the uploads on their way (see [`uploads_in_flight`](Self::uploads_in_flight)), for a progress
    /// display.
    pub async fn process_outbox_watching_uploads(
        &self,
        only: Option<i64>,
        every: Duration,
        mut on_uploads: impl FnMut(&[UploadProgress]),
    ) -> Result<()> {
        let work = self.process_outbox(only);
        tokio::pin!(work);
        let mut ticks = tokio::time::interval(every);
        loop {
            tokio::select! {
                result = &mut work => return result,
                _ = ticks.tick() => on_uploads(&self.uploads_in_flight()),
            }
        }
    }

    /// Works every due outbox entry (or only `only`) once. Failures are recorded on the entries.
    pub async fn process_outbox(&self, only: Option<i64>) -> Result<()> {
        self.work_outbox(only)
            .await
            .map_err(|error| self.store.explain(error))
    }

    async fn work_outbox(&self, only: Option<i64>) -> Result<()> {
        let lease = self.policy.lease.as_millis() as i64;
        while let Some(entry) = self.store.claim_due_outbox_entry(only, lease).await? {
            let conversation = self.store.conversation_by_id(entry.conversation_id).await?;
            let account = self.store.account_by_id(entry.account_id).await?;
            let provider = match self.provider(&account).await {
                Ok(provider) => provider,
                Err(error) => {
                    let next = now_millis() + 60_000;
                    let message = error.to_string();
                    self.store
                        .outbox_reschedule(
                            entry.id,
                            next,
                            Some((error.code().as_str(), &message)),
                            true,
                        )
                        .await?;
                    continue;
                }
            };
            outbox::work_entry(
                &self.store,
                provider.as_ref(),
                &conversation,
                entry,
                &self.policy,
                &self.uploads,
            )
            .await?;
        }
        Ok(())
    }

    /// Deletes the staged copies of sent files once the server's message is cached, so the data folder
    /// does not keep a second copy of everything ever sent.
    async fn prune_sent_files(&self) -> Result<()> {
        for (outbox_id, position, path) in self.store.outbox_files_to_prune().await? {
            let path = PathBuf::from(path);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => return Err(CoreError::io("cannot delete a sent file's copy", error)),
            }
            // The entry's folder goes with its last file; a folder still holding files stays.
            if let Some(folder) = path.parent() {
                let _ = std::fs::remove_dir(folder);
            }
            self.store.outbox_file_pruned(outbox_id, position).await?;
        }
        Ok(())
    }

    /// How long until the next outbox entry is due (zero if one is due now), if any waits.
    pub async fn outbox_next_due_in(&self) -> Result<Option<Duration>> {
        Ok(self
            .store
            .outbox_next_due_at()
            .await?
            .map(|at| Duration::from_millis((at - now_millis()).max(0) as u64)))
    }

    /// Outbox entries, newest first.
    pub async fn outbox(&self) -> Result<Vec<OutboxEntryView>> {
        self.store.outbox_views(None).await
    }

    /// One outbox entry.
    pub async fn outbox_entry(&self, id: i64) -> Result<OutboxEntryView> {
        self.store
            .outbox_views(Some(id))
            .await?
            .pop()
            .ok_or_else(|| CoreError::NotFound(format!("there is no outbox entry {id}")))
    }

    /// Makes a failed entry pending again; it is resent by the next outbox run.
    pub async fn retry_outbox_entry(&self, id: i64) -> Result<()> {
        if self.store.outbox_retry(id).await? {
            return Ok(());
        }
        let entry = self.outbox_entry(id).await?;
        Err(CoreError::InvalidInput(format!(
            "outbox entry {id} is {}, only failed entries can be retried",
            entry.status.as_str()
        )))
    }

    /// Marks the conversation read (the user opened it).
    pub async fn mark_read(&self, conversation: &ConversationRef) -> Result<()> {
        let cached = self
            .store
            .conversation(&conversation.account, &conversation.id)
            .await?;
        self.store.mark_conversation_read(cached.id).await
    }

    /// Assigns the conversation to a teammate (on the server, then in the cache).
    pub async fn assign(&self, conversation: &ConversationRef, assignee_id: &str) -> Result<()> {
        let (cached, provider) = self.conversation_and_provider(conversation).await?;
        provider
            .assign(
                &cached.company_provider_id,
                &cached.provider_id,
                assignee_id,
            )
            .await
            .map_err(|error| CoreError::provider(&conversation.account, error))?;
        self.store
            .update_conversation_field(cached.id, store::ConversationField::Assignee(assignee_id))
            .await
    }

    /// Clears the conversation's assignment (on the server, then in the cache).
    pub async fn unassign(&self, conversation: &ConversationRef) -> Result<()> {
        let (cached, provider) = self.conversation_and_provider(conversation).await?;
        provider
            .unassign(&cached.company_provider_id, &cached.provider_id)
            .await
            .map_err(|error| CoreError::provider(&conversation.account, error))?;
        self.store
            .update_conversation_field(cached.id, store::ConversationField::NoAssignee)
            .await
    }

    /// Follows one VoIPbin account's live events until the returned future is dropped (or a
    /// failure that waiting cannot fix, such as rejected credentials). Every change written to the
    /// cache is reported to `on_change`; see [`LiveChange`]. The connection is re-opened with
    /// backoff, and every (re)connect is followed by an incremental sync, so nothing is missed.
    pub async fn watch_live(
        &self,
        account: &str,
        policy: LivePolicy,
        on_change: &mut (dyn FnMut(LiveChange) + Send),
    ) -> Result<()> {
        let account = self.store.account(account).await?;
        if account.provider != ProviderKind::Voipbin {
            return Err(CoreError::provider(
                &account.name,
                ProviderError::new(
                    ErrorCode::Unsupported,
                    "live updates are only offered for VoIPbin accounts",
                ),
            ));
        }
        let secret = self.account_secret(&account).await?;
        let provider = VoipbinProvider::new(
            account.username.as_deref(),
            &secret,
            account.base_url.as_deref(),
        )
        .map_err(|error| CoreError::provider(&account.name, error))?;
        live::watch(&self.store, &provider, &account, &policy, on_change).await
    }

    /// Archives or reopens the conversation (on the server, then in the cache).
    pub async fn set_state(
        &self,
        conversation: &ConversationRef,
        state: provider::ConversationState,
    ) -> Result<()> {
        let (cached, provider) = self.conversation_and_provider(conversation).await?;
        provider
            .set_state(&cached.company_provider_id, &cached.provider_id, state)
            .await
            .map_err(|error| CoreError::provider(&conversation.account, error))?;
        self.store
            .update_conversation_field(cached.id, store::ConversationField::State(state))
            .await
    }

    /// Marks the conversation replied or unreplied (on the server, then in the cache).
    pub async fn set_replied(&self, conversation: &ConversationRef, replied: bool) -> Result<()> {
        let (cached, provider) = self.conversation_and_provider(conversation).await?;
        provider
            .set_replied(&cached.company_provider_id, &cached.provider_id, replied)
            .await
            .map_err(|error| CoreError::provider(&conversation.account, error))?;
        self.store
            .update_conversation_field(cached.id, store::ConversationField::Replied(replied))
            .await
    }

    /// Deletes one of our sent messages in the customer's messenger, where it allows that.
    pub async fn delete_message(
        &self,
        conversation: &ConversationRef,
        message_id: &str,
    ) -> Result<()> {
        let (cached, provider) = self.conversation_and_provider(conversation).await?;
        let direction = match self.store.message_direction(cached.id, message_id).await? {
            Some(direction) => Some(direction),
            // Sent from here and not synced yet: ours.
            None if self
                .store
                .outbox_message_claimed(cached.id, message_id, -1)
                .await? =>
            {
                Some("out".to_string())
            }
            None => None,
        };
        match direction.as_deref() {
            None => {
                return Err(CoreError::NotFound(format!(
                    "message {message_id} is not in the cache of {conversation}"
                )))
            }
            Some("in") => {
                return Err(CoreError::InvalidInput(
                    "only messages the team sent can be deleted".to_string(),
                ))
            }
            Some(_) => {}
        }
        provider
            .delete_message(&cached.company_provider_id, &cached.provider_id, message_id)
            .await
            .map_err(|error| CoreError::provider(&conversation.account, error))?;
        self.store
            .mark_message_deleted(cached.id, message_id)
            .await?;
        // A paced provider's copy says deleted too; reading it caches a message not synced yet.
        if let Some(paced) = provider.paced() {
            match paced
                .message(&cached.company_provider_id, &cached.provider_id, message_id)
                .await
            {
                Ok(message) => {
                    self.store
                        .save_message_page(
                            cached.account_id,
                            cached.id,
                            &[message],
                            store::MessageWrite::TopUp,
                        )
                        .await?;
                }
                Err(error) => {
                    tracing::info!(code = %error.code, error = %logging::redact(&error.message), "deleted message not read back; the next sync brings it")
                }
            }
        }
        Ok(())
    }

    /// Tells the sync which conversation the agent has open: its thread is read first.
    pub async fn set_focus(&self, conversation: Option<&ConversationRef>) -> Result<()> {
        let id = match conversation {
            Some(conversation) => Some(
                self.store
                    .conversation(&conversation.account, &conversation.id)
                    .await?
                    .id,
            ),
            None => None,
        };
        self.focus.set(id);
        Ok(())
    }

    /// Moves a Pact p1 account to Pact's current API (p1 stays in use for companies, notes and
    /// Bitrix). The cache is kept as it is: conversation and message ids are the same objects in
    /// both APIs, so no history is downloaded again.
    pub async fn upgrade_account(&self, name: &str) -> Result<Account> {
        let account = self.store.account(name).await?;
        if account.provider != ProviderKind::PactP1 {
            return Err(CoreError::InvalidInput(format!(
                "account \"{name}\" is a {} account; only pact-p1 accounts move to pact",
                account.provider.as_str()
            )));
        }
        let base_url = match account.base_url.as_deref() {
            Some(url) => Some(
                provider::pact::normalised_root(url)
                    .map_err(|error| CoreError::provider(name, error))?,
            ),
            None => None,
        };
        self.store
            .set_account_provider(account.id, ProviderKind::Pact, base_url.as_deref())
            .await?;
        self.lock_providers().remove(&account.id);
        self.store.account(name).await
    }

    /// Replaces the conversation's note.
    pub async fn set_note(&self, conversation: &ConversationRef, note: &str) -> Result<()> {
        let (cached, provider) = self.conversation_and_provider(conversation).await?;
        provider
            .set_note(&cached.company_provider_id, &cached.provider_id, note)
            .await
            .map_err(|error| CoreError::provider(&conversation.account, error))?;
        self.store
            .update_conversation_field(cached.id, store::ConversationField::Note(note))
            .await
    }

    /// Blocks or unblocks Bitrix openlines for the conversation.
    pub async fn set_bitrix_openlines(
        &self,
        conversation: &ConversationRef,
        enabled: bool,
    ) -> Result<()> {
        let (cached, provider) = self.conversation_and_provider(conversation).await?;
        provider
            .set_bitrix_openlines(&cached.company_provider_id, &cached.provider_id, enabled)
            .await
            .map_err(|error| CoreError::provider(&conversation.account, error))?;
        self.store
            .update_conversation_field(
                cached.id,
                store::ConversationField::BitrixOpenlines(enabled),
            )
            .await
    }

    /// Searches the cache: conversation names, then messages newest first.
    pub async fn search(&self, query: &str, limit: i64) -> Result<Vec<SearchHit>> {
        self.store.search(query, limit).await
    }

    /// Downloads one attachment (numbered from 0) into the data folder, once; returns its path.
    /// The account's token is never sent along: attachment URLs point at file hosts. The file is
    /// streamed under [`MAX_ATTACHMENT_BYTES`] and appears under its name only once whole.
    pub async fn fetch_attachment(
        &self,
        conversation: &ConversationRef,
        message_id: &str,
        position: i64,
    ) -> Result<PathBuf> {
        let cached = self
            .store
            .conversation(&conversation.account, &conversation.id)
            .await?;
        let (attachment_id, url, name, local) = self
            .store
            .attachment_location(cached.id, message_id, position)
            .await?;
        if let Some(path) = local.map(PathBuf::from).filter(|path| path.exists()) {
            return Ok(path);
        }
        let url = url.ok_or_else(|| {
            CoreError::NotFound("the server gave no address for this file".into())
        })?;
        let path = download::attachment_path(
            &paths::attachments_dir(&self.data_dir),
            cached.account_id,
            attachment_id,
            name.as_deref().unwrap_or("file"),
        );
        if let Some(folder) = path.parent() {
            tokio::fs::create_dir_all(folder)
                .await
                .map_err(|error| CoreError::io("cannot create the attachments folder", error))?;
        }
        download::download_to(&conversation.account, &url, &path).await?;
        self.store
            .set_attachment_local_path(attachment_id, &path.to_string_lossy())
            .await?;
        Ok(path)
    }

    async fn conversation_and_provider(
        &self,
        conversation: &ConversationRef,
    ) -> Result<(store::CachedConversation, Arc<dyn Provider>)> {
        let cached = self
            .store
            .conversation(&conversation.account, &conversation.id)
            .await?;
        if cached.pending_start {
            return Err(CoreError::InvalidInput(format!(
                "{conversation} is still being opened on the server; try again once its first message is sent"
            )));
        }
        let account = self.store.account(&conversation.account).await?;
        Ok((cached, self.provider(&account).await?))
    }

    /// The account's provider client, built once with the token from the keyring.
    async fn provider(&self, account: &Account) -> Result<Arc<dyn Provider>> {
        if let Some(provider) = self.lock_providers().get(&account.id) {
            return Ok(provider.clone());
        }
        let token = self.account_secret(account).await?;
        let provider: Arc<dyn Provider> = build_provider(
            &self.store,
            Some(account.id),
            account.provider,
            account.username.as_deref(),
            &token,
            account.base_url.as_deref(),
        )
        .map_err(|error| CoreError::provider(&account.name, error))?
        .into();
        self.lock_providers().insert(account.id, provider.clone());
        Ok(provider)
    }

    /// The account's token, key or password from the keyring.
    async fn account_secret(&self, account: &Account) -> Result<Secret> {
        let key = account.secret_ref.clone();
        self.run_secrets(move |secrets| secrets.get(&key))
            .await?
            .ok_or_else(|| {
                CoreError::provider(
                    &account.name,
                    ProviderError::new(
                        ErrorCode::Unauthorized,
                        "its token is missing from the OS keyring",
                    ),
                )
            })
    }

    fn lock_providers(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Arc<dyn Provider>>> {
        self.providers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs a blocking keyring call off the async runtime.
    async fn run_secrets<T: Send + 'static>(
        &self,
        call: impl FnOnce(&dyn SecretStore) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let secrets = self.secrets.clone();
        tokio::task::spawn_blocking(move || call(secrets.as_ref()))
            .await
            .map_err(|error| {
                CoreError::KeyringUnavailable(format!("keyring call failed: {error}"))
            })?
    }
}

fn build_provider(
    store: &Store,
    account_id: Option<i64>,
    kind: ProviderKind,
    username: Option<&str>,
    token: &Secret,
    base_url: Option<&str>,
) -> Result<Box<dyn Provider>, ProviderError> {
    match kind {
        ProviderKind::Pact => {
            let scale = rate_limit_scale(base_url);
            let budget = Arc::new(
                budget::SharedBudget::new(store.clone(), token, scale).for_account(account_id),
            );
            Ok(Box::new(PactProvider::new(token, base_url, budget, scale)?))
        }
        ProviderKind::PactP1 => Ok(Box::new(PactP1Provider::new(token, base_url)?)),
        ProviderKind::Voipbin => Ok(Box::new(VoipbinProvider::new(username, token, base_url)?)),
    }
}

/// The environment variable that runs the request budget at scaled time (windows divided by it),
/// for our sandbox running its limits at scaled time. Only honoured for a loopback base URL: a real
/// server's limits are never outrun.
pub const RATE_LIMIT_SCALE_ENV: &str = "PARLEY_RATE_LIMIT_SCALE";

fn rate_limit_scale(base_url: Option<&str>) -> f64 {
    let loopback = base_url
        .and_then(|url| reqwest::Url::parse(url).ok())
        .and_then(|url| url.host_str().map(str::to_string))
        .is_some_and(|host| host == "127.0.0.1" || host == "localhost" || host == "[::1]");
    let scale = std::env::var(RATE_LIMIT_SCALE_ENV)
        .ok()
        .and_then(|value| value.trim().parse::<f64>().ok())
        .filter(|scale| scale.is_finite() && *scale >= 1.0);
    match scale {
        Some(scale) if loopback => scale,
        _ => 1.0,
    }
}

/// Refuses what the account's provider does not offer, with its reason.
fn require_feature(account: &Account, feature: &Feature) -> Result<()> {
    match feature.reason {
        Some(reason) => Err(CoreError::provider(
            &account.name,
            ProviderError::new(ErrorCode::Unsupported, reason),
        )),
        None => Ok(()),
    }
}

fn validate_account_name(name: &str) -> Result<()> {
    if name.trim().is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
        return Err(CoreError::InvalidInput(
            "an account name must be 1 to 64 printable characters".to_string(),
        ));
    }
    Ok(())
}

fn create_private_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|error| {
        CoreError::io(
            format!("cannot create the data folder {}", dir.display()),
            error,
        )
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    Ok(())
}

/// Copies the files to send into a fresh folder of the outbox, so the send survives the originals
/// moving, keeping each copy's size and SHA-256 so the outbox sends exactly what was queued. On any
/// failure the folder goes again.
fn stage_files(outbox_dir: &Path, files: &[PathBuf]) -> Result<Vec<NewOutboxFile>> {
    if files.is_empty() {
        return Ok(Vec::new());
    }
    let folder = outbox_dir.join(format!("{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&folder)
        .map_err(|error| CoreError::io("cannot create the outbox folder", error))?;
    let staged: Result<Vec<_>> = files
        .iter()
        .enumerate()
        .map(|(position, source)| stage_file(&folder, position, source))
        .collect();
    if staged.is_err() {
        let _ = std::fs::remove_dir_all(&folder);
    }
    staged
}

fn stage_file(folder: &Path, position: usize, source: &Path) -> Result<NewOutboxFile> {
    let metadata = std::fs::metadata(source)
        .map_err(|error| CoreError::io(format!("cannot read \"{}\"", source.display()), error))?;
    if !metadata.is_file() {
        return Err(CoreError::InvalidInput(format!(
            "\"{}\" is not a file",
            source.display()
        )));
    }
    if metadata.len() > MAX_ATTACHMENT_BYTES {
        return Err(CoreError::InvalidInput(format!(
            "\"{}\" is larger than {} MB",
            source.display(),
            MAX_ATTACHMENT_BYTES / 1024 / 1024
        )));
    }
    let file_name = source.file_name().map_or_else(
        || "file".to_string(),
        |name| name.to_string_lossy().into_owned(),
    );
    let stored = folder.join(format!("{position}-{}", paths::safe_file_name(&file_name)));
    let (size, sha256) = copy_hashing(source, &stored)
        .map_err(|error| CoreError::io(format!("cannot copy \"{}\"", source.display()), error))?;
    Ok(NewOutboxFile {
        mime_type: Some(
            mime_guess::from_path(source)
                .first_or_octet_stream()
                .to_string(),
        ),
        file_name,
        size: size as i64,
        stored_path: stored.to_string_lossy().into_owned(),
        source_url: None,
        sha256: Some(sha256),
    })
}

/// Copies `source` to `target` in one pass, returning the bytes written and their SHA-256 (hex):
/// what is recorded is what the copy holds, even if the original changed meanwhile.
fn copy_hashing(source: &Path, target: &Path) -> std::io::Result<(u64, String)> {
    use sha2::{Digest, Sha256};
    use std::io::{Read, Write};
    let mut input = std::fs::File::open(source)?;
    let mut output = std::fs::File::create(target)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let read = match input.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        hasher.update(&buffer[..read]);
        output.write_all(&buffer[..read])?;
        size += read as u64;
    }
    output.sync_all()?;
    Ok((size, format!("{:x}", hasher.finalize())))
}

/// Removes the staged copies of an entry that was not queued after all (their folder with them).
fn remove_staged(files: &[NewOutboxFile]) {
    for file in files.iter().filter(|file| !file.stored_path.is_empty()) {
        let path = Path::new(&file.stored_path);
        let _ = std::fs::remove_file(path);
        if let Some(folder) = path.parent() {
            let _ = std::fs::remove_dir(folder);
        }
    }
}

/// Fetches a file from an attachment URL (http or https only), with no credentials.
/// Puts the unsent outbox messages (oldest first) into the cached thread at their time, keeping the
/// thread's own order as it is: it is the server's, which timestamps of mixed precision can contradict.
fn merge_unsent(thread: Vec<MessageView>, unsent: Vec<MessageView>) -> Vec<MessageView> {
    let mut merged = Vec::with_capacity(thread.len() + unsent.len());
    let mut thread = thread.into_iter().peekable();
    for message in unsent {
        while let Some(cached) = thread.next_if(|cached| cached.created_at <= message.created_at) {
            merged.push(cached);
        }
        merged.push(message);
    }
    merged.extend(thread);
    merged
}
