//! WebSocket frames to typed events, as pure functions (no connection code). Two frame shapes
//! coexist on the same topic: wrapped `{"type": "conversation_message_created", "data": {...}}` and
//! the bare resource object. A bare conversation has its own `type` field (`line`, `message`, ...),
//! so a frame counts as wrapped only when `type` is a string AND `data` is an object.

use std::collections::{HashSet, VecDeque};

use serde_json::Value;

use crate::models::{Conversation, Message};

/// What happened to the resource, when the frame says (the bare shape never does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `*_created`.
    Created,
    /// `*_updated`.
    Updated,
    /// `*_deleted`.
    Deleted,
    /// A bare frame, or an event name without a known suffix.
    Unknown,
}

/// One parsed frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A conversation changed (created, updated, assigned, ...).
    Conversation {
        /// What happened, if known.
        action: Action,
        /// The conversation as sent.
        conversation: Box<Conversation>,
    },
    /// A conversation message changed.
    Message {
        /// What happened, if known.
        action: Action,
        /// The message as sent.
        message: Box<Message>,
    },
    /// A valid frame about something else (calls, agents, ...), with its event name if wrapped.
    Other {
        /// The `type` of a wrapped frame.
        event_type: Option<String>,
    },
}

impl Event {
    /// The key for dropping duplicates: resource id and raw `tm_update` (both frame shapes and a
    /// REST catch-up of the same state give the same key). `None` for [`Event::Other`].
    pub fn dedup_key(&self) -> Option<(String, String)> {
        let (id, updated) = match self {
            Self::Conversation { conversation, .. } => (&conversation.id, &conversation.tm_update),
            Self::Message { message, .. } => (&message.id, &message.tm_update),
            Self::Other { .. } => return None,
        };
        Some((id.clone(), updated.clone().unwrap_or_default()))
    }
}

/// Why a frame could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Not JSON.
    #[error("frame is not JSON")]
    NotJson,
    /// JSON but not an object.
    #[error("frame is not a JSON object")]
    NotObject,
    /// A conversation or message without a usable id or with fields of the wrong type.
    #[error("frame has an unreadable {0}")]
    BadResource(&'static str),
}

/// Parses one text frame.
pub fn parse_frame(text: &str) -> Result<Event, FrameError> {
    let value: Value = serde_json::from_str(text).map_err(|_| FrameError::NotJson)?;
    parse_frame_value(value)
}

/// Parses one frame already read as JSON.
pub fn parse_frame_value(value: Value) -> Result<Event, FrameError> {
    let Value::Object(mut object) = value else {
        return Err(FrameError::NotObject);
    };
    let wrapped = object.get("type").is_some_and(Value::is_string)
        && object.get("data").is_some_and(Value::is_object);
    if !wrapped {
        return parse_bare(Value::Object(object));
    }
    let event_type = object
        .remove("type")
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let data = object.remove("data").unwrap_or(Value::Null);
    parse_wrapped(&event_type, data)
}

fn parse_wrapped(event_type: &str, data: Value) -> Result<Event, FrameError> {
    let action = action_of(event_type);
    if event_type.starts_with("conversation_message_") {
        return message_event(action, data);
    }
    if event_type.starts_with("conversation_") && !event_type.starts_with("conversation_account") {
        return conversation_event(action, data);
    }
    Ok(Event::Other {
        event_type: Some(event_type.to_string()),
    })
}

/// A bare object: a message has `conversation_id`; a conversation has a party or dialog field.
fn parse_bare(value: Value) -> Result<Event, FrameError> {
    let has = |key: &str| value.get(key).is_some_and(|v| !v.is_null());
    if has("conversation_id") {
        return message_event(Action::Unknown, value);
    }
    let conversation_keys = ["peer", "self", "participants", "dialog_id", "owner_id"];
    if has("id") && conversation_keys.iter().any(|key| has(key)) {
        return conversation_event(Action::Unknown, value);
    }
    Ok(Event::Other { event_type: None })
}

fn action_of(event_type: &str) -> Action {
    if event_type.ends_with("_created") {
        Action::Created
    } else if event_type.ends_with("_updated") {
        Action::Updated
    } else if event_type.ends_with("_deleted") {
        Action::Deleted
    } else {
        Action::Unknown
    }
}

fn conversation_event(action: Action, data: Value) -> Result<Event, FrameError> {
    let conversation: Conversation =
        serde_json::from_value(data).map_err(|_| FrameError::BadResource("conversation"))?;
    if conversation.id.trim().is_empty() {
        return Err(FrameError::BadResource("conversation"));
    }
    Ok(Event::Conversation {
        action,
        conversation: Box::new(conversation),
    })
}

fn message_event(action: Action, data: Value) -> Result<Event, FrameError> {
    let message: Message =
        serde_json::from_value(data).map_err(|_| FrameError::BadResource("message"))?;
    if message.id.trim().is_empty() {
        return Err(FrameError::BadResource("message"));
    }
    Ok(Event::Message {
        action,
        message: Box::new(message),
    })
}

/// The subscribe frame for every conversation event of a customer
/// (`customer_id:<id>:conversation`, a prefix that also matches `conversation_message_*`).
pub fn subscribe_conversations_frame(customer_id: &str) -> String {
    serde_json::json!({
        "type": "subscribe",
        "topics": [format!("customer_id:{customer_id}:conversation")],
    })
    .to_string()
}

/// Drops events already seen (same resource id and `tm_update`), remembering the most recent keys.
#[derive(Debug)]
pub struct Deduplicator {
    capacity: usize,
    order: VecDeque<(String, String)>,
    seen: HashSet<(String, String)>,
}

impl Deduplicator {
    /// A deduplicator remembering up to `capacity` keys (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            order: VecDeque::new(),
            seen: HashSet::new(),
        }
    }

    /// `true` the first time an event's key is offered; events without a key are always new.
    pub fn is_new(&mut self, event: &Event) -> bool {
        let Some(key) = event.dedup_key() else {
            return true;
        };
        if self.seen.contains(&key) {
            return false;
        }
        if self.order.len() == self.capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.seen.remove(&oldest);
            }
        }
        self.seen.insert(key.clone());
        self.order.push_back(key);
        true
    }
}

impl Default for Deduplicator {
    /// Remembers the last 4096 keys.
    fn default() -> Self {
        Self::new(4096)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message_frame(id: &str, updated: &str) -> Event {
        parse_frame(&format!(
            r#"{{"id":"{id}","conversation_id":"c","tm_update":"{updated}"}}"#
        ))
        .unwrap()
    }

    #[test]
    fn duplicates_are_dropped_and_updates_kept() {
        let mut dedup = Deduplicator::new(2);
        assert!(dedup.is_new(&message_frame("m1", "t1")));
        assert!(!dedup.is_new(&message_frame("m1", "t1")));
        assert!(dedup.is_new(&message_frame("m1", "t2")));
        assert!(dedup.is_new(&Event::Other { event_type: None }));
        assert!(dedup.is_new(&Event::Other { event_type: None }));
        // Capacity 2: the oldest key is forgotten.
        assert!(dedup.is_new(&message_frame("m2", "t1")));
        assert!(dedup.is_new(&message_frame("m1", "t1")));
    }

    #[test]
    fn wrapper_detection_needs_a_string_type_and_an_object_data() {
        let odd = parse_frame(r#"{"type":"line","data":"x","id":"c1","peer":{"target":"U1"}}"#);
        assert!(matches!(odd, Ok(Event::Conversation { .. })));
    }
}
