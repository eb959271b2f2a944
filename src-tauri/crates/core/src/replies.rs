//! Saved replies: texts the agent keeps for one account or for all, picked by title and inserted
//! into the composer with `{name}` filled from the conversation's contact.

use serde::Serialize;

use crate::error::{CoreError, Result};
use crate::model::{Account, ConversationRef};
use crate::store::StoredReply;
use crate::Parley;

/// The longest title a saved reply may have, in characters.
pub const MAX_REPLY_TITLE_CHARS: usize = 100;
/// The longest text a saved reply may have, in characters.
pub const MAX_REPLY_TEXT_CHARS: usize = 4000;
/// What [`Parley::fill_saved_reply`] replaces with the contact's name.
pub const NAME_PLACEHOLDER: &str = "{name}";

/// A reusable reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SavedReply {
    /// Id.
    pub id: i64,
    /// What the agent picks it by.
    pub title: String,
    /// The text, `{name}` standing for the contact's name.
    pub text: String,
    /// The account it belongs to; `None` when it is usable in every account.
    pub account: Option<String>,
}

impl From<StoredReply> for SavedReply {
    fn from(stored: StoredReply) -> Self {
        Self {
            id: stored.id,
            title: stored.title,
            text: stored.text,
            account: stored.account,
        }
    }
}

impl Parley {
    /// Replies usable in `account` (its own and the all-accounts ones), or every reply with
    /// `None`; sorted by title, case-insensitively.
    pub async fn saved_replies(&self, account: Option<&str>) -> Result<Vec<SavedReply>> {
        let account = self.reply_account(account).await?;
        let mut replies: Vec<SavedReply> = self
            .store
            .saved_replies(account.map(|account| account.id))
            .await?
            .into_iter()
            .map(SavedReply::from)
            .collect();
        replies.sort_by_cached_key(|reply| (reply.title.to_lowercase(), reply.id));
        Ok(replies)
    }

    /// Saves a new reply for `account`, or for every account with `None`.
    pub async fn add_saved_reply(
        &self,
        title: &str,
        text: &str,
        account: Option<&str>,
    ) -> Result<SavedReply> {
        validate_reply(title, text)?;
        let account = self.reply_account(account).await?;
        let id = self
            .store
            .insert_saved_reply(account.map(|account| account.id), title, text)
            .await?;
        Ok(self.store.saved_reply(id).await?.into())
    }

    /// Replaces a reply's title, text and account (`None`: every account).
    pub async fn update_saved_reply(
        &self,
        id: i64,
        title: &str,
        text: &str,
        account: Option<&str>,
    ) -> Result<SavedReply> {
        validate_reply(title, text)?;
        let account = self.reply_account(account).await?;
        self.store
            .update_saved_reply(id, account.map(|account| account.id), title, text)
            .await?;
        Ok(self.store.saved_reply(id).await?.into())
    }

    /// Deletes a reply; an unknown id is `not_found`.
    pub async fn remove_saved_reply(&self, id: i64) -> Result<()> {
        self.store.delete_saved_reply(id).await
    }

    /// The reply's text for the conversation: `{name}` becomes the contact's name (the
    /// conversation's title); without a name the placeholder is removed cleanly ("Hello {name},"
    /// gives "Hello,"). Other braces stay as written. A reply of another account is refused.
    pub async fn fill_saved_reply(
        &self,
        id: i64,
        conversation: &ConversationRef,
    ) -> Result<String> {
        let reply = self.store.saved_reply(id).await?;
        let cached = self
            .store
            .conversation(&conversation.account, &conversation.id)
            .await?;
        if let Some(owner) = reply.account_id.filter(|owner| *owner != cached.account_id) {
            let owner = self.store.account_by_id(owner).await?;
            return Err(CoreError::InvalidInput(format!(
                "saved reply {id} belongs to account \"{}\", not \"{}\"",
                owner.name, conversation.account
            )));
        }
        let name = self
            .store
            .conversation_title(cached.id)
            .await?
            .map(|title| title.trim().to_string())
            // A provider without a name for the contact may put its id in the title.
            .filter(|title| !title.is_empty() && *title != cached.provider_id);
        Ok(fill_name(&reply.text, name.as_deref()))
    }

