//! What the desktop window needs beyond the CLI: the inbox in pages with filters and a preview of the
//! newest message, per-company unread counts, older pages of a thread, a draft per conversation and
//! small key/value settings (the user's own id per account, recently used assignees).

use serde::Serialize;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use crate::error::{CoreError, Result};
use crate::model::{from_millis, now_millis, ConversationRef, ConversationView};
use crate::{MessageView, Parley};

/// The most conversations one inbox page may hold.
pub const MAX_PAGE: i64 = 1000;
/// The longest settings key.
const MAX_KEY_CHARS: usize = 200;
/// The longest settings value or draft.
const MAX_VALUE_CHARS: usize = 100_000;
/// How much of the newest message the inbox row shows.
const PREVIEW_CHARS: i64 = 160;
/// The settings key prefix holding the user's own id on an account (`my_user_id.<account>`).
pub const MY_USER_ID_PREFIX: &str = "my_user_id.";

/// Which conversations the inbox shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxFilter {
    /// Every conversation.
    All,
    /// Assigned to the user's own id on its account (the `my_user_id.<account>` setting).
    Mine,
    /// Assigned to nobody.
    Unassigned,
    /// Archived conversations (the other filters show only open ones).
    Archived,
}

impl InboxFilter {
    /// Parses `all`, `mine` or `unassigned`.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "all" => Ok(Self::All),
            "mine" => Ok(Self::Mine),
            "unassigned" => Ok(Self::Unassigned),
            "archived" => Ok(Self::Archived),
            other => Err(CoreError::InvalidInput(format!(
                "unknown filter \"{other}\" (known: all, mine, unassigned, archived)"
            ))),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Mine => "mine",
            Self::Unassigned => "unassigned",
            Self::Archived => "archived",
        }
    }
}

/// One page request of the inbox.
#[derive(Debug, Clone)]
pub struct InboxQuery {
    /// Only this account, by name.
    pub account: Option<String>,
    /// Only this company (provider id; with or without `account`).
    pub company: Option<String>,
    /// Which conversations.
    pub filter: InboxFilter,
    /// How many rows to skip, in activity order.
    pub offset: i64,
    /// How many rows at most (1..=[`MAX_PAGE`]).
    pub limit: i64,
}

/// A conversation row of the inbox: the conversation and a preview of its newest message.
#[derive(Debug, Clone, Serialize)]
pub struct ConversationSummary {
    /// The conversation.
    #[serde(flatten)]
    pub conversation: ConversationView,
    /// The start of the newest cached message's text.
    pub preview: Option<String>,
    /// `in` or `out`: who wrote the newest cached message.
    pub preview_direction: Option<String>,
    /// True when the newest cached message carries files.
    pub preview_has_files: bool,
    /// The assignee's name, where the agent or the provider named that teammate.
    pub assignee_name: Option<String>,
    /// Customer messages since the conversation was last read, counted up to
    /// [`UNREAD_COUNT_CAP`] (the list shows "9+" from ten on).
    pub unread_count: i64,
    /// True when an unsent draft is kept for the conversation.
    pub has_draft: bool,
    /// The contact's handle on the messenger (a phone number or a username), when the provider says.
    pub contact: Option<String>,
}

/// The most unread messages [`ConversationSummary::unread_count`] counts.
pub const UNREAD_COUNT_CAP: i64 = 10;

/// A page of the inbox and how many rows the whole filtered list has.
#[derive(Debug, Clone, Serialize)]
pub struct InboxPage {
    /// Rows in the whole filtered list.
    pub total: i64,
    /// Where this page starts.
    pub offset: i64,
    /// The rows, most recent activity first.
    pub items: Vec<ConversationSummary>,
}

/// How far the uploads of an outbox entry's files got, while one of them is on its way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct UploadProgress {
    /// The outbox entry.
    pub outbox_id: i64,
    /// Files uploaded so far (the one on its way is number `done + 1`).
    pub done: i64,
    /// Files to upload in all.
    pub total: i64,
    /// Bytes of the file on its way sent so far.
    pub bytes_sent: u64,
    /// That file's size in bytes.
    pub bytes_total: u64,
}

/// A company of an account with its conversation and unread counts, for the sidebar.
#[derive(Debug, Clone, Serialize)]
pub struct CompanySummary {
    /// The account's name.
    pub account: String,
    /// The provider's company id.
    pub company_id: String,
    /// The company's name, when known.
    pub name: Option<String>,
    /// Conversations cached for it.
    pub conversations: i64,
    /// Conversations with customer messages not yet opened.
    pub unread: i64,
}

