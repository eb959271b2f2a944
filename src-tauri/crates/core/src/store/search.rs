//! Full-text search over cached message text and conversation names, newest first.

use sqlx::Row;

use super::Store;
use crate::error::{CoreError, Result};
use crate::model::{from_millis, SearchHit};

/// Turns what the user typed into a safe FTS5 query: every word must occur, the last one as a prefix.
/// FTS5 operators and quotes typed by the user are taken literally, never as syntax.
pub fn fts_query(input: &str) -> Option<String> {
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
    query.push('*');
    Some(query)
}

impl Store {
    /// Searches messages (newest first) and conversation names, at most `limit` hits of each.
    pub async fn search(&self, input: &str, limit: i64) -> Result<Vec<SearchHit>> {
        let Some(query) = fts_query(input) else {
            return Err(CoreError::InvalidInput(
                "type at least one word to search for".to_string(),
            ));
        };
        // Rows written by a sync that was interrupted before indexing are indexed now.
        self.index_pending_messages().await?;
        let mut hits = self.search_conversation_names(&query, limit).await?;
        hits.extend(self.search_messages(&query, limit).await?);
        Ok(hits)
    }

    async fn search_messages(&self, query: &str, limit: i64) -> Result<Vec<SearchHit>> {
        // MATCH runs in the inner query ordered by rowid, which is time-ordered: the index hands back the
        // newest matches first and stops at the limit, however common the word.
        let rows = sqlx::query(
            "SELECT a.name AS account, c.provider_id AS conversation, m.provider_id AS message_id,
                    hits.snippet, m.created_at
             FROM (SELECT rowid, snippet(messages_fts, 0, '', '', '…', 16) AS snippet
                   FROM messages_fts WHERE messages_fts MATCH ? ORDER BY rowid DESC LIMIT ?) hits
             JOIN messages m ON m.id = hits.rowid
             JOIN conversations c ON c.id = m.conversation_id
             JOIN accounts a ON a.id = m.account_id
             ORDER BY m.id DESC",
        )
        .bind(query)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let account: String = row.try_get("account")?;
                let conversation: String = row.try_get("conversation")?;
                Ok(SearchHit {
                    conversation: format!("{account}/{conversation}"),
                    account,
                    message_id: Some(row.try_get("message_id")?),
                    snippet: row.try_get("snippet")?,
                    created_at: Some(from_millis(row.try_get("created_at")?)),
                })
            })
            .collect()
    }

    async fn search_conversation_names(&self, query: &str, limit: i64) -> Result<Vec<SearchHit>> {
        let rows = sqlx::query(
            "SELECT a.name AS account, c.provider_id AS conversation, c.title, c.last_message_at
             FROM (SELECT rowid FROM conversations_fts WHERE conversations_fts MATCH ? LIMIT ?) hits
             JOIN conversations c ON c.id = hits.rowid JOIN accounts a ON a.id = c.account_id
             ORDER BY c.last_message_at DESC NULLS LAST",
        )
        .bind(query)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let account: String = row.try_get("account")?;
                let conversation: String = row.try_get("conversation")?;
                Ok(SearchHit {
                    conversation: format!("{account}/{conversation}"),
                    account,
                    message_id: None,
                    snippet: row
                        .try_get::<Option<String>, _>("title")?
                        .unwrap_or_default(),
                    created_at: row
                        .try_get::<Option<i64>, _>("last_message_at")?
                        .map(from_millis),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::fts_query;

    #[test]
    fn user_syntax_is_quoted_and_the_last_word_is_a_prefix() {
        assert_eq!(
            fts_query("hello world").as_deref(),
            Some("\"hello\" \"world\"*")
        );
        assert_eq!(
            fts_query("NEAR(a b) OR \"x").as_deref(),
            Some("\"NEAR(a\" \"b\" \"OR\" \"x\"*")
        );
        assert_eq!(fts_query("  ").as_deref(), None);
        assert_eq!(fts_query("привет").as_deref(), Some("\"привет\"*"));
    }
}
