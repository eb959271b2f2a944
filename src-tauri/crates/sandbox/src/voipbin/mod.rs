//! VoIPbin in the sandbox: REST under `/v1.0/` and `/auth/login`, the WebSocket at `/v1.0/ws`, the
//! seeded data in both object shapes, and the switches the public handle exposes.

mod auth;
mod model;
mod rest;
mod seed;
mod ws;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::{broadcast, watch};

use crate::clock::ServerClock;
use crate::config::SandboxConfig;
use crate::state::{lock, Shared};
use model::{uuid_from, Channel, VbConversation, VbMessage, VbWorld, NIL_UUID};
use rand::Rng;

pub use auth::Issued;

/// Mixed into a live id for the addresses of a conversation made by the legacy setup.
const SETUP_SALT: u64 = 0x5E70_0000_0000_0008;

/// A VoIPbin conversation as stored (not as written on the wire).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VoipbinConversation {
    /// Conversation UUID.
    pub id: String,
    /// `line`, `sms` or `whatsapp`.
    pub channel: String,
    /// Whether the wire shows the legacy shape (`participants`, `reference_type`).
    pub legacy: bool,
    /// Phone number or LINE id of the contact.
    pub peer_target: String,
    /// Contact name, when known.
    pub peer_name: Option<String>,
    /// Assigned agent, if any.
    pub owner_id: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update (newest message, assignment).
    pub updated_at: DateTime<Utc>,
}

/// A VoIPbin agent of the customer, as `GET /v1.0/agents` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VoipbinAgent {
    /// Agent UUID (what a conversation's `owner_id` holds).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Login name (the login user's is the configured `voipbin_username`).
    pub username: String,
    /// `available`, `away`, `busy` or `offline`.
    pub status: String,
    /// Permission bits now: 16 agent, 32 admin, 64 manager (the login user is 16 while the
    /// agent-role switch is on).
    pub permission: u64,
    /// Whether this is the login user (the one `/auth/login` and the access key act as).
    pub current: bool,
}

/// A VoIPbin message as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VoipbinMessage {
    /// Message UUID.
    pub id: String,
    /// Parent conversation.
    pub conversation_id: String,
    /// From the contact (`true`) or sent by us.
    pub incoming: bool,
    /// Body text.
    pub text: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// Who wrote a new VoIPbin message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The contact (incoming).
    Contact,
    /// The customer, through `POST .../messages` (counted among the sent messages).
    Api,
    /// A teammate elsewhere (the VoIPbin admin console): outgoing, but not sent through the API.
    Team,
}

/// One event for the WebSocket: its topic and the text frames to send (a duplicate is two frames).
#[derive(Debug, Clone)]
pub struct WsEvent {
    pub topic: String,
    pub frames: Vec<String>,
}

/// VoIPbin state inside [`Shared`].
#[derive(Debug)]
pub struct VoipbinState {
    pub world: Mutex<VbWorld>,
    pub access_key: String,
    pub username: String,
    pub password: String,
    pub jwt_lifetime: Duration,
    /// Tokens handed out by `/auth/login`.
    pub issued: Mutex<Vec<Issued>>,
    /// While set, conversation endpoints answer 403 `PERMISSION_DENIED` (an agent account).
    pub agent_role: AtomicBool,
    /// Whether the legacy `POST /v1.0/conversations/setup` is answered (else 404).
    pub legacy_setup: bool,
    /// While set, the WebSocket refuses connections (503) and open ones were cut.
    pub websocket_down: AtomicBool,
    /// Successful `/auth/login` calls.
    pub logins: AtomicU64,
    pub events: broadcast::Sender<WsEvent>,
    /// Bumped to cut every open WebSocket.
    pub cut: watch::Sender<u64>,
    /// Bumped to silence every open WebSocket (half-open: no frames, no pongs, never closed).
    pub silence: watch::Sender<u64>,
    message_events: AtomicU64,
}

