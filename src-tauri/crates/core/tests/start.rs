//! Starting conversations against the sandbox: a WhatsApp phone and a Telegram username open a
//! conversation on the server with the first text sent once, the same contact again opens the same
//! conversation, a wrong phone is refused before anything is sent, a start whose answer is lost
//! under faults still writes exactly one message, and links are attached by the server.

mod common;

use std::time::Duration;

use common::{open, ACCOUNT};
use parley_core::{
    ConversationRef, NewAccount, NewConversation, OutboxState, Outgoing, Parley, ProviderKind,
    Secret,
};
use parley_sandbox::{FaultConfig, FaultKind, Sandbox, SandboxConfig};

const SCALE: f64 = 60.0;

async fn sandbox() -> Sandbox {
    std::env::set_var(parley_core::RATE_LIMIT_SCALE_ENV, SCALE.to_string());
    Sandbox::start(SandboxConfig {
        conversations: 4,
        messages_per_conversation: 3,
        p2_limit_scale: Some(SCALE),
        job_delay: Duration::ZERO,
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts")
}

async fn account(dir: &std::path::Path, sandbox: &Sandbox, provider: ProviderKind) -> Parley {
    let parley = open(dir).await;
    let base_url = match provider {
        ProviderKind::PactP1 => sandbox.pact_p1_base_url(),
        _ => sandbox.pact_root_url(),
    };
    parley
        .add_account(
            NewAccount {
                name: ACCOUNT.to_string(),
                provider,
                base_url: Some(base_url),
                company_ids: vec![sandbox.companies()[0].id.to_string()],
            },
            Secret::new(sandbox.token()),
        )
        .await
        .expect("account added");
    parley.sync(ACCOUNT, &mut |_| {}).await.expect("first sync");
    parley
}

fn whatsapp(phone: &str, text: &str) -> NewConversation {
    NewConversation {
        account: ACCOUNT.to_string(),
        channel: "whatsapp".to_string(),
        phone: Some(phone.to_string()),
        text: Some(text.to_string()),
        ..NewConversation::default()
    }
}

/// Works the outbox until entry `id` is final (or at least accepted, with `accepted_is_enough`).
async fn work_until_done(parley: &Parley, id: i64, accepted_is_enough: bool) -> OutboxState {
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        parley.process_outbox(None).await.unwrap();
        let entry = parley.outbox_entry(id).await.unwrap();
        let done =
            entry.status.is_final() || (accepted_is_enough && entry.status == OutboxState::Sent);
        if done || std::time::Instant::now() > deadline {
            return entry.status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The server's messages with this text, over every conversation, as (conversation id, name).
fn server_messages_with(sandbox: &Sandbox, text: &str) -> Vec<(i64, Option<String>)> {
    sandbox
        .conversations()
        .iter()
        .flat_map(|conversation| {
            sandbox
                .messages(conversation.id)
                .into_iter()
                .filter(|m| !m.income && m.text.as_deref() == Some(text))
                .map(|_| (conversation.id, conversation.name.clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whatsapp_phone_opens_one_conversation_and_the_same_phone_finds_it_again() {
    let sandbox = sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let parley = account(dir.path(), &sandbox, ProviderKind::Pact).await;

    let started = parley
        .start_conversation(whatsapp("+7 (925) 000-00-01", "Hello from Parley"))
        .await
        .unwrap();
    assert!(!started.existing);
    assert!(
        started.conversation.id.starts_with("new-"),
        "a placeholder until sent"
    );
    assert_eq!(
        started.conversation.title.as_deref(),
        Some("+7 925 000-00-01")
    );
    let shown = parley
        .messages(
            &ConversationRef {
                account: ACCOUNT.into(),
                id: started.conversation.id.clone(),
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0].status, "pending");

    let outbox_id = started.outbox_id.unwrap();
    assert_eq!(
        work_until_done(&parley, outbox_id, false).await,
        OutboxState::Delivered
    );
    let on_server = server_messages_with(&sandbox, "Hello from Parley");
    assert_eq!(on_server.len(), 1, "sent exactly once: {on_server:?}");
    let (server_id, server_name) = on_server[0].clone();
    assert_eq!(
        server_name.as_deref(),
        Some("79250000001"),
        "the normalised phone"
    );

    let placeholder = ConversationRef {
        account: ACCOUNT.into(),
        id: started.conversation.id.clone(),
    };
    let resolved = parley.resolve_conversation(&placeholder).await.unwrap();
    assert_eq!(resolved.id, server_id.to_string());
    assert!(parley
        .conversations(Some(ACCOUNT), None)
        .await
        .unwrap()
        .iter()
        .all(|c| !c.id.starts_with("new-")));

    let again = parley
        .start_conversation(whatsapp("79250000001", "Second message"))
        .await
        .unwrap();
    assert!(again.existing);
    assert_eq!(again.conversation.id, server_id.to_string());
    assert_eq!(
        work_until_done(&parley, again.outbox_id.unwrap(), false).await,
        OutboxState::Delivered
    );
    let second = server_messages_with(&sandbox, "Second message");
    assert_eq!(second, vec![(server_id, Some("79250000001".to_string()))]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_phone_is_refused_before_anything_is_sent() {
    let sandbox = sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let parley = account(dir.path(), &sandbox, ProviderKind::Pact).await;
    let before = sandbox.stats();
    for (phone, problem) in [
        ("+7 925 abc", "contains"),
        ("+7 925", "not a valid phone number"),
        ("", "reached by phone number"),
    ] {
        let error = parley
            .start_conversation(whatsapp(phone, "never sent"))
            .await
            .unwrap_err();
        assert_eq!(error.code().as_str(), "invalid_input", "{phone}: {error}");
        assert!(error.to_string().contains(problem), "{phone}: {error}");
    }
    let telegram_without_text = NewConversation {
        account: ACCOUNT.to_string(),
        channel: "telegram_personal".to_string(),
        username: Some("olga_k".to_string()),
        ..NewConversation::default()
    };
    let error = parley
        .start_conversation(telegram_without_text)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("--text"), "{error}");
    parley.process_outbox(None).await.unwrap();
    assert!(parley.outbox().await.unwrap().is_empty());
    assert_eq!(sandbox.stats().p2_requests, before.p2_requests);
    assert!(server_messages_with(&sandbox, "never sent").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_telegram_username_opens_a_conversation_on_pact_p1() {
    let sandbox = sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let parley = account(dir.path(), &sandbox, ProviderKind::PactP1).await;
    let started = parley
        .start_conversation(NewConversation {
            account: ACCOUNT.to_string(),
            channel: "telegram_personal".to_string(),
            username: Some("@olga_k".to_string()),
            text: Some("Hi Olga".to_string()),
            ..NewConversation::default()
        })
        .await
        .unwrap();
    let status = work_until_done(&parley, started.outbox_id.unwrap(), false).await;
    assert_eq!(status, OutboxState::Delivered);
    let on_server = server_messages_with(&sandbox, "Hi Olga");
    assert_eq!(on_server.len(), 1, "{on_server:?}");
    assert_eq!(on_server[0].1.as_deref(), Some("olga_k"));
    let again = parley
        .start_conversation(NewConversation {
            account: ACCOUNT.to_string(),
            channel: "telegram_personal".to_string(),
            username: Some("OLGA_K".to_string()),
            ..NewConversation::default()
        })
        .await;
    // Telegram needs a first text even for an existing contact; with one, it lands in the same place.
    assert!(again.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_under_faults_write_each_first_message_once() {
    let sandbox = sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let parley = account(dir.path(), &sandbox, ProviderKind::Pact).await;
    let phones = [
        "+79250000011",
        "+79250000012",
        "+79250000013",
        "+79250000014",
    ];
    let mut entries = Vec::new();
    for (index, phone) in phones.iter().enumerate() {
        let started = parley
            .start_conversation(whatsapp(phone, &format!("first message {index}")))
            .await
            .unwrap();
        entries.push(started.outbox_id.unwrap());
    }
    sandbox.set_faults(Some(FaultConfig {
        rate: 0.3,
        kinds: vec![
            FaultKind::Status500,
            FaultKind::ConnectionReset,
            FaultKind::ResetAfterProcessing,
        ],
    }));
    for id in &entries {
        let status = work_until_done(&parley, *id, false).await;
        let entry = parley.outbox_entry(*id).await.unwrap();
        assert_eq!(status, OutboxState::Delivered, "entry {id}: {entry:?}");
    }
    sandbox.set_faults(None);
    for (index, phone) in phones.iter().enumerate() {
        let on_server = server_messages_with(&sandbox, &format!("first message {index}"));
        assert_eq!(on_server.len(), 1, "{phone}: {on_server:?}");
        assert_eq!(
            on_server[0].1.as_deref(),
            Some(phone.trim_start_matches('+'))
        );
    }
    let names: Vec<_> = sandbox
        .conversations()
        .into_iter()
        .filter_map(|c| c.name)
        .filter(|name| name.starts_with("792500000"))
        .collect();
    assert_eq!(
        names.len(),
        phones.len(),
        "one conversation per contact: {names:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_must_be_http_and_goes_out_as_an_attachment() {
    let sandbox = sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let parley = account(dir.path(), &sandbox, ProviderKind::Pact).await;
    let conversation = ConversationRef {
        account: ACCOUNT.into(),
        id: parley.conversations(Some(ACCOUNT), Some(1)).await.unwrap()[0]
            .id
            .clone(),
    };
    let refused = parley
        .queue_send(
            &conversation,
            Outgoing {
                links: vec!["file:///etc/passwd".to_string()],
                ..Outgoing::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(refused.code().as_str(), "invalid_input");
    assert!(parley.outbox().await.unwrap().is_empty());
    let shown = parley.messages(&conversation, None).await.unwrap();
    let before = shown.len();
    let bytes: Vec<u8> = (0..20_000u32).map(|i| (i % 253) as u8).collect();
    let link = format!("{}/price%20list.pdf", serve_once(bytes.clone()));
    let id = parley
        .queue_send(
            &conversation,
            Outgoing {
                text: Some("our prices".to_string()),
                links: vec![link],
                ..Outgoing::default()
            },
        )
        .await
        .unwrap();
    let staged = parley.outbox_entry(id).await.unwrap();
    assert_eq!(staged.attachments, vec!["price list.pdf".to_string()]);
    let shown = parley.messages(&conversation, None).await.unwrap();
    assert_eq!(shown.len(), before + 1);
    assert_eq!(
        shown.last().unwrap().attachments[0].name.as_deref(),
        Some("price list.pdf")
    );
    assert_ne!(
        work_until_done(&parley, id, true).await,
        OutboxState::Failed
    );
    let server = sandbox.messages(conversation.id.parse().unwrap());
    let sent: Vec<_> = server
        .iter()
        .filter(|m| m.text.as_deref() == Some("our prices"))
        .collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].attachments.len(), 1);
    assert_eq!(
        sent[0].attachments[0].bytes, bytes,
        "the server fetched the link's bytes"
    );
}

/// Serves `bytes` over HTTP on 127.0.0.1 for every request, from a thread; returns the base URL.
fn serve_once(bytes: Vec<u8>) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                bytes.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&bytes);
        }
    });
    format!("http://{address}")
}

async fn voipbin_core(dir: &std::path::Path, legacy_setup: bool) -> (Sandbox, Parley) {
    let sandbox = Sandbox::start(SandboxConfig {
        conversations: 1,
        messages_per_conversation: 1,
        voipbin_conversations: 3,
        voipbin_messages_per_conversation: 1,
        voipbin_legacy_setup: legacy_setup,
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts");
    let parley = open(dir).await;
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
            Secret::new(password),
        )
        .await
        .expect("account added");
    parley.sync("vb", &mut |_| {}).await.expect("first sync");
    (sandbox, parley)
}

fn line() -> NewConversation {
    NewConversation {
        account: "vb".to_string(),
        channel: "line".to_string(),
        ..NewConversation::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voipbin_without_the_legacy_setup_says_why_it_cannot_start() {
    let dir = tempfile::tempdir().unwrap();
    let (sandbox, parley) = voipbin_core(dir.path(), false).await;
    let options = parley.start_options().await.unwrap();
    let vb = options.iter().find(|o| o.account == "vb").unwrap();
    assert!(vb.channels.is_empty());
    let reason = vb.reason.clone().expect("a reason");
    assert!(reason.contains("setup"), "{reason}");
    let error = parley.start_conversation(line()).await.unwrap_err();
    assert_eq!(error.code().as_str(), "unsupported", "{error}");
    assert!(parley.outbox().await.unwrap().is_empty());
    assert_eq!(
        sandbox.voipbin_conversations().len(),
        3,
        "nothing was set up"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voipbin_with_the_legacy_setup_opens_a_line_conversation() {
    let dir = tempfile::tempdir().unwrap();
    let (sandbox, parley) = voipbin_core(dir.path(), true).await;
    let options = parley.start_options().await.unwrap();
    let vb = options.iter().find(|o| o.account == "vb").unwrap();
    let names: Vec<_> = vb.channels.iter().map(|channel| channel.name).collect();
    assert_eq!(names, vec!["line"], "{:?}", vb.reason);
    assert!(
        !vb.channels[0].phone && !vb.channels[0].username,
        "LINE's setup addresses nobody"
    );
    assert_eq!(
        sandbox.voipbin_conversations().len(),
        3,
        "asking set nothing up"
    );
    let started = parley.start_conversation(line()).await.unwrap();
    let status = work_until_done(&parley, started.outbox_id.unwrap(), false).await;
    assert_eq!(status, OutboxState::Delivered);
    let server = sandbox.voipbin_conversations();
    assert_eq!(server.len(), 4, "one conversation set up");
    let resolved = parley
        .resolve_conversation(&ConversationRef {
            account: "vb".into(),
            id: started.conversation.id.clone(),
        })
        .await
        .unwrap();
    assert!(server.iter().any(|c| c.id == resolved.id), "{resolved:?}");
}
