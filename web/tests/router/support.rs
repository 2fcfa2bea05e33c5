//! The router over a `Core` on the in-memory fakes, answering requests with `oneshot`: no
//! socket, no Postgres. Users sign in by a session or an API token stored (by hash) straight in
//! the fake store, so no test pays for Argon2.

use actors::domain::{ChannelKind, User};
use actors::fakes::seed::{self, SeededTeam};
use actors::fakes::{FakeCarrier, MemoryStore};
use actors::ids::{TeamId, ThreadId};
use actors::ports::{AccountWrites, ContactWrites, LocalBus, NewContact, Reads, ThreadWrites};
use actors::{Core, CoreConfig, CorePorts};
use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use governor::{Quota, RateLimiter};
use serde_json::Value;
use std::num::NonZeroU32;
use std::sync::Arc;
use tower::ServiceExt;
use web::extract::{SESSION_COOKIE, hash_secret};
use web::{AppState, Probe, WebConfig, WebhookClient};

/// Every dependency answers.
pub struct Ready;

#[async_trait]
impl Probe for Ready {
    async fn check(&self) -> Vec<(&'static str, Result<(), String>)> {
        vec![("store", Ok(()))]
    }
}

/// The simulator's way back in; router tests never simulate, so it refuses.
pub struct NoLoopback;

#[async_trait]
impl WebhookClient for NoLoopback {
    async fn post(&self, _path: &str, _signature: &str, _params: &[(String, String)]) -> Result<u16, String> {
        Err("router tests have no loopback".into())
    }
}

/// How a request signs in.
#[derive(Clone)]
pub enum Auth {
    None,
    Session(String),
    Bearer(String),
    Header(&'static str),
}

/// A signed-in member of a team.
pub struct Member {
    pub user: User,
    pub session: Auth,
    pub token: Auth,
}

/// A team with an admin, an agent and one contact's SMS thread.
pub struct TeamFixture {
    pub id: TeamId,
    pub admin: Member,
    pub agent: Member,
    pub thread: ThreadId,
}

pub struct App {
    pub router: Router,
    pub core: Arc<Core>,
    pub store: Arc<MemoryStore>,
    pub acme: TeamFixture,
    pub globex: TeamFixture,
}

async fn member(store: &MemoryStore, user: User) -> Member {
    let session = format!("session-{}", user.id);
    let expires = time::OffsetDateTime::now_utc() + time::Duration::days(1);
    store.create_session(user.id, &hash_secret(&session), expires).await.expect("session");
    let token = format!("sb_token-{}", user.id);
    store
        .create_token(&actors::audit::Actor::new(user.clone(), Default::default()), "tests", &hash_secret(&token), None)
        .await
        .expect("token");
    Member { user, session: Auth::Session(session), token: Auth::Bearer(token) }
}

async fn team(store: &MemoryStore, name: &str, phone: &str) -> TeamFixture {
    let SeededTeam { admin, agent, .. } = seed::team(store, name).await;
    let contact = store.create_contact(admin.team_id, &NewContact::basic("Carol", phone)).await.expect("contact");
    let (thread, _) = store.thread_for_contact(admin.team_id, contact.id, ChannelKind::Sms, None).await.expect("thread");
    TeamFixture { id: admin.team_id, admin: member(store, admin).await, agent: member(store, agent).await, thread }
}

impl App {
    /// Two teams on one core, with `tweak` applied to the core's config.
    pub async fn start(tweak: impl FnOnce(&mut CoreConfig)) -> App {
        App::start_with_oidc(tweak, None).await
    }

