//! `parley://open/ACCOUNT/ID` links: open a conversation of the running app from outside (a browser, a
//! chat, a script). The OS starts `parley parley://open/…`; the single instance hands the argument to
//! the running app (Linux and Windows, through `tauri-plugin-single-instance`'s `deep-link` feature) or
//! the OS delivers it as an open-url event (macOS); `tauri-plugin-deep-link` turns both into one event.
//! A first start with a link opens it once the inbox is ready (the UI asks through `deep_link_ready`).
//!
//! The link is hostile input: only the exact form `parley://open/<account>/<conversation id>`
//! (percent-encoded segments, at most [`MAX_LINK_BYTES`]) is accepted. Anything else, an unknown account
//! or a conversation not in the cache is refused with a notice in the window, and nothing else happens.

use std::sync::Mutex;

use parley_core::{ConversationRef, ErrorCode};
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, State};

use crate::commands::sync::app_state;
use crate::main_window;

/// The event carrying a link's [`LinkOutcome`] to the UI once it is ready.
pub const DEEP_LINK: &str = "deep-link";
/// The scheme registered with the OS (tauri.conf.json `plugins.deep-link.desktop.schemes`).
pub const SCHEME: &str = "parley";
/// A longer link is refused before it is looked at.
pub const MAX_LINK_BYTES: usize = 1024;
/// The longest account name the core allows (in bytes).
const MAX_ACCOUNT_BYTES: usize = 64;
/// The longest conversation id accepted (in bytes); providers use integers and UUIDs.
const MAX_ID_BYTES: usize = 256;

/// Why a link was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// Not of the form `parley://open/<account>/<id>`.
    Malformed,
    /// No account of that name on this computer.
    UnknownAccount,
    /// The account has no such conversation in the cache.
    UnknownConversation,
    /// The cache could not be read.
    Unavailable,
}

/// What became of a link, as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LinkOutcome {
    /// Open this conversation.
    Open {
        /// The account's name.
        account: String,
        /// The provider's conversation id.
        id: String,
    },
    /// Show a notice; change nothing.
    Refused {
        /// Why.
        reason: Refusal,
        /// The account the link named, when it could be read.
        account: Option<String>,
        /// The conversation id the link named, when it could be read.
        id: Option<String>,
    },
}

impl LinkOutcome {
    fn refused(reason: Refusal, conversation: Option<&ConversationRef>) -> LinkOutcome {
        LinkOutcome::Refused {
            reason,
            account: conversation.map(|c| c.account.clone()),
            id: conversation.map(|c| c.id.clone()),
        }
    }
}

/// Links that came before the UI was ready, and whether it is.
#[derive(Debug, Default)]
pub struct DeepLinks {
    inner: Mutex<Waiting>,
}

#[derive(Debug, Default)]
struct Waiting {
    ui_ready: bool,
    /// The newest link that came before the UI was ready (an older one is superseded).
    pending: Option<LinkOutcome>,
}

/// Reads a link: the conversation it names, or `None` when it is not exactly
/// `parley://open/<account>/<id>` (scheme and `open` in any case, one optional trailing `/`, no query
/// or fragment, each segment percent-decoded to printable UTF-8 within its length).
pub fn parse(link: &str) -> Option<ConversationRef> {
    if link.len() > MAX_LINK_BYTES {
        return None;
    }
    let prefix = format!("{SCHEME}://open/");
    let head = link.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(&prefix) {
        return None;
    }
    let rest = &link[prefix.len()..];
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let mut segments = rest.split('/');
    let (Some(account), Some(id), None) = (segments.next(), segments.next(), segments.next())
    else {
        return None;
    };
    let account = decode_segment(account, MAX_ACCOUNT_BYTES)?;
    let id = decode_segment(id, MAX_ID_BYTES)?;
    Some(ConversationRef { account, id })
}

