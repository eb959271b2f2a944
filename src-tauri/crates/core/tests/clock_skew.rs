//! Exactly once while the server's clock disagrees with the computer's (issue 11, point 1): with the
//! server's clock a year behind, a year ahead and in agreement, 20 sends under 30 % injected faults
//! (500 before processing, connection reset after processing) arrive exactly once each, for Pact
//! (p2 and p1) and for VoIPbin; and a message the team already had in the thread with the same text
//! is never taken for ours after a lost answer, so the send still arrives, exactly once more.
//!
//! The outbox decides "is this message ours" from the server's own times only (the thread's newest
//! cached message when the send went out); these tests put the sandbox's clock a year off to prove
//! the computer's clock never enters that decision.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use common::open;
use parley_core::{ConversationRef, NewAccount, OutboxState, Parley, ProviderKind, Secret};
use parley_sandbox::{FaultConfig, FaultKind, Sandbox, SandboxConfig};

/// Every p2 rate-limit window (the sandbox's and our budget) is divided by this.
const SCALE: f64 = 60.0;
/// Sends per run.
const SENDS: usize = 20;
/// Every this many sends carries a file (Pact only: VoIPbin takes text).
const FILE_EVERY: usize = 5;
/// The longest a run may take to bring every entry to a final state.
const DEADLINE: Duration = Duration::from_secs(150);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    PactP2,
    PactP1,
    Voipbin,
}

impl Api {
    fn account(self) -> &'static str {
        match self {
            Api::Voipbin => "vb",
            _ => common::ACCOUNT,
        }
    }

    fn takes_files(self) -> bool {
        self != Api::Voipbin
    }
}

/// A sandbox whose clock is `offset` from the computer's, a core with one account on it, synced.
struct Setup {
    api: Api,
    offset: ChronoDuration,
    sandbox: Sandbox,
    parley: Parley,
    /// The core's data folder, removed with the setup.
    _dir: tempfile::TempDir,
}

impl Setup {
    async fn start(api: Api, offset: ChronoDuration) -> Setup {
        // The core honours the scale only for loopback servers like this one.
        std::env::set_var(parley_core::RATE_LIMIT_SCALE_ENV, SCALE.to_string());
        let sandbox = Sandbox::start(SandboxConfig {
            conversations: 4,
            messages_per_conversation: 5,
            voipbin_conversations: 3,
            voipbin_messages_per_conversation: 5,
            p2_limit_scale: Some(SCALE),
            job_delay: Duration::from_millis(50),
            server_clock_offset: offset,
            ..SandboxConfig::default()
        })
        .await
        .expect("sandbox starts");
        let dir = tempfile::tempdir().unwrap();
        let parley = open(dir.path()).await;
        let new_account = |provider, base_url| NewAccount {
            name: api.account().to_string(),
            provider,
            base_url: Some(base_url),
            company_ids: vec![],
        };
        match api {
            Api::PactP2 => parley
                .add_account(
                    new_account(ProviderKind::Pact, sandbox.pact_root_url()),
                    Secret::new(sandbox.token()),
                )
                .await
                .expect("account added"),
            Api::PactP1 => parley
                .add_account(
                    new_account(ProviderKind::PactP1, sandbox.pact_p1_base_url()),
                    Secret::new(sandbox.token()),
                )
                .await
                .expect("account added"),
            Api::Voipbin => {
                let (username, password) = sandbox.voipbin_login();
                parley
                    .add_account_with_username(
                        new_account(ProviderKind::Voipbin, sandbox.voipbin_base_url()),
                        Some(username),
                        Secret::new(password),
                    )
                    .await
                    .expect("account added")
            }
        };
        let setup = Setup {
            api,
            offset,
            sandbox,
            parley,
            _dir: dir,
        };
        setup.sync().await;
        setup
    }

    async fn sync(&self) {
        self.parley
            .sync(self.api.account(), &mut |_| {})
            .await
            .expect("sync succeeds");
    }

    fn label(&self) -> String {
        format!(
            "{:?} with the server's clock {} days off",
            self.api,
            self.offset.num_days()
        )
    }

    /// The provider ids of the first `count` conversations.
    fn conversation_ids(&self, count: usize) -> Vec<String> {
        match self.api {
            Api::Voipbin => self
                .sandbox
                .voipbin_conversations()
                .into_iter()
                .take(count)
                .map(|c| c.id)
                .collect(),
            _ => self
                .sandbox
                .conversations()
                .into_iter()
                .take(count)
                .map(|c| c.id.to_string())
                .collect(),
        }
    }

