//! Cursor paging as p1 documents it: `from` (an opaque token naming the last item returned),
//! `per` 1..=100 (default 50) and `sort_direction` asc|desc. An unknown `from` gives the first page.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::error::ApiError;
use crate::params::Params;

/// Default page size.
const DEFAULT_PER: usize = 50;
/// Longest `from` the docs allow.
const MAX_FROM_CHARS: usize = 255;

/// What kind of list a token belongs to, so a token of one list is "unknown" in another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Companies,
    Conversations,
    Channels,
    Messages,
}

impl ListKind {
    fn tag(self) -> &'static str {
        match self {
            ListKind::Companies => "co",
            ListKind::Conversations => "cv",
            ListKind::Channels => "ch",
            ListKind::Messages => "ms",
        }
    }
}

/// Sort key of an item: (time in ms, id); lists sorted by id use time 0.
pub type Key = (i64, i64);

/// A validated page request.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub after: Option<Key>,
    pub per: usize,
    pub descending: bool,
}

impl PageRequest {
    /// Reads `from`, `per` and `sort_direction` from the query.
    pub fn from_params(params: &Params, kind: ListKind) -> Result<PageRequest, ApiError> {
        let per = match params.first("per").map(str::trim) {
            None | Some("") => DEFAULT_PER,
            Some(raw) => parse_per(raw)?,
        };
        let descending = match params.first("sort_direction").map(str::trim) {
            None | Some("") => false,
            Some(raw) if raw.eq_ignore_ascii_case("asc") => false,
            Some(raw) if raw.eq_ignore_ascii_case("desc") => true,
            Some(_) => return Err(ApiError::bad_request("sort_direction must be asc or desc")),
        };
        let from = params.first("from").unwrap_or("");
        if from.chars().count() > MAX_FROM_CHARS {
            return Err(ApiError::bad_request(
                "from must be a string of at most 255 characters",
            ));
        }
        Ok(PageRequest {
            after: decode_token(from, kind),
            per,
            descending,
        })
    }

    /// Picks this page out of `items` (sorted ascending by `key`) and says whether more
    /// follow. Returns the indices of the page, in output order.
    pub fn select<T>(&self, items: &[T], key: impl Fn(&T) -> Key) -> (Vec<usize>, bool) {
        if self.descending {
            let end = match self.after {
                Some(after) => items.partition_point(|item| key(item) < after),
                None => items.len(),
            };
            let start = end.saturating_sub(self.per);
            ((start..end).rev().collect(), start > 0)
        } else {
            let start = match self.after {
                Some(after) => items.partition_point(|item| key(item) <= after),
                None => 0,
            };
            let end = (start + self.per).min(items.len());
            ((start..end).collect(), end < items.len())
        }
    }
}

fn parse_per(raw: &str) -> Result<usize, ApiError> {
    match raw.parse::<usize>() {
        Ok(per @ 1..=100) => Ok(per),
        _ => Err(ApiError::bad_request(
            "per must be a number between 1 and 100",
        )),
    }
}

/// The opaque `next_page` token that continues after `key`.
pub fn encode_token(kind: ListKind, key: Key) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{}:{}", kind.tag(), key.0, key.1))
}

fn decode_token(token: &str, kind: ListKind) -> Option<Key> {
    let bytes = URL_SAFE_NO_PAD.decode(token.trim().as_bytes()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.split(':');
    if parts.next()? != kind.tag() {
        return None;
    }
    let time = parts.next()?.parse().ok()?;
    let id = parts.next()?.parse().ok()?;
    parts.next().is_none().then_some((time, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(after: Option<Key>, per: usize, descending: bool) -> PageRequest {
        PageRequest {
            after,
            per,
            descending,
        }
    }

    #[test]
    fn ascending_pages_walk_the_list() {
        let keys: Vec<Key> = (1..=5).map(|i| (0, i)).collect();
        assert_eq!(
            request(None, 2, false).select(&keys, |k| *k),
            (vec![0, 1], true)
        );
        assert_eq!(
            request(Some((0, 2)), 2, false).select(&keys, |k| *k),
            (vec![2, 3], true)
        );
        assert_eq!(
            request(Some((0, 4)), 2, false).select(&keys, |k| *k),
            (vec![4], false)
        );
        assert_eq!(
            request(Some((0, 3)), 2, false).select(&keys, |k| *k),
            (vec![3, 4], false)
        );
    }

    #[test]
    fn descending_pages_walk_the_list() {
        let keys: Vec<Key> = (1..=5).map(|i| (0, i)).collect();
        assert_eq!(
            request(None, 2, true).select(&keys, |k| *k),
            (vec![4, 3], true)
        );
        assert_eq!(
            request(Some((0, 4)), 2, true).select(&keys, |k| *k),
            (vec![2, 1], true)
        );
        assert_eq!(
            request(Some((0, 2)), 2, true).select(&keys, |k| *k),
            (vec![0], false)
        );
    }

    #[test]
    fn tokens_round_trip_and_reject_other_lists() {
        let token = encode_token(ListKind::Messages, (1_700_000_000_123, 42));
        assert_eq!(
            decode_token(&token, ListKind::Messages),
            Some((1_700_000_000_123, 42))
        );
        assert_eq!(decode_token(&token, ListKind::Conversations), None);
        assert_eq!(decode_token("garbage!!", ListKind::Messages), None);
    }
}
