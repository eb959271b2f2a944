//! Deterministic VoIPbin seed data: LINE, SMS and WhatsApp conversations in both shapes, with
//! multilingual support chat from `content.rs`, and the customer's three agents (the first one the
//! login user), all before the world's anchor: as on the Pact side, the newest conversation's last
//! message is a few minutes old, a handful within the hour, the rest spread over days and weeks.

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::model::{uuid_from, Channel, VbAgent, VbConversation, VbMessage, VbWorld};
use crate::config::SandboxConfig;
use crate::content::{self, Locale};
use crate::seed::{last_activity_age, mix64, recency_ranks};

/// Mixed into the seed so VoIPbin data does not mirror the p1 data.
const VOIPBIN_SEED_SALT: u64 = 0x0B0B_1B1A_2026_0004;
/// Mixed into the seed for the conversations' order by recency and their place within it.
const RECENCY_SALT: u64 = 0x0B0B_2EC3_0C1D_0006;
/// Mixed into the seed for the agents' names, statuses and times.
const AGENT_SALT: u64 = 0x0B0B_A6E7_0000_0007;

/// People the agents are (display name, the local part of their username).
const PEOPLE: &[(&str, &str)] = &[
    ("Анна Кузнецова", "anna.kuznetsova"),
    ("Дмитрий Орлов", "dmitry.orlov"),
    ("Olga Petrova", "olga.petrova"),
    ("Mike Johnson", "mike.johnson"),
    ("Сергей Волков", "sergey.volkov"),
    ("Kate Miller", "kate.miller"),
    ("Yael Cohen", "yael.cohen"),
    ("Omar Haddad", "omar.haddad"),
];

/// Statuses an agent other than the login user may be in.
const STATUSES: [&str; 4] = ["available", "away", "busy", "offline"];

/// VoIPbin permission bits: customer-level agent, admin and manager.
pub const PERMISSION_AGENT: u64 = 0x0010;
/// Customer-level admin.
pub const PERMISSION_ADMIN: u64 = 0x0020;
/// Customer-level manager.
pub const PERMISSION_MANAGER: u64 = 0x0040;

/// Generates the VoIPbin world for a configuration, its times before `anchor`.
pub fn generate(config: &SandboxConfig, anchor: DateTime<Utc>) -> VbWorld {
    let mut rng = StdRng::seed_from_u64(config.seed ^ VOIPBIN_SEED_SALT);
    let customer_id = uuid_from(rng.gen(), rng.gen());
    let agent_ids: Vec<String> = (0..3).map(|_| uuid_from(rng.gen(), rng.gen())).collect();
    let count = config.voipbin_conversations;
    let ranks = recency_ranks(config.seed ^ RECENCY_SALT, count);
    let mut conversations: Vec<VbConversation> = (0..count)
        .map(|index| {
            let jitter = unit(mix64(config.seed ^ RECENCY_SALT ^ index as u64));
            let end = anchor - last_activity_age(ranks[index], count, jitter);
            conversation(&mut rng, index, config, &agent_ids, end)
        })
        .collect();
    keep_creation_times_apart(&mut conversations);
    VbWorld {
        customer_id,
        agents: agents(config, &agent_ids, anchor),
        conversations,
        ..VbWorld::default()
    }
}

/// A number in 0..1 from a hash.
fn unit(hash: u64) -> f64 {
    (hash >> 11) as f64 / (1u64 << 53) as f64
}

/// The conversation whose last activity (newest message, else creation) is `end`.
fn conversation(
    rng: &mut StdRng,
    index: usize,
    config: &SandboxConfig,
    agents: &[String],
    end: DateTime<Utc>,
) -> VbConversation {
    let channel = [Channel::Line, Channel::Sms, Channel::Whatsapp][index % 3];
    // Laid out from a provisional start, then moved so the newest activity falls on `end`.
    let start = end - Duration::microseconds(rng.gen_range(0..3_600_000_000));
    let locale = Locale::pick(rng);
    let mut messages = messages(rng, start, locale, config.voipbin_messages_per_conversation);
    let shift = end - messages.last().map_or(start, |m| m.created);
    for message in &mut messages {
        message.created += shift;
        message.updated += shift;
    }
    let created = start + shift;
    let updated = messages.last().map_or(created, |m| m.created);
    VbConversation {
        id: uuid_from(rng.gen(), rng.gen()),
        legacy: index % 3 == 1 || rng.gen_bool(0.25),
        with_current_fields: false,
        channel,
        peer_target: target(rng, channel),
        peer_name: rng.gen_bool(0.8).then(|| content::contact_name(rng)),
        self_target: target(rng, channel),
        account_id: uuid_from(rng.gen(), rng.gen()),
        owner_id: rng
            .gen_bool(0.3)
            .then(|| agents[rng.gen_range(0..agents.len())].clone()),
        omit_empty: rng.gen_bool(0.4),
        created,
        updated,
        messages,
    }
}

