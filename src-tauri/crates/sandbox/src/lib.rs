//! Parley's sandbox: a local HTTP server that speaks the Pact.im p1 API, the Pact.im p2 API
//! (under `/api/p2/`, see [`Sandbox::pact_p2_base_url`], over the same data) and VoIPbin's REST and
//! WebSocket API (rooted at `/`, see [`Sandbox::voipbin_base_url`]) from the public docs, in
//! memory, with deterministic and realistic seed data, for tests, benchmarks and demo mode.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use parley_sandbox::{Sandbox, SandboxConfig};
//! let sandbox = Sandbox::start(SandboxConfig::default()).await?;
//! println!("{} (token {})", sandbox.pact_p1_base_url(), sandbox.token());
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Switches (latency, injected faults, rate limit) change at run time through [`Sandbox`] or
//! through the admin endpoints under `/_sandbox/` (no token needed, never faulted):
//! `POST /_sandbox/faults {"rate":0.3,"kinds":["status500","html502","reset","invalid_json",
//! "reset_after_processing"]}`, `POST /_sandbox/latency {"ms":50}`,
//! `POST /_sandbox/rate_limit {"per_minute":N}` (or `null`), `POST /_sandbox/p2_limits {"scale":1.0}`
//! (or `null`: p2's documented per-endpoint limits off),
//! `POST /_sandbox/incoming {"conversation_id":1,"text":"hi"}`,
//! `POST /_sandbox/clock {"offset_seconds":-31536000}` (the server's clock a year behind the
//! computer's, see [`Sandbox::set_server_clock_offset`]) and `GET /_sandbox/stats`.

mod admin;
mod clock;
mod config;
mod content;
pub use content::{sample_pdf, sample_png, voice_note_wav, SampleFile};
mod delivery;
mod error;
mod guard;
mod link;
mod model;
mod p1;
mod p2;
mod paging;
mod params;
mod render;
mod seed;
mod server;
mod snapshot;
mod state;
mod voipbin;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::net::TcpListener;
use tokio::runtime::Runtime;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::{FaultConfig, FaultKind, SandboxConfig};
pub use snapshot::{
    ClientStats, SandboxStats, SnapshotAttachment, SnapshotCompany, SnapshotConversation,
    SnapshotMessage,
};
pub use voipbin::{VoipbinAgent, VoipbinConversation, VoipbinMessage};

use state::{lock, Shared};

/// A running sandbox server. It runs on a small runtime of its own, so it keeps answering
/// even while the caller blocks (a `current_thread` test waiting on a child process).
/// Dropping it stops the server too; [`Sandbox::shutdown`] also waits until it has stopped.
#[derive(Debug)]
pub struct Sandbox {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    server: Option<JoinHandle<()>>,
    runtime: Option<Runtime>,
}

