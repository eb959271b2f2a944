//! `parley-cli new`: starts a conversation with a contact and prints it once the server has it.

use std::time::{Duration, Instant};

use clap::Args;
use parley_core::{ConversationRef, NewConversation, OutboxState, Parley};

use crate::output;

/// How long `new` waits for the server to open the conversation.
const OPEN_TIMEOUT: Duration = Duration::from_secs(60);

/// `parley-cli new ACCOUNT --channel ... [--phone P | --username U] [--text T] [--template ID --var V...]`
#[derive(Args)]
pub struct NewArgs {
    /// The account's name.
    account: String,
    /// The messenger: whatsapp, telegram_personal, max, vkontakte_direct, whatsapp_business (Pact),
    /// line (VoIPbin servers with the legacy setup).
    #[arg(long)]
    channel: String,
    /// The company, when the account has several.
    #[arg(long = "company-id", value_name = "ID")]
    company_id: Option<String>,
    /// The contact's phone number with the country code (+7 925 000-00-01).
    #[arg(long, conflicts_with = "username")]
    phone: Option<String>,
    /// The contact's username (Telegram), or VK id or short name.
    #[arg(long)]
    username: Option<String>,
    /// The first message.
    #[arg(long)]
    text: Option<String>,
    /// A WABA template id (whatsapp_business).
    #[arg(long, value_name = "ID")]
    template: Option<String>,
    /// A substitution of the template, in order (repeat for several).
    #[arg(long = "var", value_name = "V", requires = "template")]
    vars: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Queues the start, works its outbox entry until the server has opened the conversation, then
/// prints the conversation under the server's id.
pub async fn run(parley: &Parley, args: NewArgs) -> anyhow::Result<()> {
    let started = parley
        .start_conversation(NewConversation {
            account: args.account.clone(),
            company_id: args.company_id,
            channel: args.channel,
            phone: args.phone,
            username: args.username,
            text: args.text,
            template: args.template,
            template_vars: args.vars,
        })
        .await?;
    let mut conversation = ConversationRef {
        account: started.conversation.account.clone(),
        id: started.conversation.id.clone(),
    };
    if let Some(outbox_id) = started.outbox_id {
        wait_until_opened(parley, outbox_id).await?;
        conversation.id = parley.resolve_conversation(&conversation).await?.id;
    }
    let view = parley.resolve_conversation(&conversation).await?;
    output::conversation(&view, args.json)
}

/// Works the entry until it left "pending" (accepted, delivered or failed) or the time is up.
async fn wait_until_opened(parley: &Parley, outbox_id: i64) -> anyhow::Result<()> {
    let deadline = Instant::now() + OPEN_TIMEOUT;
    loop {
        parley.process_outbox(Some(outbox_id)).await?;
        let entry = parley.outbox_entry(outbox_id).await?;
        match entry.status {
            OutboxState::Failed => anyhow::bail!(
                "starting the conversation failed: {}; `parley-cli retry {outbox_id}` tries again",
                entry.last_error.as_deref().unwrap_or("unknown reason")
            ),
            OutboxState::Sent | OutboxState::Delivered => return Ok(()),
            OutboxState::Pending if Instant::now() >= deadline => anyhow::bail!(
                "the server has not opened the conversation yet ({}); it stays in the outbox and goes out with the next `parley-cli sync`",
                entry.last_error.as_deref().unwrap_or("waiting")
            ),
            OutboxState::Pending => {}
        }
        let pause = parley
            .outbox_next_due_in()
            .await?
            .unwrap_or(Duration::from_millis(200));
        tokio::time::sleep(pause.clamp(Duration::from_millis(50), Duration::from_secs(1))).await;
    }
}
