//! Conversation commands: the inbox list, the actions in a thread's header, and starting a
//! conversation with a new contact (what each account can start, WhatsApp Business templates, the
//! start itself, and a started conversation's server id once the outbox has opened it).

use parley_core::provider::{ConversationState, RemoteTemplate};
use parley_core::{
    ConversationSummary, ConversationView, InboxFilter, InboxPage, InboxQuery, NewConversation,
    StartOption, StartedConversation,
};
use tauri::{AppHandle, State};

use super::{conversation, AppState};
use crate::commands::messages::follow_send;
use crate::error::CommandResult;

/// One page of the inbox (most recent activity first) with the size of the whole filtered list.
/// `filter` is `all`, `mine` or `unassigned` (open conversations only), or `archived`; `account` and
/// `company` narrow it to one of them.
/// The first page served lets the background work begin (see `background`).
#[tauri::command]
pub async fn conversations_page(
    app: AppHandle,
    state: State<'_, AppState>,
    account: Option<String>,
    company: Option<String>,
    filter: String,
    offset: i64,
    limit: i64,
) -> CommandResult<InboxPage> {
    let query = InboxQuery {
        account,
        company,
        filter: InboxFilter::parse(&filter)?,
        offset,
        limit,
    };
    let page = state.parley.inbox_page(&query).await?;
    crate::background::first_page_served(&app);
    Ok(page)
}

/// One conversation as an inbox row.
#[tauri::command]
pub async fn conversations_get(
    state: State<'_, AppState>,
    account: String,
    id: String,
) -> CommandResult<ConversationSummary> {
    Ok(state
        .parley
        .conversation_summary(&conversation(account, id))
        .await?)
}

/// Marks the conversation read (the user opened it).
#[tauri::command]
pub async fn conversations_mark_read(
    state: State<'_, AppState>,
    account: String,
    id: String,
) -> CommandResult<()> {
    Ok(state.parley.mark_read(&conversation(account, id)).await?)
}

/// Marks the conversation unread again (its newest customer message counts as not read).
#[tauri::command]
pub async fn conversations_mark_unread(
    state: State<'_, AppState>,
    account: String,
    id: String,
) -> CommandResult<()> {
    Ok(state.parley.mark_unread(&conversation(account, id)).await?)
}

/// The next unread row after position `after` of the filtered inbox (wrapping to the top), as
/// `{ position, conversation }`, or null when nothing in the list is unread.
#[tauri::command]
pub async fn conversations_next_unread(
    state: State<'_, AppState>,
    account: Option<String>,
    company: Option<String>,
    filter: String,
    after: Option<i64>,
) -> CommandResult<Option<NextUnread>> {
    let query = InboxQuery {
        account,
        company,
        filter: InboxFilter::parse(&filter)?,
        offset: 0,
        limit: 1,
    };
    let next = state.parley.next_unread(&query, after).await?;
    Ok(next.map(|(position, conversation)| NextUnread {
        position,
        conversation,
    }))
}

/// Where the next unread conversation is in the inbox list.
#[derive(serde::Serialize)]
pub struct NextUnread {
    /// Its row in the filtered list.
    pub position: i64,
    /// The row.
    pub conversation: ConversationSummary,
}

/// Other conversations with the same contact (any account or messenger), newest first.
#[tauri::command]
pub async fn conversations_related(
    state: State<'_, AppState>,
    account: String,
    id: String,
) -> CommandResult<Vec<ConversationSummary>> {
    Ok(state
        .parley
        .conversations_with_same_contact(&conversation(account, id))
        .await?)
}

/// Makes the conversation the paced sync's focus, so its thread is read first (the user opened it).
#[tauri::command]
pub async fn conversations_focus(
    state: State<'_, AppState>,
    account: String,
    id: String,
) -> CommandResult<()> {
    Ok(state
        .parley
        .set_focus(Some(&conversation(account, id)))
        .await?)
}

