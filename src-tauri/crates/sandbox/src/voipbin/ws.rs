//! The VoIPbin WebSocket at `/v1.0/ws?token=` (or `?accesskey=`): clients send
//! `{"type":"subscribe","topics":[...]}` and receive every event whose topic starts with one of
//! their topics. [`super::VoipbinState::cut_websockets`] drops every connection at once;
//! [`super::VoipbinState::silence_websockets`] leaves them open but silent (half-open).

use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::rest::VbError;
use super::WsEvent;
use crate::state::Shared;

/// The WebSocket route.
pub fn router() -> Router<Arc<Shared>> {
    Router::new().route("/v1.0/ws", get(upgrade))
}

async fn upgrade(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    socket: WebSocketUpgrade,
) -> Response {
    let voipbin = &shared.voipbin;
    if voipbin
        .websocket_down
        .load(std::sync::atomic::Ordering::SeqCst)
    {
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "the WebSocket is down (sandbox switch)",
        )
            .into_response();
    }
    if let Err(rejection) = voipbin.authenticate(uri.query(), &headers) {
        return VbError::unauthenticated(rejection).into_response();
    }
    let events = voipbin.events.subscribe();
    let signals = Signals {
        cut: voipbin.cut.subscribe(),
        silence: voipbin.silence.subscribe(),
    };
    socket.on_upgrade(move |socket| serve(socket, events, signals))
}

#[derive(Deserialize)]
struct Control {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    topics: Vec<String>,
}

/// The sandbox switches one connection listens to.
struct Signals {
    /// Changes when every connection is to be cut.
    cut: tokio::sync::watch::Receiver<u64>,
    /// Changes when every open connection is to go silent.
    silence: tokio::sync::watch::Receiver<u64>,
}

async fn serve(
    mut socket: WebSocket,
    mut events: tokio::sync::broadcast::Receiver<WsEvent>,
    mut signals: Signals,
) {
    let mut topics: Vec<String> = Vec::new();
    loop {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => apply_control(&mut topics, text.as_str()),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return,
            },
            event = events.recv() => match event {
                Ok(event) => {
                    if !send_event(&mut socket, &topics, event).await {
                        return;
                    }
                }
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            },
            _ = signals.cut.changed() => return,
            _ = signals.silence.changed() => {
                // Half-open: hold the socket without reading (so no pong) or writing until cut.
                let _ = signals.cut.changed().await;
                drop(socket);
                return;
            }
        }
    }
}

/// Subscribe adds topics, unsubscribe removes them; anything else is ignored (no reply frames).
fn apply_control(topics: &mut Vec<String>, text: &str) {
    let Ok(control) = serde_json::from_str::<Control>(text) else {
        return;
    };
    match control.kind.as_str() {
        "subscribe" => {
            for topic in control.topics {
                if !topics.contains(&topic) {
                    topics.push(topic);
                }
            }
        }
        "unsubscribe" => topics.retain(|t| !control.topics.contains(t)),
        _ => {}
    }
}

/// Sends the event's frames when a topic matches; `false` once the socket is gone.
async fn send_event(socket: &mut WebSocket, topics: &[String], event: WsEvent) -> bool {
    if !topics.iter().any(|t| event.topic.starts_with(t.as_str())) {
        return true;
    }
    for frame in event.frames {
        if socket.send(Message::Text(frame.into())).await.is_err() {
            return false;
        }
    }
    true
}
