//! The paced sync, for providers with hard rate limits and offset paging (Pact p2): scheduled for
//! the limits instead of against them.
//!
//! One loop per account takes the next piece of work by priority whenever the provider's
//! message-list budget has a slot, and reads page 1 of every company's conversation list whenever
//! its own (smaller) budget has one, so new activity is noticed while old history still downloads:
//!
//! 1. the conversation the agent has open ([`Focus`]);
//! 2. threads with new activity (their newest page);
//! 3. the first page of threads never read, newest conversations first (for most threads that is
//!    the whole history);
//! 4. the rest of long histories, page by page, for as long as the limits need.
//!
//! Conversation listings stop at the first conversation whose activity the cache already has (the
//! list is sorted by activity). Offset pages shift while customers write: a conversation that moves
//! to the top is changed, so the next listing finds it; one that shifts down is read twice, which an
//! upsert makes harmless; a thread page that shares no message with the cache makes the reader step
//! back a page, so a shift never loses a message.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::error::{CoreError, ErrorCode, ProviderError, Result};
use crate::model::{now_millis, Account, SyncProgress, SyncReport};
use crate::provider::pact::{cursor_of_page, page_of_cursor};
use crate::provider::{BudgetKind, PacedSource, Provider, RemoteMessage};
use crate::store::{CachedThreadState, MessageWrite, Store};
use crate::sync::visible_companies;

/// How long after a thread's last activity its newest messages count as settled (as in the other
/// sync: activity stamps in whole seconds, a server clock a little behind).
const ACTIVITY_SETTLE_MS: i64 = 5_000;
/// How many pages a thread reader steps back, at most, to find the overlap with the cache.
const MAX_STEPS_BACK: u32 = 3;
/// The full-text index catches up after this many thread pages (and at the end).
const INDEX_EVERY_PAGES: usize = 50;

/// The conversation the agent is looking at, shared with the shells: its thread goes first.
#[derive(Debug, Clone, Default)]
pub struct Focus(Arc<Mutex<Option<i64>>>);

impl Focus {
    /// Sets (or clears) the focused conversation by local id.
    pub fn set(&self, conversation_id: Option<i64>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = conversation_id;
    }

    fn get(&self) -> Option<i64> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What a thread needs next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// New activity on a thread read before: its newest page, from `page`.
    TopUp { page: u32, steps_back: u32 },
    /// Never read: page 1.
    First,
    /// The rest of a long history, from `page`.
    Backfill { page: u32 },
}

#[derive(Debug, Clone)]
struct ThreadJob {
    company_id: String,
    state: CachedThreadState,
    need: Need,
}

/// The queue of thread work, in priority order within each class.
#[derive(Default)]
struct Queue {
    top_ups: VecDeque<ThreadJob>,
    firsts: VecDeque<ThreadJob>,
    backfills: VecDeque<ThreadJob>,
    queued: HashSet<i64>,
}

impl Queue {
    fn push(&mut self, job: ThreadJob) {
        if !self.queued.insert(job.state.id) {
            // Already waiting (new activity on it is `promote`'s business).
            return;
        }
        match job.need {
            Need::TopUp { .. } => self.top_ups.push_back(job),
            Need::First => self.firsts.push_back(job),
            Need::Backfill { .. } => self.backfills.push_back(job),
        }
    }

    /// Requeues a thread that has more to read, at the front of its class.
    fn push_front(&mut self, job: ThreadJob) {
        self.queued.insert(job.state.id);
        match job.need {
            Need::TopUp { .. } => self.top_ups.push_front(job),
            Need::First => self.firsts.push_front(job),
            Need::Backfill { .. } => self.backfills.push_front(job),
        }
    }

    /// Moves a waiting thread into the class of new activity with the state of the newest listing
    /// (it keeps what it needs).
    fn promote(&mut self, fresh: ThreadJob) {
        let id = fresh.state.id;
        let waiting = [&mut self.top_ups, &mut self.firsts, &mut self.backfills]
            .into_iter()
            .find_map(|class| {
                let at = class.iter().position(|job| job.state.id == id)?;
                class.remove(at)
            });
        if let Some(waiting) = waiting {
            self.top_ups.push_back(ThreadJob {
                state: fresh.state,
                ..waiting
            });
        }
    }

