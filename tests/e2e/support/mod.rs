//! The end-to-end harness: a real server on port 0 against a fresh database (from
//! `#[sqlx::test]`), HTTP clients that keep their session cookie, and Pusher-protocol WebSocket
//! clients built on tokio-tungstenite.
#![allow(dead_code)]

pub mod content_api;
pub mod oidc_provider;
pub mod private_pg;
pub mod private_redis;
pub mod smtp_sink;
pub mod twilio;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use sqlx::postgres::PgConnectOptions;
use std::net::SocketAddr;
use std::time::Duration;
use switchboard::Config;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

/// The Postgres URL of a `#[sqlx::test]` database.
pub fn db_url(opts: &PgConnectOptions) -> String {
    format!(
        "postgres://{}@{}:{}/{}",
        opts.get_username(),
        opts.get_host(),
        opts.get_port(),
        opts.get_database().expect("sqlx::test names the database")
    )
}

/// A running server.
pub struct TestServer {
    pub addr: SocketAddr,
    pub base: String,
    pub config: Config,
    shutdown: CancellationToken,
    handle: JoinHandle<Result<(), switchboard::ServerError>>,
}

impl TestServer {
    pub async fn start(opts: &PgConnectOptions) -> TestServer {
        Self::start_with(opts, |_| {}).await
    }

    /// Starts a server after `tweak` adjusts the test config.
    pub async fn start_with(opts: &PgConnectOptions, tweak: impl FnOnce(&mut Config)) -> TestServer {
        Self::start_on(&db_url(opts), tweak).await
    }

    /// Starts a server on the database at `url` (created if missing).
    pub async fn start_on(url: &str, tweak: impl FnOnce(&mut Config)) -> TestServer {
        let mut config = Config::for_tests(url);
        tweak(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(switchboard::run(config.clone(), listener, shutdown.clone()));
        let base = format!("http://{addr}");
        let http = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(r) = http.get(format!("{base}/readyz")).send().await
                && r.status() == 200
            {
                return TestServer { addr, base, config, shutdown, handle };
            }
            if handle.is_finished() {
                panic!("the server stopped while starting: {:?}", handle.await);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the server did not become ready");
    }

    /// Stops the server and waits for it.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.handle).await;
    }

    /// The Pusher key clients connect with.
    pub fn key(&self) -> String {
        self.config.pusher_key.clone().unwrap()
    }

    /// A fresh HTTP client with its own cookie jar.
    pub fn client(&self) -> Client {
        Client { http: reqwest::Client::builder().cookie_store(true).build().unwrap(), base: self.base.clone() }
    }

    /// Signs up a new team with its admin.
    pub async fn admin(&self, name: &str) -> Agent {
        sign_up_admin(&self.base, name).await
    }

    /// Invites and signs up an agent into `admin`'s team.
    pub async fn agent(&self, admin: &Agent, name: &str) -> Agent {
        let (status, invite) = admin.client.post("/api/invites", json!({ "role": "agent" })).await;
        assert_eq!(status, 201, "invite: {invite}");
        let client = self.client();
        let email = format!("{}@{}.test", name.to_lowercase().replace(' ', "."), uuid_short());
        let (status, body) = client
            .post(
                "/api/auth/sign-up",
                json!({ "email": email, "password": "correct horse battery", "name": name, "invite": invite["token"] }),
            )
            .await;
        assert_eq!(status, 201, "agent sign-up: {body}");
        Agent::from_body(client, body)
    }
}

/// Signs up a new team with its admin on the server at `base`.
pub async fn sign_up_admin(base: &str, name: &str) -> Agent {
    let client = Client { http: reqwest::Client::builder().cookie_store(true).build().unwrap(), base: base.to_owned() };
    let email = format!("{}@{}.test", name.to_lowercase().replace(' ', "."), uuid_short());
    let (status, body) = client
        .post(
            "/api/auth/sign-up",
            json!({ "email": email, "password": "correct horse battery", "name": name, "team_name": format!("{name}'s team") }),
        )
        .await;
    assert_eq!(status, 201, "sign-up: {body}");
    Agent::from_body(client, body)
}

/// The server binary running as a child process: a test can kill it with SIGKILL.
pub struct ServerProcess {
    pub base: String,
    child: std::process::Child,
}

impl ServerProcess {
    /// Starts `switchboard serve` on a free port against `database_url`, with `env` on top of the
    /// test defaults, and waits until it is ready.
    pub async fn start(database_url: &str, env: &[(&str, &str)]) -> ServerProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"));
        cmd.arg("serve")
            .env("DATABASE_URL", database_url)
            .env("BIND", format!("127.0.0.1:{port}"))
            .env("REDIS_URL", "")
            .env("DEMO_SEED", "false")
            .env("PUSHER_KEY", "test-key")
            .env("PUSHER_SECRET", "test-secret")
            .env("SEND_RATE_PER_SECOND", "1000")
            .env("AUTH_RATE_PER_MINUTE", "1000")
            .env("DATABASE_MAX_CONNECTIONS", "6")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("the switchboard binary starts");
        // Owned at once, so the process is killed (and waited for) however this ends.
        let process = ServerProcess { base: format!("http://127.0.0.1:{port}"), child };
        let http = reqwest::Client::new();
        for _ in 0..400 {
            if let Ok(r) = http.get(format!("{}/readyz", process.base)).send().await
                && r.status() == 200
            {
                return process;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the server process did not become ready");
    }

    /// SIGKILL: no shutdown, nothing flushed.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub fn uuid_short() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..10].to_owned()
}

/// An HTTP client with a cookie jar.
#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
}

impl Client {
    async fn answer(res: reqwest::Response) -> (u16, Value) {
        let status = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        Self::answer(self.http.get(format!("{}{path}", self.base)).send().await.unwrap()).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        Self::answer(self.http.post(format!("{}{path}", self.base)).json(&body).send().await.unwrap()).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        Self::answer(self.http.patch(format!("{}{path}", self.base)).json(&body).send().await.unwrap()).await
    }

