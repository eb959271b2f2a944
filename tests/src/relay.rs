//! A TCP relay with a switchable upstream: an account added through it keeps its base URL while the
//! server behind it is replaced (for "the server now rejects this account's token").

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;

/// Forwards every connection on its own port to the current upstream address.
pub struct Relay {
    address: SocketAddr,
    upstream: Arc<Mutex<SocketAddr>>,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    /// Listens on 127.0.0.1:0 and forwards to `upstream`.
    pub fn start(runtime: &Runtime, upstream: SocketAddr) -> Relay {
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind the relay");
        let address = listener.local_addr().expect("the relay's address");
        let upstream = Arc::new(Mutex::new(upstream));
        let task = runtime.spawn(accept_loop(listener, upstream.clone()));
        Relay {
            address,
            upstream,
            task,
        }
    }

    /// Sends new connections to `upstream` from now on.
    pub fn redirect(&self, upstream: SocketAddr) {
        *self.upstream.lock().unwrap_or_else(|e| e.into_inner()) = upstream;
    }

    /// `base_url` with its host and port replaced by the relay's.
    pub fn base_url_for(&self, base_url: &str) -> String {
        let mut url = url::Url::parse(base_url).expect("a valid base URL");
        url.set_ip_host(self.address.ip()).expect("an IP host");
        url.set_port(Some(self.address.port())).expect("a port");
        url.to_string()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The host:port a base URL points at.
pub fn socket_of(base_url: &str) -> SocketAddr {
    let url = url::Url::parse(base_url).expect("a valid base URL");
    let host = url.host_str().expect("a host");
    let port = url.port_or_known_default().expect("a port");
    format!("{host}:{port}").parse().expect("an IP:port host")
}

async fn accept_loop(listener: TcpListener, upstream: Arc<Mutex<SocketAddr>>) {
    while let Ok((mut inbound, _)) = listener.accept().await {
        let target = *upstream.lock().unwrap_or_else(|e| e.into_inner());
        tokio::spawn(async move {
            if let Ok(mut outbound) = TcpStream::connect(target).await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
    }
}
