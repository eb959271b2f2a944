//! Deterministic VoIPbin seed data: LINE, SMS and WhatsApp conversations in both shapes, with
//! multilingual support chat from `content.rs`, all before the sandbox's reference instant.

use chrono::Duration;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::model::{uuid_from, Channel, VbConversation, VbMessage, VbWorld};
use crate::config::SandboxConfig;
use crate::content::{self, Locale};
use crate::seed::reference_instant;

/// Mixed into the seed so VoIPbin data does not mirror the p1 data.
const VOIPBIN_SEED_SALT: u64 = 0x0B0B_1B1A_2026_0004;

/// Generates the VoIPbin world for a configuration.
pub fn generate(config: &SandboxConfig) -> VbWorld {
    let mut rng = StdRng::seed_from_u64(config.seed ^ VOIPBIN_SEED_SALT);
    let customer_id = uuid_from(rng.gen(), rng.gen());
    let agents: Vec<String> = (0..3).map(|_| uuid_from(rng.gen(), rng.gen())).collect();
    let conversations = (0..config.voipbin_conversations)
        .map(|index| conversation(&mut rng, index, config, &agents))
        .collect();
    VbWorld {
        customer_id,
        conversations,
        ..VbWorld::default()
    }
}

fn conversation(
    rng: &mut StdRng,
    index: usize,
    config: &SandboxConfig,
    agents: &[String],
) -> VbConversation {
    let channel = [Channel::Line, Channel::Sms, Channel::Whatsapp][index % 3];
    // Conversations lie about 9 hours apart and never share a creation time.
    let created = reference_instant()
        - Duration::hours(9 * (index as i64 + 1))
        - Duration::microseconds(rng.gen_range(0..3_600_000_000));
    let locale = Locale::pick(rng);
    let messages = messages(
        rng,
        created,
        locale,
        config.voipbin_messages_per_conversation,
    );
    let updated = messages.last().map_or(created, |m| m.created);
    VbConversation {
        id: uuid_from(rng.gen(), rng.gen()),
        legacy: index % 3 == 1 || rng.gen_bool(0.25),
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

/// A phone number or a LINE user id.
fn target(rng: &mut StdRng, channel: Channel) -> String {
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
    start: chrono::DateTime<chrono::Utc>,
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