impl Sandbox {
    /// Generates the data and serves it on `127.0.0.1` at a free port.
    pub async fn start(config: SandboxConfig) -> std::io::Result<Sandbox> {
        Sandbox::start_on(config, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await
    }

    /// Generates the data and serves it on `addr` (port 0 picks a free port).
    pub async fn start_on(config: SandboxConfig, addr: SocketAddr) -> std::io::Result<Sandbox> {
        let std_listener = std::net::TcpListener::bind(addr)?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let clock = clock::ServerClock::new(config.server_clock_offset);
        let anchor = seed::anchor_of(&config, &clock);
        let mut world = seed::generate(&config, anchor);
        world.clock = clock.clone();
        let shared = Arc::new(Shared::new(
            world,
            &config,
            files_base(addr),
            voipbin::VoipbinState::new(&config, anchor, clock.clone()),
            clock,
        ));
        let router = p1::router(Arc::clone(&shared))
            .merge(p2::router(Arc::clone(&shared)))
            .merge(admin::router())
            .merge(voipbin::router(Arc::clone(&shared)))
            .fallback(|| async { error::ApiError::not_found("No such endpoint") })
            .with_state(Arc::clone(&shared));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("parley-sandbox")
            .enable_all()
            .build()?;
        let listener = {
            let _inside = runtime.enter();
            TcpListener::from_std(std_listener)?
        };
        let (shutdown, shutdown_rx) = watch::channel(false);
        let server = runtime.spawn(server::serve(listener, router, shutdown_rx.clone()));
        if let Some(every) = config.live_incoming_every {
            runtime.spawn(delivery::run_live_mode(
                Arc::clone(&shared),
                every,
                shutdown_rx,
            ));
        }
        Ok(Sandbox {
            shared,
            addr,
            shutdown,
            server: Some(server),
            runtime: Some(runtime),
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/p1/`, the base URL a p1 client should use.
    pub fn pact_p1_base_url(&self) -> String {
        format!("{}/p1/", files_base(self.addr))
    }

    /// `http://127.0.0.1:PORT/`, the root the Pact APIs hang off (`p1/`, `api/p2/`).
    pub fn pact_root_url(&self) -> String {
        format!("{}/", files_base(self.addr))
    }

    /// `http://127.0.0.1:PORT/api/p2/`, the base URL a p2 client should use.
    pub fn pact_p2_base_url(&self) -> String {
        format!("{}/api/p2/", files_base(self.addr))
    }

    /// Changes the time scale of the p2 rate limits (and of the p2 status delays) and forgets
    /// the windows counted so far: `None` (or a scale that is not positive) turns the limits off,
    /// `Some(1.0)` is real time, `Some(60.0)` makes a minute last a second.
    pub fn set_p2_limit_scale(&self, scale: Option<f64>) {
        lock(&self.shared.p2).set_scale(scale);
    }

    /// Every accepted (not 429) p2 request start, oldest first, with its endpoint bucket
    /// (`list_conversations`, `get_conversation`, `update_conversation`, `list_messages`,
    /// `get_message`, `send_message`, `delete_messages`, `write_first`, `upload_attachment`,
    /// `waba_templates`), so a test can check no window was exceeded.
    pub fn p2_request_log(&self) -> Vec<(String, std::time::Instant)> {
        lock(&self.shared.p2).log()
    }

    /// The instant every seeded time lies before (the config's `seed_anchor`, else when the sandbox
    /// started, whole seconds): the newest seeded activity is a few minutes before it.
    pub fn seed_anchor(&self) -> DateTime<Utc> {
        lock(&self.shared.world).seeded_at
    }

    /// Sets the server's clock `offset` from the computer's (negative: behind) for every time
    /// written from now on, on p1, p2 and VoIPbin alike (see
    /// [`SandboxConfig::server_clock_offset`]). What is stored keeps its times, and a thread stays
    /// in time order: after a step back, new messages of a thread whose newest message is later
    /// than the server's new "now" are stamped just after it. To have a whole sandbox (its seeded
    /// history too) on a wrong clock, set the offset in the config.
    pub fn set_server_clock_offset(&self, offset: chrono::Duration) {
        self.shared.clock.set_offset(offset);
    }

    /// How far the server's clock is from the computer's.
    pub fn server_clock_offset(&self) -> chrono::Duration {
        self.shared.clock.offset()
    }

    /// The server's time now: the computer's plus [`Sandbox::server_clock_offset`].
    pub fn server_now(&self) -> DateTime<Utc> {
        self.shared.clock.now()
    }

    /// The API token the sandbox accepts.
    pub fn token(&self) -> String {
        self.shared.token.clone()
    }

    /// Injects faults into a fraction of p1 requests; `None` stops injecting.
    pub fn set_faults(&self, faults: Option<FaultConfig>) {
        lock(&self.shared.switches).faults = faults;
    }

    /// Fails the next request (p1, p2 or VoIPbin) whose route ends with `route_ending` (the route is
    /// its method and path pattern, e.g. `"GET /p1/companies/{company_id}/conversations"`) with
    /// `kind`, once; calls add up, each failing one more request.
    pub fn fail_once(&self, route_ending: &str, kind: FaultKind) {
        lock(&self.shared.switches)
            .one_shot_faults
            .push((route_ending.to_string(), kind));
    }

    /// Delay added before each p1 request is handled.
    pub fn set_latency(&self, latency: Duration) {
        lock(&self.shared.switches).latency = latency;
    }

    /// Reads attachment uploads at most `bytes_per_second` fast, as over a slow uplink, so a client's
    /// upload progress can be watched; `None` reads them at full speed.
    pub fn set_upload_speed(&self, bytes_per_second: Option<u64>) {
        lock(&self.shared.switches).set_upload_speed(bytes_per_second);
    }

    /// Answers 429 once more than `per_minute` p1 requests came in the last minute; `None`
    /// removes the limit.
    pub fn set_rate_limit(&self, per_minute: Option<u32>) {
        lock(&self.shared.switches).set_rate_limit(per_minute);
    }

    /// While `true`, every delivery job ends `failed` with the reason "Contact is not present in the
    /// messenger", as Pact reports a message its messenger refused.
    pub fn set_fail_deliveries(&self, fail: bool) {
        lock(&self.shared.switches).fail_deliveries = fail;
    }

    /// Adds an incoming message (from the customer) now and returns its id, or 0 when the
    /// conversation does not exist.
    pub fn push_incoming_message(&self, conversation_id: i64, text: &str) -> i64 {
        self.shared
            .push_incoming(conversation_id, text)
            .unwrap_or(0)
    }

    /// Adds an incoming message carrying `file` (and `text`, if any) now and returns its id, or 0
    /// when the conversation does not exist. [`voice_note_wav`] makes a voice note.
    pub fn push_incoming_file(
        &self,
        conversation_id: i64,
        text: Option<&str>,
        file: SampleFile,
    ) -> i64 {
        self.shared
            .push_incoming_file(conversation_id, text, file)
            .unwrap_or(0)
    }

    /// Adds an outgoing message now as a teammate would write it elsewhere (Pact's web app, another
    /// device): it joins the thread at once, but it is not a send accepted through the API, so
    /// [`Sandbox::sent_messages`] does not list it. Returns its id, or 0 when the conversation
    /// does not exist.
    pub fn push_team_message(&self, conversation_id: i64, text: &str) -> i64 {
        self.shared
            .push_message(conversation_id, text, false)
            .unwrap_or(0)
    }

    /// Adds a realistic incoming message (a customer's line from the seed texts) to a random
    /// conversation now, as live mode does; returns `(conversation id, message id)`, or `None`
    /// when there is no conversation. Demo mode calls it now and then.
    pub fn push_live_incoming(&self) -> Option<(i64, i64)> {
        delivery::push_live_message(&self.shared)
    }

    /// The same for VoIPbin: a customer's line in a random VoIPbin conversation, announced on the
    /// WebSocket; returns `(conversation id, message id)`.
    pub fn push_live_voipbin_incoming(&self) -> Option<(String, String)> {
        delivery::push_live_voipbin_message(&self.shared)
    }

    /// Every company, by id.
    pub fn companies(&self) -> Vec<SnapshotCompany> {
        let world = lock(&self.shared.world);
        world.companies.iter().map(SnapshotCompany::of).collect()
    }

    /// Every conversation of every company, by id.
    pub fn conversations(&self) -> Vec<SnapshotConversation> {
        let world = lock(&self.shared.world);
        world
            .conversations
            .iter()
            .map(SnapshotConversation::of)
            .collect()
    }

    /// The conversation's messages, oldest first (empty for an unknown conversation).
    pub fn messages(&self, conversation_id: i64) -> Vec<SnapshotMessage> {
        let clock = self.shared.p2_clock();
        let world = lock(&self.shared.world);
        world
            .conversation(conversation_id)
            .map(|c| {
                c.messages
                    .iter()
                    .map(|m| SnapshotMessage::of(&world, c, m, &clock))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every message accepted through the API, in the order accepted, including sends whose
    /// delivery job has not finished yet (their id is the one they will get).
    pub fn sent_messages(&self) -> Vec<SnapshotMessage> {
        let clock = self.shared.p2_clock();
        let world = lock(&self.shared.world);
        snapshot::sent_messages(&world, &clock)
    }

    /// `http://127.0.0.1:PORT`, the VoIPbin root (REST under `/v1.0/`, login at `/auth/login`).
    pub fn voipbin_base_url(&self) -> String {
        files_base(self.addr)
    }

    /// The VoIPbin access key the sandbox accepts (`?accesskey=`).
    pub fn voipbin_access_key(&self) -> String {
        self.shared.voipbin.access_key.clone()
    }

    /// The VoIPbin username and password `POST /auth/login` accepts.
    pub fn voipbin_login(&self) -> (String, String) {
        let voipbin = &self.shared.voipbin;
        (voipbin.username.clone(), voipbin.password.clone())
    }

    /// The VoIPbin customer id (for the WebSocket topic `customer_id:<id>:conversation`).
    pub fn voipbin_customer_id(&self) -> String {
        self.shared.voipbin.customer_id()
    }

    /// Adds an incoming VoIPbin message now, pushes it on the WebSocket and returns its id
    /// (empty when the conversation does not exist).
    pub fn push_voipbin_incoming(&self, conversation_id: &str, text: &str) -> String {
        self.shared
            .voipbin
            .add_message(conversation_id, text, true)
            .and_then(|message| message["id"].as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// Adds an outgoing VoIPbin message now as a teammate would write it in VoIPbin's console (not
    /// through the API, so [`Sandbox::voipbin_sent_messages`] does not list it), pushes it on the
    /// WebSocket and returns its id (empty when the conversation does not exist).
    pub fn push_voipbin_team_message(&self, conversation_id: &str, text: &str) -> String {
        self.shared
            .voipbin
            .add_message_from(conversation_id, text, voipbin::Origin::Team)
            .and_then(|message| message["id"].as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// The customer's VoIPbin agents, newest first (the order of `GET /v1.0/agents`); the login
    /// user is the one with `current` set, and conversations' `owner_id`s are among them.
    pub fn voipbin_agents(&self) -> Vec<VoipbinAgent> {
        self.shared.voipbin.agents()
    }

    /// Every VoIPbin conversation, newest first (the API's order).
    pub fn voipbin_conversations(&self) -> Vec<VoipbinConversation> {
        self.shared.voipbin.conversations()
    }

    /// A VoIPbin conversation's messages, oldest first (empty for an unknown conversation).
    pub fn voipbin_messages(&self, conversation_id: &str) -> Vec<VoipbinMessage> {
        self.shared.voipbin.messages(conversation_id)
    }

    /// VoIPbin messages accepted through `POST .../messages`, in order.
    pub fn voipbin_sent_messages(&self) -> Vec<VoipbinMessage> {
        self.shared.voipbin.sent_messages()
    }

    /// Closes every open VoIPbin WebSocket (clients must reconnect and catch up).
    pub fn cut_websockets(&self) {
        self.shared.voipbin.cut_websockets();
    }

    /// While `true`, VoIPbin conversation endpoints answer 403 `PERMISSION_DENIED`, as for an
    /// agent without an admin or manager role.
    pub fn set_voipbin_agent_role(&self, agent: bool) {
        self.shared
            .voipbin
            .agent_role
            .store(agent, std::sync::atomic::Ordering::Relaxed);
    }

    /// Makes every VoIPbin login token handed out so far expired (clients must log in again).
    pub fn expire_voipbin_tokens(&self) {
        self.shared.voipbin.expire_tokens();
    }

    /// Successful VoIPbin `/auth/login` calls so far.
    pub fn voipbin_logins(&self) -> u64 {
        self.shared
            .voipbin
            .logins
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Makes every open VoIPbin WebSocket half-open, as a lost network does: it stays open but
    /// sends nothing more (no events, no pongs) until cut. New connections work as usual.
    pub fn silence_voipbin_websockets(&self) {
        self.shared.voipbin.silence_websockets();
    }

    /// While `true`, the VoIPbin WebSocket is down: open connections are cut and new ones get 503.
    pub fn set_voipbin_websocket_down(&self, down: bool) {
        self.shared.voipbin.set_websocket_down(down);
    }

    /// Counters of requests, faults, 429s and routes.
    pub fn stats(&self) -> SandboxStats {
        lock(&self.shared.stats).clone()
    }

    /// Stops the server, drops open connections and waits until it has stopped.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// `http://HOST:PORT` with an unspecified bind address replaced by loopback.
fn files_base(addr: SocketAddr) -> String {
    let mut public = addr;
    if public.ip().is_unspecified() {
        public.set_ip(Ipv4Addr::LOCALHOST.into());
    }
    format!("http://{public}")
}