/// One path segment: only URL-safe characters and `%XX` escapes, decoded to UTF-8 with no control
/// characters, not blank, no spaces around it, at most `max_bytes`.
fn decode_segment(segment: &str, max_bytes: usize) -> Option<String> {
    let allowed = |byte: u8| byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&byte);
    let mut bytes = Vec::with_capacity(segment.len());
    let mut raw = segment.bytes();
    while let Some(byte) = raw.next() {
        if byte == b'%' {
            let high = hex_value(raw.next()?)?;
            let low = hex_value(raw.next()?)?;
            bytes.push(high << 4 | low);
        } else if allowed(byte) {
            bytes.push(byte);
        } else {
            return None;
        }
    }
    let text = String::from_utf8(bytes).ok()?;
    let printable = !text.chars().any(char::is_control);
    let trimmed = text.trim() == text && !text.is_empty();
    (printable && trimmed && text.len() <= max_bytes).then_some(text)
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|value| u8::try_from(value).ok())
}

/// The link to a conversation (what Copy link puts on the clipboard).
pub fn link_to(conversation: &ConversationRef) -> String {
    format!(
        "{SCHEME}://open/{}/{}",
        encode_segment(&conversation.account),
        encode_segment(&conversation.id)
    )
}

fn encode_segment(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// Registers the state and, outside the demo, listens for links from the OS and a second launch, and
/// takes the one this process was started with.
pub fn setup(app: &AppHandle, with_links: bool) {
    app.manage(DeepLinks::default());
    if !with_links {
        return;
    }
    use tauri_plugin_deep_link::DeepLinkExt;
    let handle = app.clone();
    app.deep_link().on_open_url(move |event| {
        for url in event.urls() {
            receive(&handle, url.to_string());
        }
    });
    let started_with = app.deep_link().get_current().ok().flatten();
    for url in started_with.unwrap_or_default() {
        receive(app, url.to_string());
    }
    let args: Vec<String> = std::env::args().collect();
    refuse_undelivered(app, &args);
}

/// A launch whose arguments hold something that looks like a `parley:` link the deep-link plugin does
/// not deliver (it takes only a lone argument that parses as a URL) gets the notice too, instead of
/// silence. `args` starts with the program's name.
pub fn refuse_undelivered(app: &AppHandle, args: &[String]) {
    if is_undelivered_link(args) {
        deliver(app, LinkOutcome::refused(Refusal::Malformed, None));
    }
}

fn is_undelivered_link(args: &[String]) -> bool {
    let scheme = format!("{SCHEME}:");
    let looks_like_link = |arg: &String| {
        arg.get(..scheme.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(&scheme))
    };
    let rest = args.get(1..).unwrap_or_default();
    let delivered = rest.len() == 1 && tauri::Url::parse(&rest[0]).is_ok();
    !delivered && rest.iter().any(looks_like_link)
}

/// Looks the link up and hands the outcome to the UI (now, or when it is ready).
fn receive(app: &AppHandle, link: String) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let outcome = resolve(&app, &link).await;
        if let LinkOutcome::Refused { reason, .. } = &outcome {
            tracing::info!(?reason, "a parley:// link was refused");
        }
        deliver(&app, outcome);
    });
}

async fn resolve(app: &AppHandle, link: &str) -> LinkOutcome {
    let Some(conversation) = parse(link) else {
        return LinkOutcome::refused(Refusal::Malformed, None);
    };
    let parley = &app_state(app).parley;
    match parley.accounts().await {
        Ok(accounts) if accounts.iter().any(|a| a.name == conversation.account) => {}
        Ok(_) => return LinkOutcome::refused(Refusal::UnknownAccount, Some(&conversation)),
        Err(_) => return LinkOutcome::refused(Refusal::Unavailable, Some(&conversation)),
    }
    match parley.conversation_summary(&conversation).await {
        Ok(_) => LinkOutcome::Open {
            account: conversation.account,
            id: conversation.id,
        },
        Err(error) if error.code() == ErrorCode::NotFound => {
            LinkOutcome::refused(Refusal::UnknownConversation, Some(&conversation))
        }
        Err(_) => LinkOutcome::refused(Refusal::Unavailable, Some(&conversation)),
    }
}

fn deliver(app: &AppHandle, outcome: LinkOutcome) {
    let Some(links) = app.try_state::<DeepLinks>() else {
        return;
    };
    let mut waiting = lock(&links.inner);
    if waiting.ui_ready {
        drop(waiting);
        main_window::show(app);
        let _ = app.emit(DEEP_LINK, outcome);
    } else {
        waiting.pending = Some(outcome);
    }
}