    pub async fn put_json(&self, path: &str, body: Value) -> (u16, Value) {
        Self::answer(self.http.put(format!("{}{path}", self.base)).json(&body).send().await.unwrap()).await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        Self::answer(self.http.delete(format!("{}{path}", self.base)).send().await.unwrap()).await
    }

    pub async fn delete_json(&self, path: &str, body: Value) -> (u16, Value) {
        Self::answer(self.http.delete(format!("{}{path}", self.base)).json(&body).send().await.unwrap()).await
    }

    pub async fn post_raw(&self, path: &str, content_type: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
        Self::answer(self.http.post(format!("{}{path}", self.base)).header("content-type", content_type).body(body).send().await.unwrap())
            .await
    }

    /// `POST /pusher/auth` for a socket and channel.
    pub async fn pusher_auth(&self, socket_id: &str, channel: &str) -> (u16, Value) {
        Self::answer(
            self.http
                .post(format!("{}/pusher/auth", self.base))
                .form(&[("socket_id", socket_id), ("channel_name", channel)])
                .send()
                .await
                .unwrap(),
        )
        .await
    }
}

/// A signed-in user.
#[derive(Clone)]
pub struct Agent {
    pub client: Client,
    pub id: String,
    pub team_id: String,
    pub name: String,
}

impl Agent {
    fn from_body(client: Client, body: Value) -> Agent {
        Agent {
            client,
            id: body["user"]["id"].as_str().unwrap().to_owned(),
            team_id: body["team"]["id"].as_str().unwrap().to_owned(),
            name: body["user"]["name"].as_str().unwrap().to_owned(),
        }
    }

    /// Creates a contact and its SMS thread; returns the thread id.
    pub async fn thread_with(&self, name: &str, phone: &str) -> String {
        let (status, contact) = self.client.post("/api/contacts", json!({ "name": name, "phone": phone })).await;
        assert_eq!(status, 201, "contact: {contact}");
        let (status, thread) = self.client.post("/api/threads/for-contact", json!({ "contact_id": contact["id"], "channel": "sms" })).await;
        assert_eq!(status, 200, "thread: {thread}");
        thread["id"].as_str().unwrap().to_owned()
    }

    /// Opens a socket signed in as this agent.
    pub async fn socket(&self, server: &TestServer) -> Ws {
        Ws::connect(server, self.client.clone()).await
    }
}

/// A Pusher-protocol client.
pub struct Ws {
    pub socket_id: String,
    pub stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    client: Client,
}

/// The default wait for an expected frame.
pub const WAIT: Duration = Duration::from_secs(5);

impl Ws {
    pub async fn connect(server: &TestServer, client: Client) -> Ws {
        let url = format!("ws://{}/app/{}?protocol=7&client=rust&version=1", server.addr, server.key());
        let (mut stream, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let first = next_json(&mut stream, WAIT).await.expect("connection_established");
        assert_eq!(first["event"], "pusher:connection_established");
        let data: Value = serde_json::from_str(first["data"].as_str().unwrap()).unwrap();
        Ws { socket_id: data["socket_id"].as_str().unwrap().to_owned(), stream, client }
    }

    /// A client whose socket has a tiny receive buffer: it stops the server's writes quickly
    /// once it stops reading.
    pub async fn connect_small_buffer(server: &TestServer, client: Client) -> Ws {
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.set_recv_buffer_size(2048).unwrap();
        let tcp = sock.connect(server.addr).await.unwrap();
        let url = format!("ws://{}/app/{}", server.addr, server.key());
        let (mut stream, _) = tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(tcp)).await.unwrap();
        let first = next_json(&mut stream, WAIT).await.expect("connection_established");
        let data: Value = serde_json::from_str(first["data"].as_str().unwrap()).unwrap();
        Ws { socket_id: data["socket_id"].as_str().unwrap().to_owned(), stream, client }
    }

    pub async fn send(&mut self, frame: Value) {
        self.stream.send(Message::Text(frame.to_string().into())).await.unwrap();
    }