/// Assigns the conversation to a teammate.
#[tauri::command]
pub async fn conversations_assign(
    state: State<'_, AppState>,
    account: String,
    id: String,
    assignee_id: String,
) -> CommandResult<()> {
    Ok(state
        .parley
        .assign(&conversation(account, id), &assignee_id)
        .await?)
}

/// Clears the conversation's assignment (where the provider offers it: see the account's features).
#[tauri::command]
pub async fn conversations_unassign(
    state: State<'_, AppState>,
    account: String,
    id: String,
) -> CommandResult<()> {
    Ok(state.parley.unassign(&conversation(account, id)).await?)
}

/// Replaces the conversation's note.
#[tauri::command]
pub async fn conversations_note(
    state: State<'_, AppState>,
    account: String,
    id: String,
    note: String,
) -> CommandResult<()> {
    Ok(state
        .parley
        .set_note(&conversation(account, id), &note)
        .await?)
}

/// Blocks or unblocks Bitrix openlines for the conversation.
#[tauri::command]
pub async fn conversations_bitrix(
    state: State<'_, AppState>,
    account: String,
    id: String,
    enabled: bool,
) -> CommandResult<()> {
    Ok(state
        .parley
        .set_bitrix_openlines(&conversation(account, id), enabled)
        .await?)
}

/// Archives the conversation, or (`archived` false) reopens it (where the provider offers it: see the
/// account's features).
#[tauri::command]
pub async fn conversations_archive(
    state: State<'_, AppState>,
    account: String,
    id: String,
    archived: bool,
) -> CommandResult<()> {
    let target = if archived {
        ConversationState::Archived
    } else {
        ConversationState::Open
    };
    Ok(state
        .parley
        .set_state(&conversation(account, id), target)
        .await?)
}

/// Marks the conversation replied or unreplied (where the provider offers it: see the account's features).
#[tauri::command]
pub async fn conversations_set_replied(
    state: State<'_, AppState>,
    account: String,
    id: String,
    replied: bool,
) -> CommandResult<()> {
    Ok(state
        .parley
        .set_replied(&conversation(account, id), replied)
        .await?)
}

/// Per account: the companies and messengers a conversation can be started on, or why not.
#[tauri::command]
pub async fn conversations_start_options(
    state: State<'_, AppState>,
) -> CommandResult<Vec<StartOption>> {
    Ok(state.parley.start_options().await?)
}

/// The WhatsApp Business templates of an account's company.
#[tauri::command]
pub async fn conversations_templates(
    state: State<'_, AppState>,
    account: String,
    company_id: String,
) -> CommandResult<Vec<RemoteTemplate>> {
    Ok(state.parley.templates(&account, &company_id).await?)
}

/// Starts a conversation (or opens the contact's existing one) and sends its first message through
/// the outbox at once, as `messages_send` does. The answer's conversation may carry a placeholder id
/// (`new-…`) until the outbox has opened it: see `conversations_resolve`.
#[allow(clippy::too_many_arguments)]
#[tauri::command]
pub async fn conversations_start(
    app: AppHandle,
    state: State<'_, AppState>,
    account: String,
    company_id: Option<String>,
    channel: String,
    phone: Option<String>,
    username: Option<String>,
    text: Option<String>,
    template: Option<String>,
    template_vars: Option<Vec<String>>,
) -> CommandResult<StartedConversation> {
    let new = NewConversation {
        account,
        company_id,
        channel,
        phone,
        username,
        text,
        template,
        template_vars: template_vars.unwrap_or_default(),
    };
    let started = state.parley.start_conversation(new).await?;
    if let Some(outbox_id) = started.outbox_id {
        tauri::async_runtime::spawn(follow_send(app, outbox_id));
    }
    Ok(started)
}

/// The conversation as it is now: a placeholder's real conversation once the outbox has opened it
/// on the server, else the conversation itself.
#[tauri::command]
pub async fn conversations_resolve(
    state: State<'_, AppState>,
    account: String,
    id: String,
) -> CommandResult<ConversationView> {
    Ok(state
        .parley
        .resolve_conversation(&conversation(account, id))
        .await?)
}