    fn reference(&self, id: &str) -> ConversationRef {
        ConversationRef {
            account: self.api.account().to_string(),
            id: id.to_string(),
        }
    }

    /// The server's copy of a thread, oldest first.
    fn server_thread(&self, conversation: &str) -> Vec<ServerMessage> {
        match self.api {
            Api::Voipbin => self
                .sandbox
                .voipbin_messages(conversation)
                .into_iter()
                .map(|m| ServerMessage {
                    id: m.id,
                    outgoing: !m.incoming,
                    text: m.text,
                    files: Vec::new(),
                    created_at: m.created_at,
                })
                .collect(),
            _ => self
                .sandbox
                .messages(conversation.parse().unwrap())
                .into_iter()
                .map(|m| ServerMessage {
                    id: m.id.to_string(),
                    outgoing: !m.income,
                    text: m.text.unwrap_or_default(),
                    files: m.attachments.into_iter().map(|a| a.bytes).collect(),
                    created_at: m.created_at,
                })
                .collect(),
        }
    }

    /// Adds an outgoing message written by a teammate elsewhere; answers its id.
    fn push_team_message(&self, conversation: &str, text: &str) -> String {
        let id = match self.api {
            Api::Voipbin => self.sandbox.push_voipbin_team_message(conversation, text),
            _ => self
                .sandbox
                .push_team_message(conversation.parse().unwrap(), text)
                .to_string(),
        };
        assert!(!id.is_empty() && id != "0", "the team's message was added");
        id
    }

    /// Adds a customer's message.
    fn push_incoming(&self, conversation: &str, text: &str) {
        match self.api {
            Api::Voipbin => {
                self.sandbox.push_voipbin_incoming(conversation, text);
            }
            _ => {
                self.sandbox
                    .push_incoming_message(conversation.parse().unwrap(), text);
            }
        }
    }

