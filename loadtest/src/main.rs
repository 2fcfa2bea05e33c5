//! `loadtest`: Switchboard's load tool. `setup` prepares a team and writes a plan (`peer-setup`
//! writes one for any Pusher-protocol server); `connections`, `fanout` and `webhooks` load the
//! server the plan names (127.x only) and print a report as markdown tables, or JSON with `--json`. Every run is bounded in size and time and stops by
//! itself.

mod connections;
mod fanout;
mod guard;
mod peer;
mod plan;
mod probe;
mod pusher;
mod ramp;
mod report;
mod sign;
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
    /// Inbound SMS through the simulator's signed webhook path, at one or more rates.
    Webhooks(webhooks::WebhooksArgs),
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
    };
    report.print(cli.json);
    Ok(())
}