    /// The next job: the focused thread, then new activity, then (when `backlog` allows) first
    /// reads and backfill.
    fn pop(&mut self, focus: Option<i64>, backlog: bool) -> Option<ThreadJob> {
        let focused = focus.and_then(|id| {
            [&mut self.top_ups, &mut self.firsts, &mut self.backfills]
                .into_iter()
                .find_map(|class| {
                    let at = class.iter().position(|job| job.state.id == id)?;
                    class.remove(at)
                })
        });
        let job = focused.or_else(|| self.top_ups.pop_front()).or_else(|| {
            if backlog {
                self.firsts
                    .pop_front()
                    .or_else(|| self.backfills.pop_front())
            } else {
                None
            }
        })?;
        self.queued.remove(&job.state.id);
        Some(job)
    }

    fn len(&self) -> usize {
        self.top_ups.len() + self.firsts.len() + self.backfills.len()
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Backlog reads taken at once when a sync starts. A window's worth at once would leave the
/// window's slots bunched: they free all together a window later and the backlog takes them, so
/// every window would open with a burst and then a hole, and a customer's message arriving in the
/// hole would wait for the next window. Spread evenly from the start, a slot frees every sustained
/// interval and new activity gets the next one.
const INITIAL_BACKLOG_BURST: f64 = 2.0;

/// The pace of the backlog (first reads and backfill): a full window's worth at once, then one
/// read per sustained interval of the thread budget. Without it the backlog would take the whole
/// window in one burst every window, and a customer's new message could wait a whole window for a
/// slot; paced, the window's slots free one at a time and new activity (which does not count
/// here) gets the next one.
struct BacklogPace {
    interval: Duration,
    tokens: f64,
    capacity: f64,
    refilled_at: Instant,
}

impl BacklogPace {
    /// Starts with a couple of reads in hand and never keeps more, so the window fills evenly.
    fn new(interval: Duration) -> Self {
        Self {
            interval,
            tokens: INITIAL_BACKLOG_BURST,
            capacity: 2.0,
            refilled_at: Instant::now(),
        }
    }

    /// Follows the budget's sustained pace, which changes when other clients of the token are
    /// found (or leave): the reads in hand stay, new ones come at the new pace.
    fn set_interval(&mut self, interval: Duration) {
        if interval != self.interval {
            self.refill();
            self.interval = interval;
        }
    }

    fn refill(&mut self) {
        if self.interval.is_zero() {
            self.tokens = self.capacity;
            return;
        }
        let earned = self.refilled_at.elapsed().as_secs_f64() / self.interval.as_secs_f64();
        if self.tokens < self.capacity {
            self.tokens = (self.tokens + earned).min(self.capacity);
        }
        self.refilled_at = Instant::now();
    }

    /// True when a backlog read may start now.
    fn take(&mut self) -> bool {
        self.refill();
        self.tokens >= 1.0
    }

    fn spend(&mut self) {
        self.tokens = (self.tokens - 1.0).max(0.0);
    }

    fn time_to_next(&mut self) -> Duration {
        self.refill();
        self.interval.mul_f64((1.0 - self.tokens).max(0.0))
    }
}

fn job_is_backlog(job: &ThreadJob) -> bool {
    matches!(job.need, Need::First | Need::Backfill { .. })
}

/// Everything one paced sync run works with.
struct Run<'a> {
    store: &'a Store,
    paced: &'a dyn PacedSource,
    account: &'a Account,
    companies: Vec<(i64, String)>,
    /// The company the next look for new activity lists (they take turns).
    next_look: usize,
    queue: Queue,
    progress: SyncProgress,
    new_messages: i64,
    pages_read: usize,
    /// Threads one of whose pages came back unreadable once (it is read again, later in the run).
    broken_once: HashSet<i64>,
    /// A page still unreadable on its second read: the rest of the run goes on, then this is the
    /// sync's error (the next sync reads that part again).
    lasting: Option<CoreError>,
}

/// Brings a paced account's cache up to date; returns when every thread is complete and a last
/// listing shows nothing new. `progress` is called after every listing and every thread page.
pub async fn sync_paced_account(
    store: &Store,
    provider: &dyn Provider,
    paced: &dyn PacedSource,
    account: &Account,
    focus: &Focus,
    progress: &mut (dyn FnMut(SyncProgress) + Send),
) -> Result<SyncReport> {
    let refusals_at_start = paced.refusals();
    tracing::info!(account = %account.name, "paced sync started");
    let companies = visible_companies(provider, account)
        .await
        .map_err(|error| CoreError::provider(&account.name, error))?;
    let companies = store.upsert_companies(account.id, &companies).await?;
    let mut run = Run {
        store,
        paced,
        account,
        companies,
        next_look: 0,
        queue: Queue::default(),
        progress: SyncProgress {
            account: account.name.clone(),
            conversations_done: 0,
            conversations_total: 0,
            messages_fetched: 0,
            history_waiting: 0,
            eta_seconds: None,
            limit_share: None,
        },
        new_messages: 0,
        pages_read: 0,
        broken_once: HashSet::new(),
        lasting: None,
    };
    run.list_all_companies().await?;
    run.report(progress).await;
    let mut last_listing = Instant::now();
    let mut worked_since_listing = false;
    let mut pace = BacklogPace::new(paced.sustained_interval(BudgetKind::MessageList));
    loop {
        // Both paces follow the budget's share of the limits, which moves while other clients of
        // the token come and go.
        let poll_gap = run.poll_gap();
        pace.set_interval(paced.sustained_interval(BudgetKind::MessageList));
        if run.queue.is_empty() {
            if !worked_since_listing {
                break;
            }
            // A last look for activity that came in while we worked.
            run.list_all_companies().await?;
            last_listing = Instant::now();
            worked_since_listing = false;
            continue;
        }
        let messages_free = paced.time_until_free(BudgetKind::MessageList).await;
        if !messages_free.is_zero() {
            // Waiting for the thread budget anyway: look for new activity when it is time.
            let next_look = poll_gap.saturating_sub(last_listing.elapsed());
            if next_look.is_zero()
                && paced
                    .time_until_free(BudgetKind::ConversationList)
                    .await
                    .is_zero()
            {
                run.list_next_company().await?;
                last_listing = Instant::now();
                run.report(progress).await;
                continue;
            }
            let nap = messages_free.min(next_look.max(Duration::from_millis(50)));
            tokio::time::sleep(nap.max(Duration::from_millis(5))).await;
            continue;
        }
        let backlog_free = pace.take();
        let Some(job) = run.queue.pop(focus.get(), backlog_free) else {
            // Only backlog waits, and its pace says not yet.
            tokio::time::sleep(pace.time_to_next().max(Duration::from_millis(5))).await;
            continue;
        };
        if job_is_backlog(&job) {
            pace.spend();
        }
        run.work(job).await?;
        worked_since_listing = true;
        run.report(progress).await;
        if run.pages_read.is_multiple_of(INDEX_EVERY_PAGES) {
            store.index_pending_messages().await?;
        }
    }
    store.index_pending_messages().await?;
    if let Some(error) = run.lasting.take() {
        return Err(error);
    }
    store.mark_first_sync_done(account.id).await?;
    follow_statuses(store, paced, account).await?;
    let (conversations, messages) = store.account_counts(account.id).await?;
    let rate_limited = paced.refusals().saturating_sub(refusals_at_start);
    tracing::info!(account = %account.name, new_messages = run.new_messages, rate_limited, "paced sync finished");
    run.progress.eta_seconds = Some(0);
    progress(run.progress.clone());
    Ok(SyncReport {
        account: account.name.clone(),
        conversations,
        messages,
        new_messages: run.new_messages,
        rate_limited,
    })
}

impl Run<'_> {
    fn fail(&self, error: ProviderError) -> CoreError {
        CoreError::provider(&self.account.name, error)
    }

