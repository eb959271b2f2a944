//! Lists every company and its conversations, following page tokens to the end.
//!
//! ```sh
//! PACT_TOKEN=... cargo run -p parley-pact-p1 --example list_conversations
//! PACT_TOKEN=dev PACT_BASE_URL=http://127.0.0.1:8080/p1/ cargo run -p parley-pact-p1 --example list_conversations
//! ```
//! Set `RUST_LOG=parley_pact_p1=debug` to see each request (method and path only).

use futures::StreamExt;
use parley_pact_p1::{ApiToken, PactClient, SortDirection, DEFAULT_BASE_URL};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let token = std::env::var("PACT_TOKEN").map_err(|_| "set PACT_TOKEN to your Pact API token")?;
    let base_url = std::env::var("PACT_BASE_URL").unwrap_or_else(|_| DEFAULT_BASE_URL.to_string());
    let client = PactClient::builder(ApiToken::new(token))
        .base_url(&base_url)
        .build()?;

    let companies = client.companies_pages(100, SortDirection::Asc, None);
    futures::pin_mut!(companies);
    while let Some(page) = companies.next().await {
        for company in page?.items {
            println!(
                "company {} {}",
                company.external_id,
                company.name.as_deref().unwrap_or("(no name)")
            );
            list_conversations(&client, company.external_id).await?;
        }
    }
    Ok(())
}

async fn list_conversations(
    client: &PactClient,
    company_id: i64,
) -> Result<(), parley_pact_p1::Error> {
    let conversations = client.conversations_pages(company_id, 100, SortDirection::Asc, None);
    futures::pin_mut!(conversations);
    while let Some(page) = conversations.next().await {
        for conversation in page?.items {
            let last = conversation
                .last_activity_at()
                .map(|at| at.to_rfc3339())
                .unwrap_or_else(|| "-".into());
            println!(
                "  conversation {} [{}] {} (last activity {last})",
                conversation.external_id,
                conversation.channel_type.as_deref().unwrap_or("?"),
                conversation.name.as_deref().unwrap_or("(no name)"),
            );
        }
    }
    Ok(())
}
