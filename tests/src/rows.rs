//! Typed views of the CLI's `--json` output, holding exactly the fields the contract names
//! (unknown extra fields are ignored; a missing or mistyped contract field fails the parse).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::cli::Cli;

/// Provider ids may be printed as JSON numbers or as decimal strings; both are accepted.
mod id {
    use serde::{Deserialize, Deserializer};
    use serde_json::Value;

    fn parse<E: serde::de::Error>(value: Value) -> Result<Option<i64>, E> {
        match value {
            Value::Null => Ok(None),
            Value::Number(number) => number
                .as_i64()
                .map(Some)
                .ok_or_else(|| E::custom("id out of range")),
            Value::String(text) => text
                .parse()
                .map(Some)
                .map_err(|_| E::custom(format!("id {text:?} is not a number"))),
            other => Err(E::custom(format!(
                "id {other} is neither a number nor a string"
            ))),
        }
    }

    /// A required id.
    pub fn required<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
        parse(Value::deserialize(deserializer)?)?
            .ok_or_else(|| serde::de::Error::custom("id is null"))
    }

    /// A nullable id.
    pub fn optional<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
        parse(Value::deserialize(deserializer)?)
    }

    /// A list of ids.
    pub fn list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<i64>, D::Error> {
        Vec::<Value>::deserialize(deserializer)?
            .into_iter()
            .map(|value| parse(value)?.ok_or_else(|| serde::de::Error::custom("id is null")))
            .collect()
    }
}

/// One entry of `conversations --json`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ConversationRow {
    /// Account name.
    pub account: String,
    /// The provider's conversation id.
    #[serde(deserialize_with = "id::required")]
    pub id: i64,
    /// The provider's company id.
    #[serde(deserialize_with = "id::required")]
    pub company_id: i64,
    /// The conversation's name (or a fallback when the server has none).
    pub title: Option<String>,
    /// The channel (type and/or id), shape left to the CLI.
    pub channel: Value,
    /// Last activity, RFC 3339.
    pub last_message_at: Option<String>,
    /// Assigned operator.
    #[serde(deserialize_with = "id::optional")]
    pub assignee_id: Option<i64>,
    /// The conversation's note.
    pub note: Option<String>,
    /// Whether the Bitrix openlines block is on.
    #[serde(default)]
    pub bitrix_openlines: Option<bool>,
}

/// One attachment of a message in `messages --json`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AttachmentRow {
    /// File name.
    pub name: Option<String>,
    /// Size in bytes.
    pub size: Option<u64>,
    /// MIME type.
    pub mime: Option<String>,
}

/// One entry of `messages --json`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MessageRow {
    /// The provider's message id (may be null for a message still in the outbox).
    #[serde(deserialize_with = "id::optional")]
    pub id: Option<i64>,
    /// `in` or `out`.
    pub direction: String,
    /// Text, null for attachment-only messages.
    pub text: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// Delivery status, shape left to the CLI.
    pub status: Value,
    /// Attachments in server order.
    pub attachments: Vec<AttachmentRow>,
}

/// `sync --json` for one account.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SyncReport {
    /// Account name.
    pub account: String,
    /// Conversations count (total or touched: not asserted).
    pub conversations: Value,
    /// Messages count (total or touched: not asserted).
    pub messages: Value,
    /// Messages this sync added to the cache.
    pub new_messages: i64,
}

/// `send --json`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SendReport {
    /// The local outbox entry.
    pub outbox_id: Value,
    /// `pending`, `sent`, `delivered`, `failed`, ...
    pub status: String,
    /// The provider's message id, when known.
    #[serde(default, deserialize_with = "id::optional")]
    pub message_id: Option<i64>,
}

/// One entry of `search --json`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SearchHit {
    /// Account name.
    pub account: String,
    /// The conversation (`ACCOUNT/ID` or the id).
    pub conversation: Value,
    /// The provider's message id (null when a conversation title matched).
    #[serde(deserialize_with = "id::optional")]
    pub message_id: Option<i64>,
    /// Matching text around the hit.
    pub snippet: String,
    /// RFC 3339.
    pub created_at: Option<String>,
}

/// One entry of `outbox --json`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OutboxRow {
    /// The local outbox id.
    pub id: Value,
    /// The conversation (`ACCOUNT/ID` or the id).
    pub conversation: Value,
    /// Status.
    pub status: String,
    /// The text sent.
    pub text: Option<String>,
    /// How many tries so far.
    pub attempts: i64,
    /// The last failure's words.
    pub last_error: Option<String>,
    /// The provider's message id once known.
    #[serde(deserialize_with = "id::optional")]
    pub message_id: Option<i64>,
}

/// One entry of `account list --json`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AccountRow {
    /// Account name.
    pub name: String,
    /// `pact-p1`.
    pub provider: String,
    /// The API base URL.
    pub base_url: String,
    /// Company ids the account covers.
    #[serde(deserialize_with = "id::list")]
    pub companies: Vec<i64>,
}

/// The provider id in a `conversation` field: accepts `123`, `"123"` and `"ACCOUNT/123"`.
pub fn conversation_id(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.rsplit('/').next()?.parse().ok(),
        _ => None,
    }
}

/// Parses an RFC 3339 timestamp, panicking with context when it is not one.
pub fn rfc3339(text: &str, what: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{what}: {text:?} is not RFC 3339 ({e})"))
        .with_timezone(&Utc)
}

/// `conversations [--account NAME] --limit 1000000 --json`.
pub fn conversations(cli: &Cli, account: Option<&str>) -> Vec<ConversationRow> {
    let mut args = vec!["conversations", "--limit", "1000000", "--json"];
    if let Some(name) = account {
        args.extend(["--account", name]);
    }
    cli.json(&args)
}

/// `messages ACCOUNT/ID --limit 1000000 --json`.
pub fn messages(cli: &Cli, account: &str, conversation: i64) -> Vec<MessageRow> {
    let reference = format!("{account}/{conversation}");
    cli.json(&["messages", &reference, "--limit", "1000000", "--json"])
}

/// `sync --account NAME --json`, asserting success.
pub fn sync(cli: &Cli, account: &str) -> SyncReport {
    let report: SyncReport = cli.json(&["sync", "--account", account, "--json"]);
    assert_eq!(report.account, account, "sync --json names another account");
    report
}

/// `account list --json`.
pub fn accounts(cli: &Cli) -> Vec<AccountRow> {
    cli.json(&["account", "list", "--json"])
}
