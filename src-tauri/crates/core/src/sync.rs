//! The sync engine: brings one account's cache up to date with the server.
//!
//! A first sync downloads every thread newest-first, committing each page together with the cursor of the
//! next one, so a sync killed at any moment resumes where the last committed page left it. Later syncs
//! list the conversations (cheap), and fetch messages only for threads whose activity moved, newest first,
//! stopping at the first page that holds a message already cached. Every write is an upsert keyed by the
//! provider's ids, so repeating a sync, or a page, changes nothing.

use futures::future::BoxFuture;
use futures::StreamExt;

use crate::error::{CoreError, ErrorCode, ProviderError, Result};
use crate::model::{now_millis, Account, SyncProgress, SyncReport};
use crate::provider::{Provider, RemoteCompany};
use crate::store::{CachedThreadState, MessageWrite, Store};

/// How many threads are downloaded at once.
const THREADS_IN_FLIGHT: usize = 4;

/// How long after a thread's last activity its newest messages count as settled. Pact reports activity
/// in whole seconds: a message written later in the same second as the one a sync read leaves the
/// reported activity unchanged, so a thread read that soon after its activity is read again next time.
/// The margin also covers a server clock a few seconds behind ours.
const ACTIVITY_SETTLE_MS: i64 = 5_000;

/// A thread to bring up to date, with its company.
struct ThreadWork {
    company_id: String,
    state: CachedThreadState,
}

/// Runs a sync of one account; `progress` is called after the listing and after every thread.
pub async fn sync_account(
    store: &Store,
    provider: &dyn Provider,
    account: &Account,
    progress: &mut (dyn FnMut(SyncProgress) + Send),
) -> Result<SyncReport> {
    let fail = |error: ProviderError| CoreError::provider(&account.name, error);
    tracing::info!(account = %account.name, "sync started");
    let companies = visible_companies(provider, account).await.map_err(fail)?;
    let company_ids = store.upsert_companies(account.id, &companies).await?;

    let mut work = Vec::new();
    // A part that stayed unreadable after its retry: the rest of the sync goes on, then this is
    // the sync's error, so the agent hears of it (the next sync reads that part again).
    let mut lasting: Option<CoreError> = None;
    for (local_company_id, company_id) in &company_ids {
        let (found, broken) =
            list_company(store, provider, account, *local_company_id, company_id).await?;
        work.extend(found);
        lasting = lasting.or(broken);
    }

    let mut report_progress = SyncProgress {
        account: account.name.clone(),
        conversations_done: 0,
        conversations_total: work.len(),
        messages_fetched: 0,
        history_waiting: 0,
        eta_seconds: None,
        limit_share: None,
    };
    progress(report_progress.clone());
    let mut new_messages = 0i64;
    // A few threads at once, so one thread's download overlaps another's write. Still gentle on the
    // server: at most THREADS_IN_FLIGHT requests are open at any moment.
    // Futures are lazy: collecting them starts nothing. Collected (and boxed as `Send`) so no closure is
    // held across an await, which lets callers that need a `Send` future (the app's commands) hold a sync.
    let tasks: Vec<BoxFuture<'_, (&ThreadWork, Result<usize>)>> = work
        .iter()
        .map(|thread| -> BoxFuture<'_, (&ThreadWork, Result<usize>)> {
            Box::pin(async move { (thread, sync_thread(store, provider, account, thread).await) })
        })
        .collect();
    let mut results = futures::stream::iter(tasks).buffer_unordered(THREADS_IN_FLIGHT);
    let mut unreadable = Vec::new();
    while let Some((thread, result)) = results.next().await {
        match result {
            Ok(inserted) => new_messages += inserted as i64,
            // One broken answer spoils one thread, not the sync: it is read again below.
            Err(error) if error.code() == ErrorCode::InvalidResponse => unreadable.push(thread),
            Err(error) => skip_vanished(thread, error)?,
        }
        report_progress.conversations_done += 1;
        report_progress.messages_fetched = new_messages;
        progress(report_progress.clone());
    }
    drop(results);
    for thread in unreadable {
        match sync_thread(store, provider, account, thread).await {
            Ok(inserted) => new_messages += inserted as i64,
            // Still broken: left as not synced, so the next sync reads it again.
            Err(error) if error.code() == ErrorCode::InvalidResponse => {
                tracing::warn!(conversation = %thread.state.provider_id, error = %error, "a thread's answer could not be read twice; the next sync tries again");
                lasting = lasting.or(Some(error));
            }
            Err(error) => skip_vanished(thread, error)?,
        }
    }

    store.index_pending_messages().await?;
    if let Some(error) = lasting {
        return Err(error);
    }
    store.mark_first_sync_done(account.id).await?;
    let (conversations, messages) = store.account_counts(account.id).await?;
    tracing::info!(account = %account.name, threads = work.len(), new_messages, "sync finished");
    Ok(SyncReport {
        account: account.name.clone(),
        conversations,
        messages,
        new_messages,
        rate_limited: 0,
    })
}

