//! Deterministic generation of the seed data: the same config (and seed) and the same anchor (the
//! instant the sandbox started, or [`SandboxConfig::seed_anchor`]) always give the same world, with
//! timestamps laid out before the anchor: the newest conversation's last message a few minutes old,
//! a handful within the last hour, the rest spread over days and weeks.

use chrono::{DateTime, Duration as ChronoDuration, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};

use crate::clock::ServerClock;
use crate::config::SandboxConfig;
use crate::content::{self, Locale};
use crate::model::{
    Attachment, Channel, Company, Conversation, EmptyList, EmptyText, Message, MessageP2,
    TimeShape, World,
};

/// Seed messages span at most this many days before the anchor.
const SPAN_DAYS: i64 = 89;

/// The oldest last activity of a conversation, in days before the anchor.
const OLDEST_ACTIVITY_DAYS: i64 = 60;

/// Mixed into the seed for the order of conversations by recency (no draw from the generators).
const RECENCY_SALT: u64 = 0x2EC3_0C1D_0000_0005;

/// First message id; ids below it are never used, so they are easy to tell from other ids.
const FIRST_MESSAGE_ID: i64 = 100_000;

/// Providers every company has a channel for, and extra ones some companies have.
const CORE_PROVIDERS: [&str; 5] = [
    "whatsapp",
    "telegram_personal",
    "instagram",
    "avito",
    "telegram",
];
const EXTRA_PROVIDERS: [&str; 3] = ["viber", "vkontakte", "facebook"];

const COMPANY_NAMES: &[&str] = &[
    "Ромашка — интернет-магазин",
    "Northwind Support",
    "Babel & Co <b>Imports</b>",
    "Магазин «Уют»",
    "شركة النخيل",
    "Tel Aviv Bikes בע\"מ",
];

const ASSIGNEES: [i64; 4] = [7, 12, 31, 58];

/// The anchor a config asks for, or the server's time now (the computer's shifted by the config's
/// `server_clock_offset`), rounded down to a whole second so every seeded time has whole
/// milliseconds, as the wire shows them.
pub fn anchor_of(config: &SandboxConfig, clock: &ServerClock) -> DateTime<Utc> {
    config
        .seed_anchor
        .unwrap_or_else(|| clock.now_whole_seconds())
}

/// Builds the whole world for a config, its times before `anchor`.
pub fn generate(config: &SandboxConfig, anchor: DateTime<Utc>) -> World {
    let mut root = StdRng::seed_from_u64(config.seed);
    let mut rng = SeedRng::from_root(&mut root);
    let mut world = World {
        next_message_id: FIRST_MESSAGE_ID - 1,
        next_job_id: 5_000,
        next_attachment_id: 0,
        seeded_at: anchor,
        ..World::default()
    };
    let company_count = config.companies.max(1);
    for index in 0..company_count {
        add_company(&mut world, &mut rng, index);
    }
    world.conversations.reserve(config.conversations);
    let ranks = recency_ranks(config.seed ^ RECENCY_SALT, config.conversations);
    for (index, rank) in ranks.into_iter().enumerate() {
        let company_id = (index % company_count) as i64 + 1;
        let mut rng = SeedRng::from_root(&mut root);
        let recency = Recency {
            anchor,
            rank,
            count: config.conversations,
        };
        let conversation =
            generate_conversation(&mut world, &mut rng, company_id, index, recency, config);
        world.companies[(company_id - 1) as usize]
            .conversation_ids
            .push(conversation.id);
        world.conversations.push(conversation);
    }
    world
}

fn add_company(world: &mut World, rng: &mut SeedRng, index: usize) {
    let id = index as i64 + 1;
    let base = COMPANY_NAMES[index % COMPANY_NAMES.len()];
    let name = if index < COMPANY_NAMES.len() {
        base.to_owned()
    } else {
        format!("{base} #{id}")
    };
    world.companies.push(Company {
        id,
        name,
        phone: (index % 3 != 2).then(|| format!("7495{:07}", rng.gen_range(0..9_999_999))),
        description: index
            .is_multiple_of(2)
            .then(|| "Служба поддержки / customer support".to_owned()),
        conversation_ids: Vec::new(),
    });
    let extra_count = index % (EXTRA_PROVIDERS.len() + 1);
    let providers = CORE_PROVIDERS
        .iter()
        .chain(EXTRA_PROVIDERS.iter().take(extra_count));
    for provider in providers {
        let channel_id = 400 + world.channels.len() as i64;
        world.channels.push(Channel {
            id: channel_id,
            company_id: id,
            provider,
        });
    }
}

