//! Acceptance: sends with text and two attachments, while 30 % of requests fail (500, HTML 502, reset,
//! reset after the server acted), each reach the server as exactly one message with both files intact.

use std::path::Path;
use std::time::Duration;

use parley_sandbox::{FaultConfig, FaultKind};
use rand::{RngCore, SeedableRng};

use parley_tests::rows::{self, conversation_id, OutboxRow, SendReport};
use parley_tests::{sandbox_config, World};

const ACCOUNT: &str = "sender";

/// A real PNG signature and header chunk followed by seeded noise, so every byte matters.
fn png_bytes(rng: &mut impl RngCore, size: usize) -> Vec<u8> {
    let mut bytes = vec![
        0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R',
    ];
    let mut noise = vec![0u8; size - bytes.len()];
    rng.fill_bytes(&mut noise);
    bytes.extend(noise);
    bytes
}

fn pdf_bytes(rng: &mut impl RngCore, size: usize) -> Vec<u8> {
    let mut bytes =
        b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n".to_vec();
    let mut noise = vec![0u8; size - bytes.len() - 6];
    rng.fill_bytes(&mut noise);
    bytes.extend(noise);
    bytes.extend(b"%%EOF\n");
    bytes
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).expect("write an attachment file");
}

#[test]
fn send_under_faults() {
    let world = World::start(sandbox_config(3_030, 6, 5));
    let sandbox = world.sandbox();
    let cli = world.cli();
    world.add_account(&cli, ACCOUNT, &[]).assert_ok();
    rows::sync(&cli, ACCOUNT);

    let mut rng = rand::rngs::StdRng::seed_from_u64(0xF11E);
    let files = world.root().join("files");
    std::fs::create_dir_all(&files).unwrap();
    let (png_path, pdf_path) = (files.join("a.png"), files.join("b.pdf"));
    let png = png_bytes(&mut rng, 48 * 1024 + 7);
    let pdf = pdf_bytes(&mut rng, 180 * 1024 + 3);
    write(&png_path, &png);
    write(&pdf_path, &pdf);

    let targets: Vec<i64> = sandbox
        .conversations()
        .iter()
        .take(3)
        .map(|c| c.id)
        .collect();
    let texts = [
        "Счёт №1 во вложении 🧾".to_string(),
        "Invoice #2 <script>alert(1)</script> & \"quotes\"".to_string(),
        "שלום — third attempt\nwith a second line".to_string(),
    ];
    sandbox.set_faults(Some(FaultConfig {
        rate: 0.3,
        kinds: vec![
            FaultKind::Status500,
            FaultKind::Html502,
            FaultKind::ConnectionReset,
            FaultKind::ResetAfterProcessing,
        ],
    }));
    let mut reports = Vec::new();
    for (conversation, text) in targets.iter().zip(&texts) {
        let reference = format!("{ACCOUNT}/{conversation}");
        let args = [
            "send",
            &reference,
            "--text",
            text,
            "--attach",
            png_path.to_str().unwrap(),
            "--attach",
            pdf_path.to_str().unwrap(),
            "--wait",
            "120",
            "--json",
        ];
        let outcome = cli.run_timeout(&args, None, Duration::from_secs(180));
        outcome.assert_ok();
        let report: SendReport = outcome.parse();
        assert_eq!(
            report.status,
            "delivered",
            "send under faults:\n{}",
            outcome.describe()
        );
        assert!(
            report.message_id.is_some(),
            "delivered without message_id:\n{}",
            outcome.describe()
        );
        reports.push(report);
    }
    sandbox.set_faults(None);
    let stats = sandbox.stats();
    assert!(
        stats.faults_injected >= 3,
        "only {} faults were injected, the sends were not really tested under faults: {stats:?}",
        stats.faults_injected
    );
    eprintln!(
        "faults injected during the sends: {:?}",
        stats.faults_by_kind
    );

    let sent = sandbox.sent_messages();
    for ((conversation, text), report) in targets.iter().zip(&texts).zip(&reports) {
        let copies: Vec<_> = sent
            .iter()
            .filter(|m| m.text.as_deref() == Some(text.as_str()))
            .collect();
        assert_eq!(
            copies.len(),
            1,
            "{text:?} reached the server {} times (ids {:?}); all sent: {} messages",
            copies.len(),
            copies.iter().map(|m| m.id).collect::<Vec<_>>(),
            sent.len()
        );
        let message = copies[0];
        assert_eq!(
            Some(message.id),
            report.message_id,
            "send --json names another message"
        );
        assert!(
            sandbox
                .messages(*conversation)
                .iter()
                .any(|m| m.id == message.id),
            "message {} is not in conversation {conversation}",
            message.id
        );
        let mut files: Vec<(String, Vec<u8>, String)> = message
            .attachments
            .iter()
            .map(|a| (a.file_name.clone(), a.bytes.to_vec(), a.mime_type.clone()))
            .collect();
        files.sort();
        let names: Vec<&str> = files.iter().map(|(name, _, _)| name.as_str()).collect();
        assert_eq!(names, ["a.png", "b.pdf"], "attachments of {text:?}");
        assert!(
            files[0].1 == png,
            "a.png arrived altered ({} bytes, want {})",
            files[0].1.len(),
            png.len()
        );
        assert!(
            files[1].1 == pdf,
            "b.pdf arrived altered ({} bytes, want {})",
            files[1].1.len(),
            pdf.len()
        );
        assert_eq!(files[0].2, "image/png");
        assert_eq!(files[1].2, "application/pdf");
    }

    let outbox: Vec<OutboxRow> = cli.json(&["outbox", "--json"]);
    for (text, report) in texts.iter().zip(&reports) {
        let entries: Vec<&OutboxRow> = outbox
            .iter()
            .filter(|r| r.text.as_deref() == Some(text.as_str()))
            .collect();
        assert_eq!(entries.len(), 1, "outbox entries for {text:?}: {outbox:?}");
        assert_eq!(
            entries[0].status, "delivered",
            "outbox entry {:?}",
            entries[0]
        );
        assert_eq!(
            entries[0].message_id, report.message_id,
            "outbox entry {:?}",
            entries[0]
        );
        assert!(
            conversation_id(&entries[0].conversation).is_some(),
            "outbox conversation {:?}",
            entries[0]
        );
    }

    rows::sync(&cli, ACCOUNT);
    for (conversation, text) in targets.iter().zip(&texts) {
        let shown = rows::messages(&cli, ACCOUNT, *conversation);
        let copies: Vec<_> = shown
            .iter()
            .filter(|m| m.text.as_deref() == Some(text.as_str()))
            .collect();
        assert_eq!(
            copies.len(),
            1,
            "messages --json after sync shows {text:?} {} times: {copies:?}",
            copies.len()
        );
        assert_eq!(copies[0].direction, "out");
        let names: Vec<Option<&str>> = copies[0]
            .attachments
            .iter()
            .map(|a| a.name.as_deref())
            .collect();
        assert_eq!(names.len(), 2, "attachments shown for {text:?}: {names:?}");
    }
}

