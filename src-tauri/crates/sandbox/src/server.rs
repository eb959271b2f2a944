//! Our own accept loop around the axum router. Unlike `axum::serve` it gives each request a
//! handle to abort its connection with a TCP reset and no response (the `connection_reset`
//! and `reset_after_processing` faults).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::Router;
use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;
use tower::ServiceExt;

/// Request extension: aborts the connection the request came in on.
#[derive(Debug, Clone)]
pub struct ConnectionKill(Arc<Notify>);

impl ConnectionKill {
    /// Resets the connection; the response being prepared is never sent.
    pub fn trigger(&self) {
        self.0.notify_one();
    }
}

/// Accepts connections until `shutdown` changes, then drops every open connection.
pub async fn serve(listener: TcpListener, router: Router, mut shutdown: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(stream, router.clone(), shutdown.clone()));
                }
                Err(error) => {
                    tracing::debug!(%error, "sandbox accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = shutdown.changed() => break,
        }
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}

async fn serve_connection(stream: TcpStream, router: Router, mut shutdown: watch::Receiver<bool>) {
    let _ = stream.set_nodelay(true);
    let Ok((stream, resetter)) = split_for_reset(stream) else {
        return;
    };
    let kill = ConnectionKill(Arc::new(Notify::new()));
    let kill_for_requests = kill.clone();
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(kill_for_requests.clone());
        router.clone().oneshot(request.map(Body::new))
    });
    let builder = Builder::new(TokioExecutor::new());
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        _ = kill.0.notified() => reset(&resetter),
        _ = shutdown.changed() => {}
    }
}

/// Keeps a second handle on the socket so it can be reset while hyper owns the stream.
fn split_for_reset(stream: TcpStream) -> std::io::Result<(TcpStream, std::net::TcpStream)> {
    let std_stream = stream.into_std()?;
    let resetter = std_stream.try_clone()?;
    Ok((TcpStream::from_std(std_stream)?, resetter))
}

/// With a zero linger time, closing the socket sends RST instead of FIN.
fn reset(socket: &std::net::TcpStream) {
    let _ = socket2::SockRef::from(socket).set_linger(Some(Duration::ZERO));
}
