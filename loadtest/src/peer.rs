//! `loadtest peer-setup`: a plan for any Pusher-protocol server (Sockudo, Soketi, Reverb, Pusher
//! itself) from its app id, key and secret, without talking to it: the channel names are
//! Switchboard's shapes (`presence-team-{id}`, `presence-thread-{id}`) with made-up ids, so one
//! scenario loads both servers alike; channel auth is signed by the load tool (`sign.rs`).

use crate::guard;
use crate::plan::Plan;
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Args, Debug)]
pub struct PeerArgs {
    /// The server (a 127.x address); WebSockets go to `/app/{key}` there.
    #[arg(long, default_value = "http://127.0.0.1:6001")]
    pub base: String,
    #[arg(long)]
    pub app_id: String,
    #[arg(long)]
    pub key: String,
    #[arg(long)]
    pub secret: String,
    /// Thread channels to name.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub threads: u32,
    /// Where to write the plan.
    #[arg(long, default_value = "/tmp/lt-peer.json")]
    pub out: PathBuf,
}

/// A UUID-shaped id (what Switchboard's channel names carry), distinct per run and index.
fn id(run: u64, n: u64) -> String {
    format!("{:08x}-{:04x}-4000-8000-{:012x}", run & 0xffff_ffff, (run >> 32) & 0xffff, n)
}

pub fn setup(args: PeerArgs) -> anyhow::Result<Plan> {
    let (url, _) = guard::loopback_base(&args.base)?;
    let run = SystemTime::now().duration_since(UNIX_EPOCH)?.as_micros() as u64;
    let plan = Plan {
        base: url.as_str().trim_end_matches('/').to_owned(),
        key: args.key,
        token: String::new(),
        team_id: id(run, 0),
        user_id: id(run, 1),
        email: String::new(),
        threads: (0..args.threads as u64).map(|n| id(run, 1000 + n)).collect(),
        secret: Some(args.secret),
        app_id: Some(args.app_id),
        twilio: None,
    };
    std::fs::write(&args.out, serde_json::to_string_pretty(&plan)?).with_context(|| format!("cannot write {}", args.out.display()))?;
    eprintln!("wrote {} ({} thread channels)", args.out.display(), plan.threads.len());
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_uuid_shaped_and_distinct() {
        let a = id(0x1234_5678_9abc_def0, 7);
        assert_eq!(a, "9abcdef0-5678-4000-8000-000000000007");
        assert_eq!(a.len(), 36);
        assert_ne!(id(1, 1), id(1, 2));
    }
}
