//! Acceptance: `parley-cli new` against the sandbox's Pact p2: a WhatsApp phone with a text opens
//! the conversation on the server with the text sent once; the same phone (written differently)
//! opens the same conversation; a Telegram username works; a malformed phone is refused with
//! `invalid_input` naming the problem and nothing reaches the server. And `send --attach-url`:
//! the server fetches the link and holds the link's bytes.

use parley_tests::daily::FileServer;
use parley_tests::rows::ConversationRow;
use parley_tests::{sandbox_config, World};

/// The sandbox's p2 limits run this much faster, and Parley's budget follows.
const SCALE: &str = "60";

fn world() -> World {
    let mut config = sandbox_config(7_310, 3, 2);
    config.p2_limit_scale = Some(60.0);
    World::start(config)
}

/// Outgoing messages on the server with exactly this text, as (conversation id, its name).
fn sent_with_text(world: &World, text: &str) -> Vec<(i64, Option<String>)> {
    let sandbox = world.sandbox();
    sandbox
        .conversations()
        .iter()
        .flat_map(|c| {
            sandbox
                .messages(c.id)
                .into_iter()
                .filter(|m| !m.income && m.text.as_deref() == Some(text))
                .map(|_| (c.id, c.name.clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn new_opens_a_conversation_once_per_contact_and_refuses_a_wrong_phone() {
    let world = world();
    let cli = world.cli().with_env("PARLEY_RATE_LIMIT_SCALE", SCALE);
    world.add_pact_account(&cli, "acme").assert_ok();
    cli.ok(&["sync", "--account", "acme"]);
    let company = world.sandbox().companies()[0].id.to_string();
    let new = |contact: &[&str], text: &str| -> ConversationRow {
        let mut args = vec!["new", "acme", "--company-id", &company];
        args.extend_from_slice(contact);
        args.extend_from_slice(&["--text", text, "--json"]);
        cli.json(&args)
    };

    let first = new(
        &["--channel", "whatsapp", "--phone", "+7 925 000-00-01"],
        "Hello from the CLI",
    );
    assert_eq!(first.account, "acme");
    assert_eq!(first.company_id.to_string(), company);
    let sent = sent_with_text(&world, "Hello from the CLI");
    assert_eq!(
        sent,
        vec![(first.id, Some("79250000001".to_string()))],
        "sent once, under the server's id"
    );
    let conversations_before = world.sandbox().conversations().len();

    let again = new(
        &["--channel", "whatsapp", "--phone", "79250000001"],
        "And again",
    );
    assert_eq!(
        again.id, first.id,
        "the same contact opens the same conversation"
    );
    assert_eq!(
        sent_with_text(&world, "And again"),
        vec![(first.id, Some("79250000001".to_string()))]
    );
    assert_eq!(world.sandbox().conversations().len(), conversations_before);
    let listed: Vec<ConversationRow> = cli.json(&["conversations", "--account", "acme", "--json"]);
    assert_eq!(listed.iter().filter(|c| c.id == first.id).count(), 1);

    let telegram = new(
        &["--channel", "telegram_personal", "--username", "@olga_k"],
        "Hi Olga",
    );
    assert_ne!(telegram.id, first.id);
    assert_eq!(
        sent_with_text(&world, "Hi Olga"),
        vec![(telegram.id, Some("olga_k".to_string()))]
    );

    let requests_before = world.sandbox().stats().p2_requests;
    let refused = cli.run(&[
        "new",
        "acme",
        "--company-id",
        &company,
        "--channel",
        "whatsapp",
        "--phone",
        "+7 925",
        "--text",
        "never sent",
    ]);
    let line = refused.assert_single_error_line();
    assert!(line.contains("invalid_input"), "{line}");
    assert!(line.contains("not a valid phone number"), "{line}");
    assert!(
        line.contains("+7 925"),
        "the message names the input: {line}"
    );
    let letters = cli.run(&[
        "new",
        "acme",
        "--company-id",
        &company,
        "--channel",
        "whatsapp",
        "--phone",
        "call me",
        "--text",
        "never sent",
    ]);
    assert!(letters.assert_single_error_line().contains("invalid_input"));
    assert_eq!(
        world.sandbox().stats().p2_requests,
        requests_before,
        "nothing reached the server"
    );
    assert!(sent_with_text(&world, "never sent").is_empty());
    let outbox = cli.ok(&["outbox"]).stdout;
    assert!(!outbox.contains("never sent"), "nothing queued: {outbox}");
}

#[test]
fn send_with_attach_url_delivers_the_links_bytes() {
    let world = world();
    let cli = world.cli().with_env("PARLEY_RATE_LIMIT_SCALE", SCALE);
    world.add_pact_account(&cli, "acme").assert_ok();
    cli.ok(&["sync", "--account", "acme"]);
    let bytes: Vec<u8> = (0..50_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let server = FileServer::start("price-list.pdf", bytes.clone());
    let conversation = world.sandbox().conversations()[0].id;
    let target = format!("acme/{conversation}");

    let refused = cli.run(&["send", &target, "--attach-url", "ftp://example.com/a.pdf"]);
    assert!(refused.assert_single_error_line().contains("invalid_input"));

    cli.ok(&[
        "send",
        &target,
        "--text",
        "the price list",
        "--attach-url",
        &server.url("price-list.pdf"),
    ]);
    let messages = world.sandbox().messages(conversation);
    let sent: Vec<_> = messages
        .iter()
        .filter(|m| !m.income && !m.attachments.is_empty())
        .filter(|m| {
            m.attachments
                .iter()
                .any(|a| a.file_name == "price-list.pdf")
        })
        .collect();
    assert_eq!(sent.len(), 1, "one message carries the link's file");
    let attachment = &sent[0].attachments[0];
    assert_eq!(attachment.bytes, bytes, "the server holds the link's bytes");
    assert_eq!(attachment.size, bytes.len() as u64);
    assert_eq!(server.served(), 1, "fetched once");
}
