//! State shared by the server's handlers and the public [`crate::Sandbox`] handle: the world,
//! the run-time switches (latency, faults, rate limit) and the request statistics.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::clock::ServerClock;
use crate::config::{FaultConfig, FaultKind, SandboxConfig};
use crate::model::{live_message, World};
use crate::p2::limits::P2Limiter;
use crate::p2::render::Clock;
use crate::snapshot::SandboxStats;
use crate::voipbin::VoipbinState;

/// Mixed into the seed so fault draws do not mirror the data generator's draws.
const FAULT_SEED_SALT: u64 = 0xFA17_5EED_0000_0001;

/// Locks a mutex, carrying on with the data if another thread panicked while holding it.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Run-time switches.
#[derive(Debug)]
pub struct Switches {
    pub latency: Duration,
    pub faults: Option<FaultConfig>,
    fault_rng: StdRng,
    pub rate_limit: Option<u32>,
    window: VecDeque<Instant>,
    /// While set, every delivery job ends `failed` ("NOT DELIVERED").
    pub fail_deliveries: bool,
    /// While set, attachment uploads are read at most this fast (a slow uplink).
    pub upload_bytes_per_second: Option<u64>,
    /// Faults each given to the next request whose route ("GET /p1/companies/{company_id}/...")
    /// ends with the text, then forgotten (one each), before any drawn by `faults`.
    pub one_shot_faults: Vec<(String, FaultKind)>,
}

impl Switches {
    fn new(seed: u64, latency: Duration) -> Switches {
        Switches {
            latency,
            faults: None,
            fault_rng: StdRng::seed_from_u64(seed ^ FAULT_SEED_SALT),
            rate_limit: None,
            window: VecDeque::new(),
            fail_deliveries: false,
            upload_bytes_per_second: None,
            one_shot_faults: Vec::new(),
        }
    }

    /// Decides whether a request to `route` fails, and how: a one-shot fault waiting for the route
    /// first, else drawn from `faults` (seeded, so runs repeat).
    pub fn draw_fault(&mut self, route: &str) -> Option<FaultKind> {
        if let Some(index) = self
            .one_shot_faults
            .iter()
            .position(|(ending, _)| route.ends_with(ending.as_str()))
        {
            return Some(self.one_shot_faults.remove(index).1);
        }
        let faults = self.faults.as_ref()?;
        let rate = faults.rate.clamp(0.0, 1.0);
        if rate <= 0.0 || self.fault_rng.gen::<f64>() >= rate {
            return None;
        }
        let kinds: &[FaultKind] = if faults.kinds.is_empty() {
            &FaultKind::ALL
        } else {
            &faults.kinds
        };
        Some(kinds[self.fault_rng.gen_range(0..kinds.len())])
    }

    /// Counts the request against the per-minute limit; `Some(seconds)` when it is over.
    pub fn check_rate_limit(&mut self, now: Instant) -> Option<u64> {
        let limit = self.rate_limit? as usize;
        let minute = Duration::from_secs(60);
        while self
            .window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= minute)
        {
            self.window.pop_front();
        }
        if self.window.len() < limit {
            self.window.push_back(now);
            return None;
        }
        let wait = self.window.front().map_or(minute, |oldest| {
            minute.saturating_sub(now.duration_since(*oldest))
        });
        Some(wait.as_secs_f64().ceil().max(1.0) as u64)
    }

    /// Reads uploads at most `bytes_per_second` fast; `None` (or 0) reads them at full speed.
    pub fn set_upload_speed(&mut self, bytes_per_second: Option<u64>) {
        self.upload_bytes_per_second = bytes_per_second.filter(|&bytes| bytes > 0);
    }

    /// Changes the limit and forgets the requests counted so far.
    pub fn set_rate_limit(&mut self, per_minute: Option<u32>) {
        self.rate_limit = per_minute;
        self.window.clear();
    }
}

/// Everything the handlers share.
#[derive(Debug)]
pub struct Shared {
    pub world: Mutex<World>,
    pub switches: Mutex<Switches>,
    pub stats: Mutex<SandboxStats>,
    pub live_rng: Mutex<StdRng>,
    pub token: String,
    pub job_delay: Duration,
    /// `http://127.0.0.1:PORT`, prefix of every file URL.
    pub files_base: String,
    /// The VoIPbin side of the sandbox.
    pub voipbin: VoipbinState,
    /// p2 rate limits (per token and endpoint) and the log of accepted p2 request starts.
    pub p2: Mutex<P2Limiter>,
    /// A live send's p2 status turns `delivered`, then `read`, this long after it (unscaled).
    pub p2_delays: P2Delays,
    /// Downloads attachments given by `file_url` (within `file_url_timeout`).
    pub links: reqwest::Client,
    /// How long a `file_url` download may take in all.
    pub file_url_timeout: Duration,
    /// The server's clock (shared with the Pact and VoIPbin worlds).
    pub clock: ServerClock,
}

