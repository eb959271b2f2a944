//! Compares what the CLI shows with what the sandbox holds, and whole cache views with each other,
//! reporting the first differences in words a core author can act on.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use parley_sandbox::{Sandbox, SnapshotMessage};

use crate::cli::Cli;
use crate::rows::{self, AttachmentRow, ConversationRow, MessageRow};

/// How many CLI children to run at once when reading every conversation.
pub const PARALLEL_READERS: usize = 4;

/// What a message should look like in `messages --json`, derived from the sandbox.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedMessage {
    /// Provider id.
    pub id: i64,
    /// `in` or `out`.
    pub direction: &'static str,
    /// Text; empty server text counts as none.
    pub text: Option<String>,
    /// Creation time, whole seconds (the wire may carry only seconds).
    pub created_at_seconds: i64,
    /// Attachments as the CLI should list them.
    pub attachments: Vec<AttachmentRow>,
}

/// The sandbox message as the CLI should show it.
pub fn expected_message(message: &SnapshotMessage) -> ExpectedMessage {
    ExpectedMessage {
        id: message.id,
        direction: if message.income { "in" } else { "out" },
        text: message.text.clone().filter(|text| !text.is_empty()),
        created_at_seconds: message.created_at.timestamp(),
        attachments: message
            .attachments
            .iter()
            .map(|attachment| AttachmentRow {
                name: Some(attachment.file_name.clone()),
                size: Some(attachment.size),
                mime: Some(attachment.mime_type.clone()),
            })
            .collect(),
    }
}

/// The CLI row in the same shape, so the two compare with `==`.
pub fn shown_message(row: &MessageRow) -> ExpectedMessage {
    ExpectedMessage {
        id: row.id.unwrap_or(-1),
        direction: match row.direction.as_str() {
            "in" => "in",
            "out" => "out",
            _ => "<not in|out>",
        },
        text: row.text.clone().filter(|text| !text.is_empty()),
        created_at_seconds: rows::rfc3339(&row.created_at, "message created_at").timestamp(),
        attachments: row.attachments.clone(),
    }
}

/// Differences between the CLI's messages of one conversation and the sandbox's (empty = equal).
pub fn message_differences(
    sandbox: &Sandbox,
    conversation: i64,
    shown: &[MessageRow],
) -> Vec<String> {
    let expected: Vec<ExpectedMessage> = sandbox
        .messages(conversation)
        .iter()
        .map(expected_message)
        .collect();
    let shown: Vec<ExpectedMessage> = shown.iter().map(shown_message).collect();
    let mut differences = Vec::new();
    if expected.len() != shown.len() {
        differences.push(format!(
            "conversation {conversation}: sandbox has {} messages, CLI shows {}",
            expected.len(),
            shown.len()
        ));
    }
    let expected_ids: Vec<i64> = expected.iter().map(|m| m.id).collect();
    let shown_ids: Vec<i64> = shown.iter().map(|m| m.id).collect();
    if expected_ids != shown_ids {
        differences.push(format!(
            "conversation {conversation}: ids/order differ: sandbox {expected_ids:?}, CLI {shown_ids:?}"
        ));
        return differences;
    }
    for (want, got) in expected.iter().zip(&shown) {
        if want != got {
            differences.push(format!(
                "conversation {conversation}, message {}: sandbox {}, CLI {}",
                want.id,
                brief(want),
                brief(got)
            ));
        }
    }
    differences
}

fn brief(message: &ExpectedMessage) -> String {
    let text = message.text.as_ref().map(|text| {
        let head: String = text.chars().take(80).collect();
        if head.len() < text.len() {
            format!("{head:?}... ({} bytes)", text.len())
        } else {
            format!("{head:?}")
        }
    });
    format!(
        "{{direction {}, created_at {}, text {}, attachments {:?}}}",
        message.direction,
        message.created_at_seconds,
        text.unwrap_or_else(|| "null".to_string()),
        message.attachments
    )
}

/// Differences between `conversations --json` rows of `account` and the sandbox (empty = equal).
pub fn conversation_differences(
    sandbox: &Sandbox,
    account: &str,
    shown: &[ConversationRow],
) -> Vec<String> {
    let mut differences = Vec::new();
    let expected: BTreeMap<i64, _> = sandbox
        .conversations()
        .into_iter()
        .map(|conversation| (conversation.id, conversation))
        .collect();
    let shown_by_id: BTreeMap<i64, &ConversationRow> =
        shown.iter().map(|row| (row.id, row)).collect();
    if shown_by_id.len() != shown.len() {
        differences.push(format!(
            "{} conversation rows but only {} distinct ids",
            shown.len(),
            shown_by_id.len()
        ));
    }
    let missing: Vec<i64> = expected
        .keys()
        .filter(|id| !shown_by_id.contains_key(id))
        .copied()
        .collect();
    let extra: Vec<i64> = shown_by_id
        .keys()
        .filter(|id| !expected.contains_key(id))
        .copied()
        .collect();
    if !missing.is_empty() || !extra.is_empty() {
        differences.push(format!(
            "sandbox has {} conversations, CLI {}; missing {:?}, unknown {:?}",
            expected.len(),
            shown.len(),
            first(&missing),
            first(&extra)
        ));
    }
    for row in shown {
        let Some(want) = expected.get(&row.id) else {
            continue;
        };
        let mut problems = Vec::new();
        if row.account != account {
            problems.push(format!("account {:?}", row.account));
        }
        if row.company_id != want.company_id {
            problems.push(format!(
                "company_id {} != {}",
                row.company_id, want.company_id
            ));
        }
        if let Some(name) = want.name.as_ref().filter(|name| !name.is_empty()) {
            if row.title.as_deref() != Some(name.as_str()) {
                problems.push(format!("title {:?} != name {:?}", row.title, name));
            }
        }
        if row.assignee_id != want.assignee_id {
            problems.push(format!(
                "assignee_id {:?} != {:?}",
                row.assignee_id, want.assignee_id
            ));
        }
        if row.note.as_deref().filter(|n| !n.is_empty())
            != want.note.as_deref().filter(|n| !n.is_empty())
        {
            problems.push(format!("note {:?} != {:?}", row.note, want.note));
        }
        if row.bitrix_openlines.unwrap_or(false) != want.bitrix_block_openlines {
            problems.push(format!(
                "bitrix_openlines {:?} != {}",
                row.bitrix_openlines, want.bitrix_block_openlines
            ));
        }
        if let Some(problem) = last_activity_problem(row, sandbox_last_message_at(want)) {
            problems.push(problem);
        }
        if !problems.is_empty() {
            differences.push(format!("conversation {}: {}", row.id, problems.join("; ")));
        }
    }
    differences
}

