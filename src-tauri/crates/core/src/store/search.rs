//! Full-text search over cached message text and conversation names, newest first.

use sqlx::Row;

use super::Store;
use crate::error::{CoreError, Result};
use crate::model::{from_millis, SearchHit};

/// Turns what the user typed into a safe FTS5 query: every word must occur, with `prefix` the last one
/// as a prefix (so "deliv" finds "delivery"). FTS5 operators and quotes typed by the user are taken
/// literally, never as syntax.
pub fn fts_query(input: &str, prefix: bool) -> Option<String> {
    let words: Vec<String> = input
        .split_whitespace()
        .map(|word| word.trim_matches(|c: char| !c.is_alphanumeric()))
        .filter(|word| !word.is_empty())
        .map(|word| format!("\"{}\"", word.replace('"', "\"\"")))
        .collect();
    let (last, rest) = words.split_last()?;
    let mut query = rest.join(" ");
    if !query.is_empty() {
        query.push(' ');
    }
    query.push_str(last);
    if prefix {
        query.push('*');
    }
    Some(query)
}

/// The message search. MATCH runs in the inner query ordered by rowid, which is time-ordered: the index
/// hands back the newest matches first and stops at the limit, however common the word. Public so
/// benchmarks can print its query plan.
pub const MESSAGE_SEARCH_SQL: &str =
    "SELECT a.name AS account, c.provider_id AS conversation, m.provider_id AS message_id,
            hits.snippet, m.created_at
     FROM (SELECT rowid, snippet(messages_fts, 0, '', '', '…', 16) AS snippet
           FROM messages_fts WHERE messages_fts MATCH ? ORDER BY rowid DESC LIMIT ?) hits
     JOIN messages m ON m.id = hits.rowid
     JOIN conversations c ON c.id = m.conversation_id
     JOIN accounts a ON a.id = m.account_id
     ORDER BY m.id DESC";

impl Store {
    /// Searches messages (newest first) and conversation names, at most `limit` hits of each.
    ///
    /// Whole words are tried first: a common word fills the limit straight from the index. Only when
    /// they find fewer hits than asked is the last word taken as a prefix, which makes SQLite gather every
    /// word starting with it (costly for a short prefix of a common word, cheap otherwise).
    pub async fn search(&self, input: &str, limit: i64) -> Result<Vec<SearchHit>> {
        let (Some(exact), Some(prefix)) = (fts_query(input, false), fts_query(input, true)) else {
            return Err(CoreError::InvalidInput(
                "type at least one word to search for".to_string(),
            ));
        };
        // Rows written by a sync that was interrupted before indexing are indexed now.
        self.index_pending_messages().await?;
        let mut hits = self.search_conversation_names(&prefix, limit).await?;
        let mut messages = self.search_messages(&exact, limit).await?;
        if (messages.len() as i64) < limit {
            messages = self.search_messages(&prefix, limit).await?;
        }
        hits.extend(messages);
        Ok(hits)
    }

    async fn search_messages(&self, query: &str, limit: i64) -> Result<Vec<SearchHit>> {
        let rows = sqlx::query(MESSAGE_SEARCH_SQL)
            .bind(query)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(hit_from_row).collect()
    }

    async fn search_conversation_names(&self, query: &str, limit: i64) -> Result<Vec<SearchHit>> {
        let rows = sqlx::query(
            "SELECT a.name AS account, c.provider_id AS conversation, NULL AS message_id,
                    COALESCE(c.title, '') AS snippet, c.last_message_at AS created_at
             FROM (SELECT rowid FROM conversations_fts WHERE conversations_fts MATCH ? LIMIT ?) hits
             JOIN conversations c ON c.id = hits.rowid JOIN accounts a ON a.id = c.account_id
             ORDER BY c.last_message_at DESC NULLS LAST",
        )
        .bind(query)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(hit_from_row).collect()
    }
}

/// A hit from a row of `account, conversation, message_id, snippet, created_at`.
fn hit_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<SearchHit> {
    let account: String = row.try_get("account")?;
    let conversation: String = row.try_get("conversation")?;
    Ok(SearchHit {
        conversation: format!("{account}/{conversation}"),
        account,
        message_id: row.try_get("message_id")?,
        snippet: row.try_get("snippet")?,
        created_at: row
            .try_get::<Option<i64>, _>("created_at")?
            .map(from_millis),
    })
}

#[cfg(test)]
mod tests {
    use super::fts_query;

    #[test]
    fn user_syntax_is_quoted_and_the_last_word_may_be_a_prefix() {
        let query = |text, prefix| fts_query(text, prefix);
        assert_eq!(
            query("hello world", true).as_deref(),
            Some("\"hello\" \"world\"*")
        );
        assert_eq!(
            query("hello world", false).as_deref(),
            Some("\"hello\" \"world\"")
        );
        assert_eq!(
            query("NEAR(a b) OR \"x", true).as_deref(),
            Some("\"NEAR(a\" \"b\" \"OR\" \"x\"*")
        );
        assert_eq!(query("  ", true).as_deref(), None);
        assert_eq!(query("привет", true).as_deref(), Some("\"привет\"*"));
    }
}