impl VoipbinState {
    /// State for the configuration's seed, its times before `anchor`, new times read from `clock`.
    pub fn new(config: &SandboxConfig, anchor: DateTime<Utc>, clock: ServerClock) -> VoipbinState {
        let mut world = seed::generate(config, anchor);
        world.clock = clock;
        VoipbinState {
            world: Mutex::new(world),
            access_key: config.voipbin_access_key.clone(),
            username: config.voipbin_username.clone(),
            password: config.voipbin_password.clone(),
            jwt_lifetime: config.jwt_lifetime,
            issued: Mutex::new(Vec::new()),
            agent_role: AtomicBool::new(false),
            legacy_setup: config.voipbin_legacy_setup,
            websocket_down: AtomicBool::new(false),
            logins: AtomicU64::new(0),
            events: broadcast::channel(1024).0,
            cut: watch::channel(0).0,
            silence: watch::channel(0).0,
            message_events: AtomicU64::new(0),
        }
    }

    /// The customer every seeded object belongs to.
    pub fn customer_id(&self) -> String {
        lock(&self.world).customer_id.clone()
    }

    /// Closes every open WebSocket.
    pub fn cut_websockets(&self) {
        self.cut.send_modify(|generation| *generation += 1);
    }

    /// Makes every open WebSocket half-open: from now on it sends nothing (no events, no pongs)
    /// and reads nothing, yet stays open until cut. New connections work as usual.
    pub fn silence_websockets(&self) {
        self.silence.send_modify(|generation| *generation += 1);
    }

    /// Takes the WebSocket down (cutting open connections and refusing new ones) or up again.
    pub fn set_websocket_down(&self, down: bool) {
        self.websocket_down.store(down, Ordering::SeqCst);
        if down {
            self.cut_websockets();
        }
    }

    /// Adds a message now (incoming from the contact or sent by us through the API), publishes it
    /// and the conversation update; `None` for an unknown conversation.
    pub fn add_message(&self, conversation_id: &str, text: &str, incoming: bool) -> Option<Value> {
        let origin = if incoming {
            Origin::Contact
        } else {
            Origin::Api
        };
        self.add_message_from(conversation_id, text, origin)
    }

    /// Adds a message now from `origin`, publishes it and the conversation update; `None` for an
    /// unknown conversation. Only messages sent through the API count as sent.
    pub fn add_message_from(
        &self,
        conversation_id: &str,
        text: &str,
        origin: Origin,
    ) -> Option<Value> {
        let incoming = origin == Origin::Contact;
        let (message, conversation, customer) = {
            let mut world = lock(&self.world);
            let newest = world
                .conversation(conversation_id)?
                .messages
                .last()
                .map(|m| m.created);
            let id = world.take_live_id();
            let at = world.take_stamp_after(newest);
            let customer = world.customer_id.clone();
            if origin == Origin::Api {
                world.sent.push((conversation_id.to_owned(), id.clone()));
            }
            let conversation = world.conversation_mut(conversation_id)?;
            let message = VbMessage {
                id,
                incoming,
                text: text.to_owned(),
                created: at,
                updated: at,
            };
            conversation.messages.push(message.clone());
            conversation.updated = at;
            let message_json = conversation.message_json(&message, &customer);
            (message_json, conversation.to_json(&customer), customer)
        };
        self.publish_message(&customer, &message);
        self.publish_conversation(&customer, &conversation);
        Some(message)
    }

    /// Sets or clears the owner; answers the updated conversation.
    pub fn set_owner(&self, conversation_id: &str, owner: Option<String>) -> Option<Value> {
        let (conversation, customer) = {
            let mut world = lock(&self.world);
            let at = world.take_stamp();
            let customer = world.customer_id.clone();
            let conversation = world.conversation_mut(conversation_id)?;
            conversation.owner_id = owner.filter(|id| !id.is_empty() && id != NIL_UUID);
            conversation.updated = at;
            (conversation.to_json(&customer), customer)
        };
        self.publish_conversation(&customer, &conversation);
        Some(conversation)
    }

    /// Message events alternate wrapped / bare, and every third one is sent twice.
    fn publish_message(&self, customer: &str, message: &Value) {
        let count = self.message_events.fetch_add(1, Ordering::Relaxed);
        let frame = frame_text(
            "conversation_message_created",
            message,
            count.is_multiple_of(2),
        );
        let mut frames = vec![frame.clone()];
        if count % 3 == 2 {
            frames.push(frame);
        }
        let id = message["id"].as_str().unwrap_or_default();
        let topic = format!("customer_id:{customer}:conversation_message:{id}");
        let _ = self.events.send(WsEvent { topic, frames });
    }

