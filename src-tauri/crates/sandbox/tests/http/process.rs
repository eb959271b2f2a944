//! The sandbox as other code runs it: from a blocked caller thread, and as the binary.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

use parley_sandbox::{Sandbox, SandboxConfig};

fn blocking_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[tokio::test(flavor = "current_thread")]
async fn it_answers_while_the_callers_only_thread_blocks() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let response = blocking_get(sandbox.addr(), "/_sandbox/stats");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let unknown = blocking_get(sandbox.addr(), "/p1/nothing/here");
    assert!(unknown.starts_with("HTTP/1.1 404"), "{unknown}");
    assert!(unknown.contains("\"not_found\""), "{unknown}");
    sandbox.shutdown().await;
}

#[test]
fn the_binary_prints_its_address_and_token() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_parley-sandbox"))
        .args([
            "--port",
            "0",
            "--seed",
            "5",
            "--conversations",
            "4",
            "--messages",
            "3",
        ])
        .args([
            "--token",
            "t0k",
            "--latency-ms",
            "1",
            "--live-every-secs",
            "60",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let prefix = "parley-sandbox listening on http://127.0.0.1:";
    assert!(line.starts_with(prefix), "{line}");
    assert!(line.trim_end().ends_with("/p1/ (token: t0k)"), "{line}");
}
