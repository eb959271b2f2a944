//! `parley-cli`: Parley without a window. A thin shell over `parley-core` for scripting and headless use:
//! readable output by default, `--json` for scripts, progress on stderr, a one-line error and a non-zero
//! exit status on failure.

mod output;
mod replies;
mod start;

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use parley_core::provider::ConversationState;
use parley_core::{
    ConversationRef, CoreError, KeyringStore, LivePolicy, NewAccount, OutboxState, Parley,
    ProviderKind, Secret, SyncProgress,
};

/// How long `send` waits for the server to accept a message when `--wait` is not given.
const ACCEPT_TIMEOUT: Duration = Duration::from_secs(60);

/// Parley's command line: your Pact.im and VoIPbin inbox, cached locally, from a terminal.
#[derive(Parser)]
#[command(name = "parley-cli", version, about)]
struct Cli {
    /// The data folder (cache, logs, staged files) shared with the Parley app.
    #[arg(long, global = true, env = parley_core::paths::DATA_DIR_ENV, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Add, list or remove accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Bring the cache up to date with the server(s), then work the outbox.
    Sync {
        /// Only this account.
        #[arg(long)]
        account: Option<String>,
        /// Print one JSON object per account.
        #[arg(long)]
        json: bool,
    },
    /// List cached conversations, most recent activity first.
    Conversations {
        /// Only this account.
        #[arg(long)]
        account: Option<String>,
        /// At most this many.
        #[arg(long)]
        limit: Option<i64>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a conversation's cached messages, oldest first.
    Messages {
        /// ACCOUNT/ID
        conversation: String,
        /// Only the newest N.
        #[arg(long)]
        limit: Option<i64>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Send a message (through the outbox) with text and/or files.
    Send {
        /// ACCOUNT/ID
        conversation: String,
        /// The text.
        #[arg(long)]
        text: Option<String>,
        /// A file to attach (repeat for several).
        #[arg(long = "attach", value_name = "FILE")]
        attachments: Vec<PathBuf>,
        /// An http(s) link the server fetches and attaches (repeat for several).
        #[arg(long = "attach-url", value_name = "URL")]
        links: Vec<String>,
        /// Wait up to SECONDS for delivered or failed.
        #[arg(long, value_name = "SECONDS")]
        wait: Option<u64>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Assign a conversation to a teammate (their user id).
    Assign {
        /// ACCOUNT/ID
        conversation: String,
        /// The teammate's user id.
        assignee_id: String,
    },
    /// Clear a conversation's assignment (Pact, VoIPbin).
    Unassign {
        /// ACCOUNT/ID
        conversation: String,
    },
    /// Archive a conversation (Pact): it leaves the inbox for the Archived view.
    Archive {
        /// ACCOUNT/ID
        conversation: String,
    },
    /// Bring an archived conversation back to the inbox (Pact).
    Unarchive {
        /// ACCOUNT/ID
        conversation: String,
    },
    /// Mark a conversation replied (yes) or unreplied (no) (Pact).
    Replied {
        /// ACCOUNT/ID
        conversation: String,
        /// yes or no
        state: YesNo,
    },
    /// Start a conversation with a contact; the first message goes through the outbox like a send.
    /// Prints the conversation as `conversations --json` does (one object).
    New(start::NewArgs),
    /// Answer a message, quoting it (through the outbox, like send).
    Reply {
        /// ACCOUNT/ID
        conversation: String,
        /// The id of the message to answer.
        message_id: String,
        /// The text.
        #[arg(long)]
        text: String,
        /// Wait up to SECONDS for delivered or failed.
        #[arg(long, value_name = "SECONDS")]
        wait: Option<u64>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete a message the team sent, where the messenger allows it (Pact: WhatsApp, Telegram, MAX).
    DeleteMessage {
        /// ACCOUNT/ID
        conversation: String,
        /// The message's id.
        message_id: String,
    },
    /// Follow a VoIPbin account's live events: one line (or JSON object) per change, until stopped.
    Watch {
        /// The account's name.
        account: String,
        /// Print one JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Replace a conversation's note.
    Note {
        /// ACCOUNT/ID
        conversation: String,
        /// The note.
        text: String,
    },
    /// Block (on) or unblock (off) Bitrix openlines for a conversation.
    BitrixOpenlines {
        /// ACCOUNT/ID
        conversation: String,
        /// on or off
        state: Switch,
    },
    /// Search cached messages and conversation names.
    Search {
        /// Words to find.
        query: String,
        /// At most this many message hits.
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the outbox: every message sent from here and where it is.
    Outbox {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Make a failed outbox entry pending again and try to send it now.
    Retry {
        /// The outbox entry's id.
        outbox_id: i64,
    },
    /// Saved replies: texts kept for one account or for all (`{name}` stands for the contact).
    #[command(subcommand)]
    Replies(replies::RepliesCommand),
    /// Teammates by name: the provider's list (VoIPbin agents) and your own labels.
    #[command(subcommand)]
    Teammates(replies::TeammatesCommand),
    /// Download an attachment into the data folder and print its path.
    Attachment {
        /// ACCOUNT/ID
        conversation: String,
        /// The message's id.
        message_id: String,
        /// Which attachment of the message, from 1.
        #[arg(long, default_value_t = 1)]
        number: i64,
    },
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Add an account; the token, access key or password is read from standard input and stored in
    /// the OS keyring.
    Add {
        /// The API: pact (Pact's current API, p2 with p1 where p2 has no call), pact-p1 (the
        /// deprecated p1 alone) or voipbin.
        #[arg(long)]
        provider: String,
        /// A name for the account (used as ACCOUNT in ACCOUNT/ID).
        #[arg(long)]
        name: String,
        /// Only this company (repeat for several); default: every company of the token.
        #[arg(long = "company-id", value_name = "ID")]
        company_ids: Vec<String>,
        /// Replace the API's address: Pact's root (https://api.pact.im/; p2 under api/p2/, p1 under
        /// p1/), e.g. http://127.0.0.1:8080/; for pact-p1 the p1 address itself
        /// (http://127.0.0.1:8080/p1/); for VoIPbin the root https://api.voipbin.net
        #[arg(long, value_name = "URL")]
        base_url: Option<String>,
        /// VoIPbin: sign in with this username and the password from standard input, instead of
        /// an access key.
        #[arg(long, value_name = "USER")]
        username: Option<String>,
    },
    /// Move a pact-p1 account to Pact's current API (p2), keeping its cache.
    Upgrade {
        /// The account's name.
        name: String,
    },
    /// List accounts.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove an account, its keyring entry and its cache.
    Remove {
        /// The account's name.
        name: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum YesNo {
    Yes,
    No,
}

#[derive(Clone, Copy, ValueEnum)]
enum Switch {
    On,
    Off,
}

fn main() -> std::process::ExitCode {
    let matches = Cli::command().get_matches();
    // Only the subcommand's name is logged, never its arguments (texts, phone numbers, paths).
    let command_name = matches.subcommand_name().unwrap_or("").to_string();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
    let data_dir = cli
        .data_dir
        .clone()
        .unwrap_or_else(parley_core::paths::default_data_dir);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return fail(&format!("cannot start: {error}")),
    };
    match runtime.block_on(run(cli.command, &command_name, data_dir)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // The reader went away (`| head`): what it wanted was printed.
        Err(error) if output::is_closed_pipe(&error) => std::process::ExitCode::SUCCESS,
        Err(error) => fail(&describe(&error)),
    }
}

fn fail(message: &str) -> std::process::ExitCode {
    eprintln!("error: {}", output::one_line(message));
    std::process::ExitCode::FAILURE
}

fn describe(error: &anyhow::Error) -> String {
    match error.downcast_ref::<CoreError>() {
        Some(core) => format!("{}: {core}", core.code()),
        None => format!("{error:#}"),
    }
}

async fn run(command: Command, name: &str, data_dir: PathBuf) -> anyhow::Result<()> {
    let _log = output::init_logging(&data_dir);
    tracing::info!(command = name, "command started");
    let result = open_and_dispatch(command, data_dir).await;
    match &result {
        Ok(()) => tracing::info!(command = name, "command finished"),
        Err(error) => tracing::warn!(
            command = name,
            "command failed: {}",
            describe_for_log(error)
        ),
    }
    result
}

/// An error as the log writes it: the code and a redacted message (`parley_core::logging`).
fn describe_for_log(error: &anyhow::Error) -> String {
    match error.downcast_ref::<CoreError>() {
        Some(core) => parley_core::logging::describe_error(core),
        None => parley_core::logging::redact(&format!("{error:#}")),
    }
}

async fn open_and_dispatch(command: Command, data_dir: PathBuf) -> anyhow::Result<()> {
    let parley = Parley::open(&data_dir, Arc::new(KeyringStore)).await?;
    // Said by the run that moved the cache aside; the window shows it until acknowledged.
    if let Some(recovery) = parley.recovery().filter(|recovery| recovery.just_now) {
        eprintln!("warning: {}", output::one_line(&recovery.message()));
    }
    let result = dispatch(&parley, command).await;
    parley.store().close().await;
    result
}

async fn dispatch(parley: &Parley, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Account(command) => account(parley, command).await,
        Command::Sync { account, json } => sync(parley, account, json).await,
        Command::Conversations {
            account,
            limit,
            json,
        } => {
            let conversations = parley.conversations(account.as_deref(), limit).await?;
            output::conversations(&conversations, json)
        }
        Command::Messages {
            conversation,
            limit,
            json,
        } => {
            let messages = parley
                .messages(&ConversationRef::parse(&conversation)?, limit)
                .await?;
            output::messages(&messages, json)
        }
        Command::Send {
            conversation,
            text,
            attachments,
            links,
            wait,
            json,
        } => {
            let message = parley_core::Outgoing {
                text,
                files: attachments,
                links,
                reply_to: None,
            };
            send(
                parley,
                &ConversationRef::parse(&conversation)?,
                message,
                wait,
                json,
            )
            .await
        }
        Command::Assign {
            conversation,
            assignee_id,
        } => {
            parley
                .assign(&ConversationRef::parse(&conversation)?, &assignee_id)
                .await?;
            output::say(format!("{conversation} assigned to {assignee_id}"))
        }
        Command::Unassign { conversation } => {
            parley
                .unassign(&ConversationRef::parse(&conversation)?)
                .await?;
            output::say(format!("{conversation} unassigned"))
        }
        Command::Archive { conversation } => {
            parley
                .set_state(
                    &ConversationRef::parse(&conversation)?,
                    ConversationState::Archived,
                )
                .await?;
            output::say(format!("{conversation} archived"))
        }
        Command::Unarchive { conversation } => {
            parley
                .set_state(
                    &ConversationRef::parse(&conversation)?,
                    ConversationState::Open,
                )
                .await?;
            output::say(format!("{conversation} is open again"))
        }
        Command::Replied {
            conversation,
            state,
        } => {
            let replied = matches!(state, YesNo::Yes);
            parley
                .set_replied(&ConversationRef::parse(&conversation)?, replied)
                .await?;
            let word = if replied { "replied" } else { "unreplied" };
            output::say(format!("{conversation} marked {word}"))
        }
        Command::New(args) => start::run(parley, args).await,
        Command::Reply {
            conversation,
            message_id,
            text,
            wait,
            json,
        } => {
            let conversation = ConversationRef::parse(&conversation)?;
            let id = parley
                .queue_reply(&conversation, Some(message_id), Some(text), &[])
                .await?;
            follow_send(parley, id, wait, json).await
        }
        Command::DeleteMessage {
            conversation,
            message_id,
        } => {
            parley
                .delete_message(&ConversationRef::parse(&conversation)?, &message_id)
                .await?;
            output::say(format!("message {message_id} of {conversation} deleted"))
        }
        Command::Watch { account, json } => watch(parley, &account, json).await,
        Command::Note { conversation, text } => {
            parley
                .set_note(&ConversationRef::parse(&conversation)?, &text)
                .await?;
            output::say(format!("note of {conversation} saved"))
        }
        Command::BitrixOpenlines {
            conversation,
            state,
        } => {
            let enabled = matches!(state, Switch::On);
            parley
                .set_bitrix_openlines(&ConversationRef::parse(&conversation)?, enabled)
                .await?;
            let state = if enabled { "on" } else { "off" };
            output::say(format!("Bitrix openlines block {state} for {conversation}"))
        }
        Command::Search { query, limit, json } => {
            output::search(&parley.search(&query, limit).await?, json)
        }
        Command::Outbox { json } => output::outbox(&parley.outbox().await?, json),
        Command::Replies(command) => replies::replies(parley, command).await,
        Command::Teammates(command) => replies::teammates(parley, command).await,
        Command::Retry { outbox_id } => {
            parley.retry_outbox_entry(outbox_id).await?;
            parley.process_outbox(Some(outbox_id)).await?;
            let entry = parley.outbox_entry(outbox_id).await?;
            output::say(format!(
                "outbox entry {outbox_id}: {}",
                entry.status.as_str()
            ))
        }
        Command::Attachment {
            conversation,
            message_id,
            number,
        } => {
            let conversation = ConversationRef::parse(&conversation)?;
            let path = parley
                .fetch_attachment(&conversation, &message_id, number - 1)
                .await?;
            output::say(format!("{}", path.display()))
        }
    }
}

async fn account(parley: &Parley, command: AccountCommand) -> anyhow::Result<()> {
    match command {
        AccountCommand::Add {
            provider,
            name,
            company_ids,
            base_url,
            username,
        } => {
            let provider = ProviderKind::parse(&provider)?;
            let secret = read_token(&secret_prompt(provider, username.is_some(), &name))?;
            let account = parley
                .add_account_with_username(
                    NewAccount {
                        name,
                        provider,
                        base_url,
                        company_ids,
                    },
                    username,
                    secret,
                )
                .await?;
            output::say(format!(
                "account \"{}\" added; run `parley-cli sync` to fetch its conversations",
                account.name
            ))
        }
        AccountCommand::Upgrade { name } => {
            let account = parley.upgrade_account(&name).await?;
            output::say(format!(
                "account \"{}\" now uses Pact's current API (p2); its cache is kept",
                account.name
            ))
        }
        AccountCommand::List { json } => output::accounts(&parley.accounts().await?, json),
        AccountCommand::Remove { name } => {
            parley.remove_account(&name).await?;
            output::say(format!("account \"{name}\" removed"))
        }
    }
}

/// What `account add` asks for on a terminal.
fn secret_prompt(provider: ProviderKind, with_username: bool, account: &str) -> String {
    match (provider, with_username) {
        (ProviderKind::Voipbin, true) => format!("VoIPbin password for {account}: "),
        (ProviderKind::Voipbin, false) => format!("VoIPbin access key for {account}: "),
        (ProviderKind::Pact | ProviderKind::PactP1, _) => format!("API token for {account}: "),
    }
}

/// Reads the secret from standard input: typed without echo on a terminal, else the whole input.
fn read_token(prompt: &str) -> anyhow::Result<Secret> {
    let token = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt)?
    } else {
        let mut input = String::new();
        std::io::stdin().read_to_string(&mut input)?;
        input
    };
    Ok(Secret::new(token))
}

async fn sync(parley: &Parley, only: Option<String>, json: bool) -> anyhow::Result<()> {
    let names = match only {
        Some(name) => vec![name],
        None => parley
            .accounts()
            .await?
            .into_iter()
            .map(|account| account.name)
            .collect(),
    };
    if names.is_empty() {
        anyhow::bail!("no accounts yet; add one with `parley-cli account add`");
    }
    if let [name] = names.as_slice() {
        let report = parley.sync(name, &mut progress_printer()).await?;
        return output::sync_report(&report, json);
    }
    // Several accounts: one failing must not stop the others; each failure gets its own line.
    let mut failed = 0;
    for name in &names {
        match parley.sync(name, &mut progress_printer()).await {
            Ok(report) => output::sync_report(&report, json)?,
            Err(error) => {
                failed += 1;
                eprintln!(
                    "error: {}",
                    output::one_line(&format!("{}: {error}", error.code()))
                );
            }
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} of {} accounts could not be synced", names.len());
    }
    Ok(())
}

/// Follows the account's live events until interrupted (Ctrl-C) or a failure retrying cannot fix.
async fn watch(parley: &Parley, account: &str, json: bool) -> anyhow::Result<()> {
    let mut failed_output = None;
    let mut print = |change: parley_core::LiveChange| {
        if failed_output.is_none() {
            failed_output = output::live_change(&change, json).err();
        }
    };
    tokio::select! {
        result = parley.watch_live(account, LivePolicy::default(), &mut print) => result?,
        _ = tokio::signal::ctrl_c() => {}
    }
    match failed_output {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// How often `send` looks at its upload's progress.
const UPLOAD_PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// A progress callback that prints on stderr.
fn progress_printer() -> impl FnMut(SyncProgress) + Send {
    let mut reporter = output::ProgressReporter::new();
    move |progress: SyncProgress| reporter.report(&progress)
}

async fn send(
    parley: &Parley,
    conversation: &ConversationRef,
    message: parley_core::Outgoing,
    wait: Option<u64>,
    json: bool,
) -> anyhow::Result<()> {
    let id = parley.queue_send(conversation, message).await?;
    follow_send(parley, id, wait, json).await
}

/// Works outbox entry `id` until the server accepted it (or, with `wait`, until it is delivered or
/// failed, at most `wait` seconds), showing upload progress, then prints where it is.
async fn follow_send(
    parley: &Parley,
    id: i64,
    wait: Option<u64>,
    json: bool,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + wait.map_or(ACCEPT_TIMEOUT, Duration::from_secs);
    let mut uploads = output::UploadReporter::new();
    loop {
        let worked = parley
            .process_outbox_watching_uploads(Some(id), UPLOAD_PROGRESS_EVERY, |on_the_way| {
                on_the_way.iter().for_each(|upload| uploads.report(upload));
            })
            .await;
        uploads.finish();
        worked?;
        let entry = parley.outbox_entry(id).await?;
        let done = match entry.status {
            OutboxState::Delivered | OutboxState::Failed => true,
            OutboxState::Sent => wait.is_none(),
            OutboxState::Pending => false,
        };
        if done || Instant::now() >= deadline {
            output::send_result(&entry, json)?;
            return match entry.status {
                OutboxState::Failed => anyhow::bail!(
                    "sending failed: {}; `parley-cli retry {id}` sends it again",
                    entry.last_error.as_deref().unwrap_or("unknown reason")
                ),
                OutboxState::Pending => anyhow::bail!(
                    "not accepted yet ({}); the message stays in the outbox and goes out with the next `parley-cli sync`",
                    entry.last_error.as_deref().unwrap_or("waiting")
                ),
                _ => Ok(()),
            };
        }
        let pause = parley
            .outbox_next_due_in()
            .await?
            .unwrap_or(Duration::from_millis(200));
        tokio::time::sleep(pause.clamp(Duration::from_millis(50), Duration::from_millis(1000)))
            .await;
    }
}