    /// Conversation updates always come bare (the documented shape).
    fn publish_conversation(&self, customer: &str, conversation: &Value) {
        let id = conversation["id"].as_str().unwrap_or_default();
        let topic = format!("customer_id:{customer}:conversation:{id}");
        let frames = vec![frame_text("conversation_updated", conversation, false)];
        let _ = self.events.send(WsEvent { topic, frames });
    }

    /// Creates a LINE conversation now, as the legacy `POST /v1.0/conversations/setup` did, and
    /// publishes it; answers it in the legacy shape with the current fields beside.
    pub fn setup_line(&self) -> Value {
        let (conversation, customer) = {
            let mut world = lock(&self.world);
            let at = world.take_stamp();
            let serial = world.take_live_id();
            let customer = world.customer_id.clone();
            let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(
                crate::seed::mix64(world.next_live_id ^ SETUP_SALT),
            );
            let conversation = VbConversation {
                id: serial,
                legacy: true,
                with_current_fields: true,
                channel: Channel::Line,
                peer_target: seed::target(&mut rng, Channel::Line),
                peer_name: None,
                self_target: seed::target(&mut rng, Channel::Line),
                account_id: uuid_from(rng.gen(), rng.gen()),
                owner_id: None,
                omit_empty: false,
                created: at,
                updated: at,
                messages: Vec::new(),
            };
            let json = conversation.to_json(&customer);
            world.conversations.push(conversation);
            (json, customer)
        };
        self.publish_conversation(&customer, &conversation);
        conversation
    }

    /// The customer's agents, newest first as listed by the API.
    pub fn agents(&self) -> Vec<VoipbinAgent> {
        let agent_role = self.agent_role.load(Ordering::Relaxed);
        let world = lock(&self.world);
        let mut agents: Vec<_> = world.agents.iter().collect();
        agents.sort_by_key(|a| std::cmp::Reverse(a.created));
        agents
            .into_iter()
            .map(|a| VoipbinAgent {
                id: a.id.clone(),
                name: a.name.clone(),
                username: a.username.clone(),
                status: a.status.to_owned(),
                permission: a.permission_now(agent_role),
                current: a.current,
            })
            .collect()
    }

    /// Every conversation, newest first as listed by the API.
    pub fn conversations(&self) -> Vec<VoipbinConversation> {
        let world = lock(&self.world);
        let mut list: Vec<VoipbinConversation> = world
            .conversations
            .iter()
            .map(|c| VoipbinConversation {
                id: c.id.clone(),
                channel: c.channel.snapshot_name().to_owned(),
                legacy: c.legacy,
                peer_target: c.peer_target.clone(),
                peer_name: c.peer_name.clone(),
                owner_id: c.owner_id.clone(),
                created_at: c.created,
                updated_at: c.updated,
            })
            .collect();
        list.sort_by_key(|c| std::cmp::Reverse(c.created_at));
        list
    }

    /// A conversation's messages, oldest first.
    pub fn messages(&self, conversation_id: &str) -> Vec<VoipbinMessage> {
        let world = lock(&self.world);
        world
            .conversation(conversation_id)
            .map(|c| c.messages.iter().map(|m| snapshot(&c.id, m)).collect())
            .unwrap_or_default()
    }

    /// Messages accepted through the API, in order.
    pub fn sent_messages(&self) -> Vec<VoipbinMessage> {
        let world = lock(&self.world);
        world
            .sent
            .iter()
            .filter_map(|(conversation_id, message_id)| {
                let conversation = world.conversation(conversation_id)?;
                let message = conversation.messages.iter().find(|m| &m.id == message_id)?;
                Some(snapshot(conversation_id, message))
            })
            .collect()
    }
}

fn snapshot(conversation_id: &str, message: &VbMessage) -> VoipbinMessage {
    VoipbinMessage {
        id: message.id.clone(),
        conversation_id: conversation_id.to_owned(),
        incoming: message.incoming,
        text: message.text.clone(),
        created_at: message.created,
    }
}

fn frame_text(event_type: &str, data: &Value, wrapped: bool) -> String {
    if wrapped {
        json!({ "type": event_type, "data": data }).to_string()
    } else {
        data.to_string()
    }
}

/// The VoIPbin routes (`/auth/login`, `/v1.0/...`, `/_sandbox/voipbin/...`).
pub fn router(shared: Arc<Shared>) -> axum::Router<Arc<Shared>> {
    rest::router(shared).merge(ws::router())
}
