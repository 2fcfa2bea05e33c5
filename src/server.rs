//! Wiring: builds the store, bus, carriers, core and web edge, then serves until shutdown.

use crate::bus::{self, RedisBus};
use crate::config::Config;
use crate::simulator::{Carriers, Loopback, Simulator};
use crate::store::secrets::{self, Sealer};
use crate::store::{PgStore, StoreError};
use crate::twilio::TwilioCarrier;
use actors::ports::{Bus, LocalBus, Store};
use actors::{Core, CoreConfig, CorePorts};
use async_trait::async_trait;
use governor::{Quota, RateLimiter};
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use web::{AppState, Probe, WebConfig};

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot reach Redis at REDIS_URL ({0}); start Redis or unset REDIS_URL to run a single node")]
    Redis(redis::RedisError),
    #[error("could not start the core: {0}")]
    Core(actors::DomainError),
    #[error("could not seed the demo team: {0}")]
    Seed(actors::DomainError),
    #[error("{0}")]
    Config(String),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("could not build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

struct Readiness {
    store: PgStore,
    redis: Option<redis::Client>,
}

#[async_trait]
impl Probe for Readiness {
    async fn check(&self) -> Vec<(&'static str, Result<(), String>)> {
        // Each check has its own short deadline: readiness must answer fast when a dependency
        // is gone, not after the pool's timeout.
        let postgres = tokio::time::timeout(Duration::from_secs(1), self.store.ping()).await.unwrap_or(false);
        let mut out = vec![("postgres", if postgres { Ok(()) } else { Err("not answering".into()) })];
        if let Some(client) = &self.redis {
            out.push(("redis", bus::ping(client).await));
        }
        out
    }
}

/// The Prometheus recorder is process-wide; several servers in one test process share it.
fn prometheus() -> Option<Arc<dyn Fn() -> String + Send + Sync>> {
    static HANDLE: OnceLock<Option<metrics_exporter_prometheus::PrometheusHandle>> = OnceLock::new();
    let handle = HANDLE.get_or_init(|| metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder().ok()).clone()?;
    Some(Arc::new(move || handle.render()))
}

/// Pusher credentials from the config, or ones generated once and kept in the database (so a
/// restart does not change the key under open tabs, and every node agrees).
async fn pusher_credentials(config: &Config, store: &PgStore) -> Result<(String, String, SecretString), ServerError> {
    let id = config.pusher_app_id.clone().unwrap_or_else(|| "switchboard".into());
    let key = match &config.pusher_key {
        Some(key) => key.clone(),
        None => store.setting_or_init("pusher_key", || hex::encode(rand::random::<[u8; 10]>())).await.map_err(ServerError::Core)?,
    };
    let secret = match &config.pusher_secret {
        Some(secret) => secret.clone(),
        None => store.setting_or_init("pusher_secret", || hex::encode(rand::random::<[u8; 20]>())).await.map_err(ServerError::Core)?.into(),
    };
    if config.pusher_key.is_none() {
        tracing::info!(%key, "PUSHER_KEY not set: using the key kept in the database");
    }
    Ok((id, key, secret))
}

/// Binds the listening socket with a deep accept backlog: after a deploy every client is told to
/// reconnect at once (4200), and the default backlog of 128 would turn that burst into SYN
/// retransmits (1 s, then 3 s, of extra wait).
pub fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(4096)
}

/// Connects to Postgres (creating the database if needed), applies migrations, and seals Twilio
/// auth tokens with the configured key (sealing any still stored in plain text).
pub async fn open_store(config: &Config) -> Result<PgStore, ServerError> {
    let store =
        PgStore::connect(&config.database_url, config.database_max_connections, Duration::from_millis(config.database_acquire_timeout_ms))
            .await?
            .with_sealer(Sealer::new(&sealing_key(config)?));
    store.migrate().await?;
    if !store.key_opens_stored_tokens().await? {
        return Err(ServerError::Config(format!(
            "the key in SECRET_KEY (or {}) does not open the Twilio tokens stored in the database: every node needs the same key",
            config.secret_key_file.display()
        )));
    }
    let sealed = store.seal_legacy_tokens().await?;
    if sealed > 0 {
        tracing::info!(sealed, "sealed Twilio auth tokens that were stored in plain text");
    }
    Ok(store)
}