fn first(ids: &[i64]) -> &[i64] {
    &ids[..ids.len().min(10)]
}

/// The sandbox's last activity of a conversation, if it has one.
pub fn sandbox_last_message_at(
    conversation: &parley_sandbox::SnapshotConversation,
) -> Option<DateTime<Utc>> {
    conversation.last_message_at
}

fn last_activity_problem(row: &ConversationRow, want: Option<DateTime<Utc>>) -> Option<String> {
    let shown = row
        .last_message_at
        .as_deref()
        .map(|text| rows::rfc3339(text, "last_message_at").timestamp());
    let want = want.map(|at| at.timestamp());
    (shown != want).then(|| {
        format!(
            "last_message_at {:?} != sandbox {:?}",
            row.last_message_at, want
        )
    })
}

/// Problems with the "most recent activity first" order of `conversations --json`.
pub fn order_problems(shown: &[ConversationRow]) -> Vec<String> {
    let times: Vec<Option<i64>> = shown
        .iter()
        .map(|row| {
            row.last_message_at
                .as_deref()
                .map(|text| rows::rfc3339(text, "last_message_at").timestamp())
        })
        .collect();
    times
        .windows(2)
        .enumerate()
        .filter(|(_, pair)| pair[1] > pair[0] || (pair[0].is_none() && pair[1].is_some()))
        .map(|(index, pair)| {
            format!(
                "row {} ({:?}) is older than row {} ({:?})",
                index,
                pair[0],
                index + 1,
                pair[1]
            )
        })
        .take(5)
        .collect()
}

/// Everything the CLI shows for one account: conversations and every conversation's messages.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheView {
    /// `conversations --json`, account names blanked so views of different accounts compare.
    pub conversations: Vec<ConversationRow>,
    /// `messages --json` per conversation id.
    pub messages: BTreeMap<i64, Vec<MessageRow>>,
}

impl CacheView {
    /// Reads the whole view through the CLI, several children at a time.
    pub fn read(cli: &Cli, account: &str) -> CacheView {
        let mut conversations = rows::conversations(cli, Some(account));
        let ids: Vec<i64> = conversations.iter().map(|row| row.id).collect();
        let messages = read_all_messages(cli, account, &ids);
        for row in &mut conversations {
            row.account.clear();
        }
        CacheView {
            conversations,
            messages,
        }
    }

    /// Human-readable differences from `other` (empty = equal).
    pub fn differences(&self, other: &CacheView) -> Vec<String> {
        let mut differences = Vec::new();
        if self.conversations != other.conversations {
            let mine: Vec<i64> = self.conversations.iter().map(|r| r.id).collect();
            let theirs: Vec<i64> = other.conversations.iter().map(|r| r.id).collect();
            differences.push(format!(
                "conversation rows differ ({} vs {} rows; ids equal: {})",
                mine.len(),
                theirs.len(),
                mine == theirs
            ));
            for (a, b) in self.conversations.iter().zip(&other.conversations) {
                if a != b {
                    differences.push(format!("first differing conversation: {a:?}\n  vs {b:?}"));
                    break;
                }
            }
        }
        for (id, mine) in &self.messages {
            let theirs = other.messages.get(id).cloned().unwrap_or_default();
            if *mine != theirs {
                differences.push(format!(
                    "conversation {id}: {} vs {} messages{}",
                    mine.len(),
                    theirs.len(),
                    first_message_difference(mine, &theirs)
                ));
            }
        }
        differences
    }
}

fn first_message_difference(mine: &[MessageRow], theirs: &[MessageRow]) -> String {
    mine.iter()
        .zip(theirs)
        .find(|(a, b)| a != b)
        .map(|(a, b)| format!("; first difference: {a:?}\n  vs {b:?}"))
        .unwrap_or_default()
}

/// `messages --json` of every id, run [`PARALLEL_READERS`] at a time.
pub fn read_all_messages(cli: &Cli, account: &str, ids: &[i64]) -> BTreeMap<i64, Vec<MessageRow>> {
    let next = AtomicUsize::new(0);
    let results = Mutex::new(BTreeMap::new());
    std::thread::scope(|scope| {
        for _ in 0..PARALLEL_READERS {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::SeqCst);
                let Some(&id) = ids.get(index) else { break };
                let shown = rows::messages(cli, account, id);
                results
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(id, shown);
            });
        }
    });
    results.into_inner().unwrap_or_else(|e| e.into_inner())
}
