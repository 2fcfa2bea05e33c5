//! Slowloris (issue 11, item 2): a client that sends half a request, or nothing, is cut off after
//! the header read timeout.

use crate::support::*;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;

/// Reads until the server closes the connection (EOF or an error) and returns what it sent, or
/// `None` if it was still open when `deadline` passed.
async fn closed_by(stream: &mut TcpStream, deadline: Instant) -> Option<Vec<u8>> {
    let mut got = vec![];
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(got),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// A `GET /healthz` over a fresh connection from `source` (an address on this machine); the
/// response's status line, or why there was none.
async fn healthz_from(source: &str, server: SocketAddr) -> Result<String, String> {
    let socket = TcpSocket::new_v4().map_err(|e| e.to_string())?;
    socket.bind(format!("{source}:0").parse().unwrap()).map_err(|e| format!("bind {source}: {e}"))?;
    let mut stream = socket.connect(server).await.map_err(|e| format!("connect: {e}"))?;
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: switchboard\r\nConnection: close\r\n\r\n").await.map_err(|e| e.to_string())?;
    let mut response = vec![];
    match tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut response)).await {
        Err(_) => return Err("no answer within 5 s".into()),
        Ok(Err(e)) => return Err(format!("read: {e} after {:?}", String::from_utf8_lossy(&response))),
        Ok(Ok(_)) => {}
    }
    let text = String::from_utf8_lossy(&response);
    Ok(text.lines().next().unwrap_or("(nothing)").to_owned())
}

#[sqlx::test]
async fn a_client_that_stalls_before_the_end_of_its_headers_is_cut_off(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start_with(&opts, |c| c.header_read_timeout_secs = 1).await;

    // Half a request line, then nothing; and a connection that never sends a byte.
    let started = Instant::now();
    let mut half = TcpStream::connect(server.addr).await.unwrap();
    half.write_all(b"GET /api/me HT").await.unwrap();
    let mut silent = TcpStream::connect(server.addr).await.unwrap();

    // Meanwhile everyone else is served.
    assert_eq!(healthz_from("127.0.0.1", server.addr).await.unwrap(), "HTTP/1.1 200 OK");

    // The timeout is 1 s: both are closed well within 2.5 s of connecting.
    let deadline = started + Duration::from_millis(2500);
    let from_half = closed_by(&mut half, deadline).await;
    assert!(from_half.is_some(), "the half request was still open after {:?}", started.elapsed());
    let from_silent = closed_by(&mut silent, deadline).await;
    assert!(from_silent.is_some(), "the silent connection was still open after {:?}", started.elapsed());
    // Not before the timeout either.
    assert!(started.elapsed() >= Duration::from_millis(900), "closed after only {:?}", started.elapsed());

    // A request that does arrive in time is answered, however slowly its client types.
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    for part in ["GET /heal", "thz HTTP/1.1\r\n", "Host: switchboard\r\n", "Connection: close\r\n\r\n"] {
        slow.write_all(part.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let answer = closed_by(&mut slow, Instant::now() + Duration::from_secs(5)).await.expect("answered and closed");
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{:?}", String::from_utf8_lossy(&answer));
    server.stop().await;
}
