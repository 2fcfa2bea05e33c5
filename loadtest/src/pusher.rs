//! A minimal Pusher Channels protocol v7 client on tokio-tungstenite: a TCP socket bound to a
//! chosen loopback source address, the WebSocket handshake, `pusher:connection_established`,
//! channel auth (through Switchboard's `POST /pusher/auth` with the plan's API token, or signed
//! here when the plan has the app secret: any Pusher server), subscribe, and pong.

use crate::plan::Plan;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{Instant, timeout};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};

/// A client socket.
pub type Ws = WebSocketStream<TcpStream>;

/// Where and how clients connect.
pub struct Target {
    pub addr: SocketAddr,
    pub base: String,
    pub ws_url: String,
    pub token: String,
    pub key: String,
    /// The app secret: channel auth is signed here (see `sign.rs`).
    pub secret: Option<String>,
    pub app_id: Option<String>,
    pub http: reqwest::Client,
}

impl Target {
    /// A target for the plan's server; `pool` bounds the idle HTTP connections kept for auth.
    pub fn new(plan: &Plan, addr: SocketAddr, pool: usize, wait: Duration) -> anyhow::Result<Target> {
        let http = reqwest::Client::builder().pool_max_idle_per_host(pool).timeout(wait).tcp_nodelay(true).build()?;
        let base = plan.base.trim_end_matches('/').to_owned();
        Ok(Target {
            addr,
            ws_url: format!("ws://{addr}/app/{}?protocol=7&client=switchboard-loadtest&version={}", plan.key, env!("CARGO_PKG_VERSION")),
            base,
            token: plan.token.clone(),
            key: plan.key.clone(),
            secret: plan.secret.clone(),
            app_id: plan.app_id.clone(),
            http,
        })
    }
}

/// Why a client did not get connected and subscribed (or was dropped later).
#[derive(Debug)]
pub enum Failure {
    Bind(std::io::ErrorKind),
    Connect(std::io::ErrorKind),
    Handshake(String),
    Timeout(&'static str),
    Closed(&'static str, Option<u16>),
    Protocol(String),
    AuthRequest(&'static str),
    AuthStatus(u16),
    SubscriptionError(u64),
}

impl Failure {
    /// A short label to count failures by.
    pub fn kind(&self) -> String {
        match self {
            Failure::Bind(k) => format!("bind source address: {k:?}"),
            Failure::Connect(k) => format!("tcp connect: {k:?}"),
            Failure::Handshake(e) => format!("websocket handshake: {e}"),
            Failure::Timeout(stage) => format!("timeout: {stage}"),
            Failure::Closed(stage, code) => match code {
                Some(c) => format!("closed by server ({c}) {stage}"),
                None => format!("closed {stage}"),
            },
            Failure::Protocol(e) => format!("protocol: {e}"),
            Failure::AuthRequest(e) => format!("/pusher/auth request: {e}"),
            Failure::AuthStatus(s) => format!("/pusher/auth HTTP {s}"),
            Failure::SubscriptionError(s) => format!("pusher:subscription_error {s}"),
        }
    }
}

fn handshake_error(e: tungstenite::Error) -> Failure {
    match e {
        tungstenite::Error::Http(resp) => Failure::Handshake(format!("HTTP {}", resp.status().as_u16())),
        tungstenite::Error::Io(e) => Failure::Handshake(format!("io {:?}", e.kind())),
        other => Failure::Handshake(format!("{other}").chars().take(60).collect()),
    }
}

/// A frame from the server.
#[derive(Deserialize)]
pub struct Frame {
    pub event: String,
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub data: Value,
}

/// What one connect-and-subscribe took.
pub struct Timing {
    /// TCP connect, WebSocket handshake, `connection_established`.
    pub established: Duration,
    /// All of the above plus auth and every `subscription_succeeded`.
    pub subscribed: Duration,
}

/// The client's socket buffers: small, like a browser's per-socket footprint, so that thousands
/// of clients fit in one process (tungstenite's default is a 128 KiB eager read buffer).
fn client_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(4 * 1024).write_buffer_size(0)
}

/// Opens a socket from `source` and waits for `connection_established`; returns the socket id.
pub async fn open(target: &Target, source: Ipv4Addr, wait: Duration) -> Result<(Ws, String), Failure> {
    let socket = TcpSocket::new_v4().map_err(|e| Failure::Bind(e.kind()))?;
    socket.bind(SocketAddr::new(IpAddr::V4(source), 0)).map_err(|e| Failure::Bind(e.kind()))?;
    let tcp = timeout(wait, socket.connect(target.addr))
        .await
        .map_err(|_| Failure::Timeout("tcp connect"))?
        .map_err(|e| Failure::Connect(e.kind()))?;
    let _ = tcp.set_nodelay(true);
    let (mut ws, _) = timeout(wait, tokio_tungstenite::client_async_with_config(target.ws_url.as_str(), tcp, Some(client_config())))
        .await
        .map_err(|_| Failure::Timeout("websocket handshake"))?
        .map_err(handshake_error)?;
    let first = timeout(wait, next_frame(&mut ws, "before connection_established"))
        .await
        .map_err(|_| Failure::Timeout("connection_established"))??;
    if first.event != "pusher:connection_established" {
        return Err(Failure::Protocol(format!("first frame was {}", first.event)));
    }
    let data: Value = first.data.as_str().and_then(|s| serde_json::from_str(s).ok()).unwrap_or(Value::Null);
    let socket_id = data["socket_id"].as_str().ok_or_else(|| Failure::Protocol("no socket_id".into()))?.to_owned();
    Ok((ws, socket_id))
}

/// The next text frame, parsed; server pings are answered on the way.
pub async fn next_frame(ws: &mut Ws, stage: &'static str) -> Result<Frame, Failure> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                let frame: Frame = serde_json::from_str(&t).map_err(|_| Failure::Protocol("a frame that is not JSON".into()))?;
                if frame.event == "pusher:ping" {
                    pong(ws).await?;
                    continue;
                }
                return Ok(frame);
            }
            Some(Ok(Message::Close(c))) => return Err(Failure::Closed(stage, c.map(|c| u16::from(c.code)))),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return Err(Failure::Closed(stage, None)),
        }
    }
}

