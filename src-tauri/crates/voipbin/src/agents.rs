//! The customer's agents (`GET /v1.0/agents`): the teammates a conversation can be assigned to.
//! Listing them needs an admin or manager login; an ordinary agent gets
//! [`Error::PermissionDenied`](crate::Error::PermissionDenied).

use futures::Stream;
use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::models::{non_blank, null_as_default, Address, Page};
use crate::paging::{self, parse_page};
use crate::timestamp::{self, Timestamp};
use crate::transport::Call;
use crate::{Error, VoipbinClient};

/// An agent of the customer. Every field but `id` may be missing; unknown fields are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Agent {
    /// Agent UUID: what a conversation's `owner_id` holds.
    pub id: String,
    /// Login name (often an e-mail address).
    pub username: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// Free-text description.
    pub detail: Option<String>,
    /// How calls ring the agent's addresses (`ringall`, `linear`).
    pub ring_method: Option<String>,
    /// Presence: `available`, `away`, `busy`, `offline`, `ringing`.
    pub status: Option<String>,
    /// Permission bits (admin, manager, ...), as the server sent them; `None` when not a number.
    #[serde(deserialize_with = "parley_http::lenient::opt_u64")]
    pub permission: Option<u64>,
    /// Tags the agent carries.
    #[serde(deserialize_with = "null_as_default")]
    pub tag_ids: Vec<String>,
    /// Where the agent is reached.
    #[serde(deserialize_with = "null_as_default")]
    pub addresses: Vec<Address>,
    /// Creation time, raw.
    pub tm_create: Option<String>,
    /// Last update, raw.
    pub tm_update: Option<String>,
    /// Deletion time, raw (`9999-01-01 …` or null: not deleted).
    pub tm_delete: Option<String>,
}

impl Agent {
    /// The name to show: `name`, else `username`, skipping blanks.
    pub fn display_name(&self) -> Option<&str> {
        non_blank(self.name.as_deref()).or_else(|| non_blank(self.username.as_deref()))
    }

    /// Whether the agent has a real deletion time.
    pub fn is_deleted(&self) -> bool {
        matches!(
            timestamp::parse_optional(self.tm_delete.as_deref()),
            Timestamp::At(_)
        )
    }
}

impl VoipbinClient {
    /// One page of the customer's agents (`GET /v1.0/agents`), newest first.
    pub async fn agents_page(
        &self,
        page_size: u32,
        page_token: Option<&str>,
    ) -> Result<Page<Agent>, Error> {
        let call = paging::with_page(agents_call(), page_size, page_token);
        let body = self.transport().send_json(&call).await?;
        Ok(parse_page(body)?.page)
    }

    /// Every page of the customer's agents, ending at an empty or short page.
    pub fn agent_pages(
        &self,
        page_size: u32,
    ) -> impl Stream<Item = Result<Page<Agent>, Error>> + Send + 'static {
        paging::pages(self.clone(), agents_call(), page_size)
    }
}

fn agents_call() -> Call {
    Call::new(Method::GET, &["agents"])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn agent(value: Value) -> Agent {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn the_name_falls_back_to_the_username() {
        let named = agent(json!({"id": "a", "name": "Olga", "username": "olga@example.com"}));
        assert_eq!(named.display_name(), Some("Olga"));
        let unnamed = agent(json!({"id": "b", "name": "  ", "username": "ivan@example.com"}));
        assert_eq!(unnamed.display_name(), Some("ivan@example.com"));
        assert_eq!(agent(json!({"id": "c"})).display_name(), None);
    }

    #[test]
    fn odd_field_types_do_not_lose_the_agent() {
        let odd = agent(json!({
            "id": "a",
            "name": "Olga",
            "permission": "64",
            "tag_ids": null,
            "addresses": null,
            "extra": {"anything": true}
        }));
        assert_eq!(odd.permission, Some(64));
        assert!(odd.tag_ids.is_empty() && odd.addresses.is_empty());
        let worded = agent(json!({"id": "b", "permission": "admin"}));
        assert_eq!(worded.permission, None);
    }

    #[test]
    fn only_a_real_deletion_time_deletes() {
        let live = agent(json!({"id": "a", "tm_delete": "9999-01-01 00:00:00.000000"}));
        assert!(!live.is_deleted());
        let gone = agent(json!({"id": "b", "tm_delete": "2026-01-02 03:04:05.000000"}));
        assert!(gone.is_deleted());
    }
}