    /// Lists every company's conversations (all pages the first time, else until the first
    /// unchanged one) and queues the threads that need work; returns how many were queued.
    async fn list_all_companies(&mut self) -> Result<usize> {
        self.list_companies(self.companies.clone()).await
    }

    /// One look for new activity: the next company's listing, in turn, so a look takes one
    /// listing slot and never waits for a second one while thread reads could run.
    async fn list_next_company(&mut self) -> Result<usize> {
        let Some(company) = self
            .companies
            .get(self.next_look % self.companies.len().max(1))
        else {
            return Ok(0);
        };
        let company = company.clone();
        self.next_look = self.next_look.wrapping_add(1);
        self.list_companies(vec![company]).await
    }

    /// Lists these companies and queues the threads that need work; returns how many were queued.
    async fn list_companies(&mut self, companies: Vec<(i64, String)>) -> Result<usize> {
        let mut listed = Vec::new();
        for (local_company_id, company_id) in companies {
            listed.extend(self.list_company(local_company_id, &company_id).await?);
        }
        // Newest activity first across companies, so the first screen fills first.
        listed.sort_by_key(|(job, _)| std::cmp::Reverse(job.state.remote_activity_at));
        let mut queued = 0;
        for (job, moved) in listed {
            if self.queue.queued.contains(&job.state.id) {
                if moved {
                    // New activity on a thread still waiting: it goes with the other new activity,
                    // and its read settles at the new activity (no second read for it).
                    self.queue.promote(job);
                }
            } else {
                queued += 1;
                self.queue.push(job);
            }
        }
        Ok(queued)
    }

