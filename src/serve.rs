//! The HTTP serving loop: accepts connections and runs hyper's HTTP/1 on each.
//!
//! Why not `axum::serve`: it has no header read timeout, so a client that
//! sent half a request, or nothing, held its connection and a file descriptor forever (issue 11:
//! 2,000 such connections took 2,000 of the process's 20,000 fds). Here:
//!
//! - a request's line and headers must arrive within `header_read_timeout`, which also bounds how
//!   long an idle keep-alive connection stays open (hyper restarts the timer between requests);
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
use std::io;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// The limits `serve` enforces.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// How long a request's line and headers may take to arrive; `None`: no limit.
    pub header_read_timeout: Option<Duration>,
    /// At shutdown, how long open connections may take to finish before they are closed.
    pub drain: Duration,
}

/// Serves `app` on `listener` until `shutdown` is cancelled, then drains the connections.
pub async fn serve(listener: TcpListener, app: Router, limits: Limits, shutdown: CancellationToken) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
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
        let io = TokioIo::new(stream);
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