const SUMMARY_COLUMNS: &str =
    "a.name AS account, c.provider_id, co.provider_id AS company, c.title,
    c.channel, c.last_message_at, c.assignee_id, c.note, c.bitrix_openlines,
    COALESCE(c.last_incoming_at, 0) > COALESCE(c.read_at, 0) AS unread,
    COALESCE(c.state, 'open') AS state, c.replied,
    substr(lm.text, 1, ?7) AS preview, lm.direction AS preview_direction,
    EXISTS (SELECT 1 FROM attachments f WHERE f.message_id = lm.id) AS preview_has_files,
    COALESCE((SELECT l.name FROM teammate_labels l WHERE l.account_id = c.account_id AND l.user_id = c.assignee_id),
             (SELECT t.name FROM teammates t WHERE t.account_id = c.account_id AND t.user_id = c.assignee_id))
        AS assignee_name,
    CASE WHEN COALESCE(c.last_incoming_at, 0) > COALESCE(c.read_at, 0)
         THEN MIN(10, (SELECT COUNT(*) FROM messages um WHERE um.conversation_id = c.id
                       AND um.direction = 'in' AND um.created_at > COALESCE(c.read_at, 0)))
         ELSE 0 END AS unread_count,
    EXISTS (SELECT 1 FROM drafts d WHERE d.conversation_id = c.id AND d.text <> '') AS has_draft,
    c.contact";

const SUMMARY_FROM: &str = "FROM conversations c
    JOIN accounts a ON a.id = c.account_id
    JOIN companies co ON co.id = c.company_id
    LEFT JOIN messages lm ON lm.id = (SELECT MAX(m.id) FROM messages m WHERE m.conversation_id = c.id)";

/// `?1` account, `?2` company, `?3` filter, `?4` conversation id (or NULL); `?5` limit, `?6` offset and
/// `?7` the preview length follow in the row queries.
const SUMMARY_WHERE: &str = "WHERE (?1 IS NULL OR a.name = ?1)
    AND (?2 IS NULL OR co.provider_id = ?2)
    AND (?4 IS NULL OR c.provider_id = ?4)
    AND (?4 IS NOT NULL OR (?3 = 'archived') = (COALESCE(c.state, 'open') = 'archived'))
    AND (?3 IN ('all', 'archived')
         OR (?3 = 'unassigned' AND (c.assignee_id IS NULL OR c.assignee_id = ''))
         OR (?3 = 'mine' AND c.assignee_id = (SELECT s.value FROM settings s WHERE s.key = 'my_user_id.' || a.name)))";