/// No two conversations share a creation time (the page token is one): a tie moves the later one
/// by a microsecond, still well before its first message.
fn keep_creation_times_apart(conversations: &mut [VbConversation]) {
    let mut order: Vec<usize> = (0..conversations.len()).collect();
    order.sort_by_key(|&index| conversations[index].created);
    for pair in order.windows(2) {
        let before = conversations[pair[0]].created;
        let after = &mut conversations[pair[1]];
        if after.created <= before {
            after.created = before + Duration::microseconds(1);
            after.updated = after.updated.max(after.created);
        }
    }
}

/// A phone number or a LINE user id.
pub fn target(rng: &mut impl Rng, channel: Channel) -> String {
    match channel {
        Channel::Line => format!("U{:016x}{:016x}", rng.gen::<u64>(), rng.gen::<u64>()),
        Channel::Sms | Channel::Whatsapp => {
            format!(
                "+{}{:09}",
                rng.gen_range(1..99),
                rng.gen_range(0..1_000_000_000)
            )
        }
    }
}

fn messages(
    rng: &mut StdRng,
    start: DateTime<Utc>,
    locale: Locale,
    count: usize,
) -> Vec<VbMessage> {
    let mut at = start;
    (0..count)
        .map(|index| {
            at += Duration::microseconds(rng.gen_range(1_000_000..1_800_000_000));
            let incoming = index == 0 || rng.gen_bool(0.55);
            VbMessage {
                id: uuid_from(rng.gen(), rng.gen()),
                incoming,
                text: text(rng, locale, incoming),
                created: at,
                updated: at + Duration::microseconds(rng.gen_range(0..2_000)),
            }
        })
        .collect()
}

fn text(rng: &mut StdRng, locale: Locale, incoming: bool) -> String {
    match rng.gen_range(0..40) {
        0 => content::emoji_line(rng),
        1 => content::hostile_line(rng),
        2 => content::long_message(locale),
        _ => content::chat_line(rng, locale, incoming),
    }
}

/// The customer's agents: the first is the login user (an admin), then a manager and an agent,
/// each a different person, all created months before the anchor.
fn agents(config: &SandboxConfig, ids: &[String], anchor: DateTime<Utc>) -> Vec<VbAgent> {
    let mut rng = StdRng::seed_from_u64(config.seed ^ AGENT_SALT);
    let people: Vec<(&str, &str)> = PEOPLE
        .choose_multiple(&mut rng, ids.len())
        .copied()
        .collect();
    ids.iter()
        .zip(people)
        .enumerate()
        .map(|(index, (id, (name, local)))| {
            let current = index == 0;
            // The login user's account is the oldest; the others joined later, in order.
            let days = 380 - 110 * index as i64 - rng.gen_range(0..60);
            let created = anchor - Duration::days(days)
                + Duration::microseconds(rng.gen_range(0..86_400_000_000));
            let updated = anchor
                - Duration::days(rng.gen_range(1..20))
                - Duration::microseconds(rng.gen_range(0..86_400_000_000));
            let (permission, detail) = match index {
                0 => (PERMISSION_ADMIN, "Administrator"),
                1 => (PERMISSION_MANAGER, "Shift lead, support"),
                _ => (PERMISSION_AGENT, "Support agent: LINE, SMS and WhatsApp"),
            };
            VbAgent {
                id: id.clone(),
                username: if current {
                    config.voipbin_username.clone()
                } else {
                    format!("{local}@example.com")
                },
                name: name.to_owned(),
                detail: detail.to_owned(),
                status: if current {
                    "available"
                } else {
                    STATUSES[rng.gen_range(0..STATUSES.len())]
                },
                permission,
                current,
                created,
                updated,
            }
        })
        .collect()
}
