//! The VoIPbin world held in memory, and how each object is written on the wire in either shape
//! (legacy: `participants` / `reference_type`, `"2022-06-17 06:06:14.446158"` timestamps;
//! current: `self` / `peer` / `type` / `dialog_id` / `owner_id`, RFC 3339, null for never).

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use crate::clock::ServerClock;

/// The nil UUID: "no owner".
pub const NIL_UUID: &str = "00000000-0000-0000-0000-000000000000";

/// Legacy "never" timestamp.
const LEGACY_NEVER: &str = "9999-01-01 00:00:00.000000";

/// A messaging channel of the seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Line,
    Sms,
    Whatsapp,
}

impl Channel {
    /// Name in the current shape's `type`.
    fn current_name(self) -> &'static str {
        match self {
            Channel::Line => "line",
            Channel::Sms => "message",
            Channel::Whatsapp => "whatsapp",
        }
    }

    /// Name in the legacy shape's `reference_type`.
    fn legacy_name(self) -> &'static str {
        match self {
            Channel::Line => "line",
            Channel::Sms => "sms",
            Channel::Whatsapp => "whatsapp",
        }
    }

    /// Address kind of a party.
    fn address_kind(self) -> &'static str {
        match self {
            Channel::Line => "line",
            Channel::Sms | Channel::Whatsapp => "tel",
        }
    }

    /// Short lowercase name used in snapshots.
    pub fn snapshot_name(self) -> &'static str {
        match self {
            Channel::Line => "line",
            Channel::Sms => "sms",
            Channel::Whatsapp => "whatsapp",
        }
    }
}

/// A stored conversation.
#[derive(Debug, Clone)]
pub struct VbConversation {
    pub id: String,
    pub legacy: bool,
    /// With `legacy`: the current shape's fields are written too (what the legacy
    /// `POST /v1.0/conversations/setup` answers).
    pub with_current_fields: bool,
    pub channel: Channel,
    /// Phone number or LINE user id of the contact.
    pub peer_target: String,
    pub peer_name: Option<String>,
    /// Our number or LINE channel id.
    pub self_target: String,
    pub account_id: String,
    pub owner_id: Option<String>,
    /// Variation of the current shape: leave empty fields out of the JSON.
    pub omit_empty: bool,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub messages: Vec<VbMessage>,
}

/// A stored message.
#[derive(Debug, Clone)]
pub struct VbMessage {
    pub id: String,
    pub incoming: bool,
    pub text: String,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
}

/// An agent of the customer.
#[derive(Debug, Clone)]
pub struct VbAgent {
    pub id: String,
    pub username: String,
    pub name: String,
    pub detail: String,
    /// `available`, `away`, `busy`, `offline`.
    pub status: &'static str,
    /// Permission bits (agent 16, admin 32, manager 64).
    pub permission: u64,
    /// The login user (its permission drops to the agent's while the agent-role switch is on).
    pub current: bool,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
}

impl VbAgent {
    /// The permission bits now: the login user is a plain agent while `agent_role` is on.
    pub fn permission_now(&self, agent_role: bool) -> u64 {
        if self.current && agent_role {
            super::seed::PERMISSION_AGENT
        } else {
            self.permission
        }
    }

    /// The JSON `GET /v1.0/agents` lists (the documented fields, legacy timestamps).
    pub fn to_json(&self, customer_id: &str, agent_role: bool) -> Value {
        json!({
            "id": self.id,
            "customer_id": customer_id,
            "username": self.username,
            "name": self.name,
            "detail": self.detail,
            "ring_method": "ringall",
            "status": self.status,
            "permission": self.permission_now(agent_role),
            "tag_ids": [],
            "addresses": [],
            "tm_create": legacy_time(self.created),
            "tm_update": legacy_time(self.updated),
            "tm_delete": LEGACY_NEVER,
        })
    }
}

