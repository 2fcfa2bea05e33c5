//! The `switchboard` binary: parses the command line and calls the library.

use clap::Parser;
use switchboard::config::{Cli, Command};
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    if cli.config.log_json {
        tracing_subscriber::fmt().with_env_filter(filter).json().init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
    let config = cli.config;
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let listener = match switchboard::server::listen(config.bind) {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("error: cannot listen on {} ({e}); set BIND to a free address", config.bind);
                    std::process::exit(1);
                }
            };
            let shutdown = CancellationToken::new();
            tokio::spawn(wait_for_signal(shutdown.clone()));
            switchboard::run(config, listener, shutdown).await
        }
        Command::Migrate => switchboard::server::open_store(&config).await.map(|_| tracing::info!("database is migrated")),
        Command::Seed => seed(&config).await,
        Command::RotateKey => switchboard::server::rotate_key(&config).await,
    };
    if let Err(e) = result {
        // One clear line, not a backtrace: the message says what to set.
        eprintln!("error: {e}");
        std::process::exit(1);
    }
    Ok(())
}

async fn seed(config: &switchboard::Config) -> Result<(), switchboard::ServerError> {
    let store = switchboard::server::open_store(config).await?;
    if store.is_empty().await.map_err(switchboard::ServerError::Seed)? {
        switchboard::seed::demo(&store).await.map_err(switchboard::ServerError::Seed)?;
        tracing::info!("seeded the demo team");
    } else {
        tracing::info!("the database already has a team: nothing seeded");
    }
    Ok(())
}

/// Cancels `shutdown` on SIGINT or SIGTERM.
async fn wait_for_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutting down");
    shutdown.cancel();
}
