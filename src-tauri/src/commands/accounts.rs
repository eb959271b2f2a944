//! Account commands: list, add (the token goes straight to the keyring; the UI keeps no copy), remove,
//! and the companies of every account with their unread counts.

use parley_core::{Account, CompanySummary, NewAccount, ProviderKind, Secret};
use tauri::State;

use super::AppState;
use crate::error::CommandResult;

/// Every account.
#[tauri::command]
pub async fn accounts_list(state: State<'_, AppState>) -> CommandResult<Vec<Account>> {
    Ok(state.parley.accounts().await?)
}

/// Checks the token with the server, stores it in the keyring and records the account.
#[tauri::command]
pub async fn accounts_add(
    state: State<'_, AppState>,
    provider: String,
    name: String,
    token: String,
    base_url: Option<String>,
) -> CommandResult<Account> {
    let new = NewAccount {
        name,
        provider: ProviderKind::parse(&provider)?,
        base_url: base_url.filter(|url| !url.trim().is_empty()),
        company_ids: Vec::new(),
    };
    Ok(state.parley.add_account(new, Secret::new(token)).await?)
}

/// Removes the account, its keyring entry and its cache.
#[tauri::command]
pub async fn accounts_remove(state: State<'_, AppState>, name: String) -> CommandResult<()> {
    Ok(state.parley.remove_account(&name).await?)
}

/// Every company of every account, with conversation and unread counts.
#[tauri::command]
pub async fn companies_list(state: State<'_, AppState>) -> CommandResult<Vec<CompanySummary>> {
    Ok(state.parley.company_summaries().await?)
}
