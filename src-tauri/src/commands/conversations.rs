//! Conversation commands: the inbox list and the actions in a thread's header.

use parley_core::provider::ConversationState;
use parley_core::{ConversationSummary, InboxFilter, InboxPage, InboxQuery};
use tauri::State;

use super::{conversation, AppState};
use crate::error::CommandResult;

/// One page of the inbox (most recent activity first) with the size of the whole filtered list.
/// `filter` is `all`, `mine` or `unassigned` (open conversations only), or `archived`; `account` and
/// `company` narrow it to one of them.
#[tauri::command]
pub async fn conversations_page(
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
    Ok(state.parley.inbox_page(&query).await?)
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
