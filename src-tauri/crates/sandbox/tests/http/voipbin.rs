//! VoIPbin in the sandbox: login and JWT expiry, access key, paging, both shapes, agents,
//! assignment, sending, the legacy setup (404, or a LINE conversation when switched on), 403/429,
//! and the WebSocket (subscribe, push, shapes, cut).

use std::collections::HashSet;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use parley_sandbox::{Sandbox, SandboxConfig};
use parley_voipbin::{Credentials, Direction, Secret, VoipbinClient};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::harness::Harness;

fn key_url(harness: &Harness, path: &str) -> String {
    let separator = if path.contains('?') { '&' } else { '?' };
    format!(
        "{}/v1.0/{path}{separator}accesskey={}",
        harness.sandbox.voipbin_base_url(),
        harness.sandbox.voipbin_access_key()
    )
}

async fn get_json(harness: &Harness, path: &str) -> Value {
    let response = harness
        .http
        .get(key_url(harness, path))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "GET {path}");
    response.json().await.unwrap()
}

async fn login(harness: &Harness, username: &str, password: &str) -> reqwest::Response {
    let url = format!("{}/auth/login", harness.sandbox.voipbin_base_url());
    let body = json!({ "username": username, "password": password });
    harness.http.post(url).json(&body).send().await.unwrap()
}

/// Every item of a list, following `page_token` until a short or empty page.
async fn collect(harness: &Harness, path: &str, page_size: usize) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut url = format!("{path}?page_size={page_size}");
        if let Some(token) = &token {
            url.push_str(&format!("&page_token={}", urlencode(token)));
        }
        let body = get_json(harness, &url).await;
        pages += 1;
        let page = body["result"].as_array().unwrap().clone();
        if !page.is_empty() {
            let last = page.last().unwrap()["tm_create"].as_str().unwrap();
            assert_eq!(body["next_page_token"].as_str(), Some(last));
        }
        let done = page.len() < page_size;
        items.extend(page);
        if done {
            return (items, pages);
        }
        token = body["next_page_token"].as_str().map(str::to_owned);
    }
}

fn urlencode(raw: &str) -> String {
    url::form_urlencoded::byte_serialize(raw.as_bytes()).collect()
}

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn login_gives_a_jwt_that_expires() {
    let harness = Harness::start(SandboxConfig {
        jwt_lifetime: Duration::from_millis(800),
        ..SandboxConfig::default()
    })
    .await;
    let (username, password) = harness.sandbox.voipbin_login();
    assert_eq!(login(&harness, &username, "wrong").await.status(), 400);
    let body: Value = login(&harness, &username, &password)
        .await
        .json()
        .await
        .unwrap();
    let token = body["token"].as_str().unwrap().to_owned();
    assert_eq!(token.split('.').count(), 3);
    let url = format!("{}/v1.0/conversations", harness.sandbox.voipbin_base_url());
    let bearer = harness
        .http
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), 200);
    let query = format!("{url}?token={token}");
    assert_eq!(harness.http.get(&query).send().await.unwrap().status(), 200);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let expired = harness
        .http
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), 401);
    let body: Value = expired.json().await.unwrap();
    assert_eq!(body["error"]["reason"], "INVALID_CREDENTIALS");
    assert!(body["error"]["request_id"].is_string());
}

