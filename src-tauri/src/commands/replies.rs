//! Saved-reply commands: the replies for an account (or all of them), add, change, remove, and one
//! reply's text filled for a conversation (`{name}` becomes the contact's name).

use parley_core::SavedReply;
use tauri::State;

use super::{conversation, AppState};
use crate::error::CommandResult;

/// The replies usable in `account` (its own and the all-accounts ones), or every reply without one.
#[tauri::command]
pub async fn replies_list(
    state: State<'_, AppState>,
    account: Option<String>,
) -> CommandResult<Vec<SavedReply>> {
    Ok(state.parley.saved_replies(account.as_deref()).await?)
}

/// Saves a new reply for `account`, or for every account without one.
#[tauri::command]
pub async fn replies_add(
    state: State<'_, AppState>,
    title: String,
    text: String,
    account: Option<String>,
) -> CommandResult<SavedReply> {
    Ok(state
        .parley
        .add_saved_reply(&title, &text, account.as_deref())
        .await?)
}

/// Replaces a reply's title, text and account.
#[tauri::command]
pub async fn replies_update(
    state: State<'_, AppState>,
    id: i64,
    title: String,
    text: String,
    account: Option<String>,
) -> CommandResult<SavedReply> {
    Ok(state
        .parley
        .update_saved_reply(id, &title, &text, account.as_deref())
        .await?)
}

/// Deletes a reply.
#[tauri::command]
pub async fn replies_remove(state: State<'_, AppState>, id: i64) -> CommandResult<()> {
    Ok(state.parley.remove_saved_reply(id).await?)
}

/// Reply `reply_id`'s text for conversation `account`/`id`, with `{name}` filled.
#[tauri::command]
pub async fn replies_fill(
    state: State<'_, AppState>,
    account: String,
    id: String,
    reply_id: i64,
) -> CommandResult<String> {
    Ok(state
        .parley
        .fill_saved_reply(reply_id, &conversation(account, id))
        .await?)
}
