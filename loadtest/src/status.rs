//! `loadtest status`: Twilio's message status callbacks, signed here with the channel's auth
//! token and posted open loop straight to the status callback URL the server gave each message.
//!
//! The messages must exist first, sent through the server's real send path to a real (not
//! simulated) Twilio number: so this scenario is also Twilio's REST API. It listens on
//! `--carrier` (run the server with `TWILIO_API_BASE=http://<that address>` and a high
//! `SEND_RATE_PER_SECOND`), answers each `POST /2010-04-01/Accounts/{sid}/Messages.json` as
//! Twilio does (201, a fresh `SM…` sid) and keeps the request's `StatusCallback`. It creates the
//! messages through `POST /api/messages` (not measured), waits until the carrier has seen them,
//! then posts `sent` and `delivered` for each, in that order, at each asked rate: p50/p95/p99 per
//! step, errors and skips, as the webhooks scenario reports them.

use crate::openloop::{self, StepArgs};
use crate::plan::Plan;
use crate::report::Report;
use crate::twilio;
use anyhow::{Context, bail};
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine;
use clap::Args;
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// Messages one run creates at most (two callbacks each).
const MAX_MESSAGES: u64 = 100_000;

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// The plan written by `loadtest setup --twilio-token`.
    #[arg(long, default_value = "/tmp/lt.json")]
    pub plan: PathBuf,
    /// Where the fake Twilio REST API listens (127.x only): the server's TWILIO_API_BASE.
    #[arg(long, default_value = "127.0.0.1:18099")]
    pub carrier: SocketAddr,
    /// Message creations in flight (closed loop, not measured).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub create_concurrency: u32,
    /// How long to wait for the server to hand every created message to the carrier.
    #[arg(long, default_value = "300s", value_parser = crate::guard::parse_duration)]
    pub create_timeout: Duration,
    #[command(flatten)]
    pub steps: StepArgs,
}

/// One message the server sent through the fake carrier.
#[derive(Clone, Debug)]
struct Sent {
    sid: String,
    to: String,
    callback: String,
}

/// The fake Twilio REST API's state.
struct Carrier {
    run: u64,
    /// The expected `Authorization` header (Basic account sid : auth token).
    auth: String,
    account_sid: String,
    sent: Mutex<Vec<Sent>>,
    refused: AtomicU64,
}

/// `POST /2010-04-01/Accounts/{sid}/Messages.json`: Twilio's answer to a send.
async fn create(
    State(c): State<Arc<Carrier>>,
    Path(account): Path<String>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> (StatusCode, axum::Json<Value>) {
    let authorized = headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(c.auth.as_str());
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let (Some(to), Some(callback)) = (field("To"), field("StatusCallback")) else {
        c.refused.fetch_add(1, Ordering::Relaxed);
        return (StatusCode::BAD_REQUEST, axum::Json(json!({ "code": 21604, "message": "A 'To' and 'StatusCallback' are required" })));
    };
    if !authorized || account != c.account_sid {
        c.refused.fetch_add(1, Ordering::Relaxed);
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({ "code": 20003, "message": "Authenticate" })));
    }
    let mut sent = c.sent.lock().expect("not poisoned");
    if sent.len() as u64 >= MAX_MESSAGES {
        return (StatusCode::TOO_MANY_REQUESTS, axum::Json(json!({ "code": 20429, "message": "Too Many Requests" })));
    }
    let sid = twilio::sid("SM", c.run, sent.len() as u64);
    sent.push(Sent { sid: sid.clone(), to: to.clone(), callback });
    let answer = json!({ "sid": sid, "account_sid": account, "to": to, "from": field("From"), "body": field("Body"), "status": "queued" });
    (StatusCode::CREATED, axum::Json(answer))
}

pub async fn run(args: StatusArgs) -> anyhow::Result<Report> {
    let plan = Plan::load(&args.plan)?;
    let tw = plan.twilio.clone().context("the status scenario needs a plan from `loadtest setup --twilio-token`")?;
    if !matches!(args.carrier, SocketAddr::V4(a) if a.ip().octets()[0] == 127) {
        bail!("--carrier {}: only a 127.x.y.z address", args.carrier);
    }
    let http = args.steps.client()?;
    let messages = args.steps.total().div_ceil(2);
    if messages > MAX_MESSAGES {
        bail!("{messages} messages needed (two callbacks each): at most {MAX_MESSAGES}; fewer or shorter steps");
    }
    let run = SystemTime::now().duration_since(UNIX_EPOCH)?.as_micros() as u64;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", tw.account_sid, tw.auth_token));
    let carrier = Arc::new(Carrier {
        run,
        auth: format!("Basic {basic}"),
        account_sid: tw.account_sid.clone(),
        sent: Mutex::new(Vec::new()),
        refused: AtomicU64::new(0),
    });
    let listener =
        tokio::net::TcpListener::bind(args.carrier).await.with_context(|| format!("cannot listen on {} for the carrier", args.carrier))?;
    let app = Router::new().route("/2010-04-01/Accounts/{account}/Messages.json", post(create)).with_state(carrier.clone());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
    });

    let mut r = Report::new("status callbacks (direct, signed here)");
    r.fact("endpoint", format!("POST {}?message=… (the StatusCallback of each message, signed here)", tw.status_url))
        .fact("fake Twilio REST API", format!("http://{}", args.carrier));
    let result = measure(&mut r, &plan, &tw, &args, &http, &carrier, messages).await;
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    result.map(|()| r)
}

