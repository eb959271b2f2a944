//! "Copy diagnostics" through the core: after a session (a Pact and a VoIPbin account, a sync, a send,
//! the server gone so a sync fails offline) the report names the version, the OS, the data folder and
//! the log file, each account's provider, what it lacks, its outbox and its last sync, and the last
//! warnings; and its text holds no token, no password, no message text and no customer name.
//! One test in its own binary: it sets up the process's logging.

mod common;

use parley_core::logging;
use parley_core::{ConversationRef, NewAccount, ProviderKind, Secret};
use parley_sandbox::{Sandbox, SandboxConfig};

const SENT_TEXT: &str = "diagnostics must never show this reply 7f3a";

#[tokio::test]
async fn diagnostics_report_the_state_and_no_secret_or_content() {
    let sandbox = Sandbox::start(SandboxConfig {
        conversations: 4,
        messages_per_conversation: 3,
        voipbin_conversations: 2,
        voipbin_messages_per_conversation: 2,
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts");
    let dir = tempfile::tempdir().unwrap();
    let _log = logging::init(dir.path(), "app", false).expect("logging starts");
    let parley = common::core_with_account(dir.path(), &sandbox).await;
    let (username, password) = sandbox.voipbin_login();
    parley
        .add_account_with_username(
            NewAccount {
                name: "vb".to_string(),
                provider: ProviderKind::Voipbin,
                base_url: Some(sandbox.voipbin_base_url()),
                company_ids: vec![],
            },
            Some(username),
            Secret::new(password.clone()),
        )
        .await
        .expect("voipbin account added");
    parley.sync(common::ACCOUNT, &mut |_| {}).await.unwrap();
    let conversation = sandbox.conversations()[0].id;
    parley
        .queue_message(
            &ConversationRef {
                account: common::ACCOUNT.to_string(),
                id: conversation.to_string(),
            },
            Some(SENT_TEXT.to_string()),
            &[],
        )
        .await
        .unwrap();
    parley.process_outbox(None).await.unwrap();
    let customers: Vec<String> = sandbox
        .conversations()
        .into_iter()
        .filter_map(|conversation| conversation.name)
        .filter(|name| name.chars().count() >= 4)
        .collect();
    let token = sandbox.token();
    sandbox.shutdown().await;
    let offline = parley.sync("vb", &mut |_| {}).await;
    assert!(offline.is_err(), "a sync without the server fails");
    tracing::warn!(code = "offline", "sync failed while the server was away");

    let report = parley.diagnostics("9.8.7").await.unwrap();
    assert_eq!(report.version, "9.8.7");
    assert_eq!(report.os.family, std::env::consts::OS);
    let version = report
        .os
        .version
        .as_deref()
        .expect("the OS version is known");
    assert!(
        version.chars().next().is_some_and(|c| c.is_ascii_digit()),
        "a version number: {version}"
    );
    assert_eq!(report.data_dir, dir.path());
    assert_eq!(
        report.log_file.as_deref(),
        Some(dir.path().join("logs/app.log").as_path())
    );
    let pact = report
        .accounts
        .iter()
        .find(|account| account.name == common::ACCOUNT)
        .expect("the Pact account");
    assert_eq!(pact.provider, "pact-p1");
    assert!(pact.companies >= 1);
    assert!(pact.conversations >= 4);
    assert_eq!(pact.outbox.values().sum::<usize>(), 1, "{:?}", pact.outbox);
    let synced = pact.last_sync.as_ref().expect("the Pact sync is noted");
    assert_eq!(synced.error_code, None);
    let vb = report
        .accounts
        .iter()
        .find(|account| account.name == "vb")
        .expect("the VoIPbin account");
    assert_eq!(vb.provider, "voipbin");
    assert!(vb.signs_in_with_password);
    assert!(
        vb.disabled_features
            .iter()
            .any(|feature| feature.feature == "attachments" && feature.reason.is_some()),
        "{:?}",
        vb.disabled_features
    );
    let failed = vb.last_sync.as_ref().expect("the VoIPbin sync is noted");
    assert_eq!(failed.error_code.as_deref(), Some("offline"));
    assert!(report
        .recent_problems
        .iter()
        .any(|problem| problem.message.contains("server was away")));

    let text = report.to_text();
    eprintln!("{text}");
    for wanted in [
        "Version: 9.8.7",
        &format!("({} {})", std::env::consts::OS, std::env::consts::ARCH),
        &format!("Log file: {}", dir.path().join("logs/app.log").display()),
        &format!("Data folder: {}", dir.path().display()),
        "- acme: provider pact-p1",
        "- vb: provider voipbin",
        "failed: offline",
        "server was away",
    ] {
        assert!(text.contains(wanted), "{wanted:?} missing from:\n{text}");
    }
    for secret in [token.as_str(), password.as_str(), SENT_TEXT] {
        assert!(!text.contains(secret), "{secret:?} is in:\n{text}");
    }
    for name in &customers {
        assert!(!text.contains(name.as_str()), "{name:?} is in:\n{text}");
    }
    logging::flush();
    let log = std::fs::read_to_string(dir.path().join("logs/app.log")).unwrap();
    for secret in [token.as_str(), password.as_str(), SENT_TEXT] {
        assert!(!log.contains(secret), "{secret:?} is in the log:\n{log}");
    }
}