impl Parley {
    /// One page of the inbox, most recent activity first, with the size of the whole filtered list.
    pub async fn inbox_page(&self, query: &InboxQuery) -> Result<InboxPage> {
        if !(1..=MAX_PAGE).contains(&query.limit) || query.offset < 0 {
            return Err(CoreError::InvalidInput(format!(
                "an inbox page holds 1 to {MAX_PAGE} rows from offset 0 on"
            )));
        }
        let pool = self.store().pool();
        let total: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM conversations c JOIN accounts a ON a.id = c.account_id
             JOIN companies co ON co.id = c.company_id {SUMMARY_WHERE}"
        ))
        .bind(&query.account)
        .bind(&query.company)
        .bind(query.filter.as_str())
        .bind(None::<String>)
        .fetch_one(pool)
        .await?;
        let rows = sqlx::query(&format!(
            "SELECT {SUMMARY_COLUMNS} {SUMMARY_FROM} {SUMMARY_WHERE}
             ORDER BY c.last_message_at DESC NULLS LAST, c.id DESC LIMIT ?5 OFFSET ?6"
        ))
        .bind(&query.account)
        .bind(&query.company)
        .bind(query.filter.as_str())
        .bind(None::<String>)
        .bind(query.limit)
        .bind(query.offset)
        .bind(PREVIEW_CHARS)
        .fetch_all(pool)
        .await?;
        let items = rows.iter().map(summary_from_row).collect::<Result<_>>()?;
        Ok(InboxPage {
            total,
            offset: query.offset,
            items,
        })
    }

    /// The first unread row after row `after` of the filtered list (`None`: from the top), wrapping
    /// around to the top; `None` when no row of the list is unread. Answers the row's position and
    /// the row, so the window can scroll its virtual list there.
    pub async fn next_unread(
        &self,
        query: &InboxQuery,
        after: Option<i64>,
    ) -> Result<Option<(i64, ConversationSummary)>> {
        let positions: Vec<i64> = sqlx::query_scalar(&format!(
            "SELECT position FROM (
                 SELECT ROW_NUMBER() OVER (ORDER BY c.last_message_at DESC NULLS LAST, c.id DESC) - 1
                            AS position,
                        COALESCE(c.last_incoming_at, 0) > COALESCE(c.read_at, 0) AS unread
                 FROM conversations c JOIN accounts a ON a.id = c.account_id
                 JOIN companies co ON co.id = c.company_id {SUMMARY_WHERE})
             WHERE unread ORDER BY position > ?5 DESC, position LIMIT 1"
        ))
        .bind(&query.account)
        .bind(&query.company)
        .bind(query.filter.as_str())
        .bind(None::<String>)
        .bind(after.unwrap_or(-1))
        .fetch_all(self.store().pool())
        .await?;
        let Some(&position) = positions.first() else {
            return Ok(None);
        };
        let page = self
            .inbox_page(&InboxQuery {
                offset: position,
                limit: 1,
                ..query.clone()
            })
            .await?;
        Ok(page.items.into_iter().next().map(|row| (position, row)))
    }

    /// Other cached conversations with the same contact (on any account or messenger), newest
    /// first, at most 20: the details panel's past conversations.
    pub async fn conversations_with_same_contact(
        &self,
        conversation: &ConversationRef,
    ) -> Result<Vec<ConversationSummary>> {
        let cached = self
            .store()
            .conversation(&conversation.account, &conversation.id)
            .await?;
        // ?3 to ?6 are unused here; ?7 is the preview length SUMMARY_COLUMNS reads.
        let rows = sqlx::query(&format!(
            "SELECT {SUMMARY_COLUMNS} {SUMMARY_FROM}
             WHERE c.contact IS NOT NULL AND c.contact <> ''
               AND c.contact = (SELECT contact FROM conversations WHERE id = ?1) AND c.id <> ?2
               AND ?3 IS NULL AND ?4 IS NULL AND ?5 IS NULL AND ?6 IS NULL
             ORDER BY c.last_message_at DESC NULLS LAST, c.id DESC LIMIT 20"
        ))
        .bind(cached.id)
        .bind(cached.id)
        .bind(None::<i64>)
        .bind(None::<i64>)
        .bind(None::<i64>)
        .bind(None::<i64>)
        .bind(PREVIEW_CHARS)
        .fetch_all(self.store().pool())
        .await?;
        rows.iter().map(summary_from_row).collect()
    }

    /// Marks the conversation unread again: its newest customer message counts as not read yet.
    /// A conversation the customer never wrote in has nothing to mark: `invalid_input`.
    pub async fn mark_unread(&self, conversation: &ConversationRef) -> Result<()> {
        let cached = self
            .store()
            .conversation(&conversation.account, &conversation.id)
            .await?;
        let changed = sqlx::query(
            "UPDATE conversations SET read_at = last_incoming_at - 1
             WHERE id = ? AND last_incoming_at IS NOT NULL",
        )
        .bind(cached.id)
        .execute(self.store().pool())
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(CoreError::InvalidInput(
                "the customer has not written in this conversation yet".to_string(),
            ));
        }
        Ok(())
    }

    /// One conversation as an inbox row (for a search hit whose row is not loaded).
    pub async fn conversation_summary(
        &self,
        conversation: &ConversationRef,
    ) -> Result<ConversationSummary> {
        let row = sqlx::query(&format!(
            "SELECT {SUMMARY_COLUMNS} {SUMMARY_FROM} {SUMMARY_WHERE} LIMIT ?5 OFFSET ?6"
        ))
        .bind(&conversation.account)
        .bind(None::<String>)
        .bind("all")
        .bind(&conversation.id)
        .bind(1_i64)
        .bind(0_i64)
        .bind(PREVIEW_CHARS)
        .fetch_optional(self.store().pool())
        .await?
        .ok_or_else(|| {
            CoreError::NotFound(format!("no conversation {conversation} in the cache"))
        })?;
        summary_from_row(&row)
    }

    /// Every company of every account with its conversation and unread counts.
    pub async fn company_summaries(&self) -> Result<Vec<CompanySummary>> {
        let rows = sqlx::query(
            "SELECT a.name AS account, co.provider_id AS company, co.name, COUNT(c.id) AS conversations,
                    COALESCE(SUM(COALESCE(c.last_incoming_at, 0) > COALESCE(c.read_at, 0)), 0) AS unread
             FROM companies co JOIN accounts a ON a.id = co.account_id
             LEFT JOIN conversations c ON c.company_id = co.id
             GROUP BY co.id ORDER BY a.name, co.name, co.provider_id",
        )
        .fetch_all(self.store().pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(CompanySummary {
                    account: row.try_get("account")?,
                    company_id: row.try_get("company")?,
                    name: row.try_get("name")?,
                    conversations: row.try_get("conversations")?,
                    unread: row.try_get("unread")?,
                })
            })
            .collect()
    }

    /// The `limit` cached messages written just before message `before` (a provider message id),
    /// oldest first: the page above what the thread shows. Empty when the history is all shown.
    pub async fn messages_before(
        &self,
        conversation: &ConversationRef,
        before: &str,
        limit: i64,
    ) -> Result<Vec<MessageView>> {
        let cached = self
            .store()
            .conversation(&conversation.account, &conversation.id)
            .await?;
        let pool = self.store().pool();
        let cursor: i64 = sqlx::query_scalar(
            "SELECT id FROM messages WHERE conversation_id = ? AND provider_id = ?",
        )
        .bind(cached.id)
        .bind(before)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| {
            CoreError::NotFound(format!("message {before} is not in the cached thread"))
        })?;
        Ok(self
            .store()
            .cached_messages_before(cached.id, Some(cursor), Some(limit.clamp(1, MAX_PAGE)))
            .await?
            .into_iter()
            .map(|(_, view)| view)
            .collect())
    }

    /// Every upload on its way now (of any outbox entry), with how far it got. Reads memory only, so
    /// a progress display can ask often.
    pub fn uploads_in_flight(&self) -> Vec<UploadProgress> {
        self.uploads.snapshot()
    }

    /// The unsent draft of the conversation, if any.
    pub async fn draft(&self, conversation: &ConversationRef) -> Result<Option<String>> {
        let cached = self
            .store()
            .conversation(&conversation.account, &conversation.id)
            .await?;
        Ok(
            sqlx::query_scalar("SELECT text FROM drafts WHERE conversation_id = ?")
                .bind(cached.id)
                .fetch_optional(self.store().pool())
                .await?,
        )
    }

    /// Keeps the draft of the conversation; an empty text removes it.
    pub async fn save_draft(&self, conversation: &ConversationRef, text: &str) -> Result<()> {
        check_length("a draft", text, MAX_VALUE_CHARS)?;
        let cached = self
            .store()
            .conversation(&conversation.account, &conversation.id)
            .await?;
        let query = if text.is_empty() {
            sqlx::query("DELETE FROM drafts WHERE conversation_id = ?").bind(cached.id)
        } else {
            sqlx::query(
                "INSERT INTO drafts (conversation_id, text, updated_at) VALUES (?, ?, ?)
                 ON CONFLICT (conversation_id) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at",
            )
            .bind(cached.id)
            .bind(text)
            .bind(now_millis())
        };
        query.execute(self.store().pool()).await?;
        Ok(())
    }

    /// A setting's value, if set.
    pub async fn setting(&self, key: &str) -> Result<Option<String>> {
        check_length("a settings key", key, MAX_KEY_CHARS)?;
        Ok(
            sqlx::query_scalar("SELECT value FROM settings WHERE key = ?")
                .bind(key)
                .fetch_optional(self.store().pool())
                .await?,
        )
    }

    /// Sets a setting; an empty value removes it.
    pub async fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        check_length("a settings key", key, MAX_KEY_CHARS)?;
        check_length("a settings value", value, MAX_VALUE_CHARS)?;
        if key.is_empty() {
            return Err(CoreError::InvalidInput(
                "a settings key is not empty".to_string(),
            ));
        }
        let query = if value.is_empty() {
            sqlx::query("DELETE FROM settings WHERE key = ?").bind(key)
        } else {
            sqlx::query(
                "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            )
            .bind(key)
            .bind(value)
            .bind(now_millis())
        };
        query.execute(self.store().pool()).await?;
        Ok(())
    }
}

