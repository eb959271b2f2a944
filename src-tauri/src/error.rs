//! The one error shape that crosses the IPC edge: `{ code, message, retryable }`.

use parley_core::{logging, CoreError};
use serde::Serialize;

/// What a failed command returns to the UI, which matches on `code`.
#[derive(Debug, Serialize)]
pub struct IpcError {
    /// A closed snake_case set: `offline`, `unauthorized`, `rate_limited`, `not_found`, `invalid_input`,
    /// `keyring_unavailable`, ...
    pub code: &'static str,
    /// A sentence for the user; never holds a token.
    pub message: String,
    /// Whether trying again later may succeed.
    pub retryable: bool,
}

impl From<CoreError> for IpcError {
    /// Also logs the failure at warn: its code and its message [redacted](logging::describe_error)
    /// (no customer text, no file name, no link; tokens never were in it).
    fn from(error: CoreError) -> Self {
        tracing::warn!(
            code = error.code().as_str(),
            retryable = error.retryable(),
            "command failed: {}",
            logging::describe_error(&error)
        );
        Self {
            code: error.code().as_str(),
            message: error.to_string(),
            retryable: error.retryable(),
        }
    }
}

/// The result type of every command.
pub type CommandResult<T> = Result<T, IpcError>;