    /// Lists one company (all pages the first time, else until the first unchanged conversation):
    /// the threads that need work, each with whether the listing shows its activity moved.
    async fn list_company(
        &mut self,
        local_company_id: i64,
        company_id: &str,
    ) -> Result<Vec<(ThreadJob, bool)>> {
        let full = self
            .store
            .company_listed_at(local_company_id)
            .await?
            .is_none();
        let mut jobs = Vec::new();
        let mut page = 1;
        let mut unreadable = false;
        loop {
            let Some(listed) = self.listing_page(company_id, page).await? else {
                unreadable = true;
                break;
            };
            let ids: Vec<&str> = listed.items.iter().map(|c| c.id.as_str()).collect();
            let cached = self.store.cached_activity(self.account.id, &ids).await?;
            let moved: HashSet<String> = listed
                .items
                .iter()
                .filter(|conversation| {
                    cached.get(&conversation.id)
                        != Some(
                            &conversation
                                .last_activity_at
                                .map(|at| at.timestamp_millis()),
                        )
                })
                .map(|conversation| conversation.id.clone())
                .collect();
            let unchanged_seen = moved.len() < listed.items.len();
            let states = self
                .store
                .upsert_conversations(self.account.id, local_company_id, &listed.items)
                .await?;
            for state in states {
                if let Some(need) = need_of(&state, self.store).await? {
                    let moved = moved.contains(&state.provider_id);
                    let job = ThreadJob {
                        company_id: company_id.to_string(),
                        state,
                        need,
                    };
                    jobs.push((job, moved));
                }
            }
            if listed.is_last || (!full && unchanged_seen) {
                break;
            }
            page += 1;
        }
        // A listing cut short by an unreadable page is read in full again next time.
        if full && !unreadable {
            self.store.mark_company_listed(local_company_id).await?;
        }
        Ok(jobs)
    }

    /// One page of a company's conversation listing, read again once when the answer cannot be
    /// read; `None` when it stays unreadable (kept as the sync's error, the listing stops there).
    async fn listing_page(
        &mut self,
        company_id: &str,
        page: u32,
    ) -> Result<Option<crate::provider::OffsetPage<crate::provider::RemoteConversation>>> {
        for attempt in 1..=2 {
            match self.paced.conversation_page(company_id, page).await {
                Ok(listed) => return Ok(Some(listed)),
                Err(error) if error.code == ErrorCode::InvalidResponse => {
                    let error = self.fail(error);
                    tracing::warn!(company = company_id, page, attempt, error = %error, "a conversation listing page could not be read");
                    if attempt == 2 {
                        self.lasting.get_or_insert(error);
                    }
                }
                Err(error) => return Err(self.fail(error)),
            }
        }
        Ok(None)
    }