/// Every VoIPbin object of the sandbox.
#[derive(Debug, Clone, Default)]
pub struct VbWorld {
    pub customer_id: String,
    /// The customer's agents, the login user first.
    pub agents: Vec<VbAgent>,
    pub conversations: Vec<VbConversation>,
    /// Ids of messages accepted through `POST .../messages`, in order.
    pub sent: Vec<(String, String)>,
    /// Next value of the id counter for live objects.
    pub next_live_id: u64,
    /// Latest timestamp handed out, so live timestamps strictly increase.
    pub last_stamp: Option<DateTime<Utc>>,
    /// The server's clock live timestamps are read from.
    pub clock: ServerClock,
}

impl VbWorld {
    /// The conversation with this id.
    pub fn conversation(&self, id: &str) -> Option<&VbConversation> {
        self.conversations.iter().find(|c| c.id == id)
    }

    /// The conversation with this id, to change.
    pub fn conversation_mut(&mut self, id: &str) -> Option<&mut VbConversation> {
        self.conversations.iter_mut().find(|c| c.id == id)
    }

    /// A fresh id for a live object (deterministic, UUID-shaped).
    pub fn take_live_id(&mut self) -> String {
        self.next_live_id += 1;
        uuid_from(0x5A4D_B0C5_0000_0000, self.next_live_id)
    }

    /// `now` by the server's clock, but strictly after every timestamp handed out before (no two
    /// live items tie).
    pub fn take_stamp(&mut self) -> DateTime<Utc> {
        self.take_stamp_after(None)
    }

    /// [`Self::take_stamp`], and also strictly after `floor` (a thread's newest message), so a
    /// thread stays in time order, which its pages (`page_token` = a `tm_create`) rely on, even
    /// after the clock was set back at run time.
    pub fn take_stamp_after(&mut self, floor: Option<DateTime<Utc>>) -> DateTime<Utc> {
        let mut stamp = self.clock.now();
        for earlier in [self.last_stamp, floor].into_iter().flatten() {
            if stamp <= earlier {
                stamp = earlier + chrono::Duration::microseconds(1);
            }
        }
        self.last_stamp = Some(stamp);
        stamp
    }
}

/// A UUID-shaped (version 4 layout) string from two numbers.
pub fn uuid_from(high: u64, low: u64) -> String {
    let high = (high & 0xFFFF_FFFF_FFFF_0FFF) | 0x4000;
    let low = (low & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xFFFF,
        high & 0xFFFF,
        low >> 48,
        low & 0xFFFF_FFFF_FFFF
    )
}

/// `2022-06-17 06:06:14.446158`.
pub fn legacy_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
}

/// RFC 3339 with microseconds and `Z`.
pub fn current_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Reads a page token in either timestamp form.
pub fn parse_time(raw: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        return Some(at.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|naive| naive.and_utc())
}

fn time_in(legacy: bool, at: DateTime<Utc>) -> String {
    if legacy {
        legacy_time(at)
    } else {
        current_time(at)
    }
}

fn address(kind: &str, target: &str, target_name: &str) -> Value {
    json!({ "type": kind, "target": target, "target_name": target_name, "name": "", "detail": "" })
}

impl VbConversation {
    /// The JSON the API answers for this conversation.
    pub fn to_json(&self, customer_id: &str) -> Value {
        if !self.legacy {
            return self.current_json(customer_id);
        }
        let mut legacy = self.legacy_json();
        if self.with_current_fields {
            if let (Value::Object(legacy), Value::Object(current)) =
                (&mut legacy, self.current_json(customer_id))
            {
                for (key, value) in current {
                    legacy.entry(key).or_insert(value);
                }
            }
        }
        legacy
    }

    fn legacy_json(&self) -> Value {
        let kind = self.channel.legacy_name();
        json!({
            "id": self.id,
            "name": "conversation",
            "detail": "conversation detail",
            "reference_type": kind,
            "reference_id": self.peer_target,
            "participants": [
                address(kind, "", "me"),
                address(kind, &self.peer_target, self.peer_name.as_deref().unwrap_or("Unknown")),
            ],
            "tm_create": legacy_time(self.created),
            "tm_update": legacy_time(self.updated),
            "tm_delete": LEGACY_NEVER,
        })
    }

