//! Success bodies: `{"<key>": {...}}` for one entity, `{"<key>": [...], "meta": {...}}` for a
//! page. A body that is not JSON, lacks its key, or holds an item that is not an object with an
//! id is an [`Error::InvalidResponse`] (never a panic, never a silently shorter page); a body that
//! is an `{"errors":[...]}` list is the error it describes.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{Error, Page};
use parley_http::lenient::integer_from;

/// The body as JSON, or the error it describes.
fn json_body(body: &[u8], secret: &str) -> Result<Value, Error> {
    let json: Value = serde_json::from_slice(body).map_err(|error| {
        Error::invalid_response_scrubbed(format!("the body is not JSON: {error}"), secret)
    })?;
    Ok(json)
}

fn field<'a>(json: &'a Value, key: &str, secret: &str) -> Result<&'a Value, Error> {
    let value = json.as_object().and_then(|object| object.get(key));
    match value {
        Some(value) if !value.is_null() => Ok(value),
        _ => Err(Error::from_error_envelope(json, secret).unwrap_or_else(|| {
            Error::invalid_response_scrubbed(format!("the body has no `{key}`"), secret)
        })),
    }
}

/// `{"<key>": {...}}` → the entity.
pub(crate) fn entity<T: DeserializeOwned>(
    body: &[u8],
    key: &str,
    secret: &str,
) -> Result<T, Error> {
    let json = json_body(body, secret)?;
    let value = field(&json, key, secret)?;
    if !value.is_object() {
        return Err(Error::invalid_response_scrubbed(
            format!("`{key}` is not an object"),
            secret,
        ));
    }
    serde_json::from_value(value.clone())
        .map_err(|error| Error::invalid_response_scrubbed(format!("`{key}`: {error}"), secret))
}

/// A write's answer whose content is not needed (DELETE): anything but an error list is fine,
/// including an empty or non-JSON body.
pub(crate) fn acknowledgement(body: &[u8], secret: &str) -> Result<(), Error> {
    match serde_json::from_slice::<Value>(body) {
        Ok(json) => match Error::from_error_envelope(&json, secret) {
            Some(error) => Err(error),
            None => Ok(()),
        },
        Err(_) => Ok(()),
    }
}

/// `{"<key>": [...], "meta": {"page", "entries_count", "per_page"}}` → a page. `page` and
/// `per_page` are what was asked for; `meta` may be absent and its numbers may be strings.
pub(crate) fn page<T: DeserializeOwned>(
    body: &[u8],
    key: &str,
    page: u32,
    per_page: u32,
    secret: &str,
) -> Result<Page<T>, Error> {
    let json = json_body(body, secret)?;
    let list = field(&json, key, secret)?;
    let Value::Array(raw_items) = list else {
        return Err(Error::invalid_response_scrubbed(
            format!("`{key}` is not a list"),
            secret,
        ));
    };
    let mut items = Vec::with_capacity(raw_items.len());
    for (index, raw) in raw_items.iter().enumerate() {
        if !raw.is_object() {
            return Err(Error::invalid_response_scrubbed(
                format!("`{key}[{index}]` is not an object"),
                secret,
            ));
        }
        let item = serde_json::from_value(raw.clone()).map_err(|error| {
            Error::invalid_response_scrubbed(format!("`{key}[{index}]`: {error}"), secret)
        })?;
        items.push(item);
    }
    let meta = json.get("meta").filter(|meta| meta.is_object());
    let number = |name: &str| {
        meta.and_then(|meta| meta.get(name))
            .and_then(integer_from)
            .filter(|n| *n >= 0)
    };
    let served_per_page = number("per_page")
        .filter(|n| *n > 0)
        .and_then(|n| u32::try_from(n).ok());
    let per_page = served_per_page.map_or(per_page, |served| served.min(per_page));
    let entries_count = number("entries_count")
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(items.len());
    let page = number("page")
        .filter(|n| *n > 0)
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(page);
    let is_last = items.is_empty() || items.len() < per_page as usize;
    Ok(Page {
        items,
        page,
        per_page,
        entries_count,
        is_last,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Conversation, Message};

    fn conversations(body: &str, per_page: u32) -> Result<Page<Conversation>, Error> {
        page(body.as_bytes(), "conversations", 1, per_page, "SECRET")
    }

    #[test]
    fn pages_with_and_without_meta() {
        let full = conversations(
            r#"{"conversations":[{"id":1},{"id":"2"}],"meta":{"page":"3","entries_count":"2","per_page":"2"}}"#,
            2,
        )
        .unwrap();
        assert_eq!((full.page, full.per_page, full.entries_count), (3, 2, 2));
        assert!(!full.is_last);
        let bare = conversations(r#"{"conversations":[{"id":1}]}"#, 25).unwrap();
        assert_eq!((bare.page, bare.per_page, bare.entries_count), (1, 25, 1));
        assert!(bare.is_last);
        let clamped = conversations(
            r#"{"conversations":[{"id":1},{"id":2}],"meta":{"per_page":2}}"#,
            50,
        )
        .unwrap();
        assert_eq!(clamped.per_page, 2);
        assert!(!clamped.is_last, "a full page of the server's size");
        let larger =
            conversations(r#"{"conversations":[{"id":1}],"meta":{"per_page":500}}"#, 1).unwrap();
        assert_eq!(larger.per_page, 1);
        let empty = conversations(r#"{"conversations":[],"meta":null}"#, 25).unwrap();
        assert!(empty.is_last && empty.items.is_empty());
        let null_list = conversations(r#"{"conversations":null}"#, 25);
        assert!(matches!(null_list, Err(Error::InvalidResponse { .. })));
    }

    #[test]
    fn broken_pages_are_invalid_responses() {
        for body in [
            "not json",
            "[]",
            r#"{"meta":{}}"#,
            r#"{"conversations":{"id":1}}"#,
            r#"{"conversations":[{"id":1},"x"]}"#,
            r#"{"conversations":[{"id":1},{"sender_name":"no id"}]}"#,
            r#"{"conversations":[{"id":"abc"}]}"#,
        ] {
            let result = conversations(body, 25);
            assert!(
                matches!(result, Err(Error::InvalidResponse { .. })),
                "{body}: {result:?}"
            );
        }
    }

    #[test]
    fn entities_and_error_lists() {
        let message: Message = entity(br#"{"message":{"id":5}}"#, "message", "S").unwrap();
        assert_eq!(message.id, 5);
        for body in [
            &br#"{"message":null}"#[..],
            b"{}",
            br#"{"message":[1]}"#,
            b"",
        ] {
            assert!(matches!(
                entity::<Message>(body, "message", "S"),
                Err(Error::InvalidResponse { .. })
            ));
        }
        let refused = entity::<Message>(
            br#"{"errors":[{"status":404,"detail":"Conversation not found"}]}"#,
            "message",
            "S",
        );
        assert!(
            matches!(refused, Err(Error::NotFound { message, .. }) if message == "Conversation not found")
        );
        assert!(acknowledgement(b"", "S").is_ok());
        assert!(acknowledgement(br#"{"status":"ok"}"#, "S").is_ok());
        assert!(acknowledgement(br#"{"errors":[{"detail":"no"}]}"#, "S").is_err());
    }

    #[test]
    fn invalid_response_messages_are_scrubbed() {
        let error =
            entity::<Message>(br#"{"message":{"id":"SECRET"}}"#, "message", "SECRET").unwrap_err();
        assert!(!format!("{error:?}").contains("SECRET"), "{error:?}");
    }
}
