//! The Redis bus: carries committed events to the other nodes over pub/sub. Publishing never
//! waits (an actor queues the frame to a publisher task); a subscriber task hands frames from
//! other nodes to the local hub. When Redis drops, both reconnect with a back-off.

use actors::Core;
use actors::ports::{Bus, BusMessage};
use futures_util::StreamExt;
use std::sync::Weak;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const CHANNEL: &str = "switchboard:events";

/// The publishing half, handed to the core.
pub struct RedisBus {
    tx: mpsc::Sender<BusMessage>,
}

impl Bus for RedisBus {
    fn publish(&self, message: BusMessage) {
        // A full queue means Redis is far behind: dropping is better than blocking an actor;
        // the other nodes' clients catch up by seq.
        if self.tx.try_send(message).is_err() {
            tracing::warn!("redis bus queue full: a frame was not published");
        }
    }
}

impl RedisBus {
    /// Connects (failing fast if Redis is unreachable at start) and spawns the publisher.
    pub async fn connect(url: &str, shutdown: CancellationToken) -> Result<(RedisBus, redis::Client), redis::RedisError> {
        let client = redis::Client::open(url)?;
        // Check now, so a wrong REDIS_URL is one clear error at start.
        let mut conn = client.get_multiplexed_async_connection().await?;
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        let (tx, mut rx) = mpsc::channel::<BusMessage>(65_536);
        let pub_client = client.clone();
        tokio::spawn(async move {
            let mut conn = None;
            loop {
                // After shutdown, keep publishing a moment: the goodbyes (Bye, members leaving)
                // are queued just then.
                let frame = tokio::select! {
                    _ = async { shutdown.cancelled().await; tokio::time::sleep(Duration::from_secs(2)).await } => break,
                    f = rx.recv() => match f { Some(f) => f, None => break },
                };
                let payload = match serde_json::to_string(&frame) {
                    Ok(p) => p,
                    Err(_) => continue,
                };
                for attempt in 0..3 {
                    if conn.is_none() {
                        conn = pub_client.get_multiplexed_async_connection().await.ok();
                    }
                    let Some(c) = conn.as_mut() else {
                        tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
                        continue;
                    };
                    let sent: Result<i64, _> = redis::cmd("PUBLISH").arg(CHANNEL).arg(&payload).query_async(c).await;
                    match sent {
                        Ok(_) => break,
                        Err(e) => {
                            tracing::warn!(error = %e, "redis publish failed");
                            conn = None;
                        }
                    }
                }
            }
        });
        Ok((RedisBus { tx }, client))
    }
}

/// Runs the subscriber: frames from other nodes go to this node's hub.
pub fn spawn_subscriber(client: redis::Client, core: Weak<Core>, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        while !shutdown.is_cancelled() {
            match client.get_async_pubsub().await {
                Ok(mut pubsub) => {
                    if let Err(e) = pubsub.subscribe(CHANNEL).await {
                        tracing::warn!(error = %e, "redis subscribe failed");
                    } else {
                        backoff = Duration::from_millis(100);
                        let mut stream = pubsub.on_message();
                        loop {
                            let msg = tokio::select! {
                                _ = shutdown.cancelled() => return,
                                m = stream.next() => m,
                            };
                            let Some(msg) = msg else { break };
                            let Ok(payload) = msg.get_payload::<String>() else {
                                continue;
                            };
                            let Ok(frame) = serde_json::from_str::<BusMessage>(&payload) else {
                                continue;
                            };
                            match core.upgrade() {
                                Some(core) => core.receive_remote(frame),
                                None => return,
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "redis pubsub connection failed"),
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    });
}

/// Whether Redis answers (for /readyz).
pub async fn ping(client: &redis::Client) -> Result<(), String> {
    let mut conn = client.get_multiplexed_async_connection().await.map_err(|e| e.to_string())?;
    let _: String = redis::cmd("PING").query_async(&mut conn).await.map_err(|e| e.to_string())?;
    Ok(())
}
