//! Teammates by name through the core: VoIPbin agents listed from the sandbox and still listed
//! from the cache once the server is gone, a VoIPbin agent login without permission (403) keeping
//! the cache, labels on a Pact account ("42" = "Olga"), a label winning over the provider's name,
//! and clearing a label.

mod common;

use std::time::Duration;

use parley_core::{ErrorCode, NewAccount, Parley, ProviderKind, Secret, Teammate};
use parley_sandbox::{Sandbox, SandboxConfig};

const VOIPBIN: &str = "vb";

async fn voipbin_sandbox() -> Sandbox {
    Sandbox::start(SandboxConfig {
        conversations: 1,
        messages_per_conversation: 1,
        voipbin_conversations: 6,
        voipbin_messages_per_conversation: 1,
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts")
}

async fn core_with_voipbin(dir: &std::path::Path, sandbox: &Sandbox) -> Parley {
    let parley = common::open(dir).await;
    let (username, password) = sandbox.voipbin_login();
    parley
        .add_account_with_username(
            NewAccount {
                name: VOIPBIN.to_string(),
                provider: ProviderKind::Voipbin,
                base_url: Some(sandbox.voipbin_base_url()),
                company_ids: vec![],
            },
            Some(username),
            Secret::new(password),
        )
        .await
        .expect("account added");
    parley
}

/// The sandbox's agents as the core should list them: by name, from the provider.
fn expected(sandbox: &Sandbox) -> Vec<Teammate> {
    let mut agents: Vec<Teammate> = sandbox
        .voipbin_agents()
        .into_iter()
        .map(|agent| Teammate {
            id: agent.id,
            name: agent.name,
            source: "provider",
        })
        .collect();
    agents.sort_by_key(|teammate| teammate.name.to_lowercase());
    agents
}

#[tokio::test]
async fn voipbin_agents_are_listed_by_name_and_still_listed_offline() {
    let sandbox = voipbin_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let parley = core_with_voipbin(dir.path(), &sandbox).await;
    let agents = expected(&sandbox);
    assert!(agents.len() >= 2, "the sandbox seeds several agents");

    let listed = parley.teammates(VOIPBIN).await.unwrap();
    assert_eq!(listed, agents, "the first listing reads the agents itself");

    // Every conversation's assignee can be shown by name.
    parley.sync(VOIPBIN, &mut |_| {}).await.unwrap();
    let assigned: Vec<String> = parley
        .conversations(Some(VOIPBIN), None)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|conversation| conversation.assignee_id)
        .filter(|id| !id.is_empty())
        .collect();
    assert!(!assigned.is_empty(), "the seed assigns conversations");
    for assignee in &assigned {
        assert!(
            listed.iter().any(|teammate| &teammate.id == assignee),
            "assignee {assignee} has no name in {listed:?}"
        );
    }

    sandbox.shutdown().await;
    let refresh = parley.refresh_teammates(VOIPBIN).await.unwrap_err();
    assert_eq!(refresh.code(), ErrorCode::Offline, "{refresh}");
    assert_eq!(
        parley.teammates(VOIPBIN).await.unwrap(),
        agents,
        "offline, the cache answers"
    );
    // A cache old enough to be read again, with the server gone, still answers.
    sqlx::query("UPDATE teammates SET fetched_at = 0")
        .execute(parley.store().pool())
        .await
        .unwrap();
    assert_eq!(parley.teammates(VOIPBIN).await.unwrap(), agents);
    drop(parley);
    let reopened = common::open(dir.path()).await;
    let after_restart = tokio::time::timeout(Duration::from_secs(60), reopened.teammates(VOIPBIN))
        .await
        .expect("answers without waiting on the gone server")
        .unwrap();
    assert_eq!(after_restart, agents, "the cache outlives the process");
}

#[tokio::test]
async fn an_agent_login_without_permission_keeps_the_cached_list() {
    let sandbox = voipbin_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let parley = core_with_voipbin(dir.path(), &sandbox).await;
    assert!(parley.refresh_teammates(VOIPBIN).await.unwrap());
    let agents = expected(&sandbox);

    sandbox.set_voipbin_agent_role(true);
    let denied = parley.refresh_teammates(VOIPBIN).await.unwrap_err();
    assert_eq!(denied.code(), ErrorCode::Forbidden, "{denied}");
    assert!(
        denied.to_string().contains("admin or manager"),
        "says what is missing: {denied}"
    );
    assert_eq!(parley.teammates(VOIPBIN).await.unwrap(), agents);
}

#[tokio::test]
async fn labels_name_pact_users_and_clearing_one_removes_it() {
    let sandbox = common::sandbox(1, 1).await;
    let dir = tempfile::tempdir().unwrap();
    let parley = common::core_with_account(dir.path(), &sandbox).await;
    let account = common::ACCOUNT;
    assert!(parley.teammates(account).await.unwrap().is_empty());
    assert!(
        !parley.refresh_teammates(account).await.unwrap(),
        "Pact lists no users: not an error"
    );

    parley
        .label_teammate(account, "42", Some("Olga"))
        .await
        .unwrap();
    parley
        .label_teammate(account, " 7 ", Some("  boris "))
        .await
        .unwrap();
    let label = |id: &str, name: &str| Teammate {
        id: id.to_string(),
        name: name.to_string(),
        source: "label",
    };
    assert_eq!(
        parley.teammates(account).await.unwrap(),
        [label("7", "boris"), label("42", "Olga")],
        "by name, whatever the case"
    );
    parley
        .label_teammate(account, "42", Some("Olga K."))
        .await
        .unwrap();
    parley.label_teammate(account, "7", Some("")).await.unwrap();
    assert_eq!(
        parley.teammates(account).await.unwrap(),
        [label("42", "Olga K.")]
    );
    parley.label_teammate(account, "42", None).await.unwrap();
    assert!(parley.teammates(account).await.unwrap().is_empty());

    let empty = parley
        .label_teammate(account, "  ", Some("Nobody"))
        .await
        .unwrap_err();
    assert_eq!(empty.code(), ErrorCode::InvalidInput, "{empty}");
    let unknown = parley
        .label_teammate("nobody", "42", Some("Olga"))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), ErrorCode::NotFound, "{unknown}");
}

#[tokio::test]
async fn a_label_wins_over_the_providers_name_until_cleared() {
    let sandbox = voipbin_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let parley = core_with_voipbin(dir.path(), &sandbox).await;
    let agents = expected(&sandbox);
    let renamed = agents[0].clone();

    parley
        .label_teammate(VOIPBIN, &renamed.id, Some("Zoe (night shift)"))
        .await
        .unwrap();
    let listed = parley.teammates(VOIPBIN).await.unwrap();
    assert_eq!(listed.len(), agents.len(), "no second entry for the id");
    assert_eq!(
        listed.iter().find(|teammate| teammate.id == renamed.id),
        Some(&Teammate {
            id: renamed.id.clone(),
            name: "Zoe (night shift)".to_string(),
            source: "label",
        }),
        "the label is the name"
    );
    let mut sorted = listed.clone();
    sorted.sort_by_key(|teammate| teammate.name.to_lowercase());
    assert_eq!(
        listed, sorted,
        "sorted by the label, not the provider's name"
    );
    // A refresh of the provider's list keeps the label.
    assert!(parley.refresh_teammates(VOIPBIN).await.unwrap());
    assert_eq!(parley.teammates(VOIPBIN).await.unwrap(), listed);

    parley
        .label_teammate(VOIPBIN, &renamed.id, None)
        .await
        .unwrap();
    assert_eq!(parley.teammates(VOIPBIN).await.unwrap(), agents);
}
