//! `parley-cli replies` and `parley-cli teammates`: saved replies (for one account or all) and
//! teammates by name (the provider's list and the agent's own labels), with their output.

use std::io::Write;

use clap::Subcommand;
use parley_core::{Parley, SavedReply, Teammate};
use serde::Serialize;

use crate::output::say;

/// `replies ...`
#[derive(Subcommand)]
pub enum RepliesCommand {
    /// List saved replies by title: every one, or those usable in one account.
    List {
        /// Only the replies usable in this account (its own and the all-accounts ones).
        #[arg(long)]
        account: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Save a reply; `{name}` in the text stands for the contact's name.
    Add {
        /// What you pick it by (at most 100 characters).
        #[arg(long)]
        title: String,
        /// The text (at most 4000 characters).
        #[arg(long)]
        text: String,
        /// Only for this account; default: every account.
        #[arg(long)]
        account: Option<String>,
        /// Print the saved reply as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete a saved reply.
    Remove {
        /// The reply's id (see `replies list`).
        id: i64,
    },
}

/// `teammates ...`
#[derive(Subcommand)]
pub enum TeammatesCommand {
    /// List an account's teammates by name (VoIPbin agents, and your own labels, which win).
    List {
        /// The account's name.
        account: String,
        /// Read the provider's list again first (VoIPbin; needs an admin or manager login).
        #[arg(long)]
        refresh: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Name a teammate's user id ("42" = "Olga"); an empty NAME removes the label.
    Label {
        /// The account's name.
        account: String,
        /// The user id assignments take.
        user_id: String,
        /// The name to show; "" removes the label.
        name: String,
    },
}

/// Runs a `replies` command.
pub async fn replies(parley: &Parley, command: RepliesCommand) -> anyhow::Result<()> {
    match command {
        RepliesCommand::List { account, json } => {
            let replies = parley.saved_replies(account.as_deref()).await?;
            if json {
                return print_json(&replies);
            }
            if replies.is_empty() {
                return say(
                    "no saved replies; add one with `parley-cli replies add --title T --text TEXT`",
                );
            }
            for reply in &replies {
                say(format!(
                    "{}\t{}\t{}\t{}",
                    reply.id,
                    printable(&reply.title),
                    scope(reply),
                    preview(&reply.text)
                ))?;
            }
            Ok(())
        }
        RepliesCommand::Add {
            title,
            text,
            account,
            json,
        } => {
            let reply = parley
                .add_saved_reply(&title, &text, account.as_deref())
                .await?;
            if json {
                return print_json(&reply);
            }
            say(format!(
                "saved reply {} \"{}\" added for {}",
                reply.id,
                printable(&reply.title),
                scope(&reply)
            ))
        }
        RepliesCommand::Remove { id } => {
            parley.remove_saved_reply(id).await?;
            say(format!("saved reply {id} removed"))
        }
    }
}

/// Runs a `teammates` command.
pub async fn teammates(parley: &Parley, command: TeammatesCommand) -> anyhow::Result<()> {
    match command {
        TeammatesCommand::List {
            account,
            refresh,
            json,
        } => {
            if refresh && !parley.refresh_teammates(&account).await? {
                eprintln!(
                    "{}: the provider lists no teammates; name them with `parley-cli teammates label`",
                    printable(&account)
                );
            }
            let teammates = parley.teammates(&account).await?;
            if json {
                return print_json(&teammates);
            }
            if teammates.is_empty() {
                return say(format!(
                    "no teammates known for {0}; name one with `parley-cli teammates label {0} USER_ID NAME`",
                    printable(&account)
                ));
            }
            for teammate in &teammates {
                say(teammate_line(teammate))?;
            }
            Ok(())
        }
        TeammatesCommand::Label {
            account,
            user_id,
            name,
        } => {
            let name = Some(name.trim()).filter(|name| !name.is_empty());
            parley.label_teammate(&account, &user_id, name).await?;
            let (account, user_id) = (printable(&account), printable(&user_id));
            match name {
                Some(name) => say(format!("{account}: {user_id} is \"{}\"", printable(name))),
                None => say(format!("{account}: the label of {user_id} is removed")),
            }
        }
    }
}

fn teammate_line(teammate: &Teammate) -> String {
    let source = if teammate.source == "label" {
        "\t(your label)"
    } else {
        ""
    };
    format!(
        "{}\t{}{source}",
        printable(&teammate.id),
        printable(&teammate.name)
    )
}

fn scope(reply: &SavedReply) -> String {
    reply.account.as_deref().map_or_else(
        || "all accounts".to_string(),
        |account| format!("account {}", printable(account)),
    )
}

/// The start of a text on one line, for a list.
fn preview(text: &str) -> String {
    const PREVIEW_CHARS: usize = 60;
    let line = printable(text);
    if line.chars().count() <= PREVIEW_CHARS {
        return line;
    }
    let mut cut: String = line.chars().take(PREVIEW_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// Text folded onto one line, control characters (escape sequences) shown as `?`.
fn printable(text: &str) -> String {
    crate::output::one_line(text)
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

fn print_json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut stdout, value)?;
    writeln!(stdout)?;
    Ok(())
}
