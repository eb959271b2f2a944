//! Helpers for the window test of the agent's daily work (`tests/tests/window_daily.rs`): the X
//! clipboard filled with `xclip` (an image, or files as a `text/uri-list` the way a file manager
//! copies them), and a tiny HTTP file server on 127.0.0.1 whose links the composer attaches.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The X clipboard (`CLIPBOARD` selection) owned by one `xclip` process until dropped.
pub struct Clipboard {
    child: Child,
}

impl Clipboard {
    /// Offers `bytes` on the clipboard as MIME type `target` (`image/png`, `text/uri-list`, ...),
    /// and waits until the X server knows the new owner.
    pub fn offer(target: &str, bytes: &[u8]) -> Clipboard {
        let mut child = Command::new("xclip")
            .args(["-quiet", "-selection", "clipboard", "-t", target, "-i"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run xclip (apt-get install xclip): {e}"));
        {
            let mut stdin = child.stdin.take().expect("xclip's stdin");
            stdin.write_all(bytes).expect("write to xclip");
        }
        let clipboard = Clipboard { child };
        clipboard.wait_until_offered(target);
        clipboard
    }

    /// Offers the files as a `text/uri-list` of `file://` URIs (as a file manager's Copy does).
    pub fn offer_files(files: &[&Path]) -> Clipboard {
        let list: String = files
            .iter()
            .map(|file| format!("{}\r\n", file_uri(file)))
            .collect();
        Clipboard::offer("text/uri-list", list.as_bytes())
    }

    fn wait_until_offered(&self, target: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let targets = Command::new("xclip")
                .args(["-selection", "clipboard", "-t", "TARGETS", "-o"])
                .stderr(Stdio::null())
                .output()
                .map(|output| String::from_utf8_lossy(&output.stdout).into_owned())
                .unwrap_or_default();
            if targets.lines().any(|line| line.trim() == target) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "xclip did not take the clipboard with {target} (targets: {targets:?})"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Clipboard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `file:///…` for an absolute path, each byte outside the unreserved set percent-encoded.
pub fn file_uri(path: &Path) -> String {
    let text = path.to_str().expect("a UTF-8 path");
    let mut uri = String::from("file://");
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~".contains(&byte) {
            uri.push(byte as char);
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    uri
}

/// A tiny HTTP/1.1 server on 127.0.0.1 answering `GET /files/NAME` with fixed bytes (any other path
/// is 404), one connection at a time, until dropped.
pub struct FileServer {
    address: SocketAddr,
    served: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FileServer {
    /// Serves `bytes` as `/files/NAME`.
    pub fn start(name: &str, bytes: Vec<u8>) -> FileServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the file server");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let address = listener.local_addr().expect("the file server's address");
        let served = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let path = format!("/files/{name}");
        let thread = {
            let (served, stop) = (served.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            if answer(stream, &path, &bytes) {
                                served.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(20)),
                    }
                }
            })
        };
        FileServer {
            address,
            served,
            stop,
            thread: Some(thread),
        }
    }

    /// The URL of a file: `http://127.0.0.1:PORT/files/NAME`.
    pub fn url(&self, name: &str) -> String {
        format!("http://{}/files/{name}", self.address)
    }

    /// How many times the file was served.
    pub fn served(&self) -> usize {
        self.served.load(Ordering::Relaxed)
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one request and answers it; true when the file was served.
fn answer(stream: TcpStream, path: &str, bytes: &[u8]) -> bool {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(clone) => clone,
        Err(_) => return false,
    });
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return false;
    }
    // The headers, up to the empty line.
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) if line.trim().is_empty() => break,
            Ok(_) => {}
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let found = method == "GET" && target == path;
    let mut stream = stream;
    let head = if found {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            bytes.len()
        )
    } else {
        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string()
    };
    let written = stream.write_all(head.as_bytes()).is_ok()
        && (!found || stream.write_all(bytes).is_ok())
        && stream.flush().is_ok();
    found && written
}

#[cfg(test)]
mod tests {
    use super::{file_uri, FileServer};
    use std::io::{Read, Write};
    use std::path::Path;

    #[test]
    fn file_uris_encode_spaces_and_non_ascii() {
        assert_eq!(
            file_uri(Path::new("/tmp/a b/отчёт.pdf")),
            "file:///tmp/a%20b/%D0%BE%D1%82%D1%87%D1%91%D1%82.pdf"
        );
    }

    #[test]
    fn the_file_server_serves_its_file_and_nothing_else() {
        let server = FileServer::start("price-list.pdf", b"%PDF-1.4 bytes".to_vec());
        let get = |path: &str| {
            let address = server.url("x").replace("http://", "");
            let address = address.split('/').next().unwrap().to_string();
            let mut stream = std::net::TcpStream::connect(address).unwrap();
            write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            let mut answer = Vec::new();
            stream.read_to_end(&mut answer).unwrap();
            String::from_utf8_lossy(&answer).into_owned()
        };
        let found = get("/files/price-list.pdf");
        assert!(found.starts_with("HTTP/1.1 200"), "{found}");
        assert!(found.ends_with("%PDF-1.4 bytes"), "{found}");
        assert!(get("/other").starts_with("HTTP/1.1 404"));
        assert_eq!(server.served(), 1);
    }
}
