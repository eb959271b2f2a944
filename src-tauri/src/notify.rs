//! Notifications for new customer messages: after every sync that brought messages (the `inbox-changed`
//! event, whoever started the sync), the conversations whose activity moved and that hold unread customer
//! messages get one notification each, with the sender and a preview of the newest message. Never for
//! the conversation that is open while the window is focused (the UI says which one is open through
//! `window_focus_conversation`), and as the agent's preferences say (Settings → Notifications: sound,
//! only while the window is not focused, only mine and unassigned, muted accounts). A click on a
//! notification brings the window forward and asks the UI to open that conversation.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use parley_core::{ConversationRef, ConversationView, MessageView, NotificationPreferences};
use serde::Serialize;
use tauri::{AppHandle, Emitter, Listener, Manager, State};
use tauri_plugin_notification::NotificationExt;

use crate::commands::sync::{app_state, INBOX_CHANGED};
use crate::{locale, main_window};

/// The event asking the UI to open a conversation (a notification was clicked); payload [`OpenConversation`].
pub const OPEN_CONVERSATION: &str = "open-conversation";
/// At most this many conversations get a notification of their own per sync; the rest share one.
const MAX_PER_ROUND: usize = 3;
/// The preview is cut to this many characters.
const PREVIEW_CHARS: usize = 140;
/// How many of a thread's newest messages are read to find the new customer ones.
const RECENT_MESSAGES: i64 = 50;

/// Payload of [`OPEN_CONVERSATION`].
#[derive(Debug, Clone, Serialize)]
pub struct OpenConversation {
    /// The account's name.
    pub account: String,
    /// The provider's conversation id.
    pub id: String,
}

/// What decides whether a new message deserves a notification.
#[derive(Debug, Default)]
pub struct Attention {
    /// The conversation open in the window, as the UI reports it.
    open: Mutex<Option<ConversationRef>>,
    /// Whether the main window has the keyboard focus.
    focused: AtomicBool,
    /// Each conversation's last activity as of the previous check; `None` before the first one.
    seen: tokio::sync::Mutex<Option<Seen>>,
}

/// The inbox as of the previous check.
#[derive(Debug, Default)]
struct Seen {
    activity: HashMap<(String, String), Option<DateTime<Utc>>>,
    /// True while nothing was cached yet: the first sync of a new account announces nothing.
    empty: bool,
}

/// Registers the state, the click handler and the `inbox-changed` listener.
pub fn setup(app: &AppHandle) {
    app.manage(Attention::default());
    let clicked = app.clone();
    let _ = app.notification().on_action(move |performed| {
        if performed.action_id() == "tap" || performed.action_id() == "default" {
            main_window::show(&clicked);
            let extra = performed.notification().map(|n| n.extra());
            let field = |name: &str| {
                extra
                    .and_then(|extra| extra.get(name))
                    .and_then(|value| value.as_str())
                    .map(str::to_owned)
            };
            if let (Some(account), Some(id)) = (field("account"), field("id")) {
                let _ = clicked.emit(OPEN_CONVERSATION, OpenConversation { account, id });
            }
        }
    });
    let handle = app.clone();
    app.listen(INBOX_CHANGED, move |_| {
        let app = handle.clone();
        tauri::async_runtime::spawn(async move { announce_new_messages(&app).await });
    });
}

/// Tells the backend which conversation the window shows (both `None`: none), so new messages there
/// raise no notification while the window is focused.
#[tauri::command]
pub fn window_focus_conversation(
    attention: State<'_, Attention>,
    account: Option<String>,
    id: Option<String>,
) {
    let open = match (account, id) {
        (Some(account), Some(id)) => Some(ConversationRef { account, id }),
        _ => None,
    };
    *lock(&attention.open) = open;
}

/// Records the window's focus.
pub fn window_focused(app: &AppHandle, focused: bool) {
    if let Some(attention) = app.try_state::<Attention>() {
        attention.focused.store(focused, Ordering::Relaxed);
    }
}

/// Takes note of the cached inbox, so the next check only announces what came after.
pub async fn remember_inbox(app: &AppHandle) {
    let Some(attention) = app.try_state::<Attention>() else {
        return;
    };
    let mut seen = attention.seen.lock().await;
    if seen.is_none() {
        if let Ok(conversations) = app_state(app).parley.conversations(None, None).await {
            *seen = Some(Seen::of(&conversations));
        }
    }
}

