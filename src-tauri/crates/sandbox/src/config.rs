//! Configuration of a sandbox: the seed data it generates and the switches it starts with.

use std::time::Duration;

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde::{Deserialize, Serialize};

/// What a sandbox generates at start and how it behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct SandboxConfig {
    /// Seed of every random choice (data, faults, live mode): the same seed gives the same data.
    pub seed: u64,
    /// Number of companies.
    pub companies: usize,
    /// Number of conversations in total, split round-robin across the companies.
    pub conversations: usize,
    /// Number of messages generated in each conversation.
    pub messages_per_conversation: usize,
    /// The API token clients must send (`X-Private-Api-Token` or `?private_api_token=`).
    pub token: String,
    /// Delay added before every p1 request is handled.
    pub latency: Duration,
    /// Time a delivery job stays in `trying_deliver` before it is `delivered`.
    /// `Duration::ZERO` delivers synchronously (the send response already carries `message_id`).
    pub job_delay: Duration,
    /// When set, a realistic incoming message lands in a random conversation this often.
    pub live_incoming_every: Option<Duration>,
    /// Number of VoIPbin conversations (LINE, SMS and WhatsApp, both object shapes).
    pub voipbin_conversations: usize,
    /// Number of messages generated in each VoIPbin conversation.
    pub voipbin_messages_per_conversation: usize,
    /// The VoIPbin access key accepted as `?accesskey=`.
    pub voipbin_access_key: String,
    /// The VoIPbin username accepted by `POST /auth/login`.
    pub voipbin_username: String,
    /// The VoIPbin password accepted by `POST /auth/login`.
    pub voipbin_password: String,
    /// How long a JWT from `/auth/login` is accepted (VoIPbin: 7 days).
    pub jwt_lifetime: Duration,
    /// Time scale of the Pact p2 rate limits (per token and endpoint, as documented): `None` turns
    /// them off, `Some(1.0)` is real time, `Some(s)` divides every window (and the p2 status delays)
    /// by `s`, so `Some(60.0)` makes a minute last a second.
    pub p2_limit_scale: Option<f64>,
    /// A live outgoing message's p2 status turns from `sent` to `delivered` this long after the send
    /// (divided by the time scale).
    pub p2_status_delivered_after: Duration,
    /// ... and from `delivered` to `read` this long after the send (divided by the time scale).
    pub p2_status_read_after: Duration,
    /// The instant every seeded time lies before (p1, p2 and VoIPbin alike): the newest
    /// conversation's last message is a few minutes before it. `None` (the default) is the moment
    /// the sandbox starts by the server's clock (so shifted by [`Self::server_clock_offset`]),
    /// rounded down to a whole second, so the data looks alive to the server itself; a fixed value
    /// (a time on the server's clock) makes two sandboxes of the same seed serve identical data.
    /// See [`crate::Sandbox::seed_anchor`].
    pub seed_anchor: Option<DateTime<Utc>>,
    /// How far the server's clock is from the computer's (negative: behind). Every time the
    /// sandbox writes for something new (a message sent or received, a conversation, a delivery
    /// job, VoIPbin `tm_create` / `tm_update`, a login token's `iat` / `exp`) is "now + offset",
    /// and the default seed anchor is shifted by it too, so a server a year behind has its
    /// history a year back as well and stamps a message sent now with a date a year ago. Zero by
    /// default; [`crate::Sandbox::set_server_clock_offset`] changes it at run time.
    pub server_clock_offset: ChronoDuration,
    /// Whether VoIPbin's legacy `POST /v1.0/conversations/setup` is answered (`{"reference_type":
    /// "line"}` creates a LINE conversation); off (the default), it is 404 as in today's API.
    pub voipbin_legacy_setup: bool,
    /// How long downloading an attachment's `file_url` may take in all (Pact p1 and p2).
    pub file_url_timeout: Duration,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            seed: 42,
            companies: 2,
            conversations: 20,
            messages_per_conversation: 30,
            token: "sandbox-token".to_owned(),
            latency: Duration::ZERO,
            job_delay: Duration::from_millis(150),
            live_incoming_every: None,
            voipbin_conversations: 8,
            voipbin_messages_per_conversation: 15,
            voipbin_access_key: "sandbox-voipbin-accesskey".to_owned(),
            voipbin_username: "sandbox-admin".to_owned(),
            voipbin_password: "sandbox-password".to_owned(),
            jwt_lifetime: Duration::from_secs(7 * 24 * 3600),
            p2_limit_scale: Some(1.0),
            p2_status_delivered_after: Duration::from_secs(2),
            p2_status_read_after: Duration::from_secs(6),
            seed_anchor: None,
            server_clock_offset: ChronoDuration::zero(),
            voipbin_legacy_setup: false,
            file_url_timeout: Duration::from_secs(10),
        }
    }
}

/// One way a p1 request can be made to fail on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// HTTP 500 with a JSON error body; the request has no effect.
    Status500,
    /// HTTP 502 with an HTML page, as a proxy would answer; the request has no effect.
    Html502,
    /// The connection is aborted (reset) without any response; the request has no effect.
    #[serde(alias = "reset")]
    ConnectionReset,
    /// HTTP 200 with a body that is not valid JSON; the request has no effect.
    InvalidJson,
    /// The request is carried out, then the connection is aborted before the response is sent.
    ResetAfterProcessing,
}

impl FaultKind {
    /// Every fault kind, in a fixed order.
    pub const ALL: [FaultKind; 5] = [
        FaultKind::Status500,
        FaultKind::Html502,
        FaultKind::ConnectionReset,
        FaultKind::InvalidJson,
        FaultKind::ResetAfterProcessing,
    ];

    /// The snake_case name used by the admin endpoint and the stats.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Status500 => "status500",
            FaultKind::Html502 => "html502",
            FaultKind::ConnectionReset => "connection_reset",
            FaultKind::InvalidJson => "invalid_json",
            FaultKind::ResetAfterProcessing => "reset_after_processing",
        }
    }
}

/// Fault injection: a fraction of p1 requests fails in one of the given ways.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultConfig {
    /// Fraction of p1 requests that fail, 0.0..=1.0.
    pub rate: f64,
    /// Ways to fail, one picked at random per faulted request; empty means all kinds.
    #[serde(default)]
    pub kinds: Vec<FaultKind>,
}