    /// The server's routes that send a message (the one a lost answer matters on).
    fn send_route(&self) -> &'static str {
        match self.api {
            Api::PactP2 => "POST /api/p2/conversations/{conversation_id}/messages",
            Api::PactP1 => {
                "POST /p1/companies/{company_id}/conversations/{conversation_id}/messages"
            }
            Api::Voipbin => "POST /v1.0/conversations/{id}/messages",
        }
    }

    /// Faults of `kind` the server injected into sends so far.
    fn send_faults(&self, kind: FaultKind) -> u64 {
        self.sandbox
            .stats()
            .faults_by_route
            .get(self.send_route())
            .and_then(|kinds| kinds.get(kind.name()))
            .copied()
            .unwrap_or(0)
    }

    /// Works the outbox until every entry is final (or the deadline passes); answers how long.
    async fn work_until_final(&self, ids: &[i64]) -> Duration {
        let started = Instant::now();
        loop {
            self.parley.process_outbox(None).await.unwrap();
            let mut open = 0;
            for id in ids {
                if !self
                    .parley
                    .outbox_entry(*id)
                    .await
                    .unwrap()
                    .status
                    .is_final()
                {
                    open += 1;
                }
            }
            if open == 0 || started.elapsed() > DEADLINE {
                return started.elapsed();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A message as the server holds it.
#[derive(Debug, Clone)]
struct ServerMessage {
    id: String,
    outgoing: bool,
    text: String,
    files: Vec<Vec<u8>>,
    created_at: DateTime<Utc>,
}

/// One queued send.
struct Send {
    entry: i64,
    conversation: String,
    text: String,
    file: Option<Vec<u8>>,
}

fn only(kind: FaultKind) -> Option<FaultConfig> {
    Some(FaultConfig {
        rate: 1.0,
        kinds: vec![kind],
    })
}

/// The acceptance: 20 sends into two conversations, a few with a file, under 30 % faults (the
/// first two sends forced through a reset after processing and a 500 before processing, so
/// every run has both on a send), each on the server exactly once, every entry delivered.
async fn twenty_sends_arrive_exactly_once(api: Api, offset: ChronoDuration) {
    let setup = Setup::start(api, offset).await;
    let label = setup.label();
    let conversations = setup.conversation_ids(2);
    let files = tempfile::tempdir().unwrap();
    let mut sends = Vec::new();
    for index in 0..SENDS {
        let conversation = conversations[index % conversations.len()].clone();
        let text = format!("skew {:+} days, send {index:02}", offset.num_days());
        let file = (api.takes_files() && index % FILE_EVERY == FILE_EVERY - 1)
            .then(|| format!("attachment of send {index:02}").into_bytes());
        let paths: Vec<PathBuf> = file
            .iter()
            .map(|bytes| {
                let path = files.path().join(format!("send-{index:02}.txt"));
                std::fs::write(&path, bytes).unwrap();
                path
            })
            .collect();
        let entry = setup
            .parley
            .queue_message(&setup.reference(&conversation), Some(text.clone()), &paths)
            .await
            .unwrap();
        sends.push(Send {
            entry,
            conversation,
            text,
            file,
        });
    }
    let first_sent_at = setup.sandbox.server_now();

    // The first answer is lost after the server stored the message, the second send is refused
    // with a 500 before it did anything: both must be settled by looking at the server.
    setup
        .sandbox
        .set_faults(only(FaultKind::ResetAfterProcessing));
    setup
        .parley
        .process_outbox(Some(sends[0].entry))
        .await
        .unwrap();
    setup.sandbox.set_faults(only(FaultKind::Status500));
    setup
        .parley
        .process_outbox(Some(sends[1].entry))
        .await
        .unwrap();
    setup.sandbox.set_faults(Some(FaultConfig {
        rate: 0.3,
        kinds: vec![FaultKind::Status500, FaultKind::ResetAfterProcessing],
    }));
    let ids: Vec<i64> = sends.iter().map(|send| send.entry).collect();
    let took = setup.work_until_final(&ids).await;
    setup.sandbox.set_faults(None);
    let last_sent_at = setup.sandbox.server_now();
    eprintln!(
        "{label}: {SENDS} sends final in {took:.1?}; faults on sends {:?}; VoIPbin logins {}",
        setup
            .sandbox
            .stats()
            .faults_by_route
            .get(setup.send_route()),
        setup.sandbox.voipbin_logins()
    );
    assert!(
        setup.send_faults(FaultKind::ResetAfterProcessing) >= 1
            && setup.send_faults(FaultKind::Status500) >= 1,
        "{label}: the sends met no lost answer: {:?}",
        setup.sandbox.stats().faults_by_route
    );

    let threads: BTreeMap<String, Vec<ServerMessage>> = conversations
        .iter()
        .map(|id| (id.clone(), setup.server_thread(id)))
        .collect();
    let mut problems = Vec::new();
    for send in &sends {
        let entry = setup.parley.outbox_entry(send.entry).await.unwrap();
        if entry.status != OutboxState::Delivered {
            problems.push(format!(
                "{:?} is {:?} ({:?}: {:?})",
                send.text, entry.status, entry.last_error_code, entry.last_error
            ));
        }
        let copies: Vec<&ServerMessage> = threads
            .values()
            .flatten()
            .filter(|m| m.outgoing && m.text == send.text)
            .collect();
        match copies.as_slice() {
            [] => problems.push(format!("{:?} LOST: not on the server", send.text)),
            [copy] => {
                let wanted: Vec<Vec<u8>> = send.file.iter().cloned().collect();
                if copy.files != wanted {
                    problems.push(format!(
                        "{:?} arrived with {} files, not {}",
                        send.text,
                        copy.files.len(),
                        wanted.len()
                    ));
                }
                if !threads[&send.conversation].iter().any(|m| m.id == copy.id) {
                    problems.push(format!("{:?} landed in another conversation", send.text));
                }
                if entry.message_id.as_deref() != Some(copy.id.as_str()) {
                    problems.push(format!(
                        "{:?}: the entry names message {:?}, the server's copy is {}",
                        send.text, entry.message_id, copy.id
                    ));
                }
                // The copy carries the server's skewed clock: this run really had the clocks apart.
                let slack = ChronoDuration::minutes(1);
                if copy.created_at < first_sent_at - slack || copy.created_at > last_sent_at + slack
                {
                    problems.push(format!(
                        "{:?} was stamped {}, outside the server's {first_sent_at} .. {last_sent_at}",
                        send.text, copy.created_at
                    ));
                }
            }
            doubled => problems.push(format!(
                "{:?} DOUBLED: {} copies on the server, ids {:?}",
                send.text,
                doubled.len(),
                doubled.iter().map(|m| m.id.as_str()).collect::<Vec<_>>()
            )),
        }
    }
    assert!(
        problems.is_empty(),
        "{label}: {} of {SENDS} sends went wrong:\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

/// A teammate's message with the very text we send, cached before the send, in two threads: in
/// one it is the thread's newest message and our send is refused with a 500 before the server did
/// anything (so only a resend brings it), in the other a customer answered after it and our
/// send's answer is lost after the server stored it (so the outbox must find our copy, not the
/// team's). Either way the server ends with the team's message and ours, each once.
async fn a_teammates_identical_text_is_not_taken_for_ours(api: Api, offset: ChronoDuration) {
    let setup = Setup::start(api, offset).await;
    let label = setup.label();
    let conversations = setup.conversation_ids(2);
    let text = "Ваш заказ отправлен, номер для отслеживания придёт в SMS";
    let refused_thread = &conversations[0];
    let lost_thread = &conversations[1];
    let team_refused = setup.push_team_message(refused_thread, text);
    let team_lost = setup.push_team_message(lost_thread, text);
    setup.push_incoming(lost_thread, "Спасибо!");
    setup.sync().await;
    for (thread, team) in [(refused_thread, &team_refused), (lost_thread, &team_lost)] {
        let cached = setup
            .parley
            .messages(&setup.reference(thread), None)
            .await
            .unwrap();
        assert!(
            cached.iter().any(|m| m.id.as_ref() == Some(team)),
            "{label}: the team's message is cached before the send"
        );
    }

    let refused = setup
        .parley
        .queue_message(&setup.reference(refused_thread), Some(text.into()), &[])
        .await
        .unwrap();
    let lost = setup
        .parley
        .queue_message(&setup.reference(lost_thread), Some(text.into()), &[])
        .await
        .unwrap();
    setup.sandbox.set_faults(only(FaultKind::Status500));
    setup.parley.process_outbox(Some(refused)).await.unwrap();
    setup
        .sandbox
        .set_faults(only(FaultKind::ResetAfterProcessing));
    setup.parley.process_outbox(Some(lost)).await.unwrap();
    setup.sandbox.set_faults(None);
    assert_eq!(
        setup.send_faults(FaultKind::Status500),
        1,
        "{label}: one send was refused"
    );
    assert_eq!(
        setup.send_faults(FaultKind::ResetAfterProcessing),
        1,
        "{label}: one send's answer was lost"
    );
    let took = setup.work_until_final(&[refused, lost]).await;
    eprintln!("{label}: both sends final in {took:.1?}");

    let mut problems = Vec::new();
    for (name, entry_id, thread, team) in [
        ("refused", refused, refused_thread, &team_refused),
        ("lost", lost, lost_thread, &team_lost),
    ] {
        let entry = setup.parley.outbox_entry(entry_id).await.unwrap();
        let copies: Vec<ServerMessage> = setup
            .server_thread(thread)
            .into_iter()
            .filter(|m| m.outgoing && m.text == text)
            .collect();
        let ids: Vec<&str> = copies.iter().map(|m| m.id.as_str()).collect();
        if entry.status != OutboxState::Delivered {
            problems.push(format!(
                "the {name} send is {:?} ({:?})",
                entry.status, entry.last_error
            ));
        }
        match copies.as_slice() {
            [first, ours] if &first.id == team => {
                if entry.message_id.as_deref() != Some(ours.id.as_str()) {
                    problems.push(format!(
                        "the {name} send names message {:?}, ours on the server is {} (the team's is {team})",
                        entry.message_id, ours.id
                    ));
                }
            }
            [only] if &only.id == team => problems.push(format!(
                "the {name} send was LOST: the team's message {team} was taken for it (entry names {:?})",
                entry.message_id
            )),
            _ => problems.push(format!(
                "the {name} thread holds {} copies of the text, ids {ids:?} (the team's is {team})",
                copies.len()
            )),
        }
    }
    assert!(problems.is_empty(), "{label}:\n  {}", problems.join("\n  "));
}

macro_rules! clock_cases {
    ($($name:ident: $api:expr, $days:expr;)*) => {
        mod twenty_sends_under_faults {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    twenty_sends_arrive_exactly_once($api, ChronoDuration::days($days)).await;
                }
            )*
        }

        mod a_teammates_identical_text {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    a_teammates_identical_text_is_not_taken_for_ours($api, ChronoDuration::days($days))
                        .await;
                }
            )*
        }
    };
}

clock_cases! {
    pact_p2_server_a_year_behind: Api::PactP2, -365;
    pact_p2_server_a_year_ahead: Api::PactP2, 365;
    pact_p2_clocks_agree: Api::PactP2, 0;
    pact_p1_server_a_year_behind: Api::PactP1, -365;
    pact_p1_server_a_year_ahead: Api::PactP1, 365;
    pact_p1_clocks_agree: Api::PactP1, 0;
    voipbin_server_a_year_behind: Api::Voipbin, -365;
    voipbin_server_a_year_ahead: Api::Voipbin, 365;
    voipbin_clocks_agree: Api::Voipbin, 0;
}