    /// The account a reply is scoped to; an unknown name is invalid input.
    async fn reply_account(&self, account: Option<&str>) -> Result<Option<Account>> {
        let Some(name) = account else {
            return Ok(None);
        };
        match self.store.account(name).await {
            Ok(account) => Ok(Some(account)),
            Err(CoreError::NotFound(_)) => Err(CoreError::InvalidInput(format!(
                "there is no account named \"{name}\" (see `parley-cli account list`)"
            ))),
            Err(error) => Err(error),
        }
    }
}

fn validate_reply(title: &str, text: &str) -> Result<()> {
    let invalid = |message: String| Err(CoreError::InvalidInput(message));
    if title.trim().is_empty() {
        return invalid("a saved reply needs a title".to_string());
    }
    if title.chars().count() > MAX_REPLY_TITLE_CHARS {
        return invalid(format!(
            "a saved reply's title is at most {MAX_REPLY_TITLE_CHARS} characters"
        ));
    }
    if title.chars().any(char::is_control) {
        return invalid("a saved reply's title must be one line of text".to_string());
    }
    if text.trim().is_empty() {
        return invalid("a saved reply needs a text".to_string());
    }
    if text.chars().count() > MAX_REPLY_TEXT_CHARS {
        return invalid(format!(
            "a saved reply's text is at most {MAX_REPLY_TEXT_CHARS} characters"
        ));
    }
    Ok(())
}

/// Replaces every `{name}` in `text` with `name`, or without one removes each placeholder with the
/// space or comma that only stood there for it.
fn fill_name(text: &str, name: Option<&str>) -> String {
    if let Some(name) = name {
        return text.replace(NAME_PLACEHOLDER, name);
    }
    let mut filled = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(NAME_PLACEHOLDER) {
        filled.push_str(&rest[..at]);
        rest = &rest[at + NAME_PLACEHOLDER.len()..];
        let kept = filled.trim_end_matches(is_blank).len();
        let line_start = kept == 0 || filled[..kept].ends_with('\n');
        let next = rest.chars().next();
        if line_start {
            // "{name}, thanks" -> "thanks"
            filled.truncate(kept);
            rest = rest.trim_start_matches(is_blank);
            if let Some(after_comma) = rest.strip_prefix(',') {
                rest = after_comma.trim_start_matches(is_blank);
            }
        } else if next.is_none_or(|c| c == '\n' || c == '\r' || is_closing(c)) {
            // "Hello {name}," -> "Hello,"; "Thanks, {name}!" -> "Thanks!"
            filled.truncate(kept);
            if filled.ends_with(',') && next != Some(',') {
                filled.pop();
            }
        } else if next.is_some_and(is_blank) && kept < filled.len() {
            // "Dear {name} and team" -> "Dear and team"
            filled.truncate(kept);
        }
    }
    filled.push_str(rest);
    filled
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn is_closing(c: char) -> bool {
    matches!(c, ',' | '.' | '!' | '?' | ';' | ':' | ')' | '…')
}

#[cfg(test)]
mod tests {
    use super::fill_name;

    #[test]
    fn the_name_replaces_every_placeholder() {
        assert_eq!(
            fill_name("Hello {name}, {name} is on the list {ok}", Some("Anna")),
            "Hello Anna, Anna is on the list {ok}"
        );
    }

    #[test]
    fn without_a_name_the_placeholder_leaves_no_stray_space_or_comma() {
        for (text, filled) in [
            ("Hello {name},", "Hello,"),
            ("Hello {name}, how are you?", "Hello, how are you?"),
            ("Hi {name}!", "Hi!"),
            ("Thanks, {name}.", "Thanks."),
            ("Thanks, {name}", "Thanks"),
            ("{name}, your order is ready", "your order is ready"),
            ("Dear {name} and team", "Dear and team"),
            ("Line one\n{name}, line two", "Line one\nline two"),
            ("Hello {name}\nBye", "Hello\nBye"),
            ("{greeting} {name}{x}", "{greeting} {x}"),
            ("no placeholder {here}", "no placeholder {here}"),
        ] {
            assert_eq!(fill_name(text, None), filled, "for {text:?}");
        }
    }
}
