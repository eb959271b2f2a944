//! Shared set-up for the core's integration tests: a sandbox on 127.0.0.1 and a core over a temp folder.
//! Tokens go to an in-memory store here; the real keyring is exercised by the CLI acceptance tests.

#![allow(dead_code)]

use std::sync::Arc;

use parley_core::{MemorySecretStore, NewAccount, OutboxPolicy, Parley, ProviderKind, Secret};
use parley_sandbox::{Sandbox, SandboxConfig};
use sqlx::Row;

pub const ACCOUNT: &str = "acme";

pub async fn sandbox(conversations: usize, messages: usize) -> Sandbox {
    Sandbox::start(SandboxConfig {
        conversations,
        messages_per_conversation: messages,
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts")
}

pub async fn open(dir: &std::path::Path) -> Parley {
    let policy = OutboxPolicy {
        reconcile_window: std::time::Duration::from_secs(3),
        reconcile_every: std::time::Duration::from_millis(300),
        ..OutboxPolicy::default()
    };
    Parley::open(dir, Arc::new(MemorySecretStore::default()))
        .await
        .expect("core opens")
        .with_outbox_policy(policy)
}

pub async fn core_with_account(dir: &std::path::Path, sandbox: &Sandbox) -> Parley {
    let parley = open(dir).await;
    parley
        .add_account(
            NewAccount {
                name: ACCOUNT.to_string(),
                provider: ProviderKind::PactP1,
                base_url: Some(sandbox.pact_p1_base_url()),
                company_ids: vec![],
            },
            Secret::new(sandbox.token()),
        )
        .await
        .expect("account added");
    parley
}

/// Every cached conversation and message as comparable text rows.
pub async fn dump(parley: &Parley) -> Vec<String> {
    let rows = sqlx::query(
        "SELECT 'c' AS kind, provider_id AS a, COALESCE(title, '') AS b, COALESCE(channel, '') AS c, '' AS d
         FROM conversations
         UNION ALL
         SELECT 'm', m.provider_id, COALESCE(m.text, ''), m.direction || m.created_at, c.provider_id
         FROM messages m JOIN conversations c ON c.id = m.conversation_id
         UNION ALL
         SELECT 'a', m.provider_id, COALESCE(a.file_name, ''), a.position, COALESCE(a.size, '')
         FROM attachments a JOIN messages m ON m.id = a.message_id
         ORDER BY 1, 2, 3, 4",
    )
    .fetch_all(parley.store().pool())
    .await
    .expect("dump");
    rows.iter()
        .map(|row| {
            let fields: Vec<String> = (0..5)
                .map(|i| {
                    row.try_get::<String, _>(i)
                        .or_else(|_| row.try_get::<i64, _>(i).map(|v| v.to_string()))
                        .unwrap_or_default()
                })
                .collect();
            fields.join("|")
        })
        .collect()
}

pub async fn sync(parley: &Parley) -> parley_core::SyncReport {
    parley
        .sync(ACCOUNT, &mut |_| {})
        .await
        .expect("sync succeeds")
}