/// A conversation deleted on the server between listing and reading is skipped (the rest goes on);
/// any other error ends the sync.
fn skip_vanished(thread: &ThreadWork, error: CoreError) -> Result<()> {
    if error.code() == ErrorCode::NotFound {
        tracing::warn!(conversation = %thread.state.provider_id, "conversation vanished during sync");
        return Ok(());
    }
    Err(error)
}

/// Lists one company's conversations into the cache; returns the threads that need a sync. A broken
/// answer (one page the client cannot read) starts the listing again once; broken again, the
/// conversations listed so far are kept, the rest waits for the next sync, and the error comes back
/// beside them.
async fn list_company(
    store: &Store,
    provider: &dyn Provider,
    account: &Account,
    local_company_id: i64,
    company_id: &str,
) -> Result<(Vec<ThreadWork>, Option<CoreError>)> {
    let mut work = Vec::new();
    let mut last_broken = None;
    for attempt in 1..=2 {
        work.clear();
        let mut pages = provider.conversation_pages(company_id);
        let mut broken = None;
        while let Some(page) = pages.next().await {
            let page = match page.map_err(|error| CoreError::provider(&account.name, error)) {
                Ok(page) => page,
                Err(error) if error.code() == ErrorCode::InvalidResponse => {
                    broken = Some(error);
                    break;
                }
                Err(error) => return Err(error),
            };
            let states = store
                .upsert_conversations(account.id, local_company_id, &page.items)
                .await?;
            work.extend(
                states
                    .into_iter()
                    .filter(CachedThreadState::needs_sync)
                    .map(|state| ThreadWork {
                        company_id: company_id.to_string(),
                        state,
                    }),
            );
        }
        match broken {
            None => return Ok((work, None)),
            Some(error) => {
                tracing::warn!(company = company_id, attempt, error = %error, "a conversation listing could not be read");
                last_broken = Some(error);
            }
        }
    }
    Ok((work, last_broken))
}

/// The companies to sync: every company of the token, or the ones chosen when the account was added.
pub(crate) async fn visible_companies(
    provider: &dyn Provider,
    account: &Account,
) -> Result<Vec<RemoteCompany>, ProviderError> {
    let companies = provider.companies().await?;
    if account.companies.is_empty() {
        return Ok(companies);
    }
    Ok(companies
        .into_iter()
        .filter(|company| account.companies.contains(&company.id))
        .collect())
}

/// Brings one thread up to date; returns how many messages were new.
async fn sync_thread(
    store: &Store,
    provider: &dyn Provider,
    account: &Account,
    thread: &ThreadWork,
) -> Result<usize> {
    let state = &thread.state;
    let fetch_started_at = now_millis();
    let mut inserted = 0;
    if state.history_complete {
        inserted += top_up(store, provider, account, thread).await?;
    } else {
        let resumed = state.backfill_cursor.is_some();
        let mut pages = provider.message_pages_newest_first(
            &thread.company_id,
            &state.provider_id,
            state.backfill_cursor.clone(),
        );
        while let Some(page) = pages.next().await {
            let page = page.map_err(|error| CoreError::provider(&account.name, error))?;
            let write = MessageWrite::Backfill {
                next: page.next_cursor.clone(),
            };
            inserted += store
                .save_message_page(account.id, state.id, &page.items, write)
                .await?
                .inserted;
        }
        // The download started in an earlier run: messages may have arrived above where it began.
        if resumed {
            inserted += top_up(store, provider, account, thread).await?;
        }
    }
    let settled = state
        .remote_activity_at
        .filter(|activity| fetch_started_at >= activity + ACTIVITY_SETTLE_MS);
    store.mark_thread_synced(state.id, settled).await?;
    Ok(inserted)
}

/// Fetches the newest messages until a page reaches one already cached.
async fn top_up(
    store: &Store,
    provider: &dyn Provider,
    account: &Account,
    thread: &ThreadWork,
) -> Result<usize> {
    let mut inserted = 0;
    let mut pages =
        provider.message_pages_newest_first(&thread.company_id, &thread.state.provider_id, None);
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| CoreError::provider(&account.name, error))?;
        let outcome = store
            .save_message_page(
                account.id,
                thread.state.id,
                &page.items,
                MessageWrite::TopUp,
            )
            .await?;
        inserted += outcome.inserted;
        if outcome.already_cached > 0 {
            break;
        }
    }
    Ok(inserted)
}
