//! Slowloris (issue 11, item 2): a client that sends half a request, or nothing, is cut off after
//! the header read timeout, and one client IP cannot hold more than its share of connections.

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

#[sqlx::test]
async fn one_client_ip_cannot_hold_more_than_its_cap_of_connections(_p: PgPoolOptions, opts: PgConnectOptions) {
    // A long header timeout, so that only the cap closes anything here.
    let server = TestServer::start_with(&opts, |c| {
        c.max_connections_per_ip = 5;
        c.header_read_timeout_secs = 60;
    })
    .await;
    // The harness's readiness client has gone: let the server see it go.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut idle = vec![];
    for _ in 0..5 {
        idle.push(TcpStream::connect(server.addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;

    // The 6th from 127.0.0.1 is closed at once (at most with a 503).
    let mut sixth = TcpStream::connect(server.addr).await.unwrap();
    let _ = sixth.write_all(b"GET /healthz HTTP/1.1\r\nHost: switchboard\r\n\r\n").await;
    let sent = closed_by(&mut sixth, Instant::now() + Duration::from_secs(2)).await.expect("the 6th connection was closed");
    assert!(sent.is_empty() || sent.starts_with(b"HTTP/1.1 503"), "{:?}", String::from_utf8_lossy(&sent));

    // Another address is not affected.
    assert_eq!(healthz_from("127.0.0.2", server.addr).await.unwrap(), "HTTP/1.1 200 OK");
    // The idle five are still open: the cap refuses new connections, it does not cut old ones.
    for stream in &mut idle {
        assert!(closed_by(stream, Instant::now() + Duration::from_millis(50)).await.is_none());
    }

    // Once they close, 127.0.0.1 is served again.
    drop(idle);
    let mut last = String::new();
    for _ in 0..20 {
        match healthz_from("127.0.0.1", server.addr).await {
            Ok(line) if line == "HTTP/1.1 200 OK" => break,
            Ok(line) => last = line,
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(healthz_from("127.0.0.1", server.addr).await, Ok("HTTP/1.1 200 OK".to_owned()), "last: {last}");

    // Each refusal is counted.
    let metrics = reqwest::get(format!("{}/metrics", server.base)).await.unwrap().text().await.unwrap();
    let refused = metrics
        .lines()
        .find(|l| l.starts_with("switchboard_connections_refused_total"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok());
    assert!(refused.is_some_and(|n| n >= 1.0), "switchboard_connections_refused_total: {refused:?}");
    server.stop().await;
}

#[sqlx::test]
async fn an_open_websocket_counts_against_the_cap_until_it_closes(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start_with(&opts, |c| c.max_connections_per_ip = 2).await;
    let a = server.admin("Alice").await;
    // The sign-up's keep-alive connection must not count against the two below.
    drop(a.client);
    tokio::time::sleep(Duration::from_millis(300)).await;

    // A WebSocket (its HTTP connection is done once it is upgraded, but the socket is open) and
    // one idle connection fill the cap.
    let ws = Ws::connect(&server, server.client()).await;
    let _idle = TcpStream::connect(server.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut third = TcpStream::connect(server.addr).await.unwrap();
    assert!(closed_by(&mut third, Instant::now() + Duration::from_secs(2)).await.is_some(), "a third connection was served");

    // The WebSocket closes: there is room again.
    ws.close().await;
    let mut ok = false;
    for _ in 0..20 {
        if healthz_from("127.0.0.1", server.addr).await.as_deref() == Ok("HTTP/1.1 200 OK") {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "no room after the WebSocket closed");
    server.stop().await;
}