impl Seen {
    fn of(conversations: &[ConversationView]) -> Seen {
        Seen {
            activity: conversations
                .iter()
                .map(|c| ((c.account.clone(), c.id.clone()), c.last_message_at))
                .collect(),
            empty: conversations.is_empty(),
        }
    }
}

/// Compares the inbox with the previous check and notifies about new customer messages.
async fn announce_new_messages(app: &AppHandle) {
    let Some(attention) = app.try_state::<Attention>() else {
        return;
    };
    let mut seen = attention.seen.lock().await;
    let state = app_state(app);
    let Ok(conversations) = state.parley.conversations(None, None).await else {
        return;
    };
    let previous = seen.replace(Seen::of(&conversations));
    let Some(previous) = previous.filter(|previous| !previous.empty) else {
        return;
    };
    let preferences = state
        .parley
        .notification_preferences()
        .await
        .unwrap_or_default();
    let focused = attention.focused.load(Ordering::Relaxed);
    let mut my_ids: HashMap<String, Option<String>> = HashMap::new();
    let mut news = Vec::new();
    for conversation in conversations.iter().filter(|c| c.unread) {
        if !my_ids.contains_key(&conversation.account) {
            let mine = state
                .parley
                .my_user_id(&conversation.account)
                .await
                .ok()
                .flatten();
            my_ids.insert(conversation.account.clone(), mine);
        }
        let mine = my_ids.get(&conversation.account).cloned().flatten();
        if !preferences.wants(conversation, focused, mine.as_deref()) {
            continue;
        }
        let key = (conversation.account.clone(), conversation.id.clone());
        let before = previous.activity.get(&key).copied().flatten();
        let moved = match (before, conversation.last_message_at) {
            (Some(before), Some(now)) => now > before,
            (None, Some(_)) => true,
            (_, None) => false,
        };
        if moved && !is_in_view(&attention, conversation) {
            news.push((conversation, before));
        }
    }
    let mut shown = 0;
    for (conversation, before) in &news {
        if shown == MAX_PER_ROUND {
            break;
        }
        let reference = ConversationRef {
            account: conversation.account.clone(),
            id: conversation.id.clone(),
        };
        let Ok(messages) = state
            .parley
            .messages(&reference, Some(RECENT_MESSAGES))
            .await
        else {
            continue;
        };
        let fresh = new_customer_messages(&messages, *before);
        if let Some(newest) = fresh.last() {
            show(app, conversation, newest, fresh.len(), &preferences);
            shown += 1;
        }
    }
    if news.len() > shown {
        let rest = (news.len() - shown) as u64;
        let mut builder = app
            .notification()
            .builder()
            .title("Parley")
            .body(locale::texts().more_conversations(rest));
        if preferences.sound {
            builder = builder.sound(SOUND);
        }
        let _ = builder.show();
    }
}

/// Whether the conversation is open in a focused window.
fn is_in_view(attention: &Attention, conversation: &ConversationView) -> bool {
    attention.focused.load(Ordering::Relaxed)
        && lock(&attention.open)
            .as_ref()
            .is_some_and(|open| open.account == conversation.account && open.id == conversation.id)
}

/// The customer's messages newer than `after` (all of them when the conversation is new), oldest first.
fn new_customer_messages(
    messages: &[MessageView],
    after: Option<DateTime<Utc>>,
) -> Vec<&MessageView> {
    let mut incoming = messages.iter().filter(|m| m.direction == "in");
    match after {
        Some(after) => incoming.filter(|m| m.created_at > after).collect(),
        None => incoming.next_back().into_iter().collect(),
    }
}

/// The notification sound's name: the freedesktop theme's "new message" sound on Linux, the
/// system's default elsewhere.
#[cfg(target_os = "linux")]
const SOUND: &str = "message-new-instant";
#[cfg(not(target_os = "linux"))]
const SOUND: &str = "default";

