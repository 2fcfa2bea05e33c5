//! The one `Config`, read from flags and the environment at start. Secrets are redacted in
//! `Debug`.

use clap::{Args, Parser, Subcommand};
use secrecy::SecretString;
use std::net::SocketAddr;

/// Switchboard: a realtime collaboration server for a shared SMS + WhatsApp inbox.
#[derive(Parser, Debug)]
#[command(version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

/// What to do.
#[derive(Subcommand, Debug, Clone, Copy)]
pub enum Command {
    /// Create and migrate the database, seed the demo team when it is empty, and serve.
    Serve,
    /// Create the database if missing and apply migrations.
    Migrate,
    /// Seed the demo team (when the database has no team yet).
    Seed,
    /// Re-seal every stored Twilio auth token under a new key. With SECRET_KEY set, the new key is
    /// printed (set it as SECRET_KEY before the nodes start again); otherwise the key file is
    /// replaced. Stop the nodes first.
    RotateKey,
}

/// Every setting; each also comes from the environment variable named beside it.
#[derive(Args, Clone, Debug)]
pub struct Config {
    /// Postgres URL; the database is created if missing.
    #[arg(long, env = "DATABASE_URL", default_value = "postgres://postgres@127.0.0.1:5432/switchboard")]
    pub database_url: String,
    /// Redis URL for linking several nodes; empty means one node with an in-process bus.
    #[arg(long, env = "REDIS_URL", default_value = "")]
    pub redis_url: String,
    /// Address to listen on.
    #[arg(long, env = "BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// The URL people and Twilio reach this server at (default: http://BIND).
    #[arg(long, env = "PUBLIC_BASE_URL")]
    pub public_base_url: Option<String>,
    /// Extra browser origins allowed to open the WebSocket (comma-separated).
    #[arg(long, env = "ALLOWED_ORIGINS", default_value = "", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,
    /// Pusher app id.
    #[arg(long, env = "PUSHER_APP_ID")]
    pub pusher_app_id: Option<String>,
    /// Pusher app key (what clients connect with).
    #[arg(long, env = "PUSHER_KEY")]
    pub pusher_key: Option<String>,
    /// Pusher app secret (signs channel auth).
    #[arg(long, env = "PUSHER_SECRET", hide_env_values = true)]
    pub pusher_secret: Option<SecretString>,
    /// The key that seals Twilio auth tokens at rest (32 bytes, base64 or hex). Unset, the key
    /// file is used, and created on first run.
    #[arg(long, env = "SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<SecretString>,
    /// Where the generated key lives when SECRET_KEY is unset (keep it, and back it up: without
    /// it the stored auth tokens cannot be read).
    #[arg(long, env = "SECRET_KEY_FILE", default_value = ".switchboard/secret.key")]
    pub secret_key_file: std::path::PathBuf,
    /// Twilio REST API base URL (tests point it at a fake).
    #[arg(long, env = "TWILIO_API_BASE", default_value = "https://api.twilio.com")]
    pub twilio_api_base: String,
    /// Twilio Content API base URL, where approved templates are listed (tests point it at a
    /// fake).
    #[arg(long, env = "TWILIO_CONTENT_API_BASE", default_value = "https://content.twilio.com")]
    pub twilio_content_api_base: String,
    /// Trial guard: the only numbers messages may go to (comma-separated E.164).
    #[arg(long, env = "VERIFIED_NUMBERS", value_delimiter = ',')]
    pub verified_numbers: Option<Vec<String>>,
    /// Outbound messages per second per sending number.
    #[arg(long, env = "SEND_RATE_PER_SECOND", default_value_t = 1)]
    pub send_rate_per_second: u32,
    /// Campaign messages per second on a long code (a share of SEND_RATE_PER_SECOND at most).
    #[arg(long, env = "CAMPAIGN_RATE_LONG_CODE", default_value_t = 1.0)]
    pub campaign_rate_long_code: f64,
    /// Campaign messages per second on a toll-free number.
    #[arg(long, env = "CAMPAIGN_RATE_TOLL_FREE", default_value_t = 3.0)]
    pub campaign_rate_toll_free: f64,
    /// Campaign messages per second on a short code.
    #[arg(long, env = "CAMPAIGN_RATE_SHORT_CODE", default_value_t = 100.0)]
    pub campaign_rate_short_code: f64,
    /// Campaign messages per second through a messaging service.
    #[arg(long, env = "CAMPAIGN_RATE_MESSAGING_SERVICE", default_value_t = 100.0)]
    pub campaign_rate_messaging_service: f64,
    /// Campaign messages per second on a WhatsApp sender.
    #[arg(long, env = "CAMPAIGN_RATE_WHATSAPP", default_value_t = 80.0)]
    pub campaign_rate_whatsapp: f64,
    /// The share of a sender's budget (SEND_RATE_PER_SECOND) campaigns may use; the rest is
    /// kept for the agents' own messages on the number.
    #[arg(long, env = "CAMPAIGN_SHARE", default_value_t = 0.8)]
    pub campaign_share: f64,
    /// OpenID Connect issuer (e.g. `https://accounts.google.com`); set with the client id and
    /// secret to offer "Sign in with OIDC_DISPLAY_NAME". Discovered at start; an unreachable
    /// provider makes only the OIDC routes answer 503 until it answers.
    #[arg(long, env = "OIDC_ISSUER_URL")]
    pub oidc_issuer_url: Option<String>,
    /// The OIDC client id registered with the provider.
    #[arg(long, env = "OIDC_CLIENT_ID")]
    pub oidc_client_id: Option<String>,
    /// The OIDC client secret.
    #[arg(long, env = "OIDC_CLIENT_SECRET", hide_env_values = true)]
    pub oidc_client_secret: Option<SecretString>,
    /// The provider's name on the sign-in button ("Google").
    #[arg(long, env = "OIDC_DISPLAY_NAME", default_value = "single sign-on")]
    pub oidc_display_name: String,
    /// Scopes asked for besides `openid` (space- or comma-separated).
    #[arg(long, env = "OIDC_SCOPES", default_value = "email profile")]
    pub oidc_scopes: String,
    /// Where mail (password reset links, sign-up confirmations) is sent:
    /// `smtps://user:pass@host:465` (TLS), `smtp://user:pass@host:587?tls=required` (STARTTLS),
    /// or `smtp://127.0.0.1:25` (unencrypted: a local relay only). Unset, mail is written to the
    /// server log and sign-up does not wait for an e-mail to be confirmed.
    #[arg(long, env = "SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<SecretString>,
    /// The sender of that mail.
    #[arg(long, env = "MAIL_FROM", default_value = "Switchboard <switchboard@localhost>")]
    pub mail_from: String,
    /// Whether anyone may sign up (otherwise invites only).
    #[arg(long, env = "OPEN_SIGNUP", default_value_t = true, action = clap::ArgAction::Set)]
    pub open_signup: bool,
    /// Seed a demo team when the database is empty.
    #[arg(long, env = "DEMO_SEED", default_value_t = true, action = clap::ArgAction::Set)]
    pub demo_seed: bool,
    /// Sign-in/sign-up attempts per minute per client IP.
    #[arg(long, env = "AUTH_RATE_PER_MINUTE", default_value_t = 30)]
    pub auth_rate_per_minute: u32,
    /// Frames queued per WebSocket before the connection counts as too slow and is closed.
    #[arg(long, env = "WS_QUEUE", default_value_t = 256)]
    pub ws_queue: usize,
    /// Bytes each WebSocket's read buffer starts with. Every idle connection holds it, and
    /// clients send small frames (a subscribe is a few hundred bytes); a larger frame grows it.
    #[arg(long, env = "WS_READ_BUFFER", default_value_t = 512)]
    pub ws_read_buffer: usize,
    /// Seconds of client silence before the server pings.
    #[arg(long, env = "ACTIVITY_TIMEOUT", default_value_t = 120)]
    pub activity_timeout: u64,
    /// How long a typing indicator lasts without a refresh, in milliseconds.
    #[arg(long, env = "TYPING_TTL_MS", default_value_t = 6000)]
    pub typing_ttl_ms: u64,
    /// Seconds a thread actor may sit idle before it stops (it reloads on next use).
    #[arg(long, env = "THREAD_IDLE_SECS", default_value_t = 300)]
    pub thread_idle_secs: u64,
    /// Seconds a message may stay in `sending` before it is failed as "outcome unknown".
    #[arg(long, env = "STALE_SENDING_SECS", default_value_t = 120)]
    pub stale_sending_secs: u64,
    /// Milliseconds between scheduler polls for messages scheduled through other nodes.
    #[arg(long, env = "SCHEDULER_POLL_MS", default_value_t = 1000)]
    pub scheduler_poll_ms: u64,
    /// Milliseconds between looks at a team's conversations waiting for an agent (automatic
    /// assignment's backlog: customers who wrote while nobody could take them).
    #[arg(long, env = "ASSIGNMENT_BACKLOG_MS", default_value_t = 15_000)]
    pub assignment_backlog_ms: u64,
    /// Campaigns yield to agents: an agent's API request (or the runner's own claim) slower
    /// than this many milliseconds halves the share of their pace campaigns use; 0: never.
    #[arg(long, env = "CAMPAIGN_YIELD_MS", default_value_t = 25)]
    pub campaign_yield_ms: u64,
    /// How far ahead a message may be scheduled, in days.
    #[arg(long, env = "SCHEDULE_HORIZON_DAYS", default_value_t = 365)]
    pub schedule_horizon_days: u64,
    /// Scheduled messages this node may have claimed and not yet had answered by the carrier
    /// (its send slots, shared with campaigns). Big enough that one claim gives each thread of a
    /// burst several messages to send and record as a batch.
    #[arg(long, env = "DISPATCH_CONCURRENCY", default_value_t = 512)]
    pub dispatch_concurrency: usize,
    /// Commands that may wait for one thread; beyond that requests answer 503 with Retry-After.
    #[arg(long, env = "MAX_QUEUED_PER_THREAD", default_value_t = 256)]
    pub max_queued_per_thread: usize,
    /// At shutdown, seconds that sends already with the carrier may take to answer.
    #[arg(long, env = "SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    pub shutdown_grace_secs: u64,
    /// Whether this node runs a scheduler.
    #[arg(long, env = "RUN_SCHEDULER", default_value_t = true, action = clap::ArgAction::Set)]
    pub run_scheduler: bool,
    /// Seconds a client may take to send a request's line and headers (also how long an idle
    /// keep-alive connection stays open); slower connections are closed. 0 turns it off.
    #[arg(long, env = "HEADER_READ_TIMEOUT_SECS", default_value_t = 10)]
    pub header_read_timeout_secs: u64,
    /// Seconds one HTTP request may take, its body included, before the answer is 408.
    #[arg(long, env = "REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,
    /// The same for a contacts CSV upload (up to 50 MB on a slow link).
    #[arg(long, env = "UPLOAD_TIMEOUT_SECS", default_value_t = 600)]
    pub upload_timeout_secs: u64,
    /// Open connections (WebSockets included) one client IP may hold; more are closed at once
    /// with a 503. 0 means no cap.
    #[arg(long, env = "MAX_CONNECTIONS_PER_IP", default_value_t = 256)]
    pub max_connections_per_ip: usize,
    /// Postgres connections in the pool.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 20)]
    pub database_max_connections: u32,
    /// Behind a reverse proxy you trust: the header it puts the client's address in (e.g.
    /// X-Forwarded-For; its last address is used). Leave unset otherwise: clients could forge it.
    #[arg(long, env = "TRUSTED_PROXY_HEADER")]
    pub trusted_proxy_header: Option<String>,
    /// How long a request waits for a database connection before it answers 503, in milliseconds.
    #[arg(long, env = "DATABASE_ACQUIRE_TIMEOUT_MS", default_value_t = 1000)]
    pub database_acquire_timeout_ms: u64,
    /// Delay before the simulator reports each delivery step, in milliseconds.
    #[arg(long, env = "SIMULATOR_DELAY_MS", default_value_t = 400)]
    pub simulator_delay_ms: u64,
    /// Log as JSON lines.
    #[arg(long, env = "LOG_JSON", default_value_t = false, action = clap::ArgAction::Set)]
    pub log_json: bool,
}

impl Config {
    /// The public base URL, defaulting to the bound address.
    pub fn public_base_url(&self, bound: SocketAddr) -> String {
        self.public_base_url.clone().filter(|u| !u.is_empty()).unwrap_or_else(|| format!("http://{bound}")).trim_end_matches('/').to_owned()
    }

    /// A config for tests: every default, the given database.
    pub fn for_tests(database_url: &str) -> Config {
        let cli = Cli::parse_from(["switchboard", "--database-url", database_url]);
        let mut c = cli.config;
        c.redis_url = String::new();
        c.demo_seed = false;
        c.public_base_url = None;
        c.pusher_app_id = Some("test-app".into());
        c.pusher_key = Some("test-key".into());
        c.pusher_secret = Some("test-secret".to_owned().into());
        c.send_rate_per_second = 1000;
        // Long enough that the simulator's callbacks normally follow the send's own record.
        c.simulator_delay_ms = 250;
        c.auth_rate_per_minute = 1000;
        // Many test servers share one Postgres (100 connections): each gets a small pool.
        c.database_max_connections = 6;
        c
    }
}