/// Answers a `pusher:ping`.
pub async fn pong(ws: &mut Ws) -> Result<(), Failure> {
    ws.send(Message::text(r#"{"event":"pusher:pong","data":{}}"#)).await.map_err(|_| Failure::Closed("while answering a ping", None))
}

/// The subscribe data of `channel` signed with the app secret: a presence member is a made-up
/// user (UUID-shaped, as Switchboard's are) per socket.
fn sign_locally(target: &Target, secret: &str, socket_id: &str, channel: &str) -> Value {
    let member = channel.starts_with("presence-").then(|| {
        let digits: String = socket_id.chars().filter(char::is_ascii_digit).collect();
        let n: u64 = digits.chars().rev().take(15).collect::<String>().parse().unwrap_or(0);
        json!({ "user_id": format!("00000000-0000-4000-8000-{:012x}", n % 0x1_0000_0000_0000), "user_info": { "name": "loadtest" } })
            .to_string()
    });
    let auth = crate::sign::channel_auth(&target.key, secret, socket_id, channel, member.as_deref());
    let mut data = json!({ "channel": channel, "auth": auth });
    if let Some(m) = member {
        data["channel_data"] = Value::String(m);
    }
    data
}

/// Signs `channel` for this socket (here with the app secret, else through `/pusher/auth`);
/// returns the subscribe data.
async fn authorize(target: &Target, socket_id: &str, channel: &str) -> Result<Value, Failure> {
    if let Some(secret) = &target.secret {
        return Ok(sign_locally(target, secret, socket_id, channel));
    }
    let res = target
        .http
        .post(format!("{}/pusher/auth", target.base))
        .bearer_auth(&target.token)
        .form(&[("socket_id", socket_id), ("channel_name", channel)])
        .send()
        .await
        .map_err(|e| {
            Failure::AuthRequest(if e.is_timeout() {
                "timeout"
            } else if e.is_connect() {
                "connect"
            } else {
                "other"
            })
        })?;
    let status = res.status().as_u16();
    if status != 200 {
        return Err(Failure::AuthStatus(status));
    }
    let auth: Value = res.json().await.map_err(|_| Failure::AuthRequest("body"))?;
    let mut data = json!({ "channel": channel, "auth": auth["auth"] });
    if let Some(cd) = auth.get("channel_data") {
        data["channel_data"] = cd.clone();
    }
    Ok(data)
}

/// Authorizes every channel at once (as pusher-js does), subscribes, and waits for each
/// `subscription_succeeded`.
pub async fn subscribe(ws: &mut Ws, target: &Target, socket_id: &str, channels: &[String], wait: Duration) -> Result<(), Failure> {
    let auths = timeout(wait, futures_util::future::try_join_all(channels.iter().map(|c| authorize(target, socket_id, c))))
        .await
        .map_err(|_| Failure::Timeout("/pusher/auth"))??;
    for data in auths {
        let frame = json!({ "event": "pusher:subscribe", "data": data }).to_string();
        ws.send(Message::text(frame)).await.map_err(|_| Failure::Closed("while subscribing", None))?;
    }
    let mut pending: HashSet<&str> = channels.iter().map(String::as_str).collect();
    let wait_all = async {
        while !pending.is_empty() {
            let f = next_frame(ws, "while subscribing").await?;
            match f.event.as_str() {
                "pusher_internal:subscription_succeeded" => {
                    if let Some(c) = &f.channel {
                        pending.remove(c.as_str());
                    }
                }
                "pusher:subscription_error" => return Err(Failure::SubscriptionError(f.data["status"].as_u64().unwrap_or(0))),
                "pusher:error" => return Err(Failure::Protocol(format!("pusher:error {}", f.data["code"]))),
                _ => {}
            }
        }
        Ok(())
    };
    timeout(wait, wait_all).await.map_err(|_| Failure::Timeout("subscription_succeeded"))?
}

/// Opens, subscribes and times both steps.
pub async fn connect(target: &Target, source: Ipv4Addr, channels: &[String], wait: Duration) -> Result<(Ws, Timing), Failure> {
    let start = Instant::now();
    let (mut ws, socket_id) = open(target, source, wait).await?;
    let established = start.elapsed();
    subscribe(&mut ws, target, &socket_id, channels, wait).await?;
    Ok((ws, Timing { established, subscribed: start.elapsed() }))
}

/// Closes politely but without waiting long for the server's answer.
pub async fn close(mut ws: Ws) {
    let _ = timeout(Duration::from_secs(1), ws.close(None)).await;
}
