//! `loadtest webhooks`: inbound SMS from many distinct numbers, open loop at one or more rates.
//!
//! By default through `POST /api/simulator/inbound`: the server signs each one and posts it to
//! its own Twilio webhook, so this measures the whole verified path (token lookup, signature
//! check, receipt, thread lookup or creation, the thread actor's commit and the fan-out) plus
//! the simulator's loopback hop.
//!
//! With `--direct`, the load tool is Twilio: it signs each webhook itself with the channel's
//! auth token (a plan from `setup --twilio-token`) and posts Twilio's documented form straight to
//! `/webhooks/twilio/messages`, each with a unique `MessageSid`; the answer is the empty TwiML
//! after the commit. Either way a warm-up first sends one message from each sender, not measured,
//! so the steps time the steady path and not contact and thread creation.

use crate::openloop::{self, StepArgs};
use crate::plan::{self, Plan};
use crate::report::Report;
use crate::twilio;
use clap::Args;
use serde_json::json;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

/// Area codes of the senders (distinct from the contacts `setup` creates).
const SENDER_AREAS: &[u16] = &[415, 628, 650, 312, 773, 305];

#[derive(Args, Debug)]
pub struct WebhooksArgs {
    /// The plan written by `loadtest setup` (with `--twilio-token` for `--direct`).
    #[arg(long, default_value = "/tmp/lt.json")]
    pub plan: PathBuf,
    /// Distinct `from` numbers, used round-robin (the first message from each creates its contact
    /// and thread: that is the warm-up).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=60_000))]
    pub senders: u32,
    /// Sign Twilio webhooks here and post them straight to `/webhooks/twilio/messages`, instead
    /// of asking the server's simulator to.
    #[arg(long)]
    pub direct: bool,
    /// Skip the warm-up (the first message from each sender is then measured too, as before
    /// issue 16).
    #[arg(long)]
    pub no_warmup: bool,
    /// Warm-up requests in flight (closed loop).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub warmup_concurrency: u32,
    #[command(flatten)]
    pub steps: StepArgs,
}

pub async fn run(args: WebhooksArgs) -> anyhow::Result<Report> {
    let plan = Plan::load(&args.plan)?;
    let http = args.steps.client()?;
    let run = SystemTime::now().duration_since(UNIX_EPOCH)?.as_micros() as u64;
    let senders = args.senders as u64;
    let mut r = Report::new(if args.direct { "webhooks (direct, signed here)" } else { "webhooks" });
    let (ok, mut make): (u16, Box<openloop::MakeRequest<'static>>) = if args.direct {
        let tw = plan.twilio.clone().ok_or_else(|| anyhow::anyhow!("--direct needs a plan from `loadtest setup --twilio-token`"))?;
        r.fact("endpoint", format!("POST {} (signed here with the channel's token)", tw.messages_url))
            .fact("to", tw.number.clone())
            .fact("account", tw.account_sid.clone());
        let (http, base) = (http.clone(), plan.base.clone());
        (
            200,
            Box::new(move |n: u64| {
                let from = plan::phone(SENDER_AREAS, (n % senders) as usize);
                let params = twilio::inbound_params(
                    &tw.account_sid,
                    &from,
                    &tw.number,
                    &twilio::sid("SM", run, n),
                    &format!("load test inbound {n}"),
                );
                twilio::signed_post(&http, &base, &tw.messages_url, &tw.auth_token, &params)
            }),
        )
    } else {
        r.fact("endpoint", "POST /api/simulator/inbound (→ signed POST /webhooks/twilio/messages)");
        let (http, base, token) = (http.clone(), plan.base.clone(), plan.token.clone());
        (
            202,
            Box::new(move |n: u64| {
                let from = plan::phone(SENDER_AREAS, (n % senders) as usize);
                let body = json!({ "from": from, "channel": "sms", "body": format!("load test inbound {n}") });
                Ok(http.post(format!("{base}/api/simulator/inbound")).bearer_auth(&token).json(&body))
            }),
        )
    };
    r.fact("distinct senders", args.senders);
    if !args.no_warmup {
        eprintln!("{}: warm-up, one message from each of {senders} senders", r.scenario);
        // Numbered past the steps' requests, so no MessageSid repeats; `senders` consecutive
        // numbers cover every sender once.
        let offset = args.steps.total();
        let mut warm = |n: u64| make(offset + n);
        openloop::warmup(&mut r, senders, args.warmup_concurrency as usize, ok, &mut warm).await;
    }
    openloop::run_steps(&mut r, &http, &plan.base, &args.steps, ok, &mut *make).await;
    Ok(r)
}