/// Features forced into the first conversations, so small configs show every shape.
#[derive(Clone, Copy, PartialEq)]
enum Forced {
    None,
    Long,
    AttachmentOnly,
    Hostile,
    Emoji,
    Captioned,
}

fn forced_feature(conversation_index: usize) -> Forced {
    match conversation_index {
        0 => Forced::Long,
        1 => Forced::AttachmentOnly,
        2 => Forced::Hostile,
        3 => Forced::Emoji,
        4 => Forced::Captioned,
        5 => Forced::AttachmentOnly,
        _ => Forced::None,
    }
}

/// Where a conversation stands among the others by last activity.
#[derive(Debug, Clone, Copy)]
struct Recency {
    anchor: DateTime<Utc>,
    /// 0 for the conversation with the newest activity.
    rank: usize,
    count: usize,
}

/// The rank by recency (0 newest) of each of `count` items, a permutation derived from `key`
/// alone (nothing drawn from the seed generators, so every other seeded value stays the same).
pub fn recency_ranks(key: u64, count: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..count).collect();
    order.sort_by_key(|&index| mix64(key ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)));
    let mut ranks = vec![0; count];
    for (rank, index) in order.into_iter().enumerate() {
        ranks[index] = rank;
    }
    ranks
}

/// How long before the anchor the last activity of the item of this `rank` (0 newest) among
/// `count` lies, `jitter` in 0..1 moving it within its slot: the newest 4–9 minutes, a handful
/// (up to 5, one in eight) within the hour, the rest from 70 minutes to 60 days, denser in the
/// recent days. Strictly increasing with the rank.
pub fn last_activity_age(rank: usize, count: usize, jitter: f64) -> ChronoDuration {
    const MINUTE: f64 = 60_000.0;
    let jitter = jitter.clamp(0.0, 0.999_999);
    let hot = (count / 8).clamp(1, 5).min(count.saturating_sub(1));
    let millis = if rank == 0 {
        (4.0 + 5.0 * jitter) * MINUTE
    } else if rank <= hot {
        let slot = (rank - 1) as f64 + jitter;
        (12.0 + 46.0 * slot / hot as f64) * MINUTE
    } else {
        let rest = (count - hot - 1).max(1) as f64;
        let q = ((rank - hot - 1) as f64 + jitter) / rest;
        let oldest = (OLDEST_ACTIVITY_DAYS * 1440) as f64 * MINUTE;
        70.0 * MINUTE + q * q * (oldest - 70.0 * MINUTE)
    };
    ChronoDuration::milliseconds(millis as i64)
}

fn generate_conversation(
    world: &mut World,
    rng: &mut SeedRng,
    company_id: i64,
    index: usize,
    recency: Recency,
    config: &SandboxConfig,
) -> Conversation {
    let id = index as i64 + 1;
    let channel = pick_channel(world, rng, company_id);
    let locale = Locale::pick(rng);
    let times = message_times(rng, config.messages_per_conversation, recency);
    let first = times
        .first()
        .copied()
        .unwrap_or_else(|| recency.anchor - last_activity_age(recency.rank, recency.count, 0.5));
    let created_at = first - ChronoDuration::seconds(rng.gen_range(1..600));
    let mut conversation = Conversation {
        id,
        company_id,
        name: conversation_name(rng, index),
        channel_id: channel.id,
        hide_channel_id: index == 5 || rng.gen_ratio(1, 12),
        channel_type: channel.provider,
        created_at,
        time_shape: conversation_time_shape(rng, index),
        avatar: "/avatars/original/missing.png".to_owned(),
        sender_external_id: sender_external_id(rng, channel.provider),
        last_message_at: None,
        last_income_message_at: None,
        assignee_id: rng
            .gen_ratio(3, 10)
            .then(|| ASSIGNEES[rng.gen_range(0..ASSIGNEES.len())]),
        note: conversation_note(rng),
        bitrix_block_openlines: rng.gen_ratio(1, 10),
        operational_state: seeded_operational_state(id),
        replied_override: None,
        messages: Vec::with_capacity(times.len()),
    };
    let message_shape = message_time_shape(rng);
    let forced = forced_feature(index);
    let forced_slot = (index * 7 + 3) % times.len().max(1);
    for (slot, created_at) in times.into_iter().enumerate() {
        let income = slot == 0 || rng.gen_ratio(55, 100);
        let feature = if slot == forced_slot {
            forced
        } else {
            Forced::None
        };
        let message = generate_message(world, rng, &conversation, locale, income, feature);
        let message = Message {
            created_at,
            time_shape: if rng.gen_ratio(1, 30) {
                TimeShape::Epoch
            } else {
                message_shape
            },
            ..message
        };
        conversation.last_message_at = Some(created_at);
        if income {
            conversation.last_income_message_at = Some(created_at);
        }
        conversation.messages.push(message);
    }
    conversation
}