    /// Reads one page for the job and requeues the thread if it has more.
    async fn work(&mut self, job: ThreadJob) -> Result<()> {
        let page = match job.need {
            Need::TopUp { page, .. } | Need::Backfill { page } => page,
            Need::First => 1,
        };
        let fetch_started_at = now_millis();
        let listed = match self
            .paced
            .message_page(&job.company_id, &job.state.provider_id, page)
            .await
        {
            Ok(listed) => listed,
            // A conversation deleted on the server meanwhile: skip it, keep the rest.
            Err(error) if error.code == ErrorCode::NotFound => {
                tracing::warn!(conversation = %job.state.provider_id, "conversation vanished during sync");
                return Ok(());
            }
            // One broken answer spoils one page, not the sync: read again after the others; a
            // second one is the sync's error once the rest is done.
            Err(error) if error.code == ErrorCode::InvalidResponse => {
                let error = self.fail(error);
                if self.broken_once.insert(job.state.id) {
                    tracing::warn!(conversation = %job.state.provider_id, error = %error, "a thread's page could not be read; reading it again later");
                    self.queue.push(job);
                } else {
                    tracing::warn!(conversation = %job.state.provider_id, error = %error, "a thread's page could not be read twice; the next sync tries again");
                    self.lasting.get_or_insert(error);
                }
                return Ok(());
            }
            Err(error) => return Err(self.fail(error)),
        };
        self.pages_read += 1;
        if let Need::TopUp { steps_back, .. } = job.need {
            if page > 1 && steps_back < MAX_STEPS_BACK && !self.overlaps(&listed.items).await? {
                // The page shares nothing with the cache: earlier messages may sit before it.
                self.queue.push_front(ThreadJob {
                    need: Need::TopUp {
                        page: page - 1,
                        steps_back: steps_back + 1,
                    },
                    ..job
                });
                return Ok(());
            }
        }
        let mut newest_first: Vec<RemoteMessage> = listed.items;
        newest_first.reverse();
        let complete = listed.is_last;
        let cursor = cursor_of_page(if complete { page } else { page + 1 });
        let outcome = self
            .store
            .save_message_page(
                self.account.id,
                job.state.id,
                &newest_first,
                MessageWrite::Paged { cursor, complete },
            )
            .await?;
        self.new_messages += outcome.inserted as i64;
        if complete {
            // Settled when the server's newest message is the one its activity stamp names (no
            // clock involved), or when that stamp is old enough by ours.
            let newest = newest_first
                .first()
                .map(|m| m.created_at.timestamp_millis());
            let settled = job.state.remote_activity_at.filter(|activity| {
                newest.is_some_and(|newest| newest >= *activity)
                    || fetch_started_at >= activity + ACTIVITY_SETTLE_MS
            });
            self.store.mark_thread_synced(job.state.id, settled).await?;
            self.progress.conversations_done += 1;
        } else {
            let need = match job.need {
                Need::TopUp { .. } => Need::TopUp {
                    page: page + 1,
                    steps_back: MAX_STEPS_BACK,
                },
                _ => Need::Backfill { page: page + 1 },
            };
            self.queue.push_front(ThreadJob { need, ..job });
        }
        Ok(())
    }

    /// True when at least one of the messages is cached already.
    async fn overlaps(&self, messages: &[RemoteMessage]) -> Result<bool> {
        if messages.is_empty() {
            return Ok(false);
        }
        let ids: Vec<&str> = messages.iter().map(|m| m.id.as_str()).collect();
        Ok(self
            .store
            .cached_message_count(self.account.id, &ids)
            .await?
            > 0)
    }

    /// How often to look for new activity (one company's listing a look): at the listing budget's
    /// sustained pace, so looking never uses up the budget a final listing needs.
    fn poll_gap(&self) -> Duration {
        self.paced.sustained_interval(BudgetKind::ConversationList)
    }

    async fn report(&mut self, progress: &mut (dyn FnMut(SyncProgress) + Send)) {
        let waiting = self.queue.len();
        self.progress.conversations_total = self.progress.conversations_done + waiting;
        self.progress.messages_fetched = self.new_messages;
        self.progress.history_waiting = waiting;
        // Each waiting thread needs about one read at the sustained pace (no database round trip
        // here: this runs after every page).
        let pace = self.paced.sustained_interval(BudgetKind::MessageList);
        let remaining = pace.saturating_mul(u32::try_from(waiting).unwrap_or(u32::MAX));
        self.progress.eta_seconds = Some(remaining.as_secs());
        self.progress.limit_share = self.paced.limit_share();
        progress(self.progress.clone());
    }
}

/// How far back sent messages are followed until the customer read them.
const STATUS_FOLLOW_MS: i64 = 24 * 60 * 60 * 1000;
/// At most this many status reads per sync (their own budget: p2's "get message", 20 a minute).
const STATUS_FOLLOW_MAX: i64 = 10;