    fn current_json(&self, customer_id: &str) -> Value {
        let kind = self.channel.address_kind();
        let owner = self.owner_id.as_deref();
        let mut object = Map::new();
        let mut put = |key: &str, value: Value| {
            object.insert(key.to_owned(), value);
        };
        put("id", json!(self.id));
        put("customer_id", json!(customer_id));
        put(
            "owner_type",
            json!(if owner.is_some() { "agent" } else { "" }),
        );
        put("owner_id", json!(owner.unwrap_or(NIL_UUID)));
        put("account_id", json!(self.account_id));
        put("name", json!(self.peer_name.clone().unwrap_or_default()));
        put("detail", json!(""));
        put("type", json!(self.channel.current_name()));
        put("dialog_id", json!(self.peer_target));
        put("self", address(kind, &self.self_target, ""));
        put(
            "peer",
            address(
                kind,
                &self.peer_target,
                self.peer_name.as_deref().unwrap_or(""),
            ),
        );
        put("tm_create", json!(current_time(self.created)));
        put("tm_update", json!(current_time(self.updated)));
        put("tm_delete", Value::Null);
        if self.omit_empty {
            object.retain(|_, value| !is_empty_value(value));
            if owner.is_none() {
                object.remove("owner_id");
            }
        }
        Value::Object(object)
    }

    /// The JSON of one of its messages.
    pub fn message_json(&self, message: &VbMessage, customer_id: &str) -> Value {
        if self.legacy {
            self.legacy_message_json(message)
        } else {
            self.current_message_json(message, customer_id)
        }
    }

    fn legacy_message_json(&self, message: &VbMessage) -> Value {
        let source_target = if message.incoming {
            self.peer_target.as_str()
        } else {
            ""
        };
        json!({
            "id": message.id,
            "conversation_id": self.id,
            "status": if message.incoming { "received" } else { "sent" },
            "reference_type": self.channel.legacy_name(),
            "reference_id": self.peer_target,
            "source_target": source_target,
            "text": message.text,
            "medias": [],
            "tm_create": time_in(true, message.created),
            "tm_update": time_in(true, message.updated),
            "tm_delete": LEGACY_NEVER,
        })
    }

    fn current_message_json(&self, message: &VbMessage, customer_id: &str) -> Value {
        let kind = self.channel.address_kind();
        let ours = address(kind, &self.self_target, "");
        let theirs = address(
            kind,
            &self.peer_target,
            self.peer_name.as_deref().unwrap_or(""),
        );
        let (source, destination) = if message.incoming {
            (theirs, ours)
        } else {
            (ours, theirs)
        };
        let mut object = json!({
            "id": message.id,
            "customer_id": customer_id,
            "conversation_id": self.id,
            "direction": if message.incoming { "incoming" } else { "outgoing" },
            "status": "done",
            "reference_type": self.channel.current_name(),
            "reference_id": self.peer_target,
            "source": source,
            "destination": destination,
            "text": message.text,
            "medias": [],
            "tm_create": current_time(message.created),
            "tm_update": current_time(message.updated),
            "tm_delete": Value::Null,
        });
        if self.omit_empty {
            if let Value::Object(map) = &mut object {
                map.retain(|_, value| !is_empty_value(value));
            }
        }
        object
    }
}

fn is_empty_value(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_timestamp_forms_read_back() {
        let at = DateTime::parse_from_rfc3339("2022-06-17T06:06:14.446158Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(legacy_time(at), "2022-06-17 06:06:14.446158");
        assert_eq!(parse_time(&legacy_time(at)), Some(at));
        assert_eq!(parse_time(&current_time(at)), Some(at));
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn uuids_have_the_v4_layout() {
        let id = uuid_from(1, 2);
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
    }
}
