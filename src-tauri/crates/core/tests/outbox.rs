//! The outbox against the sandbox: one entry is one message, whatever the network does.

mod common;

use std::time::{Duration, Instant};

use common::{core_with_account, sandbox, sync, ACCOUNT};
use parley_core::{ConversationRef, OutboxState, Parley};
use parley_sandbox::{FaultConfig, FaultKind};

async fn drive_until_final(parley: &Parley, id: i64, limit: Duration) -> OutboxState {
    let deadline = Instant::now() + limit;
    loop {
        parley.process_outbox(None).await.unwrap();
        let state = parley.outbox_entry(id).await.unwrap().status;
        if state.is_final() || Instant::now() > deadline {
            return state;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_send_with_two_files_under_faults_arrives_exactly_once() {
    let sandbox = sandbox(3, 5).await;
    let dir = tempfile::tempdir().unwrap();
    let parley = core_with_account(dir.path(), &sandbox).await;
    sync(&parley).await;
    let files = tempfile::tempdir().unwrap();
    let png = files.path().join("photo.png");
    let pdf = files.path().join("счёт.pdf");
    std::fs::write(&png, b"\x89PNG\r\n\x1a\nfake image bytes").unwrap();
    std::fs::write(&pdf, b"%PDF-1.4 fake invoice").unwrap();
    let conversation = ConversationRef {
        account: ACCOUNT.into(),
        id: sandbox.conversations()[0].id.to_string(),
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
    let mut ids = Vec::new();
    for text in [
        "first under faults",
        "second under faults",
        "third under faults",
    ] {
        let id = parley
            .queue_message(
                &conversation,
                Some(text.into()),
                &[png.clone(), pdf.clone()],
            )
            .await
            .unwrap();
        ids.push((id, text));
    }
    for (id, _) in &ids {
        assert_eq!(
            drive_until_final(&parley, *id, Duration::from_secs(120)).await,
            OutboxState::Delivered
        );
    }
    sandbox.set_faults(None);

    let sent = sandbox.sent_messages();
    for (_, text) in ids {
        let copies: Vec<_> = sent
            .iter()
            .filter(|message| message.text.as_deref() == Some(text))
            .collect();
        assert_eq!(copies.len(), 1, "\"{text}\" arrived {} times", copies.len());
        let bytes: Vec<_> = copies[0]
            .attachments
            .iter()
            .map(|a| a.bytes.clone())
            .collect();
        assert_eq!(
            bytes,
            [std::fs::read(&png).unwrap(), std::fs::read(&pdf).unwrap()]
        );
    }
}

#[tokio::test]
async fn a_send_while_offline_stays_pending_and_goes_out_later() {
    let sandbox = sandbox(2, 3).await;
    let dir = tempfile::tempdir().unwrap();
    let parley = core_with_account(dir.path(), &sandbox).await;
    sync(&parley).await;
    let conversation = ConversationRef {
        account: ACCOUNT.into(),
        id: sandbox.conversations()[1].id.to_string(),
    };
    sandbox.shutdown().await;

    let id = parley
        .queue_message(&conversation, Some("written on a train".into()), &[])
        .await
        .unwrap();
    parley.process_outbox(Some(id)).await.unwrap();
    let entry = parley.outbox_entry(id).await.unwrap();
    assert_eq!(entry.status, OutboxState::Pending);
    assert_eq!(entry.last_error_code.as_deref(), Some("offline"));
    let thread = parley.messages(&conversation, None).await.unwrap();
    assert_eq!(thread.last().unwrap().status, "pending");
    assert_eq!(
        thread.last().unwrap().text.as_deref(),
        Some("written on a train")
    );
}

#[tokio::test]
async fn a_rejected_send_fails_with_the_reason_and_retry_resends() {
    let sandbox = sandbox(2, 3).await;
    let dir = tempfile::tempdir().unwrap();
    let parley = core_with_account(dir.path(), &sandbox).await;
    sync(&parley).await;
    let conversation = ConversationRef {
        account: ACCOUNT.into(),
        id: sandbox.conversations()[0].id.to_string(),
    };
    let missing = dir.path().join("vanishes.txt");
    std::fs::write(&missing, b"soon gone").unwrap();
    let id = parley
        .queue_message(
            &conversation,
            Some("with a file".into()),
            std::slice::from_ref(&missing),
        )
        .await
        .unwrap();
    // The staged copy disappears (a user cleaned the data folder): the entry fails with a clear reason.
    let staged = parley
        .messages(&conversation, None)
        .await
        .unwrap()
        .last()
        .unwrap()
        .attachments[0]
        .local_path
        .clone()
        .unwrap();
    std::fs::remove_file(&staged).unwrap();
    assert_eq!(
        drive_until_final(&parley, id, Duration::from_secs(10)).await,
        OutboxState::Failed
    );
    let failed = parley.outbox_entry(id).await.unwrap();
    assert!(failed.last_error.unwrap().contains("vanishes.txt"));

    // Put back as it was: the outbox sends only the bytes that were queued.
    std::fs::write(&staged, b"soon gone").unwrap();
    parley.retry_outbox_entry(id).await.unwrap();
    assert_eq!(
        drive_until_final(&parley, id, Duration::from_secs(10)).await,
        OutboxState::Delivered
    );
    assert_eq!(
        sandbox
            .sent_messages()
            .iter()
            .filter(|m| m.text.as_deref() == Some("with a file"))
            .count(),
        1
    );
}

#[tokio::test]
async fn a_refused_delivery_fails_with_the_servers_reason_and_retry_sends_it_again() {
    let sandbox = sandbox(2, 3).await;
    let dir = tempfile::tempdir().unwrap();
    let parley = core_with_account(dir.path(), &sandbox).await;
    sync(&parley).await;
    let conversation = ConversationRef {
        account: ACCOUNT.into(),
        id: sandbox.conversations()[0].id.to_string(),
    };

    sandbox.set_fail_deliveries(true);
    let id = parley
        .queue_message(&conversation, Some("are you there?".into()), &[])
        .await
        .unwrap();
    assert_eq!(
        drive_until_final(&parley, id, Duration::from_secs(20)).await,
        OutboxState::Failed
    );
    let failed = parley.outbox_entry(id).await.unwrap();
    assert!(
        failed
            .last_error
            .as_deref()
            .unwrap()
            .contains("Contact is not present"),
        "{failed:?}"
    );
    let thread = parley.messages(&conversation, None).await.unwrap();
    assert_eq!(thread.last().unwrap().status, "failed");

    sandbox.set_fail_deliveries(false);
    parley.retry_outbox_entry(id).await.unwrap();
    assert_eq!(
        drive_until_final(&parley, id, Duration::from_secs(20)).await,
        OutboxState::Delivered
    );
    let delivered = sandbox.messages(sandbox.conversations()[0].id);
    assert_eq!(
        delivered
            .iter()
            .filter(|m| m.text.as_deref() == Some("are you there?"))
            .count(),
        1
    );
}

#[tokio::test]
async fn the_staged_copy_of_a_sent_file_goes_once_the_servers_message_is_cached() {
    let sandbox = sandbox(2, 3).await;
    let dir = tempfile::tempdir().unwrap();
    let parley = core_with_account(dir.path(), &sandbox).await;
    sync(&parley).await;
    let conversation = ConversationRef {
        account: ACCOUNT.into(),
        id: sandbox.conversations()[0].id.to_string(),
    };
    let original = dir.path().join("contract.pdf");
    std::fs::write(&original, b"%PDF-1.4 contract").unwrap();

    let id = parley
        .queue_message(&conversation, None, std::slice::from_ref(&original))
        .await
        .unwrap();
    let staged = parley
        .messages(&conversation, None)
        .await
        .unwrap()
        .last()
        .unwrap()
        .attachments[0]
        .local_path
        .clone()
        .unwrap();
    assert!(std::path::Path::new(&staged).exists());
    assert_eq!(
        drive_until_final(&parley, id, Duration::from_secs(20)).await,
        OutboxState::Delivered
    );
    sync(&parley).await;

    assert!(
        !std::path::Path::new(&staged).exists(),
        "the staged copy is still there"
    );
    assert!(
        original.exists(),
        "the user's own file must never be touched"
    );
    let last = parley
        .messages(&conversation, None)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(last.attachments[0].name.as_deref(), Some("contract.pdf"));
    assert_eq!(last.status, "delivered");
}

/// While a send's files upload over a slow link, `uploads_in_flight` says which file of how many is on
/// its way and how many of its bytes went out, moving forward; once sent, nothing is in flight.
#[tokio::test]
async fn uploads_in_flight_follow_each_file_of_a_send() {
    const SIZE: usize = 8 * 1024 * 1024;
    let sandbox = sandbox(3, 5).await;
    let dir = tempfile::tempdir().unwrap();
    let parley = std::sync::Arc::new(core_with_account(dir.path(), &sandbox).await);
    sync(&parley).await;
    let files = tempfile::tempdir().unwrap();
    let small = files.path().join("note.txt");
    let large = files.path().join("recording.mp4");
    std::fs::write(&small, b"a short note").unwrap();
    std::fs::write(&large, vec![42u8; SIZE]).unwrap();
    let conversation = ConversationRef {
        account: ACCOUNT.into(),
        id: sandbox.conversations()[0].id.to_string(),
    };
    let id = parley
        .queue_message(&conversation, Some("two files".into()), &[small, large])
        .await
        .unwrap();
    sandbox.set_upload_speed(Some(2 * 1024 * 1024));
    assert!(parley.uploads_in_flight().is_empty(), "nothing before work");

    let worker = tokio::spawn({
        let parley = parley.clone();
        async move { parley.process_outbox(Some(id)).await }
    });
    let mut seen = Vec::new();
    while !worker.is_finished() {
        for upload in parley.uploads_in_flight() {
            assert_eq!(upload.outbox_id, id);
            assert_eq!(upload.total, 2, "two files to upload");
            assert!(upload.bytes_sent <= upload.bytes_total, "{upload:?}");
            if seen.last() != Some(&upload) {
                seen.push(upload);
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    worker.await.unwrap().unwrap();
    sandbox.set_upload_speed(None);

    let large_file: Vec<_> = seen.iter().filter(|upload| upload.done == 1).collect();
    assert!(
        large_file
            .iter()
            .any(|upload| upload.bytes_total == SIZE as u64
                && upload.bytes_sent > 0
                && upload.bytes_sent < SIZE as u64),
        "the second file was seen part-way: {seen:?}"
    );
    assert!(
        large_file
            .windows(2)
            .all(|pair| pair[0].bytes_sent <= pair[1].bytes_sent),
        "its progress only moves forward: {seen:?}"
    );
    assert!(
        parley.uploads_in_flight().is_empty(),
        "nothing after the send"
    );
    assert_ne!(
        parley.outbox_entry(id).await.unwrap().status,
        OutboxState::Pending,
        "the message went out"
    );
}
