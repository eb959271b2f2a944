//! Teammate commands: an account's teammates by name, reading the provider's list again, and naming a
//! user id ("42 = Olga").

use parley_core::Teammate;
use tauri::State;

use super::AppState;
use crate::error::CommandResult;

/// The account's teammates by name (the provider's list and the agent's own names), then the user
/// ids seen on conversations that nobody named yet.
#[tauri::command]
pub async fn teammates_list(
    state: State<'_, AppState>,
    account: String,
) -> CommandResult<Vec<Teammate>> {
    Ok(state.parley.teammates_with_seen(&account).await?)
}

/// Reads the provider's teammate list again; false where the provider lists none (Pact).
#[tauri::command]
pub async fn teammates_refresh(state: State<'_, AppState>, account: String) -> CommandResult<bool> {
    Ok(state.parley.refresh_teammates(&account).await?)
}

/// Names user `user_id` of the account (`name` empty or absent: forgets the name).
#[tauri::command]
pub async fn teammates_label(
    state: State<'_, AppState>,
    account: String,
    user_id: String,
    name: Option<String>,
) -> CommandResult<()> {
    Ok(state
        .parley
        .label_teammate(&account, &user_id, name.as_deref())
        .await?)
}