    /// Authorizes through `/pusher/auth` and subscribes; returns `subscription_succeeded`'s data.
    pub async fn subscribe(&mut self, channel: &str) -> Value {
        let (status, auth) = self.client.pusher_auth(&self.socket_id, channel).await;
        assert_eq!(status, 200, "auth for {channel}: {auth}");
        let mut data = json!({ "channel": channel, "auth": auth["auth"] });
        if let Some(cd) = auth.get("channel_data") {
            data["channel_data"] = cd.clone();
        }
        self.send(json!({ "event": "pusher:subscribe", "data": data })).await;
        let ok = self.expect("pusher_internal:subscription_succeeded", WAIT).await;
        assert_eq!(ok["channel"], channel);
        serde_json::from_str(ok["data"].as_str().unwrap()).unwrap()
    }

    /// The next frame (parsed), or None after `wait`.
    pub async fn next(&mut self, wait: Duration) -> Option<Value> {
        next_json(&mut self.stream, wait).await
    }

    /// Skips frames until one named `event` arrives; panics after `wait`.
    pub async fn expect(&mut self, event: &str, wait: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Some(f) if f["event"] == event => return f,
                Some(_) => continue,
                None => panic!("no {event} within {wait:?}"),
            }
        }
    }

    /// Like `expect`, and parses the frame's data string.
    pub async fn expect_data(&mut self, event: &str, wait: Duration) -> Value {
        let f = self.expect(event, wait).await;
        match &f["data"] {
            Value::String(s) => serde_json::from_str(s).unwrap_or(Value::String(s.clone())),
            other => other.clone(),
        }
    }

    /// Asserts that no frame named `event` arrives within `wait`.
    pub async fn expect_none(&mut self, event: &str, wait: Duration) {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return;
            }
            if let Some(f) = self.next(left).await {
                assert_ne!(f["event"], event, "unexpected {event}: {f}");
            }
        }
    }

    /// Waits for the server to close the socket; returns the close code.
    pub async fn closed(&mut self, wait: Duration) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.stream.next()).await {
                Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
                Ok(Some(Ok(_))) => continue,
                Ok(Some(Err(_))) | Ok(None) => return None,
                Err(_) => panic!("the socket was not closed within {wait:?}"),
            }
        }
    }

    /// Every frame until the server closes the socket (or `wait` passes), and the close code.
    pub async fn frames_until_closed(&mut self, wait: Duration) -> (Vec<Value>, Option<u16>) {
        let deadline = tokio::time::Instant::now() + wait;
        let mut frames = vec![];
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.stream.next()).await {
                Ok(Some(Ok(Message::Close(frame)))) => return (frames, frame.map(|f| u16::from(f.code))),
                Ok(Some(Ok(Message::Text(t)))) => {
                    if let Ok(v) = serde_json::from_str::<Value>(&t) {
                        frames.push(v);
                    }
                }
                Ok(Some(Ok(_))) => continue,
                Ok(Some(Err(_))) | Ok(None) | Err(_) => return (frames, None),
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}

async fn next_json(stream: &mut WebSocketStream<MaybeTlsStream<TcpStream>>, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, stream.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return Some(serde_json::from_str(&t).unwrap()),
            Ok(Some(Ok(Message::Close(f)))) => return Some(json!({ "event": "close", "code": f.map(|f| u16::from(f.code)) })),
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(_))) | Ok(None) | Err(_) => return None,
        }
    }
}

/// Parses a ThreadEvent out of a thread-channel frame.
pub fn event_data(frame: &Value) -> Value {
    serde_json::from_str(frame["data"].as_str().unwrap()).unwrap()
}

/// Polls SQL until all `n` outbound messages have one of `statuses` (there must be exactly `n`);
/// panics after `wait`, naming how many are in each status.
pub async fn wait_outbound(db: &sqlx::PgPool, statuses: &[&str], n: i64, wait: Duration) {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let (done, total): (i64, i64) =
            sqlx::query_as("SELECT count(*) FILTER (WHERE status = ANY($1)), count(*) FROM messages WHERE direction = 'outbound'")
                .bind(statuses)
                .fetch_one(db)
                .await
                .unwrap();
        assert_eq!(total, n, "outbound messages");
        if done == n {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            let seen: Vec<(String, i64)> =
                sqlx::query_as("SELECT status, count(*) FROM messages GROUP BY status").fetch_all(db).await.unwrap();
            panic!("only {done} of {n} {statuses:?} within {wait:?}: {seen:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Adds the team's real SMS number (+15005550006, Twilio's test number, on a made-up account):
/// its sends go to `TWILIO_API_BASE`, not to the simulator.
pub async fn add_real_number(a: &Agent) {
    let real =
        json!({ "kind": "sms", "number": "+15005550006", "account_sid": format!("AC{}", "a".repeat(32)), "auth_token": "f".repeat(32) });
    let (status, channel) = a.client.post("/api/channels", real).await;
    assert_eq!(status, 201, "{channel}");
}