/// About one conversation in five is archived. Derived from the id alone (no draw from the seed
/// generators, so every other seeded value stays the same).
fn seeded_operational_state(id: i64) -> &'static str {
    if mix64(id as u64 ^ 0xA4C1_11ED_0000_0002).is_multiple_of(5) {
        "archived"
    } else {
        "open"
    }
}

/// SplitMix64's finaliser: a cheap, well-spread hash of a number.
pub fn mix64(value: u64) -> u64 {
    let mut z = value.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn pick_channel(world: &World, rng: &mut SeedRng, company_id: i64) -> Channel {
    let roll = rng.gen_range(0..100);
    let wanted = match roll {
        0..=39 => "whatsapp",
        40..=59 => "telegram_personal",
        60..=71 => "instagram",
        72..=81 => "avito",
        82..=91 => "telegram",
        92..=95 => "viber",
        _ => "vkontakte",
    };
    world
        .channel_for(company_id, wanted)
        .or_else(|| world.channel_for(company_id, "whatsapp"))
        .cloned()
        .unwrap_or(Channel {
            id: 0,
            company_id,
            provider: "whatsapp",
        })
}

/// Strictly increasing times, the last one the conversation's last activity (its rank's age
/// before the anchor), the first within [`SPAN_DAYS`] of the anchor. Now and then two lines come
/// less than a second apart (a burst, as people write), which whole-second timestamps show as one
/// second.
fn message_times(rng: &mut SeedRng, count: usize, recency: Recency) -> Vec<DateTime<Utc>> {
    let mut gaps: Vec<i64> = (0..count).map(|_| gap_millis(rng)).collect();
    // The same draw as ever (so every later value stays the same), now the place within the slot.
    let jitter: f64 = rng.gen();
    let age = last_activity_age(recency.rank, recency.count, jitter).num_milliseconds();
    // The first gap leads up to the first message, so the thread spans the others.
    let span_limit = (SPAN_DAYS * 86_400_000 - age).max(count as i64);
    let total: i64 = gaps.iter().skip(1).sum();
    if total > span_limit {
        for gap in gaps.iter_mut().skip(1) {
            *gap = (*gap as i128 * span_limit as i128 / total as i128).max(1) as i64;
        }
    }
    let end = recency.anchor.timestamp_millis() - age;
    let total: i64 = gaps.iter().skip(1).sum();
    let mut at = end - total;
    gaps.iter()
        .enumerate()
        .map(|(slot, gap)| {
            if slot > 0 {
                at += gap;
            }
            Utc.timestamp_millis_opt(at)
                .single()
                .unwrap_or(recency.anchor)
        })
        .collect()
}

fn gap_millis(rng: &mut SeedRng) -> i64 {
    let gap = match rng.gen_range(0..100) {
        0..=69 => rng.gen_range(5_000..600_000),
        70..=94 => rng.gen_range(600_000..28_800_000),
        _ => rng.gen_range(28_800_000..432_000_000),
    };
    // About one gap in 30 is a burst. Derived from the gap itself, so the random sequence (and with
    // it every other seeded value) is the same as without bursts.
    if gap % BURST_ONE_IN == 0 {
        1 + gap % 900
    } else {
        gap
    }
}

/// One gap in this many is a burst of under a second.
const BURST_ONE_IN: i64 = 30;

fn conversation_name(rng: &mut SeedRng, index: usize) -> Option<String> {
    if index == 4 || rng.gen_ratio(1, 10) {
        return None;
    }
    if index == 3 || rng.gen_ratio(1, 30) {
        return Some(content::hostile_line(rng));
    }
    if rng.gen_ratio(1, 15) {
        return Some(format!("7925{:07}", rng.gen_range(0..9_999_999)));
    }
    Some(content::contact_name(rng))
}

fn conversation_note(rng: &mut SeedRng) -> Option<String> {
    match rng.gen_range(0..20) {
        0 => Some("VIP клиент, отвечать в течение часа".to_owned()),
        1 => Some("<b>note</b> & \"quoted\" <script>alert(1)</script>".to_owned()),
        _ => None,
    }
}

fn conversation_time_shape(rng: &mut SeedRng, index: usize) -> TimeShape {
    match (index, rng.gen_range(0..100)) {
        (1, _) => TimeShape::Epoch,
        (2, _) => TimeShape::IsoOnly,
        (_, 0..=14) => TimeShape::Epoch,
        (_, 15..=24) => TimeShape::IsoOnly,
        _ => TimeShape::Iso,
    }
}

fn message_time_shape(rng: &mut SeedRng) -> TimeShape {
    match rng.gen_range(0..100) {
        0..=14 => TimeShape::Epoch,
        15..=24 => TimeShape::IsoOnly,
        _ => TimeShape::Iso,
    }
}

fn sender_external_id(rng: &mut SeedRng, provider: &str) -> String {
    match provider {
        "whatsapp" | "viber" => format!("79{:09}", rng.gen_range(0..999_999_999)),
        "telegram_personal" | "telegram" => format!("user_{}", rng.gen_range(1000..99_999)),
        "instagram" => format!("insta.{}", rng.gen_range(1000..99_999)),
        _ => rng.gen_range(100_000_000..999_999_999_i64).to_string(),
    }
}

fn generate_message(
    world: &mut World,
    rng: &mut SeedRng,
    conversation: &Conversation,
    locale: Locale,
    income: bool,
    forced: Forced,
) -> Message {
    let feature = if forced == Forced::None {
        random_feature(rng)
    } else {
        forced
    };
    let mut message = Message {
        id: world.take_message_id(),
        income,
        text: None,
        empty_text: EmptyText::Null,
        created_at: conversation.created_at,
        time_shape: TimeShape::Iso,
        attachment_ids: Vec::new(),
        empty_attachments: empty_list_shape(rng),
        ack: (!income).then_some(3),
        job_id: None,
        p2: MessageP2::default(),
    };
    match feature {
        Forced::Long => message.text = Some(content::long_message(locale)),
        Forced::Hostile => message.text = Some(content::hostile_line(rng)),
        Forced::Emoji => message.text = Some(content::emoji_line(rng)),
        Forced::AttachmentOnly => {
            message.empty_text = empty_text_shape(rng);
            message.attachment_ids = seed_attachments(world, rng, conversation);
        }
        Forced::Captioned => {
            message.text = Some(content::chat_line(rng, locale, income));
            message.attachment_ids = seed_attachments(world, rng, conversation);
        }
        Forced::None => {
            let line_locale = if rng.gen_ratio(1, 20) {
                Locale::English
            } else {
                locale
            };
            message.text = Some(content::chat_line(rng, line_locale, income));
        }
    }
    message
}

fn random_feature(rng: &mut SeedRng) -> Forced {
    match rng.gen_range(0..1000) {
        0..=3 => Forced::Long,
        4..=33 => Forced::AttachmentOnly,
        34..=48 => Forced::Captioned,
        49..=63 => Forced::Hostile,
        64..=93 => Forced::Emoji,
        _ => Forced::None,
    }
}

fn empty_text_shape(rng: &mut SeedRng) -> EmptyText {
    match rng.gen_range(0..10) {
        0..=6 => EmptyText::Null,
        7..=8 => EmptyText::Absent,
        _ => EmptyText::Blank,
    }
}

fn empty_list_shape(rng: &mut SeedRng) -> EmptyList {
    match rng.gen_range(0..40) {
        0 => EmptyList::Null,
        1 => EmptyList::Absent,
        _ => EmptyList::Array,
    }
}

fn seed_attachments(world: &mut World, rng: &mut SeedRng, conversation: &Conversation) -> Vec<i64> {
    let count = if rng.gen_ratio(1, 6) { 2 } else { 1 };
    (0..count)
        .map(|_| {
            let file = content::sample_file(rng);
            let id = world.take_attachment_id();
            world.attachments.insert(
                id,
                Attachment {
                    id,
                    company_id: conversation.company_id,
                    file_name: file.file_name,
                    mime_type: file.mime_type.to_owned(),
                    bytes: file.bytes,
                    push_to_talk: false,
                },
            );
            id
        })
        .collect()
}

/// SplitMix64, seeded per conversation from the `StdRng` root. Portable and deterministic like
/// the root, and an order of magnitude cheaper in unoptimised builds, where ChaCha dominates
/// the generation time of large worlds.
struct SeedRng(u64);

impl SeedRng {
    fn from_root(root: &mut StdRng) -> SeedRng {
        SeedRng(root.next_u64())
    }
}

impl RngCore for SeedRng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