/// The p2 status delays of the config.
#[derive(Debug, Clone, Copy)]
pub struct P2Delays {
    pub delivered_after: Duration,
    pub read_after: Duration,
}

impl Shared {
    /// State for a freshly generated world.
    pub fn new(
        world: World,
        config: &SandboxConfig,
        files_base: String,
        voipbin: VoipbinState,
        clock: ServerClock,
    ) -> Shared {
        Shared {
            world: Mutex::new(world),
            switches: Mutex::new(Switches::new(config.seed, config.latency)),
            stats: Mutex::new(SandboxStats::default()),
            live_rng: Mutex::new(StdRng::seed_from_u64(config.seed.wrapping_add(7))),
            token: config.token.clone(),
            job_delay: config.job_delay,
            files_base,
            voipbin,
            p2: Mutex::new(P2Limiter::new(config.p2_limit_scale)),
            p2_delays: P2Delays {
                delivered_after: config.p2_status_delivered_after,
                read_after: config.p2_status_read_after,
            },
            links: crate::link::client(config.file_url_timeout),
            file_url_timeout: config.file_url_timeout,
            clock,
        }
    }

    /// What p2 statuses are computed against now (real time while the limits are off).
    pub fn p2_clock(&self) -> Clock {
        Clock {
            now: Instant::now(),
            scale: lock(&self.p2).scale().unwrap_or(1.0),
            delivered_after: self.p2_delays.delivered_after,
            read_after: self.p2_delays.read_after,
        }
    }

    /// Adds an incoming message now; `None` when the conversation does not exist.
    pub fn push_incoming(&self, conversation_id: i64, text: &str) -> Option<i64> {
        self.push_message(conversation_id, text, true)
    }

    /// Adds a message now, from the contact (`income`) or from the team; `None` when the
    /// conversation does not exist.
    pub fn push_message(&self, conversation_id: i64, text: &str, income: bool) -> Option<i64> {
        let mut world = lock(&self.world);
        world.conversation(conversation_id)?;
        let id = world.take_message_id();
        let message = live_message(id, income, Some(text.to_owned()), Vec::new(), world.now());
        world
            .append_live_message(conversation_id, message)
            .then_some(id)
    }

    /// Adds an incoming message carrying one file (a voice note, a video, a document) now; `None`
    /// when the conversation does not exist.
    pub fn push_incoming_file(
        &self,
        conversation_id: i64,
        text: Option<&str>,
        file: crate::content::SampleFile,
    ) -> Option<i64> {
        let mut world = lock(&self.world);
        let company_id = world.conversation(conversation_id)?.company_id;
        let attachment_id = world.take_attachment_id();
        world.attachments.insert(
            attachment_id,
            crate::model::Attachment {
                id: attachment_id,
                company_id,
                file_name: file.file_name,
                mime_type: file.mime_type.to_owned(),
                bytes: file.bytes,
                push_to_talk: file.mime_type.starts_with("audio/"),
            },
        );
        let id = world.take_message_id();
        let message = live_message(
            id,
            true,
            text.map(str::to_owned),
            vec![attachment_id],
            world.now(),
        );
        world
            .append_live_message(conversation_id, message)
            .then_some(id)
    }

    /// Downloads an attachment's `file_url` (422 when it cannot be fetched). Call it before
    /// locking the world.
    pub async fn fetch_link(
        &self,
        raw: &str,
        limit: usize,
    ) -> Result<crate::link::Fetched, crate::error::ApiError> {
        crate::link::fetch(&self.links, raw, limit, self.file_url_timeout).await
    }

    /// Counts a p1 request on its route.
    pub fn count_request(&self, route: &str) {
        let mut stats = lock(&self.stats);
        stats.requests += 1;
        *stats.per_route.entry(route.to_owned()).or_insert(0) += 1;
    }

    /// Counts a fault injected into a request on `route`.
    pub fn count_fault(&self, route: &str, kind: FaultKind) {
        let mut stats = lock(&self.stats);
        stats.faults_injected += 1;
        *stats
            .faults_by_kind
            .entry(kind.name().to_owned())
            .or_insert(0) += 1;
        *stats
            .faults_by_route
            .entry(route.to_owned())
            .or_default()
            .entry(kind.name().to_owned())
            .or_insert(0) += 1;
    }

    /// Updates the statistics.
    pub fn with_stats(&self, change: impl FnOnce(&mut SandboxStats)) {
        change(&mut lock(&self.stats));
    }
}
