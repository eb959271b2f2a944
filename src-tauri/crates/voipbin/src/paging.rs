//! Pagination: `page_size` (at most 100) and `page_token` (the last item's raw `tm_create`), newest
//! first. The end is an empty or short page; a non-empty page always carries a token, so the token
//! alone never ends a list. A token seen twice is an error instead of an endless loop.

use std::collections::HashSet;

use futures::Stream;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::models::Page;
use crate::transport::Call;
use crate::{Error, VoipbinClient};

/// Largest page the API serves.
pub const MAX_PAGE_SIZE: u32 = 100;

/// A page as read, with what is needed to ask for the next one.
pub(crate) struct RawPage<T> {
    pub page: Page<T>,
    /// Items on the page, readable or not.
    pub len: usize,
    /// The token for the page after this one.
    pub next_token: Option<String>,
}

/// Clamps a requested page size to `1..=100`.
pub(crate) fn clamp_page_size(page_size: u32) -> u32 {
    page_size.clamp(1, MAX_PAGE_SIZE)
}

/// Adds `page_size` and `page_token` to a list call.
pub(crate) fn with_page(mut call: Call, page_size: u32, page_token: Option<&str>) -> Call {
    call.query
        .push(("page_size", clamp_page_size(page_size).to_string()));
    if let Some(token) = page_token.filter(|t| !t.is_empty()) {
        call.query.push(("page_token", token.to_string()));
    }
    call
}

/// Reads `{"result": [...], "next_page_token": "..."}`; items that cannot be read are counted and skipped.
pub(crate) fn parse_page<T: DeserializeOwned>(body: Value) -> Result<RawPage<T>, Error> {
    let Value::Object(mut object) = body else {
        return Err(Error::invalid_response(
            "list response is not a JSON object",
        ));
    };
    let server_token = match object.remove("next_page_token") {
        Some(Value::String(token)) if !token.is_empty() => Some(token),
        _ => None,
    };
    let raw_items = match object.remove("result") {
        Some(Value::Array(items)) => items,
        Some(Value::Null) | None => Vec::new(),
        Some(_) => return Err(Error::invalid_response("list `result` is not an array")),
    };
    let last_created = raw_items
        .last()
        .and_then(|item| item.get("tm_create"))
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    let len = raw_items.len();
    let items: Vec<T> = raw_items.into_iter().filter_map(read_item).collect();
    Ok(RawPage {
        page: Page {
            skipped: len - items.len(),
            items,
            next_page_token: server_token.clone(),
            resume_token: last_created.clone().or(server_token.clone()),
        },
        len,
        next_token: last_created.or(server_token),
    })
}

/// An item with a non-empty `id` that fits the model, or `None` (logged).
fn read_item<T: DeserializeOwned>(item: Value) -> Option<T> {
    let has_id = item
        .get("id")
        .and_then(Value::as_str)
        .is_some_and(|id| !id.trim().is_empty());
    if !has_id {
        tracing::warn!("voipbin list item without an id skipped");
        return None;
    }
    serde_json::from_value(item)
        // The error itself may quote the item's fields (a customer's text): only its kind is logged.
        .map_err(
            |e| tracing::warn!(category = ?e.classify(), "unreadable voipbin list item skipped"),
        )
        .ok()
}

/// What comes after the page just yielded.
enum Next {
    Token(Option<String>),
    Done,
    Failed(Error),
}

struct PagerState {
    client: VoipbinClient,
    call: Call,
    page_size: u32,
    next: Next,
    seen: HashSet<String>,
}

/// Every page of a list call, newest first, until an empty or short page.
pub(crate) fn pages<T>(
    client: VoipbinClient,
    call: Call,
    page_size: u32,
) -> impl Stream<Item = Result<Page<T>, Error>> + Send + 'static
where
    T: DeserializeOwned + Send + 'static,
{
    pages_from(client, call, page_size, None)
}

/// Like [`pages`], starting at `page_token` (a page's `resume_token`), or at the newest.
pub(crate) fn pages_from<T>(
    client: VoipbinClient,
    call: Call,
    page_size: u32,
    page_token: Option<String>,
) -> impl Stream<Item = Result<Page<T>, Error>> + Send + 'static
where
    T: DeserializeOwned + Send + 'static,
{
    let state = PagerState {
        client,
        call,
        page_size: clamp_page_size(page_size),
        next: Next::Token(page_token.filter(|token| !token.is_empty())),
        seen: HashSet::new(),
    };
    futures::stream::try_unfold(state, |mut state| async move {
        let token = match std::mem::replace(&mut state.next, Next::Done) {
            Next::Done => return Ok(None),
            Next::Failed(error) => return Err(error),
            Next::Token(token) => token,
        };
        let call = with_page(state.call.clone(), state.page_size, token.as_deref());
        let mut raw: RawPage<T> = parse_page(state.client.transport().send_json(&call).await?)?;
        state.next = next_after(&raw, state.page_size, &mut state.seen);
        raw.page.resume_token = match &state.next {
            Next::Token(token) => token.clone(),
            Next::Done | Next::Failed(_) => None,
        };
        Ok(Some((raw.page, state)))
    })
}

fn next_after<T>(raw: &RawPage<T>, page_size: u32, seen: &mut HashSet<String>) -> Next {
    if raw.len == 0 || raw.len < page_size as usize {
        return Next::Done;
    }
    match &raw.next_token {
        None => Next::Failed(Error::invalid_response(
            "a full page came without a page token",
        )),
        Some(token) if !seen.insert(token.clone()) => Next::Failed(Error::invalid_response(
            format!("the server repeated page token {token:?}; stopping to avoid a loop"),
        )),
        Some(token) => Next::Token(Some(token.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Conversation;
    use serde_json::json;

    #[test]
    fn token_is_the_last_items_tm_create() {
        let body = json!({
            "result": [
                {"id": "a", "tm_create": "2022-06-17 06:06:15.000000"},
                {"id": "b", "tm_create": "2022-06-17 06:06:14.446158"}
            ],
            "next_page_token": "something-else"
        });
        let raw: RawPage<Conversation> = parse_page(body).unwrap();
        assert_eq!(raw.len, 2);
        assert_eq!(
            raw.next_token.as_deref(),
            Some("2022-06-17 06:06:14.446158")
        );
        assert_eq!(raw.page.next_page_token.as_deref(), Some("something-else"));
    }

    #[test]
    fn unreadable_items_are_skipped_but_counted() {
        let body = json!({"result": [{"id": ""}, {"name": "x"}, {"id": "ok", "participants": 5}, {"id": "c"}]});
        let raw: RawPage<Conversation> = parse_page(body).unwrap();
        assert_eq!(raw.len, 4);
        assert_eq!(raw.page.skipped, 3);
        assert_eq!(raw.page.items[0].id, "c");
    }

    #[test]
    fn missing_or_null_result_is_an_empty_page() {
        let raw: RawPage<Conversation> = parse_page(json!({})).unwrap();
        assert_eq!(raw.len, 0);
        let raw: RawPage<Conversation> = parse_page(json!({"result": null})).unwrap();
        assert_eq!(raw.len, 0);
        assert!(parse_page::<Conversation>(json!([1])).is_err());
    }

    #[test]
    fn page_size_is_clamped() {
        assert_eq!(clamp_page_size(0), 1);
        assert_eq!(clamp_page_size(500), 100);
    }
}
