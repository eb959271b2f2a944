//! The core's error type and the closed set of error codes the shells (CLI, app) match on.

use std::time::Duration;

use serde::Serialize;

/// What went wrong, as a stable snake_case code the UI and scripts can match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The server could not be reached.
    Offline,
    /// The server rejected the account's credentials.
    Unauthorized,
    /// The provider wants payment before it answers (Pact's paywall).
    PaymentRequired,
    /// The credentials are valid but may not do this.
    Forbidden,
    /// The server asks us to slow down.
    RateLimited,
    /// The account, conversation, message or entry does not exist.
    NotFound,
    /// The request was refused as invalid (by us or by the server).
    InvalidInput,
    /// The OS keyring is missing or locked.
    KeyringUnavailable,
    /// The server failed (5xx).
    ServerError,
    /// The server answered something we cannot understand; nothing was written.
    InvalidResponse,
    /// The provider does not offer this operation.
    Unsupported,
    /// The local database failed.
    Storage,
    /// A local file could not be read or written.
    Io,
    /// The thing already exists.
    Conflict,
    /// A file is larger than Parley downloads ([`crate::MAX_ATTACHMENT_BYTES`]); trying again
    /// does not help.
    TooLarge,
}

impl ErrorCode {
    /// The code as its snake_case string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Offline => "offline",
            Self::Unauthorized => "unauthorized",
            Self::PaymentRequired => "payment_required",
            Self::Forbidden => "forbidden",
            Self::RateLimited => "rate_limited",
            Self::NotFound => "not_found",
            Self::InvalidInput => "invalid_input",
            Self::KeyringUnavailable => "keyring_unavailable",
            Self::ServerError => "server_error",
            Self::InvalidResponse => "invalid_response",
            Self::Unsupported => "unsupported",
            Self::Storage => "storage",
            Self::Io => "io",
            Self::Conflict => "conflict",
            Self::TooLarge => "too_large",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure reported by a provider client, already classified. Its message never holds a token.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    /// The class of failure.
    pub code: ErrorCode,
    /// The server's or transport's words, short and token-free.
    pub message: String,
    /// How long the server asked us to wait, when it did.
    pub retry_after: Option<Duration>,
    /// True when a non-idempotent request may have been carried out although we saw an error.
    pub outcome_unknown: bool,
}

impl ProviderError {
    /// A provider error of the given class.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after: None,
            outcome_unknown: false,
        }
    }

    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.code,
            ErrorCode::Offline
                | ErrorCode::RateLimited
                | ErrorCode::ServerError
                | ErrorCode::InvalidResponse
        )
    }
}

/// Every error the core returns.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// A provider call for an account failed.
    #[error("account \"{account}\": {}", describe_provider_error(.source))]
    Provider {
        /// The account's name.
        account: String,
        /// What the provider reported.
        #[source]
        source: ProviderError,
    },
    /// Something the user named does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The user's input cannot be used.
    #[error("{0}")]
    InvalidInput(String),
    /// The thing to create already exists.
    #[error("{0}")]
    Conflict(String),
    /// The OS keyring cannot be used.
    #[error("the OS keyring is not available ({0}); on Linux install and start a Secret Service provider such as gnome-keyring (package gnome-keyring) inside a D-Bus session")]
    KeyringUnavailable(String),
    /// The local database failed.
    #[error("local database error: {0}")]
    Storage(#[from] sqlx::Error),
    /// The database schema could not be brought up to date.
    #[error("cannot update the local database: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A local file operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

fn describe_provider_error(error: &ProviderError) -> String {
    match error.code {
        ErrorCode::Unauthorized => format!(
            "the server rejected the account's credentials ({}); add the account again with a valid token, key or password",
            error.message
        ),
        ErrorCode::Offline => format!("cannot reach the server ({})", error.message),
        _ => error.message.clone(),
    }
}

impl CoreError {
    /// The stable code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Provider { source, .. } => source.code,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::InvalidInput(_) => ErrorCode::InvalidInput,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::KeyringUnavailable(_) => ErrorCode::KeyringUnavailable,
            Self::Storage(_) | Self::Migration(_) => ErrorCode::Storage,
            Self::Io { .. } => ErrorCode::Io,
        }
    }

    /// Whether trying the same thing again later may succeed.
    pub fn retryable(&self) -> bool {
        match self {
            Self::Provider { source, .. } => source.is_retryable(),
            Self::Storage(_) => true,
            _ => false,
        }
    }

    /// Wraps an I/O error with what we were doing.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }

    /// Attaches the account name to a provider error.
    pub fn provider(account: &str, source: ProviderError) -> Self {
        Self::Provider {
            account: account.to_string(),
            source,
        }
    }
}

/// The core's result type.
pub type Result<T, E = CoreError> = std::result::Result<T, E>;
