//! The plan file `loadtest setup` writes and every other scenario reads: which server, its Pusher
//! key, an API token of a fresh admin, and the threads to load. With `--twilio-token`, setup also
//! gives the team a Twilio SMS number whose auth token the load tool knows (the API never shows a
//! channel's token, so the load tool chooses it), and the threads are on that number: the direct
//! scenarios then sign webhooks and status callbacks as Twilio would.

use crate::guard;
use anyhow::{Context, bail};
use clap::Args;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What every scenario needs to know about the server under test.
#[derive(Debug, Serialize, Deserialize)]
pub struct Plan {
    pub base: String,
    /// The Pusher app key (`GET /api/me` → `pusher.key`).
    pub key: String,
    /// A bearer token of the admin (`POST /api/tokens`).
    pub token: String,
    pub team_id: String,
    pub user_id: String,
    pub email: String,
    pub threads: Vec<String>,
    /// The app secret, when known (`loadtest peer-setup`, or `setup --secret`): channel auth is
    /// then signed here instead of by the server's `/pusher/auth`.
    #[serde(default)]
    pub secret: Option<String>,
    /// The app id, for the Pusher HTTP API (`POST /apps/{id}/events`), where the server has one.
    #[serde(default)]
    pub app_id: Option<String>,
    /// The team's Twilio number with a known auth token (`setup --twilio-token`).
    #[serde(default)]
    pub twilio: Option<TwilioPlan>,
}

/// A Twilio SMS channel the load tool can sign for, and the webhook URLs the server signs
/// (`GET /api/settings`: its public base URL, which may differ from `base`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TwilioPlan {
    pub channel_id: String,
    pub account_sid: String,
    pub number: String,
    pub auth_token: String,
    pub messages_url: String,
    pub status_url: String,
}

impl Plan {
    pub fn load(path: &Path) -> anyhow::Result<Plan> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the plan {}: run `loadtest setup` first", path.display()))?;
        let plan: Plan = serde_json::from_str(&text).with_context(|| format!("{} is not a plan", path.display()))?;
        guard::loopback_base(&plan.base)?;
        if plan.threads.is_empty() {
            bail!("the plan has no threads");
        }
        Ok(plan)
    }

    pub fn team_channel(&self) -> String {
        format!("presence-team-{}", self.team_id)
    }

    pub fn thread_channel(&self, i: usize) -> String {
        format!("presence-thread-{}", self.threads[i % self.threads.len()])
    }

    pub fn user_channel(&self) -> String {
        format!("private-user-{}", self.user_id)
    }
}

/// A valid, distinct North American number for index `n` (10,000 per area code).
pub fn phone(areas: &[u16], n: usize) -> String {
    let area = areas[(n / 10_000) % areas.len()];
    format!("+1{area}555{:04}", n % 10_000)
}

/// Area codes of the contacts `setup` creates (webhook senders use others).
const CONTACT_AREAS: &[u16] = &[212, 646, 718, 917];

#[derive(Args, Debug)]
pub struct SetupArgs {
    /// The server (a 127.x address).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub base: String,
    /// Contacts and SMS threads to create.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub threads: u32,
    /// Where to write the plan.
    #[arg(long, default_value = "/tmp/lt.json")]
    pub out: PathBuf,
    /// Requests in flight while creating contacts and threads.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: u32,
    /// The server's `PUSHER_SECRET`: sign channel auth here, as for any Pusher server (so the
    /// same scenario runs the same way against Switchboard and a peer).
    #[arg(long)]
    pub secret: Option<String>,
    /// Also give the team a (not simulated) Twilio SMS number with this auth token (16 to 128
    /// letters or digits) and a made-up account sid, and put the threads on it, for `webhooks
    /// --direct` and `status`. The team then leaves simulator mode: outbound messages go to
    /// the server's TWILIO_API_BASE, which `loadtest status` fakes.
    #[arg(long)]
    pub twilio_token: Option<String>,
}

async fn expect(res: reqwest::Response, want: u16, what: &str) -> anyhow::Result<Value> {
    let status = res.status().as_u16();
    let text = res.text().await.unwrap_or_default();
    if status != want {
        bail!("{what}: HTTP {status} (wanted {want}): {text}");
    }
    serde_json::from_str(&text).with_context(|| format!("{what}: not JSON: {text}"))
}