/// A large file over a slow uplink: `send` says on stderr how far the upload got, in steps that move
/// forward, and the file still arrives once, byte for byte.
#[test]
fn send_shows_upload_progress_on_stderr() {
    const SIZE: usize = 6 * 1024 * 1024;
    let world = World::start(sandbox_config(3_031, 3, 3));
    let sandbox = world.sandbox();
    let cli = world.cli();
    world.add_account(&cli, ACCOUNT, &[]).assert_ok();
    rows::sync(&cli, ACCOUNT);
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5104);
    let path = world.root().join("recording.mp4");
    let mut content = vec![0u8; SIZE];
    rng.fill_bytes(&mut content);
    write(&path, &content);
    let reference = format!("{ACCOUNT}/{}", sandbox.conversations()[0].id);
    sandbox.set_upload_speed(Some(1024 * 1024));

    let outcome = cli.run_timeout(
        &[
            "send",
            &reference,
            "--text",
            "the recording",
            "--attach",
            path.to_str().unwrap(),
            "--wait",
            "60",
        ],
        None,
        Duration::from_secs(90),
    );
    sandbox.set_upload_speed(None);
    outcome.assert_ok();
    let percents: Vec<u64> = outcome
        .stderr
        .lines()
        .filter_map(|line| line.strip_prefix("uploading file 1 of 1: "))
        .map(|rest| {
            let (percent, size) = rest.split_once(" % of ").expect("percent and size");
            assert_eq!(size, format!("{SIZE} bytes"), "the size shown");
            percent.parse().expect("a percentage")
        })
        .collect();
    assert!(
        percents.iter().filter(|&&p| p > 0 && p < 100).count() >= 2,
        "at least two steps between 0 and 100 %:\n{}",
        outcome.describe()
    );
    assert!(
        percents.windows(2).all(|pair| pair[0] <= pair[1]),
        "the progress only moves forward: {percents:?}"
    );
    let copies: Vec<_> = sandbox
        .sent_messages()
        .into_iter()
        .filter(|m| m.text.as_deref() == Some("the recording"))
        .collect();
    assert_eq!(copies.len(), 1, "one message arrived");
    assert!(
        copies[0].attachments.len() == 1 && copies[0].attachments[0].bytes == content,
        "the file arrived byte for byte"
    );
}