fn check_length(what: &str, text: &str, max: usize) -> Result<()> {
    if text.chars().count() > max {
        return Err(CoreError::InvalidInput(format!(
            "{what} is longer than {max} characters"
        )));
    }
    Ok(())
}

fn summary_from_row(row: &SqliteRow) -> Result<ConversationSummary> {
    Ok(ConversationSummary {
        conversation: ConversationView {
            account: row.try_get("account")?,
            id: row.try_get("provider_id")?,
            company_id: row.try_get("company")?,
            title: row.try_get("title")?,
            channel: row.try_get("channel")?,
            last_message_at: row
                .try_get::<Option<i64>, _>("last_message_at")?
                .map(from_millis),
            assignee_id: row.try_get("assignee_id")?,
            note: row.try_get("note")?,
            bitrix_openlines: row.try_get("bitrix_openlines")?,
            unread: row.try_get("unread")?,
            state: row.try_get("state")?,
            replied: row.try_get("replied")?,
        },
        preview: row.try_get("preview")?,
        preview_direction: row.try_get("preview_direction")?,
        preview_has_files: row.try_get("preview_has_files")?,
        assignee_name: row.try_get("assignee_name")?,
        unread_count: row.try_get("unread_count")?,
        has_draft: row.try_get("has_draft")?,
        contact: row.try_get("contact")?,
    })
}
