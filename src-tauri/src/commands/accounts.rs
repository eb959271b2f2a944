//! Account commands: list, add (the token goes straight to the keyring; the UI keeps no copy), remove,
//! and the companies of every account with their unread counts.

use parley_core::{Account, CompanySummary, NewAccount, ProviderKind, Secret};
use tauri::{AppHandle, State};

use super::AppState;
use crate::error::CommandResult;
use crate::live;

/// Every account.
#[tauri::command]
pub async fn accounts_list(state: State<'_, AppState>) -> CommandResult<Vec<Account>> {
    Ok(state.parley.accounts().await?)
}

/// Checks the credentials with the server, stores the secret in the keyring and records the account.
/// `token` is the API token (Pact), or the VoIPbin access key, or with `username` the VoIPbin
/// password. New VoIPbin accounts get their live-update watcher at once.
#[tauri::command]
pub async fn accounts_add(
    app: AppHandle,
    state: State<'_, AppState>,
    provider: String,
    name: String,
    token: String,
    username: Option<String>,
    base_url: Option<String>,
) -> CommandResult<Account> {
    let new = NewAccount {
        name,
        provider: ProviderKind::parse(&provider)?,
        base_url: base_url.filter(|url| !url.trim().is_empty()),
        company_ids: Vec::new(),
    };
    let username = username.filter(|user| !user.trim().is_empty());
    let account = state
        .parley
        .add_account_with_username(new, username, Secret::new(token))
        .await?;
    live::refresh(&app).await;
    Ok(account)
}

/// Removes the account, its keyring entry and its cache.
#[tauri::command]
pub async fn accounts_remove(
    app: AppHandle,
    state: State<'_, AppState>,
    name: String,
) -> CommandResult<()> {
    // Stopped first, so no live write lands while the account's rows go.
    live::stop(&app, &name).await;
    let removed = state.parley.remove_account(&name).await;
    live::refresh(&app).await;
    removed?;
    Ok(())
}

/// Every company of every account, with conversation and unread counts.
#[tauri::command]
pub async fn companies_list(state: State<'_, AppState>) -> CommandResult<Vec<CompanySummary>> {
    Ok(state.parley.company_summaries().await?)
}
