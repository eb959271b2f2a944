//! Background work: delivery jobs finishing after `job_delay`, and the optional live mode that
//! brings in customer messages now and then.

use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::Rng;
use tokio::sync::watch;

use crate::content::{self, Locale};
use crate::model::{live_message, Job, JobState};
use crate::state::{lock, Shared};

/// Delivers the job's message now: it joins the conversation and the job turns `delivered`.
/// Returns the updated job, or `None` if it does not exist or was delivered already.
pub fn deliver(shared: &Shared, job_id: i64) -> Option<Job> {
    let mut world = lock(&shared.world);
    let job = world.jobs.get(&job_id)?.clone();
    if job.state != JobState::TryingDeliver {
        return None;
    }
    let sent_index = world
        .sent
        .iter()
        .rposition(|s| s.message_id == job.reserved_message_id)?;
    let sent = world.sent[sent_index].clone();
    let mut message = live_message(
        job.reserved_message_id,
        false,
        sent.text.clone(),
        sent.attachment_ids.clone(),
        world.now(),
    );
    message.job_id = Some(job.id);
    if !world.append_live_message(job.conversation_id, message) {
        return None;
    }
    let delivered_at = world
        .conversation(job.conversation_id)
        .and_then(|c| c.last_message_at);
    world.sent[sent_index].delivered_at = delivered_at;
    let stored = world.jobs.get_mut(&job_id)?;
    stored.state = JobState::Delivered;
    stored.message_id = Some(job.reserved_message_id);
    Some(stored.clone())
}

/// Marks a waiting job as not delivered; its message never joins the conversation.
pub fn refuse(shared: &Shared, job_id: i64) {
    let mut world = lock(&shared.world);
    if let Some(job) = world.jobs.get_mut(&job_id) {
        if job.state == JobState::TryingDeliver {
            job.state = JobState::NotDelivered;
        }
    }
}

/// Finishes the job after the configured delay, in the background: delivered, or refused while the
/// `fail_deliveries` switch is on.
pub fn schedule(shared: Arc<Shared>, job_id: i64) {
    tokio::spawn(async move {
        tokio::time::sleep(shared.job_delay).await;
        if lock(&shared.switches).fail_deliveries {
            refuse(&shared, job_id);
        } else {
            deliver(&shared, job_id);
        }
    });
}

/// Pushes a realistic incoming message into a random conversation every `every`, until
/// `shutdown` changes.
pub async fn run_live_mode(
    shared: Arc<Shared>,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval(every.max(Duration::from_millis(10)));
    ticks.tick().await;
    loop {
        tokio::select! {
            _ = ticks.tick() => {
                push_live_message(&shared);
            }
            _ = shutdown.changed() => return,
        }
    }
}

/// Pushes one realistic incoming message into a random conversation; returns the conversation's
/// and the message's ids, or `None` when there is no conversation.
pub fn push_live_message(shared: &Shared) -> Option<(i64, i64)> {
    let count = lock(&shared.world).conversations.len();
    if count == 0 {
        return None;
    }
    let (conversation_id, text) = {
        let mut guard = lock(&shared.live_rng);
        let rng: &mut StdRng = &mut guard;
        let id = rng.gen_range(1..=count) as i64;
        let locale = Locale::pick(rng);
        (id, content::chat_line(rng, locale, true))
    };
    let message_id = shared.push_incoming(conversation_id, &text)?;
    Some((conversation_id, message_id))
}

/// Pushes one realistic incoming message into a random VoIPbin conversation (announced on the
/// WebSocket like any new message); returns the conversation's and the message's ids, or `None`
/// when there is no VoIPbin conversation.
pub fn push_live_voipbin_message(shared: &Shared) -> Option<(String, String)> {
    let conversations = shared.voipbin.conversations();
    if conversations.is_empty() {
        return None;
    }
    let (conversation_id, text) = {
        let mut guard = lock(&shared.live_rng);
        let rng: &mut StdRng = &mut guard;
        let pick = &conversations[rng.gen_range(0..conversations.len())];
        let locale = Locale::pick(rng);
        (pick.id.clone(), content::chat_line(rng, locale, true))
    };
    let message = shared.voipbin.add_message(&conversation_id, &text, true)?;
    let message_id = message["id"].as_str()?.to_owned();
    Some((conversation_id, message_id))
}
