//! `loadtest`: Switchboard's load tool. `setup` prepares a team and writes a plan (`peer-setup`
//! writes one for any Pusher-protocol server from its app id, key and secret; `setup
//! --twilio-token` adds a Twilio number whose token the tool knows); `connections`, `fanout` and
//! `webhooks` load the server the plan names (127.x only) and print a report as markdown tables,
//! or JSON with `--json`. Every run is bounded in size and time and stops by itself.
//!
//! Modes for any server and for Twilio's side (issue 16):
//! - `fanout --kind client-event | http-api`: publishes by client events, or by the Pusher HTTP
//!   API (`POST /apps/{id}/events`, signed as Pusher's server libraries sign it, `sign.rs`);
//!   channel auth is signed here with the app secret (Sockudo, Soketi, Reverb, Pusher).
//! - `webhooks --direct`: Twilio's incoming-message webhook, signed here (`twilio.rs`) with the
//!   channel's token and posted straight to `/webhooks/twilio/messages`, after a warm-up.
//! - `status`: Twilio's status callbacks for messages the server sent through a fake Twilio
//!   REST API this tool serves.
//! - `pgbench` (or `--pgbench URL` on the webhook scenarios): what the box's Postgres commits,
//!   so each webhook figure reads as a share of it.

mod connections;
mod fanout;
mod guard;
mod openloop;
mod peer;
mod pgbench;
mod plan;
mod probe;
mod pusher;
mod ramp;
mod report;
mod sign;
mod status;
mod twilio;
mod webhooks;

use clap::{Parser, Subcommand};

/// Switchboard's load tool (loopback targets only).
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    /// Print the report as JSON instead of markdown tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Sign up an admin, create an API token, contacts and threads; write the plan.
    Setup(plan::SetupArgs),
    /// Write a plan for any Pusher-protocol server from its app id, key and secret.
    PeerSetup(peer::PeerArgs),
    /// Open many idle clients (team presence + a thread channel each) and hold them.
    Connections(connections::ConnectionsArgs),
    /// Subscribers on one thread channel; time each posted message to every subscriber.
    Fanout(fanout::FanoutArgs),
    /// Inbound SMS at one or more rates: through the simulator's signed webhook path, or with
    /// `--direct` signed here as Twilio does and posted straight to the webhook.
    Webhooks(webhooks::WebhooksArgs),
    /// Twilio status callbacks (sent, delivered), signed here, for messages the server sent
    /// through the fake Twilio REST API this command serves.
    Status(status::StatusArgs),
    /// The Postgres baseline: one-row durable INSERT transactions per second from pgbench.
    Pgbench(pgbench::PgbenchArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let report = match cli.command {
        Command::Setup(args) => {
            let plan = plan::setup(args).await?;
            let mut r = report::Report::new("setup");
            r.fact("base", plan.base.clone()).fact("team", plan.team_id.clone()).fact("threads", plan.threads.len() as u64);
            r
        }
        Command::PeerSetup(args) => {
            let plan = peer::setup(args)?;
            let mut r = report::Report::new("peer-setup");
            r.fact("base", plan.base.clone()).fact("thread channels", plan.threads.len() as u64);
            r
        }
        Command::Connections(args) => connections::run(args).await?,
        Command::Fanout(args) => fanout::run(args).await?,
        Command::Webhooks(args) => webhooks::run(args).await?,
        Command::Status(args) => status::run(args).await?,
        Command::Pgbench(args) => pgbench::command(args).await?,
    };
    report.print(cli.json);
    Ok(())
}
