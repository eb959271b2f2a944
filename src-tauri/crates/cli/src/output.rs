//! How `parley-cli` prints: JSON for scripts, plain text for people (customer text with control
//! characters neutralised so a message cannot drive the terminal), progress on stderr, and the log file.

use std::io::{IsTerminal, Write};
use std::path::Path;

use chrono::{DateTime, Local, Utc};
use parley_core::{
    Account, ConversationView, LiveChange, MessageView, OutboxEntryView, SearchHit, SyncProgress,
    SyncReport,
};
use serde::Serialize;

/// Starts logging into `DATA_DIR/logs/cli.log` (rotated by size, level from `PARLEY_LOG`, default
/// info; see `parley_core::logging`) and logs panics there. Nothing goes to stderr, which stays the
/// user's. Logging is best effort: a read-only data folder must not stop the command.
pub fn init_logging(data_dir: &Path) -> Option<parley_core::logging::LogGuard> {
    let guard = parley_core::logging::init(data_dir, "cli", false).ok()?;
    parley_core::logging::install_panic_hook();
    Some(guard)
}

/// Writes one line to stdout, returning the error (a closed pipe included) instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {
        writeln!(std::io::stdout().lock(), $($arg)*)?
    };
}

/// Prints a line of plain text on stdout.
pub fn say(text: impl std::fmt::Display) -> anyhow::Result<()> {
    out!("{text}");
    Ok(())
}

/// True when the error is stdout having been closed by the reader (`parley-cli ... | head`).
pub fn is_closed_pipe(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<std::io::Error>()
        .is_some_and(|error| error.kind() == std::io::ErrorKind::BrokenPipe)
        || error
            .downcast_ref::<serde_json::Error>()
            .and_then(|error| error.io_error_kind())
            .is_some_and(|kind| kind == std::io::ErrorKind::BrokenPipe)
}

/// Folds a message onto one line.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Customer text made safe for a terminal: control characters (escape sequences) shown as `?`.
fn plain(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() && c != '\n' { '?' } else { c })
        .collect()
}

fn when(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(
        || "-".to_string(),
        |at| {
            at.with_timezone(&Local)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        },
    )
}

fn print_json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut stdout, value)?;
    writeln!(stdout)?;
    Ok(())
}

/// `account list`.
pub fn accounts(accounts: &[Account], json: bool) -> anyhow::Result<()> {
    if json {
        return print_json(accounts);
    }
    if accounts.is_empty() {
        out!("no accounts; add one with `parley-cli account add`");
    }
    for account in accounts {
        let companies = if account.companies.is_empty() {
            "all companies".to_string()
        } else {
            account.companies.join(", ")
        };
        let endpoint = account.base_url.as_deref().unwrap_or("public endpoint");
        out!(
            "{}\t{}\t{companies}\t{endpoint}",
            plain(&account.name),
            account.provider.as_str()
        );
    }
    Ok(())
}

/// `watch`: one JSON object per line, or one line of text per change (connection news on stderr).
pub fn live_change(change: &LiveChange, json: bool) -> anyhow::Result<()> {
    if json {
        out!("{}", serde_json::to_string(change)?);
        return Ok(());
    }
    match change {
        LiveChange::Message {
            conversation,
            message,
        } => out!(
            "{}\t{}\t{}\t{}\t{}",
            when(Some(message.created_at)),
            plain(conversation),
            message.direction,
            message.id.as_deref().unwrap_or("-"),
            one_line(&plain(message.text.as_deref().unwrap_or("")))
        ),
        LiveChange::Conversation {
            conversation,
            title,
            assignee_id,
            ..
        } => out!(
            "conversation\t{}\t{}\tassignee: {}",
            plain(conversation),
            plain(title.as_deref().unwrap_or("")),
            assignee_id.as_deref().map_or("none".to_string(), plain)
        ),
        LiveChange::Connected { account } => eprintln!("{}: connected", plain(account)),
        LiveChange::CaughtUp {
            account,
            new_messages,
        } => eprintln!("{}: caught up, {new_messages} new", plain(account)),
        LiveChange::Disconnected {
            account,
            reason,
            retry_in_ms,
        } => eprintln!(
            "{}: disconnected ({}), retrying in {:.1} s",
            plain(account),
            one_line(reason),
            *retry_in_ms as f64 / 1000.0
        ),
    }
    Ok(())
}