/// The UI's inbox is ready: returns the link the app was started with (or that came meanwhile), once;
/// later links arrive as [`DEEP_LINK`] events.
#[tauri::command]
pub fn deep_link_ready(links: State<'_, DeepLinks>) -> Option<LinkOutcome> {
    let mut waiting = lock(&links.inner);
    waiting.ui_ready = true;
    waiting.pending.take()
}

/// The `parley://open/…` link of a conversation, for Copy link.
#[tauri::command]
pub fn deep_link_for(account: String, id: String) -> String {
    link_to(&ConversationRef { account, id })
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(account: &str, id: &str) -> Option<ConversationRef> {
        Some(ConversationRef {
            account: account.to_string(),
            id: id.to_string(),
        })
    }

    #[test]
    fn the_documented_form_opens_its_conversation() {
        assert_eq!(parse("parley://open/work/12345"), named("work", "12345"));
        assert_eq!(parse("PARLEY://Open/work/12345/"), named("work", "12345"));
        assert_eq!(
            parse("parley://open/%D0%BF%D0%BE%D0%B4%D0%B4%D0%B5%D1%80%D0%B6%D0%BA%D0%B0/6f1c-a9"),
            named("поддержка", "6f1c-a9")
        );
        assert_eq!(
            parse("parley://open/my%20shop/a%2Fb"),
            named("my shop", "a/b")
        );
    }

    #[test]
    fn hostile_and_malformed_links_are_refused() {
        let long = format!("parley://open/work/{}", "1".repeat(MAX_LINK_BYTES));
        let long_account = format!("parley://open/{}/1", "a".repeat(65));
        let refused = [
            "",
            "parley:",
            "parley://",
            "parley://open",
            "parley://open/",
            "parley://open/work",
            "parley://open/work/",
            "parley://open//12345",
            "parley://open/work//",
            "parley://open/work/1/2",
            "parley://open/work/1?x=1",
            "parley://open/work/1#top",
            "parley://close/work/1",
            "parley://opener/work/1",
            "parley:open/work/1",
            "parley:///open/work/1",
            "http://open/work/1",
            "javascript:alert(1)//parley://open/a/b",
            " parley://open/work/1",
            "parley://open/work/1 ",
            "parley://open/work/1\n",
            "parley://open/wo rk/1",
            "parley://open/work/%00",
            "parley://open/work/%0A1",
            "parley://open/work/%1",
            "parley://open/work/%zz",
            "parley://open/work/%",
            "parley://open/work/%C3%28",
            "parley://open/work/%20",
            "parley://open/%20work/1",
            "parley://open/work/<script>",
            "parley://open/work/\"1\"",
            "parley://open/work/1\u{202e}",
            "parley://open/work/１２",
            long.as_str(),
            long_account.as_str(),
        ];
        for link in refused {
            assert_eq!(parse(link), None, "{link:?} must be refused");
        }
    }

    #[test]
    fn links_made_here_read_back() {
        for (account, id) in [
            ("work", "12345"),
            ("поддержка 2", "a/b?c#d%e"),
            ("x", "9b2f0f1e-8a8e-4c4e-9d55-0e1c9d1f7e21"),
        ] {
            let conversation = ConversationRef {
                account: account.to_string(),
                id: id.to_string(),
            };
            let link = link_to(&conversation);
            assert!(link.is_ascii(), "{link}");
            assert_eq!(parse(&link), Some(conversation));
        }
    }

    #[test]
    fn only_links_the_plugin_would_drop_need_our_notice() {
        let args = |list: &[&str]| list.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        assert!(!is_undelivered_link(&args(&["parley"])));
        assert!(!is_undelivered_link(&args(&["parley", "--demo"])));
        assert!(!is_undelivered_link(&args(&[
            "parley",
            "parley://open/a/1"
        ])));
        assert!(is_undelivered_link(&args(&[
            "parley",
            "parley://open/a/1",
            "x"
        ])));
        assert!(is_undelivered_link(&args(&["parley", "PARLEY://[bad"])));
        assert!(!is_undelivered_link(&args(&["parley", "https://x"])));
    }
}