/// The key that seals auth tokens: SECRET_KEY, else the key file (created on first run).
pub fn sealing_key(config: &Config) -> Result<[u8; 32], ServerError> {
    secrets::load_key(config.secret_key.as_ref().map(|k| k.expose_secret()), &config.secret_key_file)
        .map_err(|e| ServerError::Config(e.to_string()))
}

/// `rotate-key`: re-seals every stored auth token under a new key, then replaces the key file
/// (or prints the new key when SECRET_KEY is set). Run it with the nodes stopped.
pub async fn rotate_key(config: &Config) -> Result<(), ServerError> {
    let store = open_store(config).await?;
    let key = rand::random::<[u8; 32]>();
    let next = Sealer::new(&key);
    let pending = config.secret_key_file.with_extension("next");
    if config.secret_key.is_none() {
        // The new key is on disk before any token is sealed with it: a crash in between leaves
        // both keys, never a token nobody can open.
        let _ = std::fs::remove_file(&pending);
        secrets::write_key_file(&pending, &key)?;
    }
    let resealed = store.reseal_tokens(&next).await?;
    if config.secret_key.is_some() {
        use base64::Engine;
        println!("{}", base64::engine::general_purpose::STANDARD.encode(key));
        tracing::info!(resealed, "re-sealed every auth token: set the key printed above as SECRET_KEY before starting the nodes");
    } else {
        std::fs::rename(&pending, &config.secret_key_file)?;
        tracing::info!(resealed, file = %config.secret_key_file.display(), "re-sealed every auth token under a new key");
    }
    Ok(())
}

/// The configured OIDC provider: none without an issuer; an issuer without a client id and
/// secret is a configuration error.
fn oidc_provider(config: &Config, public: &str) -> Result<Option<Arc<web::oidc::OidcProvider>>, ServerError> {
    let Some(issuer) = config.oidc_issuer_url.clone().filter(|u| !u.trim().is_empty()) else {
        return Ok(None);
    };
    let (Some(client_id), Some(secret)) = (config.oidc_client_id.clone(), config.oidc_client_secret.as_ref()) else {
        return Err(ServerError::Config("OIDC_ISSUER_URL needs OIDC_CLIENT_ID and OIDC_CLIENT_SECRET".into()));
    };
    let scopes =
        config.oidc_scopes.split([' ', ',']).map(str::trim).filter(|s| !s.is_empty() && *s != "openid").map(str::to_owned).collect();
    let settings = web::oidc::OidcSettings {
        issuer_url: issuer.trim().to_owned(),
        client_id,
        client_secret: secrecy::ExposeSecret::expose_secret(secret).to_owned(),
        display_name: config.oidc_display_name.trim().to_owned(),
        scopes,
        redirect_url: format!("{public}/auth/oidc/callback"),
    };
    web::oidc::OidcProvider::new(settings).map(|p| Some(Arc::new(p))).map_err(ServerError::Config)
}