    /// The same, offering sign-in with `oidc`.
    pub async fn start_with_oidc(tweak: impl FnOnce(&mut CoreConfig), oidc: Option<Arc<web::oidc::OidcProvider>>) -> App {
        let store = Arc::new(MemoryStore::new());
        let mut config = CoreConfig { node_id: "router-tests".into(), send_rate_per_second: 1000, ..CoreConfig::default() };
        tweak(&mut config);
        let ports = CorePorts {
            store: store.clone(),
            bus: Arc::new(LocalBus),
            carrier: Arc::new(FakeCarrier::new()),
            campaigns: Arc::new(actors::fakes::NoCampaigns),
            content_api: Arc::new(actors::fakes::FakeContentApi::default()),
        };
        let core = Core::start(ports, config).await.expect("core");
        let web_config = WebConfig {
            app_id: "switchboard".into(),
            app_key: "test-key".into(),
            app_secret: "test-secret".to_owned().into(),
            public_base_url: "http://127.0.0.1:8080".into(),
            allowed_origins: vec!["http://127.0.0.1:8080".into()],
            open_signup: true,
            ws_queue: 64,
            ws_read_buffer: 512,
            activity_timeout: 30,
            client_events_per_second: 10,
            trusted_proxy_header: None,
            verified_numbers: None,
            request_timeout: std::time::Duration::from_secs(30),
            upload_timeout: std::time::Duration::from_secs(600),
        };
        let state = AppState {
            core: core.clone(),
            reads: store.clone() as Arc<dyn Reads>,
            config: Arc::new(web_config),
            probe: Arc::new(Ready),
            loopback: Arc::new(NoLoopback),
            auth_limiter: Arc::new(RateLimiter::keyed(Quota::per_minute(NonZeroU32::new(100).expect("non-zero")))),
            metrics: None,
            oidc,
            outbox: Arc::new(web::mail::LogOutbox),
        };
        let router = web::router(state, std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/static")));
        let acme = team(&store, "Acme", "+14155550100").await;
        let globex = team(&store, "Globex", "+14155550101").await;
        App { router, core, store, acme, globex }
    }

    /// Sends one request through the whole router.
    pub async fn send(&self, req: Request<Body>) -> Reply {
        let res = self.router.clone().oneshot(req).await.expect("the router always answers");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Reply { status, headers, body }
    }

    /// The origin our pages are served from.
    pub fn origin(&self) -> String {
        "http://127.0.0.1:8080".into()
    }

    pub async fn get(&self, uri: &str, auth: &Auth) -> Reply {
        self.send(request(Method::GET, uri, auth, None)).await
    }

    /// A JSON request (`Content-Type: application/json`).
    pub async fn json(&self, method: Method, uri: &str, auth: &Auth, body: Value) -> Reply {
        self.send(request(method, uri, auth, Some(("application/json", body.to_string())))).await
    }

    /// A request with a raw body and content type (or none).
    pub async fn raw(&self, method: Method, uri: &str, auth: &Auth, content_type: Option<&str>, body: &str) -> Reply {
        let mut req = request(method, uri, auth, content_type.map(|ct| (ct, body.to_owned())));
        if content_type.is_none() {
            *req.body_mut() = Body::from(body.to_owned());
        }
        self.send(req).await
    }
}

pub fn request(method: Method, uri: &str, auth: &Auth, body: Option<(&str, String)>) -> Request<Body> {
    let mut req = Request::builder().method(method).uri(uri);
    match auth {
        Auth::None => {}
        Auth::Session(id) => req = req.header(header::COOKIE, format!("{SESSION_COOKIE}={id}")),
        Auth::Bearer(token) => req = req.header(header::AUTHORIZATION, format!("Bearer {token}")),
        Auth::Header(value) => req = req.header(header::AUTHORIZATION, *value),
    }
    match body {
        Some((content_type, body)) => req.header(header::CONTENT_TYPE, content_type).body(Body::from(body)),
        None => req.body(Body::empty()),
    }
    .expect("a valid request")
}

/// What the router answered.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// Asserts the status and our JSON error shape, `{"error": {"code", "message", "field"?}}`
    /// (and `missing` for `missing_variables`); answers the error object.
    #[track_caller]
    pub fn error(&self, status: StatusCode, code: &str) -> &Value {
        assert_eq!(self.status, status, "{self:?}");
        let ct = self.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(ct.starts_with("application/json"), "a JSON error, not {ct:?}: {self:?}");
        let error = &self.body["error"];
        assert_eq!(error["code"], code, "{self:?}");
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "a readable message: {self:?}");
        let keys: Vec<&String> = error.as_object().expect("an object").keys().collect();
        let extra = if code == "missing_variables" { "missing" } else { "field" };
        assert!(keys.iter().all(|k| ["code", "message", "field", extra].contains(&k.as_str())), "nothing else: {keys:?}");
        error
    }

    /// Asserts a 422 naming `field`.
    #[track_caller]
    pub fn invalid(&self, field: &str) {
        let error = self.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
        assert_eq!(error["field"], field, "{self:?}");
    }
}