#[tokio::test]
async fn access_key_is_required_and_checked() {
    let harness = Harness::default().await;
    let base = harness.sandbox.voipbin_base_url();
    let none = harness
        .http
        .get(format!("{base}/v1.0/conversations"))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 401);
    let body: Value = none.json().await.unwrap();
    assert_eq!(body["error"]["reason"], "AUTHENTICATION_REQUIRED");
    let wrong = harness
        .http
        .get(format!("{base}/v1.0/conversations?accesskey=nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    get_json(&harness, "conversations").await;
}

#[tokio::test]
async fn conversations_page_to_the_end_without_gaps() {
    let harness = Harness::start(SandboxConfig {
        voipbin_conversations: 12,
        ..SandboxConfig::default()
    })
    .await;
    let expected: Vec<String> = harness
        .sandbox
        .voipbin_conversations()
        .into_iter()
        .map(|c| c.id)
        .collect();
    // 12 items in pages of 5: a short page ends.
    let (items, pages) = collect(&harness, "conversations", 5).await;
    assert_eq!(ids(&items), expected);
    assert_eq!(pages, 3);
    // 12 in pages of 4: the empty page after three full ones ends.
    let (items, pages) = collect(&harness, "conversations", 4).await;
    assert_eq!(ids(&items), expected);
    assert_eq!(pages, 4);
    let unique: HashSet<_> = expected.iter().collect();
    assert_eq!(unique.len(), 12);
    let all = get_json(&harness, "conversations?page_size=1000").await;
    assert_eq!(all["result"].as_array().unwrap().len(), 12);
}

#[tokio::test]
async fn both_shapes_and_channels_are_present() {
    let harness = Harness::default().await;
    let (items, _) = collect(&harness, "conversations", 100).await;
    let legacy = items.iter().filter(|c| c.get("participants").is_some());
    for conversation in legacy.clone() {
        let created = conversation["tm_create"].as_str().unwrap();
        assert!(created.contains(' ') && !created.contains('T'), "{created}");
        assert_eq!(conversation["tm_delete"], "9999-01-01 00:00:00.000000");
    }
    assert!(legacy.count() > 0);
    let current: Vec<&Value> = items.iter().filter(|c| c.get("peer").is_some()).collect();
    assert!(!current.is_empty());
    assert!(current
        .iter()
        .all(|c| c["tm_create"].as_str().unwrap().contains('T')));
    let kinds: HashSet<String> = harness
        .sandbox
        .voipbin_conversations()
        .into_iter()
        .map(|c| c.channel)
        .collect();
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    let first = &items[0]["id"].as_str().unwrap().to_owned();
    let (messages, _) = collect(&harness, &format!("conversations/{first}/messages"), 4).await;
    let stored = harness.sandbox.voipbin_messages(first);
    assert_eq!(messages.len(), stored.len());
    let mut newest_first: Vec<String> = stored.into_iter().map(|m| m.id).collect();
    newest_first.reverse();
    assert_eq!(ids(&messages), newest_first);
}

#[tokio::test]
async fn assign_unassign_send_and_setup() {
    let harness = Harness::default().await;
    let id = harness.sandbox.voipbin_conversations()[0].id.clone();
    let agent = "5e4a0680-804e-11ec-8477-2fea5968d85b";
    let path = format!("conversations/{id}");
    let assigned: Value = harness
        .http
        .put(key_url(&harness, &path))
        .json(&json!({ "owner_id": agent }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(assigned["id"], id.as_str());
    assert_eq!(
        harness.sandbox.voipbin_conversations()[0]
            .owner_id
            .as_deref(),
        Some(agent)
    );
    let unassign = key_url(&harness, &format!("{path}/unassign"));
    let response = harness.http.post(unassign).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(harness.sandbox.voipbin_conversations()[0].owner_id, None);

    let send = key_url(&harness, &format!("{path}/messages"));
    let body = json!({ "text": "Здравствуйте! 👋", "medias": [{"type": "image"}] });
    let sent: Value = harness
        .http
        .post(send)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sent["text"], "Здравствуйте! 👋");
    assert_eq!(sent["medias"].as_array().map_or(0, Vec::len), 0);
    let recorded = harness.sandbox.voipbin_sent_messages();
    assert_eq!(recorded.len(), 1);
    assert!(!recorded[0].incoming);
    assert_eq!(
        harness.sandbox.voipbin_messages(&id).last(),
        recorded.first()
    );

    let setup = key_url(&harness, "conversations/setup");
    let response = harness
        .http
        .post(setup)
        .json(&json!({ "reference_type": "line" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let missing = key_url(
        &harness,
        "conversations/00000000-0000-4000-8000-000000000000",
    );
    let response = harness.http.get(missing).send().await.unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["reason"], "CONVERSATION_NOT_FOUND");
}

#[tokio::test]
async fn agent_role_and_rate_limit() {
    let harness = Harness::default().await;
    harness.sandbox.set_voipbin_agent_role(true);
    let response = harness
        .http
        .get(key_url(&harness, "conversations"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["status"], "PERMISSION_DENIED");
    let admin = harness.admin_url("/_sandbox/voipbin/agent_role");
    let off = harness.http.post(admin).json(&json!({"agent": false}));
    assert_eq!(off.send().await.unwrap().status(), 200);

    harness.sandbox.set_rate_limit(Some(1));
    get_json(&harness, "conversations").await;
    let limited = harness
        .http
        .get(key_url(&harness, "conversations"))
        .send()
        .await
        .unwrap();
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().get("retry-after").is_some());
}

#[tokio::test]
async fn the_client_crate_reads_everything() {
    let harness = Harness::default().await;
    let (username, password) = harness.sandbox.voipbin_login();
    for credentials in [
        Credentials::AccessKey(Secret::new(harness.sandbox.voipbin_access_key())),
        Credentials::Password {
            username: username.clone(),
            password: Secret::new(password.clone()),
        },
    ] {
        let client = VoipbinClient::builder(credentials)
            .root_url(harness.sandbox.voipbin_base_url())
            .build()
            .unwrap();
        let mut seen = Vec::new();
        let mut pages = std::pin::pin!(client.conversation_pages(3));
        while let Some(page) = pages.next().await {
            let page = page.unwrap();
            assert_eq!(page.skipped, 0);
            seen.extend(page.items);
        }
        let expected = harness.sandbox.voipbin_conversations();
        assert_eq!(seen.len(), expected.len());
        for (read, stored) in seen.iter().zip(&expected) {
            assert_eq!(read.id, stored.id);
            assert_eq!(read.created_at(), Some(stored.created_at));
            assert_eq!(read.channel().as_str(), stored.channel);
        }
        let id = &expected[1].id;
        let messages: Vec<_> = client
            .message_pages(id, 4)
            .map(|page| page.unwrap().items)
            .concat()
            .await;
        let stored = harness.sandbox.voipbin_messages(id);
        assert_eq!(messages.len(), stored.len());
        for (read, stored) in messages.iter().rev().zip(&stored) {
            let direction = if stored.incoming {
                Direction::Incoming
            } else {
                Direction::Outgoing
            };
            assert_eq!(read.direction(), direction, "{}", read.id);
            assert_eq!(read.text(), stored.text);
        }
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn subscribed_socket(sandbox: &Sandbox) -> Socket {
    let url = format!(
        "{}/v1.0/ws?accesskey={}",
        sandbox.voipbin_base_url().replace("http://", "ws://"),
        sandbox.voipbin_access_key()
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let subscribe = json!({
        "type": "subscribe",
        "topics": [format!("customer_id:{}:conversation", sandbox.voipbin_customer_id())],
    });
    socket
        .send(WsMessage::Text(subscribe.to_string().into()))
        .await
        .unwrap();
    // Subscribing has no reply; give the server a moment to register the topic.
    tokio::time::sleep(Duration::from_millis(100)).await;
    socket
}

async fn next_frame(socket: &mut Socket) -> Option<Value> {
    let frame = tokio::time::timeout(Duration::from_secs(3), socket.next())
        .await
        .ok()??;
    match frame.ok()? {
        WsMessage::Text(text) => serde_json::from_str(text.as_str()).ok(),
        _ => None,
    }
}

#[tokio::test]
async fn websocket_pushes_messages_in_both_shapes_with_a_duplicate() {
    let harness = Harness::default().await;
    let sandbox = &harness.sandbox;
    let conversation = sandbox.voipbin_conversations()[2].id.clone();
    let mut socket = subscribed_socket(sandbox).await;
    let mut pushed = Vec::new();
    for text in ["مرحبا", "Hello there", "שלום"] {
        pushed.push(sandbox.push_voipbin_incoming(&conversation, text));
    }
    let mut message_frames = Vec::new();
    let mut conversation_frames = 0;
    while let Some(frame) = next_frame(&mut socket).await {
        let event = parley_voipbin::events::parse_frame_value(frame.clone()).unwrap();
        match event {
            parley_voipbin::events::Event::Message { message, .. } => {
                message_frames.push((frame.get("data").is_some(), *message))
            }
            parley_voipbin::events::Event::Conversation { .. } => conversation_frames += 1,
            other => panic!("unexpected {other:?}"),
        }
        if message_frames.len() == 4 && conversation_frames == 3 {
            break;
        }
    }
    assert_eq!(message_frames.len(), 4, "three messages and one duplicate");
    assert_eq!(conversation_frames, 3);
    assert!(message_frames.iter().any(|(wrapped, _)| *wrapped));
    assert!(message_frames.iter().any(|(wrapped, _)| !*wrapped));
    let received: Vec<&str> = message_frames.iter().map(|(_, m)| m.id.as_str()).collect();
    assert_eq!(received, [&pushed[0], &pushed[1], &pushed[2], &pushed[2]]);
    assert_eq!(message_frames[2].1, message_frames[3].1);
    assert_eq!(message_frames[0].1.direction(), Direction::Incoming);
    assert_eq!(
        sandbox.voipbin_messages(&conversation).last().unwrap().text,
        "שלום"
    );
}

#[tokio::test]
async fn cutting_websockets_closes_them_and_reconnecting_works() {
    let harness = Harness::default().await;
    let sandbox = &harness.sandbox;
    let conversation = sandbox.voipbin_conversations()[0].id.clone();
    let mut socket = subscribed_socket(sandbox).await;
    let cut = harness.admin_url("/_sandbox/voipbin/cut_websockets");
    assert_eq!(harness.http.post(cut).send().await.unwrap().status(), 200);
    let ended = tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            match socket.next().await {
                None | Some(Err(_)) | Some(Ok(WsMessage::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the socket was not cut");
    // Sent while nobody listened: a REST catch-up finds it, newest first.
    let missed = sandbox.push_voipbin_incoming(&conversation, "while cut");
    let page = get_json(
        &harness,
        &format!("conversations/{conversation}/messages?page_size=1"),
    )
    .await;
    assert_eq!(page["result"][0]["id"], missed.as_str());
    let mut again = subscribed_socket(sandbox).await;
    let id = sandbox.push_voipbin_incoming(&conversation, "after the cut");
    let frame = next_frame(&mut again).await.unwrap();
    let data = frame.get("data").unwrap_or(&frame);
    assert_eq!(data["id"], id.as_str());
    sandbox.cut_websockets();
}

#[tokio::test]
async fn admin_incoming_and_snapshots() {
    let harness = Harness::default().await;
    let conversation = harness.sandbox.voipbin_conversations()[1].id.clone();
    let body = json!({ "conversation_id": conversation, "text": "hi" });
    let url = harness.admin_url("/_sandbox/voipbin/incoming");
    let answer: Value = harness
        .http
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = answer["message_id"].as_str().unwrap();
    let messages: Value = harness
        .http
        .get(harness.admin_url(&format!(
            "/_sandbox/voipbin/conversations/{conversation}/messages"
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(messages.as_array().unwrap().last().unwrap()["id"], id);
    assert_eq!(harness.sandbox.push_voipbin_incoming("nope", "x"), "");
}

#[tokio::test]
async fn faults_apply_and_routes_are_counted() {
    let harness = Harness::default().await;
    harness
        .sandbox
        .set_faults(Some(parley_sandbox::FaultConfig {
            rate: 1.0,
            kinds: vec![parley_sandbox::FaultKind::Status500],
        }));
    let response = harness
        .http
        .get(key_url(&harness, "conversations"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["status"], "INTERNAL");
    harness.sandbox.set_faults(None);
    get_json(&harness, "conversations").await;
    let stats = harness.sandbox.stats();
    assert_eq!(stats.per_route.get("GET /v1.0/conversations"), Some(&2));
    assert_eq!(stats.faults_injected, 1);
}

#[tokio::test]
async fn some_current_objects_leave_empty_fields_out() {
    let harness = Harness::start(SandboxConfig {
        voipbin_conversations: 30,
        ..SandboxConfig::default()
    })
    .await;
    let (items, _) = collect(&harness, "conversations", 100).await;
    let current: Vec<&Value> = items.iter().filter(|c| c.get("peer").is_some()).collect();
    assert!(current.iter().any(|c| c.get("tm_delete").is_none()));
    assert!(current.iter().any(|c| c["tm_delete"].is_null()));
    let legacy = items.iter().filter(|c| c.get("participants").is_some());
    assert!(legacy.count() >= 10);
}

#[tokio::test]
async fn websocket_needs_credentials_and_takes_a_token() {
    let harness = Harness::default().await;
    let root = harness
        .sandbox
        .voipbin_base_url()
        .replace("http://", "ws://");
    let refused = tokio_tungstenite::connect_async(format!("{root}/v1.0/ws")).await;
    assert!(refused.is_err());
    let (username, password) = harness.sandbox.voipbin_login();
    let body: Value = login(&harness, &username, &password)
        .await
        .json()
        .await
        .unwrap();
    let token = body["token"].as_str().unwrap();
    let url = format!("{root}/v1.0/ws?token={token}");
    assert!(tokio_tungstenite::connect_async(url).await.is_ok());
}

/// The client crate's own event socket: the customer lookup, both credential kinds (the login token
/// renewed once the server expired it), both frame shapes with the duplicate dropped, and a refused
/// upgrade while the WebSocket is down.
#[tokio::test]
async fn the_client_event_socket_reads_both_shapes_and_renews_its_login() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let (username, password) = sandbox.voipbin_login();
    let root = sandbox.voipbin_base_url();
    let by_key = VoipbinClient::builder(Credentials::access_key(sandbox.voipbin_access_key()))
        .root_url(&root)
        .build()
        .unwrap();
    let by_login = VoipbinClient::builder(Credentials::password(username, password))
        .root_url(&root)
        .build()
        .unwrap();
    let customer = by_key.customer().await.unwrap();
    assert_eq!(customer.id, sandbox.voipbin_customer_id());
    assert_eq!(by_login.customer().await.unwrap().id, customer.id);
    sandbox.expire_voipbin_tokens();
    let topics = vec![format!("customer_id:{}:conversation", customer.id)];
    let logins = sandbox.voipbin_logins();
    let mut sockets = vec![
        by_key.connect_events(&topics).await.unwrap(),
        by_login.connect_events(&topics).await.unwrap(),
    ];
    assert_eq!(
        sandbox.voipbin_logins(),
        logins + 1,
        "the expired token was renewed once"
    );

    // Subscribing has no reply; give the server a moment to register the topic.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let conversation = sandbox.voipbin_conversations()[0].id.clone();
    let pushed: Vec<String> = (0..3)
        .map(|n| sandbox.push_voipbin_incoming(&conversation, &format!("live {n}")))
        .collect();
    for socket in &mut sockets {
        let mut dedup = parley_voipbin::events::Deduplicator::default();
        let mut seen = Vec::new();
        let mut duplicates = 0;
        while seen.len() < pushed.len() {
            let event = tokio::time::timeout(Duration::from_secs(5), socket.next_event())
                .await
                .expect("an event in time")
                .expect("the socket stays open")
                .expect("a readable event");
            if !dedup.is_new(&event) {
                duplicates += 1;
                continue;
            }
            if let parley_voipbin::events::Event::Message { message, .. } = event {
                assert_eq!(message.direction(), Direction::Incoming);
                seen.push(message.id.clone());
            }
        }
        assert_eq!(seen, pushed, "each pushed message once, in order");
        assert!(duplicates <= 1, "{duplicates} duplicates");
    }

    sandbox.set_voipbin_websocket_down(true);
    for socket in &mut sockets {
        // Events already queued may still come; then the socket ends.
        let ended = tokio::time::timeout(Duration::from_secs(5), async {
            while let Some(Ok(_)) = socket.next_event().await {}
        })
        .await;
        assert!(ended.is_ok(), "the cut was not noticed");
    }
    let refused = by_key.connect_events(&topics).await.unwrap_err();
    assert_eq!(refused.status(), Some(503), "{refused}");
    assert!(!refused.to_string().contains(&sandbox.voipbin_access_key()));
    sandbox.set_voipbin_websocket_down(false);
    assert!(by_key.connect_events(&topics).await.is_ok());
}

#[tokio::test]
async fn agents_page_newest_first_with_the_documented_fields() {
    let harness = Harness::default().await;
    let agents = harness.sandbox.voipbin_agents();
    assert_eq!(agents.len(), 3);
    let current: Vec<_> = agents.iter().filter(|a| a.current).collect();
    assert_eq!(current.len(), 1, "the login user is one of the agents");
    assert_eq!(current[0].username, harness.sandbox.voipbin_login().0);
    assert_eq!(current[0].permission, 32, "an admin");
    let names: HashSet<&str> = agents.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names.len(), 3, "{agents:?}");
    // Conversations are assigned to these agents (and only these).
    let agent_ids: HashSet<&str> = agents.iter().map(|a| a.id.as_str()).collect();
    let owners: Vec<String> = harness
        .sandbox
        .voipbin_conversations()
        .into_iter()
        .filter_map(|c| c.owner_id)
        .collect();
    assert!(!owners.is_empty());
    assert!(
        owners.iter().all(|o| agent_ids.contains(o.as_str())),
        "{owners:?}"
    );

    let page = get_json(&harness, "agents").await;
    let listed = page["result"].as_array().unwrap();
    assert_eq!(listed.len(), 3);
    let keys: Vec<&str> = listed[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for key in [
        "id",
        "customer_id",
        "username",
        "name",
        "detail",
        "ring_method",
        "status",
        "permission",
        "tag_ids",
        "addresses",
        "tm_create",
        "tm_update",
        "tm_delete",
    ] {
        assert!(keys.contains(&key), "{key} in {keys:?}");
    }
    for (item, agent) in listed.iter().zip(&agents) {
        assert_eq!(item["id"], agent.id.as_str());
        assert_eq!(item["name"], agent.name.as_str());
        assert_eq!(item["username"], agent.username.as_str());
        assert_eq!(item["status"], agent.status.as_str());
        assert_eq!(item["permission"], agent.permission);
        assert_eq!(item["customer_id"], harness.sandbox.voipbin_customer_id());
        assert_eq!(item["ring_method"], "ringall");
        assert_eq!(item["tm_delete"], "9999-01-01 00:00:00.000000");
        assert_eq!(item["tag_ids"], json!([]));
        assert_eq!(item["addresses"], json!([]));
    }
    let (paged, pages) = collect(&harness, "agents", 2).await;
    assert_eq!(ids(&paged), ids(listed));
    assert_eq!(pages, 2);
    let (one_by_one, _) = collect(&harness, "agents", 1).await;
    assert_eq!(ids(&one_by_one), ids(listed));
    let response = harness
        .http
        .get(key_url(&harness, "agents?page_size=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);

    // The client crate reads them the same.
    let client = VoipbinClient::builder(Credentials::AccessKey(Secret::new(
        harness.sandbox.voipbin_access_key(),
    )))
    .root_url(harness.sandbox.voipbin_base_url())
    .build()
    .unwrap();
    let read = client.agents_page(100, None).await.unwrap().items;
    let read: Vec<(String, Option<String>)> = read.into_iter().map(|a| (a.id, a.name)).collect();
    let expected: Vec<(String, Option<String>)> = agents
        .iter()
        .map(|a| (a.id.clone(), Some(a.name.clone())))
        .collect();
    assert_eq!(read, expected);

    // An agent without admin or manager permission may not list them.
    harness.sandbox.set_voipbin_agent_role(true);
    let response = harness
        .http
        .get(key_url(&harness, "agents"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["reason"], "PERMISSION_DENIED");
    let me = harness.sandbox.voipbin_agents();
    assert_eq!(me.iter().find(|a| a.current).unwrap().permission, 16);
    let admin: Value = harness
        .http
        .get(harness.admin_url("/_sandbox/voipbin/agents"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(admin.as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn the_legacy_setup_creates_a_line_conversation_when_switched_on() {
    let harness = Harness::start(SandboxConfig {
        voipbin_legacy_setup: true,
        ..SandboxConfig::default()
    })
    .await;
    let before = harness.sandbox.voipbin_conversations().len();
    let setup = key_url(&harness, "conversations/setup");
    let response = harness
        .http
        .post(&setup)
        .json(&json!({ "reference_type": "line" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["reference_type"], "line");
    let reference = created["reference_id"].as_str().unwrap();
    assert!(
        reference.starts_with('U') && reference.len() == 33,
        "{reference}"
    );
    let participants = created["participants"].as_array().unwrap();
    assert_eq!(participants.len(), 2);
    assert_eq!(participants[1]["target"], reference);
    // The current fields beside the legacy ones.
    assert_eq!(created["type"], "line");
    assert_eq!(created["dialog_id"], reference);
    assert_eq!(
        created["customer_id"],
        harness.sandbox.voipbin_customer_id()
    );
    assert_eq!(created["peer"]["target"], reference);
    assert!(created["self"]["target"].is_string());
    assert_eq!(created["tm_delete"], "9999-01-01 00:00:00.000000");

    let conversations = harness.sandbox.voipbin_conversations();
    assert_eq!(conversations.len(), before + 1);
    assert_eq!(conversations[0].id, created["id"].as_str().unwrap());
    assert_eq!(conversations[0].channel, "line");
    let listed = get_json(&harness, "conversations?page_size=1").await;
    assert_eq!(listed["result"][0], created);
    let detail = get_json(
        &harness,
        &format!("conversations/{}", created["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(detail, created);

    // The client crate's setup call gets it back.
    let client = VoipbinClient::builder(Credentials::AccessKey(Secret::new(
        harness.sandbox.voipbin_access_key(),
    )))
    .root_url(harness.sandbox.voipbin_base_url())
    .build()
    .unwrap();
    let again = client.setup_conversation("line").await.unwrap().unwrap();
    assert_ne!(again.id, created["id"].as_str().unwrap());
    assert_eq!(again.channel().as_str(), "line");

    for body in [
        json!({ "reference_type": "telegram" }),
        json!({ "reference_type": "" }),
        json!({}),
    ] {
        let response = harness.http.post(&setup).json(&body).send().await.unwrap();
        assert_eq!(response.status(), 400, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["reason"], "INVALID_ARGUMENT");
    }
    let response = harness.http.post(&setup).body("{").send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(harness.sandbox.voipbin_conversations().len(), before + 2);

    harness.sandbox.set_voipbin_agent_role(true);
    let response = harness
        .http
        .post(&setup)
        .json(&json!({ "reference_type": "line" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}