/// Runs the server on `listener` until `shutdown` is cancelled.
pub async fn run(config: Config, listener: TcpListener, shutdown: CancellationToken) -> Result<(), ServerError> {
    let bound = listener.local_addr()?;
    let public = config.public_base_url(bound);
    let store = open_store(&config).await?;
    if config.demo_seed && store.is_empty().await.map_err(ServerError::Seed)? {
        crate::seed::demo(&store).await.map_err(ServerError::Seed)?;
        let (admin, agent) = (crate::seed::DEMO_ADMIN, crate::seed::DEMO_AGENT);
        tracing::info!(
            "seeded the demo team (simulator mode): sign in as {} / {} (admin) or {} / {} (agent)",
            admin.0,
            admin.1,
            agent.0,
            agent.1
        );
    }

    // The server's own tasks (bus halves, simulator callbacks, limiter sweeps); the core owns
    // its own. Both are drained at shutdown.
    let tasks = TaskTracker::new();
    let (bus, redis): (Arc<dyn Bus>, Option<redis::Client>) = if config.redis_url.is_empty() {
        (Arc::new(LocalBus), None)
    } else {
        let (bus, client) = RedisBus::connect(&config.redis_url, &tasks, shutdown.clone()).await.map_err(ServerError::Redis)?;
        (Arc::new(bus), Some(client))
    };

    let http = reqwest::Client::builder().timeout(Duration::from_secs(15)).connect_timeout(Duration::from_secs(5)).build()?;
    let local_ip = if bound.ip().is_unspecified() { "127.0.0.1".parse().expect("literal") } else { bound.ip() };
    let loopback = Arc::new(Loopback { http: http.clone(), local_base: format!("http://{}", SocketAddr::new(local_ip, bound.port())) });
    let content_api = Arc::new(crate::content_api::ContentApiClient::new(http.clone(), &config.twilio_content_api_base));
    let carrier = Carriers {
        twilio: TwilioCarrier::new(http, &config.twilio_api_base),
        simulator: Simulator {
            loopback: loopback.clone(),
            public_base_url: public.clone(),
            delay: Duration::from_millis(config.simulator_delay_ms),
            tasks: tasks.clone(),
            shutdown: shutdown.clone(),
        },
    };
    // Compared with contacts' E.164 phones, so normalized the same way.
    let verified: Option<HashSet<String>> = match &config.verified_numbers {
        None => None,
        Some(list) => Some(
            list.iter()
                .map(|n| n.trim())
                .filter(|n| !n.is_empty())
                .map(|n| {
                    actors::phone::normalize(n, None)
                        .map_err(|_| ServerError::Config(format!("VERIFIED_NUMBERS: {n:?} is not a phone number")))
                })
                .collect::<Result<_, _>>()?,
        ),
    };
    let core_config = CoreConfig {
        public_base_url: public.clone(),
        verified_numbers: verified.clone(),
        typing_ttl: Duration::from_millis(config.typing_ttl_ms),
        thread_idle: Duration::from_secs(config.thread_idle_secs.max(1)),
        send_rate_per_second: config.send_rate_per_second,
        stale_sending_after: Duration::from_secs(config.stale_sending_secs),
        scheduler_poll: Duration::from_millis(config.scheduler_poll_ms.max(50)),
        backlog_every: Duration::from_millis(config.assignment_backlog_ms.max(250)),
        campaign_yield_after: (config.campaign_yield_ms > 0).then(|| Duration::from_millis(config.campaign_yield_ms)),
        schedule_horizon: Duration::from_secs(config.schedule_horizon_days * 86_400),
        run_scheduler: config.run_scheduler,
        dispatch_concurrency: config.dispatch_concurrency,
        max_queued_per_thread: config.max_queued_per_thread.max(1),
        shutdown_grace: Duration::from_secs(config.shutdown_grace_secs),
        campaign_pace: actors::rules::campaigns::CampaignPace {
            long_code: config.campaign_rate_long_code,
            toll_free: config.campaign_rate_toll_free,
            short_code: config.campaign_rate_short_code,
            messaging_service: config.campaign_rate_messaging_service,
            whatsapp: config.campaign_rate_whatsapp,
            share: config.campaign_share,
        },
        ..CoreConfig::default()
    };
    let store_arc: Arc<dyn Store> = Arc::new(store.clone());
    let ports = CorePorts { store: store_arc.clone(), bus, carrier: Arc::new(carrier), campaigns: Arc::new(store.clone()), content_api };
    let core = Core::start(ports, core_config).await.map_err(ServerError::Core)?;

    let (app_id, app_key, app_secret) = pusher_credentials(&config, &store).await?;
    let mut allowed_origins = vec![public.clone(), format!("http://{bound}")];
    allowed_origins.extend(config.allowed_origins.iter().filter(|o| !o.is_empty()).cloned());
    let per_minute = NonZeroU32::new(config.auth_rate_per_minute.max(1)).expect("max(1)");
    let auth_limiter = Arc::new(RateLimiter::keyed(Quota::per_minute(per_minute)));
    let web_config = WebConfig {
        app_id,
        app_key,
        app_secret,
        public_base_url: public.clone(),
        allowed_origins,
        open_signup: config.open_signup,
        ws_queue: config.ws_queue.max(8),
        ws_read_buffer: config.ws_read_buffer.clamp(128, 64 * 1024),
        activity_timeout: config.activity_timeout.max(1),
        client_events_per_second: 10,
        request_timeout: Duration::from_secs(config.request_timeout_secs.max(1)),
        upload_timeout: Duration::from_secs(config.upload_timeout_secs.max(1)),
        trusted_proxy_header: config.trusted_proxy_header.clone().filter(|h| !h.trim().is_empty()),
        verified_numbers: verified.map(|v| {
            let mut v: Vec<String> = v.into_iter().collect();
            v.sort();
            v
        }),
    };
    let oidc = oidc_provider(&config, &public)?;
    if let Some(provider) = oidc.clone() {
        // Discovery at start, without holding the start up: until it succeeds the OIDC routes
        // answer 503 and try again themselves.
        tasks.spawn(async move {
            let _ = provider.client().await;
        });
    }
    let outbox: Arc<dyn web::mail::Outbox> = match config.smtp_url.as_ref().map(|u| u.expose_secret().trim()).filter(|u| !u.is_empty()) {
        Some(url) => {
            Arc::new(crate::mail::SmtpOutbox::start(url, &config.mail_from, &tasks, shutdown.clone()).map_err(ServerError::Config)?)
        }
        None => {
            tracing::warn!("SMTP_URL is not set: mail (password reset links) goes to this log, and sign-up does not confirm e-mail");
            Arc::new(web::mail::LogOutbox)
        }
    };
    let state = AppState {
        core: core.clone(),
        reads: store_arc,
        config: Arc::new(web_config),
        probe: Arc::new(Readiness { store: store.clone(), redis }),
        loopback,
        auth_limiter: auth_limiter.clone(),
        metrics: prometheus(),
        oidc,
        outbox,
    };
    // Keyed limiters keep a key per client: forget the quiet ones now and then.
    let sweep = shutdown.clone();
    tasks.spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        while tokio::select! { _ = sweep.cancelled() => false, _ = tick.tick() => true } {
            auth_limiter.retain_recent();
        }
    });

    let static_dir = std::env::var("STATIC_DIR").unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/web/static").to_owned());
    let app = web::router(state, std::path::Path::new(&static_dir));
    tracing::info!(%bound, %public, "switchboard is listening");
    // At shutdown, tell every socket to reconnect (to another node) at once: the serving loop
    // drains HTTP connections, but an upgraded WebSocket is no longer one of them.
    let hub = core.hub.clone();
    let closing = shutdown.clone();
    tasks.spawn(async move {
        closing.cancelled().await;
        hub.close_all(actors::protocol::code::RECONNECT);
    });
    let limits = crate::serve::Limits {
        header_read_timeout: (config.header_read_timeout_secs > 0).then(|| Duration::from_secs(config.header_read_timeout_secs)),
        max_per_ip: config.max_connections_per_ip,
        drain: Duration::from_secs(config.shutdown_grace_secs.max(1)),
    };
    // Stops accepting when `shutdown` is cancelled and returns once the open requests are
    // answered (or `drain` has passed).
    crate::serve::serve(listener, app, limits, shutdown.clone()).await;
    // In-flight requests are answered. Now the core: sends with the carrier finish and are
    // recorded, actors drain, team updates flush, the other nodes hear we left.
    core.shutdown().await;
    tasks.close();
    if tokio::time::timeout(Duration::from_secs(5), tasks.wait()).await.is_err() {
        tracing::warn!("shutdown: server tasks did not stop in time");
    }
    // Give the socket tasks a moment to send their close frames.
    for _ in 0..20 {
        if core.hub.connection_count() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // Whatever still holds the store (a request that timed out, a leaked handle) gets no more
    // connections: the pool's connections close now, not when the last handle is dropped.
    store.pool.close().await;
    tracing::info!("stopped");
    Ok(())
}
