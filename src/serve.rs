//! The HTTP serving loop: accepts connections and runs hyper's HTTP/1 on each.
//!
//! Why not `axum::serve`: it has no header read timeout and no per-client limit, so a client that
//! sent half a request, or nothing, held its connection and a file descriptor forever (issue 11:
//! 2,000 such connections took 2,000 of the process's 20,000 fds). Here:
//!
//! - a request's line and headers must arrive within `header_read_timeout`, which also bounds how
//!   long an idle keep-alive connection stays open (hyper restarts the timer between requests);
//! - one client IP (an IPv6 client: its /64) may hold at most `max_per_ip` open connections. One
//!   over the cap is answered a bare 503 if the socket takes it at once, and closed. The count
//!   follows the socket, not the request: an upgraded WebSocket counts until it closes;
//! - accept errors back off as `axum::serve` did: the connection-level ones are skipped, others
//!   (EMFILE, out of descriptors) log and wait a second, so the loop survives running out;
//! - every connection task is owned by a `TaskTracker`. At shutdown the loop stops accepting,
//!   asks each connection to finish (an in-flight request is answered, idle ones close), waits up
//!   to `drain`, and then closes whatever is left.
//!
//! Handlers still get `ConnectInfo<SocketAddr>` (the auth rate limiter keys on it). HTTP/1 only,
//! as before: axum's server had no HTTP/2 in this build. hyper-util's `auto::Builder` is not used
//! because with upgrades it first reads the HTTP/2 preface, before hyper's header timer starts: a
//! client that sends nothing would wait there forever. TCP_NODELAY stays off, as axum left it.

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, LazyLock, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// The limits `serve` enforces.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// How long a request's line and headers may take to arrive; `None`: no limit.
    pub header_read_timeout: Option<Duration>,
    /// Open connections per client IP; 0: no cap.
    pub max_per_ip: usize,
    /// At shutdown, how long open connections may take to finish before they are closed.
    pub drain: Duration,
}

/// What a refused connection is told, if its socket takes it without waiting.
static REFUSED: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let body = r#"{"error":{"code":"too_many_connections","message":"too many connections from your address"}}"#;
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 5\r\nconnection: close\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
});

/// Serves `app` on `listener` until `shutdown` is cancelled, then drains the connections.
pub async fn serve(listener: TcpListener, app: Router, limits: Limits, shutdown: CancellationToken) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    let per_ip = Arc::new(PerIp { cap: limits.max_per_ip, open: Mutex::new(HashMap::new()) });
    let connections = TaskTracker::new();
    // Cancelled once the drain deadline passes: the connections still open are dropped.
    let force = CancellationToken::new();

    loop {
        let (stream, remote) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    back_off(e, &shutdown).await;
                    continue;
                }
            },
        };
        let slot = match per_ip.admit(remote.ip()) {
            Ok(slot) => slot,
            Err(()) => {
                refuse(stream, remote);
                continue;
            }
        };
        let io = TokioIo::new(Counted { stream, _slot: slot });
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(remote));
            app.clone().oneshot(req)
        });
        let conn = http.serve_connection(io, service).with_upgrades();
        let (stop, force) = (shutdown.clone(), force.clone());
        connections.spawn(async move {
            let mut conn = std::pin::pin!(conn);
            let result = tokio::select! {
                result = conn.as_mut() => result,
                _ = stop.cancelled() => {
                    // Answers the request in flight, if any, then closes; an idle one closes now.
                    conn.as_mut().graceful_shutdown();
                    tokio::select! {
                        result = conn.as_mut() => result,
                        _ = force.cancelled() => return,
                    }
                }
            };
            if let Err(e) = result {
                if e.is_timeout() {
                    metrics::counter!("switchboard_header_read_timeouts_total").increment(1);
                }
                tracing::debug!(%remote, "connection ended: {e}");
            }
        });
    }

    drop(listener);
    connections.close();
    if tokio::time::timeout(limits.drain, connections.wait()).await.is_err() {
        tracing::warn!(open = connections.len(), "shutdown: connections still busy after {:?}; closing them", limits.drain);
        force.cancel();
        connections.wait().await;
    }
}

/// Accept errors, as `axum::serve` handles them: a connection that failed before we took it is
/// skipped; anything else (EMFILE, ENFILE, ENOMEM) is logged and waited out for a second, since
/// retrying at once would spin while the descriptors are gone.
async fn back_off(e: io::Error, shutdown: &CancellationToken) {
    if matches!(e.kind(), io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset) {
        return;
    }
    tracing::error!("accept error: {e}");
    tokio::select! {
        _ = shutdown.cancelled() => {}
        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
    }
}

/// Closes a connection over its IP's cap, with a 503 if the socket takes it without waiting.
fn refuse(stream: TcpStream, remote: SocketAddr) {
    metrics::counter!("switchboard_connections_refused_total").increment(1);
    tracing::debug!(%remote, "connection refused: too many from this address");
    // Read what already arrived, so that closing sends a FIN rather than a reset that could
    // discard the 503 before the client reads it.
    let mut sink = [0u8; 4096];
    let _ = stream.try_read(&mut sink);
    let _ = stream.try_write(&REFUSED);
}

/// Open connections per client.
struct PerIp {
    cap: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

impl PerIp {
    /// A slot for a new connection from `ip` (`None` when there is no cap), or `Err` when the
    /// client already holds `cap`.
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Option<Slot>, ()> {
        if self.cap == 0 {
            return Ok(None);
        }
        let key = client_key(ip);
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(key).or_insert(0);
        if *count >= self.cap {
            return Err(());
        }
        *count += 1;
        Ok(Some(Slot { table: self.clone(), key }))
    }
}

/// What counts as one client: an IPv4 address (IPv4-mapped IPv6 included), or an IPv6 /64,
/// which is what one host or home network is given.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & !u128::from(u64::MAX))),
        v4 => v4,
    }
}

/// One open connection counted against its client; given back when dropped.
struct Slot {
    table: Arc<PerIp>,
    key: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.table.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// The accepted socket with its slot: the slot lives exactly as long as the socket, through an
/// upgrade to a WebSocket too (hyper hands this same object to the upgraded connection).
struct Counted {
    stream: TcpStream,
    _slot: Option<Slot>,
}

impl AsyncRead for Counted {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_an_ipv4_address_or_an_ipv6_slash_64() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(client_key(ip("203.0.113.7")), ip("203.0.113.7"));
        assert_eq!(client_key(ip("::ffff:203.0.113.7")), ip("203.0.113.7"));
        assert_eq!(client_key(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")), ip("2001:db8:1:2::"));
        assert_ne!(client_key(ip("2001:db8:1:2::1")), client_key(ip("2001:db8:1:3::1")));
    }

    #[test]
    fn slots_are_counted_per_client_and_given_back_when_dropped() {
        let table = Arc::new(PerIp { cap: 2, open: Mutex::new(HashMap::new()) });
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let first = table.admit(a).unwrap();
        let _second = table.admit(a).unwrap();
        assert!(table.admit(a).is_err());
        assert!(table.admit(b).is_ok());
        drop(first);
        let _third = table.admit(a).unwrap();
        assert!(table.admit(a).is_err());
        let unlimited = Arc::new(PerIp { cap: 0, open: Mutex::new(HashMap::new()) });
        assert!((0..1000).all(|_| matches!(unlimited.admit(a), Ok(None))));
    }
}