fn show(
    app: &AppHandle,
    conversation: &ConversationView,
    newest: &MessageView,
    count: usize,
    preferences: &NotificationPreferences,
) {
    let texts = locale::texts();
    let sender = conversation
        .title
        .clone()
        .filter(|title| !title.trim().is_empty())
        .unwrap_or_else(|| texts.no_name.to_string());
    let mut body = preview(newest, texts.attachment);
    if count > 1 {
        body = format!("{}: {body}", texts.new_messages(count as u64));
    }
    let mut builder = app
        .notification()
        .builder()
        .title(sender)
        .body(safe_body(&body))
        .extra("account", &conversation.account)
        .extra("id", &conversation.id);
    if preferences.sound {
        builder = builder.sound(SOUND);
    }
    let result = builder.show();
    if let Err(error) = result {
        eprintln!("parley: cannot show a notification: {error}");
        tracing::warn!(
            error = %parley_core::logging::redact(&error.to_string()),
            "cannot show a notification"
        );
    }
}

/// The message's text on one line, cut to [`PREVIEW_CHARS`]; or the attachment's name.
fn preview(message: &MessageView, attachment_word: &str) -> String {
    let text = message
        .text
        .as_deref()
        .map(|text| text.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|text| !text.is_empty());
    match text {
        Some(text) if text.chars().count() > PREVIEW_CHARS => {
            let cut: String = text.chars().take(PREVIEW_CHARS - 1).collect();
            format!("{}…", cut.trim_end())
        }
        Some(text) => text,
        None => {
            let name = message.attachments.first().and_then(|a| a.name.clone());
            match name {
                Some(name) => format!("📎 {attachment_word}: {name}"),
                None => format!("📎 {attachment_word}"),
            }
        }
    }
}

/// Linux notification servers read a little HTML in the body (`<b>`, `<a href>`, `<img src>`): customer
/// text is escaped so it shows as typed and loads nothing. Other systems show the body as plain text.
fn safe_body(text: &str) -> String {
    if cfg!(target_os = "linux") {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    } else {
        text.to_string()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use parley_core::AttachmentView;

    fn message(direction: &'static str, minute: i64, text: Option<&str>) -> MessageView {
        MessageView {
            id: Some(minute.to_string()),
            direction,
            text: text.map(str::to_owned),
            created_at: DateTime::from_timestamp(minute * 60, 0).unwrap_or_default(),
            status: "received".to_string(),
            attachments: Vec::new(),
            outbox_id: None,
            error: None,
            error_code: None,
            reply_to: None,
            deleted: false,
        }
    }

    #[test]
    fn only_customer_messages_after_the_last_check_count() {
        let messages = vec![
            message("in", 1, Some("old")),
            message("out", 2, Some("ours")),
            message("in", 3, Some("new one")),
            message("out", 4, Some("ours again")),
            message("in", 5, Some("new two")),
        ];
        let after = DateTime::from_timestamp(2 * 60, 0);
        let fresh = new_customer_messages(&messages, after);
        let texts: Vec<_> = fresh.iter().map(|m| m.text.as_deref()).collect();
        assert_eq!(texts, [Some("new one"), Some("new two")]);
        let first_time = new_customer_messages(&messages, None);
        assert_eq!(first_time.len(), 1, "a new conversation: its newest only");
    }

    #[test]
    fn previews_are_one_short_line_and_escaped() {
        let long = "слово ".repeat(100);
        let shown = preview(&message("in", 1, Some(&long)), "Attachment");
        assert_eq!(shown.chars().count(), PREVIEW_CHARS);
        assert!(shown.ends_with('…'));
        let multi = preview(&message("in", 1, Some("a\n\n b\tc")), "Attachment");
        assert_eq!(multi, "a b c");
        let mut file = message("in", 1, None);
        file.attachments.push(AttachmentView {
            name: Some("invoice.pdf".to_string()),
            size: Some(10),
            mime: None,
            local_path: None,
        });
        assert_eq!(preview(&file, "Attachment"), "📎 Attachment: invoice.pdf");
        if cfg!(target_os = "linux") {
            assert_eq!(
                safe_body("<img src=x onerror=alert(1)> & <b>"),
                "&lt;img src=x onerror=alert(1)&gt; &amp; &lt;b&gt;"
            );
        }
    }
}