/// Reads the newest sent messages not yet read by the customer (or failed) one by one, on the
/// message-read budget the thread reads do not use, so "delivered" becomes "read" in the thread
/// without reading the thread again.
async fn follow_statuses(store: &Store, paced: &dyn PacedSource, account: &Account) -> Result<()> {
    let since = now_millis() - STATUS_FOLLOW_MS;
    for (conversation_id, company, conversation, message_id) in store
        .unread_outgoing(account.id, since, STATUS_FOLLOW_MAX)
        .await?
    {
        if !paced
            .time_until_free(BudgetKind::MessageRead)
            .await
            .is_zero()
        {
            break;
        }
        match paced.message(&company, &conversation, &message_id).await {
            Ok(message) => {
                store
                    .save_message_page(account.id, conversation_id, &[message], MessageWrite::TopUp)
                    .await?;
            }
            Err(error) => {
                tracing::info!(code = %error.code, error = %crate::logging::redact(&error.message), message = %message_id, "status follow-up skipped");
                break;
            }
        }
    }
    Ok(())
}

/// What a listed thread needs, if anything.
async fn need_of(state: &CachedThreadState, store: &Store) -> Result<Option<Need>> {
    if !state.needs_sync() {
        return Ok(None);
    }
    if state.history_complete
        && same_second_stamp(state.synced_activity_at, state.remote_activity_at)
    {
        // The same activity written in whole seconds by one API and with milliseconds by the other
        // (p1 epochs, p2 ISO times): nothing new. Adopt the finer stamp.
        store
            .mark_thread_synced(state.id, state.remote_activity_at)
            .await?;
        return Ok(None);
    }
    let page = page_of_cursor(state.backfill_cursor.as_deref());
    Ok(Some(match (state.history_complete, page) {
        (true, Some(page)) => Need::TopUp {
            page,
            steps_back: 0,
        },
        (true, None) => {
            // History cached by another API (a p1 account switched to p2): start near its end.
            let cached = store.thread_message_count(state.id).await?;
            let per_page = i64::from(parley_pact_p2::MAX_MESSAGES_PER_PAGE);
            Need::TopUp {
                page: u32::try_from(cached / per_page + 1).unwrap_or(1),
                steps_back: 0,
            }
        }
        (false, Some(page)) if page > 1 => Need::Backfill { page },
        (false, _) => Need::First,
    }))
}

/// True when two activity stamps name the same second and one of them has no milliseconds.
fn same_second_stamp(synced: Option<i64>, remote: Option<i64>) -> bool {
    match (synced, remote) {
        (Some(synced), Some(remote)) => {
            synced.div_euclid(1000) == remote.div_euclid(1000)
                && (synced.rem_euclid(1000) == 0 || remote.rem_euclid(1000) == 0)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: i64, need: Need) -> ThreadJob {
        ThreadJob {
            company_id: "1".into(),
            state: CachedThreadState {
                id,
                provider_id: id.to_string(),
                remote_activity_at: None,
                synced_activity_at: None,
                history_complete: false,
                backfill_cursor: None,
            },
            need,
        }
    }

    #[test]
    fn whole_second_stamps_match_their_millisecond_twins() {
        assert!(same_second_stamp(Some(1_000), Some(1_575)));
        assert!(same_second_stamp(Some(1_575), Some(1_000)));
        assert!(!same_second_stamp(Some(1_100), Some(1_575)));
        assert!(!same_second_stamp(Some(1_000), Some(2_000)));
        assert!(!same_second_stamp(None, Some(2_000)));
    }

    #[test]
    fn the_queue_serves_focus_then_activity_then_first_pages_then_backfill() {
        let mut queue = Queue::default();
        queue.push(job(1, Need::Backfill { page: 2 }));
        queue.push(job(2, Need::First));
        queue.push(job(3, Need::First));
        queue.push(job(
            4,
            Need::TopUp {
                page: 1,
                steps_back: 0,
            },
        ));
        queue.push(job(3, Need::First));
        assert_eq!(queue.len(), 4);
        assert_eq!(queue.pop(Some(1), true).unwrap().state.id, 1);
        queue.promote(job(3, Need::First));
        let next = |queue: &mut Queue, backlog| queue.pop(None, backlog).map(|j| j.state.id);
        assert_eq!(next(&mut queue, false), Some(4));
        assert_eq!(
            next(&mut queue, false),
            Some(3),
            "new activity on a waiting thread moves it up"
        );
        assert_eq!(
            next(&mut queue, false),
            None,
            "the backlog waits for its pace"
        );
        assert_eq!(next(&mut queue, true), Some(2));
        assert_eq!(next(&mut queue, true), None);
    }
}