/// Signs up an admin, creates an API token, contacts and threads, and writes the plan.
pub async fn setup(args: SetupArgs) -> anyhow::Result<Plan> {
    let (url, _) = guard::loopback_base(&args.base)?;
    let base = url.as_str().trim_end_matches('/').to_owned();
    let http = reqwest::Client::builder().cookie_store(true).timeout(Duration::from_secs(30)).build()?;
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis();
    let email = format!("loadtest+{stamp}@example.test");
    let body =
        json!({ "email": email, "password": "load test password", "name": "Load Tester", "team_name": format!("Load test {stamp}") });
    let me = expect(http.post(format!("{base}/api/auth/sign-up")).json(&body).send().await?, 201, "sign-up").await?;
    let team_id = me["team"]["id"].as_str().context("sign-up: no team.id")?.to_owned();
    let user_id = me["user"]["id"].as_str().context("sign-up: no user.id")?.to_owned();
    let me = expect(http.get(format!("{base}/api/me")).send().await?, 200, "GET /api/me").await?;
    let key = me["pusher"]["key"].as_str().context("GET /api/me: no pusher.key")?.to_owned();
    let token = expect(http.post(format!("{base}/api/tokens")).json(&json!({ "name": "loadtest" })).send().await?, 201, "POST /api/tokens")
        .await?["token"]
        .as_str()
        .context("POST /api/tokens: no token")?
        .to_owned();
    eprintln!("signed up {email} (team {team_id}); creating {} contacts and threads", args.threads);

    let api = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    let twilio = match &args.twilio_token {
        Some(auth_token) => Some(twilio_channel(&api, &base, &token, auth_token, stamp).await?),
        None => None,
    };
    let channel_id = twilio.as_ref().map(|t| t.channel_id.clone());
    let created = futures_util::stream::iter(0..args.threads as usize)
        .map(|i| {
            let (api, base, token, channel_id) = (api.clone(), base.clone(), token.clone(), channel_id.clone());
            async move {
                let contact = json!({ "name": format!("Load contact {i}"), "phone": phone(CONTACT_AREAS, i) });
                let c = expect(
                    api.post(format!("{base}/api/contacts")).bearer_auth(&token).json(&contact).send().await?,
                    201,
                    "POST /api/contacts",
                )
                .await?;
                let t = json!({ "contact_id": c["id"], "channel": "sms", "channel_id": channel_id });
                let t = expect(
                    api.post(format!("{base}/api/threads/for-contact")).bearer_auth(&token).json(&t).send().await?,
                    200,
                    "POST /api/threads/for-contact",
                )
                .await?;
                anyhow::Ok(t["id"].as_str().context("thread without id")?.to_owned())
            }
        })
        .buffered(args.concurrency as usize)
        .collect::<Vec<_>>()
        .await;
    let threads = created.into_iter().collect::<anyhow::Result<Vec<String>>>()?;
    let plan = Plan { base, key, token, team_id, user_id, email, threads, secret: args.secret, app_id: None, twilio };
    std::fs::write(&args.out, serde_json::to_string_pretty(&plan)?).with_context(|| format!("cannot write {}", args.out.display()))?;
    eprintln!("wrote {} ({} threads)", args.out.display(), plan.threads.len());
    Ok(plan)
}

/// Creates the team's Twilio SMS number with a known token (`POST /api/channels`, admin) and
/// reads the webhook URLs the server signs (`GET /api/settings`).
async fn twilio_channel(api: &reqwest::Client, base: &str, token: &str, auth_token: &str, stamp: u128) -> anyhow::Result<TwilioPlan> {
    let account_sid = format!("AC{:032x}", stamp);
    let number = phone(&[206], (stamp % 10_000) as usize);
    let body = json!({ "kind": "sms", "number": number, "account_sid": account_sid, "auth_token": auth_token });
    let channel =
        expect(api.post(format!("{base}/api/channels")).bearer_auth(token).json(&body).send().await?, 201, "POST /api/channels").await?;
    let settings = expect(api.get(format!("{base}/api/settings")).bearer_auth(token).send().await?, 200, "GET /api/settings").await?;
    let url = |name: &str| {
        settings["webhooks"][name].as_str().map(str::to_owned).with_context(|| format!("GET /api/settings: no webhooks.{name}"))
    };
    eprintln!("Twilio number {number} (account {account_sid}) with the given token");
    Ok(TwilioPlan {
        channel_id: channel["id"].as_str().context("POST /api/channels: no id")?.to_owned(),
        number: channel["number"].as_str().unwrap_or(&number).to_owned(),
        account_sid,
        auth_token: auth_token.to_owned(),
        messages_url: url("messages")?,
        status_url: url("status")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_distinct_e164() {
        assert_eq!(phone(&[212, 646], 0), "+12125550000");
        assert_eq!(phone(&[212, 646], 10_001), "+16465550001");
        assert_ne!(phone(CONTACT_AREAS, 5), phone(CONTACT_AREAS, 6));
    }
}