/// `sync`: one JSON object per line and account, or a sentence.
pub fn sync_report(report: &SyncReport, json: bool) -> anyhow::Result<()> {
    if json {
        out!("{}", serde_json::to_string(report)?);
    } else {
        out!(
            "{}: {} conversations, {} messages cached, {} new{}",
            plain(&report.account),
            report.conversations,
            report.messages,
            report.new_messages,
            if report.rate_limited > 0 {
                format!(" ({} answers \"too many requests\")", report.rate_limited)
            } else {
                String::new()
            }
        );
    }
    Ok(())
}

/// `conversations`.
pub fn conversations(conversations: &[ConversationView], json: bool) -> anyhow::Result<()> {
    if json {
        return print_json(conversations);
    }
    for conversation in conversations {
        out!(
            "{}/{}\t{}\t{}\t{}\t{}",
            plain(&conversation.account),
            plain(&conversation.id),
            conversation
                .channel
                .as_deref()
                .map_or_else(|| "-".to_string(), plain),
            when(conversation.last_message_at),
            conversation
                .assignee_id
                .as_deref()
                .map_or_else(|| "unassigned".to_string(), plain),
            conversation
                .title
                .as_deref()
                .map_or_else(|| "(no name)".to_string(), |title| one_line(&plain(title))),
        );
    }
    Ok(())
}

/// One conversation (`new`): the object `conversations --json` lists, or its line.
pub fn conversation(conversation: &ConversationView, json: bool) -> anyhow::Result<()> {
    if json {
        return print_json(conversation);
    }
    conversations(std::slice::from_ref(conversation), false)
}

