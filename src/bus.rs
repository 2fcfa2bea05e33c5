//! The Redis bus: carries committed events and presence between nodes over pub/sub.
//!
//! Publishing never waits: the core hands a message to a bounded queue, and a publisher task
//! sends it through a `ConnectionManager`, which reconnects by itself. The subscribing half is
//! a task that reads the pub/sub channel into a bounded queue the cluster consumes; when the
//! subscription drops it subscribes again and says `Reconnected`, since messages may have been
//! missed meanwhile. Both tasks are owned by the server's task tracker.

use actors::ports::{Bus, BusEvent, BusMessage};
use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

const CHANNEL: &str = "switchboard:events";
/// Messages waiting to be published; beyond that Redis is far behind and new ones are dropped
/// (the other nodes' clients catch up by seq).
const PUBLISH_QUEUE: usize = 65_536;
/// Messages from other nodes waiting for the cluster.
const RECEIVE_QUEUE: usize = 65_536;

/// Both halves of the Redis bus.
pub struct RedisBus {
    tx: mpsc::Sender<BusMessage>,
    inbox: Mutex<Option<mpsc::Receiver<BusEvent>>>,
}

impl Bus for RedisBus {
    fn publish(&self, message: BusMessage) {
        if self.tx.try_send(message).is_err() {
            metrics::counter!("switchboard_bus_dropped_total").increment(1);
            tracing::warn!("redis bus queue full: a frame was not published");
        }
    }

    fn subscribe(&self) -> mpsc::Receiver<BusEvent> {
        // The cluster subscribes once; a second subscriber gets a closed stream.
        self.inbox.lock().expect("bus inbox lock").take().unwrap_or_else(|| mpsc::channel(1).1)
    }
}

impl RedisBus {
    /// Connects (failing fast if Redis is unreachable at start) and starts the publisher and the
    /// subscriber on `tasks`; both stop at `shutdown` (the publisher a moment later, so the
    /// goodbyes queued at shutdown still go out).
    pub async fn connect(
        url: &str,
        tasks: &TaskTracker,
        shutdown: CancellationToken,
    ) -> Result<(RedisBus, redis::Client), redis::RedisError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_max_delay(Duration::from_secs(2));
        let mut conn = ConnectionManager::new_with_config(client.clone(), config).await?;
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;

        let (tx, rx) = mpsc::channel::<BusMessage>(PUBLISH_QUEUE);
        tasks.spawn(publisher(conn, rx, shutdown.clone()));
        let (in_tx, in_rx) = mpsc::channel::<BusEvent>(RECEIVE_QUEUE);
        tasks.spawn(subscriber(client.clone(), in_tx, shutdown));
        Ok((RedisBus { tx, inbox: Mutex::new(Some(in_rx)) }, client))
    }
}

/// Publishes queued messages in order. While Redis is away, a frame is tried once and dropped
/// (the nodes resync their sockets when the link is back, so clients catch up by seq); presence
/// and membership messages are retried until Redis answers again, for up to a minute, so a
/// change made during an outage is not lost. The outage is logged once, not per message.
async fn publisher(mut conn: ConnectionManager, mut rx: mpsc::Receiver<BusMessage>, shutdown: CancellationToken) {
    let linger = async {
        shutdown.cancelled().await;
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    tokio::pin!(linger);
    let mut down = false;
    loop {
        let message = tokio::select! {
            _ = &mut linger => break,
            m = rx.recv() => match m { Some(m) => m, None => break },
        };
        let Ok(payload) = serde_json::to_string(&message) else { continue };
        let tries = if matches!(message, BusMessage::Frame { .. }) { 1 } else { 240 };
        for attempt in 0..tries {
            let sent: Result<i64, _> = redis::cmd("PUBLISH").arg(CHANNEL).arg(&payload).query_async(&mut conn).await;
            match sent {
                Ok(_) => {
                    if std::mem::take(&mut down) {
                        tracing::info!("redis is reachable again: publishing");
                    }
                    break;
                }
                Err(e) => {
                    metrics::counter!("switchboard_bus_publish_errors_total").increment(1);
                    if !std::mem::replace(&mut down, true) {
                        tracing::warn!(error = %e, "redis publish failed: frames are dropped (sockets resync later), presence is retried");
                    }
                    if attempt + 1 < tries {
                        tokio::select! {
                            _ = &mut linger => return,
                            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                        }
                    }
                }
            }
        }
    }
}

async fn subscriber(client: redis::Client, tx: mpsc::Sender<BusEvent>, shutdown: CancellationToken) {
    let mut backoff = Duration::from_millis(100);
    let mut first = true;
    while !shutdown.is_cancelled() {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => match pubsub.subscribe(CHANNEL).await {
                Ok(()) => {
                    backoff = Duration::from_millis(100);
                    if !std::mem::take(&mut first) && tx.send(BusEvent::Reconnected).await.is_err() {
                        return;
                    }
                    let mut stream = pubsub.on_message();
                    loop {
                        let msg = tokio::select! {
                            _ = shutdown.cancelled() => return,
                            m = stream.next() => m,
                        };
                        let Some(msg) = msg else { break };
                        let Ok(payload) = msg.get_payload::<String>() else { continue };
                        let Ok(message) = serde_json::from_str::<BusMessage>(&payload) else { continue };
                        if tx.send(BusEvent::Message(message)).await.is_err() {
                            return;
                        }
                    }
                    tracing::warn!("redis subscription lost: reconnecting");
                }
                Err(e) => tracing::warn!(error = %e, "redis subscribe failed"),
            },
            Err(e) => tracing::warn!(error = %e, "redis pubsub connection failed"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        // Capped at a second: after an outage the link is back soon after Redis is.
        backoff = (backoff * 2).min(Duration::from_secs(1));
    }
}

/// Whether Redis answers (for /readyz), within a second.
pub async fn ping(client: &redis::Client) -> Result<(), String> {
    let check = async {
        let mut conn = client.get_multiplexed_async_connection().await.map_err(|e| e.to_string())?;
        let _: String = redis::cmd("PING").query_async(&mut conn).await.map_err(|e| e.to_string())?;
        Ok(())
    };
    tokio::time::timeout(Duration::from_secs(1), check).await.unwrap_or_else(|_| Err("no answer within 1 s".into()))
}
