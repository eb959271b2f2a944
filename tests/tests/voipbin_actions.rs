//! Acceptance: on a VoIPbin account, `assign` and `unassign` reach the sandbox and the cache, notes,
//! Bitrix and files are refused as `unsupported` with a reason, and a text send reaches the sandbox
//! exactly once while 30 % of requests fail.

use std::time::Duration;

use parley_sandbox::{FaultConfig, FaultKind};
use parley_tests::rows;
use parley_tests::voipbin::{self, voipbin_config, VOIPBIN_ACCESS_KEY};
use parley_tests::World;
use serde_json::Value;

const ACCOUNT: &str = "vb";
const AGENT: &str = "7c0de1a5-5eed-4a11-9b3e-0000000a9e17";

#[test]
fn assign_and_unassign_reach_the_sandbox() {
    let world = World::start(voipbin_config(4_201, 5, 3));
    let sandbox = world.sandbox();
    let cli = world.cli();
    world
        .add_voipbin_by_key(&cli, ACCOUNT, VOIPBIN_ACCESS_KEY)
        .assert_ok();
    rows::sync(&cli, ACCOUNT);
    let target = sandbox.voipbin_conversations()[1].id.clone();
    let reference = format!("{ACCOUNT}/{target}");
    let owner_on_server = || {
        sandbox
            .voipbin_conversations()
            .into_iter()
            .find(|c| c.id == target)
            .and_then(|c| c.owner_id)
    };
    let owner_in_cache = || {
        voipbin::conversations(&cli, ACCOUNT)
            .into_iter()
            .find(|c| c.id == target)
            .and_then(|c| c.assignee_id)
    };

    cli.ok(&["assign", &reference, AGENT]);
    assert_eq!(owner_on_server().as_deref(), Some(AGENT));
    assert_eq!(owner_in_cache().as_deref(), Some(AGENT));

    cli.ok(&["unassign", &reference]);
    assert_eq!(
        owner_on_server(),
        None,
        "unassign did not reach the sandbox"
    );
    assert_eq!(owner_in_cache(), None, "the cache still shows an assignee");
    rows::sync(&cli, ACCOUNT);
    assert_eq!(owner_in_cache(), None, "a sync brought the assignee back");

    for args in [
        vec!["note", reference.as_str(), "call back"],
        vec!["bitrix-openlines", reference.as_str(), "on"],
    ] {
        let line = cli.run(&args).assert_single_error_line();
        assert!(line.starts_with("error: unsupported: "), "{line}");
        assert!(line.contains("VoIPbin"), "{line}");
    }
    let file = world.root().join("photo.png");
    std::fs::write(&file, b"\x89PNG\r\n\x1a\n").unwrap();
    let line = cli
        .run(&[
            "send",
            &reference,
            "--text",
            "with a photo",
            "--attach",
            file.to_str().unwrap(),
        ])
        .assert_single_error_line();
    assert!(line.starts_with("error: unsupported: "), "{line}");
    assert!(
        sandbox.voipbin_sent_messages().is_empty(),
        "a refused send reached the sandbox"
    );
}

#[test]
fn a_send_reaches_the_sandbox_once_under_faults() {
    let world = World::start(voipbin_config(3_030, 4, 3));
    let sandbox = world.sandbox();
    let cli = world.cli();
    world
        .add_voipbin_by_key(&cli, ACCOUNT, VOIPBIN_ACCESS_KEY)
        .assert_ok();
    rows::sync(&cli, ACCOUNT);
    let targets: Vec<String> = sandbox
        .voipbin_conversations()
        .iter()
        .map(|c| c.id.clone())
        .collect();
    let text_of = |n: usize| match n % 2 {
        0 => format!("Ваш заказ #{n} отправлен 📦 <b>not bold</b>"),
        _ => format!("שלום #{n} — second line\nand a third & \"quotes\""),
    };
    sandbox.set_faults(Some(FaultConfig {
        rate: 0.3,
        kinds: vec![
            FaultKind::Status500,
            FaultKind::Html502,
            FaultKind::ConnectionReset,
            FaultKind::ResetAfterProcessing,
        ],
    }));
    // Send until the faults really hit (the fault draw is seeded), at most twenty messages.
    let mut sends = Vec::new();
    for n in 0..20 {
        if sandbox.stats().faults_injected >= 3 {
            break;
        }
        let conversation = targets[n % targets.len()].clone();
        let text = text_of(n);
        let reference = format!("{ACCOUNT}/{conversation}");
        let outcome = cli.run_timeout(
            &[
                "send", &reference, "--text", &text, "--wait", "120", "--json",
            ],
            None,
            Duration::from_secs(180),
        );
        outcome.assert_ok();
        let report: Value = outcome.parse();
        assert_eq!(report["status"], "delivered", "{}", outcome.describe());
        let message_id = report["message_id"].as_str().map(str::to_string);
        sends.push((conversation, text, message_id));
    }
    sandbox.set_faults(None);
    let stats = sandbox.stats();
    assert!(
        stats.faults_injected >= 3,
        "only {} faults were injected: {stats:?}",
        stats.faults_injected
    );

    let sent = sandbox.voipbin_sent_messages();
    for (conversation, text, message_id) in &sends {
        let copies: Vec<_> = sent.iter().filter(|m| &m.text == text).collect();
        assert_eq!(
            copies.len(),
            1,
            "{text:?} reached the sandbox {} times",
            copies.len()
        );
        assert_eq!(&copies[0].conversation_id, conversation);
        assert_eq!(message_id.as_deref(), Some(copies[0].id.as_str()));
    }
    assert_eq!(
        sent.len(),
        sends.len(),
        "extra messages reached the sandbox"
    );
    rows::sync(&cli, ACCOUNT);
    for (conversation, text, _) in &sends {
        let shown = voipbin::messages(&cli, ACCOUNT, conversation);
        let copies: Vec<_> = shown
            .iter()
            .filter(|m| m.text.as_deref() == Some(text.as_str()))
            .collect();
        assert_eq!(copies.len(), 1, "{text:?} shown {} times", copies.len());
        assert_eq!(copies[0].direction, "out");
    }
}