async fn measure(
    r: &mut Report,
    plan: &Plan,
    tw: &crate::plan::TwilioPlan,
    args: &StatusArgs,
    http: &reqwest::Client,
    carrier: &Carrier,
    messages: u64,
) -> anyhow::Result<()> {
    eprintln!("status: creating {messages} outbound messages (not measured)");
    let start = Instant::now();
    let created = futures_util::stream::iter(0..messages)
        .map(|n| {
            let thread = plan.threads[n as usize % plan.threads.len()].clone();
            let req = http
                .post(format!("{}/api/messages", plan.base))
                .bearer_auth(&plan.token)
                .json(&json!({ "thread_id": thread, "body": format!("load test outbound {n}") }));
            async move { matches!(req.send().await, Ok(res) if res.status().is_success()) }
        })
        .buffer_unordered(args.create_concurrency as usize)
        .filter(|ok| std::future::ready(*ok))
        .count()
        .await as u64;
    let deadline = Instant::now() + args.create_timeout;
    while (carrier.sent.lock().expect("not poisoned").len() as u64) < created && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The sid is recorded when the send's answer is: give the last answers a moment.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let sent: Arc<Vec<Sent>> = Arc::new(carrier.sent.lock().expect("not poisoned").clone());
    r.fact(
        "messages created (not measured)",
        format!("{created} of {messages} accepted, {} handed to the carrier in {:.1} s", sent.len(), start.elapsed().as_secs_f64()),
    );
    let refused = carrier.refused.load(Ordering::Relaxed);
    if refused > 0 {
        r.fact("carrier refused (bad auth or form)", refused);
    }
    if sent.is_empty() {
        bail!(
            "the server sent nothing to the fake carrier at {}: run it with TWILIO_API_BASE=http://{} and SEND_RATE_PER_SECOND=100000",
            args.carrier,
            args.carrier
        );
    }
    let (base, token, account, number) = (plan.base.clone(), tw.auth_token.clone(), tw.account_sid.clone(), tw.number.clone());
    let client = http.clone();
    // Callback k: message k/2, `sent` then `delivered`.
    let mut make = move |k: u64| {
        let m = &sent[(k / 2) as usize % sent.len()];
        let status = if k.is_multiple_of(2) { "sent" } else { "delivered" };
        let params = twilio::status_params(&account, &number, &m.to, &m.sid, status);
        twilio::signed_post(&client, &base, &m.callback, &token, &params)
    };
    openloop::run_steps(r, http, &plan.base, &args.steps, 200, &mut make).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn carrier() -> Arc<Carrier> {
        let basic = base64::engine::general_purpose::STANDARD.encode("AC1:token");
        Arc::new(Carrier {
            run: 7,
            auth: format!("Basic {basic}"),
            account_sid: "AC1".into(),
            sent: Mutex::new(vec![]),
            refused: AtomicU64::new(0),
        })
    }

    fn form(callback: &str) -> Form<Vec<(String, String)>> {
        Form(vec![
            ("To".into(), "+12125550001".into()),
            ("From".into(), "+12065550000".into()),
            ("Body".into(), "hi".into()),
            ("StatusCallback".into(), callback.into()),
        ])
    }

    #[tokio::test]
    async fn answers_a_send_as_twilio_does_and_keeps_its_callback() {
        let c = carrier();
        let mut headers = HeaderMap::new();
        headers.insert("authorization", c.auth.parse().unwrap());
        let (code, body) =
            create(State(c.clone()), Path("AC1".into()), headers.clone(), form("http://sb/webhooks/twilio/status?message=m1")).await;
        assert_eq!(code, StatusCode::CREATED);
        assert_eq!(body.0["sid"], twilio::sid("SM", 7, 0));
        assert_eq!(body.0["status"], "queued");
        let sent = c.sent.lock().unwrap().clone();
        assert_eq!(sent.len(), 1);
        assert_eq!((sent[0].to.as_str(), sent[0].callback.as_str()), ("+12125550001", "http://sb/webhooks/twilio/status?message=m1"));

        let (code, _) = create(State(c.clone()), Path("AC2".into()), headers, form("x")).await;
        assert_eq!(code, StatusCode::UNAUTHORIZED, "another account");
        let (code, _) = create(State(c.clone()), Path("AC1".into()), HeaderMap::new(), form("x")).await;
        assert_eq!(code, StatusCode::UNAUTHORIZED, "no credentials");
        assert_eq!(c.refused.load(Ordering::Relaxed), 2);
        assert_eq!(c.sent.lock().unwrap().len(), 1);
    }
}
