//! When the process runs out of file descriptors, the accept loop backs off and recovers instead
//! of failing. This file is its own test binary, so lowering the fd limit touches nothing else.

#[path = "e2e/support/mod.rs"]
mod common;

use common::*;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::time::Duration;

fn open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count() as u64).unwrap_or(64)
}

fn set_soft_limit(n: u64) -> u64 {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        let old = lim.rlim_cur;
        lim.rlim_cur = n.min(lim.rlim_max);
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0);
        old
    }
}

#[sqlx::test]
async fn the_server_recovers_after_running_out_of_descriptors(_p: PgPoolOptions, opts: PgConnectOptions) {
    let server = TestServer::start(&opts).await;
    let admin = server.admin("Ana").await;
    // Warm the pool and the HTTP client so they hold their descriptors already.
    assert_eq!(admin.client.get("/api/me").await.0, 200);

    // Leave room for only a few dozen more descriptors, then use them all up with idle sockets
    // (each costs one here for the client and one for the server's accepted side).
    let old = set_soft_limit(open_fds() + 40);
    let mut hogs = vec![];
    for _ in 0..200 {
        match tokio::net::TcpStream::connect(server.addr).await {
            Ok(s) => hogs.push(s),
            Err(_) => break,
        }
    }
    assert!(hogs.len() < 200, "the limit was reached");
    // Give the accept loop time to hit EMFILE at least once.
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Free them: the server must serve again without a restart.
    drop(hogs);
    set_soft_limit(old);
    let mut ok = false;
    for _ in 0..50 {
        if let Ok(r) = reqwest::get(format!("{}/healthz", server.base)).await
            && r.status() == 200
        {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "the server recovered");
    assert_eq!(admin.client.get("/api/me").await.0, 200);
    server.stop().await;
}