/// `messages`.
pub fn messages(messages: &[MessageView], json: bool) -> anyhow::Result<()> {
    if json {
        return print_json(messages);
    }
    for message in messages {
        let arrow = if message.direction == "in" {
            "<-"
        } else {
            "->"
        };
        let status = if message.direction == "out" {
            format!(" [{}]", message.status)
        } else {
            String::new()
        };
        out!("{} {arrow}{status}", when(Some(message.created_at)));
        if let Some(text) = &message.text {
            for line in plain(text).lines() {
                out!("    {line}");
            }
        }
        for attachment in &message.attachments {
            out!(
                "    [file] {} ({} bytes, {})",
                attachment
                    .name
                    .as_deref()
                    .map_or_else(|| "file".to_string(), plain),
                attachment
                    .size
                    .map_or_else(|| "?".to_string(), |size| size.to_string()),
                attachment
                    .mime
                    .as_deref()
                    .map_or_else(|| "unknown type".to_string(), plain),
            );
        }
        if let Some(error) = &message.error {
            out!("    failed: {}", plain(error));
        }
        if message.deleted {
            out!("    (deleted)");
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct SendResult<'a> {
    outbox_id: i64,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

/// `send`.
pub fn send_result(entry: &OutboxEntryView, json: bool) -> anyhow::Result<()> {
    let result = SendResult {
        outbox_id: entry.id,
        status: entry.status.as_str(),
        message_id: entry.message_id.as_deref(),
        error: entry.last_error.as_deref(),
    };
    if json {
        return print_json(&result);
    }
    match result.message_id {
        Some(message_id) => out!(
            "outbox {}: {} (message {message_id})",
            result.outbox_id,
            result.status
        ),
        None => out!("outbox {}: {}", result.outbox_id, result.status),
    }
    Ok(())
}

/// `search`.
pub fn search(hits: &[SearchHit], json: bool) -> anyhow::Result<()> {
    if json {
        return print_json(hits);
    }
    if hits.is_empty() {
        out!("nothing found");
    }
    for hit in hits {
        let what = hit
            .message_id
            .as_deref()
            .map_or_else(|| "conversation".to_string(), |id| format!("message {id}"));
        out!(
            "{}\t{what}\t{}\t{}",
            plain(&hit.conversation),
            when(hit.created_at),
            one_line(&plain(&hit.snippet))
        );
    }
    Ok(())
}

/// `outbox`.
pub fn outbox(entries: &[OutboxEntryView], json: bool) -> anyhow::Result<()> {
    if json {
        return print_json(entries);
    }
    if entries.is_empty() {
        out!("the outbox is empty");
    }
    for entry in entries {
        let text = entry
            .text
            .as_deref()
            .map(|text| one_line(&plain(text)))
            .unwrap_or_default();
        let preview: String = text.chars().take(60).collect();
        out!(
            "{}\t{}\t{}\tattempts {}\t{}{}",
            entry.id,
            plain(&entry.conversation),
            entry.status.as_str(),
            entry.attempts,
            preview,
            entry
                .last_error
                .as_deref()
                .map(|error| format!("\t({})", one_line(&plain(error))))
                .unwrap_or_default()
        );
    }
    Ok(())
}

/// Prints sync progress on stderr: a live line on a terminal, a line per tenth otherwise.
pub struct ProgressReporter {
    live: bool,
    last_tenth: Option<usize>,
}

impl ProgressReporter {
    /// A reporter for the current stderr.
    pub fn new() -> Self {
        Self {
            live: std::io::stderr().is_terminal(),
            last_tenth: None,
        }
    }

    /// Shows a progress update.
    pub fn report(&mut self, progress: &SyncProgress) {
        let total = progress.conversations_total.max(1);
        let tenth = progress.conversations_done * 10 / total;
        let mut line = format!(
            "syncing {}: {}/{} conversations, {} new messages",
            plain(&progress.account),
            progress.conversations_done,
            progress.conversations_total,
            progress.messages_fetched
        );
        line.push_str(&history_note(progress));
        let finished = progress.conversations_done == progress.conversations_total;
        if self.live {
            eprint!("\r{line}");
            if finished {
                eprintln!();
            }
        } else if self.last_tenth != Some(tenth) || finished && self.last_tenth.is_none() {
            eprintln!("{line}");
        }
        self.last_tenth = Some(tenth);
    }
}

/// What the history still needs: "; history of 40 conversations: about 16 min left", or while
/// other computers use the same token, "; sharing Pact's limits with other computers: history
/// about 16 min" (empty when nothing waits).
fn history_note(progress: &SyncProgress) -> String {
    let (waiting @ 1.., Some(eta)) = (progress.history_waiting, progress.eta_seconds) else {
        return String::new();
    };
    if progress.limit_share.is_some() {
        return format!(
            "; sharing Pact's limits with other computers: history {}",
            about(eta)
        );
    }
    format!("; history of {waiting} conversations: {}", about_left(eta))
}

/// "about 16 min", as the rate limits make it.
fn about(seconds: u64) -> String {
    match seconds {
        0..=59 => "less than a minute".to_string(),
        60..=5399 => format!("about {} min", seconds.div_ceil(60)),
        _ => format!("about {:.1} h", seconds as f64 / 3600.0),
    }
}

/// "about 16 min left", as the rate limits make it.
fn about_left(seconds: u64) -> String {
    format!("{} left", about(seconds))
}

/// Prints the upload progress of a send on stderr: one rewritten line on a terminal, otherwise a line
/// per file and tenth.
pub struct UploadReporter {
    live: bool,
    last: Option<(i64, u64)>,
    drawn: bool,
}

impl UploadReporter {
    /// A reporter for the current stderr.
    pub fn new() -> Self {
        Self {
            live: std::io::stderr().is_terminal(),
            last: None,
            drawn: false,
        }
    }

    /// Shows how far the file on its way got.
    pub fn report(&mut self, upload: &parley_core::UploadProgress) {
        let percent = (upload.bytes_sent * 100)
            .checked_div(upload.bytes_total)
            .unwrap_or(100);
        let line = format!(
            "uploading file {} of {}: {percent} % of {} bytes",
            upload.done + 1,
            upload.total,
            upload.bytes_total
        );
        let step = (upload.done, percent / 10);
        if self.live {
            eprint!("\r{line}\x1b[K");
            self.drawn = true;
        } else if self.last != Some(step) {
            eprintln!("{line}");
        }
        self.last = Some(step);
    }

    /// Ends the rewritten line, if one was drawn.
    pub fn finish(&mut self) {
        if self.live && self.drawn {
            eprintln!();
            self.drawn = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(limit_share: Option<f64>) -> SyncProgress {
        SyncProgress {
            account: "team".into(),
            conversations_done: 10,
            conversations_total: 50,
            messages_fetched: 200,
            history_waiting: 40,
            eta_seconds: Some(950),
            limit_share,
        }
    }

    #[test]
    fn the_history_note_says_when_the_limits_are_shared() {
        assert_eq!(
            history_note(&progress(None)),
            "; history of 40 conversations: about 16 min left"
        );
        assert_eq!(
            history_note(&progress(Some(0.2))),
            "; sharing Pact's limits with other computers: history about 16 min"
        );
        let done = SyncProgress {
            history_waiting: 0,
            ..progress(Some(0.2))
        };
        assert_eq!(history_note(&done), "");
    }
}
