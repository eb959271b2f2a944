//! The app's language for the strings the Rust side shows (tray menu, notifications, dialogs): English
//! or Russian, following the OS locale. The UI asks for the same choice through `app_locale`.

use std::sync::OnceLock;

/// The environment variable that overrides the OS locale (`en` or `ru`), for tests and screenshots.
pub const LOCALE_ENV: &str = "PARLEY_LOCALE";

/// A language the app speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English, the fallback.
    En,
    /// Russian.
    Ru,
}

impl Lang {
    /// The language for a BCP 47 tag or POSIX locale name (`ru-RU`, `ru_RU.UTF-8`, `en`): Russian for
    /// Russian, English for everything else.
    pub fn from_tag(tag: &str) -> Lang {
        let language = tag
            .split(['-', '_', '.', '@'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if language == "ru" {
            Lang::Ru
        } else {
            Lang::En
        }
    }

    /// `en` or `ru`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ru => "ru",
        }
    }
}

/// The language of this run: `PARLEY_LOCALE` if set, else the OS locale, else English.
pub fn current() -> Lang {
    static CHOSEN: OnceLock<Lang> = OnceLock::new();
    *CHOSEN.get_or_init(|| {
        std::env::var(LOCALE_ENV)
            .ok()
            .filter(|tag| !tag.trim().is_empty())
            .or_else(sys_locale::get_locale)
            .map(|tag| Lang::from_tag(&tag))
            .unwrap_or(Lang::En)
    })
}

/// The strings of the current language.
pub fn texts() -> &'static Texts {
    match current() {
        Lang::En => &EN,
        Lang::Ru => &RU,
    }
}

/// `en` or `ru`: the language the UI should speak, the same one the tray and notifications use.
#[tauri::command]
pub fn app_locale() -> &'static str {
    current().code()
}

/// Every Rust-side string, in one language.
pub struct Texts {
    /// Tray menu: show or hide the window.
    pub show_hide: &'static str,
    /// Tray menu: sync every account now.
    pub sync_now: &'static str,
    /// Tray menu: the About view.
    pub about: &'static str,
    /// Tray menu: quit the app.
    pub quit: &'static str,
    /// Title of the start-up error dialog.
    pub error_title: &'static str,
    /// Start-up error: the data folder or its database cannot be opened (then the folder and the reason).
    pub cannot_open_data: &'static str,
    /// Start-up error: demo mode could not start (then the reason).
    pub cannot_start_demo: &'static str,
    /// A conversation with no name.
    pub no_name: &'static str,
    /// Title of the native save dialog for an attachment.
    pub save_attachment: &'static str,
    /// A message with attachments only.
    pub attachment: &'static str,
    one_unread: &'static str,
    few_unread: &'static str,
    many_unread: &'static str,
    one_new: &'static str,
    few_new: &'static str,
    many_new: &'static str,
    more_conversations: &'static str,
}

impl Texts {
    /// "3 unread conversations", for the tray's tooltip.
    pub fn unread(&self, count: u64) -> String {
        let form = self.plural(count, self.one_unread, self.few_unread, self.many_unread);
        format!("{count} {form}")
    }

    /// "2 new messages", the line before a conversation's newest message in a notification.
    pub fn new_messages(&self, count: u64) -> String {
        let form = self.plural(count, self.one_new, self.few_new, self.many_new);
        format!("{count} {form}")
    }

    /// The summary notification when more conversations changed than get one each.
    pub fn more_conversations(&self, count: u64) -> String {
        format!("{} {count}", self.more_conversations)
    }

    fn plural(
        &self,
        count: u64,
        one: &'static str,
        few: &'static str,
        many: &'static str,
    ) -> &'static str {
        if std::ptr::eq(self, &EN) {
            return if count == 1 { one } else { many };
        }
        match (count % 10, count % 100) {
            (1, rest) if rest != 11 => one,
            (2..=4, rest) if !(12..=14).contains(&rest) => few,
            _ => many,
        }
    }
}

static EN: Texts = Texts {
    show_hide: "Show / Hide",
    sync_now: "Sync now",
    about: "About Parley",
    quit: "Quit Parley",
    error_title: "Parley cannot start",
    cannot_open_data: "Parley cannot open its data folder",
    cannot_start_demo: "Parley cannot start the demo",
    no_name: "(no name)",
    save_attachment: "Save attachment",
    attachment: "Attachment",
    one_unread: "unread conversation",
    few_unread: "unread conversations",
    many_unread: "unread conversations",
    one_new: "new message",
    few_new: "new messages",
    many_new: "new messages",
    more_conversations: "New messages in more conversations:",
};

static RU: Texts = Texts {
    show_hide: "Показать / скрыть",
    sync_now: "Синхронизировать",
    about: "О программе Parley",
    quit: "Выйти из Parley",
    error_title: "Parley не запускается",
    cannot_open_data: "Parley не может открыть папку с данными",
    cannot_start_demo: "Parley не может запустить демо",
    no_name: "(без имени)",
    save_attachment: "Сохранить вложение",
    attachment: "Вложение",
    one_unread: "непрочитанный диалог",
    few_unread: "непрочитанных диалога",
    many_unread: "непрочитанных диалогов",
    one_new: "новое сообщение",
    few_new: "новых сообщения",
    many_new: "новых сообщений",
    more_conversations: "Новые сообщения ещё в диалогах:",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn russian_tags_pick_russian_and_everything_else_english() {
        for tag in ["ru", "ru-RU", "ru_RU.UTF-8", "RU_ua"] {
            assert_eq!(Lang::from_tag(tag), Lang::Ru, "{tag}");
        }
        for tag in ["en-US", "de_DE.UTF-8", "C", "", "rus"] {
            assert_eq!(Lang::from_tag(tag), Lang::En, "{tag}");
        }
    }

    #[test]
    fn russian_plurals_follow_the_number() {
        assert_eq!(RU.unread(1), "1 непрочитанный диалог");
        assert_eq!(RU.unread(3), "3 непрочитанных диалога");
        assert_eq!(RU.unread(11), "11 непрочитанных диалогов");
        assert_eq!(RU.unread(22), "22 непрочитанных диалога");
        assert_eq!(RU.new_messages(5), "5 новых сообщений");
        assert_eq!(EN.unread(1), "1 unread conversation");
        assert_eq!(EN.new_messages(2), "2 new messages");
    }
}
