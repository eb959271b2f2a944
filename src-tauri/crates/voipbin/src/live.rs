//! The live-event WebSocket (`/v1.0/ws`): connect with the client's credentials, subscribe to
//! topics, and read frames as [`Event`]s. One connection, no reconnect: the caller owns the policy
//! (backoff, catch-up), because only it knows what it missed. A half-open connection (the peer gone
//! without a close, as after a network change) is found by a read-idle deadline: after half of it
//! in silence the client pings, and with nothing at all (not even the pong) by its end the
//! connection counts as lost.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::header::AUTHORIZATION;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message as Frame};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::events::{parse_frame, Event};
use crate::{Error, Secret, VoipbinClient};

/// The customer behind the credentials (`GET /v1.0/customer`), as far as Parley needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Customer {
    /// Customer UUID: the scope of the WebSocket topics.
    pub id: String,
    /// Display name.
    pub name: Option<String>,
    /// Login name or e-mail of the customer.
    pub username: Option<String>,
}

/// How long an event connection may stay silent (no frame of any kind) before it counts as lost,
/// unless [`EventSocket::set_idle_deadline`] says otherwise.
pub const DEFAULT_IDLE_DEADLINE: Duration = Duration::from_secs(60);

/// An open, subscribed event connection.
pub struct EventSocket {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    idle_deadline: Duration,
}

impl std::fmt::Debug for EventSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventSocket").finish_non_exhaustive()
    }
}

impl VoipbinClient {
    /// The customer the credentials belong to (`GET /v1.0/customer`).
    pub async fn customer(&self) -> Result<Customer, Error> {
        let call = crate::transport::Call::new(reqwest::Method::GET, &["customer"]);
        let body = self.transport().send_json(&call).await?;
        let customer: Customer = serde_json::from_value(body)
            .map_err(|e| Error::invalid_response(format!("unexpected customer shape ({e})")))?;
        if customer.id.trim().is_empty() {
            return Err(Error::invalid_response("the customer has no id"));
        }
        Ok(customer)
    }

    /// Opens the WebSocket and subscribes to `topics`. A login token the handshake refuses is
    /// renewed once, as for REST calls.
    pub async fn connect_events(&self, topics: &[String]) -> Result<EventSocket, Error> {
        let mut renewed = false;
        loop {
            let (url, token) = self.transport().websocket_url().await?;
            let secrets = self.transport().secrets_with(token.as_ref());
            match tokio_tungstenite::connect_async(handshake_request(url.as_str(), token.as_ref())?)
                .await
            {
                Ok((socket, _)) => {
                    let mut socket = EventSocket {
                        socket,
                        idle_deadline: DEFAULT_IDLE_DEADLINE,
                    };
                    socket.subscribe(topics).await?;
                    return Ok(socket);
                }
                Err(error) => {
                    let error = handshake_error(error).redacted(&secrets);
                    if let (Error::Unauthorized(_), Some(token), false) = (&error, &token, renewed)
                    {
                        renewed = true;
                        self.transport().token_rejected(token).await;
                        continue;
                    }
                    return Err(error);
                }
            }
        }
    }
}

impl EventSocket {
    async fn subscribe(&mut self, topics: &[String]) -> Result<(), Error> {
        let frame = serde_json::json!({ "type": "subscribe", "topics": topics }).to_string();
        self.socket
            .send(Frame::Text(frame.into()))
            .await
            .map_err(socket_error)
    }

    /// Sets how long the connection may stay silent before [`EventSocket::next_event`] gives it up
    /// (a ping goes out after half of it).
    pub fn set_idle_deadline(&mut self, deadline: Duration) {
        self.idle_deadline = deadline;
    }

    /// The next event; `None` once the server closed the connection. Frames that cannot be read
    /// are logged and skipped (the REST catch-up covers anything they held). A connection silent
    /// for the idle deadline, ping unanswered, is an error (a network error, so worth a reconnect).
    pub async fn next_event(&mut self) -> Option<Result<Event, Error>> {
        loop {
            let frame = match self.next_frame().await? {
                Ok(frame) => frame,
                Err(error) => return Some(Err(error)),
            };
            let text = match frame {
                Frame::Text(text) => text,
                Frame::Binary(bytes) => match String::from_utf8(bytes.to_vec()) {
                    Ok(text) => text.into(),
                    Err(_) => continue,
                },
                Frame::Close(_) => return None,
                Frame::Ping(_) | Frame::Pong(_) | Frame::Frame(_) => continue,
            };
            match parse_frame(text.as_str()) {
                Ok(event) => return Some(Ok(event)),
                Err(error) => tracing::warn!(%error, "unreadable voipbin event frame skipped"),
            }
        }
    }

    /// The next frame of any kind, pinging once after half the idle deadline in silence; an error
    /// once the whole deadline passed with nothing.
    async fn next_frame(&mut self) -> Option<Result<Frame, Error>> {
        let half = self.idle_deadline / 2;
        let mut pinged = false;
        loop {
            match tokio::time::timeout(half, self.socket.next()).await {
                Ok(frame) => return frame.map(|frame| frame.map_err(socket_error)),
                Err(_) if pinged => return Some(Err(idle_error(self.idle_deadline))),
                Err(_) => {
                    if let Err(error) = self.socket.send(Frame::Ping(Default::default())).await {
                        return Some(Err(socket_error(error)));
                    }
                    pinged = true;
                }
            }
        }
    }

    /// Closes the connection politely (best effort).
    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }
}

/// The upgrade request, with the login token (if any) as a sensitive `Authorization` header.
fn handshake_request(url: &str, token: Option<&Secret>) -> Result<Request, Error> {
    let mut request = url
        .into_client_request()
        .map_err(|_| Error::invalid_config("invalid WebSocket address"))?;
    if let Some(token) = token {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
            .map_err(|_| Error::invalid_response("the login token is not a valid header"))?;
        value.set_sensitive(true);
        request.headers_mut().insert(AUTHORIZATION, value);
    }
    Ok(request)
}

/// A failed handshake: an HTTP refusal becomes the matching status error, anything else a network
/// error. Never carries the URL (it holds the credential).
fn handshake_error(error: tungstenite::Error) -> Error {
    match error {
        tungstenite::Error::Http(response) => {
            let body = response.body().clone().unwrap_or_default();
            Error::from_status(response.status().as_u16(), &body, None)
        }
        other => socket_error(other),
    }
}

/// The connection stayed silent past its deadline: taken as lost (half-open).
fn idle_error(deadline: Duration) -> Error {
    Error::Network {
        message: format!(
            "the WebSocket was silent for {} ms, ping unanswered",
            deadline.as_millis()
        ),
        maybe_sent: true,
    }
}

fn socket_error(error: tungstenite::Error) -> Error {
    let message = match &error {
        tungstenite::Error::Url(_) => "invalid WebSocket address".to_string(),
        tungstenite::Error::Io(io) => format!("WebSocket I/O error: {}", io.kind()),
        tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
            "the WebSocket was closed".to_string()
        }
        other => format!("WebSocket error: {other}"),
    };
    Error::Network {
        message,
        maybe_sent: true,
    }
}
