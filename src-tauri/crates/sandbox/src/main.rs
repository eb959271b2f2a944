//! `parley-sandbox`: runs the Pact p1 sandbox on a port until Ctrl+C or SIGTERM.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::Parser;
use parley_sandbox::{Sandbox, SandboxConfig};

/// Command-line options.
#[derive(Debug, Parser)]
#[command(
    name = "parley-sandbox",
    about = "Local Pact.im p1 and p2 API with deterministic demo data"
)]
struct Args {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Seed of the generated data.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Number of conversations in total.
    #[arg(long, default_value_t = 20)]
    conversations: usize,
    /// Messages per conversation.
    #[arg(long, default_value_t = 30)]
    messages: usize,
    /// Number of companies.
    #[arg(long, default_value_t = 2)]
    companies: usize,
    /// API token clients must send.
    #[arg(long, default_value = "sandbox-token")]
    token: String,
    /// Delay before each p1 request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Push an incoming message into a random conversation every this many seconds.
    #[arg(long)]
    live_every_secs: Option<f64>,
    /// Number of VoIPbin conversations.
    #[arg(long, default_value_t = 8)]
    voipbin_conversations: usize,
    /// Messages per VoIPbin conversation.
    #[arg(long, default_value_t = 15)]
    voipbin_messages: usize,
    /// Time scale of the Pact p2 rate limits: 1 is real time, 60 makes a minute last a second,
    /// 0 or "off" turns them off.
    #[arg(long, default_value = "1", value_parser = parse_scale)]
    p2_limit_scale: Scale,
    /// Answer VoIPbin's legacy `POST /v1.0/conversations/setup` (else 404, as today's API).
    #[arg(long)]
    voipbin_legacy_setup: bool,
    /// Lay the seeded times out before this RFC 3339 instant instead of the start time (the same
    /// seed and anchor always give the same data).
    #[arg(long, value_parser = parse_anchor)]
    seed_anchor: Option<DateTime<Utc>>,
    /// Run the server's clock this many seconds from the computer's (negative: behind), for every
    /// time it writes and for the default seed anchor.
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    server_clock_offset_secs: i64,
}

fn parse_anchor(raw: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(raw.trim())
        .map(|at| at.with_timezone(&Utc))
        .map_err(|error| format!("{raw:?} is not an RFC 3339 time: {error}"))
}

/// A p2 time scale; `None` is off.
#[derive(Debug, Clone, Copy)]
struct Scale(Option<f64>);

fn parse_scale(raw: &str) -> Result<Scale, String> {
    let raw = raw.trim();
    if raw.eq_ignore_ascii_case("off") || raw.eq_ignore_ascii_case("none") {
        return Ok(Scale(None));
    }
    let scale: f64 = raw
        .parse()
        .map_err(|_| format!("{raw:?} is not a number or \"off\""))?;
    if !scale.is_finite() || scale < 0.0 {
        return Err(format!("{raw:?} must be 0 (off) or a positive number"));
    }
    Ok(Scale((scale > 0.0).then_some(scale)))
}

impl Args {
    fn config(&self) -> SandboxConfig {
        SandboxConfig {
            seed: self.seed,
            companies: self.companies,
            conversations: self.conversations,
            messages_per_conversation: self.messages,
            token: self.token.clone(),
            latency: Duration::from_millis(self.latency_ms),
            live_incoming_every: self
                .live_every_secs
                .filter(|s| s.is_finite() && *s > 0.0)
                .map(Duration::from_secs_f64),
            voipbin_conversations: self.voipbin_conversations,
            voipbin_messages_per_conversation: self.voipbin_messages,
            p2_limit_scale: self.p2_limit_scale.0,
            voipbin_legacy_setup: self.voipbin_legacy_setup,
            seed_anchor: self.seed_anchor,
            server_clock_offset: chrono::Duration::try_seconds(self.server_clock_offset_secs)
                .unwrap_or_default(),
            ..SandboxConfig::default()
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let sandbox = match Sandbox::start_on(args.config(), addr).await {
        Ok(sandbox) => sandbox,
        Err(error) => {
            eprintln!("parley-sandbox: cannot listen on {addr}: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "parley-sandbox listening on {} (token: {})",
        sandbox.pact_p1_base_url(),
        sandbox.token()
    );
    println!("parley-sandbox pact p2 at {}", sandbox.pact_p2_base_url());
    let (username, password) = sandbox.voipbin_login();
    println!(
        "parley-sandbox voipbin root {} (accesskey: {}, login: {username} / {password}, customer: {})",
        sandbox.voipbin_base_url(),
        sandbox.voipbin_access_key(),
        sandbox.voipbin_customer_id()
    );
    wait_for_stop_signal().await;
    sandbox.shutdown().await;
    ExitCode::SUCCESS
}

#[cfg(unix)]
async fn wait_for_stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_stop_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
