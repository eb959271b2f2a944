//! VoIPbin acceptance helpers: a sandbox configuration with distinctive credentials, `account add`
//! by access key or password, the rows `conversations --json` / `messages --json` print for VoIPbin
//! (UUID ids), and a running `parley-cli watch` whose output is read while it runs.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use parley_sandbox::SandboxConfig;
use serde::Deserialize;
use serde_json::Value;

use crate::cli::{Cli, Outcome};
use crate::{sandbox_config, World};

/// A distinctive access key, so finding it in any output cannot be a coincidence.
pub const VOIPBIN_ACCESS_KEY: &str = "vb-accesskey-9Tq2Lm7Xc4Rz8Wn1Kd6Hs3Jf5Gb0Pv-unmistakable";
/// The agent login of the sandbox.
pub const VOIPBIN_USERNAME: &str = "agent@parley.example";
/// A distinctive password.
pub const VOIPBIN_PASSWORD: &str = "vb-password-Zx8Qw2Er6Ty4Ui0Op3As7Df1Gh5-unmistakable";

/// A sandbox whose VoIPbin side has `conversations` x `messages` and the suite's credentials (Pact
/// kept tiny).
pub fn voipbin_config(seed: u64, conversations: usize, messages: usize) -> SandboxConfig {
    SandboxConfig {
        voipbin_conversations: conversations,
        voipbin_messages_per_conversation: messages,
        voipbin_access_key: VOIPBIN_ACCESS_KEY.to_string(),
        voipbin_username: VOIPBIN_USERNAME.to_string(),
        voipbin_password: VOIPBIN_PASSWORD.to_string(),
        ..sandbox_config(seed, 1, 1)
    }
}

impl World {
    /// `account add --provider voipbin --name NAME --base-url <root>` with `key` on stdin.
    pub fn add_voipbin_by_key(&self, cli: &Cli, name: &str, key: &str) -> Outcome {
        let root = self.sandbox().voipbin_base_url();
        self.remember_account(cli, name);
        cli.run_with_stdin(
            &[
                "account",
                "add",
                "--provider",
                "voipbin",
                "--name",
                name,
                "--base-url",
                &root,
            ],
            &format!("{key}\n"),
        )
    }

    /// `account add --provider voipbin --name NAME --username USER --base-url <root>` with
    /// `password` on stdin.
    pub fn add_voipbin_by_password(
        &self,
        cli: &Cli,
        name: &str,
        username: &str,
        password: &str,
    ) -> Outcome {
        let root = self.sandbox().voipbin_base_url();
        self.remember_account(cli, name);
        cli.run_with_stdin(
            &[
                "account",
                "add",
                "--provider",
                "voipbin",
                "--name",
                name,
                "--username",
                username,
                "--base-url",
                &root,
            ],
            &format!("{password}\n"),
        )
    }
}

/// One line of `conversations --json` for a VoIPbin account.
#[derive(Debug, Clone, Deserialize)]
pub struct VbConversationRow {
    /// Account name.
    pub account: String,
    /// Conversation UUID.
    pub id: String,
    /// The synthetic company (the customer).
    pub company_id: String,
    /// Contact name or address.
    pub title: Option<String>,
    /// line, sms, whatsapp.
    pub channel: Option<String>,
    /// Newest activity, RFC 3339.
    pub last_message_at: Option<String>,
    /// Assigned agent.
    pub assignee_id: Option<String>,
    /// Unread flag.
    pub unread: bool,
}

/// One message of `messages --json` for a VoIPbin conversation.
#[derive(Debug, Clone, Deserialize)]
pub struct VbMessageRow {
    /// Message UUID.
    pub id: Option<String>,
    /// in / out.
    pub direction: String,
    /// The text.
    pub text: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// received, sent, ...
    pub status: String,
}

/// `conversations --account ACCOUNT --json`.
pub fn conversations(cli: &Cli, account: &str) -> Vec<VbConversationRow> {
    cli.json(&["conversations", "--account", account, "--json"])
}

/// `messages ACCOUNT/ID --json`.
pub fn messages(cli: &Cli, account: &str, conversation: &str) -> Vec<VbMessageRow> {
    cli.json(&["messages", &format!("{account}/{conversation}"), "--json"])
}

/// Parses an RFC 3339 time printed by the CLI.
pub fn time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text:?} is not RFC 3339: {e}"))
        .with_timezone(&Utc)
}

/// Polls `condition` every 100 ms until it holds or `timeout` passes; returns whether it held.
pub fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A running `parley-cli watch ACCOUNT --json`, its stdout read line by line as it comes.
pub struct LiveWatch {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
}

impl LiveWatch {
    /// Starts `watch ACCOUNT --json`.
    pub fn start(cli: &Cli, account: &str) -> LiveWatch {
        let mut command = cli.command(&["watch", account, "--json"]);
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("start parley-cli watch");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let stdout = child.stdout.take().expect("watch stdout");
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                lock(&sink).push(line);
            }
        });
        let mut err_pipe = child.stderr.take().expect("watch stderr");
        let err_sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(read) = err_pipe.read(&mut buffer) {
                if read == 0 {
                    break;
                }
                lock(&err_sink).push_str(&String::from_utf8_lossy(&buffer[..read]));
            }
        });
        LiveWatch {
            child,
            lines,
            stderr,
        }
    }

    /// Every JSON line printed so far.
    pub fn changes(&self) -> Vec<Value> {
        lock(&self.lines)
            .iter()
            .map(|line| {
                serde_json::from_str(line).unwrap_or_else(|e| {
                    panic!("watch printed a line that is not JSON ({e}): {line}")
                })
            })
            .collect()
    }

    /// The `message` changes printed so far: (conversation `ACCOUNT/ID`, message object).
    pub fn messages(&self) -> Vec<(String, Value)> {
        self.changes()
            .into_iter()
            .filter(|change| change["kind"] == "message")
            .map(|change| {
                (
                    change["conversation"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    change["message"].clone(),
                )
            })
            .collect()
    }

    /// How many changes of `kind` were printed so far.
    pub fn count(&self, kind: &str) -> usize {
        self.changes()
            .iter()
            .filter(|change| change["kind"] == kind)
            .count()
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// What it printed so far, for failure messages.
    pub fn describe(&self) -> String {
        format!(
            "stdout:\n{}\nstderr:\n{}",
            lock(&self.lines).join("\n"),
            lock(&self.stderr)
        )
    }
}

impl Drop for LiveWatch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
